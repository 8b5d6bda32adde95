"""Cost math and config validation."""
import pytest

from reviewbot.config import Config, config_from_mapping, load_config
from reviewbot.domain.specialists import NAMES
from reviewbot.errors import ConfigError
from reviewbot.llm.models import Price, model_info
from reviewbot.llm.usage import CallRecord, Usage, cost, naive_cost, price_of, summarize, usage_from_api


def test_prices_come_from_the_model_table():
    assert price_of("claude-sonnet-5-5") == Price(2, 2.5, 4, 0.10, 10)
    assert price_of("claude-opus-5-5") == Price(4, 5, 8, 0.20, 20)
    assert price_of("claude-sonnet-4-6").input == 3.0
    assert price_of("claude-haiku-4-5").output == 5.0 == price_of("claude-haiku-4-5-20251001").output
    assert price_of("claude-fable-5-2").read == 0.20


def test_haiku_5_5_has_two_bands_by_prompt_size():
    small = Usage(input_tokens=100_000, output_tokens=1000)
    big = Usage(input_tokens=90_000, cache_read=10_001, output_tokens=1000)
    assert cost(small, "claude-haiku-5-5") == pytest.approx((100_000 * 0.10 + 1000 * 0.50) / 1e6)
    assert cost(big, "claude-haiku-5-5") == pytest.approx((90_000 * 0.50 + 10_001 * 0.05 + 1000 * 2.50) / 1e6)


@pytest.mark.parametrize("model", ["claude-sonnet-9", "claude-opus-4-1-20250805", "gpt-4"])
def test_an_unknown_or_retired_model_is_a_config_error(model):
    with pytest.raises(ConfigError, match=f"unknown model '{model}'"):
        price_of(model)


def test_the_table_knows_the_rules():
    s55 = model_info("claude-sonnet-5-5")
    assert s55.thinking_default and s55.per_message_effort and not s55.forced_tool_choice and s55.tokenizer == 1.3
    assert model_info("claude-opus-5-5").default_effort == "medium"
    assert model_info("claude-sonnet-5").per_message_effort is False
    assert model_info("claude-sonnet-4-6").thinking_default is False and model_info("claude-sonnet-4-6").tokenizer == 1
    assert model_info("claude-haiku-4-5").effort == ()
    assert model_info("claude-opus-4-6").min_cacheable == 4096


def test_effort_keys_are_checked_against_the_model():
    from reviewbot.config import check_models
    check_models(Config(effort="low", specialist_effort=(("security", "max"),)))
    with pytest.raises(ConfigError, match="accepts low, medium, high, max"):
        check_models(Config(model="claude-sonnet-4-6", effort="xhigh"))
    with pytest.raises(ConfigError, match="has no effort setting"):
        check_models(Config(model="claude-haiku-4-5", effort="low"))
    with pytest.raises(ConfigError, match="unknown model"):
        check_models(Config(fallback_model="claude-nope"))
    cfg = config_from_mapping({"effort": "medium", "specialist_effort": {"documentation": "low"},
                               "summary_effort": "high", "fallback_model": "claude-opus-5-5",
                               "stall_seconds": 30, "deadline_seconds": 600})
    assert cfg.effort_for("documentation") == "low" and cfg.effort_for("summary") == "high"
    assert cfg.effort_for("security") is None and cfg.stall_seconds == 30.0
    with pytest.raises(ConfigError, match="'specialist_effort' must be"):
        config_from_mapping({"specialist_effort": {"security": "extreme"}})
    with pytest.raises(ConfigError, match="'deadline_seconds' must be a positive number"):
        config_from_mapping({"deadline_seconds": 0})


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
    from helpers import change, file_change

    from reviewbot.pipeline.review import prepare, specialist_delta
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


def test_the_effort_policy_is_the_default_where_nothing_else_is_set(tmp_path):
    from reviewbot.config import EFFORT_POLICY, check_models
    c = Config()
    assert c.effort_for("documentation") == "low" and c.effort_for("summary") == "low"
    assert c.effort_for("correctness") == "medium" and c.effort_for("security") == "low"
    assert {c.effort_for(n) for n in NAMES} <= {"low", "medium"}          # every specialist has a level
    assert Config(effort_policy=False).effort_for("documentation") is None
    assert Config(effort="high").effort_for("documentation") is None                  # a review-wide effort wins
    assert Config(specialist_effort=(("documentation", "max"),)).effort_for("documentation") == "max"
    assert dict(EFFORT_POLICY)["performance"] == "low"
    check_models(Config(model="claude-sonnet-4-6"))          # a model without effort: the policy is not an error
    p = tmp_path / "c.toml"
    p.write_text("effort_policy = false\n")
    assert load_config(tmp_path, p).effort_policy is False


def test_the_config_model_is_the_validation_wherever_a_value_comes_from():
    import dataclasses

    from reviewbot.config import with_overrides
    from reviewbot.domain.enums import Mode
    with pytest.raises(ConfigError, match=r"^--model must be a non-empty string, got ''$"):
        with_overrides(Config(), model="")
    with pytest.raises(ConfigError, match=r"^f\.toml: 'aws_region' must be a non-empty string without spaces, got ''$"):
        config_from_mapping({"aws_region": ""}, "f.toml")
    with pytest.raises(ConfigError, match=r"^f\.toml: 'fallback_model' must be a non-empty string, got ' '$"):
        config_from_mapping({"fallback_model": " "}, "f.toml")
    with pytest.raises(ConfigError, match=r"^f\.toml: unknown key 'modle'$"):
        config_from_mapping({"modle": "x"}, "f.toml")
    assert with_overrides(Config(), model=" claude-opus-5-5 ").model == "claude-opus-5-5"
    cfg = config_from_mapping({"mode": "naive", "specialist_effort": {"security": "low"}})
    assert cfg.mode is Mode.NAIVE and cfg.mode == "naive"
    assert dataclasses.replace(cfg, max_turns=3).specialist_effort == (("security", "low"),)    # replace re-validates
    assert hash(cfg) == hash(config_from_mapping({"mode": "naive", "specialist_effort": {"security": "low"}}))


def test_an_empty_model_flag_is_one_line_and_exit_2(tmp_path, capsys):
    from helpers import run_cli
    diff = tmp_path / "c.diff"
    diff.write_text("diff --git a/x.py b/x.py\n--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a\n+b\n")
    code, out, err = run_cli(capsys, "review", "--diff", str(diff), "--model", "", "--dry-run")
    assert (code, out, err) == (2, "", "reviewbot: error: --model must be a non-empty string, got ''\n")
