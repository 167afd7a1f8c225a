"""``jornada serve``: the app under gunicorn, with the scheduler in the master process when asked."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from gunicorn.app.base import BaseApplication

from web import ops

log = logging.getLogger(__name__)
WORKER_CLASS = "web.worker.KeepAliveWorker"  # gunicorn's threaded worker, kept-alive connections served in place
THREADS = 4


class _Server(BaseApplication):  # type: ignore[misc]
    def __init__(self, config: Mapping[str, Any], options: Mapping[str, Any]) -> None:
        self.jornada_config, self.options = dict(config), dict(options)
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from web import create_app

        return create_app(self.jornada_config)


def serve(
    config: Mapping[str, Any],
    *,
    host: str | None = None,
    port: int | None = None,
    workers: int | None = None,
    scheduler: bool | None = None,
) -> int:
    web = config["web"]
    bind = f"{host or web['host']}:{port or web['port']}"
    run_scheduler = config["scheduler"]["run_in_web"] if scheduler is None else scheduler
    holder: dict[str, Any] = {}

    def when_ready(_server: Any) -> None:
        print(f"Jornada is serving http://{bind}/  (scheduler {'on' if run_scheduler else 'off'})", flush=True)
        if run_scheduler:
            from engine import build_runtime, build_scheduler

            runtime = build_runtime(dict(config))
            holder["runtime"], holder["scheduler"] = runtime, build_scheduler(runtime)
            holder["scheduler"].start()

    def on_exit(_server: Any) -> None:
        if "scheduler" in holder:
            holder["scheduler"].shutdown(wait=True)
            holder["runtime"].close()

    options = {
        "bind": bind,
        "workers": workers or int(web["workers"]),
        "worker_class": WORKER_CLASS,
        "threads": THREADS,
        "accesslog": "-",
        "when_ready": when_ready,
        "on_exit": on_exit,
        "timeout": 60,
    }
    options.update(ops.gunicorn_options(dict(config)))  # structured request lines instead of gunicorn's access log
    _Server(config, options).run()
    return 0
