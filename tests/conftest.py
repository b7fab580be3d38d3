import os
from pathlib import Path

import pytest


def pytest_addoption(parser):
    parser.addoption('--slow', action='store_true', help="also run notebook cells flagged `#| slow` and slow tests")


def run_slow(config) -> bool:
    "Were slow tests asked for, by `--slow` or CPT_NB_TEST_FLAGS?"
    return config.getoption('--slow') or 'slow' in os.environ.get('CPT_NB_TEST_FLAGS', '').split()


def pytest_configure(config):
    config.addinivalue_line('markers', 'slow: skipped unless --slow is given')
    # torch's own import of its deprecated TorchScript helpers; nothing cpt_nb can act on
    config.addinivalue_line('filterwarnings', 'ignore:`torch.jit.script_method` is deprecated:DeprecationWarning')


def pytest_collection_modifyitems(config, items):
    if run_slow(config): return
    skip = pytest.mark.skip(reason="slow: run with --slow")
    for item in items:
        if 'slow' in item.keywords: item.add_marker(skip)


@pytest.fixture(scope='session')
def processed_docs() -> Path:
    """nbdev's processing of every notebook for the docs (the site build short of Quarto), once per run.

    It calls `nbdev.serve.proc_nbs` in this process, so an error in a notebook is raised here. The
    `nbdev_proc_nbs` command must not be used in tests: it first tries to install Quarto with sudo,
    then runs `pip install -e .[dev]`."""
    from nbdev.serve import proc_nbs
    return Path(proc_nbs(force=True, n_workers=0))


def pytest_unconfigure(config):
    # Each notebook runs in an IPython shell that, at interpreter exit, clears its namespace and calls
    # gc.collect(): one full collection of everything the run allocated per shell, about 20 s in all.
    # The tests are over by then; moving every object out of the collector's reach makes exit immediate.
    import gc
    gc.freeze()
