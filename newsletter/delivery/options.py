"""What a send is asked to do: the command's `SendOptions`, and the `SendConfig` a run settles
once from them and `[delivery]` (nothing deeper in the run reads the settings)."""

from __future__ import annotations

from dataclasses import dataclass

from newsletter.settings import DeliverySettings


@dataclass(frozen=True)
class SendOptions:
    """What the operator asked for on the command line (None: as `[delivery]` says)."""

    limit: int | None = None
    hold_unknown: bool = False
    include_new: bool = False
    retry_rejected: bool = False
    workers: int | None = None
    rate: float | None = None
    retry_base_seconds: float = 5.0
    early: bool = False  # `--now`: send an issue before its send_at


@dataclass(frozen=True)
class SendConfig:
    """One run's configuration: the command's options over `[delivery]`, settled once."""

    rate: float  # messages per second; 0 = the transport's quota, or unlimited
    workers: int
    max_attempts: int
    error_burst: int
    lock_timeout_seconds: int
    require_approval: bool = False
    limit: int | None = None
    hold_unknown: bool = False
    include_new: bool = False
    retry_rejected: bool = False
    retry_base_seconds: float = 5.0
    early: bool = False

    @classmethod
    def resolve(cls, delivery: DeliverySettings, options: SendOptions) -> SendConfig:
        """The options where given, `[delivery]` for the rest."""
        return cls(
            rate=options.rate if options.rate is not None else delivery.rate,
            workers=options.workers or delivery.workers,
            max_attempts=delivery.max_attempts,
            error_burst=max(1, delivery.error_burst),
            lock_timeout_seconds=delivery.lock_timeout_seconds,
            require_approval=delivery.require_approval,
            limit=options.limit,
            hold_unknown=options.hold_unknown,
            include_new=options.include_new,
            retry_rejected=options.retry_rejected,
            retry_base_seconds=options.retry_base_seconds,
            early=options.early,
        )
