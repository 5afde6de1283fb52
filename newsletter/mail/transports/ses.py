"""The Amazon SES transport: raw MIME through boto3 (SES v2), botocore's own retries switched off.

botocore would otherwise retry read timeouts and 5xx answers — messages SES may already have
accepted — up to five times behind our back; here every attempt is one call and the ledger decides.
Throttling = retry later; timeouts and 5xx = outcome unknown; MessageRejected = rejected; a paused
or suspended account, bad credentials or an unverified sender = stop the run.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

from newsletter.settings import Settings

from .protocol import OutcomeUnknown, Quota, Rejected, RetryLater, StopEverything

logger = logging.getLogger(__name__)

THROTTLING = frozenset({"Throttling", "ThrottlingException", "TooManyRequestsException"})
STOP = frozenset({
    "SendingPausedException", "AccountSuspendedException", "AccountSendingPausedException",
    "ConfigurationSetSendingPausedException", "ConfigurationSetDoesNotExist",
    "ConfigurationSetDoesNotExistException", "MailFromDomainNotVerifiedException",
    "UnrecognizedClientException", "InvalidClientTokenId", "SignatureDoesNotMatch",
    "AccessDenied", "AccessDeniedException", "ExpiredToken",
})
REJECTED = frozenset({"MessageRejected", "BadRequestException", "InvalidParameterValue"})


@dataclass(frozen=True)
class SesConfig:
    """Where SES is and what every message carries."""

    from_address: str
    region: str = "us-east-1"
    endpoint_url: str = ""
    configuration_set: str = ""
    timeout: float = 10.0
    pool: int = 10
    # false only for a local SES emulator (moto) whose quota (1/s, 200/day) is fictitious
    account_quota: bool = True
    quota_margin: float = 0.9  # the share of the account's rate a send takes


def _client_config(timeout: float, pool: int) -> Config:
    return Config(
        retries={"total_max_attempts": 1, "mode": "standard"},
        connect_timeout=timeout,
        read_timeout=timeout,
        max_pool_connections=max(pool, 1),
    )


def sanitize_tag(value: str) -> str:
    """SES tag values allow only letters, digits, `_ - . @`; anything else becomes `_`."""
    return "".join(ch if ch.isascii() and (ch.isalnum() or ch in "_-.@") else "_" for ch in value)


class SesTransport:
    """Sends raw MIME messages through Amazon SES v2 `SendEmail`."""

    name = "ses"

    def __init__(self, config: SesConfig) -> None:
        self.config = config
        self._client: Any = None

    @classmethod
    def from_settings(cls, settings: Settings) -> SesTransport:
        """The SES account configured in `[ses]` (credentials from the usual AWS chain)."""
        ses = settings.ses
        return cls(SesConfig(
            from_address=settings.email.from_address, region=ses.region,
            endpoint_url=ses.endpoint_url, configuration_set=ses.configuration_set,
            timeout=ses.timeout, pool=max(settings.delivery.workers, 1),
            account_quota=ses.account_quota, quota_margin=ses.quota_margin,
        ))

    def _new_client(self, service: str) -> Any:
        session = boto3.session.Session()
        return session.client(
            service, region_name=self.config.region,
            endpoint_url=self.config.endpoint_url or None,
            config=_client_config(self.config.timeout, self.config.pool),
        )

    def open(self) -> None:
        """Create the SES v2 client (idempotent); no network call yet."""
        if self._client is None:
            self._client = self._new_client("sesv2")

    def quota(self) -> Quota | None:
        """The account's rate and 24-hour quota (SES v1 `GetSendQuota`), with the configured
        margin; None when `[ses] account_quota` is off. Asked either way: the answer also says
        whether the credentials work (StopEverything if not), before a send touches its ledger."""
        client = self._new_client("ses")
        try:
            answer = client.get_send_quota()
        except ClientError as exc:
            raise self._classify(exc) from None
        except NoCredentialsError:
            raise StopEverything(
                "no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
            ) from None
        except BotoCoreError as exc:
            raise StopEverything(f"cannot read the SES quota ({exc})") from None
        if not self.config.account_quota:
            return None
        return Quota(
            max_rate=float(answer["MaxSendRate"]),
            max_24h=float(answer["Max24HourSend"]),
            sent_24h=float(answer["SentLast24Hours"]),
            margin=self.config.quota_margin,
        )

    def send(
        self, recipient: str, message: bytes, tags: Mapping[str, str] | None = None
    ) -> str:
        """Send one raw message to one recipient; return SES's MessageId."""
        self.open()
        request: dict[str, Any] = {
            "FromEmailAddress": self.config.from_address,
            # The To: header names the same recipient; moto (and SES's own accounting) would
            # list it twice if Destination named it as well, so the raw headers decide.
            "Content": {"Raw": {"Data": message}},
        }
        if recipient not in message.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace"):
            request["Destination"] = {"ToAddresses": [recipient]}
        if tags:
            request["EmailTags"] = [
                {"Name": sanitize_tag(k), "Value": sanitize_tag(v)} for k, v in tags.items()
            ]
        if self.config.configuration_set:
            request["ConfigurationSetName"] = self.config.configuration_set
        try:
            answer = self._client.send_email(**request)
        except ClientError as exc:
            raise self._classify(exc) from None
        except (ReadTimeoutError, ConnectionClosedError) as exc:
            raise OutcomeUnknown(f"SES did not answer ({type(exc).__name__})") from None
        except (EndpointConnectionError, ConnectTimeoutError) as exc:
            raise RetryLater(f"cannot reach SES ({type(exc).__name__})") from None
        except NoCredentialsError:
            raise StopEverything(
                "no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
            ) from None
        return str(answer["MessageId"])

    def _classify(self, exc: ClientError) -> Exception:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        text = str(error.get("Message", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        detail = f"{code}: {text}" if text else code
        if code in THROTTLING:
            if "daily" in text.lower():
                return StopEverything(
                    f"SES daily sending quota reached ({detail}); run send again tomorrow"
                )
            return RetryLater(f"SES throttled ({detail})")
        if code in STOP:
            return StopEverything(f"SES refused to send ({detail}): check the SES account")
        if code == "MessageRejected" and self.config.from_address.lower() in text.lower():
            return StopEverything(
                f"SES refused the sender {self.config.from_address} ({detail}): verify the "
                "identity in SES (or leave the sandbox) before sending"
            )
        if status >= 500:
            return OutcomeUnknown(f"SES failed ({status} {detail})")
        if code in REJECTED or 400 <= status < 500:
            return Rejected(f"SES rejected ({detail})")
        return OutcomeUnknown(f"SES answered {status} {detail}")

    def close(self) -> None:
        """Forget the client (idempotent)."""
        self._client = None
