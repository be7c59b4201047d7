"""plan_policy: config -> rule groups in pulumi_aws shape, strict order, explicit priorities."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pulumi_aws.networkfirewall import _inputs as aws_inputs
from pydantic import ValidationError

from egress_net.errors import ConfigError, RuleError
from egress_net.rules.model import RulesConfig
from egress_net.rules.policy import plan_policy

HOME = ["10.0.0.0/8"]
PL_ARN = "arn:aws:ec2:eu-west-1:123456789012:prefix-list/pl-0abc"


def assert_pulumi_shape(value: Any, typed_dict: type, path: str = "rule_group") -> None:
    """Every key exists in pulumi_aws's ArgsDict at that place, and required keys are set."""
    assert isinstance(value, dict), path
    annotations = typed_dict.__annotations__
    unknown = set(value) - set(annotations)
    assert not unknown, f"{path}: unknown keys {unknown}"
    missing = set(typed_dict.__required_keys__) - set(value)  # type: ignore[attr-defined]
    assert not missing, f"{path}: missing {missing}"
    for key, item in value.items():
        nested = re.search(r"ForwardRef\('(\w+ArgsDict)'\)", repr(annotations[key]))
        if nested is None:
            continue
        child = getattr(aws_inputs, nested.group(1))
        for index, element in enumerate(item if isinstance(item, list) else [item]):
            assert_pulumi_shape(element, child, f"{path}.{key}[{index}]")


def full_config(tmp_path: Path) -> RulesConfig:
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    (rules_dir / "team.rules").write_text(
        "# team rules\n"
        'drop tls $HOME_NET any -> $EXTERNAL_NET any (tls.sni; content:"bad.example"; '
        "sid:10;)\n"
        "# alert tcp any any -> any any (sid:11;)\n"
        "alert http $HOME_NET any -> @PARTNERS $WEB_PORTS (sid:12;)\n"
    )
    return RulesConfig.model_validate(
        {
            "allowDomains": {"domains": [".example.com", "api.github.com"]},
            "denyDomains": {"domains": [".evil.test"], "targetTypes": ["TLS_SNI"]},
            "fiveTupleRules": [
                {"action": "DROP", "protocol": "TCP", "destinationPort": "22", "msg": "no ssh"},
                {
                    "action": "PASS",
                    "protocol": "UDP",
                    "source": "$HOME_NET",
                    "destination": "$DNS",
                    "destinationPort": "53",
                },
            ],
            "statelessRules": [
                {
                    "priority": 5,
                    "action": "aws:drop",
                    "protocols": [6, 17],
                    "destinationPorts": ["23", "2323"],
                },
            ],
            "suricataRules": [
                'pass http $HOME_NET any -> any any (http.host; content:"ok.example"; sid:1;)'
            ],
            "ruleFiles": ["rules"],
            "managedRuleGroups": [
                {"name": "ThreatSignaturesMalware", "capacity": 200},
                {"name": "AbusedLegitMalwareDomainsStrictOrder"},
            ],
            "ipSets": {"DNS": ["10.0.0.2/32"]},
            "portSets": {"WEB_PORTS": ["80", "443"]},
            "prefixLists": {"PARTNERS": PL_ARN},
        }
    )


