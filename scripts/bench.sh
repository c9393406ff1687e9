#!/usr/bin/env bash
# The benchmark (not a test): gwfargate's commands on the realistic test bed, with medians in
# AWS seconds, AWS calls per command, and the ratio of `up` and `down` to their critical path.
#   scripts/bench.sh [--runs N] [--scale S] [--vpc-link v1|v2] [--load-balancer nlb|alb] [--egress endpoints|nat]   (defaults: 3 runs, scale 0.05)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-emulator.sh
cargo build --locked --quiet
exec .venv/bin/python scripts/bench.py "$@"
