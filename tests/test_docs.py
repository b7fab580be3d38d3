"""The documentation build, as far as it runs without Quarto: nbdev's processing of every notebook.

nbdev builds the site in two steps: it processes each notebook (runs the `#| exec_doc` and
`show_doc` cells, renders the API docs as markdown, strips the directives, keeps widget state)
into `_proc/`, and Quarto renders that to HTML. Quarto cannot be installed on these machines
(see the README's notes), so this checks the first step for every notebook (the `processed_docs`
fixture of `conftest.py`, shared with the style tests). The page the site makes of the widgets is
checked in a browser by `test_browser.py`.

The `test_site_*` tests read the processed notebooks the way Quarto does (the representation it
picks of each output for HTML, the cell options that hide outputs) and fail, naming notebook, cell
index and cell id (ids survive renames), on: a widget view the page cannot draw (no saved state),
an API entry twice on a page, a local path or a progress bar in an output, a source link to
`#LNone` and a link to a private name.
"""
import json, re
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WIDGET_VIEW = 'application/vnd.jupyter.widget-view+json'
WIDGET_STATE = 'application/vnd.jupyter.widget-state+json'


def test_every_notebook_is_processed_for_the_docs(processed_docs):
    cache = processed_docs
    notebooks = sorted(p.name for p in (ROOT/'nbs').glob('*.ipynb') if not p.name.startswith(('_', '.')))
    assert sorted(p.name for p in cache.glob('*.ipynb')) == notebooks
    for name in notebooks:
        cells = json.loads((cache/name).read_text())['cells']
        code = [''.join(c['source']) for c in cells if c['cell_type'] == 'code']
        assert not any('#| export' in s or '#| hide' in s for s in code), name  # directives acted on
    viz = json.loads((cache/'09_viz.ipynb').read_text())['cells']
    docs = [''.join(o['data']['text/markdown']) for c in viz for o in c.get('outputs', []) if 'text/markdown' in o.get('data', {})]
    assert any('range_explorer' in d for d in docs) and any('LiveDashboard' in d for d in docs), docs[:3]
    # the widgets of the committed notebook (no saved state): the page shows their picture
    # (cpt_nb/_nbdev_procs.py, settings.ini's `procs`, drops their widget view for the site)
    source = {c['id'] for c in _cells(ROOT/'nbs'/'09_viz.ipynb') for o in c.get('outputs', []) if WIDGET_VIEW in o.get('data', {})}
    shown = [quarto_html_mime(o['data']) for c in viz if c.get('id') in source for o in c.get('outputs', []) if 'data' in o]
    assert source and shown and all(m == 'image/png' for m in shown), (source, shown)


def test_workflows_build_the_projects_environment():
    import yaml
    workflows = {p.name: yaml.safe_load(p.read_text()) for p in (ROOT/'.github'/'workflows').glob('*.yaml')}
    assert set(workflows) == {'test.yaml', 'deploy.yaml', 'release.yaml'}
    runs = lambda w: '\n'.join(s.get('run', '') for job in w['jobs'].values() for s in job['steps'])
    assert 'bash .ci/run' in runs(workflows['test.yaml'])  # exactly the README's test command
    deploy = runs(workflows['deploy.yaml'])
    assert 'source tools/env.sh' in deploy and 'nbdev_docs' in deploy
    assert 'pip install' not in deploy  # nbdev's stock steps install nbdev 3 and a CUDA torch, unpinned
    steps = [s for job in workflows['deploy.yaml']['jobs'].values() for s in job['steps']]
    build = next(s for s in steps if 'nbdev_docs' in s.get('run', ''))
    assert str(build.get('env', {}).get('CPT_NB_PRETRAINED')) == '0'  # tools/env.sh: no pretrained model for the docs
    uses = {s['uses'].split('@')[0]: s for s in steps if 'uses' in s}
    assert str(uses['actions/configure-pages'].get('with', {}).get('enablement')).lower() == 'true'  # turns Pages on
    assert uses['actions/upload-pages-artifact']['with']['path'].strip('./') == '_docs'  # where nbdev_docs puts the site
    assert 'actions/deploy-pages' in uses
    assert {'pages': 'write', 'id-token': 'write'}.items() <= workflows['deploy.yaml']['permissions'].items()
    assert steps.index(uses['actions/configure-pages']) < steps.index(build) < steps.index(uses['actions/upload-pages-artifact'])


