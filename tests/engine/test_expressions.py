"""JUEL (Camunda 7) and FEEL (Camunda 8) expressions: translated into sandboxed Python and evaluated by the real
sandbox with the result a Camunda engine gives; anything outside the subset refused naming the construct."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from sqlalchemy import select

from engine import DeployError, FrozenClock, Runtime
from engine._expressions import MAX_DEPTH, MAX_LENGTH, UnsupportedExpression, rewrite_expressions, translate
from engine._sandbox import Sandbox, SandboxError, check
from engine._specs import parse_xml
from engine.models import HumanTask, ProcessDefinition, ProcessInstance, Timer
from tests.bpmn_builder import HEADER, flow, process, user_task

NOW = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
DATA: dict[str, Any] = {
    "amount": 150,
    "approved": True,
    "rejected": False,
    "clarified": "yes",
    "name": "",
    "items": [],
    "tags": ["vip", "beta"],
    "nothing": None,
    "customer": {"plan": "pro", "mrr": 1200, "address": {"country": "BR"}, "seats": 0},
    "score": 7,
    "ratio": 2.5,
    "android": "droid",
    "aprovação": "sim",
}

# (expression, expected value on DATA)
TABLE: list[tuple[str, Any]] = [
    # JUEL: variables, literals
    ("${approved}", True),
    ("#{approved}", True),
    ("${ rejected }", False),
    ("${clarified == 'yes'}", True),
    ('${clarified == "no"}', False),
    ("${true}", True),
    ("${null}", None),
    ("${42}", 42),
    ("${2.5e1}", 25.0),
    ("${'it\\'s'}", "it's"),
    # JUEL comparisons, word operators
    ("${amount > 100}", True),
    ("${amount gt 100}", True),
    ("${amount >= 150 && amount <= 150}", True),
    ("${amount ge 151}", False),
    ("${amount lt 200 and score le 7}", True),
    ("${amount != 150}", False),
    ("${amount ne 150 or score eq 7}", True),
    ("${amount eq 150}", True),
    # JUEL boolean operators and precedence
    ("${!approved}", False),
    ("${not rejected}", True),
    ("${!approved || rejected}", False),
    ("${approved && !(rejected || score < 5)}", True),
    ("${!approved == false}", True),  # JUEL: (!approved) == false
    ("${score > 5 ? 'high' : 'low'}", "high"),
    ("${android == 'droid'}", True),  # a name starting with the keyword "and"
    # JUEL empty
    ("${empty name}", True),
    ("${empty items}", True),
    ("${empty tags}", False),
    ("${empty nothing}", True),
    ("${not empty clarified}", True),
    ("${empty customer.seats}", False),  # 0 is not empty
    ("${empty customer.missing}", True),
    # JUEL property access
    ("${customer.plan == 'pro'}", True),
    ("${customer['plan']}", "pro"),
    ('${customer["address"].country}', "BR"),
    ("${customer.address.country eq 'BR'}", True),
    ("${customer.missing == null}", True),
    ("${tags[0]}", "vip"),
    ("${customer.class}", None),  # a key may be a Python word
    # JUEL arithmetic
    ("${amount + score * 2}", 164),
    ("${(amount + score) * 2}", 314),
    ("${amount - score - 3}", 140),
    ("${amount / 4}", 37.5),
    ("${amount div 4}", 37.5),
    ("${amount % 4}", 2),
    ("${amount mod 4 == 2}", True),
    ("${-score + 10}", 3),
    ("${customer.mrr * 12 > 10000}", True),
    ("${aprovação == 'sim'}", True),  # Java identifiers may hold any letter, as Python's do
    # FEEL (Zeebe "=...")
    ("=approved", True),
    ("=amount > 100", True),
    ('=clarified = "yes"', True),
    ('=clarified != "yes"', False),
    ("=amount >= 150 and score < 7", False),
    ("=amount >= 150 or score < 7", True),
    ("=not(approved)", False),
    ("=not(amount > 100 and rejected)", True),
    ("=customer.plan", "pro"),
    ("=customer.address.country", "BR"),
    ("=customer.missing = null", True),
    ("=score in [1, 7, 9]", True),
    ('=customer.plan in ["free", "basic"]', False),
    ("=score between 5 and 10", True),
    ("=score between 8 and 10 or approved", True),
    ('=if amount > 100 then "big" else "small"', "big"),
    ("=amount * 2 - score / 7", 299.0),
    ("=-ratio", -2.5),
    ("=true", True),
    ("=null", None),
    ('="P3D"', "P3D"),
    ('=some t in tags satisfies t = "vip"', True),  # MIWG C.9.0
    ('=every t in tags satisfies t = "vip"', False),
    ("=every t in items satisfies t > 1", True),
    ('=some p in ["free", "pro"] satisfies p = customer.plan and approved', True),
]


@pytest.mark.parametrize(("expression", "expected"), TABLE, ids=[case[0] for case in TABLE])
def test_translation_evaluates_like_camunda(sandbox: Sandbox, expression: str, expected: Any) -> None:
    python = translate(expression, where="condition")
    check(python, "eval")  # what the deploy lint runs on every condition
    value = sandbox.evaluate(python, dict(DATA), NOW)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize("expression", ["amount > 100", "approved and not rejected", "'P3D'", "x == '${y}'"])
def test_python_expressions_are_left_untouched(expression: str) -> None:
    assert translate(expression, where="condition") == expression


def test_feel_language_attribute_makes_the_whole_text_feel(sandbox: Sandbox) -> None:
    feel = "https://www.omg.org/spec/DMN/20191111/FEEL/"
    python = translate('clarified = "yes"', where="condition", language=feel)
    assert sandbox.evaluate(python, dict(DATA), NOW) is True


def test_a_missing_variable_stops_with_the_sandbox_naming_it(sandbox: Sandbox) -> None:
    """Documented choice: like Camunda 7's "Cannot resolve identifier", not a silent null."""
    with pytest.raises(SandboxError, match="name 'unknown' is not defined"):
        sandbox.evaluate(translate("${unknown > 1}", where="condition"), dict(DATA), NOW)


