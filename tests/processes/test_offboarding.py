"""Offboarding phase, every path: collections, access_revocation, data_export and deletion, through the facade."""

from __future__ import annotations

import hashlib
import json
import random
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import _audit as audit
from processes import demo, demo_book
from processes.customers import AccessGrant, Contact, Customer
from processes.events import ProductEvent, record_event
from processes.surveys import SurveyAnswer, record_answer
from tests.processes.helpers import CUSTOMER, EMAIL, Driver


# -- collections -----------------------------------------------------------------------------------------
@pytest.fixture
def owing(driver: Driver) -> Driver:
    """C-1 owes 650: 450 ten days overdue and 200 due in 20 days; an older invoice is paid."""
    driver.add_invoice(300.0, due_in_days=-40, paid=True)
    driver.add_invoice(450.0, due_in_days=-10)
    driver.add_invoice(200.0, due_in_days=20)
    return driver


def reminders(driver: Driver) -> list[tuple[str, str]]:
    return [m for m in driver.mails() if m[1].startswith("Reminder: outstanding balance")]


def test_a_customer_who_owes_nothing_leaves_collections_at_once(driver: Driver) -> None:
    driver.add_invoice(300.0, due_in_days=-40, paid=True)
    iid = driver.start("collections")
    assert driver.status(iid) == "completed"
    assert driver.ended(iid) == ["no_balance"]
    data = driver.final_data(iid)
    assert (data["balance"], data["days_overdue"], data["open_invoices"]) == (0, 0, 0)
    assert driver.open_elements() == []


@pytest.mark.parametrize(
    ("outcome", "end"),
    [("paid", "balance_paid"), ("payment_plan", "payment_plan_agreed"), ("write_off", "balance_written_off")],
)
def test_finance_contacts_a_customer_who_owes_money_and_the_outcome_ends_collections(
    owing: Driver, outcome: str, end: str
) -> None:
    iid = owing.start("collections")
    assert owing.open_elements(iid) == ["contact_customer_about_balance"]
    assert owing.task("contact_customer_about_balance", iid).candidate_groups == "finance"
    data = owing.task_data("contact_customer_about_balance", iid)
    assert (data["balance"], data["days_overdue"], data["open_invoices"]) == (650.0, 10, 2)

    assert owing.complete("contact_customer_about_balance", iid, outcome=outcome) == "completed"
    assert owing.ended(iid) == [end]
    owing.advance(days=31)
    assert reminders(owing) == []  # settled before the first weekly reminder


def test_a_payment_reminder_goes_out_weekly_three_times_while_the_balance_is_open(owing: Driver) -> None:
    iid = owing.start("collections")
    owing.advance(days=6, hours=23)
    assert reminders(owing) == []

    expected = (EMAIL, "Reminder: outstanding balance of 650.00")
    owing.advance(hours=1, minutes=1)
    assert reminders(owing) == [expected]
    assert owing.open_elements(iid) == ["contact_customer_about_balance"]  # non-interrupting
    owing.advance(days=7)
    owing.advance(days=7)
    assert reminders(owing) == [expected] * 3
    owing.advance(days=7)
    assert reminders(owing) == [expected] * 3  # R3: no fourth reminder
    assert owing.status(iid) == "running"

    assert owing.complete("contact_customer_about_balance", iid, outcome="payment_plan") == "completed"
    assert owing.ended(iid) == ["payment_plan_agreed", "reminder_sent", "reminder_sent", "reminder_sent"]


