"""``egress-net verify <stack>``: prove offline that every spoke's traffic is inspected."""

from __future__ import annotations

import argparse
import json
import sys
from ipaddress import AddressValueError, IPv4Address
from pathlib import Path
from typing import Any

from egress_net import config as stack_config
from egress_net import intent
from egress_net.errors import ConfigError
from egress_net.graph.checks import (
    DEFAULT_DESTINATION,
    CheckOptions,
    Finding,
    SpokeToSpoke,
    VerificationReport,
    run_checks,
)
from egress_net.graph.ingress import (
    IngressApp,
    IngressReport,
    apps_of,
    check_ingress,
    render_ingress_json,
    render_ingress_text,
)
from egress_net.graph.model import RoutingGraph
from egress_net.graph.report import render_json, render_text
from egress_net.recording import Recording

SPOKE_TO_SPOKE_KEY = "egress-net:spokeToSpoke"
INGRESS_KEY = "egress-net:ingress"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "verify",
        help="synthesize a stack offline and prove every spoke's traffic passes the firewall",
        description="Synthesize the stack offline, trace every spoke subnet's traffic to the "
        "internet and back and to the other spokes, and check it: one firewall endpoint, the "
        "same both ways, the same AZ, no bypass, no blackhole, no loop. Exit 0 only if all pass.",
    )
    parser.add_argument("stack", help="stack name: reads Pulumi.<stack>.yaml")
    add_check_arguments(parser)
    parser.set_defaults(func=run)


def add_check_arguments(
    parser: argparse.ArgumentParser,
    intent_default: str = f"the stack's {SPOKE_TO_SPOKE_KEY}; open when its transitGateway "
    "sets acceptSpokeToSpokeBypass; else inspected",
) -> None:
    """Options shared with ``audit``."""
    parser.add_argument("--project-dir", type=Path, default=None, help="folder of Pulumi.yaml")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--destination",
        default=str(DEFAULT_DESTINATION),
        help=f"public IPv4 address to trace to (default {DEFAULT_DESTINATION}, a documentation "
        "address)",
    )
    parser.add_argument(
        "--spoke-to-spoke",
        choices=[i.value for i in SpokeToSpoke],
        default=None,
        help=f"what spoke-to-spoke traffic must do (default: {intent_default})",
    )


def parse_destination(text: str) -> IPv4Address:
    try:
        return IPv4Address(text)
    except AddressValueError:
        raise ConfigError(
            "--destination", f"{text!r} is not an IPv4 address", "give one like 198.51.100.10"
        ) from None


def check_destination(graph: RoutingGraph, destination: IPv4Address) -> None:
    """A destination inside a VPC would test local routing, not egress."""
    for vpc in graph.vpcs.values():
        if vpc.contains(destination):
            raise ConfigError(
                "--destination",
                f"{destination} is inside {vpc.name or vpc.id} ({vpc.id}), not on the internet",
                f"give a public address, e.g. the default {DEFAULT_DESTINATION}",
            )


def intent_from_config(config: dict[str, Any]) -> SpokeToSpoke:
    """The stack's spoke-to-spoke intent, read from its raw config by the rule the program
    uses (``egress_net.config.spoke_to_spoke_intent``)."""
    transit_gateway = config.get("egress-net:transitGateway") or {}
    if not isinstance(transit_gateway, dict):
        transit_gateway = {}
    value = stack_config.spoke_to_spoke_intent(
        explicit=config.get(SPOKE_TO_SPOKE_KEY),
        single_table=transit_gateway.get("routeTables") == "single",
        bypass_accepted=bool(transit_gateway.get("acceptSpokeToSpokeBypass")),
        placement=str(config.get("egress-net:placement", "before-nat")),
    )
    try:
        return SpokeToSpoke(value)
    except ValueError:
        raise ConfigError(
            SPOKE_TO_SPOKE_KEY,
            f"{value!r} is not a spoke-to-spoke intent",
            "use 'inspected', 'blocked' or 'open'",
        ) from None


def intent_of(recordings: list[Any]) -> SpokeToSpoke:
    """The design's spoke-to-spoke intent; a spoke stack follows its hub's. A program built on
    the library has no ``egress-net:`` config: its hub exports the intent (``spokeToSpoke``,
    written by ``egress_net.library.EgressHub``)."""
    hub = next((r for r in recordings if r.config.get("egress-net:role") == "hub"), None)
    if hub is not None:
        return intent_from_config(hub.config)
    exported = next(
        (
            r.outputs["spokeToSpoke"]
            for r in recordings
            if isinstance(r.outputs.get("spokeToSpoke"), str)
        ),
        None,
    )
    if exported is not None:
        return intent_from_config({SPOKE_TO_SPOKE_KEY: exported})
    return intent_from_config(recordings[0].config)


