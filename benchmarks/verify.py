"""Graph build + every check for a hub with N spokes × 3 AZs; growth against the smallest N.

The recording is built by the test suite's factory (shaped like the program's output, without
running Pulumi) so that only the routing graph, the tracer and the checks are timed. Each size
is checked twice: with every destination class (IPv4 and IPv6, out and back, what `verify` and
`audit` do), and with one destination only (what they did before classes), as the baseline.
Run: .venv/bin/python benchmarks/verify.py [--spokes 100 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import ipaddress
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "graph"))

from graph_factory import HubSpokeFactory  # noqa: E402

from egress_net.graph.checks import CheckOptions, run_checks  # noqa: E402
from egress_net.graph.from_recording import graph_from_recordings  # noqa: E402
from egress_net.recording import Recording  # noqa: E402

T = TypeVar("T")
AZ_IDS = ("use1-az1", "use1-az2", "use1-az4")


def recording_with(spokes: int) -> Recording:
    cidrs = ipaddress.IPv4Network("10.64.0.0/10").subnets(new_prefix=22)
    named = tuple((f"spoke-{i:04d}", str(next(cidrs))) for i in range(spokes))
    return HubSpokeFactory(az_ids=AZ_IDS, spokes=named).build()


CPU: dict[str, float] = {}  # best CPU seconds per label: wall time on a loaded machine lies


def best_of(repeat: int, work: Callable[[], T], label: str = "") -> tuple[float, T]:
    times, cpu, result = [], [], None
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = work()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    if label:
        CPU[label] = min(cpu)
    return min(times), result  # type: ignore[return-value]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--spokes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    rows = []
    for spokes in args.spokes:
        recording = recording_with(spokes)
        build, graph = best_of(
            args.repeat, lambda r=recording: graph_from_recordings([r]), f"build{spokes}"
        )
        one, one_report = best_of(
            args.repeat,
            lambda g=graph: run_checks(g, CheckOptions(every_class=False)),
            f"one{spokes}",
        )
        check, report = best_of(args.repeat, lambda g=graph: run_checks(g), f"check{spokes}")
        assert report.ok and one_report.ok, "the benchmark hub must verify clean"
        traces = sum(len(f.round_trips) * 2 for f in report.findings)
        classes = sum(report.classes.values())
        rows.append(
            (spokes, len(recording), classes, traces, report.class_traces, build, one, check)
        )

    base_spokes, *_, base_build, _, base_check = rows[0]
    base_total = base_build + base_check
    print(
        f"{'spokes×3 AZs':>12} {'resources':>9} {'classes':>7} {'traces':>7} {'+class':>7} "
        f"{'build s':>8} {'1 dest s':>8} {'classes s':>9} {'total s':>8} {'× 1 dest':>8} "
        f"{'per spoke ms':>12} {'per-spoke × base':>16} {'cpu 1 dest':>10} {'cpu total':>9}"
    )
    for spokes, resources, classes, traces, class_traces, build, one, check in rows:
        total = build + check
        per_spoke = total / spokes * 1000
        base_per_spoke = base_total / base_spokes * 1000
        print(
            f"{spokes:>12} {resources:>9} {classes:>7} {traces:>7} {class_traces:>7} "
            f"{build:>8.3f} {one:>8.3f} {check:>9.3f} {total:>8.3f} "
            f"{total / (build + one):>8.2f} {per_spoke:>12.3f} {per_spoke / base_per_spoke:>16.2f} "
            f"{CPU[f'build{spokes}'] + CPU[f'one{spokes}']:>10.3f} "
            f"{CPU[f'build{spokes}'] + CPU[f'check{spokes}']:>9.3f}"
        )
    print(
        f"\nclasses: IPv4 + IPv6 destination classes; traces: round trips to the documentation "
        "address plus the spoke-to-spoke ring; +class: symbolic traces for every class. "
        "1 dest s: checks with one destination (as before classes); classes s: every class. "
        f"× 1 dest: total with every class over total with one destination; cpu: build + checks "
        "in CPU seconds of this process (what the wall time would be on an idle core). "
        f"Best of {args.repeat} runs; linear growth shows as per-spoke × base ≈ 1.00"
    )


if __name__ == "__main__":
    main()
