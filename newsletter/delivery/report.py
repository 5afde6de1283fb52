"""The per-issue delivery report: audience, sent, rejected, unknown, bounces and complaints.

Counted per language and member state from the ledger and the SES events, with the bounce and
complaint rates set against the thresholds mailbox providers use (permanent bounces ≤ 1 %,
complaints ≤ 0.1 %), the errors grouped, and the language fallbacks that were used.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from .ledger import Ledger
from .records import Campaign, LedgerError

BOUNCE_THRESHOLD = 0.01
COMPLAINT_THRESHOLD = 0.001
COLUMNS = ("lang", "edition_lang", "member_state", "audience", "sent", "rejected", "unknown",
           "owed", "bounced", "complaints")


@dataclass(frozen=True)
class ReportRow:
    """One language × member state line."""

    lang: str
    edition_lang: str
    member_state: str
    audience: int
    sent: int
    rejected: int
    unknown: int
    owed: int  # queued, deferred or in flight
    bounced: int  # permanent bounces
    complaints: int


@dataclass(frozen=True)
class DeliveryReport:
    """Everything `publish.py report ISSUE` shows."""

    campaign: Campaign
    rows: tuple[ReportRow, ...]
    errors: tuple[tuple[str, str, int], ...]  # (state, error, rows)
    test_sends: int

    def total(self, name: str) -> int:
        """The sum of one column."""
        return sum(getattr(row, name) for row in self.rows)

    @property
    def bounce_rate(self) -> float:
        """Permanent bounces per message sent."""
        sent = self.total("sent")
        return self.total("bounced") / sent if sent else 0.0

    @property
    def complaint_rate(self) -> float:
        """Complaints per message sent."""
        sent = self.total("sent")
        return self.total("complaints") / sent if sent else 0.0

    @property
    def warnings(self) -> list[str]:
        """The rates that exceed the usual thresholds."""
        found = []
        if self.bounce_rate > BOUNCE_THRESHOLD:
            found.append(f"bounce rate {self.bounce_rate:.2%} is above {BOUNCE_THRESHOLD:.0%}: "
                         "clean the list before the next issue")
        if self.complaint_rate > COMPLAINT_THRESHOLD:
            found.append(f"complaint rate {self.complaint_rate:.2%} is above "
                         f"{COMPLAINT_THRESHOLD:.1%}: providers will start filtering the "
                         "newsletter")
        return found

    def csv(self) -> str:
        """The rows as CSV, one line per language × member state."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        for row in self.rows:
            writer.writerow([getattr(row, c) for c in COLUMNS])
        return out.getvalue()


def delivery_report(ledger: Ledger, issue: str) -> DeliveryReport:
    """Count one issue's campaign from the ledger and the SES events."""
    campaign = ledger.campaign(issue)
    if campaign is None:
        raise LedgerError(f"issue {issue} has not been sent yet (no campaign in the ledger)")
    return DeliveryReport(
        campaign=campaign,
        rows=tuple(ReportRow(*row) for row in ledger.figures(issue)),
        errors=tuple(ledger.errors(issue)),
        test_sends=ledger.test_send_count(issue),
    )
