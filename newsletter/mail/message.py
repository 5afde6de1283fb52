"""The MIME message around an email: headers, `multipart/alternative`, quoted-printable bodies.

A message is laid out once as a `MessageTemplate`: the fixed headers are folded and RFC 2047
encoded by the standard library's SMTP policy, and both bodies are quoted-printable encoded once,
leaving *slots* where per-recipient tokens go. `MessageTemplate.render()` then only joins bytes and
formats the handful of per-recipient headers (To, Date, Message-ID, List-Unsubscribe), which is
what keeps a personalised message far below a millisecond. Quoted-printable can never produce
`=_`, so the boundary (which starts with it) can never occur inside a body.
"""

from __future__ import annotations

import binascii
import datetime as dt
import hashlib
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from email.header import Header
from email.utils import format_datetime, formataddr

from newsletter.addresses import mask_email, unsafe_character
from newsletter.errors import NewsletterError
from newsletter.settings import EmailSettings

logger = logging.getLogger(__name__)

CRLF = b"\r\n"
SOFT_BREAK = b"=\r\n"
# Slot values are signed tokens: URL-safe characters that quoted-printable leaves as they are.
SLOT_VALUE_RE = re.compile(r"^[A-Za-z0-9._~-]{1,74}$")
ONE_CLICK = "List-Unsubscribe=One-Click"


class HeaderInjection(NewsletterError):
    """A header value contains a line break (CR or LF), which would forge extra headers."""


class InvalidRecipient(NewsletterError):
    """A recipient's address or name cannot go into a To header."""


def check_header_value(name: str, value: str, where: str = "") -> str:
    """Return `value` if it is one line; raise HeaderInjection naming the header and source."""
    if "\r" in value or "\n" in value:
        place = f"{where}: " if where else ""
        raise HeaderInjection(
            f"{place}the {name} contains a line break; write it on one line"
        )
    return value


def format_address(email: str, name: str = "") -> str:
    """An address header value, with an RFC 2047 encoded-word for a non-ASCII display name; a
    name with a control or invisible character (which the store refuses too) is refused."""
    check_header_value("recipient name", name)
    unsafe = unsafe_character(name)
    if unsafe is not None:
        raise InvalidRecipient(f"the recipient's name holds {unsafe[1]}")
    if "\r" in email or "\n" in email or "<" in email or ">" in email or "," in email:
        raise InvalidRecipient("a recipient address contains a forbidden character")
    local, at, domain = email.rpartition("@")
    if not at or not local or not domain:
        raise InvalidRecipient(f"not an email address: {mask_email(email)}")
    if not local.isascii():
        raise InvalidRecipient(
            f"{mask_email(email)}: a non-ASCII mailbox name needs SMTPUTF8, "
            "which is not supported"
        )
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            raise InvalidRecipient(f"{mask_email(email)}: the domain is not valid") from None
    return formataddr((name, f"{local}@{domain}"), charset="utf-8")


@dataclass(frozen=True)
class Sender:
    """Who every message is from, and where replies and unsubscribe mails go (`[email]`)."""

    from_name: str
    from_address: str
    reply_to: str
    list_id: str
    unsubscribe_mailto: str

    @classmethod
    def from_settings(cls, email: EmailSettings) -> Sender:
        """The sender `[email]` configures."""
        return cls(email.from_name, email.from_address, email.reply_to, email.list_id,
                   email.unsubscribe_mailto)

    @property
    def domain(self) -> str:
        """The domain on the right of every Message-ID: the sender's own."""
        return self.from_address.rpartition("@")[2] or "localhost"

    def list_unsubscribe(self, url: str, token: str | None = None) -> tuple[str, str]:
        """The List-Unsubscribe items: the HTTPS one-click URL and a mailto: (RFC 2369, 8058)."""
        subject = f"unsubscribe%20{token}" if token else "unsubscribe"
        return f"<{url}>", f"<mailto:{self.unsubscribe_mailto}?subject={subject}>"


