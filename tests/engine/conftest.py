"""The engine's tests run on the runtime wired with the CS domain's handlers, whose start guard refuses a process
for a customer not on file: the customers these tests name are put on file first. ``cli`` runs the command line
on its own database."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import Store
from engine._cli import main
from processes.customers import Customer, create_customer

# the ids the engine's tests start processes for (the concurrency tests make up C-<n> and C-<n>-<i>)
CUSTOMERS = (*(f"C-{n}" for n in range(10)), *(f"C-{n}-{i}" for n in range(4) for i in range(8)))


@pytest.fixture(autouse=True)
def customers_on_file(request: pytest.FixtureRequest) -> None:
    if "store" not in request.fixturenames:
        return
    store: Store = request.getfixturevalue("store")
    clock = request.getfixturevalue("clock")
    with store.session() as session:
        for customer_id in CUSTOMERS:
            if session.get(Customer, customer_id) is None:
                create_customer(session, customer_id, f"Customer {customer_id}", now=clock.now(), accesses=())
        session.commit()


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    db = tmp_path / "cli.db"
    monkeypatch.setenv("JORNADA_DATABASE_URL", f"sqlite:///{db}")
    monkeypatch.setenv("JORNADA_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.chdir(tmp_path)

    def run(*argv: str) -> int:
        return main(list(argv))

    run.db = db  # type: ignore[attr-defined]
    return run