def test_a_balance_still_open_after_30_days_is_escalated_to_the_cs_lead(owing: Driver) -> None:
    iid = owing.start("collections")
    for _ in range(4):
        owing.advance(days=7, minutes=1)
    assert owing.open_elements(iid) == ["contact_customer_about_balance"]

    owing.advance(days=2)  # 30 days and 4 minutes
    assert owing.open_elements(iid) == ["escalate_overdue_balance"]  # the finance task is withdrawn
    assert owing.task("escalate_overdue_balance", iid).candidate_groups == "cs_lead"
    assert owing.complete("escalate_overdue_balance", iid, outcome="write_off") == "completed"
    assert owing.ended(iid) == ["balance_written_off", "reminder_sent", "reminder_sent", "reminder_sent"]
    assert len(reminders(owing)) == 3
    assert owing.final_data(iid)["escalation_notes"] == "Customer is insolvent"


# -- access_revocation -----------------------------------------------------------------------------------
def grants(driver: Driver) -> dict[str, str | None]:
    with driver.runtime.store.session() as s:
        rows = s.execute(select(AccessGrant).where(AccessGrant.customer_id == CUSTOMER)).scalars()
        return {g.item: g.revoked_by for g in rows}


def test_security_revokes_every_ticked_access_and_ends_once_it_is_verified(driver: Driver) -> None:
    iid = driver.start("access_revocation")
    assert driver.task("revocation_checklist", iid).candidate_groups == "security"
    driver.complete("revocation_checklist", iid, actor="gabi")
    data = driver.task_data("confirm_access_revoked", iid)
    assert (data["revoked_items"], data["access_remaining"]) == (
        ["admin_accounts", "api_keys", "integrations", "sso"],
        [],
    )
    assert grants(driver) == dict.fromkeys(("sso", "api_keys", "admin_accounts", "integrations"), "gabi")

    assert driver.complete("confirm_access_revoked", iid, all_access_revoked=True) == "completed"
    assert driver.ended(iid) == ["access_revoked"]
    assert [e.actor for e in driver.audit(iid, "access_revoked")] == ["gabi"] * 4


def test_an_unverified_revocation_goes_back_to_the_checklist_for_what_is_left(driver: Driver) -> None:
    iid = driver.start("access_revocation")
    driver.complete(
        "revocation_checklist", iid, revoke_admin_accounts=False, revoke_integrations=False, revoke_sso=True
    )
    data = driver.task_data("confirm_access_revoked", iid)
    assert (data["revoked_items"], data["access_remaining"]) == (
        ["api_keys", "sso"],
        ["admin_accounts", "integrations"],
    )
    assert grants(driver)["integrations"] is None

    assert driver.complete("confirm_access_revoked", iid, all_access_revoked=False) == "running"
    assert driver.open_elements(iid) == ["revocation_checklist"]
    driver.complete("revocation_checklist", iid)
    data = driver.task_data("confirm_access_revoked", iid)
    assert (data["revoked_items"], data["access_remaining"]) == (["admin_accounts", "integrations"], [])
    assert driver.complete("confirm_access_revoked", iid, all_access_revoked=True) == "completed"
    assert driver.ended(iid) == ["access_revoked"]
    assert None not in grants(driver).values()


def test_a_revocation_verified_by_hand_while_grants_remain_goes_back_to_the_checklist(driver: Driver) -> None:
    iid = driver.start("access_revocation")
    driver.complete("revocation_checklist", iid, revoke_admin_accounts=False)
    assert driver.task_data("confirm_access_revoked", iid)["open_grants"] == 1

    # security ticks "all access verified as revoked": the gateway reads the grants, not the box
    assert driver.complete("confirm_access_revoked", iid, all_access_revoked=True) == "running"
    assert driver.open_elements(iid) == ["revocation_checklist"]
    assert grants(driver)["admin_accounts"] is None
    driver.complete("revocation_checklist", iid)
    assert driver.complete("confirm_access_revoked", iid, all_access_revoked=True) == "completed"
    assert driver.ended(iid) == ["access_revoked"]
    assert (driver.final_data(iid)["open_grants"], None in grants(driver).values()) == (0, False)


