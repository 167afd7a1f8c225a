// The process designer: <div id="designer" data-xml-url data-lint-url data-draft-url data-deploy-url
// data-upload-url data-download-name data-messages='{…}'> holding .designer-canvas and .designer-panel; the toolbar
// buttons carry data-action (check, save-draft, deploy, download) and #designer-upload is the file input.
// The Modeler edits the Camunda 7 attributes the engine reads; bpmnlint runs in the browser, the engine's deploy
// lint on the server, and both pin their findings to the elements (errors red, warnings amber). Deploying first asks
// the server what would change (deploy/review) and deploys only once the designer confirms that list.
import Modeler from 'bpmn-js/lib/Modeler';
import {
  BpmnPropertiesPanelModule,
  BpmnPropertiesProviderModule,
  CamundaPlatformPropertiesProviderModule
} from 'bpmn-js-properties-panel';
import lintModule from 'bpmn-js-bpmnlint';
import camundaModdle from 'camunda-bpmn-moddle/resources/camunda.json';

import { PanelTranslateModule, translateModule } from './bpmn-i18n';
import { PanelFilterModule } from './panel-filter';
import { format, messages } from './i18n';
import lintConfig from './lint-config';
import { isMissingDiagram, jsonAttribute, postJSON } from './format';
import SlaPropertiesProvider from './sla-provider';
import { showMessage } from './viewer';

const SlaModule = {
  __init__: ['jornadaSlaProvider'],
  jornadaSlaProvider: ['type', SlaPropertiesProvider]
};

class Designer {
  constructor(root) {
    this.root = root;
    // the status texts in the page's language; the page's data-messages (translated by the server) take precedence
    this.messages = Object.assign({}, messages('designer.'), jsonAttribute(root, 'data-messages', {}));
    this.status = document.getElementById('designer-status');
    this.problemList = document.getElementById('designer-problems');
    this.canvasElement = root.querySelector('.designer-canvas');
    this.dirty = false;
    this.pinned = [];
    this.modeler = new Modeler({
      container: this.canvasElement,
      propertiesPanel: { parent: root.querySelector('.designer-panel') },
      additionalModules: [
        BpmnPropertiesPanelModule,
        BpmnPropertiesProviderModule,
        CamundaPlatformPropertiesProviderModule,
        SlaModule,
        PanelFilterModule,
        lintModule,
        translateModule(),
        PanelTranslateModule
      ],
      moddleExtensions: { camunda: camundaModdle },
      linting: { bpmnlint: lintConfig, active: true },
      jornadaSla: jsonAttribute(root, 'data-sla', {})
    });
    this.modeler.on('commandStack.changed', () => this.markDirty(true));
    this.modeler.on('linting.completed', ({ issues }) => this.markLintIssues(issues || {}));
    this.lintMarked = [];
    this.review = document.getElementById('designer-review');
    window.addEventListener('beforeunload', (event) => {
      if (this.dirty) {
        event.preventDefault();
        event.returnValue = '';
      }
    });
    this.bindToolbar();
  }

  bindToolbar() {
    const actions = {
      'check': () => this.check(),
      'save-draft': () => this.saveDraft(),
      'deploy': () => this.deploy(),
      'download': () => this.download()
    };
    for (const button of document.querySelectorAll('[data-action]')) {
      const action = actions[button.getAttribute('data-action')];
      if (action) {
        button.addEventListener('click', (event) => {
          event.preventDefault();
          this.run(button, action);
        });
      }
    }
    const upload = document.getElementById('designer-upload');
    if (upload) {
      upload.addEventListener('change', () => {
        if (upload.files.length) {
          this.run(upload, () => this.upload(upload.files[0]).finally(() => { upload.value = ''; }));
        }
      });
    }
  }

  /** Run one toolbar action at a time, with its control disabled meanwhile. */
  async run(control, action) {
    if (this.busy) {
      return;
    }
    this.busy = true;
    control.disabled = true;
    try {
      await action();
    } finally {
      control.disabled = false;
      this.busy = false;
    }
  }

  setStatus(text, kind) {
    if (this.status) {
      this.status.textContent = text;
      this.status.className = 'designer-status' + (kind ? ' designer-status-' + kind : '');
    }
  }

  markDirty(dirty) {
    this.dirty = dirty;
    this.root.classList.toggle('designer-dirty', dirty);
    const badge = document.getElementById('designer-dirty');
    if (badge) {
      badge.hidden = !dirty;
    }
  }

