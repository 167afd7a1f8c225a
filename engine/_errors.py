"""The errors the engine facade raises. Each message names what is wrong."""

from __future__ import annotations

from dataclasses import dataclass


class EngineError(Exception):
    """Base class of every error the facade raises on purpose."""


class NotFound(EngineError):
    pass


class ConflictError(EngineError):
    """Another session changed the same instance or task first; reload and try again."""


class PermissionDenied(EngineError):
    pass


class InvalidState(EngineError):
    """The operation does not apply to the task or instance in its current state."""


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class FormValidationError(EngineError):
    def __init__(self, task_name: str, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__(f"form of task {task_name!r} is invalid: " + "; ".join(map(str, errors)))


@dataclass(frozen=True)
class Problem:
    """One deploy-lint finding: the file, the element id and the line it is about. An "error" refuses the deploy;
    a "warning" names what the engine does differently from what the model may mean, and the deploy goes on."""

    file: str
    element_id: str | None
    line: int | None
    message: str
    severity: str = "error"  # "error" or "warning"

    @property
    def is_warning(self) -> bool:
        return self.severity == "warning"

    def __str__(self) -> str:
        where = self.file
        if self.line:
            where += f":{self.line}"
        if self.element_id:
            where += f" (element {self.element_id!r})"
        return f"{where}: warning: {self.message}" if self.is_warning else f"{where}: {self.message}"


class DeployError(EngineError):
    """The deploy was refused: ``problems`` are the errors that refuse it, ``warnings`` what else was found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = [p for p in problems if not p.is_warning]
        self.warnings = [p for p in problems if p.is_warning]
        super().__init__("deploy refused:\n" + "\n".join(f"  {p}" for p in self.problems))


class MessageNotDelivered(EngineError):
    pass


class StartRefused(EngineError):
    """A start guard of the domain refused to start the process (e.g. an unknown customer); nothing was written."""
