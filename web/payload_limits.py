"""What a request may carry, checked before any view runs: text without NUL characters or lone surrogates (in
the path, the query string, form fields and JSON bodies), and JSON bodies within ``engine.REQUEST_LIMITS``
(nesting depth, text length, number of values). The body's size is bounded by ``MAX_CONTENT_LENGTH`` (413).

A refusal is ``PayloadRefused``: 400 naming the field, answered by the app's HTTP error handler (JSON under /api/,
the error page elsewhere), before anything is read from or written to the database."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from typing import Any

from flask import g, has_request_context, request
from flask_babel import gettext as _
from werkzeug.exceptions import BadRequest

from engine import REQUEST_LIMITS, DataProblem, Limits, problem_in, text_problem

_PARSED = "jornada_checked_json"


class PayloadRefused(BadRequest):
    def __init__(self, field: str, problem: DataProblem) -> None:
        message = describe(problem)
        super().__init__(description=f"{field}: {message}")
        self.fields = {field: message}


def describe(problem: DataProblem) -> str:
    """The problem in the request's language."""
    number, char = problem.number, problem.char
    return {
        "nul": _(
            "contains a NUL character (%(char)s) at position %(num)d, which text may not hold", char=char, num=number
        ),
        "surrogate": _(
            "contains a lone surrogate (%(char)s) at position %(num)d, which is not valid Unicode text",
            char=char,
            num=number,
        ),
        "depth": _("is nested deeper than %(num)d levels", num=number),
        "text": _("is longer than %(num)d characters", num=number),
        "key": _("has a key longer than %(num)d characters", num=number),
        "values": _("holds more than %(num)d values", num=number),
    }[problem.code]


def loads(raw: bytes | str, limits: Limits = REQUEST_LIMITS) -> Any:
    """``json.loads`` within ``limits``: ``PayloadRefused`` for too deep, too big or unstorable text; a body that
    is not JSON raises ``json.JSONDecodeError`` / ``UnicodeDecodeError`` as ``json.loads`` does."""
    cached = g.get(_PARSED) if _in_request() else None
    if cached is not None and cached[0] is raw:
        return cached[1]
    try:
        value = json.loads(raw)
    except RecursionError:
        raise PayloadRefused("body", DataProblem("", "depth", limits.depth)) from None
    problem = problem_in(value, limits)
    if problem is not None:
        raise PayloadRefused(f"body.{problem.path}" if problem.path else "body", problem)
    if _in_request():
        setattr(g, _PARSED, (raw, value))
    return value


def _in_request() -> bool:
    return has_request_context()


def _check_texts(kind: str, pairs: Iterable[tuple[str, str]]) -> None:
    """Each (name, value): a bad name is refused as "<kind> name", a bad value under its name."""
    for name, value in pairs:
        problem = text_problem(name)
        if problem:
            raise PayloadRefused(f"{kind} name", problem)
        problem = text_problem(value)
        if problem:
            raise PayloadRefused(name, problem)


def check_request() -> None:
    """The app's before-request check of the path, query string, form fields and JSON body."""
    problem = text_problem(request.path)
    if problem:
        raise PayloadRefused("path", problem)
    _check_texts("query parameter", request.args.items(multi=True))
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        if request.mimetype != "multipart/form-data":
            request.get_data(cache=True)  # keep the raw body for views that read it themselves (the API)
        _check_texts("form field", request.form.items(multi=True))
        _check_texts("file field", ((name, f.filename or "") for name, f in request.files.items(multi=True)))
    elif request.is_json:
        raw = request.get_data(cache=True)
        if raw.strip():
            # a body that is not JSON is left to the view, which says so in its own words
            with contextlib.suppress(UnicodeDecodeError, json.JSONDecodeError):
                loads(raw)
