#!/usr/bin/env bash
# The tool's main job against a local AWS emulator, from a fresh clone:
# plan, up (stops with exit 3: the image is not pushed), push the image, up, status, plan, down.
set -euo pipefail
cd "$(dirname "$0")/.."

# The realistic profile: AWS's provisioning times at 1/100 scale, so the waits show.
scripts/emulator.sh stop
eval "$(EMULATOR_PROFILE=realistic scripts/emulator.sh start)"
export GWFARGATE_POLL_SECONDS=0.25
trap 'scripts/emulator.sh stop' EXIT
echo "emulator: $AWS_ENDPOINT_URL"

cargo build --locked --quiet
bin="${CARGO_TARGET_DIR:-target}/debug/gwfargate"
state=target/demo-state
rm -rf "$state"
env_file=config/env1.toml
image=$(sed -n 's/^image *= *"\(.*\)".*/\1/p' "$env_file")

echo; echo "== gwfargate plan --env $env_file   (what up will make)"
"$bin" --state-dir "$state" plan --env "$env_file"

echo; echo "== gwfargate up --env $env_file   (the image is not pushed yet: expect exit 3)"
set +e
"$bin" --state-dir "$state" up --env "$env_file"
code=$?
set -e
[ "$code" -eq 3 ] || { echo "expected exit 3, got $code" >&2; exit 1; }

echo; echo "== pushing $image into the emulator's ECR (stands in for docker push)"
.venv/bin/python scripts/push_fake_image.py "$image"

echo; echo "== gwfargate up --env $env_file"
"$bin" --state-dir "$state" up --env "$env_file"

echo; echo "== gwfargate status"
"$bin" --state-dir "$state" status

echo; echo "== gwfargate plan --env $env_file   (nothing left to do)"
"$bin" --state-dir "$state" plan --env "$env_file"

echo; echo "== gwfargate down --purge --yes   (--yes: no terminal to ask on here)"
"$bin" --state-dir "$state" down --purge --yes
echo; echo "demo finished: the stack was built, reported and removed"
