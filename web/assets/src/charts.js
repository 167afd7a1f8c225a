// Charts: <canvas class="chart" data-chart='{ a Chart.js config }'>. The server translates the labels; numbers and
// dates on the axes and in tooltips are formatted for the page's language (a config may still set its own locale).
import Chart from 'chart.js/auto';

import { jsonAttribute } from './format';
import { pageLanguage } from './i18n';

export function initCharts(root) {
  Chart.defaults.locale = pageLanguage();
  for (const canvas of root.querySelectorAll('canvas.chart[data-chart]')) {
    const config = jsonAttribute(canvas, 'data-chart', null);
    if (config) {
      new Chart(canvas, config);
    }
  }
}
