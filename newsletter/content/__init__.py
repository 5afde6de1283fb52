"""Content: the issues and their Markdown — load, check, scaffold, convert, gather partner news.

Owns the content model (`Issue`, `Edition`, `Corpus`, `Problem`), everything that reads `issues/`
(`load_corpus` is what every command loads; `Corpus.get` finds one issue or raises
`IssueNotFound`), the Markdown → HTML conversion (`renderer_for`, `Rendered`, `label_footnotes`),
image sizes read from the files (`image_size`, `with_dimensions`), the content rules
(`run_checks`), scaffolding, the partner-news drafts, and the approvals recorded beside each
issue (`approve`, `approval_states`: who approved which edition, and whether it changed since).

May import: the kernel only (`newsletter.errors`, `settings`, `states`, `wording`, …). Other
subsystems import these public names, never its modules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from newsletter.exports import lazy_exports

if TYPE_CHECKING:
    from .approvals import (
        Approval,
        ApprovalError,
        ApprovalState,
        EditionApproval,
        approval_problems,
        approval_states,
        approve,
        edition_hash,
        unapproved,
    )
    from .check import ScanCache, run_checks
    from .feeds import FeedsConfigError, load_feed_list
    from .gather import GatherError, default_since, gather_news
    from .images import ImageError, image_attributes, image_size, size_of, with_dimensions
    from .issues import Corpus, Edition, Issue, Problem, display_path
    from .loader import load_corpus, load_issues, read_edition
    from .markup import Rendered, absolutize, label_footnotes, render_config_key, renderer_for
    from .news_drafts import FEEDS_FILE, check_news_drafts, write_news_drafts
    from .scaffold import scaffold_issue

__all__ = [
    "Approval", "ApprovalError", "ApprovalState", "Corpus", "Edition", "EditionApproval",
    "FEEDS_FILE", "FeedsConfigError", "GatherError", "ImageError", "Issue", "Problem", "Rendered",
    "ScanCache", "absolutize", "approval_problems", "approval_states", "approve",
    "check_news_drafts", "default_since", "display_path", "edition_hash", "gather_news",
    "image_attributes", "image_size", "label_footnotes", "load_corpus", "load_feed_list",
    "load_issues", "read_edition", "render_config_key", "renderer_for", "run_checks",
    "scaffold_issue", "size_of", "unapproved", "with_dimensions", "write_news_drafts",
]
__getattr__, __dir__ = lazy_exports(__name__, {
    ".approvals": ("Approval", "ApprovalError", "ApprovalState", "EditionApproval",
                   "approval_problems", "approval_states", "approve", "edition_hash",
                   "unapproved"),
    ".check": ("ScanCache", "run_checks"),
    ".feeds": ("FeedsConfigError", "load_feed_list"),
    ".gather": ("GatherError", "default_since", "gather_news"),
    ".images": ("ImageError", "image_attributes", "image_size", "size_of", "with_dimensions"),
    ".issues": ("Corpus", "Edition", "Issue", "Problem", "display_path"),
    ".loader": ("load_corpus", "load_issues", "read_edition"),
    ".markup": ("Rendered", "absolutize", "label_footnotes", "render_config_key", "renderer_for"),
    ".news_drafts": ("FEEDS_FILE", "check_news_drafts", "write_news_drafts"),
    ".scaffold": ("scaffold_issue",),
})
