"""Jornada's generic BPMN runtime.

The public surface is this package (the facade ``Runtime``, its errors, the vocabulary enums, the runtime builder
and the few helpers the web and the processes need) plus ``engine.models`` for read queries. Every other module is
private to the engine: ``web/`` and ``processes/`` import only from these two (tests/test_import_surface.py).
"""

from engine._cli import build_runtime, print_kpi_table
from engine._clock import Clock, FrozenClock, SystemClock
from engine._config import ConfigError, load_config
from engine._data_limits import REQUEST as REQUEST_LIMITS
from engine._data_limits import DataProblem, Limits, problem_in, text_problem
from engine._deploy import latest as latest_definition
from engine._diff import LAYOUT as LAYOUT_CHANGE
from engine._diff import ElementChange
from engine._diff import compare as compare_models
from engine._dml import Prepared
from engine._enums import FINAL_STATUSES, OPEN_TASK_STATES, AuditAction, InstanceStatus, TaskState
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
from engine._execution import Unit
from engine._external import MAX_LOCK_MS, ExternalTaskView, TopicRequest
from engine._forms import Field, constraint_number, fields_of
from engine._handlers import HandlerContext, HandlerError, HandlerRegistry, Happened, StartRequest
from engine._keys import secret_key
from engine._lint import BPMN as BPMN_NS
from engine._lint import CAMUNDA as CAMUNDA_NS
from engine._lint import NS as BPMN_NAMESPACES
from engine._lint import executable_processes
from engine._lint import lint as lint_bpmn
from engine._lint import read as read_bpmn
from engine._outbox import MAX_ATTEMPTS as MAIL_MAX_ATTEMPTS
from engine._outbox import queue_mail
from engine._runtime import Runtime
from engine._scheduler import build_scheduler, run_once
from engine._specs import parse_xml, single_process
from engine._store import Store
from engine._versions import MOVABLE_STATUSES, Candidate, Outcome, Preview
from engine._visibility import in_groups, in_open_groups, may_see, visible_to

__all__ = [
    "BPMN_NAMESPACES",
    "BPMN_NS",
    "CAMUNDA_NS",
    "FINAL_STATUSES",
    "LAYOUT_CHANGE",
    "MAIL_MAX_ATTEMPTS",
    "MAX_LOCK_MS",
    "MOVABLE_STATUSES",
    "OPEN_TASK_STATES",
    "REQUEST_LIMITS",
    "AuditAction",
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
    "Preview",
    "Problem",
    "Runtime",
    "StartRefused",
    "StartRequest",
    "Store",
    "SystemClock",
    "TaskState",
    "TopicRequest",
    "Unit",
    "build_runtime",
    "build_scheduler",
    "compare_models",
    "constraint_number",
    "executable_processes",
    "fields_of",
    "in_groups",
    "in_open_groups",
    "latest_definition",
    "lint_bpmn",
    "load_config",
    "may_see",
    "parse_xml",
    "print_kpi_table",
    "problem_in",
    "queue_mail",
    "read_bpmn",
    "run_once",
    "secret_key",
    "single_process",
    "text_problem",
    "visible_to",
]
