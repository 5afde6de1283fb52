"""Email editions: render once per language, then personalise cheaply.

Measures, in one run on one core:
- the once-per-language render (Markdown, Jinja, premailer, text) and premailer's share of it,
  with a cold and a warm CSS cache;
- producing 10,000 personalised messages (bytes ready to send) in two languages, in ms/message;
- the named peers: building each message with the standard library's `EmailMessage`
  (set_content/add_alternative/as_bytes), and re-rendering the edition for every subscriber;
- peak traced memory for 1,000 and for 10,000 messages (they are generated, not collected).

Run: `.venv/bin/python -m bench.email [--messages 10000]`.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import statistics
import time
import tracemalloc
from collections.abc import Callable, Iterator
from email import policy
from email.message import EmailMessage
from pathlib import Path

import premailer
import premailer.premailer

from newsletter.content.issues import Issue
from newsletter.content.loader import load_issues
from newsletter.mail.editions import (
    EmailEdition,
    Recipient,
    render_email_edition,
    render_email_editions,
)
from newsletter.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
BUDGET_MS = 0.5


def recipients(count: int, langs: tuple[str, ...]) -> Iterator[Recipient]:
    """Subscribers as the sender streams them: a new object each, alternating languages."""
    for i in range(1, count + 1):
        yield Recipient(i, f"liaison{i}@ministerio{i % 35}.example.org",
                        "María José Núñez" if i % 3 else "", langs[i % len(langs)])


def produce(editions: dict[str, EmailEdition], count: int) -> int:
    """Generate `count` messages and drop each one, as a sender would after handing it over."""
    total = 0
    langs = tuple(editions)
    for recipient in recipients(count, langs):
        total += len(editions[recipient.lang].message_for(recipient, now=NOW))
    return total


def stdlib_message(settings: Settings, edition: EmailEdition, recipient: Recipient) -> bytes:
    """The peer: one `EmailMessage` per subscriber, serialised by the SMTP policy."""
    html, text = edition.personalise(recipient)
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = f"{settings.email.from_name} <{settings.email.from_address}>"
    message["To"] = f"{recipient.name} <{recipient.email}>" if recipient.name else recipient.email
    message["Subject"] = edition.subject
    message["Date"] = NOW
    message["Message-ID"] = edition.message_id_for(recipient)
    message["List-Unsubscribe"] = "<https://example.org/u/x>, <mailto:u@example.org>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Content-Language"] = edition.lang
    message.set_content(text, cte="quoted-printable")
    message.add_alternative(html, subtype="html", cte="quoted-printable")
    return message.as_bytes()


def timed(fn: Callable[[], object], repeat: int = 1) -> float:
    """Best wall time of `repeat` runs, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


@contextlib.contextmanager
def premailer_clock() -> Iterator[list[float]]:
    """Seconds spent inside premailer's transform while the block runs (in [0])."""
    spent = [0.0]
    real = premailer.Premailer.transform

    def clocked(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        try:
            return real(self, *args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - start

    premailer.Premailer.transform = clocked  # type: ignore[method-assign]
    try:
        yield spent
    finally:
        premailer.Premailer.transform = real  # type: ignore[method-assign]


def peak_memory(editions: dict[str, EmailEdition], count: int) -> int:
    """Peak traced bytes while producing `count` messages."""
    gc.collect()
    tracemalloc.start()
    produce(editions, count)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def pick_issue(settings: Settings) -> Issue:
    """The largest sample issue with two languages (the email fixture if there is none)."""
    corpus = load_issues(settings.path(settings.build.issues_dir), settings.site.languages,
                         settings.root)
    issues = [i for i in corpus.issues if len(i.editions) >= 2]
    if not issues:
        fixture = ROOT / "tests" / "fixtures" / "email_issue"
        issues = list(load_issues(fixture, settings.site.languages, fixture).issues)
    return max(issues, key=lambda i: sum(len(e.body) for e in i.editions.values()))


def main() -> None:
    """Run the benchmark and print the summary table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    args = parser.parse_args()
    settings = load_settings(ROOT / "newsletter.toml")
    issue = pick_issue(settings)

    rows: list[tuple[str, str]] = []
    for lang in issue.editions:
        premailer.premailer._cache_parse_css_string.cache_clear()
        with premailer_clock() as pm_cold:
            cold = timed(lambda lang=lang: render_email_edition(settings, issue, lang))
        warm = []
        pm_warm = []
        for _ in range(5):
            with premailer_clock() as pm:
                warm.append(timed(lambda lang=lang: render_email_edition(settings, issue, lang)))
            pm_warm.append(pm[0])
        edition = render_email_edition(settings, issue, lang)
        rows.append((f"render once, {lang} ({len(edition.html) / 1000:.1f} KB HTML)",
                     f"{min(warm) * 1e3:.1f} ms (cold {cold * 1e3:.1f} ms)"))
        rows.append((f"  of which premailer, {lang}",
                     f"{min(pm_warm) * 1e3:.1f} ms (cold CSS cache {pm_cold[0] * 1e3:.1f} ms)"))

    editions = render_email_editions(settings, issue)
    produce(editions, 200)  # warm up the token serialisers and the message templates
    seconds = timed(lambda: produce(editions, args.messages))
    per_message_ms = seconds / args.messages * 1e3
    rows.append((f"{args.messages:,} personalised messages, {len(editions)} languages",
                 f"{seconds:.2f} s"))
    rows.append(("  per message (budget 0.5 ms)",
                 f"{per_message_ms:.3f} ms {'OK' if per_message_ms < BUDGET_MS else 'OVER'}"))
    sizes = [len(e.message_for(Recipient(1, "a@example.org"), now=NOW)) for e in editions.values()]
    rows.append(("  message size", " / ".join(f"{s / 1000:.1f} KB" for s in sizes)))

    peer_count = 500
    lang0 = next(iter(editions))
    peer_recipients = list(recipients(peer_count, (lang0,)))
    stdlib_s = timed(
        lambda: [stdlib_message(settings, editions[lang0], r) for r in peer_recipients]
    )
    stdlib_ms = stdlib_s / peer_count * 1e3
    rows.append(("peer: stdlib EmailMessage per message", f"{stdlib_ms:.3f} ms "
                 f"({stdlib_ms / per_message_ms:.0f}x slower)"))
    rerender = [timed(lambda: render_email_edition(settings, issue, lang0)) for _ in range(5)]
    rerender_ms = statistics.median(rerender) * 1e3 + per_message_ms
    rows.append(("peer: re-render per subscriber", f"{rerender_ms:.1f} ms "
                 f"({rerender_ms / per_message_ms:.0f}x slower)"))

    small = peak_memory(editions, 1_000)
    large = peak_memory(editions, args.messages)
    rows.append(("peak traced memory, 1,000 messages", f"{small / 1e6:.2f} MB"))
    rows.append((f"peak traced memory, {args.messages:,} messages",
                 f"{large / 1e6:.2f} MB (ratio {large / small:.2f})"))

    ses_rate = 14.0  # messages per second: SES's default production quota
    rows.append(("local cost vs SES at 14 msg/s (71 ms each)",
                 f"{per_message_ms / (1e3 / ses_rate) * 100:.3f} % of the time budget"))

    width = max(len(name) for name, _ in rows)
    print(f"Email editions: issue {issue.slug} ({', '.join(issue.editions)}), one core")
    print("-" * (width + 40))
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
