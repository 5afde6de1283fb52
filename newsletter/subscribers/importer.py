"""CSV import and export of subscribers, streamed row by row and written in batches.

Columns are found by header (any order, any case): `email` and `state` are required; `name`,
`organisation` (or `organization`) and `lang` are optional (a missing `lang` column means the
default language). Excel's BOM and semicolon-separated files are accepted. Each bad row becomes a
`RowProblem` (`FILE:line: reason`) and the good rows are imported. Rows imported as confirmed
need the consent note that says who designated them, as every confirmed subscriber the store
adds does.

An import is idempotent: a row whose subscriber is already present with the same details (the
columns the file has) is counted as unchanged, not reported; one present with other details is
reported with what differs and changed only with `update` (name, organisation, member state,
language; a pending subscriber becomes confirmed when the import is `confirmed`). An import never
subscribes again anybody who left (unsubscribed, bounced, complained) or is suppressed.

Rows are validated outside any transaction, then written `batch` at a time, one transaction per
batch: a sign-up from the form waits for one batch at most, never for the whole file, and each row
(its subscriber, its event, its confirmation email) is written whole or not at all. `strict`
checks the whole file first, reading only, and writes nothing if any row is bad; `dry_run` is
that check alone. If the process dies while writing, the batches before are kept and the rest is
not written: run the same import again — what is already there counts as unchanged, the rest is
added. A new address on two rows is a duplicate on the second: while writing, the store says so
(the ids each batch inserted are a range); the check, which writes nothing, keeps an 8-byte hash
per new address.
"""

from __future__ import annotations

import bisect
import codecs
import csv
import hashlib
import logging
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, TextIO

from newsletter.addresses import InvalidAddress, mask_email
from newsletter.errors import NewsletterError

from .database import PRIVATE_MODE, StoreError
from .records import ConsentMissing, NewSubscriber, Subscriber, SubscriberError
from .store import SubscriberStore

logger = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("email", "state")
OPTIONAL_COLUMNS = ("name", "organisation", "lang")
ALIASES = {
    "organization": "organisation", "language": "lang", "e-mail": "email", "country": "state",
}
EXPORT_COLUMNS = (
    "email", "name", "organisation", "state", "lang", "status", "source", "note",
    "requested_at", "confirmed_at",
)
# A spreadsheet reads a cell starting with one of these as a formula (OWASP, CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
LEFT = ("unsubscribed", "bounced", "complained")
MAX_ID = 2**63 - 1


class ImportFileError(NewsletterError):
    """The CSV file as a whole cannot be read (missing, not UTF-8, bad header)."""


CONSENT_NOTE = ('--confirmed needs --note saying who designated these subscribers (their consent '
                'record), e.g. --note "list from the liaisons, 2026"')


class ImportRejected(NewsletterError):
    """`--strict` import with bad rows: nothing was imported (the rows are in `problems`)."""

    def __init__(self, message: str, problems: list[RowProblem]) -> None:
        super().__init__(message)
        self.problems = problems


