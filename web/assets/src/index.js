// Jornada's browser bundle: initialises whatever the server-rendered page contains: read-only diagrams
// (.diagram[data-bpmn-url]), charts (canvas.chart[data-chart]) and the process designer (#designer).
import { initCharts } from './charts';
import { initDesigner } from './designer';
import { initViewers } from './viewer';

function init() {
  initViewers(document);
  initCharts(document);
  initDesigner(document);
}

if (document.readyState === 'loading') {
  document.addEventListener('DOMContentLoaded', init);
} else {
  init();
}
