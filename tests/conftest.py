"""Test set-up: helpers importable from tests/, and no real waiting on SDK retries.

The SDK's retry policy (what it retries, how often, retry-after honoured) is kept; only its sleep
between attempts is cut to a few milliseconds, so fault tests stay fast and a stale cassette fails
in seconds rather than after minutes of backoff.
"""
import sys
from pathlib import Path

import anthropic._base_client as sdk_base
import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(autouse=True)
def fast_sdk_retries(monkeypatch):
    original = sdk_base.BaseClient._calculate_retry_timeout

    def quick(self, *args, **kwargs):
        return min(original(self, *args, **kwargs), 0.01)
    monkeypatch.setattr(sdk_base.BaseClient, "_calculate_retry_timeout", quick)
