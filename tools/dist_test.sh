#!/usr/bin/env bash
# Distributed testing: tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py args]
# Without a GPU, GPUS processes test on the CPU with the gloo backend.
# Multi-node and interpreter settings: see dist_launch.sh.
set -euo pipefail
if [ $# -lt 3 ] || [[ $1 == -h || $1 == --help ]]; then
  echo "usage: $0 CONFIG CHECKPOINT GPUS [test.py args]" >&2
  exit 2
fi
exec "$(dirname "$0")/dist_launch.sh" test.py "$3" "$1" "$2" "${@:4}"
