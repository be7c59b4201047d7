"""Every kind of bad stack config gives a ConfigError naming the key, and no resource."""

from __future__ import annotations

from typing import Any

import pytest

from egress_net import config
from egress_net.errors import ConfigError, ConfigErrors
from egress_net.program import ProgramError

from .conftest import hub_config, synth_config

SPOKE_A = {"name": "app", "cidr": "10.1.0.0/16"}


def _synth_error(values: dict[str, Any]) -> ConfigErrors:
    with pytest.raises(ConfigError) as caught:
        synth_config(values)
    err = caught.value
    assert isinstance(err, ConfigErrors)
    # Nothing was declared: not one AWS resource or component.
    assert [r.type for r in err.registered if not r.type.startswith("pulumi:")] == []
    return err


def _keys(err: ConfigErrors) -> list[str]:
    return [e.where for e in err.errors]


CASES: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "malformed CIDR",
        {"spokes": [{"name": "app", "cidr": "10.1.0/16"}]},
        "egress-net:spokes[0].cidr",
        "not a CIDR block",
    ),
    (
        "host bits set",
        {"spokes": [{"name": "app", "cidr": "10.1.0.1/16"}]},
        "egress-net:spokes[0].cidr",
        "did you mean 10.1.0.0/16",
    ),
    (
        "spoke overlaps another spoke",
        {"spokes": [SPOKE_A, {"name": "data", "cidr": "10.1.128.0/17"}]},
        "egress-net:spokes[1].cidr",
        "overlaps spokes[0] (app)",
    ),
    (
        "spoke overlaps the egress VPC",
        {"egressVpcCidr": "10.1.0.0/24", "spokes": [{"name": "app", "cidr": "10.1.0.0/16"}]},
        "egress-net:spokes[0].cidr",
        "overlaps egressVpcCidr 10.1.0.0/24",
    ),
    (
        "egress VPC overlaps the supernets",
        {"egressVpcCidr": "10.255.0.0/24"},
        "egress-net:egressVpcCidr",
        "overlaps spokeSupernets[0]",
    ),
    (
        "spoke outside the supernets",
        {"spokes": [{"name": "app", "cidr": "192.168.0.0/16"}]},
        "egress-net:spokes[0].cidr",
        "outside the spoke supernets 10.0.0.0/8",
    ),
    (
        "egress VPC too small",
        {"egressVpcCidr": "100.64.0.0/26"},
        "egress-net:egressVpcCidr",
        "need a /24 or larger",
    ),
    (
        "spoke VPC too small",
        {"spokes": [{"name": "app", "cidr": "10.1.0.0/25"}]},
        "egress-net:spokes[0].cidr",
        "need a /23 or larger",
    ),
    (
        "AZ name instead of AZ ID",
        {"azIds": ["use1-az1", "us-east-1b"]},
        "egress-net:azIds[1]",
        "not an AZ ID",
    ),
    (
        "AZ of another region",
        {"azIds": ["use1-az1", "usw2-az1"]},
        "egress-net:azIds[1]",
        "not in region us-east-1",
    ),
    ("duplicate AZ", {"azIds": ["use1-az1", "use1-az1"]}, "egress-net:azIds[1]", "listed twice"),
    ("no AZ", {"azIds": []}, "egress-net:azIds", "0 AZs given"),
    (
        "seven AZs",
        {"azIds": [f"use1-az{i}" for i in range(1, 8)]},
        "egress-net:azIds",
        "7 AZs given",
    ),
    (
        "duplicate spoke names",
        {"spokes": [SPOKE_A, {"name": "app", "cidr": "10.2.0.0/16"}]},
        "egress-net:spokes[1].name",
        "already the name of spokes[0]",
    ),
    (
        "invalid spoke name",
        {"spokes": [{"name": "App_1", "cidr": "10.2.0.0/16"}]},
        "egress-net:spokes[0].name",
        "not a valid spoke name",
    ),
    (
        "wildcard domain",
        {"rules": {"allowDomains": {"domains": ["pypi.org", "*.github.com"]}}},
        "egress-net:rules.allowDomains.domains[1]",
        "'*.github.com': use '.example.com'",
    ),
    (
        "URL instead of domain",
        {"rules": {"denyDomains": {"domains": ["https://pypi.org/simple"]}}},
        "egress-net:rules.denyDomains.domains[0]",
        "host name only",
    ),
    (
        "IP address as domain",
        {"rules": {"allowDomains": {"domains": ["192.0.2.10"]}}},
        "egress-net:rules.allowDomains.domains[0]",
        "use a 5-tuple rule",
    ),
    (
        "invalid account ID",
        {
            "spokes": [
                {
                    "name": "app",
                    "cidr": "10.1.0.0/16",
                    "accountId": "12345",
                    "roleArn": "arn:aws:iam::123456789012:role/deploy",
                }
            ]
        },
        "egress-net:spokes[0].accountId",
        "not an AWS account ID",
    ),
    (
        "account ID as YAML number",
        {"spokes": [{"name": "app", "cidr": "10.1.0.0/16", "accountId": 123456789012}]},
        "egress-net:spokes[0].accountId",
        "valid string",
    ),
    (
        "invalid role ARN",
        {"spokes": [{"name": "app", "cidr": "10.1.0.0/16", "roleArn": "arn:aws:iam::1234:user/x"}]},
        "egress-net:spokes[0].roleArn",
        "not an IAM role ARN",
    ),
    (
        "role in another account than accountId",
        {
            "share": {"principals": ["123456789012"]},
            "spokes": [
                {
                    "name": "app",
                    "cidr": "10.1.0.0/16",
                    "accountId": "123456789012",
                    "roleArn": "arn:aws:iam::210987654321:role/deploy",
                }
            ],
        },
        "egress-net:spokes[0].roleArn",
        "role is in account 210987654321",
    ),
    (
        "account without role",
        {
            "share": {"principals": ["123456789012"]},
            "spokes": [{"name": "app", "cidr": "10.1.0.0/16", "accountId": "123456789012"}],
        },
        "egress-net:spokes[0].roleArn",
        "required when accountId is set",
    ),
    (
        "spoke account not shared with",
        {
            "spokes": [
                {
                    "name": "app",
                    "cidr": "10.1.0.0/16",
                    "roleArn": "arn:aws:iam::123456789012:role/deploy",
                }
            ]
        },
        "egress-net:share.principals",
        "not shared",
    ),
    (
        "bad RAM principal",
        {"share": {"principals": ["o-abc"]}},
        "egress-net:share.principals",
        "not an account ID",
    ),
    (
        "typo in a top-level key",
        {"spokeSupernet": ["10.0.0.0/8"]},
        "egress-net:spokeSupernet",
        "unknown key",
    ),
    (
        "typo in a nested key",
        {"firewall": {"mode": "drop", "protection": False}},
        "egress-net:firewall.protection",
        "unknown key",
    ),
    (
        "unknown firewall mode",
        {"firewall": {"mode": "block"}},
        "egress-net:firewall.mode",
        "'drop' or 'alert'",
    ),
    (
        "bad log retention",
        {"logs": {"retentionDays": 10}},
        "egress-net:logs.retentionDays",
        "not a CloudWatch",
    ),
    (
        "spoke key on a hub",
        {"hubStack": "acme/egress-net/prod"},
        "egress-net:hubStack",
        "only for role: spoke",
    ),
    (
        "missing egress VPC",
        {"egressVpcCidr": None},
        "egress-net:egressVpcCidr",
        "required for model egress-only",
    ),
    ("bad region", {"aws:region": "mars-1"}, "aws:region", "not an AWS region"),
    ("no region", {"aws:region": None}, "aws:region", "required"),
    (
        # The deployment uses the provider's aws:region; a namespaced copy would be ignored.
        "region under the egress-net namespace",
        {"aws:region": None, "region": "eu-central-1"},
        "egress-net:region",
        "unknown key",
    ),
    (
        "centralized inspection without an inspection VPC",
        {"model": "centralized-inspection"},
        "egress-net:inspectionVpcCidr",
        "required for model centralized-inspection",
    ),
    (
        "inspection VPC overlapping the egress VPC",
        {"model": "centralized-inspection", "inspectionVpcCidr": "100.64.0.0/24"},
        "egress-net:inspectionVpcCidr",
        "overlaps egressVpcCidr",
    ),
    (
        "egress VPC in the distributed model",
        {"model": "distributed"},
        "egress-net:egressVpcCidr",
        "not used by model distributed",
    ),
    (
        "after-nat with centralized inspection",
        {
            "model": "centralized-inspection",
            "inspectionVpcCidr": "100.64.2.0/24",
            "placement": "after-nat",
        },
        "egress-net:placement",
        "only for egress-only, distributed and combined",
    ),
    (
        "single TGW table without accepting the bypass",
        {"transitGateway": {"routeTables": "single"}},
        "egress-net:transitGateway.routeTables",
        "bypasses the firewall",
    ),
    (
        "single TGW table in centralized inspection",
        {
            "model": "centralized-inspection",
            "inspectionVpcCidr": "100.64.2.0/24",
            "transitGateway": {"routeTables": "single", "acceptSpokeToSpokeBypass": True},
        },
        "egress-net:transitGateway.routeTables",
        "only for egress-only and combined",
    ),
    (
        "per-spoke model outside combined",
        {"spokes": [{"name": "app", "cidr": "10.1.0.0/16", "model": "distributed"}]},
        "egress-net:spokes[0].model",
        "only for model combined",
    ),
    (
        "TGW spoke in the distributed model",
        {
            "model": "distributed",
            "egressVpcCidr": None,
            "spokes": [{"name": "app", "cidr": "10.1.0.0/16", "model": "tgw"}],
        },
        "egress-net:spokes[0].model",
        "has no Transit Gateway",
    ),
    (
        "distributed spoke too small for its firewall and public subnets",
        {
            "model": "distributed",
            "egressVpcCidr": None,
            "spokes": [{"name": "app", "cidr": "10.1.0.0/23"}],
        },
        "egress-net:spokes[0].cidr",
        "need a /22 or larger",
    ),
    ("unknown model", {"model": "mesh"}, "egress-net:model", "'egress-only'"),
    ("bad stack account", {"accountId": "1234"}, "egress-net:accountId", "not an AWS account ID"),
    (
        "public ASN for the TGW",
        {"transitGateway": {"amazonSideAsn": 70000}},
        "egress-net:transitGateway.amazonSideAsn",
        "not a private ASN",
    ),
    (
        "spoke named like the hub",
        {"spokes": [{"name": "hub-inspection", "cidr": "10.1.0.0/16"}]},
        "egress-net:spokes[0].name",
        "is reserved",
    ),
    (
        "TGW in another account with auto-accept",
        {
            "transitGateway": {
                "ownerRoleArn": "arn:aws:iam::444455556666:role/net",
                "autoAccept": True,
            }
        },
        "egress-net:transitGateway.autoAccept",
        "accepts every attachment explicitly",
    ),
    (
        "distributed spoke in another account",
        {
            "model": "combined",
            "spokes": [
                {
                    "name": "app",
                    "cidr": "10.1.0.0/16",
                    "model": "distributed",
                    "roleArn": "arn:aws:iam::123456789012:role/deploy",
                }
            ],
        },
        "egress-net:spokes[0].roleArn",
        "hub's firewall policy",
    ),
    (
        "TGW owner role that is not a role ARN",
        {"transitGateway": {"ownerRoleArn": "444455556666"}},
        "egress-net:transitGateway.ownerRoleArn",
        "not an IAM role ARN",
    ),
    (
        "per-spoke domains after the NAT gateway",
        {
            "placement": "after-nat",
            "spokes": [{"name": "app", "cidr": "10.1.0.0/16", "allowDomains": ["api.example.com"]}],
        },
        "egress-net:spokes[0].allowDomains",
        "sees NAT addresses only",
    ),
    (
        "bad per-spoke domain",
        {"spokes": [{"name": "app", "cidr": "10.1.0.0/16", "allowDomains": ["*.example.com"]}]},
        "egress-net:spokes[0].allowDomains[0]",
        "instead of '*.example.com'",
    ),
    (
        "TLS inspection with a certificate that is not in ACM",
        {
            "firewall": {
                "tlsInspection": {
                    "certificateAuthorityArn": "arn:aws:iam::111122223333:server-certificate/ca"
                }
            }
        },
        "egress-net:firewall.tlsInspection.certificateAuthorityArn",
        "not an ACM certificate ARN",
    ),
    (
        "TLS inspection without a CA",
        {"firewall": {"tlsInspection": {"ports": [443]}}},
        "egress-net:firewall.tlsInspection.certificateAuthorityArn",
        "required",
    ),
    (
        "bad KMS key ARN",
        {"logs": {"kmsKeyArn": "alias/egress"}},
        "egress-net:logs.kmsKeyArn",
        "not a KMS key ARN",
    ),
    (
        "log bucket without S3 destination",
        {"logs": {"bucketName": "my-firewall-logs"}},
        "egress-net:logs.bucketName",
        "only used with destination: s3",
    ),
    (
        "bad log bucket name",
        {"logs": {"destination": "s3", "bucketName": "My_Bucket"}},
        "egress-net:logs.bucketName",
        "not an S3 bucket name",
    ),
    (
        "inspected spoke-to-spoke after the NAT gateway",
        {"placement": "after-nat", "spokeToSpoke": "inspected"},
        "egress-net:spokeToSpoke",
        "cannot inspect spoke-to-spoke traffic",
    ),
    (
        "blocking spoke-to-spoke in centralized inspection",
        {
            "model": "centralized-inspection",
            "inspectionVpcCidr": "100.64.2.0/24",
            "spokeToSpoke": "blocked",
        },
        "egress-net:spokeToSpoke",
        "only for egress-only and combined",
    ),
    (
        "spoke-to-spoke intent with a single TGW table",
        {
            "spokeToSpoke": "blocked",
            "transitGateway": {"routeTables": "single", "acceptSpokeToSpokeBypass": True},
        },
        "egress-net:spokeToSpoke",
        "spoke-to-spoke traffic is open",
    ),
    (
        "tag key with the reserved aws: prefix",
        {"tags": {"aws:team": "payments"}},
        "egress-net:tags.aws:team",
        "the 'aws:' prefix is reserved for AWS",
    ),
    (
        "tag value IAM and CloudWatch Logs refuse (EC2 accepts it)",
        {"tags": {"Owner": "Team (payments)"}},
        "egress-net:tags.Owner",
        "value: '()' not allowed",
    ),
    (
        "spoke tag key with a character AWS refuses",
        {"spokes": [{**SPOKE_A, "tags": {"cost#center": "1"}}]},
        "egress-net:spokes[0].tags.cost#center",
        "key: '#' not allowed",
    ),
]


