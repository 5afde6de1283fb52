"""Email editions: each issue rendered once per reader language, then personalised per subscriber.

A reader language is one the site offers. Its readers get the issue's edition in that language
where there is one, else the first edition of their fallback chain (`Settings.edition_for`),
with every fixed word in their own language and one line saying the issue is not yet written in
it: `render_email_editions` gives one `EmailEdition` per offered language (`EmailEditions`).

The stages, once per issue and reader language (`render_email_edition`):
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
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import jinja2
from babel import Locale, UnknownLocaleError
from premailer import Premailer

from newsletter.content import (
    ImageError,
    Issue,
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
from newsletter.wording import Wording, language_name_in, load_wording

from .message import (
    MessageTemplate,
    Sender,
    check_header_value,
    compile_message,
    format_address,
)
from .plaintext import html_to_text

logger = logging.getLogger(__name__)

# Placeholders premailer and lxml leave alone: `{{ … }}` in an href comes out URL-encoded.
UNSUBSCRIBE_SLOT = "x-annaobserva-unsubscribe-token"
LANGUAGE_SLOT = "x-annaobserva-language-token"
SLOTS = (UNSUBSCRIBE_SLOT, LANGUAGE_SLOT)
SAMPLE_ID = 0
# Presentational attributes premailer would copy from CSS; the HTML checker rejects them.
PRESENTATIONAL_ATTRIBUTES = ("align", "valign", "bgcolor", "width", "height")
EMAIL_IMAGE_WIDTH = 552  # the 600 px column less its padding (email.css)


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
    """One issue for the readers of one language, rendered for email, with gaps for the
    per-subscriber links: `lang` is the readers' (every fixed word), `edition_lang` the edition's
    (the issue's own text; another language when the issue is not written in `lang` yet)."""

    slug: str
    lang: str
    subject: str
    html: str  # premailer's output, with UNSUBSCRIBE_SLOT and LANGUAGE_SLOT not yet filled
    text: str
    sender: Sender
    links: SubscriptionUrls
    signer: Signer = field(repr=False, compare=False)
    source: str = ""
    edition_lang: str = ""  # default: `lang`
    _templates: dict[str, MessageTemplate] = field(
        default_factory=dict, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if not self.edition_lang:
            object.__setattr__(self, "edition_lang", self.lang)

    @property
    def is_fallback(self) -> bool:
        """Whether its readers get another language's edition (theirs is not written yet)."""
        return self.edition_lang != self.lang

    @property
    def content_language(self) -> str:
        """`Content-Language`: the edition's language, then the readers' if it differs."""
        return self.lang if not self.is_fallback else f"{self.edition_lang}, {self.lang}"

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
                lang=self.content_language,
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


def _context(settings: Settings, issue: Issue, lang: str, reader: str, words: Mapping[str, Any]
             ) -> dict[str, Any]:
    """What both email templates are rendered with (the body comes separately): the `lang`
    edition, for readers of `reader`."""
    edition = issue.editions[lang]
    urls = SiteUrls(settings.site.base_url)
    number = words["number"].format(number=edition.number)
    site_title = settings.site.title[reader]
    links = SubscriptionUrls(settings.email.subscription_url)
    return {
        "lang": reader,
        "dir": text_direction(reader),
        "edition_lang": lang,
        "edition_dir": text_direction(lang),
        "subject": f"{site_title} {number}{words['colon']} {edition.title}",
        "site_title": site_title,
        "site_description": settings.site.description[reader],
        "home_url": urls.absolute(SiteUrls.index(reader)),
        "number": number,
        "date": localized_date(edition.date, reader),
        "title": edition.title,
        "summary": edition.summary,
        # The one line a reader of a language the issue lacks gets, in their language.
        "not_available": "" if lang == reader else words["not_available"].format(
            language=language_name_in(lang, reader)),
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
    }


def render_email_edition(
    settings: Settings, issue: Issue, lang: str, signer: Signer | None = None, *,
    reader: str | None = None, wording: Wording | None = None,
) -> EmailEdition:
    """Render the `lang` edition of an issue for email, for readers of `reader` (default:
    `lang`): the expensive work, done once.

    `signer` signs its subscriber links (default: one made from the settings' secret);
    `wording` is the interface's words (default: read from the templates).
    """
    reader = reader or lang
    if lang not in issue.editions:
        raise EditionNotFound(
            f"issue {issue.slug} has no {lang!r} edition (it has {', '.join(issue.editions)})"
        )
    if wording is None:
        wording = load_wording(settings.path(settings.build.templates_dir), settings.site.languages)
    if reader not in wording.languages:
        raise EditionNotFound(
            f"{reader!r} is not an offered language ({', '.join(settings.site.languages)})")
    edition = issue.editions[lang]
    source = display_path(edition.path, settings.root)
    check_header_value("title", edition.title, source)
    check_header_value("summary", edition.summary, source)
    urls = SiteUrls(settings.site.base_url)
    renderer = renderer_for(lang, urls.base_path, lang in settings.build.typographic_quotes,
                            wording.word(reader, "markdown", "footnote_backlink"))
    words = wording.section(reader, "email")
    context = _context(settings, issue, lang, reader, words)
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
            body_text=html_to_text(body, links_heading=words["links"], image_label=words["image"],
                                   colon=words["colon"]),
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
    logger.info("rendered the %s email edition of %s for %s readers", lang, issue.slug, reader)
    return EmailEdition(
        slug=issue.slug, lang=reader, subject=context["subject"], html=inlined, text=text,
        sender=Sender.from_settings(settings.email),
        links=SubscriptionUrls(settings.email.subscription_url),
        signer=signer or settings.signer(), source=source, edition_lang=lang,
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


class EmailEditions(Mapping[str, EmailEdition]):
    """An issue's email editions, one per offered language (its readers' edition), in configured
    order; `for_reader` answers for any subscriber, whatever their language."""

    def __init__(self, editions: Mapping[str, EmailEdition],
                 reader_language: Callable[[str], str],
                 render: Callable[[str, str], EmailEdition | None] | None = None) -> None:
        self._editions = dict(editions)
        self._reader_language = reader_language
        # (reader, edition) → that edition in the reader's words, for rows the ledger froze on an
        # edition that is no longer their language's; rendered when first asked for (`render`
        # answers None for an edition the issue no longer has).
        self._render = render
        self._recorded: dict[tuple[str, str], EmailEdition] = {}

    def __getitem__(self, lang: str) -> EmailEdition:
        return self._editions[lang]

    def __iter__(self) -> Iterator[str]:
        return iter(self._editions)

    def __len__(self) -> int:
        return len(self._editions)

    def edition_for(self, lang: str) -> str | None:
        """The edition a subscriber of `lang` gets (what the send ledger records), or None."""
        edition = self._editions.get(self._reader_language(lang))
        return edition.edition_lang if edition is not None else None

    def for_reader(self, lang: str, edition_lang: str | None = None) -> EmailEdition:
        """What a subscriber of `lang` receives. A language the site no longer offers is read in
        the first offered language of its fallback chain. `edition_lang`, when the ledger froze
        one, is kept: if the issue changed since (a translation added or published), the
        subscriber still gets the edition recorded, in their own words as before."""
        reader = self._reader_language(lang)
        edition = self._editions.get(reader)
        if edition is not None and edition_lang in (None, edition.edition_lang):
            return edition
        key = (reader, edition_lang or "")
        if key not in self._recorded:
            self._recorded[key] = self._recorded_edition(reader, edition_lang or "")
        return self._recorded[key]

    def _recorded_edition(self, reader: str, edition_lang: str) -> EmailEdition:
        if self._render is not None:
            recorded = self._render(reader, edition_lang)
        else:
            recorded = self._editions.get(edition_lang)
            if recorded is not None and recorded.edition_lang != edition_lang:
                recorded = None
        if recorded is None:
            raise EditionNotFound(f"the {edition_lang!r} edition recorded for this subscriber "
                                  "is no longer in the issue")
        return recorded


def render_email_editions(
    settings: Settings, issue: Issue, signer: Signer | None = None, *, drafts: bool = False
) -> EmailEditions:
    """The issue for the readers of every offered language, each rendered once, sharing one
    signer: their own edition where it is published (`Issue.published_editions`: an optional
    edition still in draft is not, unless `drafts`), else their fallback chain's."""
    issue = issue.published(drafts)
    signer = signer or settings.signer()
    wording = load_wording(settings.path(settings.build.templates_dir), settings.site.languages)
    editions = {}
    for reader in settings.site.languages:
        lang = settings.edition_for(reader, issue.editions)
        if lang is None:
            continue  # the issue lacks even the default language (check reports it)
        editions[reader] = render_email_edition(settings, issue, lang, signer, reader=reader,
                                                wording=wording)

    def recorded(reader: str, edition_lang: str) -> EmailEdition | None:
        if edition_lang not in issue.editions:
            return None
        return render_email_edition(settings, issue, edition_lang, signer, reader=reader,
                                    wording=wording)

    return EmailEditions(editions, settings.reader_language, recorded)


def render_email_preview(settings: Settings, issue: Issue, lang: str) -> tuple[str, str]:
    """(html, text) of the email the readers of `lang` get, as a sample subscriber receives it,
    for `preview` (another language's edition, with their words, if the issue lacks theirs;
    drafts included: it is a preview)."""
    issue = issue.published(drafts=True)
    edition_lang = settings.edition_for(lang, issue.editions)
    if edition_lang is None or lang not in settings.site.languages:
        raise EditionNotFound(f"issue {issue.slug} has no edition for {lang!r} readers")
    edition = render_email_edition(settings, issue, edition_lang, reader=lang)
    return edition.personalise(sample_recipient(settings, lang))
