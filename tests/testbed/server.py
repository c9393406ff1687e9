"""Starts moto's server with the test bed around it, on loopback, on a free port.

    python -m testbed.server [--profile plain|realistic] [--scale 0.01] [--ecs-running N]

The first line on stdout is `PORT=<n>`. Settings can be changed later with
`POST /_testbed/config`.
"""
import argparse
import os
import sys


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="moto's server with AWS's timing, rules and faults")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--profile", choices=["plain", "realistic"], default="plain")
    parser.add_argument("--scale", type=float, default=None, help="wall seconds per AWS second")
    parser.add_argument("--ecs-running", default=os.environ.get("MOTO_ECS_SERVICE_RUNNING", "1"))
    args = parser.parse_args(argv)
    if not args.host.startswith("127.") and args.host not in ("localhost", "::1"):
        sys.exit(f"refusing to listen on {args.host}: the emulator stays on loopback")

    os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    os.environ["MOTO_ECS_SERVICE_RUNNING"] = str(args.ecs_running)

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import WSGIRequestHandler, make_server

    from . import patches, settings
    from .middleware import Middleware

    profile = dict(settings.PROFILES[args.profile])
    if args.scale is not None:
        profile["scale"] = args.scale
    settings.replace(profile)
    patches.apply()

    class QuietHandler(WSGIRequestHandler):
        def log_request(self, *a, **k):
            pass

    app = Middleware(DomainDispatcherApplication(create_backend_app))
    server = make_server(args.host, args.port, app, threaded=True, request_handler=QuietHandler)
    port = server.socket.getsockname()[1]
    os.environ["MOTO_PORT"] = str(port)
    sys.stdout.write(f"PORT={port}\n")
    sys.stdout.flush()
    sys.stdout = sys.stderr
    server.serve_forever()


if __name__ == "__main__":
    main()
