"""Moving running instances of a process to another version: a dry run lists which can move and why the others
cannot; without it, the chosen instances move (engine/_versions.py)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from flask import jsonify
from flask.typing import ResponseReturnValue
from pydantic import BeforeValidator, Discriminator, Field, Tag

from engine import Candidate
from web.api.declare import Body, Response, Shape, When, _integral, operation
from web.context import me, runtime
from web.migrations_page import MIGRATE

# (the bounds before the validator, so the document states them as minimum/maximum)
Version = Annotated[int, Field(ge=1, le=2**31 - 1), BeforeValidator(_integral)]
InstanceId = Annotated[str, Field(min_length=1, max_length=36)]
MAX_INSTANCES = 1000


class Move(Body):
    """Move the chosen instances."""

    from_version: Version = Field(description="the version the instances are on")
    to_version: Version = Field(description="the version to move them to")
    instance_ids: list[InstanceId] = Field(min_length=1, max_length=MAX_INSTANCES, description="the instances to move")
    dry_run: Literal[False] = Field(False, description="false (or left out): move them")


class DryRun(Body):
    """Only tell which instances can move, and why the others cannot; nothing changes."""

    from_version: Version = Field(description="the version the instances are on")
    to_version: Version = Field(description="the version to move them to")
    instance_ids: list[InstanceId] = Field(
        default_factory=list, max_length=MAX_INSTANCES, description="only these instances (default: every open one)"
    )
    dry_run: Literal[True]


def _which(value: Any) -> str:
    return "dry_run" if isinstance(value, dict) and value.get("dry_run") is True else "move"


MigrationRequest = Annotated[Annotated[Move, Tag("move")] | Annotated[DryRun, Tag("dry_run")], Discriminator(_which)]


class Step(Shape):
    element_id: str
    name: str
    state: str


class MigrationCandidate(Shape):
    id: str
    customer_id: str | None
    business_key: str | None
    status: str
    started_at: When
    steps: list[Step]
    movable: bool
    reasons: list[str]


class Refusal(Shape):
    id: str
    reasons: list[str]


class MigrationAnswer(Shape):
    process_id: str
    from_version: int
    to_version: int
    dry_run: bool
    total: int | None = Field(None, description="dry run: open instances on from_version")
    instances: list[MigrationCandidate] | None = Field(None, description="dry run: the instances judged")
    moved: list[str] | None = Field(None, description="the instances moved")
    refused: list[Refusal] | None = Field(None, description="the instances that could not move, with why")


def _candidate(c: Candidate) -> dict[str, object]:
    return {
        "id": c.instance_id,
        "customer_id": c.customer_id,
        "business_key": c.business_key,
        "status": c.status,
        "started_at": c.started_at.isoformat(),
        "steps": [{"element_id": s.element_id, "name": s.name, "state": s.state} for s in c.steps],
        "movable": c.movable,
        "reasons": c.reasons,
    }


@operation(
    "post",
    "/processes/<process_id>/migrations",
    summary="Move running instances to another version of their process (or, with dry_run, preview the move)",
    roles=MIGRATE,
    body=MigrationRequest,
    ok=Response(200, MigrationAnswer, "The preview, or which instances moved and which were refused and why"),
    errors=(400, 404),
)
def migrate_instances(process_id: str, body: Move | DryRun) -> ResponseReturnValue:
    answer: dict[str, object] = {
        "process_id": process_id,
        "from_version": body.from_version,
        "to_version": body.to_version,
        "dry_run": body.dry_run,
    }
    if isinstance(body, DryRun):
        preview = runtime().migration_preview(process_id, body.from_version, body.to_version)
        chosen = set(body.instance_ids)
        listed = [c for c in preview.candidates if not chosen or c.instance_id in chosen]
        answer |= {"total": preview.total, "instances": [_candidate(c) for c in listed]}
    else:
        outcome = runtime().migrate_instances(
            process_id, body.from_version, body.to_version, body.instance_ids, actor=me().username
        )
        answer |= {
            "moved": outcome.moved,
            "refused": [{"id": i, "reasons": reasons} for i, reasons in outcome.refused.items()],
        }
    return jsonify(answer)
