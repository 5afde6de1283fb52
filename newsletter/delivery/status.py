"""`publish.py status`: how things stand, on one screen, and what needs a person.

It reads, without changing anything: the schedule (`due_issues`) with each edition's approval,
the campaigns not finished (sent / audience per edition language, rows unknown or deferred), the
last send run and how it ended (and whether a send is running now), the bounce and complaint
rates of the last 30 days against the levels at which SES reviews an account (5 % and 0.1 %;
it pauses sending at 10 % and 0.5 %), the sign-ups waiting for their confirmation (and what waits
in the database's confirmation queue: sign-ups not yet decided, emails not yet sent, emails that
failed for good), the mail to the unsubscribe address, and the age of the last backup.
`needs_attention` lists, in words, what a person should act on; the command exits 1 when it is not
empty, for monitoring.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from newsletter.content import ApprovalError, ApprovalState, Corpus, Issue, approval_states
from newsletter.settings import Settings
from newsletter.subscribers import (
    SCHEMA_VERSION,
    BackupRecord,
    RestoreRecord,
    SubscriberStore,
    parse_stamp,
    stamp,
)

from .ledger import Ledger
from .records import LanguageFigures, LockHolder, RunRecord
from .schedule import DueKind, due_issues, live_sender

# SES reviews an account whose bounce rate reaches 5 % or complaint rate 0.1 %.
SES_BOUNCE_REVIEW = 0.05
SES_COMPLAINT_REVIEW = 0.001
LOOKBACK = dt.timedelta(days=30)
# An issue due within this long whose editions are not approved is worth a word now.
APPROVAL_LEAD = dt.timedelta(days=2)
# An issue due longer than this without a campaign: the cron line is not running it.
DUE_GRACE = dt.timedelta(minutes=30)


@dataclass(frozen=True)
class ScheduledIssue:
    """One scheduled issue: when, what `send --due` does with it, and its editions' approval."""

    issue: str
    send_at: str
    decision: str
    reason: str
    approvals: dict[str, str]  # lang → approved | changed | not approved (or why unreadable)


@dataclass(frozen=True)
class CampaignProgress:
    """A campaign not yet complete nor cancelled."""

    issue: str
    frozen_at: str
    audience: int
    languages: dict[str, LanguageFigures]

    def total(self, name: str) -> int:
        """One count over every language."""
        return sum(getattr(figures, name) for figures in self.languages.values())


@dataclass(frozen=True)
class Rates:
    """Bounce and complaint rates over the last 30 days, per message sent."""

    since: str
    sent: int
    bounces: int  # permanent (hard) bounces: what SES's bounce rate counts
    complaints: int

    @property
    def bounce_rate(self) -> float:
        """Permanent bounces per message sent."""
        return self.bounces / self.sent if self.sent else 0.0

    @property
    def complaint_rate(self) -> float:
        """Complaints per message sent."""
        return self.complaints / self.sent if self.sent else 0.0


@dataclass(frozen=True)
class OperatorStatus:
    """Everything `status` shows, and what needs a person."""

    generated_at: str
    database: dict[str, Any]
    issues: tuple[ScheduledIssue, ...]
    campaigns: tuple[CampaignProgress, ...]
    last_run: RunRecord | None
    last_run_state: str  # none | running | ended | died (no end recorded, no live process)
    sending_now: LockHolder | None
    rates: Rates
    pending_confirmations: int
    oldest_pending: str | None
    confirmation_queue: dict[str, int]  # sign_ups, emails (queued or sending), failed
    mailbox: dict[str, int]  # unsubscribed, kept (last 30 days)
    last_backup: BackupRecord | None
    backup_age_hours: float | None
    backup_max_age_hours: int
    restored: RestoreRecord | None
    needs_attention: tuple[str, ...] = field(default=())

    @property
    def unknown(self) -> int:
        """Rows whose outcome is unknown, over the unfinished campaigns."""
        return sum(c.total("unknown") for c in self.campaigns)

    @property
    def deferred(self) -> int:
        """Rows waiting for a retry, over the unfinished campaigns."""
        return sum(c.total("deferred") for c in self.campaigns)

    def as_json(self) -> dict[str, Any]:
        """The status as plain JSON values (what `status --json` prints)."""
        return {
            "generated_at": self.generated_at,
            "ok": not self.needs_attention,
            "needs_attention": list(self.needs_attention),
            "database": self.database,
            "issues": [asdict(i) for i in self.issues],
            "campaigns": [{"issue": c.issue, "frozen_at": c.frozen_at, "audience": c.audience,
                           "sent": c.total("sent"), "unknown": c.total("unknown"),
                           "deferred": c.total("deferred"), "owed": c.total("owed"),
                           "languages": {lang: asdict(f) for lang, f in c.languages.items()}}
                          for c in self.campaigns],
            "rows": {"unknown": self.unknown, "deferred": self.deferred},
            "last_run": None if self.last_run is None else {
                **asdict(self.last_run), "state": self.last_run_state},
            "sending_now": None if self.sending_now is None else asdict(self.sending_now),
            "rates": {"since": self.rates.since, "sent": self.rates.sent,
                      "bounces": self.rates.bounces, "complaints": self.rates.complaints,
                      "bounce_rate": round(self.rates.bounce_rate, 6),
                      "complaint_rate": round(self.rates.complaint_rate, 6),
                      "bounce_review_level": SES_BOUNCE_REVIEW,
                      "complaint_review_level": SES_COMPLAINT_REVIEW},
            "confirmations": {"pending": self.pending_confirmations,
                              "oldest_requested_at": self.oldest_pending,
                              "sign_ups_queued": self.confirmation_queue["sign_ups"],
                              "emails_queued": self.confirmation_queue["emails"],
                              "emails_failed": self.confirmation_queue["failed"]},
            "mailbox": dict(self.mailbox),
            "backup": {"last": None if self.last_backup is None else asdict(self.last_backup),
                       "age_hours": None if self.backup_age_hours is None
                       else round(self.backup_age_hours, 2),
                       "max_age_hours": self.backup_max_age_hours},
            "restored": None if self.restored is None else asdict(self.restored),
        }


