#!/usr/bin/env bash
# Regenerate the three locks from pyproject.toml (README "Dependencies and why"):
#   requirements.lock        what the package needs at run time (the Docker image installs only this)
#   requirements-dev.lock    + tests and notebooks ([dev], which includes pyspark for the Spark tests)
#   requirements-spark.lock  + Spark ([spark])
# torch is resolved to its CPU build (+cpu, from the find-links folder): the PyPI build would pull
# CUDA and nvidia-* packages. The script fails if a lock names one.
#   .venv/bin/pip install uv==0.13.9 && scripts/lock.sh
set -euo pipefail
cd "$(dirname "$0")/.."
UV=${UV:-$(command -v uv || echo .venv/bin/uv)}
FIND_LINKS=${PIP_FIND_LINKS:-/opt/wheels}
override=$(mktemp)
trap 'rm -f "$override"' EXIT
echo "torch==2.13.0+cpu" > "$override"
compile() {  # compile OUTPUT [--extra NAME]
    local out=$1
    shift
    "$UV" pip compile pyproject.toml "$@" --python-version 3.11 --python-platform x86_64-unknown-linux-gnu \
        --find-links "$FIND_LINKS" --override "$override" --no-header --no-annotate --quiet -o "$out"
    if grep -Eiq '^(nvidia-|triton==)' "$out" || ! grep -q '^torch==2\.13\.0+cpu$' "$out"; then
        echo "$out: expected torch==2.13.0+cpu and no CUDA packages" >&2
        exit 1
    fi
}
compile requirements.lock
compile requirements-dev.lock --extra dev
compile requirements-spark.lock --extra spark
echo "wrote requirements.lock, requirements-dev.lock, requirements-spark.lock"
