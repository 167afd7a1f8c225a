"""One reader of ISO-8601 durations: what a BPMN timer accepts when it runs is what the deploy lint, the SLA
properties and ``duration()`` in author code accept, and months are calendar months everywhere."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine import DeployError, Runtime
from engine._durations import DurationError, parse_duration
from engine._sandbox import Sandbox, SandboxError
from tests.bpmn_builder import flow, process

NOW = datetime(2026, 1, 31, 9, 0, tzinfo=UTC)
TEXTS = ["P3D", "PT4H", "P1M", "P1Y", "P1W", "PT1.5S", "P1DT2H", "p2d", "P3X", "P1W2D", "PT", "three days", "R3/P1W"]


def spiff_accepts(text: str) -> bool:
    """What a BPMN timer does with the text when it runs (the library raises a bare Exception)."""
    try:
        TimerEventDefinition.parse_iso_duration(text)
    except Exception:
        return False
    return text.upper().startswith("P")


def timer_model(duration: str) -> bytes:
    body = (
        '<bpmn:startEvent id="start"/>\n<bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition>'
        f"<bpmn:timeDuration>{duration!r}</bpmn:timeDuration></bpmn:timerEventDefinition>"
        '</bpmn:intermediateCatchEvent>\n<bpmn:endEvent id="end"/>\n'
    )
    return process("timed", body + flow("f1", "start", "wait") + flow("f2", "wait", "end"))


def test_months_and_years_are_calendar_aware_from_the_start() -> None:
    assert parse_duration("P1M", NOW) == timedelta(days=31)  # January
    assert parse_duration("P1M", datetime(2026, 2, 1, tzinfo=UTC)) == timedelta(days=28)
    assert parse_duration("P1Y", datetime(2028, 1, 1, tzinfo=UTC)) == timedelta(days=366)
    assert parse_duration(" PT90M ", NOW) == timedelta(minutes=90)
    with pytest.raises(DurationError, match=r"^'two days' is not an ISO-8601 duration such as P2D or PT4H$"):
        parse_duration("two days", NOW)


@pytest.mark.parametrize("text", TEXTS)
def test_the_parser_accepts_exactly_what_a_running_timer_accepts(text: str) -> None:
    try:
        parse_duration(text, NOW)
        accepted = True
    except DurationError:
        accepted = False
    assert accepted is spiff_accepts(text)


@pytest.mark.parametrize("text", TEXTS)
def test_the_deploy_lint_accepts_a_timer_duration_exactly_when_the_timer_would_run(runtime: Runtime, text: str) -> None:
    try:
        runtime.deploy({"timed.bpmn": timer_model(text)}, actor="designer")
        accepted = True
    except DeployError as exc:
        [problem] = exc.problems
        assert problem.element_id == "wait"
        assert f"timer timeDuration {text!r} is not a valid ISO-8601 value" in problem.message
        accepted = False
    assert accepted is spiff_accepts(text)


@pytest.mark.parametrize("text", TEXTS)
def test_duration_in_author_code_accepts_exactly_what_a_running_timer_accepts(sandbox: Sandbox, text: str) -> None:
    try:
        sandbox.evaluate(f"duration({text!r})", {}, NOW)
        accepted = True
    except SandboxError as exc:
        assert exc.kind == "runtime"
        assert exc.message.endswith(f"{text!r} is not an ISO-8601 duration such as P2D or PT4H"), exc.message
        accepted = False
    assert accepted is spiff_accepts(text)


def test_a_month_in_author_code_counts_from_now_or_from_the_given_start(sandbox: Sandbox) -> None:
    assert sandbox.evaluate("duration('P1M')", {}, NOW) == timedelta(days=31)
    assert sandbox.evaluate("duration('P1M', renewal)", {"renewal": "2026-02-10"}, NOW) == timedelta(days=28)
