#!/usr/bin/env bash
# The whole test suite: set up .venv if needed, check that notebooks and package are in sync, that
# README.md matches nbs/index.ipynb, then run every notebook (and tests/*.py) through pytest.
#   --slow   also run the cells flagged `#| slow`
#   --hub    also run the cells flagged `#| hub`, which download from the Hugging Face Hub (the
#            only way a test touches the network; without it the Hub's offline switches are on)
# Other arguments go to pytest (e.g. -k 01_quant). CPT_NB_TEST_WORKERS: pytest-xdist workers (default 2; 0: one process).
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/env.sh
export PYTHONDONTWRITEBYTECODE=1

hub=0
pytest_args=()
for arg in "$@"; do
  if [ "$arg" = "--slow" ]; then export CPT_NB_TEST_FLAGS="slow ${CPT_NB_TEST_FLAGS:-}"
  elif [ "$arg" = "--hub" ]; then hub=1; export CPT_NB_TEST_FLAGS="hub ${CPT_NB_TEST_FLAGS:-}"
  else pytest_args+=("$arg"); fi
done
if [ "$hub" = 0 ]; then export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1; fi

# 1. nbdev's CI checks: exporting must not change cpt_nb/, cleaning must not change nbs/.
snap="$(mktemp -d)"; trap 'rm -rf "$snap"' EXIT
cp -r cpt_nb "$snap/cpt_nb"; cp -r nbs "$snap/nbs"
nbdev_export
nbdev_clean
if ! diff -r -x __pycache__ -x .ipynb_checkpoints "$snap/cpt_nb" cpt_nb >/dev/null \
   || ! diff -r -x __pycache__ -x .ipynb_checkpoints -x .quarto -x _proc "$snap/nbs" nbs >/dev/null; then
  echo "FAILED: nbdev_export or nbdev_clean changed files; run both and commit the result:" >&2
  diff -r -x __pycache__ -x .ipynb_checkpoints -q "$snap/cpt_nb" cpt_nb >&2 || true
  diff -r -x __pycache__ -x .ipynb_checkpoints -x .quarto -x _proc -q "$snap/nbs" nbs >&2 || true
  exit 1
fi

# 2. README.md is generated from nbs/index.ipynb.
python tools/make_readme.py --check

# 3. The notebooks' own tests (one pytest test per notebook) and tests/*.py.
set +e
# Two workers (pytest-xdist): most cells are tiny models, bound by one core's Python, so two notebooks
# at once take about half the time on two cores. CPT_NB_TEST_WORKERS sets the number; 0 runs in this process.
python -m pytest tests -p no:cacheprovider -n "${CPT_NB_TEST_WORKERS:-2}" --dist loadgroup ${pytest_args[@]+"${pytest_args[@]}"}
status=$?
set -e
if [ "$status" -eq 5 ]; then echo "FAILED: pytest collected no tests" >&2; exit 1; fi
exit "$status"
