"""Rules pipeline speed and memory on the whole ET Open 2024 set, in two equal-work comparisons.

(a) Full parse: every rule, every option, split into (name, value) pairs, with sid/rev/msg
    read, by our parser and by the two public Python parsers, idstools (``parse_fileobj``)
    and suricataparser (``parse_rules``). Our parser is lazy by default (option values of a
    rule are split when first asked for, and a deploy asks for few of them), so the lazy
    parse is shown too, but not compared: it does less work.
(b) End to end: the ET set to a deployable plan (rule groups with their rules strings and
    capacities) by the ET sync's planner, against the AWS sample pipeline's approach
    (aws-samples "AWS Network Firewall with Emerging Threats rules", ``rules_processor``
    Lambda), rewritten here from its description: per rules file, suricataparser's
    ``parse_file``; enabled rules only; files over 1,000 active rules split into 1,000-rule
    chunk files that are parsed again; rules dropped for actions other than
    alert/drop/pass, for iprep, lua/luajit, file keywords, ENIP/CIP, datasets and any
    ``flowbits:isset``; rules whose header names a variable other than EXTERNAL_NET,
    HOME_NET, HTTP_PORTS, HTTP_SERVERS, DNS_SERVERS dropped, the last three replaced by
    values and the rule parsed again; one group per chunk, capacity = rules x 1.3 rounded up
    to the next hundred, rules string = the rules printed back one per line.

Both sides read the same texts from memory. Each timing is the best of ``--repeat`` runs in
this process; peak memory is measured in separate runs with ``tracemalloc`` (which slows code
down). suricataparser is a test extra, used only here.

    .venv/bin/python benchmarks/rules.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import gc
import io
import math
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import suricataparser
from idstools import rule as idstools_rule

from egress_net.et_sync.model import EmergingThreatsConfig
from egress_net.et_sync.plan import build_plan
from egress_net.rules import ParsedRule, parse_rules

ET_OPEN = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "et-open-2024"
HOME_NET = ("10.0.0.0/8",)
GROUPS_QUOTA = 20
CAPACITY_QUOTA = 30_000

# The sample's settings (its environment variables, given example values).
SAMPLE_CHUNK = 1_000
SAMPLE_VARIABLES = {"EXTERNAL_NET", "HOME_NET", "HTTP_PORTS", "HTTP_SERVERS", "DNS_SERVERS"}
SAMPLE_VALUES = {"$HTTP_PORTS": "[80,8080]", "$HTTP_SERVERS": "[10.0.0.0/8]"}
SAMPLE_VALUES["$DNS_SERVERS"] = "[10.0.0.2]"
SAMPLE_ACTIONS = {"alert", "drop", "pass"}
SAMPLE_REFUSED_OPTIONS = (
    "iprep",
    "lua",
    "luajit",
    "filename",
    "fileext",
    "filemagic",
    "filestore",
    "filemd5",
    "filesha1",
    "filesha256",
    "filesize",
    "enip_command",
    "cip_service",
    "dataset",
    "datarep",
)


def load_files() -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(ET_OPEN.glob("*.rules"))}


# (a) full parse ------------------------------------------------------------------------------


def idstools_full(files: dict[str, str]) -> object:
    return [r for text in files.values() for r in idstools_rule.parse_fileobj(io.StringIO(text))]


def suricataparser_full(files: dict[str, str]) -> object:
    return [r for text in files.values() for r in suricataparser.parse_rules(text)]


def ours_full(files: dict[str, str]) -> object:
    parsed = [r for name, text in files.items() for r in parse_rules(text, filename=name)]
    for rule in parsed:
        if isinstance(rule, ParsedRule):
            _ = rule.options, rule.msg  # every option split; sid, rev, gid, msg read
    return parsed


def ours_lazy(files: dict[str, str]) -> object:
    return [r for name, text in files.items() for r in parse_rules(text, filename=name)]


# (b) end to end ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedGroup:
    name: str
    capacity: int
    rules_string: str
    rule_count: int


def _sample_keeps(rule: suricataparser.Rule) -> bool:
    if rule.action not in SAMPLE_ACTIONS:
        return False
    if any(rule.get_option(name) for name in SAMPLE_REFUSED_OPTIONS):
        return False
    return "flowbits:isset" not in str(rule)


def _sample_variables(rule: suricataparser.Rule) -> suricataparser.Rule | None:
    """The rule with the sample's static variables filled in, or None (dropped)."""
    text = str(rule)
    used = [w.replace("$", "").replace("!", "") for w in text.split()[:7] if "$" in w]
    if any(name not in SAMPLE_VARIABLES for name in used):
        return None
    for variable, value in SAMPLE_VALUES.items():
        text = text.replace(variable, value)
    return suricataparser.parse_rule(text)