# (expression, the construct the refusal names)
REFUSED: list[tuple[str, str]] = [
    ("${execution.getVariable('amount') > 100}",
     "method call 'execution.getVariable' is not supported: use the variable name"),
    ("${customer.plan.toUpperCase() == 'PRO'}", "method call 'customer.plan.toUpperCase' is not supported"),
    ("${myBean.check(amount)}", "method call 'myBean.check' is not supported"),
    ("${fn:contains(tags, 'vip')}", "function call 'fn:contains' is not supported"),
    ("${size(tags) > 0}", "function call 'size' is not supported"),
    ('=date("2026-01-01") > today()', "function call 'date' is not supported"),
    ("=count(tags) > 1", "function call 'count' is not supported"),
    ('=date and time("2027-01-01T09:00:00Z")', "function call 'date and time' is not supported"),
    ('=duration("P" + string(days) + "D")', "function call 'duration' is not supported"),
    ('=Vacation Approval = "Approved"', "FEEL name with spaces 'Vacation Approval…' is not supported"),
    ("=tags[1]", "FEEL filter or index 'tags[…]' is not supported"),
    ("=score in [1..5]", "FEEL ranges such as [1..5] are not supported"),
    ("=function(x) x + 1", "FEEL 'function' expressions are not supported"),
    ("=some _t in tags satisfies _t = 1", "name '_t' starts with '_'"),
    ("=some t, u in tags satisfies t = 1", "unexpected ','"),
    ("=for t in tags return t", "FEEL 'for' expressions are not supported"),
    ("=clarified = 'yes'", "FEEL strings use double quotes"),
    ("${x -> x + 1}", "lambda expressions are not supported"),
    ("${(x) => x}", "lambda expressions are not supported"),
    ("${lambda: 1}", "lambda expressions are not supported"),
    ("=lambda: 1", "lambda expressions are not supported"),
    ("${class == 1}", "name 'class' is a reserved word of the engine's expressions: rename it"),
    ("=customer._secret.plan", "name '_secret' starts with '_'"),
    ("${True}", "name 'True' is a reserved word"),
    ("${amount = 100}", "an assignment ('=') is not supported: compare with == or eq"),
    ("Total: ${amount}", None),  # not JUEL at all (Python): left to the Python lint
    ("${amount} and ${score}", "text around or between ${…} expressions is not supported"),
    ("${amount}${score}", "text around or between ${…} expressions is not supported"),
    ("${}", "the JUEL expression is empty"),
    ("=", "the FEEL expression is empty"),
    ("${amount > }", "the JUEL expression ends too early"),
    ("${amount > > 1}", "unexpected '>' at column 10 of the JUEL expression"),
    ("${amount @ 2}", "unexpected character '@'"),
    ("${amount > 1e999}", "the number 1e999 is too large"),
    ("${''.__class__}", "name '__class__' starts with '_', which is not allowed"),
    ("${__import__}", "name '__import__' starts with '_'"),
    ("=customer._secret", "name '_secret' starts with '_'"),
    ('${""["__class__"].mro}', None),  # translated: a key lookup on a string fails safely in the sandbox
]  # fmt: skip


