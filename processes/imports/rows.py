"""One pydantic model per kind of import file: a row's text fields in, typed values out, and every bad field named
with a message code (``RowError.code``) that the web page translates. The checks that need more than the row (the
customer exists, a survey score fits its kind's scale, duplicates) are in ``processes.imports.checks``."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, TypeAdapter, ValidationError
from pydantic_core import PydanticCustomError

from processes.customers import SEGMENTS, STAGES
from processes.surveys import KINDS as SURVEY_KINDS

# The English text of every message code (a row error's ``code``); {names} are its params.
MESSAGES: dict[str, str] = {
    "empty_file": "the file is empty: the first row must name the columns ({expected})",
    "not_utf8": "the file is not UTF-8 text: byte {byte} at byte offset {offset} (save it as CSV UTF-8)",
    "nul_character": "the file holds a NUL character at byte offset {offset}",
    "not_csv": "the row cannot be read as CSV: {reason}",
    "missing_column": "the column {column} is missing from the header (expected: {expected})",
    "unknown_column": "the column {column} is not one of {expected}",
    "duplicate_column": "the column {column} appears more than once in the header",
    "missing_value": "the row has {found} values, {expected} columns expected",
    "extra_value": "the row has {found} values, only {expected} columns expected",
    "no_rows": "the file has a header but no rows",
    "required": "a value is required",
    "too_long": "{length} characters, at most {max} allowed",
    "not_a_date": "'{value}' is not a date (YYYY-MM-DD)",
    "not_an_instant": "'{value}' is not a date (YYYY-MM-DD) or a date and time (YYYY-MM-DDTHH:MM[:SS][+HH:MM])",
    "in_future": "{value} is in the future",
    "not_a_number": "'{value}' is not a number (digits with a decimal point, e.g. 1250.50)",
    "negative": "{value} is negative",
    "not_a_whole_number": "'{value}' is not a whole number",
    "out_of_scale": "{value} is outside the {kind} scale ({low} to {high})",
    "not_one_of": "'{value}' is not one of {choices}",
    "not_an_email": "'{value}' is not an email address",
    "not_json_object": '\'{value}\' is not a JSON object (e.g. {"plan": "pro"})',
    "unknown_customer": "no customer has the id '{value}'",
    "purged_customer": "the customer '{value}' has been purged",
    "duplicate_id": "the id '{value}' is already on row {row}",
    "duplicate_movement": "customer '{value}' already has a movement at this time on row {row}",
    "file_changed": "the file changed while it was being imported: import it again",
    "renewal_before_start": "the renewal date {value} is before the contract start {start}",
}
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def fail(code: str, **params: Any) -> PydanticCustomError:
    return PydanticCustomError(code, MESSAGES[code], params)


def _stripped(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def text(max_length: int, *, required: bool = True) -> Callable[[str], str]:
    def check(value: str) -> str:
        if required and not value:
            raise fail("required")
        if len(value) > max_length:
            raise fail("too_long", length=len(value), max=max_length)
        return value

    return check


def one_of(choices: tuple[str, ...]) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not value:
            raise fail("required")
        if value not in choices:
            raise fail("not_one_of", value=value, choices=", ".join(choices))
        return value

    return check


def optional_text(max_length: int) -> Callable[[str], str | None]:
    check = text(max_length, required=False)
    return lambda value: check(value) or None


def email(value: str) -> str | None:
    if not value:
        return None
    if len(value) > 200 or not EMAIL.match(value):
        raise fail("not_an_email", value=value)
    return value


def iso_date(value: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise fail("not_a_date", value=value) from None


def instant(value: str) -> datetime:
    """An ISO date (midnight UTC) or date and time (UTC when it carries no offset), as an aware UTC datetime."""
    if not value:
        raise fail("required")
    try:
        if len(value) <= 10:
            return datetime.combine(date.fromisoformat(value), time(), UTC)
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise fail("not_an_instant", value=value) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def amount(*, required: bool) -> Callable[[str], float]:
    """A non-negative decimal number (blank is 0 unless required)."""

    def check(value: str) -> float:
        if not value:
            if required:
                raise fail("required")
            return 0.0
        try:
            number = float(value)
        except ValueError:
            raise fail("not_a_number", value=value) from None
        if "_" in value or not math.isfinite(number):
            raise fail("not_a_number", value=value)
        if number < 0:
            raise fail("negative", value=value)
        return number

    return check


def whole_number(value: str) -> int:
    if not value:
        raise fail("required")
    if not re.fullmatch(r"[+-]?\d+", value):
        raise fail("not_a_whole_number", value=value)
    return int(value)


def json_object(value: str) -> dict[str, Any]:
    if not value:
        return {}
    try:
        found = json.loads(value)
    except ValueError:
        found = None
    if not isinstance(found, dict):
        raise fail("not_json_object", value=value if len(value) <= 60 else value[:57] + "...")
    return found


def convert(check: Callable[[str], Any]) -> BeforeValidator:
    """The field's text, stripped, made its value by ``check`` (which raises a coded error)."""
    return BeforeValidator(lambda value: check(_stripped(value)))


