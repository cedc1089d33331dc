"""Browser check of the offline chart assets (bundle + charts.js + geo/).

Serves dashboards/static on 127.0.0.1 with a Content-Security-Policy header, opens
a page with a choropleth (resolution 50, incl. small Caribbean states), a scattergeo
marker trace, a bar chart and a heatmap in headless Chromium, blocks every request
that leaves 127.0.0.1, and checks that everything drew from local files only, with no
console error or CSP violation. Exit status 0 when all is well.

    .venv/bin/python tools/plotly-bundle/check_offline.py [--screenshot /tmp/out.png]

Needs the `playwright` Python package and Debian's chromium (never `playwright install`).
"""

import argparse
import functools
import http.server
import json
import sys
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlsplit

import plotly.graph_objects as go
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

STATIC = Path(__file__).resolve().parents[2] / "dashboards" / "static"
# plotly.js injects a <style> element and sets a few style attributes, so style-src
# needs 'unsafe-inline'; heatmaps are drawn as data: images.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:"
)
BIG = ["BRA", "ARG", "MEX"]
SMALL = ["ATG", "KNA", "LCA", "DMA", "GRD", "VCT", "BRB"]


def figures():
    locs = BIG + SMALL
    geo = {
        "resolution": 50,
        "scope": "world",
        "showcountries": True,
        "lataxis": {"range": [-56, 33]},
        "lonaxis": {"range": [-118, -34]},
    }
    z = list(range(1, len(locs) + 1))
    choro = go.Figure(
        go.Choropleth(locations=locs, z=z, locationmode="ISO-3", coloraxis="coloraxis")
    )
    # Small island states are 1-3 px wide at this zoom: overlay markers placed by plotly at
    # each country's centroid (needs the country in the topojson, i.e. resolution 50).
    choro.add_trace(
        go.Scattergeo(
            locations=SMALL,
            locationmode="ISO-3",
            mode="markers",
            showlegend=False,
            marker={
                "size": 9,
                "color": z[len(BIG) :],
                "coloraxis": "coloraxis",
                "line": {"width": 1, "color": "#333"},
            },
        )
    )
    choro.update_layout(
        geo=geo, height=600, title="Choropleth, resolution 50", coloraxis={"colorscale": "Viridis"}
    )
    bar = go.Figure(
        go.Bar(x=["Brasil", "Argentina", "México"], y=[12, 7, 9]), layout={"title": "Bar"}
    )
    heat = go.Figure(
        go.Heatmap(z=[[1, 2, 3], [3, 1, 2]], x=["a", "b", "c"], y=["x", "y"]),
        layout={"title": "Heatmap"},
    )
    return {"f-map": choro, "f-bar": bar, "f-heat": heat}


def page(figs):
    parts = [
        '<!doctype html><html lang="es"><head><meta charset="utf-8"><title>check</title>',
        '<script src="/static/vendor/plotly-observatory.min.js"></script>',
        '<script src="/static/charts.js" defer></script></head>',
        '<body data-topojson-url="/static/geo/">',
    ]
    for fid, fig in figs.items():
        parts.append(f'<div class="chart" data-figure="{fid}"></div>')
        # same escaping a Jinja |tojson would do for "</" inside a script element
        payload = fig.to_json().replace("</", "<\\/")
        parts.append(f'<script type="application/json" id="{fid}">{payload}</script>')
    return "\n".join(parts + ["</body></html>"])


class Handler(http.server.SimpleHTTPRequestHandler):
    csp = CSP

    def end_headers(self):
        self.send_header("Content-Security-Policy", self.csp)
        super().end_headers()

    def log_message(self, *args):
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--screenshot", default=None)
    ap.add_argument(
        "--csp", default=CSP, help="Content-Security-Policy header to serve (default: %(default)s)"
    )
    args = ap.parse_args()
    Handler.csp = args.csp

    with tempfile.TemporaryDirectory() as root:
        (Path(root) / "static").symlink_to(STATIC)
        (Path(root) / "index.html").write_text(page(figures()), encoding="utf-8")
        httpd = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(Handler, directory=root)
        )
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{httpd.server_address[1]}/"
        outside, local, console = [], [], []
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path=args.chromium,
                    args=[
                        "--no-sandbox",
                        "--disable-gpu",
                        "--disable-background-networking",
                        "--disable-component-update",
                        "--disable-sync",
                        "--no-first-run",
                    ],
                )
                pg = browser.new_page(viewport={"width": 1100, "height": 900})

                def route(r):
                    host = urlsplit(r.request.url).hostname
                    if host == "127.0.0.1":
                        local.append(urlsplit(r.request.url).path)
                        r.continue_()
                    else:
                        outside.append(r.request.url)
                        r.abort()

                pg.route("**/*", route)
                pg.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
                pg.goto(base + "index.html")
                # a function, not a string: the page's CSP forbids eval of strings
                try:
                    pg.wait_for_function(
                        "() => document.querySelectorAll('path.choroplethlocation[d]').length >= 3"
                        " && document.querySelectorAll('.bars path').length >= 3"
                        " && document.querySelectorAll('.hm image').length >= 1",
                        timeout=20000,
                    )
                except PlaywrightTimeout:
                    console.append("error: charts not drawn within 20 s")
                result = pg.evaluate("""() => {
                    const out = {};
                    for (const p of document.querySelectorAll('path.choroplethlocation')) {
                        const b = p.getBoundingClientRect();
                        if (!p.getAttribute('d')) continue;
                        out[p.__data__.loc] = {d: p.getAttribute('d').length,
                                               w: +b.width.toFixed(1), h: +b.height.toFixed(1)};
                    }
                    const modebar = document.querySelector('.modebar-btn[data-title]');
                    const ctx = document.querySelector('div.chart')._context;
                    return {paths: out,
                            markers: document.querySelectorAll('.scattergeo path.point').length,
                            locale: ctx.locale, topojsonURL: ctx.topojsonURL,
                            modebarTitle: modebar && modebar.getAttribute('data-title')};
                }""")
                if args.screenshot:
                    pg.screenshot(path=args.screenshot, full_page=True)
                browser.close()
        finally:
            httpd.shutdown()

    out = sys.stdout
    out.write(json.dumps(result, indent=1) + "\n")
    out.write(f"local requests: {sorted(set(local))}\nconsole: {console or 'none'}\n")
    failures = []
    if outside:
        failures.append(f"requests left 127.0.0.1: {outside}")
    if not {"BRA", "ARG", "MEX"} <= set(result["paths"]) or result["paths"]["BRA"]["d"] < 100:
        failures.append("Brazil/Argentina/Mexico not drawn")
    if "/static/geo/world_50m.json" not in local:
        failures.append("world_50m.json was not loaded from /static/geo/")
    if result["markers"] != len(SMALL):
        failures.append(f"expected {len(SMALL)} scattergeo markers, got {result['markers']}")
    if any("Content Security Policy" in c or "error" in c.split(":")[0] for c in console):
        failures.append("console errors / CSP violations")
    if failures:
        out.write("FAILED:\n  " + "\n  ".join(failures) + "\n")
    else:
        out.write("OK: all charts drawn from 127.0.0.1 only\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
