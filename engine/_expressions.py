"""Expressions from other BPMN dialects: Camunda 7's JUEL (``${…}``, ``#{…}``) and Camunda 8's FEEL (``=…``, or
any text of an element whose ``language``, or whose document's ``expressionLanguage``, names FEEL), translated into
the sandboxed Python the engine evaluates.

Why a translator and not an interpreter: every condition and timer already runs in ``engine._sandbox`` (separate
process, RestrictedPython, time and memory limits). A FEEL or JUEL interpreter running in the engine would be a
second evaluator outside that guard, and the only FEEL package for Python (bkflow-feel) is small, last released in
2023 and knows nothing of JUEL. So each expression is parsed with a real grammar (``lark``, LALR: linear time, no
recursion while parsing) and printed back as a fully parenthesised Python expression over the same variables; the
sandbox stays the only thing that runs it, and the deploy lint compiles the result like any Python condition.

The subset real models use: variables, property access ``a.b`` / ``a["b"]`` / ``a[0]``, comparisons (``== != < <=
> >=``, JUEL ``eq ne lt gt le ge``, FEEL ``=`` and ``!=``), boolean operators (JUEL ``&& || ! and or not``, FEEL
``and or not(…)``), literals (numbers, strings, ``true false null``), JUEL ``empty x`` and ``a ? b : c``, FEEL
``x in [1, 2]``, ``x between a and b``, ``if a then b else c`` and ``some/every x in list satisfies test``,
arithmetic ``+ - * /`` (JUEL ``div mod %``) and parentheses. Anything else (method and function calls, lambdas,
FEEL names with spaces, ranges, filters, text around a JUEL expression, names starting with ``_``, absurd sizes or
nesting) raises UnsupportedExpression naming the construct, so deploy refuses it instead of the instance failing
later.

Semantics, documented choices:
- ``a.b`` and ``a["b"]`` read a key of a mapping with ``a.get("b")``: a missing key is None (null), as in JUEL's
  map resolver and FEEL. Integer subscripts ``a[0]`` index lists (JUEL, 0-based); FEEL's 1-based filters are refused.
- A missing *variable* is not turned into None: the sandbox has no way to look a name up by text, so the sandbox's
  NameError ("name 'x' is not defined") stops the instance with an incident naming it. This is what Camunda 7 does
  too (JUEL's "Cannot resolve identifier 'x'"); Zeebe's FEEL would yield null. Set the variable (a form field or a
  handler result) before the gateway.
- ``empty x`` is ``x in (None, '', [], {})``: true for null, the empty string, an empty list or map.
- ``/`` and ``div`` divide as Python ``/`` (JUEL divides as decimals); ``%`` and ``mod`` are Python ``%``.
"""

from __future__ import annotations

import ast
import keyword
import math
import re
import threading
from dataclasses import dataclass
from functools import cache, partial
from typing import Any

from lark import Lark, Token, Tree
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lxml import etree

MAX_LENGTH = 4000  # characters of one expression
MAX_DEPTH = 40  # nesting of operators and parentheses
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
PYTHON = "python"  # the language of a rewritten expression
# elements whose text is an expression SpiffWorkflow evaluates (condition, multi-instance and timer expressions)
EXPRESSION_TAGS = (
    "conditionExpression",
    "completionCondition",
    "loopCardinality",
    "timeDuration",
    "timeDate",
    "timeCycle",
)
_JUEL = re.compile(r"^\s*[$#]\{(.*)\}\s*$", re.DOTALL)


class UnsupportedExpression(ValueError):
    """An expression outside the supported subset; the message names the construct and what to write instead."""


# ---- grammars ----------------------------------------------------------------------------------------------------
_COMMON = r"""
    NAME: /[^\W\d_]\w*/ | /_\w*/
    NUMBER: /(\d+(\.\d+)?|\.\d+)([eE][+-]?\d+)?/
    %import common.WS
    %ignore WS
"""

