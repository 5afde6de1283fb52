"""Helpers shared by the email tests: the fixture issue, recipients and message parsing."""

from __future__ import annotations

import datetime as dt
import email
from email import policy
from email.message import EmailMessage
from pathlib import Path

from newsletter.content.issues import Issue
from newsletter.content.loader import load_issues
from newsletter.settings import Settings

FIXTURES = Path(__file__).resolve().parent / "fixtures"
EMAIL_ISSUE = FIXTURES / "email_issue"  # 2026-11: accented Spanish title, an image, a table
NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


def fixture_issue(settings: Settings) -> Issue:
    """The email fixture issue (es and en), loaded with the project's languages."""
    corpus = load_issues(EMAIL_ISSUE, settings.site.languages, EMAIL_ISSUE)
    assert not corpus.problems, corpus.problems
    (issue,) = corpus.issues
    return issue


def parse(data: bytes) -> EmailMessage:
    """Parse message bytes with the standard library, as a receiving client would."""
    message = email.message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def body(message: EmailMessage, kind: str) -> str:
    """The decoded `plain` or `html` part, with the canonical CRLF turned into newlines."""
    part = message.get_body(preferencelist=(kind,))
    assert part is not None, f"no {kind} part"
    return part.get_content().replace("\r\n", "\n")
