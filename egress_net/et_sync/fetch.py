"""Download the ET Open tarball and its ``.md5``, verify it and read the rules in memory.

Nothing is written to disk: the function runs in Lambda, and a tarball is untrusted input, so
members are checked (relative paths inside the archive, regular files only, member count and
total size capped) before a byte of them is read.

What protects the feed is TLS to the configured host: the md5 comes from the same origin, so
it detects a corrupt download, not a forged one. Redirects are followed only on that host and
never from https to http, and one deadline bounds a whole download (connect, redirects and
every read), so a server that trickles bytes cannot hold the function until Lambda kills it.
"""

from __future__ import annotations

import hashlib
import http.client
import io
import re
import socket
import ssl
import tarfile
import time
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import urljoin, urlparse

from egress_net.et_sync.errors import FetchError

_MD5_HEX = re.compile(r"\b([0-9a-fA-F]{32})\b")
_CHUNK = 64 * 1024
_GZIP_MAGIC = b"\x1f\x8b"
# Files a Network Firewall sync reads from the tarball; licences and docs are skipped.
_WANTED_SUFFIXES = (".rules",)
# ET Open's tarball has ~60 members. A gzip of empty tar headers packs ~500,000 members into a
# few hundred KB, and tarfile keeps a TarInfo per member: the count is capped before the sizes.
MAX_MEMBERS = 2_000
MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class Ruleset:
    """An unpacked, verified ruleset: ``files`` maps a rules file name to its text."""

    version: str
    files: dict[str, str]
    compressed_bytes: int