_JUEL_GRAMMAR = (
    r"""
    ?start: expr
    ?expr: or_expr
         | or_expr "?" expr ":" expr        -> ternary
    ?or_expr: and_expr
         | or_expr ("||" | "or") and_expr   -> or_
    ?and_expr: eq_expr
         | and_expr ("&&" | "and") eq_expr  -> and_
    ?eq_expr: rel_expr
         | eq_expr ("==" | "eq") rel_expr   -> eq
         | eq_expr ("!=" | "ne") rel_expr   -> ne
    ?rel_expr: add_expr
         | rel_expr ("<" | "lt") add_expr   -> lt
         | rel_expr (">" | "gt") add_expr   -> gt
         | rel_expr ("<=" | "le") add_expr  -> le
         | rel_expr (">=" | "ge") add_expr  -> ge
    ?add_expr: mul_expr
         | add_expr "+" mul_expr            -> add
         | add_expr "-" mul_expr            -> sub
    ?mul_expr: unary
         | mul_expr "*" unary               -> mul
         | mul_expr ("/" | "div") unary     -> div
         | mul_expr ("%" | "mod") unary     -> mod
    ?unary: postfix
         | ("!" | "not") unary              -> not_
         | "-" unary                        -> neg
         | "empty" unary                    -> empty
    ?postfix: atom
         | postfix "." NAME                 -> attr
         | postfix "[" expr "]"             -> item
         | postfix "(" [expr ("," expr)*] ")" -> call
    ?atom: NUMBER                           -> number
         | STRING                           -> string
         | "true"                           -> true
         | "false"                          -> false
         | "null"                           -> null
         | NAME                             -> var
         | "(" expr ")"
    STRING: /'(\\.|[^'\\])*'/ | /"(\\.|[^"\\])*"/
    """
    + _COMMON
)

_FEEL_GRAMMAR = (
    r"""
    ?start: expr
    ?expr: or_expr
         | "if" expr "then" expr "else" expr -> ifelse
         | "some" NAME "in" or_expr "satisfies" expr  -> some
         | "every" NAME "in" or_expr "satisfies" expr -> every
    ?or_expr: and_expr
         | or_expr "or" and_expr            -> or_
    ?and_expr: cmp_expr
         | and_expr "and" cmp_expr          -> and_
    ?cmp_expr: add_expr
         | add_expr "=" add_expr            -> eq
         | add_expr "!=" add_expr           -> ne
         | add_expr "<" add_expr            -> lt
         | add_expr ">" add_expr            -> gt
         | add_expr "<=" add_expr           -> le
         | add_expr ">=" add_expr           -> ge
         | add_expr "in" list               -> in_
         | add_expr "between" add_expr "and" add_expr -> between
    ?add_expr: mul_expr
         | add_expr "+" mul_expr            -> add
         | add_expr "-" mul_expr            -> sub
    ?mul_expr: unary
         | mul_expr "*" unary               -> mul
         | mul_expr "/" unary               -> div
    ?unary: postfix
         | "-" unary                        -> neg
    ?postfix: atom
         | postfix "." NAME                 -> attr
         | postfix "[" expr "]"             -> filter
         | NAME "(" [expr ("," expr)*] ")"  -> call
         | "not" "(" expr ")"               -> not_
    ?atom: NUMBER                           -> number
         | STRING                           -> string
         | "true"                           -> true
         | "false"                          -> false
         | "null"                           -> null
         | NAME                             -> var
         | list
         | "(" expr ")"
    list: "[" [expr ("," expr)*] "]"
    STRING: /"(\\.|[^"\\])*"/
    """
    + _COMMON
)


_PARSE_LOCK = threading.Lock()


@cache
def _parser(dialect: str) -> Lark:
    grammar = _JUEL_GRAMMAR if dialect == "JUEL" else _FEEL_GRAMMAR
    return Lark(grammar, parser="lalr", maybe_placeholders=False)


_BINARY = {"or_": "or", "and_": "and", "eq": "==", "ne": "!=", "lt": "<", "gt": ">", "le": "<=", "ge": ">=",
           "add": "+", "sub": "-", "mul": "*", "div": "/", "mod": "%"}  # fmt: skip
_GROUPS = {"or_": "or", "and_": "and", "add": "+", "sub": "+", "mul": "*", "div": "*", "mod": "*"}
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"'}


def _string(token: str) -> str:
    body = token[1:-1]
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m[1], m[1]), body, flags=re.DOTALL)


def _dotted(node: Tree[Token] | Token) -> str:
    """``execution.getVariable`` for the callee of a call, for the message."""
    if isinstance(node, Token):
        return str(node)
    if node.data == "var":
        return str(node.children[0])
    if node.data == "attr":
        return f"{_dotted(node.children[0])}.{node.children[1]}"
    return "(…)"


