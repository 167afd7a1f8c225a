"""Structured log lines: one per web request (web/ops.py) and one per scheduler job (``timed`` below), as logfmt
(``key=value``) or JSON lines, chosen by ``[logging] format``.

A structured record carries its fields in ``record.fields`` (pass ``extra={"fields": {...}}``); the formatter
writes them after the time, level, logger and message. Only what the caller puts there is written: callers keep
secrets and personal data out (no query strings, no form values, no user names).
"""

from __future__ import annotations

import json
import logging
import math
import sys
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from engine._config import ConfigError

FORMATS = ("logfmt", "json")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
JOB_LOGGER = "jornada.scheduler.job"
CHATTY = ("apscheduler", "alembic.runtime.migration")
_MARK = "_jornada_structured"  # set on the handler ``configure`` installs, so a second call replaces it

T = TypeVar("T")
log = logging.getLogger(JOB_LOGGER)


def fields_of(record: logging.LogRecord) -> dict[str, Any]:
    fields = getattr(record, "fields", None)
    return dict(fields) if isinstance(fields, Mapping) else {}


def _base(record: logging.LogRecord) -> dict[str, Any]:
    return {
        "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "level": record.levelname.lower(),
        "logger": record.name,
        "msg": record.getMessage(),
    }


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ts, level, logger, msg, the record's fields, and the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        line = {**_base(record), **fields_of(record)}
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def _logfmt_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.1f}" if math.isfinite(value) else str(value)
    text = str(value)
    if text and not any(c in text for c in ' ="\\') and text.isprintable():
        return text
    return json.dumps(text, ensure_ascii=False)


class LogfmtFormatter(logging.Formatter):
    """``ts=… level=info logger=… msg=… key=value …``; values with spaces, quotes or ``=`` are JSON-quoted."""

    def format(self, record: logging.LogRecord) -> str:
        line = {**_base(record), **fields_of(record)}
        text = " ".join(f"{key}={_logfmt_value(value)}" for key, value in line.items())
        if record.exc_info:
            text += " exc=" + json.dumps(self.formatException(record.exc_info))
        return text


def formatter(config: Mapping[str, Any]) -> logging.Formatter:
    settings = config["logging"]
    if settings["format"] not in FORMATS:
        raise ConfigError(f"config key 'logging.format': {settings['format']!r} is not one of {', '.join(FORMATS)}")
    return JsonFormatter() if settings["format"] == "json" else LogfmtFormatter()


def configure(config: Mapping[str, Any]) -> None:
    """Send every log record (the root logger's) to stderr through the configured formatter and level, replacing
    a handler an earlier call installed. ``jornada serve`` calls it in each worker, ``jornada scheduler`` once."""
    level = str(config["logging"]["level"]).upper()
    if level not in LEVELS:
        raise ConfigError(f"config key 'logging.level': {level!r} is not one of {', '.join(LEVELS)}")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(config))
    setattr(handler, _MARK, True)
    root = logging.getLogger()
    # ours from an earlier call, and the plain stderr handler logging.basicConfig (the CLI's) installed
    for old in [h for h in root.handlers if getattr(h, _MARK, False) or type(h) is logging.StreamHandler]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for chatty in CHATTY:  # a line per APScheduler run and per /healthz migration check: ours say it once
        logging.getLogger(chatty).setLevel(max(logging.WARNING, logging.getLevelName(level)))


def items_of(result: Any) -> int | None:
    """How many units of work a job's result counts: an int, the length of a list, else unknown (None)."""
    if isinstance(result, bool):
        return None
    if isinstance(result, int):
        return result
    if isinstance(result, list | tuple | set | dict):
        return len(result)
    return None


def timed(name: str, job: Callable[[], T], observe: Callable[[str, str, float], None] | None = None) -> T:
    """Run one scheduler job and log one line for it: job, items, ms, outcome (ok | error); an error is re-raised
    after its line. ``observe(job, outcome, seconds)`` also gets the duration (the metrics histogram)."""
    start = time.perf_counter()
    outcome, result = "error", None
    try:
        result = job()
        outcome = "ok"
        return result
    finally:
        seconds = time.perf_counter() - start
        fields: dict[str, Any] = {"job": name, "items": items_of(result), "ms": round(seconds * 1000, 1)}
        fields["outcome"] = outcome
        if isinstance(result, str):
            fields["summary"] = result  # a plugin job's one-line summary (counts, no personal data)
        log.info("job", extra={"fields": fields})
        if observe is not None:
            observe(name, outcome, seconds)
