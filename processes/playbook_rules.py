"""The playbook rules of ``config.toml`` (``[[playbooks.rules]]``): read and checked once per configuration, with
errors that name the rule's index and key. The format is documented in docs/playbooks.md and config.toml."""

from __future__ import annotations

import copy
import difflib
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine import ConfigError

EVENT_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")
PROCESS_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,199}$")
THRESHOLDS = ("no_usage_days", "renewal_within_days")  # need days = N; checked by the scheduler
SURVEYS = ("detractor", "promoter")  # NPS 0-6 / 9-10, applied by the surveys module
WHENS = THRESHOLDS + SURVEYS
KEYS = ("name", "process", "on_event", "when", "days", "cooldown_days")


@dataclass(frozen=True)
class Rule:
    name: str
    process: str
    on_event: str | None = None
    when: str | None = None
    days: int | None = None
    cooldown_days: int | None = None  # None: playbooks.cooldown_days


def _fail(index: int, message: str) -> ConfigError:
    return ConfigError(f"config playbooks.rules[{index}]: {message}")


def _count(index: int, raw: Mapping[str, Any], key: str, *, low: int) -> int | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise _fail(index, f"{key} must be a whole number of at least {low}, not {value!r}")
    return value


def _text(index: int, raw: Mapping[str, Any], key: str, pattern: re.Pattern[str]) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not pattern.match(value):
        raise _fail(index, f"{key} {value!r} is not a valid name")
    return value


def parse_rule(index: int, raw: Any) -> Rule:
    if not isinstance(raw, Mapping):
        raise _fail(index, f"must be a table, not {type(raw).__name__}")
    for key in raw:
        if key not in KEYS:
            near = difflib.get_close_matches(str(key), KEYS, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise _fail(index, f"unknown key {key!r}{hint}; known keys: {', '.join(KEYS)}")
    for key in ("name", "process"):
        if key not in raw:
            raise _fail(index, f"missing key {key!r}")
    name = _text(index, raw, "name", EVENT_NAME)
    process = _text(index, raw, "process", PROCESS_ID)
    on_event = _text(index, raw, "on_event", EVENT_NAME)
    when = raw.get("when")
    if (on_event is None) == (when is None):
        raise _fail(index, "give exactly one of on_event (an event name) or when (" + " | ".join(WHENS) + ")")
    if when is not None and when not in WHENS:
        raise _fail(index, f"when {when!r} is not one of {', '.join(WHENS)}")
    days = _count(index, raw, "days", low=1)
    if when in THRESHOLDS and days is None:
        raise _fail(index, f"when = {when!r} needs days = N")
    if when not in THRESHOLDS and days is not None:
        raise _fail(index, "days applies only to when = " + " | ".join(THRESHOLDS))
    cooldown = _count(index, raw, "cooldown_days", low=0)
    assert name is not None and process is not None
    return Rule(name, process, on_event, when, days, cooldown)


def parse_rules(raw: Any) -> list[Rule]:
    if not isinstance(raw, list):
        raise ConfigError(f"config playbooks.rules: must be a list of tables, not {type(raw).__name__}")
    parsed = [parse_rule(index, item) for index, item in enumerate(raw)]
    seen: dict[str, int] = {}
    for index, rule in enumerate(parsed):
        if rule.name in seen:
            raise _fail(index, f"name {rule.name!r} is already used by rules[{seen[rule.name]}]")
        seen[rule.name] = index
    return parsed


_cache: tuple[object, list[Rule]] | None = None
_lock = threading.Lock()


def rules(config: Mapping[str, Any]) -> list[Rule]:
    """The checked rules of ``config`` (parsed again only when they change). Raises ConfigError naming the bad rule."""
    global _cache
    raw = config["playbooks"]["rules"]
    cached = _cache
    if cached is not None and cached[0] == raw:
        return cached[1]
    parsed = parse_rules(raw)
    with _lock:
        _cache = (copy.deepcopy(raw), parsed)
    return parsed
