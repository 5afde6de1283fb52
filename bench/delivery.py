"""Benchmark: `send` throughput, memory and rate, each against its named peer in the same run.

1. Throughput: N subscribers (default 20,000) sent by this project's `send` (ledger, rendering,
   worker pool) to a local aiosmtpd sink in its own process, against a bare smtplib loop sending
   the same pre-built messages over one connection to the same sink. Target ratio ≥ 0.8.
2. Memory: the peak resident memory a send run adds, for 100,000 vs 1,000 subscribers, each in a
   fresh process, into a transport that discards the bytes (the sink would take minutes; the
   pipeline's memory is what is measured). Target ≤ 1.2×.
3. Rate: through moto's SES server with a configured rate of 50/s and 80 ms added to every call
   (SES's own latency, which a local moto lacks): the achieved rate (target ≥ 0.9 × 50) and the
   most calls in any one-second window (never above 50).

Run: `.venv/bin/python -m bench.delivery` (`--messages`, `--rounds`, `--big`, `--small`,
`--rate-messages`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import smtplib
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from newsletter.settings import Settings

REPO = Path(__file__).resolve().parent.parent
STATES = ("UY", "AR", "BR", "MX", "CA", "CL", "PE", "CO")
LATENCY = 0.08  # seconds added to every SES call in the rate benchmark


def make_project(root: Path, subscribers: int) -> Path:
    """A copy of the project with `subscribers` confirmed subscribers; returns the settings file."""
    from newsletter.settings import load_settings
    from newsletter.subscribers import NewSubscriber, SubscriberStore

    root.mkdir(parents=True)
    shutil.copy(REPO / "newsletter.toml", root / "newsletter.toml")
    shutil.copytree(REPO / "templates", root / "templates")
    shutil.copytree(REPO / "issues", root / "issues")
    (root / "subscribers").mkdir()
    shutil.copy(REPO / "subscribers" / "member-states.toml", root / "subscribers")
    settings = load_settings(root / "newsletter.toml")
    store = SubscriberStore.open(settings)
    with store.database.transaction():
        for n in range(subscribers):
            store.insert(NewSubscriber(f"reader{n:07d}@example.org", f"Reader {n}", "",
                                       STATES[n % len(STATES)], ("es", "en")[n % 2]),
                         status="confirmed", source="import", note="benchmark liaisons")
    store.close()
    return root / "newsletter.toml"


def fresh_campaign(settings: Settings) -> None:
    """Forget every campaign, so the next round sends to everybody again (a benchmark's reset;
    nothing in the product deletes ledger rows)."""
    import sqlite3

    path = settings.path(settings.subscribers.database)
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM deliveries")
        conn.execute("DELETE FROM campaigns")
    conn.close()


def sink_main(port: int) -> None:
    """An aiosmtpd server that accepts and forgets every message (runs in its own process)."""
    from aiosmtpd.controller import Controller

    class Sink:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802, ANN001
            return "250 OK"

    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        asyncio.run(asyncio.sleep(10**6))
    finally:
        controller.stop()


def free_port() -> int:
    """A TCP port nobody listens on."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_sink() -> tuple[subprocess.Popen[bytes], int]:
    """The sink in a subprocess; returns it and its port once it listens."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "bench.delivery", "--sink", str(port)],
                            stdout=subprocess.PIPE, cwd=REPO)
    assert proc.stdout is not None
    proc.stdout.readline()
    return proc, port


def throughput(messages: int, rounds: int) -> None:
    """Our send vs a bare smtplib loop with pre-built messages, same sink, same run."""
    from newsletter.content import load_corpus
    from newsletter.delivery import Ledger, SendOptions, run_send
    from newsletter.mail import Recipient, open_transport, render_email_editions
    from newsletter.settings import DeliverySettings, SmtpSettings, load_settings
    from newsletter.subscribers import SubscriberStore

    tmp = Path(tempfile.mkdtemp(prefix="bench-delivery-"))
    sink, port = start_sink()
    try:
        toml = make_project(tmp / "p", messages)
        base = load_settings(toml)
        settings = base.replace(
            smtp=SmtpSettings(host="127.0.0.1", port=port, security="none"),
            delivery=DeliverySettings(transport="smtp", outbox_dir="outbox"),
        )
        issue = load_corpus(settings).get("2011-07")
        editions = render_email_editions(settings, issue)
        # The peer: the same messages built beforehand, one smtplib connection, a plain loop.
        store = SubscriberStore.open(settings)
        prebuilt = [
            (s.email, editions[s.lang].message_for(Recipient(s.id, s.email, s.name, s.lang)))
            for s in store.iter_confirmed()
        ]
        store.close()
        peers, ours = [], []
        print(f"throughput, {messages} messages to an aiosmtpd sink, {rounds} rounds "
              "(alternating, so a busy machine weighs on both):")
        for n in range(rounds):
            start = time.perf_counter()
            with smtplib.SMTP("127.0.0.1", port) as smtp:
                for address, data in prebuilt:
                    smtp.sendmail(settings.email.from_address, [address], data)
            peers.append(time.perf_counter() - start)
            fresh_campaign(settings)
            store = SubscriberStore.open(settings)
            start = time.perf_counter()
            summary = run_send(store, Ledger.beside(store), issue, editions,
                               lambda: open_transport(settings), settings.delivery, SendOptions())
            ours.append(time.perf_counter() - start)
            store.close()
            assert summary.counts["sent"] == messages, summary
            print(f"  round {n + 1}: bare smtplib loop {messages / peers[-1]:5.0f} msg/s, "
                  f"publish.py send {messages / ours[-1]:5.0f} msg/s, "
                  f"ratio {peers[-1] / ours[-1]:.2f}")
    finally:
        sink.terminate()
        sink.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    peer_time, our_time = sum(peers), sum(ours)
    print(f"  bare smtplib loop (pre-built messages): {peer_time:6.2f} s  "
          f"{rounds * messages / peer_time:5.0f} msg/s")
    print(f"  publish.py send (ledger, rendering):    {our_time:6.2f} s  "
          f"{rounds * messages / our_time:5.0f} msg/s")
    print(f"  ratio send / smtplib: {peer_time / our_time:.2f} (target >= 0.8)")


class NullTransport:
    """Accepts every message and keeps nothing (for the memory benchmark)."""

    name = "null"

    def __init__(self) -> None:
        self.count = 0

    def open(self) -> None:
        """Nothing to open."""

    def send(self, recipient: str, message: bytes, tags: object = None) -> str:
        """Count and forget."""
        self.count += 1
        return f"null-{self.count}"

    def quota(self) -> None:
        """No limits."""

    def close(self) -> None:
        """Nothing to close."""


def _status_kb(field: str) -> int:
    """VmRSS or VmHWM (the peak) of this process in kB; unlike ru_maxrss, the peak does not
    carry over the parent's size from before exec."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def memory_child(toml: str) -> None:
    """One send run into NullTransport; prints JSON with the memory before and the peak."""
    from newsletter.content import load_corpus
    from newsletter.delivery import Ledger, SendOptions, run_send
    from newsletter.mail import render_email_editions
    from newsletter.settings import load_settings
    from newsletter.subscribers import SubscriberStore

    settings = load_settings(toml)
    issue = load_corpus(settings).get("2011-07")
    editions = render_email_editions(settings, issue)
    store = SubscriberStore.open(settings)
    before = _status_kb("VmRSS")
    start = time.perf_counter()
    summary = run_send(store, Ledger.beside(store), issue, editions, NullTransport,
                       settings.delivery, SendOptions())
    elapsed = time.perf_counter() - start
    peak = _status_kb("VmHWM")
    print(json.dumps({"before": before, "peak": peak, "sent": summary.counts["sent"],
                      "seconds": elapsed}))


