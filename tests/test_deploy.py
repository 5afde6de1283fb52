"""`publish.py deploy` against moto's server mode: a real S3 endpoint that boto3 talks HTTP to."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from newsletter.archive.deploy import (
    CACHE_IMMUTABLE,
    CACHE_MEDIUM,
    CACHE_SHORT,
    DeployError,
    apply_plan,
    cache_control,
    content_type,
    deploy_site,
    normalize_prefix,
    plan_deploy,
    s3_client,
    scan_site,
)
from newsletter.cli import main
from newsletter.settings import DeploySettings, Settings, load_settings

pytestmark = pytest.mark.server

BUCKET = "annaobserva-archive"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
CSS = "static/style.3f2a9c1b.css"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
RSS = (
    '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>ANNAobserva</title>'
    "<link>https://annaobserva.iin.oea.org/en/</link><description>d</description></channel></rss>\n"
)
SITEMAP = (
    '<?xml version="1.0" encoding="utf-8"?>\n'
    '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"></urlset>\n'
)


def make_site(root: Path) -> Path:
    """A small built site: pages in two languages, a feed, a sitemap, a hashed stylesheet, media."""
    files: dict[str, bytes | str] = {
        "index.html": "<!doctype html><html lang=es><title>ANNAobserva</title></html>\n",
        "es/index.html": "<!doctype html><html lang=es><title>Números</title></html>\n",
        "en/index.html": "<!doctype html><html lang=en><title>Issues</title></html>\n",
        "en/2026-11/index.html": "<!doctype html><html lang=en><title>No. 12</title></html>\n",
        "en/feed.xml": RSS,
        "es/feed.xml": RSS.replace("/en/", "/es/"),
        "sitemap.xml": SITEMAP,
        CSS: "body { font-family: sans-serif }\n",
        "media/2026-11/map.png": PNG,
        ".annaobserva-manifest.json": "{}",
    }
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            path.write_text(data, encoding="utf-8")
        else:
            path.write_bytes(data)
    return root


@pytest.fixture
def s3(moto: str) -> Any:
    """A boto3 client on moto with the archive bucket created."""
    client = boto3.client("s3", region_name="us-east-1", endpoint_url=moto)
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture
def deploy_settings(settings: Settings, moto: str, tmp_path: Path) -> Settings:
    """The project's settings pointed at moto, with a fake site as the build output."""
    make_site(settings.path(settings.build.output_dir))
    return settings.replace(
        deploy=DeploySettings(
            bucket=BUCKET, prefix="archive", region="us-east-1", endpoint_url=moto
        )
    )


