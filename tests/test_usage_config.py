"""Cost math and config validation."""
import pytest

from reviewbot.config import Config, config_from_mapping, load_config
from reviewbot.errors import ConfigError
from reviewbot.usage import CallRecord, Usage, cost, naive_cost, price_of, summarize, usage_from_api


def test_prices_pick_the_longest_matching_family():
    assert price_of("claude-sonnet-4-6").input == 3.0
    assert price_of("claude-opus-4-1-20250805").input == 15.0
    assert price_of("claude-opus-4-20250514").input == 15.0
    assert price_of("claude-opus-4-6").input == 5.0
    assert price_of("claude-haiku-4-5-20251001").output == 5.0


def test_cost_and_no_cache_baseline():
    u = Usage(input_tokens=1000, cache_write_5m=10_000, cache_write_1h=0, cache_read=0, output_tokens=100)
    assert cost(u, "claude-sonnet-4-6") == pytest.approx((1000 * 3 + 10_000 * 3.75 + 100 * 15) / 1e6)
    read = Usage(input_tokens=1000, cache_read=10_000, output_tokens=100)
    assert cost(read, "claude-sonnet-4-6") == pytest.approx((1000 * 3 + 10_000 * 0.3 + 100 * 15) / 1e6)
    assert naive_cost(read, "claude-sonnet-4-6") == pytest.approx((11_000 * 3 + 100 * 15) / 1e6)
    one_hour = Usage(cache_write_1h=1000)
    assert cost(one_hour, "claude-sonnet-4-6") == pytest.approx(1000 * 6 / 1e6)


def test_run_totals_and_hit_rate():
    calls = (CallRecord("a", "claude-sonnet-4-6", Usage(100, 1000, 0, 0, 10), 0, 0.1, 1),
             CallRecord("b", "claude-sonnet-4-6", Usage(100, 0, 0, 1000, 10), 0.2, 0.3, 1))
    run = summarize(calls)
    assert run.calls == 2 and run.usage.cache_read == 1000
    assert run.hit_rate == pytest.approx(1000 / 2200)
    assert 0 < run.saving < 1


def test_usage_from_api_dict_and_missing_split():
    u = usage_from_api({"input_tokens": 5, "cache_creation_input_tokens": 7, "cache_read_input_tokens": 3,
                        "output_tokens": 2, "cache_creation": {"ephemeral_5m_input_tokens": 4,
                                                               "ephemeral_1h_input_tokens": 3}})
    assert u == Usage(5, 4, 3, 3, 2)
    assert usage_from_api({"input_tokens": 1, "cache_creation_input_tokens": 7}) == Usage(1, 7, 0, 0, 0)


def test_config_validation_names_the_key():
    assert config_from_mapping({"model": "claude-opus-4-6", "specialists": ["security"]}).specialists == ("security",)
    with pytest.raises(ConfigError, match="'max_turns' must be a positive integer"):
        config_from_mapping({"max_turns": "many"})
    with pytest.raises(ConfigError, match="unknown specialist 'style'"):
        config_from_mapping({"specialists": ["style"]})
    with pytest.raises(ConfigError, match="unknown key 'modle'"):
        config_from_mapping({"modle": "x"})
    with pytest.raises(ConfigError, match="'warmup' must be one of"):
        config_from_mapping({"warmup": "hot"})


def test_load_config_files(tmp_path):
    assert load_config(tmp_path) == Config()
    (tmp_path / "pyproject.toml").write_text('[tool.reviewbot]\nmodel = "claude-haiku-4-5"\n')
    assert load_config(tmp_path).model == "claude-haiku-4-5"
    (tmp_path / ".reviewbot.toml").write_text('max_turns = 3\n')
    assert load_config(tmp_path).max_turns == 3
    (tmp_path / ".reviewbot.toml").write_text('max_turns = \n')
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(tmp_path)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path, tmp_path / "nope.toml")


def test_include_exclude_and_path_instructions(tmp_path):
    from reviewbot.review import prepare, specialist_delta

    from helpers import change, file_change
    cfg = config_from_mapping({"exclude": ["docs/*"], "routing": "all", "path_instructions": [
        {"path": "src/api/*", "instructions": "Handlers validate input with pydantic."}]})
    assert cfg.excluded("docs/a/b.md") and not cfg.excluded("src/x.py")
    assert config_from_mapping({"include": ["src/*"]}).excluded("tests/t.py")
    ch = change(file_change("src/api/users.py"), file_change("src/core.py"), file_change("docs/guide.md"))
    ws, _ = prepare(ch, cfg, tmp_path / "ws")
    assert "| docs/guide.md | +3 -0 | docs | diff/003-docs__guide.md.patch | none: excluded by configuration |" \
        in ws.context_text
    delta = specialist_delta("correctness", ws.plan, cfg)
    assert "- For src/api/users.py (`src/api/*`): Handlers validate input with pydantic." in delta
    with pytest.raises(ConfigError, match="'path_instructions' must be"):
        config_from_mapping({"path_instructions": [{"path": "x"}]})
    with pytest.raises(ConfigError, match="'inline_min_severity' must be one of"):
        config_from_mapping({"inline_min_severity": "urgent"})


def test_config_from_files_prefers_reviewbot_toml_and_reads_only_through_the_reader():
    from reviewbot.config import config_from_files
    files = {"pyproject.toml": '[tool.reviewbot]\nmodel = "a"\n', ".reviewbot.toml": 'model = "b"\n'}
    assert config_from_files(files.get).model == "b"
    assert config_from_files({"pyproject.toml": files["pyproject.toml"]}.get).model == "a"
    assert config_from_files({"pyproject.toml": "[project]\nname='x'\n"}.get) == Config()
