"""Sandboxed evaluation of BPMN scripts and expressions.

SpiffWorkflow's default environment ``exec``s author code with full builtins inside the engine. Here every
script, condition and timer expression is compiled with RestrictedPython under a stricter policy (no imports,
classes or introspection builtins; ``*``, ``**`` and ``<<`` size-guarded) and runs in a persistent worker
process (multiprocessing "forkserver") that caps its own address space with RLIMIT_AS. The parent waits at
most ``budget_seconds`` per call and kills the worker on timeout; a fresh one starts on the next call.
Replies are unpickled against an allow-list (plain data and datetime types), so even a subverted worker
cannot make the engine run code. ``now()`` in author code is the engine's injected clock, not the wall clock.
Like any multiprocessing user, a host *script* must guard its entry point with ``if __name__ == "__main__"``.
"""

from __future__ import annotations

import ast
import contextlib
import io
import multiprocessing
import operator
import pickle
import re
import resource
import signal
import sys
import textwrap
import threading
import types
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, Literal, cast

from RestrictedPython import Guards
from RestrictedPython.compile import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import safe_builtins
from RestrictedPython.PrintCollector import PrintCollector
from RestrictedPython.transformer import IOPERATOR_TO_STR, RestrictingNodeTransformer, copy_locations
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment

from engine._durations import parse_duration

Kind = Literal["forbidden", "syntax", "timeout", "memory", "runtime"]
MAX_SEQUENCE = 10_000_000  # items or characters one `*` or range() may produce
MAX_INT_BITS = 100_000  # bits of an integer that `*`, `**` or `<<` may produce (about 30,000 digits)
MAX_REPLY_BYTES = 32 * 2**20
_FILENAME = "<script>"
_FORBIDDEN_CALLS = frozenset(
    ["eval", "exec", "compile", "open", "globals", "locals", "vars", "dir", "getattr", "setattr", "delattr",
     "hasattr", "input", "breakpoint", "help", "type", "object", "super", "memoryview"]
)  # fmt: skip


class SandboxError(Exception):
    """Code was refused or failed in the sandbox; ``kind`` says why, ``line`` is 1-based within the code."""

    def __init__(self, kind: Kind, message: str, line: int | None = None) -> None:
        self.kind, self.message, self.line = kind, message, line
        super().__init__(f"{kind}{f' (line {line})' if line else ''}: {message}")


class _Policy(RestrictingNodeTransformer):
    """RestrictedPython's policy without imports and classes, and with size guards on ``*``, ``**``, ``<<``."""

    _guards = {ast.Mult: "_mul_", ast.Pow: "_pow_", ast.LShift: "_lshift_"}

    def _refuse(self, node: Any) -> Any:
        what = "class definitions" if isinstance(node, ast.ClassDef) else "import statements"
        self.error(node, f"{what} are not allowed")
        return node

    visit_Import = visit_ImportFrom = visit_ClassDef = _refuse

    def visit_Call(self, node: ast.Call) -> Any:
        if isinstance(node.func, ast.Name) and node.func.id in _FORBIDDEN_CALLS:
            self.error(node, f"calling {node.func.id}() is not allowed")
        return super().visit_Call(node)

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        node = self.node_contents_visit(node)
        if type(node.op) not in self._guards:
            return node
        call = ast.Call(ast.Name(self._guards[type(node.op)], ast.Load()), [node.left, node.right], [])
        for new in (call, call.func):
            copy_locations(new, node)
        return call

    def visit_AugAssign(self, node: ast.AugAssign) -> Any:
        """``d[k] += v`` becomes ``_augitem_(d, k, '+=', v)``; RestrictedPython alone refuses it."""
        target = node.target
        if not isinstance(target, ast.Subscript) or isinstance(target.slice, ast.Slice):
            return super().visit_AugAssign(node)
        op = ast.Constant(IOPERATOR_TO_STR[type(node.op)])
        args = [self.visit(target.value), self.visit(target.slice), op, self.visit(node.value)]
        stmt = ast.Expr(call := ast.Call(ast.Name("_augitem_", ast.Load()), args, []))
        for new in (stmt, call, call.func, op):
            copy_locations(new, node)
        return stmt


