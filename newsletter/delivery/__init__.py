"""Delivery: the send ledger, the checks before a send (`preflight`), sending a campaign, pacing,
the schedule, rehearsals, bounces and the unsubscribe mailbox, reports, the operator's status, the
editors' summary, and the demo `make run` ends with (in its own `demo/` database and outbox).

Owns every statement on the delivery tables (`campaigns`, `deliveries`, `test_sends`,
`send_lock`, `delivery_events`, `send_runs`), all in `Ledger` (its read-only counts too),
which shares the subscribers' database (`Ledger.beside(store)`). `run_send(store, ledger, …)`
settles its configuration (the command's `SendOptions` over `[delivery]`) once, at the top, and
refuses an edition not approved as it is now when `[delivery] require_approval` is on;
`due_issues` says for each scheduled issue what `send --due` does (`DueKind`) and why;
`operator_status` is `status`, which sits here because it reads the schedule, the ledger, the
store and the approvals, all below it.

May import: `subscribers`, `mail`, `content` and the kernel. Other subsystems import these public
names, never its modules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from newsletter.exports import lazy_exports

if TYPE_CHECKING:
    from .bounces import BounceResult, process_queue
    from .demo import deliver_demo, demo_settings
    from .editors import Notice, notify_editors
    from .ledger import Ledger
    from .options import SendConfig, SendOptions
    from .preflight import SendRefused, check_approved, check_readable, issue_to_send
    from .records import LedgerError, MissingTranslation
    from .rehearsal import DryRun, dry_run, send_test
    from .report import DeliveryReport, delivery_report, fallback_lines
    from .schedule import DueIssue, DueKind, SendLock, SendRunning, due_issues
    from .sending import Progress, SendSummary, run_send
    from .status import OperatorStatus, holdings, operator_status

__all__ = [
    "BounceResult", "DeliveryReport", "DryRun", "DueIssue", "DueKind", "Ledger", "LedgerError",
    "MissingTranslation", "Notice", "OperatorStatus", "Progress", "SendConfig", "SendLock",
    "SendOptions", "SendRefused", "SendRunning", "SendSummary", "check_approved",
    "check_readable", "deliver_demo", "delivery_report", "demo_settings", "dry_run", "due_issues",
    "fallback_lines", "holdings", "issue_to_send", "notify_editors", "operator_status",
    "process_queue", "run_send", "send_test",
]
__getattr__, __dir__ = lazy_exports(__name__, {
    ".bounces": ("BounceResult", "process_queue"),
    ".demo": ("deliver_demo", "demo_settings"),
    ".editors": ("Notice", "notify_editors"),
    ".ledger": ("Ledger",),
    ".options": ("SendConfig", "SendOptions"),
    ".preflight": ("SendRefused", "check_approved", "check_readable", "issue_to_send"),
    ".records": ("LedgerError", "MissingTranslation"),
    ".rehearsal": ("DryRun", "dry_run", "send_test"),
    ".report": ("DeliveryReport", "delivery_report", "fallback_lines"),
    ".schedule": ("DueIssue", "DueKind", "SendLock", "SendRunning", "due_issues"),
    ".sending": ("Progress", "SendSummary", "run_send"),
    ".status": ("OperatorStatus", "holdings", "operator_status"),
})
