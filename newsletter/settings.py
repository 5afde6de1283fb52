"""Read `newsletter.toml` into a frozen, typed `Settings` object.

Every section is a frozen dataclass; the loader walks the dataclass fields, so an unknown key, a
missing required key or a value of the wrong type is an error that names the key and the file.
What the environment adds is resolved here too, once: the signing secret comes from
`ANNAOBSERVA_SECRET` only (a secret in a file of the repository is readable by anybody who can read
the repository: `[email] secret` in the file is refused), `Settings.signer()` makes the one
`Signer` from it, and the subscription URL always ends in `/`. So are the languages:
`[site] required_languages` defaults to every offered one, `[site] timezone` is a zone the
system knows, and `Settings.fallback_chain(lang)` is the one answer to "which edition does a
reader of `lang` get" (`[delivery.fallback]`, ending in the default language).
"""

from __future__ import annotations

import collections.abc
import dataclasses
import ipaddress
import os
import re
import tomllib
import types
import typing
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import SettingsError
from .tokens import SECRET_ENV, Signer

SETTINGS_FILE = "newsletter.toml"
LANGUAGE_CODE = re.compile(r"[a-z]{2}")
# What waitress may believe from the proxy (its trusted_proxy_headers); one of the last two says
# who the visitor is.
PROXY_HEADERS = ("x-forwarded-host", "x-forwarded-proto", "x-forwarded-port", "x-forwarded-by",
                 "x-forwarded-for", "forwarded")


@dataclass(frozen=True)
class SiteSettings:
    """What the public archive is called, where it lives and which languages it speaks.

    `languages` are the languages the newsletter offers (an archive index, a feed, subscribers);
    `required_languages` those every issue is written in (default: all); any other edition is
    optional, issue by issue. `timezone` places an issue's date in time (its feed date).
    """

    base_url: str
    languages: tuple[str, ...]
    default_language: str
    title: Mapping[str, str]
    description: Mapping[str, str]
    postal_address: str
    publisher: str = "Inter-American Children's Institute (IIN-OAS)"
    feed_items: int = 20
    required_languages: tuple[str, ...] = ()  # empty in the file: every offered language
    timezone: str = "UTC"

    @property
    def optional_languages(self) -> tuple[str, ...]:
        """The offered languages an issue may lack."""
        return tuple(lang for lang in self.languages if lang not in self.required_languages)

    @property
    def zone(self) -> ZoneInfo:
        """`timezone` as a tzinfo (checked when the settings were loaded)."""
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class EditorsSettings:
    """Who answers for the content."""

    name: str
    email: str
    # A short summary to `email` when a campaign completes (through the send's transport).
    campaign_summary: bool = True


@dataclass(frozen=True)
class BuildSettings:
    """Where and how the site is built."""

    output_dir: str = "_site"
    issues_dir: str = "issues"
    templates_dir: str = "templates"
    cache_dir: str = ".cache"
    # Languages whose straight quotes, dashes and ellipses become typographic ones (« » for es
    # and fr, “ ” otherwise); other languages keep what the editor typed.
    typographic_quotes: tuple[str, ...] = ()
    workers: int = 0  # 0 = one per core


@dataclass(frozen=True)
class EmailSettings:
    """The message around every email edition."""

    from_address: str
    from_name: str
    reply_to: str
    list_id: str
    unsubscribe_mailto: str
    # The address of the subscription web application (confirm, unsubscribe, change language).
    subscription_url: str
    html_budget_bytes: int = 102_000
    # Filled from the ANNAOBSERVA_SECRET environment variable by the loader, never from the file;
    # never shown.
    secret: str = field(default="", repr=False)
    token_max_age_days: int = 7


@dataclass(frozen=True)
class SubscribersSettings:
    """The subscriber store."""

    database: str = "subscribers/subscribers.db"
    member_states: str = "subscribers/member-states.toml"
    reports_dir: str = "reports"
    # One confirmation email per address in this many minutes, however often the form is sent.
    confirmation_cooldown_minutes: float = 15.0
    # Rows an import writes per transaction: a sign-up waits for one batch at most, not the file.
    import_batch: int = 500


@dataclass(frozen=True)
class SmtpSettings:
    """An SMTP relay."""

    host: str = "localhost"
    port: int = 25
    security: str = "starttls"  # none | starttls | tls
    username: str = ""
    password_env: str = "ANNAOBSERVA_SMTP_PASSWORD"
    timeout: float = 30.0
    ca_file: str = ""  # a CA bundle for a relay with a private certificate (default: the system's)


