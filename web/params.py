"""Whole numbers from URLs, query strings and forms, kept within what the database's integers hold.

Every id column is an ``INTEGER``: 32 bits on PostgreSQL, 64 on SQLite. A number past what the column holds is
``NumericValueOutOfRange`` on PostgreSQL and, past 64 bits, ``OverflowError`` on SQLite, so no such id can exist:
``BoundedInt`` replaces Flask's ``int`` URL converter for every route, and ``/tasks/99999999999999999999`` simply
matches no route (404). ``whole_number``, ``int_param`` and ``id_list`` read query and form values (400 naming
the parameter)."""

from __future__ import annotations

import builtins
import re
from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter, Map, ValidationError

MAX_ID = 2**31 - 1  # PostgreSQL INTEGER, the type of every id column (SQLite's holds 2**63 - 1)
MAX_PAGE = 10**9  # the OFFSET, page × page size, stays far below 2**63 (OFFSET takes a BIGINT)
_DIGITS = re.compile(r"[0-9]{1,19}")  # ASCII digits only: str.isdigit() also accepts "²", which int() refuses


class BoundedInt(IntegerConverter):
    """Flask's ``int`` converter, limited to 1..MAX_ID unless a rule says otherwise (``<int(min=0):n>``)."""

    regex = r"[0-9]+"

    def __init__(self, map: Map, fixed_digits: int = 0, min: int | None = 1, max: int | None = MAX_ID) -> None:
        super().__init__(
            map, fixed_digits=fixed_digits, min=min, max=MAX_ID if max is None else builtins.min(max, MAX_ID)
        )

    def to_python(self, value: str) -> Any:
        if len(value) > 19:  # more digits than any id: no match, without converting thousands of digits
            raise ValidationError()
        return super().to_python(value)


class InvalidParameter(BadRequest):
    """400 naming the parameter; the app's error handler shows ``description`` (and ``fields`` as JSON)."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(description=f"{name}: {message}")
        self.fields = {name: message}


def whole_number(text: str | None, *, low: int = 1, high: int = MAX_ID) -> int | None:
    """``text`` as a whole number in low..high (surrounding spaces allowed), or None."""
    cleaned = (text or "").strip()
    if not _DIGITS.fullmatch(cleaned):
        return None
    number = int(cleaned)
    return number if low <= number <= high else None


def int_param(args: Mapping[str, str], name: str, *, default: int, low: int = 1, high: int = MAX_ID) -> int:
    """The parameter ``name`` of a query string or form as a whole number in low..high; ``default`` when absent
    or blank; ``InvalidParameter`` (400) otherwise."""
    text = (args.get(name) or "").strip()
    if not text:
        return default
    number = whole_number(text, low=low, high=high)
    if number is None:
        raise InvalidParameter(
            name, _("“%(value)s” is not a whole number from %(low)d to %(high)d.", value=text[:40], low=low, high=high)
        )
    return number


def id_list(form: MultiDict[str, str], name: str) -> list[int]:
    """Every value of ``name`` as an id (1..MAX_ID), in order; ``InvalidParameter`` (400) if one is not."""
    ids = []
    for text in form.getlist(name):
        number = whole_number(text)
        if number is None:
            raise InvalidParameter(name, _("“%(value)s” is not an id.", value=text[:40]))
        ids.append(number)
    return ids
