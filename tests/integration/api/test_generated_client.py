"""A Python client generated from the served OpenAPI document by openapi-python-client, driving the
app under uvicorn over moto's server: the document is proven usable, not only valid.

The client parses every answer into the document's models (enums included) and raises on any
status the document does not declare, so an answer that drifts from the document fails here.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from api.app import create_app
from assets.aws import AwsClients
from assets.model import ImageType, source_key
from assets.settings import WorkerSettings
from testbed.servers import serving
from tests.integration.api.conftest import REGION, Stack, sign_in
from tests.unit.worker import corpus
from worker.events import ObjectEvent
from worker.processing import Outcome, process_object
from worker.runtime import build_worker

PACKAGE = "asset_api_client"
CONFIG = f"project_name_override: {PACKAGE}\npackage_name_override: {PACKAGE}\npost_hooks: []\n"


@dataclass
class Generated:
    """The generated package's modules, by the names the document gave its operations."""

    package: ModuleType
    url: str

    def module(self, name: str) -> Any:
        return importlib.import_module(f"{PACKAGE}.{name}")

    def client(self, token: str | None = None) -> Any:
        client_module = self.module("client")
        if token is None:
            return client_module.Client(base_url=self.url, raise_on_unexpected_status=True)
        return client_module.AuthenticatedClient(
            base_url=self.url, token=token, raise_on_unexpected_status=True
        )

    def models(self) -> Any:
        return self.module("models")

    def op(self, tag: str, name: str) -> Any:
        return self.module(f"api.{tag}.{name}")


@pytest.fixture(scope="module")
def generated(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Generated]:
    # GIVEN the app under uvicorn, and a client generated from the document it serves
    with serving(create_app(stack.settings)) as url:
        workdir = tmp_path_factory.mktemp("generated-client")
        document = workdir / "openapi.json"
        document.write_bytes(httpx.get(f"{url}/openapi.json", timeout=10).content)
        (workdir / "config.yaml").write_text(CONFIG)
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "openapi_python_client",
                "generate",
                "--path",
                str(document),
                "--config",
                str(workdir / "config.yaml"),
                "--output-path",
                str(workdir / "out"),
                "--fail-on-warning",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        sys.path.insert(0, str(workdir / "out"))
        try:
            yield Generated(importlib.import_module(PACKAGE), url)
        finally:
            sys.path.remove(str(workdir / "out"))
            for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
                del sys.modules[name]


def _worker_decides(stack: Stack, asset_id: str) -> Outcome:
    settings = WorkerSettings(
        AWS_REGION=REGION, ASSETS_TABLE_NAME="assets", ASSET_BUCKET_NAME="asset-bucket"
    )
    worker = build_worker(settings, AwsClients(REGION))
    event = ObjectEvent("ObjectCreated:Post", "asset-bucket", source_key(asset_id, ImageType.PNG))
    return process_object(event, worker).outcome


def _upload(form: Any, data: bytes) -> None:
    """The browser's part: the signed form's fields, then the file, straight to the bucket."""
    fields = dict(form.fields.additional_properties)
    response = httpx.post(form.url, data=fields, files={"file": ("f.png", data, "image/png")})
    assert response.status_code == 204, response.text


