"""Learning the allowlist: names per spoke, IP-only destinations, wildcards, the diff."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from egress_net.allowlist import (
    ALLOWLIST_KEY_PATH,
    UNMAPPED_SPOKE,
    IpDestination,
    Learner,
    Spoke,
    SpokeMap,
    allowlist_snippet,
    diff_allowlist,
    entry_covers,
    normalize_name,
    parse_spoke_option,
    propose_entries,
    read_current_allowlist,
)
from egress_net.errors import ConfigError

SPOKES = SpokeMap([Spoke("app", "10.1.0.0/16"), Spoke("data", "10.2.0.0/16")])


def record(
    src: str = "10.1.0.5",
    dest: str = "93.184.216.34",
    port: int | str = 443,
    sni: str | None = None,
    host: str | None = None,
    ts: int | str = "1700000000",
    event_type: str = "tls",
) -> str:
    event: dict[str, Any] = {
        "event_type": event_type,
        "src_ip": src,
        "dest_ip": dest,
        "dest_port": port,
        "proto": "TCP",
    }
    if sni is not None:
        event["tls"] = {"sni": sni}
    if host is not None:
        event["http"] = {"hostname": host}
    return json.dumps({"firewall_name": "hub", "event_timestamp": ts, "event": event})


@dataclass
class ListSource:
    """Lines held in memory, standing in for a file."""

    lines_: list[str]
    name: str = "test.log"

    def describe(self) -> str:
        return self.name

    def size_hint(self) -> int | None:
        return None

    def lines(self, on_bytes: Any) -> Iterator[bytes]:
        for line in self.lines_:
            yield line.encode()


def learn(lines: list[str], spokes: SpokeMap = SPOKES) -> Learner:
    learner = Learner(spokes)
    learner.read([ListSource(lines)])
    return learner


# ---- names ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Example.COM", "example.com"),
        ("example.com.", "example.com"),  # trailing dot of a fully qualified name
        ("api.example.com:8443", "api.example.com"),  # Host header with a port
        (" www.example.org ", "www.example.org"),
        ("93.184.216.34", None),  # IP address as host name
        ("[2001:db8::1]:443", None),
        ("2001:db8::1", None),
        ("localhost", None),  # single label: not an internet name
        ("bad name.com", None),
        ("-bad.example.com", None),
        ("", None),
    ],
)
def test_normalize_name(raw: str, expected: str | None) -> None:
    assert normalize_name(raw) == expected


@pytest.mark.parametrize(
    ("entry", "name", "covers"),
    [
        (".example.com", "example.com", True),
        (".example.com", "a.b.example.com", True),
        (".example.com", "badexample.com", False),
        ("example.com", "www.example.com", False),
        ("example.com", "example.com", True),
    ],
)
def test_entry_covers(entry: str, name: str, covers: bool) -> None:
    assert entry_covers(entry, name) is covers


# ---- learning from records --------------------------------------------------------------------


def test_names_per_spoke_with_counts_and_first_last_seen() -> None:
    learner = learn(
        [
            record(sni="api.example.com", ts="1700000300"),
            record(sni="API.example.com.", ts=1700000100),  # same name, other spelling
            record(src="10.2.0.9", host="pypi.org:443", event_type="alert", ts="1700000200"),
        ]
    )
    seen = learner.names[("app", "api.example.com")]
    assert (seen.count, seen.first, seen.last, seen.kinds) == (2, 1700000100, 1700000300, {"tls"})
    assert learner.names[("data", "pypi.org")].kinds == {"http"}
    assert set(learner.names_overall()) == {"api.example.com", "pypi.org"}


def test_same_name_from_two_spokes_adds_up_overall() -> None:
    learner = learn([record(sni="a.example.com"), record(src="10.2.0.1", sni="a.example.com")])
    assert learner.names_overall()["a.example.com"].count == 2
    assert {spoke for spoke, _ in learner.names} == {"app", "data"}


def test_ip_only_destinations_are_listed_apart() -> None:
    learner = learn(
        [
            record(dest="203.0.113.7", port=8883, event_type="netflow"),
            record(dest="203.0.113.7", port="8883", event_type="netflow"),
            record(dest="198.51.100.1", sni="198.51.100.1"),  # SNI that is an IP address
        ]
    )
    ip_only = learner.ip_only()
    assert ip_only[("app", IpDestination("203.0.113.7", 8883, "TCP"))].count == 2
    assert ("app", IpDestination("198.51.100.1", 443, "TCP")) in ip_only
    assert learner.names == {}
    assert learner.stats.unnamed_hosts == 1


def test_flow_records_of_named_destinations_are_not_ip_only() -> None:
    learner = learn(
        [
            record(dest="93.184.216.34", event_type="netflow"),
            record(dest="93.184.216.34", sni="example.com"),
        ]
    )
    assert learner.ip_only() == {}


def test_reply_direction_and_spoke_to_spoke_are_not_egress() -> None:
    learner = learn(
        [
            record(src="93.184.216.34", dest="10.1.0.5", event_type="netflow"),  # reply
            record(src="10.1.0.5", dest="10.2.0.7", sni="db.internal.example"),  # east-west
        ]
    )
    assert learner.names == {} and learner.ip_flows == {}
    assert (learner.stats.replies, learner.stats.east_west) == (1, 1)


def test_source_in_no_spoke_is_unmapped() -> None:
    learner = learn([record(src="192.168.9.9", sni="example.net")])
    assert (UNMAPPED_SPOKE, "example.net") in learner.names


def test_without_spokes_everything_is_unmapped() -> None:
    learner = learn([record(sni="example.net")], spokes=SpokeMap([]))
    assert list(learner.names) == [(UNMAPPED_SPOKE, "example.net")]


def test_most_specific_spoke_cidr_wins() -> None:
    spokes = SpokeMap([Spoke("wide", "10.0.0.0/8"), Spoke("narrow", "10.1.2.0/24")])
    assert spokes.spoke_of("10.1.2.3") == "narrow"
    assert spokes.spoke_of("10.9.0.1") == "wide"
    assert spokes.spoke_of("not-an-ip") is None


def test_corrupt_lines_are_counted_with_their_line_number() -> None:
    learner = learn([record(sni="a.example.com"), "{oops", "", record(sni="b.example.com")])
    assert learner.stats.corrupt == 1
    assert learner.stats.corrupt_examples[0].startswith("test.log:2: not JSON")
    assert learner.stats.lines == 4 and learner.stats.records == 2
    assert len(learner.names) == 2


def test_corrupt_examples_are_bounded() -> None:
    learner = learn(["{"] * 50)
    assert learner.stats.corrupt == 50
    assert len(learner.stats.corrupt_examples) == Learner.MAX_CORRUPT_EXAMPLES


def test_state_does_not_grow_with_repeated_lines() -> None:
    lines = [record(sni=f"s{i % 7}.example.com", ts=1700000000 + i) for i in range(3000)]
    small, large = learn(lines[:300]), learn(lines)
    assert len(small.names) == len(large.names) == 7
    assert large.names_overall()["s0.example.com"].count == 429


def test_ip_only_table_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Learner, "MAX_IP_DESTINATIONS", 3)
    lines = [record(dest=f"203.0.113.{i}", event_type="netflow") for i in range(10)]
    learner = learn([*lines, lines[0]])
    assert len(learner.ip_flows) == 3 and learner.stats.ip_overflow == 7
    assert learner.ip_flows[("app", IpDestination("203.0.113.0", 443, "TCP"))].count == 2


# ---- proposal ---------------------------------------------------------------------------------


def test_wildcard_only_at_the_threshold() -> None:
    two = ["a.example.com", "b.example.com"]
    assert propose_entries(two, threshold=3) == two
    assert propose_entries([*two, "c.example.com"], threshold=3) == [".example.com"]


def test_deepest_parent_that_meets_the_threshold() -> None:
    names = ["a.cdn.example.com", "b.cdn.example.com", "c.cdn.example.com", "www.example.com"]
    assert propose_entries(names, threshold=3) == [".cdn.example.com", "www.example.com"]


CDN = ["a.cdn.x.com", "b.cdn.x.com", "c.cdn.x.com"]


def test_names_under_a_deeper_wildcard_do_not_count_for_its_parent() -> None:
    # x.com has cdn, api and www below it, but cdn is already .cdn.x.com: two remain
    names = [*CDN, "api.x.com", "www.x.com"]
    assert propose_entries(names, threshold=3) == ["api.x.com", ".cdn.x.com", "www.x.com"]


def test_a_deeper_wildcard_base_itself_does_not_count_for_its_parent() -> None:
    names = [*CDN, "cdn.x.com", "api.x.com", "www.x.com"]
    assert propose_entries(names, threshold=3) == ["api.x.com", ".cdn.x.com", "www.x.com"]


def test_sibling_wildcards_alone_do_not_make_the_parent_wildcard() -> None:
    names = [f"{a}.{b}.x.com" for a in "abc" for b in ("cdn", "img", "static")]
    assert propose_entries(names, threshold=3) == [".cdn.x.com", ".img.x.com", ".static.x.com"]


def test_wider_spread_gives_the_wider_wildcard() -> None:
    # three labels below x.com besides cdn: x.com earns .x.com, which replaces .cdn.x.com
    names = [*CDN, "api.x.com", "www.x.com", "mail.x.com"]
    assert propose_entries(names, threshold=3) == [".x.com"]


def test_uncovered_deeper_names_count_by_their_label_below_the_parent() -> None:
    # no wildcard below x.com (one name each under p, q), so p, q and r all count for x.com
    names = ["a.p.x.com", "b.q.x.com", "r.x.com"]
    assert propose_entries(names, threshold=3) == [".x.com"]


def test_no_wildcard_on_a_top_level_domain() -> None:
    names = ["a.com", "b.com", "c.com", "d.com"]
    assert propose_entries(names, threshold=2) == names


def test_no_wildcard_under_shared_hosting_suffixes() -> None:
    buckets = [f"bucket{i}.s3.us-east-1.amazonaws.com" for i in range(5)]
    uk = ["a.co.uk", "b.co.uk", "c.co.uk"]
    assert propose_entries(buckets + uk, threshold=3) == sorted(
        [*uk, *buckets], key=lambda n: ".".join(reversed(n.split(".")))
    )


def test_threshold_zero_turns_wildcards_off() -> None:
    names = ["a.example.com", "b.example.com", "c.example.com"]
    assert propose_entries(names, threshold=0) == names


def test_diff_keeps_used_entries_adds_new_and_reports_unused() -> None:
    diff = diff_allowlist(
        ["www.example.com", "api.github.com", "pypi.org"],
        current=[".example.com", "pypi.org", "old.example.net"],
    )
    assert diff.added == ["api.github.com"]
    assert diff.kept == [".example.com", "pypi.org"]
    assert diff.unused == ["old.example.net"]
    assert diff.covered_by["www.example.com"] == ".example.com"
    assert diff.proposed == [".example.com", "api.github.com", "pypi.org"]


def test_diff_can_keep_unused_entries() -> None:
    diff = diff_allowlist(["pypi.org"], current=["old.example.net"], keep_unused=True)
    assert diff.proposed == ["old.example.net", "pypi.org"]


def test_diff_proposes_wildcards_only_for_uncovered_names() -> None:
    names = ["a.example.com", "b.example.com", "c.example.com", "x.other.org"]
    diff = diff_allowlist(names, current=["a.example.com"], threshold=3)
    # a.example.com is already allowed: only two new subdomains remain below the threshold
    assert diff.added == ["b.example.com", "c.example.com", "x.other.org"]


def test_snippet_uses_the_stack_key_path() -> None:
    snippet = allowlist_snippet([".example.com", "pypi.org"])
    data = yaml.safe_load(snippet)
    node = data
    for key in ALLOWLIST_KEY_PATH:
        node = node[key]
    assert node == [".example.com", "pypi.org"]
    assert snippet.startswith("egress-net:rules:\n")


# ---- current allowlist ------------------------------------------------------------------------


def test_current_from_a_stack_config_file() -> None:
    text = (
        "config:\n  aws:region: us-east-1\n  egress-net:rules:\n"
        "    allowDomains:\n      domains:\n        - .Example.com\n        - pypi.org.\n"
    )
    assert read_current_allowlist(text, "Pulumi.prod.yaml") == [".example.com", "pypi.org"]


def test_current_from_a_snippet_a_list_or_lines() -> None:
    snippet = allowlist_snippet(["a.example.com"])
    assert read_current_allowlist(snippet, "f") == ["a.example.com"]
    assert read_current_allowlist("- a.example.com\n- .b.org\n", "f") == ["a.example.com", ".b.org"]
    lines = "# allowed\na.example.com\n\n.b.org  # all of b\n"
    assert read_current_allowlist(lines, "f") == ["a.example.com", ".b.org"]
    assert read_current_allowlist("", "f") == []


@pytest.mark.parametrize(
    ("text", "where", "problem"),
    [
        ("- a.example.com\n- 10.0.0.1\n", "f[1]", "not a domain name"),
        ("- 42\n", "f[0]", "not a string"),
        ("config:\n  aws:region: x\n", "f", "no egress-net:rules → allowDomains → domains"),
        ("egress-net:rules:\n  allowDomains:\n    domains: text\n", "f", "not a list"),
        ("key: [unclosed\n", "f", "not valid YAML"),
    ],
)
def test_bad_current_allowlist_is_a_clear_error(text: str, where: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        read_current_allowlist(text, "f")
    assert caught.value.where == where and problem in caught.value.problem


@pytest.mark.parametrize("text", ["app", "app=", "=10.0.0.0/8", "app=10.0.0.300/8"])
def test_bad_spoke_option_is_a_clear_error(text: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_spoke_option(text)
    assert caught.value.where == "--spoke"


def test_spoke_option() -> None:
    assert parse_spoke_option(" app = 10.1.0.0/16") == Spoke("app", "10.1.0.0/16")