def test_a_grant_the_checklist_cannot_tick_keeps_the_revocation_open(driver: Driver) -> None:
    with driver.runtime.unit() as u:
        u.session.add(AccessGrant(customer_id=CUSTOMER, item="vpn", detail="site-to-site VPN"))
    iid = driver.start("access_revocation")
    driver.complete("revocation_checklist", iid)
    data = driver.task_data("confirm_access_revoked", iid)
    assert (data["access_remaining"], data["open_grants"]) == (["vpn"], 1)
    assert driver.complete("confirm_access_revoked", iid, all_access_revoked=True) == "running"
    assert driver.open_elements(iid) == ["revocation_checklist"]  # never "revoked" while the VPN stays open


def test_the_demo_book_leaves_no_churned_customer_with_an_open_grant(driver: Driver) -> None:
    with driver.runtime.unit() as u:
        demo_book.add_book(
            u.session,
            random.Random(1),  # two of the forty churn
            count=40,
            first_number=100,
            now=u.now,
            owners=["ana"],
            names=["Book"],
            config=dict(driver.runtime.config),
        )
    with driver.runtime.store.session() as s:
        churned = s.execute(select(Customer.id).where(Customer.stage == "churned")).scalars().all()
        still_open = s.execute(
            select(AccessGrant.customer_id).where(
                AccessGrant.customer_id.in_(churned), AccessGrant.revoked_at.is_(None)
            )
        ).all()
    assert churned and still_open == []


def test_the_demo_staff_cancel_what_holds_a_purge_back_and_retry_it(driver: Driver) -> None:
    ticket = driver.start("support", {"subject": "Slow export", "severity": "normal"})
    deletion = driver.start("deletion")
    driver.complete("confirm_deletion_agreement", deletion)
    assert driver.status(deletion) == "incident"

    demo.Simulation(driver.runtime, driver.clock, random.Random(1)).release_held_purges()
    assert (driver.status(ticket), driver.status(deletion)) == ("cancelled", "completed")
    assert driver.customer().purged_at is not None


# -- data_export -----------------------------------------------------------------------------------------
def test_the_export_archive_is_built_with_its_checksum_and_delivered(driver: Driver) -> None:
    iid = driver.start("data_export")
    assert driver.open_elements(iid) == ["deliver_export"]
    data = driver.task_data("deliver_export", iid)
    archive = Path(data["export_path"])
    assert hashlib.sha256(archive.read_bytes()).hexdigest() == data["export_sha256"]
    with zipfile.ZipFile(archive) as z:
        assert json.loads(z.read("customer.json"))["id"] == CUSTOMER
        assert [i["process_id"] for i in json.loads(z.read("instances.json"))] == ["data_export"]

    assert driver.complete("deliver_export", iid, delivered=True) == "completed"
    assert driver.ended(iid) == ["export_delivered"]


def test_an_export_the_customer_did_not_receive_is_delivered_again_without_rebuilding_it(driver: Driver) -> None:
    iid = driver.start("data_export")
    first = driver.task_data("deliver_export", iid)["export_path"]
    assert driver.complete("deliver_export", iid, delivered=False, delivery_channel="secure_link") == "running"
    assert driver.open_elements(iid) == ["deliver_export"]
    assert driver.task_data("deliver_export", iid)["export_path"] == first

    assert driver.complete("deliver_export", iid, delivered=True, delivery_channel="sftp") == "completed"
    assert driver.ended(iid) == ["export_delivered"]
    assert len(driver.audit(iid, "export_built")) == 1


