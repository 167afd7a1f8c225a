"""The web layer's ``jornada`` commands: ``users`` (add, list, token, demo), ``tokens`` (list, revoke) and
``serve``."""

from __future__ import annotations

import argparse
import getpass
import os
from typing import Any

from sqlalchemy import select

from engine import Runtime

DEMO_PASSWORD = "jornada-demo"
# One demo user per role; staff and leads work in the shipped models' groups.
DEMO_USERS: list[tuple[str, str, list[str], list[str]]] = [
    ("sam", "Sam Staff", ["staff"], ["csm", "support"]),
    ("lea", "Lea Lead", ["lead"], ["csm", "cs_lead", "support", "trainer", "finance", "security"]),
    ("dan", "Dan Designer", ["designer"], []),
    ("ada", "Ada Auditor", ["auditor"], []),
    ("admin", "Admin", ["admin"], []),
]


def cmd_users(rt: Runtime, args: argparse.Namespace) -> int:
    from web.accounts import users
    from web.models import User

    if args.action == "add":
        if not args.name:
            raise SystemExit("users add: give the user name")
        password = args.password or os.environ.get("JORNADA_NEW_PASSWORD") or getpass.getpass("password: ")
        try:
            users.add_user(rt, args.name, password, roles=args.role or [], groups=args.group or [], actor=args.actor)
        except users.UserError as exc:
            raise SystemExit(f"users add: {exc}") from None
        print(f"user {args.name} added with roles {', '.join(sorted(args.role or [])) or '-'}")
    elif args.action == "token":
        with rt.store.session() as s:
            user_id = s.execute(select(User.id).where(User.username == args.name)).scalar_one_or_none()
        if user_id is None:
            raise SystemExit(f"users token: no user {args.name!r}")
        try:
            print(users.create_token(rt, user_id, args.token_name, actor=args.actor))
        except users.UserError as exc:
            raise SystemExit(f"users token: {exc}") from None
    elif args.action == "demo":
        ensure_demo_users(rt)
    else:
        with rt.store.session() as s:
            groups = users.memberships(s)
            for user in s.execute(select(User).order_by(User.username)).scalars():
                print(f"{user.username:<16} {user.roles:<28} {','.join(groups.get(user.id, []))}")
    return 0


def cmd_tokens(rt: Runtime, args: argparse.Namespace) -> int:
    """``tokens list [--user U]``: id, user, name, created and revoked (UTC); ``tokens revoke ID``: audited."""
    from engine import EngineError
    from web.accounts import users

    if args.action == "revoke":
        if args.id is None:
            raise SystemExit("tokens revoke: give the token's id (see `jornada tokens list`)")
        try:
            revoked = users.revoke_token(rt, args.id, actor=args.actor)
        except EngineError as exc:
            raise SystemExit(f"tokens revoke: {exc}") from None
        print(f"token {revoked.id} ({revoked.name}) of {revoked.username} revoked")
        return 0
    if args.id is not None:
        raise SystemExit("tokens list: takes no id; use --user U to list one user's tokens")
    with rt.store.session() as s:
        user_id = None if args.user is None else users.user_id_of(s, args.user)
        if args.user is not None and user_id is None:
            raise SystemExit(f"tokens list: no user {args.user!r}")
        found = users.list_tokens(s, user_id=user_id)
    print(f"{'id':>6}  {'user':<16} {'name':<20} {'created (UTC)':<17} revoked (UTC)")
    for token in found:
        ended = f"{token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "-"
        print(f"{token.id:>6}  {token.username:<16} {token.name:<20} {token.created_at:%Y-%m-%d %H:%M} {ended}")
    return 0


def configure_tokens(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["list", "revoke"])
    parser.add_argument("id", nargs="?", type=int, help="revoke: the token's id")
    parser.add_argument("--user", help="list: only this user's tokens")


def ensure_demo_users(rt: Runtime) -> None:
    """Create the demo users that are missing and print how to sign in."""
    from web.accounts import users
    from web.models import User

    with rt.store.session() as s:
        existing = set(s.execute(select(User.username)).scalars())
    for name, display, roles, groups in DEMO_USERS:
        if name not in existing:
            users.add_user(
                rt, name, DEMO_PASSWORD, roles=roles, groups=groups, display_name=display, actor="demo-setup"
            )
    print(f"demo users (password {DEMO_PASSWORD!r}):")
    for name, _display, roles, groups in DEMO_USERS:
        print(f"  {name:<6} {','.join(roles):<9} groups: {', '.join(groups) or '-'}")


def configure_users(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["add", "list", "token", "demo"])
    parser.add_argument("name", nargs="?")
    parser.add_argument("--role", action="append", help="staff, lead, designer, auditor or admin (repeatable)")
    parser.add_argument("--group", action="append", help="a BPMN lane / candidate group (repeatable)")
    parser.add_argument("--password", help="else $JORNADA_NEW_PASSWORD, else asked")
    parser.add_argument("--token-name", default="api")


def cmd_serve(rt: Runtime, args: argparse.Namespace) -> int:
    from web.server import serve

    config: dict[str, Any] = dict(rt.config)
    rt.close()  # each worker builds its own runtime
    return serve(config, host=args.host, port=args.port, workers=args.workers, scheduler=args.scheduler)


def configure_serve(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("--workers", type=int)
    parser.add_argument(
        "--scheduler",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="run the timer/stuck-step scheduler in the server (default: config scheduler.run_in_web)",
    )


def commands() -> list[tuple[str, object, str, object]]:
    return [
        ("users", cmd_users, "add and list users, issue API tokens, create the demo users", configure_users),
        ("tokens", cmd_tokens, "list and revoke API tokens", configure_tokens),
        ("serve", cmd_serve, "serve the web app (gunicorn)", configure_serve),
    ]
