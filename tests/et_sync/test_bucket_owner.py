"""The sync writes its records only to a bucket of the hub's own account."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from botocore.exceptions import ClientError

from egress_net.et_sync import manifest
from egress_net.et_sync.handler import Clients, run_sync

from . import nfw_stub as nfw
from .conftest import RulesServer
from .test_handler import _Env, _expect_fill


class OwnedBucketS3:
    """An S3 client whose buckets belong to ``owner``: a write carrying another account's
    ``ExpectedBucketOwner`` is refused with 403, as S3 does; every call is recorded."""

    def __init__(self, inner: Any, owner: str) -> None:
        self.inner, self.owner = inner, owner
        self.puts: list[dict[str, Any]] = []

    def put_object(self, **kwargs: Any) -> Any:
        self.puts.append(dict(kwargs))
        expected = kwargs.pop("ExpectedBucketOwner", None)
        if expected is not None and expected != self.owner:
            raise ClientError(
                {"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "PutObject"
            )
        return self.inner.put_object(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_every_record_write_names_the_expected_owner(s3: Any) -> None:
    s3.create_bucket(Bucket="records-owner-test")
    client = OwnedBucketS3(s3, "123456789012")
    keys = manifest.write_records(
        client,
        bucket="records-owner-test",
        prefix="et/",
        manifest={"version": "v1"},
        rejected={"rules": []},
        expected_owner="123456789012",
    )
    assert len(client.puts) == len(keys) == 3
    assert {put["ExpectedBucketOwner"] for put in client.puts} == {"123456789012"}


def test_a_bucket_of_another_account_gets_nothing(s3: Any) -> None:
    s3.create_bucket(Bucket="records-sniped")
    client = OwnedBucketS3(s3, "999988887777")  # the name now belongs to someone else
    with pytest.raises(ClientError, match="AccessDenied"):
        manifest.write_records(
            client,
            bucket="records-sniped",
            prefix="et/",
            manifest={"version": "v1"},
            rejected={"rules": []},
            expected_owner="123456789012",
        )
    assert s3.list_objects_v2(Bucket="records-sniped").get("KeyCount", 0) == 0


def test_the_function_expects_the_hub_account_to_own_the_bucket(
    rules_server: RulesServer, small_tarball: bytes, s3: Any, ssm: Any
) -> None:
    env = _Env(rules_server, small_tarball, s3, ssm)
    owned = OwnedBucketS3(s3, nfw.ACCOUNT)
    _expect_fill(env.stub, env.plan(small_tarball))
    clients = Clients(network_firewall=env.client, s3=owned, ssm=ssm)
    with env.stub:
        summary = run_sync(env.settings, clients, log=env.log)
    assert summary["status"] == "applied"
    assert owned.puts and {p["ExpectedBucketOwner"] for p in owned.puts} == {nfw.ACCOUNT}


def test_an_over_capacity_plan_record_expects_the_owner_too(
    rules_server: RulesServer, small_tarball: bytes, s3: Any, ssm: Any
) -> None:
    env = _Env(rules_server, small_tarball, s3, ssm)
    env.settings = replace(env.settings, groups=nfw.slots(2, 100))
    owned = OwnedBucketS3(s3, nfw.ACCOUNT)
    clients = Clients(network_firewall=env.client, s3=owned, ssm=ssm)
    with env.stub:
        summary = run_sync(env.settings, clients, log=env.log)
    assert summary["status"] == "over-capacity"
    assert owned.puts and {p["ExpectedBucketOwner"] for p in owned.puts} == {nfw.ACCOUNT}
