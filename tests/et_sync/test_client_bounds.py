"""The Network Firewall client is bounded, so the time reserved per group write holds.

``GroupWriter`` stops before a write when the function's time left is under what the write
and the rollbacks could take. That is only true if no single call can outlast its share:
botocore's defaults (60 s to connect, 60 s per read, several attempts) would let one call run
for minutes, and Lambda would end the run mid-apply with no rollback.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from egress_net.et_sync import apply
from egress_net.et_sync.handler import Clients, network_firewall_config


@pytest.fixture
def deployed_clients(monkeypatch: pytest.MonkeyPatch) -> Clients:
    """The clients exactly as the function builds them (region and keys as Lambda sets)."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_MAX_ATTEMPTS", raising=False)
    return Clients.from_boto3()


def test_the_firewall_client_has_the_bounds_the_budget_assumes(deployed_clients: Clients) -> None:
    config = deployed_clients.network_firewall.meta.config
    assert config.connect_timeout == apply.NFW_CONNECT_TIMEOUT_S
    assert config.read_timeout == apply.NFW_READ_TIMEOUT_S
    assert config.retries["mode"] == "standard"
    assert config.retries["total_max_attempts"] == apply.NFW_TOTAL_ATTEMPTS
    # The budget of a group covers its two calls at their longest, with these very bounds.
    longest = apply.call_limit_s(
        config.connect_timeout, config.read_timeout, config.retries["total_max_attempts"]
    )
    assert apply.GROUP_WRITE_BUDGET_MS >= apply.CALLS_PER_GROUP * longest * 1000
    assert apply.GroupWriter(None, marker="m").group_budget_ms == apply.GROUP_WRITE_BUDGET_MS


def test_call_limit_counts_every_attempt_and_the_wait_between() -> None:
    assert apply.call_limit_s(2, 10, 1, 6) == 12
    assert apply.call_limit_s(2, 10, 2, 6) == 2 * 12 + 6
    assert apply.call_limit_s(2, 10, 3, 6) == 3 * 12 + 2 * 6


class _AlwaysBusy(BaseHTTPRequestHandler):
    """Answers every request with a 503 (a transient error botocore retries)."""

    requests = 0

    def do_POST(self) -> None:  # http.server calls do_<METHOD>
        type(self).requests += 1
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = b'{"__type": "ServiceUnavailable", "message": "busy"}'
        self.send_response(503)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def busy_endpoint() -> Iterator[str]:
    _AlwaysBusy.requests = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _AlwaysBusy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_failing_call_is_tried_exactly_the_bounded_number_of_times(busy_endpoint: str) -> None:
    """``total_max_attempts`` counts the first try; ``max_attempts`` would have added it to
    the retries (one more attempt than the budget holds)."""
    client = boto3.client(
        "network-firewall",
        region_name="us-east-1",
        endpoint_url=busy_endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=network_firewall_config(),
    )
    with pytest.raises(ClientError):
        client.describe_rule_group(RuleGroupArn="arn:aws:network-firewall:x", Type="STATEFUL")
    assert _AlwaysBusy.requests == apply.NFW_TOTAL_ATTEMPTS
