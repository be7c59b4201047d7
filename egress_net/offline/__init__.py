"""The offline world's own checks and facts: ARN formats, AWS API rules, the preview pass."""

from __future__ import annotations

from egress_net.errors import EgressNetError


class OfflineCheckError(EgressNetError):
    """A synthesized stack that the real CLI or AWS would refuse. ``where`` names the resource."""
