"""The gunicorn worker ``jornada serve`` runs: gunicorn's threaded worker, serving a kept-alive connection's next
request in the thread that answered the last one.

Why our own subclass (issue 13, ``bench/http_throughput.py --workers 1 --clients 1``): in gunicorn's gthread
worker every request of a kept-alive connection crosses threads twice. The answering thread hands the connection
back to the main thread (a pipe write and a wake-up), which puts it in its poller; when the next request arrives,
the main thread wakes again, takes it out of the poller and queues it for a pool thread. For an API client that
sends its next request a fraction of a millisecond after the answer (a script completing tasks one after the
other), those hand-offs cost about as much as Flask itself: a plain Flask view answers in 0.30 ms through gthread
and in 0.17 ms when the thread keeps the connection. So after answering, a thread waits up to ``LINGER`` seconds
for the same connection's next request and serves it itself; only when none comes does the connection go back to
the poller as before. A thread lingers only while another pool thread is free, so a lingering thread never keeps a
queued request waiting; a stopping worker does not linger. Everything else (parsing, limits, keep-alive timeouts,
graceful stop, max_requests) is gunicorn's own code, unchanged.

It also freezes the garbage collector's view of the objects that exist once the app is loaded (``gc.freeze``):
the modules, the routes, the parsed BPMN specs built at start live as long as the worker, and a full collection no
longer walks them (CPython's documentation recommends this for pre-loaded servers).
"""

from __future__ import annotations

import gc
import select
import threading
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

LINGER = 0.002  # seconds a thread waits for the next request of the connection it just answered


class KeepAliveWorker(ThreadWorker):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._busy = 0  # pool threads inside handle()
        self._busy_lock = threading.Lock()

    def load_wsgi(self) -> None:
        super().load_wsgi()
        gc.collect()
        gc.freeze()

    def handle(self, conn: Any) -> Any:
        """gunicorn's handle(), again for each request that arrives within LINGER on the same connection."""
        with self._busy_lock:
            self._busy += 1
        try:
            while True:
                result = super().handle(conn)
                if result is not True or not self._next_request_arrives(conn):
                    return result
        finally:
            with self._busy_lock:
                self._busy -= 1

    def _next_request_arrives(self, conn: Any) -> bool:
        if not self.alive or self._busy >= self.cfg.threads:
            return False  # stopping, or every other thread is busy: the poller takes the connection
        if conn.parser.unreader.buf.getvalue():
            return False  # read ahead: gunicorn's finish_request queues it at once
        waiting = select.poll()  # no descriptor of its own to open and close, unlike an epoll selector
        waiting.register(conn.sock, select.POLLIN)
        return bool(waiting.poll(LINGER * 1000))
