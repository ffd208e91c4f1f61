#!/usr/bin/env bash
# Create (or update) the project's virtual environment in .venv/ at the
# repository root and install adapterx into it.
#   bash tools/install.sh           runtime stack + adapterx (editable)
#   bash tools/install.sh --tests   the same, plus the test requirements
set -euo pipefail
cd "$(dirname "$0")/.."

with_tests=0
for arg in "$@"; do
  case "$arg" in
    --tests) with_tests=1 ;;
    *) echo "install.sh: unknown argument '$arg' (expected --tests)" >&2; exit 2 ;;
  esac
done

python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
pip=(.venv/bin/python -m pip install --disable-pip-version-check -q)

"${pip[@]}" --upgrade pip 'setuptools<82' wheel
"${pip[@]}" -r requirements/runtime.txt
# mmpretrain declares `mmcv`; mmcv-lite (above) provides it under another name.
"${pip[@]}" --no-deps -r requirements/mmpretrain.txt
"${pip[@]}" --no-deps --no-build-isolation -e .
if [ "$with_tests" = 1 ]; then
  "${pip[@]}" -r requirements/tests.txt
fi
.venv/bin/python -c "import adapterx, mmpretrain, timm, torch; print('adapterx', adapterx.__version__, '| torch', torch.__version__, '| mmpretrain', mmpretrain.__version__, '| timm', timm.__version__)"
