"""The documentation build, as far as it runs without Quarto: nbdev's processing of every notebook.

nbdev builds the site in two steps: it processes each notebook (runs the `#| exec_doc` and
`show_doc` cells, renders the API docs as markdown, strips the directives, keeps widget state)
into `_proc/`, and Quarto renders that to HTML. Quarto cannot be installed on these machines
(see the README's notes), so this checks the first step for every notebook (the `processed_docs`
fixture of `conftest.py`, shared with the style tests). The page the site makes of the widgets is
checked in a browser by `test_browser.py`.
"""
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_notebook_is_processed_for_the_docs(processed_docs):
    cache = processed_docs
    notebooks = sorted(p.name for p in (ROOT/'nbs').glob('*.ipynb') if not p.name.startswith(('_', '.')))
    assert sorted(p.name for p in cache.glob('*.ipynb')) == notebooks
    for name in notebooks:
        cells = json.loads((cache/name).read_text())['cells']
        code = [''.join(c['source']) for c in cells if c['cell_type'] == 'code']
        assert not any('#| export' in s or '#| hide' in s for s in code), name  # directives acted on
    viz = json.loads((cache/'07_viz.ipynb').read_text())['cells']
    docs = [''.join(o['data']['text/markdown']) for c in viz for o in c.get('outputs', []) if 'text/markdown' in o.get('data', {})]
    assert any('range_explorer' in d for d in docs) and any('LiveDashboard' in d for d in docs), docs[:3]
    widgets = [o['data'] for c in viz for o in c.get('outputs', []) if 'application/vnd.jupyter.widget-view+json' in o.get('data', {})]
    assert widgets and all('image/png' in w for w in widgets)  # the picture a page without widget state shows


def test_workflows_build_the_projects_environment():
    import yaml
    workflows = {p.name: yaml.safe_load(p.read_text()) for p in (ROOT/'.github'/'workflows').glob('*.yaml')}
    assert set(workflows) == {'test.yaml', 'deploy.yaml', 'release.yaml'}
    runs = lambda w: '\n'.join(s.get('run', '') for job in w['jobs'].values() for s in job['steps'])
    assert 'bash .ci/run' in runs(workflows['test.yaml'])  # exactly the README's test command
    deploy = runs(workflows['deploy.yaml'])
    assert 'source tools/env.sh' in deploy and 'nbdev_docs' in deploy
    assert 'pip install' not in deploy  # nbdev's stock steps install nbdev 3 and a CUDA torch, unpinned
