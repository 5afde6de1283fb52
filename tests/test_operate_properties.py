"""Property tests: no approvals.toml makes the approval loader raise anything but its reported
problem, and no SES receiving notification makes the mailbox reader raise anything but
`MalformedMail` (what it returns is always a mail it can decide on)."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsletter.content import ApprovalError, approval_states, load_issues
from newsletter.content.issues import Issue
from newsletter.delivery.mailbox import MalformedMail, read_received
from tests.conftest import ISSUES_FIXTURE

TOML_PIECES = st.sampled_from([
    "[[approval]]\n", 'lang = "es"\n', 'by = "Ana"\n', "at = 2026-11-20T10:00:00Z\n",
    "at = 2026-11-20T10:00:00\n", 'content = "sha256:00"\n', "lang = 3\n", "[approval]\n",
    "approval = []\n", "x = 1\n", 'by = "\\u0000"\n', "at = 2026-02-30T10:00:00Z\n", "\x00",
    "\ufeff", '"""', "[[approval]]\nlang = 'es'\nby = 'A'\nat = 1979-05-27\ncontent = ''\n",
])


@pytest.fixture(scope="module")
def issue(tmp_path_factory: pytest.TempPathFactory) -> Issue:
    root = tmp_path_factory.mktemp("approvals") / "issues"
    shutil.copytree(ISSUES_FIXTURE / "2011-07", root / "2011-07")
    return load_issues(root, ("es", "en"), root.parent).issues[0]


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pieces=st.lists(st.one_of(TOML_PIECES, st.text(max_size=20)), max_size=8),
       raw=st.binary(max_size=40))
def test_no_approvals_file_raises_anything_but_its_problem(issue: Issue, pieces: list[str],
                                                           raw: bytes) -> None:
    path = Path(issue.folder) / "approvals.toml"
    for data in ("".join(pieces).encode("utf-8", "surrogatepass"), raw):
        path.write_bytes(data)
        try:
            states = approval_states(issue)
        except ApprovalError as exc:
            assert str(exc).startswith(str(path)), exc
        else:
            assert set(states) == {"es", "en"}


JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=12)),
    lambda children: st.one_of(st.lists(children, max_size=3),
                               st.dictionaries(st.text(max_size=10), children, max_size=3)),
    max_leaves=12,
)
CONTENT = st.one_of(
    st.text(max_size=200),
    st.sampled_from([
        "From: a@b.org\r\nSubject: =?utf-8?q?unsub=FF?=\r\n\r\nx",
        "DKIM-Signature: d=; b=\r\nFrom: <>\r\n\r\n", "Subject: \x00\r\n\r\n",
        "From: \"unclosed <a@b\r\nTo: ,,,\r\n\r\n",
        "Subject: unsubscribe a.b.cccccccccccccccccccc\r\n\r\n",
    ]),
)


def _notification(draw_mail: dict, draw_receipt: dict, content: str, base64_content: bool,
                  ) -> dict:
    receipt = {"recipients": ["unsubscribe@iin.oea.org"], **draw_receipt}
    if base64_content:
        receipt["action"] = {"type": "SNS", "encoding": "BASE64"}
        content = base64.b64encode(content.encode("utf-8", "surrogatepass")).decode() + "?="
    return {"notificationType": "Received", "receipt": receipt,
            "mail": {"messageId": "m1", **draw_mail}, "content": content}


@settings(max_examples=300, deadline=None)
@given(mail=st.dictionaries(st.sampled_from(["commonHeaders", "source", "messageId", "x"]),
                            JSON_VALUES, max_size=4),
       receipt=st.dictionaries(st.sampled_from(["spfVerdict", "dkimVerdict", "dmarcVerdict",
                                                "spamVerdict", "recipients", "action"]),
                               JSON_VALUES, max_size=4),
       content=CONTENT, encoded=st.booleans(), whole=JSON_VALUES)
def test_no_received_notification_raises_anything_but_malformed(mail, receipt, content, encoded,
                                                                whole) -> None:
    for inner in (_notification(mail, receipt, content, encoded), whole,
                  {"notificationType": "Received", "mail": whole, "receipt": whole}):
        try:
            parsed = read_received(inner)  # type: ignore[arg-type]
        except MalformedMail:
            continue
        parsed.tokens()
        sender, why = parsed.verified_sender()
        assert isinstance(why, str) and why  # verified how, or why not: always said
        assert sender is None or sender == parsed.sender
        assert all(isinstance(t, str) for t in parsed.tokens())
        json.dumps(dict(parsed.verdicts))
