"""config.py: the seed's examples, lookup and deep merge, ${VAR}, environment overrides, roles, MetaGPT keys,
the template, init_config, and every error message (file, key, fix; never a traceback, never the key)."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from textwrap import dedent

import pytest
import yaml

from devteam.config.settings import (
    OLLAMA_URL,
    OPENAI_URL,
    Config,
    ConfigNotFoundError,
    LLMConfig,
    RoleLLM,
    init_config,
    load_config,
    template_text,
)
from devteam.core.errors import ConfigError

SECRET = "sk-test-SECRET-1234"
REPO = Path(__file__).resolve().parents[1]

SEED_OPEN_LLM = """\
llm:
  api_type: 'open_llm'
  base_url: 'http://106.75.10.xxx:8000/v1'
  model: 'llama2-13b'
"""
SEED_OLLAMA = """\
llm:
  api_type: 'ollama'
  base_url: 'http://127.0.0.1:11434/api'
  model: 'llama2'
"""


@dataclass
class Dirs:
    home: Path
    cwd: Path

    @property
    def home_file(self) -> Path:
        return self.home / ".metagpt" / "config2.yaml"

    @property
    def cwd_file(self) -> Path:
        return self.cwd / "config" / "config2.yaml"


@pytest.fixture
def dirs(tmp_path: Path) -> Dirs:
    found = Dirs(home=tmp_path / "home", cwd=tmp_path / "project")
    found.home.mkdir()
    found.cwd.mkdir()
    return found


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dedent(text), encoding="utf-8")
    return path


def load(dirs: Dirs, explicit: Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    return load_config(explicit, cwd=dirs.cwd, home=dirs.home, env=env or {})


def load_error(dirs: Dirs, text: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """Write `text` as ./config/config2.yaml, load, and return the ConfigError's message after the checks
    every message must pass."""
    if text is not None:
        write(dirs.cwd_file, text)
    with pytest.raises(ConfigError) as info:
        load(dirs, env=env)
    return checked_message(info.value)


def checked_message(error: BaseException) -> str:
    message = str(error)
    assert "Traceback" not in message
    assert "[type=" not in message and "errors.pydantic.dev" not in message  # pydantic's raw text
    assert SECRET not in message
    return message


# --- the seed's examples, as written ----------------------------------------------------------------------


def test_seed_open_llm_example_loads_as_written(dirs: Dirs) -> None:
    write(dirs.cwd_file, SEED_OPEN_LLM)
    config = load(dirs)
    assert config.llm.api_type == "open_llm"
    assert config.llm.base_url == "http://106.75.10.xxx:8000/v1"
    assert config.llm.model == "llama2-13b"
    assert config.llm.api_key is None  # open servers need no key
    assert config.sources == [dirs.cwd_file]


def test_seed_ollama_example_loads_as_written(dirs: Dirs) -> None:
    write(dirs.cwd_file, SEED_OLLAMA)
    config = load(dirs)
    assert (config.llm.api_type, config.llm.base_url, config.llm.model) == (
        "ollama",
        "http://127.0.0.1:11434/api",
        "llama2",
    )


def test_seed_repair_switch_at_top_level(dirs: Dirs) -> None:
    write(dirs.cwd_file, SEED_OLLAMA + "repair_llm_output: true\n")
    assert load(dirs).repair_llm_output is True


def test_defaults() -> None:
    config = Config(llm=LLMConfig(api_type="ollama", model="llama2"))
    assert config.repair_llm_output is True
    assert (config.workspace, config.max_concurrency, config.roles) == ("./workspace", 4, [])
    llm = config.llm
    assert llm.base_url == OLLAMA_URL == "http://127.0.0.1:11434"
    assert (llm.temperature, llm.max_token, llm.timeout, llm.stream) == (0.0, 4096, 600, True)
    assert (llm.num_retries, llm.retry_min_wait, llm.retry_max_wait, llm.retry_multiplier) == (4, 5, 30, 2)
    assert (llm.pricing.prompt, llm.pricing.completion, llm.structured_output) == (0, 0, "auto")
    assert LLMConfig(api_type="openai", model="gpt-4o").base_url == OPENAI_URL
    assert LLMConfig(model="gpt-4o").api_type == "openai"  # MetaGPT's default too


def test_max_tokens_is_accepted_as_an_alias(dirs: Dirs) -> None:
    write(dirs.cwd_file, SEED_OLLAMA + "  max_tokens: 1000\n")
    assert load(dirs).llm.max_token == 1000


def test_metagpt_workspace_mapping_gives_its_path(dirs: Dirs) -> None:
    write(dirs.cwd_file, SEED_OLLAMA + "workspace:\n  path: ./out\n")
    assert load(dirs).workspace == "./out"


# --- lookup and deep merge --------------------------------------------------------------------------------


def test_home_cwd_and_explicit_merge_deeply_in_order(dirs: Dirs, tmp_path: Path) -> None:
    write(
        dirs.home_file,
        f"""\
        llm:
          api_type: openai
          api_key: {SECRET}
          model: gpt-4o-mini
          temperature: 0.3
          pricing: {{prompt: 0.15, completion: 0.6}}
        workspace: /home/ws
        """,
    )
    write(dirs.cwd_file, "llm:\n  model: gpt-4o\n  pricing: {completion: 10}\nmax_concurrency: 2\n")
    explicit = write(tmp_path / "run.yaml", "llm:\n  temperature: 0.7\n")
    config = load(dirs, explicit)
    llm = config.llm
    assert llm.api_key is not None and llm.api_key.get_secret_value() == SECRET
    assert (llm.api_type, llm.model, llm.temperature) == ("openai", "gpt-4o", 0.7)
    assert (llm.pricing.prompt, llm.pricing.completion) == (0.15, 10)
    assert (config.workspace, config.max_concurrency) == ("/home/ws", 2)
    assert config.sources == [dirs.home_file, dirs.cwd_file, explicit]


def test_partial_llm_block_keeps_the_other_keys(dirs: Dirs) -> None:
    write(dirs.home_file, SEED_OPEN_LLM + "  timeout: 120\n  stream: false\n")
    write(dirs.cwd_file, "llm:\n  model: qwen2.5-coder\n")
    llm = load(dirs).llm
    assert (llm.api_type, llm.base_url, llm.model) == ("open_llm", "http://106.75.10.xxx:8000/v1", "qwen2.5-coder")
    assert (llm.timeout, llm.stream) == (120, False)


def test_home_file_alone_is_enough(dirs: Dirs) -> None:
    write(dirs.home_file, SEED_OLLAMA)
    assert load(dirs).sources == [dirs.home_file]


def test_explicit_relative_path_is_read_from_cwd_and_not_twice(dirs: Dirs) -> None:
    write(dirs.cwd_file, SEED_OLLAMA)
    assert load(dirs, Path("config/config2.yaml")).sources == [dirs.cwd_file]


def test_an_empty_key_in_a_later_file_erases_nothing(dirs: Dirs) -> None:
    write(dirs.home_file, SEED_OLLAMA)
    write(dirs.cwd_file, "llm:\nworkspace: ./ws\n")
    config = load(dirs)
    assert (config.llm.model, config.workspace) == ("llama2", "./ws")


# --- ${VAR} ------------------------------------------------------------------------------------------------


def test_variables_are_expanded_from_env(dirs: Dirs) -> None:
    write(
        dirs.cwd_file,
        """\
        llm:
          api_type: open_llm
          base_url: http://${LLM_HOST}:${LLM_PORT:-8000}/v1
          model: ${MODEL:-llama2-13b}
          api_key: ${MY_KEY}
        workspace: ${HOME_DIR}/ws
        """,
    )
    env = {"LLM_HOST": "10.0.0.5", "MY_KEY": SECRET, "HOME_DIR": "/data", "MODEL": "qwen"}
    config = load(dirs, env=env)
    assert config.llm.base_url == "http://10.0.0.5:8000/v1"
    assert config.llm.model == "qwen"
    assert config.llm.api_key is not None and config.llm.api_key.get_secret_value() == SECRET
    assert config.workspace == "/data/ws"


def test_unset_variable_without_default_names_file_key_and_variable(dirs: Dirs) -> None:
    message = load_error(dirs, "llm:\n  api_type: openai\n  model: gpt-4o\n  api_key: ${MISSING_KEY}\n")
    assert f"{dirs.cwd_file}:4" in message
    assert "llm.api_key" in message and "MISSING_KEY" in message
    assert "${MISSING_KEY:-" in message  # the fix: a default


def test_variables_in_ignored_metagpt_sections_are_not_required(dirs: Dirs, caplog: pytest.LogCaptureFixture) -> None:
    write(dirs.cwd_file, SEED_OLLAMA + "search:\n  api_key: ${SERPAPI_KEY}\n")
    with caplog.at_level(logging.WARNING, logger="devteam.config"):
        assert load(dirs).llm.model == "llama2"


# --- the environment ---------------------------------------------------------------------------------------

OPENAI_CONFIG = "llm:\n  api_type: openai\n  model: gpt-4o\n  api_key: sk-from-file\n"


@pytest.mark.parametrize("api_type", ["openai", "open_llm"])
def test_openai_api_key_and_base_url_from_env_fill_what_the_file_leaves_empty(dirs: Dirs, api_type: str) -> None:
    write(dirs.cwd_file, f"llm:\n  api_type: {api_type}\n  model: m\n")
    env = {"OPENAI_API_KEY": SECRET, "OPENAI_BASE_URL": "http://env-host:9000/v1"}
    llm = load(dirs, env=env).llm
    assert llm.api_key is not None and llm.api_key.get_secret_value() == SECRET
    assert llm.base_url == "http://env-host:9000/v1"


def test_openai_key_from_env_wins_for_openai(dirs: Dirs) -> None:
    write(dirs.cwd_file, OPENAI_CONFIG)
    llm = load(dirs, env={"OPENAI_API_KEY": SECRET}).llm
    assert llm.api_key is not None and llm.api_key.get_secret_value() == SECRET


@pytest.mark.parametrize("api_type", ["openai", "open_llm"])
def test_openai_base_url_from_env_never_moves_a_server_the_config_names(dirs: Dirs, api_type: str) -> None:
    write(dirs.cwd_file, f"llm:\n  api_type: {api_type}\n  model: m\n  base_url: http://127.0.0.1:8000/v1\n")
    llm = load(dirs, env={"OPENAI_BASE_URL": "https://api.openai.com/v1"}).llm
    assert llm.base_url == "http://127.0.0.1:8000/v1"


@pytest.mark.parametrize("file_key", ["", "  api_key: local-server-key\n"])
def test_openai_key_from_env_is_never_given_to_an_open_llm_server_the_config_names(dirs: Dirs, file_key: str) -> None:
    write(dirs.cwd_file, "llm:\n  api_type: open_llm\n  model: m\n  base_url: http://127.0.0.1:8000/v1\n" + file_key)
    llm = load(dirs, env={"OPENAI_API_KEY": SECRET, "OPENAI_BASE_URL": "http://env-host:9000/v1"}).llm
    assert llm.base_url == "http://127.0.0.1:8000/v1"
    assert llm.api_key is None or llm.api_key.get_secret_value() == "local-server-key"


def test_older_openai_api_base_is_honoured_and_base_url_wins(dirs: Dirs) -> None:
    write(dirs.cwd_file, OPENAI_CONFIG)
    assert load(dirs, env={"OPENAI_API_BASE": "http://old:1/v1"}).llm.base_url == "http://old:1/v1"
    both = {"OPENAI_API_BASE": "http://old:1/v1", "OPENAI_BASE_URL": "http://new:2/v1"}
    assert load(dirs, env=both).llm.base_url == "http://new:2/v1"


def test_openai_variables_do_not_touch_ollama(dirs: Dirs) -> None:
    write(dirs.cwd_file, SEED_OLLAMA)
    llm = load(dirs, env={"OPENAI_API_KEY": SECRET, "OPENAI_BASE_URL": "http://x:1/v1"}).llm
    assert (llm.api_key, llm.base_url) == (None, "http://127.0.0.1:11434/api")


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("gpu-box:11500", "http://gpu-box:11500"),
        ("0.0.0.0", "http://127.0.0.1:11434"),  # the seed's bind-all example
        ("https://ollama.example.com", "https://ollama.example.com"),
    ],
)
def test_ollama_host_sets_base_url_for_ollama(dirs: Dirs, host: str, url: str) -> None:
    write(dirs.cwd_file, SEED_OLLAMA)
    assert load(dirs, env={"OLLAMA_HOST": host}).llm.base_url == url


def test_ollama_host_is_ignored_for_openai(dirs: Dirs) -> None:
    write(dirs.cwd_file, OPENAI_CONFIG)
    assert load(dirs, env={"OLLAMA_HOST": "gpu-box:11500"}).llm.base_url == OPENAI_URL


def test_retry_variables_override_the_files_with_fractions(dirs: Dirs) -> None:
    write(dirs.cwd_file, SEED_OLLAMA + "  num_retries: 9\n  retry_min_wait: 7\n")
    env = {
        "LLM_NUM_RETRIES": "2",
        "LLM_RETRY_MIN_WAIT": "0.5",
        "LLM_RETRY_MAX_WAIT": "2.5",
        "LLM_RETRY_MULTIPLIER": "1.5",
    }
    llm = load(dirs, env=env).llm
    assert (llm.num_retries, llm.retry_min_wait, llm.retry_max_wait, llm.retry_multiplier) == (2, 0.5, 2.5, 1.5)


def test_retry_settings_in_the_file_accept_fractions(dirs: Dirs) -> None:
    write(dirs.cwd_file, SEED_OLLAMA + "  retry_min_wait: 0.25\n  retry_max_wait: 1.5\n  retry_multiplier: 1.5\n")
    llm = load(dirs).llm
    assert (llm.retry_min_wait, llm.retry_max_wait, llm.retry_multiplier) == (0.25, 1.5, 1.5)


def test_empty_variables_count_as_unset(dirs: Dirs) -> None:
    write(dirs.cwd_file, OPENAI_CONFIG)
    llm = load(dirs, env={"OPENAI_API_KEY": "", "LLM_NUM_RETRIES": " "}).llm
    assert llm.api_key is not None and llm.api_key.get_secret_value() == "sk-from-file"
    assert llm.num_retries == 4


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("LLM_NUM_RETRIES", "three", "whole number"),
        ("LLM_NUM_RETRIES", "2.5", "whole number"),
        ("LLM_RETRY_MIN_WAIT", "soon", "number"),
        ("LLM_RETRY_MAX_WAIT", "inf", "number"),
        ("LLM_RETRY_MULTIPLIER", "x2", "number"),
    ],
)
def test_bad_retry_variable_names_the_variable(dirs: Dirs, variable: str, value: str, expected: str) -> None:
    message = load_error(dirs, SEED_OLLAMA, env={variable: value})
    assert variable in message and repr(value) in message and expected in message


def test_out_of_range_variable_is_blamed_on_the_variable(dirs: Dirs) -> None:
    message = load_error(dirs, SEED_OLLAMA, env={"LLM_NUM_RETRIES": "-1"})
    assert "llm.num_retries from environment variable LLM_NUM_RETRIES must be at least 0" in message


def test_bad_url_from_env_is_blamed_on_the_variable(dirs: Dirs) -> None:
    message = load_error(dirs, OPENAI_CONFIG, env={"OPENAI_BASE_URL": "api.example.com/v1"})
    assert "llm.base_url from environment variable OPENAI_BASE_URL must be an http(s) URL" in message


def test_retry_max_below_min_is_an_error(dirs: Dirs) -> None:
    message = load_error(dirs, SEED_OLLAMA + "  retry_min_wait: 10\n  retry_max_wait: 3\n")
    assert "llm.retry_max_wait" in message and str(dirs.cwd_file) in message and "retry_min_wait" in message


# --- repair_llm_output --------------------------------------------------------------------------------------


def test_repair_flag_inside_llm_is_moved_to_top_level(dirs: Dirs) -> None:
    write(dirs.cwd_file, SEED_OLLAMA + "  repair_llm_output: false\n")
    config = load(dirs)
    assert config.repair_llm_output is False
    assert "repair_llm_output" not in config.llm.model_dump()


def test_top_level_repair_flag_wins_over_the_one_inside_llm(dirs: Dirs) -> None:
    write(dirs.home_file, "repair_llm_output: true\n")
    write(dirs.cwd_file, SEED_OLLAMA + "  repair_llm_output: false\n")
    assert load(dirs).repair_llm_output is True


def test_bad_repair_flag_inside_llm_points_at_its_line(dirs: Dirs) -> None:
    message = load_error(dirs, SEED_OLLAMA + "  repair_llm_output: sometimes\n")
    assert f"{dirs.cwd_file}:5" in message and "true or false" in message and "'sometimes'" in message


# --- roles ---------------------------------------------------------------------------------------------------

ROLES = f"""\
llm:
  api_type: open_llm
  base_url: http://gpu:8000/v1
  model: llama2-13b
  api_key: {SECRET}
  temperature: 0.2
