#!/usr/bin/env bash
# Distributed training: tools/dist_train.sh CONFIG GPUS [train.py args]
# Without a GPU, GPUS processes train on the CPU with the gloo backend.
# Multi-node and interpreter settings: see dist_launch.sh.
set -euo pipefail
if [ $# -lt 2 ] || [[ $1 == -h || $1 == --help ]]; then
  echo "usage: $0 CONFIG GPUS [train.py args]" >&2
  exit 2
fi
exec "$(dirname "$0")/dist_launch.sh" train.py "$2" "$1" "${@:3}"
