"""Errors raised while syncing; each says where it happened and what to do about it."""

from __future__ import annotations

from egress_net.errors import EgressNetError


class SyncError(EgressNetError):
    """A sync step failed; ``where`` names the URL, rule group or parameter involved."""


class FetchError(SyncError):
    """The ruleset could not be downloaded, verified or safely unpacked."""


class QuotaExceededError(SyncError):
    """The selected rules do not fit the configured Network Firewall quotas."""


class ApplyError(SyncError):
    """Network Firewall refused a change; the previous rules were restored."""
