"""The reported results are the result files' own.

* The results page and the index print figures only through code that reads `bench/`: their saved
  markdown outputs (what the site and the README show) must be what that code gives for the files
  committed now, so a result file changed without re-running the page fails here.
* A committed result file says what produced it -- command, date, machine, torch and commit (None
  where it was not recorded, with a `provenance` saying so) -- and holds no path of the machine
  that wrote it.
"""
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT/'tools'))
from refresh_pages import PAGES, run_page, skipped  # the test runs the pages as the tool that refreshes them does

MACHINE_PATH = re.compile(r'(?<![\w.])/(root|home|work|tmp|Users|mnt|scratch)/|[A-Za-z]:\\\\')


def _markdown_outputs(cells) -> dict[str, list[str]]:
    "Each code cell's markdown outputs, by cell id."
    out = {}
    for c in cells:
        if c['cell_type'] != 'code': continue
        outputs = c.get('outputs', [])
        mds = [''.join(o['data']['text/markdown']) for o in outputs if 'text/markdown' in o.get('data', {})]
        if mds: out[c['id']] = mds
    return out


@pytest.mark.parametrize('name', PAGES)
def test_saved_results_are_the_files(name):
    saved = _markdown_outputs(json.loads((ROOT/'nbs'/name).read_text())['cells'])
    assert saved, f"{name} has no saved markdown output to check"
    nb = run_page(ROOT/'nbs'/name)
    fresh = {c.id: [''.join(o['data']['text/markdown']) for o in c.get('outputs', []) if 'text/markdown' in o.get('data', {})]
             for c in nb.cells if c.cell_type == 'code' and not skipped(c.source)}
    stale = [cid for cid, mds in saved.items() if cid in fresh and fresh[cid] != mds]
    assert not stale, (f"{name}: the saved output of cells {stale} is not what the result files give now; "
                       "run `python tools/refresh_pages.py`, then `nbdev_clean` and `python tools/make_readme.py`")


def _result_files() -> list[Path]:
    return sorted(p for p in (ROOT/'bench').rglob('*.json') if 'runs' not in p.relative_to(ROOT/'bench').parts)


def test_result_files_say_what_made_them():
    files = _result_files()
    assert files, "no result file under bench/"
    for p in files:
        r = json.loads(p.read_text())
        missing = [k for k in ('command', 'date', 'machine', 'commit') if k not in r]
        assert not missing, f"{p.relative_to(ROOT)} lacks {missing}"
        if r['commit'] is None: assert r.get('provenance'), f"{p.relative_to(ROOT)}: no commit, and no provenance saying why"
        assert r.get('torch') or 'torch ' in r['machine'], f"{p.relative_to(ROOT)} does not name its torch version"


def test_result_files_hold_no_machine_path():
    bad = [f"{p.relative_to(ROOT)}: {m.group()!r}" for p in _result_files() for m in MACHINE_PATH.finditer(p.read_text())]
    assert not bad, "paths of the machine that wrote them (name the corpus or folder as a user knows it):\n" + '\n'.join(bad)


def test_the_path_check_can_fail():
    assert MACHINE_PATH.search('"data": "/root/.cache/cpt_nb/python3.11-doc"')
    assert MACHINE_PATH.search('"command": "cpt_nb bench --output /work/main/bench"')
    assert not MACHINE_PATH.search('"data": "python3.11-doc", "command": "cpt_nb bench --output bench/quality"')
