"""Config model, category selection, IDS→IPS, variables, quota advice, manifest records."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from pydantic import ValidationError

from egress_net.et_sync import manifest
from egress_net.et_sync.model import EmergingThreatsConfig
from egress_net.et_sync.plan import build_plan, categories_to_drop, feed_rules
from egress_net.et_sync.select import (
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
    assert cfg.schedule == "rate(1 hour)"  # a replaced group holds the placeholder <= 1 h
    assert cfg.source_url.startswith("https://rules.emergingthreats.net/")
    assert (cfg.groups, cfg.group_capacity) == (8, 3_100)


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
            "groups": 3,
            "groupCapacity": 2000,
            "maxDownloadMb": 10,
        }
    )
    settings = cfg.to_settings(rule_group_prefix="hub", home_net=["10.1.0.0/16"])
    assert settings.include_categories == ("malware", "tor")
    assert settings.ids_to_ips_categories == ("malware",)
    assert settings.home_net == ("10.1.0.0/16",)
    assert [(g.name, g.capacity) for g in settings.groups] == [
        ("hub-et-1-c2000", 2000),
        ("hub-et-2-c2000", 2000),
        ("hub-et-3-c2000", 2000),
    ]
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
        ({"groups": 0}, "greater than or equal to 1"),
        # More groups than the function's 900 s can write and roll back: it never finishes.
        ({"groups": 13}, "groups: 13 groups cannot be written .* use at most 12 groups"),
        ({"groups": 8, "timeoutSeconds": 300}, "at most 3 groups .* lower timeoutSeconds"),
        ({"groupCapacity": 30001}, "less than or equal to 30000"),
        ({"quotas": {"reservedCapacity": 300}}, "Extra inputs are not permitted"),
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


def _parsed(text: str, name: str = "emerging-dns.rules") -> list[Any]:
    from egress_net.rules.parser import parse_rules

    return parse_rules(text, filename=name)


def test_only_alert_rules_are_taken_from_the_feed() -> None:
    text = (
        "alert http any any -> any any (sid:1;)\n"
        "# pass http any any -> any any (sid:2;)\n"
        'pass tls any any -> any any (msg:"alert me"; sid:3;)\n'
        "drop ip any any -> any any (sid:4;)\n"
        "reject tcp any any -> any any (sid:5;)\n"
    )
    kept, refused = feed_rules(_parsed(text), ())
    assert [(r.sid, r.action) for r in refused] == [(3, "pass"), (4, "drop"), (5, "reject")]
    assert [(r.sid, r.action, r.enabled) for r in kept] == [
        (1, "alert", True),
        (2, "pass", False),  # disabled: never deployed, set aside by validation
    ]


@pytest.mark.parametrize("keyword", ["bypass", "BYPASS", " Bypass "])
def test_a_feed_alert_that_bypasses_inspection_is_refused(keyword: str) -> None:
    # An alert rule with `bypass` stops inspecting its flow ahead of the allow list and the
    # default deny: as open as a pass rule. Suricata reads the keyword in any case.
    files = {
        "emerging-dns.rules": (
            'alert udp any any -> any 53 (msg:"kept"; sid:1; rev:1;)\n'
            f'alert ip $HOME_NET any -> $EXTERNAL_NET any (msg:"open"; {keyword}; sid:2; rev:1;)\n'
        )
    }
    cfg = EmergingThreatsConfig(groups=1, group_capacity=100)
    plan = build_plan(files, cfg.to_settings(), version="v")
    deployed = "\n".join(group.rules_string for group in plan.groups)
    assert "sid:1;" in deployed and "sid:2;" not in deployed
    [rejected] = [r for r in plan.rejected if r.sid == 2]
    assert rejected.reason == "feed-keyword:bypass"
    assert rejected.where == "emerging-dns.rules:2" and "stops inspecting" in rejected.detail


def test_ids_to_ips_converts_only_active_alerts_of_chosen_categories() -> None:
    text = "alert http any any -> any any (sid:1;)\n# alert http any any -> any any (sid:2;)\n"
    kept, _ = feed_rules(_parsed(text) + _parsed(text, "tor.rules"), ["dns"])
    assert [(r.file, r.sid, r.action, r.enabled) for r in kept] == [
        ("emerging-dns.rules", 1, "drop", True),
        ("emerging-dns.rules", 2, "alert", False),
        ("tor.rules", 1, "alert", True),
        ("tor.rules", 2, "alert", False),
    ]
    assert kept[0].text.startswith("drop http") and kept[0].where == "emerging-dns.rules:1"


def test_alert_mode_never_converts_to_drop() -> None:
    files = {"emerging-dns.rules": 'alert udp any any -> any 53 (msg:"x"; sid:1; rev:1;)\n'}
    cfg = EmergingThreatsConfig(ids_to_ips_categories=["dns"], groups=1, group_capacity=100)
    drop = build_plan(files, cfg.to_settings(), version="v")
    alert = build_plan(files, cfg.to_settings(firewall_mode="alert"), version="v")
    assert drop.groups[0].rules_string.startswith("drop udp")
    assert alert.groups[0].rules_string.startswith("alert udp")
    assert "not turned into drop" in alert.warnings[0]


def test_a_malformed_line_is_rejected_with_file_and_line_not_raised() -> None:
    files = {
        "emerging-dns.rules": (
            'alert udp any any -> any 53 (msg:"ok"; sid:1; rev:1;)\n'
            "alert udp any any -> any 53 msg:no-parentheses sid:2\n"
        )
    }
    cfg = EmergingThreatsConfig(groups=1, group_capacity=100)
    plan = build_plan(files, cfg.to_settings(), version="v")
    assert plan.groups[0].sids == (1,)
    (bad,) = plan.rejected
    assert (bad.where, bad.reason) == ("emerging-dns.rules:2", "parse-error")


def test_tgw_attached_groups_define_home_and_external_net() -> None:
    files = {"emerging-dns.rules": 'alert udp any any -> any 53 (msg:"x"; sid:1; rev:1;)\n'}
    cfg = EmergingThreatsConfig(groups=2, group_capacity=100)
    settings = cfg.to_settings(home_net=["10.0.0.0/8"], external_net=["11.0.0.0/8"])
    plan = build_plan(files, settings, version="v")
    for group in plan.groups:  # the placeholder group too
        assert group.rule_variables["IPSets"] == {
            "EXTERNAL_NET": {"Definition": ["11.0.0.0/8"]},
            "HOME_NET": {"Definition": ["10.0.0.0/8"]},
        }


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


def test_the_most_groups_fit_the_function_timeout_and_one_more_does_not() -> None:
    """Before the last of N groups the writer wants N + 1 budgets left (time_needed_ms); with
    both downloads at their whole timeout and the time before the writes, N fits, N + 1 not."""
    from egress_net.et_sync import apply

    for timeout in (1.0, 30.0, 120.0, 300.0):
        most = apply.max_groups(timeout)
        writer = apply.GroupWriter(None, marker="m")
        spent_ms = (2 * timeout + apply.BEFORE_WRITES_S) * 1000
        left_ms = apply.FUNCTION_TIMEOUT_S * 1000 - spent_ms
        assert writer.time_needed_ms(most - 1) <= left_ms < writer.time_needed_ms(most)
        EmergingThreatsConfig(groups=most, timeout_seconds=timeout)  # accepted
