"""Re-run the pages whose figures come from the result files, and save their outputs.

The results page (nbs/17_results.ipynb) and the index (nbs/index.ipynb) print every figure through
code that reads bench/; `tests/test_results.py` fails when their saved outputs are not what that
code gives for the files committed now. After a benchmark adds or changes a result file, run

    python tools/refresh_pages.py            # both pages; cells flagged #| slow or #| hub keep their outputs
    python tools/refresh_pages.py --slow     # also re-run the #| slow cells (minutes)

then `nbdev_clean` and `python tools/make_readme.py` (the README repeats the index), and commit the
result file and the pages together. A cell that raises stops the page and nothing is written.
"""
import argparse, os, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = ('17_results.ipynb', 'index.ipynb')


def skipped(source:str, flags=('slow', 'hub')) -> bool:
    "Whether a cell carries one of the test flags `flags` (`#| slow`, `#| hub`), which a default run skips."
    return any(re.search(rf'^\s*#\|\s*{f}\b', source, re.M) for f in flags)


def run_page(path:Path, flags=('slow', 'hub')):
    "The notebook at `path` with its code cells run in order, from its own folder; cells flagged with one of `flags` left as they were."
    from execnb.nbio import read_nb
    from execnb.shell import CaptureShell
    nb = read_nb(path)
    cwd = os.getcwd()
    os.chdir(path.parent)
    try: CaptureShell().run_all(nb, exc_stop=True, preproc=lambda c: c.cell_type != 'code' or skipped(c.source, flags))
    finally: os.chdir(cwd)
    return nb


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('pages', nargs='*', default=PAGES, help=f"notebooks in nbs/ (default: {' '.join(PAGES)})")
    p.add_argument('--slow', action='store_true', help="also re-run the cells flagged #| slow")
    a = p.parse_args(argv)
    from execnb.nbio import write_nb
    flags = ('hub',) if a.slow else ('slow', 'hub')
    for name in a.pages:
        path = ROOT/'nbs'/name
        if not path.is_file(): sys.exit(f"no notebook {path}")
        write_nb(run_page(path, flags), path)
        print(f"re-ran {path.relative_to(ROOT)}")


if __name__ == '__main__': main()
