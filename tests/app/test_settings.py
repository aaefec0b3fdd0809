from pathlib import Path

import pytest

from domain.errors import ConfigError
from services.settings import load_settings


def test_toml_then_environment_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "costpilot.toml").write_text(
        'currency = "EUR"\nforge = "github"\n[tag_aliases]\nteam = ["squad"]\n'
        '[prices.acme]\ninput_cost_per_token = "0.000001"\noutput_cost_per_token = "0.000002"\n'
    )
    monkeypatch.delenv("COSTPILOT_FORGE", raising=False)
    settings = load_settings(tmp_path)
    assert (settings.currency, settings.forge, settings.tag_aliases["team"]) == ("EUR", "github", ["squad"])
    assert str(settings.prices["acme"].output_cost_per_token) == "0.000002"
    monkeypatch.setenv("COSTPILOT_FORGE", "local")
    assert load_settings(tmp_path).forge == "local"


def test_secrets_are_never_printed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_supersecret")
    settings = load_settings(tmp_path)
    assert settings.github_token is not None
    assert settings.github_token.get_secret_value() == "ghp_supersecret"
    assert "supersecret" not in repr(settings) and "supersecret" not in settings.model_dump_json()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("currency = [", "not valid TOML"),
        ('forge = "gitlab"', "setting 'forge'"),
        ("colour = 1", "setting 'colour'"),
    ],
)
def test_bad_settings_name_the_key(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "costpilot.toml").write_text(content)
    with pytest.raises(ConfigError, match=message):
        load_settings(tmp_path)


def test_bad_settings_file_exits_2(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "costpilot.toml").write_text('forge = "gitlab"')
    result = run_cli("--workspace", str(tmp_path), "spend")
    assert result.code == 2 and "setting 'forge'" in result.err