def test_full_policy_plan(tmp_path: Path) -> None:
    plan = plan_policy(full_config(tmp_path), home_net=HOME, base_dir=tmp_path, region="eu-west-1")
    keys = [g.key for g in plan.stateful_groups]
    assert keys == [
        "egress-deny-domains",
        "egress-five-tuple",
        "egress-suricata-team-and-1-more",
        "egress-allow-domains",
        "egress-default-deny",
    ]
    everything = sorted(
        [(g.priority, g.key) for g in plan.stateful_groups]
        + [(m.priority, m.name) for m in plan.managed_groups]
    )
    # Deny list first, managed threat groups next, team rules, allow list last.
    assert [name for _, name in everything] == [
        "egress-deny-domains",
        "ThreatSignaturesMalwareStrictOrder",
        "AbusedLegitMalwareDomainsStrictOrder",
        "egress-five-tuple",
        "egress-suricata-team-and-1-more",
        "egress-allow-domains",
        "egress-default-deny",
    ]
    priorities = [p for p, _ in everything]
    assert len(set(priorities)) == len(priorities)
    assert plan.managed_groups[0].arn == (
        "arn:aws:network-firewall:eu-west-1:aws-managed:stateful-rulegroup/"
        "ThreatSignaturesMalwareStrictOrder"
    )
    assert plan.stateful_engine_options == {
        "rule_order": "STRICT_ORDER",
        "stream_exception_policy": "DROP",
    }
    assert plan.stateful_default_actions == ["aws:drop_established", "aws:alert_established"]
    for group in plan.stateful_groups + plan.stateless_groups:
        assert_pulumi_shape(group.rule_group, aws_inputs.RuleGroupRuleGroupArgsDict)
        assert group.name == f"{group.key}-c{group.capacity}"
        assert 1 <= group.capacity <= 30_000
    assert plan.stateful_capacity == sum(g.capacity for g in plan.stateful_groups) + 200
    assert all(c.action == "create" for c in plan.changes)


def test_group_contents(tmp_path: Path) -> None:
    plan = plan_policy(full_config(tmp_path), home_net=HOME, base_dir=tmp_path)
    by_key = {g.key: g for g in plan.stateful_groups}
    deny = by_key["egress-deny-domains"]
    assert deny.rule_group["rules_source"]["rules_source_list"] == {
        "generated_rules_type": "DENYLIST",
        "target_types": ["TLS_SNI"],
        "targets": [".evil.test"],
    }
    assert deny.used == 2  # 1 domain x 1 type + 1
    home = {"ip_sets": [{"key": "HOME_NET", "ip_set": {"definitions": HOME}}]}
    assert deny.rule_group["rule_variables"] == home
    allow = by_key["egress-allow-domains"]
    # One pass rule per domain and target type (2x2); 20% headroom would be 5, rounded up to
    # the stable floor of 100 so a few more domains later are an in-place update.
    assert allow.used == 4 and allow.capacity == 100
    assert "rules_source_list" not in allow.rule_group["rules_source"]

    tuple_rules = by_key["egress-five-tuple"].rule_group["rules_source"]["stateful_rules"]
    assert tuple_rules[0]["header"] == {
        "protocol": "TCP",
        "source": "ANY",
        "source_port": "ANY",
        "direction": "FORWARD",
        "destination": "ANY",
        "destination_port": "22",
    }
    assert tuple_rules[0]["rule_options"] == [
        {"keyword": "msg", "settings": ['"no ssh"']},
        {"keyword": "sid", "settings": ["1000001"]},
    ]
    assert by_key["egress-five-tuple"].rule_group["rule_variables"]["ip_sets"][0]["key"] == "DNS"

    suricata = by_key["egress-suricata-team-and-1-more"]
    text = suricata.rule_group["rules_source"]["rules_string"]
    assert text.count("\n") == 3 and "sid:11" not in text  # the disabled rule stays out
    assert suricata.rule_group["reference_sets"] == {
        "ip_set_references": [{"key": "PARTNERS", "ip_set_references": [{"reference_arn": PL_ARN}]}]
    }
    assert suricata.rule_group["rule_variables"]["port_sets"] == [
        {"key": "WEB_PORTS", "port_set": {"definitions": ["80", "443"]}}
    ]

    [stateless] = plan.stateless_groups
    assert stateless.type == "STATELESS" and stateless.used == 4  # 2 protocols x 2 ports
    entry = stateless.rule_group["rules_source"]["stateless_rules_and_custom_actions"][
        "stateless_rules"
    ][0]
    assert entry["rule_definition"]["match_attributes"]["destination_ports"] == [
        {"from_port": 23, "to_port": 23},
        {"from_port": 2323, "to_port": 2323},
    ]


