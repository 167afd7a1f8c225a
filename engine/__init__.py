"""Jornada's generic BPMN runtime.

The public surface is this package (the facade ``Runtime``, its errors, the vocabulary enums, the runtime builder
and the few helpers the web and the processes need) plus ``engine.models`` for read queries. Every other module is
private to the engine: ``web/`` and ``processes/`` import only from these two (tests/test_import_surface.py).
"""

from engine._assembly import build_runtime
from engine._audit import Filters as AuditFilters
from engine._audit import Verification as AuditVerification
from engine._audit import advance_mark as advance_audit_mark
from engine._audit import append as append_audit
from engine._audit import count as count_audit_events
from engine._audit import distinct as distinct_audit_values
from engine._audit import last_seq as last_audit_seq
from engine._audit import matching as matching_audit_events
from engine._audit import redact as redact_audit_events
from engine._audit import row_problem as audit_row_problem
from engine._audit import stream as stream_audit_events
from engine._audit import verified_mark as verified_audit_mark
from engine._audit import verify as verify_audit
from engine._audit_csv import AUDIT_CSV_COLUMNS, audit_csv_lines
from engine._cli import print_kpi_table
from engine._clock import Clock, FrozenClock, SystemClock
from engine._config import ConfigError, load_config
from engine._data_limits import REQUEST as REQUEST_LIMITS
from engine._data_limits import DataProblem, Limits, problem_in, text_problem
from engine._deploy import deploy as deploy_models
from engine._deploy import latest as latest_definition
from engine._diff import LAYOUT as LAYOUT_CHANGE
from engine._diff import ElementChange
from engine._diff import compare as compare_models
from engine._dml import Prepared, PreparedRead
from engine._enums import FINAL_STATUSES, OPEN_STATUSES, OPEN_TASK_STATES, AuditAction, InstanceStatus, TaskState
from engine._errors import (
    ConflictError,
    DeployError,
    EngineError,
    FormValidationError,
    InvalidState,
    MessageNotDelivered,
    NotFound,
    PermissionDenied,
    Problem,
    StartRefused,
)
from engine._external import MAX_LOCK_MS, ExternalTaskView, TopicRequest
from engine._forms import Field, constraint_number, fields_of
from engine._handlers import HandlerContext, HandlerError, HandlerRegistry, Happened, StartRequest
from engine._keys import secret_key
from engine._kpi import StepStats, completion_times, step_stats, work_in_progress
from engine._kpi import human as human_duration
from engine._lint import BPMN as BPMN_NS
from engine._lint import CAMUNDA as CAMUNDA_NS
from engine._lint import NS as BPMN_NAMESPACES
from engine._lint import executable_processes
from engine._lint import lint as lint_bpmn
from engine._lint import read as read_bpmn
from engine._logs import configure as configure_logging
from engine._metrics import exposition as metrics_exposition
from engine._metrics import multiprocess_dir as metrics_multiprocess_dir
from engine._outbox import MAX_ATTEMPTS as MAIL_MAX_ATTEMPTS
from engine._outbox import queue_mail
from engine._readiness import Readiness, multi_node_warnings
from engine._readiness import check as check_readiness
from engine._runtime import Runtime, Started
from engine._scheduler import build_scheduler, run_once
from engine._specs import parse_xml, single_process
from engine._store import Store
from engine._unit import Unit
from engine._versions import MOVABLE_STATUSES, Candidate, Outcome, Preview
from engine._visibility import in_groups, in_open_groups, may_see, visible_to

__all__ = [
    "AUDIT_CSV_COLUMNS",
    "BPMN_NAMESPACES",
    "BPMN_NS",
    "CAMUNDA_NS",
    "FINAL_STATUSES",
    "LAYOUT_CHANGE",
    "MAIL_MAX_ATTEMPTS",
    "MAX_LOCK_MS",
    "MOVABLE_STATUSES",
    "OPEN_STATUSES",
    "OPEN_TASK_STATES",
    "REQUEST_LIMITS",
    "AuditAction",
    "AuditFilters",
    "AuditVerification",
    "Candidate",
    "Clock",
    "ConfigError",
    "ConflictError",
    "DataProblem",
    "DeployError",
    "ElementChange",
    "EngineError",
    "ExternalTaskView",
    "Field",
    "FormValidationError",
    "FrozenClock",
    "HandlerContext",
    "HandlerError",
    "HandlerRegistry",
    "Happened",
    "InstanceStatus",
    "InvalidState",
    "Limits",
    "MessageNotDelivered",
    "NotFound",
    "Outcome",
    "PermissionDenied",
    "Prepared",
    "PreparedRead",
    "Preview",
    "Problem",
    "Readiness",
    "Runtime",
    "StartRefused",
    "StartRequest",
    "Started",
    "StepStats",
    "Store",
    "SystemClock",
    "TaskState",
    "TopicRequest",
    "Unit",
    "advance_audit_mark",
    "append_audit",
    "audit_csv_lines",
    "audit_row_problem",
    "build_runtime",
    "build_scheduler",
    "check_readiness",
    "compare_models",
    "completion_times",
    "configure_logging",
    "constraint_number",
    "count_audit_events",
    "deploy_models",
    "distinct_audit_values",
    "executable_processes",
    "fields_of",
    "human_duration",
    "in_groups",
    "in_open_groups",
    "last_audit_seq",
    "latest_definition",
    "lint_bpmn",
    "load_config",
    "matching_audit_events",
    "may_see",
    "metrics_exposition",
    "metrics_multiprocess_dir",
    "multi_node_warnings",
    "parse_xml",
    "print_kpi_table",
    "problem_in",
    "queue_mail",
    "read_bpmn",
    "redact_audit_events",
    "run_once",
    "secret_key",
    "single_process",
    "step_stats",
    "stream_audit_events",
    "text_problem",
    "verified_audit_mark",
    "verify_audit",
    "visible_to",
    "work_in_progress",
]
