#!/usr/bin/env bash
# Installs the local AWS emulator (moto's server, pinned) into .venv/ in the project.
# Safe to run again: it does nothing when the pinned version is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv
want=$(grep -E '^moto' scripts/emulator-requirements.txt)
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import moto, sys; sys.exit(0 if 'moto[server]=='+moto.__version__ == '$want' else 1)" 2>/dev/null; then
  exit 0
fi
echo "setting up the emulator ($want) in $venv" >&2
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r scripts/emulator-requirements.txt
