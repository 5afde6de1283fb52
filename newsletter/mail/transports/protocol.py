"""The one small interface every transport implements (like Django's mail backends).

A transport is opened once per run, sends one message's bytes to one recipient (with tags a
provider may keep for its reports) and returns the provider's message id, says what sending limits
the provider sets (`quota()`, None when it sets none), and is closed. Its failures are sorted into
four exceptions, because the sender's ledger treats each differently:

- `RetryLater`: not accepted this time (throttled, 4xx): the row is deferred and retried;
- `Rejected`: refused for this recipient for good (5xx, MessageRejected): the row is rejected;
- `OutcomeUnknown`: the provider may have accepted it (timeout after DATA, 5xx from SES): unknown;
- `StopEverything`: no message can go (account paused, bad credentials): the run stops.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from newsletter.errors import NewsletterError


class TransportError(NewsletterError):
    """Base class of a transport's per-message failures."""


class RetryLater(TransportError):
    """The provider did not accept the message this time; try again later."""


class Rejected(TransportError):
    """The provider refused the message for this recipient."""


class OutcomeUnknown(TransportError):
    """The provider may or may not have accepted the message."""


class StopEverything(TransportError):
    """Nothing can be sent until an operator acts (the message says what to do)."""


@dataclass(frozen=True)
class Quota:
    """A provider's sending limits, as it reports them."""

    max_rate: float  # messages per second
    max_24h: float
    sent_24h: float
    margin: float = 1.0  # the share of max_rate a send may take (headroom for other mail)

    @property
    def usable_rate(self) -> float:
        """The rate a send may use: the provider's, less the margin."""
        return self.max_rate * self.margin

    @property
    def remaining_today(self) -> int:
        """How many more messages the rolling 24-hour quota allows now."""
        return max(0, int(self.max_24h - self.sent_24h))


class Transport(Protocol):
    """What the sender needs from a delivery backend."""

    name: str

    def open(self) -> None:
        """Connect (idempotent)."""

    def send(
        self, recipient: str, message: bytes, tags: Mapping[str, str] | None = None
    ) -> str:
        """Deliver one message to one recipient; return the provider's message id. `tags`
        (issue, language, subscriber id) go with the message where the provider keeps them."""

    def quota(self) -> Quota | None:
        """The provider's current limits, or None when it sets none."""

    def close(self) -> None:
        """Disconnect (idempotent)."""
