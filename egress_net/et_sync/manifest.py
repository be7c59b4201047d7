"""What is applied, recorded where a user can read it: manifest and rejects in S3, version in SSM.

S3 layout under the configured prefix::

    <prefix>latest.json                 manifest of the rules in force
    <prefix>manifests/<version>.json    one manifest per applied version
    <prefix>rejected/<version>.json     every rule left out, with its reason and file:line
    <prefix>plans/<version>.json        a plan that did not fit the groups: capacity needed
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

# Value the component gives the SSM parameter at creation, before any sync ran.
NEVER_APPLIED = "none"


@dataclass(frozen=True)
class RejectedRule:
    where: str
    sid: int | None
    category: str
    reason: str
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "where": self.where,
            "sid": self.sid,
            "category": self.category,
            "reason": self.reason,
            "detail": self.detail,
        }


def build_manifest(
    *,
    version: str,
    source_url: str,
    applied_at: str,
    groups: Sequence[Mapping[str, Any]],
    rejected_count: int,
    categories: Sequence[str],
    revisions: Mapping[int, int] | None = None,
) -> dict[str, Any]:
    """``groups`` items: name, arn, key, capacity, needed_capacity, sids, categories.

    ``revisions`` (sid → rev) lets the next plan tell changed rules from unchanged ones.
    """
    return {
        "version": version,
        "revisions": {str(sid): rev for sid, rev in sorted((revisions or {}).items())},
        "source": source_url,
        "appliedAt": applied_at,
        "categories": list(categories),
        "groups": [dict(group) for group in groups],
        "totals": {
            "groups": len(groups),
            "rules": sum(len(group.get("sids", ())) for group in groups),
            "capacity": sum(int(group.get("capacity", 0)) for group in groups),
            "neededCapacity": sum(int(group.get("needed_capacity", 0)) for group in groups),
            "rejected": rejected_count,
        },
    }


def rejected_report(version: str, rejected: Sequence[RejectedRule]) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for rule in rejected:
        counts[rule.reason] = counts.get(rule.reason, 0) + 1
    return {
        "version": version,
        "countsByReason": dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))),
        "rules": [rule.as_dict() for rule in rejected],
    }


def manifest_keys(prefix: str, version: str) -> dict[str, str]:
    base = prefix if not prefix or prefix.endswith("/") else f"{prefix}/"
    return {
        "latest": f"{base}latest.json",
        "manifest": f"{base}manifests/{version}.json",
        "rejected": f"{base}rejected/{version}.json",
    }


def write_records(
    s3: Any,
    *,
    bucket: str,
    prefix: str,
    manifest: Mapping[str, Any],
    rejected: Mapping[str, Any],
    expected_owner: str = "",
) -> dict[str, str]:
    """Write the reports first and ``latest.json`` last, so ``latest`` never points at gaps.

    With ``expected_owner`` (an account ID) S3 refuses the write with 403 unless that account
    owns the bucket (S3 User Guide, "Verifying bucket ownership with bucket owner
    condition"): a bucket name deleted and taken by someone else gets nothing."""
    owner = {"ExpectedBucketOwner": expected_owner} if expected_owner else {}
    keys = manifest_keys(prefix, str(manifest["version"]))
    for key, body in (
        (keys["rejected"], rejected),
        (keys["manifest"], manifest),
        (keys["latest"], manifest),
    ):
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=json.dumps(body, indent=1, sort_keys=True).encode(),
            ContentType="application/json",
            **owner,
        )
    return keys


def capacity_record(plan: Any, slots: Sequence[Any], *, applied_at: str) -> dict[str, Any]:
    """A plan that outgrew the declared groups: what it needs and what to change."""
    need = plan.need
    return {
        "version": plan.version,
        "status": "over-capacity",
        "plannedAt": applied_at,
        "problems": list(plan.problems),
        "declared": {
            "groups": len(slots),
            "groupCapacity": min((slot.capacity for slot in slots), default=0),
        },
        "needed": {
            "groups": need.groups if need else None,
            "groupCapacity": need.group_capacity if need else None,
            "totalCapacity": need.total_capacity if need else None,
            "suggestedGroupCapacity": need.suggested_group_capacity if need else None,
        },
        "capacityByCategory": dict(
            sorted(plan.capacity_by_category.items(), key=lambda kv: (-kv[1], kv[0]))
        ),
        "stats": dict(plan.stats),
    }


def write_plan_record(
    s3: Any,
    *,
    bucket: str,
    prefix: str,
    record: Mapping[str, Any],
    rejected: Mapping[str, Any],
    expected_owner: str = "",
) -> str:
    """Write the rejected report and the over-capacity plan; ``latest.json`` is left alone
    (it describes the rules in force, which did not change). Returns the plan's key."""
    keys = manifest_keys(prefix, str(record["version"]))
    base = keys["latest"].removesuffix("latest.json")
    plan_key = f"{base}plans/{record['version']}.json"
    owner = {"ExpectedBucketOwner": expected_owner} if expected_owner else {}
    for key, body in ((keys["rejected"], rejected), (plan_key, record)):
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=json.dumps(body, indent=1, sort_keys=True).encode(),
            ContentType="application/json",
            **owner,
        )
    return plan_key


def read_applied_version(ssm: Any, parameter: str) -> str | None:
    """The last applied version, or None when nothing was applied yet."""
    try:
        value = str(ssm.get_parameter(Name=parameter)["Parameter"]["Value"])
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") == "ParameterNotFound":
            return None
        raise
    return None if value == NEVER_APPLIED else value


def write_applied_version(ssm: Any, parameter: str, version: str) -> None:
    ssm.put_parameter(Name=parameter, Value=version, Type="String", Overwrite=True)
