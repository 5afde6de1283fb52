"""`make run`'s last step: the demo liaisons and the latest ready issue, in the demo's own database
and outbox (`demo/`), never in the operator's."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from newsletter.cli import main
from newsletter.delivery import Ledger
from newsletter.delivery.demo import deliver_demo
from newsletter.settings import Settings
from newsletter.subscribers import SubscriberStore
from tests.delivery_support import outbox_messages

REPO = Path(__file__).resolve().parent.parent


def test_deliver_demo_fills_the_demo_outbox_once(project: Path, settings: Settings) -> None:
    shutil.copy(REPO / "subscribers" / "demo.csv", project / "subscribers" / "demo.csv")
    # Four languages, two of them by fallback: 2011-07 has no pt or fr edition.
    assert deliver_demo(settings) == [
        "Demo subscribers: 12 imported from subscribers/demo.csv into demo/subscribers.db.",
        "2011-07: delivered 12 messages to demo/outbox/, in 4 languages (es 5, en 3, pt 2, fr 2).",
        "Fallback: 2 fr subscribers get the es edition (no fr edition yet), with the email's own "
        "words in fr.",
        "Fallback: 2 pt subscribers get the es edition (no pt edition yet), with the email's own "
        "words in pt.",
    ]
    messages = outbox_messages(project / "demo" / "outbox")
    assert len(messages) == 12
    assert all(m["Delivered-To"].endswith("@example.org") for m in messages)
    assert sorted(m["Content-Language"] for m in messages) == (
        ["en"] * 3 + ["es"] * 5 + ["es, fr"] * 2 + ["es, pt"] * 2)
    again = deliver_demo(settings)
    assert again == [
        "Demo subscribers: 0 imported from subscribers/demo.csv into demo/subscribers.db, 12 "
        "already there.",
        "2011-07: already delivered to the 12 demo subscribers (delete the demo/ folder to start "
        "over).",
    ]
    assert len(outbox_messages(project / "demo" / "outbox")) == 12


def test_the_demo_never_touches_the_operators_subscribers_or_outbox(
    project: Path, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(REPO / "subscribers" / "demo.csv", project / "subscribers" / "demo.csv")
    with SubscriberStore.open(settings) as store:  # a project with a real subscriber
        store.add(store.validate("enlace@mides.gub.uy", "UY", "es"), status="confirmed",
                  source="admin", note="designated by MIDES")
    real_db = project / "subscribers" / "subscribers.db"
    assert main(["--config", str(project / "newsletter.toml"), "demo"]) == 0
    out = capsys.readouterr().out
    assert "delivered 12 messages to demo/outbox/" in out
    look = out.rstrip().splitlines()[-1]
    assert look.startswith("Look at: the archive, built into _site/, with `")
    assert "publish.py preview` (then http://127.0.0.1:8000/;" in look
    assert look.endswith("the delivered emails in demo/outbox/new/ (one .eml file each; the demo's "
                         "subscribers and outbox are in demo/, apart from yours).")
    with SubscriberStore.open(settings) as store:
        assert [s.email for s in store.iter_subscribers()] == ["enlace@mides.gub.uy"]
        assert Ledger.beside(store).campaign("2011-07") is None  # the real send is still to do
    assert real_db.exists() and not (project / "outbox").exists()
    assert len(outbox_messages(project / "demo" / "outbox")) == 12
    assert "demo/" in (REPO / ".gitignore").read_text(encoding="utf-8").split()
