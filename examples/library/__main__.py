"""A hub and two spokes through the egress-net library: every spoke's internet-bound traffic
passes the hub's Network Firewall, which lets through only the allowlisted domains."""

import pulumi

from egress_net import EgressHub, EgressHubArgs, SpokeArgs

hub = EgressHub(
    "egress",
    EgressHubArgs(
        az_ids=["euw1-az1", "euw1-az2"],
        egress_vpc_cidr="100.64.0.0/24",
        spoke_supernets=["10.0.0.0/8"],
        spokes=[
            SpokeArgs(name="orders", cidr="10.10.0.0/16"),
            SpokeArgs(name="billing", cidr="10.20.0.0/16"),
        ],
        rules={"allowDomains": {"domains": ["sts.eu-west-1.amazonaws.com", "api.stripe.com"]}},
    ),
)

# The hub stack-output contract: spoke stacks of the egress-net program can reference this stack.
for key, value in hub.outputs.items():
    pulumi.export(key, value)
