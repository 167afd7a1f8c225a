"""mail.send: render a mail template (processes/templates/mail/<name>.txt, first line = subject) for the
instance's customer and queue it in the outbox; it leaves after the transaction commits."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound, UndefinedError
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import HandlerContext, HandlerError
from processes.customers import Contact, get_customer

TEMPLATES = Path(__file__).parent / "templates" / "mail"
TRANSLATED = frozenset({"pt_BR"})  # the languages the templates are translated into, beside English
_env = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, autoescape=False)


def template_names() -> list[str]:
    """The templates a model may name; a translation sits beside its template as ``<name>.<language>.txt``."""
    return sorted(path.stem for path in TEMPLATES.glob("*.txt") if "." not in path.stem)


def render(template: str, variables: Mapping[str, Any], *, language: str | None = None) -> tuple[str, str]:
    """(subject, body) of ``template``, in ``language`` when a translation of it exists (else the English one)."""
    names = [f"{template}.{language}.txt"] if language and language != "en" else []
    try:
        text = _env.select_template([*names, f"{template}.txt"]).render(**variables)
    except TemplateNotFound:
        raise HandlerError(f"mail template {template!r} does not exist in {TEMPLATES}") from None
    except UndefinedError as exc:
        raise HandlerError(f"mail template {template!r}: {exc}") from None
    subject, _, body = text.partition("\n")
    return subject.strip(), body.strip() + "\n"


def contact_language(session: Session, customer_id: str | None) -> str | None:
    """The language of the customer's primary contact (the first by id) when a mail can speak it, else None
    (English)."""
    if not customer_id:
        return None
    language = session.execute(
        select(Contact.language).where(Contact.customer_id == customer_id).order_by(Contact.id).limit(1)
    ).scalar_one_or_none()
    return language if language in TRANSLATED else None


def send_mail(ctx: HandlerContext) -> dict[str, Any]:
    template = ctx.prop("template")
    if not template:
        raise HandlerError(f"{ctx.element_id}: mail.send needs a 'template' property")
    customer = get_customer(ctx.session, ctx.customer_id)
    recipient = ctx.prop("recipient") or customer.email
    if not recipient:
        raise HandlerError(f"customer {customer.id} has no e-mail address and the task names no recipient")
    language = contact_language(ctx.session, customer.id)
    subject, body = render(template, {"customer": customer, "data": ctx.data}, language=language)
    outbox_id = ctx.mailer.queue_mail(recipient, subject, body)
    return {f"mail_{template}_outbox_id": outbox_id}
