"""The CS domain: the service-task handlers of the lifecycle processes, registered explicitly."""

from __future__ import annotations

from engine.handlers import HandlerRegistry
from processes import active, events, export, health, mail, offboarding, onboarding, rollups, surveys, tickets

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


def build_registry() -> HandlerRegistry:
    registry = HandlerRegistry()
    register(registry)
    return registry


def commands() -> list[tuple[str, object, str, object]]:
    """Extra ``jornada`` commands this plugin adds."""
    from processes import demo

    return [("demo", demo.run_demo, "run simulated customers through the whole journey", demo.configure)]
