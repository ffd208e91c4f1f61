#!/usr/bin/env bash
# Create (or update) .venv-dense/ at the repository root: the environment
# for the mmsegmentation / mmdetection configs (configs/downstream/) and
# their real tests. It holds full mmcv, compiled from source (its CPU ops;
# set FORCE_CUDA=1 with a CUDA toolkit for the GPU ops), mmsegmentation,
# mmdetection and adapterx. Full mmcv and mmcv-lite (.venv/) cannot share
# an environment, and transformers must stay out (beside pycocotools it
# breaks `import mmpretrain.models`), hence a second one.
#   bash tools/install_downstream.sh      (the compile takes ~30 CPU-minutes)
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
venv=.venv-dense
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
pip=("$venv/bin/python" -m pip install --disable-pip-version-check -q)

"${pip[@]}" --upgrade pip 'setuptools<82' wheel ninja
"${pip[@]}" -r <(grep -v '^mmcv-lite' requirements/runtime.txt) \
  opencv-python addict yapf
"${pip[@]}" --no-deps -r requirements/mmpretrain.txt
if ! "$venv/bin/python" -c 'import mmcv.ops' 2>/dev/null; then
  build="$venv/mmcv-build"
  rm -rf "$build" && mkdir -p "$build"
  # Without build isolation: mmcv's setup.py imports pkg_resources, which
  # the newest setuptools of an isolated build lacks.
  "$venv/bin/python" -m pip download --disable-pip-version-check -q \
    --no-deps --no-build-isolation --no-binary :all: mmcv==2.1.0 -d "$build"
  tar xzf "$build/mmcv-2.1.0.tar.gz" -C "$build"
  # torch 2.14's headers need C++20; mmcv 2.1.0's setup.py asks for C++17.
  sed -i 's/-std=c++17/-std=c++20/' "$build/mmcv-2.1.0/setup.py"
  MAX_JOBS=${MAX_JOBS:-$(nproc)} "${pip[@]}" --no-build-isolation --no-deps \
    "$build/mmcv-2.1.0"
  rm -rf "$build"
fi
# requirements/dense.txt (adapterx's [dense] extra). mmsegmentation and mmdet
# with --no-deps: their metadata would pull mmcv again; their own needs
# follow.
dense=requirements/dense.txt
"${pip[@]}" --no-deps $(grep -E '^(mmsegmentation|mmdet)==' "$dense")
"${pip[@]}" -r <(grep -vE '^(mmsegmentation|mmdet)==' "$dense") \
  'pytest>=7' 'hypothesis>=6'
"${pip[@]}" --no-deps --no-build-isolation -e .
"$venv/bin/python" -c "import mmcv.ops, mmseg, mmdet, adapterx; print('mmcv', mmcv.__version__, '| mmseg', mmseg.__version__, '| mmdet', mmdet.__version__, '| adapterx', adapterx.__version__)"
