"""Every reject reason and warning, on small hand-written rules."""

from __future__ import annotations

import pytest

from egress_net.rules import RuleVariables, ValidationResult, parse_rules, validate_rules
from egress_net.rules.limits import RULE_LENGTH_MAX, SOURCE_URL, UNSUPPORTED_KEYWORDS

VARIABLES = RuleVariables.for_home_net(
    ["10.0.0.0/8"],
    ip_sets={"HTTP_SERVERS": ["10.1.0.0/16"]},
    port_sets={"HTTP_PORTS": ["80", "8080"]},
    references={
        f"PL{i}": f"arn:aws:ec2:eu-west-1:123456789012:prefix-list/pl-{i}" for i in range(7)
    },
)


def check(text: str, **kwargs: object) -> ValidationResult:
    return validate_rules(parse_rules(text, filename="u.rules"), variables=VARIABLES, **kwargs)  # type: ignore[arg-type]


def only_reason(text: str, **kwargs: object) -> str:
    result = check(text, **kwargs)
    assert not result.accepted, "rule was accepted"
    [rejection] = result.rejected
    assert rejection.where == "u.rules:1"
    return rejection.reason


GOOD = 'alert http $HOME_NET any -> $EXTERNAL_NET $HTTP_PORTS (msg:"ok"; content:"x"; sid:{};)'


def test_a_supported_rule_is_accepted() -> None:
    result = check(GOOD.format(1))
    assert [r.sid for r in result.accepted] == [1] and result.ok


@pytest.mark.parametrize("action", ["log", "sdrop", "rejectsrc", "activate"])
def test_actions_other_than_pass_drop_reject_alert_are_rejected(action: str) -> None:
    assert only_reason(f"{action} tcp any any -> any any (sid:1;)") == (
        f"unsupported-action:{action}"
    )


@pytest.mark.parametrize("protocol", ["sctp", "ftp-data", "enip", "ike", "quic"])
def test_unsupported_protocols_are_rejected(protocol: str) -> None:
    assert only_reason(f"alert {protocol} any any -> any any (sid:1;)") == (
        f"unsupported-protocol:{protocol}"
    )


@pytest.mark.parametrize(
    "option",
    [
        "dataset:isset,bad,type string",
        "datarep:bad,>,50",
        "iprep:src,BadHosts,>,50",
        "lua:check.lua",
        "filestore",
        'filemagic:"PE32"',
        'filename:"a.exe"',
        "enip_command:99",
        "cip_service:75",
        "threshold:type limit,track by_src,count 1,seconds 60",
        "detection_filter:track by_src,count 5,seconds 60",
        "hostbits:set,bad,track ip_src",
        "geoip:src,RU",
        "ike.exchtype:5",
    ],
)
def test_unsupported_keywords_are_rejected_by_name(option: str) -> None:
    keyword = option.split(":")[0]
    assert only_reason(f'alert tcp any any -> any any (content:"x"; {option}; sid:1;)') == (
        f"unsupported-keyword:{keyword}"
    )


def test_the_unsupported_list_records_its_source_and_date() -> None:
    assert SOURCE_URL.startswith("https://docs.aws.amazon.com/network-firewall/")
    assert {"dataset", "datarep", "iprep", "lua", "threshold", "hostbits"} <= set(
        UNSUPPORTED_KEYWORDS
    )


def test_xbits_tracked_by_ip_is_rejected() -> None:
    reason = only_reason(
        "alert tcp any any -> any any (xbits:set,seen,track ip_src,expire 60; sid:1;)"
    )
    assert reason == "unsupported-keyword:xbits-ip-tracking"


def test_tag_host_is_rejected_but_tag_session_is_accepted() -> None:
    assert only_reason("alert tcp any any -> any any (tag:host,60,seconds,src; sid:1;)") == (
        "unsupported-keyword:tag-host"
    )
    assert check("alert tcp any any -> any any (tag:session,10,packets; sid:1;)").ok


def test_http1_keywords_on_http2_rules_are_rejected() -> None:
    assert only_reason('alert http2 any any -> any any (http.uri; content:"/a"; sid:1;)') == (
        "unsupported-keyword:http2-overload"
    )


@pytest.mark.parametrize(
    ("options", "accepted"),
    [
        ('pcre:"/evil/i";', False),
        ('content:"e"; pcre:"/evil/i";', True),
        ('tls.sni; pcre:"/evil/";', True),
        ('http.host; pcre:"/evil/";', True),
        ('dns.query; pcre:"/evil/";', True),
    ],
)
def test_pcre_needs_content_or_a_domain_buffer(options: str, accepted: bool) -> None:
    result = check(f"alert tls any any -> any any ({options} sid:1;)")
    assert bool(result.accepted) is accepted
    if not accepted:
        assert result.rejected[0].reason == "pcre-without-content"


