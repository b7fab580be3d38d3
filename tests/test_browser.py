"""The widgets in a real browser: a page built from the explorer's notebook, opened in headless Chromium.

Quarto cannot run on these machines (see the README's notes), so the site's widgets are checked on
a page that nbconvert builds, which draws widgets the way the site does (from the widget state a
notebook saves, with `@jupyter-widgets/html-manager`):

1. `nbs/09_viz.ipynb` runs in a Jupyter kernel (nbclient), leaving out the cells the tests leave
   out by default (those flagged with settings.ini's `tst_flags`), and keeps its widget state.
2. nbconvert writes it as HTML (the `lab` template). The widget JavaScript comes from this machine:
   `@jupyter-widgets/html-manager` and `requirejs` from the npm registry, installed once into
   `.cache/browser/npm`; no CDN.
3. A server on 127.0.0.1 serves the page, and Chromium opens it through Playwright. Any request for
   another host is refused and makes the test fail.
4. Each widget is photographed, and the test fails when its picture is blank or lacks its figure.

The page of the committed notebook, which has no widget state (nbdev's test runner has no kernel),
is checked too: there each widget must show its static picture instead.

Chromium is Debian's `chromium`; under `CI=true` the test installs it with apt-get when it is
missing, and skips, saying why, where that is impossible. Screenshots go to `.cache/browser/`
(ignored by git).
"""
import contextlib
import copy
import functools
import http.server
import io
import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT/'.cache'/'browser'
NPM_PACKAGES = ('@jupyter-widgets/html-manager@1.0.15', 'requirejs@2.3.7')  # html-manager 1.x draws ipywidgets 8
WIDGET_VIEW = 'application/vnd.jupyter.widget-view+json'
WIDGET_STATE = 'application/vnd.jupyter.widget-state+json'
CHROMIUM_FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-sync',
                  '--disable-background-networking', '--disable-component-update']  # no calls to Google's hosts


def _chromium() -> str:
    "Debian's Chromium: found, or installed with apt-get under CI=true, or the test is skipped."
    found = shutil.which('chromium') or shutil.which('chromium-browser')
    if found: return found
    if os.environ.get('CI') != 'true':
        pytest.skip("Chromium is not installed: `apt-get install chromium` (Debian), or run under CI=true to let the test install it")
    apt = shutil.which('apt-get')
    if apt is None or os.geteuid() != 0: pytest.skip("Chromium is missing and cannot be installed here (needs apt-get as root)")
    install = [apt, 'install', '-y', '-q', '--no-install-recommends', 'chromium']
    env = {**os.environ, 'DEBIAN_FRONTEND': 'noninteractive'}
    if subprocess.run(install, env=env, capture_output=True).returncode != 0:  # a fresh machine may lack the package lists
        subprocess.run([apt, 'update', '-q'], env=env, capture_output=True)
        done = subprocess.run(install, env=env, capture_output=True, text=True)
        if done.returncode != 0: pytest.skip(f"apt-get could not install chromium: {done.stderr.strip()[-300:]}")
    return shutil.which('chromium')


def _widget_js() -> Path:
    "The html-manager and requirejs packages from the npm registry, installed once into the cache."
    npm_dir = CACHE/'npm'
    stamp = npm_dir/'installed.txt'
    if not stamp.exists() or stamp.read_text() != ' '.join(NPM_PACKAGES):
        if shutil.which('npm') is None: pytest.skip("npm (Node.js) is needed to install the widget JavaScript")
        npm_dir.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(['npm', 'install', '--prefix', str(npm_dir), '--no-audit', '--no-fund', '--no-save', *NPM_PACKAGES],
                              capture_output=True, text=True)
        assert done.returncode == 0, f"npm install failed: {done.stderr[-1000:]}"
        stamp.write_text(' '.join(NPM_PACKAGES))
    return npm_dir/'node_modules'


def _default_cells(nb):
    "The notebook with only the cells the tests run by default: none flagged with settings.ini's `tst_flags`."
    from nbdev.config import get_config
    from nbdev.process import extract_directives
    flags = set(get_config().get('tst_flags', '').split())
    nb = copy.deepcopy(nb)
    nb.cells = [c for c in nb.cells if c.cell_type != 'code' or not flags & set(extract_directives(copy.deepcopy(c), remove=False))]
    return nb


def _run_in_kernel(path: Path):
    "Execute the notebook in a Jupyter kernel, keeping its widget state as Jupyter does when saving."
    import nbformat
    from nbclient import NotebookClient
    nb = _default_cells(nbformat.read(path, as_version=4))
    NotebookClient(nb, timeout=600, kernel_name='python3', store_widget_state=True,
                   resources={'metadata': {'path': str(path.parent)}}).execute()
    return nb


def _write_page(nb, site: Path, name: str) -> Path:
    "The notebook as nbconvert's HTML, its scripts served from `site`."
    from nbconvert import HTMLExporter
    (site/'no-mathjax.js').write_text('// formulas stay as TeX on this check page\n')
    html, _ = HTMLExporter(template_name='lab', require_js_url='requirejs/require.js',
                           widget_renderer_url='html-manager/dist/embed-amd.js', mathjax_url='no-mathjax.js').from_notebook_node(nb)
    page = site/name
    page.write_text(html)
    return page