# --- The site as Quarto renders the processed notebooks --------------------------------------------
#
# Quarto renders each output of `_proc/*.ipynb` in one representation. Its choice for HTML pages is
# `displayDataMimeType` in quarto-cli's src/core/jupyter/display-data.ts (read at commit 254acfe2):
# the base order is text/markdown, image/svg+xml, image/png, image/jpeg; for HTML (`options.toHtml`)
# the widget state, widget view, application/javascript and text/html types go in front (and, for a
# markdown format that allows HTML such as commonmark, once more before markdown: the same first
# match); text/plain comes last. So a widget view wins over the PNG beside it, and a page without the
# widget's saved state (notebook metadata `widgets`) draws nothing there.
QUARTO_HTML_ORDER = (WIDGET_STATE, WIDGET_VIEW, 'application/javascript', 'text/html',
                     'text/markdown', 'image/svg+xml', 'image/png', 'image/jpeg', 'text/plain')
TEXT_MIMES = {'application/javascript', 'text/html', 'text/markdown', 'text/plain'}
LOCAL_PATH = re.compile(r'(?<![\w/.-])(?:/root|/home|/tmp|/work|/Users|/private/var|/var/folders)/|\.venv/|site-packages'
                        r'|\b[A-Za-z]:\\Users\\')
PROGRESS = re.compile(r'[\d?](?:it/s|s/it)\]|\d%\|[^|\n]{0,100}\|\s*\d+/\d+')  # tqdm: '100%|####| 29/29 [..., 1.2it/s]'
HEADING = re.compile(r'^#{1,6}\s+(\S.*?)\s*$')
XREF = re.compile(r'\[`([^`\s]+?)(?:\(\))?`\]\(([^)\s]+)\)')  # nbdev's link of a backticked name (doclinks.NbdevLookup)


def _cells(nb:Path) -> list[dict]: return json.loads(nb.read_text(encoding='utf-8'))['cells']
def _text(v) -> str: return ''.join(v) if isinstance(v, list) else v if isinstance(v, str) else json.dumps(v)


def quarto_html_mime(data:dict) -> str|None:
    "The representation Quarto puts in an HTML page for a display_data or execute_result output."
    return next((m for m in QUARTO_HTML_ORDER if m in data), None)


def _options(cell:dict) -> dict:
    "The Quarto cell options (`#| key: value` lines) that lead the cell's source."
    opts = {}
    for line in _text(cell.get('source', '')).splitlines():
        m = re.match(r'#\|\s*([\w-]+)\s*:\s*(.*?)\s*$', line)
        if not m: break
        opts[m.group(1)] = m.group(2).lower()
    return opts


def shown_outputs(cell:dict):
    "`(output, mime, text)` for each output the page shows: mime is the one Quarto picks (or the stream's name)."
    opts = _options(cell)
    if opts.get('output') == 'false' or opts.get('include') == 'false': return
    for o in cell.get('outputs', []):
        kind = o.get('output_type')
        if kind == 'stream':
            if o.get('name') == 'stderr' and opts.get('warning') == 'false': continue
            yield o, o.get('name'), _text(o.get('text', ''))
        elif kind == 'error': yield o, 'error', f"{o.get('ename')}: {o.get('evalue')}"  # Quarto shows no traceback
        elif kind in ('display_data', 'execute_result'):
            mime = quarto_html_mime(o.get('data', {}))
            yield o, mime, _text(o['data'][mime]) if mime in TEXT_MIMES else ''