def test_priority_is_rejected_only_under_strict_order() -> None:
    text = "alert tcp any any -> any any (priority:1; sid:1;)"
    assert only_reason(text) == "priority-in-strict-order"
    assert check(text, strict_order=False).ok


def test_missing_and_invalid_sids_are_rejected() -> None:
    assert only_reason('alert tcp any any -> any any (msg:"no sid";)') == "missing-sid"
    assert only_reason("alert tcp any any -> any any (sid:x1;)") == "invalid-sid"
    assert only_reason("alert tcp any any -> any any (sid:0;)") == "invalid-sid"


def test_duplicate_sid_is_rejected_pointing_at_the_first() -> None:
    result = check(GOOD.format(5) + "\n" + GOOD.format(5))
    assert [r.line for r in result.accepted] == [1]
    [dup] = result.rejected
    assert (dup.reason, dup.where) == ("duplicate-sid", "u.rules:2")
    assert "u.rules:1" in dup.detail


def test_a_rejected_rule_does_not_claim_its_sid() -> None:
    text = "alert tcp any any -> any any (threshold:type limit; sid:5;)\n" + GOOD.format(5)
    result = check(text)
    assert [r.line for r in result.accepted] == [2]


def test_undefined_variables_are_rejected_per_namespace() -> None:
    assert only_reason("alert tcp $SQL_SERVERS any -> any any (sid:1;)") == ("undefined-variable")
    # An IP set name in a port position is undefined: the namespaces are separate.
    assert only_reason("alert tcp any $HTTP_SERVERS -> any any (sid:1;)") == ("undefined-variable")
    assert only_reason("alert tcp any any -> @NOPE any (sid:1;)") == "undefined-variable"
    assert check("alert tcp $HTTP_SERVERS any -> !$HOME_NET $HTTP_PORTS (sid:1;)").ok


def test_rule_too_long_after_variable_expansion() -> None:
    big = RuleVariables.for_home_net([f"10.{i // 256}.{i % 256}.0/24" for i in range(600)])
    text = "alert tcp $HOME_NET any -> $EXTERNAL_NET any (sid:1;)"
    assert len(text) < 100
    result = validate_rules(parse_rules(text), variables=big)
    [rejection] = result.rejected
    assert rejection.reason == "rule-too-long"
    assert str(RULE_LENGTH_MAX) in rejection.detail
    assert check(text).ok  # the same rule with a short HOME_NET fits


def test_more_than_five_ip_set_references_in_a_rule() -> None:
    refs = ",".join(f"@PL{i}" for i in range(6))
    assert only_reason(f"alert tcp [{refs}] any -> any any (sid:1;)") == (
        "too-many-ip-set-references"
    )
    assert check("alert tcp [@PL1,@PL2] any -> any any (sid:1;)").ok


@pytest.mark.parametrize("source", ["10.0.0.5", "$HTTP_SERVERS", "[10.0.0.0/8]", "@PL1"])
def test_behind_nat_a_specific_source_is_rejected(source: str) -> None:
    text = f"drop tcp {source} any -> any 22 (sid:1;)"
    assert only_reason(text, firewall_sees_nat_only=True) == "source-not-visible-behind-nat"
    assert check(text).ok


def test_behind_nat_broad_sources_are_accepted() -> None:
    text = "\n".join(
        f"alert tcp {src} any -> any any (sid:{i};)"
        for i, src in enumerate(["any", "$HOME_NET", "$EXTERNAL_NET"], 1)
    )
    assert len(check(text, firewall_sees_nat_only=True).accepted) == 3


def test_missing_flowbit_setter_is_a_warning_not_a_rejection() -> None:
    text = (
        "alert tcp any any -> any any (flowbits:set,a; flowbits:noalert; sid:1;)\n"
        "alert tcp any any -> any any (flowbits:isset,a; sid:2;)\n"
        "alert tcp any any -> any any (flowbits:isset,b|a; sid:3;)\n"
    )
    result = check(text)
    assert len(result.accepted) == 3
    [warning] = result.warnings
    assert (warning.reason, warning.sid) == ("flowbits-setter-missing", 3)
    assert "b" in warning.detail


def test_disabled_rules_are_set_aside_not_validated() -> None:
    result = check("# log tcp any any -> any any (sid:1;)")
    assert not result.rejected and len(result.disabled) == 1


def test_counts_by_reason_include_malformed_lines() -> None:
    text = "alert tcp any -> any (sid:1;)\nlog tcp any any -> any any (sid:2;)\n"
    result = check(text)
    assert result.counts_by_reason() == {"malformed-rule": 1, "unsupported-action:log": 1}
    assert not result.ok


def test_every_problem_of_a_rule_is_reported() -> None:
    result = check('log sctp any any -> any any (threshold:x; msg:"m";)')
    [rejection] = result.rejected
    assert rejection.reason == "unsupported-action:log"
    assert rejection.other_reasons == (
        "unsupported-protocol:sctp",
        "unsupported-keyword:threshold",
        "missing-sid",
    )
