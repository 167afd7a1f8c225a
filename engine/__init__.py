"""Jornada's generic BPMN runtime.

The public surface is this package (the facade ``Runtime``, its errors, the vocabulary enums, the runtime builder
and the few helpers the web and the processes need) plus ``engine.models`` for read queries. Every other module is
private to the engine: ``web/`` and ``processes/`` import only from these two (tests/test_import_surface.py).
"""

from engine.cli import build_runtime, print_kpi_table
from engine.clock import Clock, FrozenClock, SystemClock
from engine.config import ConfigError, load_config
from engine.data_limits import REQUEST as REQUEST_LIMITS
from engine.data_limits import DataProblem, Limits, problem_in, text_problem
from engine.deploy import latest as latest_definition
from engine.diff import LAYOUT as LAYOUT_CHANGE
from engine.diff import ElementChange
from engine.diff import compare as compare_models
from engine.dml import Prepared
from engine.enums import FINAL_STATUSES, OPEN_TASK_STATES, AuditAction, InstanceStatus, TaskState
from engine.errors import (
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
from engine.execution import Unit
from engine.external import MAX_LOCK_MS, ExternalTaskView, TopicRequest
from engine.forms import Field, constraint_number, fields_of
from engine.handlers import HandlerContext, HandlerError, HandlerRegistry, Happened, StartRequest
from engine.keys import secret_key
from engine.lint import BPMN as BPMN_NS
from engine.lint import CAMUNDA as CAMUNDA_NS
from engine.lint import NS as BPMN_NAMESPACES
from engine.lint import executable_processes
from engine.lint import lint as lint_bpmn
from engine.lint import read as read_bpmn
from engine.outbox import MAX_ATTEMPTS as MAIL_MAX_ATTEMPTS
from engine.outbox import queue_mail
from engine.runtime import Runtime
from engine.scheduler import build_scheduler, run_once
from engine.specs import parse_xml, single_process
from engine.store import Store
from engine.versions import MOVABLE_STATUSES, Candidate, Outcome, Preview
from engine.visibility import in_groups, in_open_groups, may_see, visible_to

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