class _Printer:
    """Prints a parse tree as a fully parenthesised Python expression, refusing what is outside the subset."""

    def name(self, token: Tree[Token] | Token, variable: bool = True) -> str:
        text = str(token)
        if text.startswith("_"):
            raise UnsupportedExpression(f"name {text!r} starts with '_', which is not allowed")
        if variable and (keyword.iskeyword(text) or not text.isidentifier()):
            raise UnsupportedExpression(f"name {text!r} is a reserved word of the engine's expressions: rename it")
        return text

    def print(self, node: Tree[Token] | Token, depth: int = 0) -> str:
        if depth > MAX_DEPTH:
            raise UnsupportedExpression(f"the expression is nested more than {MAX_DEPTH} levels deep")
        if isinstance(node, Token):  # a bare NAME/NUMBER/STRING never reaches here (each has an alias)
            raise UnsupportedExpression(f"unexpected {node!r}")
        kind, args = node.data, node.children
        sub = [partial(self.print, arg, depth + 1) for arg in args]  # printed on demand
        if kind in _BINARY:  # a left-associative chain (a or b or c, a + b - c) is read iteratively, unnested
            group, chain, left = _GROUPS.get(kind), [(kind, args[1])], args[0]
            while group is not None and isinstance(left, Tree) and _GROUPS.get(left.data) == group:
                chain.append((left.data, left.children[1]))
                left = left.children[0]
            if group not in (None, "or", "and"):  # Python nests these in its syntax tree; and/or stay flat
                depth += len(chain) - 1
                if depth > MAX_DEPTH:
                    message = f"the expression has more than {MAX_DEPTH} arithmetic operators in a row"
                    raise UnsupportedExpression(message)
            parts = [self.print(left, depth + 1)]
            parts += [f"{_BINARY[op]} {self.print(right, depth + 1)}" for op, right in reversed(chain)]
            return "(" + " ".join(parts) + ")"
        if kind == "number":
            text = str(args[0])
            if not re.search(r"[.eE]", text):
                return str(int(text))
            if not math.isfinite(number := float(text)):
                raise UnsupportedExpression(f"the number {text} is too large")
            return repr(number)
        if kind == "string":
            return repr(_string(str(args[0])))
        if kind in ("true", "false", "null"):
            return {"true": "True", "false": "False", "null": "None"}[kind]
        if kind == "var":
            return self.name(args[0])
        if kind == "attr":
            return f"{sub[0]()}.get({self.name(args[1], variable=False)!r})"  # a key: Python words are fine
        if kind == "item":
            key = args[1]
            if isinstance(key, Tree) and key.data == "string":
                return f"{sub[0]()}.get({sub[1]()})"
            return f"{sub[0]()}[{sub[1]()}]"
        if kind == "filter":
            raise UnsupportedExpression(
                f"FEEL filter or index '{_dotted(args[0])}[…]' is not supported: compare a variable instead"
            )
        if kind == "call":
            callee = _dotted(args[0])
            what = "method call" if "." in callee else "function call"
            hint = "use the variable name" if callee.startswith("execution.") else "compute it in a script task"
            raise UnsupportedExpression(f"{what} '{callee}' is not supported: {hint}")
        if kind == "not_":
            return f"(not {sub[0]()})"
        if kind == "neg":
            return f"(-{sub[0]()})"
        if kind == "empty":
            return f"({sub[0]()} in (None, '', [], {{}}))"
        if kind in ("ternary", "ifelse"):
            return f"({sub[1]()} if {sub[0]()} else {sub[2]()})"
        if kind in ("some", "every"):  # any()/all() over a generator: the sandbox guards the iteration
            test = "any" if kind == "some" else "all"
            return f"{test}({sub[2]()} for {self.name(args[0])} in {sub[1]()})"
        if kind == "in_":
            return f"({sub[0]()} in {sub[1]()})"
        if kind == "between":
            return f"({sub[1]()} <= {sub[0]()} <= {sub[2]()})"
        if kind == "list":
            return "[" + ", ".join(s() for s in sub) + "]"
        raise UnsupportedExpression(f"{kind} is not supported")  # pragma: no cover - every rule is handled above


