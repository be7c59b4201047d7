"""Errors raised while syncing; each says where it happened and what to do about it."""

from __future__ import annotations

from collections.abc import Sequence

from egress_net.errors import EgressNetError


class SyncError(EgressNetError):
    """A sync step failed; ``where`` names the URL, rule group or parameter involved."""


class FetchError(SyncError):
    """The ruleset could not be downloaded, verified or safely unpacked."""


class CapacityError(SyncError):
    """The selected rules do not fit the ET rule groups the program declared."""


class ApplyError(SyncError):
    """Network Firewall refused a change; the previous rules were restored."""


class CategoryError(SyncError):
    """Category names the ruleset does not have. ``problems`` pairs the config key or CLI
    flag the names came from with what is wrong; ``where`` is the first of them."""

    def __init__(self, problems: Sequence[tuple[str, str]], known: str, hint: str = "") -> None:
        (where, first), *rest = problems
        text = "; ".join([first, *(f"{label}: {problem}" for label, problem in rest), known])
        super().__init__(where, text, hint)


class EmptyPlanError(SyncError):
    """The plan has no ET rule groups while some are in force: it would remove every ET rule."""
