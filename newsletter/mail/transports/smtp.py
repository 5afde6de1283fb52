"""The SMTP transport: one connection reused, reconnected on a drop, replies sorted into outcomes.

4xx = retry later, 5xx = rejected for that recipient, a connection lost after DATA = outcome
unknown (the relay may have queued the message before the line went down).
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass

from newsletter.addresses import mask_email
from newsletter.settings import Settings

from .protocol import OutcomeUnknown, Quota, Rejected, RetryLater, StopEverything

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to connect."""

    host: str
    port: int
    security: str = "starttls"  # none | starttls | tls
    username: str = ""
    password: str = ""
    timeout: float = 30.0
    envelope_from: str = ""
    ca_file: str = ""


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {text}".strip()


class SmtpTransport:
    """Sends through one SMTP relay on one reused connection."""

    name = "smtp"

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self._conn: smtplib.SMTP | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpTransport:
        """The relay configured in `[smtp]`; the password comes from the environment."""
        smtp = settings.smtp
        if smtp.security not in ("none", "starttls", "tls"):
            raise StopEverything(
                f"[smtp] security must be none, starttls or tls, not {smtp.security!r}"
            )
        password = os.environ.get(smtp.password_env, "") if smtp.username else ""
        if smtp.username and not password:
            raise StopEverything(
                f"[smtp] username is set but {smtp.password_env} is empty: export the password"
            )
        return cls(SmtpConfig(
            host=smtp.host, port=smtp.port, security=smtp.security, username=smtp.username,
            password=password, timeout=smtp.timeout, envelope_from=settings.email.from_address,
            ca_file=str(settings.path(smtp.ca_file)) if smtp.ca_file else "",
        ))

    @property
    def where(self) -> str:
        """host:port, for messages."""
        return f"{self.config.host}:{self.config.port}"

    def open(self) -> None:
        """Connect, negotiate TLS and log in (idempotent); a refusal stops the run."""
        if self._conn is not None:
            return
        try:
            self._conn = self._connect()
        except smtplib.SMTPAuthenticationError as exc:
            raise StopEverything(
                f"SMTP {self.where} refused the login for {self.config.username!r} "
                f"({_reply(exc.smtp_code, exc.smtp_error)}): check [smtp] username and the password"
            ) from None
        except ssl.SSLError as exc:
            raise StopEverything(
                f"TLS with SMTP {self.where} failed ({exc.reason or exc}): check [smtp] security "
                "and ca_file"
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise StopEverything(
                f"cannot connect to SMTP {self.where} ({exc}): check [smtp] host, port and security"
            ) from None

    def _connect(self) -> smtplib.SMTP:
        c = self.config
        context = ssl.create_default_context(cafile=c.ca_file or None)
        conn: smtplib.SMTP
        if c.security == "tls":
            conn = smtplib.SMTP_SSL(c.host, c.port, timeout=c.timeout, context=context)
        else:
            conn = smtplib.SMTP(c.host, c.port, timeout=c.timeout)
        try:
            conn.ehlo()
            if c.security == "starttls":
                conn.starttls(context=context)
                conn.ehlo()
            if c.username:
                conn.login(c.username, c.password)
        except (smtplib.SMTPException, OSError):
            conn.close()
            raise
        return conn

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except OSError:
                pass
        self._conn = None

    def send(
        self, recipient: str, message: bytes, tags: Mapping[str, str] | None = None
    ) -> str:
        """Deliver one message (SMTP has no tags); return the relay's queue reply as the provider
        message id."""
        try:
            return self._transaction(recipient, message)
        except _Reconnect:
            # The relay dropped an idle connection before we said anything that mattered.
            logger.info("SMTP %s dropped the connection; reconnecting", self.where)
            self._drop()
            try:
                return self._transaction(recipient, message)
            except _Reconnect as exc:
                self._drop()
                raise RetryLater(f"SMTP {self.where} connection lost ({exc})") from None

    def _transaction(self, recipient: str, message: bytes) -> str:
        if self._conn is None:
            try:
                self._conn = self._connect()
            except (smtplib.SMTPException, OSError) as exc:
                raise RetryLater(f"cannot reconnect to SMTP {self.where} ({exc})") from None
        conn = self._conn
        try:
            code, text = conn.mail(self.config.envelope_from)
            if code != 250:
                conn.rset()
                if 400 <= code < 500:
                    raise RetryLater(f"MAIL FROM: {_reply(code, text)}")
                raise StopEverything(
                    f"SMTP {self.where} refused the sender {self.config.envelope_from} "
                    f"({_reply(code, text)}): check [email] from_address"
                )
            code, text = conn.rcpt(recipient)
            if code not in (250, 251):
                conn.rset()
                if 400 <= code < 500:
                    raise RetryLater(f"RCPT TO: {_reply(code, text)}")
                raise Rejected(f"RCPT TO: {_reply(code, text)}")
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            raise _Reconnect(str(exc) or type(exc).__name__) from None
        try:
            code, text = conn.data(message)
        except smtplib.SMTPDataError as exc:
            self._reset()
            if 400 <= exc.smtp_code < 500:
                raise RetryLater(f"DATA: {_reply(exc.smtp_code, exc.smtp_error)}") from None
            raise Rejected(f"DATA: {_reply(exc.smtp_code, exc.smtp_error)}") from None
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self._drop()
            logger.warning("SMTP %s: connection lost after DATA for %s", self.where,
                           mask_email(recipient))
            raise OutcomeUnknown(
                f"SMTP {self.where}: connection lost after DATA ({exc or type(exc).__name__})"
            ) from None
        return _reply(code, text)

    def _reset(self) -> None:
        try:
            if self._conn is not None:
                self._conn.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()

    def quota(self) -> Quota | None:
        """A relay says no when it must (4xx, retried later); it publishes no limits."""
        return None

    def close(self) -> None:
        """Say QUIT and disconnect (idempotent)."""
        if self._conn is not None:
            try:
                self._conn.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self._drop()


class _Reconnect(Exception):
    """The connection went away before DATA: nothing was queued, reconnect and try again."""
