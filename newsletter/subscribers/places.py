"""Where backups of the subscribers' database live: a folder, or an S3 bucket and prefix.

A place holds backup files by name (`backup.BACKUP_NAME` — time and checksum in the name) and
knows only four things: put one, list the names, fetch one, delete one. It lists and deletes only
names of that shape, so pruning a shared folder or prefix never touches anything else. S3 objects
are written with server-side encryption and their checksum in the metadata; credentials come from
the environment (boto3's usual chain), never from the settings file.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from newsletter.errors import NewsletterError
from newsletter.settings import BackupSettings


class BackupError(NewsletterError):
    """A backup could not be taken, stored, found or restored (the message says what to do)."""


class BackupPlace(Protocol):
    """A folder or an S3 prefix that holds backups."""

    def describe(self, name: str = "") -> str:
        """Where a backup of that name is (or the place itself), as the operator writes it."""

    def names(self) -> list[str]:
        """The backups there, oldest first (names sort by time)."""

    def put(self, source: Path, name: str, metadata: dict[str, str]) -> None:
        """Store the file at `source` as `name`."""

    def fetch(self, name: str, target: Path) -> None:
        """Write the backup `name` into `target` (created 0600 by the caller)."""

    def delete(self, names: list[str]) -> None:
        """Remove those backups."""


class FolderPlace:
    """Backups as files in a folder (created 0700; each file 0600)."""

    def __init__(self, folder: Path, shown: str, pattern: re.Pattern[str]) -> None:
        self.folder = folder
        self.shown = shown
        self.pattern = pattern

    def describe(self, name: str = "") -> str:
        """The folder, or a file in it, as the operator wrote it."""
        base = self.shown.rstrip("/") or "."
        return f"{base}/{name}" if name else f"{base}/"

    def names(self) -> list[str]:
        """The backup files in the folder, oldest first."""
        if not self.folder.is_dir():
            return []
        return sorted(p.name for p in self.folder.iterdir()
                      if p.is_file() and self.pattern.fullmatch(p.name))

    def put(self, source: Path, name: str, metadata: dict[str, str]) -> None:
        """Move the file into the folder (its mode stays 0600)."""
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            target = self.folder / name
            shutil.move(str(source), str(target))
            target.chmod(0o600)
        except OSError as exc:
            raise BackupError(f"{self.describe(name)}: cannot write the backup "
                              f"({exc.strerror or exc})") from None

    def fetch(self, name: str, target: Path) -> None:
        """Copy the backup file's bytes into `target`."""
        try:
            with open(self.folder / name, "rb") as source, open(target, "wb") as out:
                shutil.copyfileobj(source, out, 1 << 20)
        except OSError as exc:
            raise BackupError(f"{self.describe(name)}: cannot read the backup "
                              f"({exc.strerror or exc})") from None

    def delete(self, names: list[str]) -> None:
        """Remove the files."""
        for name in names:
            (self.folder / name).unlink(missing_ok=True)


