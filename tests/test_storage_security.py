"""Buckets, log groups and the sync function's identity: TLS only, versioned, expiring, kept on
destroy in protected stacks, and trusted only by their own account's services."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from egress_net.errors import ConfigError, ConfigErrors
from egress_net.recording import RecordedResource, Recording

from .conftest import hub_config, synth_config

BUCKET = "aws:s3/bucket:Bucket"
POLICY = "aws:s3/bucketPolicy:BucketPolicy"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ROLE = "aws:iam/role:Role"
KEY = "arn:aws:kms:us-east-1:111122223333:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
ET_ON = {"emergingThreats": {"enabled": True}}


def _one(recording: Recording, type_token: str, name_part: str) -> RecordedResource:
    found = [r for r in recording.of_type(type_token) if name_part in r.name]
    assert len(found) == 1, [r.name for r in recording.of_type(type_token)]
    return found[0]


def _settings_of(
    recording: Recording, bucket: RecordedResource, type_token: str
) -> RecordedResource:
    (found,) = [r for r in recording.of_type(type_token) if r.inputs.get("bucket") == bucket.id]
    return found


def _statement(policy: RecordedResource, sid: str) -> dict[str, Any]:
    document = json.loads(policy.inputs["policy"])
    (found,) = [s for s in document["Statement"] if s.get("Sid") == sid]
    return found


@pytest.fixture(scope="module")
def s3_logs() -> Recording:
    return synth_config(hub_config(logs={"destination": "s3", "retentionDays": 90}))


@pytest.fixture(scope="module")
def with_et() -> Recording:
    return synth_config(hub_config(rules=ET_ON))


# ---- the firewall log bucket ------------------------------------------------------------------


def test_log_bucket_is_versioned(s3_logs: Recording) -> None:
    bucket = _one(s3_logs, BUCKET, "firewall-logs")
    versioning = _settings_of(s3_logs, bucket, VERSIONING)
    assert versioning.inputs["versioningConfiguration"]["status"] == "Enabled"


@pytest.mark.parametrize("recording_name", ["s3_logs", "with_et"])
def test_every_bucket_refuses_requests_without_tls(
    recording_name: str, request: pytest.FixtureRequest
) -> None:
    recording: Recording = request.getfixturevalue(recording_name)
    buckets = recording.of_type(BUCKET)
    assert buckets
    for bucket in buckets:
        policy = _settings_of(recording, bucket, POLICY)
        deny = _statement(policy, "DenyInsecureTransport")
        assert deny["Effect"] == "Deny" and deny["Principal"] == "*" and deny["Action"] == "s3:*"
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        assert sorted(deny["Resource"]) == [bucket.outputs["arn"], f"{bucket.outputs['arn']}/*"]


def test_log_delivery_is_bound_to_this_accounts_deliveries_from_this_region(
    s3_logs: Recording,
) -> None:
    bucket = _one(s3_logs, BUCKET, "firewall-logs")
    policy = _settings_of(s3_logs, bucket, POLICY)
    arn = bucket.outputs["arn"]
    write = _statement(policy, "AWSLogDeliveryWrite")
    acl = _statement(policy, "AWSLogDeliveryAclCheck")
    account = acl["Condition"]["StringEquals"]["aws:SourceAccount"]
    assert len(account) == 12 and account.isdigit()
    for statement in (write, acl):
        assert statement["Principal"] == {"Service": "delivery.logs.amazonaws.com"}
        assert statement["Condition"]["StringEquals"]["aws:SourceAccount"] == account
        assert statement["Condition"]["ArnLike"] == {
            "aws:SourceArn": f"arn:aws:logs:us-east-1:{account}:*"
        }
    assert write["Condition"]["StringEquals"]["s3:x-amz-acl"] == "bucket-owner-full-control"
    # Firewalls write under <prefix>/<firewall>/<type>/AWSLogs/<account>/ and nowhere else.
    assert write["Resource"] == f"{arn}/egress-net/test/*/AWSLogs/{account}/*"
    logging = s3_logs.of_type("aws:networkfirewall/loggingConfiguration:LoggingConfiguration")
    for config in logging:
        for destination in config.inputs["loggingConfiguration"]["logDestinationConfigs"]:
            assert destination["logDestination"]["prefix"].startswith("egress-net/test/")


def test_log_bucket_expires_logs_and_old_versions(s3_logs: Recording) -> None:
    bucket = _one(s3_logs, BUCKET, "firewall-logs")
    lifecycle = _settings_of(s3_logs, bucket, LIFECYCLE)
    rules = {rule["id"]: rule for rule in lifecycle.inputs["rules"]}
    assert rules["expire-all"]["expiration"] == {"days": 90}
    old = rules["old-versions-and-unfinished-uploads"]
    assert old["noncurrentVersionExpiration"] == {"noncurrentDays": 30}
    assert old["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 7}
    versioning = _settings_of(s3_logs, bucket, VERSIONING)
    assert versioning.urn in lifecycle.dependencies  # rules on versions after versioning


def test_bucket_policy_waits_for_the_public_access_block(s3_logs: Recording) -> None:
    bucket = _one(s3_logs, BUCKET, "firewall-logs")
    policy = _settings_of(s3_logs, bucket, POLICY)
    block = _settings_of(s3_logs, bucket, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert block.urn in policy.dependencies


def test_log_bucket_policy_keeps_its_logical_name(s3_logs: Recording) -> None:
    """Renaming would make `pulumi up` create the new policy, then delete the bucket's only
    policy with the old resource."""
    bucket = _one(s3_logs, BUCKET, "firewall-logs")
    assert _settings_of(s3_logs, bucket, POLICY).name == "hub-firewall-logs-delivery"


# ---- the ET records bucket and the function -----------------------------------------------------


def test_records_bucket_is_versioned_and_reports_expire(with_et: Recording) -> None:
    bucket = _one(with_et, BUCKET, "records")
    assert _settings_of(with_et, bucket, VERSIONING).inputs["versioningConfiguration"] == {
        "status": "Enabled"
    }
    rules = _settings_of(with_et, bucket, LIFECYCLE).inputs["rules"]
    expiring = {r["filter"]["prefix"]: r["expiration"]["days"] for r in rules if "expiration" in r}
    # latest.json is never expired: only the per-version manifests, reject reports and
    # over-capacity plans.
    assert expiring == {
        "et-sync/manifests/": 365,
        "et-sync/rejected/": 365,
        "et-sync/plans/": 365,
    }
    assert any("noncurrentVersionExpiration" in r for r in rules)


def test_function_role_trusts_lambda_of_this_account_only(with_et: Recording) -> None:
    role = _one(with_et, ROLE, "et-sync")
    (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    policy_arn = with_et.of_type("aws:networkfirewall/firewallPolicy:FirewallPolicy")[0]
    account = policy_arn.outputs["arn"].split(":")[4]
    assert statement["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": account}}


def test_function_log_group_takes_an_optional_kms_key(with_et: Recording) -> None:
    assert _one(with_et, LOG_GROUP, "et-sync").inputs.get("kmsKeyId") is None
    keyed = synth_config(
        hub_config(rules={"emergingThreats": {"enabled": True, "logKmsKeyArn": KEY}})
    )
    assert _one(keyed, LOG_GROUP, "et-sync").inputs["kmsKeyId"] == KEY


@pytest.mark.parametrize(
    "value", ["alias/egress", "arn:aws:kms:us-east-1:111122223333:alias/egress", "key/123"]
)
def test_function_log_key_must_be_a_key_arn(value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        synth_config(
            hub_config(rules={"emergingThreats": {"enabled": True, "logKmsKeyArn": value}})
        )
    err = caught.value
    assert isinstance(err, ConfigErrors)
    assert [e.where for e in err.errors] == ["egress-net:rules.emergingThreats.logKmsKeyArn"]
    assert "not a KMS key ARN" in str(err)


# ---- kept on destroy --------------------------------------------------------------------------


def _kept(recording: Recording) -> dict[str, bool]:
    """Every log group and bucket (and the buckets' settings): retained or not."""
    storage = (LOG_GROUP, BUCKET, POLICY, VERSIONING, LIFECYCLE)
    return {r.name: r.retain_on_delete for r in recording.resources if r.type in storage}


def test_protected_stacks_keep_logs_and_buckets_on_destroy() -> None:
    kept = _kept(synth_config(hub_config(logs={"destination": "s3"}, rules=ET_ON)))
    assert kept and all(kept.values()), kept
    kept = _kept(synth_config(hub_config(rules=ET_ON)))  # CloudWatch log groups
    assert len(kept) > 3 and all(kept.values()), kept


def test_unprotected_stacks_delete_them(dev: Recording) -> None:
    kept = _kept(dev)
    assert kept and not any(kept.values()), kept


@pytest.mark.parametrize(
    ("firewall", "logs", "expected"),
    [
        ({"protections": False}, {"retainOnDelete": True}, True),
        ({"protections": True}, {"retainOnDelete": False}, False),
        ({"protections": {"delete": False}}, {}, False),
    ],
)
def test_retain_on_delete_follows_the_config_key(
    firewall: dict[str, Any], logs: dict[str, Any], expected: bool
) -> None:
    kept = _kept(synth_config(hub_config(firewall=firewall, logs=logs, rules=ET_ON)))
    assert set(kept.values()) == {expected}, kept


def test_retain_on_delete_must_be_a_boolean() -> None:
    with pytest.raises(ConfigError) as caught:
        synth_config(hub_config(logs={"retainOnDelete": "sometimes"}))
    assert isinstance(caught.value, ConfigErrors)
    assert [e.where for e in caught.value.errors] == ["egress-net:logs.retainOnDelete"]


def test_log_delivery_region_defaults_to_the_providers(tmp_path: Path) -> None:
    """A component user who gives no region still gets a policy AWS's deliveries match."""
    from egress_net import engine

    (tmp_path / "__main__.py").write_text(
        "import pulumi\n"
        "from egress_net.components.network import LogSettings, build_log_bucket\n"
        "class Holder(pulumi.ComponentResource):\n"
        "    def __init__(self) -> None:\n"
        "        super().__init__('test:index:Holder', 'holder')\n"
        "        build_log_bucket(self, 'solo', LogSettings(destination='s3'), {})\n"
        "Holder()\n"
    )
    source = engine.StackSource(tmp_path, "t", {"aws:region": "eu-west-1"})
    recording = engine.synth(source).recording
    acl = _statement(recording.of_type(POLICY)[0], "AWSLogDeliveryAclCheck")
    assert acl["Condition"]["ArnLike"]["aws:SourceArn"].startswith("arn:aws:logs:eu-west-1:")