def test_empty_config_is_deny_by_default_and_alert_mode_only_logs(tmp_path: Path) -> None:
    plan = plan_policy(RulesConfig(), home_net=HOME, base_dir=tmp_path)
    assert plan.stateful_default_actions == ["aws:drop_established", "aws:alert_established"]
    # drop_established never drops a one-way UDP/ICMP flow (it never becomes established):
    # the last group drops what no rule passed.
    [deny] = plan.stateful_groups
    assert plan.managed_groups == [] and deny.key == "egress-default-deny"
    rules = deny.rule_group["rules_source"]["rules_string"]
    assert "drop udp any any -> any any" in rules
    assert "drop icmp any any -> any any" in rules
    alert = plan_policy(RulesConfig(), home_net=HOME, base_dir=tmp_path, mode="alert")
    assert alert.stateful_default_actions == ["aws:alert_established"]
    [alert_deny] = alert.stateful_groups
    assert "drop" not in alert_deny.rule_group["rules_source"]["rules_string"]
    with pytest.raises(ConfigError, match="mode must be"):
        plan_policy(RulesConfig(), home_net=HOME, base_dir=tmp_path, mode="block")  # type: ignore[arg-type]


def test_stream_exception_policy_is_configurable(tmp_path: Path) -> None:
    cfg = RulesConfig.model_validate({"streamExceptionPolicy": "REJECT"})
    plan = plan_policy(cfg, home_net=HOME, base_dir=tmp_path)
    assert plan.stateful_engine_options["stream_exception_policy"] == "REJECT"


def test_rejected_rules_fail_by_default_with_file_line_and_sid(tmp_path: Path) -> None:
    cfg = RulesConfig.model_validate(
        {
            "suricataRules": [
                "alert tcp any any -> any any (sid:1;)\n"
                "alert tcp any any -> any any (threshold:type limit; sid:2;)"
            ]
        }
    )
    with pytest.raises(RuleError) as err:
        plan_policy(cfg, home_net=HOME, base_dir=tmp_path)
    assert err.value.where == "egress-net:rules.suricataRules[0]:2"
    assert "unsupported-keyword:threshold (sid 2)" in err.value.problem
    skipped = RulesConfig.model_validate({**cfg.model_dump(by_alias=True), "rejectedRules": "skip"})
    plan = plan_policy(skipped, home_net=HOME, base_dir=tmp_path)
    assert plan.suricata_plan.groups[0].sids == (1,)
    assert [r.sid for r in plan.validation.rejected] == [2]


def test_skip_leaves_malformed_lines_as_errors_and_does_not_suggest_itself(
    tmp_path: Path,
) -> None:
    cfg = RulesConfig.model_validate(
        {
            "suricataRules": ["alert tcp any any -> any any (sid:1;)\nalert tcp any ->"],
            "rejectedRules": "skip",
        }
    )
    with pytest.raises(RuleError) as err:
        plan_policy(cfg, home_net=HOME, base_dir=tmp_path)
    assert err.value.where == "egress-net:rules.suricataRules[0]:2"
    assert "malformed-rule" in err.value.problem
    assert "not malformed lines" in err.value.hint
    assert "or set rules.rejectedRules: skip" not in err.value.hint


def test_skip_is_suggested_only_when_it_would_help(tmp_path: Path) -> None:
    malformed_only = RulesConfig.model_validate({"suricataRules": ["alert tcp any ->"]})
    with pytest.raises(RuleError) as err:
        plan_policy(malformed_only, home_net=HOME, base_dir=tmp_path)
    assert "rejectedRules: skip" not in err.value.hint
    rejected = RulesConfig.model_validate(
        {"suricataRules": ["alert tcp any any -> any any (threshold:type limit; sid:2;)"]}
    )
    with pytest.raises(RuleError) as err:
        plan_policy(rejected, home_net=HOME, base_dir=tmp_path)
    assert "or set rules.rejectedRules: skip" in err.value.hint


