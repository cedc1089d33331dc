/*
 * charts.js - renders the dashboards' plotly figures without any inline script
 * (works under a CSP of script-src 'self').
 *
 * Markup expected (any number of charts per page):
 *   <div class="chart" data-figure="fig-1" data-topojson-url="/static/geo/"></div>
 *   <script type="application/json" id="fig-1">{"data": [...], "layout": {...}}</script>
 * Load static/vendor/plotly-observatory.min.js first, then this file.
 * data-topojson-url may sit on the div or on <body>; if neither has it, the
 * "geo/" folder next to this script is used, so maps never fetch from a CDN.
 * Plain ES2017, no build step.
 */
(function () {
    'use strict';

    // document.currentScript is only set while this file is first executed.
    var self = document.currentScript;
    var DEFAULT_TOPOJSON_URL = self && self.src ? new URL('geo/', self.src).href : null;

    var LOCALES = { pt: 'pt-br', es: 'es' };

    function plotlyLocale() {
        var lang = (document.documentElement.lang || '').toLowerCase().split('-')[0];
        return LOCALES[lang] || 'en';
    }

    function topojsonURL(div) {
        var url = div.getAttribute('data-topojson-url') ||
            (document.body && document.body.getAttribute('data-topojson-url')) ||
            DEFAULT_TOPOJSON_URL;
        if (url && url.charAt(url.length - 1) !== '/') url += '/';
        return url;
    }

    function render(div) {
        var id = div.getAttribute('data-figure');
        var holder = id && document.getElementById(id);
        if (!holder) {
            console.error('charts.js: no figure JSON with id', id);
            return null;
        }
        var fig;
        try {
            fig = JSON.parse(holder.textContent);
        } catch (err) {
            console.error('charts.js: invalid figure JSON in #' + id, err);
            return null;
        }
        var config = {
            responsive: true,
            displaylogo: false,
            locale: plotlyLocale(),
            modeBarButtonsToRemove: ['sendDataToCloud']
        };
        var url = topojsonURL(div);
        if (url) config.topojsonURL = url;
        return window.Plotly.newPlot(div, fig.data || [], fig.layout || {}, config);
    }

    function renderAll() {
        if (!window.Plotly) {
            console.error('charts.js: Plotly is not loaded');
            return;
        }
        var divs = document.querySelectorAll('div.chart[data-figure]');
        for (var i = 0; i < divs.length; i++) {
            try {
                render(divs[i]);
            } catch (err) {
                console.error('charts.js: could not draw chart', divs[i], err);
            }
        }
    }

    if (document.readyState === 'loading') {
        document.addEventListener('DOMContentLoaded', renderAll);
    } else {
        renderAll();
    }
})();
