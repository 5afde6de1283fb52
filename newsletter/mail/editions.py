"""Email editions: each issue rendered once per language, then personalised per subscriber.

The stages, once per issue and language (`render_email_edition`):
Markdown → absolute URLs → Jinja (`email.html`, `email.txt`) → premailer inlines `email.css` →
the plain-text alternative from the same body → the MIME layout, encoded once
(`message.compile_message`). Per subscriber (`EmailEdition.message_for`), only two signed tokens
(unsubscribe, change language) go into the gaps and four headers are formatted. An edition keeps
what those need and nothing else: the sender, the subscription URLs and the signer made once
from the secret.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import jinja2
from babel import Locale, UnknownLocaleError
from premailer import Premailer

from newsletter.content import (
    Corpus,
    ImageError,
    Issue,
    Problem,
    Rendered,
    absolutize,
    display_path,
    image_size,
    label_footnotes,
    renderer_for,
    with_dimensions,
)
from newsletter.errors import NewsletterError
from newsletter.settings import Settings
from newsletter.templating import (
    localized_date,
    make_environment,
    native_language_name,
    trusted_html,
)
from newsletter.tokens import Signer
from newsletter.urls import SiteUrls, SubscriptionUrls

from .message import (
    MessageTemplate,
    Sender,
    check_header_value,
    compile_message,
    format_address,
)
from .plaintext import html_to_text
from .wording import load_email_strings

logger = logging.getLogger(__name__)

# Placeholders premailer and lxml leave alone: `{{ … }}` in an href comes out URL-encoded.
UNSUBSCRIBE_SLOT = "x-annaobserva-unsubscribe-token"
LANGUAGE_SLOT = "x-annaobserva-language-token"
SLOTS = (UNSUBSCRIBE_SLOT, LANGUAGE_SLOT)
SAMPLE_ID = 0
# Presentational attributes premailer would copy from CSS; the HTML checker rejects them.
PRESENTATIONAL_ATTRIBUTES = ("align", "valign", "bgcolor", "width", "height")
EMAIL_IMAGE_WIDTH = 552  # the 600 px column less its padding (email.css)
_INSECURE_URL_RE = re.compile(r'\s(?:href|src)="(http://[^"]+)"')
_SVG_IMAGE_RE = re.compile(r'<img\s[^>]*?src="([^"]+\.svg)"', re.IGNORECASE)


class EditionNotFound(NewsletterError):
    """The issue has no edition in the requested language."""


class EmailTemplateError(NewsletterError):
    """An email template is missing, malformed, or lost a per-subscriber link."""


@dataclass(frozen=True)
class Recipient:
    """Who one message goes to."""

    id: int  # the subscriber id (the send ledger's key); 0 for a sample or test recipient
    email: str
    name: str = ""
    lang: str = "es"


@dataclass(frozen=True)
class EmailEdition:
    """One issue in one language, rendered for email, with gaps for the per-subscriber links."""

    slug: str
    lang: str
    subject: str
    html: str  # premailer's output, with UNSUBSCRIBE_SLOT and LANGUAGE_SLOT not yet filled
    text: str
    sender: Sender
    links: SubscriptionUrls
    signer: Signer = field(repr=False, compare=False)
    source: str = ""
    _templates: dict[str, MessageTemplate] = field(
        default_factory=dict, repr=False, compare=False
    )

    def tokens_for(self, recipient: Recipient) -> dict[str, str]:
        """The signed tokens that fill this recipient's links."""
        return {
            UNSUBSCRIBE_SLOT: self.signer.sign("unsubscribe", recipient.id),
            LANGUAGE_SLOT: self.signer.sign("language", recipient.id),
        }

    def personalise(self, recipient: Recipient) -> tuple[str, str]:
        """(html, text) with this recipient's links filled in (for previews and size checks)."""
        values = self.tokens_for(recipient)
        html, text = self.html, self.text
        for slot, value in values.items():
            html = html.replace(slot, value)
            text = text.replace(slot, value)
        return html, text

    def message_id_for(self, recipient: Recipient) -> str:
        """A Message-ID that is the same for (issue, language, subscriber) on every (re)send."""
        raw = f"{self.slug}\x00{self.lang}\x00{recipient.id}".encode()
        digest = self.signer.digest(raw)[:24]
        return f"<annaobserva.{self.slug}.{self.lang}.{digest}@{self.sender.domain}>"

    def message_for(
        self,
        recipient: Recipient,
        *,
        subject_prefix: str = "",
        now: dt.datetime | None = None,
    ) -> bytes:
        """The complete message for one recipient: RFC 5322 bytes with CRLF, ready to send."""
        values = self.tokens_for(recipient)
        token = values[UNSUBSCRIBE_SLOT]
        return self._template(subject_prefix).render(
            to=format_address(recipient.email, recipient.name),
            date=now or dt.datetime.now(dt.UTC),
            message_id=self.message_id_for(recipient),
            list_unsubscribe=self.sender.list_unsubscribe(
                self.links.link("unsubscribe", token), token),
            values=values,
        )

    def messages(
        self,
        recipients: Iterable[Recipient],
        *,
        subject_prefix: str = "",
        now: dt.datetime | None = None,
    ) -> Iterator[tuple[Recipient, bytes]]:
        """One message per recipient, generated as they are asked for (never collected)."""
        for recipient in recipients:
            yield recipient, self.message_for(recipient, subject_prefix=subject_prefix, now=now)

    def _template(self, subject_prefix: str) -> MessageTemplate:
        template = self._templates.get(subject_prefix)
        if template is None:
            template = compile_message(
                self.sender,
                subject=f"{subject_prefix}{self.subject}",
                html=self.html,
                text=self.text,
                lang=self.lang,
                slots=SLOTS,
                where=self.source,
            )
            self._templates[subject_prefix] = template
        return template