def test_missing_rule_file_is_a_config_error(tmp_path: Path) -> None:
    cfg = RulesConfig.model_validate({"ruleFiles": ["nope.rules"]})
    with pytest.raises(ConfigError) as err:
        plan_policy(cfg, home_net=HOME, base_dir=tmp_path)
    assert err.value.where == "egress-net:rules.ruleFiles[0]"


def test_nat_only_placement_rejects_source_scoped_rules(tmp_path: Path) -> None:
    five = RulesConfig.model_validate(
        {"fiveTupleRules": [{"action": "DROP", "protocol": "TCP", "source": "10.1.0.0/16"}]}
    )
    with pytest.raises(RuleError, match="NAT gateway") as err:
        plan_policy(five, home_net=HOME, base_dir=tmp_path, firewall_sees_nat_only=True)
    assert err.value.where == "egress-net:rules.fiveTupleRules[0].source"
    plan_policy(five, home_net=HOME, base_dir=tmp_path)  # fine when spoke sources are seen

    # Even with rejectedRules: skip, a source-scoped Suricata rule is an error here.
    suricata = RulesConfig.model_validate(
        {"suricataRules": ["drop tcp 10.1.0.0/16 any -> any any (sid:1;)"], "rejectedRules": "skip"}
    )
    with pytest.raises(RuleError, match="source-not-visible-behind-nat"):
        plan_policy(suricata, home_net=HOME, base_dir=tmp_path, firewall_sees_nat_only=True)


@pytest.mark.parametrize(
    ("rule", "key"),
    [
        ({"action": "DROP", "protocol": "TCP", "source": "10.0.0.1/8"}, "source"),
        ({"action": "DROP", "protocol": "TCP", "destination": "$NOPE"}, "destination"),
        ({"action": "DROP", "protocol": "TCP", "sourcePort": "99999"}, "sourcePort"),
        ({"action": "DROP", "protocol": "TCP", "destinationPort": "$NOPE"}, "destinationPort"),
    ],
)
def test_bad_five_tuple_fields_name_their_key(tmp_path: Path, rule: dict, key: str) -> None:
    cfg = RulesConfig.model_validate({"fiveTupleRules": [rule]})
    with pytest.raises(ConfigError) as err:
        plan_policy(cfg, home_net=HOME, base_dir=tmp_path)
    assert err.value.where == f"egress-net:rules.fiveTupleRules[0].{key}"


def test_policy_capacity_quota_is_checked(tmp_path: Path) -> None:
    cfg = RulesConfig.model_validate(
        {
            "allowDomains": {"domains": [f"d{i}.example.com" for i in range(100)]},
            "managedRuleGroups": [{"name": "ThreatSignaturesMalware", "capacity": 29_900}],
        }
    )
    with pytest.raises(ConfigError, match="stateful capacity") as err:
        plan_policy(cfg, home_net=HOME, base_dir=tmp_path)
    assert err.value.where == "egress-net:rules.capacity"


def test_group_over_its_capacity_limit_is_a_config_error(tmp_path: Path) -> None:
    cfg = RulesConfig.model_validate(
        {
            "denyDomains": {"domains": [f"d{i}.example.com" for i in range(60)]},
            "capacity": {"groupCapacityMax": 100},
        }
    )
    with pytest.raises(ConfigError, match="at most 100") as err:
        plan_policy(cfg, home_net=HOME, base_dir=tmp_path)
    assert err.value.where == "egress-net:rules.denyDomains"


