"""``egress-net audit``: the checks of ``verify`` on deployed accounts, read-only."""

from __future__ import annotations

import argparse
from typing import Any

from egress_net.commands.verify import (
    add_check_arguments,
    attachment_exposure,
    check_and_print,
    intent_from_config,
)
from egress_net.errors import ConfigError
from egress_net.graph.checks import Finding, SpokeToSpoke
from egress_net.graph.from_aws import AccountSource, read_graph
from egress_net.graph.ingress import apps_of
from egress_net.graph.model import RoutingGraph


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
    parser.add_argument(
        "--stack",
        action="append",
        default=[],
        metavar="S",
        help="compare the deployed network with this stack's offline synthesis (repeatable, "
        "e.g. the hub and its spoke stacks): missing, extra or changed routes, associations, "
        "propagations, appliance mode and endpoints per AZ, and routes to attachments no "
        "stack declares; any of them fails the audit",
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


def declared(stacks: list[str], project_dir: Any) -> tuple[RoutingGraph, dict[str, Any]]:
    """The stacks' offline synthesis as one graph, and the hub's config."""
    # Imported here so `egress-net audit` without --stack does not load Pulumi.
    from egress_net import engine
    from egress_net.graph.from_recording import graph_from_recordings

    recordings = {}
    for stack in stacks:
        result = engine.synth(engine.load_source(stack, project_dir))
        for recording in (result.recording, *result.referenced.values()):
            recordings[recording.stack] = recording
    hub = next(
        (r for r in recordings.values() if r.config.get("egress-net:role") == "hub"),
        next(iter(recordings.values())),
    )
    return graph_from_recordings(list(recordings.values())), dict(hub.config)


def run(args: argparse.Namespace) -> int:
    from egress_net.graph.drift import drift_findings

    sources = sources_from(args)
    title = "audit: " + "; ".join(s.label for s in sources)
    if not args.stack:
        graph = read_graph(sources, endpoint_url=args.endpoint_url)
        # Every internet-facing load balancer found must sit behind the firewall (ingress).
        return check_and_print(
            graph, args, SpokeToSpoke.INSPECTED, title, ingress_apps=apps_of(graph) or None
        )
    # Synthesized first: a stack file error stops the audit before any AWS call.
    synthesized, hub_config = declared(args.stack, args.project_dir)
    graph = read_graph(sources, endpoint_url=args.endpoint_url)
    drift: list[Finding] = drift_findings(synthesized, graph)
    return check_and_print(
        graph,
        args,
        intent_from_config(hub_config),
        title + " against " + ", ".join(args.stack),
        drift,
        attachment_exposure(hub_config),
        ingress_apps=apps_of(graph) or None,
    )
