"""The archive: the static site — build (inputs → cache → conversion → pages → writer), preview,
deploy.

Owns `_site/`, the build cache under `.cache/` (its own SQLite file, nothing to do with the
subscribers' database), the build's default checks (`build_checks`), the local preview server
and the upload to S3.

May import: `content`, `mail` (the preview shows each issue's email editions) and the kernel.
Other subsystems import these public names, never its modules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from newsletter.exports import lazy_exports

if TYPE_CHECKING:
    from .build import BuildReport, build_checks, build_site
    from .deploy import DeployError, DeployReport, deploy_site
    from .email_previews import EmailPreviews
    from .preview import PreviewServer, serve_forever

__all__ = [
    "BuildReport", "DeployError", "DeployReport", "EmailPreviews", "PreviewServer",
    "build_checks", "build_site", "deploy_site", "serve_forever",
]
__getattr__, __dir__ = lazy_exports(__name__, {
    ".build": ("BuildReport", "build_checks", "build_site"),
    ".deploy": ("DeployError", "DeployReport", "deploy_site"),
    ".email_previews": ("EmailPreviews",),
    ".preview": ("PreviewServer", "serve_forever"),
})
