"""``egress-net diagram <stack>``: the synthesized design as a Mermaid flowchart."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from egress_net.errors import ConfigError, check_output_path, write_output

MERMAID_CLI = "mmdc"  # @mermaid-js/mermaid-cli, only for --format svg


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "diagram",
        help="draw the synthesized design as a Mermaid flowchart",
        description="Synthesize the stack offline and print a Mermaid flowchart of VPCs, "
        "per-AZ subnets, firewall endpoints, NAT and Internet gateways, the Transit Gateway "
        "and its route tables, with the egress path of one spoke in red.",
    )
    parser.add_argument("stack", help="stack name: reads Pulumi.<stack>.yaml")
    parser.add_argument("--spoke", help="spoke whose egress path is marked (default: the first)")
    parser.add_argument(
        "--format",
        choices=["mermaid", "markdown", "svg"],
        default="mermaid",
        help="mermaid text (default), a fenced block for a README, or SVG (needs mmdc)",
    )
    parser.add_argument("--output", "-o", type=Path, help="write here instead of stdout")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Imported here so `egress-net --help` does not load Pulumi.
    from egress_net import engine
    from egress_net.diagram import add_ingress, build_diagram, render_markdown, render_mermaid
    from egress_net.graph.from_recording import graph_from_recordings
    from egress_net.graph.ingress import apps_from_recordings

    if args.format == "svg" and args.output is None:
        raise ConfigError("--format svg", "needs --output FILE.svg", "e.g. -o design.svg")
    if args.output is not None:
        check_output_path("--output", args.output)
    if args.format == "svg" and shutil.which(MERMAID_CLI) is None:
        raise ConfigError(
            "--format svg",
            f"the Mermaid renderer `{MERMAID_CLI}` is not on PATH",
            "npm install -g @mermaid-js/mermaid-cli, or use --format markdown and let "
            "GitHub render it",
        )
    result = engine.synth(engine.load_source(args.stack))
    recordings = [result.recording, *result.referenced.values()]
    title = f"egress-net {args.stack}: " + ", ".join(r.stack for r in recordings)
    graph = graph_from_recordings(recordings)
    diagram = build_diagram(graph, title, args.spoke)
    add_ingress(diagram, graph, apps_from_recordings(recordings))
    if args.format == "svg":
        render_svg(render_mermaid(diagram), args.output)
        print(f"wrote {args.output}")
        return 0
    text = render_markdown(diagram) if args.format == "markdown" else render_mermaid(diagram)
    if args.output is None:
        print(text, end="")
    else:
        write_output("--output", args.output, text)
        print(f"wrote {args.output}")
    return 0


def render_svg(mermaid: str, output: Path) -> None:
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "design.mmd"
        source.write_text(mermaid, encoding="utf-8")
        done = subprocess.run(
            [MERMAID_CLI, "-i", str(source), "-o", str(output)],
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        raise ConfigError("--format svg", f"{MERMAID_CLI} failed: {done.stderr.strip()[:500]}")
