"""The private moto functions the local stack patches still have the shape the patches assume.

moto is pinned below its next major; within it, a release that renames or reshapes one of these
must fail here, loudly, not turn the local stack's notifications quietly wrong.
"""

from __future__ import annotations

import inspect

import boto3
from moto import mock_aws
from moto.moto_server import werkzeug_app
from moto.s3 import notifications
from moto.s3.models import s3_backends

from local_stack.moto_app import patch_moto


def test_the_patched_functions_keep_their_signatures() -> None:
    assert list(inspect.signature(notifications.send_event).parameters) == [
        "account_id",
        "event_name",
        "bucket",
        "key",
    ]
    assert list(inspect.signature(notifications._get_s3_event).parameters) == [
        "event_name",
        "bucket",
        "key",
        "notification_id",
    ]
    # moto's server reads this switch when it builds a service's app.
    assert isinstance(werkzeug_app.DISABLE_GLOBAL_CORS, bool)  # type: ignore[attr-defined]
    assert "DISABLE_GLOBAL_CORS" in inspect.getsource(werkzeug_app.create_backend_app)


def test_the_event_and_objects_have_the_fields_the_patch_reads_and_writes() -> None:
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="local-bucket")
        s3.put_bucket_versioning(
            Bucket="local-bucket", VersioningConfiguration={"Status": "Enabled"}
        )
        s3.put_object(Bucket="local-bucket", Key="uploads/originals/a b.png", Body=b"x")
        bucket = s3_backends["123456789012"]["aws"].get_bucket("local-bucket")
        key = bucket.keys["uploads/originals/a b.png"]
        assert (key.name, bucket.is_versioned) == ("uploads/originals/a b.png", True)
        assert key.version_id not in (None, "null")
        undo = patch_moto()
        try:
            event = notifications._get_s3_event("ObjectCreated:Post", bucket, key, "id")
        finally:
            undo()
    (record,) = event["Records"]
    assert record["s3"]["object"]["versionId"] == key.version_id
    assert record["s3"]["object"]["key"] == "uploads/originals/a+b.png"
    assert record["s3"]["bucket"]["name"] == "local-bucket"
