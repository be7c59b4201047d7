"""The Suricata parser on small hand-written cases."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from egress_net.rules import ParsedRule, ParseFailure, parse_rules

SIMPLE = (
    'alert http $HOME_NET any -> $EXTERNAL_NET $HTTP_PORTS (msg:"ET test \\"quoted\\""; '
    'flow:established,to_server; content:"GET"; http.method; nocase; sid:2000001; rev:3;)'
)


def only_rule(text: str) -> ParsedRule:
    [rule] = parse_rules(text, filename="t.rules")
    assert isinstance(rule, ParsedRule), rule
    return rule


def test_header_fields_and_ordered_options() -> None:
    rule = only_rule(SIMPLE)
    assert (rule.action, rule.protocol, rule.src, rule.src_port) == (
        "alert",
        "http",
        "$HOME_NET",
        "any",
    )
    assert (rule.direction, rule.dst, rule.dst_port) == ("->", "$EXTERNAL_NET", "$HTTP_PORTS")
    assert [name for name, _ in rule.options] == [
        "msg",
        "flow",
        "content",
        "http.method",
        "nocase",
        "sid",
        "rev",
    ]
    assert rule.option_values("content") == ['"GET"']
    assert rule.option_values("nocase") == [None]
    assert (rule.sid, rule.rev, rule.gid) == (2000001, 3, 1)
    assert rule.msg == 'ET test \\"quoted\\"'
    assert rule.where == "t.rules:1" and rule.enabled


def test_commented_rule_is_disabled_and_prose_comment_is_skipped() -> None:
    text = "# This file blocks things (see docs)\n#alert tcp any any -> any any (sid:7;)\n"
    results = parse_rules(text, filename="f.rules")
    assert len(results) == 1
    rule = results[0]
    assert isinstance(rule, ParsedRule)
    assert not rule.enabled and rule.sid == 7 and rule.line == 2


def test_backslash_continuation_joins_lines_and_keeps_first_line_number() -> None:
    text = (
        "\n"
        "drop tcp $HOME_NET any -> any 23 \\\n"
        '   (msg:"telnet"; \\\n'
        "    sid:5; rev:1;)\n"
        "pass tcp any any -> any 22 (sid:6;)\n"
    )
    first, second = parse_rules(text, filename="c.rules")
    assert isinstance(first, ParsedRule) and isinstance(second, ParsedRule)
    assert first.line == 2 and first.sid == 5 and first.msg == "telnet"
    assert second.line == 5


def test_bracketed_and_nested_address_lists_stay_one_field() -> None:
    rule = only_rule(
        "alert ip [10.0.0.0/8, ![10.1.0.0/16, 10.2.0.0/16]] any -> ![1.1.1.1,2.2.2.2] "
        "[80, 443] (sid:9;)"
    )
    assert rule.src == "[10.0.0.0/8, ![10.1.0.0/16, 10.2.0.0/16]]"
    assert rule.dst == "![1.1.1.1,2.2.2.2]"
    assert rule.dst_port == "[80, 443]"


def test_escaped_semicolon_stays_inside_the_value() -> None:
    rule = only_rule('alert tcp any any -> any any (content:"a\\;b"; pcre:"/x\\\\/"; sid:1;)')
    assert rule.option_values("content") == ['"a\\;b"']
    # An escaped backslash before ';' does not escape the ';'.
    assert rule.option_values("pcre") == ['"/x\\\\/"']
    assert rule.sid == 1


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("alert tcp any any -> any any sid:1;", "missing '('"),
        ("alert tcp any any -> any any (sid:1;", "missing '('"),
        ("alert tcp any -> any any (sid:1;)", "header has 6 fields"),
        ("alert tcp any any => any any (sid:1;)", "direction must be"),
        ("alert tcp any any <- any any (sid:1;)", "direction must be"),
        ('alert tcp any any -> any any (msg:"x"; sid:1)', "not terminated by ';'"),
        ('alert tcp any any -> any any (msg:"x";; sid:1;)', "empty option"),
        ("alert tcp [1.1.1.1 any -> any any (sid:1;)", "unbalanced '['"),
    ],
)
def test_malformed_enabled_rule_is_a_parse_failure_with_file_and_line(
    text: str, problem: str
) -> None:
    [failure] = parse_rules("# header\n" + text, filename="bad.rules")
    assert isinstance(failure, ParseFailure)
    assert failure.where == "bad.rules:2"
    assert problem in failure.problem


def test_malformed_commented_line_is_treated_as_a_comment() -> None:
    assert parse_rules("# alert this is prose (not a rule)\n", filename="x.rules") == []


def test_non_numeric_sid_parses_but_has_no_sid() -> None:
    rule = only_rule("alert tcp any any -> any any (sid:abc;)")
    assert rule.sid is None and rule.has_option("sid")


def test_rules_layer_imports_only_the_standard_library() -> None:
    # The rule-sync Lambda has only the stdlib and boto3: no pulumi, pydantic or PyYAML.
    import subprocess
    import sys

    code = (
        "import sys, egress_net.rules, egress_net.rules.report, egress_net.rules.policy\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'pulumi', 'pulumi_aws', 'pydantic', 'yaml', 'idstools'})\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_disabled_rule_options_are_read_on_demand() -> None:
    [rule] = parse_rules('# alert tcp any any -> any any (msg:"off"; sid:3; rev:2;)')
    assert isinstance(rule, ParsedRule) and not rule.enabled
    assert (rule.sid, rule.rev, rule.msg) == (3, 2, "off")
    assert [name for name, _ in rule.options] == ["msg", "sid", "rev"]
    [broken] = parse_rules('# alert tcp any any -> any any (msg:"x"; sid:3)')
    assert isinstance(broken, ParsedRule) and broken.options == () and broken.sid is None


_NAMES = st.sampled_from(["content", "nocase", "msg", "flow", "pcre", "http.uri", "metadata"])
_VALUE_CHARS = st.characters(
    codec="ascii", exclude_characters=";\\\r\n", exclude_categories=("Cc",)
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(_NAMES, st.none() | st.text(_VALUE_CHARS, min_size=1, max_size=20)),
        max_size=8,
    ),
    st.integers(min_value=1, max_value=10**9),
)
def test_options_round_trip(options: list[tuple[str, str | None]], sid: int) -> None:
    # Values are stripped, as Suricata does; an all-blank value reads as empty.
    rendered = " ".join(f"{n}:{v};" if v is not None else f"{n};" for n, v in options)
    rule = only_rule(f"alert tcp any any -> any any ({rendered} sid:{sid};)")
    expected = [(n, v.strip() if v is not None else None) for n, v in options]
    assert list(rule.options) == [*expected, ("sid", str(sid))]
    assert rule.sid == sid


def test_a_byte_order_mark_does_not_spoil_the_first_rule() -> None:
    (rule,) = parse_rules('\ufeffalert tcp any any -> any any (msg:"x"; sid:1;)\n')
    assert isinstance(rule, ParsedRule) and rule.action == "alert"