def _fold(name: str, value: str) -> bytes:
    """One header, folded at whitespace within 78 columns and RFC 2047 encoded if not ASCII."""
    # email.header rather than the policy's folder: in Python 3.11 the latter raises
    # UnicodeEncodeError on some subjects ("N.º 3: Viena: …") and folds others right after the
    # colon, which a reader's client shows as a leading space.
    charset = "us-ascii" if value.isascii() else "utf-8"
    encoded = Header(value, charset, header_name=name).encode(linesep="\r\n", maxlinelen=78)
    return f"{name}: {encoded}\r\n".encode("ascii")


def _fold_fast(name: str, value: str) -> bytes:
    """A per-recipient header: a plain line when it fits, the standard folding when it does not."""
    line = f"{name}: {value}\r\n"
    if len(line) <= 80 and value.isascii():
        return line.encode("ascii")
    return _fold(name, value)


def _fold_list(name: str, items: list[str]) -> bytes:
    """A header whose comma-separated items each stay whole (URLs), one item per line."""
    for item in items:
        check_header_value(name, item)
    return (f"{name}: " + ",\r\n ".join(items) + "\r\n").encode("ascii")


def encode_quoted_printable(body: str) -> bytes:
    """A body as UTF-8 quoted-printable with CRLF line ends and lines of at most 76 characters."""
    normalised = body.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n")
    return binascii.b2a_qp(normalised.encode("utf-8"), istext=True)


Chunk = bytes | str  # bytes are literal; a str names a slot


def encode_with_slots(body: str, slots: tuple[str, ...]) -> tuple[Chunk, ...]:
    """Quoted-printable encode `body` once, leaving each slot marker as a named gap.

    Each gap starts a fresh encoded line (the literal before it ends in a soft line break) and is
    followed by one, so a token of up to 74 URL-safe characters keeps every line within 76.
    """
    if not slots:
        return (encode_quoted_printable(body),)
    pattern = re.compile("|".join(re.escape(s) for s in sorted(slots, key=len, reverse=True)))
    chunks: list[Chunk] = []
    position = 0
    for match in pattern.finditer(body):
        literal = encode_quoted_printable(body[position : match.start()])
        if literal and not literal.endswith(CRLF):
            literal += SOFT_BREAK
        chunks.append(literal)
        chunks.append(match.group(0))
        position = match.end()
        if not body.startswith(("\n", "\r\n"), position):
            chunks.append(SOFT_BREAK)
    chunks.append(encode_quoted_printable(body[position:]))
    return tuple(c for c in chunks if c != b"")


@dataclass(frozen=True)
class MessageTemplate:
    """A message encoded once, with gaps for the per-recipient headers and tokens."""

    head: bytes  # the fixed headers, folded, ending in CRLF
    tail: tuple[Chunk, ...]  # the MIME structure and bodies after the per-recipient headers
    slots: frozenset[str]

    def render(
        self,
        *,
        to: str,
        date: dt.datetime,
        message_id: str,
        list_unsubscribe: tuple[str, ...] | None = None,
        values: Mapping[str, str] | None = None,
    ) -> bytes:
        """The complete message for one recipient (`to` is an already formatted address)."""
        values = values or {}
        parts = [
            self.head,
            _fold_fast("To", to),
            _fold_fast("Date", format_datetime(date)),
            _fold_fast("Message-ID", message_id),
        ]
        if list_unsubscribe is not None:
            parts.append(_fold_list("List-Unsubscribe", list(list_unsubscribe)))
            parts.append(f"List-Unsubscribe-Post: {ONE_CLICK}\r\n".encode("ascii"))
        for chunk in self.tail:
            if isinstance(chunk, bytes):
                parts.append(chunk)
                continue
            value = values[chunk]
            if not SLOT_VALUE_RE.match(value):
                raise ValueError(f"slot {chunk} takes a URL-safe token, not {value!r}")
            parts.append(value.encode("ascii"))
        return b"".join(parts)