def _syntax_message(exc: UnexpectedInput, body: str, dialect: str) -> str:
    column = getattr(exc, "column", None)
    outside_strings = re.sub(r"'(\\.|[^'\\])*'|\"(\\.|[^\"\\])*\"", '""', body)
    if dialect == "FEEL" and (found := re.search(r"\b(function|for)\b", outside_strings)):
        return f"FEEL '{found[1]}' expressions are not supported"
    if dialect == "FEEL" and ".." in outside_strings:
        return "FEEL ranges such as [1..5] are not supported: compare with <, <= or between"
    if re.search(r"\blambda\b", outside_strings):
        return "lambda expressions are not supported"
    if dialect == "JUEL" and (found := re.search(r"\b(\w+:\w+)\s*\(", outside_strings)):
        return f"function call '{found[1]}' is not supported: compute it in a script task"
    if (isinstance(exc, UnexpectedToken) and exc.token.type == "$END") or isinstance(exc, UnexpectedEOF):
        return f"the {dialect} expression ends too early"
    if isinstance(exc, UnexpectedToken):
        token, before = str(exc.token), body[: exc.token.start_pos or 0].rstrip()
        previous = re.search(r"[^\W\d]\w*$", before)
        if dialect == "FEEL" and exc.token.type == "NAME" and previous and before != body[: exc.token.start_pos]:
            return (
                f"FEEL name with spaces '{previous[0]} {token}…' is not supported: use a variable name without spaces"
            )
        if token in ("->", "=>") or (token == ">" and before[-1:] in ("-", "=")):
            return "lambda expressions are not supported"
        return f"unexpected {token!r} at column {column} of the {dialect} expression"
    if isinstance(exc, UnexpectedCharacters):
        pos = exc.pos_in_stream or 0
        char = body[pos] if pos < len(body) else "?"
        if dialect == "FEEL" and char == "'":
            return 'FEEL strings use double quotes: write "text"'
        if body[pos : pos + 2] == "=>":
            return "lambda expressions are not supported"
        if char == "=" and dialect == "JUEL":
            return "an assignment ('=') is not supported: compare with == or eq"
        return f"unexpected character {char!r} at column {column} of the {dialect} expression"
    return f"the {dialect} expression cannot be read"  # pragma: no cover


def dialect_of(text: str, language: str | None = None) -> str | None:
    """The dialect of ``text``: "JUEL", "FEEL", or None for the engine's own Python expressions."""
    stripped = text.strip()
    if stripped.startswith(("${", "#{")):
        return "JUEL"
    if stripped.startswith("="):
        return "FEEL"
    if language and "feel" in language.lower():
        return "FEEL"
    return None


def translate(text: str, *, where: str, language: str | None = None) -> str:
    """The sandbox (Python) expression for a JUEL ``${…}`` / ``#{…}`` or FEEL ``=…`` expression (or any text when
    ``language`` names FEEL); a Python expression is returned unchanged. ``where`` ("condition", "timer
    timeDuration", "assignee"...) starts the error message. Raises UnsupportedExpression naming the construct."""
    dialect = dialect_of(text, language)
    if dialect is None:
        return text
    try:
        return _translate(text.strip(), dialect)
    except UnsupportedExpression as exc:
        shown = " ".join(text.split())
        shown = repr(shown) if len(shown) <= 80 else repr(shown[:77] + "...")
        raise UnsupportedExpression(f"{where} {shown}: {exc}") from None


def _translate(text: str, dialect: str) -> str:
    if len(text) > MAX_LENGTH:
        raise UnsupportedExpression(f"the expression is longer than {MAX_LENGTH} characters")
    if dialect == "JUEL":
        found = _JUEL.match(text)
        if found is None or re.search(r"[$#]\{", found[1]):
            raise UnsupportedExpression(
                "text around or between ${…} expressions is not supported: write one ${…} expression"
            )
        body = found[1]
    else:
        body = text[1:] if text.startswith("=") else text
    if not body.strip():
        raise UnsupportedExpression(f"the {dialect} expression is empty")
    depth = 0
    for char in body:  # parentheses and brackets first: the parse tree is printed recursively
        depth += (char in "([") - (char in ")]")
        if depth > MAX_DEPTH:
            raise UnsupportedExpression(f"the expression is nested more than {MAX_DEPTH} levels deep")
    if dialect == "FEEL" and re.search(r"\bdate and time\s*\(", body):
        raise UnsupportedExpression("function call 'date and time' is not supported: compute it in a script task")
    try:
        with _PARSE_LOCK:  # one parse at a time: a Lark instance is shared
            tree = _parser(dialect).parse(body)
    except UnexpectedInput as exc:
        raise UnsupportedExpression(_syntax_message(exc, body, dialect)) from None
    except LarkError as exc:  # pragma: no cover - the parser's own failures
        raise UnsupportedExpression(f"the {dialect} expression cannot be read: {exc}") from None
    try:
        return _Printer().print(tree)
    except RecursionError:  # pragma: no cover - MAX_DEPTH stops this first
        raise UnsupportedExpression(f"the expression is nested more than {MAX_DEPTH} levels deep") from None


