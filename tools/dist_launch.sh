#!/usr/bin/env bash
# torchrun launcher shared by dist_train.sh and dist_test.sh:
#   tools/dist_launch.sh SCRIPT NPROC [script args]
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR and PORT on every node.
# PYTHON picks the interpreter (default: the repository's .venv if it
# exists, else python on PATH).
set -euo pipefail
if [ $# -lt 2 ] || [[ $1 == -h || $1 == --help ]]; then
  echo "usage: $0 SCRIPT NPROC [script args]  (SCRIPT: train.py or test.py)" >&2
  exit 2
fi
SCRIPT=$1
NPROC=$2
HERE=$(dirname "$0")
if [ -z "${PYTHON:-}" ]; then
  if [ -x "$HERE/../.venv/bin/python" ]; then PYTHON="$HERE/../.venv/bin/python"; else PYTHON=python; fi
fi

PYTHONPATH="$HERE/..${PYTHONPATH:+:$PYTHONPATH}" \
exec "$PYTHON" -m torch.distributed.run \
    --nnodes="${NNODES:-1}" \
    --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" \
    --master_port="${PORT:-29500}" \
    --nproc_per_node="$NPROC" \
    "$HERE/$SCRIPT" "${@:3}" --launcher pytorch
