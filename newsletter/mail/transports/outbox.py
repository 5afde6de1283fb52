"""The embedded default transport: every message a `.eml` file in a Maildir under `outbox/`."""

from __future__ import annotations

import hashlib
import mailbox
from collections.abc import Mapping
from pathlib import Path

from .protocol import Quota, Rejected


class OutboxTransport:
    """Writes each message into `outbox/new/` (Maildir), readable by any mail client."""

    name = "outbox"

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._box: mailbox.Maildir | None = None

    def open(self) -> None:
        """Create the Maildir if needed. The folders are made here, each tolerating another
        process making it at the same moment (two cron runs, a send and a sign-up): the
        standard library's `create=True` checks, then makes, and the loser of that race fails."""
        if self._box is None:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            for part in ("tmp", "new", "cur"):
                (self.folder / part).mkdir(mode=0o700, exist_ok=True)
            self._box = mailbox.Maildir(str(self.folder), create=False)

    def send(
        self, recipient: str, message: bytes, tags: Mapping[str, str] | None = None
    ) -> str:
        """Store the message (tags are not kept); its Maildir key is the provider message id."""
        if self._box is None:
            self.open()
        assert self._box is not None
        if not recipient or "\n" in recipient or "\r" in recipient:
            raise Rejected(f"invalid recipient {recipient!r}")
        # Delivered-To records the envelope recipient, as a local delivery agent would.
        key = self._box.add(b"Delivered-To: " + recipient.encode("utf-8") + b"\r\n" + message)
        return "outbox-" + hashlib.sha256(key.encode()).hexdigest()[:20]

    def quota(self) -> Quota | None:
        """A folder has no sending limits."""
        return None

    def close(self) -> None:
        """Nothing to release (the Maildir is written file by file)."""
        self._box = None
