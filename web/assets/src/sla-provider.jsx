// The "Jornada SLA" group of the properties panel: three labelled duration fields on every task a person works
// on. They write the camunda:properties the engine reads (sla_warn, sla_due, sla_stuck), so a designer never
// needs to know the property names; the generic "Extension properties" group shows the same values.
import { TextFieldEntry, isTextFieldEntryEdited } from '@bpmn-io/properties-panel';
import { useService } from 'bpmn-js-properties-panel';
import { getBusinessObject } from 'bpmn-js/lib/util/ModelUtil';

import { t } from './i18n';
import { ISO_DURATION, slaOrderMessage, slaValues } from './sla';

const HUMAN_TYPES = ['bpmn:UserTask', 'bpmn:ManualTask', 'bpmn:Task'];


/** The three SLA properties; their labels and descriptions come from the page (data-sla) or else from i18n.js. */
export const SLA_FIELDS = [{ name: 'sla_warn' }, { name: 'sla_due' }, { name: 'sla_stuck' }];

function propertiesOf(businessObject) {
  const extensionElements = businessObject.get('extensionElements');
  const values = extensionElements ? extensionElements.get('values') : [];
  return values.find((value) => value.$instanceOf('camunda:Properties'));
}

function findProperty(businessObject, name) {
  const properties = propertiesOf(businessObject);
  return properties && properties.get('values').find((property) => property.get('name') === name);
}

/** The commands that set (or, for an empty value, remove) the camunda:property ``name`` of ``element``. */
function setPropertyCommands(element, name, value, bpmnFactory) {
  const businessObject = getBusinessObject(element);
  const commands = [];
  const existing = findProperty(businessObject, name);
  const update = (moddleElement, properties) => commands.push({
    cmd: 'element.updateModdleProperties',
    context: { element, moddleElement, properties }
  });
  if (existing) {
    if (value) {
      update(existing, { value });
    } else {
      const properties = existing.$parent;
      update(properties, { values: properties.get('values').filter((p) => p !== existing) });
    }
    return commands;
  }
  if (!value) {
    return commands;
  }
  let extensionElements = businessObject.get('extensionElements');
  if (!extensionElements) {
    extensionElements = bpmnFactory.create('bpmn:ExtensionElements', { values: [] });
    extensionElements.$parent = businessObject;
    update(businessObject, { extensionElements });
  }
  let properties = propertiesOf(businessObject);
  if (!properties) {
    properties = bpmnFactory.create('camunda:Properties', { values: [] });
    properties.$parent = extensionElements;
    update(extensionElements, { values: [...extensionElements.get('values'), properties] });
  }
  const property = bpmnFactory.create('camunda:Property', { name, value });
  property.$parent = properties;
  update(properties, { values: [...properties.get('values'), property] });
  return commands;
}

function SlaField(props) {
  const { element, id, field, labels } = props;
  const bpmnFactory = useService('bpmnFactory');
  const commandStack = useService('commandStack');
  const debounce = useService('debounceInput');
  const text = labels[field.name] || {};
  const getValue = () => {
    const property = findProperty(getBusinessObject(element), field.name);
    return property ? property.get('value') : '';
  };
  const setValue = (value) => {
    const commands = setPropertyCommands(element, field.name, (value || '').trim(), bpmnFactory);
    if (commands.length) {
      commandStack.execute('properties-panel.multi-command-executor', commands);
    }
  };
  const validate = (value) => {
    if (value && !ISO_DURATION.test(value.trim())) {
      return text.invalid || t('sla.invalid');
    }
    const values = { ...slaValues(getBusinessObject(element)), [field.name]: (value || '').trim() };
    return slaOrderMessage(values, labels.order, field.name);
  };
  return <TextFieldEntry
    element={ element }
    id={ id }
    label={ (text.label || t('sla.' + field.name + '.label')) + ' (' + field.name + ')' }
    description={ text.description || t('sla.' + field.name + '.description') }
    getValue={ getValue }
    setValue={ setValue }
    validate={ validate }
    debounce={ debounce } />;
}

/** Properties-panel provider adding the "Jornada SLA" group after the task's user assignment. */
export default function SlaPropertiesProvider(propertiesPanel, config) {
  const options = config || {};
  const labels = { ...(options.labels || {}), order: options.order };
  const components = SLA_FIELDS.map((field) => function SlaEntry(props) {
    return <SlaField { ...props } field={ field } labels={ labels } />;
  }); // made once: a new component on every render would drop the input's focus while typing
  this.getGroups = function(element) {
    return function(groups) {
      if (!HUMAN_TYPES.includes(element.type)) {
        return groups;
      }
      const group = {
        id: 'JornadaSla',
        label: options.title || t('sla.title'),
        shouldOpen: true,
        entries: SLA_FIELDS.map((field, index) => ({
          id: 'jornada-' + field.name,
          component: components[index],
          isEdited: isTextFieldEntryEdited
        }))
      };
      const assignment = groups.findIndex((g) => g.id === 'CamundaPlatform__UserAssignment');
      const after = assignment >= 0 ? assignment : groups.findIndex((g) => g.id === 'general');
      groups.splice(after >= 0 ? after + 1 : groups.length, 0, group);
      return groups;
    };
  };
  propertiesPanel.registerProvider(400, this);
}

SlaPropertiesProvider.$inject = ['propertiesPanel', 'config.jornadaSla'];
