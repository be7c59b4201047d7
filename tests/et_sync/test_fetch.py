"""Download, md5 and tarball safety against a loopback HTTP server."""

from __future__ import annotations

import hashlib
import io
import re
import tarfile
import tracemalloc

import pytest

from egress_net.et_sync import fetch
from egress_net.et_sync.errors import FetchError

from .conftest import RulesServer, build_tarball

TIMEOUT = 2.0
MB = 1024 * 1024


def _fetch(server: RulesServer, url: str, *, max_bytes: int = 64 * MB) -> fetch.Ruleset:
    digest = fetch.fetch_published_md5(f"{url}.md5", timeout=TIMEOUT)
    return fetch.fetch_ruleset(
        url, digest, timeout=TIMEOUT, max_bytes=max_bytes, max_extracted_bytes=256 * MB
    )


def test_fetches_verifies_and_reads_rules_files(
    rules_server: RulesServer, small_tarball: bytes, small_files: dict[str, bytes]
) -> None:
    url = rules_server.publish(small_tarball)
    ruleset = _fetch(rules_server, url)
    assert ruleset.version == hashlib.md5(small_tarball).hexdigest()
    assert sorted(ruleset.files) == sorted(small_files)
    assert ruleset.files["tor.rules"] == small_files["tor.rules"].decode()


def test_http_500_is_a_clear_error(rules_server: RulesServer, small_tarball: bytes) -> None:
    url = rules_server.publish(small_tarball)
    rules_server.served.status = 500
    with pytest.raises(FetchError, match="HTTP 500") as err:
        _fetch(rules_server, url)
    assert err.value.where.endswith(".md5")


def test_slow_server_times_out(rules_server: RulesServer, small_tarball: bytes) -> None:
    url = rules_server.publish(small_tarball)
    rules_server.served.delay_seconds = 1.0
    with pytest.raises(FetchError, match=r"no answer within 0.2s"):
        fetch.download(url, timeout=0.2, max_bytes=64 * MB)


def test_body_over_the_size_cap_is_refused(rules_server: RulesServer, small_tarball: bytes) -> None:
    url = rules_server.publish(small_tarball)
    with pytest.raises(FetchError, match="larger than the 1000 byte cap"):
        fetch.download(url, timeout=TIMEOUT, max_bytes=1000)


def test_md5_mismatch_is_refused(rules_server: RulesServer, small_tarball: bytes) -> None:
    url = rules_server.publish(small_tarball)
    rules_server.served.bodies["/emerging.rules.tar.gz.md5"] = b"0" * 32 + b"\n"
    with pytest.raises(FetchError, match="md5 mismatch") as err:
        _fetch(rules_server, url)
    assert "last applied rules stay in force" in err.value.hint


def test_corrupt_gzip_is_refused(rules_server: RulesServer, small_tarball: bytes) -> None:
    corrupt = small_tarball[:200] + bytes(len(small_tarball) - 200)
    url = rules_server.publish(corrupt)  # md5 matches the corrupt bytes: only gzip is wrong
    with pytest.raises(FetchError, match="corrupt gzip data"):
        _fetch(rules_server, url)


def test_truncated_gzip_is_refused(small_tarball: bytes) -> None:
    with pytest.raises(FetchError, match="truncated"):
        fetch.extract_rules(small_tarball[:-5000], where="x", max_extracted_bytes=256 * MB)


def test_not_a_tarball_is_refused() -> None:
    with pytest.raises(FetchError, match="not a readable tarball"):
        fetch.extract_rules(b"<html>oops</html>", where="x", max_extracted_bytes=MB)


def _member(name: str, kind: bytes = tarfile.REGTYPE, size: int = 4) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.size = size if kind == tarfile.REGTYPE else 0
    if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE):
        info.linkname = "/etc/passwd"
    return info


