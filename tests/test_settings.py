"""Settings: read from the environment and `.env`, typed, and all documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from tools.core.settings import Settings, setting_env_name

README = Path(__file__).resolve().parents[1] / "README.md"


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://titan@db:5432/plant")
    monkeypatch.setenv("TITAN_SIM_SPEED", "120")
    monkeypatch.setenv("TITAN_MODEL", "qwen3-32b")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")

    settings = Settings()

    assert settings.database_url == "postgresql://titan@db:5432/plant"
    assert settings.sim_speed == 120.0
    assert settings.model == "qwen3-32b"
    assert settings.openai_api_key is not None
    assert settings.openai_api_key.get_secret_value() == "sk-test"
    assert "sk-test" not in repr(settings)


def test_settings_come_from_a_dotenv_file_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TITAN_SIM_SEED", raising=False)
    (tmp_path / ".env").write_text("TITAN_SIM_SEED=7\nTITAN_LOG_LEVEL=DEBUG\n")
    monkeypatch.chdir(tmp_path)

    settings = Settings()

    assert (settings.sim_seed, settings.log_level) == (7, "DEBUG")


def test_an_invalid_setting_is_refused_naming_the_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TITAN_SIM_SPEED", "-1")
    with pytest.raises(ValidationError, match="greater than 0"):
        Settings()
    monkeypatch.setenv("TITAN_SIM_SPEED", "60")
    monkeypatch.setenv("TITAN_LOG_LEVEL", "LOUD")
    with pytest.raises(ValidationError, match="'DEBUG', 'INFO', 'WARNING' or 'ERROR'"):
        Settings()


def test_every_setting_is_documented_in_the_readme_configuration_table() -> None:
    table = README.read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", table, flags=re.MULTILINE))

    expected = {setting_env_name(field) for field in Settings.model_fields}

    assert documented == expected