roles:
  - role: Architect
    llm:
      model: qwen2.5-72b
      max_tokens: 8000
  - role: Engineer
    llm:
      api_type: ollama
      model: qwen2.5-coder
"""


def test_role_block_is_merged_over_the_base_and_matched_case_insensitively(dirs: Dirs) -> None:
    write(dirs.cwd_file, ROLES)
    config = load(dirs)
    architect = config.llm_for("architect")
    assert architect is config.llm_for("ARCHITECT")
    assert (architect.model, architect.max_token, architect.temperature) == ("qwen2.5-72b", 8000, 0.2)
    assert architect.base_url == "http://gpu:8000/v1"
    assert architect.api_key is not None and architect.api_key.get_secret_value() == SECRET
    assert config.llm_for("ProductManager") is config.llm
    assert config.llm.model == "llama2-13b"


def test_role_on_another_server_does_not_inherit_url_or_key(dirs: Dirs) -> None:
    write(dirs.cwd_file, ROLES)
    engineer = load(dirs).llm_for("Engineer")
    assert (engineer.api_type, engineer.base_url, engineer.api_key) == ("ollama", OLLAMA_URL, None)
    assert engineer.temperature == 0.2


def test_environment_applies_to_roles(dirs: Dirs) -> None:
    write(
        dirs.cwd_file,
        """\
        llm: {api_type: ollama, model: llama2}
        roles:
          - role: Architect
            llm: {api_type: openai, model: gpt-4o}
        """,
    )
    config = load(dirs, env={"OPENAI_API_KEY": SECRET, "LLM_RETRY_MIN_WAIT": "0.5", "OLLAMA_HOST": "box:1"})
    architect = config.llm_for("Architect")
    assert architect.api_key is not None and architect.api_key.get_secret_value() == SECRET
    assert (architect.base_url, architect.retry_min_wait) == (OPENAI_URL, 0.5)
    assert (config.llm.api_key, config.llm.base_url, config.llm.retry_min_wait) == (None, "http://box:1", 0.5)


def test_model_flag_keeps_the_keys_the_environment_gave_the_roles(dirs: Dirs) -> None:
    write(
        dirs.cwd_file,
        """\
        llm: {api_type: ollama, model: llama2}
        roles:
          - role: Architect
            llm: {api_type: openai, model: gpt-4o}
          - role: Engineer
            llm: {temperature: 0.3}
        """,
    )
    config = load(dirs, env={"OPENAI_API_KEY": SECRET, "LLM_RETRY_MIN_WAIT": "0.5"}).with_model("qwen2.5:0.5b")
    architect, engineer = config.llm_for("Architect"), config.llm_for("Engineer")
    assert architect.api_key is not None and architect.api_key.get_secret_value() == SECRET
    assert (architect.model, architect.retry_min_wait) == ("gpt-4o", 0.5)
    assert (engineer.model, engineer.temperature, engineer.retry_min_wait) == ("qwen2.5:0.5b", 0.3, 0.5)
    assert SECRET in config.secrets()  # the run's redactor still knows the role's key


def test_roles_in_a_later_file_replace_the_earlier_list(dirs: Dirs) -> None:
    write(dirs.home_file, ROLES)
    write(dirs.cwd_file, "roles:\n  - role: QA\n    llm: {model: small}\n")
    config = load(dirs)
    assert [entry.role for entry in config.roles] == ["QA"]
    assert config.llm_for("Architect") is config.llm


def test_with_replay_answers_every_role_from_the_record(dirs: Dirs, tmp_path: Path) -> None:
    write(dirs.cwd_file, ROLES)
    replayed = load(dirs).with_replay(tmp_path / "record.jsonl")
    for role in ["Architect", "Engineer", "ProductManager"]:
        llm = replayed.llm_for(role)
        assert (llm.api_type, llm.replay_file, llm.api_key) == ("replay", str(tmp_path / "record.jsonl"), None)
    bare = Config.model_validate({"llm": {"api_type": "replay"}}).with_replay(tmp_path / "r.jsonl")
    assert bare.llm.replay_file == str(tmp_path / "r.jsonl")


def test_roles_work_on_a_config_built_in_code() -> None:
    config = Config(
        llm=LLMConfig(api_type="ollama", model="llama2"),
        roles=[RoleLLM(role="Architect", llm={"model": "qwen", "max_tokens": 100})],
    )
    assert (config.llm_for("architect").model, config.llm_for("architect").max_token) == ("qwen", 100)


def test_invalid_role_override_names_the_role_file_and_key(dirs: Dirs) -> None:
    text = SEED_OLLAMA + "roles:\n  - role: Architect\n    llm:\n      temperature: hot\n"
    message = load_error(dirs, text)
    assert "roles[0].llm.temperature (role Architect)" in message
    assert f"{dirs.cwd_file}:8" in message and "must be a number, got 'hot'" in message


def test_role_switching_to_open_llm_without_url_names_the_role(dirs: Dirs) -> None:
    message = load_error(dirs, SEED_OLLAMA + "roles:\n  - role: Engineer\n    llm: {api_type: open_llm}\n")
    assert "roles[0].llm.base_url (role Engineer)" in message and "http://127.0.0.1:8000/v1" in message


def test_duplicate_role_is_an_error(dirs: Dirs) -> None:
    text = SEED_OLLAMA + "roles:\n  - {role: Architect, llm: {model: a}}\n  - {role: architect, llm: {model: b}}\n"
    message = load_error(dirs, text)
    assert "roles" in message and "twice" in message and str(dirs.cwd_file) in message


def test_role_entry_without_role_name(dirs: Dirs) -> None:
    message = load_error(dirs, SEED_OLLAMA + "roles:\n  - llm: {model: a}\n")
    assert "roles[0].role" in message and "is missing" in message and f"{dirs.cwd_file}:6" in message


# --- MetaGPT keys we do not use ------------------------------------------------------------------------------

METAGPT_CONFIG = """\
llm:
  api_type: 'openai'
  base_url: 'https://api.openai.com/v1'
  api_key: 'sk-test-SECRET-1234'
  model: 'gpt-4-turbo'
  proxy: 'http://proxy:8080'
  api_version: '2024-02-01'
  pricing_plan: 'gpt-4-turbo'
  calc_usage: true
  top_p: 1.0
  stop: null
  use_system_prompt: true
