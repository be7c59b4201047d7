"""Rules pipeline speed and memory on the whole ET Open 2024 set, against idstools.

Baseline: parsing the same files with ``idstools.rule.parse_file`` (the mature reference
parser, a test-only dependency). Ours: parse + validate + split into rule groups, i.e. all
``egress-net rules check`` does. Each timing is the best of ``--repeat`` runs in this process;
peak memory is measured in separate runs with ``tracemalloc`` (which slows code down).

    .venv/bin/python benchmarks/rules.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from idstools import rule as idstools_rule

from egress_net.rules import RuleVariables, parse_rule_files, plan_groups, validate_rules

ET_OPEN = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "et-open-2024"
TARGET_RATIO = 3.0


# Each function returns what it built; the timer stops before the result is freed, so no
# side pays for deallocation (the results are what a caller goes on to use).


def reference_parse(files: list[Path]) -> object:
    return [rule for path in files for rule in idstools_rule.parse_file(str(path))]


def our_parse(files: list[Path]) -> object:
    return parse_rule_files(files)


def our_pipeline(files: list[Path]) -> object:
    parsed = parse_rule_files(files)
    result = validate_rules(parsed, variables=RuleVariables.for_home_net(["10.0.0.0/8"]))
    return parsed, result, plan_groups(result.accepted)


def best_time(func: Callable[[list[Path]], object], files: list[Path], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        built = func(files)
        elapsed = time.perf_counter() - start
        del built
        best = min(best, elapsed)
    return best


def peak_mib(func: Callable[[list[Path]], object], files: list[Path]) -> float:
    gc.collect()
    tracemalloc.start()
    func(files)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    files = sorted(ET_OPEN.glob("*.rules"))
    rules = len(reference_parse(files))  # type: ignore[arg-type]
    size = sum(path.stat().st_size for path in files) / 2**20
    print(
        f"ET Open 2024: {len(files)} files, {size:.1f} MiB, {rules} rules (best of {args.repeat})"
    )

    rows = [
        ("idstools parse (baseline)", reference_parse),
        ("egress_net parse", our_parse),
        ("egress_net parse+validate+split", our_pipeline),
    ]
    baseline = best_time(reference_parse, files, args.repeat)
    print(f"{'what':<34}{'seconds':>9}{'speed-up':>10}{'peak MiB':>10}")
    results = {}
    for name, func in rows:
        seconds = baseline if func is reference_parse else best_time(func, files, args.repeat)
        results[name] = seconds
        print(f"{name:<34}{seconds:>9.3f}{baseline / seconds:>9.2f}x{peak_mib(func, files):>10.1f}")
    ratio = baseline / results["egress_net parse+validate+split"]
    verdict = "meets" if ratio >= TARGET_RATIO else "MISSES"
    print(
        f"full pipeline vs reference parse: {ratio:.2f}x ({verdict} the {TARGET_RATIO:.0f}x target)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
