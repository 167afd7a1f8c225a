"""Jornada's generic BPMN runtime. The facade (``Runtime``) and its errors are the public surface."""

from engine.clock import Clock, FrozenClock, SystemClock
from engine.config import ConfigError, load_config
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
from engine.handlers import HandlerContext, HandlerError, HandlerRegistry, Happened, StartRequest
from engine.runtime import Runtime
from engine.store import Store

__all__ = [
    "Clock",
    "ConfigError",
    "ConflictError",
    "DeployError",
    "EngineError",
    "FormValidationError",
    "FrozenClock",
    "HandlerContext",
    "HandlerError",
    "HandlerRegistry",
    "Happened",
    "InvalidState",
    "MessageNotDelivered",
    "NotFound",
    "PermissionDenied",
    "Problem",
    "Runtime",
    "StartRefused",
    "StartRequest",
    "Store",
    "SystemClock",
    "load_config",
]