def _outside_fences(md:str):
    fence = None
    for line in md.splitlines():
        m = re.match(r'\s*(`{3,}|~{3,})', line)
        if m and (fence is None or m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence)):
            fence = None if fence else m.group(1)
        elif fence is None: yield line


def _code(cell:dict) -> str:
    "A cell's source without its leading `#|` lines."
    return '\n'.join(l for l in _text(cell.get('source', '')).splitlines() if not l.startswith('#|'))


def _snippet(text:str, m:re.Match, width:int=70) -> str:
    return repr(text[max(m.start() - width, 0):m.end() + width])


class Page:
    "A processed notebook, with each cell named by the notebook cell it comes from (cell ids stay put across renames)."
    def __init__(self, path:Path, cache:Path):
        self.name = path.relative_to(cache).as_posix()
        self.nb = json.loads(path.read_text(encoding='utf-8'))
        source = ROOT/'nbs'/self.name
        ids = {c.get('id') for c in _cells(source)} if source.exists() else set()
        self.where, last = [], None
        for i, c in enumerate(self.nb['cells']):
            if c.get('id') in ids: last = c['id']; self.where.append(f"{self.name} cell {i} (id={last})")
            else: self.where.append(f"{self.name} cell {i} (added by nbdev, after id={last})")  # e.g. an exported def's show_doc

    @property
    def cells(self): return enumerate(self.nb['cells'])
    @property
    def saved_widgets(self) -> set:
        return set(self.nb.get('metadata', {}).get('widgets', {}).get(WIDGET_STATE, {}).get('state', {}))


@pytest.fixture(scope='module')
def site(processed_docs) -> list[Page]:
    return [Page(p, processed_docs) for p in sorted(processed_docs.rglob('*.ipynb'))]


def test_quarto_html_choice():
    png, view = {'image/png': 'iVBOR', 'text/plain': ['Box()']}, {WIDGET_VIEW: {'model_id': 'a'}}
    assert quarto_html_mime(png) == 'image/png' and quarto_html_mime({**png, **view}) == WIDGET_VIEW
    assert quarto_html_mime({'text/markdown': '#', 'text/html': '<b>'}) == 'text/html'
    assert quarto_html_mime({'text/markdown': '#', 'image/png': ''}) == 'text/markdown'
    cell = {'source': '#| warning: false\nx', 'outputs': [{'output_type': 'stream', 'name': 'stderr', 'text': 'w'},
                                                        {'output_type': 'stream', 'name': 'stdout', 'text': 'o'}]}
    assert [m for _, m, _ in shown_outputs(cell)] == ['stdout']


def test_widget_image_fallback_processor():
    "The docs build's processor drops a widget view without saved state when the output has a picture."
    import configparser
    from execnb.nbio import dict2nb
    from cpt_nb._nbdev_procs import widget_image_fallback
    cfg = configparser.ConfigParser(delimiters=['=']); cfg.read(ROOT/'settings.ini')
    assert {'cpt_nb._nbdev_procs:widget_image_fallback', 'cpt_nb._nbdev_procs:unlink_private'} <= set(cfg['DEFAULT'].get('procs', '').split())
    out = lambda mid, *more: {'output_type': 'display_data', 'metadata': {},
                              'data': {WIDGET_VIEW: {'model_id': mid}, 'text/plain': 'Box()', **{k: 'x' for k in more}}}
    nb = dict2nb({'cells': [{'cell_type': 'code', 'source': 'w', 'metadata': {}, 'execution_count': 1,
                             'outputs': [out('lost', 'image/png'), out('saved', 'image/png'), out('bare')]}],
                  'metadata': {'widgets': {WIDGET_STATE: {'state': {'saved': {}}}}}, 'nbformat': 4, 'nbformat_minor': 5})
    proc = widget_image_fallback(nb); proc.begin()
    for cell in nb.cells: proc(cell)
    assert [quarto_html_mime(o['data']) for o in nb.cells[0].outputs] == ['image/png', WIDGET_VIEW, WIDGET_VIEW]


