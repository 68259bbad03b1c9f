#!/usr/bin/env bash
# Quick start, command 1: install what is missing, build, and run the default
# sweep on all local cores into results.h5. Extra arguments go to
# `tlsweep run` (e.g. a config file, -o FILE, --force, --resume).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build
exec jobs/local.sh "$@"
