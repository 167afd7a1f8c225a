"""The signed-in person as the web layer sees them: name, roles and groups, loaded once per request."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

SEE_ALL = frozenset({"lead", "admin"})


@dataclass(frozen=True)
class Principal:
    id: int
    username: str
    display_name: str
    roles: frozenset[str]
    groups: frozenset[str] = field(default_factory=frozenset)
    language: str | None = None
    session_generation: int = 0  # see User.session_generation; a session cookie must carry the same value

    # flask-login's user protocol
    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return str(self.id)

    def has(self, *roles: str) -> bool:
        return bool(self.roles & set(roles))

    @property
    def sees_all_tasks(self) -> bool:
        return bool(self.roles & SEE_ALL)

    def task_groups(self) -> Collection[str] | None:
        """The ``groups`` argument of the engine's task operations: None lifts the group check (leads, admins)."""
        return None if self.sees_all_tasks else self.groups
