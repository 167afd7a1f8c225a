// Charts: <canvas class="chart" data-chart='{ a Chart.js config }'>.
import Chart from 'chart.js/auto';

import { jsonAttribute } from './format';

export function initCharts(root) {
  for (const canvas of root.querySelectorAll('canvas.chart[data-chart]')) {
    const config = jsonAttribute(canvas, 'data-chart', null);
    if (config) {
      new Chart(canvas, config);
    }
  }
}
