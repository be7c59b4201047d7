"""Scheduled sync of the Emerging Threats Open ruleset into the rule groups the program declared.

The pipeline, one module per step, each usable on its own:

- ``fetch``: download the tarball and its ``.md5`` (one deadline, size cap, same-host
  redirects), verify the digest and read the ``rules/`` files out of the tarball in memory,
  refusing unsafe members, too many members and oversize archives.
- ``select``: categories to include/exclude, IDS→IPS conversion, rule variables.
- ``plan``: only the feed's alert rules, validated and split into the declared groups; rules
  that outgrow them are reported with the capacity needed.
- ``apply``: ``UpdateRuleGroup`` on the declared groups only, with fresh UpdateTokens; token
  conflicts retried from a fresh describe; any failure rolls back so the last applied rules
  stay in force.
- ``manifest``: what is applied and what was rejected, to S3; the applied version in SSM.
- ``handler``: the Lambda entry point tying the steps together.

Only the standard library and boto3 are used here: this package is deployed as Lambda code.
"""
