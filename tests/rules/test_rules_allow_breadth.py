"""Allow entries at or above a shared suffix (`.amazonaws.com`) are refused unless acknowledged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from egress_net import config
from egress_net.errors import ConfigError, ConfigErrors
from egress_net.rules.suffixes import shared_suffix_match
from tests.conftest import hub_config, synth_config


@pytest.mark.parametrize(
    "entry",
    [
        ".amazonaws.com",
        "amazonaws.com",
        ".s3.amazonaws.com",
        "s3.amazonaws.com",  # path-style: any bucket
        "s3.us-east-1.amazonaws.com",
        ".s3.eu-west-1.amazonaws.com",
        ".us-east-1.amazonaws.com",  # holds s3.us-east-1.amazonaws.com
        ".execute-api.us-east-1.amazonaws.com",
        ".dkr.ecr.us-east-1.amazonaws.com",  # anyone's registry
        ".eu-west-1.elb.amazonaws.com",
        ".cloudfront.net",
        ".github.io",
        ".herokuapp.com",
        ".lambda-url.us-east-1.on.aws",
        ".windows.net",  # above blob.core.windows.net
    ],
)
def test_too_broad(entry: str) -> None:
    assert shared_suffix_match(entry) is not None


@pytest.mark.parametrize(
    "entry",
    [
        "sts.us-east-1.amazonaws.com",
        "api.ecr.us-east-1.amazonaws.com",
        ".sts.us-east-1.amazonaws.com",
        "my-bucket.s3.amazonaws.com",
        "my-bucket.s3.us-east-1.amazonaws.com",
        ".my-bucket.s3.us-east-1.amazonaws.com",
        "d111111abcdef8.cloudfront.net",
        ".myorg.github.io",
        "pypi.org",
        ".github.com",
    ],
)
def test_one_owner(entry: str) -> None:
    assert shared_suffix_match(entry) is None


def _errors(values: dict[str, Any]) -> list[ConfigError]:
    with pytest.raises(ConfigErrors) as caught:
        config.validate(config.from_pulumi_config(values))
    return caught.value.errors


def test_amazonaws_in_an_allowlist_is_refused_with_narrower_entries() -> None:
    [error] = _errors(
        hub_config(rules={"allowDomains": {"domains": ["pypi.org", ".amazonaws.com"]}})
    )
    assert error.where == "egress-net:rules.allowDomains.domains[1]"
    assert "shared suffix amazonaws.com" in error.problem
    assert "sts.us-east-1.amazonaws.com" in error.hint
    assert "my-bucket.s3.us-east-1.amazonaws.com" in error.hint
    assert "acknowledgeSharedSuffix" in error.hint


def test_a_spokes_own_list_is_checked_too() -> None:
    spokes = [{"name": "app", "cidr": "10.1.0.0/16", "allowDomains": ["a.b.c", ".github.io"]}]
    [error] = _errors(hub_config(spokes=spokes))
    assert error.where == "egress-net:spokes[0].allowDomains[1]"
    assert "my-app.github.io" in error.hint


def test_an_acknowledged_entry_is_accepted_and_a_stale_one_is_not() -> None:
    allow = {
        "domains": [".s3.us-east-1.amazonaws.com"],
        "acknowledgeSharedSuffix": {
            ".s3.us-east-1.amazonaws.com": "legacy job, moving to a VPC endpoint",
        },
    }
    cfg = config.validate(config.from_pulumi_config(hub_config(rules={"allowDomains": allow})))
    assert cfg.domain_allowlist == [".s3.us-east-1.amazonaws.com"]
    stale = {**allow, "acknowledgeSharedSuffix": {".cloudfront.net": "old"}}
    errors = _errors(hub_config(rules={"allowDomains": stale}))
    assert [e.where for e in errors] == [
        "egress-net:rules.allowDomains.domains[0]",
        "egress-net:rules.allowDomains.acknowledgeSharedSuffix",
    ]
    empty = {**allow, "acknowledgeSharedSuffix": {".s3.us-east-1.amazonaws.com": " "}}
    [error] = _errors(hub_config(rules={"allowDomains": empty}))
    assert "reason" in error.problem


def test_a_deny_list_needs_no_acknowledgement() -> None:
    deny = {"domains": [".amazonaws.com"], "acknowledgeSharedSuffix": {".amazonaws.com": "x"}}
    [error] = _errors(hub_config(rules={"denyDomains": deny}))
    assert error.where == "egress-net:rules.denyDomains.acknowledgeSharedSuffix"
    ok = {"denyDomains": {"domains": [".amazonaws.com"]}}
    config.validate(config.from_pulumi_config(hub_config(rules=ok)))


def test_refused_before_any_resource() -> None:
    with pytest.raises(ConfigError) as caught:
        synth_config(hub_config(rules={"allowDomains": {"domains": [".amazonaws.com"]}}))
    assert isinstance(caught.value, ConfigErrors)
    assert [r.type for r in caught.value.registered if not r.type.startswith("pulumi:")] == []


def test_no_shipped_stack_or_doc_allows_a_shared_suffix(repo: Path) -> None:
    for path in sorted(repo.glob("Pulumi.*.yaml")):
        values = yaml.safe_load(path.read_text())["config"]
        rules = values.get("egress-net:rules") or {}
        lists = [(rules.get("allowDomains") or {}).get("domains", [])]
        lists += [s.get("allowDomains", []) for s in values.get("egress-net:spokes") or []]
        for entries in lists:
            assert [e for e in entries if shared_suffix_match(e)] == [], path.name
    for doc in ("README.md", "docs/rules.md"):
        text = (repo / doc).read_text()
        assert "domains: [.amazonaws.com" not in text and "- .amazonaws.com" not in text, doc


@pytest.mark.parametrize(
    ("ports", "where"),
    [
        ({"tls": ["99999"]}, "egress-net:rules.allowDomainPorts.tls[0]"),
        ({"http": ["80-90"]}, "egress-net:rules.allowDomainPorts.http[0]"),
        ({"quic": ["443"]}, "egress-net:rules.allowDomainPorts.quic"),
    ],
)
def test_bad_allow_domain_ports_name_their_key(ports: dict[str, Any], where: str) -> None:
    [error] = _errors(hub_config(rules={"allowDomainPorts": ports}))
    assert error.where == where
