// Entry point of the observatory's custom plotly.js bundle.
// Only the trace types the dashboards use are registered, plus the Spanish and
// Brazilian Portuguese locales. Build with ./build.sh (esbuild, exposes window.Plotly).
'use strict';

var Plotly = require('plotly.js/lib/core');

Plotly.register([
    require('plotly.js/lib/bar'),
    require('plotly.js/lib/heatmap'),
    require('plotly.js/lib/choropleth'),
    require('plotly.js/lib/scattergeo'),
    require('plotly.js/lib/scatterpolar'),
    require('plotly.js/lib/pie')
    // 'scatter' is part of plotly.js/lib/core already
]);

Plotly.register(require('plotly.js/lib/locales/es'));
Plotly.register(require('plotly.js/lib/locales/pt-br'));

module.exports = Plotly;
