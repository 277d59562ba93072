#!/usr/bin/env bash
# A tiny build script: what a CI job's generated build.sh does, in miniature.
set -euo pipefail
echo "Hello from $(uname -s) on $(hostname)"
echo "building in $PWD"
for step in install script; do
  echo "::: $step"
  sleep 0.2
done
echo "build passed"
