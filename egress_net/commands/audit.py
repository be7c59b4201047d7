"""``egress-net audit``: the checks of ``verify`` on deployed accounts, read-only."""

from __future__ import annotations

import argparse
from typing import Any

from egress_net.commands.verify import add_check_arguments, check_and_print
from egress_net.errors import ConfigError
from egress_net.graph.checks import SpokeToSpoke
from egress_net.graph.from_aws import AccountSource, read_graph
from egress_net.graph.ingress import apps_from_aws


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "audit",
        help="read deployed accounts (read-only) and run the same checks as verify",
        description="Read VPC, Transit Gateway and Network Firewall state from one or more "
        "accounts and regions with Describe/Get/Search/List calls only, merge it into one "
        "routing graph and run every check of `verify`, including the inbound paths of every "
        "internet-facing load balancer found. Exit 0 only if all pass.",
    )
    parser.add_argument(
        "--profile",
        action="append",
        default=[],
        metavar="P",
        help="named AWS profile to read (repeatable)",
    )
    parser.add_argument(
        "--role-arn",
        action="append",
        default=[],
        metavar="ARN",
        help="role to assume with the default credentials and read (repeatable)",
    )
    parser.add_argument(
        "--region",
        action="append",
        required=True,
        metavar="R",
        help="region to read (repeatable; every account is read in every region)",
    )
    parser.add_argument(
        "--endpoint-url",
        default=None,
        help="one endpoint for the EC2 and Network Firewall calls instead of AWS's (a local "
        "emulator such as moto); per-service endpoints come from AWS_ENDPOINT_URL_<SERVICE>",
    )
    add_check_arguments(parser, intent_default="inspected")
    parser.set_defaults(func=run)


def sources_from(args: argparse.Namespace) -> list[AccountSource]:
    """Every (account, region) pair to read; the default credentials when none is named."""
    accounts: list[tuple[str | None, str | None]] = [(p, None) for p in args.profile]
    accounts += [(None, arn) for arn in args.role_arn]
    for arn in args.role_arn:
        if not arn.startswith("arn:aws") or ":role/" not in arn:
            raise ConfigError(
                "--role-arn",
                f"{arn!r} is not an IAM role ARN",
                "give one like arn:aws:iam::123456789012:role/egress-net-audit",
            )
    accounts = accounts or [(None, None)]
    return [
        AccountSource(region, profile, role)
        for profile, role in accounts
        for region in dict.fromkeys(args.region)
    ]


def run(args: argparse.Namespace) -> int:
    sources = sources_from(args)
    graph = read_graph(sources, endpoint_url=args.endpoint_url)
    # Every internet-facing load balancer found must sit behind the firewall (ingress).
    apps = apps_from_aws(sources, endpoint_url=args.endpoint_url)
    title = "audit: " + "; ".join(s.label for s in sources)
    return check_and_print(graph, args, SpokeToSpoke.INSPECTED, title, apps or None)
