"""Training and quick wins loop for as long as the customer needs: hundreds of rounds in one instance keep it
working (the trainer still finds the next session, the lead the next escalation), its history stays in the task rows
and the audit trail, and its stored state stays the size of a few rounds."""

from __future__ import annotations

from sqlalchemy import func, select

from engine.models import HumanTask
from tests.processes.helpers import Driver

ROUNDS = 200  # past the depth (about 170 weekly rounds) where an uncompacted tree stopped working


def completed(driver: Driver, element_id: str, instance_id: str) -> int:
    with driver.runtime.store.session() as s:
        query = select(func.count()).where(
            HumanTask.instance_id == instance_id, HumanTask.element_id == element_id, HumanTask.state == "completed"
        )
        return int(s.execute(query).scalar_one())


def training_round(driver: Driver, iid: str, *, remind: bool) -> str:
    driver.complete("schedule_training_session", iid)
    driver.advance(days=2, minutes=1 if remind else -1)  # the reminder goes out two days after scheduling
    driver.complete("hold_training_session", iid, attended=False)
    return driver.complete("record_training_completion", iid, training_completed=False)


def test_training_keeps_scheduling_sessions_round_after_round_and_completes_when_the_trainer_says_so(
    driver: Driver,
) -> None:
    iid = driver.start("training")
    for _ in range(10):
        training_round(driver, iid, remind=True)
    size_after_10 = len(driver.instance(iid).state_json)

    for n in range(10, ROUNDS):
        assert training_round(driver, iid, remind=n % 2 == 0) == "running"
        driver.advance(days=3)

    assert driver.open_elements(iid) == ["schedule_training_session"]
    assert len(driver.instance(iid).state_json) <= 1.5 * size_after_10
    assert completed(driver, "record_training_completion", iid) == ROUNDS  # every round's history is kept
    assert len(driver.mails()) == 10 + (ROUNDS - 10) // 2  # one reminder per session held late

    driver.complete("schedule_training_session", iid, session_topic="integrations")
    driver.complete("hold_training_session", iid, attended=True)
    assert driver.complete("record_training_completion", iid, training_completed=True) == "completed"
    assert driver.final_data(iid)["session_topic"] == "integrations"


def test_quick_wins_escalates_every_30_days_for_years_and_still_records_the_first_win(driver: Driver) -> None:
    iid = driver.start("quick_wins")
    driver.complete("agree_success_goals", iid, success_goals="Weekly churn report")
    sizes = []
    for n in range(ROUNDS):
        driver.advance(days=30, minutes=1)
        assert driver.open_elements(iid) == ["escalate_missing_first_win"]
        cause = "product_gap" if n == ROUNDS - 1 else "adoption"
        assert driver.complete("escalate_missing_first_win", iid, continue_pursuit=True, root_cause=cause) == "running"
        sizes.append(len(driver.instance(iid).state_json))

    assert driver.status(iid) == "running" and driver.open_elements(iid) == ["confirm_first_win"]
    assert sizes[-1] <= 1.5 * sizes[9]
    assert completed(driver, "escalate_missing_first_win", iid) == ROUNDS
    assert driver.task_data("confirm_first_win", iid)["success_goals"] == "Weekly churn report"  # agreed on day one

    assert driver.complete("confirm_first_win", iid) == "completed"
    assert driver.final_data(iid)["root_cause"] == "product_gap"