@pytest.mark.parametrize(
    ("member", "reason"),
    [
        (_member("rules/../../evil.rules"), "path leaves the archive"),
        (_member("../evil.rules"), "path leaves the archive"),
        (_member("/etc/cron.d/evil"), "absolute path"),
        (_member("rules/link.rules", tarfile.SYMTYPE), "not a regular file"),
        (_member("rules/hard.rules", tarfile.LNKTYPE), "not a regular file"),
        (_member("rules/dev", tarfile.CHRTYPE), "not a regular file"),
    ],
)
def test_unsafe_members_refuse_the_whole_archive(
    member: tarfile.TarInfo, reason: str, small_files: dict[str, bytes]
) -> None:
    tarball = build_tarball(small_files, extra=[member])
    with pytest.raises(FetchError, match=reason) as err:
        fetch.extract_rules(tarball, where="src", max_extracted_bytes=256 * MB)
    assert member.name in err.value.problem


def test_dotdot_member_served_over_http_is_refused(
    rules_server: RulesServer, small_files: dict[str, bytes]
) -> None:
    url = rules_server.publish(build_tarball(small_files, extra=[_member("../x.rules")]))
    with pytest.raises(FetchError, match=re.escape("unsafe member '../x.rules'")):
        _fetch(rules_server, url)


def test_archive_that_unpacks_too_large_is_refused(small_tarball: bytes) -> None:
    with pytest.raises(FetchError, match="unpacks to over 1000 bytes"):
        fetch.extract_rules(small_tarball, where="src", max_extracted_bytes=1000)


def test_tarball_without_rules_files_is_refused() -> None:
    tarball = build_tarball({"README": b"hello"})
    with pytest.raises(FetchError, match=r"no \.rules files"):
        fetch.extract_rules(tarball, where="src", max_extracted_bytes=MB)


def test_only_http_and_https_urls_are_fetched() -> None:
    with pytest.raises(FetchError, match="unsupported URL scheme 'file'"):
        fetch.download("file:///etc/passwd", timeout=1, max_bytes=MB)


@pytest.mark.parametrize(
    "text",
    [
        "d41d8cd98f00b204e9800998ecf8427e",
        "D41D8CD98F00B204E9800998ECF8427E  emerging.rules.tar.gz\n",
    ],
)
def test_md5_file_formats(text: str) -> None:
    assert fetch.parse_md5(text, "u") == "d41d8cd98f00b204e9800998ecf8427e"


def test_md5_file_without_digest_is_an_error() -> None:
    with pytest.raises(FetchError, match="no md5 digest"):
        fetch.parse_md5("<html>not found</html>", "u")


def test_a_redirect_on_the_same_host_is_followed(
    rules_server: RulesServer, small_tarball: bytes
) -> None:
    url = rules_server.publish(small_tarball, name="current.tar.gz")
    rules_server.served.redirects["/emerging.rules.tar.gz"] = "/current.tar.gz"
    data = fetch.download(rules_server.url("emerging.rules.tar.gz"), timeout=TIMEOUT, max_bytes=MB)
    assert data == small_tarball
    assert url.endswith("/current.tar.gz")


def test_a_redirect_to_another_host_is_refused(
    rules_server: RulesServer, small_tarball: bytes
) -> None:
    rules_server.publish(small_tarball)
    port = rules_server.base_url.rsplit(":", 1)[1]
    # the same server under another name: what matters is that the host changed
    rules_server.served.redirects["/moved.tar.gz"] = (
        f"http://localhost:{port}/emerging.rules.tar.gz"
    )
    with pytest.raises(FetchError, match=re.escape("refused redirect leaves 127.0.0.1:")) as err:
        fetch.download(rules_server.url("moved.tar.gz"), timeout=TIMEOUT, max_bytes=MB)
    assert rules_server.served.requests == ["/moved.tar.gz"]  # never went there
    assert "localhost" in err.value.problem


@pytest.mark.parametrize(
    ("target", "problem"),
    [
        ("http://rules.emergingthreats.net/open/x.tar.gz", "from https to http"),
        ("https://evil.example/open/x.tar.gz", "leaves rules.emergingthreats.net"),
        ("https://rules.emergingthreats.net:8443/x", "leaves rules.emergingthreats.net"),
        ("ftp://rules.emergingthreats.net/x", "redirect to a ftp URL"),
    ],
)
def test_redirect_rules(target: str, problem: str) -> None:
    origin = "https://rules.emergingthreats.net/open/suricata-5.0/emerging.rules.tar.gz"
    assert problem in (fetch.redirect_problem(origin, target) or "")
    assert fetch.redirect_problem(origin, "https://rules.emergingthreats.net/other") is None


