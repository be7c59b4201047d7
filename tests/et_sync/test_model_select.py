"""Config model, category selection, IDS→IPS, variables, quota advice, manifest records."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from pydantic import ValidationError

from egress_net.et_sync import manifest
from egress_net.et_sync.model import EmergingThreatsConfig
from egress_net.et_sync.plan import categories_to_drop
from egress_net.et_sync.select import (
    apply_ids_to_ips,
    convert_ids_to_ips,
    normalize_category,
    ruleset_categories_text,
    select_categories,
    unknown_category_problems,
    variable_sets,
)
from egress_net.et_sync.settings import SyncSettings


def test_disabled_by_default_with_safe_defaults() -> None:
    cfg = EmergingThreatsConfig()
    assert cfg.enabled is False
    assert cfg.schedule == "rate(1 day)"
    assert cfg.source_url.startswith("https://rules.emergingthreats.net/")
    assert cfg.quotas.reserved_capacity > 0 and cfg.quotas.reserved_groups > 0


@pytest.mark.parametrize(
    ("given", "prefix"), [("et-sync", "et-sync/"), ("/sec/et/", "sec/et/"), ("", "")]
)
def test_bucket_prefix_has_one_spelling(given: str, prefix: str) -> None:
    assert EmergingThreatsConfig(bucket_prefix=given).bucket_prefix == prefix


def test_camel_case_keys_and_round_trip_to_settings() -> None:
    cfg = EmergingThreatsConfig.model_validate(
        {
            "enabled": True,
            "includeCategories": ["emerging-malware.rules", "Tor"],
            "idsToIpsCategories": ["emerging-malware"],
            "portSets": {"HTTP_PORTS": ["80", "8000:8080"]},
            "quotas": {"reservedCapacity": 2000},
            "maxDownloadMb": 10,
        }
    )
    settings = cfg.to_settings(policy_arn="arn:p", home_net=["10.1.0.0/16"])
    assert settings.include_categories == ("malware", "tor")
    assert settings.ids_to_ips_categories == ("malware",)
    assert settings.home_net == ("10.1.0.0/16",)
    assert settings.quotas.capacity_budget == 28_000
    assert settings.max_download_bytes == 10 * 1024 * 1024
    assert SyncSettings.from_env({"EGRESS_NET_ET_SYNC": settings.to_json()}) == settings


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"schedule": "daily"}, "EventBridge expression"),
        ({"sourceUrl": "http://rules.example/et.tar.gz"}, "https"),
        ({"homeNet": ["10.0.0.1/8"]}, "host bits"),
        ({"ipSets": {"BAD NAME": ["10.0.0.0/8"]}}, "variable names"),
        ({"ipSets": {"DNS_SERVERS": []}}, "at least one CIDR"),
        ({"portSets": {"HTTP_PORTS": ["70000"]}}, "is not a port or range"),
        ({"portSets": {"HTTP_PORTS": ["90:80"]}}, "is not a port or range"),
        ({"includeCategories": ["dns"], "excludeCategories": ["emerging-dns"]}, "both"),
        ({"quotas": {"reservedCapacity": 30000}}, "below policyCapacity"),
        ({"quotas": {"reservedGroups": 20}}, "below policyGroups"),
        ({"colour": "blue"}, "Extra inputs are not permitted"),
        ({"logRetentionDays": 10}, "retention must be one of"),
        ({"bucketPrefix": "a/../b"}, "not a plain S3 key prefix"),
    ],
)
def test_bad_config_is_refused_with_a_reason(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        EmergingThreatsConfig.model_validate(data)


@pytest.mark.parametrize(
    ("name", "category"),
    [
        ("emerging-malware.rules", "malware"),
        ("rules/emerging-dns.rules", "dns"),
        ("tor.rules", "tor"),
        ("Emerging-Info", "info"),
        ("botcc.portgrouped.rules", "botcc.portgrouped"),
    ],
)
def test_category_names(name: str, category: str) -> None:
    assert normalize_category(name) == category


FILES = {"emerging-dns.rules": "a", "emerging-info.rules": "b", "tor.rules": "c"}


def test_include_exclude_and_unknown_categories() -> None:
    assert list(select_categories(FILES).files) == list(FILES)
    chosen = select_categories(FILES, include=["dns", "info", "nope"], exclude=["info"])
    assert list(chosen.files) == ["emerging-dns.rules"]
    assert chosen.skipped_categories == ("info", "tor")
    assert chosen.unknown_categories == ("nope",)


def test_ids_to_ips_converts_only_active_alerts_of_chosen_categories() -> None:
    text = (
        "alert http any any -> any any (sid:1;)\n"
        "# alert http any any -> any any (sid:2;)\n"
        'pass tls any any -> any any (msg:"alert me"; sid:3;)\n'
    )
    assert convert_ids_to_ips(text).splitlines() == [
        "drop http any any -> any any (sid:1;)",
        "# alert http any any -> any any (sid:2;)",
        'pass tls any any -> any any (msg:"alert me"; sid:3;)',
    ]
    converted = apply_ids_to_ips({"emerging-dns.rules": text, "tor.rules": text}, ["dns"])
    assert converted["emerging-dns.rules"].startswith("drop")
    assert converted["tor.rules"].startswith("alert")


def test_server_and_port_variables_default_like_suricata() -> None:
    home, ips, ports = variable_sets(
        {"HTTP_SERVERS", "SQL_SERVERS", "HOME_NET"},
        ["10.0.0.0/8"],
        ip_sets={"SQL_SERVERS": ["10.9.0.0/16"]},
        port_sets={"HTTP_PORTS": ["80", "8080"]},
    )
    assert home == ["10.0.0.0/8"]
    assert ips == {"HTTP_SERVERS": ["10.0.0.0/8"], "SQL_SERVERS": ["10.9.0.0/16"]}
    assert ports["HTTP_PORTS"] == ["80", "8080"]
    assert ports["SHELLCODE_PORTS"] == ["0:79", "81:65535"]  # Suricata's "!80"


def test_home_net_falls_back_to_private_ranges() -> None:
    home, _ips, _ports = variable_sets(set(), [])
    assert home == ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]


def test_categories_to_drop_picks_the_fewest() -> None:
    capacity = {"info": 5000, "policy": 800, "dns": 20, "hunting": 1100}
    assert categories_to_drop(capacity, 900) == ["info"]
    assert categories_to_drop(capacity, 5500) == ["info", "hunting"]
    assert categories_to_drop(capacity, 0) == []


def test_manifest_totals_and_reject_counts() -> None:
    record = manifest.build_manifest(
        version="v1",
        source_url="https://x",
        applied_at="2024-04-21T00:00:00+00:00",
        groups=[
            {"key": "a", "capacity": 10, "needed_capacity": 8, "sids": [1, 2]},
            {"key": "b", "capacity": 5, "needed_capacity": 5, "sids": [3]},
        ],
        rejected_count=2,
        categories=["dns"],
        revisions={1: 3, 2: 1, 3: 1},
    )
    assert record["totals"] == {
        "groups": 2,
        "rules": 3,
        "capacity": 15,
        "neededCapacity": 13,
        "rejected": 2,
    }
    assert record["revisions"] == {"1": 3, "2": 1, "3": 1}
    report = manifest.rejected_report(
        "v1",
        [
            manifest.RejectedRule("a.rules:1", 1, "a", "unsupported-keyword:threshold"),
            manifest.RejectedRule("a.rules:2", 2, "a", "unsupported-keyword:threshold"),
            manifest.RejectedRule("a.rules:3", None, "a", "parse-error", "no ("),
        ],
    )
    assert report["countsByReason"] == {"unsupported-keyword:threshold": 2, "parse-error": 1}


def test_records_and_version_in_s3_and_ssm(s3: Any, ssm: Any) -> None:
    bucket = f"et-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    name = f"/egress-net/{uuid.uuid4().hex[:8]}/version"
    assert manifest.read_applied_version(ssm, name) is None  # parameter not there yet
    ssm.put_parameter(Name=name, Value=manifest.NEVER_APPLIED, Type="String")
    assert manifest.read_applied_version(ssm, name) is None  # created, never applied
    record = {"version": "abc", "groups": []}
    keys = manifest.write_records(
        s3, bucket=bucket, prefix="et", manifest=record, rejected={"rules": []}
    )
    assert keys == {
        "latest": "et/latest.json",
        "manifest": "et/manifests/abc.json",
        "rejected": "et/rejected/abc.json",
    }
    for key in keys.values():
        assert json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    manifest.write_applied_version(ssm, name, "abc")
    assert manifest.read_applied_version(ssm, name) == "abc"


def test_unknown_category_problems_name_the_setting_and_suggest() -> None:
    known = ["dns", "info", "tor"]
    problems = unknown_category_problems(
        known, {"--include": ["dns", "nfo", "zzz"], "--exclude": [], "--ips": ["tor"]}
    )
    assert problems == [("--include", "unknown categories 'nfo' (did you mean 'info'?), 'zzz'")]
    assert ruleset_categories_text(known) == "categories in this ruleset: dns, info, tor"
    many = [f"cat{i:02}" for i in range(30)]
    assert ruleset_categories_text(many).endswith("cat06, cat07, … (30 in all)")
    assert ruleset_categories_text([]) == "categories in this ruleset: (none)"
