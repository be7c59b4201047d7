"""The preview pass: a stack must declare the same resources under `pulumi preview` as under
`pulumi up`.

Under `pulumi preview` nothing is created: IDs, ARNs and every other output AWS computes are
unknown, and program code waiting on them (``apply`` callbacks) does not run. A resource
declared only once such a value is known appears in `up` but not in `preview`, so the preview
a user approves is not what `up` then does. Pure: compares two recordings.
"""

from __future__ import annotations

from dataclasses import dataclass

from egress_net.offline import OfflineCheckError
from egress_net.recording import Recording


@dataclass(frozen=True)
class Declared:
    urn: str  # carries the type chain and logical name
    type: str
    parent: str | None


def declared(recording: Recording) -> dict[str, Declared]:
    """What a run declares, keyed by URN (the stack's identity of a resource)."""
    return {r.urn: Declared(r.urn, r.type, r.parent) for r in recording}


def preview_differences(preview: Recording, up: Recording) -> list[str]:
    """Each resource declared by one pass and not the other, or with another parent."""
    before, after = declared(preview), declared(up)
    problems = [f"{urn}: declared by `pulumi up` only" for urn in sorted(after.keys() - before)]
    problems += [
        f"{urn}: declared by `pulumi preview` only" for urn in sorted(before.keys() - after)
    ]
    for urn in sorted(before.keys() & after.keys()):
        if before[urn].parent != after[urn].parent:
            problems.append(
                f"{urn}: parent {before[urn].parent} in preview, {after[urn].parent} in up"
            )
    return problems


def check_preview_matches(preview: Recording, up: Recording) -> None:
    problems = preview_differences(preview, up)
    if problems:
        shown = "\n    ".join(problems[:20])
        more = f"\n    ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise OfflineCheckError(
            f"stack {up.stack}",
            f"`pulumi preview` and `pulumi up` would declare different resources:\n    "
            f"{shown}{more}",
            "declare every resource outside apply() callbacks, from values known before "
            "anything is created (config, inputs), so the preview shows what up will do",
        )
