"""The resources IAM authorizes a call against: what the call log keeps, so a test can check a
policy allows each call on what it touched, not only its action.

Per the Service Authorization Reference
(https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html):
an action that takes no resource type (most Describe and List calls, GetCallerIdentity,
RegisterTaskDefinition) is authorized against "*"; a create against the new resource's type
with any id (`vpc/*`) and the existing resources it names (CreateSubnet: the VPC); other calls
against the resources they name, by ARN. Condition keys (tags, iam:PassedToService) are not
evaluated: a test that uses this checks actions and resources only.
"""
import json
import re
from urllib.parse import parse_qs, unquote

# EC2 ids by prefix, longest first (vpce-svc- before vpce-).
EC2_TYPES = [
    ("vpce-svc-", "vpc-endpoint-service"),
    ("vpce-", "vpc-endpoint"),
    ("vpc-", "vpc"),
    ("subnet-", "subnet"),
    ("sg-", "security-group"),
    ("rtb-", "route-table"),
    ("pl-", "prefix-list"),
    ("igw-", "internet-gateway"),
    ("eipalloc-", "elastic-ip"),
    ("nat-", "natgateway"),
]

# What each EC2 create makes.
EC2_CREATES = {
    "CreateVpc": "vpc",
    "CreateSubnet": "subnet",
    "CreateSecurityGroup": "security-group",
    "CreateRouteTable": "route-table",
    "CreateVpcEndpoint": "vpc-endpoint",
    "CreateInternetGateway": "internet-gateway",
    "AllocateAddress": "elastic-ip",
    "CreateNatGateway": "natgateway",
}

# The two service-linked roles, by service (AWS's paths and names).
LINKED_ROLES = {
    "ecs.amazonaws.com": "AWSServiceRoleForECS",
    "elasticloadbalancing.amazonaws.com": "AWSServiceRoleForElasticLoadBalancing",
}


def resources(call, environ, account, region):
    """The ARNs `call` is authorized against ("*" for an action that takes none)."""
    body = environ.get("testbed.body", b"").decode("utf-8", "replace")
    arn = lambda service, rest: f"arn:aws:{service}:{region}:{account}:{rest}"  # noqa: E731
    op = call.operation
    if call.service == "apigateway":
        path = unquote(environ.get("PATH_INFO", ""))
        # API Gateway's second API names its resources without its `/v2` prefix
        # (https://docs.aws.amazon.com/apigateway/latest/developerguide/arn-format-reference.html).
        path = path.removeprefix("/v2")
        return [f"arn:aws:apigateway:{region}::{path}"]
    if call.service == "sts":
        return ["*"]
    if call.service == "ec2":
        return _ec2(op, _query(body, environ), arn)
    if call.service == "elasticloadbalancing":
        return _elb(op, _query(body, environ), arn)
    if call.service == "iam":
        return _iam(op, _query(body, environ), account)
    doc = _json(body)
    if call.service == "ecs":
        return _ecs(op, doc, arn)
    if call.service == "logs":
        if "resourceArn" in doc:
            return [doc["resourceArn"]]
        if "logGroupName" in doc and not op.startswith("Describe"):
            return [arn("logs", f"log-group:{doc['logGroupName']}")]
        return ["*"]
    if call.service == "secretsmanager":
        # A secret's actions are authorized against the secret (its full ARN, or its name's
        # with any suffix).
        secret = doc.get("SecretId")
        if not secret:
            return ["*"]
        return [secret if secret.startswith("arn:") else arn("secretsmanager", f"secret:{secret}-??????")]
    if call.service == "ecr":
        if "resourceArn" in doc:
            return [doc["resourceArn"]]
        names = doc.get("repositoryNames") or ([doc["repositoryName"]] if "repositoryName" in doc else [])
        if op == "GetAuthorizationToken" or not names:
            return ["*"]
        return [arn("ecr", f"repository/{name}") for name in names]
    return ["*"]


def _query(body, environ):
    params = parse_qs(body)
    params.update(parse_qs(environ.get("QUERY_STRING", "")))
    return {key: values[0] for key, values in params.items()}


def _json(body):
    try:
        doc = json.loads(body or "{}")
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def _ec2(op, params, arn):
    if op.startswith("Describe"):
        return ["*"]
    out = []
    if op in EC2_CREATES:
        out.append(arn("ec2", f"{EC2_CREATES[op]}/*"))
    for key, value in params.items():
        # VpcId, SubnetId.1, SecurityGroupId.2, VpcEndpointId.1, DestinationPrefixListId, ...
        base = re.sub(r"\.\d+$", "", key)
        if not base.endswith("Id") and ".PrefixListId" not in key:
            continue
        for prefix, kind in EC2_TYPES:
            if value.startswith(prefix):
                out.append(arn("ec2", f"{kind}/{value}"))
                break
    if op == "DisassociateRouteTable":
        out.append(arn("ec2", "route-table/*"))
    return sorted(set(out)) or ["*"]


def _elb(op, params, arn):
    if op.startswith("Describe"):
        return ["*"]
    out = []
    for key, value in params.items():
        if key in ("LoadBalancerArn", "TargetGroupArn", "ListenerArn") or key.startswith("ResourceArns.member."):
            out.append(value)
    if op == "CreateLoadBalancer":
        # The ARN names the kind: `net` for an NLB, `app` for an ALB (AWS's default type).
        kind = "net" if params.get("Type") == "network" else "app"
        out.append(arn("elasticloadbalancing", f"loadbalancer/{kind}/{params.get('Name')}/*"))
    if op == "CreateTargetGroup":
        out.append(arn("elasticloadbalancing", f"targetgroup/{params.get('Name')}/*"))
    if op == "CreateListener":
        out = [a.replace(":loadbalancer/", ":listener/") + "/*" for a in out] + out
    return sorted(set(out)) or ["*"]


def _iam(op, params, account):
    if op == "CreateServiceLinkedRole":
        service = params.get("AWSServiceName", "")
        return [f"arn:aws:iam::{account}:role/aws-service-role/{service}/{LINKED_ROLES.get(service, '*')}"]
    name = params.get("RoleName")
    if not name:
        return ["*"]
    for service, linked in LINKED_ROLES.items():
        if name == linked:
            return [f"arn:aws:iam::{account}:role/aws-service-role/{service}/{name}"]
    return [f"arn:aws:iam::{account}:role/{name}"]


def _ecs(op, doc, arn):
    if op in ("RegisterTaskDefinition", "ListTaskDefinitions", "ListTasks", "DescribeTaskDefinition",
              "DeregisterTaskDefinition"):
        return ["*"]
    cluster = _last(doc.get("cluster", "default"))
    out = []
    if "resourceArn" in doc:
        out.append(doc["resourceArn"])
    if op == "CreateCluster":
        out.append(arn("ecs", f"cluster/{doc.get('clusterName', 'default')}"))
    if op in ("DeleteCluster",):
        out.append(arn("ecs", f"cluster/{cluster}"))
    for name in doc.get("clusters", []):
        out.append(arn("ecs", f"cluster/{_last(name)}"))
    services = doc.get("services", []) + [doc[k] for k in ("service", "serviceName") if k in doc]
    for name in services:
        out.append(arn("ecs", f"service/{cluster}/{_last(name)}"))
    for task in doc.get("tasks", []):
        out.append(arn("ecs", f"task/{cluster}/{_last(task)}"))
    # The task definition a service runs is a condition key (ecs:task-definition), not a
    # resource of CreateService or UpdateService.
    return sorted(set(out)) or ["*"]


def _last(name_or_arn):
    return name_or_arn.rsplit("/", 1)[-1]
