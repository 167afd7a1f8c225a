// bpmnlint rule "jornada/sla-order": a human task's SLA durations must be in order, warn ≤ due ≤ stuck (the
// engine's sweep raises "behind" before the due time and "stuck" after it). Marked on the task in the editor.
import { slaOrderMessage } from './sla';

const HUMAN_TYPES = ['bpmn:UserTask', 'bpmn:ManualTask', 'bpmn:Task'];

export default function slaOrder() {
  function check(node, reporter) {
    if (!HUMAN_TYPES.some((type) => node.$type === type)) {
      return;
    }
    const message = slaOrderMessage(slaValuesOf(node));
    if (message) {
      reporter.report(node.id, message);
    }
  }
  return { check };
}

function slaValuesOf(node) {
  const values = { sla_warn: '', sla_due: '', sla_stuck: '' };
  const extensions = (node.extensionElements && node.extensionElements.values) || [];
  for (const extension of extensions) {
    if (extension.$type === 'camunda:Properties') {
      for (const property of extension.values || []) {
        if (property.name in values) {
          values[property.name] = (property.value || '').trim();
        }
      }
    }
  }
  return values;
}
