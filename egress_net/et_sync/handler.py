"""Lambda entry point: fetch ET Open, plan, apply, record. Runs on a schedule or on demand.

Event (all optional): ``{"force": true}`` re-applies even when the published md5 equals the
last applied version; ``{"dryRun": true}`` plans and reports without touching the firewall.
An unchanged version is still re-applied when the policy no longer references any ET group
(a deploy of the hub rewrote the policy from its own declaration).
A category name the ruleset lacks, or a plan that would leave no ET group where some are in
force, fails the run before any write, like a quota overage.

Every run ends with one JSON log line ``{"event": "et_sync_result", "status": ...}`` carrying
CloudWatch Embedded Metric Format fields, so the metric ``EgressNet/EtSync SyncFailed`` exists
without any PutMetricData permission; alarm on ``SyncFailed >= 1`` (or on the function's
``Errors`` metric: a failed run raises).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from egress_net.et_sync import fetch, manifest
from egress_net.et_sync.apply import PolicyApplier
from egress_net.et_sync.errors import SyncError
from egress_net.et_sync.plan import build_plan, check_not_emptying, check_quotas
from egress_net.et_sync.settings import SyncSettings

METRIC_NAMESPACE = "EgressNet/EtSync"


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
                    "Dimensions": [[]],
                    "Metrics": [
                        {"Name": "SyncFailed", "Unit": "Count"},
                        {"Name": "RulesApplied", "Unit": "Count"},
                        {"Name": "CapacityApplied", "Unit": "Count"},
                    ],
                }
            ],
        },
        "SyncFailed": 1 if status == "failed" else 0,
        "RulesApplied": rules,
        "CapacityApplied": capacity,
    }


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
            network_firewall=boto3.client("network-firewall", config=config),
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
) -> dict[str, Any]:
    """One sync; returns a summary. Raises ``SyncError`` after logging when a step fails.

    The SSM version is written last, after the firewall and the manifest: a run that fails
    anywhere leaves it untouched, so the next run retries the same version.
    """
    started = time.monotonic()
    try:
        applied = manifest.read_applied_version(clients.ssm, settings.version_parameter)
        published = fetch.fetch_published_md5(
            settings.effective_md5_url, timeout=settings.timeout_seconds
        )
        applier = PolicyApplier(
            clients.network_firewall,
            policy_arn=settings.policy_arn,
            name_prefix=f"{settings.rule_group_prefix}-et",
            priority_start=settings.priority_start,
            tags={"egress-net:managed-by": "et-sync"},
            log=log,
        )
        if published == applied and not force:
            if applier.references_et_groups():
                summary = {"status": "unchanged", "version": applied}
                log("et_sync_result", **summary, **metric_fields("unchanged"))
                return summary
            # A deploy of the hub rewrote the policy without our groups: put them back.
            log("et_groups_detached", version=applied, action="re-applying")
        ruleset = fetch.fetch_ruleset(
            settings.source_url,
            published,
            timeout=settings.timeout_seconds,
            max_bytes=settings.max_download_bytes,
            max_extracted_bytes=settings.max_extracted_bytes,
        )
        log(
            "fetched",
            version=ruleset.version,
            files=len(ruleset.files),
            bytes=ruleset.compressed_bytes,
        )
        policy, _token = applier.read_policy()
        live = applier.read_live_groups(policy)
        plan = build_plan(
            ruleset.files,
            settings,
            version=ruleset.version,
            strict_order=applier.rule_order(policy) == "STRICT_ORDER",
            current_capacities={group.key: group.capacity for group in live},
        )
        for warning in plan.warnings:
            log("warning", detail=warning)
        log(
            "planned",
            groups=len(plan.groups),
            capacity=plan.total_capacity,
            rules=plan.total_rules,
            **plan.stats,
        )
        check_quotas(plan, settings.quotas)
        # A plan that selects nothing would detach and delete every ET group: refuse it.
        check_not_emptying(plan, len(live))
        if dry_run:
            summary = {"status": "planned", "version": plan.version, "groups": len(plan.groups)}
            log("et_sync_result", **summary, **metric_fields("planned"))
            return summary
        result = applier.apply(plan.groups)
        applied_at = now().isoformat()
        groups = [
            {
                "key": group.key,
                "name": result.names_by_key.get(group.key, group.name),
                "arn": result.arns_by_key.get(group.key, ""),
                "capacity": result.capacity_by_key.get(group.key, group.capacity),
                "needed_capacity": group.needed_capacity,
                "categories": list(group.categories),
                "sids": list(group.sids),
            }
            for group in plan.groups
        ]
        record = manifest.build_manifest(
            version=plan.version,
            source_url=settings.source_url,
            applied_at=applied_at,
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
            rejected=manifest.rejected_report(plan.version, plan.rejected),
            # The records bucket belongs to the hub's account, the policy's.
            expected_owner=(settings.policy_arn.split(":") + [""] * 5)[4],
        )
        manifest.write_applied_version(clients.ssm, settings.version_parameter, plan.version)
    except SyncError as err:
        log(
            "et_sync_result",
            status="failed",
            where=err.where,
            error=err.problem,
            seconds=round(time.monotonic() - started, 1),
            **metric_fields("failed"),
        )
        raise
    except Exception as err:
        log(
            "et_sync_result",
            status="failed",
            error=repr(err),
            seconds=round(time.monotonic() - started, 1),
            **metric_fields("failed"),
        )
        raise
    summary = {
        "status": "applied" if result.changed else "unchanged-rules",
        "version": plan.version,
        "groups": len(plan.groups),
        "created": len(result.created),
        "updated": len(result.updated),
        "deleted": len(result.deleted),
        "leftovers": result.leftovers,
        "manifest": keys["manifest"],
    }
    total_capacity = sum(int(group["capacity"]) for group in groups)
    log(
        "et_sync_result",
        **summary,
        seconds=round(time.monotonic() - started, 1),
        **metric_fields("applied", rules=plan.total_rules, capacity=total_capacity),
    )
    return summary


def handler(event: Mapping[str, Any] | None, context: Any) -> dict[str, Any]:
    """AWS Lambda entry point (``egress_net.et_sync.handler.handler``)."""
    event = event or {}
    settings = SyncSettings.from_env()
    return run_sync(
        settings,
        Clients.from_boto3(),
        force=bool(event.get("force", False)),
        dry_run=bool(event.get("dryRun", False)),
    )
