// Read-only diagrams: <div class="diagram" data-bpmn-url="…" data-markers='{"id": "done"}' data-heat='{"id": 3600}'
// data-heat-label="…">. Markers colour elements by state; the heat map tints elements by a duration in seconds.
import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';

import { translateModule } from './bpmn-i18n';
import { humanDuration, isMissingDiagram, jsonAttribute } from './format';
import { format, t } from './i18n';

export const STATES = ['done', 'active', 'waiting', 'incident', 'current'];

/** Replace the container's content with a visible message (for missing layout or unreachable XML). */
export function showMessage(container, text, kind) {
  const note = document.createElement('p');
  note.className = 'jr-diagram-message' + (kind ? ' jr-diagram-message-' + kind : '');
  note.setAttribute('role', 'status');
  note.textContent = text;
  container.replaceChildren(note);
}

/** The message for a model without diagram interchange; a page may pass its own in data-no-diagram-message. */
export function noDiagramMessage(container) {
  return container.getAttribute('data-no-diagram-message') || t('viewer.noDiagram');
}

/** Add one CSS class per element state (jr-done, jr-active, …); unknown ids and states are skipped. */
export function applyMarkers(modeler, markers) {
  const canvas = modeler.get('canvas');
  const registry = modeler.get('elementRegistry');
  for (const [id, state] of Object.entries(markers || {})) {
    if (STATES.includes(state) && registry.get(id)) {
      canvas.addMarker(id, 'jr-' + state);
    }
  }
}

/** A colour from pale yellow (short) to deep red (long) for ``fraction`` in [0, 1]. */
function heatColour(fraction, alpha) {
  const hue = Math.round(55 - 55 * fraction);
  const light = Math.round(70 - 25 * fraction);
  return 'hsla(' + hue + ', 95%, ' + light + '%, ' + alpha + ')';
}

function legend(label, low, high) {
  const box = document.createElement('div');
  box.className = 'jr-heat-legend';
  const title = document.createElement('span');
  title.className = 'jr-heat-legend-title';
  title.textContent = label;
  const bar = document.createElement('span');
  bar.className = 'jr-heat-legend-bar';
  bar.style.background = 'linear-gradient(to right, ' + heatColour(0, 1) + ', ' + heatColour(0.5, 1) + ', ' +
    heatColour(1, 1) + ')';
  const min = document.createElement('span');
  min.textContent = humanDuration(low);
  const max = document.createElement('span');
  max.textContent = humanDuration(high);
  box.append(title, min, bar, max);
  return box;
}

/** Tint every element of ``heat`` ({id: seconds}) and add a legend labelled ``label`` to ``container``. */
export function applyHeat(viewer, container, heat, label) {
  const registry = viewer.get('elementRegistry');
  const overlays = viewer.get('overlays');
  const entries = Object.entries(heat || {}).filter(([id, seconds]) => registry.get(id) && isFinite(seconds));
  if (!entries.length) {
    return;
  }
  const values = entries.map(([, seconds]) => Number(seconds));
  const low = Math.min(...values);
  const high = Math.max(...values);
  for (const [id, seconds] of entries) {
    const element = registry.get(id);
    const fraction = high > low ? (seconds - low) / (high - low) : 1;
    const text = humanDuration(seconds);
    const tint = document.createElement('div');
    tint.className = 'jr-heat';
    tint.title = label + ': ' + text;
    tint.style.width = (element.width || 0) + 'px';
    tint.style.height = (element.height || 0) + 'px';
    tint.style.background = heatColour(fraction, 0.45);
    const badge = document.createElement('span');
    badge.className = 'jr-heat-badge';
    badge.style.background = heatColour(fraction, 1);
    badge.style.color = fraction > 0.55 ? '#fff' : '#1d2733';
    badge.textContent = text;
    tint.append(badge);
    overlays.add(id, 'jr-heat', { position: { top: 0, left: 0 }, html: tint });
  }
  container.append(legend(label, low, high));
}

async function showDiagram(container) {
  const url = container.getAttribute('data-bpmn-url');
  let xml;
  try {
    const response = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/xml' } });
    if (!response.ok) {
      throw new Error(response.status + ' ' + response.statusText);
    }
    xml = await response.text();
  } catch (err) {
    showMessage(container, format(t('viewer.loadFailed'), err.message || err), 'error');
    return;
  }
  const viewer = new NavigatedViewer({ container, additionalModules: [translateModule()] });
  try {
    await viewer.importXML(xml); // import warnings are the model's business, not console errors
  } catch (err) {
    viewer.destroy();
    if (isMissingDiagram(err)) {
      showMessage(container, noDiagramMessage(container), 'info');
    } else {
      showMessage(container, format(t('viewer.drawFailed'), err.message || err), 'error');
    }
    return;
  }
  viewer.get('canvas').zoom('fit-viewport', 'auto');
  applyMarkers(viewer, jsonAttribute(container, 'data-markers', {}));
  if (container.hasAttribute('data-heat')) {
    const label = container.getAttribute('data-heat-label') || t('viewer.heatLabel');
    applyHeat(viewer, container, jsonAttribute(container, 'data-heat', {}), label);
  }
  container.classList.add('jr-diagram-ready');
}

/** Initialise every read-only diagram on the page. */
export function initViewers(root) {
  for (const container of root.querySelectorAll('.diagram[data-bpmn-url]')) {
    showDiagram(container);
  }
}