@pytest.mark.parametrize(("expression", "construct"), REFUSED, ids=[case[0] for case in REFUSED])
def test_unsupported_constructs_are_named(expression: str, construct: str | None) -> None:
    if construct is None:
        return
    with pytest.raises(UnsupportedExpression) as caught:
        translate(expression, where="condition")
    message = str(caught.value)
    assert message.startswith(f"condition {' '.join(expression.split())!r}: "), message
    assert construct in message


def test_hostile_but_translatable_input_is_stopped_by_the_sandbox(sandbox: Sandbox) -> None:
    python = translate('${""["__class__"].mro}', where="condition")
    with pytest.raises(SandboxError, match="runtime"):
        sandbox.evaluate(python, dict(DATA), NOW)
    python = translate("${'x' * 100000000}", where="condition")  # the sandbox's size guard on *
    with pytest.raises(SandboxError, match="size limit"):
        sandbox.evaluate(python, {}, NOW)


def test_huge_and_deep_expressions_are_refused_without_crashing() -> None:
    with pytest.raises(UnsupportedExpression, match=f"longer than {MAX_LENGTH} characters"):
        translate("${" + "a || " * 2000 + "a}", where="condition")
    with pytest.raises(UnsupportedExpression, match=f"nested more than {MAX_DEPTH} levels"):
        translate("${" + "(" * 500 + "a" + ")" * 500 + "}", where="condition")
    with pytest.raises(UnsupportedExpression, match=f"nested more than {MAX_DEPTH} levels"):
        translate("${" + "!" * 1000 + "a}", where="condition")
    with pytest.raises(UnsupportedExpression, match=f"nested more than {MAX_DEPTH} levels"):
        translate("=" + "-" * 1000 + "a", where="condition")
    with pytest.raises(UnsupportedExpression):
        translate("${" + "a[" * 300 + "0" + "]" * 300 + "}", where="condition")


def test_a_long_flat_chain_is_not_mistaken_for_nesting(sandbox: Sandbox) -> None:
    """``x = 0 or x = 1 or ...`` is read iteratively and printed flat: the Python parser's nesting limit is safe."""
    feel = "=" + " or ".join(f"score = {i}" for i in range(250))
    python = translate(feel, where="condition")
    assert python.count("(") < 400
    assert sandbox.evaluate(python, {"score": 249}, NOW) is True
    juel = "${" + " + ".join("1" for _ in range(MAX_DEPTH)) + "}"
    assert sandbox.evaluate(translate(juel, where="condition"), {}, NOW) == MAX_DEPTH
    with pytest.raises(UnsupportedExpression, match=f"more than {MAX_DEPTH} arithmetic operators in a row"):
        translate("${" + " + ".join("1" for _ in range(1000)) + "}", where="condition")  # Python would nest these