  /** Outline the elements bpmnlint reports on (its badge alone is easy to miss on a large diagram). */
  markLintIssues(issues) {
    const canvas = this.modeler.get('canvas');
    const registry = this.modeler.get('elementRegistry');
    for (const id of this.lintMarked) {
      if (registry.get(id)) {
        canvas.removeMarker(id, 'jr-lint-error');
        canvas.removeMarker(id, 'jr-lint-warning');
      }
    }
    this.lintMarked = [];
    for (const [id, list] of Object.entries(issues)) {
      const element = registry.get(id);
      if (!element || element.waypoints || !element.parent) {
        continue; // flows keep their own colour; the process itself has no outline
      }
      const error = list.some((issue) => issue.category === 'error');
      canvas.addMarker(id, error ? 'jr-lint-error' : 'jr-lint-warning');
      this.lintMarked.push(id);
    }
  }

  async load() {
    this.setStatus(this.messages.loading);
    try {
      const response = await fetch(this.root.getAttribute('data-xml-url'), { credentials: 'same-origin' });
      if (!response.ok) {
        throw new Error(response.status + ' ' + response.statusText);
      }
      await this.importXML(await response.text());
      this.setStatus('');
      if (!this.showCarriedProblems() && new URLSearchParams(window.location.search).get('check') === '1') {
        await this.check(); // e.g. after an upload the engine had findings on: pin them all
      }
    } catch (err) {
      this.setStatus(format(this.messages.loadFailed, err.message || err), 'error');
    }
    this.root.classList.add('designer-ready');
  }

  /** Show ``xml`` in the editor; a model without diagram interchange gets a clear message instead. */
  async importXML(xml) {
    try {
      await this.modeler.importXML(xml); // warnings are reported by the lint, not logged as errors
    } catch (err) {
      if (isMissingDiagram(err)) {
        this.root.classList.add('designer-no-diagram');
        showMessage(this.canvasElement, this.messages.noDiagram, 'info');
        return;
      }
      throw err;
    }
    this.root.classList.remove('designer-no-diagram');
    this.fit();
    this.markDirty(false);
    this.clearProblems();
  }

  /** Show the whole diagram, centred in the space right of the tool palette (never zoomed in beyond 100%). */
  fit() {
    const canvas = this.modeler.get('canvas');
    canvas.zoom('fit-viewport', 'auto');
    const palette = this.canvasElement.querySelector('.djs-palette');
    const { inner, outer } = canvas.viewbox();
    const margin = 16;
    const left = palette
      ? palette.getBoundingClientRect().right - this.canvasElement.getBoundingClientRect().left + margin
      : margin;
    const width = outer.width - left - margin;
    const height = outer.height - 2 * margin;
    if (width <= 0 || height <= 0 || !inner.width || !inner.height) {
      return;
    }
    const scale = Math.min(width / inner.width, height / inner.height, 1);
    canvas.viewbox({
      x: inner.x - (left + (width - inner.width * scale) / 2) / scale,
      y: inner.y - (margin + (height - inner.height * scale) / 2) / scale,
      width: outer.width / scale,
      height: outer.height / scale
    });
  }

  async xml() {
    if (document.activeElement && this.root.contains(document.activeElement)) {
      document.activeElement.blur(); // commits a properties-panel field still waiting for its debounce
    }
    const { xml } = await this.modeler.saveXML({ format: true });
    return xml;
  }

  async check() {
    this.setStatus(this.messages.checking);
    const result = await postJSON(this.root.getAttribute('data-lint-url'), await this.xml(), 'application/xml');
    this.report(result, this.messages.noProblems);
    return result;
  }

  async saveDraft() {
    const xml = await this.xml();
    const saved = await postJSON(this.root.getAttribute('data-draft-url'), xml, 'application/xml');
    if (!saved.ok) {
      this.report(saved);
      return;
    }
    this.markDirty(false);
    if (saved.data.unchanged) { // the same model as the draft (or the deployed version): no new draft
      this.setStatus(saved.data.message, 'ok');
      return;
    }
    const linted = await postJSON(this.root.getAttribute('data-lint-url'), xml, 'application/xml');
    this.report(linted, [saved.data.message || this.messages.saved, linted.data.message].filter(Boolean).join(' '));
  }

