#!/usr/bin/env bash
# Starts or stops a local AWS emulator on 127.0.0.1 on a free port.
#   scripts/emulator.sh start   # prints `export AWS_ENDPOINT_URL=...` and the credentials to use
#   scripts/emulator.sh stop
# EMULATOR_PROFILE=realistic adds AWS's provisioning times and rules (tests/testbed/).
# State (pid, port, log) lives in target/emulator/.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=target/emulator
mkdir -p "$dir"
case "${1:-}" in
  start)
    scripts/setup-emulator.sh
    if [ -f "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
      port=$(cat "$dir/port")
    else
      rm -f "$dir/port.out"
      .venv/bin/python scripts/moto_launcher.py --ecs-running "${MOTO_ECS_SERVICE_RUNNING:-1}" \
        --profile "${EMULATOR_PROFILE:-plain}" \
        >"$dir/port.out" 2>"$dir/log" &
      echo $! >"$dir/pid"
      for _ in $(seq 1 100); do
        grep -q '^PORT=' "$dir/port.out" 2>/dev/null && break
        sleep 0.1
      done
      port=$(sed -n 's/^PORT=//p' "$dir/port.out")
      [ -n "$port" ] || { echo "the emulator did not start; see $dir/log" >&2; exit 1; }
      echo "$port" >"$dir/port"
    fi
    echo "export AWS_ENDPOINT_URL=http://127.0.0.1:$port"
    echo "export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_EC2_METADATA_DISABLED=true"
    ;;
  stop)
    if [ -f "$dir/pid" ]; then
      kill "$(cat "$dir/pid")" 2>/dev/null || true
      rm -f "$dir/pid" "$dir/port"
    fi
    ;;
  *)
    echo "usage: scripts/emulator.sh start|stop" >&2
    exit 2
    ;;
esac