# ---- rewriting a BPMN document ----------------------------------------------------------------------------------
def _document() -> bytes:
    return (
        HEADER
        + """<bpmn:process id="p" isExecutable="true">
<bpmn:startEvent id="start"/>
<bpmn:exclusiveGateway id="gw" default="f_default"/>
<bpmn:sequenceFlow id="f_juel" sourceRef="gw" targetRef="a">
  <bpmn:conditionExpression>${amount &gt; 100 &amp;&amp; !rejected}</bpmn:conditionExpression>
</bpmn:sequenceFlow>
<bpmn:sequenceFlow id="f_feel" sourceRef="gw" targetRef="a">
  <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">=clarified = "yes"</bpmn:conditionExpression>
</bpmn:sequenceFlow>
<bpmn:sequenceFlow id="f_python" sourceRef="gw" targetRef="a">
  <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">score &gt; 5</bpmn:conditionExpression>
</bpmn:sequenceFlow>
<bpmn:sequenceFlow id="f_lang" sourceRef="gw" targetRef="a">
  <bpmn:conditionExpression
    language="https://www.omg.org/spec/DMN/20191111/FEEL/">score &lt; 5</bpmn:conditionExpression>
</bpmn:sequenceFlow>
<bpmn:sequenceFlow id="f_bad" sourceRef="gw" targetRef="a">
  <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${execution.getVariable("x")}</bpmn:conditionExpression>
</bpmn:sequenceFlow>
<bpmn:intermediateCatchEvent id="wait">
  <bpmn:timerEventDefinition id="wait_def">
    <bpmn:timeDuration>${reminder}</bpmn:timeDuration></bpmn:timerEventDefinition>
</bpmn:intermediateCatchEvent>
<bpmn:boundaryEvent id="late" attachedToRef="a">
  <bpmn:timerEventDefinition><bpmn:timeCycle>=cycle(x)</bpmn:timeCycle></bpmn:timerEventDefinition>
</bpmn:boundaryEvent>
<bpmn:intermediateCatchEvent id="literal">
  <bpmn:timerEventDefinition><bpmn:timeDuration>P3D</bpmn:timeDuration></bpmn:timerEventDefinition>
</bpmn:intermediateCatchEvent>
<bpmn:userTask id="a"/>
</bpmn:process>
</bpmn:definitions>
"""
    ).encode()


def _texts(root: etree._Element) -> dict[str, str]:
    found = {}
    for node in root.iter():
        if isinstance(node.tag, str) and etree.QName(node).localname in ("conditionExpression", "timeDuration"):
            owner = node.getparent()
            while not owner.get("id") or etree.QName(owner).localname == "timerEventDefinition":
                owner = owner.getparent()
            found[owner.get("id")] = node.text
    return found


def test_rewrite_translates_in_place_and_names_what_it_cannot() -> None:
    root = parse_xml(_document())
    problems = rewrite_expressions(root)
    texts = _texts(root)
    assert texts["f_juel"] == "((amount > 100) and (not rejected))"
    assert texts["f_feel"] == "(clarified == 'yes')"
    assert texts["f_python"] == "score > 5"
    assert texts["f_lang"] == "(score < 5)"
    assert texts["wait"] == "reminder"
    assert texts["literal"] == "P3D"
    assert texts["f_bad"] == '${execution.getVariable("x")}'  # left as it was, and reported
    assert [(p.element_id, p.line) for p in problems] == [("f_bad", 20), ("late", 27)]
    assert problems[0].message == (
        "condition '${execution.getVariable(\"x\")}': method call 'execution.getVariable' is not supported: "
        "use the variable name"
    )
    assert problems[1].message == (
        "timer timeCycle '=cycle(x)': function call 'cycle' is not supported: compute it in a script task"
    )
    assert problems[0].node.sourceline == 20
    lang = root.xpath("//*[@id='f_lang']/*")[0]
    assert lang.get("language") == "python"  # now the engine's own language
    again = rewrite_expressions(root)  # idempotent: Python is left alone, the refused ones are refused again
    assert [(p.element_id, p.line, p.message) for p in again] == [(p.element_id, p.line, p.message) for p in problems]
    assert _texts(root) == texts