def _approvals(issue: Issue) -> dict[str, str]:
    try:
        return {lang: state.state.value for lang, state in approval_states(issue).items()}
    except ApprovalError as exc:
        return dict.fromkeys(issue.published_editions(), f"unreadable: {exc}")


def operator_status(settings: Settings, corpus: Corpus, store: SubscriberStore, ledger: Ledger,
                    now: dt.datetime) -> OperatorStatus:
    """Gather the status (see the module docstring); nothing is written."""
    if ledger.database is not store.database:
        raise ValueError("the ledger must be the one beside the store (Ledger.beside)")
    since = stamp(now - LOOKBACK)
    attention: list[str] = []
    issues = _schedule(settings, corpus, ledger, now, attention)
    holder = live_sender(ledger, settings.delivery.lock_timeout_seconds)
    last = ledger.last_run()
    state = "none" if last is None else "ended" if last.ended_at else (
        "running" if holder is not None and holder.pid == last.pid and holder.host == last.host
        else "died")
    if last is not None and (state == "died" or last.outcome in ("stopped", "failed")):
        attention.append(
            f"the last send run ({last.issue}, started {last.started_at}) "
            + ("ended without a word (killed or crashed): run send again to resume"
               if state == "died" else f"ended {last.outcome}: {last.detail}"))
    campaigns = _campaigns(ledger, corpus, holder, attention)
    events = ledger.events_since(since)
    rates = Rates(since, ledger.sent_since(since), events.get(("bounce", "Permanent"), 0),
                  sum(n for (kind, _), n in events.items() if kind == "complaint"))
    if rates.bounce_rate >= SES_BOUNCE_REVIEW:
        attention.append(f"bounce rate {rates.bounce_rate:.2%} over 30 days is at or above the "
                         f"{SES_BOUNCE_REVIEW:.0%} at which SES reviews the account: clean the "
                         "list before the next issue")
    if rates.complaint_rate >= SES_COMPLAINT_REVIEW:
        attention.append(f"complaint rate {rates.complaint_rate:.2%} over 30 days is at or "
                         f"above the {SES_COMPLAINT_REVIEW:.1%} at which SES reviews the account")
    pending, oldest = store.pending_confirmations()
    outbox = store.outbox.counts()
    queue = {"sign_ups": outbox["sign_ups"], "emails": outbox["queued"] + outbox["sending"],
             "failed": outbox["failed"]}
    backup = _newest_backup(store.database.last_backup(), store.database.last_restore())
    age = (now - parse_stamp(backup.at)).total_seconds() / 3600 if backup else None
    limit = settings.backup.max_age_hours
    if backup is None:
        attention.append("no backup of the subscribers' database has been taken: run "
                         "`publish.py backup` (and its cron line)")
    elif age is not None and age > limit:
        attention.append(f"the last backup is {age:.0f} hours old (more than {limit}): is its "
                         "cron line running?")
    database = store.database
    return OperatorStatus(
        generated_at=stamp(now),
        database={"path": str(database.path), "schema_version": database.schema_version(),
                  "schema_expected": SCHEMA_VERSION, "current": database.schema_current},
        issues=tuple(issues), campaigns=tuple(campaigns), last_run=last, last_run_state=state,
        sending_now=holder, rates=rates, pending_confirmations=pending, oldest_pending=oldest,
        confirmation_queue=queue,
        mailbox={"unsubscribed": sum(n for (k, _), n in events.items() if k == "unsubscribe"),
                 "kept": sum(n for (k, _), n in events.items() if k == "kept")},
        last_backup=backup, backup_age_hours=age, backup_max_age_hours=limit,
        restored=database.last_restore(), needs_attention=tuple(attention),
    )