class _Deadline:
    """One time budget for a whole download; every socket wait gets what is left of it."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.ends = time.monotonic() + seconds

    def remaining(self, url: str) -> float:
        left = self.ends - time.monotonic()
        if left <= 0:
            raise self.missed(url)
        return left

    def missed(self, url: str) -> FetchError:
        return FetchError(
            url,
            f"download not complete within {self.seconds:g}s (one deadline for the whole download)",
            "retry later, or raise rules.emergingThreats.timeoutSeconds",
        )


def redirect_problem(origin: str, target: str) -> str | None:
    """Why a redirect from ``origin`` to ``target`` must not be followed, or None.

    The feed is trusted because TLS proves it comes from the configured host; a redirect to
    another host, or from https to http, would hand that trust to someone else.
    """
    old, new = urlparse(origin), urlparse(target)
    if new.scheme not in ("http", "https"):
        return f"redirect to a {new.scheme or 'relative'!s} URL {target!r}"
    if old.scheme == "https" and new.scheme != "https":
        return f"redirect from https to http ({target!r})"
    if (new.hostname, new.port) != (old.hostname, old.port):
        return f"redirect leaves {old.netloc} for {new.netloc} ({target!r})"
    return None


def download(url: str, *, timeout: float, max_bytes: int, allow_file: bool = False) -> bytes:
    """The body at ``url``; refuses non-http(s) schemes, redirects off the host, a download
    that takes longer than ``timeout`` in all, and oversize bodies."""
    scheme = urlparse(url).scheme
    allowed = ("http", "https", "file") if allow_file else ("http", "https")
    if scheme not in allowed:
        raise FetchError(url, f"unsupported URL scheme {scheme!r}", "use an https:// URL")
    if scheme == "file":
        return _read_local(url, max_bytes)
    deadline = _Deadline(timeout)
    current = url
    for _hop in range(MAX_REDIRECTS + 1):
        status, reason, location, body = _get(current, deadline, max_bytes)
        if status in _REDIRECTS and location:
            target = urljoin(current, location)
            problem = redirect_problem(url, target)
            if problem:
                raise FetchError(url, f"refused {problem}", "point sourceUrl at the final URL")
            current = target
            continue
        if status != 200:
            raise FetchError(current, f"HTTP {status} {reason}", "retry later")
        return body
    raise FetchError(url, f"more than {MAX_REDIRECTS} redirects", "check the URL")


def _get(url: str, deadline: _Deadline, max_bytes: int) -> tuple[int, str, str | None, bytes]:
    """One GET: ``(status, reason, Location, body)``; the body only for a 200."""
    parts = urlparse(url)
    host = parts.hostname or ""
    path = parts.path or "/"
    if parts.query:
        path += f"?{parts.query}"
    connection: http.client.HTTPConnection
    try:
        if parts.scheme == "https":
            connection = http.client.HTTPSConnection(
                host,
                parts.port,
                timeout=deadline.remaining(url),
                context=ssl.create_default_context(),
            )
        else:
            connection = http.client.HTTPConnection(
                host, parts.port, timeout=deadline.remaining(url)
            )
        try:
            connection.request("GET", path, headers={"User-Agent": "egress-net-et-sync"})
            # Kept here: the connection forgets its socket once a response says it will close.
            sock = connection.sock
            if sock is not None:
                sock.settimeout(deadline.remaining(url))  # the headers wait in the same budget
            response = connection.getresponse()
            if response.status != 200:
                return response.status, response.reason, response.getheader("Location"), b""
            declared = response.getheader("Content-Length")
            if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                raise _too_large(url, max_bytes)
            body = _read_capped(response, sock, url, max_bytes, deadline)
            return 200, response.reason, None, body
        finally:
            connection.close()
    except FetchError:
        raise
    except TimeoutError as err:
        raise FetchError(url, f"no answer within {deadline.seconds:g}s", "retry later") from err
    except (OSError, http.client.HTTPException) as err:
        if isinstance(err, (ConnectionRefusedError, socket.gaierror, ssl.SSLError)):
            raise FetchError(url, f"cannot connect: {err}", "check the URL") from err
        raise FetchError(url, f"download failed: {err}", "retry later") from err


def _read_capped(
    response: http.client.HTTPResponse,
    sock: socket.socket | None,
    url: str,
    max_bytes: int,
    deadline: _Deadline,
) -> bytes:
    buffer = bytearray()
    while True:
        left = deadline.remaining(url)
        if sock is not None:
            sock.settimeout(left)  # each wait gets only what is left of the one deadline
        try:
            chunk = response.read1(_CHUNK)
        except TimeoutError as err:
            raise deadline.missed(url) from err
        if not chunk:
            break
        buffer += chunk
        if len(buffer) > max_bytes:
            raise _too_large(url, max_bytes)
    return bytes(buffer)


def _read_local(url: str, max_bytes: int) -> bytes:
    try:
        with urllib.request.urlopen(url) as response:
            data = response.read(max_bytes + 1)
    except (urllib.error.URLError, OSError) as err:
        raise FetchError(url, f"cannot read: {err}", "check the path") from err
    if len(data) > max_bytes:
        raise _too_large(url, max_bytes)
    return bytes(data)


def _too_large(url: str, max_bytes: int) -> FetchError:
    return FetchError(
        url, f"larger than the {max_bytes} byte cap", "raise maxDownloadMb if this is expected"
    )


def parse_md5(text: str, where: str) -> str:
    """The digest in an ``.md5`` file (``<hex>`` or ``<hex>  <name>``), lower-case."""
    match = _MD5_HEX.search(text)
    if not match:
        raise FetchError(where, "no md5 digest in the file", "check the md5 URL")
    return match.group(1).lower()


def verify_md5(data: bytes, expected: str, where: str) -> str:
    actual = hashlib.md5(data, usedforsecurity=False).hexdigest()
    if actual != expected.lower():
        raise FetchError(
            where,
            f"md5 mismatch: published {expected}, downloaded {actual}",
            "the download was corrupted or tampered with; the last applied rules stay in force",
        )
    return actual


def unsafe_member_reason(member: tarfile.TarInfo) -> str | None:
    """Why a tar member must not be read, or None when it is a plain file or folder inside."""
    path = PurePosixPath(member.name)
    drive_letter = re.match(r"^[A-Za-z]:", member.name)
    if member.name.startswith(("/", "\\")) or path.is_absolute() or drive_letter:
        return "absolute path"
    if ".." in path.parts or "\\" in member.name:
        return "path leaves the archive"
    if not (member.isfile() or member.isdir()):
        return "not a regular file (link or device)"
    return None


def gunzip(data: bytes, *, where: str, max_bytes: int) -> bytes:
    """Decompress a gzip stream fully, checking its CRC and length trailer.

    ``tarfile``'s own gzip reading stops quietly at a corrupt block and yields a partial
    archive, which would silently drop rules; reading the whole stream first catches it.
    """
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = bytearray()
    pending = data
    try:
        while pending:
            out += inflater.decompress(pending, _CHUNK * 16)
            if len(out) > max_bytes:
                raise FetchError(where, f"unpacks to over {max_bytes} bytes", "refusing")
            pending = inflater.unconsumed_tail
            if inflater.eof:
                break
        out += inflater.flush()
    except zlib.error as err:
        raise FetchError(where, f"corrupt gzip data: {err}", "retry later") from err
    if not inflater.eof:
        raise FetchError(where, "corrupt gzip data: the stream is truncated", "retry later")
    if inflater.unused_data.strip(b"\0"):
        raise FetchError(where, "corrupt gzip data: trailing bytes after the stream", "retry")
    return bytes(out)


def extract_rules(
    tar_bytes: bytes,
    *,
    where: str,
    max_extracted_bytes: int,
    max_members: int = MAX_MEMBERS,
) -> dict[str, str]:
    """``{file name: text}`` of the ``.rules`` files, read in memory after checking every member."""
    if tar_bytes[:2] == _GZIP_MAGIC:
        tar_bytes = gunzip(tar_bytes, where=where, max_bytes=max_extracted_bytes)
    try:
        archive = tarfile.open(fileobj=io.BytesIO(tar_bytes), mode="r:")
    except (tarfile.TarError, OSError, EOFError) as err:
        raise FetchError(where, f"not a readable tarball: {err}", "retry later") from err
    files: dict[str, str] = {}
    total = 0
    with archive:
        # Check all members before reading any, so a hostile archive is refused as a whole;
        # count them as they are read, before tarfile holds a TarInfo for each.
        members: list[tarfile.TarInfo] = []
        while True:
            try:
                member = archive.next()
            except (tarfile.TarError, OSError, EOFError) as err:
                raise FetchError(where, f"corrupt tarball: {err}", "retry later") from err
            if member is None:
                break
            members.append(member)
            if len(members) > max_members:
                raise FetchError(
                    where, f"more than {max_members} members in the archive", "refusing"
                )
            reason = unsafe_member_reason(member)
            if reason:
                raise FetchError(
                    where, f"unsafe member {member.name!r}: {reason}", "refusing the archive"
                )
            total += member.size
            if total > max_extracted_bytes:
                raise FetchError(where, f"unpacks to over {max_extracted_bytes} bytes", "refusing")
        decoded = 0
        for member in members:
            name = PurePosixPath(member.name).name
            if not member.isfile() or not name.endswith(_WANTED_SUFFIXES):
                continue
            try:
                stream = archive.extractfile(member)
                raw = stream.read() if stream else b""
            except (tarfile.TarError, OSError, EOFError) as err:
                raise FetchError(where, f"corrupt member {member.name!r}: {err}", "retry") from err
            # A str stores every character in 1, 2 or 4 bytes, the widest one decides (PEP 393):
            # one emoji makes an ASCII text four times its bytes. Count the texts at the most
            # they can take before decoding, so the byte cap also bounds them.
            decoded += len(raw) if raw.isascii() else 4 * len(raw)
            if decoded > max_extracted_bytes:
                raise FetchError(
                    where, f"decoded texts would take over {max_extracted_bytes} bytes", "refusing"
                )
            files[name] = raw.decode("utf-8", errors="replace")
    if not files:
        raise FetchError(where, "no .rules files in the tarball", "check the source URL")
    return files


def fetch_published_md5(md5_url: str, *, timeout: float, allow_file: bool = False) -> str:
    body = download(md5_url, timeout=timeout, max_bytes=4096, allow_file=allow_file)
    return parse_md5(body.decode("ascii", errors="replace"), md5_url)


def fetch_ruleset(
    source_url: str,
    expected_md5: str,
    *,
    timeout: float,
    max_bytes: int,
    max_extracted_bytes: int,
    allow_file: bool = False,
) -> Ruleset:
    """Download, verify against ``expected_md5`` and unpack; the version is the md5."""
    data = download(source_url, timeout=timeout, max_bytes=max_bytes, allow_file=allow_file)
    version = verify_md5(data, expected_md5, source_url)
    files = extract_rules(data, where=source_url, max_extracted_bytes=max_extracted_bytes)
    return Ruleset(version=version, files=files, compressed_bytes=len(data))
