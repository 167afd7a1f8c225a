"""API tokens listed and revoked on the admin page, from the CLI and through the API, each revocation audited; and a
service token reads back the instance it started."""

from __future__ import annotations

import argparse
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from engine import Runtime
from engine.models import AuditEvent
from processes.customers import create_customer
from tests.web.helpers import csrf_token
from web import plugin
from web.accounts import users
from web.models import ApiToken

TICKET = {"subject": "Export fails", "severity": "normal", "channel": "api"}


@pytest.fixture
def tokens(runtime: Runtime, people: dict[str, int]) -> dict[str, str]:
    return {name: users.create_token(runtime, people[name], f"{name}-robot", actor="test") for name in people}


def token_id(runtime: Runtime, name: str) -> int:
    with runtime.store.session() as s:
        found: int = s.execute(select(ApiToken.id).where(ApiToken.name == name)).scalar_one()
    return found


def revocations(runtime: Runtime) -> list[tuple[str, str]]:
    with runtime.store.session() as s:
        rows = s.execute(select(AuditEvent).where(AuditEvent.action == "api_token_revoked").order_by(AuditEvent.seq))
        return [(e.actor, e.payload) for e in rows.scalars()]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- API ---------------------------------------------------------------------------------------------------------
def test_admins_list_every_token_others_only_their_own(app: Flask, tokens: dict[str, str]) -> None:
    client = app.test_client()
    everyone = client.get("/api/v1/tokens", headers=bearer(tokens["root"])).get_json()["tokens"]
    assert sorted(t["name"] for t in everyone) == sorted(f"{n}-robot" for n in tokens)
    assert set(everyone[0]) == {"id", "user", "name", "created_at", "revoked_at"}  # never the token itself
    one = client.get("/api/v1/tokens?user=sam", headers=bearer(tokens["root"])).get_json()["tokens"]
    assert [(t["user"], t["name"], t["revoked_at"]) for t in one] == [("sam", "sam-robot", None)]
    own = client.get("/api/v1/tokens", headers=bearer(tokens["sam"])).get_json()["tokens"]
    assert [t["user"] for t in own] == ["sam"]
    r = client.get("/api/v1/tokens?user=lea", headers=bearer(tokens["sam"]))
    assert r.status_code == 403
    assert client.get("/api/v1/tokens?user=nobody", headers=bearer(tokens["root"])).status_code == 404


def test_a_user_revokes_their_own_token_and_it_stops_working_audited(
    app: Flask, tokens: dict[str, str], runtime: Runtime
) -> None:
    client = app.test_client()
    own = token_id(runtime, "sam-robot")
    r = client.delete(f"/api/v1/tokens/{own}", headers=bearer(tokens["sam"]))
    assert r.status_code == 200
    assert r.get_json()["revoked_at"] is not None
    assert client.get("/api/v1/tasks", headers=bearer(tokens["sam"])).status_code == 401
    assert revocations(runtime) == [("sam", f'{{"name":"sam-robot","token_id":{own},"user":"sam"}}')]


def test_staff_cannot_revoke_someone_elses_token_admins_can(
    app: Flask, tokens: dict[str, str], runtime: Runtime
) -> None:
    client = app.test_client()
    leas = token_id(runtime, "lea-robot")
    r = client.delete(f"/api/v1/tokens/{leas}", headers=bearer(tokens["sam"]))
    assert r.status_code == 403 and "not yours" in r.get_json()["message"]
    assert revocations(runtime) == []
    assert client.delete(f"/api/v1/tokens/{leas}", headers=bearer(tokens["root"])).status_code == 200
    again = client.delete(f"/api/v1/tokens/{leas}", headers=bearer(tokens["root"]))
    assert again.status_code == 409 and "already revoked" in again.get_json()["message"]
    assert client.delete("/api/v1/tokens/999999", headers=bearer(tokens["root"])).status_code == 404
    assert len(revocations(runtime)) == 1


