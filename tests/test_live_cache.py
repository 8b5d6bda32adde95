"""Keep-warm on a live cachesim with a tiny TTL: the summary still reads the shared prefix."""
import asyncio

from helpers import change, file_change
from simulators import cachesim, ledger

from reviewbot.config import Config
from reviewbot.llm.anthropic_transport import AnthropicTransport, make_client
from reviewbot.pipeline.review import run_review


async def _review(url, config, ws):
    files = [file_change(f"src/m{i}.py", added=tuple(range(10, 60)), context=(8, 9)) for i in range(3)]
    client = make_client("test-key", url, 0, 30)
    async with client:
        return await run_review(change(*files), config, AnthropicTransport(client), ws)


def test_keep_warm_bridges_a_phase_longer_than_the_ttl(tmp_path):
    # Every latency x25: a first byte takes ~1.8 s, a specialist call ~4-6 s, longer than the 3 s TTL
    # (output, thinking included, at 12,000 tokens/s: Sonnet 5.5 thinks ~1,500 tokens a turn).
    with cachesim("--ttl-seconds", "3", "--time-scale", "25", "--output-tps", "12000") as url:
        result = asyncio.run(_review(url, Config(cache_ttl_seconds=3.0, routing="all"), tmp_path / "ws"))
        entries = ledger(url)
    assert [c.label for c in result.calls].count("keep-warm") >= 1
    assert result.calls[-1].label == "summary#1"
    summary = [e for e in entries if e["max_tokens"] != 0][-1]           # the summary comes last
    shared = entries[0]["usage"]["cache_creation_input_tokens"] + entries[0]["usage"]["cache_read_input_tokens"]
    assert summary["usage"]["cache_read_input_tokens"] >= shared * 0.9     # read, not re-written
    assert sum(1 for e in entries if e["race"]) == 0
    assert result.schedule.within_ttl