# ---- end to end: deploy and run ----------------------------------------------------------------------------
DIALECTS = process(
    "dialects",
    '<bpmn:startEvent id="start"/>'
    + user_task("enter", "Enter amount", "finance")
    + '<bpmn:exclusiveGateway id="gw"/>'
    + user_task("review", "Review", "cs_lead")
    + '<bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition>'
    + "<bpmn:timeDuration>${reminder}</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"
    + '<bpmn:endEvent id="end_small"/><bpmn:endEvent id="end_big"/>'
    + flow("f1", "start", "enter")
    + flow("f2", "enter", "gw")
    + flow("f_big", "gw", "review", "${amount &gt; 100 &amp;&amp; customer.plan == 'pro'}")
    + flow("f_small", "gw", "wait", "=amount &lt;= 100 or customer.plan != &quot;pro&quot;")
    + flow("f3", "wait", "end_small")
    + flow("f4", "review", "end_big"),
)


def _open(runtime: Runtime, instance_id: str) -> list[HumanTask]:
    with runtime.store.session() as s:
        query = select(HumanTask).where(HumanTask.instance_id == instance_id, HumanTask.state == "ready")
        return list(s.execute(query).scalars())


def _status(runtime: Runtime, instance_id: str) -> str:
    with runtime.store.session() as s:
        found = s.get(ProcessInstance, instance_id)
        assert found is not None
        return found.status


def test_juel_and_feel_conditions_and_a_juel_timer_deploy_and_run(runtime: Runtime, clock: FrozenClock) -> None:
    runtime.deploy({"dialects.bpmn": DIALECTS}, actor="designer")
    data = {"customer": {"plan": "pro"}, "reminder": "PT1H"}
    big = runtime.start("dialects", actor="alice", customer_id="C-1", data=data)
    [task] = _open(runtime, big)
    runtime.complete(task.id, actor="fin", data={"amount": 500})
    assert [t.element_id for t in _open(runtime, big)] == ["review"]
    small = runtime.start("dialects", actor="alice", customer_id="C-2", data=data)
    [task] = _open(runtime, small)
    runtime.complete(task.id, actor="fin", data={"amount": 5})
    with runtime.store.session() as s:
        [timer] = s.execute(select(Timer).where(Timer.instance_id == small)).scalars()
    assert (timer.element_id, timer.due_at) == ("wait", clock.now() + timedelta(hours=1))
    clock.advance(hours=1, minutes=1)
    assert runtime.fire_due_timers() == 1
    assert _status(runtime, small) == "completed"


def test_an_unsupported_expression_is_refused_at_deploy_naming_element_line_and_construct(runtime: Runtime) -> None:
    bad = DIALECTS.replace(b"customer.plan == 'pro'", b"execution.getVariable('plan') == 'pro'")
    with pytest.raises(DeployError) as caught:
        runtime.deploy({"dialects.bpmn": bad}, actor="designer")
    [problem] = caught.value.problems  # once: not also "is not valid Python"
    assert (problem.file, problem.element_id) == ("dialects.bpmn", "f_big")
    assert problem.line == bad[: bad.index(b"execution.getVariable")].count(b"\n") + 1
    assert "method call 'execution.getVariable' is not supported: use the variable name" in problem.message
    with runtime.store.session() as s:
        assert s.execute(select(ProcessDefinition)).first() is None