def attachment_exposure(config: dict[str, Any]) -> list[str]:
    """What the stack's config lets others attach to its TGW, said before anyone does.

    With RAM sharing to an organization or OU and auto-accept, any account there can attach a
    VPC without the hub's consent; default propagation then installs its CIDR in the table
    replies return through, where a more specific prefix takes another spoke's replies
    (AWS RAM: sharing with an organization; TGW ``AutoAcceptSharedAttachments``).
    """
    share = config.get("egress-net:share") or {}
    tgw = config.get("egress-net:transitGateway") or {}
    if not isinstance(share, dict) or not isinstance(tgw, dict):
        return []
    wide = [
        p for p in share.get("principals") or [] if ":organization/" in str(p) or "/ou-" in str(p)
    ]
    if not wide:
        return []
    accept = (
        "accepts their attachments automatically (transitGateway.autoAccept): any account "
        "there can attach a VPC"
        if tgw.get("autoAccept")
        else "must accept each attachment (transitGateway.autoAccept is off): any account "
        "there can request one"
    )
    # A shared TGW returns replies by static routes unless the stack chose propagation.
    returns = intent.return_routes(tgw.get("returnRoutes"), shared=True)
    consequence = (
        "a CIDR it propagates takes traffic and replies for that prefix"
        if returns == "propagated"
        else "no reply reaches it unless the hub declares it (static return routes)"
    )
    return [
        f"attachments: the TGW is shared with {', '.join(wide)} and {accept}, and "
        f"{consequence}; `audit --stack` reports such routes once deployed"
    ]


def check_and_print(
    graph: RoutingGraph,
    args: argparse.Namespace,
    default_intent: SpokeToSpoke,
    title: str,
    extra_findings: list[Finding] | None = None,
    notes: list[str] | None = None,
    ingress_apps: list[IngressApp] | None = None,
) -> int:
    """Egress checks, and with ``ingress_apps`` (a stack that declares ingress) the inbound
    paths to each application too; exit 0 only if both pass."""
    destination = parse_destination(args.destination)
    check_destination(graph, destination)
    intent = SpokeToSpoke(args.spoke_to_spoke) if args.spoke_to_spoke else default_intent
    report = run_checks(graph, CheckOptions(destination, intent))
    report.findings += extra_findings or []
    report.notes += notes or []
    ingress = None if ingress_apps is None else check_ingress(graph, ingress_apps, destination)
    print_report(report, args.json, title, ingress)
    return 0 if report.ok and (ingress is None or ingress.ok) else 1


def print_report(
    report: VerificationReport, as_json: bool, title: str, ingress: IngressReport | None = None
) -> None:
    if as_json:
        doc = render_json(report)
        if ingress is not None:
            doc["ingress"] = render_ingress_json(ingress)
        print(json.dumps(doc, indent=2))
    else:
        print(render_text(report, title), end="")
        if ingress is not None:
            print("\n" + render_ingress_text(ingress), end="")


def ingress_apps_of(recordings: list[Recording], graph: RoutingGraph) -> list[IngressApp] | None:
    """The public applications to prove, or None when no stack declares ingress."""
    if not any(r.config.get(INGRESS_KEY) for r in recordings):
        return None
    return apps_of(graph)


def run(args: argparse.Namespace) -> int:
    # Imported here so `egress-net --help` does not load Pulumi.
    from egress_net import engine
    from egress_net.graph.from_recording import graph_from_recordings
    from egress_net.synth_report import alert_mode_warnings

    parse_destination(args.destination)  # fail on a bad argument before synthesizing
    result = engine.synth(engine.load_source(args.stack, args.project_dir))
    recordings = [result.recording, *result.referenced.values()]
    graph = graph_from_recordings(recordings)
    title = f"verify {args.stack}: " + ", ".join(r.stack for r in recordings)
    # A spoke stack follows its hub's design.
    hub = next(
        (r for r in recordings if r.config.get("egress-net:role") == "hub"), result.recording
    )
    code = check_and_print(
        graph,
        args,
        intent_of(recordings),
        title,
        notes=attachment_exposure(hub.config),
        ingress_apps=ingress_apps_of(recordings, graph),
    )
    # Paths can all pass the firewall while the firewall passes everything: say so.
    for warning in alert_mode_warnings(recordings):
        print(f"warning: {warning}", file=sys.stderr if args.json else sys.stdout)
    return code
