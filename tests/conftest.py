import os
from pathlib import Path

import pytest


def pytest_addoption(parser):
    parser.addoption('--slow', action='store_true', help="also run notebook cells flagged `#| slow` and slow tests")


def run_slow(config) -> bool:
    "Were slow tests asked for, by `--slow` or CPT_NB_TEST_FLAGS?"
    return config.getoption('--slow') or 'slow' in os.environ.get('CPT_NB_TEST_FLAGS', '').split()


def pytest_configure(config):
    # On pytest-xdist's workers (`tools/test.sh` starts two), each takes its share of the cores for
    # torch's threads: two workers of two threads each on two cores spend most of their time waiting
    # for each other (the suite took three times as long). OMP_NUM_THREADS, when set, wins; it is set
    # here before any test module imports torch, and the subprocesses a test starts inherit it.
    workers = int(os.environ.get('PYTEST_XDIST_WORKER_COUNT', '1'))
    if workers > 1 and 'OMP_NUM_THREADS' not in os.environ:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count() or 1
        os.environ['OMP_NUM_THREADS'] = str(max(1, cores // workers))
    config.addinivalue_line('markers', 'slow: skipped unless --slow is given')
    # torch's own import of its deprecated TorchScript helpers; nothing cpt_nb can act on
    config.addinivalue_line('filterwarnings', 'ignore:`torch.jit.script_method` is deprecated:DeprecationWarning')


def pytest_collection_modifyitems(config, items):
    # `tools/test.sh` runs the tests on two pytest-xdist workers with `--dist loadgroup`. Each notebook
    # is a test of its own and may go to either worker; the tests of one tests/*.py file stay on one
    # worker, and so do all the tests that read the docs' `_proc/`: they share a fixture that is costly
    # to build (the wheel, `processed_docs`, the browser's site), and two workers would build it twice,
    # `processed_docs` into the same folder.
    for item in items:
        if 'processed_docs' in item.fixturenames: item.add_marker(pytest.mark.xdist_group('processed_docs'))
        elif item.module.__name__ != 'test_notebooks': item.add_marker(pytest.mark.xdist_group(item.module.__name__))
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
