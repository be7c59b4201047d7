"""egress_net: centralized egress filtering with AWS Network Firewall, verifiable offline.

The library API (README, "Using the components from your own program")::

    from egress_net import EgressHub, EgressHubArgs, SpokeArgs

Everything not listed in ``__all__`` is internal and may change in any release.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "ArgumentErrors",
    "DistributedSpoke",
    "EgressHub",
    "EgressHubArgs",
    "Spoke",
    "SpokeArgs",
    "__version__",
]

if TYPE_CHECKING:
    from egress_net.library import (
        ArgumentErrors,
        DistributedSpoke,
        EgressHub,
        EgressHubArgs,
        Spoke,
        SpokeArgs,
    )


def __getattr__(name: str) -> Any:
    # Loaded on first use: the CLI and the rule-sync function import this package without
    # Pulumi (PEP 562 module __getattr__).
    if name in __all__:
        from egress_net import library

        return getattr(library, name)
    raise AttributeError(f"module 'egress_net' has no attribute {name!r}")