def test_unlink_private_processor():
    from cpt_nb._nbdev_procs import unlink_private
    link = lambda n: f"[`{n}`](https://cpt-nb.github.io/cpt_nb/quant.html#{n.lower().removesuffix('()')})"
    cell = {'cell_type': 'markdown', 'source': f"{link('_as_int')}, {link('fake_quantize')} and {link('Box._f()')}, {link('Box.__call__')}"}
    unlink_private(cell)
    assert cell['source'] == f"`_as_int`, {link('fake_quantize')} and `Box._f()`, {link('Box.__call__')}"
    out = {'cell_type': 'code', 'source': 'show_doc(f)', 'outputs': [{'output_type': 'display_data', 'data': {'text/markdown': [link('_x'), ' ok']}}]}
    unlink_private(out)
    assert out['outputs'][0]['data']['text/markdown'] == ['`_x`', ' ok']


def test_site_draws_every_widget(site):
    "No output whose page shows a widget view that the notebook saves no state for: the page would draw nothing."
    bad = [f"{page.where[i]}: widget view {o['data'][WIDGET_VIEW].get('model_id')} without saved state "
           f"(other representations: {sorted(set(o['data']) - {WIDGET_VIEW})})"
           for page in site for i, c in page.cells for o, mime, _ in shown_outputs(c) if mime == WIDGET_VIEW
           and o['data'][WIDGET_VIEW].get('model_id') not in page.saved_widgets]
    assert not bad, '\n'.join(['widgets the site cannot draw (give them a PNG beside the view, or saved state):', *bad])


def test_site_has_each_api_entry_once(site):
    "No API heading (nbdev's `show_doc` renders `### Name.method`) twice on one page."
    bad = []
    for page in site:
        seen = defaultdict(list)
        for i, c in page.cells:
            for _, mime, text in shown_outputs(c):
                if mime != 'text/markdown': continue
                for line in _outside_fences(text):
                    if HEADING.match(line): seen[line.strip()].append(f"{page.where[i]}: {_code(c)!r}")
        bad += [f"{h!r} {len(w)} times:\n    " + '\n    '.join(w) for h, w in seen.items() if len(w) > 1]
    assert not bad, '\n'.join(['API entries rendered twice on a page (nbdev documents a @patch method by itself; '
                               'delete the explicit show_doc cell):', *bad])


def test_site_outputs_are_machine_independent(site):
    "No local path (warnings print their file), no progress bar in what a page shows."
    bad = []
    for page in site:
        for i, c in page.cells:
            for _, mime, text in shown_outputs(c):
                for rx, what in ((LOCAL_PATH, 'a local path'), (PROGRESS, 'a progress bar')):
                    if m := rx.search(text): bad.append(f"{page.where[i]}: {what} in its {mime} output: {_snippet(text, m)}")
    assert not bad, '\n'.join(['outputs that show this machine or a progress bar:', *bad])


def test_site_links_resolve(site):
    "No source link to line None, no cross-reference to a private helper (nbdev links every backticked name it knows)."
    bad = []
    for page in site:
        for i, c in page.cells:
            texts = [('markdown cell', _text(c.get('source', '')))] if c['cell_type'] == 'markdown' else []
            texts += [(f"{mime} output", t) for _, mime, t in shown_outputs(c)]
            for what, text in texts:
                for m in re.finditer(r'#LNone\b', text): bad.append(f"{page.where[i]}: source link to line None in its {what}: {_snippet(text, m)}")
                for m in XREF.finditer(text):
                    last = m.group(1).split('.')[-1]
                    if last.startswith('_') and not last.startswith('__'):
                        bad.append(f"{page.where[i]}: link to private `{m.group(1)}` ({m.group(2)}) in its {what}")
    assert not bad, '\n'.join(['broken links on the site:', *bad])
