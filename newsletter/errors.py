"""The typed errors the library raises; the CLI turns each into one `Error: …` line."""

from __future__ import annotations


class NewsletterError(Exception):
    """Base class for every error a user can cause and fix."""


class SettingsError(NewsletterError):
    """newsletter.toml is missing, malformed, or has a wrong key or type."""


class IssueError(NewsletterError):
    """An issue's source cannot be read (a file, line and reason)."""


class IssueNotFound(NewsletterError):
    """No issue folder has that slug or number."""


class BuildError(NewsletterError):
    """The site could not be built; the previous site is left intact."""


class CheckFailed(NewsletterError):
    """`check` found errors in the issues."""


class PortInUse(NewsletterError):
    """A local server could not listen on its address."""


def port_in_use(host: str, port: int, exc: OSError) -> PortInUse:
    """The one message for a server that cannot bind: which address, and what to do."""
    return PortInUse(f"cannot listen on {host}:{port} ({exc.strerror or exc}): "
                     "stop what uses it or pass another --port")