def _compile(source: str, mode: Literal["exec", "eval"]) -> types.CodeType:
    text = source.strip() if mode == "eval" else textwrap.dedent(source)
    try:
        tree = cast(ast.Module | ast.Expression, ast.parse(text, _FILENAME, mode))
        result = (compile_restricted_eval if mode == "eval" else compile_restricted_exec)(
            tree, _FILENAME, policy=_Policy
        )
    except SyntaxError as exc:
        raise SandboxError("syntax", exc.msg, exc.lineno) from None
    except (ValueError, RecursionError, MemoryError) as exc:  # null bytes, absurd nesting
        raise SandboxError("syntax", f"cannot parse the code ({type(exc).__name__}: {exc})") from None
    if result.errors:
        found = re.match(r"Line (\d+): (.*)", result.errors[0], re.DOTALL)
        line, message = (int(found[1]), found[2]) if found else (None, result.errors[0])
        raise SandboxError("forbidden", message.rstrip("."), line)
    return cast(types.CodeType, result.code)


def check(source: str, mode: Literal["exec", "eval"]) -> None:
    """Deploy-time lint: raise SandboxError ("syntax" or "forbidden", with line) unless ``source`` compiles."""
    if not isinstance(source, str) or not source.strip():
        raise SandboxError("syntax", "the code is empty")
    _compile(source, mode)


# ---- helpers for author code: pure functions; now() is the clock value sent with each request -------------
_now_value: datetime | None = None


def _now() -> datetime:
    assert _now_value is not None, "now() is only available inside the sandbox"
    return _now_value


def _today() -> date:
    return _now().date()


def parse_date(value: str | date) -> date:
    """``'2026-01-05'`` -> date; ISO datetimes -> aware datetime (naive ones are taken as UTC)."""
    if isinstance(value, str):
        text = value.strip()
        value = date.fromisoformat(text) if len(text) <= 10 else datetime.fromisoformat(text)
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return value
    raise TypeError(f"expected a date, a datetime or an ISO string, not {type(value).__name__}")


def add_days(value: str | date, days: float) -> date:
    """``value`` (date, datetime or ISO string) plus ``days``: a date or a datetime, like the input."""
    return parse_date(value) + timedelta(days=days)


def days_between(start: str | date, end: str | date) -> int:
    """Whole days from ``start`` to ``end`` (negative if earlier); compares dates if either is a date."""
    a, b = parse_date(start), parse_date(end)
    if not (isinstance(a, datetime) and isinstance(b, datetime)):
        a, b = (x.date() if isinstance(x, datetime) else x for x in (a, b))
    return (b - a).days


def iso(value: str | date) -> str:
    """ISO 8601 text of a date or datetime."""
    return parse_date(value).isoformat()


def duration(text: str, start: str | date | None = None) -> timedelta:
    """``'P3D'``, ``'PT4H'``, ``'P1M'`` -> timedelta, read like a BPMN timer: months and years are calendar months
    counted from ``start`` (a date, a datetime or an ISO string; default ``now()``)."""
    return parse_duration(text, _now() if start is None else parse_date(start))


HELPERS: dict[str, Any] = {
    "now": _now, "today": _today, "add_days": add_days, "days_between": days_between, "iso": iso,
    "parse_date": parse_date, "duration": duration,
    "datetime": datetime, "date": date, "timedelta": timedelta, "timezone": timezone,
}  # fmt: skip


# ---- runtime guards and the worker process -----------------------------------------------------------------
def _too_big(what: str) -> SandboxError:
    return SandboxError("memory", f"{what} would exceed the sandbox size limit")


def _mul(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int) and a.bit_length() + b.bit_length() > MAX_INT_BITS:
        raise _too_big("the integer product")
    for seq, n in ((a, b), (b, a)):
        if isinstance(n, int) and isinstance(seq, str | bytes | list | tuple) and len(seq) * n > MAX_SEQUENCE:
            raise _too_big(f"repeating a {type(seq).__name__} {n} times")
    return a * b


def _pow(a: Any, b: Any, mod: Any = None) -> Any:
    ints = isinstance(a, int) and isinstance(b, int)
    if mod is None and ints and abs(a) > 1 and b > 0 and a.bit_length() * b > MAX_INT_BITS:
        raise _too_big(f"{a} ** {b}")
    return pow(a, b) if mod is None else pow(a, b, mod)


