"""`make run`'s last step: the demo liaisons imported and the latest ready issue in the outbox."""

from __future__ import annotations

import shutil
from pathlib import Path

from newsletter.delivery.demo import deliver_demo
from tests.delivery_support import outbox_messages

REPO = Path(__file__).resolve().parent.parent


def test_deliver_demo_fills_the_outbox_once(project, settings) -> None:
    shutil.copy(REPO / "subscribers" / "demo.csv", project / "subscribers" / "demo.csv")
    # Four languages, two of them by fallback: 2011-07 has no pt or fr edition.
    assert deliver_demo(settings) == [
        "Demo subscribers: 12 imported from subscribers/demo.csv.",
        "2011-07: delivered 12 messages to the outbox, in 4 languages (es 5, en 3, pt 2, fr 2).",
        "Fallback: 2 fr subscribers get the es edition (no fr edition yet), with the email's own "
        "words in fr.",
        "Fallback: 2 pt subscribers get the es edition (no pt edition yet), with the email's own "
        "words in pt.",
    ]
    messages = outbox_messages(project / "outbox")
    assert len(messages) == 12
    assert all(m["Delivered-To"].endswith("@example.org") for m in messages)
    assert sorted(m["Content-Language"] for m in messages) == (
        ["en"] * 3 + ["es"] * 5 + ["es, fr"] * 2 + ["es, pt"] * 2)
    again = deliver_demo(settings)
    assert again[1] == ("2011-07: already delivered to the 12 demo subscribers (delete "
                        "subscribers/subscribers.db to start over).")
    assert len(outbox_messages(project / "outbox")) == 12