@pytest.mark.parametrize(("case", "overrides", "key", "message"), CASES, ids=[c[0] for c in CASES])
def test_bad_config_is_rejected_with_its_key_and_nothing_is_declared(
    case: str, overrides: dict[str, Any], key: str, message: str
) -> None:
    err = _synth_error(hub_config(**overrides))
    matching = [e for e in err.errors if e.where == key]
    assert matching, f"expected an error at {key}, got {_keys(err)}"
    assert any(message in e.problem for e in matching), [e.problem for e in matching]


def test_all_problems_are_reported_together() -> None:
    err = _synth_error(
        hub_config(
            spokes=[SPOKE_A, {"name": "app", "cidr": "192.168.0.0/16"}],
            egressVpcCidr="100.64.0.0/26",
        )
    )
    assert set(_keys(err)) >= {
        "egress-net:egressVpcCidr",
        "egress-net:spokes[1].name",
        "egress-net:spokes[1].cidr",
    }
    text = str(err)
    assert text.count("egress-net:") >= 3


def test_unknown_key_suggests_the_closest_known_key() -> None:
    err = _synth_error(hub_config(spokes=[{"name": "app", "cidr": "10.1.0.0/16", "acountId": "1"}]))
    (problem,) = [e for e in err.errors if e.where == "egress-net:spokes[0].acountId"]
    assert problem.hint == "did you mean 'accountId'?"