def _lshift(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int) and a and b > 0 and a.bit_length() + b > MAX_INT_BITS:
        raise _too_big(f"shifting by {b} bits")
    return a << b


_INPLACE: dict[str, Callable[[Any, Any], Any]] = {
    "+=": operator.iadd, "-=": operator.isub, "*=": _mul, "/=": operator.itruediv, "//=": operator.ifloordiv,
    "%=": operator.imod, "**=": _pow, "<<=": _lshift, ">>=": operator.irshift, "&=": operator.iand,
    "|=": operator.ior, "^=": operator.ixor, "@=": operator.imatmul,
}  # fmt: skip


def _augitem(ob: Any, key: Any, op: str, value: Any) -> None:
    Guards.full_write_guard(ob)[key] = _INPLACE[op](default_guarded_getitem(ob, key), value)


def _range(*args: int) -> range:
    span = range(*args)
    with contextlib.suppress(OverflowError):  # len() of a range beyond sys.maxsize
        if len(span) <= MAX_SEQUENCE:
            return span
    raise _too_big(f"range() of more than {MAX_SEQUENCE} items")


_safer_getattr: Callable[[Any, str], Any] = Guards.safer_getattr_raise  # RestrictedPython is untyped


def _getattr(ob: Any, name: str) -> Any:
    clocky = isinstance(ob, date) or (isinstance(ob, type) and issubclass(ob, date))
    if clocky and name in ("now", "today", "utcnow"):
        raise SandboxError("forbidden", f"{name}() reads the wall clock; use the now() and today() helpers")
    return _safer_getattr(ob, name)


_BUILTINS = {k: v for k, v in safe_builtins.items() if k not in ("__build_class__", "setattr", "delattr")}
_BUILTINS.update(
    min=min, max=max, sum=sum, len=len, abs=abs, round=round, sorted=sorted, reversed=reversed, any=any,
    all=all, list=list, dict=dict, set=set, tuple=tuple, enumerate=enumerate, range=_range, str=str, int=int,
    float=float, bool=bool, zip=zip, pow=_pow,
)  # fmt: skip
_GLOBALS = {
    "__builtins__": _BUILTINS, "_getattr_": _getattr, "_getitem_": default_guarded_getitem,
    "_getiter_": default_guarded_getiter, "_iter_unpack_sequence_": Guards.guarded_iter_unpack_sequence,
    "_unpack_sequence_": Guards.guarded_unpack_sequence, "_write_": Guards.full_write_guard,
    "_inplacevar_": lambda op, x, y: _INPLACE[op](x, y), "_augitem_": _augitem, "_mul_": _mul, "_pow_": _pow,
    "_lshift_": _lshift, "_print_": PrintCollector, "_apply_": lambda f, *a, **k: f(*a, **k), **HELPERS,
}  # fmt: skip
_CODE_CACHE: dict[tuple[str, str], types.CodeType] = {}


def _to_data(value: Any, where: str) -> Any:
    """Copy ``value`` as JSON-like data (+ date, datetime, timedelta); tuples and sets become lists."""
    if isinstance(value, str | int | float | type(None) | date | timedelta):  # int covers bool
        if isinstance(value, datetime) and value.tzinfo and type(value.tzinfo) is not timezone:
            return value.astimezone(timezone(value.utcoffset() or timedelta()))  # e.g. ZoneInfo: not allow-listed
        return value
    if isinstance(value, list | tuple | set | frozenset):
        if isinstance(value, set | frozenset):  # a stable order: set order varies between processes
            with contextlib.suppress(TypeError):
                value = sorted(value)
        return [_to_data(item, where) for item in value]
    if isinstance(value, dict):
        return {_to_data(k, where): _to_data(v, where) for k, v in value.items()}
    hint = "convert it (e.g. with list() or str()) or del it at the end of the script"
    raise SandboxError("runtime", f"{where} holds a {type(value).__name__} value, which is not data; {hint}")


def _run(mode: Literal["exec", "eval"], source: str, context: dict[str, Any], now: datetime) -> Any:
    global _now_value
    if (code := _CODE_CACHE.get((mode, source))) is None:
        if len(_CODE_CACHE) >= 512:
            _CODE_CACHE.clear()
        code = _CODE_CACHE[mode, source] = _compile(source, mode)
    namespace = dict(_GLOBALS)
    namespace.update((k, v) for k, v in context.items() if not k.startswith("_"))
    _now_value = now
    if mode == "eval":
        return _to_data(eval(code, namespace), "the expression's value")
    exec(code, namespace)
    return {
        k: _to_data(v, f"variable {k!r}")
        for k, v in namespace.items()
        if not k.startswith("_") and not callable(v) and not isinstance(v, types.ModuleType)
    }


