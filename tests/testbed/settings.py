"""The test bed's switches, and the two profiles.

Settings are a plain dict so tests can send them as JSON (`POST /_testbed/config`):

    {"scale": 0.01, "provisioning": true, "ordering": true, "fidelity": true,
     "rate_limits": true, "consistency": true, "new_account": true,
     "faults": {"seed": 7, "rules": [{"match": "*", "throttle": 0.2, "error": 0.05,
                                        "latency_ms": 0, "latency": 0.0, "lost": 0.0}]},
     "durations": {"iam_role_usable": 400},
     "failing_images": [":broken"]}

A fault rule's `match` is `*`, a service (`ec2`), or `service.Operation` (`ec2.CreateVpc`);
`creates_only` limits it to operations whose name starts with Create, Register, Put,
Authorize, Associate or Modify. The first matching rule applies; one with a `limit` stops
applying after firing that many times. Its faults are probabilities: `throttle`, `error`
(5xx), `deny` (refused as the caller's policy does not allow it: AccessDenied in the
service's words), `lost` (takes effect, answer lost), `hang` (takes effect, no answer for
`hang_seconds`), `latency` (adds `latency_ms`). The dice for the nth call of an operation
depend only on the seed, the operation and n, so runs repeat even when steps interleave.

`durations` overrides entries of DURATIONS (in AWS seconds) for one test, `rates` entries of
RATE_LIMITS. A stopped ECS task is DEACTIVATING for its target group's deregistration delay
(the group's attribute, not a duration here), STOPPING for `task_stop`, DEPROVISIONING for
`eni_linger`, then STOPPED; a deleted service is DRAINING until its tasks are all STOPPING,
and for at least `service_draining`.

`consistency` makes a new resource's id unknown to other calls for `read_lag` (see
consistency.py); `new_account` starts the account without the ECS and ELB service-linked roles:
ECS makes its own at the first CreateCluster or CreateService and refuses them ("Unable to
assume the service linked role") until it is `slr_usable` AWS seconds old.

`unhealthy_images` lists substrings of image references whose tasks run but fail their
target group's health checks once registered: DescribeTargetHealth says `unhealthy`
(Target.FailedHealthChecks). ECS replacing such a task is not simulated.

`failing_images` lists substrings of image references whose tasks never start: an ECS
deployment of such an image is stopped by the circuit breaker after `circuit_breaker` AWS
seconds (FAILED, or rolled back to the last revision that completed). With `fidelity`, so is
one whose tasks' security groups and an ECR or CloudWatch Logs interface endpoint's do not let
HTTPS from the tasks to it (patches.unreachable_endpoint).

A NAT gateway is `pending` for `nat_gateway_available`, or `nat_gateway_failed` then `failed`
(Gateway.NotAttached) in a VPC with no internet gateway; deleted, it is `deleting` for
`nat_gateway_deleting` and then holds its elastic IP and subnet no longer (its interface
lingers `eni_linger`). Whether tasks can reach the internet through one is
patches.internet_path (`GET /_testbed/internet_path`): through an available NAT gateway, or
from a public subnet with a public address; the `egress` switch makes tasks consult it.

An internet-facing load balancer is refused (InvalidSubnet) in a VPC with no internet gateway
attached, and its interfaces' public addresses, like a public task's, keep the internet
gateway from being detached until they go (`ordering`).
"""
import copy

# AWS seconds. Tests may override single entries with the `durations` setting.
DEFAULT_DURATIONS = {
    "nlb_active": 150,
    # ELB documents no provisioning time for either kind; an ALB is usually active a little
    # sooner than an NLB.
    "alb_active": 120,
    "vpc_link_available": 180,
    "vpc_link_failed": 60,
    "vpc_link_deleting": 60,
    # A V2 link makes its network interfaces in the subnets it names, which takes a minute
    # or two, and does not depend on any load balancer; deleting it takes a while more, and
    # its interfaces then linger `eni_linger` ("Set up VPC links V2 in API Gateway", API
    # Gateway developer guide).
    "vpc_link_v2_available": 90,
    "vpc_link_v2_deleting": 30,
    "endpoint_available": 90,
    "endpoint_deleting": 60,
    # A NAT gateway takes a few minutes to become available (the AWS CLI's
    # `wait nat-gateway-available` polls every 15 s, up to 40 times); AWS documents no time for
    # failing or deleting, so a failure shows sooner and deleting takes a minute here. A deleted
    # one stays in DescribeNatGateways, `deleted`, for about an hour (VPC user guide, "Delete a
    # NAT gateway", https://docs.aws.amazon.com/vpc/latest/userguide/nat-gateway-working-with.html).
    "nat_gateway_available": 90,
    "nat_gateway_failed": 30,
    "nat_gateway_deleting": 60,
    "nat_gateway_visible": 3600,
    # A service's new tasks run (provisioned, image pulled, started), then register with the
    # target group, then pass `healthy_threshold_count` checks `health_check_interval_seconds`
    # apart (read from the group); only then is the deployment done.
    "service_steady": 60,
    "target_registration": 30,
    "service_draining": 60,
    # A stopped task's containers get SIGTERM and exit: a well-behaved app within seconds, at
    # most the container's stopTimeout (30 s by default) before SIGKILL
    # (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html).
    "task_stop": 10,
    # A one-off task (RunTask) runs its command this long, then exits.
    "task_run": 20,
    "eni_linger": 120,
    # A new execution role is not yet usable by ECS: its tasks fail to launch (a service event)
    # and ECS tries again every `task_launch_retry`.
    "iam_role_usable": 10,
    "task_launch_retry": 30,
    # Tasks that never start trip the deployment circuit breaker.
    "circuit_breaker": 200,
    # Switch `consistency`: how long a new resource's id is unknown to other calls.
    "read_lag": 5,
    # Switch `new_account`: how long a new service-linked role is unusable by its service.
    "slr_usable": 15,
}
# The durations in force: DEFAULT_DURATIONS with the current `durations` overrides. Patches
# read this dict, so it is updated in place.
DURATIONS = dict(DEFAULT_DURATIONS)

