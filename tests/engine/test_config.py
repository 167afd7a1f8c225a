from __future__ import annotations

from pathlib import Path

import pytest

from engine._config import ConfigError, load_config

ROOT = Path(__file__).resolve().parent.parent.parent


def test_environment_overrides_the_file_and_a_mapping_overrides_both(tmp_path: Path) -> None:
    file = tmp_path / "c.toml"
    file.write_text('database_url = "sqlite:///file.db"\n[sandbox]\nbudget_seconds = 2.0\n')
    env = {"JORNADA_DATABASE_URL": "sqlite:///env.db", "JORNADA_SANDBOX_BUDGET_SECONDS": "3"}
    assert load_config(path=file, environ={})["sandbox"]["budget_seconds"] == 2.0
    assert load_config(path=file, environ=env)["database_url"] == "sqlite:///env.db"
    assert load_config(path=file, environ=env)["sandbox"]["budget_seconds"] == 3.0
    assert load_config({"sandbox": {"budget_seconds": 0.5}}, path=file, environ=env)["sandbox"]["budget_seconds"] == 0.5


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"JORNADA_SANDBOX_BUDGET_SECONDS": "fast"}, "sandbox.budget_seconds"),
        ({"JORNADA_NO_SUCH_KEY": "1"}, "JORNADA_NO_SUCH_KEY"),
        ({"JORNADA_MAIL_TRANSPORT": "pigeon"}, "mail.transport"),
    ],
)
def test_a_bad_value_fails_loudly_naming_the_key(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        load_config(path=ROOT / "config.toml", environ=environ)


def test_every_shipped_config_key_is_documented_in_config_toml() -> None:
    from engine._config import DEFAULTS

    text = (ROOT / "config.toml").read_text()
    for key, value in DEFAULTS.items():
        if isinstance(value, dict):
            assert f"[{key}]" in text
            for sub in value:
                assert f"\n{sub} =" in text, f"{key}.{sub} missing from config.toml"
        else:
            assert f"\n{key} =" in text or text.startswith(f"{key} =")


def test_the_test_suites_own_variables_are_not_taken_for_configuration() -> None:
    env = {"JORNADA_TEST_DB": "postgresql", "JORNADA_PG_PORT": "5", "JORNADA_CONFIG": str(ROOT / "config.toml")}
    assert load_config(environ=env)["database_url"] == "sqlite:///var/jornada.db"


def test_a_commands_own_input_variable_is_not_taken_for_configuration() -> None:
    env = {"JORNADA_NEW_PASSWORD": "s3cret-enough", "JORNADA_AUDIT_ANCHOR_KEY_FILE": "/etc/jornada/anchor.key"}
    config = load_config(path=ROOT / "config.toml", environ=env)
    assert config["audit"]["anchor_key_file"] == "/etc/jornada/anchor.key"
    assert "s3cret-enough" not in repr(config)
    with pytest.raises(ConfigError, match="JORNADA_NEW_PASSWORDS"):
        load_config(path=ROOT / "config.toml", environ={"JORNADA_NEW_PASSWORDS": "x"})