def _serve(site: Path):
    handler = functools.partial(QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args): pass


def _drawn(png: bytes) -> float:
    "The share of a picture's pixels that differ from its most common colour (0 for a blank picture)."
    from PIL import Image
    img = Image.open(io.BytesIO(png)).convert('RGB')
    counts = img.getcolors(img.width * img.height)
    return 1 - max(counts)[0] / (img.width * img.height)


def _views(nb) -> list[str]:
    "The model ids of the widget views the notebook's outputs display."
    return [o['data'][WIDGET_VIEW]['model_id'] for c in nb.cells if c.cell_type == 'code'
            for o in c.get('outputs', []) if WIDGET_VIEW in o.get('data', {})]


@pytest.fixture(scope='module')
def site():
    chromium = _chromium()
    node_modules = _widget_js()
    site = CACHE/'site'
    shutil.rmtree(site, ignore_errors=True); site.mkdir(parents=True)
    (site/'html-manager').symlink_to(node_modules/'@jupyter-widgets'/'html-manager')
    (site/'requirejs').symlink_to(node_modules/'requirejs')
    server = _serve(site)
    yield chromium, site, f'http://127.0.0.1:{server.server_address[1]}'
    server.shutdown()


@contextlib.contextmanager
def _page(chromium: str, origin: str, page_name: str):
    "`origin/page_name` open in headless Chromium; yields the page and the lists of refused requests and page errors."
    from playwright.sync_api import sync_playwright
    refused, errors = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={'width': 1280, 'height': 900})
        page.on('pageerror', lambda e: errors.append(str(e)))

        def route(r):  # only this machine's server: no CDN, no other host
            if r.request.url.startswith(origin + '/'): r.continue_()
            else: refused.append(r.request.url); r.abort()
        page.route('**/*', route)
        page.goto(f'{origin}/{page_name}', wait_until='load')
        try: yield page, refused, errors
        finally: browser.close()


def _photograph_widgets(page, shots: str, wait_for: str) -> list[dict]:
    "Wait for `wait_for`, then photograph every widget output and read what it holds."
    page.wait_for_selector(wait_for, timeout=60_000)
    page.wait_for_load_state('networkidle')
    outputs, taken = page.locator('.jp-OutputArea-output.jupyter-widgets'), []
    for i in range(outputs.count()):
        el = outputs.nth(i)
        png = el.screenshot(path=str(CACHE/f'{shots}-{i}.png'))
        taken.append(dict(png=png, images=el.evaluate("e => [...e.querySelectorAll('img')].map(i => i.naturalWidth)"),
                          selects=el.locator('select').count(), sliders=el.locator('.widget-slider').count(),
                          text=el.inner_text()))
    page.screenshot(path=str(CACHE/f'{shots}-page.png'), full_page=True)
    return taken


@pytest.mark.slow
def test_widgets_drawn_from_saved_state(site):
    chromium, root, url = site
    nb = _run_in_kernel(ROOT/'nbs'/'09_viz.ipynb')
    state = nb.metadata['widgets'][WIDGET_STATE]['state']
    views = _views(nb)
    assert len(views) == 2 and all(v in state for v in views), views  # the explorer and the dashboard
    _write_page(nb, root, 'viz.html')
    with _page(chromium, url, 'viz.html') as (page, refused, errors):
        shots = _photograph_widgets(page, 'widgets', '.jupyter-widgets .widget-dropdown')
    assert not refused, f"the page asked for other hosts: {refused}"
    assert not errors, errors
    assert len(shots) == len(views), [s['text'][:80] for s in shots]
    explorer, dashboard = shots
    assert explorer['selects'] == 2 and explorer['sliders'] == 1, explorer['text'][:200]  # layer, quantizer; bits
    assert 'SQNR' in explorer['text']  # the error table
    for shot in shots:
        assert shot['images'] and all(w > 100 for w in shot['images']), shot['images']  # the figure, decoded
        assert _drawn(shot['png']) > 0.05, "a widget's area is blank"


@pytest.mark.slow
def test_static_pictures_without_widget_state(site):
    import nbformat
    chromium, root, url = site
    nb = nbformat.read(ROOT/'nbs'/'09_viz.ipynb', as_version=4)
    assert WIDGET_STATE not in nb.metadata.get('widgets', {})  # as committed: run by nbdev's kernel-less runner
    views = _views(nb)
    assert len(views) == 1, views  # the explorer (the dashboard shows itself only in a kernel)
    _write_page(nb, root, 'static.html')
    with _page(chromium, url, 'static.html') as (page, refused, errors):
        page.wait_for_load_state('networkidle')
        assert page.locator('.jupyter-widgets .widget-dropdown').count() == 0  # nothing to draw widgets from
        cell = page.locator('.jp-Cell', has_text='box = range_explorer(model, batches[0])')
        img = cell.locator('.jp-OutputArea-output img')
        assert img.count() == 1 and img.evaluate('i => i.naturalWidth') > 100
        png = img.screenshot(path=str(CACHE/'static-explorer.png'))
    assert not refused and not errors, (refused, errors)
    assert _drawn(png) > 0.05
