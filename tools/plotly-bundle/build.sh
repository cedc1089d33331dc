#!/usr/bin/env bash
# Rebuild dashboards/static/vendor/plotly-observatory.min.js from the pinned
# npm packages in package-lock.json (plotly.js + esbuild). Needs node and npm; built
# here with node 20 (plotly.js declares node >= 22: npm prints EBADENGINE warnings, harmless).
# Usage: tools/plotly-bundle/build.sh   (from anywhere)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$here/../../dashboards/static/vendor/plotly-observatory.min.js"
cd "$here"

# esbuild's own postinstall only re-checks its platform binary, which npm
# installs as an optional dependency (@esbuild/<platform>), so scripts stay off.
npm ci --no-audit --no-fund --ignore-scripts

version="$(node -p "require('plotly.js/package.json').version")"
mkdir -p "$(dirname "$out")"

# Same esbuild settings as plotly.js's own dist build (esbuild-config.js),
# minus the plugins that only matter for WebGL / maplibre traces. The registry
# require()s maplibre-gl's CSS (only used by "map" traces): the empty loader
# keeps esbuild from writing a stray .css file next to the bundle.
./node_modules/.bin/esbuild index.js \
    --bundle \
    --minify \
    --format=iife \
    --global-name=Plotly \
    --target=es2016 \
    --define:global=window \
    --define:define.amd=false \
    --define:process.env.NODE_DEBUG=false \
    --loader:.css=empty \
    --legal-comments=eof \
    --banner:js="/*! plotly.js v${version} (custom observatory bundle: bar, heatmap, choropleth, scattergeo, scatter, scatterpolar, pie; locales es, pt-br) | Copyright 2012-2026, Plotly, Inc. | MIT License, see PLOTLY-LICENSE.txt */" \
    --log-level=warning \
    --metafile="$here/node_modules/.observatory-meta.json" \
    --outfile="$out"

# Licence file next to the bundle: plotly.js's MIT licence, how this file was
# built, and the third-party npm packages that ended up inside it.
node - "$here/node_modules/.observatory-meta.json" "$(dirname "$out")/PLOTLY-LICENSE.txt" <<'NODE'
const fs = require('fs');
const [meta, dest] = process.argv.slice(2);
const inputs = Object.values(JSON.parse(fs.readFileSync(meta, 'utf8')).outputs)[0].inputs;
const pkgs = new Set();
for (const [file, info] of Object.entries(inputs)) {
    const m = file.match(/^(.*node_modules\/(@[^/]+\/)?[^/@]+)\//);
    if (m && info.bytesInOutput > 0 && !file.endsWith(".css")) pkgs.add(m[1]);
}
const rows = [...pkgs].map((dir) => require('./' + dir + '/package.json'))
    .filter((p) => p.name !== 'plotly.js')
    .map((p) => `  ${p.name}@${p.version} (${p.license || 'see package'})`);
const unique = [...new Set(rows)].sort();
const plotly = require('plotly.js/package.json');
const esbuild = require('esbuild/package.json');
fs.writeFileSync(dest, [
    `plotly-observatory.min.js is a custom build of plotly.js ${plotly.version} (npm package "plotly.js").`,
    `It contains only the bar, heatmap, choropleth, scattergeo, scatter, scatterpolar and pie traces`,
    `and the "es" and "pt-br" locales. Built with esbuild ${esbuild.version} by tools/plotly-bundle/build.sh`,
    `(npm ci from tools/plotly-bundle/package-lock.json, entry tools/plotly-bundle/index.js, minified).`,
    `Do not edit the bundle by hand; change index.js or the pinned versions and re-run build.sh.`,
    '',
    'plotly.js licence:',
    '',
    fs.readFileSync(require.resolve('plotly.js/LICENSE'), 'utf8').trim(),
    '',
    'Third-party npm packages bundled with it (each under its own licence, as declared in its package.json):',
    ...unique,
    ''
].join('\n'));
NODE

raw=$(wc -c <"$out")
gz=$(gzip -9 -c "$out" | wc -c)
echo "wrote $out (plotly.js $version): $raw bytes, $gz bytes gzip -9"
