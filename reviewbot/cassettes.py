"""Cassettes: a review's API calls recorded to a YAML file, and replayed offline.

One vcrpy configuration serves the test suite (tests/cassette.py) and users
(`reviewbot review --record-cassette FILE` / `--replay-cassette FILE`), so a team can record a review
against the real API once and check in CI, offline and free, that its prompts, config and change still
produce byte-identical requests. Requests match on method, path and the exact body: a changed prompt,
setting or diff is a miss on replay, never a silently reused answer. API keys, tokens, cookies and
request ids are removed before anything is written. vcrpy is an optional dependency
(`reviewbot[cassettes]`), imported only when a cassette is used.
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .errors import ConfigError

SECRET_HEADERS = ["x-api-key", "authorization", "anthropic-organization-id", "cookie", "set-cookie",
                  "request-id", "x-request-id"]
MATCH_ON = ["method", "path", "body"]
RECORD, REPLAY = "record", "replay"
MISSING_VCR = "cassettes need vcrpy: pip install 'reviewbot[cassettes]'"
RETRIED_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})    # the SDK retries these


def scrub_response(response: dict) -> dict:
    """Drop secret and per-request headers from a recorded response (vcrpy's before_record_response)."""
    for name in list(response.get("headers", {})):
        if name.lower() in SECRET_HEADERS:
            del response["headers"][name]
    return response


def scrub_and_drop_retried(response: dict) -> dict | None:
    """For users' recordings: an answer the SDK retries (429, 529, 5xx...) is not kept, only the retry
    that succeeded, so a replay needs no retries and a request missing from the cassette fails at once."""
    if (response.get("status") or {}).get("code") in RETRIED_STATUSES:
        return None
    return scrub_response(response)


def _vcr_module():
    try:
        import vcr
    except ImportError:
        raise ConfigError(MISSING_VCR) from None
    return vcr


def make_vcr(library_dir: Path | None, record_mode: str, keep_retried: bool = True):
    """A vcr.VCR with reviewbot's matching and filtering; record_mode "none" replays only.
    keep_retried=False leaves out the error answers the SDK retried (see scrub_and_drop_retried); the
    test suite keeps them, to test the retries themselves."""
    vcr = _vcr_module()
    return vcr.VCR(
        cassette_library_dir=None if library_dir is None else str(library_dir),
        record_mode=record_mode,
        match_on=list(MATCH_ON),
        filter_headers=list(SECRET_HEADERS),
        before_record_response=scrub_response if keep_retried else scrub_and_drop_retried,
        decode_compressed_response=True,
    )


@contextmanager
def use_cassette(path: Path, mode: str) -> Iterator[object]:
    """Record every HTTP call into `path` (overwritten; retried error answers left out) or replay them
    from it (a request not in it fails). Yields vcrpy's cassette."""
    if mode == REPLAY and not path.is_file():
        raise ConfigError(f"cassette not found: {path}")
    if mode == RECORD:
        if path.is_dir():
            raise ConfigError(f"cassette path is a directory: {path}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)                 # a fresh recording, not appended to an old one
    recorder = make_vcr(None, "all" if mode == RECORD else "none", keep_retried=False)
    unpatched = _sdk_transport()
    with recorder.use_cassette(str(path)) as cassette:
        if unpatched is not None and _sdk_transport() is unpatched:
            raise ConfigError("this vcrpy does not intercept httpx2, which the anthropic SDK uses: "
                              "pip install -U 'reviewbot[cassettes]'")
        yield cassette


def _sdk_transport():
    """The send method of the HTTP library the anthropic SDK uses (httpx2 from anthropic 2.x), to check
    that vcrpy patched it: otherwise a replay would reach the real API and a recording record nothing."""
    try:
        import httpx2
    except ImportError:
        return None
    return httpx2.AsyncHTTPTransport.handle_async_request


def is_cassette_miss(error: BaseException) -> bool:
    """Whether `error` was caused (anywhere down its chain) by a request missing from a replayed cassette."""
    try:
        from vcr.errors import CannotOverwriteExistingCassetteException as Miss
    except ImportError:
        return False
    seen: set[int] = set()
    e: BaseException | None = error
    while e is not None and id(e) not in seen:
        if isinstance(e, Miss):
            return True
        seen.add(id(e))
        e = e.__cause__ or e.__context__
    return False