# Rate limits: (bucket size, refill per AWS second). Tests may override entries with the
# `rates` setting ({"apigateway.DeleteRestApi": [1, 0.001]}).
DEFAULT_RATE_LIMITS = {
    "apigateway.DeleteRestApi": (1, 1 / 30),
    "apigateway.CreateDeployment": (1, 1 / 5),
    "ec2.CreateVpcEndpoint": (4, 0.3),
}
# The rate limits in force, updated in place like DURATIONS.
RATE_LIMITS = dict(DEFAULT_RATE_LIMITS)

PLAIN = {
    "scale": 0.01,
    # Opt-in regions this account has not enabled: every call there is InvalidClientTokenId.
    "disabled_regions": [],
    # Interface endpoint services not offered in some zones: {"logs": ["eu-west-1c"]}.
    "endpoint_zones_missing": {},
    # This account's zone ids by zone name, where they differ from moto's fixed map: AWS maps
    # names to ids per account ({"us-east-1a": "use1-az3"}).
    "zone_ids": {},
    "provisioning": False,
    "ordering": False,
    "fidelity": False,
    "rate_limits": False,
    "consistency": False,
    "new_account": False,
    "faults": {"seed": 1, "rules": []},
    "durations": {},
    "rates": {},
    "failing_images": [],
    "unhealthy_images": [],
    # CloudWatch Logs Live Tail (livetail.py); moto has none.
    "live_tail": False,
    # A service's tasks need a way to their registry: an ECR interface endpoint in their VPC,
    # or a path to the internet (patches.internet_path: a NAT gateway, or a public subnet and
    # a public address); without one they never start.
    "egress": False,
}

REALISTIC = {
    "scale": 0.01,
    "disabled_regions": ["ap-east-1"],
    "endpoint_zones_missing": {"logs": ["eu-west-1c"]},
    # Two names swap their ids, so a check by name instead of id is caught.
    "zone_ids": {"us-east-1a": "use1-az3", "us-east-1e": "use1-az6"},
    "provisioning": True,
    "ordering": True,
    "fidelity": True,
    "rate_limits": True,
    "consistency": True,
    "new_account": True,
    "faults": {"seed": 1, "rules": []},
    "durations": {},
    "rates": {},
    "failing_images": [],
    "unhealthy_images": [],
    "live_tail": True,
    "egress": True,
}

PROFILES = {"plain": PLAIN, "realistic": REALISTIC}

_current = copy.deepcopy(PLAIN)


def current() -> dict:
    return _current


def on(switch: str) -> bool:
    return bool(_current.get(switch))


def replace(new: dict) -> None:
    """Replaces the settings (missing keys keep their plain-profile value)."""
    merged = copy.deepcopy(PLAIN)
    for key, value in new.items():
        if key not in merged:
            raise ValueError(f"unknown test bed setting {key!r}")
        merged[key] = value
    unknown = set(merged["durations"]) - set(DEFAULT_DURATIONS)
    if unknown:
        raise ValueError(f"unknown test bed durations {sorted(unknown)}")
    DURATIONS.clear()
    DURATIONS.update(DEFAULT_DURATIONS)
    DURATIONS.update({k: float(v) for k, v in merged["durations"].items()})
    RATE_LIMITS.clear()
    RATE_LIMITS.update(DEFAULT_RATE_LIMITS)
    RATE_LIMITS.update({k: (float(size), float(refill)) for k, (size, refill) in merged["rates"].items()})
    _current.clear()
    _current.update(merged)
    from .clock import CLOCK

    CLOCK.scale = float(_current["scale"])
