#!/usr/bin/env bash
# Everything CI checks, from a fresh clone: installs the emulator, then formatting, lints and
# every test (unit tests, and integration tests that start their own emulators on loopback).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup-emulator.sh
echo "== emulator test bed self-tests" >&2
.venv/bin/python -m unittest discover -s scripts -p 'test_*.py'
.venv/bin/python -m unittest discover -s tests/testbed -t tests
echo "== cargo fmt --check" >&2
cargo fmt --all -- --check
echo "== cargo clippy" >&2
cargo clippy --locked --all-targets -- -D warnings
echo "== cargo test" >&2
cargo test --locked
