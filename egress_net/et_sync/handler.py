"""Lambda entry point: fetch ET Open, plan, fill the declared groups, record. Scheduled.

Event (all optional): ``{"force": true}`` re-applies even when nothing changed;
``{"dryRun": true}`` plans and reports without touching the firewall.

Nothing is done when the published md5 is the last applied version and every declared group
carries this run's marker (ruleset version and settings digest, in its description). A group
that lacks it (replaced by ``pulumi up`` and holding the placeholder, or half-written by a
concurrent run) makes the run apply the same version again.

A category name the ruleset lacks, or a plan with no ET rule at all, fails the run before any
write. Rules that outgrow the declared groups leave the last applied rules in force: the run
records the plan with the capacity needed and reports ``CapacityShort`` (status
``over-capacity``) instead of writing.

Every run ends with one JSON log line ``{"event": "et_sync_result", "status": ...}`` carrying
CloudWatch Embedded Metric Format fields: ``EgressNet/EtSync`` ``SyncFailed``,
``CapacityShort``, ``RulesApplied`` and ``CapacityApplied`` exist without any PutMetricData
permission. A failed run raises (the function's ``Errors`` metric and its on-failure
destination see it).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from egress_net.et_sync import fetch, manifest
from egress_net.et_sync.apply import (
    NFW_CONNECT_TIMEOUT_S,
    NFW_READ_TIMEOUT_S,
    NFW_TOTAL_ATTEMPTS,
    GroupWriter,
    sync_marker,
)
from egress_net.et_sync.errors import SyncError
from egress_net.et_sync.plan import build_plan, check_not_emptying
from egress_net.et_sync.settings import SyncSettings

METRIC_NAMESPACE = "EgressNet/EtSync"
# One series per function, so each stack's alarm sees its own runs only.
METRIC_DIMENSION = "FunctionName"


def log_event(event: str, **fields: Any) -> None:
    """One structured JSON line on stdout (CloudWatch Logs keeps it as is)."""
    record = {"event": event, **fields}
    print(json.dumps(record, default=str, sort_keys=True), file=sys.stdout, flush=True)


def metric_fields(status: str, *, rules: int = 0, capacity: int = 0) -> dict[str, Any]:
    """CloudWatch Embedded Metric Format: the log line itself becomes metrics."""
    return {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": METRIC_NAMESPACE,
                    "Dimensions": [[METRIC_DIMENSION]],
                    "Metrics": [
                        {"Name": "SyncFailed", "Unit": "Count"},
                        {"Name": "CapacityShort", "Unit": "Count"},
                        {"Name": "RulesApplied", "Unit": "Count"},
                        {"Name": "CapacityApplied", "Unit": "Count"},
                    ],
                }
            ],
        },
        METRIC_DIMENSION: os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "local"),
        "SyncFailed": 1 if status == "failed" else 0,
        "CapacityShort": 1 if status == "over-capacity" else 0,
        "RulesApplied": rules,
        "CapacityApplied": capacity,
    }


def network_firewall_config() -> Any:
    """botocore settings of the Network Firewall client: every call bounded (apply.py,
    ``call_limit_s``), so the time reserved per group write holds. ``total_max_attempts``
    counts the first try (``max_attempts`` would count retries only)."""
    from botocore.config import Config

    return Config(
        connect_timeout=NFW_CONNECT_TIMEOUT_S,
        read_timeout=NFW_READ_TIMEOUT_S,
        retries={"mode": "standard", "total_max_attempts": NFW_TOTAL_ATTEMPTS},
    )


@dataclass(frozen=True)
class Clients:
    network_firewall: Any
    s3: Any
    ssm: Any

    @classmethod
    def from_boto3(cls) -> Clients:
        import boto3
        from botocore.config import Config

        config = Config(retries={"mode": "standard", "max_attempts": 5})
        return cls(
            network_firewall=boto3.client("network-firewall", config=network_firewall_config()),
            s3=boto3.client("s3", config=config),
            ssm=boto3.client("ssm", config=config),
        )


def run_sync(
    settings: SyncSettings,
    clients: Clients,
    *,
    force: bool = False,
    dry_run: bool = False,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    log: Callable[..., None] = log_event,
    remaining_ms: Callable[[], int] | None = None,
) -> dict[str, Any]:
    """One sync; returns a summary. Raises after logging when a step fails.

    The SSM version is written last, after the firewall and the manifest: a run that fails
    anywhere leaves it untouched, so the next run retries the same version. ``remaining_ms``
    (the Lambda context's ``get_remaining_time_in_millis``) stops the group writes, rolled
    back, before the function's timeout could cut one short.
    """
    started = time.monotonic()
    try:
        summary = _sync(
            settings,
            clients,
            force=force,
            dry_run=dry_run,
            now=now,
            log=log,
            remaining_ms=remaining_ms,
        )
    except Exception as err:
        where = err.where if isinstance(err, SyncError) else ""
        problem = err.problem if isinstance(err, SyncError) else repr(err)
        log(
            "et_sync_result",
            status="failed",
            where=where,
            error=problem,
            seconds=round(time.monotonic() - started, 1),
            **metric_fields("failed"),
        )
        raise
    metrics = summary.pop("_metrics", {})
    log(
        "et_sync_result",
        **summary,
        seconds=round(time.monotonic() - started, 1),
        **metric_fields(str(summary["status"]), **metrics),
    )
    return summary


def _sync(
    settings: SyncSettings,
    clients: Clients,
    *,
    force: bool,
    dry_run: bool,
    now: Callable[[], datetime],
    log: Callable[..., None],
    remaining_ms: Callable[[], int] | None = None,
) -> dict[str, Any]:
    applied = manifest.read_applied_version(clients.ssm, settings.version_parameter)
    published = fetch.fetch_published_md5(
        settings.effective_md5_url, timeout=settings.timeout_seconds
    )
    writer = GroupWriter(
        clients.network_firewall,
        marker=sync_marker(published, settings.fingerprint()),
        log=log,
        remaining_ms=remaining_ms,
    )
    if published == applied and not force:
        stale = writer.stale_groups(settings.groups)
        if not stale:
            return {"status": "unchanged", "version": applied}
        # Replaced by `pulumi up` (placeholder), or left half-written by a concurrent run.
        log("et_groups_out_of_date", version=applied, groups=stale, action="re-applying")
    ruleset = fetch.fetch_ruleset(
        settings.source_url,
        published,
        timeout=settings.timeout_seconds,
        max_bytes=settings.max_download_bytes,
        max_extracted_bytes=settings.max_extracted_bytes,
    )
    log(
        "fetched", version=ruleset.version, files=len(ruleset.files), bytes=ruleset.compressed_bytes
    )
    plan = build_plan(ruleset.files, settings, version=ruleset.version)
    for warning in plan.warnings:
        log("warning", detail=warning)
    log(
        "planned",
        groups=len(plan.filled),
        capacity=plan.needed_capacity,
        rules=plan.total_rules,
        **plan.stats,
    )
    # A plan that selects nothing would leave every group with the placeholder: refuse it.
    check_not_emptying(plan, 0)
    rejected = manifest.rejected_report(plan.version, plan.rejected)
    if plan.problems and dry_run:
        return {"status": "over-capacity", "version": plan.version, "problems": plan.problems}
    if plan.problems:
        # The rules outgrew the declared groups: keep the last applied ones, say what is
        # needed, and let the CapacityShort alarm tell someone to raise the config.
        key = manifest.write_plan_record(
            clients.s3,
            bucket=settings.bucket,
            prefix=settings.prefix,
            record=manifest.capacity_record(plan, settings.groups, applied_at=now().isoformat()),
            rejected=rejected,
            expected_owner=settings.account,
        )
        log("over_capacity", problems=list(plan.problems), plan=key)
        return {"status": "over-capacity", "version": plan.version, "plan": key}
    if dry_run:
        return {"status": "planned", "version": plan.version, "groups": len(plan.filled)}
    result = writer.apply(plan.groups)
    groups = [
        {
            "key": group.key,
            "name": group.name,
            "arn": group.arn,
            "capacity": group.capacity,
            "needed_capacity": group.needed_capacity,
            "categories": list(group.categories),
            "sids": list(group.sids),
        }
        for group in plan.groups
    ]
    record = manifest.build_manifest(
        version=plan.version,
        source_url=settings.source_url,
        applied_at=now().isoformat(),
        groups=groups,
        rejected_count=len(plan.rejected),
        categories=plan.categories,
        revisions=plan.revisions,
    )
    keys = manifest.write_records(
        clients.s3,
        bucket=settings.bucket,
        prefix=settings.prefix,
        manifest=record,
        rejected=rejected,
        # The records bucket belongs to the hub's account, the groups'.
        expected_owner=settings.account,
    )
    manifest.write_applied_version(clients.ssm, settings.version_parameter, plan.version)
    return {
        "status": "applied" if result.changed else "unchanged-rules",
        "version": plan.version,
        "groups": len(plan.filled),
        "updated": len(result.updated),
        "tokenConflicts": result.token_conflicts,
        "manifest": keys["manifest"],
        "_metrics": {"rules": plan.total_rules, "capacity": plan.needed_capacity},
    }


def handler(event: Mapping[str, Any] | None, context: Any) -> dict[str, Any]:
    """AWS Lambda entry point (``egress_net.et_sync.handler.handler``)."""
    event = event or {}
    settings = SyncSettings.from_env()
    return run_sync(
        settings,
        Clients.from_boto3(),
        force=bool(event.get("force", False)),
        dry_run=bool(event.get("dryRun", False)),
        # Lambda's context object; None when called by hand.
        remaining_ms=getattr(context, "get_remaining_time_in_millis", None),
    )
