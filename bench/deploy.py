"""Benchmark: a no-change deploy of a 1,000-edition site to S3 (moto's server, started here).

Generates a built site of about 2,000 files of realistic sizes (1,000 edition pages, their
images, indexes, feeds, sitemap, hashed assets), deploys it once, then measures the deploy that
finds nothing to do: the requests it makes (counted with botocore's event hooks, one per HTTP
attempt) and its time. The named peer, run in the same process against the same bucket, is the
per-file check a naive uploader does (one HEAD per file to compare ETags); the full re-upload is
shown too. Run: `.venv/bin/python -m bench.deploy` (`--editions N` for another size).
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from newsletter.archive.deploy import deploy_site, s3_client, scan_site
from newsletter.settings import DeploySettings, load_settings

REPO = Path(__file__).resolve().parent.parent
BUCKET = "annaobserva-bench"
LANGS = ("es", "en")


def make_site(root: Path, editions: int, seed: int = 2686) -> int:
    """Write a built site of `editions` edition pages (half per language); return its bytes."""
    rng = random.Random(seed)
    issues = editions // len(LANGS)
    total = 0

    def write(rel: str, data: bytes) -> None:
        nonlocal total
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        total += len(data)

    paragraph = (
        "<p>Los Estados miembros informaron sobre las medidas adoptadas para prevenir y "
        "erradicar la explotación sexual comercial de niñas, niños y adolescentes.</p>\n"
    )
    for n in range(1, issues + 1):
        slug = f"{2000 + n // 12:04d}-{n % 12 + 1:02d}-{n:04d}"
        for lang in LANGS:
            body = paragraph * rng.randint(80, 220)  # 15–40 KB pages
            write(
                f"{lang}/{slug}/index.html",
                f"<!doctype html><html lang={lang}><title>No. {n}</title>"
                f'<link rel=stylesheet href="/static/style.3f2a9c1b.css">{body}</html>'.encode(),
            )
        for i in range(rng.choice((1, 2, 2, 3))):  # images shared by the two languages
            write(
                f"media/{slug}/figure-{i}.png",
                b"\x89PNG\r\n\x1a\n" + rng.randbytes(rng.randint(6_000, 40_000)),
            )
    for lang in LANGS:
        write(
            f"{lang}/index.html",
            b"<!doctype html><html><title>Index</title>"
            + b"<li><a href=/x/>Issue</a>\n" * issues
            + b"</html>",
        )
        write(
            f"{lang}/feed.xml",
            b'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0">'
            + paragraph.encode() * 20 * 20
            + b"</rss>\n",
        )
    write("index.html", b"<!doctype html><html><title>ANNAobserva</title></html>")
    write(
        "sitemap.xml",
        b'<?xml version="1.0" encoding="utf-8"?>\n<urlset>'
        + b"<url><loc>https://annaobserva.iin.oea.org/es/x/</loc></url>\n" * editions
        + b"</urlset>\n",
    )
    write("static/style.3f2a9c1b.css", b"body{font-family:sans-serif}\n" * 200)
    write("static/reload.9c1b3f2a.js", b"/* live reload */\n" * 40)
    return total


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    """moto in server mode on a free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1)  # noqa: S310 - loopback
            return proc, url
        except urllib.error.HTTPError:
            return proc, url
        except OSError:
            if time.monotonic() > deadline:
                proc.terminate()
                raise SystemExit("moto server did not start") from None
            time.sleep(0.1)


def counted_client(endpoint: str) -> tuple[Any, collections.Counter[str]]:
    """A real S3 client that counts every HTTP attempt it sends, by operation."""
    client = s3_client(DeploySettings(region="us-east-1", endpoint_url=endpoint))
    counts: collections.Counter[str] = collections.Counter()

    def count(request: Any, **kwargs: Any) -> None:
        counts[kwargs["event_name"].split(".")[-1]] += 1

    client.meta.events.register("before-send.s3", count)
    return client, counts


def naive_check(client: Any, site: Path) -> int:
    """The peer: HEAD every file and compare its ETag; return how many differ."""
    changed = 0
    for rel, local in scan_site(site).items():
        head = client.head_object(Bucket=BUCKET, Key=rel)
        changed += head["ETag"].strip('"') != local.md5
    return changed


def main() -> None:
    """Run the benchmark and print figures and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--editions", type=int, default=1000, help="edition pages (default 1000)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per case (median shown)")
    args = parser.parse_args()
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1"
    )
    work = Path(tempfile.mkdtemp(prefix="bench-deploy-"))
    proc, endpoint = start_moto()
    try:
        site = work / "_site"
        size = make_site(site, args.editions)
        files = len(scan_site(site))
        settings = load_settings(REPO / "newsletter.toml").replace(
            deploy=DeploySettings(bucket=BUCKET, region="us-east-1", endpoint_url=endpoint)
        )
        client, counts = counted_client(endpoint)
        client.create_bucket(Bucket=BUCKET)
        print(
            f"site: {args.editions} editions, {files} files, {size / 1e6:.1f} MB; "
            f"moto server at {endpoint}"
        )

        counts.clear()
        start = time.perf_counter()
        first = deploy_site(settings, site=site, client=client)
        first_time = time.perf_counter() - start
        first_requests = sum(counts.values())
        print(
            f"first deploy:        {first_requests:6d} requests  {first_time:7.2f} s  "
            f"({len(first.uploaded)} uploaded)"
        )

        times, scan_times = [], []
        for _ in range(args.repeat):
            counts.clear()
            start = time.perf_counter()
            scan_site(site)
            scan_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            report = deploy_site(settings, site=site, client=client)
            times.append(time.perf_counter() - start)
            if report.uploaded or report.deleted or set(counts) != {"ListObjectsV2"}:
                raise SystemExit(f"a no-change deploy must only list; it made {dict(counts)}")
        no_change_requests = sum(counts.values())
        no_change = statistics.median(times)
        print(
            f"no-change deploy:    {no_change_requests:6d} requests  {no_change:7.2f} s  "
            f"({dict(counts)}; local scan and MD5 {statistics.median(scan_times):.2f} s)"
        )

        peer_times = []
        for _ in range(args.repeat):
            counts.clear()
            start = time.perf_counter()
            differ = naive_check(client, site)
            peer_times.append(time.perf_counter() - start)
            assert differ == 0
        peer_requests = sum(counts.values())
        peer = statistics.median(peer_times)
        print(f"peer, HEAD per file: {peer_requests:6d} requests  {peer:7.2f} s")

        print(
            f"ratio no-change deploy / peer: requests {no_change_requests / peer_requests:.4f} "
            f"({peer_requests // max(no_change_requests, 1)}x fewer), time {no_change / peer:.3f} "
            f"({peer / no_change:.1f}x faster); / first deploy: time {no_change / first_time:.3f}"
        )
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
