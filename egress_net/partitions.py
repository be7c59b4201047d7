"""Which AWS partition a region belongs to: ``aws``, ``aws-cn``, ``aws-us-gov``...

Every ARN the program builds and every ARN the offline engine answers starts with the
partition of the stack's region, never a hard-coded ``arn:aws:``. The facts come from the
partition table botocore ships (``botocore/data/partitions.json``: each partition's regions,
region regex and DNS suffix), the table the AWS SDKs resolve endpoints with.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class Partition:
    name: str  # the ARN's second field: aws, aws-cn, aws-us-gov, aws-iso...
    dns_suffix: str  # amazonaws.com, amazonaws.com.cn...

    def arn(self, service: str, region: str, account: str, resource: str) -> str:
        """``arn:<partition>:<service>:<region>:<account>:<resource>``."""
        return f"arn:{self.name}:{service}:{region}:{account}:{resource}"


@functools.cache
def _partition_table() -> list[dict[str, Any]]:
    text = (resources.files("botocore") / "data" / "partitions.json").read_text("utf-8")
    return list(json.loads(text)["partitions"])


def partition_of(region: str) -> Partition:
    """The partition of ``region``, as the AWS SDKs resolve it: listed regions first, then each
    partition's region regex; an unknown region falls back to ``aws`` like the SDKs do."""
    table = _partition_table()
    for entry in table:
        if region in entry.get("regions", {}):
            return _partition(entry)
    for entry in table:
        if re.match(entry["regionRegex"], region):
            return _partition(entry)
    return _partition(next(e for e in table if e["id"] == "aws"))


def _partition(entry: dict[str, Any]) -> Partition:
    return Partition(entry["id"], entry["outputs"]["dnsSuffix"])


def service_principal(service: str, region: str) -> str:
    """The IAM service principal of ``service`` (``lambda``, ``events``...) in ``region``.

    ``<service>.amazonaws.com`` in every partition, except the few services AWS names with the
    partition's own DNS suffix there (China: ``logs``, ``codedeploy``, ``elasticmapreduce``).
    Rule as in hashicorp/terraform-provider-aws ``names.ServicePrincipalNameForPartition``
    (data source ``aws_service_principal``), itself taken from aws-cdk's region-info
    ``Default.servicePrincipal``. ``delivery.logs`` (vended log delivery) is not ``logs``.
    """
    partition = partition_of(region)
    suffix = "amazonaws.com"
    if service in _PARTITION_SUFFIX_SERVICES.get(partition.name, ()):
        suffix = partition.dns_suffix
    return f"{service}.{suffix}"


_PARTITION_SUFFIX_SERVICES: dict[str, tuple[str, ...]] = {
    "aws-cn": ("codedeploy", "elasticmapreduce", "logs"),
    "aws-iso": ("cloudhsm", "config", "logs", "workspaces"),
    "aws-iso-b": ("dms", "logs"),
}
