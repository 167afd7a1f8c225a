"""The purge of a customer's data leaves nothing personal anywhere: every table and column of the database and
every file under the data folder is searched for each value the customer gave us, after the deletion process ran.
Also: open instances hold the purge back, purge_scope and retention_days do what the agreement says, and the
outbox forgets the address the certificate of deletion went to."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, select, text, update

from engine import _audit as audit
from engine._errors import FormValidationError
from engine._handlers import HandlerError
from engine._outbox import FORGOTTEN, MAX_ATTEMPTS, OutboxSender, queue_mail
from engine.models import HumanTask, Outbox
from processes.customers import Contact, Customer, create_customer
from processes.events import ProductEvent, record_event
from processes.purge import purge_scope
from processes.surveys import SurveyAnswer, record_answer
from processes.tickets import SupportTicket
from tests.processes.helpers import EMAIL, Driver
from web.models import TaskComment  # the web layer's table must exist for the purge to reach it

WHO = "C-9"
NAME = "Zephyrine Quillfeather Ltda"
ADDRESS = "zq.finance@quillfeather.example"
CONTACT = "Bartholomew Wobblesworth"
CONTACT_ADDRESS = "barty.wobble@quillfeather.example"
STREET = "Rua das Acácias 1234"
PHONE = "+55 11 98765-4321"
CSAT_COMMENT = "Zyxwvut fixed it in minutes"
SURVEY_COMMENT = "Quokkamire exports are slow"
REFERRED = "Hortensia Plumtree"
REFERRED_ADDRESS = "hortensia@plumtree.example"
COMMENT = f"Called {CONTACT}, they moved to {STREET}"
PERSONAL = (NAME, ADDRESS, CONTACT, CONTACT_ADDRESS, STREET, PHONE, CSAT_COMMENT, SURVEY_COMMENT, REFERRED)
PERSONAL += (REFERRED_ADDRESS, COMMENT)


def _forms(value: str) -> list[str]:
    """The value as text, and as it reads inside JSON written with non-ASCII characters escaped."""
    return sorted({value.lower(), json.dumps(value)[1:-1].lower()})


def leftovers(engine: Engine, data_dir: Path, values: tuple[str, ...]) -> list[str]:
    """Where any of ``values`` still shows: every column of every table (cast to text), every file under
    ``data_dir`` (the members of zip archives included)."""
    found = []
    with engine.connect() as conn:
        for name in inspect(conn).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{name}"')).mappings():
                for column, cell in row.items():
                    if cell is None:
                        continue
                    content = (cell.decode("utf-8", "replace") if isinstance(cell, bytes) else str(cell)).lower()
                    found += [f"{name}.{column}: {v}" for v in values if any(f in content for f in _forms(v))]
    for path in sorted(p for p in data_dir.rglob("*") if p.is_file()):
        for where, content in _file_texts(path):
            found += [f"{where}: {v}" for v in values if any(f in content for f in _forms(v))]
    return found


def _file_texts(path: Path) -> Iterator[tuple[str, str]]:
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                yield f"{path.name}/{member}", archive.read(member).decode("utf-8", "replace").lower()
    else:
        yield path.name, path.read_bytes().decode("utf-8", "replace").lower()


@pytest.fixture
def customer(driver: Driver) -> str:
    """C-9, with a contact, a survey comment and a product event naming its people."""
    with driver.runtime.unit() as u:
        created = create_customer(u.session, WHO, NAME, now=u.now, email=ADDRESS, csm_owner="ana")
        contact = Contact(customer_id=WHO, name=CONTACT, email=CONTACT_ADDRESS, language="en", created_at=u.now)
        u.session.add(contact)
        u.session.flush()
        config = driver.runtime.config
        record_answer(
            u.session, config, customer=created, kind="nps", score=4, at=u.now, source="api", comment=SURVEY_COMMENT
        )
        properties = {"user": CONTACT_ADDRESS, "office": STREET}
        record_event(
            u.session, customer=created, name="feature_used", at=u.now, properties=properties, source="api", now=u.now
        )
    return WHO


def work_a_ticket(driver: Driver, customer_id: str, subject: str, phone: str = PHONE, csat: str = CSAT_COMMENT) -> str:
    """A support ticket worked to its end: the CSAT survey is mailed, answered by message with a comment."""
    ticket = driver.start("support", {"subject": subject, "severity": "normal"}, customer_id=customer_id)
    driver.complete("triage_ticket", ticket)
    driver.complete("first_response", ticket, resolved_first_contact=True, response_summary=f"Called {phone}")
    driver.complete("resolve_ticket", ticket)
    driver.message("csat_response", {"csat_score": 5, "csat_comment": csat}, customer_id=customer_id)
    assert driver.status(ticket) == "completed"
    return ticket


def comment_on(driver: Driver, instance_id: str, body: str) -> None:
    with driver.runtime.unit() as u:
        task = u.session.execute(select(HumanTask).where(HumanTask.instance_id == instance_id)).scalars().first()
        assert task is not None
        u.session.add(
            TaskComment(human_task_id=task.id, instance_id=instance_id, author="carla", body=body, created_at=u.now)
        )


def delete(driver: Driver, customer_id: str = WHO, **form: object) -> str:
    deletion = driver.start("deletion", customer_id=customer_id)
    driver.complete("confirm_deletion_agreement", deletion, agreement_reference="DEL-9", retention_days=0, **form)
    return deletion


# -- nothing left ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("scope", ["confidential", "all_records"])
def test_after_the_purge_no_table_column_or_file_holds_anything_the_customer_gave_us(
    driver: Driver, customer: str, scope: str
) -> None:
    ticket = work_a_ticket(driver, customer, f"Invoice to {STREET} bounced")
    comment_on(driver, ticket, COMMENT)
    referral = driver.start("referrals", {"nps": 9}, customer_id=customer)
    driver.complete("ask_for_referral", referral, agreed=True)
    driver.complete(
        "record_referral", referral, referred_contact_name=REFERRED, referred_contact_email=REFERRED_ADDRESS
    )
    driver.complete("track_referral_outcome", referral)
    export = driver.start("data_export", customer_id=customer)
    archive = Path(driver.task_data("deliver_export", export)["export_path"])
    driver.complete("deliver_export", export)
    # another customer, whose data must stay whole
    others_ticket = work_a_ticket(driver, "C-1", "Acme cannot sign in", "+1 555 0100", "Acme is happy")
    sent_to = {recipient for recipient, _ in driver.mails()}
    assert {CONTACT_ADDRESS, EMAIL} <= sent_to
    engine, data_dir = driver.runtime.store.engine, Path(driver.runtime.config["data_dir"])
    assert archive.exists() and len(leftovers(engine, data_dir, PERSONAL)) > 20  # the search finds what is there

    deletion = delete(driver, purge_scope=scope)

    assert driver.status(deletion) == "completed"
    assert leftovers(engine, data_dir, PERSONAL) == []
    assert not archive.exists()
    with driver.runtime.store.session() as s:
        assert audit.verify(s).ok
        # the other customer's ticket, mail and records are untouched
        assert "Acme cannot sign in" in s.get(SupportTicket, others_ticket).subject  # type: ignore[union-attr]
        assert EMAIL in s.execute(select(Outbox.recipient)).scalars().all()
        assert s.get(Customer, "C-1").name == "Acme"  # type: ignore[union-attr]
    assert "Acme is happy" in driver.instance(others_ticket).state_json
    [purged] = driver.audit(action="customer_purged")
    summary = json.loads(purged.payload)
    assert (summary["purge_scope"], summary["redacted_comments"], summary["purged_instances"]) == (scope, 1, 3)
    assert summary["redacted_mails"] >= 1


def test_a_mail_to_the_customer_not_sent_yet_is_not_sent_after_the_purge(driver: Driver, customer: str) -> None:
    with driver.runtime.store.unit() as unit:  # queued, not sent yet (the mail server was down)
        s = unit.session
        unsent = queue_mail(s, driver.clock.now(), CONTACT_ADDRESS, f"Hello {CONTACT}", f"Dear {CONTACT}, ...")
        s.execute(update(Outbox).where(Outbox.id == unsent).values(attempts=1, last_error="OSError: down"))
    delete(driver)
    with driver.runtime.store.session() as s:
        row = s.get(Outbox, unsent)
        assert row is not None
        assert (row.recipient, row.body, row.sent_at, row.attempts) == ("[purged]", "", None, MAX_ATTEMPTS)
        assert row.last_error == "not sent: the customer's data was purged"
    assert all(CONTACT not in subject for _, subject in driver.mails())


def test_the_purge_leaves_the_mails_of_a_customer_whose_name_merely_starts_alike(driver: Driver) -> None:
    with driver.runtime.unit() as u:
        create_customer(u.session, "C-7", "Acme 7", now=u.now, email="team@acme7.example")
    with driver.runtime.store.unit() as unit:
        s = unit.session
        now = driver.clock.now()
        mine = queue_mail(s, now, "team@acme7.example", "Welcome aboard, Acme 7!", "Hello Acme 7")
        theirs = queue_mail(s, now, "team@acme70.example", "Welcome aboard, Acme 70!", "Hello Acme 70")
        to_staff = queue_mail(s, now, "ana@jornada.example", "Acme 7 is behind", "Step stuck for ACME 7.")
    delete(driver, "C-7")
    with driver.runtime.store.session() as s:
        subjects = {row.id: row.subject for row in s.execute(select(Outbox.id, Outbox.subject))}
    assert (subjects[mine], subjects[to_staff]) == ("[purged]", "[purged]")
    assert subjects[theirs] == "Welcome aboard, Acme 70!"


class Failing:
    def send(self, recipient: str, subject: str, body: str) -> None:
        raise OSError("mail server down")


def test_the_certificate_address_leaves_the_outbox_once_sent_or_given_up(driver: Driver, customer: str) -> None:
    deletion = delete(driver)
    certificate = f"Certificate of deletion {driver.final_data(deletion)['certificate_id']}"
    assert driver.mails()[-1] == (ADDRESS, certificate)  # it went to the address the customer had
    with driver.runtime.store.session() as s:
        assert s.execute(select(Outbox.recipient).where(Outbox.subject == certificate)).scalar_one() == FORGOTTEN

    with driver.runtime.store.unit() as unit:
        s = unit.session
        queue_mail(s, driver.clock.now(), "gone@example.org", "Certificate", "body", forget_recipient=True)
    sender = OutboxSender(driver.runtime.store, Failing(), driver.clock)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        sender.send_pending()
        with driver.runtime.store.session() as s:
            recipient = s.execute(select(Outbox.recipient).where(Outbox.subject == "Certificate")).scalar_one()
        assert recipient == (FORGOTTEN if attempt == MAX_ATTEMPTS else "gone@example.org")


# -- open instances hold the purge back ----------------------------------------------------------------------------
def test_an_open_instance_of_the_customer_holds_the_purge_back_until_it_is_finished(
    driver: Driver, customer: str
) -> None:
    ticket = driver.start("support", {"subject": f"Parcel to {STREET}", "severity": "normal"}, customer_id=customer)
    deletion = delete(driver)
    instance = driver.instance(deletion)
    assert instance.status == "incident"
    assert f"customer {WHO} still has open instances: support {ticket} (running)" in (instance.incident or "")
    assert driver.customer(WHO).name == NAME and driver.customer(WHO).purged_at is None  # nothing was purged
    assert "Parcel to Rua das" in driver.instance(ticket).state_json

    driver.runtime.cancel(ticket, actor="carla", reason="customer leaving")
    assert driver.runtime.retry(deletion, actor="gabi") == "completed"
    assert driver.customer(WHO).purged_at is not None
    assert "Parcel to Rua das" not in driver.instance(ticket).state_json


# -- purge_scope ---------------------------------------------------------------------------------------------------
def test_an_all_records_purge_deletes_the_answers_events_and_tickets_too(driver: Driver, customer: str) -> None:
    work_a_ticket(driver, customer, "Slow reports")
    delete(driver, purge_scope="all_records")
    with driver.runtime.store.session() as s:
        for model in (SurveyAnswer, ProductEvent, SupportTicket):
            assert s.execute(select(model).where(model.customer_id == WHO)).first() is None  # type: ignore[attr-defined]


def test_an_unknown_purge_scope_is_refused_with_the_known_ones_named(driver: Driver, customer: str) -> None:
    with pytest.raises(HandlerError, match="purge_scope 'everything' is not a known scope: use one of confidential"):
        purge_scope({"purge_scope": "everything"})
    assert purge_scope({}) == "confidential"
    deletion = driver.start("deletion", customer_id=customer)
    with pytest.raises(FormValidationError) as refused:
        driver.complete("confirm_deletion_agreement", deletion, purge_scope="everything")
    assert [(e.field, e.message) for e in refused.value.errors] == [
        ("purge_scope", "must be one of confidential, all_records")
    ]
    assert driver.open_elements(deletion) == ["confirm_deletion_agreement"]
    assert driver.customer(WHO).purged_at is None


# -- retention_days ------------------------------------------------------------------------------------------------
def test_the_purge_waits_for_the_agreed_retention_period(driver: Driver, customer: str) -> None:
    deletion = driver.start("deletion", customer_id=customer)
    assert driver.complete("confirm_deletion_agreement", deletion, retention_days=30) == "waiting"
    driver.advance(days=29, hours=23)
    assert driver.customer(WHO).purged_at is None and driver.status(deletion) == "waiting"

    driver.advance(hours=1, minutes=1)
    assert driver.status(deletion) == "completed"
    customer_row = driver.customer(WHO)
    assert (customer_row.name, customer_row.purged_at) == (f"[deleted {WHO}]", driver.clock.now())
    assert driver.final_data(deletion)["retention_days"] == 30