# -- deletion --------------------------------------------------------------------------------------------
def test_deletion_purges_the_customer_and_mails_a_certificate_to_the_former_address(driver: Driver) -> None:
    earlier = driver.start("referrals", {"nps": 9})
    driver.complete("ask_for_referral", earlier, agreed=False, contact_notes="Call back in spring")
    iid = driver.start("deletion")
    assert driver.task("confirm_deletion_agreement", iid).candidate_groups == "security"

    assert driver.complete("confirm_deletion_agreement", iid, agreement_reference="DEL-42") == "completed"
    assert driver.ended(iid) == ["data_deleted"]
    customer = driver.customer()
    assert (customer.name, customer.email, customer.purged_at) == ("[deleted C-1]", None, driver.clock.now())

    data = driver.final_data(iid)
    certificate_id = data["certificate_id"]
    assert data["purged_instances"] == 1
    assert driver.mails() == [(EMAIL, f"Certificate of deletion {certificate_id}")]
    certificate = Path(driver.runtime.config["data_dir"]) / "certificates" / f"{CUSTOMER}-{certificate_id}.txt"
    assert "Agreement: DEL-42" in certificate.read_text(encoding="utf-8")

    assert "Call back in spring" not in driver.instance(earlier).state_json
    [redaction] = driver.audit(action="audit_redacted")
    before = [e for e in driver.audit() if e.customer_id == CUSTOMER and e.seq < redaction.seq]
    assert before and all(e.redacted for e in before)
    assert sorted(json.loads(redaction.payload)["seqs"]) == [e.seq for e in before]
    with driver.runtime.store.session() as s:
        assert audit.verify(s).ok


def test_a_confidential_purge_erases_contacts_comments_and_event_properties_but_keeps_scores(driver: Driver) -> None:
    with driver.runtime.unit() as u:
        customer = u.session.get(Customer, CUSTOMER)
        assert customer is not None
        contact = Contact(customer_id=CUSTOMER, name="Marina Costa", email="marina@acme.example", created_at=u.now)
        u.session.add(contact)
        u.session.flush()
        record_answer(
            u.session,
            driver.runtime.config,
            customer=customer,
            kind="nps",
            score=3,
            at=u.now,
            source="api",
            comment="Marina says the exports are slow",
            contact_id=contact.id,
        )
        record_event(
            u.session,
            customer=customer,
            name="feature_used",
            at=u.now,
            properties={"user": "marina@acme.example"},
            source="api",
            now=u.now,
        )
    iid = driver.start("deletion")
    driver.complete("confirm_deletion_agreement", iid, agreement_reference="DEL-7", purge_scope="confidential")
    assert driver.final_data(iid)["deleted_contacts"] == 1
    with driver.runtime.store.session() as s:
        assert s.execute(select(Contact)).first() is None
        [(score, comment, contact_id)] = s.execute(
            select(SurveyAnswer.score, SurveyAnswer.comment, SurveyAnswer.contact_id)
        ).all()
        assert (score, comment, contact_id) == (3, "", None)
        assert "marina" not in s.execute(select(ProductEvent.properties)).scalar_one()


def test_deletion_deletes_the_customers_export_archives_and_leaves_other_files(driver: Driver) -> None:
    export = driver.start("data_export")
    archive = Path(driver.task_data("deliver_export", export)["export_path"])
    driver.complete("deliver_export", export, delivered=True)
    other = archive.with_name(archive.name.replace(CUSTOMER, "C-2", 1))  # another customer's archive
    other.write_bytes(b"not C-1's")

    iid = driver.start("deletion")
    driver.complete("confirm_deletion_agreement", iid)
    assert driver.final_data(iid)["deleted_exports"] == 1
    assert not archive.exists() and other.read_bytes() == b"not C-1's"
    [deleted] = driver.audit(action="export_deleted")
    assert deleted.customer_id == CUSTOMER
    assert json.loads(deleted.payload) == {"customer": CUSTOMER, "file": archive.name}


def test_after_deletion_no_audit_payload_about_the_customer_shows_their_email_address(driver: Driver) -> None:
    iid = driver.start("deletion")
    driver.complete("confirm_deletion_agreement", iid)
    assert driver.mails() == [(EMAIL, f"Certificate of deletion {driver.final_data(iid)['certificate_id']}")]
    assert [e.action for e in driver.audit() if e.customer_id == CUSTOMER and EMAIL in e.payload] == []