def test_the_generated_client_drives_every_route(generated: Generated, stack: Stack) -> None:
    models = generated.models()
    unset = generated.module("types").UNSET
    alice = generated.client(sign_in(stack, "gen-alice@example.test"))
    bob = generated.client(sign_in(stack, "gen-bob@example.test"))
    anonymous = generated.client()

    assert generated.op("health", "health").sync(client=anonymous).status == "ok"

    # an album, then an upload into it with the details a user gives
    created = generated.op("albums", "create_album").sync(
        client=alice, body=models.AlbumRequest(name="Holidays")
    )
    album_id = created.album.album_id
    assert (created.album.name, created.album.asset_count) == ("Holidays", 0)
    started = generated.op("assets", "create_upload").sync_detailed(
        client=alice,
        body=models.CreateUploadRequest(
            content_type=models.ImageType("image/png"),
            file_name="cat.png",
            title="<b>Our</b> cat",
            description="Asleep,\nas usual.",
            album_id=album_id,
        ),
    )
    assert started.status_code == 201
    asset = started.parsed.asset
    assert asset.status == models.AssetStatus.UPLOADING
    assert (asset.file_name, asset.title, asset.album_id) == ("cat.png", "<b>Our</b> cat", album_id)
    assert asset.url is unset  # omitted from the answer, not null
    _upload(started.parsed.upload, corpus.encode(corpus.pattern(8, 8), "PNG"))
    assert _worker_decides(stack, asset.asset_id) is Outcome.READY

    # read back: ready, with its URL and size, still in its album, counted there
    ready = generated.op("assets", "get_asset").sync(client=alice, asset_id=asset.asset_id).asset
    assert ready.status == models.AssetStatus.READY
    assert ready.url.endswith(f"{asset.asset_id}.png")
    assert (ready.width, ready.height) == (8, 8)
    assert ready.description == "Asleep,\nas usual."
    in_album = generated.op("assets", "list_assets").sync(client=alice, album_id=album_id)
    assert [listed.asset_id for listed in in_album.assets] == [asset.asset_id]
    album = generated.op("albums", "get_album").sync(client=alice, album_id=album_id).album
    assert album.asset_count == 1

    # a rejected upload: its reason parses as the document's enum
    rejected = generated.op("assets", "create_upload").sync(
        client=alice, body=models.CreateUploadRequest(content_type=models.ImageType("image/png"))
    )
    _upload(rejected.upload, b"not an image at all")
    assert _worker_decides(stack, rejected.asset.asset_id) is Outcome.REJECTED
    refused = generated.op("assets", "get_asset").sync(
        client=alice, asset_id=rejected.asset.asset_id
    )
    assert isinstance(refused.asset.error_code, models.RejectionReason)

    # change it: a new title, out of the album (null clears); rename, page, then delete the album
    changed = generated.op("assets", "update_asset").sync(
        client=alice,
        asset_id=asset.asset_id,
        body=models.UpdateAssetRequest(title="Our cat", album_id=None),
    )
    assert changed.asset.title == "Our cat"
    assert changed.asset.album_id is unset
    generated.op("albums", "create_album").sync(client=alice, body=models.AlbumRequest(name="B"))
    renamed = generated.op("albums", "rename_album").sync(
        client=alice, album_id=album_id, body=models.AlbumRequest(name="Summer")
    )
    assert renamed.album.name == "Summer"
    first = generated.op("albums", "list_albums").sync(client=alice, limit=1)
    second = generated.op("albums", "list_albums").sync(
        client=alice, limit=1, cursor=first.next_cursor
    )
    assert [a.name for a in (*first.albums, *second.albums)] == ["B", "Summer"]
    deleted = generated.op("albums", "delete_album").sync_detailed(client=alice, album_id=album_id)
    assert deleted.status_code == 204

    # the errors parse as the document's ErrorBody, with its codes
    gone = generated.op("albums", "get_album").sync(client=alice, album_id=album_id)
    assert gone.code == models.ErrorCode.NOT_FOUND
    not_bobs = generated.op("assets", "get_asset").sync(client=bob, asset_id=asset.asset_id)
    assert not_bobs.code == models.ErrorCode.NOT_FOUND
    unauthorized = generated.op("assets", "list_assets").sync_detailed(client=anonymous)
    assert unauthorized.status_code == 401
    assert unauthorized.parsed.code == models.ErrorCode.UNAUTHORIZED
    assert unauthorized.headers["www-authenticate"] == "Bearer"
    too_long = generated.op("albums", "create_album").sync(
        client=alice, body=models.AlbumRequest(name="x" * 101)
    )
    assert too_long.code == models.ErrorCode.INVALID_REQUEST
    assert "name" in too_long.error

    removed = generated.op("assets", "delete_asset").sync_detailed(
        client=alice, asset_id=asset.asset_id
    )
    assert removed.status_code == 204
    remaining = generated.op("assets", "list_assets").sync(client=alice)
    assert [listed.asset_id for listed in remaining.assets] == [rejected.asset.asset_id]


def test_the_generated_package_is_the_documents(generated: Generated) -> None:
    # Every operation of the document became a function: ten routes and the health check.
    assert generated.package.__file__ is not None
    root = Path(generated.package.__file__).parent
    operations = {
        (tag, name)
        for tag in ("assets", "albums", "health")
        for path in root.joinpath("api", tag).glob("*.py")
        if (name := path.stem) != "__init__"
    }
    assert operations == {
        ("assets", "create_upload"),
        ("assets", "list_assets"),
        ("assets", "get_asset"),
        ("assets", "update_asset"),
        ("assets", "delete_asset"),
        ("albums", "create_album"),
        ("albums", "list_albums"),
        ("albums", "get_album"),
        ("albums", "rename_album"),
        ("albums", "delete_album"),
        ("health", "health"),
    }
