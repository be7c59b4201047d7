"""Benchmark: the ET sync plan for the full 2024 ET Open set, against references.

Prints two tables:

1. Time and peak memory of the plan (select, parse, validate, split) next to the reference
   parser (idstools) parsing the same files, measured in the same run; ratios against it.
2. The plan's groups and capacity next to what the public AWS sample's approach produces for
   the same input, computed here (one rules file at a time, 1,000-rule chunks, capacity =
   rules × 1.3, rules with variables other than the five it defines dropped, flowbit checks
   dropped), and the figures quoted for it (53 groups / 31,400 capacity).

Run: ``.venv/bin/python benchmarks/rules_sync.py [--repeat N]``
"""

from __future__ import annotations

import argparse
import gc
import io
import math
import re
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from egress_net.et_sync.model import EmergingThreatsConfig
from egress_net.et_sync.plan import build_plan
from egress_net.rules.parser import parse_rules

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "et-open-2024"
# The public sample's variable allowlist and sizing rule.
SAMPLE_VARIABLES = {"EXTERNAL_NET", "HOME_NET", "HTTP_PORTS", "HTTP_SERVERS", "DNS_SERVERS"}
SAMPLE_CHUNK = 1000
SAMPLE_FACTOR = 1.3
SAMPLE_QUOTED = (53, 31_400)
DEFAULT_GROUPS_QUOTA = 20
DEFAULT_CAPACITY_QUOTA = 30_000
_ACTIVE = re.compile(r"^(alert|drop|pass|reject)\s")
_VARIABLE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_FLOWBIT_CHECK = re.compile(r"flowbits\s*:\s*is(not)?set")


def load_files() -> dict[str, str]:
    return {
        p.name: p.read_text(encoding="utf-8", errors="replace")
        for p in sorted(DATA.glob("*.rules"))
    }


def reference_parse(files: dict[str, str]) -> int:
    from idstools import rule as idstools_rule

    count = 0
    for text in files.values():
        count += len(idstools_rule.parse_fileobj(io.StringIO(text)))
    return count


def our_parse(files: dict[str, str]) -> int:
    return sum(len(parse_rules(text, filename=name)) for name, text in files.items())


def our_plan(files: dict[str, str]) -> Any:
    # The default declared groups (8 x 3,100): the function fills them, the program owns them.
    settings = EmergingThreatsConfig().to_settings(home_net=["10.0.0.0/8"])
    return build_plan(files, settings, version="bench")


def aws_sample_numbers(files: dict[str, str]) -> tuple[int, int, int]:
    """``(groups, capacity, rules kept)`` the sample's approach gives for ``files``."""
    groups = capacity = kept_total = 0
    for text in files.values():
        kept = 0
        for line in text.splitlines():
            if not _ACTIVE.match(line):
                continue
            header = line.split("(", 1)[0]
            if not set(_VARIABLE.findall(header)) <= SAMPLE_VARIABLES:
                continue
            if _FLOWBIT_CHECK.search(line):
                continue
            kept += 1
        kept_total += kept
        for start in range(0, kept, SAMPLE_CHUNK):
            chunk = min(SAMPLE_CHUNK, kept - start)
            groups += 1
            capacity += math.ceil(chunk * SAMPLE_FACTOR)
    return groups, capacity, kept_total


def measure(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """Best wall time over ``repeat`` runs, then peak traced memory (MB) of one more run."""
    best = math.inf
    result: Any = None
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    gc.collect()
    tracemalloc.start()
    fn()
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return best, peak / 1e6, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    files = load_files()
    print(f"input: {len(files)} rules files from {DATA.resolve()}\n")

    rows = [
        ("idstools parse (reference)", lambda: reference_parse(files)),
        ("egress_net parse", lambda: our_parse(files)),
        ("egress_net plan (select+parse+validate+split)", lambda: our_plan(files)),
    ]
    results: dict[str, tuple[float, float, Any]] = {}
    for label, fn in rows:
        results[label] = measure(fn, args.repeat)
    base_time, base_mem, _ = results[rows[0][0]]
    print(f"{'step':<48} {'best s':>8} {'x ref':>7} {'peak MB':>9} {'x ref':>7}")
    for label, _fn in rows:
        seconds, mem, _ = results[label]
        print(
            f"{label:<48} {seconds:>8.2f} {seconds / base_time:>7.2f} "
            f"{mem:>9.1f} {mem / base_mem:>7.2f}"
        )

    plan = results[rows[2][0]][2]
    sample_groups, sample_capacity, sample_rules = aws_sample_numbers(files)
    quoted_groups, quoted_capacity = SAMPLE_QUOTED
    print(f"\n{'approach':<36} {'groups':>7} {'capacity':>9} {'rules':>7}  fits default quotas")
    lines = [
        ("AWS sample (computed, same input)", sample_groups, sample_capacity, sample_rules),
        ("AWS sample (quoted in issue 6)", quoted_groups, quoted_capacity, None),
        ("egress_net plan", len(plan.filled), plan.total_capacity, plan.total_rules),
    ]
    for label, groups, capacity, rules in lines:
        fits = groups <= DEFAULT_GROUPS_QUOTA and capacity <= DEFAULT_CAPACITY_QUOTA
        rules_text = f"{rules:>7,}" if rules is not None else f"{'-':>7}"
        print(f"{label:<36} {groups:>7} {capacity:>9,} {rules_text}  {'yes' if fits else 'no'}")
    print(
        f"\nratio egress_net / sample (computed): groups {len(plan.filled) / sample_groups:.2f}, "
        f"capacity {plan.total_capacity / sample_capacity:.2f}"
    )
    print(
        f"egress_net keeps flowbit checks with their setters, defines variables instead of "
        f"dropping rules, and rejects {plan.stats['rejected']:,} rules Network Firewall "
        f"would refuse (threshold, detection_filter, xbits ip tracking, ...)"
    )


if __name__ == "__main__":
    main()
