#!/usr/bin/env python3
"""The benchmark: gwfargate's commands on the realistic test bed, in AWS seconds.

    scripts/bench.sh [--runs N] [--scale S] [--binary PATH] [--vpc-link v1|v2] [--load-balancer nlb|alb] [--egress endpoints|nat] [--entry api_gateway|public_load_balancer] [--move alb|nat]

Starts the test bed (moto with AWS's provisioning times, ordering rules and rate limits) on
loopback at `--scale` wall seconds per AWS second, then runs `up`, `status`, a second `up`
(nothing to do), `plan` and `down` on config/env1.toml, `--runs` times. Prints, per command,
the median time in AWS seconds (wall time / scale), the median number of AWS calls (from the
test bed's call log), and for `up` and `down` the ratio to their critical path.

With `--move`, each run builds the default stack, moves it while it serves (`alb`: NLB to ALB;
`nat`: VPC endpoints to a NAT gateway), moves it back, and takes it down: `move` and `move back`
are measured (no critical path is computed for them).

The critical path is computed, not measured: the longest chain through the graph gwfargate
itself reports (`gwfargate graph --json`), each resource weighted with the test bed's durations
(tests/testbed/settings.py): what a perfect tool, calling AWS in no time and noticing every
change at once, could not beat on this bed.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from testbed import settings  # noqa: E402

D = settings.DEFAULT_DURATIONS
# The deregistration delay gwfargate sets on its target group, and drops to 0 on the way down.
DEREGISTRATION_DELAY_UP = 30
# The health checks a new task passes before it serves: gwfargate's default target health
# check, 2 passing checks 10 s apart (README, `[service.target_health_check]`).
HEALTH_CHECKS_UP = 2 * 10


def critical_path_up(nodes, load_balancer="nlb"):
    """Longest chain to a stack that serves: each resource can start once its dependencies are
    ready, and is ready after the bed's provisioning time for its kind."""
    took = {
        "load balancer": D["alb_active"] if load_balancer == "alb" else D["nlb_active"],
        "vpc link": D["vpc_link_available"],
        "interface endpoint": D["endpoint_available"],
        "gateway endpoint": D["endpoint_available"],
        "nat gateway": D["nat_gateway_available"],
        # Running, registered with the target group, then healthy: only then is it steady.
        "ecs service": D["service_steady"] + D["target_registration"] + HEALTH_CHECKS_UP,
    }
    # A V2 VPC link is made on the subnets, in its own time.
    took_by_key = {"vpc_link_v2": D["vpc_link_v2_available"]}
    ready = {}
    for node in wanted(nodes):  # in dependency order
        start = max((ready[d["key"]] for d in node["deps"]), default=0.0)
        ready[node["key"]] = start + took_by_key.get(node["key"], took.get(node["kind"], 0.0))
    return max(ready.values())


def wanted(nodes):
    """The resources the env file describes: not what `up` would delete (a V1 link a stack
    without a state file may have left)."""
    return [n for n in nodes if not n.get("orphan")]


def critical_path_down(nodes, public=False):
    """Longest chain to nothing left: each resource is deleted once what depends on it has gone
    as far as the graph says; subnets and security groups also wait for the network interfaces
    of deleted tasks, endpoints and load balancers, which linger on the bed."""
    nodes = wanted(nodes)
    by_key = {n["key"]: n for n in nodes}
    dependents = {n["key"]: [] for n in nodes}
    for n in nodes:
        for d in n["deps"]:
            dependents[d["key"]].append((n["key"], d["down"]))
    # AWS seconds after its deletion starts at which a resource reaches each phase, and at
    # which its interfaces leave the subnets (and groups) they were in.
    task_stop = D["task_stop"]  # the deregistration delay is 0 on the way down
    phases = {
        "ecs service": {"deleting": 0.0, "quiet": task_stop, "gone": max(0.0, D["service_draining"])},
        "vpc link": {"gone": D["vpc_link_deleting"]},
        "interface endpoint": {"gone": D["endpoint_deleting"]},
        "gateway endpoint": {"gone": D["endpoint_deleting"]},
        "nat gateway": {"gone": D["nat_gateway_deleting"]},
    }
    released = {
        "ecs service": task_stop + D["eni_linger"],
        "interface endpoint": D["endpoint_deleting"] + D["eni_linger"],
        "load balancer": D["eni_linger"],
        # A NAT gateway's interface holds its (public) subnet until it is deleted, and after.
        "nat gateway": D["nat_gateway_deleting"] + D["eni_linger"],
    }
    start, reached = {}, {}

    # A V2 VPC link's interfaces hold its subnets and its group until after it is gone.
    phases["vpc_link_v2"] = {"gone": D["vpc_link_v2_deleting"]}
    released["vpc_link_v2"] = D["vpc_link_v2_deleting"] + D["eni_linger"]

    def reach(key, phase):
        node = by_key[key]
        table = phases.get(key, phases.get(node["kind"], {}))
        offset = table.get(phase, table.get("gone", 0.0))
        return starts(key) + offset

    def starts(key):
        if key in start:
            return start[key]
        kind = by_key[key]["kind"]
        t = max((reach(dep, phase) for dep, phase in dependents[key]), default=0.0)
        if kind in ("subnet", "security group"):
            holders = [n for n in nodes if n["kind"] in released or n["key"] in released]
            t = max([t] + [starts(h["key"]) + released.get(h["key"], released.get(h["kind"], 0.0))
                           for h in holders
                           # An NLB has no group; an ALB's interfaces hold its own.
                           if not (kind == "security group" and h["kind"] == "load balancer"
                                   and key != "security_group/load-balancer")
                           and not (kind == "security group" and h["key"] == "vpc_link_v2"
                                    and key != "security_group/vpc-link")
                           # A NAT gateway has no group, and is in the public subnet only.
                           and not (h["kind"] == "nat gateway"
                                    and (kind == "security group" or not key.startswith("subnet/public/")))])
        if kind == "internet gateway" and public:
            # An internet-facing load balancer's interfaces and the tasks' keep their public
            # addresses mapped, and the gateway attached, until they go.
            t = max([t] + [starts(h["key"]) + released[h["kind"]] for h in nodes
                           if h["kind"] in ("load balancer", "ecs service")])
        start[key] = t
        return t

    for node in nodes:
        reached[node["key"]] = reach(node["key"], "gone")
    return max(reached.values())


