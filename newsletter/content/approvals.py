"""Approval before sending: who approved which edition, when, and the content they approved.

`publish.py approve ISSUE --lang es --by "Name"` appends an entry to `issues/<slug>/approvals.toml`,
which is committed with the issue, so the approval travels with the text it approves and its
history is the repository's. The latest entry for a language is that edition's approval.

What an approval covers (`edition_hash`) is what a reader receives: the front matter a reader
sees (number, title, date, summary, tags, countries), the Markdown body, and the bytes of every
local image the body shows. Not `status` or `send_at`: they say whether and when, not what, so
marking an approved edition ready, or moving its date, keeps the approval; nor the other
languages' files (each edition is approved on its own) or the site's templates and settings
(reviewed with the code). The hash is over a canonical form (parsed values, the body with LF line
ends and no BOM, images by path and SHA-256), so a checkout on another system, or a comment in the
YAML, changes nothing.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
import os
import tempfile
import tomllib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from newsletter.errors import NewsletterError

from .body_scan import scan_body
from .issues import Corpus, Edition, Issue, Problem, display_path
from .markup import is_external

APPROVALS_FILE = "approvals.toml"
HASH_VERSION = 1
HEADER = """\
# Who approved each edition of this issue for sending, and the content they approved (its hash
# covers the front matter a reader sees, the body and the images it shows). Written by
# `publish.py approve`; commit it with the issue. While [delivery] require_approval is on, `send`
# refuses an edition that has no approval here or has changed since its latest one.
"""


class ApprovalError(NewsletterError):
    """An approval cannot be recorded, or approvals.toml cannot be read."""


class ApprovalState(enum.Enum):
    """Where an edition stands with its approval."""

    APPROVED = "approved"  # approved, and unchanged since
    CHANGED = "changed"  # approved, but its content changed since
    MISSING = "not approved"


@dataclass(frozen=True)
class Approval:
    """One entry of approvals.toml."""

    lang: str
    by: str
    at: dt.datetime
    content: str  # "sha256:<hex>" of `edition_hash`

    def said(self) -> str:
        """'Ana Pérez on 2026-11-20 10:00 UTC', as messages name an approval."""
        return f"{self.by} on {self.at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"


@dataclass(frozen=True)
class EditionApproval:
    """One edition's approval state, with the approval it is measured against."""

    slug: str
    lang: str
    path: Path  # the edition's file
    file: Path  # approvals.toml
    state: ApprovalState
    approval: Approval | None
    content: str  # the edition's hash now

    def describe(self) -> str:
        """One line: approved by whom and when, changed since, or not approved."""
        if self.state is ApprovalState.APPROVED:
            assert self.approval is not None
            return f"approved by {self.approval.said()}"
        if self.state is ApprovalState.CHANGED:
            assert self.approval is not None
            return f"changed since {self.approval.said()} approved it"
        return "not approved"

    def refusal(self) -> str:
        """Why `send` refuses this edition, naming the file, the approval and what to do."""
        todo = (f"read it, then `publish.py approve {self.slug} --lang {self.lang} --by NAME`")
        if self.state is ApprovalState.CHANGED:
            assert self.approval is not None
            return (f"{self.path} has changed since {self.approval.said()} approved it "
                    f"({self.file}, content {self.approval.content[:19]}…, now "
                    f"{self.content[:19]}…): {todo}")
        return f"{self.path} is not approved for sending (no {self.lang} entry in " \
               f"{self.file}): {todo}"


def _image_paths(edition: Edition, folder: Path) -> list[str]:
    """The local images the body shows, as paths relative to the issue folder."""
    found = set()
    for link in scan_body(edition, str(edition.path)).links:
        if not link.image or not link.url or is_external(link.url) or link.url.startswith("/"):
            continue
        relative = PurePosixPath(unquote(urlsplit(link.url).path))
        if ".." not in relative.parts and str(relative) not in (".", ""):
            found.add(relative.as_posix())
    return sorted(found)