def memory(small: int, big: int) -> None:
    """Peak memory of a send for `big` vs `small` subscribers, each in a fresh process."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-delivery-mem-"))
    results = {}
    try:
        for n in (small, big):
            toml = make_project(tmp / f"p{n}", n)
            out = subprocess.run([sys.executable, "-m", "bench.delivery", "--memory-child",
                                  str(toml)], capture_output=True, text=True, cwd=REPO, check=True)
            results[n] = json.loads(out.stdout.strip().splitlines()[-1])
            assert results[n]["sent"] == n
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("memory, one send run (peak resident set, fresh process each):")
    for n, r in results.items():
        print(f"  {n:>7} subscribers: peak {r['peak'] / 1024:6.1f} MB, added by the run "
              f"{(r['peak'] - r['before']) / 1024:5.1f} MB, {r['sent'] / r['seconds']:.0f} msg/s")
    print(f"  ratio peak {big} / {small}: {results[big]['peak'] / results[small]['peak']:.2f} "
          "(target <= 1.2)")


def rate(messages: int, target: float = 50.0) -> None:
    """Through moto's SES server at a configured rate: achieved rate and the busiest second."""
    import boto3

    from newsletter.content import load_corpus
    from newsletter.delivery import Ledger, SendOptions, run_send
    from newsletter.mail import render_email_editions
    from newsletter.mail.transports.ses import SesTransport
    from newsletter.settings import DeliverySettings, SesSettings, load_settings
    from newsletter.subscribers import SubscriberStore

    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench",
                      AWS_DEFAULT_REGION="us-east-1")
    port = free_port()
    moto = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                             str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    tmp = Path(tempfile.mkdtemp(prefix="bench-delivery-rate-"))
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                boto3.client("ses", endpoint_url=endpoint).verify_email_identity(
                    EmailAddress="annaobserva@iin.oea.org")
                break
            except Exception:  # noqa: BLE001 - any failure means "not up yet" here
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        toml = make_project(tmp / "p", messages)
        settings = load_settings(toml).replace(
            ses=SesSettings(endpoint_url=endpoint, account_quota=False),
            delivery=DeliverySettings(transport="ses", rate=target),
        )
        issue = load_corpus(settings).get("2011-07")
        editions = render_email_editions(settings, issue)
        calls: list[float] = []

        class Timed(SesTransport):
            def send(self, recipient, message, tags=None):  # type: ignore[no-untyped-def]
                calls.append(time.monotonic())
                answer = super().send(recipient, message, tags)
                time.sleep(LATENCY)  # the round trip to a real SES region, which moto lacks
                return answer

        def factory() -> SesTransport:
            t = Timed(SesTransport.from_settings(settings).config)
            t.open()
            return t

        store = SubscriberStore.open(settings)
        summary = run_send(store, Ledger.beside(store), issue, editions, factory,
                           settings.delivery, SendOptions())
        store.close()
    finally:
        moto.terminate()
        moto.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    calls.sort()
    achieved = (len(calls) - 1) / (calls[-1] - calls[0])
    busiest = 0
    j = 0
    for i, t in enumerate(calls):
        while calls[j] <= t - 1.0:
            j += 1
        busiest = max(busiest, i - j + 1)
    print(f"rate, {messages} messages through moto's SES server at a configured {target:.0f}/s, "
          f"{LATENCY * 1000:.0f} ms added to each call:")
    print(f"  sent {summary.counts['sent']}, achieved {achieved:.1f}/s "
          f"(ratio {achieved / target:.2f}, target >= 0.9)")
    print(f"  most calls in any one-second window: {busiest} (limit {target:.0f})")


def main() -> None:
    """Run the three measurements (or one helper role when started as a subprocess)."""
    parser = argparse.ArgumentParser(prog="python -m bench.delivery")
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--big", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--rate-messages", type=int, default=500)
    parser.add_argument("--sink", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sink:
        sink_main(args.sink)
        return
    if args.memory_child:
        memory_child(args.memory_child)
        return
    os.environ.setdefault("ANNAOBSERVA_SECRET", "bench-secret-of-at-least-32-bytes-0123456789")
    throughput(args.messages, args.rounds)
    rate(args.rate_messages)
    memory(args.small, args.big)


if __name__ == "__main__":
    main()