class Bed:
    def __init__(self, scale):
        self.scale = scale
        self.proc = subprocess.Popen(
            [str(ROOT / ".venv/bin/python"), str(ROOT / "scripts/moto_launcher.py"),
             "--profile", "realistic", "--scale", str(scale), "--ecs-running", "1"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        line = self.proc.stdout.readline()
        self.endpoint = f"http://127.0.0.1:{line.strip().split('=')[1]}"

    def control(self, method, path):
        req = urllib.request.Request(self.endpoint + path, data=b"{}" if method == "POST" else None, method=method)
        with urllib.request.urlopen(req) as resp:
            return json.loads(resp.read() or b"{}")

    def calls(self):
        return sum(c["count"] for c in self.control("GET", "/_testbed/calls").values())

    def reset(self):
        self.control("POST", "/_testbed/reset")

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scale", type=float, default=0.05, help="wall seconds per AWS second")
    parser.add_argument("--binary", default=None)
    parser.add_argument("--vpc-link", choices=["v1", "v2"], default=None,
                        help="the env file's [network] vpc_link (default: the env file's own)")
    parser.add_argument("--load-balancer", choices=["nlb", "alb"], default="nlb",
                        help="the env file's [network] load_balancer (default: nlb)")
    parser.add_argument("--egress", choices=["endpoints", "nat"], default="endpoints",
                        help="the env file's [network] egress (default: endpoints)")
    parser.add_argument("--move", choices=["alb", "nat"],
                        help="measure moving a built default stack to this topology and back")
    parser.add_argument("--entry", choices=["api_gateway", "public_load_balancer"], default="api_gateway",
                        help="the env file's [network] entry (default: api_gateway); the public one "
                             "is an ALB, acknowledged, without [api]")
    args = parser.parse_args()
    target = os.environ.get("CARGO_TARGET_DIR", str(ROOT / "target"))
    binary = args.binary or str(Path(target) / "debug/gwfargate")

    bed = Bed(args.scale)
    work = Path(tempfile.mkdtemp(prefix="gwfargate-bench-"))
    env_file = work / "env1.toml"
    text = (ROOT / "config/env1.toml").read_text()
    if args.vpc_link:
        anchor = 'vpc_cidr = "10.0.0.0/16"'
        assert anchor in text
        text = text.replace(anchor, f'{anchor}\nvpc_link = "{args.vpc_link}"', 1)
    if args.load_balancer != "nlb":
        anchor = 'vpc_cidr = "10.0.0.0/16"'
        assert anchor in text
        text = text.replace(anchor, f'{anchor}\nload_balancer = "{args.load_balancer}"', 1)
    if args.egress != "endpoints":
        anchor = 'vpc_cidr = "10.0.0.0/16"'
        text = text.replace(anchor, f'{anchor}\negress = "{args.egress}"\n'
                            'public_subnets = [ { cidr = "10.0.101.0/24", az = "eu-west-1a" } ]', 1)
    if args.entry != "api_gateway":
        anchor = 'vpc_cidr = "10.0.0.0/16"'
        text = text.replace(anchor, f'{anchor}\nentry = "{args.entry}"\nacknowledge_public_entry = true', 1)
        assert "[api]\nauth" in text
        text = text.replace("[api]\nauth", "# [api]\n# auth", 1)
        args.load_balancer = "alb"
        args.egress = "public_ip"
    env_file.write_text(text)
    anchor = 'vpc_cidr = "10.0.0.0/16"'
    moved = {
        None: text,
        "alb": text.replace(anchor, f'{anchor}\nload_balancer = "alb"', 1),
        "nat": text.replace(anchor, f'{anchor}\negress = "nat"\n'
                            'public_subnets = [ { cidr = "10.0.101.0/24", az = "eu-west-1a" } ]', 1),
    }[args.move]
    if args.move:
        assert args.load_balancer == "nlb" and args.egress == "endpoints" and args.entry == "api_gateway", \
            "--move starts from the default stack"
    image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/microservice1:1.0.0"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(work),
        "AWS_ENDPOINT_URL": bed.endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": str(work / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(work / "none"),
        # AWS's own polling unit (2 s), on the bed's clock.
        "GWFARGATE_POLL_SECONDS": str(2 * args.scale),
    }
    (work / "none").write_text("")

    def run(*command, expect=0):
        started = time.monotonic()
        done = subprocess.run([binary, *command], cwd=work, env=env, capture_output=True, text=True)
        took = time.monotonic() - started
        if done.returncode != expect:
            sys.exit(f"`gwfargate {' '.join(command)}` exited {done.returncode}:\n{done.stderr}")
        return took, done

    try:
        # The image is pushed into a repository of the user's (found, never deleted), so every
        # run builds the whole stack the same way.
        import boto3

        ecr = boto3.client("ecr", region_name="eu-west-1", endpoint_url=bed.endpoint,
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        ecr.create_repository(repositoryName="microservice1")
        subprocess.run([str(ROOT / ".venv/bin/python"), str(ROOT / "scripts/push_fake_image.py"), image],
                       env=dict(os.environ, **env), check=True, capture_output=True)
        _, graph = run("graph", "--env", "env1.toml", "--json")
        nodes = json.loads(graph.stdout)["nodes"]
        paths = {"up": critical_path_up(nodes, args.load_balancer), "down": critical_path_down(nodes, args.entry != "api_gateway")}
        commands = [
            ("up", ["up", "--env", "env1.toml", "--yes"], 0),
            ("status", ["status"], 0),
            ("no-op up", ["up", "--env", "env1.toml"], 0),
            ("plan", ["plan", "--env", "env1.toml", "--detailed-exitcode"], 0),
            ("down", ["down", "--yes"], 0),
        ]
        # The env file each command runs with: the moves edit it.
        texts = {}
        if args.move:
            commands = [
                ("up", ["up", "--env", "env1.toml", "--yes"], 0),
                ("move", ["up", "--env", "env1.toml", "--yes"], 0),
                ("move back", ["up", "--env", "env1.toml", "--yes"], 0),
                ("down", ["down", "--yes"], 0),
            ]
            texts = {"up": text, "move": moved, "move back": text}
        seconds = {name: [] for name, _, _ in commands}
        calls = {name: [] for name, _, _ in commands}
        for i in range(args.runs):
            for name, command, expect in commands:
                if name in texts:
                    env_file.write_text(texts[name])
                bed.reset()
                took, _ = run(*command, expect=expect)
                seconds[name].append(took / args.scale)
                calls[name].append(bed.calls())
            print(f"run {i + 1}/{args.runs}: " + ", ".join(
                f"{name} {seconds[name][-1]:.0f} s/{calls[name][-1]} calls" for name, _, _ in commands),
                file=sys.stderr)
    finally:
        bed.stop()

    print(f"gwfargate on the realistic test bed: scale {args.scale} (1 wall s = {1 / args.scale:.0f} AWS s), "
          f"{args.runs} run(s), medians" + (f", vpc_link = {args.vpc_link}" if args.vpc_link else "")
          + f", load_balancer = {args.load_balancer}, egress = {args.egress}, entry = {args.entry}"
          + (f", move to {args.move} and back" if args.move else ""))
    print(f"{'command':<10} {'AWS s':>8} {'critical path':>14} {'ratio':>7} {'calls':>6}")
    for name, _, _ in commands:
        median = statistics.median(seconds[name])
        path = paths.get(name)
        ratio = f"{median / path:.3f}" if path else "-"
        path_text = f"{path:.0f}" if path else "-"
        print(f"{name:<10} {median:>8.1f} {path_text:>14} {ratio:>7} {statistics.median(calls[name]):>6.0f}")


if __name__ == "__main__":
    main()
