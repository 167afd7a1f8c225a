"""The engine's vocabulary: task states, instance statuses and audit actions.

Each is a ``StrEnum``: a member is the very string stored in the database and shown in the API, so
``TaskState.READY == "ready"`` and rows written before the enums existed read back unchanged. Every module names
these members instead of spelling the strings; the web's label tables are keyed by them (a test checks that each
member has an English and a pt-BR label).
"""

from __future__ import annotations

from enum import StrEnum


class TaskState(StrEnum):
    """The state of a human task's inbox row (``human_task.state``)."""

    READY = "ready"
    """Open and in its groups' queue, held by nobody."""
    CLAIMED = "claimed"
    """Open and held by one user (its ``assignee``)."""
    COMPLETED = "completed"
    """Done by a user: its form was submitted and the process went on."""
    CANCELLED = "cancelled"
    """Closed without being done: a boundary event, a cancelled instance, a repeated step."""
    SKIPPED = "skipped"
    """Closed without being done because a lead skipped the step."""


OPEN_TASK_STATES: tuple[TaskState, ...] = (TaskState.READY, TaskState.CLAIMED)
"""The states of a task still waiting for somebody (the inbox's rows)."""


class InstanceStatus(StrEnum):
    """The status of a process instance (``process_instance.status``)."""

    RUNNING = "running"
    """Has work the engine can do now (a step that runs by itself)."""
    WAITING = "waiting"
    """Waits for a person, a timer, a message or an external worker."""
    COMPLETED = "completed"
    """Reached an end event; nothing more runs."""
    CANCELLED = "cancelled"
    """Stopped by a user or an end of the customer's journey; nothing more runs."""
    INCIDENT = "incident"
    """Stopped on an error (the reason is in ``incident``); retryable."""


FINAL_STATUSES: tuple[InstanceStatus, ...] = (InstanceStatus.COMPLETED, InstanceStatus.CANCELLED)
"""The statuses after which nothing runs."""
OPEN_STATUSES: tuple[InstanceStatus, ...] = (InstanceStatus.RUNNING, InstanceStatus.WAITING, InstanceStatus.INCIDENT)
"""The statuses of an instance still under way (an incident is retried and runs on)."""


