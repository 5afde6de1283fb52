"""Delivery: the send ledger, sending a campaign, pacing, the schedule, rehearsals, bounces,
reports, and the demo `make run` ends with (in its own `demo/` database and outbox).

Owns every statement on the delivery tables (`campaigns`, `deliveries`, `test_sends`,
`send_lock`, `delivery_events`), all in `Ledger`, which shares the subscribers' database
(`Ledger.beside(store)`). `run_send(store, ledger, …)` settles its configuration (the command's
`SendOptions` over `[delivery]`) once, at the top; `due_issues` says for each scheduled issue
what `send --due` does (`DueKind`) and why.

May import: `subscribers`, `mail`, `content` and the kernel. Other subsystems import these public
names, never its modules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from newsletter.exports import lazy_exports

if TYPE_CHECKING:
    from .bounces import BounceResult, process_queue
    from .demo import deliver_demo, demo_settings
    from .ledger import Ledger
    from .options import SendConfig, SendOptions
    from .preflight import SendRefused, check_readable, issue_to_send
    from .records import LedgerError, MissingTranslation
    from .rehearsal import DryRun, dry_run, send_test
    from .report import DeliveryReport, delivery_report
    from .schedule import DueIssue, DueKind, SendLock, SendRunning, due_issues
    from .sending import Progress, SendSummary, run_send

__all__ = [
    "BounceResult", "DeliveryReport", "DryRun", "DueIssue", "DueKind", "Ledger", "LedgerError",
    "MissingTranslation", "Progress", "SendConfig", "SendLock", "SendOptions", "SendRefused",
    "SendRunning", "SendSummary", "check_readable", "deliver_demo", "delivery_report",
    "demo_settings", "dry_run", "due_issues", "issue_to_send", "process_queue", "run_send",
    "send_test",
]
__getattr__, __dir__ = lazy_exports(__name__, {
    ".bounces": ("BounceResult", "process_queue"),
    ".demo": ("deliver_demo", "demo_settings"),
    ".ledger": ("Ledger",),
    ".options": ("SendConfig", "SendOptions"),
    ".preflight": ("SendRefused", "check_readable", "issue_to_send"),
    ".records": ("LedgerError", "MissingTranslation"),
    ".rehearsal": ("DryRun", "dry_run", "send_test"),
    ".report": ("DeliveryReport", "delivery_report"),
    ".schedule": ("DueIssue", "DueKind", "SendLock", "SendRunning", "due_issues"),
    ".sending": ("Progress", "SendSummary", "run_send"),
})
