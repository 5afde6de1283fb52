"""What `make run` ends with: the demo subscribers and the latest issue in the demo's own outbox.

The demo never touches the operator's data: its subscribers live in `demo/subscribers.db` and its
messages in `demo/outbox/` (a git-ignored folder of their own), whatever `[subscribers] database`
and `[delivery]` say — a project with real subscribers gets neither the demo addresses nor a
campaign frozen for its real audience.

The demo does not need the editions' approval (`[delivery] require_approval`): it delivers only to
the fake example.org liaisons, into the demo's outbox, like a `send --to` test — the approval
guards the member states' inboxes, not a folder on this machine — and `make run` must work from a
fresh clone and after any edit an editor makes to the latest sample. It says which editions a real
`send` would refuse.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

from newsletter.content import load_corpus, unapproved
from newsletter.mail import open_transport, render_email_editions
from newsletter.settings import Settings
from newsletter.subscribers import SubscriberStore, import_csv

from .ledger import Ledger
from .options import SendOptions
from .report import fallback_lines
from .sending import run_send

logger = logging.getLogger(__name__)

DEMO_CSV = "subscribers/demo.csv"
DEMO_DIR = "demo"


def demo_settings(settings: Settings) -> Settings:
    """The settings with the demo's own database and outbox (under `demo/`), and the outbox as
    the transport."""
    return settings.replace(
        subscribers=dataclasses.replace(settings.subscribers,
                                        database=f"{DEMO_DIR}/subscribers.db"),
        delivery=dataclasses.replace(settings.delivery, transport="outbox",
                                     outbox_dir=f"{DEMO_DIR}/outbox"),
    )


def deliver_demo(settings: Settings) -> list[str]:
    """Import the fake example.org liaisons (confirmed) into the demo's database and send them
    the latest ready issue, into the demo's outbox."""
    demo = demo_settings(settings)
    corpus = load_corpus(demo)
    # The same rule as the archive: ready and dated today or earlier.
    ready = [issue for issue in corpus.issues if issue.is_visible(dt.date.today())]
    if not ready:
        return ["No ready issue to deliver."]
    latest = max(ready, key=lambda issue: (issue.date, issue.slug))
    store = SubscriberStore.open(demo)
    try:
        report = import_csv(store, demo.path(DEMO_CSV), confirmed=True, note="demo",
                            display=DEMO_CSV)
        # The demo sends at once, whatever the issue's send_at: it is the demo's outbox.
        ledger = Ledger.beside(store)
        summary = run_send(store, ledger, latest, render_email_editions(demo, latest),
                           lambda: open_transport(demo, "outbox"),
                           dataclasses.replace(demo.delivery, require_approval=False),
                           SendOptions(early=True))
        by_language: dict[str, int] = {}
        for lang, _edition, _state, _audience, sent, *_ in ledger.figures(latest.slug):
            by_language[lang] = by_language.get(lang, 0) + sent
    finally:
        store.close()
    database = demo.subscribers.database
    outbox = demo.delivery.outbox_dir
    imported = (f"Demo subscribers: {report.imported} imported from {DEMO_CSV} into {database}"
                + (f", {report.unchanged} already there" if report.unchanged else ""))
    lines = [imported + (f" ({len(report.problems)} rows not imported, e.g. "
                         f"{report.problems[0]})." if report.problems else ".")]
    if summary.already_complete:
        lines.append(f"{latest.slug}: already delivered to the {summary.audience} demo "
                     f"subscribers (delete the {DEMO_DIR}/ folder to start over).")
    else:
        offered = settings.site.languages
        order = [*offered, *sorted(set(by_language) - set(offered))]
        shown = ", ".join(f"{lang} {by_language[lang]}" for lang in order if by_language.get(lang))
        count = len([n for n in by_language.values() if n])
        lines.append(f"{latest.slug}: delivered {summary.sent} messages to {outbox}/, in "
                     f"{count} language{'s' * (count != 1)} ({shown}).")
        lines += fallback_lines(summary.fallbacks, settings)
    refused = unapproved(latest) if settings.delivery.require_approval else []
    if refused:
        lines.append(f"{latest.slug}: the demo needs no approval, but `send` would refuse "
                     + ", ".join(f"{e.lang} ({e.describe()})" for e in refused)
                     + f": `publish.py approve {latest.slug} --lang LANG --by NAME`.")
    return lines