def test_growing_domain_list_is_replaced_through_current_capacities(tmp_path: Path) -> None:
    small = RulesConfig.model_validate({"allowDomains": {"domains": ["a.example.com"]}})
    first = plan_policy(small, home_net=HOME, base_dir=tmp_path)
    [group, _deny] = first.stateful_groups
    # 100: 4 used, rounded up to the stable floor; the default-deny group is deployed too.
    deployed = {group.key: group.capacity, _deny.key: _deny.capacity}
    assert group.capacity == 100
    # A few more domains fit the deployed capacity: the same group is updated in place.
    few_more = RulesConfig.model_validate(
        {"allowDomains": {"domains": [f"d{i}.example.com" for i in range(10)]}}
    )
    changes = plan_policy(few_more, home_net=HOME, base_dir=tmp_path, current=deployed).changes
    [same] = [c for c in changes if c.key == group.key]
    assert same.action == "update" and same.new_name == same.old_name
    # Growth past the capacity creates a new, bigger group and retires the old one.
    big = RulesConfig.model_validate(
        {"allowDomains": {"domains": [f"d{i}.example.com" for i in range(60)]}}
    )
    second = plan_policy(big, home_net=HOME, base_dir=tmp_path, current=deployed)
    [change] = [c for c in second.changes if c.key == group.key]
    assert change.action == "replace"
    assert change.old_name == f"{group.key}-c{group.capacity}"
    assert change.new_name == second.stateful_groups[0].name != change.old_name


# --- the config model -----------------------------------------------------------------------


def test_defaults_are_secure_and_explicit() -> None:
    cfg = RulesConfig()
    assert cfg.stream_exception_policy == "DROP"
    assert cfg.rejected_rules == "fail"
    assert cfg.capacity.group_capacity_max == 30_000
    assert cfg.capacity.groups_max == 20
    assert cfg.capacity.policy_capacity_max == 30_000
    assert cfg.allow_domains is None and cfg.five_tuple_rules == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"allowDomains": {"domains": ["*.example.com"]}}, "instead of '*.example.com'"),
        ({"allowDomains": {"domains": ["https://example.com/x"]}}, "without scheme, port or path"),
        ({"allowDomains": {"domains": ["localhost"]}}, "not a valid domain name"),
        ({"allowDomains": {"domains": []}}, "at least 1"),
        ({"denyDomains": {"domains": ["a.example"], "targetTypes": ["DNS"]}}, "TLS_SNI"),
        ({"fiveTupleRules": [{"action": "ALLOW", "protocol": "TCP"}]}, "PASS"),
        ({"fiveTupleRules": [{"action": "DROP", "protocol": "IKEV2"}]}, "IKEV2"),
        (
            {
                "statelessRules": [
                    {"priority": 1, "action": "aws:pass"},
                    {"priority": 1, "action": "aws:drop"},
                ]
            },
            "priorities must be",
        ),
        (
            {"statelessRules": [{"priority": 1, "action": "aws:pass", "sources": ["10.0.0.1/8"]}]},
            "not a CIDR",
        ),
        ({"managedRuleGroups": [{"name": "ThreatSignaturesMalwareActionOrder"}]}, "ActionOrder"),
        ({"ipSets": {"1BAD": ["10.0.0.0/8"]}}, "start with a letter"),
        ({"portSets": {"P": ["70000"]}}, "0-65535"),
        ({"prefixLists": {"P": "pl-123"}}, "prefix list ARN"),
        ({"capacity": {"headroom": -1}}, "greater than or equal"),
        ({"streamExceptionPolicy": "ALLOW"}, "DROP"),
        ({"unknownKey": 1}, "Extra inputs"),
    ],
)
def test_model_rejects_bad_config(data: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        RulesConfig.model_validate(data)


def test_snake_case_names_are_accepted_too() -> None:
    cfg = RulesConfig.model_validate({"allow_domains": {"domains": ["a.example.com"]}})
    assert cfg.allow_domains is not None


def test_domains_are_normalised() -> None:
    cfg = RulesConfig.model_validate(
        {"allowDomains": {"domains": ["Example.COM", ".Sub.Example.com", "example.com"]}}
    )
    assert cfg.allow_domains is not None
    assert cfg.allow_domains.domains == ["example.com", ".sub.example.com"]
