"""Tests that run Jornada as an operator does: real ``jornada`` processes (servers, schedulers, the CLI) on one
database, driven over HTTP."""
