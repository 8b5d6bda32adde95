"""Cassettes: a review's API calls recorded to a YAML file, and replayed offline.

One vcrpy configuration serves the test suite (tests/cassette.py) and users
(`reviewbot review --record-cassette FILE` / `--replay-cassette FILE`), so a team can record a review
against the real API once and check in CI, offline and free, that its prompts, config and change still
produce byte-identical requests. Requests match on method, path and the exact body: a changed prompt,
setting or diff is a miss on replay, never a silently reused answer. API keys, tokens, cookies and
request ids are removed before anything is written. vcrpy is an optional dependency
(`reviewbot[cassettes]`), imported only when a cassette is used.

A user's cassette is also redacted (`use_cassette(..., known=...)`): every request and response body
passes reviewbot.secrets' redaction with the secrets found in the change, so a credential in the
diff, or one a model quoted, is not written to the file. vcrpy runs the same request filter on
each request it replays before matching it, so a replay matches the redacted recording.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from reviewbot.errors import ConfigError

SECRET_HEADERS = ["x-api-key", "authorization", "anthropic-organization-id", "cookie", "set-cookie",
                  "request-id", "x-request-id"]
MATCH_ON = ["method", "path", "body"]
RECORD, REPLAY = "record", "replay"
MISSING_VCR = "cassettes need vcrpy: pip install 'reviewbot[cassettes]'"
RETRIED_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})    # the SDK retries these

Response = dict[str, Any]                       # a response as vcrpy records it
ResponseFilter = Callable[[Response], Response | None]


def scrub_response(response: Response) -> Response:
    """Drop secret and per-request headers from a recorded response (vcrpy's before_record_response)."""
    for name in list(response.get("headers", {})):
        if name.lower() in SECRET_HEADERS:
            del response["headers"][name]
    return response


def scrub_and_drop_retried(response: Response) -> Response | None:
    """For users' recordings: an answer the SDK retries (429, 529, 5xx...) is not kept, only the retry
    that succeeded, so a replay needs no retries and a request missing from the cassette fails at once."""
    if (response.get("status") or {}).get("code") in RETRIED_STATUSES:
        return None
    return scrub_response(response)


def _redacted_text(data: str | bytes | None, known: tuple[str, ...]) -> str | bytes | None:
    from reviewbot.secrets import redact_json, redact_output
    if data is None:
        return None
    raw = data.decode("utf-8", "surrogateescape") if isinstance(data, bytes) else str(data)
    try:
        text = json.dumps(redact_json(json.loads(raw), known), ensure_ascii=False)
    except ValueError:
        text = redact_output(raw, known)
    return text.encode("utf-8", "surrogateescape") if isinstance(data, bytes) else text


def redact_request(known: tuple[str, ...]) -> Callable[[Any], Any]:
    """vcrpy's before_record_request: the request body redacted (JSON stays JSON)."""
    def redact(request: Any) -> Any:
        if request.body:
            request.body = _redacted_text(request.body, known)
        return request
    return redact


def redact_response(known: tuple[str, ...], inner: ResponseFilter) -> ResponseFilter:
    """vcrpy's before_record_response: `inner`'s filtering, then the body redacted."""
    def redact(response: Response) -> Response | None:
        kept = inner(response)
        if kept is not None and (kept.get("body") or {}).get("string"):
            kept["body"]["string"] = _redacted_text(kept["body"]["string"], known)
        return kept
    return redact


def _vcr_module() -> Any:
    try:
        import vcr
    except ImportError:
        raise ConfigError(MISSING_VCR) from None
    return vcr


def make_vcr(library_dir: Path | None, record_mode: str, keep_retried: bool = True,
             known: tuple[str, ...] | None = None) -> Any:
    """A vcr.VCR with reviewbot's matching and filtering; record_mode "none" replays only.
    keep_retried=False leaves out the error answers the SDK retried (see scrub_and_drop_retried); the
    test suite keeps them, to test the retries themselves. `known` (secrets of the change) turns on
    the redaction of bodies (users' cassettes)."""
    vcr = _vcr_module()
    scrub: ResponseFilter = scrub_response if keep_retried else scrub_and_drop_retried
    extra = {} if known is None else {"before_record_request": redact_request(known)}
    if known is not None:
        scrub = redact_response(known, scrub)
    return vcr.VCR(
        cassette_library_dir=None if library_dir is None else str(library_dir),
        record_mode=record_mode,
        match_on=list(MATCH_ON),
        filter_headers=list(SECRET_HEADERS),
        before_record_response=scrub,
        decode_compressed_response=True,
        **extra,
    )


@contextmanager
def use_cassette(path: Path, mode: str, known: tuple[str, ...] = ()) -> Iterator[Any]:
    """Record every HTTP call into `path` (overwritten; retried error answers left out; bodies redacted
    of `known` and of secret-shaped text) or replay them from it (a request not in it fails). Yields
    vcrpy's cassette."""
    if mode == REPLAY and path.is_dir():
        raise ConfigError(f"--replay-cassette {path}: is a directory, not a cassette file")
    if mode == REPLAY and not path.is_file():
        raise ConfigError(f"cassette not found: {path}")
    if mode == RECORD:
        if path.is_dir():
            raise ConfigError(f"cassette path is a directory: {path}")
        blocker = next((p for p in path.parents if p.exists()), None)
        if blocker is not None and not blocker.is_dir():
            raise ConfigError(f"--record-cassette {path}: {blocker} is a file, not a directory")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)                 # a fresh recording, not appended to an old one
    recorder = make_vcr(None, "all" if mode == RECORD else "none", keep_retried=False, known=tuple(known))
    unpatched = _sdk_transport()
    with recorder.use_cassette(str(path)) as cassette:
        if unpatched is not None and _sdk_transport() is unpatched:
            raise ConfigError("this vcrpy does not intercept httpx2, which the anthropic SDK uses: "
                              "pip install -U 'reviewbot[cassettes]'")
        yield cassette


def _sdk_transport() -> object | None:
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