@dataclass(frozen=True)
class RowProblem:
    """One bad row: where it is and why it was not imported."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass
class ImportReport:
    """What an import did (or, in a dry run, would do)."""

    imported: int = 0
    unchanged: int = 0  # already present with the same details
    updated: int = 0  # present with other details, taken from the file (`update`)
    problems: list[RowProblem] = field(default_factory=list)
    confirmations: int = 0  # confirmation emails queued for the new pending subscribers
    dry_run: bool = False

    @property
    def rows(self) -> int:
        """Rows read, good and bad."""
        return self.imported + self.unchanged + self.updated + len(self.problems)


@dataclass(frozen=True)
class _Row:
    line: int
    values: dict[str, str]


def _column_name(header: str) -> str:
    name = header.strip().lower().replace(" ", "_")
    return ALIASES.get(name, name)


def _text_lines(stream: BinaryIO, display: str) -> Iterator[str]:
    """Decode a byte stream line by line, so a bad byte is reported on its own line."""
    for number, raw in enumerate(stream, start=1):
        if number == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8):]
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ImportFileError(
                f"{display}:{number}: not UTF-8 text (byte {raw[exc.start]:#04x}); "
                "save the file as \"CSV UTF-8\""
            ) from None


def read_rows(stream: BinaryIO, display: str) -> Iterator[_Row]:
    """The data rows of a CSV file with their first line number, keyed by canonical column."""
    lines = _text_lines(stream, display)
    first = next(lines, "")
    if not first.strip():
        raise ImportFileError(f"{display}:1: the file is empty; the first line must be a header "
                              "naming the columns (email, state, lang, name, organisation)")
    delimiter = ";" if first.count(";") > first.count(",") else ","
    header = next(csv.reader([first], delimiter=delimiter))
    columns = [_column_name(h) for h in header]
    known = set(REQUIRED_COLUMNS) | set(OPTIONAL_COLUMNS)
    for name, original in zip(columns, header, strict=True):
        if name not in known:
            raise ImportFileError(
                f"{display}:1: unknown column {original.strip()!r} (known: email, name, "
                "organisation, state, lang)"
            )
    seen: set[str] = set()
    for name in columns:
        if name in seen:
            raise ImportFileError(f"{display}:1: column {name!r} appears twice")
        seen.add(name)
    missing = [c for c in REQUIRED_COLUMNS if c not in seen]
    if missing:
        raise ImportFileError(f"{display}:1: the header has no {' or '.join(missing)} column")
    reader = csv.reader(lines, delimiter=delimiter)
    line = 2
    try:
        for record in reader:
            start, line = line, reader.line_num + 2
            if not any(cell.strip() for cell in record):
                continue
            if len(record) != len(columns):
                yield _Row(start, {"__error__": f"has {len(record)} fields, the header has "
                                                f"{len(columns)}"})
                continue
            yield _Row(start, dict(zip(columns, record, strict=True)))
    except csv.Error as exc:
        raise ImportFileError(f"{display}:{line}: {exc}") from None


@dataclass
class _Import:
    """One import's rules and what it has seen so far."""

    store: SubscriberStore
    display: str
    status: str
    note: str
    default_lang: str
    update: bool
    # How a new address is recognised on its second row. Writing: the ids this import inserted,
    # as one range per committed batch (the batch holds the write lock, so its ids are its own)
    # and the first id of the batch being written; a few numbers per batch, whatever the file.
    # Checking only (strict, dry run), nothing is inserted: an 8-byte hash of each new address.
    written: list[tuple[int, int]] = field(default_factory=list)
    batch_first: int | None = None
    seen: set[int] = field(default_factory=set)

    def prepare(self, row: _Row) -> tuple[NewSubscriber | None, str]:
        """Validate one row, outside any transaction: (candidate, '') or (None, problem)."""
        values = row.values
        if "__error__" in values:
            return None, values["__error__"]
        try:
            return self.store.validate(
                values.get("email", ""), values.get("state", ""),
                values.get("lang", self.default_lang), values.get("name", ""),
                values.get("organisation", ""),
            ), ""
        except (SubscriberError, InvalidAddress) as exc:
            return None, str(exc)

    def written_here(self, subscriber_id: int) -> bool:
        """Whether this import inserted that subscriber (an earlier row of the file)."""
        if self.batch_first is not None and subscriber_id >= self.batch_first:
            return True
        at = bisect.bisect_right(self.written, (subscriber_id, MAX_ID)) - 1
        return at >= 0 and self.written[at][0] <= subscriber_id <= self.written[at][1]

    def seen_before(self, candidate: NewSubscriber) -> bool:
        """Checking only: whether a new address was on an earlier row (and remember it)."""
        key = int.from_bytes(hashlib.blake2b(candidate.email.casefold().encode(),
                                             digest_size=8).digest(), "big")
        if key in self.seen:
            return True
        self.seen.add(key)
        return False

    def decide(self, candidate: NewSubscriber, columns: set[str], checking: bool = False,
               ) -> tuple[str, str]:
        """What to do with a valid row, given the store now: new, unchanged, update or problem
        (with its message)."""
        existing = self.store.get_by_email(candidate.email, normalised=True)
        duplicate = (f"duplicate: {mask_email(candidate.email)} appears on an earlier row of "
                     "this file")
        if existing is not None and not checking and self.written_here(existing.id):
            return "problem", duplicate
        # A suppressed address is never pending or confirmed: look only when it may be one.
        if existing is None or existing.status in LEFT:
            reason = self.store.suppression_reason(candidate.email, normalised=True)
            if reason is not None:
                return "problem", (f"suppressed: {mask_email(candidate.email)} is on the "
                                   f"suppression list ({reason}); it is never mailed again")
        if existing is None:
            if checking and self.seen_before(candidate):
                return "problem", duplicate
            return "new", ""
        if existing.status in LEFT:
            return "problem", (
                f"{existing.masked} is {existing.status} (since {existing.updated_at[:10]}): an "
                "import never subscribes anybody again, only they can, through the form; remove "
                "the row from the file")
        differences = self.differences(existing, candidate, columns)
        if not differences:
            return "unchanged", ""
        if self.update:
            return "update", ""
        return "problem", (
            f"{existing.masked} is already subscribed with other details "
            f"({'; '.join(differences)}); nothing was changed: if the file is right, import it "
            "again with --update to take its details, otherwise correct the file")

    def differences(self, existing: Subscriber, candidate: NewSubscriber, columns: set[str],
                    ) -> list[str]:
        """What the file says differently from the store, in words."""
        found = [f"{column}: {getattr(existing, column) or '(none)'} in the store, "
                 f"{getattr(candidate, column) or '(none)'} in the file"
                 for column in ("name", "organisation", "state", "lang")
                 if column in columns and getattr(existing, column) != getattr(candidate, column)]
        if existing.status == "pending" and self.status == "confirmed":
            found.append("status: pending (not confirmed by them yet) in the store, confirmed "
                         "by this import")
        return found

    def write(self, candidate: NewSubscriber, columns: set[str], report: ImportReport) -> str:
        """Write one valid row inside the batch's transaction; return its problem or ''."""
        kind, problem = self.decide(candidate, columns)
        if kind == "problem":
            return problem
        if kind == "unchanged":
            report.unchanged += 1
        elif kind == "update":
            existing = self.store.get_by_email(candidate.email, normalised=True)
            assert existing is not None
            self.store.update_details(
                existing, _merged(existing, candidate, columns), source="import",
                confirm_note=self.note if self.status == "confirmed" else "")
            report.updated += 1
        else:
            subscriber = self.store.insert(candidate, status=self.status, source="import",
                                           note=self.note)
            if self.batch_first is None:
                self.batch_first = subscriber.id
            report.imported += 1
            if self.status == "pending":
                report.confirmations += self.store.outbox.queue(subscriber.id)
        return ""


