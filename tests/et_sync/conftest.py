"""Fixtures: ET Open tarballs built from the shared data, a loopback HTTP server with
switchable faults, and a moto server for S3 and SSM."""

from __future__ import annotations

import hashlib
import http.server
import io
import tarfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pytest

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "et-open-2024"
SMALL_FILES = ("emerging-dns.rules", "tor.rules", "emerging-scan.rules")


def build_tarball(files: dict[str, bytes], *, extra: list[tarfile.TarInfo] | None = None) -> bytes:
    """A gzip tarball with a ``rules/`` folder, as ET publishes it."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        folder = tarfile.TarInfo("rules")
        folder.type = tarfile.DIRTYPE
        folder.mode = 0o755
        archive.addfile(folder)
        for name, body in sorted(files.items()):
            info = tarfile.TarInfo(f"rules/{name}")
            info.size = len(body)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(body))
        for info in extra or []:
            archive.addfile(info, io.BytesIO(b"x" * info.size) if info.size else None)
    return buffer.getvalue()


def md5_text(data: bytes) -> bytes:
    return f"{hashlib.md5(data).hexdigest()}\n".encode()


@dataclass
class Served:
    """What the test server answers, per path; faults switch per test."""

    bodies: dict[str, bytes] = field(default_factory=dict)
    status: int = 200
    delay_seconds: float = 0.0
    requests: list[str] = field(default_factory=list)
    # path -> Location of a 302 answer
    redirects: dict[str, str] = field(default_factory=dict)
    # pause between 1 KB pieces of a body: each read is quick, the whole download is not
    trickle_seconds: float = 0.0


@dataclass(frozen=True)
class RulesServer:
    base_url: str
    served: Served

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def publish(self, tarball: bytes, *, name: str = "emerging.rules.tar.gz") -> str:
        """Serve ``tarball`` and its correct ``.md5``; returns the tarball URL."""
        self.served.bodies[f"/{name}"] = tarball
        self.served.bodies[f"/{name}.md5"] = md5_text(tarball)
        return self.url(name)


def _handler_for(served: Served) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            served.requests.append(self.path)
            if served.delay_seconds:
                time.sleep(served.delay_seconds)
            if self.path in served.redirects:
                self.send_response(302)
                self.send_header("Location", served.redirects[self.path])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = served.bodies.get(self.path)
            status = served.status if body is not None else 404
            try:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                if status == 200 and body and served.trickle_seconds:
                    for start in range(0, len(body), 1024):
                        self.wfile.write(body[start : start + 1024])
                        self.wfile.flush()
                        time.sleep(served.trickle_seconds)
                elif status == 200 and body:
                    self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout test)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@pytest.fixture(scope="session")
def _http_server() -> Iterator[tuple[http.server.ThreadingHTTPServer, Served]]:
    served = Served()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(served))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, served
    server.shutdown()
    server.server_close()


@pytest.fixture
def rules_server(_http_server: tuple[http.server.ThreadingHTTPServer, Served]) -> RulesServer:
    server, served = _http_server
    served.bodies.clear()
    served.requests.clear()
    served.status = 200
    served.delay_seconds = 0.0
    served.redirects.clear()
    served.trickle_seconds = 0.0
    host, port = server.server_address[:2]
    return RulesServer(base_url=f"http://{host}:{port}", served=served)


@pytest.fixture(scope="session")
def small_files() -> dict[str, bytes]:
    return {name: (DATA / name).read_bytes() for name in SMALL_FILES}


@pytest.fixture(scope="session")
def small_tarball(small_files: dict[str, bytes]) -> bytes:
    return build_tarball(small_files)


@pytest.fixture(scope="session")
def full_tarball() -> bytes:
    """The whole 2024 ruleset as ET publishes it (built once per run)."""
    files = {path.name: path.read_bytes() for path in sorted(DATA.iterdir()) if path.is_file()}
    return build_tarball(files)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    # Port 0: the OS picks a free port at bind time, so no other process can take it first.
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def s3(moto_endpoint: str, aws_env: None):  # type: ignore[no-untyped-def]
    return boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")


@pytest.fixture
def ssm(moto_endpoint: str, aws_env: None):  # type: ignore[no-untyped-def]
    return boto3.client("ssm", endpoint_url=moto_endpoint, region_name="us-east-1")
