"""Ingress configs shared by the ingress tests."""

from __future__ import annotations

from typing import Any

CERT = "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"


def shop(**overrides: Any) -> dict[str, Any]:
    """An HTTPS application served by spoke ``app`` (10.1.0.0/16)."""
    app: dict[str, Any] = {
        "name": "shop",
        "spokes": ["app"],
        "protocol": "HTTPS",
        "certificateArn": CERT,
        "targetPort": 8443,
        "targets": ["10.1.0.10", "10.1.32.10"],
        "allowedSources": "everyone",
    }
    for key, value in overrides.items():
        if value is None:
            app.pop(key, None)
        else:
            app[key] = value
    return app


def ingress(*apps: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    section: dict[str, Any] = {"vpcCidr": "100.64.4.0/23", "applications": list(apps)}
    for key, value in overrides.items():
        if value is None:
            section.pop(key, None)
        else:
            section[key] = value
    return section
