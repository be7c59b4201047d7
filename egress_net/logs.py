"""Read AWS Network Firewall log records from local files, S3 prefixes and CloudWatch Logs.

Network Firewall wraps each Suricata EVE JSON event in an AWS envelope::

    {"firewall_name": "hub", "availability_zone": "us-east-1a", "event_timestamp": "1601074865",
     "event": {"timestamp": "2020-09-25T23:01:05.598481+0000", "event_type": "tls",
               "src_ip": "10.1.0.5", "src_port": 49157, "dest_ip": "93.184.216.34",
               "dest_port": 443, "proto": "TCP", "tls": {"sni": "example.com"}}}

Everything here streams: readers yield one line at a time and never hold a whole object or
log group in memory, and no line longer than ``MAX_LINE_BYTES`` is read into memory either
(``bounded_lines`` skips it in bounded chunks and yields an ``OverlongLine`` in its place).
``parse_observation`` turns one line into the few fields allowlist learning needs, tolerating
what real logs contain (duplicate keys, string or integer timestamps and ports, trailing dots,
records without a name). A line that is not a record (nested too deeply included) raises
``CorruptRecord``; callers count it and carry on.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Protocol

from egress_net.errors import ConfigError

GZIP_MAGIC = b"\x1f\x8b"
S3_SCHEME = "s3://"
# Not a real URI scheme: names a CloudWatch Logs group on the command line.
CLOUDWATCH_SCHEME = "cwlogs://"
# The longest line read as a record. CloudWatch Logs stores events of at most 1 MB
# (PutLogEvents: "Each log event can be no larger than 1 MB", CloudWatch Logs API Reference)
# and a Network Firewall record is a few KB: a longer line is not a record. It is skipped in
# chunks of this size, never held whole.
MAX_LINE_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class OverlongLine:
    """Stands for a line longer than the cap, which was skipped unread (``size`` bytes)."""

    size: int


class CorruptRecord(ValueError):
    """A line that is not a Network Firewall (or plain EVE) JSON record."""


@dataclass(frozen=True, slots=True)
class Observation:
    """What one log record says about one outbound flow."""

    event_type: str
    timestamp: float | None  # epoch seconds UTC
    src_ip: str
    dest_ip: str
    dest_port: int | None
    proto: str
    sni: str | None  # raw TLS SNI, as logged
    http_host: str | None  # raw HTTP Host, as logged


# --------------------------------------------------------------------------------------------
# Parsing one record


def _merge_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook``: duplicate keys merge instead of the last one silently winning.

    Suricata occasionally writes a key twice (an empty value next to a real one); keeping
    the non-empty value, and merging two objects, keeps the information either copy carries.
    """
    merged = dict(pairs)
    if len(merged) == len(pairs):
        return merged
    merged = {}
    for key, value in pairs:
        if key not in merged:
            merged[key] = value
            continue
        old = merged[key]
        if isinstance(old, dict) and isinstance(value, dict):
            merged[key] = {**old, **{k: v for k, v in value.items() if v not in (None, "")}}
        elif value not in (None, "", {}, []):
            merged[key] = value
    return merged


_decoder = json.JSONDecoder(object_pairs_hook=_merge_duplicate_keys)