class S3Place:
    """Backups as objects under `s3://bucket/prefix`, server-side encrypted."""

    def __init__(self, bucket: str, prefix: str, settings: BackupSettings,
                 pattern: re.Pattern[str], client: Any = None) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.settings = settings
        self.pattern = pattern
        self._client = client

    @property
    def client(self) -> Any:
        """The boto3 S3 client (made on first use: a folder backup never imports boto3)."""
        if self._client is None:
            import boto3

            self._client = boto3.session.Session().client(
                "s3", region_name=self.settings.region,
                endpoint_url=self.settings.endpoint_url or None)
        return self._client

    def describe(self, name: str = "") -> str:
        """The prefix, or an object under it, as an s3:// URL."""
        return f"s3://{self.bucket}/{self.prefix}{name}"

    def _call(self, what: str, call: Callable[[], Any]) -> Any:
        from boto3.exceptions import Boto3Error
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return call()
        except (ClientError, BotoCoreError, Boto3Error) as exc:  # upload_file raises the last
            raise BackupError(
                f"{self.describe()}: cannot {what} ({exc}); check the bucket, its policy and the "
                "AWS credentials in the environment") from None

    def names(self) -> list[str]:
        """The backup objects directly under the prefix, oldest first."""
        def listing() -> list[str]:
            found = []
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix)
            for page in pages:
                for item in page.get("Contents", []):
                    name = item["Key"][len(self.prefix):]
                    if self.pattern.fullmatch(name):
                        found.append(name)
            return sorted(found)

        return list(self._call("list the backups", listing))

    def put(self, source: Path, name: str, metadata: dict[str, str]) -> None:
        """Upload with server-side encryption; refuse an object S3 did not encrypt."""
        extra: dict[str, Any] = {"ServerSideEncryption": self.settings.encryption,
                                 "ContentType": "application/gzip", "Metadata": metadata}
        if self.settings.encryption == "aws:kms" and self.settings.kms_key_id:
            extra["SSEKMSKeyId"] = self.settings.kms_key_id
        key = self.prefix + name
        self._call("upload the backup", lambda: self.client.upload_file(
            str(source), self.bucket, key, ExtraArgs=extra))
        head = self._call("check the upload", lambda: self.client.head_object(
            Bucket=self.bucket, Key=key))
        if head.get("ServerSideEncryption") != self.settings.encryption:
            raise BackupError(f"{self.describe(name)}: S3 did not store the backup encrypted "
                              f"({self.settings.encryption}); check the bucket's settings")

    def fetch(self, name: str, target: Path) -> None:
        """Download the object into `target`."""
        def download() -> None:
            with open(target, "wb") as out:
                self.client.download_fileobj(self.bucket, self.prefix + name, out)

        self._call(f"download {name}", download)

    def exists(self, name: str) -> bool:
        """Whether an object of exactly that name is under the prefix."""
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self.prefix + name)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise BackupError(f"{self.describe(name)}: cannot read it ({exc})") from None
        return True

    def delete(self, names: list[str]) -> None:
        """Delete the objects, a thousand per request."""
        for start in range(0, len(names), 1000):
            chunk = [{"Key": self.prefix + name} for name in names[start:start + 1000]]
            self._call("remove old backups", lambda chunk=chunk: self.client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": chunk, "Quiet": True}))


def split_s3_url(url: str) -> tuple[str, str]:
    """(bucket, key) of an s3:// URL; BackupError for one without a bucket."""
    rest = url[len("s3://"):]
    bucket, _, key = rest.partition("/")
    if not bucket or "/" in bucket:
        raise BackupError(f"{url}: an S3 location is s3://BUCKET/PREFIX/")
    return bucket, key


def place_for(location: str, root: Path, settings: BackupSettings,
              pattern: re.Pattern[str]) -> BackupPlace:
    """The place a `--to` (or `[backup] to`) names: `s3://bucket/prefix/` or a folder."""
    if location.startswith("s3://"):
        bucket, prefix = split_s3_url(location)
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        return S3Place(bucket, prefix, settings, pattern)
    folder = Path(os.path.expanduser(location))
    return FolderPlace(folder if folder.is_absolute() else root / folder, location, pattern)


def source_place(source: str, root: Path, settings: BackupSettings,
                 pattern: re.Pattern[str]) -> tuple[BackupPlace, str | None]:
    """(place, name) of a restore's SOURCE: a backup file or object (its name), or a folder or
    prefix (None: the newest backup there)."""
    if source.startswith("s3://"):
        bucket, key = split_s3_url(source)
        if key and not key.endswith("/"):
            name = PurePosixPath(key).name
            prefix = key[: len(key) - len(name)]
            place = S3Place(bucket, prefix, settings, pattern)
            if place.exists(name):
                return place, name
            key += "/"  # not an object: a prefix written without its final slash
        return S3Place(bucket, key, settings, pattern), None
    path = Path(os.path.expanduser(source))
    path = path if path.is_absolute() else root / path
    if path.is_dir():
        return FolderPlace(path, source, pattern), None
    if path.is_file():
        return _AnyFile(path), path.name
    raise BackupError(f"{source}: no such backup file or folder")


class _AnyFile(FolderPlace):
    """A single file named on the command line, whatever its name (a plain SQLite file too)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path.parent, str(path.parent), re.compile(re.escape(path.name)))
