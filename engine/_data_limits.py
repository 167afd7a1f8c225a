"""Bounds on data that comes from outside (task data, request bodies): how deep it nests, how long its texts are,
how many values it holds, and text the database cannot keep (lone surrogates, NUL characters).

``problem_in`` walks the value without recursion, so a value nested thousands of levels deep is answered with a
message instead of a ``RecursionError``; the walk stops at the first problem, naming where it is."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# lone surrogates cannot be encoded as UTF-8; PostgreSQL refuses NUL in text and in jsonb
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


@dataclass(frozen=True)
class Limits:
    depth: int = 32  # levels of arrays/objects inside the outermost value
    text: int = 1_000_000  # characters in one string
    key: int = 1_000  # characters in one object key
    values: int = 100_000  # strings, numbers, arrays and objects together


REQUEST = Limits()
TASK_DATA = Limits(depth=32, text=20_000, key=200, values=5_000)


@dataclass(frozen=True)
class DataProblem:
    path: str  # where: "" for the whole value, else e.g. "notes", "items[3].name"
    code: str  # nul | surrogate | depth | text | key | values
    number: int  # the limit passed, or the 1-based position of the bad character
    char: str = ""  # the bad character, escaped (\\u0000, \\ud800)

    @property
    def message(self) -> str:
        return {
            "nul": f"contains a NUL character ({self.char}) at position {self.number}, which text may not hold",
            "surrogate": f"contains a lone surrogate ({self.char}) at position {self.number}, "
            "which is not valid Unicode text",
            "depth": f"is nested deeper than {self.number} levels",
            "text": f"is longer than {self.number} characters",
            "key": f"has a key longer than {self.number} characters",
            "values": f"holds more than {self.number} values",
        }[self.code]

    def __str__(self) -> str:
        return f"{self.path or 'value'}: {self.message}"


def text_problem(text: str, path: str = "") -> DataProblem | None:
    """Why ``text`` cannot be stored (a lone surrogate or a NUL character), or None."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    char = found.group()
    return DataProblem(path, "nul" if char == "\x00" else "surrogate", found.start() + 1, f"\\u{ord(char):04x}")


def _printable(name: str) -> str:
    return name.encode("utf-8", "backslashreplace").decode().replace("\x00", "\\u0000")


def _short(path: str, limit: int = 60) -> str:
    return path if len(path) <= limit else path[:limit] + "…"


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def problem_in(value: Any, limits: Limits = REQUEST, path: str = "") -> DataProblem | None:
    """The first thing wrong with ``value`` (decoded JSON: dicts, lists, strings, numbers, booleans, None)."""
    stack: list[tuple[str, Any, int]] = [(path, value, 0)]
    seen = 0
    while stack:
        where, item, depth = stack.pop()
        seen += 1
        if seen > limits.values:
            return DataProblem(path, "values", limits.values)
        if isinstance(item, str):
            if len(item) > limits.text:
                return DataProblem(where, "text", limits.text)
            problem = text_problem(item, where)
            if problem:
                return problem
        elif isinstance(item, Mapping | list | tuple):
            if depth >= limits.depth:
                return DataProblem(_short(where), "depth", limits.depth)
            if isinstance(item, Mapping):
                for key, child in item.items():
                    name = str(key)
                    if len(name) > limits.key:
                        return DataProblem(where, "key", limits.key)
                    problem = text_problem(name, _join(where, _printable(name)))
                    if problem:
                        return problem
                    stack.append((_join(where, name), child, depth + 1))
            else:
                stack.extend((_join(where, i), child, depth + 1) for i, child in enumerate(item))
    return None
