// The bpmnlint configuration packed for the browser: bpmnlint's recommended rules minus the ones our own
// models break on purpose (the engine joins and forks on one gateway and joins flows on a task just fine), plus
// Jornada's own rules (bpmnlint-plugin-jornada, bundled here): jornada/sla-order.
import adHocSubProcess from 'bpmnlint/rules/ad-hoc-sub-process';
import conditionalFlows from 'bpmnlint/rules/conditional-flows';
import endEventRequired from 'bpmnlint/rules/end-event-required';
import eventBasedGateway from 'bpmnlint/rules/event-based-gateway';
import eventSubProcessTypedStartEvent from 'bpmnlint/rules/event-sub-process-typed-start-event';
import global from 'bpmnlint/rules/global';
import labelRequired from 'bpmnlint/rules/label-required';
import linkEvent from 'bpmnlint/rules/link-event';
import noBpmndi from 'bpmnlint/rules/no-bpmndi';
import noComplexGateway from 'bpmnlint/rules/no-complex-gateway';
import noDisconnected from 'bpmnlint/rules/no-disconnected';
import noDuplicateSequenceFlows from 'bpmnlint/rules/no-duplicate-sequence-flows';
import noImplicitSplit from 'bpmnlint/rules/no-implicit-split';
import noImplicitEnd from 'bpmnlint/rules/no-implicit-end';
import noImplicitStart from 'bpmnlint/rules/no-implicit-start';
import noInclusiveGateway from 'bpmnlint/rules/no-inclusive-gateway';
import noOverlappingElements from 'bpmnlint/rules/no-overlapping-elements';
import singleBlankStartEvent from 'bpmnlint/rules/single-blank-start-event';
import singleEventDefinition from 'bpmnlint/rules/single-event-definition';
import startEventRequired from 'bpmnlint/rules/start-event-required';
import subProcessBlankStartEvent from 'bpmnlint/rules/sub-process-blank-start-event';
import superfluousGateway from 'bpmnlint/rules/superfluous-gateway';
import superfluousLabel from 'bpmnlint/rules/superfluous-label';
import superfluousTermination from 'bpmnlint/rules/superfluous-termination';

import slaOrder from './sla-lint-rule';

const RULES = {
  'ad-hoc-sub-process': ['error', adHocSubProcess],
  'conditional-flows': ['error', conditionalFlows],
  'end-event-required': ['error', endEventRequired],
  'event-based-gateway': ['error', eventBasedGateway],
  'event-sub-process-typed-start-event': ['error', eventSubProcessTypedStartEvent],
  'global': ['warn', global],
  'label-required': ['warn', labelRequired],
  'link-event': ['error', linkEvent],
  'no-bpmndi': ['error', noBpmndi],
  'no-complex-gateway': ['error', noComplexGateway],
  'no-disconnected': ['error', noDisconnected],
  'no-duplicate-sequence-flows': ['error', noDuplicateSequenceFlows],
  'no-implicit-split': ['error', noImplicitSplit],
  'no-implicit-end': ['error', noImplicitEnd],
  'no-implicit-start': ['error', noImplicitStart],
  'no-inclusive-gateway': ['warn', noInclusiveGateway],
  'no-overlapping-elements': ['warn', noOverlappingElements],
  'single-blank-start-event': ['error', singleBlankStartEvent],
  'single-event-definition': ['error', singleEventDefinition],
  'start-event-required': ['error', startEventRequired],
  'sub-process-blank-start-event': ['error', subProcessBlankStartEvent],
  'superfluous-gateway': ['warn', superfluousGateway],
  'superfluous-label': ['warn', superfluousLabel],
  'superfluous-termination': ['warn', superfluousTermination],
  'jornada/sla-order': ['error', slaOrder]
};
const PLUGIN = 'bpmnlint-plugin-jornada';

function Resolver() {}

Resolver.prototype.resolveRule = function(pkg, ruleName) {
  const found = (pkg === 'bpmnlint' && RULES[ruleName]) || (pkg === PLUGIN && RULES['jornada/' + ruleName]);
  if (!found) {
    throw new Error('bpmnlint rule not bundled: ' + pkg + '/' + ruleName);
  }
  return found[1];
};

Resolver.prototype.resolveConfig = function(pkg, configName) {
  throw new Error('bpmnlint config not bundled: ' + pkg + '/' + configName);
};

const rules = {};
for (const [name, [level]] of Object.entries(RULES)) {
  rules[name] = level;
}

export default { config: { rules }, resolver: new Resolver() };
