"""Domain suffixes shared by unrelated tenants, and allow entries too broad because of them.

An allow entry ``.amazonaws.com`` admits every S3 bucket, load balancer and API Gateway in
AWS, an attacker's included: data leaves to their bucket through the firewall. The same holds
for an entry at or above any suffix under which anyone can get a name (``.cloudfront.net``,
``.github.io``, ``.s3.us-east-1.amazonaws.com`` …), and for an exact entry equal to such a
suffix where the host serves every tenant by path (``s3.us-east-1.amazonaws.com/<any
bucket>``). ``allowlist learn`` never proposes such a wildcard either.

Stdlib only. The list follows the private section of the Public Suffix List
(https://publicsuffix.org/list/public_suffix_list.dat, "Amazon", "GitHub", "Heroku" …
entries, read 2026-12-06), with ``*`` standing for one label (a region) where the list
repeats an entry per region. It is not exhaustive: an entry it does not know is not proven
safe.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

# Plain suffixes (also what ``allowlist learn`` checks wildcard proposals against).
SHARED_SUFFIXES: frozenset[str] = frozenset(
    {
        "amazonaws.com",
        "amazonaws.com.cn",
        "cloudfront.net",
        "elb.amazonaws.com",
        "s3.amazonaws.com",
        "compute.amazonaws.com",
        "compute-1.amazonaws.com",
        "on.aws",
        "awsapps.com",
        "amplifyapp.com",
        "awsapprunner.com",
        "awsglobalaccelerator.com",
        "elasticbeanstalk.com",
        "amazoncognito.com",
        "azurewebsites.net",
        "blob.core.windows.net",
        "cloudapp.net",
        "appspot.com",
        "googleapis.com",
        "googleusercontent.com",
        "storage.googleapis.com",
        "firebaseapp.com",
        "web.app",
        "github.io",
        "githubusercontent.com",
        "gitlab.io",
        "herokuapp.com",
        "netlify.app",
        "vercel.app",
        "pages.dev",
        "workers.dev",
        "ngrok.io",
        "ngrok-free.app",
        "co.uk",
        "org.uk",
        "ac.uk",
        "gov.uk",
        "com.au",
        "net.au",
        "org.au",
        "co.jp",
        "ne.jp",
        "or.jp",
        "co.nz",
        "com.br",
        "com.cn",
        "com.mx",
        "co.in",
        "co.kr",
        "co.za",
    }
)

# Per-region suffixes (``*`` = one label). S3 serves any bucket under each of these, by
# name (``bucket.s3.<region>.amazonaws.com``) and by path (``s3.<region>.amazonaws.com/bucket``).
SHARED_SUFFIX_PATTERNS: tuple[str, ...] = (
    "s3.*.amazonaws.com",
    "s3-*.amazonaws.com",  # s3-us-west-2, s3-external-1, s3-website-us-east-1 (legacy)
    "s3.dualstack.*.amazonaws.com",
    "s3-website.*.amazonaws.com",
    "s3-accesspoint.*.amazonaws.com",
    "s3-accesspoint.dualstack.*.amazonaws.com",
    "s3-object-lambda.*.amazonaws.com",
    "execute-api.*.amazonaws.com",
    "appsync-api.*.amazonaws.com",
    "dkr.ecr.*.amazonaws.com",  # <account>.dkr.ecr.<region>: anyone's image registry
    "iot.*.amazonaws.com",
    "*.elb.amazonaws.com",
    "*.compute.amazonaws.com",
    "*.es.amazonaws.com",
    "*.eks.amazonaws.com",
    "*.rds.amazonaws.com",
    "lambda-url.*.on.aws",
    "auth.*.amazoncognito.com",
    "s3.*.amazonaws.com.cn",
    "*.elasticbeanstalk.com",
    "*.awsapprunner.com",
)

_ALL = tuple(sorted(SHARED_SUFFIXES)) + SHARED_SUFFIX_PATTERNS

_AWS_HINT = (
    "list the service endpoints you use, e.g. sts.us-east-1.amazonaws.com, "
    "api.ecr.us-east-1.amazonaws.com, and each bucket by name, e.g. "
    "my-bucket.s3.us-east-1.amazonaws.com (s3.<region>.amazonaws.com itself serves any "
    "bucket by path); VPC endpoints keep AWS traffic off the internet altogether"
)


@dataclass(frozen=True)
class SharedSuffixMatch:
    """Why an allow entry is too broad: the shared suffix it is at or above, and what to use."""

    suffix: str
    hint: str

    @property
    def problem(self) -> str:
        return (
            f"admits every tenant of the shared suffix {self.suffix} (anyone can own a name "
            "there, so data can leave to an attacker's bucket or site)"
        )


def _labels_match(pattern: list[str], labels: list[str]) -> bool:
    return len(pattern) == len(labels) and all(
        fnmatch.fnmatchcase(label, glob) for label, glob in zip(labels, pattern, strict=True)
    )


def _hint(suffix: str) -> str:
    if suffix.endswith(("amazonaws.com", "amazonaws.com.cn")):
        return _AWS_HINT
    example = suffix.replace("*", "us-east-1")
    return f"name your own hosts under it instead, e.g. my-app.{example}"


def shared_suffix_match(entry: str) -> SharedSuffixMatch | None:
    """The shared suffix an allow entry is at or above, or None.

    ``.x`` (x and everything below) is too broad when x is a shared suffix or a parent of one
    (``.us-east-1.amazonaws.com`` holds ``s3.us-east-1.amazonaws.com``); ``x`` alone when it
    is a shared suffix (its host may serve every tenant by path). Entries below a suffix
    (``my-bucket.s3.amazonaws.com``, ``.myorg.github.io``) name one tenant and pass.
    """
    wildcard = entry.startswith(".")
    labels = entry.lstrip(".").lower().split(".")
    for suffix in _ALL:
        pattern = suffix.split(".")
        if _labels_match(pattern, labels) or (
            wildcard
            and len(pattern) > len(labels)
            and _labels_match(pattern[-len(labels) :], labels)
        ):
            return SharedSuffixMatch(suffix, _hint(suffix))
    return None
