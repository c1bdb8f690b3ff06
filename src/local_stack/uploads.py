"""`python -m local_stack upload IMAGE...`: the page's upload flow from a terminal, file by file.

Every file is checked before anything is asked of the stack (it exists, is PNG or JPEG by its
name, is not empty), so a typo costs one line of error and no record. Each upload then goes as
the page sends it: a record with the file's name (and `--title`, `--album`), the signed form,
the bytes, the status poll. The form's `maxBytes` is checked before sending, and once known
before asking for the next record. Any failure after a record was made deletes it (`DELETE
/assets/{id}`), so nothing is left `uploading` against the user's open-upload limit.
"""

from __future__ import annotations

import mimetypes
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import httpx

from local_stack.client import LocalStackCallFailed, LocalStackClient, Upload, s3_refusal
from local_stack.state import StackInfo

IMAGE_TYPES = ("image/png", "image/jpeg")
_ALBUM_ID = re.compile(r"\A[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\Z")


class UploadFailed(RuntimeError):
    """One file did not become an asset; the message is one line for the person."""


@dataclass(frozen=True, slots=True)
class ImageFile:
    path: Path
    content_type: str
    size: int


def format_bytes(size: int) -> str:
    """`12 bytes`, `1.5 KiB`, `10 MiB`: binary units, as the limits are set (the page's words)."""
    if size < 1024:
        return f"{size} byte{'' if size == 1 else 's'}"
    value = float(size)
    units = ["KiB", "MiB", "GiB"]
    unit = units.pop(0)
    value /= 1024
    while value >= 1024 and units:
        value /= 1024
        unit = units.pop(0)
    text = f"{value:.0f}" if value >= 100 else f"{value:.1f}".removesuffix(".0")
    return f"{text} {unit}"


def too_large(name: str, size: int, max_bytes: int) -> str:
    """Why a file is too large, with its size and the limit written so that they differ."""
    if format_bytes(size) != format_bytes(max_bytes):
        return f"{name} is {format_bytes(size)}; the largest image you can upload is {format_bytes(max_bytes)}"
    return (
        f"{name} is {size:,} bytes; the largest image you can upload is"
        f" {format_bytes(max_bytes)} ({max_bytes:,} bytes)"
    )


def check_files(
    paths: Sequence[Path], content_type: str | None
) -> tuple[list[ImageFile], list[str]]:
    """The files as uploads, and one line per file that cannot be one."""
    files: list[ImageFile] = []
    problems: list[str] = []
    for path in paths:
        if not path.is_file():
            problems.append(f"{path}: no such file" if not path.exists() else f"{path}: not a file")
            continue
        kind = content_type or mimetypes.guess_type(path.name)[0] or ""
        if kind not in IMAGE_TYPES:
            problems.append(
                f"{path}: {kind or 'of unknown type'}; the product takes image/png and image/jpeg"
                " (--content-type to override)"
            )
            continue
        size = path.stat().st_size
        if size == 0:
            problems.append(f"{path}: the file is empty")
            continue
        files.append(ImageFile(path, kind, size))
    return files, problems


def find_album(albums: list[dict[str, Any]], wanted: str) -> str:
    """The id of the album named by `wanted`: an album id, else an exact name (one match)."""
    if _ALBUM_ID.match(wanted):
        if any(album["albumId"] == wanted for album in albums):
            return wanted
        raise UploadFailed(f"no album of yours has the id {wanted}")
    named = [album for album in albums if album["name"] == wanted.strip()]
    if len(named) == 1:
        return str(named[0]["albumId"])
    if named:
        ids = ", ".join(album["albumId"] for album in named)
        raise UploadFailed(f"{len(named)} albums are called {wanted!r}: give one's id ({ids})")
    known = ", ".join(repr(album["name"]) for album in albums) or "none yet"
    raise UploadFailed(f"no album called {wanted!r} (yours: {known}); make it on the page first")


