"""Reads that lag writes (switch `consistency`): for `read_lag` AWS seconds after a create, the
new resource's id, named in another call, is "not found" in the service's own words.

AWS documents it for each service the stack uses:
- EC2: "Eventual consistency in the Amazon EC2 API": "if you run a command to modify or describe
  the resource that you just created, its ID might not have propagated throughout the system,
  and you will get an error responding that the resource does not exist"
  (https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html). terraform-provider-aws
  retries `InvalidVpcID.NotFound`, `InvalidSubnetID.NotFound`, `InvalidGroup.NotFound` and
  `InvalidRouteTableID.NotFound` for 2 minutes after a create (internal/service/ec2/wait.go,
  `ec2PropagationTimeout`).
- IAM: "changes ... take time to become visible" ("Changes that I make are not always
  immediately visible", https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html);
  terraform retries `NoSuchEntity` after CreateRole (internal/service/iam/role.go,
  `propagationTimeout`).
- ECS: CreateService right after CreateCluster answers `ClusterNotFoundException`
  (hashicorp/terraform-provider-aws#1813, retried in internal/service/ecs/service.go), and
  right after CreateListener "The target group ... does not have an associated load balancer"
  (hashicorp/terraform-provider-aws#3495, same retry); UpdateService too, when it names that
  target group (aws-cloudformation/cloudformation-coverage-roadmap#1868).
- ELBv2: DescribeLoadBalancers of a new load balancer answers `LoadBalancerNotFound`
  (terraform's `loadBalancerCreateTimeout` wait tolerates it, internal/service/elbv2/load_balancer.go).

Only ids named outright lag (a parameter naming the resource, never a filter), and only in the
calls listed: creates that name a new VPC or subnet (CreateSubnet in a VPC just made) are
served, as AWS serves them in practice.
"""
import json
import re
import threading
from urllib.parse import parse_qs

from . import settings
from .clock import CLOCK

_lock = threading.Lock()
# id (or name, or ARN) -> (kind, CLOCK.now() of the create)
_made: dict[str, tuple[str, float]] = {}

# What a create's answer names, by kind.
EC2_CREATES = {
    "CreateVpc": ("vpc", r"<vpc>.*?<vpcId>([^<]+)</vpcId>"),
    "CreateSubnet": ("subnet", r"<subnetId>([^<]+)</subnetId>"),
    "CreateSecurityGroup": ("group", r"<groupId>([^<]+)</groupId>"),
    "CreateRouteTable": ("route table", r"<routeTableId>([^<]+)</routeTableId>"),
}
EC2_NOT_FOUND = {
    "vpc": ("InvalidVpcID.NotFound", "The vpc ID '{}' does not exist"),
    "subnet": ("InvalidSubnetID.NotFound", "The subnet ID '{}' does not exist"),
    "group": ("InvalidGroup.NotFound", "The security group '{}' does not exist"),
    "route table": ("InvalidRouteTableID.NotFound", "The routeTable ID '{}' does not exist"),
}
# EC2 parameters that name a resource outright, and the calls in which they lag.
EC2_ID_PARAM = re.compile(r"^(VpcId|SubnetId|GroupId|RouteTableId)(\.\d+)?$")
EC2_LAGGING = ("Describe", "Modify", "Authorize", "Revoke", "Delete", "Associate", "Disassociate", "Replace")
IAM_ROLE_CALLS = ("Get", "Put", "Attach", "Detach", "Delete", "List", "Tag", "Untag", "Update")
ELB_LB_CALLS = (
    "DescribeLoadBalancers", "DescribeLoadBalancerAttributes", "ModifyLoadBalancerAttributes",
    "DeleteLoadBalancer", "DescribeListeners", "DescribeTags", "AddTags",
)


def reset() -> None:
    with _lock:
        _made.clear()


def _lagging(name: str, kind: str) -> bool:
    with _lock:
        made = _made.get(name)
    return made is not None and made[0] == kind and CLOCK.aws_since(made[1]) < settings.DURATIONS["read_lag"]


def _remember(kind: str, *names: str) -> None:
    now = CLOCK.now()
    with _lock:
        for name in names:
            if name:
                _made[name] = (kind, now)


def _query(environ) -> dict[str, list[str]]:
    params = parse_qs(environ.get("QUERY_STRING", ""))
    for key, values in parse_qs(environ["testbed.body"].decode("utf-8", "replace")).items():
        params.setdefault(key, []).extend(values)
    return params


def _json(environ) -> dict:
    try:
        doc = json.loads(environ["testbed.body"] or b"{}")
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def refusal(call, environ):
    """The "not found" AWS answers for a call naming what was made moments ago, as
    (code, message, status), or None."""
    if not settings.on("consistency"):
        return None
    if call.service == "ec2" and call.operation.startswith(EC2_LAGGING):
        for key, values in _query(environ).items():
            if EC2_ID_PARAM.match(key):
                for value in values:
                    for kind, (code, message) in EC2_NOT_FOUND.items():
                        if _lagging(value, kind):
                            return code, message.format(value), 400
    elif call.service == "iam" and call.operation.startswith(IAM_ROLE_CALLS):
        for name in _query(environ).get("RoleName", []):
            if _lagging(name, "role"):
                return "NoSuchEntity", f"The role with name {name} cannot be found.", 404
    elif call.service == "elasticloadbalancing" and call.operation in ELB_LB_CALLS:
        for key, values in _query(environ).items():
            if key.startswith(("LoadBalancerArn", "ResourceArns.member")):
                if any(_lagging(v, "load balancer") for v in values):
                    return "LoadBalancerNotFound", "One or more load balancers not found", 400
    elif call.service == "ecs" and call.operation in ("CreateService", "UpdateService", "DeleteCluster"):
        doc = _json(environ)
        cluster = doc.get("cluster", "")
        if call.operation != "UpdateService" and isinstance(cluster, str) and _lagging(cluster, "cluster"):
            return "ClusterNotFoundException", "Cluster not found.", 400
        for balancer in doc.get("loadBalancers") or []:
            arn = balancer.get("targetGroupArn") if isinstance(balancer, dict) else None
            if arn and _lagging(arn, "listened target group"):
                return (
                    "InvalidParameterException",
                    f"The target group with targetGroupArn {arn} does not have an associated load balancer.",
                    400,
                )
    return None


def answered(call, environ, body: bytes) -> None:
    """Notes what a successful create made."""
    if not settings.on("consistency"):
        return
    text = body.decode("utf-8", "replace")
    if call.service == "ec2" and call.operation in EC2_CREATES:
        kind, pattern = EC2_CREATES[call.operation]
        match = re.search(pattern, text, re.S)
        if match:
            _remember(kind, match.group(1))
    elif call.key == "iam.CreateRole":
        _remember("role", *_query(environ).get("RoleName", []))
    elif call.key == "elasticloadbalancing.CreateLoadBalancer":
        _remember("load balancer", *re.findall(r"<LoadBalancerArn>([^<]+)</LoadBalancerArn>", text))
    elif call.key == "elasticloadbalancing.CreateListener":
        arns = [v for k, vs in _query(environ).items() if k.endswith("TargetGroupArn") for v in vs]
        _remember("listened target group", *arns)
    elif call.key == "ecs.CreateCluster":
        try:
            cluster = json.loads(text).get("cluster") or {}
        except ValueError:
            return
        _remember("cluster", cluster.get("clusterName", ""), cluster.get("clusterArn", ""))
