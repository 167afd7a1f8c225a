"""mail.send: render a mail template (processes/templates/mail/<name>.txt, first line = subject) for the
instance's customer and queue it in the outbox; it leaves after the transaction commits."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound, UndefinedError

from engine.handlers import HandlerContext, HandlerError
from processes.customers import get_customer

TEMPLATES = Path(__file__).parent / "templates" / "mail"
_env = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, autoescape=False)


def template_names() -> list[str]:
    return sorted(path.stem for path in TEMPLATES.glob("*.txt"))


def render(template: str, variables: Mapping[str, Any]) -> tuple[str, str]:
    try:
        text = _env.get_template(f"{template}.txt").render(**variables)
    except TemplateNotFound:
        raise HandlerError(f"mail template {template!r} does not exist in {TEMPLATES}") from None
    except UndefinedError as exc:
        raise HandlerError(f"mail template {template!r}: {exc}") from None
    subject, _, body = text.partition("\n")
    return subject.strip(), body.strip() + "\n"


def send_mail(ctx: HandlerContext) -> dict[str, Any]:
    template = ctx.prop("template")
    if not template:
        raise HandlerError(f"{ctx.element_id}: mail.send needs a 'template' property")
    customer = get_customer(ctx.session, ctx.customer_id)
    recipient = ctx.prop("recipient") or customer.email
    if not recipient:
        raise HandlerError(f"customer {customer.id} has no e-mail address and the task names no recipient")
    subject, body = render(template, {"customer": customer, "data": ctx.data})
    outbox_id = ctx.mailer.queue_mail(recipient, subject, body)
    return {f"mail_{template}_outbox_id": outbox_id}
