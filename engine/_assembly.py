"""Putting a runtime together: the store from the config's database URL, and the handlers of the installed plugins.

Plugins are the entry points of group ``jornada.plugins``: a module with ``register(registry)`` (handlers, start
guards, listeners) and optionally ``add_commands(subparsers)`` for the ``jornada`` command. The engine never
imports the CS domain; the domain reaches it only through this group.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

from engine._config import load_config
from engine._handlers import HandlerRegistry
from engine._runtime import Runtime
from engine._store import Store


def plugins() -> list[ModuleType]:
    """The installed plugin modules."""
    return [ep.load() for ep in entry_points(group="jornada.plugins")]


def build_runtime(config: dict[str, Any] | None = None) -> Runtime:
    """A runtime on the configured database with every plugin's handlers registered."""
    config = config or load_config()
    registry = HandlerRegistry()
    for plugin in plugins():
        getattr(plugin, "register", lambda _registry: None)(registry)
    return Runtime(Store(config["database_url"]), registry, config=config)
