"""vcrpy set-up shared by the end-to-end tests.

Cassettes replay offline by default (record_mode "none": a request that is not in the cassette
fails the test). Requests are matched on method, path and the exact body, so any non-determinism
in the prompts or the request layout breaks the replay: the suite guards cache stability.

Re-record against cachesim (or the real API) with:
    REVIEWBOT_RECORD=1 ANTHROPIC_BASE_URL=http://127.0.0.1:8787 python -m pytest tests/test_e2e_review.py
Keys and tokens are filtered out of the cassettes.
"""
from __future__ import annotations

import os
from pathlib import Path

import vcr

CASSETTES = Path(__file__).parent / "cassettes"
RECORDING = os.environ.get("REVIEWBOT_RECORD") == "1"
SECRET_HEADERS = ["x-api-key", "authorization", "anthropic-organization-id", "cookie", "set-cookie",
                  "request-id", "x-request-id"]


def _scrub_response(response):
    for name in list(response.get("headers", {})):
        if name.lower() in SECRET_HEADERS:
            del response["headers"][name]
    return response


def recorder() -> vcr.VCR:
    return vcr.VCR(
        cassette_library_dir=str(CASSETTES),
        record_mode="all" if RECORDING else "none",
        match_on=["method", "path", "body"],
        filter_headers=SECRET_HEADERS,
        before_record_response=_scrub_response,
        decode_compressed_response=True,
    )


def api_url() -> str:
    return os.environ.get("ANTHROPIC_BASE_URL", "http://127.0.0.1:8787") if RECORDING else "http://127.0.0.1:8787"


def reset_cachesim() -> None:
    """When recording against cachesim, start every test from an empty cache (a real API has no /_reset)."""
    if RECORDING and "127.0.0.1" in api_url():
        import urllib.request
        urllib.request.urlopen(urllib.request.Request(api_url() + "/_reset", data=b"{}", method="POST"), timeout=5)


def api_key() -> str:
    return os.environ.get("ANTHROPIC_API_KEY", "test-key") if RECORDING else "test-key"