def _newest_backup(taken: BackupRecord | None, restored: RestoreRecord | None
                   ) -> BackupRecord | None:
    """The newest backup known: the last one taken of this file, or the one it was restored
    from (a restored file's own log ends before that backup was taken)."""
    if restored is None or restored.taken_at is None or (
            taken is not None and taken.at >= restored.taken_at):
        return taken
    name = restored.source.rstrip("/").rpartition("/")[2]
    return BackupRecord(restored.taken_at, restored.source, name, 0, "",
                        restored.schema_version)


def _schedule(settings: Settings, corpus: Corpus, ledger: Ledger, now: dt.datetime,
              attention: list[str]) -> list[ScheduledIssue]:
    """The scheduled issues worth showing, and what about them needs a person."""
    shown = []
    required = settings.delivery.require_approval
    for decision in due_issues(corpus, ledger, now, settings.delivery.due_window_days):
        issue, kind = decision.issue, decision.kind
        send_at = issue.send_at
        assert send_at is not None
        recent = now - send_at <= LOOKBACK
        if kind in (DueKind.SENT, DueKind.CANCELLED) or (
                kind in (DueKind.TOO_OLD, DueKind.DRAFT) and not recent):
            continue
        approvals = _approvals(issue)
        shown.append(ScheduledIssue(issue.slug, send_at.isoformat(), kind.value, decision.reason,
                                    approvals))
        soon = send_at - now <= APPROVAL_LEAD
        missing = [f"{lang} {state}" for lang, state in approvals.items()
                   if state != ApprovalState.APPROVED.value]
        if required and missing and issue.status == "ready" and soon and kind in (
                DueKind.DUE, DueKind.RESUMING, DueKind.SCHEDULED):
            attention.append(f"{issue.slug} is due {send_at.isoformat()} but is not approved "
                             f"({', '.join(missing)}): `send` will refuse it")
        elif kind is DueKind.DUE and now - send_at > DUE_GRACE:
            attention.append(f"{issue.slug} has been due since {send_at.isoformat()} and has "
                             "not started: is the `send --due` cron line running?")
        if kind is DueKind.DRAFT and send_at <= now:
            attention.append(f"{issue.slug}: its send_at {send_at.isoformat()} has passed but "
                             "it is still a draft")
        elif kind in (DueKind.TOO_OLD, DueKind.RESTORED):
            attention.append(f"{issue.slug}: {decision.reason}")
    return shown


def _campaigns(ledger: Ledger, corpus: Corpus, holder: LockHolder | None,
               attention: list[str]) -> list[CampaignProgress]:
    """The campaigns still open, and which of them wait for a person."""
    open_ = []
    scheduled = {i.slug for i in corpus.issues if i.send_at is not None}
    for campaign in ledger.campaigns():
        if campaign.completed_at or campaign.cancelled_at:
            continue
        progress = CampaignProgress(campaign.issue, campaign.frozen_at, campaign.audience,
                                    ledger.by_edition(campaign.issue))
        open_.append(progress)
        if holder is not None and holder.issue == campaign.issue:
            continue
        unknown = progress.total("unknown")
        if unknown:
            attention.append(f"{campaign.issue}: {unknown} messages have an unknown outcome: "
                             f"see `publish.py report {campaign.issue}`, then send again (they "
                             "go with their Message-ID) or pass --hold-unknown")
        elif campaign.issue not in scheduled:
            attention.append(f"{campaign.issue}: {progress.total('owed')} of "
                             f"{campaign.audience} still owed and no send is running: run "
                             f"`publish.py send {campaign.issue}` to resume")
    return open_


def holdings(store: SubscriberStore, ledger: Ledger) -> dict[str, Any]:
    """What a database holds (after a restore): subscribers per status, the last status event,
    and every campaign with its sent count."""
    counts = {status: sum(by_lang.values()) for status, by_lang in
              store.count_by_status().items()}
    event = store.last_event()
    return {
        "subscribers": counts,
        "suppressed": store.suppression_count(),
        "last_event": None if event is None else {
            "at": event.at, "status": event.new_status, "reason": event.reason},
        "campaigns": [{"issue": c.issue, "frozen_at": c.frozen_at, "audience": c.audience,
                       "sent": ledger.counts(c.issue)["sent"],
                       "state": "cancelled" if c.cancelled_at else
                       "complete" if c.completed_at else "in progress"}
                      for c in ledger.campaigns()],
    }
