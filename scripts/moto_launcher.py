#!/usr/bin/env python3
"""Start moto's server on 127.0.0.1 on a port the kernel picks, and say which.

moto's own `moto_server` needs a port chosen beforehand, which races with other tests picking
ports at the same time. Binding port 0 here and printing the result avoids that. The first
line on stdout is `PORT=<n>`; anything after goes to stderr. The process serves until killed.

The stack needs two moto settings, taken from the environment if already set:
MOTO_IAM_LOAD_MANAGED_POLICIES (AWS managed IAM policies) and MOTO_ECS_SERVICE_RUNNING (the
running count every ECS service reports).
"""
import argparse
import os
import sys


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ecs-running", default=os.environ.get("MOTO_ECS_SERVICE_RUNNING", "1"))
    args = parser.parse_args()
    if not args.host.startswith("127.") and args.host not in ("localhost", "::1"):
        sys.exit(f"refusing to listen on {args.host}: the emulator stays on loopback")

    os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    os.environ["MOTO_ECS_SERVICE_RUNNING"] = str(args.ecs_running)

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    app = DomainDispatcherApplication(create_backend_app)
    server = make_server(args.host, args.port, app, threaded=True)
    port = server.socket.getsockname()[1]
    os.environ["MOTO_PORT"] = str(port)
    sys.stdout.write(f"PORT={port}\n")
    sys.stdout.flush()
    # Nothing more is written to stdout: a parent reading it line by line may stop reading.
    sys.stdout = sys.stderr
    server.serve_forever()


if __name__ == "__main__":
    main()