def _sample_group(name: str, rules: list[suricataparser.Rule]) -> PlannedGroup | None:
    kept = [r for r in rules if _sample_keeps(r)]
    final = [r for r in map(_sample_variables, kept) if r is not None]
    if not final:
        return None
    capacity = math.ceil(len(final) * 1.3 / 100.0) * 100
    return PlannedGroup(name, capacity, "\n".join(str(r) for r in final), len(final))


def aws_sample_pipeline(files: dict[str, str]) -> list[PlannedGroup]:
    groups: list[PlannedGroup] = []
    for file_name, text in files.items():
        stem = file_name.split(".")[0].replace("_", "-")
        active = [r for r in suricataparser.parse_rules(text) if r.enabled]
        if len(active) <= SAMPLE_CHUNK:
            chunks = [(stem, active)]
        else:  # written back as chunk files, each parsed again by its own invocation
            chunks = []
            for index, start in enumerate(range(0, len(active), SAMPLE_CHUNK), start=1):
                chunk_text = "\n".join(str(r) for r in active[start : start + SAMPLE_CHUNK])
                chunks.append((f"{stem}-{index:02d}", suricataparser.parse_rules(chunk_text)))
        for name, rules in chunks:
            group = _sample_group(f"suricata-{name}", rules)
            if group is not None:
                groups.append(group)
    return groups


def ours_plan(files: dict[str, str]) -> Any:
    # The default declared groups: the program owns them, the sync fills them.
    settings = EmergingThreatsConfig().to_settings(home_net=list(HOME_NET))
    return build_plan(files, settings, version="bench")


# measurement ---------------------------------------------------------------------------------


def best_time(func: Callable[[], object], repeat: int) -> tuple[float, object]:
    best, built = math.inf, None
    for _ in range(repeat):
        built = None
        gc.collect()
        start = time.perf_counter()
        built = func()
        best = min(best, time.perf_counter() - start)
    return best, built


def peak_mib(func: Callable[[], object]) -> float:
    gc.collect()
    tracemalloc.start()
    func()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def table(title: str, rows: list[tuple[str, Callable[[], object]]], repeat: int) -> list[Any]:
    """Times and peaks of ``rows``; the first row is the baseline the others are compared to."""
    print(f"\n{title}")
    print(f"  {'what':<46}{'seconds':>9}{'vs base':>9}{'peak MiB':>10}")
    built: list[Any] = []
    base = 0.0
    for index, (label, func) in enumerate(rows):
        seconds, result = best_time(func, repeat)
        built.append(result)
        base = base or seconds
        ratio = "base" if index == 0 else f"{base / seconds:.2f}x"
        print(f"  {label:<46}{seconds:>9.3f}{ratio:>9}{peak_mib(func):>10.1f}")
    return built


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    files = load_files()
    size = sum(len(t.encode()) for t in files.values()) / 2**20
    print(f"ET Open 2024: {len(files)} files, {size:.1f} MiB (best of {args.repeat}; 'vs base'")
    print("is how many times faster than the first row)")

    parsed = table(
        "(a) full parse: every rule, every option",
        [
            ("idstools parse_fileobj (base)", lambda: idstools_full(files)),
            ("suricataparser parse_rules", lambda: suricataparser_full(files)),
            ("egress_net parse, all options split", lambda: ours_full(files)),
        ],
        args.repeat,
    )
    counts = [len(p) for p in parsed]  # type: ignore[arg-type]
    print(f"  rules: idstools {counts[0]:,}, suricataparser {counts[1]:,}, ours {counts[2]:,}")
    lazy, _ = best_time(lambda: ours_lazy(files), args.repeat)
    print(f"  (not comparable: our lazy parse, option values left for later, {lazy:.3f} s)")

    sample, plan = table(
        "(b) end to end: ET set -> deployable plan",
        [
            ("AWS sample pipeline (suricataparser) (base)", lambda: aws_sample_pipeline(files)),
            ("egress_net ET sync plan", lambda: ours_plan(files)),
        ],
        args.repeat,
    )
    print(f"\n  {'plan':<46}{'groups':>7}{'capacity':>10}{'rules':>8}  fits the default quotas")
    sample_capacity = sum(g.capacity for g in sample)
    rows = [
        ("AWS sample pipeline", len(sample), sample_capacity, sum(g.rule_count for g in sample)),
        ("egress_net ET sync plan", len(plan.groups), plan.total_capacity, plan.total_rules),
    ]
    for label, groups, capacity, rules in rows:
        fits = groups <= GROUPS_QUOTA and capacity <= CAPACITY_QUOTA
        print(f"  {label:<46}{groups:>7}{capacity:>10,}{rules:>8,}  {'yes' if fits else 'no'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