def test_the_pulumi_program_reports_config_errors_without_a_traceback() -> None:
    # Under `pulumi up`, a RunError is printed as its message alone.
    from egress_net import program

    err = ProgramError(ConfigError("egress-net:azIds", "required"))
    assert isinstance(err, __import__("pulumi").RunError)
    assert "egress-net:azIds: required" in str(err)
    assert program.ProgramError is ProgramError


def test_region_codes() -> None:
    assert config.region_code("us-east-1") == "use1"
    assert config.region_code("ap-northeast-1") == "apne1"
    assert config.region_code("eu-central-1") == "euc1"
    assert config.region_code("us-gov-west-1") == "usgw1"
    assert config.region_code("nowhere") is None


@pytest.mark.parametrize(
    ("domain", "ok"),
    [
        ("example.com", True),
        (".example.com", True),
        ("xn--bcher-kva.example", True),
        ("example", False),
        ("exa mple.com", False),
        ("-bad.example.com", False),
        ("example.com.", False),
        ("", False),
    ],
)
def test_domain_entries(domain: str, ok: bool) -> None:
    from egress_net.rules.model import domain_problem

    assert (domain_problem(domain) is None) == ok


def test_tags_in_any_language_with_spaces_and_the_allowed_punctuation_pass() -> None:
    tags = {"Équipe": "paiements à Paris", "cost-center": "a=b+c:d/e_f.g@h", "Name": ""}
    assert config.tag_problems(tags, ("tags",)) == []
    (long,) = config.tag_problems({"k" * 129: "v"}, ("tags",))
    assert "a key has 1-128 characters, not 129" in long.problem