def edition_hash(issue: Issue, lang: str) -> str:
    """'sha256:<hex>' of what an approval of this edition covers (see the module docstring)."""
    edition = issue.editions[lang]
    images = []
    for name in _image_paths(edition, issue.folder):
        try:
            images.append([name, hashlib.sha256((issue.folder / name).read_bytes()).hexdigest()])
        except OSError:
            images.append([name, None])  # a missing image is part of what was approved
    canonical = {
        "version": HASH_VERSION,
        "number": edition.number,
        "title": edition.title,
        "date": edition.date.isoformat(),
        "summary": edition.summary,
        "tags": list(edition.tags),
        "countries": list(edition.countries),
        "body": edition.body,
        "images": images,
    }
    data = json.dumps(canonical, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(data.encode("utf-8")).hexdigest()


def approvals_file(issue: Issue) -> Path:
    """The issue's approvals.toml."""
    return issue.folder / APPROVALS_FILE


def read_approvals(issue: Issue) -> list[Approval]:
    """Every approval recorded for the issue, in file order; ApprovalError names the file and
    what is wrong (a malformed file never counts as approved)."""
    path = approvals_file(issue)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ApprovalError(f"{path}: cannot be read ({exc}); fix it or run approve again"
                            ) from None
    unknown = sorted(set(raw) - {"approval"})
    entries = raw.get("approval", [])
    if unknown or not isinstance(entries, list):
        raise ApprovalError(f"{path}: only [[approval]] entries belong here"
                            + (f", not {unknown[0]!r}" if unknown else ""))
    approvals = []
    for number, entry in enumerate(entries, 1):
        fields = {"lang": str, "by": str, "at": dt.datetime, "content": str}
        if not isinstance(entry, dict) or set(entry) != set(fields) or not all(
                isinstance(entry[k], kind) for k, kind in fields.items()):
            raise ApprovalError(f"{path}: approval {number} needs exactly lang, by, at (a date "
                                "and time) and content")
        at = entry["at"]
        if at.tzinfo is None:
            raise ApprovalError(f"{path}: approval {number}: at has no time zone")
        approvals.append(Approval(entry["lang"], entry["by"], at, entry["content"]))
    return approvals


def approval_states(issue: Issue) -> dict[str, EditionApproval]:
    """The approval state of each edition `send` delivers, by language (ApprovalError for a
    malformed file). An optional edition still in draft is not one of them
    (`Issue.published_editions`): its readers get their fallback, approved with it."""
    latest = {a.lang: a for a in read_approvals(issue)}
    states = {}
    for lang, edition in issue.published_editions().items():
        content = edition_hash(issue, lang)
        approval = latest.get(lang)
        state = (ApprovalState.MISSING if approval is None else
                 ApprovalState.APPROVED if approval.content == content else
                 ApprovalState.CHANGED)
        states[lang] = EditionApproval(issue.slug, lang, edition.path, approvals_file(issue),
                                       state, approval, content)
    return states


def unapproved(issue: Issue) -> list[EditionApproval]:
    """The editions `send` would refuse: not approved, or changed since (empty: all approved)."""
    try:
        states = approval_states(issue)
    except ApprovalError as exc:
        raise ApprovalError(f"issue {issue.slug}: {exc}") from None
    return [s for s in states.values() if s.state is not ApprovalState.APPROVED]


def _checked_name(by: str) -> str:
    name = " ".join(by.split())
    if not name:
        raise ApprovalError('--by needs the name of the person who approves, e.g. --by "Ana Pérez"')
    if len(name) > 120 or any(unicodedata.category(c).startswith("C") for c in name):
        raise ApprovalError("--by must be a person's name on one line, without control characters")
    return name


def _toml_entry(approval: Approval) -> str:
    def text(value: str) -> str:
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string

    at = approval.at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (f"\n[[approval]]\nlang = {text(approval.lang)}\nby = {text(approval.by)}\n"
            f"at = {at}\ncontent = {text(approval.content)}\n")


def approve(issue: Issue, langs: Iterable[str], by: str, now: dt.datetime) -> list[Approval]:
    """Record that `by` approved these editions as they are now; return the new entries.

    The file is rewritten atomically, its earlier entries kept: the history of approvals is part
    of the issue.
    """
    name = _checked_name(by)
    wanted = list(dict.fromkeys(langs))
    missing = [lang for lang in wanted if lang not in issue.editions]
    if not wanted or missing:
        raise ApprovalError(
            f"issue {issue.slug} has no {missing[0] if missing else '?'} edition to approve "
            f"(it has {', '.join(issue.editions)})")
    earlier = read_approvals(issue)
    moment = now.astimezone(dt.UTC).replace(microsecond=0)
    added = [Approval(lang, name, moment, edition_hash(issue, lang)) for lang in wanted]
    text = HEADER + "".join(_toml_entry(a) for a in [*earlier, *added])
    path = approvals_file(issue)
    handle, temporary = tempfile.mkstemp(prefix=".approvals-", dir=issue.folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise ApprovalError(f"{path}: cannot be written ({exc.strerror or exc})") from None
    return added


def approval_problems(corpus: Corpus, root: Path, required: bool) -> list[Problem]:
    """What `check` says about approvals: each edition's state on its file's first line (an
    `info`; a warning for a ready edition `send` would refuse while approval is required), and
    an error for an approvals.toml that cannot be read."""
    problems = []
    for issue in corpus.issues:
        try:
            states = approval_states(issue)
        except ApprovalError as exc:
            problems.append(Problem(display_path(approvals_file(issue), root), 1, str(exc)))
            continue
        for lang, state in states.items():
            shown = display_path(state.path, root)
            refused = required and issue.status == "ready" and \
                state.state is not ApprovalState.APPROVED
            message = f"approval: {state.describe()}"
            if refused:
                message += (f": send refuses it until `publish.py approve {issue.slug} --lang "
                            f"{lang} --by NAME`")
            problems.append(Problem(shown, 1, message, "warning" if refused else "info"))
    return problems

