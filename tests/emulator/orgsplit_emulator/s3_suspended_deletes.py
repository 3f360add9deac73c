"""S3: a simple DELETE in a bucket whose versioning is suspended.

AWS: "If versioning is suspended for a bucket, a DELETE request: Can only remove an object whose
version ID is null. Doesn't remove anything if there isn't a null version of the object in the
bucket. Inserts a delete marker into the bucket." The marker has the null version id; versions
with ids stay until deleted by id
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/DeletingObjectsfromVersioningSuspendedBuckets.html).
moto 5.2.5 treats a suspended bucket as an unversioned one: a DELETE drops every version of the
key, with or without a version id (and fails with HTTP 500 when one of them is a delete marker),
and inserts no marker. A bucket whose only current object was deleted
that way was then empty for DeleteBucket, where AWS answers BucketNotEmpty (its id'd versions and
the marker remain: "All objects (including all object versions and delete markers) in the bucket
must be deleted before the bucket itself can be deleted",
https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucket.html). Here the DELETE removes
only the null version and inserts a null marker, also for a key that has no version at all
("the DELETE removes nothing. Instead, Amazon S3 just inserts a delete marker"), and answers
`x-amz-version-id: null`, `x-amz-delete-marker: true`; a DELETE with a version id removes that
version or marker only ("the bucket owner can permanently delete a specified version by including
the version ID", same page). DeleteObjects goes through the same method.

Not changed (moto's): in a versioning-enabled bucket, a DELETE of a key that has no version
inserts no marker (AWS's pages describe the marker for "a versioned object", not a missing one).
A correction of moto's model: every client, the seeder too.
"""
from __future__ import annotations

import types

from .patching import install_once


@install_once
def install() -> None:
    from moto.s3 import models

    original = models.S3Backend.delete_object

    def delete_object(self, bucket_name, key_name, version_id=None, bypass=False):  # type: ignore[no-untyped-def]
        bucket = self.get_bucket(bucket_name)
        if getattr(bucket, "versioning_status", None) != "Suspended" \
                or isinstance(bucket, getattr(models, "FakeTableStorageBucket", ())):
            return original(self, bucket_name, key_name, version_id=version_id, bypass=bypass)
        versions = list(bucket.keys.getlist(key_name, []))
        if version_id is not None:
            # that one version (or marker) only, as in a versioning-enabled bucket
            if not versions:
                return False, {}
            meta = {"version-id": version_id}
            if any(str(v.version_id) == str(version_id) and isinstance(v, models.FakeDeleteMarker) for v in versions):
                meta["delete-marker"] = "true"
            rest = [v for v in versions if str(v.version_id) != str(version_id)]
            bucket.keys.setlist(key_name, rest)
            if not rest:
                bucket.keys.pop(key_name)
            return True, meta
        kept = [v for v in versions if str(v.version_id) != "null"]
        # FakeDeleteMarker reads only the name of the key it covers; a missing key has none
        covered = versions[-1] if versions else types.SimpleNamespace(name=key_name, key=None)
        marker = models.FakeDeleteMarker(key=covered)
        marker._version_id = "null"
        bucket.keys.setlist(key_name, kept + [marker])
        return True, {"version-id": "null", "delete-marker": "true"}

    models.S3Backend.delete_object = delete_object