def compile_message(
    sender: Sender,
    *,
    subject: str,
    html: str,
    text: str,
    lang: str,
    slots: tuple[str, ...] = (),
    extra_headers: Mapping[str, str] | None = None,
    where: str = "",
) -> MessageTemplate:
    """Lay out a `multipart/alternative` message (text first, then HTML) with gaps for `slots`."""
    check_header_value("subject", subject, where)
    fixed: list[tuple[str, str]] = [
        ("From", formataddr((sender.from_name, sender.from_address), charset="utf-8")),
        ("Reply-To", sender.reply_to),
        ("Subject", subject),
        ("List-Id", sender.list_id),
        ("Content-Language", lang),
        # Keeps Exchange out-of-office replies from a whole ministry away from the list.
        ("X-Auto-Response-Suppress", "OOF, AutoReply"),
    ]
    for name, value in sorted((extra_headers or {}).items()):
        fixed.append((check_header_value(f"header {name}", name), value))
    head = b"".join(_fold(name, check_header_value(name, value, where)) for name, value in fixed)
    text_chunks = encode_with_slots(text, slots)
    html_chunks = encode_with_slots(html, slots)
    digest = hashlib.sha256()
    for chunk in (*text_chunks, *html_chunks):
        digest.update(chunk if isinstance(chunk, bytes) else chunk.encode())
    boundary = f"=_annaobserva_{digest.hexdigest()[:24]}".encode("ascii")
    dash = b"--" + boundary
    tail: list[Chunk] = [
        b"MIME-Version: 1.0\r\n",
        b'Content-Type: multipart/alternative;\r\n boundary="' + boundary + b'"\r\n',
        CRLF,
        dash + CRLF,
        b'Content-Type: text/plain; charset="utf-8"\r\n',
        b"Content-Transfer-Encoding: quoted-printable\r\n",
        CRLF,
        *text_chunks,
        CRLF + dash + CRLF,
        b'Content-Type: text/html; charset="utf-8"\r\n',
        b"Content-Transfer-Encoding: quoted-printable\r\n",
        CRLF,
        *html_chunks,
        CRLF + dash + b"--" + CRLF,
    ]
    return MessageTemplate(head=head, tail=_merge(tail), slots=frozenset(slots))


def _merge(chunks: list[Chunk]) -> tuple[Chunk, ...]:
    """Join neighbouring literal chunks, so rendering joins as few pieces as possible."""
    merged: list[Chunk] = []
    for chunk in chunks:
        if isinstance(chunk, bytes) and merged and isinstance(merged[-1], bytes):
            merged[-1] = merged[-1] + chunk
        else:
            merged.append(chunk)
    return tuple(merged)


def build_message(
    sender: Sender,
    *,
    to: str,
    subject: str,
    html: str,
    text: str,
    lang: str,
    message_id: str,
    unsubscribe_url: str | None = None,
    extra_headers: Mapping[str, str] | None = None,
    now: dt.datetime | None = None,
    to_name: str = "",
    unsubscribe_token: str | None = None,
) -> bytes:
    """One complete message (RFC 5322 bytes, CRLF) for one recipient; `now` defaults to the clock.

    With `unsubscribe_url`, the message carries List-Unsubscribe (that URL and a mailto:, whose
    subject names `unsubscribe_token` when given) and List-Unsubscribe-Post for one-click.
    """
    template = compile_message(
        sender, subject=subject, html=html, text=text, lang=lang, extra_headers=extra_headers
    )
    return template.render(
        to=format_address(to, to_name),
        date=now or dt.datetime.now(dt.UTC),
        message_id=check_header_value("Message-ID", message_id),
        list_unsubscribe=(
            sender.list_unsubscribe(unsubscribe_url, unsubscribe_token) if unsubscribe_url
            else None
        ),
    )


def build_notice(sender: Sender, *, to: str, subject: str, text: str, lang: str,
                 message_id: str, now: dt.datetime) -> bytes:
    """A plain-text message from the newsletter to its own people (the editors' summary of a
    campaign): no list headers, and marked as automatic (RFC 3834) so that no auto-responder
    answers it."""
    fixed = [
        ("From", formataddr((sender.from_name, sender.from_address), charset="utf-8")),
        ("To", format_address(to)),
        ("Subject", subject),
        ("Date", format_datetime(now)),
        ("Message-ID", message_id),
        ("Content-Language", lang),
        ("Auto-Submitted", "auto-generated"),
        ("X-Auto-Response-Suppress", "All"),
    ]
    head = b"".join(_fold(name, check_header_value(name, value)) for name, value in fixed)
    return (head + b"MIME-Version: 1.0\r\n"
            b'Content-Type: text/plain; charset="utf-8"\r\n'
            b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
            + encode_quoted_printable(text))