embedding:
  api_type: 'openai'
  model: 'text-embedding-3-small'
proxy: 'http://proxy:8080'
search:
  api_type: 'serpapi'
browser:
  engine: 'playwright'
mermaid:
  engine: 'nodejs'
redis:
  host: 'localhost'
s3:
  bucket: 'x'
language: 'English'
enable_longterm_memory: false
iflytek_app_id: 'x'
azure_tts_region: 'eastus'
IFLYTEK_API_KEY: 'x'
models:
  gpt-4o: {api_type: openai}
agentops_api_key: 'x'
repair_llm_output: true
workspace:
  path: './ws'
"""


def test_metagpt_config_loads_and_each_unused_key_warns_once(dirs: Dirs, caplog: pytest.LogCaptureFixture) -> None:
    write(dirs.cwd_file, METAGPT_CONFIG)
    with caplog.at_level(logging.WARNING, logger="devteam.config"):
        config = load(dirs)
    assert (config.llm.model, config.workspace, config.repair_llm_output) == ("gpt-4-turbo", "./ws", True)
    lines = [record.getMessage() for record in caplog.records if record.name == "devteam.config"]
    ignored = ["llm.proxy", "llm.api_version", "llm.pricing_plan", "llm.calc_usage", "llm.top_p",
               "llm.use_system_prompt", "embedding", "proxy", "search", "browser", "mermaid", "redis", "s3",
               "language", "enable_longterm_memory", "iflytek_app_id", "azure_tts_region", "IFLYTEK_API_KEY",
               "models", "agentops_api_key"]  # fmt: skip
    assert len(lines) == len(ignored)
    for key in ignored:
        assert sum(f"ignoring {key} " in line for line in lines) == 1, key
    assert all(str(dirs.cwd_file) in line and SECRET not in line for line in lines)


# --- the template and init_config -----------------------------------------------------------------------------


def test_template_loads_as_a_valid_config(dirs: Dirs) -> None:
    write(dirs.cwd_file, template_text())
    config = load(dirs)
    assert config.llm.api_type == "ollama" and config.llm.base_url == "http://127.0.0.1:11434/api"
    assert config.repair_llm_output is True


def test_repo_example_is_the_package_template() -> None:
    packaged = REPO / "devteam" / "templates" / "config2.example.yaml"
    assert (REPO / "config" / "config2.example.yaml").read_bytes() == packaged.read_bytes()
    assert packaged.read_text(encoding="utf-8") == template_text()


def _commented_blocks(text: str) -> list[str]:
    """Each commented `# llm:` / `# roles:` block of the template, uncommented."""
    blocks: list[list[str]] = []
    for line in text.splitlines():
        if re.match(r"# (llm|roles):$", line):
            blocks.append([line[2:]])
        elif blocks and blocks[-1] and line.startswith("#   "):
            blocks[-1].append(line[2:])
        elif blocks and blocks[-1]:
            blocks.append([])
    return ["\n".join(block) + "\n" for block in blocks if block]


def test_every_commented_provider_block_is_valid(dirs: Dirs) -> None:
    text = template_text()
    blocks = _commented_blocks(text)
    kinds = [yaml.safe_load(block).get("llm", {}).get("api_type") for block in blocks]
    assert kinds.count("open_llm") >= 6 and {"openai", "ollama", "human"} <= set(kinds)
    for url in ["http://HOST:8000/v1", "http://127.0.0.1:8080/v1", "http://127.0.0.1:1234/v1"]:
        assert url in text
    env = {"OPENAI_API_KEY": SECRET, "DEEPSEEK_API_KEY": SECRET}
    for block in blocks:
        write(dirs.cwd_file, template_text() + "\n" + block)  # a later block overrides the active one
        config = load(dirs, env=env)
        for entry in config.roles:
            assert config.llm_for(entry.role).model == "gpt-4o"


def test_template_mentions_every_setting() -> None:
    text = template_text()
    for key in ["repair_llm_output: true", "pricing:", "num_retries", "retry_min_wait", "retry_max_wait",
                "retry_multiplier", "structured_output", "max_concurrency", "workspace", "- role: Architect",
                "LM Studio", "vLLM", "LLaMA-Factory", "FastChat", "llama.cpp", "OPENAI_API_KEY",
                "structured_output: 'json_schema'"]:  # fmt: skip
        assert key in text, key


def test_init_config_writes_the_template_then_refuses_to_overwrite(tmp_path: Path) -> None:
    path = init_config(tmp_path / "home")
    assert path == tmp_path / "home" / ".metagpt" / "config2.yaml"
    assert path.read_text(encoding="utf-8") == template_text()
    path.write_text("llm: {api_type: ollama, model: mine}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        init_config(tmp_path / "home")
    message = checked_message(info.value)
    assert str(path) in message and "exists" in message and "untouched" in message
    assert path.read_text(encoding="utf-8") == "llm: {api_type: ollama, model: mine}\n"


# --- errors -------------------------------------------------------------------------------------------------


def test_no_config_file_lists_the_paths_and_suggests_init(dirs: Dirs) -> None:
    with pytest.raises(ConfigNotFoundError) as info:
        load(dirs)
    message = checked_message(info.value)
    assert str(dirs.home_file) in message and str(dirs.cwd_file) in message
    assert "metagpt --init-config" in message
    assert info.value.looked_at == [dirs.home_file, dirs.cwd_file]
    assert isinstance(info.value, ConfigError)


def test_missing_explicit_config_is_an_error_even_when_others_exist(dirs: Dirs, tmp_path: Path) -> None:
    write(dirs.home_file, SEED_OLLAMA)
    with pytest.raises(ConfigError) as info:
        load(dirs, tmp_path / "nope.yaml")
    message = checked_message(info.value)
    assert "--config" in message and str(tmp_path / "nope.yaml") in message and "does not exist" in message
    assert not isinstance(info.value, ConfigNotFoundError)


# Each case: a config file, then what the message must contain besides the file's path.
ERROR_CASES = {
    "yaml syntax": ("llm:\n  api_type: ollama\n   model: llama2\n", [":3:", "not valid YAML", "fix that line"]),
    "tab indent": ("llm:\n\tmodel: llama2\n", [":2:", "not valid YAML", "tabs"]),
    "empty file": ("# only a comment\n", ["is empty", "llm:", "--init-config"]),
    "top level is a list": ("- llm\n", ["top level", "mapping", "got a list"]),
    "top level is text": ("hello\n", ["top level", "mapping", "'hello'"]),
    "missing llm": ("workspace: ./ws\n", ["llm is missing", "api_type: ollama", "--init-config"]),
    "empty llm": ("llm:\nworkspace: ./ws\n", ["llm", ":1", "is empty", "api_type"]),
    "llm not a mapping": ("llm: ollama\n", ["llm", ":1", "must be a mapping", "'ollama'"]),
    "unknown api_type": (
        "llm: {api_type: claude, model: x}\n",
        [
            "llm.api_type",
            ":1",
            "'openai', 'open_llm', 'llama_server', 'ollama', 'huggingface', 'llama_cpp', 'human' or 'replay'",
            "'claude'",
            "open_llm",
        ],
    ),
    "missing model": ("llm:\n  api_type: ollama\n", ["llm.model", ":1", "is missing", "model: llama2"]),
    "open_llm without base_url": (
        "llm:\n  api_type: open_llm\n  model: m\n",
        ["llm.base_url", "is missing", "base_url: http://127.0.0.1:8000/v1"],
    ),
    "base_url not a url": (
        "llm:\n  api_type: open_llm\n  model: m\n  base_url: localhost:8000/v1\n",
        ["llm.base_url", ":4", "must be an http(s) URL", "'localhost:8000/v1'"],
    ),
    "base_url ftp": (
        "llm:\n  api_type: openai\n  model: m\n  base_url: ftp://host/v1\n",
        ["llm.base_url", ":4", "http(s) URL"],
    ),
    "temperature hot": (
        "llm:\n  api_type: ollama\n  model: m\n  temperature: hot\n",
        ["llm.temperature in ", ":4 must be a number, got 'hot'"],
    ),
    "temperature too high": ("llm: {model: m, temperature: 3}\n", ["llm.temperature", "at most 2", "got 3"]),
    "max_token text": ("llm: {model: m, max_token: lots}\n", ["llm.max_token", "whole number", "'lots'"]),
    "stream not bool": ("llm: {model: m, stream: sometimes}\n", ["llm.stream", "true or false"]),
    "structured_output": (
        "llm: {model: m, structured_output: xml}\n",
        ["llm.structured_output", "'auto', 'json_schema', 'json_object_schema', 'json_object' or 'prompt'", "'xml'"],
    ),
    "pricing typo": ("llm:\n  model: m\n  pricing:\n    promt: 1\n", ["llm.pricing.promt", ":4", "`prompt`"]),
    "pricing negative": ("llm: {model: m, pricing: {prompt: -1}}\n", ["llm.pricing.prompt", "at least 0"]),
    "max_concurrency zero": (SEED_OLLAMA + "max_concurrency: 0\n", ["max_concurrency", ":5", "at least 1"]),
    "unknown top-level key": (
        SEED_OLLAMA + "repair_llm_ouput: true\n",
        ["unknown key repair_llm_ouput", ":5", "did you mean `repair_llm_output`?"],
    ),
    "unknown llm key": (SEED_OLLAMA + "  temprature: 0.5\n", ["llm.temprature", ":5", "`temperature`"]),
    "unknown key, nothing close": (SEED_OLLAMA + "zzz: 1\n", ["unknown key zzz", "remove it", "max_concurrency"]),
    "sources is not a file key": (SEED_OLLAMA + "sources: [a]\n", ["unknown key sources"]),
    "roles not a list": (SEED_OLLAMA + "roles:\n  Architect: {model: x}\n", ["roles", ":5", "must be a list"]),
    "unknown role key": (
        SEED_OLLAMA + "roles:\n  - role: Architect\n    llm: {modle: x}\n",
        ["roles[0].llm.modle", "`model`"],
    ),
    "max_tokens and max_token": (SEED_OLLAMA + "  max_token: 1\n  max_tokens: 2\n", ["llm.max_tokens", "keep one"]),
}


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_error_names_file_key_and_fix(dirs: Dirs, case: str) -> None:
    text, expected = ERROR_CASES[case]
    message = load_error(dirs, text)
    assert str(dirs.cwd_file) in message
    for fragment in expected:
        assert fragment in message, (fragment, message)


def test_several_problems_give_one_line_each(dirs: Dirs) -> None:
    message = load_error(dirs, "llm:\n  model: m\n  temperature: hot\n  timeout: never\nmax_concurrency: none\n")
    lines = message.splitlines()
    assert len(lines) == 3
    assert [line.split(" ")[0] for line in lines] == ["llm.temperature", "llm.timeout", "max_concurrency"]


def test_error_in_a_merged_file_names_the_file_that_set_the_value(dirs: Dirs) -> None:
    write(dirs.home_file, SEED_OLLAMA + "  temperature: hot\n")
    write(dirs.cwd_file, "llm:\n  model: other\n")
    message = load_error(dirs)
    assert f"{dirs.home_file}:5" in message and str(dirs.cwd_file) not in message


# --- the key stays secret -------------------------------------------------------------------------------------


def test_api_key_never_shown(dirs: Dirs) -> None:
    own_key = f"      max_tokens: 8000\n      api_key: {SECRET}\n"
    write(dirs.cwd_file, ROLES.replace("      max_tokens: 8000\n", own_key))
    config = load(dirs)
    architect = config.llm_for("Architect")
    assert architect.api_key is not None and architect.api_key.get_secret_value() == SECRET
    shown = [repr(config), str(config), str(config.summary()), repr(config.llm), str(config.llm),
             config.model_dump_json(), repr(config.roles), repr(architect)]  # fmt: skip
    for text in shown:
        assert SECRET not in text


def test_summary_lists_what_the_run_uses(dirs: Dirs) -> None:
    write(dirs.cwd_file, ROLES)
    summary = load(dirs).summary()
    assert summary["provider"] == "open_llm" and summary["model"] == "llama2-13b"
    assert summary["base_url"] == "http://gpu:8000/v1" and summary["structured_output"] == "auto"
    assert summary["repair"] is True
    assert summary["roles"] == {"Architect": "qwen2.5-72b", "Engineer": "qwen2.5-coder"}


@pytest.mark.parametrize(
    "text",
    [
        f"llm:\n  api_type: openai\n  api_key: {SECRET}\n  model: m\n  temperature: hot\n",
        f"llm:\n  api_type: openai\n  api_key: [{SECRET}]\n  model: m\n",
        f"llm:\n  api_type: claude\n  api_key: {SECRET}\n",
        f"llm:\n  api_type: openai\n  api_kye: {SECRET}\n  model: m\n",
        f"llm:\n  api_key: {SECRET}\nroles:\n  - role: A\n    llm: {{api_key: {SECRET}, model: m, seed: x}}\n",
    ],
)
def test_api_key_never_in_error_messages(dirs: Dirs, text: str) -> None:
    load_error(dirs, text)  # load_error asserts the key is absent
