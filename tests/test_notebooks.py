"""Run each notebook's cells as one pytest test, the way `nbdev_test` does.

Cells flagged with one of settings.ini's `tst_flags` (`notest`, `slow`, `hub`) are skipped unless the
flag is named in the environment variable CPT_NB_TEST_FLAGS (`tools/test.sh --slow` and `--hub` set
it) or `--slow` is given.
"""
import os
from pathlib import Path

import pytest
import nbdev.test as nbdev_test  # the module, so pytest does not collect `test_nb` itself
from nbdev.config import get_config

NBS = Path(__file__).resolve().parent.parent/'nbs'
NOTEBOOKS = sorted(p for p in NBS.glob('*.ipynb') if not p.name.startswith(('_', '.')))


@pytest.mark.parametrize('notebook', NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook(notebook, request):
    skip = get_config().get('tst_flags', '').split()
    force = os.environ.get('CPT_NB_TEST_FLAGS', '').split() + (['slow'] if request.config.getoption('--slow') else [])
    try: ok, seconds = nbdev_test.test_nb(notebook, skip_flags=skip, force_flags=force, showerr=True)
    finally: _forget_compiled_code()
    assert ok, f"{notebook.name} failed (see the traceback above)"


def _forget_compiled_code():
    # torch.compile keeps guards that point into the notebook's namespace; dropping them while that
    # namespace exists avoids a burst of "Exception ignored" KeyErrors at interpreter exit.
    import sys
    if 'torch._dynamo' in sys.modules: sys.modules['torch._dynamo'].reset()


def test_found_notebooks():
    assert len(NOTEBOOKS) >= 3, NOTEBOOKS
