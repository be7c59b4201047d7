"""Values AWS accepts, shared by the config models."""

from __future__ import annotations

import re

# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS: tuple[int, ...] = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
    2922, 3288, 3653,
)  # fmt: skip

# A KMS key by key ID or alias, in any partition (the ARN formats of the KMS Developer Guide,
# "Key identifiers (KeyId)").
KMS_KEY_ARN = re.compile(
    r"^arn:aws(?:-cn|-us-gov)?:kms:[a-z0-9-]+:\d{12}:(?:key/[0-9a-f-]{36}|alias/[\w/-]+)$"
)
# A KMS key by its key ARN only: where an API asks for "the ARN of the KMS key" (CloudWatch
# Logs CreateLogGroup/AssociateKmsKey ``kmsKeyId``).
KMS_KEY_ONLY_ARN = re.compile(r"^arn:aws(?:-cn|-us-gov)?:kms:[a-z0-9-]+:\d{12}:key/[0-9a-f-]{36}$")