def _merged(existing: Subscriber, candidate: NewSubscriber, columns: set[str]) -> NewSubscriber:
    """The candidate, with the store's values for the columns the file does not have."""
    def pick(column: str) -> str:
        value = getattr(candidate, column) if column in columns else getattr(existing, column)
        return str(value)

    return NewSubscriber(candidate.email, pick("name"), pick("organisation"), candidate.state,
                         pick("lang"))


def import_csv(
    store: SubscriberStore,
    path: Path,
    *,
    confirmed: bool,
    note: str = "",
    strict: bool = False,
    dry_run: bool = False,
    update: bool = False,
    display: str | None = None,
    default_lang: str | None = None,
    batch: int = 500,
) -> ImportReport:
    """Import a CSV file into the store (see the module docstring); the report counts what was
    imported, unchanged and updated, and lists each bad row."""
    display = display or str(path)
    if confirmed and not note.strip():
        raise ConsentMissing(CONSENT_NOTE)
    plan = _Import(store, display, "confirmed" if confirmed else "pending", note.strip(),
                   default_lang or store.languages[0], update)
    if strict or dry_run:
        checked = _check(plan, path)
        if dry_run:
            return checked
        if checked.problems:
            raise ImportRejected(
                f"{display}: {len(checked.problems)} bad row(s); nothing imported (--strict)",
                checked.problems)
        plan.seen.clear()  # the check's memory, not needed to write
    report = _write(plan, path, max(1, batch))
    logger.info("imported %d row(s) from %s, %d unchanged, %d updated, %d bad", report.imported,
                display, report.unchanged, report.updated, len(report.problems))
    return report