class Uploader:
    """One signed-in user's uploads, one file after another."""

    def __init__(self, client: LocalStackClient, token: str, out: TextIO) -> None:
        self._client = client
        self._token = token
        self._out = out
        self.max_bytes: int | None = None

    def upload(
        self, image: ImageFile, *, title: str | None, album_id: str | None
    ) -> dict[str, Any]:
        """Upload one file to its final status; UploadFailed, leaving no record, otherwise."""
        name = image.path.name
        if self.max_bytes is not None and image.size > self.max_bytes:
            raise UploadFailed(too_large(name, image.size, self.max_bytes))
        try:
            upload = self._client.create_upload(
                self._token, image.content_type, file_name=name, title=title, album_id=album_id
            )
        except (LocalStackCallFailed, httpx.HTTPError) as error:
            raise UploadFailed(_one_line(error)) from None
        try:
            return self._send_and_wait(image, upload)
        except BaseException as error:
            # Whatever stopped it (a refusal, the network, Ctrl-C), the record goes with it.
            self._discard(upload.asset_id)
            if isinstance(error, UploadFailed | LocalStackCallFailed | httpx.HTTPError):
                raise UploadFailed(f"{_one_line(error)} (its record was deleted)") from None
            raise

    def _send_and_wait(self, image: ImageFile, upload: Upload) -> dict[str, Any]:
        name = image.path.name
        self.max_bytes = upload.max_bytes
        if image.size > upload.max_bytes:
            raise UploadFailed(too_large(name, image.size, upload.max_bytes))
        print(
            f"{name}: asset {upload.asset_id}: sending {format_bytes(image.size)} to {upload.url}",
            file=self._out,
            flush=True,
        )
        sent = self._client.send_file(upload, image.path.read_bytes(), name, image.content_type)
        if sent.status_code >= 300:
            raise UploadFailed(s3_refusal(sent))
        return self._client.wait_until_final(self._token, upload.asset_id)

    def _discard(self, asset_id: str) -> None:
        try:
            self._client.delete_asset(self._token, asset_id)
        except (LocalStackCallFailed, httpx.HTTPError) as error:
            print(
                f"warning: asset {asset_id} could not be deleted ({_one_line(error)});"
                " it expires by itself",
                file=sys.stderr,
            )


def upload_files(
    info: StackInfo,
    paths: Sequence[Path],
    *,
    email: str | None = None,
    password: str | None = None,
    content_type: str | None = None,
    title: str | None = None,
    album: str | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Upload every file; 0 when all are ready, 1 when any is not, 2 when none could start.

    `out` and `err` default to the streams of the moment (not of import time, which a caller that
    redirects `sys.stdout`/`sys.stderr` afterwards would miss).
    """
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    files, problems = check_files(paths, content_type)
    for problem in problems:
        print(f"error: {problem}", file=err)
    if problems:
        print("error: nothing was uploaded", file=err)
        return 2
    failed = 0
    with httpx.Client(timeout=30) as http:
        client = LocalStackClient(info, http)
        try:
            token = client.sign_in(email or info.demoUser.email, password or info.demoUser.password)
            album_id = find_album(client.list_albums(token), album) if album else None
        except (LocalStackCallFailed, httpx.HTTPError, UploadFailed) as error:
            print(f"error: {_one_line(error)}; nothing was uploaded", file=err)
            return 2
        uploader = Uploader(client, token, out)
        for image in files:
            name = image.path.name
            try:
                asset = uploader.upload(image, title=title, album_id=album_id)
            except UploadFailed as error:
                print(f"error: {name}: {error}", file=err)
                failed += 1
                continue
            status = asset["status"]
            if status == "ready":
                print(f"{name}: ready {asset['url']}", file=out)
            else:
                print(
                    f"{name}: {status}: {asset.get('error', 'the form was never used')}", file=out
                )
                failed += 1
    return 1 if failed else 0


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__
