"""A small driver for the shipped processes: deploy every model, create a customer, work the open human task
named by its element id, move the frozen clock and fire due timers. Every call goes through the facade, so the
instance is saved and reloaded from the database between steps."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any

from lxml import etree
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine import OPEN_TASK_STATES, FrozenClock, Runtime
from engine._outbox import LogTransport
from engine.models import AuditEvent, HumanTask, ProcessInstance
from processes.customers import Customer, Invoice, create_customer
from tests.helpers import BPMN_DIR

CUSTOMER = "C-1"
EMAIL = "cs@acme.example"

# A valid submission for every form of the shipped models; tests override the fields a branch depends on.
FORMS: dict[str, dict[str, Any]] = {
    "confirm_contract_signed": {
        "contract_reference": "CT-2026-001",
        "contract_signed_on": "2026-01-02",
        "plan": "growth",
        "seats": 25,
    },
    "configure_account": {
        "tenant_id": "acme",
        "admin_email": "admin@acme.example",
        "sso_enabled": True,
        "account_tested": True,
    },
    "confirm_credentials_received": {"credentials_received": True, "licences_activated": 25},
    "hold_kickoff_meeting": {"kickoff_date": "2026-01-05", "attendees": 4, "goals_summary": "Weekly churn report"},
    "nudge_inactive_customer": {"contact_channel": "phone", "contacted_on": "2026-01-20", "blocker": "No data yet"},
    "schedule_training_session": {"session_date": "2026-01-08", "session_topic": "basics", "participants": 6},
    "hold_training_session": {"attended": True, "attendee_count": 5},
    "record_training_completion": {"training_completed": True},
    "agree_success_goals": {
        "success_goals": "First churn report",
        "success_metric": "Report used weekly",
        "target_date": "2026-02-01",
    },
    "confirm_first_win": {"first_win_date": "2026-01-20", "value_description": "Churn report shared with the board"},
    "escalate_missing_first_win": {"root_cause": "adoption", "action_plan": "Pairing", "continue_pursuit": True},
    "triage_ticket": {"severity": "high", "category": "bug"},
    "first_response": {"response_summary": "Workaround sent", "resolved_first_contact": True},
    "escalate_first_response": {
        "response_summary": "Lead answered",
        "resolved_first_contact": True,
        "escalation_reason": "staffing",
    },
    "investigate_issue": {"root_cause": "Timeout in the export job", "needs_engineering": True},
    "resolve_ticket": {"resolution_summary": "Export job fixed", "resolution_category": "fixed"},
    "follow_up_low_csat": {"follow_up_done": True, "follow_up_notes": "Apologised and offered a credit"},
    "enrol_in_certification": {
        "certification_track": "analyst",
        "participant_name": "Rita Lopes",
        "participant_email": "rita@acme.example",
    },
    "complete_module_1": {"module_1_completed_on": "2026-01-10", "module_1_score": 85},
    "complete_module_2": {"module_2_completed_on": "2026-01-15", "module_2_score": 78},
    "record_exam_result": {"exam_date": "2026-01-20", "exam_score": 82, "exam_result": "pass"},
    "schedule_exam_retake": {"retake_date": "2026-02-03", "coaching_notes": "Revise the reporting module"},
    "qualify_opportunity": {"qualified": True, "estimated_new_mrr": 1500},
    "prepare_proposal": {
        "proposed_plan": "enterprise",
        "proposed_seats": 60,
        "new_mrr": 1500,
        "proposal_sent_on": "2026-01-06",
    },
    "negotiate_expansion": {"outcome": "won", "new_mrr": 1500},
    "ask_for_referral": {"agreed": True},
    "record_referral": {
        "referred_company": "Globex",
        "referred_contact_name": "Hank Scorpio",
        "referred_contact_email": "hank@globex.example",
    },
    "track_referral_outcome": {
        "referral_outcome": "became_customer",
        "outcome_date": "2026-03-01",
        "referral_mrr": 900,
    },
    "contact_customer_about_balance": {"outcome": "paid", "amount_collected": 450},
    "escalate_overdue_balance": {"outcome": "write_off", "escalation_notes": "Customer is insolvent"},
    "revocation_checklist": {
        "revoke_sso": True,
        "revoke_api_keys": True,
        "revoke_admin_accounts": True,
        "revoke_integrations": True,
    },
    "confirm_access_revoked": {"all_access_revoked": True},
    "deliver_export": {"delivery_channel": "secure_link", "delivered": True, "delivered_on": "2026-02-01"},
    "confirm_deletion_agreement": {
        "agreement_reference": "DEL-2026-007",
        "retention_days": 0,
        "purge_scope": "all_records",
    },
}


@cache
def end_events() -> frozenset[str]:
    """The ids of every end event in the shipped models."""
    ids: set[str] = set()
    for path in BPMN_DIR.glob("*.bpmn"):
        root = etree.fromstring(path.read_bytes())
        ids.update(
            root.xpath("//bpmn:endEvent/@id", namespaces={"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"})
        )
    return frozenset(ids)


@dataclass
class Driver:
    runtime: Runtime
    clock: FrozenClock
    mail: LogTransport

    # -- setup -------------------------------------------------------------------------------------------
    def deploy_all(self) -> None:
        files = {path.name: path.read_bytes() for path in sorted(BPMN_DIR.glob("*.bpmn"))}
        self.runtime.deploy(files, actor="designer")

    def create_customer(
        self, customer_id: str = CUSTOMER, *, email: str | None = EMAIL, mrr: float = 0.0, csm: str | None = "ana"
    ) -> str:
        with self.runtime.unit() as u:
            create_customer(u.session, customer_id, "Acme", now=u.now, email=email, mrr=mrr, csm_owner=csm)
        return customer_id

    def add_invoice(self, amount: float, *, due_in_days: int, paid: bool = False, customer_id: str = CUSTOMER) -> None:
        with self.runtime.unit() as u:
            due = u.now + timedelta(days=due_in_days)
            u.session.add(Invoice(customer_id=customer_id, amount=amount, due_at=due, paid_at=u.now if paid else None))

    def start(self, process_id: str, data: dict[str, Any] | None = None, *, customer_id: str = CUSTOMER) -> str:
        return self.runtime.start(process_id, actor="starter", customer_id=customer_id, data=data)

    # -- human tasks -------------------------------------------------------------------------------------
    def open_tasks(self, instance_id: str | None = None) -> list[HumanTask]:
        query = select(HumanTask).where(HumanTask.state.in_(OPEN_TASK_STATES)).order_by(HumanTask.id)
        if instance_id is not None:
            query = query.where(HumanTask.instance_id == instance_id)
        with self.runtime.store.session() as s:
            return list(s.execute(query).scalars())

    def open_elements(self, instance_id: str | None = None) -> list[str]:
        return sorted(t.element_id for t in self.open_tasks(instance_id))

    def task(self, element_id: str, instance_id: str | None = None) -> HumanTask:
        found = [t for t in self.open_tasks(instance_id) if t.element_id == element_id]
        assert len(found) == 1, f"expected one open {element_id}, open: {self.open_elements(instance_id)}"
        return found[0]

    def complete(self, element_id: str, instance_id: str | None = None, *, actor: str = "staff", **data: Any) -> str:
        """Complete the open task ``element_id`` with its FORMS entry updated by ``data``; returns the status."""
        submitted = {**FORMS.get(element_id, {}), **data}
        return self.runtime.complete(self.task(element_id, instance_id).id, actor=actor, data=submitted)

    def task_data(self, element_id: str, instance_id: str | None = None) -> dict[str, Any]:
        """The data staff see on the open task."""
        return self.runtime.task_view(self.task(element_id, instance_id).id).data

    # -- time and messages -------------------------------------------------------------------------------
    def advance(self, *, days: float = 0, hours: float = 0, minutes: float = 0) -> int:
        """Move the clock and fire every timer now due; returns the number of instances advanced."""
        self.clock.advance(timedelta(days=days, hours=hours, minutes=minutes))
        return self.runtime.fire_due_timers()

    def message(self, name: str, payload: dict[str, Any] | None = None, *, customer_id: str = CUSTOMER) -> list[str]:
        return self.runtime.send_message(name, payload or {}, actor="events-api", customer_id=customer_id)

    # -- what a user sees --------------------------------------------------------------------------------
    def instance(self, instance_id: str) -> ProcessInstance:
        with self.runtime.store.session() as s:
            found = s.get(ProcessInstance, instance_id)
            assert found is not None
            return found

    def status(self, instance_id: str) -> str:
        return self.instance(instance_id).status

    def customer(self, customer_id: str = CUSTOMER) -> Customer:
        with self.runtime.store.session() as s:
            found = s.get(Customer, customer_id)
            assert found is not None
            return found

    def audit(self, instance_id: str | None = None, action: str | None = None) -> list[AuditEvent]:
        query = select(AuditEvent).order_by(AuditEvent.seq)
        if instance_id is not None:
            query = query.where(AuditEvent.instance_id == instance_id)
        if action is not None:
            query = query.where(AuditEvent.action == action)
        with self.runtime.store.session() as s:
            return list(s.execute(query).scalars())

    def actions(self, instance_id: str) -> list[str]:
        return [e.action for e in self.audit(instance_id)]

    def final_data(self, instance_id: str) -> dict[str, Any]:
        """The data an instance ended with, as its ``instance_completed`` audit event records it."""
        [event] = self.audit(instance_id, "instance_completed")
        data: dict[str, Any] = json.loads(event.payload)["data"]
        return data

    def ended(self, instance_id: str) -> list[str]:
        """The end events the instance (and the processes it called) reached, sorted (one entry per time)."""
        state = json.loads(self.instance(instance_id).state_json)
        reached = []
        for workflow in [state, *state.get("subprocesses", {}).values()]:
            for task in workflow["tasks"].values():
                if task["state"] == TaskState.COMPLETED and task["task_spec"] in end_events():
                    reached.append(task["task_spec"])
        return sorted(reached)

    def mails(self) -> list[tuple[str, str]]:
        """(recipient, subject) of every mail sent through the outbox, in order."""
        return [(recipient, subject) for recipient, subject, _ in self.mail.sent]


TICKET = {"subject": "Report export fails", "severity": "high", "channel": "email"}