def test_a_document_whose_expression_language_is_feel_is_read_as_feel_unless_it_is_python() -> None:
    data = (
        _document()
        .replace(b'targetNamespace="http://jornada.test"', b'targetNamespace="x" expressionLanguage="http://x/FEEL/"')
        .replace(b"score &gt; 5", b'clarified = "no" or score == 1')
        .replace(b"${reminder}", b'Wait Time = "P1D"')
    )
    root = parse_xml(data)
    problems = rewrite_expressions(root)
    texts = _texts(root)
    assert texts["f_python"] == 'clarified = "no" or score == 1'  # neither FEEL nor Python: refused below
    assert texts["f_juel"] == "((amount > 100) and (not rejected))"
    assert [(p.element_id, p.message.split(": ", 1)[1]) for p in problems] == [
        ("f_python", "unexpected '=' at column 28 of the FEEL expression"),
        ("f_bad", "method call 'execution.getVariable' is not supported: use the variable name"),
        ("wait", "FEEL name with spaces 'Wait Time…' is not supported: use a variable name without spaces"),
        ("late", "function call 'cycle' is not supported: compute it in a script task"),
    ]
    python = parse_xml(data.replace(b'clarified = "no" or score == 1', b"score == 1 or amount"))
    rewrite_expressions(python)
    assert _texts(python)["f_python"] == "score == 1 or amount"  # Python in a FEEL document stays Python
    assert [p.message for p in rewrite_expressions(root)] == [p.message for p in problems]  # idempotent
    assert _texts(root) == texts


SOUP = """a b.c x[0] 's' "t" 1 2.5 true null empty not ! - + * / div mod % == != = < >= eq lt && || and or ? : ( )
[ ] , in between if then else some every satisfies f( __x }"""
TOKENS = SOUP.split()
JUEL_OPS = ["&&", "||", "and", "or", "==", "!=", "eq", "ne", "<", "le", "gt", "+", "-", "*", "/", "div", "mod", "%"]
FEEL_OPS = ["and", "or", "=", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/"]
LEAVES = st.sampled_from(["a", "b.c", "b['c']", "1", "2.5", "'s'", "true", "null", "x"])
FEEL_LEAVES = st.sampled_from(["a", "b.c", "1", "2.5", '"s"', "true", "null", "x", "[1, 2]"])


def _juel(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    binary = st.tuples(inner, st.sampled_from(JUEL_OPS), inner).map(" ".join)
    unary = st.tuples(st.sampled_from(["!", "not ", "-", "empty "]), inner).map("".join)
    ternary = st.tuples(inner, inner, inner).map(lambda t: f"{t[0]} ? {t[1]} : {t[2]}")
    return binary | unary | ternary | inner.map(lambda e: f"({e})")


def _feel(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    binary = st.tuples(inner, st.sampled_from(FEEL_OPS), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})")
    other = st.tuples(inner, inner, inner).map(lambda t: f"(if {t[0]} then {t[1]} else {t[2]})")
    some = inner.map(lambda e: f"(some v in [1, 2] satisfies {e})")
    return binary | other | some | inner.map(lambda e: f"not({e})") | inner.map(lambda e: f"-{e}")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.recursive(LEAVES, _juel, max_leaves=12) | st.recursive(FEEL_LEAVES, _feel, max_leaves=12).map("={}".format))
def test_generated_expressions_translate_to_code_the_sandbox_compiles(text: str) -> None:
    python = translate(text if text.startswith("=") else "${" + text + "}", where="condition")
    check(python, "eval")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prefix=st.sampled_from(["${", "="]), words=st.lists(st.sampled_from(TOKENS), max_size=14))
def test_any_token_soup_is_translated_to_code_the_sandbox_compiles_or_refused(prefix: str, words: list[str]) -> None:
    text = prefix + " ".join(words) + ("}" if prefix == "${" else "")
    try:
        python = translate(text, where="condition")
    except UnsupportedExpression as exc:
        assert str(exc).startswith("condition ")
        return
    check(python, "eval")  # never "not valid Python" for a translation
