"""The documentation build, as far as it runs without Quarto: nbdev's processing of every notebook.

nbdev builds the site in two steps: it processes each notebook (runs the `#| exec_doc` and
`show_doc` cells, renders the API docs as markdown, strips the directives, keeps widget state)
into `_proc/`, and Quarto renders that to HTML. Quarto cannot be installed on these machines
(see the README's notes), so this checks the first step for every notebook. It calls
`nbdev.serve.proc_nbs` directly: the `nbdev_proc_nbs` command first tries to install Quarto and
then runs `pip install -e .[dev]`, which must not happen in a test.
"""
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_every_notebook_is_processed_for_the_docs():
    from nbdev.serve import proc_nbs
    cache = Path(proc_nbs(force=True, n_workers=0))  # in this process: an error in a notebook is raised here
    notebooks = sorted(p.name for p in (ROOT/'nbs').glob('*.ipynb') if not p.name.startswith(('_', '.')))
    assert sorted(p.name for p in cache.glob('*.ipynb')) == notebooks
    for name in notebooks:
        cells = json.loads((cache/name).read_text())['cells']
        code = [''.join(c['source']) for c in cells if c['cell_type'] == 'code']
        assert not any('#| export' in s or '#| hide' in s for s in code), name  # directives acted on
    viz = json.loads((cache/'07_viz.ipynb').read_text())['cells']
    docs = [''.join(o['data']['text/markdown']) for c in viz for o in c.get('outputs', []) if 'text/markdown' in o.get('data', {})]
    assert any('range_explorer' in d for d in docs) and any('LiveDashboard' in d for d in docs), docs[:3]


def test_workflows_build_the_projects_environment():
    import yaml
    workflows = {p.name: yaml.safe_load(p.read_text()) for p in (ROOT/'.github'/'workflows').glob('*.yaml')}
    assert set(workflows) == {'test.yaml', 'deploy.yaml', 'release.yaml'}
    runs = lambda w: '\n'.join(s.get('run', '') for job in w['jobs'].values() for s in job['steps'])
    assert 'bash .ci/run' in runs(workflows['test.yaml'])  # exactly the README's test command
    deploy = runs(workflows['deploy.yaml'])
    assert 'source tools/env.sh' in deploy and 'nbdev_docs' in deploy
    assert 'pip install' not in deploy  # nbdev's stock steps install nbdev 3 and a CUDA torch, unpinned