def sample_recipient(settings: Settings, lang: str) -> Recipient:
    """The stand-in subscriber of previews and `publish.py email`: the editors themselves."""
    return Recipient(id=SAMPLE_ID, email=settings.editors.email, name=settings.editors.name,
                     lang=lang)


def inline_css(html: str, css: str) -> str:
    """Inline `css` into `html` with premailer, keeping `@media` rules and their `!important`."""
    return Premailer(
        html,
        css_text=[css],
        strip_important=False,
        allow_network=False,
        disable_link_rewrites=True,
        disable_basic_attributes=list(PRESENTATIONAL_ATTRIBUTES),
        cssutils_logging_level=logging.CRITICAL,
    ).transform(pretty_print=False)


def text_direction(lang: str) -> str:
    """`rtl` or `ltr`, for `<html dir>`."""
    try:
        return "rtl" if Locale.parse(lang).character_order == "right-to-left" else "ltr"
    except (UnknownLocaleError, ValueError):
        return "ltr"


def _template_location(exc: jinja2.TemplateError) -> str:
    """file:line of a template error; Jinja puts runtime errors' template lines in the traceback."""
    filename, line = getattr(exc, "filename", None), getattr(exc, "lineno", None)
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code.co_filename
        if code.endswith((".html", ".txt")):
            filename, line = code, tb.tb_lineno
        tb = tb.tb_next
    if not filename:
        return getattr(exc, "name", None) or "email template"
    return f"{filename}:{line}" if line else filename


def _context(settings: Settings, issue: Issue, lang: str) -> dict[str, Any]:
    """What both email templates are rendered with (the body comes separately)."""
    edition = issue.editions[lang]
    urls = SiteUrls(settings.site.base_url)
    words = load_email_strings(settings.path(settings.build.templates_dir), lang)
    number = words["number"].format(number=edition.number)
    site_title = settings.site.title[lang]
    links = SubscriptionUrls(settings.email.subscription_url)
    return {
        "lang": lang,
        "dir": text_direction(lang),
        "subject": f"{site_title} {number}: {edition.title}",
        "site_title": site_title,
        "site_description": settings.site.description[lang],
        "home_url": urls.absolute(SiteUrls.index(lang)),
        "number": number,
        "date": localized_date(edition.date, lang),
        "title": edition.title,
        "summary": edition.summary,
        "view_url": urls.absolute(SiteUrls.issue(lang, issue.slug)),
        "other_languages": [
            {"lang": other, "name": native_language_name(other),
             "url": urls.absolute(SiteUrls.issue(other, issue.slug))}
            for other in issue.editions
            if other != lang
        ],
        "words": words,
        "unsubscribe_url": links.link("unsubscribe", UNSUBSCRIBE_SLOT),
        "language_url": links.link("language", LANGUAGE_SLOT),
        "postal_address": settings.site.postal_address,
        "publisher": settings.site.publisher,
    }


def render_email_edition(
    settings: Settings, issue: Issue, lang: str, signer: Signer | None = None
) -> EmailEdition:
    """Render one issue in one language for email: the expensive work, done once.

    `signer` signs its subscriber links (default: one made from the settings' secret).
    """
    if lang not in issue.editions:
        raise EditionNotFound(
            f"issue {issue.slug} has no {lang!r} edition (it has {', '.join(issue.editions)})"
        )
    edition = issue.editions[lang]
    source = display_path(edition.path, settings.root)
    check_header_value("title", edition.title, source)
    check_header_value("summary", edition.summary, source)
    urls = SiteUrls(settings.site.base_url)
    renderer = renderer_for(lang, urls.base_path, lang in settings.build.typographic_quotes)
    context = _context(settings, issue, lang)
    words = context["words"]
    html = with_dimensions(renderer.render(issue.slug, edition.body).html,
                           _image_sizes(issue, urls))
    body = absolutize(label_footnotes(html, words["footnotes"]), urls.origin)
    templates_dir = settings.path(settings.build.templates_dir)
    env = make_environment(templates_dir)
    try:
        css = (templates_dir / "email.css").read_text(encoding="utf-8")
        html = env.get_template("email.html").render(
            **context, body=trusted_html(Rendered(html=body, toc=""))
        )
        text = env.get_template("email.txt").render(
            **context,
            body_text=html_to_text(body, links_heading=words["links"], image_label=words["image"]),
        )
    except FileNotFoundError as exc:
        raise EmailTemplateError(f"{exc.filename}: the email stylesheet is missing") from None
    except jinja2.TemplateError as exc:
        raise EmailTemplateError(f"{_template_location(exc)}: {exc.message or exc}") from None
    inlined = inline_css(html, css)
    for slot in SLOTS:
        if inlined.count(slot) != html.count(slot) or not html.count(slot):
            raise EmailTemplateError(
                f"{templates_dir / 'email.html'}: the per-subscriber link {slot} did not survive "
                "CSS inlining; keep it as a plain href"
            )
    logger.info("rendered the %s email edition of %s", lang, issue.slug)
    return EmailEdition(
        slug=issue.slug, lang=lang, subject=context["subject"], html=inlined, text=text,
        sender=Sender.from_settings(settings.email),
        links=SubscriptionUrls(settings.email.subscription_url),
        signer=signer or settings.signer(), source=source,
    )


