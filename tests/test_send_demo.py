"""`make run`'s last step: the demo liaisons imported and the latest ready issue in the outbox."""

from __future__ import annotations

import shutil
from pathlib import Path

from newsletter.delivery.demo import deliver_demo
from tests.delivery_support import outbox_messages

REPO = Path(__file__).resolve().parent.parent


def test_deliver_demo_fills_the_outbox_once(project, settings) -> None:
    shutil.copy(REPO / "subscribers" / "demo.csv", project / "subscribers" / "demo.csv")
    assert deliver_demo(settings) == [
        "Demo subscribers: 10 imported from subscribers/demo.csv.",
        "2011-07: delivered 10 messages to the outbox.",
    ]
    messages = outbox_messages(project / "outbox")
    assert len(messages) == 10
    assert all(m["Delivered-To"].endswith("@example.org") for m in messages)
    assert sorted(m["Content-Language"] for m in messages) == ["en"] * 4 + ["es"] * 6
    again = deliver_demo(settings)
    assert again[1] == ("2011-07: already delivered to the 10 demo subscribers (delete "
                        "subscribers/subscribers.db to start over).")
    assert len(outbox_messages(project / "outbox")) == 10