def keys(client: Any, prefix: str = "archive/") -> set[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return {o["Key"][len(prefix) :] for page in pages for o in page.get("Contents", ())}


def recording_client(endpoint: str) -> tuple[Any, list[tuple[str, str, str]]]:
    """A real client that records (event, operation, key) for every call it makes, in order."""
    client = s3_client(DeploySettings(region="us-east-1", endpoint_url=endpoint))
    log: list[tuple[str, str, str]] = []

    def before(params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        context["recorded_key"] = params.get("Key", "")
        log.append(("start", model.name, params.get("Key", "")))

    def after(model: Any, context: dict[str, Any], **_: Any) -> None:
        log.append(("end", model.name, context.get("recorded_key", "")))

    client.meta.events.register("before-parameter-build.s3", before)
    client.meta.events.register("after-call.s3", after)
    return client, log


# -- headers, without a server ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "head", "expected"),
    [
        ("en/index.html", b"", "text/html; charset=utf-8"),
        (CSS, b"", "text/css; charset=utf-8"),
        ("static/app.0a1b2c3d.js", b"", "text/javascript; charset=utf-8"),
        ("en/feed.xml", RSS.encode(), "application/rss+xml; charset=utf-8"),
        (
            "en/atom.xml",
            b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">',
            "application/atom+xml; charset=utf-8",
        ),
        ("sitemap.xml", SITEMAP.encode(), "application/xml; charset=utf-8"),
        ("media/2011-03/red.svg", b"", "image/svg+xml; charset=utf-8"),
        ("media/2026-11/map.png", b"", "image/png"),
        ("media/2026-11/photo.JPG", b"", "image/jpeg"),
        ("files/report.pdf", b"", "application/pdf"),
        ("files/blob.unknownext", b"", "application/octet-stream"),
    ],
)
def test_content_type_per_file_with_charset_for_text(path: str, head: bytes, expected: str) -> None:
    assert content_type(path, head) == expected


def test_cache_control_is_long_only_for_content_hashed_assets() -> None:
    assert cache_control(CSS, "text/css; charset=utf-8") == CACHE_IMMUTABLE
    assert cache_control("static/style.css", "text/css; charset=utf-8") == CACHE_MEDIUM
    assert cache_control("en/index.html", "text/html; charset=utf-8") == CACHE_SHORT
    assert cache_control("en/feed.xml", "application/rss+xml; charset=utf-8") == CACHE_SHORT
    assert cache_control("sitemap.xml", "application/xml; charset=utf-8") == CACHE_SHORT
    assert cache_control("media/2026-11/map.png", "image/png") == CACHE_MEDIUM
    assert "max-age=31536000" in CACHE_IMMUTABLE and "max-age=300" in CACHE_SHORT


def test_prefix_is_normalized() -> None:
    assert [normalize_prefix(p) for p in ("", "/", "archive", "/archive/", "a/b")] == [
        "",
        "",
        "archive/",
        "archive/",
        "a/b/",
    ]


# -- against moto ----------------------------------------------------------------------------


def test_first_deploy_uploads_every_file_but_the_build_manifest(
    deploy_settings: Settings, s3: Any
) -> None:
    report = deploy_site(deploy_settings)
    expected = {
        "index.html",
        "es/index.html",
        "en/index.html",
        "en/2026-11/index.html",
        "en/feed.xml",
        "es/feed.xml",
        "sitemap.xml",
        CSS,
        "media/2026-11/map.png",
    }
    assert keys(s3) == expected
    assert set(report.uploaded) == expected
    assert {u.reason for u in report.plan.uploads} == {"new"}
    body = s3.get_object(Bucket=BUCKET, Key="archive/media/2026-11/map.png")["Body"].read()
    assert body == PNG


def test_content_types_and_cache_headers_read_back_with_head_object(
    deploy_settings: Settings, s3: Any
) -> None:
    deploy_site(deploy_settings)
    expected = {
        "en/2026-11/index.html": ("text/html; charset=utf-8", CACHE_SHORT),
        "en/feed.xml": ("application/rss+xml; charset=utf-8", CACHE_SHORT),
        "sitemap.xml": ("application/xml; charset=utf-8", CACHE_SHORT),
        CSS: ("text/css; charset=utf-8", CACHE_IMMUTABLE),
        "media/2026-11/map.png": ("image/png", CACHE_MEDIUM),
    }
    for rel, (ctype, cache) in expected.items():
        head = s3.head_object(Bucket=BUCKET, Key="archive/" + rel)
        assert (head["ContentType"], head["CacheControl"]) == (ctype, cache), rel


def test_second_deploy_lists_and_uploads_nothing(
    deploy_settings: Settings, s3: Any, moto: str
) -> None:
    deploy_site(deploy_settings)
    client, log = recording_client(moto)
    report = deploy_site(deploy_settings, client=client)
    assert report.plan.is_empty and report.uploaded == () and report.plan.unchanged == 9
    assert {op for _, op, _ in log} == {"ListObjectsV2"}


def test_a_changed_file_is_the_only_upload(deploy_settings: Settings, s3: Any, moto: str) -> None:
    deploy_site(deploy_settings)
    page = deploy_settings.path("_site/en/2026-11/index.html")
    page.write_text("<!doctype html><html lang=en><title>No. 12, corrected</title></html>\n")
    client, log = recording_client(moto)
    report = deploy_site(deploy_settings, client=client)
    assert report.uploaded == ("en/2026-11/index.html",)
    assert [(u.file.path, u.reason) for u in report.plan.uploads] == [
        ("en/2026-11/index.html", "changed")
    ]
    assert [key for ev, op, key in log if ev == "start" and op == "PutObject"] == [
        "archive/en/2026-11/index.html"
    ]
    body = s3.get_object(Bucket=BUCKET, Key="archive/en/2026-11/index.html")["Body"].read()
    assert b"corrected" in body


def test_removed_files_stay_without_delete_and_go_with_it(
    deploy_settings: Settings, s3: Any
) -> None:
    deploy_site(deploy_settings)
    s3.put_object(Bucket=BUCKET, Key="outside-the-prefix.html", Body=b"not ours")
    deploy_settings.path("_site/es/feed.xml").unlink()
    kept = deploy_site(deploy_settings)
    assert kept.plan.stale == ("es/feed.xml",) and kept.deleted == ()
    assert "es/feed.xml" in keys(s3)
    removed = deploy_site(deploy_settings, delete=True)
    assert removed.deleted == ("es/feed.xml",)
    assert "es/feed.xml" not in keys(s3)
    assert "outside-the-prefix.html" in keys(s3, prefix="")


def test_dry_run_lists_changes_and_changes_nothing(deploy_settings: Settings, s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="archive/old/index.html", Body=b"old")
    report = deploy_site(deploy_settings, delete=True, dry_run=True)
    assert len(report.plan.uploads) == 9 and report.plan.deletes == ("old/index.html",)
    assert report.uploaded == () and report.deleted == ()
    assert keys(s3) == {"old/index.html"}


def test_assets_are_in_the_bucket_before_any_page_or_feed_is_put(
    deploy_settings: Settings, s3: Any, moto: str
) -> None:
    client, log = recording_client(moto)
    deploy_site(deploy_settings, client=client)

    def events(kind: str, keys: tuple[str, ...] = ()) -> list[int]:
        return [
            i
            for i, (ev, op, key) in enumerate(log)
            if ev == kind
            and op == "PutObject"
            and (not keys or key[len("archive/") :] in keys or key.endswith(keys))
        ]

    assets = (CSS, "media/2026-11/map.png")
    # Each phase's requests have all finished before the next phase's first request starts.
    assert len(events("end", assets)) == 2
    assert max(events("end", assets)) < min(events("start", (".html",)))
    assert len(events("end", (".html",))) == 4
    assert max(events("end", (".html",))) < min(events("start", (".xml",)))
    assert len(events("end", (".xml",))) == 3
    order = [key[len("archive/") :] for ev, op, key in log if ev == "start" and op == "PutObject"]
    # Deepest page first: the issue page is there before the indexes that link to it.
    assert order.index("en/2026-11/index.html") < order.index("en/index.html")
    assert order.index("en/index.html") < order.index("index.html")


def test_failed_upload_names_the_file_and_deletes_nothing(
    deploy_settings: Settings, s3: Any, moto: str
) -> None:
    s3.put_object(Bucket=BUCKET, Key="archive/old/index.html", Body=b"old")
    client = s3_client(DeploySettings(region="us-east-1", endpoint_url=moto))

    def deny_one_page(request: Any, **_: Any) -> AWSResponse | None:
        # An access policy that refuses one key, as S3 would answer it.
        if request.method == "PUT" and request.url.endswith("/archive/en/index.html"):
            body = b"<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
            raw = _Raw(body)
            return AWSResponse(request.url, 403, {"Content-Type": "application/xml"}, raw)
        return None

    client.meta.events.register("before-send.s3.PutObject", deny_one_page)
    with pytest.raises(DeployError) as raised:
        deploy_site(deploy_settings, delete=True, client=client)
    message = str(raised.value)
    assert message.startswith("en/index.html: upload failed: access denied")
    assert "nothing was deleted" in message
    there = keys(s3)
    assert {"old/index.html", CSS, "media/2026-11/map.png"} <= there  # assets up, nothing deleted
    assert not {"en/feed.xml", "es/feed.xml", "sitemap.xml"} & there  # the feeds phase never ran


def test_a_file_rewritten_after_planning_is_refused_not_uploaded_wrong(
    deploy_settings: Settings, s3: Any, moto: str
) -> None:
    site = deploy_settings.path("_site")
    client = s3_client(DeploySettings(region="us-east-1", endpoint_url=moto))
    plan = plan_deploy(scan_site(site), {})
    (site / "en" / "feed.xml").write_text(RSS.replace("ANNAobserva", "Rebuilt"), encoding="utf-8")
    with pytest.raises(DeployError) as raised:
        apply_plan(client, BUCKET, "archive/", plan)
    assert str(raised.value).startswith("en/feed.xml: the file changed while deploying")
    assert "en/feed.xml" not in keys(s3) and CSS in keys(s3)


class _Raw:
    """The minimal raw stream an AWSResponse reads its body from."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body


def test_missing_bucket_and_missing_site_are_clear_errors(
    deploy_settings: Settings, moto: str, tmp_path: Path
) -> None:
    with pytest.raises(DeployError, match="bucket 'annaobserva-archive' does not exist: create it"):
        deploy_site(deploy_settings)
    with pytest.raises(DeployError, match=r"no built site there; run `publish.py build` first"):
        deploy_site(deploy_settings, site=tmp_path / "nowhere")
    unset = deploy_settings.replace(deploy=DeploySettings())
    with pytest.raises(DeployError, match=r"set \[deploy\] bucket"):
        deploy_site(unset)


def test_missing_credentials_are_named_not_a_traceback(
    deploy_settings: Settings, moto: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # never ask a metadata service
    with pytest.raises(DeployError, match=r"^no AWS credentials: set AWS_ACCESS_KEY_ID"):
        deploy_site(deploy_settings)


def test_deploys_a_real_build(settings: Settings, project: Path, s3: Any, moto: str) -> None:
    from newsletter.archive.build import build_site

    shutil.rmtree(project / "issues")
    shutil.copytree(FIXTURES / "site" / "issues", project / "issues")
    built = build_site(settings, today=dt.date(2026, 11, 28))
    configured = settings.replace(
        deploy=DeploySettings(bucket=BUCKET, prefix="", region="us-east-1", endpoint_url=moto)
    )
    report = deploy_site(configured)
    built_files = {
        p.relative_to(built.output).as_posix()
        for p in built.output.rglob("*")
        if p.is_file() and not p.name.startswith(".")
    }
    assert keys(s3, prefix="") == built_files
    css = [k for k in built_files if k.startswith("static/") and k.endswith(".css")]
    assert css and s3.head_object(Bucket=BUCKET, Key=css[0])["CacheControl"] == CACHE_IMMUTABLE
    feed = s3.head_object(Bucket=BUCKET, Key="en/feed.xml")
    assert feed["ContentType"] == "application/rss+xml; charset=utf-8"
    assert report.uploaded.index(css[0]) < report.uploaded.index("en/index.html")
    assert deploy_site(configured).plan.is_empty
    # S3 serves no Content-Security-Policy header: each page carries the policy itself, and an
    # SVG (a document that could run script when opened alone) is served as an attachment.
    page = s3.get_object(Bucket=BUCKET, Key="en/2011-06/index.html")["Body"].read().decode()
    assert '<meta http-equiv="Content-Security-Policy" content="default-src \'none\';' in page
    svg = s3.head_object(Bucket=BUCKET, Key="media/2011-03/images/red.svg")
    assert svg["ContentDisposition"] == "attachment"
    assert svg["ContentType"] == "image/svg+xml; charset=utf-8"
    assert "ContentDisposition" not in s3.head_object(Bucket=BUCKET, Key="en/2011-06/index.html")


def test_deploy_uploads_the_search_index_with_its_types_and_cache_headers(
    settings: Settings, project: Path, s3: Any, moto: str
) -> None:
    from newsletter.archive.build import build_site

    shutil.rmtree(project / "issues")
    shutil.copytree(FIXTURES / "site" / "issues", project / "issues")
    site = build_site(settings, today=dt.date(2026, 11, 28)).output
    configured = settings.replace(
        deploy=DeploySettings(bucket=BUCKET, prefix="", region="us-east-1", endpoint_url=moto)
    )
    report = deploy_site(configured)
    search = sorted(p.relative_to(site).as_posix() for p in (site / "pagefind").rglob("*")
                    if p.is_file())
    kinds = {Path(p).suffix for p in search}
    assert {".js", ".json", ".pagefind", ".pf_meta", ".pf_index", ".pf_fragment"} <= kinds
    for key in search:
        head = s3.head_object(Bucket=BUCKET, Key=key)
        name = Path(key).name
        if name.endswith((".pf_meta", ".pf_index", ".pf_fragment", ".pf_filter")):
            # Named after their content: cached for good; Pagefind decompresses them itself.
            expected = ("application/octet-stream", CACHE_IMMUTABLE)
        elif name.endswith(".pagefind"):
            expected = ("application/octet-stream", "public, max-age=300")
        elif name.endswith(".js"):
            expected = ("text/javascript; charset=utf-8", "public, max-age=300")
        else:
            assert name == "pagefind-entry.json"
            expected = ("application/json; charset=utf-8", "public, max-age=300")
        assert (head["ContentType"], head["CacheControl"]) == expected, key
        assert "ContentEncoding" not in head, key
    # The entry file names the index files: it goes up after them, with the feeds.
    entry = "pagefind/en/pagefind-entry.json"
    meta = next(k for k in search if k.startswith("pagefind/en/") and k.endswith(".pf_meta"))
    assert report.uploaded.index(meta) < report.uploaded.index("en/2011-06/index.html") \
        < report.uploaded.index(entry)
    js = next(k for k in report.uploaded if k.startswith("static/search."))
    assert s3.head_object(Bucket=BUCKET, Key=js)["CacheControl"] == CACHE_IMMUTABLE


# -- the command -----------------------------------------------------------------------------


def configure(project: Path, moto: str) -> Path:
    config = project / "newsletter.toml"
    text = config.read_text(encoding="utf-8")
    section = '[deploy]\nbucket = ""\nprefix = ""\nregion = "us-east-1"\nendpoint_url = ""\n'
    assert section in text, "the committed newsletter.toml's [deploy] section changed"
    config.write_text(
        text.replace(section, f'[deploy]\nbucket = "{BUCKET}"\nprefix = "archive"\n'
                              f'region = "us-east-1"\nendpoint_url = "{moto}"\n'),
        encoding="utf-8",
    )
    make_site(project / "_site")
    return config


def test_cli_deploy_dry_run_then_deploy_then_nothing(
    project: Path, s3: Any, moto: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(configure(project, moto))
    assert main(["--config", config, "deploy", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"upload  {CSS} (new)" in out
    assert out.strip().endswith(
        "Dry run: would upload 9 files and delete 0; 0 unchanged. "
        f"s3://{BUCKET}/archive/ was not changed."
    )
    assert keys(s3) == set()
    assert main(["--config", config, "deploy"]) == 0
    out = capsys.readouterr().out
    assert out.strip().endswith(
        f"Uploaded 9 files, deleted 0; 0 unchanged (s3://{BUCKET}/archive/)."
    )
    assert main(["--config", config, "deploy"]) == 0
    assert capsys.readouterr().out == f"s3://{BUCKET}/archive/ is up to date (9 files).\n"


def test_cli_deploy_mentions_stale_files_and_deletes_them_with_delete(
    project: Path, s3: Any, moto: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(configure(project, moto))
    s3.put_object(Bucket=BUCKET, Key="archive/old/index.html", Body=b"old")
    assert main(["--config", config, "deploy"]) == 0
    out = capsys.readouterr().out
    assert (
        "1 file in the bucket is no longer in the site (old/index.html); "
        "deploy --delete removes it." in out
    )
    assert main(["--config", config, "deploy", "--delete"]) == 0
    assert "delete  old/index.html" in capsys.readouterr().out
    assert "old/index.html" not in keys(s3)


def test_cli_deploy_error_is_one_line_and_exit_1(
    project: Path, moto: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(configure(project, moto))  # the bucket was never created
    assert main(["--config", config, "deploy"]) == 1
    captured = capsys.readouterr()
    assert captured.err == (
        f"Error: bucket '{BUCKET}' does not exist: create it or fix [deploy] bucket\n"
    )


def test_cli_deploy_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deploy", "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: publish.py deploy [-h] [--delete] [--dry-run]")
    assert "--delete" in out and "--dry-run" in out and "S3" in out


def test_deploy_settings_come_from_newsletter_toml(project: Path, moto: str) -> None:
    settings = load_settings(configure(project, moto))
    assert dataclasses.astuple(settings.deploy) == (BUCKET, "archive", "us-east-1", moto)