# ---- rewriting a BPMN document before SpiffWorkflow parses it ----------------------------------------------------
@dataclass(frozen=True)
class ExpressionProblem:
    """An expression that cannot be translated: ``element_id`` is the flow, event or activity that owns it,
    ``node`` the expression element (its ``sourceline`` is the line)."""

    element_id: str | None
    line: int | None
    message: str
    node: Any


_DEFINITIONS = ("timerEventDefinition", "multiInstanceLoopCharacteristics")


def _owner(node: etree._Element) -> etree._Element:
    """The element with an id a designer clicks on: the flow, the event, the activity."""
    current: etree._Element | None = node.getparent()
    while current is not None and not (current.get("id") and etree.QName(current).localname not in _DEFINITIONS):
        current = current.getparent()
    return current if current is not None else node


def _where(node: etree._Element) -> str:
    kind = etree.QName(node).localname
    return {
        "conditionExpression": "condition",
        "completionCondition": "completion condition",
        "loopCardinality": "loop cardinality",
    }.get(kind, f"timer {kind}")


def _is_python(text: str) -> bool:
    try:
        ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def expression_language(node: etree._Element) -> str | None:
    """The language an expression element is written in: its own ``language``, else the document's
    ``expressionLanguage`` (None: neither says)."""
    language: str | None = node.get("language") or node.getroottree().getroot().get("expressionLanguage")
    return language


def _foreign(node: etree._Element) -> tuple[str | None, str | None]:
    """(dialect, language) of an expression element: its own ``language``, else the document's
    ``expressionLanguage``. With only the document's default saying FEEL, a Python expression stays Python."""
    text, own, language = node.text or "", node.get("language"), expression_language(node)
    dialect = dialect_of(text, language) if text.strip() else None
    if dialect is not None and own is None and dialect_of(text) is None and _is_python(text):
        try:
            translate(text, where="", language=language)
        except UnsupportedExpression:
            return None, language  # not FEEL, but the engine's Python: keep it
    return dialect, language


def rewrite_expressions(root: etree._Element) -> list[ExpressionProblem]:
    """Rewrite in place every JUEL/FEEL condition, multi-instance and timer expression of ``root`` into the
    sandbox expression and return those that cannot be translated, each left as it was. An expression is FEEL when
    it starts with ``=`` or its element's ``language`` (else the document's ``expressionLanguage``) names FEEL.
    A rewritten element gets ``language="python"``, and Python is left untouched: running it twice changes
    nothing."""
    problems: list[ExpressionProblem] = []
    for tag in EXPRESSION_TAGS:
        for node in root.iter(f"{{{BPMN}}}{tag}"):
            dialect, language = _foreign(node)
            if dialect is None:
                continue
            try:
                node.text = translate(node.text or "", where=_where(node), language=language)
            except UnsupportedExpression as exc:
                owner = _owner(node)
                problems.append(ExpressionProblem(owner.get("id"), node.sourceline, str(exc), node))
                continue
            node.set("language", PYTHON)  # now the engine's own language
    return problems


def is_untranslated(node: etree._Element) -> bool:
    """True for an expression element still holding JUEL/FEEL after rewrite_expressions: one it refused (and
    reported), so other checks can leave it alone rather than call it "not valid Python" a second time."""
    if not isinstance(node.tag, str) or etree.QName(node).localname not in EXPRESSION_TAGS:
        return False
    return _foreign(node)[0] is not None


__all__ = [
    "ExpressionProblem",
    "UnsupportedExpression",
    "dialect_of",
    "is_untranslated",
    "rewrite_expressions",
    "translate",
]
