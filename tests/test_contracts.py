"""Contracts of the shipped artefacts: every model deploys, every topic has a handler, every human step is
fully specified, every mail template a model names exists."""

from __future__ import annotations

import pytest
from lxml import etree

from engine import Runtime
from processes import build_registry
from processes.mail import template_names
from tests.helpers import BPMN_DIR

NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "camunda": "http://camunda.org/schema/1.0/bpmn"}
CAMUNDA = "{http://camunda.org/schema/1.0/bpmn}"
MODELS = sorted(BPMN_DIR.glob("*.bpmn"))


def test_every_shipped_model_deploys_cleanly_together(runtime: Runtime) -> None:
    deployed = runtime.deploy({p.name: p.read_bytes() for p in MODELS}, actor="designer")
    # one executable process per file in bpmn/, named after the file (no count to keep in step with the folder)
    assert sorted(d.process_id for d in deployed) == sorted(p.stem for p in MODELS)
    assert len(deployed) == len(MODELS) >= 13


@pytest.mark.parametrize("model", MODELS, ids=lambda p: p.stem)
def test_every_user_task_has_a_role_a_form_instructions_and_sla_thresholds(model) -> None:  # type: ignore[no-untyped-def]
    root = etree.parse(str(model)).getroot()
    tasks = root.findall(".//bpmn:userTask", NS)
    for task in tasks:
        where = f"{model.name}:{task.sourceline} {task.get('id')}"
        assert task.get(f"{CAMUNDA}candidateGroups"), where
        assert task.findall(".//camunda:formField", NS), where
        assert (task.findtext("bpmn:documentation", "", NS) or "").strip(), where
        props = {p.get("name") for p in task.findall(".//camunda:property", NS)}
        assert {"sla_warn", "sla_due", "sla_stuck"} <= props, where


@pytest.mark.parametrize("model", MODELS, ids=lambda p: p.stem)
def test_every_service_topic_has_a_handler_and_every_mail_template_exists(model) -> None:  # type: ignore[no-untyped-def]
    registry = build_registry()
    root = etree.parse(str(model)).getroot()
    for task in root.iterfind(".//bpmn:serviceTask", NS):
        topic = task.get(f"{CAMUNDA}topic")
        assert topic in registry, f"{model.name}:{task.sourceline} {topic}"
        for prop in task.iterfind(".//camunda:property[@name='template']", NS):
            assert prop.get("value") in template_names(), f"{model.name}:{prop.sourceline}"
