"""Download the ET Open tarball and its ``.md5``, verify it and read the rules in memory.

Nothing is written to disk: the function runs in Lambda, and a tarball is untrusted input, so
members are checked (relative paths inside the archive, regular files only, total size capped)
before a byte of them is read.
"""

from __future__ import annotations

import hashlib
import io
import re
import tarfile
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import urlparse

from egress_net.et_sync.errors import FetchError

_MD5_HEX = re.compile(r"\b([0-9a-fA-F]{32})\b")
_CHUNK = 64 * 1024
_GZIP_MAGIC = b"\x1f\x8b"
# Files a Network Firewall sync reads from the tarball; licences and docs are skipped.
_WANTED_SUFFIXES = (".rules",)


@dataclass(frozen=True)
class Ruleset:
    """An unpacked, verified ruleset: ``files`` maps a rules file name to its text."""

    version: str
    files: dict[str, str]
    compressed_bytes: int


def download(url: str, *, timeout: float, max_bytes: int, allow_file: bool = False) -> bytes:
    """The body at ``url``; refuses non-http(s) schemes, slow servers and oversize bodies."""
    scheme = urlparse(url).scheme
    allowed = ("http", "https", "file") if allow_file else ("http", "https")
    if scheme not in allowed:
        raise FetchError(url, f"unsupported URL scheme {scheme!r}", "use an https:// URL")
    request = urllib.request.Request(url, headers={"User-Agent": "egress-net-et-sync"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            declared = response.headers.get("Content-Length")
            if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                raise _too_large(url, max_bytes)
            return _read_capped(response, url, max_bytes)
    except urllib.error.HTTPError as err:
        raise FetchError(url, f"HTTP {err.code} {err.reason}", "retry later") from err
    except TimeoutError as err:
        raise FetchError(url, f"no answer within {timeout:g}s", "retry later") from err
    except urllib.error.URLError as err:
        if isinstance(err.reason, TimeoutError):
            raise FetchError(url, f"no answer within {timeout:g}s", "retry later") from err
        raise FetchError(url, f"cannot connect: {err.reason}", "check the URL") from err
    except OSError as err:
        raise FetchError(url, f"download failed: {err}", "retry later") from err


def _read_capped(response: io.BufferedIOBase, url: str, max_bytes: int) -> bytes:
    buffer = bytearray()
    while chunk := response.read(_CHUNK):
        buffer += chunk
        if len(buffer) > max_bytes:
            raise _too_large(url, max_bytes)
    return bytes(buffer)


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


def extract_rules(tar_bytes: bytes, *, where: str, max_extracted_bytes: int) -> dict[str, str]:
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
        try:
            members = archive.getmembers()
        except (tarfile.TarError, OSError, EOFError) as err:
            raise FetchError(where, f"corrupt tarball: {err}", "retry later") from err
        # Check all members before reading any, so a hostile archive is refused as a whole.
        for member in members:
            reason = unsafe_member_reason(member)
            if reason:
                raise FetchError(
                    where, f"unsafe member {member.name!r}: {reason}", "refusing the archive"
                )
            total += member.size
            if total > max_extracted_bytes:
                raise FetchError(where, f"unpacks to over {max_extracted_bytes} bytes", "refusing")
        for member in members:
            name = PurePosixPath(member.name).name
            if not member.isfile() or not name.endswith(_WANTED_SUFFIXES):
                continue
            try:
                stream = archive.extractfile(member)
                raw = stream.read() if stream else b""
            except (tarfile.TarError, OSError, EOFError) as err:
                raise FetchError(where, f"corrupt member {member.name!r}: {err}", "retry") from err
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
