"""What owners say about their images (file name, title, description) over HTTP: the text rules,
stored and answered verbatim, and changed or cleared with PATCH by the owner alone."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from fastapi.testclient import TestClient

from assets.pending import PendingUploads
from testbed.aws import asset_records
from tests.unit.api.conftest import REGION, Resources, User, scan

XSS = '<script>alert("x")</script>\u2028<img src=x onerror=alert(1)>&amp;\'"'
LIMITS = {"fileName": 255, "title": 200, "description": 2000}


def _post(client: TestClient, user: User, **fields: Any) -> Any:
    return client.post("/assets", json={"contentType": "image/png", **fields}, headers=user.auth())


def _create(client: TestClient, user: User, **fields: Any) -> dict[str, Any]:
    response = _post(client, user, **fields)
    assert response.status_code == 201, response.text
    asset: dict[str, Any] = response.json()["asset"]
    return asset


def _record(resources: Resources, asset_id: str) -> dict[str, Any]:
    item: dict[str, Any] = boto3.client("dynamodb", region_name=REGION).get_item(
        TableName=resources.table, Key={"assetId": {"S": asset_id}}
    )["Item"]
    return item


def _nothing_written(resources: Resources, user: User) -> None:
    assert asset_records(scan(resources)) == []
    slots = PendingUploads(boto3.client("dynamodb", region_name=REGION), resources.table)
    assert slots.held(user.sub) == {}


def test_details_are_stored_and_answered_as_given(
    client: TestClient, alice: User, aws: Resources
) -> None:
    # WHEN alice starts an upload with a file name, a title and a two-line description
    response = _post(
        client,
        alice,
        fileName="IMG_2041.png",
        title="Our cat",
        description="Asleep on the radiator,\n\tas usual.",
    )

    # THEN the answer, a later read and the record all carry them
    assert response.status_code == 201, response.text
    asset = response.json()["asset"]
    expected = {
        "fileName": "IMG_2041.png",
        "title": "Our cat",
        "description": "Asleep on the radiator,\n\tas usual.",
    }
    assert {name: asset[name] for name in expected} == expected
    read = client.get(f"/assets/{asset['assetId']}", headers=alice.auth()).json()["asset"]
    assert {name: read[name] for name in expected} == expected
    listed = client.get("/assets", headers=alice.auth()).json()["assets"]
    assert {name: listed[0][name] for name in expected} == expected
    item = _record(aws, asset["assetId"])
    assert {name: item[name]["S"] for name in expected} == expected
    assert "albumId" not in asset


def test_the_file_name_is_never_a_key_a_header_or_a_path(client: TestClient, alice: User) -> None:
    name = "../../processed/assets/evil.png\r\nX-Injected: 1"
    response = _post(client, alice, fileName=name.replace("\r\n", " "))
    assert response.status_code == 201, response.text
    body = response.json()
    asset_id = body["asset"]["assetId"]
    assert body["upload"]["fields"]["key"] == f"uploads/originals/{asset_id}.png"
    assert "evil" not in json.dumps(body["upload"])
    assert all("evil" not in value for value in response.headers.values())
    assert response.headers["location"] == f"/assets/{asset_id}"
    # and a name with a line break is refused outright: CR and LF are control characters
    refused = _post(client, alice, fileName=name)
    assert refused.status_code == 400
    assert "fileName" in refused.json()["error"]


def test_markup_is_stored_and_answered_verbatim_as_json(
    client: TestClient, alice: User, aws: Resources
) -> None:
    asset = _create(client, alice, fileName=XSS, title=XSS, description=XSS)
    response = client.get(f"/assets/{asset['assetId']}", headers=alice.auth())
    assert response.headers["content-type"] == "application/json"
    read = response.json()["asset"]
    assert read["fileName"] == read["title"] == read["description"] == XSS
    # JSON escapes nothing here but the quotes and the line separator: the markup is plain data
    assert '<script>alert(\\"x\\")</script>' in response.text
    assert _record(aws, asset["assetId"])["title"]["S"] == XSS


def test_text_is_normalised_to_nfc_and_trimmed(client: TestClient, alice: User) -> None:
    asset = _create(
        client,
        alice,
        fileName="  cafe\u0301.png\u00a0",
        title="\u3000Cafe\u0301 ",
        description="\n\n  Line one\n\tLine two  \n",
    )
    assert asset["fileName"] == "café.png"
    assert asset["title"] == "Café"
    assert asset["description"] == "Line one\n\tLine two"


@pytest.mark.parametrize("field", list(LIMITS))
def test_the_longest_text_is_accepted(client: TestClient, alice: User, field: str) -> None:
    limit = LIMITS[field]
    asset = _create(client, alice, **{field: "é" * limit})
    assert asset[field] == "é" * limit
    # a length is a count of characters once composed, not of code points sent
    assert _create(client, alice, **{field: "e\u0301" * limit})[field] == "é" * limit


@pytest.mark.parametrize("field", list(LIMITS))
def test_text_one_character_too_long_is_a_400_naming_the_field(
    client: TestClient, alice: User, aws: Resources, field: str
) -> None:
    response = _post(client, alice, **{field: "x" * (LIMITS[field] + 1)})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_request"
    assert field in body["error"]
    assert f"at most {LIMITS[field]} characters" in body["error"]
    _nothing_written(aws, alice)


CONTROLS = ["\x00", "\x07", "\x1b", "\r", "\x7f", "\x85", "\x9b", "\x9f"]


@pytest.mark.parametrize("field", list(LIMITS))
def test_control_characters_are_a_400_naming_the_field(
    client: TestClient, alice: User, aws: Resources, field: str
) -> None:
    for control in CONTROLS:  # C0, DEL and C1; every one of them is tested in tests/unit/assets
        response = _post(client, alice, **{field: f"before{control}after"})
        assert response.status_code == 400, (repr(control), response.text)
        assert field in response.json()["error"]
        assert "control characters" in response.json()["error"]
    _nothing_written(aws, alice)


@pytest.mark.parametrize("field", ["fileName", "title"])
@pytest.mark.parametrize("control", ["\n", "\t"], ids=["newline", "tab"])
def test_newline_and_tab_belong_in_a_description_only(
    client: TestClient, alice: User, field: str, control: str
) -> None:
    assert _post(client, alice, **{field: f"a{control}b"}).status_code == 400
    assert _create(client, alice, description=f"a{control}b")["description"] == f"a{control}b"


@pytest.mark.parametrize("name", ["", "   ", "\u2003\u00a0"])
def test_an_empty_file_name_is_a_400(client: TestClient, alice: User, name: str) -> None:
    response = _post(client, alice, fileName=name)
    assert response.status_code == 400
    assert "fileName" in response.json()["error"]


def test_an_empty_title_or_description_means_none(client: TestClient, alice: User) -> None:
    asset = _create(client, alice, title="   ", description="\n")
    assert "title" not in asset
    assert "description" not in asset


@pytest.mark.parametrize(
    "fields",
    [
        {"filename": "cat.png"},
        {"file_name": "cat.png"},
        {"tags": ["cats"]},
        {"title": 7},
        {"description": ["a"]},
        {"fileName": {"name": "x"}},
        {"albumId": "not-an-album-id"},
        {"albumId": 5},
    ],
)
def test_unknown_fields_and_wrong_types_stay_a_400(
    client: TestClient, alice: User, aws: Resources, fields: dict[str, Any]
) -> None:
    response = _post(client, alice, **fields)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"
    _nothing_written(aws, alice)


# --- PATCH /assets/{assetId} -----------------------------------------------------------------


def _patch(client: TestClient, user: User, asset_id: str, body: Any) -> Any:
    return client.patch(f"/assets/{asset_id}", json=body, headers=user.auth())


def test_the_owner_sets_and_clears_title_and_description(
    client: TestClient, alice: User, aws: Resources
) -> None:
    asset = _create(client, alice, fileName="cat.png", title="Old", description="Old text")
    asset_id = asset["assetId"]

    changed = _patch(client, alice, asset_id, {"title": " New\u0301 ", "description": "a\nb"})
    assert changed.status_code == 200, changed.text
    view = changed.json()["asset"]
    # "w" and a combining acute compose into one character, U+1E83
    assert (view["title"], view["description"], view["fileName"]) == ("Ne\u1e83", "a\nb", "cat.png")
    assert view["updatedAt"] >= asset["updatedAt"]
    assert client.get(f"/assets/{asset_id}", headers=alice.auth()).json()["asset"] == view

    cleared = _patch(client, alice, asset_id, {"title": None, "description": ""})
    assert cleared.status_code == 200
    assert "title" not in cleared.json()["asset"]
    assert "description" not in cleared.json()["asset"]
    item = _record(aws, asset_id)
    assert "title" not in item
    assert "description" not in item
    assert item["fileName"]["S"] == "cat.png"


def test_fields_not_named_stay_as_they_are(client: TestClient, alice: User) -> None:
    asset = _create(client, alice, title="Kept", description="Also kept")
    view = _patch(client, alice, asset["assetId"], {"title": "Changed"}).json()["asset"]
    assert (view["title"], view["description"]) == ("Changed", "Also kept")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"fileName": "renamed.png"},
        {"contentType": "image/jpeg"},
        {"status": "ready"},
        {"title": "x" * 201},
        {"description": "bell\x07"},
        {"title": "a\nb"},
        {"albumId": "nope"},
        [],
        "title",
    ],
)
def test_a_bad_patch_is_a_400_and_changes_nothing(
    client: TestClient, alice: User, aws: Resources, body: Any
) -> None:
    asset = _create(client, alice, title="Kept")
    before = _record(aws, asset["assetId"])
    response = _patch(client, alice, asset["assetId"], body)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid_request"
    assert _record(aws, asset["assetId"]) == before


def test_only_the_owner_may_patch(
    client: TestClient, alice: User, bob: User, aws: Resources
) -> None:
    asset = _create(client, alice, title="Alice's")
    before = _record(aws, asset["assetId"])
    for headers in (bob.auth(), bob.auth("access")):
        response = client.patch(
            f"/assets/{asset['assetId']}", json={"title": "Bob's"}, headers=headers
        )
        assert response.status_code == 404
        assert response.json() == {"error": "asset not found", "code": "not_found"}
    unauthenticated = client.patch(f"/assets/{asset['assetId']}", json={"title": "Anyone's"})
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["www-authenticate"] == "Bearer"
    assert _record(aws, asset["assetId"]) == before