  /** Ask the server what would change, show it with the engine's warnings, and deploy once confirmed. */
  async deploy() {
    const xml = await this.xml();
    this.setStatus(this.messages.reviewing);
    const review = await postJSON(this.root.getAttribute('data-deploy-url') + '/review', xml, 'application/xml');
    this.report(review, review.data.message);
    if (!review.ok || review.data.identical) {
      return;
    }
    if (!(await this.confirmDeploy(review.data))) {
      this.setStatus(this.messages.deployCancelled);
      return;
    }
    this.setStatus(this.messages.deploying);
    const result = await postJSON(this.root.getAttribute('data-deploy-url'), xml, 'application/xml');
    if (result.ok && result.data.redirect) {
      this.markDirty(false);
      this.carryProblems(result.data.redirect, result.data.problems || []);
      window.location.assign(result.data.redirect);
      return;
    }
    this.report(result);
  }

  /** The confirmation dialog: the changed elements and the warnings; resolves true when the designer confirms. */
  confirmDeploy(review) {
    const dialog = this.review;
    if (!dialog || typeof dialog.showModal !== 'function') {
      return Promise.resolve(window.confirm(review.message));
    }
    dialog.querySelector('.designer-review-message').textContent = review.message || '';
    const list = dialog.querySelector('.designer-review-changes');
    list.replaceChildren(...(review.changes || []).map((change) => this.changeItem(change)));
    const warnings = (review.problems || []).filter((problem) => problem.severity === 'warning');
    const box = dialog.querySelector('.designer-review-warnings');
    box.querySelector('ul').replaceChildren(...warnings.map((problem) => this.problemItem(problem, null)));
    box.hidden = !warnings.length;
    return new Promise((resolve) => {
      dialog.addEventListener('close', () => resolve(dialog.returnValue === 'confirm'), { once: true });
      dialog.returnValue = '';
      dialog.showModal();
      dialog.querySelector('button[value="confirm"]').focus();
    });
  }

  changeItem(change) {
    const item = document.createElement('li');
    item.className = 'designer-review-' + change.kind;
    const kind = document.createElement('span');
    kind.className = 'designer-review-kind';
    kind.textContent = this.messages['kind.' + change.kind] || change.kind;
    const what = document.createElement('strong');
    what.textContent = change.name ? change.name + ' (' + change.element + ')' : change.element;
    item.append(kind, ' ', what);
    const details = change.changes || [];
    if (details.length) {
      const keys = document.createElement('span');
      keys.className = 'designer-review-keys';
      const shown = details.slice(0, 4).map((detail) => detail.key);
      if (details.length > shown.length) {
        shown.push(format(this.messages.more, details.length - shown.length));
      }
      keys.textContent = ': ' + shown.join(', ');
      item.append(keys);
    }
    return item;
  }

  /** Keep a deploy's or upload's findings across the page load that follows it, to pin them all there. */
  carryProblems(target, problems) {
    try {
      if (problems.length) {
        window.sessionStorage.setItem(carryKey(new URL(target, window.location.href).pathname), JSON.stringify(problems));
      }
    } catch (err) {
      // storage unavailable: the flash message still counts them
    }
  }

  /** Pin the findings the previous page carried here; true if there were any. */
  showCarriedProblems() {
    let problems = null;
    try {
      const key = carryKey(window.location.pathname);
      problems = JSON.parse(window.sessionStorage.getItem(key) || 'null');
      window.sessionStorage.removeItem(key);
    } catch (err) {
      problems = null;
    }
    if (!Array.isArray(problems) || !problems.length) {
      return false;
    }
    this.report({ ok: true, data: { problems } });
    return true;
  }

  async download() {
    const blob = new Blob([await this.xml()], { type: 'application/xml' });
    const link = document.createElement('a');
    link.href = URL.createObjectURL(blob);
    link.download = this.root.getAttribute('data-download-name') || 'process.bpmn';
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  }

  async upload(file) {
    const body = new FormData();
    body.append('file', file, file.name);
    body.append('into', this.root.getAttribute('data-process-id') || '');
    const result = await postJSON(this.root.getAttribute('data-upload-url'), body);
    if (!result.ok) {
      this.report(result);
      return;
    }
    if (result.data.redirect) {
      this.carryProblems(result.data.redirect, result.data.problems || []);
      window.location.assign(result.data.redirect);
      return;
    }
    await this.importXML(result.data.xml);
    this.markDirty(true);
    this.report(result, this.messages.uploaded);
  }

