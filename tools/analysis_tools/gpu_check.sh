#!/usr/bin/env bash
# Every GPU check of issue #21 in one run (about 7 minutes on one H200):
# ViT-B/16 and Point-MAE speed and memory against the baselines, eager and
# compiled; train.py / test.py / dist_train.sh on generated VTAB-1k JPEGs;
# the tests of the CUDA-only paths. See gpu_check.py for what it writes.
#
#   tools/analysis_tools/gpu_check.sh OUT_DIR [--dry-run] [gpu_check.py options]
#
# --dry-run: the same steps at tiny sizes on the CPU (a few minutes).
# PYTHON picks the interpreter (default: the repository's .venv if it
# exists, else python3). GPU_CHECK_TIMEOUT (seconds, default 900) stops a
# run that hangs; the results written so far stay in OUT_DIR.
set -euo pipefail
if [ $# -lt 1 ] || [[ $1 == -* ]]; then
  echo "usage: $0 OUT_DIR [--dry-run] [gpu_check.py options]" >&2
  exit 2
fi
OUT=$1
shift
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
if [ -z "${PYTHON:-}" ]; then
  if [ -x "$REPO/.venv/bin/python" ]; then PYTHON="$REPO/.venv/bin/python"; else PYTHON=python3; fi
fi
export PYTHON
mkdir -p "$OUT"
COMMIT=$(git -C "$REPO" rev-parse HEAD 2>/dev/null || echo unknown)
cd "$REPO"
set +e
PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 \
  timeout --kill-after=15 "${GPU_CHECK_TIMEOUT:-900}" \
  "$PYTHON" "$HERE/gpu_check.py" "$OUT" --commit "$COMMIT" "$@" 2>&1 | tee "$OUT/log.txt"
exit "${PIPESTATUS[0]}"
