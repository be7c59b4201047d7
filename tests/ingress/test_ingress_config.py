"""Every kind of bad ``ingress`` config gives a ConfigError naming the exact key."""

from __future__ import annotations

from typing import Any

import pytest

from egress_net import config
from egress_net.errors import ConfigError, ConfigErrors

from ..conftest import hub_config, synth_config
from .conftest import CERT, ingress, shop

A = "egress-net:ingress.applications[0]"


def _errors(values: dict[str, Any]) -> list[ConfigError]:
    with pytest.raises(ConfigErrors) as caught:
        config.validate(config.from_pulumi_config(values))
    return caught.value.errors


def test_a_good_section_validates_with_the_centralized_default() -> None:
    cfg = config.validate(config.from_pulumi_config(hub_config(ingress=ingress(shop()))))
    assert cfg.ingress_design == "centralized"
    app = cfg.ingress.applications[0] if cfg.ingress else None
    assert app is not None and app.listener_port == 443 and app.backend_protocol == "HTTPS"
    assert app.load_balancer_type == "application" and app.sources == ["0.0.0.0/0"]


def test_model_distributed_defaults_to_distributed_ingress() -> None:
    values = hub_config(
        model="distributed",
        egressVpcCidr=None,
        ingress=ingress(shop(), vpcCidr=None),
    )
    cfg = config.validate(config.from_pulumi_config(values))
    assert cfg.ingress_design == "distributed"


