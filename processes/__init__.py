"""The CS domain: the service-task handlers of the lifecycle processes, registered explicitly."""

from __future__ import annotations

from engine import HandlerRegistry
from processes import (
    accounts,
    active,
    events,
    export,
    health,
    mail,
    offboarding,
    onboarding,
    playbooks,
    rollups,
    survey_handlers,
    surveys,
    tickets,
)

# the domain's tables join the metadata with their modules
TABLE_MODULES = (events, health, rollups, surveys, tickets)


def register(registry: HandlerRegistry) -> None:
    registry.register("customer.update", onboarding.update_customer)
    registry.register("mail.send", mail.send_mail)
    registry.register("crm.record_mrr_change", active.record_mrr_change)
    registry.register("billing.outstanding_balance", offboarding.outstanding_balance)
    registry.register("access.revoke", offboarding.revoke_access)
    registry.register("export.build_archive", export.build_archive)
    registry.register("privacy.purge", offboarding.purge)
    registry.register("privacy.deletion_certificate", offboarding.deletion_certificate)
    registry.register("privacy.deliver_certificate", offboarding.deliver_certificate)
    survey_handlers.register(registry)  # survey.send, answers from forms and messages, the referrals guard
    registry.guard_start(accounts.guard_start)
    tickets.register(registry)  # support tickets kept in step with support instances (the CS KPIs read them)
    health.register(registry)  # after tickets: its listeners read the rows those write; recompute on inputs
    registry.every(None, "playbooks", playbooks.scheduler_job)  # threshold rules, then pending playbook runs


def build_registry() -> HandlerRegistry:
    registry = HandlerRegistry()
    register(registry)
    return registry


def commands() -> list[tuple[str, object, str, object]]:
    """Extra ``jornada`` commands this plugin adds."""
    from processes import customer_cli, demo, events_cli, health_cli
    from processes.imports import cli as import_cli

    return [
        ("demo", demo.run_demo, "run simulated customers through the whole journey", demo.configure),
        ("customers", customer_cli.run, "add, edit, archive, list and show customers", customer_cli.configure),
        ("import", import_cli.run, "import customers, MRR movements, surveys or events from CSV", import_cli.configure),
        ("events", events_cli.run, "send a product event (as POST /api/v1/events does)", events_cli.configure),
        ("health", health_cli.run, "recompute customers' health scores (backfill) or show one", health_cli.configure),
    ]


def kpi_reports() -> dict[str, tuple[object, object]]:
    """Extra ``jornada kpi WHAT`` reports this plugin adds: name -> (run(runtime, args), configure(parser))."""
    import processes.kpis.cli as kpi_cli

    return {"cs": (kpi_cli.run, kpi_cli.configure)}
