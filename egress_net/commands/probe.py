"""``egress-net probe``: measure HTTP(S) latency along a route; ``probe report`` compares runs."""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from egress_net import probe as probe_lib
from egress_net.errors import ConfigError, check_output_path, write_output
from egress_net.probe import (
    PHASES,
    load_run,
    make_tls_context,
    measure_once,
    parse_target,
    plot_spec,
    render_png,
    report_text,
    run_summary_text,
    sample_line,
)

REPORT_WORD = "report"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "probe",
        help="measure HTTP(S) latency through a route (httping -G style)",
        description=(
            "probe URL: repeated GETs on fresh connections, timing DNS, connect, TLS, time to\n"
            "first byte and total; prints mean ± sd, min, p50/p95/p99, max and failures and\n"
            "writes the samples as JSON. Ctrl-C stops early and keeps what was measured.\n\n"
            "probe report RUN.json ...: one table of all runs, optionally a PNG (--plot)."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("url", metavar="URL|report", help="http(s) URL, or `report`")
    parser.add_argument("files", nargs="*", type=Path, metavar="RUN.json", help="for `report`")
    parser.add_argument("--count", "-c", type=int, default=60, help="requests (default 60)")
    parser.add_argument(
        "--interval", "-i", type=float, default=2.0, help="seconds start to start (default 2)"
    )
    parser.add_argument("--label", "-l", help="name of the route, e.g. 'via firewall'")
    parser.add_argument("--timeout", type=float, default=10.0, help="per request, s (default 10)")
    parser.add_argument(
        "--output", "-o", type=Path, help="JSON file (default probe-LABEL-TIME.json)"
    )
    parser.add_argument("--insecure", "-k", action="store_true", help="do not verify certificates")
    parser.add_argument("--cafile", type=Path, help="PEM CA bundle to verify the server with")
    parser.add_argument("--quiet", "-q", action="store_true", help="no line per request")
    parser.add_argument("--phase", choices=PHASES, default="total", help="report: phase compared")
    parser.add_argument("--plot", type=Path, metavar="PNG", help="report: also draw a PNG")
    parser.set_defaults(func=run)


def default_output(label: str, now: datetime) -> Path:
    slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-") or "run"
    return Path(f"probe-{slug}-{now.strftime('%Y%m%dT%H%M%SZ')}.json")


def run(args: argparse.Namespace) -> int:
    if args.url == REPORT_WORD:
        return run_report(args)
    if args.files:
        raise ConfigError("probe", "extra arguments after the URL", "use `probe report FILES`")
    return run_measure(args)


def run_measure(args: argparse.Namespace) -> int:
    target = parse_target(args.url)
    if args.count < 1:
        raise ConfigError("--count", "must be 1 or more", "e.g. --count 60")
    if args.interval < 0 or args.timeout <= 0:
        raise ConfigError("--interval/--timeout", "must be positive", "e.g. --interval 2")
    if args.insecure and args.cafile:
        raise ConfigError("--insecure", "conflicts with --cafile", "give one of them")
    context = make_tls_context(args.insecure, args.cafile)
    label = args.label or target.host
    # Checked now: a run may take minutes, and its result must not be lost at the end.
    output = check_output_path("--output", args.output or default_output(label, datetime.now(UTC)))
    measure = partial(measure_once, target, timeout=args.timeout, tls_context=context)
    on_sample = None if args.quiet else (lambda s: print(sample_line(s), flush=True))
    result = probe_lib.run_probe(
        lambda seq: measure(seq), label, target.url, args.count, args.interval, on_sample=on_sample
    )
    print(run_summary_text(result))
    write_output("--output", output, json.dumps(result.to_json(), indent=2) + "\n")
    print(f"wrote {output}")
    if result.interrupted:
        return 130
    return 0 if result.failures < len(result.samples) else 1


def run_report(args: argparse.Namespace) -> int:
    if not args.files:
        raise ConfigError("probe report", "no result files given", "probe report a.json b.json")
    runs = [load_run(path) for path in args.files]
    if args.plot is not None:
        check_output_path("--plot", args.plot)
    print(report_text(runs, args.phase))
    if args.plot is not None:
        spec = plot_spec(runs, args.phase)
        render_png(spec, args.plot)
        if spec.skipped:
            print(
                f"not plotted (no successful request): {', '.join(spec.skipped)}", file=sys.stderr
            )
        print(f"wrote {args.plot}")
    return 0