  /** Show a server answer: its problems pinned and listed, else ``success`` (default: the server's message). */
  report(result, success) {
    const problems = (result.data && result.data.problems) || [];
    this.showProblems(problems);
    if (result.data.ok === false && result.data.message) {
      this.setStatus(result.data.message, 'error'); // a refusal; its problems are listed below
    } else if (!result.ok) {
      this.setStatus(format(this.messages.failed, result.data.message || result.status), 'error');
    } else if (problems.some((problem) => problem.severity !== 'warning')) {
      const errors = problems.filter((problem) => problem.severity !== 'warning');
      this.setStatus(format(this.messages.problems, errors.length), 'error');
    } else if (problems.length && !success) {
      this.setStatus(format(this.messages.warnings, problems.length), 'warning');
    } else if (problems.length) {
      this.setStatus(success + ' ' + format(this.messages.warnings, problems.length), 'warning');
    } else {
      this.setStatus(success || result.data.message || '', 'ok');
    }
  }

  clearProblems() {
    const overlays = this.modeler.get('overlays');
    const canvas = this.modeler.get('canvas');
    overlays.remove({ type: 'jr-problem' });
    for (const id of this.pinned) {
      canvas.removeMarker(id, 'jr-has-problem');
      canvas.removeMarker(id, 'jr-has-warning');
    }
    this.pinned = [];
    if (this.problemList) {
      this.problemList.replaceChildren();
      this.problemList.hidden = true;
    }
  }

  /** Pin each problem ({file, element, line, message}) to its element and list them all. */
  showProblems(problems) {
    this.clearProblems();
    if (!problems.length || !this.problemList) {
      return;
    }
    const registry = this.modeler.get('elementRegistry');
    const overlays = this.modeler.get('overlays');
    const canvas = this.modeler.get('canvas');
    const pinsOn = {};
    for (const problem of problems) {
      const shape = problem.element && registry.get(problem.element);
      const warning = problem.severity === 'warning';
      if (shape) {
        if (!this.pinned.includes(shape.id)) {
          this.pinned.push(shape.id);
        }
        // an element with an error and a warning is marked as an error
        canvas.removeMarker(shape.id, 'jr-has-warning');
        if (!warning || !canvas.hasMarker(shape.id, 'jr-has-problem')) {
          canvas.addMarker(shape.id, warning ? 'jr-has-warning' : 'jr-has-problem');
        }
      }
      if (shape && !shape.waypoints) { // every problem its own pin, side by side
        const index = pinsOn[shape.id] || 0;
        pinsOn[shape.id] = index + 1;
        const pin = document.createElement('span');
        pin.className = 'jr-problem-pin' + (warning ? ' jr-problem-warning' : '');
        pin.textContent = warning ? '⚠' : '!';
        pin.title = problem.message;
        overlays.add(shape.id, 'jr-problem', { position: { top: -10, right: 10 + 24 * index }, html: pin });
      }
      this.problemList.append(this.problemItem(problem, shape));
    }
    this.problemList.hidden = false;
    this.problemList.classList.toggle('designer-problems-warnings', problems.every((p) => p.severity === 'warning'));
  }

  problemItem(problem, shape) {
    const item = document.createElement('li');
    item.className = problem.severity === 'warning' ? 'designer-problem-warning' : 'designer-problem-error';
    const where = [problem.file];
    if (problem.line) {
      where.push(format(this.messages.line, problem.line));
    }
    if (problem.element) {
      where.push(format(this.messages.element, problem.element));
    }
    const place = document.createElement(shape ? 'button' : 'span');
    place.className = 'designer-problem-where' + (shape ? ' link' : '');
    place.textContent = where.filter(Boolean).join(', ');
    if (shape) {
      place.type = 'button';
      place.addEventListener('click', () => {
        this.modeler.get('selection').select(shape);
        this.modeler.get('canvas').scrollToElement(shape);
      });
    }
    const message = document.createElement('span');
    message.className = 'designer-problem-message';
    message.textContent = problem.severity === 'warning' ? this.messages.warning + ': ' + problem.message : problem.message;
    item.append(place, ': ', message);
    return item;
  }
}

function carryKey(path) {
  return 'jornada.designer.problems:' + path;
}

/** Start the designer if the page has one. */
export function initDesigner(root) {
  const element = root.getElementById ? root.getElementById('designer') : null;
  if (element) {
    const designer = new Designer(element);
    element.jornadaDesigner = designer;
    designer.load();
  }
}
