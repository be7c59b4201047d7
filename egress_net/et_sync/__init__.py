"""Scheduled sync of the Emerging Threats Open ruleset into Network Firewall rule groups.

The pipeline, one module per step, each usable on its own:

- ``fetch``: download the tarball and its ``.md5`` (timeouts, size cap), verify the digest and
  read the ``rules/`` files out of the tarball in memory, refusing unsafe members.
- ``select``: categories to include/exclude, IDS→IPS conversion, rule variables.
- ``plan``: validated rules split into the fewest groups under the capacity quotas.
- ``apply``: Network Firewall updates with UpdateTokens; groups that must grow are replaced;
  any failure rolls back so the last applied rules stay in force.
- ``manifest``: what is applied and what was rejected, to S3; the applied version in SSM.
- ``handler``: the Lambda entry point tying the steps together.

Only the standard library and boto3 are used here: this package is deployed as Lambda code.
"""
