"""Deploy the built archive to S3: scan `_site/` → list the bucket → plan → upload → delete.

Only files whose bytes changed are uploaded: a file's MD5 is compared with the object's ETag from
the bucket listing (one request per 1,000 objects, no request per file), which is the MD5 of an
object put in one piece, as every object this module writes is. The plan uploads in phases, each
finished before the next starts, so a reader never meets a page whose stylesheet, image or issue
page is not there yet: assets first, then HTML pages (deepest first: issue pages before the
indexes that link to them), then feeds, the sitemap and the search index's fixed-name files
(`pagefind-entry.json` names the content-hashed index files, which went up with the assets).
Objects no longer in the site are deleted only on request, and only after every upload succeeded;
a failed upload stops the deploy with the file named and nothing deleted.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import mimetypes
import re
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from newsletter.errors import NewsletterError
from newsletter.settings import DeploySettings, Settings

from .writer import MANIFEST

logger = logging.getLogger(__name__)

# A content-hashed asset (`static/style.3f2a9c1b.css`) never changes under its name.
HASHED_ASSET_RE = re.compile(r"(^|/)static/.+\.[0-9a-f]{8}\.[A-Za-z0-9]+$")
# Pagefind's index, fragment, filter and meta files are named after their content too; its entry
# file, scripts and WebAssembly keep their names across builds (see `is_search_hashed`).
SEARCH_HASHED_RE = re.compile(r"(^|/)pagefind/.+\.pf_(?:meta|index|fragment|filter)$")
SEARCH_DIR_RE = re.compile(r"(^|/)pagefind/")
CACHE_IMMUTABLE = "public, max-age=31536000, immutable"
CACHE_SHORT = "public, max-age=300"  # HTML, feeds, sitemap: a new issue shows within minutes
CACHE_MEDIUM = "public, max-age=86400"  # images and other files whose name does not change
# Phases of the upload, in order.
PHASE_ASSETS, PHASE_PAGES, PHASE_FEEDS = 0, 1, 2
PHASE_NAMES = {PHASE_ASSETS: "assets", PHASE_PAGES: "pages", PHASE_FEEDS: "feeds"}
UPLOAD_WORKERS = 8
DELETE_BATCH = 1000  # S3's DeleteObjects limit

_TEXT_TYPES = {
    ".html": "text/html",
    ".htm": "text/html",
    ".css": "text/css",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".csv": "text/csv",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".svg": "image/svg+xml",
}
_BINARY_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/vnd.microsoft.icon",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".pdf": "application/pdf",
    # Pagefind's files are compressed by Pagefind and decompressed by its script: plain bytes to
    # the browser (no Content-Encoding, which would make the browser decompress them first).
    ".pf_meta": "application/octet-stream",
    ".pf_index": "application/octet-stream",
    ".pf_fragment": "application/octet-stream",
    ".pf_filter": "application/octet-stream",
    ".pagefind": "application/octet-stream",
}


class DeployError(NewsletterError):
    """The archive could not be deployed (settings, site folder, bucket or an upload)."""


@dataclass(frozen=True)
class LocalFile:
    """One file of the built site, with the headers it is served with."""

    path: str  # relative to the site folder, with /
    source: Path
    size: int
    md5: str
    content_type: str
    cache_control: str

    @property
    def phase(self) -> int:
        """When it is uploaded: assets, then pages, then feeds (see the module docstring)."""
        return upload_phase(self.path, self.content_type)

    @property
    def wave(self) -> tuple[int, int]:
        """The batch it goes up in: its phase, and inside pages and feeds the deepest first."""
        phase = self.phase
        return phase, 0 if phase == PHASE_ASSETS else -self.path.count("/")


@dataclass(frozen=True)
class RemoteObject:
    """One object already in the bucket, as the listing describes it."""

    path: str  # relative to the prefix
    etag: str
    size: int


@dataclass(frozen=True)
class Upload:
    """A file to put, and why."""

    file: LocalFile
    reason: str  # new | changed


@dataclass(frozen=True)
class DeployPlan:
    """What a deploy changes: uploads in order, deletions, and what stays as it is."""

    uploads: tuple[Upload, ...]
    deletes: tuple[str, ...]
    stale: tuple[str, ...]  # in the bucket but not in the site, kept (no --delete)
    unchanged: int

    @property
    def is_empty(self) -> bool:
        """Whether the bucket already matches the site."""
        return not self.uploads and not self.deletes


@dataclass(frozen=True)
class DeployReport:
    """What a deploy did (or, in a dry run, would do)."""

    bucket: str
    prefix: str
    plan: DeployPlan
    uploaded: tuple[str, ...]  # in the order the uploads finished
    deleted: tuple[str, ...]
    dry_run: bool


# -- headers ---------------------------------------------------------------------------------


def content_type(path: str, head: bytes = b"") -> str:
    """The Content-Type a file is served with; text types carry `charset=utf-8`.

    `.xml` files are told apart by their root element, so feeds are `application/rss+xml` (or
    `application/atom+xml`) and the sitemap `application/xml`.
    """
    suffix = Path(path).suffix.lower()
    if suffix == ".xml" or suffix == ".rss":
        sniff = head[:1024].lower()
        if b"<rss" in sniff:
            return "application/rss+xml; charset=utf-8"
        if b"<feed" in sniff:
            return "application/atom+xml; charset=utf-8"
        return "application/xml; charset=utf-8"
    if suffix in _TEXT_TYPES:
        return f"{_TEXT_TYPES[suffix]}; charset=utf-8"
    if suffix in _BINARY_TYPES:
        return _BINARY_TYPES[suffix]
    guessed, _ = mimetypes.guess_type(path, strict=False)
    return guessed or "application/octet-stream"


def cache_control(path: str, content_type_: str) -> str:
    """Long-lived for content-hashed assets (the search index's included), short for HTML, feeds
    and the search index's fixed-name files, a day for the rest."""
    if HASHED_ASSET_RE.search(path) or SEARCH_HASHED_RE.search(path):
        return CACHE_IMMUTABLE
    if upload_phase(path, content_type_) != PHASE_ASSETS:
        return CACHE_SHORT
    return CACHE_MEDIUM


def served_headers(path: str) -> dict[str, str]:
    """Headers beyond type and caching that S3 can serve for a file (see README, "Security
    headers": S3 serves no Content-Security-Policy; each page carries its own in a <meta>).

    An SVG is a document that can run script when opened on its own, where no page's policy
    applies: served as an attachment, a browser saves it instead of running it on the archive's
    origin, while `<img>` still shows it.
    """
    if path.lower().endswith((".svg", ".svgz")):
        return {"ContentDisposition": "attachment"}
    return {}


def upload_phase(path: str, content_type_: str) -> int:
    """Assets (0) before pages (1) before feeds, sitemap and the search entry files (2)."""
    if SEARCH_DIR_RE.search(path) and not SEARCH_HASHED_RE.search(path):
        return PHASE_FEEDS
    kind = content_type_.split(";")[0]
    if kind == "text/html":
        return PHASE_PAGES
    if kind in ("application/rss+xml", "application/atom+xml", "application/xml") or path.endswith(
        "robots.txt"
    ):
        return PHASE_FEEDS
    return PHASE_ASSETS


# -- stage 1: scan the site ------------------------------------------------------------------


def scan_site(site: Path) -> dict[str, LocalFile]:
    """Every file of the built site with its MD5 and headers (the build's manifest excluded)."""
    if not site.is_dir():
        raise DeployError(f"{site}: no built site there; run `publish.py build` first")
    files: dict[str, LocalFile] = {}
    for source in sorted(site.rglob("*")):
        if not source.is_file():
            continue
        rel = source.relative_to(site).as_posix()
        if rel == MANIFEST or any(part.startswith(".") for part in rel.split("/")):
            continue  # the build's bookkeeping, never public
        data = source.read_bytes()
        ctype = content_type(rel, data[:1024])
        files[rel] = LocalFile(
            path=rel,
            source=source,
            size=len(data),
            md5=hashlib.md5(data, usedforsecurity=False).hexdigest(),
            content_type=ctype,
            cache_control=cache_control(rel, ctype),
        )
    return files


# -- stage 2: list the bucket ----------------------------------------------------------------


def normalize_prefix(prefix: str) -> str:
    """`archive` and `/archive/` → `archive/`; empty stays empty."""
    prefix = prefix.strip("/")
    return prefix + "/" if prefix else ""


def list_bucket(client: Any, bucket: str, prefix: str) -> dict[str, RemoteObject]:
    """Every object under the prefix, keyed by its path relative to the prefix."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    remote: dict[str, RemoteObject] = {}
    try:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", ()):
                rel = obj["Key"][len(prefix) :]
                remote[rel] = RemoteObject(rel, obj["ETag"].strip('"'), int(obj["Size"]))
    except ClientError as exc:
        raise DeployError(_client_error(exc, bucket, "list")) from None
    except NoCredentialsError:
        raise DeployError(
            "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE"
        ) from None
    except BotoCoreError as exc:
        raise DeployError(f"s3://{bucket}: cannot list the bucket: {exc}") from None
    return remote


# -- stage 3: plan ---------------------------------------------------------------------------


def plan_deploy(
    local: Mapping[str, LocalFile], remote: Mapping[str, RemoteObject], delete: bool = False
) -> DeployPlan:
    """Compare the site with the bucket: what to upload (in phase order) and what to delete."""
    uploads: list[Upload] = []
    unchanged = 0
    for path, file in local.items():
        there = remote.get(path)
        if there is None:
            uploads.append(Upload(file, "new"))
        elif there.etag != file.md5 or there.size != file.size:
            uploads.append(Upload(file, "changed"))
        else:
            unchanged += 1
    # In waves: assets, then the deepest pages first (LocalFile.wave).
    uploads.sort(key=lambda u: (u.file.wave, u.file.path))
    gone = tuple(sorted(set(remote) - set(local)))
    return DeployPlan(
        uploads=tuple(uploads),
        deletes=gone if delete else (),
        stale=() if delete else gone,
        unchanged=unchanged,
    )


# -- stage 4: apply --------------------------------------------------------------------------


def apply_plan(
    client: Any,
    bucket: str,
    prefix: str,
    plan: DeployPlan,
    workers: int = UPLOAD_WORKERS,
    on_upload: Callable[[str], None] | None = None,
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Upload wave by wave (in parallel inside a wave), then delete; return (uploaded, deleted).

    A failed upload raises DeployError naming the file; later waves and deletions do not run,
    so the pages in the bucket still reference assets that are all there.
    """
    uploaded: list[str] = []
    waves = sorted({u.file.wave for u in plan.uploads})
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for wave in waves:
            batch = [u.file for u in plan.uploads if u.file.wave == wave]
            logger.info("uploading %d %s", len(batch), PHASE_NAMES[wave[0]])
            futures = {pool.submit(_put, client, bucket, prefix, f): f for f in batch}
            done, pending = wait(futures, return_when=FIRST_EXCEPTION)
            failed = [f for f in done if f.exception() is not None]
            if failed:
                for future in pending:
                    future.cancel()
                wait(pending)
                raise failed[0].exception()  # type: ignore[misc]
            for future in sorted(done, key=lambda f: f.result()):
                uploaded.append(futures[future].path)
                if on_upload:
                    on_upload(futures[future].path)
    deleted = _delete(client, bucket, prefix, plan.deletes)
    return tuple(uploaded), deleted


def _put(client: Any, bucket: str, prefix: str, file: LocalFile) -> float:
    """Put one file; return the monotonic time it finished (to record the order)."""
    import time

    from botocore.exceptions import BotoCoreError, ClientError

    try:
        data = file.source.read_bytes()
        if hashlib.md5(data, usedforsecurity=False).hexdigest() != file.md5:
            raise DeployError(
                f"{file.path}: the file changed while deploying (a build running?); nothing was "
                "deleted, deploy again once it is done"
            )
        # Content-MD5 makes S3 itself refuse bytes damaged on the way, so the ETag the next
        # plan compares is always the MD5 of the file.
        client.put_object(
            Bucket=bucket,
            Key=prefix + file.path,
            Body=data,
            ContentMD5=base64.b64encode(bytes.fromhex(file.md5)).decode("ascii"),
            ContentType=file.content_type,
            CacheControl=file.cache_control,
            **served_headers(file.path),
        )
    except OSError as exc:
        raise DeployError(
            f"{file.path}: cannot read it ({exc.strerror}); nothing was deleted, fix it and "
            "deploy again"
        ) from None
    except ClientError as exc:
        raise DeployError(
            f"{file.path}: upload failed: {_client_error(exc, bucket, 'upload to')}; "
            "nothing was deleted, deploy again"
        ) from None
    except BotoCoreError as exc:
        raise DeployError(
            f"{file.path}: upload failed: {exc}; nothing was deleted, deploy again"
        ) from None
    return time.monotonic()


def _delete(client: Any, bucket: str, prefix: str, paths: Iterable[str]) -> tuple[str, ...]:
    from botocore.exceptions import BotoCoreError, ClientError

    paths = list(paths)
    deleted: list[str] = []
    for start in range(0, len(paths), DELETE_BATCH):
        chunk = paths[start : start + DELETE_BATCH]
        try:
            answer = client.delete_objects(
                Bucket=bucket,
                Delete={"Objects": [{"Key": prefix + p} for p in chunk], "Quiet": True},
            )
        except ClientError as exc:
            raise DeployError(_client_error(exc, bucket, "delete from")) from None
        except BotoCoreError as exc:
            raise DeployError(f"s3://{bucket}: cannot delete: {exc}") from None
        errors = answer.get("Errors", [])
        if errors:
            first = errors[0]
            raise DeployError(
                f"{first['Key'][len(prefix) :]}: could not be deleted "
                f"({first.get('Message', '')}); "
                "the uploads are done, run deploy --delete again"
            )
        deleted.extend(chunk)
    return tuple(deleted)


def _client_error(exc: Any, bucket: str, action: str) -> str:
    code = exc.response.get("Error", {}).get("Code", "")
    if code == "BadDigest":
        return "S3 received other bytes than were sent (BadDigest)"
    if code == "NoSuchBucket":
        return f"bucket {bucket!r} does not exist: create it or fix [deploy] bucket"
    if code in ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
        return f"access denied to s3://{bucket} ({code}): check the AWS credentials and policy"
    message = exc.response.get("Error", {}).get("Message", str(exc))
    return f"cannot {action} s3://{bucket}: {code or 'error'}: {message}"


# -- the whole deploy ------------------------------------------------------------------------


def s3_client(deploy: DeploySettings) -> Any:
    """A boto3 S3 client for the configured region and (optional) endpoint."""
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=10,
        read_timeout=60,
        retries={"max_attempts": 5, "mode": "standard"},
        max_pool_connections=UPLOAD_WORKERS * 2,
    )
    return boto3.session.Session().client(
        "s3",
        region_name=deploy.region or None,
        endpoint_url=deploy.endpoint_url or None,
        config=config,
    )


def deploy_site(
    settings: Settings,
    *,
    site: Path | None = None,
    delete: bool = False,
    dry_run: bool = False,
    client: Any = None,
    on_upload: Callable[[str], None] | None = None,
) -> DeployReport:
    """Make the bucket match the built site: scan → list → plan → upload → delete."""
    deploy = settings.deploy
    if not deploy.bucket:
        raise DeployError(
            "no bucket to deploy to: set [deploy] bucket (and region, prefix) in newsletter.toml"
        )
    site = site or settings.path(settings.build.output_dir)
    prefix = normalize_prefix(deploy.prefix)
    local = scan_site(site)
    client = client or s3_client(deploy)
    remote = list_bucket(client, deploy.bucket, prefix)
    plan = plan_deploy(local, remote, delete)
    logger.info(
        "plan: %d to upload, %d to delete, %d unchanged",
        len(plan.uploads),
        len(plan.deletes),
        plan.unchanged,
    )
    if dry_run or plan.is_empty:
        return DeployReport(deploy.bucket, prefix, plan, (), (), dry_run)
    uploaded, deleted = apply_plan(client, deploy.bucket, prefix, plan, on_upload=on_upload)
    return DeployReport(deploy.bucket, prefix, plan, uploaded, deleted, dry_run)