@dataclass(frozen=True)
class SesSettings:
    """Amazon SES (through boto3)."""

    region: str = "us-east-1"
    endpoint_url: str = ""
    configuration_set: str = ""
    quota_margin: float = 0.9
    timeout: float = 10.0
    # false only for a local SES emulator (moto) whose quota (1/s, 200/day) is fictitious
    account_quota: bool = True


@dataclass(frozen=True)
class DeliverySettings:
    """How `send` delivers."""

    transport: str = "outbox"  # outbox | smtp | ses
    outbox_dir: str = "outbox"
    rate: float = 0.0  # messages per second; 0 = the transport's own (SES quota) or unlimited
    workers: int = 4
    max_attempts: int = 5
    error_burst: int = 50
    due_window_days: int = 7
    lock_timeout_seconds: int = 600
    transient_bounce_limit: int = 3
    # `send` refuses an edition nobody approved (`publish.py approve`) or changed since.
    require_approval: bool = False
    fallback: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BackupSettings:
    """Where `backup` puts copies of the subscribers' database, and how many it keeps."""

    to: str = "backups"  # a folder (relative to the project) or s3://bucket/prefix/
    keep: int = 30  # the newest N backups at the destination stay; older ones are removed
    max_age_hours: int = 26  # `status` asks for a person when the last backup is older
    encryption: str = "AES256"  # S3 server-side encryption: AES256 or aws:kms
    kms_key_id: str = ""  # with aws:kms: the key (default: the account's S3 key)
    region: str = "us-east-1"
    endpoint_url: str = ""


@dataclass(frozen=True)
class DeploySettings:
    """The S3 bucket the archive is deployed to."""

    bucket: str = ""
    prefix: str = ""
    region: str = "us-east-1"
    endpoint_url: str = ""


@dataclass(frozen=True)
class ServeSettings:
    """The subscription web application."""

    host: str = "127.0.0.1"
    port: int = 8080
    rate_limit_per_hour: int = 10
    # The HTTPS proxy in front of `serve`: the address its connections come from (e.g.
    # "127.0.0.1"), or "*" when nothing but the proxy can reach the port. waitress believes
    # X-Forwarded-For only from it, and clears it from anybody else; "" = no proxy.
    trusted_proxy: str = ""
    # Behind N proxies that each append to X-Forwarded-For, the visitor's address (for the
    # per-IP rate limit and the consent record) is the Nth entry from the right; 0 = no proxy.
    forwarded_hops: int = 0
    # The headers the proxy sets that waitress may believe (its trusted_proxy_headers).
    proxy_headers: tuple[str, ...] = ("x-forwarded-for",)
    # On SIGTERM or Ctrl-C, how long to go on sending the queued confirmation emails; what is
    # left stays queued in the database and goes out at the next start.
    drain_seconds: float = 20.0


@dataclass(frozen=True)
class Settings:
    """Everything `newsletter.toml` configures, plus the folder it was read from."""

    site: SiteSettings
    editors: EditorsSettings
    email: EmailSettings
    build: BuildSettings = field(default_factory=BuildSettings)
    subscribers: SubscribersSettings = field(default_factory=SubscribersSettings)
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    ses: SesSettings = field(default_factory=SesSettings)
    deploy: DeploySettings = field(default_factory=DeploySettings)
    serve: ServeSettings = field(default_factory=ServeSettings)
    backup: BackupSettings = field(default_factory=BackupSettings)
    root: Path = Path(".")

    def path(self, relative: str) -> Path:
        """A path from the settings, resolved against the project folder."""
        return self.root / relative

    def signer(self) -> Signer:
        """The `Signer` of subscriber links, from `ANNAOBSERVA_SECRET` (read at load); without
        it, from the demo value, which signs only links that stay on this machine."""
        return Signer.from_configured(self.email.secret)

    def fallback_chain(self, lang: str) -> tuple[str, ...]:
        """The editions a reader of `lang` gets, in order of preference: their own, then
        `[delivery.fallback]` step by step, then the default language (which every issue has).

        A language the site no longer offers has a chain too, so its old subscribers are served.
        """
        chain = [lang]
        fallback = self.delivery.fallback
        while chain[-1] in fallback and fallback[chain[-1]] not in chain:
            chain.append(fallback[chain[-1]])
        if self.site.default_language not in chain:
            chain.append(self.site.default_language)
        return tuple(chain)

    def edition_for(self, lang: str, available: Collection[str]) -> str | None:
        """The first language of `lang`'s fallback chain in `available` (None: none is)."""
        return next((code for code in self.fallback_chain(lang) if code in available), None)

    def reader_language(self, lang: str) -> str:
        """The offered language a reader of `lang` is addressed in: `lang` itself, or for a
        language the site no longer offers, the first offered one of its fallback chain."""
        return next(code for code in self.fallback_chain(lang) if code in self.site.languages)

    def replace(self, **sections: Any) -> Settings:
        """A copy with some sections or fields replaced (e.g. a preview's base URL)."""
        return dataclasses.replace(self, **sections)


