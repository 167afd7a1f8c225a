"""The engine's vocabulary as people read it: one label table per enum (task states, instance statuses, audit
actions), keyed by the members themselves, so a member added to ``engine`` without a label fails
tests/web/test_enum_labels.py instead of reaching a page as its raw code. Every page and timeline reads its words
here; the customer timeline alone words the three instance events as "process" events (see ``CUSTOMER_WORDING``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from engine import AuditAction, InstanceStatus, TaskState

TASK_STATE_LABELS: Mapping[TaskState, LazyString] = {
    TaskState.READY: _l("ready"),
    TaskState.CLAIMED: _l("claimed"),
    TaskState.COMPLETED: _l("completed"),
    TaskState.CANCELLED: _l("cancelled"),
    TaskState.SKIPPED: _l("skipped"),
}

INSTANCE_STATUS_LABELS: Mapping[InstanceStatus, LazyString] = {
    InstanceStatus.RUNNING: _l("running"),
    InstanceStatus.WAITING: _l("waiting"),
    InstanceStatus.COMPLETED: _l("completed"),
    InstanceStatus.CANCELLED: _l("cancelled"),
    InstanceStatus.INCIDENT: _l("incident"),
}

A = AuditAction
ACTION_LABELS: Mapping[AuditAction, LazyString] = {
    # instances and steps
    A.INSTANCE_STARTED: _l("Instance started"),
    A.INSTANCE_COMPLETED: _l("Instance completed"),
    A.INSTANCE_CANCELLED: _l("Instance cancelled"),
    A.INSTANCE_CANCEL_REQUESTED: _l("Cancelled"),
    A.INSTANCE_MIGRATED: _l("Moved to another version"),
    A.INSTANCE_DATA_SCRUBBED: _l("Data erased"),
    A.INCIDENT_RAISED: _l("Incident"),
    A.INCIDENT_RETRIED: _l("Incident retried"),
    A.STEP_SKIPPED: _l("Step skipped"),
    A.STEP_REPEATED: _l("Step repeated"),
    A.TIMER_FIRED: _l("Timer fired"),
    A.MESSAGE_RECEIVED: _l("Message received"),
    A.SERVICE_TASK_COMPLETED: _l("Service task completed"),
    # human tasks
    A.TASK_CLAIMED: _l("Task claimed"),
    A.TASK_UNCLAIMED: _l("Task released"),
    A.TASK_ASSIGNED: _l("Task assigned"),
    A.TASK_COMPLETED: _l("Task completed"),
    A.TASK_COMMENTED: _l("Task commented"),
    # external tasks
    A.EXTERNAL_TASK_LOCKED: _l("External task locked"),
    A.EXTERNAL_TASK_LOCK_EXTENDED: _l("External task lock extended"),
    A.EXTERNAL_TASK_UNLOCKED: _l("External task unlocked"),
    A.EXTERNAL_TASK_COMPLETED: _l("External task completed"),
    A.EXTERNAL_TASK_FAILED: _l("External task failed"),
    A.EXTERNAL_TASK_ERROR_THROWN: _l("External task threw an error"),
    # alerts
    A.ALERT_RAISED: _l("Alert raised"),
    A.ALERT_ACKNOWLEDGED: _l("Alert acknowledged"),
    A.ALERT_RESOLVED: _l("Alert resolved"),
    # definitions and designer
    A.DEFINITION_DEPLOYED: _l("Process deployed"),
    A.DECISION_DEPLOYED: _l("Decision deployed"),
    A.DRAFT_SAVED: _l("Draft saved"),
    A.DRAFT_DISCARDED: _l("Draft discarded"),
    # audit trail
    A.AUDIT_EXPORTED: _l("Audit trail exported"),
    A.AUDIT_REDACTED: _l("Audit payloads redacted"),
    # users and access
    A.USER_CREATED: _l("User created"),
    A.USER_ACCESS_CHANGED: _l("User access changed"),
    A.USER_LANGUAGE_CHANGED: _l("Language changed"),
    A.USER_PASSWORD_CHANGED: _l("Password changed"),
    A.USER_SIGNED_OUT: _l("Signed out"),
    A.LOGIN_SUCCEEDED: _l("Signed in"),
    A.LOGIN_FAILED: _l("Sign-in failed"),
    A.LOGIN_LOCKED: _l("Sign-in locked"),
    A.API_TOKEN_CREATED: _l("API token created"),
    A.API_TOKEN_REVOKED: _l("API token revoked"),
    A.FILTER_SAVED: _l("Filter saved"),
    A.FILTER_DELETED: _l("Filter deleted"),
    # customers
    A.CUSTOMER_CREATED: _l("Customer created"),
    A.CUSTOMER_UPDATED: _l("Customer updated"),
    A.MRR_CHANGED: _l("MRR changed"),
    A.CUSTOMER_ARCHIVED: _l("Customer archived"),
    A.CUSTOMER_UNARCHIVED: _l("Customer unarchived"),
    A.CUSTOMER_PURGED: _l("Customer purged"),
    A.CUSTOMER_CONTACT_FORGOTTEN: _l("Contact details erased"),
    A.ACCESS_REVOKED: _l("Access revoked"),
    A.DELETION_CERTIFICATE_ISSUED: _l("Deletion certificate issued"),
    A.CONTACT_ADDED: _l("Contact added"),
    A.CONTACT_UPDATED: _l("Contact updated"),
    A.CONTACT_REMOVED: _l("Contact removed"),
    A.IMPORT_COMPLETED: _l("Import completed"),
    A.EXPORT_BUILT: _l("Data export built"),
    A.EXPORT_DELETED: _l("Data export deleted"),
    A.EVENTS_RECEIVED: _l("Product events received"),
    A.HEALTH_CHANGED: _l("Health changed"),
    A.HEALTH_THRESHOLD_CROSSED: _l("Health band changed"),
    A.PLAYBOOK_REQUESTED: _l("Playbook requested"),
    A.PLAYBOOK_FAILED: _l("Playbook failed"),
    A.SURVEY_ANSWERED: _l("Survey answered"),
}

# On purpose: a customer's timeline speaks of the processes run for the customer, not of engine instances.
CUSTOMER_WORDING: Mapping[AuditAction, LazyString] = {
    A.INSTANCE_STARTED: _l("Process started"),
    A.INSTANCE_COMPLETED: _l("Process completed"),
    A.INSTANCE_CANCELLED: _l("Process cancelled"),
}


def _known(table: Mapping[Any, LazyString], code: str) -> str | None:
    """The label of ``code`` in ``table`` (keyed by enum members, which equal their codes), else None."""
    found = table.get(code)
    return str(found) if found is not None else None


def status_label(status: str) -> str:
    """An instance status in the page's language; an unknown one reads as its code."""
    return _known(INSTANCE_STATUS_LABELS, status) or status


def task_state_label(state: str) -> str:
    """A task state in the page's language; an unknown one reads as its code."""
    return _known(TASK_STATE_LABELS, state) or state


def action_label(action: str) -> str:
    """An audit action in the page's language; an unknown one (a plugin's) reads as its name."""
    return _known(ACTION_LABELS, action) or action.replace("_", " ")


def customer_action_label(action: str) -> str:
    """An audit action as the customer timeline words it."""
    return _known(CUSTOMER_WORDING, action) or action_label(action)