# -- admin page --------------------------------------------------------------------------------------------------
def test_the_admin_page_lists_tokens_and_revokes_one(client_for, tokens: dict[str, str], runtime: Runtime) -> None:
    admin = client_for("root")
    page = admin.get("/admin/").get_data(as_text=True)
    assert "sam-robot" in page and "Revoke token sam-robot of sam" in page
    sams = token_id(runtime, "sam-robot")
    r = admin.post(f"/admin/tokens/{sams}/revoke", data={"csrf_token": csrf_token(admin, "/admin/")})
    assert r.status_code == 303
    page = admin.get("/admin/").get_data(as_text=True)
    assert "API token sam-robot of sam revoked." in page
    assert "Revoke token sam-robot of sam" not in page  # no button for a revoked token
    assert revocations(runtime)[0][0] == "root"
    r = admin.post(f"/admin/tokens/{sams}/revoke", data={"csrf_token": csrf_token(admin, "/admin/")})
    assert "already revoked" in admin.get("/admin/").get_data(as_text=True)


# -- CLI ---------------------------------------------------------------------------------------------------------
def cli(runtime: Runtime, action: str, id: int | None = None, user: str | None = None) -> None:
    plugin.cmd_tokens(runtime, argparse.Namespace(action=action, id=id, user=user, actor="ops"))


def test_the_cli_lists_and_revokes_tokens(
    runtime: Runtime, tokens: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert "tokens" in {name for name, *_rest in plugin.commands()}  # `jornada tokens` is registered
    cli(runtime, "list", user="sam")
    out = capsys.readouterr().out
    assert "sam-robot" in out and "lea-robot" not in out
    sams = token_id(runtime, "sam-robot")
    cli(runtime, "revoke", sams)
    assert f"token {sams} (sam-robot) of sam revoked" in capsys.readouterr().out
    assert revocations(runtime)[0][0] == "ops"
    cli(runtime, "list")
    line = next(line for line in capsys.readouterr().out.splitlines() if "sam-robot" in line)
    assert line.split()[-2:] == ["2026-01-05", "09:00"]  # revoked at (the frozen clock)
    with pytest.raises(SystemExit, match="already revoked"):
        cli(runtime, "revoke", sams)
    with pytest.raises(SystemExit, match="no user 'nobody'"):
        cli(runtime, "list", user="nobody")
    with pytest.raises(SystemExit, match="give the token's id"):
        cli(runtime, "revoke")


# -- instances ---------------------------------------------------------------------------------------------------
@pytest.fixture
def customer(runtime: Runtime, deployed: None) -> None:
    with runtime.unit() as u:
        create_customer(u.session, "C-1", "Acme", now=u.now, email="cs@acme.example")


def start(app: Flask, token: str) -> str:
    body: dict[str, Any] = {"process_id": "support", "customer_id": "C-1", "data": TICKET}
    r = app.test_client().post("/api/v1/instances", headers=bearer(token), json=body)
    assert r.status_code == 201, r.get_data(as_text=True)
    return str(r.get_json()["id"])


def test_a_staff_service_token_reads_back_the_instance_it_started(
    app: Flask, tokens: dict[str, str], customer: None
) -> None:
    # fin is staff outside the support group: the ticket's triage task is not theirs, but the instance is
    instance_id = start(app, tokens["fin"])
    r = app.test_client().get(f"/api/v1/instances/{instance_id}", headers=bearer(tokens["fin"]))
    assert r.status_code == 200 and r.get_json()["started_by"] == "fin"
    # sam works the support queue where its open task waits: may read it too
    r = app.test_client().get(f"/api/v1/instances/{instance_id}", headers=bearer(tokens["sam"]))
    assert r.status_code == 200


def test_staff_neither_starter_nor_worker_of_its_tasks_cannot_read_an_instance(
    app: Flask, tokens: dict[str, str], customer: None, runtime: Runtime
) -> None:
    instance_id = start(app, tokens["sam"])
    r = app.test_client().get(f"/api/v1/instances/{instance_id}", headers=bearer(tokens["fin"]))
    assert r.status_code == 403 and "only its starter" in r.get_json()["message"]
    assert app.test_client().get(f"/api/v1/instances/{instance_id}", headers=bearer(tokens["dan"])).status_code == 403
    with runtime.store.session() as s:  # reading changed nothing
        assert s.execute(select(func.count()).select_from(AuditEvent)).scalar_one() > 0