CASES: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "centralized without a TGW",
        {
            "model": "distributed",
            "egressVpcCidr": None,
            "ingress": ingress(shop(), design="centralized"),
        },
        "egress-net:ingress.design",
        "model distributed has none",
    ),
    (
        "no ingress VPC",
        {"ingress": ingress(shop(), vpcCidr=None)},
        "egress-net:ingress.vpcCidr",
        "required for centralized",
    ),
    (
        "ingress VPC too small",
        {"ingress": ingress(shop(), vpcCidr="100.64.4.0/24")},
        "egress-net:ingress.vpcCidr",
        "needs a /27",
    ),
    (
        "ingress VPC host bits",
        {"ingress": ingress(shop(), vpcCidr="100.64.4.1/23")},
        "egress-net:ingress.vpcCidr",
        "did you mean 100.64.4.0/23",
    ),
    (
        "ingress VPC overlaps a spoke",
        {"ingress": ingress(shop(), vpcCidr="10.1.0.0/23")},
        "egress-net:ingress.vpcCidr",
        "overlaps spokes[0] (app)",
    ),
    (
        "ingress VPC overlaps the egress VPC",
        {"ingress": ingress(shop(), vpcCidr="100.64.0.0/23")},
        "egress-net:ingress.vpcCidr",
        "overlaps egressVpcCidr",
    ),
    (
        "ingress VPC with distributed design",
        {"ingress": ingress(shop(), design="distributed")},
        "egress-net:ingress.vpcCidr",
        "only for design: centralized",
    ),
    (
        "unknown key",
        {"ingress": ingress(shop(), vpcCidrs="100.64.4.0/23")},
        "egress-net:ingress.vpcCidrs",
        "unknown key",
    ),
    ("bad name", {"ingress": ingress(shop(name="Shop_1"))}, f"{A}.name", "not a valid application"),
    (
        "name too long for LB names",
        {"ingress": ingress(shop(name="a" * 17))},
        f"{A}.name",
        "1-16 lowercase",
    ),
    (
        "duplicate name",
        {"ingress": ingress(shop(), shop())},
        "egress-net:ingress.applications[1].name",
        "used twice",
    ),
    ("no spokes", {"ingress": ingress(shop(spokes=[]))}, f"{A}.spokes", "at least one spoke"),
    ("unknown spoke", {"ingress": ingress(shop(spokes=["ap"]))}, f"{A}.spokes[0]", "no spoke 'ap'"),
    (
        "bad protocol",
        {"ingress": ingress(shop(protocol="UDP"))},
        f"{A}.protocol",
        "Input should be",
    ),
    ("bad port", {"ingress": ingress(shop(port=70000))}, f"{A}.port", "between 1 and 65535"),
    (
        "TCP without a port",
        {"ingress": ingress(shop(protocol="TCP", certificateArn=None))},
        f"{A}.port",
        "required for protocol TCP",
    ),
    ("no target port", {"ingress": ingress(shop(targetPort=None))}, f"{A}.targetPort", "required"),
    (
        "bad target port",
        {"ingress": ingress(shop(targetPort=0))},
        f"{A}.targetPort",
        "between 1 and 65535",
    ),
    (
        "HTTPS without a certificate",
        {"ingress": ingress(shop(certificateArn=None))},
        f"{A}.certificateArn",
        "required for HTTPS",
    ),
    (
        "malformed certificate",
        {"ingress": ingress(shop(certificateArn="arn:aws:acm:cert"))},
        f"{A}.certificateArn",
        "not an ACM certificate ARN",
    ),
    (
        "certificate in another region",
        {"ingress": ingress(shop(certificateArn=CERT.replace("us-east-1", "eu-west-1")))},
        f"{A}.certificateArn",
        "the certificate is in eu-west-1",
    ),
    (
        "certificate on HTTP",
        {"ingress": ingress(shop(protocol="HTTP"))},
        f"{A}.certificateArn",
        "only for protocol HTTPS",
    ),
    (
        "target protocol on TCP",
        {
            "ingress": ingress(
                shop(protocol="TCP", port=5432, certificateArn=None, targetProtocol="HTTP")
            )
        },
        f"{A}.targetProtocol",
        "only for HTTP and HTTPS",
    ),
    ("no targets", {"ingress": ingress(shop(targets=[]))}, f"{A}.targets", "at least one target"),
    (
        "target not an address",
        {"ingress": ingress(shop(targets=["10.1.0"]))},
        f"{A}.targets",
        "not an IPv4 address",
    ),
    (
        "target outside the spokes",
        {"ingress": ingress(shop(targets=["10.2.0.10"]))},
        f"{A}.targets[0]",
        "in none of the application's spokes",
    ),
    (
        "target in the TGW subnet",
        {"ingress": ingress(shop(targets=["10.1.224.5"]))},
        f"{A}.targets[0]",
        "tgw subnet",
    ),
    (
        "target on a reserved address",
        {"ingress": ingress(shop(targets=["10.1.0.1"]))},
        f"{A}.targets[0]",
        "reserved by AWS",
    ),
    (
        "publicly routable target",
        {
            "spokeSupernets": ["10.0.0.0/8", "198.18.0.0/15"],
            "spokes": [{"name": "app", "cidr": "198.18.0.0/16"}],
            "ingress": ingress(shop(targets=["198.18.0.10"])),
        },
        f"{A}.targets[0]",
        "publicly routable",
    ),
    (
        "health check path",
        {"ingress": ingress(shop(healthCheck={"path": "health"}))},
        f"{A}.healthCheck.path",
        "not a path",
    ),
    (
        "health check matcher",
        {"ingress": ingress(shop(healthCheck={"matcher": "ok"}))},
        f"{A}.healthCheck.matcher",
        "HTTP codes",
    ),
    (
        "health check port",
        {"ingress": ingress(shop(healthCheck={"port": 0}))},
        f"{A}.healthCheck.port",
        "between 1 and 65535",
    ),
    (
        "health check interval",
        {"ingress": ingress(shop(healthCheck={"intervalSeconds": 1}))},
        f"{A}.healthCheck.intervalSeconds",
        "5 to 300",
    ),
    (
        "health check threshold",
        {"ingress": ingress(shop(healthCheck={"healthyThreshold": 11}))},
        f"{A}.healthCheck.healthyThreshold",
        "2 to 10",
    ),
    (
        "health check unhealthy threshold",
        {"ingress": ingress(shop(healthCheck={"unhealthyThreshold": 1}))},
        f"{A}.healthCheck.unhealthyThreshold",
        "2 to 10",
    ),
    (
        "no allowed sources",
        {"ingress": ingress(shop(allowedSources=None))},
        f"{A}.allowedSources",
        "required",
    ),
    (
        "allowed sources word",
        {"ingress": ingress(shop(allowedSources="all"))},
        f"{A}.allowedSources",
        "'everyone'",
    ),
    (
        "allowed source CIDR",
        {"ingress": ingress(shop(allowedSources=["203.0.113.0/33"]))},
        f"{A}.allowedSources",
        "[0]",
    ),
    (
        "blocked source CIDR",
        {"ingress": ingress(shop(blockedSources=["203.0.113.1/24"]))},
        f"{A}.blockedSources",
        "did you mean 203.0.113.0/24",
    ),
    (
        "ALB in one AZ",
        {"azIds": ["use1-az1"], "ingress": ingress(shop(targets=["10.1.0.10"]))},
        f"{A}.spokes[0]",
        "at least two AZs",
    ),
    (
        "centralized app in a distributed spoke",
        {
            "model": "combined",
            "spokes": [{"name": "app", "cidr": "10.1.0.0/16", "model": "distributed"}],
            "ingress": ingress(shop()),
        },
        f"{A}.spokes[0]",
        "spoke app is distributed",
    ),
    (
        "distributed app in two spokes",
        {"ingress": ingress(shop(spokes=["app", "data"]), design="distributed", vpcCidr=None)},
        f"{A}.spokes",
        "lives in one spoke's VPC",
    ),
    (
        "two apps on one port with other sources",
        {
            "ingress": ingress(
                shop(), shop(name="admin", allowedSources=["203.0.113.0/24"], targets=["10.1.0.11"])
            )
        },
        "egress-net:ingress.applications[1].allowedSources",
        "the firewall cannot tell the two apart",
    ),
    (
        "centralized with the TGW in another account",
        {
            "transitGateway": {
                "ownerRoleArn": "arn:aws:iam::210987654321:role/tgw-owner",
            },
            "ingress": ingress(shop()),
        },
        "egress-net:ingress.design",
        "another account is not supported yet",
    ),
    (
        "distributed app in another account's spoke",
        {
            "spokes": [
                {
                    "name": "app",
                    "cidr": "10.1.0.0/16",
                    "roleArn": "arn:aws:iam::210987654321:role/egress-net-deploy",
                }
            ],
            "ingress": ingress(shop(), design="distributed", vpcCidr=None),
        },
        f"{A}.spokes[0]",
        "is in another account",
    ),
    (
        "distributed spoke too small",
        {
            "spokes": [{"name": "app", "cidr": "10.1.0.0/22"}],
            "ingress": ingress(shop(targets=["10.1.0.10"]), design="distributed", vpcCidr=None),
        },
        f"{A}.spokes[0]",
        "no room for /27 load balancer subnets",
    ),
]


@pytest.mark.parametrize(
    ("overrides", "where", "text"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_ingress_input_names_the_key(overrides: dict[str, Any], where: str, text: str) -> None:
    errors = _errors(hub_config(**overrides))
    matching = [e for e in errors if e.where == where]
    assert matching, [str(e) for e in errors]
    assert any(text in str(e) for e in matching), [str(e) for e in matching]


def test_ingress_in_a_spoke_stack_is_refused() -> None:
    values = {
        "aws:region": "us-east-1",
        "egress-net:role": "spoke",
        "egress-net:hubStack": "org/egress-net/prod",
        "egress-net:spoke": {"name": "app", "cidr": "10.1.0.0/16"},
        "egress-net:ingress": ingress(shop()),
    }
    assert [e.where for e in _errors(values)] == ["egress-net:ingress"]


def test_bad_ingress_declares_nothing() -> None:
    with pytest.raises(ConfigErrors) as caught:
        synth_config(hub_config(ingress=ingress(shop(certificateArn=None))))
    assert [r.type for r in caught.value.registered if not r.type.startswith("pulumi:")] == []