def _as_port(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= 65535 else None
    if isinstance(value, str) and value.strip().isdigit():
        port = int(value)
        return port if port <= 65535 else None
    return None


def _as_epoch(envelope: dict[str, Any], event: dict[str, Any]) -> float | None:
    """The envelope's ``event_timestamp`` (string or integer seconds), else the EVE timestamp."""
    raw = envelope.get("event_timestamp")
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return float(raw)
    if isinstance(raw, str):
        try:
            return float(raw)
        except ValueError:
            pass
    iso = event.get("timestamp")
    if isinstance(iso, str):
        try:
            return datetime.fromisoformat(iso).timestamp()
        except ValueError:
            return None
    if isinstance(iso, int | float) and not isinstance(iso, bool):
        return float(iso)
    return None


def _text(section: Any, key: str) -> str | None:
    if isinstance(section, dict):
        value = section.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return None


def parse_observation(line: str | bytes) -> Observation | None:
    """One log line → ``Observation``; ``None`` for a blank line or a record with no flow.

    Accepts the Network Firewall envelope and bare Suricata EVE records alike.
    Raises ``CorruptRecord`` for anything that is not a JSON object with addresses.
    """
    if isinstance(line, bytes):
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError as err:
            raise CorruptRecord(f"not UTF-8 ({err.reason})") from None
    text = line.strip()
    if not text:
        return None
    try:
        record = _decoder.decode(text)
    except ValueError as err:
        raise CorruptRecord(f"not JSON ({err})") from None
    except RecursionError:  # "[[[[…": the decoder's nesting limit, not a log record
        raise CorruptRecord("JSON nested too deeply") from None
    if not isinstance(record, dict):
        raise CorruptRecord("not a JSON object")
    event = record.get("event", record)
    if not isinstance(event, dict):
        raise CorruptRecord("'event' is not an object")
    src_ip, dest_ip = event.get("src_ip"), event.get("dest_ip")
    if not isinstance(src_ip, str) or not isinstance(dest_ip, str):
        raise CorruptRecord("record has no src_ip/dest_ip")
    proto = event.get("proto")
    return Observation(
        event_type=str(event.get("event_type") or ""),
        timestamp=_as_epoch(record, event),
        src_ip=src_ip.strip(),
        dest_ip=dest_ip.strip(),
        dest_port=_as_port(event.get("dest_port")),
        proto=str(proto).upper() if proto is not None else "",
        sni=_text(event.get("tls"), "sni"),
        http_host=_text(event.get("http"), "hostname"),
    )


# --------------------------------------------------------------------------------------------
# Progress on stderr


class Progress:
    """A one-line progress indicator on a terminal, redrawn at most every ``every_s`` seconds."""

    def __init__(
        self,
        total_bytes: int | None,
        stream: IO[str] | None = None,
        enabled: bool | None = None,
        every_s: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.total_bytes = total_bytes
        self.every_s = every_s
        self.clock = clock
        self.started = clock()
        self._last_draw = float("-inf")
        self.lines = 0
        self.done_bytes = 0

    def render(self) -> str:
        elapsed = max(self.clock() - self.started, 1e-9)
        rate = self.lines / elapsed
        text = f"{self.lines:,} lines, {rate:,.0f} lines/s"
        if self.total_bytes:
            share = min(self.done_bytes / self.total_bytes, 1.0)
            filled = int(share * 30)
            text = f"[{'#' * filled}{'.' * (30 - filled)}] {share:4.0%} " + text
        return text

    def update(self, lines: int, done_bytes: int) -> None:
        self.lines, self.done_bytes = lines, done_bytes
        if not self.enabled:
            return
        now = self.clock()
        if now - self._last_draw >= self.every_s:
            self._last_draw = now
            self.stream.write("\r" + self.render())
            self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self.stream.write("\r" + self.render() + "\n")
            self.stream.flush()


# --------------------------------------------------------------------------------------------
# Sources


class LineSource(Protocol):
    """Somewhere log lines come from. ``describe`` names it in messages."""

    def describe(self) -> str: ...

    def size_hint(self) -> int | None: ...

    def lines(self, on_bytes: Callable[[int], None]) -> Iterator[bytes | OverlongLine]: ...


def bounded_lines(
    stream: IO[bytes], max_bytes: int = MAX_LINE_BYTES
) -> Iterator[bytes | OverlongLine]:
    """The lines of ``stream``, each read with a cap: a line longer than ``max_bytes`` (its
    newline not counted) is consumed in ``max_bytes`` chunks and comes out as an
    ``OverlongLine``, so memory stays bounded whatever the input holds."""
    limit = max_bytes + 1  # room for the newline
    while line := stream.readline(limit):
        if len(line) < limit or line.endswith(b"\n"):
            yield line
            continue
        size = len(line)
        while (rest := stream.readline(limit)) and not rest.endswith(b"\n"):
            size += len(rest)
        yield OverlongLine(size + len(rest))


def _open_maybe_gzip(raw: io.RawIOBase) -> io.BufferedReader | gzip.GzipFile:
    """Read ``raw`` through gzip when it starts with the gzip magic bytes."""
    buffered = io.BufferedReader(raw)
    if buffered.peek(2)[:2] == GZIP_MAGIC:
        return gzip.GzipFile(fileobj=buffered)
    return buffered


class _CountingReader(io.RawIOBase):
    """Counts bytes read from a stream so progress can be shown on compressed input."""

    def __init__(self, inner: Any, on_bytes: Callable[[int], None]) -> None:
        self.inner = inner
        self.on_bytes = on_bytes

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.inner.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        if n:
            self.on_bytes(n)
        return n


@dataclass(frozen=True)
class FileSource:
    """A local log file, plain or gzip (detected by content, not by name)."""

    path: Path

    def describe(self) -> str:
        return str(self.path)

    def size_hint(self) -> int | None:
        return self.path.stat().st_size

    def lines(self, on_bytes: Callable[[int], None]) -> Iterator[bytes | OverlongLine]:
        with self.path.open("rb") as handle:
            stream = _open_maybe_gzip(_CountingReader(handle, on_bytes))
            try:
                yield from bounded_lines(stream)
            except (OSError, EOFError) as err:
                raise CorruptRecord(f"{self.path}: unreadable compressed data ({err})") from None


@dataclass(frozen=True)
class S3ObjectSource:
    """One S3 object (Network Firewall writes ``.log.gz`` files), plain or gzip."""

    client: Any
    bucket: str
    key: str
    size: int | None = None

    def describe(self) -> str:
        return f"{S3_SCHEME}{self.bucket}/{self.key}"

    def size_hint(self) -> int | None:
        return self.size

    def lines(self, on_bytes: Callable[[int], None]) -> Iterator[bytes | OverlongLine]:
        body = self.client.get_object(Bucket=self.bucket, Key=self.key)["Body"]
        stream = _open_maybe_gzip(_CountingReader(body, on_bytes))
        try:
            yield from bounded_lines(stream)
        except (OSError, EOFError) as err:
            raise CorruptRecord(f"{self.describe()}: {err}") from None
        finally:
            body.close()


@dataclass(frozen=True)
class S3Source:
    """Every object under ``s3://bucket/prefix``, one source per object so that a bad line is
    reported as ``s3://bucket/key:line``."""

    client: Any
    bucket: str
    prefix: str

    def describe(self) -> str:
        return f"{S3_SCHEME}{self.bucket}/{self.prefix}"

    def objects(self) -> list[S3ObjectSource]:
        paginator = self.client.get_paginator("list_objects_v2")
        return [
            S3ObjectSource(self.client, self.bucket, obj["Key"], int(obj.get("Size", 0)))
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix)
            for obj in page.get("Contents", [])
        ]


@dataclass(frozen=True)
class CloudWatchSource:
    """Every event of a CloudWatch Logs group (optionally a time window, epoch ms)."""

    client: Any
    group: str
    start_ms: int | None = None
    end_ms: int | None = None

    def describe(self) -> str:
        return f"{CLOUDWATCH_SCHEME}{self.group}"

    def size_hint(self) -> int | None:
        return None  # CloudWatch Logs cannot say how many events a window holds up front

    def lines(self, on_bytes: Callable[[int], None]) -> Iterator[bytes | OverlongLine]:
        kwargs: dict[str, Any] = {"logGroupName": self.group}
        if self.start_ms is not None:
            kwargs["startTime"] = self.start_ms
        if self.end_ms is not None:
            kwargs["endTime"] = self.end_ms
        paginator = self.client.get_paginator("filter_log_events")
        for page in paginator.paginate(**kwargs):
            for event in page.get("events", []):
                data = event.get("message", "").encode("utf-8")
                on_bytes(len(data))
                # The service caps an event's size; the same cap as files keeps one rule.
                yield data if len(data) <= MAX_LINE_BYTES else OverlongLine(len(data))


def _local_sources(path: Path) -> list[LineSource]:
    if path.is_dir():
        return [FileSource(p) for p in sorted(path.rglob("*")) if p.is_file()]
    if path.is_file():
        return [FileSource(path)]
    raise ConfigError(
        str(path), "no such log file or directory", "give a file, a directory, s3:// or cwlogs://"
    )


def open_sources(
    locations: Iterable[str],
    client_factory: Callable[[str], Any] | None = None,
    start_ms: int | None = None,
    end_ms: int | None = None,
) -> list[LineSource]:
    """Turn command-line locations into sources.

    ``s3://bucket/prefix`` and ``cwlogs://group-name`` need ``client_factory(service)``
    returning a boto3 client; local paths may be files or directories (read recursively).
    """
    sources: list[LineSource] = []
    for location in locations:
        if location.startswith(S3_SCHEME):
            bucket, _, prefix = location[len(S3_SCHEME) :].partition("/")
            if not bucket:
                raise ConfigError(location, "no bucket name", "write s3://BUCKET/PREFIX")
            sources.extend(S3Source(_client(client_factory, "s3"), bucket, prefix).objects())
        elif location.startswith(CLOUDWATCH_SCHEME):
            group = location[len(CLOUDWATCH_SCHEME) :]
            if not group:
                raise ConfigError(location, "no log group name", "write cwlogs://GROUP-NAME")
            client = _client(client_factory, "logs")
            sources.append(CloudWatchSource(client, group, start_ms, end_ms))
        else:
            sources.extend(_local_sources(Path(os.path.expanduser(location))))
    return sources


def _client(factory: Callable[[str], Any] | None, service: str) -> Any:
    if factory is None:
        import boto3  # only remote sources need it

        return boto3.client(service)
    return factory(service)