def load_settings(path: Path | str = SETTINGS_FILE) -> Settings:
    """Read and validate the settings file; raise SettingsError naming the bad key."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(
            f"{path}: not found (run from the project folder or pass --config)") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: {exc}") from None
    raw["root"] = path.parent.resolve()
    return _resolve(_build(Settings, _no_secret(raw, str(path)), str(path), ""), str(path))


def settings_from_dict(raw: dict[str, Any], root: Path, source: str = SETTINGS_FILE) -> Settings:
    """Build settings from an already-parsed mapping (tests and tools)."""
    raw = _no_secret({**raw, "root": root}, source)
    return _resolve(_build(Settings, raw, source, ""), source)


def _no_secret(raw: dict[str, Any], source: str) -> dict[str, Any]:
    """Refuse a signing secret written in the file: the repository is not a place for it."""
    email = raw.get("email")
    if isinstance(email, dict) and "secret" in email:
        raise SettingsError(
            f"{source}: [email] secret: the signing secret is read from the {SECRET_ENV} "
            "environment variable only, never from a file in the repository; delete the line "
            f"and set {SECRET_ENV}"
        )
    return raw


def _resolve(settings: Settings, source: str) -> Settings:
    """Check what one key cannot say alone, and settle what the environment adds, once."""
    _check_consistency(settings, source)
    email = settings.email
    subscription_url = email.subscription_url.rstrip("/") + "/"
    secret = os.environ.get(SECRET_ENV, "")
    site = settings.site
    required = site.required_languages or site.languages
    return settings.replace(
        email=dataclasses.replace(email, subscription_url=subscription_url, secret=secret),
        site=dataclasses.replace(site, required_languages=tuple(
            lang for lang in site.languages if lang in required)),
    )


def _check_consistency(settings: Settings, source: str) -> None:
    site = settings.site
    if not site.languages:
        raise SettingsError(f"{source}: [site] languages is empty")
    bad = next((lang for lang in site.languages if not LANGUAGE_CODE.fullmatch(lang)), None)
    if bad is not None:
        raise SettingsError(f"{source}: [site] languages: {bad!r} is not a two-letter ISO 639-1 "
                            "code in lower case (es, en, pt, fr…)")
    if len(set(site.languages)) != len(site.languages):
        raise SettingsError(f"{source}: [site] languages names a language twice")
    if site.default_language not in site.languages:
        raise SettingsError(
            f"{source}: [site] default_language {site.default_language!r} is not one of "
            f"languages {list(site.languages)}"
        )
    unknown = [lang for lang in site.required_languages if lang not in site.languages]
    if unknown:
        raise SettingsError(
            f"{source}: [site] required_languages: {unknown[0]!r} is not one of languages "
            f"{list(site.languages)} (a required language must be offered)"
        )
    if site.required_languages and site.default_language not in site.required_languages:
        raise SettingsError(
            f"{source}: [site] required_languages must include default_language "
            f"{site.default_language!r}: it is every reader's last fallback, so every issue "
            "needs it"
        )
    try:
        ZoneInfo(site.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            f"{source}: [site] timezone {site.timezone!r} is not a time zone name "
            "(e.g. America/Montevideo, UTC)"
        ) from None
    for key in ("title", "description"):
        missing = [lang for lang in site.languages if lang not in getattr(site, key)]
        if missing:
            raise SettingsError(f"{source}: [site.{key}] has no entry for {', '.join(missing)}")
    if not site.base_url.startswith(("http://", "https://")):
        raise SettingsError(f"{source}: [site] base_url must start with https:// or http://")
    for lang, target in settings.delivery.fallback.items():
        # A key may be a language no longer offered: its subscribers are still served.
        if not LANGUAGE_CODE.fullmatch(lang):
            raise SettingsError(f"{source}: [delivery.fallback] {lang!r} is not a two-letter "
                                "language code")
        if target not in site.languages:
            raise SettingsError(
                f"{source}: [delivery.fallback] {lang} = {target!r} is not an offered language "
                f"({', '.join(site.languages)})"
            )
        if target == lang:
            raise SettingsError(f"{source}: [delivery.fallback] {lang} falls back to itself")
    backup = settings.backup
    if backup.keep < 1:
        raise SettingsError(f"{source}: [backup] keep must be 1 or more, not {backup.keep}")
    if backup.encryption not in ("AES256", "aws:kms"):
        raise SettingsError(f"{source}: [backup] encryption must be AES256 or aws:kms, "
                            f"not {backup.encryption!r}")
    if settings.delivery.transport not in ("outbox", "smtp", "ses"):
        raise SettingsError(
            f"{source}: [delivery] transport must be outbox, smtp or ses, "
            f"not {settings.delivery.transport!r}"
        )
    subscribers = settings.subscribers
    if subscribers.confirmation_cooldown_minutes < 0:
        raise SettingsError(f"{source}: [subscribers] confirmation_cooldown_minutes must be 0 "
                            "or more")
    if subscribers.import_batch < 1:
        raise SettingsError(f"{source}: [subscribers] import_batch must be 1 or more")
    _check_proxy(settings.serve, source)


def _check_proxy(serve: ServeSettings, source: str) -> None:
    """The proxy settings waitress is given: both or neither, an address, headers it knows."""
    if serve.forwarded_hops < 0:
        raise SettingsError(f"{source}: [serve] forwarded_hops must be 0 or more")
    if serve.forwarded_hops and not serve.trusted_proxy:
        raise SettingsError(
            f"{source}: [serve] forwarded_hops = {serve.forwarded_hops} needs [serve] "
            "trusted_proxy, the address the proxy connects from (e.g. \"127.0.0.1\"): waitress "
            "removes X-Forwarded-For from every other peer"
        )
    if not serve.trusted_proxy:
        return
    if serve.trusted_proxy != "*":
        try:
            ipaddress.ip_address(serve.trusted_proxy)
        except ValueError:
            raise SettingsError(
                f"{source}: [serve] trusted_proxy must be the IP address the proxy connects "
                f"from, or \"*\", not {serve.trusted_proxy!r}"
            ) from None
    if not serve.forwarded_hops:
        raise SettingsError(
            f"{source}: [serve] trusted_proxy is set but forwarded_hops is 0: set it to the "
            "number of proxies that append to X-Forwarded-For (1 for one)"
        )
    unknown = [h for h in serve.proxy_headers if h.lower() not in PROXY_HEADERS]
    if unknown:
        raise SettingsError(f"{source}: [serve] proxy_headers: unknown header {unknown[0]!r} "
                            f"(known: {', '.join(PROXY_HEADERS)})")
    headers = {h.lower() for h in serve.proxy_headers}
    if not headers & {"x-forwarded-for", "forwarded"}:
        raise SettingsError(f"{source}: [serve] proxy_headers must include x-forwarded-for (or "
                            "forwarded): it says who the visitor is")
    if "forwarded" in headers and len(headers) > 1:
        raise SettingsError(f"{source}: [serve] proxy_headers: forwarded cannot be mixed with "
                            "the x-forwarded-* headers")


def _build(cls: type, raw: Any, source: str, where: str) -> Any:
    if not isinstance(raw, dict):
        raise SettingsError(f"{source}: [{where}] must be a table")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        place = f"[{where}] " if where else ""
        raise SettingsError(
            f"{source}: unknown key {place}{unknown[0]!r} (known: {', '.join(sorted(fields))})"
        )
    values: dict[str, Any] = {}
    for name, f in fields.items():
        key = f"{where}.{name}" if where else name
        if name not in raw:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise SettingsError(f"{source}: missing key {key!r}")
            continue
        values[name] = _convert(hints[name], raw[name], source, key)
    return cls(**values)


def _convert(hint: Any, value: Any, source: str, key: str) -> Any:
    if hint is Path:
        return value
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, source, key)
    origin = typing.get_origin(hint)
    if origin is tuple:
        (item,) = {a for a in typing.get_args(hint) if a is not Ellipsis}
        if not isinstance(value, list) or not all(isinstance(v, item) for v in value):
            raise SettingsError(f"{source}: {key} must be a list of {item.__name__}")
        return tuple(value)
    if origin in (collections.abc.Mapping, dict):
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise SettingsError(f"{source}: {key} must be a table of strings")
        return types.MappingProxyType(dict(sorted(value.items())))
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        raise SettingsError(
            f"{source}: {key} must be {hint.__name__}, not {type(value).__name__} ({value!r})"
        )
    return value
