"""What `make run` ends with: the demo subscribers imported and the latest issue in the outbox.

The demo does not need the editions' approval (`[delivery] require_approval`): it delivers only to
the fake example.org liaisons, into the local outbox, like a `send --to` test — the approval
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
from .sending import run_send

logger = logging.getLogger(__name__)

DEMO_CSV = "subscribers/demo.csv"


def deliver_demo(settings: Settings) -> list[str]:
    """Import the fake example.org liaisons (confirmed) and send them the latest ready issue."""
    corpus = load_corpus(settings)
    # The same rule as the archive: ready and dated today or earlier.
    ready = [issue for issue in corpus.issues if issue.is_visible(dt.date.today())]
    if not ready:
        return ["No ready issue to deliver."]
    latest = max(ready, key=lambda issue: (issue.date, issue.slug))
    store = SubscriberStore.open(settings)
    try:
        report = import_csv(store, settings.path(DEMO_CSV), confirmed=True, note="demo",
                            display=DEMO_CSV)
        summary = run_send(store, Ledger.beside(store), latest,
                           render_email_editions(settings, latest),
                           lambda: open_transport(settings, "outbox"),
                           dataclasses.replace(settings.delivery, require_approval=False),
                           SendOptions())
    finally:
        store.close()
    lines = [f"Demo subscribers: {report.imported} imported from {DEMO_CSV}"
             + (f" ({len(report.problems)} rows not imported, e.g. {report.problems[0]})."
               if report.problems else ".")]
    if summary.already_complete:
        lines.append(f"{latest.slug}: already delivered to the {summary.audience} demo "
                     "subscribers (delete subscribers/subscribers.db to start over).")
    else:
        fallbacks = ", ".join(f"{n} {lang} → {edition}"
                              for (lang, edition), n in summary.fallbacks.items())
        lines.append(f"{latest.slug}: delivered {summary.sent} messages to the outbox"
                     + (f" (fallback: {fallbacks})." if fallbacks else "."))
    refused = unapproved(latest) if settings.delivery.require_approval else []
    if refused:
        lines.append(f"{latest.slug}: the demo needs no approval, but `send` would refuse "
                     + ", ".join(f"{e.lang} ({e.describe()})" for e in refused)
                     + f": `publish.py approve {latest.slug} --lang LANG --by NAME`.")
    return lines