def _image_sizes(issue: Issue, urls: SiteUrls) -> dict[str, tuple[int, int]]:
    """Each readable image's width and height, by its root-relative URL, scaled down to the
    column (Outlook honours `width` and ignores `max-width`); `check` reports unreadable ones."""
    sizes = {}
    for name, path in issue.image_files():
        try:
            width, height = image_size(path)
        except ImageError:
            continue
        if width > EMAIL_IMAGE_WIDTH:
            width, height = EMAIL_IMAGE_WIDTH, max(1, round(height * EMAIL_IMAGE_WIDTH / width))
        sizes[urls.url(SiteUrls.media(issue.slug, name))] = (width, height)
    return sizes


def render_email_editions(
    settings: Settings, issue: Issue, signer: Signer | None = None
) -> dict[str, EmailEdition]:
    """Every language of an issue, rendered once each, in configured order, sharing one signer."""
    signer = signer or settings.signer()
    return {lang: render_email_edition(settings, issue, lang, signer) for lang in issue.editions}


def render_email_preview(settings: Settings, issue: Issue, lang: str) -> tuple[str, str]:
    """(html, text) of one email edition as a sample subscriber receives it, for `preview`."""
    edition = render_email_edition(settings, issue, lang)
    return edition.personalise(sample_recipient(settings, lang))


def _source_line(issue: Issue, lang: str, needle: str) -> int:
    """The file line where `needle` appears in the edition's body, or 0 (not in the body)."""
    edition = issue.editions[lang]
    for offset, line in enumerate(edition.body.split("\n")):
        if needle in line:
            return edition.body_line + offset
    return 0


def _kb(size: int) -> str:
    return f"{size / 1000:.1f} KB"


def email_problems(
    settings: Settings, corpus: Corpus, slugs: Iterable[str] | None = None
) -> list[Problem]:
    """What `check` reports about the email editions (all issues, or only `slugs`).

    An error when the HTML part is over the budget (Gmail clips larger messages), a warning for
    every link or image that is not HTTPS and for SVG images (Gmail and Outlook do not show
    them), and an `info` line with the sizes of each edition.
    """
    wanted = set(slugs) if slugs is not None else None
    budget = settings.email.html_budget_bytes
    signer = settings.signer()
    problems: list[Problem] = []
    for issue in corpus.issues:
        if wanted is not None and issue.slug not in wanted:
            continue
        for lang, source_edition in issue.editions.items():
            source = display_path(source_edition.path, settings.root)
            try:
                edition = render_email_edition(settings, issue, lang, signer)
            except NewsletterError as exc:
                problems.append(Problem(source, 0, f"email edition: {exc}"))
                continue
            sample = sample_recipient(settings, lang)
            html, _ = edition.personalise(sample)
            html_size = len(html.encode("utf-8"))
            total = len(edition.message_for(sample, now=source_edition.published))
            if html_size > budget:
                problems.append(Problem(
                    source, 0,
                    f"the email's HTML is {_kb(html_size)}, over the {_kb(budget)} budget: Gmail "
                    "clips it and hides the unsubscribe link; shorten the issue or link to the "
                    "web archive for long items",
                ))
            problems.append(Problem(
                source, 0,
                f"email ({lang}): HTML {_kb(html_size)} of {_kb(budget)}, "
                f"whole message {_kb(total)}",
                "info",
            ))
            for url in sorted(set(_INSECURE_URL_RE.findall(html))):
                line = _source_line(issue, lang, url)
                where = source if line else display_path(
                    settings.path(settings.build.templates_dir) / "email.html", settings.root
                )
                problems.append(Problem(
                    where, line, f"the email links to {url} over plain http: use https://",
                    "warning",
                ))
            for url in sorted(set(_SVG_IMAGE_RE.findall(html))):
                name = url.rsplit("/", 1)[-1]
                problems.append(Problem(
                    source, _source_line(issue, lang, name),
                    f"Gmail and Outlook do not show SVG images ({name}): readers of the email "
                    "see only its alt text; use a PNG or JPEG version",
                    "warning",
                ))
    return sorted(problems)
