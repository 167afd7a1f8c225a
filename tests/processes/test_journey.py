"""The customer journey end to end: every phase is a call activity of one instance, driven through the facade."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from engine import MessageNotDelivered
from engine import _audit as audit
from tests.processes.helpers import CUSTOMER, EMAIL, Driver

ADMIN = "admin@acme.example"


def sign_up(driver: Driver, journey: str) -> None:
    driver.complete("confirm_contract_signed", journey)
    driver.complete("configure_account", journey, admin_email=ADMIN)
    driver.complete("confirm_credentials_received", journey, credentials_received=True)


def onboard(driver: Driver, journey: str) -> None:
    """Sign-up, welcome (with a first use) and training, up to the open quick-wins goals."""
    sign_up(driver, journey)
    assert driver.open_elements(journey) == ["hold_kickoff_meeting", "schedule_training_session"]
    driver.complete("hold_kickoff_meeting", journey)
    driver.message("first_use", {"feature": "reports"})
    driver.complete("schedule_training_session", journey)
    driver.advance(days=1, minutes=1)  # day-1 welcome mail
    driver.complete("hold_training_session", journey)
    driver.complete("record_training_completion", journey, training_completed=True)
    assert driver.open_elements(journey) == []  # training done, welcome waits for its week-1 mail
    driver.advance(days=7, minutes=1)
    assert driver.open_elements(journey) == ["agree_success_goals"]


def test_a_customer_goes_from_prospect_to_churned_and_leaves_an_export_a_certificate_and_a_verified_audit(
    driver: Driver,
) -> None:
    driver.add_invoice(450.0, due_in_days=-5)
    journey = driver.start("customer_journey")
    stages = [driver.customer().stage]
    assert driver.open_elements(journey) == ["confirm_contract_signed"]

    onboard(driver, journey)
    stages.append(driver.customer().stage)
    driver.complete("agree_success_goals", journey)
    assert driver.complete("confirm_first_win", journey) == "waiting"
    stages.append(driver.customer().stage)

    ticket = driver.start("support", {"subject": "SSO login loops", "severity": "normal", "channel": "chat"})
    driver.complete("triage_ticket", ticket)
    driver.complete("first_response", ticket, resolved_first_contact=True)
    driver.complete("resolve_ticket", ticket)
    assert driver.message("csat_response", {"csat_score": 5}) == [ticket]  # the journey does not catch it
    assert driver.status(ticket) == "completed"

    assert driver.message("offboarding_requested", {"reason": "budget cut"}) == [journey]
    stages.append(driver.customer().stage)
    assert driver.open_elements(journey) == ["contact_customer_about_balance"]
    assert driver.task_data("contact_customer_about_balance", journey)["balance"] == 450.0
    driver.complete("contact_customer_about_balance", journey, outcome="paid")
    assert driver.open_elements(journey) == ["deliver_export", "revocation_checklist"]

    export = Path(driver.task_data("deliver_export", journey)["export_path"])
    driver.complete("revocation_checklist", journey)
    driver.complete("confirm_access_revoked", journey, all_access_revoked=True)
    driver.complete("deliver_export", journey, delivered=True)
    assert driver.open_elements(journey) == ["confirm_deletion_agreement"]
    archive = export.read_bytes()
    assert driver.complete("confirm_deletion_agreement", journey) == "completed"

    # the customer record went through every stage, and ends anonymised
    customer = driver.customer()
    assert [*stages, customer.stage] == ["prospect", "onboarding", "active", "offboarding", "churned"]
    assert (customer.name, customer.email, customer.purged_at) == ("[deleted C-1]", None, driver.clock.now())
    assert driver.ended(journey) == [
        "access_revoked",
        "account_ready",
        "balance_paid",
        "customer_churned",
        "data_deleted",
        "export_delivered",
        "first_value_reached",
        "training_done",
        "welcome_complete",
    ]

    # the export archive held the customer's records as they were before the purge; the purge deleted it
    assert not export.exists()
    assert [json.loads(e.payload) for e in driver.audit(action="export_deleted")] == [
        {"customer": CUSTOMER, "file": export.name}
    ]
    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        assert {"customer.json", "instances.json", "audit.json"} <= set(z.namelist())
        record = json.loads(z.read("customer.json"))
        instances = json.loads(z.read("instances.json"))
        events = json.loads(z.read("audit.json"))
    assert (record["id"], record["name"], record["email"], record["stage"]) == (CUSTOMER, "Acme", EMAIL, "offboarding")
    assert {i["id"]: i["process_id"] for i in instances} == {journey: "customer_journey", ticket: "support"}
    # the instances' events, and the customer's own (health score changes, survey answers) with no instance
    assert {e["instance_id"] for e in events} - {None} == {journey, ticket}
    assert {e["action"] for e in events if e["instance_id"] is None} <= {"health_changed", "health_threshold_crossed"}
    moves = [e["payload"]["after"]["stage"] for e in events if e["action"] == "customer_updated"]
    assert moves == ["onboarding", "active", "offboarding"]
    assert {"instance_started", "task_completed", "message_received"} <= {e["action"] for e in events}

    # deletion: every audit payload of the customer written before the purge is a tombstone; the chain verifies
    [redaction] = driver.audit(action="audit_redacted")
    purged = [e for e in driver.audit() if e.customer_id == CUSTOMER and e.seq < redaction.seq]
    assert len(purged) > 40 and all(e.redacted and '"redacted":true' in e.payload for e in purged)
    assert sorted(json.loads(redaction.payload)["seqs"]) == [e.seq for e in purged]
    assert "SSO login loops" not in driver.instance(ticket).state_json
    assert "budget cut" not in driver.instance(journey).state_json  # the caught message's payload too
    with driver.runtime.store.session() as s:
        assert audit.verify(s).ok

    data = driver.final_data(journey)
    certificate = Path(driver.runtime.config["data_dir"]) / "certificates" / f"{CUSTOMER}-{data['certificate_id']}.txt"
    assert f"Customer: {CUSTOMER}" in certificate.read_text(encoding="utf-8")
    assert data["purged_instances"] == 1
    # the journey's own data is erased down to ids and the agreement: no e-mail, no form values survive
    assert set(data) <= {
        "customer_id",
        "business_key",
        "agreement_reference",
        "retention_days",
        "purged_at",
        "purged_instances",
        "redacted_audit_events",
        "deleted_exports",
        "deleted_contacts",
        "redacted_answers",
        "redacted_events",
        "certificate_id",
        "certificate_mailed",
        "customer_stage",
    }
    assert EMAIL not in driver.instance(journey).state_json and ADMIN not in driver.instance(journey).state_json
    assert not any(EMAIL in e.payload or ADMIN in e.payload for e in driver.audit() if e.customer_id == CUSTOMER)
    assert driver.customer().email is None

    # every mail queued by the journey and the ticket left through the outbox
    assert driver.mails() == [
        (ADMIN, "Your Acme workspace is ready"),
        (EMAIL, "Tips for reports you just tried"),
        (EMAIL, "Welcome aboard, Acme!"),
        (EMAIL, "Your first week with us"),
        (EMAIL, "How did we do on your ticket?"),
        (EMAIL, f"Certificate of deletion {data['certificate_id']}"),
    ]


def test_offboarding_cannot_be_requested_while_the_customer_is_still_onboarding(driver: Driver) -> None:
    journey = driver.start("customer_journey")
    sign_up(driver, journey)
    with pytest.raises(MessageNotDelivered, match="offboarding_requested"):
        driver.message("offboarding_requested", {"reason": "changed their mind"})
    assert driver.customer().stage == "onboarding"
    assert driver.open_elements(journey) == ["hold_kickoff_meeting", "schedule_training_session"]


def test_timers_of_called_processes_fire_inside_the_journey(driver: Driver) -> None:
    driver.add_invoice(120.0, due_in_days=-1)
    journey = driver.start("customer_journey")
    onboard(driver, journey)
    driver.complete("agree_success_goals", journey)

    driver.advance(days=30, minutes=1)  # quick_wins: no first win in 30 days
    assert driver.open_elements(journey) == ["escalate_missing_first_win"]
    driver.complete("escalate_missing_first_win", journey, continue_pursuit=False)
    assert driver.customer().stage == "active"

    driver.message("offboarding_requested")
    driver.advance(days=7, minutes=1)  # collections: first weekly payment reminder
    assert driver.mails()[-1] == (EMAIL, "Reminder: outstanding balance of 120.00")
    assert driver.open_elements(journey) == ["contact_customer_about_balance"]
    driver.advance(days=23)  # unsettled after 30 days
    assert driver.open_elements(journey) == ["escalate_overdue_balance"]
    driver.complete("escalate_overdue_balance", journey, outcome="payment_plan")
    assert driver.open_elements(journey) == ["deliver_export", "revocation_checklist"]
    assert driver.status(journey) == "running"