class AuditAction(StrEnum):
    """What an audit event records (``audit_event.action``)."""

    # -- instances and steps
    INSTANCE_STARTED = "instance_started"
    """A process instance started."""
    INSTANCE_COMPLETED = "instance_completed"
    """A process instance reached its end."""
    INSTANCE_CANCELLED = "instance_cancelled"
    """A process instance was cancelled."""
    INSTANCE_CANCEL_REQUESTED = "instance_cancel_requested"
    """A user asked to cancel an instance."""
    INSTANCE_MIGRATED = "instance_migrated"
    """A running instance moved to another version of its process."""
    INSTANCE_DATA_SCRUBBED = "instance_data_scrubbed"
    """Confidential data was erased from an instance's state."""
    INCIDENT_RAISED = "incident_raised"
    """An instance stopped on an error."""
    INCIDENT_RETRIED = "incident_retried"
    """A user retried an instance in incident."""
    STEP_SKIPPED = "step_skipped"
    """A user skipped a step."""
    STEP_REPEATED = "step_repeated"
    """A user sent an instance back to an earlier step."""
    TIMER_FIRED = "timer_fired"
    """A timer event fired."""
    MESSAGE_RECEIVED = "message_received"
    """A message reached a waiting instance."""
    SERVICE_TASK_COMPLETED = "service_task_completed"
    """A service task's local handler ran."""
    # -- human tasks
    TASK_CLAIMED = "task_claimed"
    """A user took a task from the queue."""
    TASK_UNCLAIMED = "task_unclaimed"
    """A task went back to its queue."""
    TASK_ASSIGNED = "task_assigned"
    """A task was handed to a user."""
    TASK_COMPLETED = "task_completed"
    """A user completed a task."""
    TASK_COMMENTED = "task_commented"
    """A user commented on a task."""
    # -- external tasks
    EXTERNAL_TASK_LOCKED = "external_task_locked"
    """An external worker locked a task of its topic."""
    EXTERNAL_TASK_LOCK_EXTENDED = "external_task_lock_extended"
    """An external worker extended its lock."""
    EXTERNAL_TASK_UNLOCKED = "external_task_unlocked"
    """An external task's lock was released."""
    EXTERNAL_TASK_COMPLETED = "external_task_completed"
    """An external worker completed its task."""
    EXTERNAL_TASK_FAILED = "external_task_failed"
    """An external worker reported a failure."""
    EXTERNAL_TASK_ERROR_THROWN = "external_task_error_thrown"
    """An external worker threw a BPMN error."""
    # -- alerts
    ALERT_RAISED = "alert_raised"
    """A task became overdue or stuck and an alert was raised."""
    ALERT_ACKNOWLEDGED = "alert_acknowledged"
    """A user acknowledged an alert."""
    ALERT_RESOLVED = "alert_resolved"
    """An alert was resolved (its task completed, cancelled or skipped)."""
    # -- definitions and designer
    DEFINITION_DEPLOYED = "definition_deployed"
    """A process definition version was deployed."""
    DECISION_DEPLOYED = "decision_deployed"
    """A DMN decision version was deployed."""
    DRAFT_SAVED = "draft_saved"
    """A designer saved a draft diagram."""
    DRAFT_DISCARDED = "draft_discarded"
    """A designer discarded a draft diagram."""
    # -- audit trail
    AUDIT_EXPORTED = "audit_exported"
    """Someone exported the audit trail."""
    AUDIT_REDACTED = "audit_redacted"
    """Payloads of audit events were redacted."""
    # -- users and access
    USER_CREATED = "user_created"
    """An administrator created a user."""
    USER_ACCESS_CHANGED = "user_access_changed"
    """A user's role, groups or active flag changed."""
    USER_LANGUAGE_CHANGED = "user_language_changed"
    """A user chose another language."""
    USER_PASSWORD_CHANGED = "user_password_changed"
    """A user's password changed."""
    USER_SIGNED_OUT = "user_signed_out"
    """A user signed out."""
    LOGIN_SUCCEEDED = "login_succeeded"
    """A sign-in succeeded."""
    LOGIN_FAILED = "login_failed"
    """A sign-in failed."""
    LOGIN_LOCKED = "login_locked"
    """Too many failed sign-ins locked an account for a while."""
    API_TOKEN_CREATED = "api_token_created"
    """An API token was created."""
    API_TOKEN_REVOKED = "api_token_revoked"
    """An API token was revoked."""
    FILTER_SAVED = "filter_saved"
    """A user saved an inbox filter."""
    FILTER_DELETED = "filter_deleted"
    """A user deleted a saved inbox filter."""
    # -- customers
    CUSTOMER_CREATED = "customer_created"
    """A customer was created."""
    CUSTOMER_UPDATED = "customer_updated"
    """A customer's fields changed."""
    MRR_CHANGED = "mrr_changed"
    """A customer's monthly recurring revenue changed (an upgrade, a downgrade, a churn)."""
    CUSTOMER_ARCHIVED = "customer_archived"
    """A customer was archived."""
    CUSTOMER_UNARCHIVED = "customer_unarchived"
    """An archived customer was restored."""
    CUSTOMER_PURGED = "customer_purged"
    """A customer's confidential data was deleted."""
    CUSTOMER_CONTACT_FORGOTTEN = "customer_contact_forgotten"
    """A customer's contact details were erased."""
    ACCESS_REVOKED = "access_revoked"
    """An offboarded customer's access item (an account, a key, an integration) was revoked."""
    DELETION_CERTIFICATE_ISSUED = "deletion_certificate_issued"
    """The certificate of deletion of a purged customer was written."""
    CONTACT_ADDED = "contact_added"
    """A contact was added to a customer."""
    CONTACT_UPDATED = "contact_updated"
    """A customer's contact changed."""
    CONTACT_REMOVED = "contact_removed"
    """A contact was removed from a customer."""
    IMPORT_COMPLETED = "import_completed"
    """A CSV import finished."""
    EXPORT_BUILT = "export_built"
    """A customer's data export was built."""
    EXPORT_DELETED = "export_deleted"
    """A customer's data export was deleted."""
    EVENTS_RECEIVED = "events_received"
    """A batch of product events arrived."""
    HEALTH_CHANGED = "health_changed"
    """A customer's health score changed."""
    HEALTH_THRESHOLD_CROSSED = "health_threshold_crossed"
    """A customer's health crossed into another band."""
    PLAYBOOK_REQUESTED = "playbook_requested"
    """A playbook rule asked to start a process."""
    PLAYBOOK_FAILED = "playbook_failed"
    """A playbook rule could not start its process."""
    SURVEY_ANSWERED = "survey_answered"
    """A customer answered a survey."""


class AlertResolution(StrEnum):
    """Why a stuck-step alert was resolved (``alert.resolution``): how its task left the open states."""

    TASK_COMPLETED = "task_completed"
    """A user completed the task."""
    TASK_CANCELLED = "task_cancelled"
    """The task was cancelled (a boundary event, a cancelled instance)."""
    TASK_SKIPPED = "task_skipped"
    """An operator skipped the step."""