CustomerId = Annotated[str, convert(text(64))]
Instant = Annotated[datetime, convert(instant)]


class Row(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CustomerRow(Row):
    id: CustomerId
    name: Annotated[str, convert(text(200))]
    email: Annotated[str | None, convert(email)]
    segment: Annotated[str, convert(one_of(SEGMENTS))]
    plan: Annotated[str, convert(text(50, required=False))]
    mrr: Annotated[float, convert(amount(required=False))]
    csm_owner: Annotated[str | None, convert(optional_text(100))]
    contract_start: Annotated[date | None, convert(iso_date)]
    renewal_date: Annotated[date | None, convert(iso_date)]
    stage: Annotated[str, convert(one_of(STAGES))]


class MrrRow(Row):
    customer_id: CustomerId
    at: Instant
    new_mrr: Annotated[float, convert(amount(required=True))]


class SurveyRow(Row):
    customer_id: CustomerId
    kind: Annotated[str, convert(one_of(SURVEY_KINDS))]
    score: Annotated[int, convert(whole_number)]
    at: Instant
    comment: Annotated[str, convert(str)]


class EventRow(Row):
    customer_id: CustomerId
    name: Annotated[str, convert(text(100))]
    at: Instant
    properties: Annotated[dict[str, Any], convert(json_object)]


MODELS: dict[str, type[Row]] = {"customers": CustomerRow, "mrr": MrrRow, "surveys": SurveyRow, "events": EventRow}
COLUMNS: dict[str, tuple[str, ...]] = {kind: tuple(model.model_fields) for kind, model in MODELS.items()}


def _adapters(model: type[Row]) -> dict[str, TypeAdapter[Any]]:
    fields = model.model_fields.items()
    return {name: TypeAdapter(Annotated[(f.annotation, *f.metadata)]) for name, f in fields}  # type: ignore[arg-type]


# Each field on its own: a bad row's good fields still take part in the checks across rows (duplicates, customers).
ADAPTERS = {kind: _adapters(model) for kind, model in MODELS.items()}
Problem = tuple[str, str, dict[str, Any], str]  # column, code, params, English message


def parse(kind: str, values: dict[str, str]) -> tuple[Row | None, dict[str, Any], list[Problem]]:
    """The row as its model and its fields' values; or None, the values of its good fields, and its errors."""
    try:
        row = MODELS[kind].model_validate(values)
        return row, row.__dict__, []
    except ValidationError as exc:
        problems = [
            (str(e["loc"][0]) if e["loc"] else "", e["type"], dict(e.get("ctx") or {}), e["msg"])
            for e in exc.errors(include_url=False, include_input=False)
        ]
    bad = {column for column, *_ in problems}
    good = {name: check.validate_python(values[name]) for name, check in ADAPTERS[kind].items() if name not in bad}
    return None, good, problems
