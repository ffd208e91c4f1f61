#!/usr/bin/env bash
# Distributed testing: tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py args]
# Without a GPU, GPUS processes test on the CPU with the gloo backend.
# Multi-node and interpreter settings: see dist_launch.sh.
set -euo pipefail
exec "$(dirname "$0")/dist_launch.sh" test.py "$3" "$1" "$2" "${@:4}"