def test_one_deadline_bounds_the_whole_download(rules_server: RulesServer) -> None:
    """Each 1 KB piece comes well within the timeout; the whole body does not."""
    url = rules_server.publish(b"x" * 20 * 1024)
    rules_server.served.trickle_seconds = 0.1  # 20 pieces: ~2 s in all
    # A per-read timeout never fires here (each piece comes within 0.1 s), so only a deadline
    # for the whole download raises.
    with pytest.raises(FetchError, match=re.escape("not complete within 0.5s")):
        fetch.download(url, timeout=0.5, max_bytes=MB)


def _empty_member_bomb(count: int) -> bytes:
    """A small gzip of ``count`` empty files: tiny on the wire, a TarInfo each in memory."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for index in range(count):
            info = tarfile.TarInfo(f"rules/{index}.rules")
            archive.addfile(info, io.BytesIO(b""))
    return buffer.getvalue()


def test_archive_with_too_many_members_is_refused() -> None:
    bomb = _empty_member_bomb(fetch.MAX_MEMBERS + 1)
    assert len(bomb) < 64 * 1024
    with pytest.raises(FetchError, match=f"more than {fetch.MAX_MEMBERS} members"):
        fetch.extract_rules(bomb, where="src", max_extracted_bytes=256 * MB)


def test_extracting_a_bomb_stays_within_a_small_multiple_of_the_cap() -> None:
    """Peak memory of a refused bomb is bounded by the cap, not by the archive's claim: the
    function's memory is sized from this factor (see components.et_sync)."""
    from egress_net.et_sync.settings import EXTRACT_PEAK_FACTOR

    cap = 4 * MB
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("rules/zeros.rules")
        info.size = 64 * MB
        archive.addfile(info, io.BytesIO(bytes(info.size)))
    bomb = buffer.getvalue()
    tracemalloc.start()
    try:
        with pytest.raises(FetchError, match="unpacks to over"):
            fetch.extract_rules(bomb, where="src", max_extracted_bytes=cap)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(bomb) < MB
    assert peak <= EXTRACT_PEAK_FACTOR * cap


def test_extracting_the_largest_allowed_archive_stays_within_the_factor() -> None:
    from egress_net.et_sync.settings import EXTRACT_PEAK_FACTOR

    cap = 4 * MB
    text = b"# " + b"a" * 98 + b"\n"
    body = text * ((cap - 32 * 1024) // len(text))  # room for headers and padding
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("rules/big.rules")
        info.size = len(body)
        archive.addfile(info, io.BytesIO(body))
    tarball = buffer.getvalue()
    tracemalloc.start()
    try:
        files = fetch.extract_rules(tarball, where="src", max_extracted_bytes=cap)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(files["big.rules"]) == len(body)
    assert peak <= EXTRACT_PEAK_FACTOR * cap


def test_one_wide_character_cannot_quadruple_the_decoded_texts() -> None:
    """A str takes 1, 2 or 4 bytes a character for all its characters (PEP 393): one emoji
    in an otherwise ASCII member makes its text four times its bytes. Within the byte cap,
    such an archive is refused before it is decoded beyond the factor the memory is sized for."""
    from egress_net.et_sync.settings import EXTRACT_PEAK_FACTOR

    cap = 4 * MB
    text = b"# " + b"a" * 98 + b"\n"
    body = text * ((cap - 32 * 1024) // len(text)) + "# \U0001f600\n".encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("rules/wide.rules")
        info.size = len(body)
        archive.addfile(info, io.BytesIO(body))
    tarball = buffer.getvalue()
    tracemalloc.start()
    try:
        with pytest.raises(FetchError, match="decoded"):
            fetch.extract_rules(tarball, where="src", max_extracted_bytes=cap)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak <= EXTRACT_PEAK_FACTOR * cap
