"""Fail unless the running interpreter has exactly the versions a constraints file pins.

`pip install -c` refuses a pinned version it cannot install, but a later install step, an
edited command or a package missing from the environment would go unseen: the floor pass
checks what it runs on. Usage: python .ci/installed_pins.py constraints-floor.txt
"""

from __future__ import annotations

import importlib.metadata
import re
import sys
from pathlib import Path

PIN = re.compile(r"^([A-Za-z0-9_.-]+)==(\S+)$")


def pinned(text: str) -> dict[str, str]:
    """``name==version`` lines of a constraints file (comments and blank lines skipped)."""
    pins: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = PIN.match(line)
        if not match:
            raise SystemExit(f"line {number}: {raw!r} is not name==version")
        pins[match[1]] = match[2]
    return pins


def mismatches(pins: dict[str, str]) -> list[str]:
    problems = []
    for name, wanted in pins.items():
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            problems.append(f"{name}: pinned {wanted}, not installed")
            continue
        if installed != wanted:
            problems.append(f"{name}: pinned {wanted}, installed {installed}")
    return problems


def main(argv: list[str]) -> int:
    (path,) = argv
    pins = pinned(Path(path).read_text())
    problems = mismatches(pins)
    for problem in problems:
        print(f"{path}: {problem}", file=sys.stderr)
    if not problems:
        print(f"{path}: all {len(pins)} pins installed")
    return 1 if problems or not pins else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
