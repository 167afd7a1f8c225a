// The SLA durations of a human task (camunda:properties sla_warn, sla_due, sla_stuck) and their order rule:
// warn ≤ due ≤ stuck, as the engine's sweep assumes (a task is behind before it is overdue, overdue before stuck).
import { format, t } from './i18n';

export const ISO_DURATION = /^P(?=\d|T\d)(\d+(\.\d+)?Y)?(\d+(\.\d+)?M)?(\d+(\.\d+)?W)?(\d+(\.\d+)?D)?(T(?=\d)(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?$/i;

const SECONDS = { Y: 365 * 86400, MO: 30 * 86400, W: 7 * 86400, D: 86400, H: 3600, MI: 60, S: 1 };

/** The seconds an ISO-8601 duration stands for (a year 365 days, a month 30), or null when it is not one. */
export function durationSeconds(text) {
  const value = (text || '').trim().toUpperCase();
  if (!ISO_DURATION.test(value)) {
    return null;
  }
  const [date, time] = value.slice(1).split('T');
  let total = 0;
  for (const [, amount, unit] of date.matchAll(/(\d+(?:\.\d+)?)([YMWD])/g)) {
    total += Number(amount) * SECONDS[unit === 'M' ? 'MO' : unit];
  }
  for (const [, amount, unit] of (time || '').matchAll(/(\d+(?:\.\d+)?)([HMS])/g)) {
    total += Number(amount) * SECONDS[unit === 'M' ? 'MI' : unit];
  }
  return total;
}

export const SLA_NAMES = ['sla_warn', 'sla_due', 'sla_stuck'];

function properties(businessObject) {
  const extensionElements = businessObject && businessObject.get && businessObject.get('extensionElements');
  const values = (extensionElements && extensionElements.get('values')) || [];
  return values.find((value) => value.$instanceOf && value.$instanceOf('camunda:Properties'));
}

/** { sla_warn, sla_due, sla_stuck } as written on ``businessObject`` ('' for a missing one). */
export function slaValues(businessObject) {
  const found = properties(businessObject);
  const values = {};
  for (const name of SLA_NAMES) {
    const property = found && (found.get('values') || []).find((p) => p.get('name') === name);
    values[name] = property ? (property.get('value') || '').trim() : '';
  }
  return values;
}

/**
 * The first pair breaking warn ≤ due ≤ stuck, as [earlier, later] names (e.g. ['sla_warn', 'sla_stuck']), or null.
 * Missing or malformed values are skipped (the duration check reports those).
 */
export function slaOrderBroken(values) {
  const present = SLA_NAMES.map((name) => [name, durationSeconds(values[name])]).filter(([, s]) => s !== null);
  for (let i = 0; i < present.length; i++) {
    for (let j = i + 1; j < present.length; j++) {
      if (present[i][1] > present[j][1]) {
        return [present[i][0], present[j][0]];
      }
    }
  }
  return null;
}

/** The message for SLA values out of order (warn ≤ due ≤ stuck), or null; with ``field``, only if it is one of the
 * two out of order. */
export function slaOrderMessage(values, template, field) {
  const broken = slaOrderBroken(values);
  if (!broken || (field && !broken.includes(field))) {
    return null;
  }
  const [earlier, later] = broken;
  let text = template || t('sla.order');
  for (const part of [earlier, values[earlier], later, values[later]]) {
    text = format(text, part);
  }
  return text;
}