def _serve(request: bytes) -> bytes:
    try:
        reply: tuple[Any, ...] = ("ok", _run(*pickle.loads(request)))
    except BaseException as exc:  # SystemExit too: author code must never end the worker
        line, tb = None, exc.__traceback__
        while tb is not None:  # find the innermost frame of the author's code
            line = tb.tb_lineno if tb.tb_frame.f_code.co_filename == _FILENAME else line
            tb = tb.tb_next
        if isinstance(exc, SandboxError):
            reply = ("err", exc.kind, exc.message, exc.line or line)
        elif isinstance(exc, MemoryError):
            reply = ("err", "memory", "the code ran out of memory", line)
        else:
            reply = ("err", "runtime", f"{type(exc).__name__}: {exc}"[:500], line)
    data = pickle.dumps(reply, pickle.HIGHEST_PROTOCOL)
    if len(data) > MAX_REPLY_BYTES:
        data = pickle.dumps(("err", "memory", f"the result is larger than {MAX_REPLY_BYTES >> 20} MB", None))
    return data


_OOM_REPLY = pickle.dumps(("err", "memory", "the code ran out of memory", None))


def _worker_main(conn: Connection, memory_mb: int) -> None:
    """Worker process: cap own resources, then answer requests until the parent hangs up."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's business
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    sys.dont_write_bytecode = True
    for limit in (resource.RLIMIT_FSIZE, resource.RLIMIT_CORE):  # no file writes, no core dumps
        resource.setrlimit(limit, (0, 0))
    if memory_mb > 0:  # memory_mb of headroom above the worker's startup size
        with open("/proc/self/statm") as statm:
            size = int(statm.read().split()[0]) * resource.getpagesize() + memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (size, size))
    conn.send_bytes(b"ready")
    while True:
        try:
            request = conn.recv_bytes()
        except (EOFError, OSError):
            return
        try:
            reply = _serve(request)
        except MemoryError:
            reply = _OOM_REPLY
        conn.send_bytes(reply)


# ---- parent side -------------------------------------------------------------------------------------------
_MP = multiprocessing.get_context("forkserver")  # fork-safe with threads; ~10 ms per worker (re)start
_ALLOWED_CLASSES = {("datetime", n) for n in ("datetime", "date", "timedelta", "timezone")}


class _ReplyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED_CLASSES:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"sandbox reply contains a forbidden type {module}.{name}")


class Sandbox:
    """Runs author code in a worker process, one request at a time (thread-safe)."""

    def __init__(self, budget_seconds: float = 1.0, memory_mb: int = 256) -> None:
        self.budget_seconds, self.memory_mb = budget_seconds, memory_mb
        self._lock = threading.Lock()
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None

    def evaluate(self, expression: str, context: dict[str, Any], now: datetime) -> Any:
        """The value of ``expression`` with ``context`` as variables."""
        return self._call("eval", expression, context, now)

    def execute(self, script: str, context: dict[str, Any], now: datetime) -> dict[str, Any]:
        """Run ``script``; return the resulting variables (data only: no functions, modules or ``_names``)."""
        return cast(dict[str, Any], self._call("exec", script, context, now))

    def start(self) -> None:
        """Start the worker now rather than on first use."""
        with self._lock:
            self._worker()

    def close(self) -> None:
        with self._lock:
            self._stop()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _call(self, mode: Literal["exec", "eval"], source: str, context: dict[str, Any], now: datetime) -> Any:
        if not isinstance(source, str) or not source.strip():
            raise SandboxError("syntax", "the code is empty")
        if now.tzinfo is None:
            raise ValueError("now must be a timezone-aware datetime")
        visible = {k: v for k, v in context.items() if isinstance(k, str) and not k.startswith("_")}
        try:
            request = pickle.dumps((mode, source, visible, now), pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            raise SandboxError("runtime", f"the task data cannot be passed to the sandbox: {exc}") from None
        with self._lock:
            conn = self._worker()
            try:
                conn.send_bytes(request)
                if not conn.poll(self.budget_seconds):
                    self._stop()
                    from engine._metrics import SANDBOX_TIMEOUTS  # here: the forkserver preloads this module alone

                    SANDBOX_TIMEOUTS.inc()
                    raise SandboxError("timeout", f"script exceeded its {self.budget_seconds} s budget")
                reply = _ReplyUnpickler(io.BytesIO(conn.recv_bytes())).load()
            except pickle.UnpicklingError as exc:
                self._stop()
                raise SandboxError("runtime", f"the sandbox worker sent a bad reply: {exc}") from None
            except (EOFError, OSError):
                if self._stop() == -signal.SIGKILL:
                    raise SandboxError("memory", "the sandbox worker was killed (out of memory?)") from None
                raise SandboxError("runtime", "the sandbox worker died unexpectedly") from None
            if reply[0] == "ok":
                return reply[1]
            if reply[1] == "memory":
                self._stop()  # a fresh worker rather than a fragmented heap
        raise SandboxError(reply[1], reply[2], reply[3])

    def _worker(self) -> Connection:
        if self._conn is not None and self._process is not None and self._process.is_alive():
            return self._conn
        self._stop()
        _MP.set_forkserver_preload([__name__])  # the forkserver imports this module once, not every worker
        self._conn, child_conn = _MP.Pipe()
        self._process = _MP.Process(
            target=_worker_main, args=(child_conn, self.memory_mb), name="jornada-sandbox", daemon=True
        )
        self._process.start()
        child_conn.close()
        with contextlib.suppress(EOFError, OSError):
            if self._conn.poll(30) and self._conn.recv_bytes() == b"ready":
                return self._conn
        self._stop()
        raise SandboxError("runtime", "the sandbox worker did not start")

    def _stop(self) -> int | None:
        process, conn, self._process, self._conn = self._process, self._conn, None, None
        if conn is not None:
            conn.close()
        if process is None:
            return None
        process.kill()
        process.join(5)
        return process.exitcode


# ---- SpiffWorkflow integration -----------------------------------------------------------------------------
class SandboxedEnvironment(TaskDataEnvironment):
    """A SpiffWorkflow script environment that runs every script and expression in a Sandbox."""

    def __init__(self, sandbox: Sandbox, clock: Callable[[], datetime]) -> None:
        super().__init__({})
        self.sandbox, self.clock = sandbox, clock

    def evaluate(self, expression: str, context: dict[str, Any], external_context: Any = None) -> Any:
        return self.sandbox.evaluate(expression, {**(external_context or {}), **context}, self.clock())

    def execute(self, script: str, context: dict[str, Any], external_context: Any = None) -> bool:
        external = external_context or {}
        self.check_for_overwrite(context, external)
        result = self.sandbox.execute(script, {**external, **context}, self.clock())
        for gone in [k for k in context if isinstance(k, str) and not k.startswith("_") and k not in result]:
            del context[gone]  # the script deleted it
        context.update((k, v) for k, v in result.items() if k not in external)
        return True


class SandboxedScriptEngine(PythonScriptEngine):
    """``PythonScriptEngine(environment=SandboxedEnvironment(...))`` whose errors carry the reason and line.

    The plain engine reports a refused *expression* only as "Error evaluating expression ..." (the SandboxError
    is just the exception's ``__context__``) and puts line 0 on script errors; this subclass fixes both.
    """

    def evaluate(self, task: Any, expression: str, external_context: Any = None) -> Any:
        try:
            return super().evaluate(task, expression, external_context)
        except WorkflowTaskException as exc:
            if isinstance(cause := exc.__context__, SandboxError):
                exc.add_note(str(cause))
                exc.line_number, exc.error_line = cause.line, expression.strip() if cause.line else None
            raise

    def create_task_exec_exception(self, task: Any, script: str, err: Exception) -> Exception:
        if not isinstance(err, SandboxError):
            return cast(Exception, super().create_task_exec_exception(task, script, err))
        lines = textwrap.dedent(script or "").splitlines()
        text = lines[err.line - 1] if err.line and err.line <= len(lines) else ""
        failure: Exception = WorkflowTaskException(
            str(err), task=task, exception=err, line_number=err.line, error_line=text
        )
        return failure
