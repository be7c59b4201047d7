"""What a plan would change compared with the last applied manifest (for dry runs).

Per declared group: ``update`` when its rules (sid, rev) differ, ``keep`` when not, ``create``
or ``delete`` when a group starts or stops holding ET rules, and ``replace`` when the rules no
longer fit the capacity it was deployed with (raise ``groupCapacity`` and run ``pulumi up``).
Rules are compared by sid and rev, which is what a ruleset's changelog speaks of.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from egress_net.et_sync.plan import SyncPlan


@dataclass(frozen=True)
class GroupChangeLine:
    action: str  # create | update | replace | delete | keep
    key: str
    name: str
    old_capacity: int | None
    new_capacity: int | None
    rules: int


@dataclass(frozen=True)
class PlanChanges:
    groups: tuple[GroupChangeLine, ...]
    sids_added: tuple[int, ...]
    sids_removed: tuple[int, ...]
    sids_changed: tuple[int, ...]
    capacity_before: int
    capacity_after: int

    def count(self, action: str) -> int:
        return sum(1 for line in self.groups if line.action == action)


def _revisions(manifest: Mapping[str, Any]) -> dict[int, int]:
    recorded = manifest.get("revisions")
    if recorded:
        return {int(sid): int(rev) for sid, rev in recorded.items()}
    # Older manifests list sids only; treat every rule as revision 0.
    return {int(sid): 0 for group in manifest.get("groups", []) for sid in group.get("sids", [])}


def changes_from_manifest(plan: SyncPlan, manifest: Mapping[str, Any] | None) -> PlanChanges:
    manifest = manifest or {}
    # Groups holding only the placeholder are not ET rules: left out on both sides.
    old_groups = {str(g["key"]): g for g in manifest.get("groups", []) if g.get("sids")}
    old_revisions = _revisions(manifest)
    lines: list[GroupChangeLine] = []
    for group in plan.filled:
        old = old_groups.pop(group.key, None)
        if old is None:
            action, old_capacity, capacity = "create", None, group.capacity
        else:
            old_capacity = int(old["capacity"])
            old_sids = {int(s): old_revisions.get(int(s), 0) for s in old.get("sids", [])}
            new_sids = {sid: plan.revisions.get(sid, 0) for sid in group.sids}
            if old_capacity < group.needed_capacity:
                action, capacity = "replace", group.capacity
            elif old_sids == new_sids:
                action, capacity = "keep", old_capacity
            else:
                action, capacity = "update", old_capacity
        lines.append(
            GroupChangeLine(action, group.key, group.name, old_capacity, capacity, len(group.sids))
        )
    for key, old in sorted(old_groups.items()):
        lines.append(
            GroupChangeLine("delete", key, str(old.get("name", key)), int(old["capacity"]), None, 0)
        )
    new_revisions = dict(plan.revisions)
    added = sorted(set(new_revisions) - set(old_revisions))
    removed = sorted(set(old_revisions) - set(new_revisions))
    changed = sorted(
        sid
        for sid in set(new_revisions) & set(old_revisions)
        if new_revisions[sid] != old_revisions[sid]
    )
    before = sum(int(g["capacity"]) for g in manifest.get("groups", []) if g.get("sids"))
    after = sum(line.new_capacity or 0 for line in lines)
    return PlanChanges(
        groups=tuple(lines),
        sids_added=tuple(added),
        sids_removed=tuple(removed),
        sids_changed=tuple(changed),
        capacity_before=before,
        capacity_after=after,
    )
