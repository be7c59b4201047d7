"""Fixtures for the routing graph tests: recordings shaped like the program's, and moto."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # the factories beside this file

from graph_factory import HubSpokeFactory
from live_factory import bridge_tgw_route_targets

from egress_net.recording import Recording


@pytest.fixture
def hub_recording() -> Recording:
    """Hub with two AZs and two spokes, shaped like the program's output."""
    return HubSpokeFactory().build()


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """A moto server on a free loopback port for the whole session."""
    from moto.server import ThreadedMotoServer

    with pytest.MonkeyPatch.context() as env:
        for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
            env.delenv(name, raising=False)
        env.setenv("AWS_ACCESS_KEY_ID", "testing")
        env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        env.setenv("AWS_DEFAULT_REGION", "us-east-1")
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        try:
            yield f"http://{host}:{port}"
        finally:
            server.stop()


@pytest.fixture
def aws(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Fresh moto state, fake credentials, and boto3 clients pointed at the server."""
    import urllib.request

    import boto3

    for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    urllib.request.urlopen(urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST"))
    bridge_tgw_route_targets(monkeypatch)
    yield {
        "url": moto_url,
        "ec2": boto3.client("ec2", endpoint_url=moto_url, region_name="us-east-1"),
        "nfw": boto3.client("network-firewall", endpoint_url=moto_url, region_name="us-east-1"),
    }
