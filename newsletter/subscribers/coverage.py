"""Member-state coverage: which OAS member states receive the newsletter, in which languages.

`coverage_table()` counts confirmed subscribers per state and language; `coverage_text()` and
`coverage_html()` turn it into the CLI table and the operator's HTML report (with a bar chart);
`write_coverage_report()` writes that report into `[subscribers] reports_dir` — never into the
public site.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from newsletter.settings import Settings
from newsletter.states import MemberState
from newsletter.templating import make_environment

from .store import SubscriberStore

logger = logging.getLogger(__name__)

REPORT_NAME = "coverage.html"


@dataclass(frozen=True)
class StateCoverage:
    """One member state's confirmed subscribers per language."""

    code: str
    name: str
    counts: tuple[int, ...]  # in the order of Coverage.languages

    @property
    def total(self) -> int:
        """Confirmed subscribers in every language."""
        return sum(self.counts)


@dataclass(frozen=True)
class Coverage:
    """The coverage table: every member state, with or without subscribers."""

    languages: tuple[str, ...]
    states: tuple[StateCoverage, ...]

    @property
    def uncovered(self) -> tuple[StateCoverage, ...]:
        """The member states with no confirmed subscriber."""
        return tuple(s for s in self.states if s.total == 0)

    @property
    def totals(self) -> tuple[int, ...]:
        """Confirmed subscribers per language, over all states."""
        return tuple(sum(s.counts[i] for s in self.states) for i in range(len(self.languages)))

    @property
    def max_total(self) -> int:
        """The largest state total (the bar chart's scale)."""
        return max((s.total for s in self.states), default=0)


def coverage_table(store: SubscriberStore, names: str = "en") -> Coverage:
    """Count confirmed subscribers per member state and language (state names in `names`)."""
    counts = store.confirmed_by_state()
    states: dict[str, MemberState] = dict(store.states)
    rows = tuple(
        StateCoverage(code, state.name(names),
                      tuple(counts[code].get(lang, 0) for lang in store.languages))
        for code, state in sorted(states.items())
    )
    return Coverage(store.languages, rows)


def coverage_text(coverage: Coverage) -> str:
    """The coverage as a fixed-width table; states without subscribers are marked `—  none`."""
    width = max((len(s.name) for s in coverage.states), default=5)
    langs = "".join(f"{lang:>6}" for lang in coverage.languages)
    lines = [f"{'':2} {'state':<{width}}{langs}{'total':>7}"]
    for s in coverage.states:
        cells = "".join(f"{n:>6}" for n in s.counts)
        mark = "  ← none" if s.total == 0 else ""
        lines.append(f"{s.code:2} {s.name:<{width}}{cells}{s.total:>7}{mark}")
    totals = "".join(f"{n:>6}" for n in coverage.totals)
    lines.append(f"{'':2} {'all states':<{width}}{totals}{sum(coverage.totals):>7}")
    covered = len(coverage.states) - len(coverage.uncovered)
    lines.append(
        f"{covered} of {len(coverage.states)} member states have confirmed subscribers; "
        f"{len(coverage.uncovered)} have none."
    )
    return "\n".join(lines) + "\n"


def coverage_html(settings: Settings, coverage: Coverage, now: dt.datetime) -> str:
    """The operator's coverage report: a table and a bar chart drawn with CSS."""
    env = make_environment(settings.path(settings.build.templates_dir))
    scale = coverage.max_total or 1
    return env.get_template("subscribe/coverage.html").render(
        coverage=coverage,
        bars=[(s, round(100 * s.total / scale, 1)) for s in coverage.states],
        generated=now.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        site_title=settings.site.title[settings.site.default_language],
    )


def write_coverage_report(settings: Settings, html: str) -> Path:
    """Write the report atomically into the reports folder; return its path."""
    folder = settings.path(settings.subscribers.reports_dir)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / REPORT_NAME
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".coverage-", suffix=".html")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(html)
    os.replace(tmp, target)
    logger.info("wrote %s", target)
    return target
