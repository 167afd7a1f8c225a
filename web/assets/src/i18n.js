// The bundle's own texts in the page's language: <html lang="pt-BR"> gives Brazilian Portuguese, anything else English.
// The server usually passes translated texts in data attributes (data-messages, data-sla, data-heat-label, …); these
// are the fallbacks for whatever it leaves out. bpmn-js's own texts are translated in bpmn-i18n.js.

/** 'pt-BR' for a page in Portuguese (pt, pt-BR, pt_BR), else 'en'. */
export function pageLanguage(doc) {
  const root = (doc || document).documentElement;
  const lang = ((root && root.getAttribute('lang')) || '').trim().toLowerCase();
  return /^pt([-_]|$)/.test(lang) ? 'pt-BR' : 'en';
}

const INVALID_DURATION_EN = 'Not an ISO-8601 duration: use e.g. P2D (2 days), PT4H (4 hours) or P1W (1 week).';
const INVALID_DURATION_PT = 'Não é uma duração ISO-8601: use, por exemplo, P2D (2 dias), PT4H (4 horas) ou P1W (1 semana).';

/** The bundle's texts by language; a '%s' is filled in with format(). */
export const MESSAGES = {
  'en': {
    // diagram viewer (viewer.js)
    'viewer.noDiagram': 'This model has no diagram layout (BPMNDiagram), so it cannot be drawn.',
    'viewer.loadFailed': 'The diagram could not be loaded (%s).',
    'viewer.drawFailed': 'The diagram could not be drawn: %s',
    'viewer.heatLabel': 'duration',
    // designer (designer.js); the page passes its own translations in data-messages
    'designer.loading': 'Loading the model…',
    'designer.noDiagram': 'This model has no diagram layout (BPMNDiagram), so it cannot be edited here.',
    'designer.loadFailed': 'The model could not be loaded: %s',
    'designer.checking': 'Checking with the engine…',
    'designer.noProblems': 'The engine found no problems.',
    'designer.problems': 'The engine found %s problem(s); they are marked on the diagram and listed below.',
    'designer.saved': 'Draft saved.',
    'designer.deploying': 'Deploying…',
    'designer.uploaded': 'File accepted into the editor. Save the draft or deploy to keep it.',
    'designer.unsaved': 'Unsaved changes',
    'designer.failed': 'The server refused: %s',
    'designer.line': 'line %s',
    'designer.element': 'element %s',
    'designer.warnings': 'The engine has %s warning(s); they are marked on the diagram and listed below.',
    'designer.reviewing': 'Comparing with the latest version…',
    'designer.deployCancelled': 'Not deployed.',
    'designer.warning': 'warning',
    'designer.kind.added': 'added',
    'designer.kind.removed': 'removed',
    'designer.kind.changed': 'changed',
    'designer.more': 'and %s more',
    // the "Jornada SLA" group of the properties panel (sla-provider.jsx); the page passes its own in data-sla
    'sla.title': 'Jornada SLA',
    'sla.invalid': INVALID_DURATION_EN,
    'sla.sla_warn.label': 'Warn after',
    'sla.sla_warn.description': 'A \'behind\' alert is raised this long after the task became ready, e.g. P2D.',
    'sla.sla_due.label': 'Due after',
    'sla.sla_due.description': 'The SLA is met when the task completes within this time (default: stuck).',
    'sla.sla_stuck.label': 'Stuck after',
    'sla.sla_stuck.description': 'A \'stuck\' alert is raised this long after the task became ready, e.g. P3D.',
    'sla.order': '%s (%s) is longer than %s (%s): the SLA durations must be warn ≤ due ≤ stuck.'
  },
  'pt-BR': {
    'viewer.noDiagram': 'Este modelo não tem layout de diagrama (BPMNDiagram), por isso não pode ser desenhado.',
    'viewer.loadFailed': 'Não foi possível carregar o diagrama (%s).',
    'viewer.drawFailed': 'Não foi possível desenhar o diagrama: %s',
    'viewer.heatLabel': 'duração',
    'designer.loading': 'Carregando o modelo…',
    'designer.noDiagram': 'Este modelo não tem layout de diagrama (BPMNDiagram), por isso não pode ser editado aqui.',
    'designer.loadFailed': 'Não foi possível carregar o modelo: %s',
    'designer.checking': 'Verificando com o motor…',
    'designer.noProblems': 'O motor não encontrou problemas.',
    'designer.problems': 'O motor encontrou %s problema(s); eles estão marcados no diagrama e listados abaixo.',
    'designer.saved': 'Rascunho salvo.',
    'designer.deploying': 'Implantando…',
    'designer.uploaded': 'Arquivo aceito no editor. Salve o rascunho ou implante para mantê-lo.',
    'designer.unsaved': 'Alterações não salvas',
    'designer.failed': 'O servidor recusou: %s',
    'designer.line': 'linha %s',
    'designer.element': 'elemento %s',
    'designer.warnings': 'O motor tem %s aviso(s); eles estão marcados no diagrama e listados abaixo.',
    'designer.reviewing': 'Comparando com a última versão…',
    'designer.deployCancelled': 'Não implantado.',
    'designer.warning': 'aviso',
    'designer.kind.added': 'adicionado',
    'designer.kind.removed': 'removido',
    'designer.kind.changed': 'alterado',
    'designer.more': 'e mais %s',
    'sla.title': 'SLA do Jornada',
    'sla.invalid': INVALID_DURATION_PT,
    'sla.sla_warn.label': 'Avisar após',
    'sla.sla_warn.description':
      'Um alerta “atrasada” é disparado este tempo depois que a tarefa fica pronta, por exemplo P2D.',
    'sla.sla_due.label': 'Prazo após',
    'sla.sla_due.description':
      'O SLA é cumprido quando a tarefa é concluída dentro deste tempo (padrão: o mesmo de “Travada após”).',
    'sla.sla_stuck.label': 'Travada após',
    'sla.sla_stuck.description':
      'Um alerta “travada” é disparado este tempo depois que a tarefa fica pronta, por exemplo P3D.',
    'sla.order': '%s (%s) é mais longo que %s (%s): as durações do SLA precisam ser aviso ≤ prazo ≤ travada.'
  }
};

/** The text ``key`` in the page's language (English if that language lacks it, the key if English does too). */
export function t(key, doc) {
  const messages = MESSAGES[pageLanguage(doc)];
  if (messages && key in messages) {
    return messages[key];
  }
  return key in MESSAGES.en ? MESSAGES.en[key] : key;
}

/** All texts whose key starts with ``prefix``, without the prefix: messages('designer.') → { loading, … }. */
export function messages(prefix, doc) {
  const found = {};
  for (const key of Object.keys(MESSAGES.en)) {
    if (key.startsWith(prefix)) {
      found[key.slice(prefix.length)] = t(key, doc);
    }
  }
  return found;
}

/** Fill the first '%s' of ``template`` with ``value``. */
export function format(template, value) {
  return String(template).replace('%s', () => String(value));
}