def _open(path: Path, display: str) -> BinaryIO:
    try:
        return open(path, "rb")  # noqa: SIM115 - the caller closes it
    except FileNotFoundError:
        raise ImportFileError(f"{display}: file not found") from None
    except IsADirectoryError:
        raise ImportFileError(f"{display}: is a folder, not a CSV file") from None


def _columns(row: _Row) -> set[str]:
    return set(row.values)


def _check(plan: _Import, path: Path) -> ImportReport:
    """Every row validated and decided against the store as it is, writing nothing."""
    report = ImportReport(dry_run=True)
    with _open(path, plan.display) as stream:
        for row in read_rows(stream, plan.display):
            candidate, problem = plan.prepare(row)
            if candidate is not None:
                kind, problem = plan.decide(candidate, _columns(row), checking=True)
                if kind == "new":
                    report.imported += 1
                elif kind == "unchanged":
                    report.unchanged += 1
                elif kind == "update":
                    report.updated += 1
            if problem:
                report.problems.append(RowProblem(plan.display, row.line, problem))
    return report


def _write(plan: _Import, path: Path, batch: int) -> ImportReport:
    """Validate rows, then write them `batch` per transaction."""
    report = ImportReport()
    pending: list[tuple[_Row, NewSubscriber | None, str]] = []

    def commit() -> None:
        problems: list[RowProblem] = []
        try:
            with plan.store.database.transaction():
                plan.batch_first = None
                for row, candidate, problem in pending:
                    if candidate is not None:
                        problem = plan.write(candidate, _columns(row), report)
                    if problem:
                        problems.append(RowProblem(plan.display, row.line, problem))
                last = plan.store.last_id() if plan.batch_first is not None else None
        except sqlite3.Error as exc:
            raise StoreError(
                f"{plan.display}:{pending[0][0].line}: writing the rows from this line on failed "
                f"({exc}); the rows before it are imported: run the same import again to add "
                "the rest"
            ) from None
        if plan.batch_first is not None and last is not None:
            plan.written.append((plan.batch_first, last))
        plan.batch_first = None
        report.problems += problems
        pending.clear()

    with _open(path, plan.display) as stream:
        for row in read_rows(stream, plan.display):
            candidate, problem = plan.prepare(row)
            pending.append((row, candidate, problem))
            if len(pending) >= batch:
                commit()
        if pending:
            commit()
    return report


def _neutralised(cell: str) -> str:
    """A cell a spreadsheet shows as text: one starting like a formula gets a leading `'`."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def export_csv(store: SubscriberStore, out: TextIO, status: str | None = None) -> int:
    """Write subscribers (optionally of one status) as CSV, streamed; return the row count.

    Every cell that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, a
    tab or a carriage return) is written with a leading `'`; the store keeps the text as it was.
    """
    # CRLF, as RFC 4180 has it: a cell holding a CR or an LF is then quoted, never split.
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    count = 0
    for s in store.iter_subscribers(status):
        writer.writerow([_neutralised(cell) for cell in (
            s.email, s.name, s.organisation, s.state, s.lang, s.status, s.source, s.note,
            s.requested_at, s.confirmed_at or "")])
        count += 1
    return count


def write_export(store: SubscriberStore, path: Path, status: str | None = None) -> int:
    """`export_csv` into a file only its owner may read and write (0600, whatever the umask; an
    existing file is tightened too)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
        os.fchmod(fd, PRIVATE_MODE)
        return export_csv(store, out, status)
