"""What the offline engine records of one Pulumi program run: plain data, no Pulumi import.

Inputs are recorded as the engine receives them: Pulumi property names in camelCase
(``cidrBlock``, ``vpcId``, ``availabilityZoneId``), with every ``Output`` already resolved to
the deterministic value the engine gave it (an ID such as ``vpc-0a1b2c3d4e5f60718``).
References between resources are therefore plain IDs, just as in a live AWS account.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RecordedResource:
    type: str  # Pulumi type token, e.g. "aws:ec2/vpc:Vpc"
    name: str  # logical name
    urn: str
    id: str  # physical ID the engine assigned ("" for component resources)
    inputs: dict[str, Any]
    outputs: dict[str, Any]  # inputs plus computed properties (arn, ids, firewallStatuses...)
    parent: str | None  # parent URN; None only for children of the stack itself
    provider: str | None  # provider reference "<urn>::<id>" when not the default provider
    custom: bool = True  # False for ComponentResources
    dependencies: tuple[str, ...] = ()  # URNs this resource waits for (depends_on and inputs)
    retain_on_delete: bool = False  # left in the account by `pulumi destroy`

    def get(self, key: str, default: Any = None) -> Any:
        """A property from outputs, falling back to inputs."""
        if key in self.outputs:
            return self.outputs[key]
        return self.inputs.get(key, default)


@dataclass
class Recording:
    project: str
    stack: str
    resources: list[RecordedResource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)  # stack outputs, resolved
    config: dict[str, Any] = field(default_factory=dict)  # the stack's config values, parsed

    def of_type(self, type_token: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.type == type_token]

    def by_id(self) -> dict[str, RecordedResource]:
        return {r.id: r for r in self.resources if r.id}

    def by_urn(self) -> dict[str, RecordedResource]:
        return {r.urn: r for r in self.resources}

    def __iter__(self) -> Iterator[RecordedResource]:
        return iter(self.resources)

    def __len__(self) -> int:
        return len(self.resources)
