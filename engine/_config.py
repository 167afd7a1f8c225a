"""Configuration: defaults <- config.toml <- JORNADA_* environment variables <- an explicit mapping.

Nothing is read at import time; ``load_config`` is called by whoever builds a runtime or an app. Every value is
checked against the type of its default, and a bad value fails loudly with the key that is wrong.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from copy import deepcopy
from pathlib import Path
from typing import Any

DEFAULTS: dict[str, Any] = {
    "database_url": "sqlite:///var/jornada.db",
    "data_dir": "var",
    "sandbox": {"budget_seconds": 1.0, "memory_mb": 512},
    "engine": {"max_steps_per_operation": 1000, "default_group": "cs_lead"},
    "scheduler": {
        "timer_interval_seconds": 10,
        "sweep_interval_seconds": 60,
        "run_in_web": False,
        "heartbeat_stale_seconds": 300,
        "node_name": "",
        "metrics_port": 0,
    },
    # One structured line per request and per scheduler job (engine/_logs.py): logfmt or json.
    "logging": {"format": "logfmt", "level": "INFO"},
    "mail": {
        "transport": "log",
        "smtp_host": "127.0.0.1",
        "smtp_port": 25,
        "sender": "Jornada <cs@jornada.example>",
    },
    "alerts": {"channels": ["mail"], "group_mail_domain": "jornada.example"},
    "demo": {"customers": 20, "seed": 7},
    # The CS domain's settings (processes/ reads and checks them; config.toml documents each key).
    "surveys": {"ces_min": 0, "ces_max": 5, "link_days": 14, "public_url": "http://127.0.0.1:8000"},
    "health": {
        "weight_usage": 0.25,
        "weight_support": 0.15,
        "weight_sentiment": 0.25,
        "weight_payment": 0.15,
        "weight_stuck_steps": 0.10,
        "weight_mrr_trend": 0.10,
        "watch_below": 70.0,
        "at_risk_below": 40.0,
        "usage_window_days": 30,
        "at_risk_playbook": "recovery",
    },
    "playbooks": {"cooldown_days": 30, "rules": []},
    # Signed checkpoints of the audit trail's head, kept outside the database (engine/_anchors.py).
    "audit": {"anchor_key": "", "anchor_key_file": "", "anchor_file": "", "anchor_interval_seconds": 3600},
    "web": {
        "host": "127.0.0.1",
        "port": 8000,
        "workers": 2,
        "secret_key": "",
        "cookie_secure": True,
        "login_max_failures": 5,
        "login_window_minutes": 15,
        "metrics_token": "",
        "proxy_hops": 0,
    },
}

ENV_PREFIX = "JORNADA_"
# Variables of the same prefix that are not configuration keys: the config file path, and the test suite's and
# scripts/postgres.sh's own settings (by prefix) ...
NOT_CONFIG = ("JORNADA_CONFIG", "JORNADA_TEST_", "JORNADA_PG_")
# ... and the commands' own inputs (exact names), documented in the README next to their command.
COMMAND_INPUTS = frozenset({"JORNADA_NEW_PASSWORD"})  # `jornada users add`: the new user's password


class ConfigError(ValueError):
    """A configuration value is missing, unknown or of the wrong type."""


def _coerce(key: str, default: Any, value: Any) -> Any:
    """Convert ``value`` to the type of ``default``; raise ConfigError naming ``key`` if it cannot be."""
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {"1", "true", "yes", "on", "0", "false", "no", "off"}:
            return value.lower() in {"1", "true", "yes", "on"}
    elif isinstance(default, int | float):
        try:
            number = type(default)(value)
        except (TypeError, ValueError):
            pass
        else:
            if number >= 0:
                return number
    elif isinstance(default, list):
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list):
            return value
    elif isinstance(value, str):
        return value
    raise ConfigError(f"config key {key!r}: {value!r} is not a valid {type(default).__name__}")


def _merge(base: dict[str, Any], overrides: Mapping[str, Any], prefix: str = "") -> None:
    for key, value in overrides.items():
        full = f"{prefix}{key}"
        if key not in base:
            raise ConfigError(f"unknown config key {full!r}")
        if isinstance(base[key], dict):
            if not isinstance(value, Mapping):
                raise ConfigError(f"config key {full!r} must be a table")
            _merge(base[key], value, f"{full}.")
        else:
            base[key] = _coerce(full, base[key], value)


def _from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    """JORNADA_SANDBOX_BUDGET_SECONDS -> {"sandbox": {"budget_seconds": ...}}."""
    found: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or name.startswith(NOT_CONFIG) or name in COMMAND_INPUTS:
            continue
        key = name[len(ENV_PREFIX) :].lower()
        if key in DEFAULTS and not isinstance(DEFAULTS[key], dict):
            found[key] = value
            continue
        for section, table in DEFAULTS.items():
            if isinstance(table, dict) and key.startswith(section + "_") and key[len(section) + 1 :] in table:
                found.setdefault(section, {})[key[len(section) + 1 :]] = value
                break
        else:
            raise ConfigError(f"unknown environment variable {name}")
    return found


def load_config(
    overrides: Mapping[str, Any] | None = None,
    path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Build the effective configuration. ``path`` defaults to $JORNADA_CONFIG or ./config.toml if present."""
    environ = os.environ if environ is None else environ
    config = deepcopy(DEFAULTS)
    file = Path(path or environ.get("JORNADA_CONFIG", "config.toml"))
    if file.exists():
        try:
            with file.open("rb") as handle:
                _merge(config, tomllib.load(handle))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file}: {exc}") from exc
    elif path is not None:
        raise ConfigError(f"config file {file} does not exist")
    _merge(config, _from_env(environ))
    if overrides:
        _merge(config, overrides)
    if config["mail"]["transport"] not in {"log", "smtp"}:
        raise ConfigError(f"config key 'mail.transport': {config['mail']['transport']!r} is not log or smtp")
    return config
