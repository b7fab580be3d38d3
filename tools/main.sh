#!/usr/bin/env bash
# The main job: set up .venv if needed, then run `cpt_nb train` (arguments are passed on to it).
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/env.sh
exec cpt_nb train "$@"
