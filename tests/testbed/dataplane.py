"""The stack's traffic: a request to a stage follows AWS's path through the emulated resources
and is answered by a task, or refused where a hop is broken, as AWS refuses it.

    ANY /_testbed/invoke/{api}/{stage}/{path}    (optional ?region=, default eu-west-1)
    ANY /_testbed/public/{dns name}/{port}/{path} (the same; a public entry's load balancer)

The path (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-private-integration.html,
https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-private-integration.html):
the stage must exist and serve a deployment (else 403 Forbidden), let the request through its
throttling (else 429), and answers from the snapshot
of methods and integrations taken when that deployment was made; a method must match the path,
`/` or the greedy `{proxy+}` (else 403 "Missing Authentication Token"), and a method that takes
IAM authorization needs a SigV4 `Authorization` header (else the same 403; the signature itself
is not checked), and a method that requires an API key takes an enabled key of a usage plan
naming the stage in `x-api-key` (else 403 Forbidden), and one with a Cognito authorizer a
JWT-shaped `Authorization` (else 401; the signature and pool are not checked), and one with
a Lambda authorizer an `Authorization` header (else 401; no function is run); its
integration must be
a VPC link integration whose link is AVAILABLE and targets a load balancer, and whose URI names
that load balancer's DNS name and a port (else 500 "Internal server error"); the load balancer
must be active with a listener on that port forwarding to a target group (else 503); the request
enters the load balancer in one of its zones, in turn, and reaches a running task of the target
group, one in the same zone unless cross-zone load balancing is on (AWS's default for NLBs is
off: "Cross-zone load balancing", Network Load Balancers guide; always on for an ALB); none
reachable is a timeout (504 "Endpoint request timed out"). An Application Load Balancer sits
behind security groups: they must let the listener's port in from the VPC link's groups and
the port out to the VPC (the tasks), or the packets are dropped, also a 504
("Security groups for your Application Load Balancer", Application Load Balancers guide). The task answers its health check path with 200 and echoes
any other request as JSON: its id, zone, method and path. Each request is written to the
stage's access log group, in the stage's format, when the account names a CloudWatch role.

A request from the internet to a load balancer's DNS name (a public entry) reaches it only if
it is internet-facing (an internal one's name resolves to private addresses: a timeout, 504
here), each of its subnets routes 0.0.0.0/0 to an internet gateway attached to the VPC
("Internet-facing load balancers", Application Load Balancers guide:
https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html#load-balancer-scheme),
and its groups let the port in from anywhere and out to the VPC (else dropped, 504). The name
resolves to a node in each of its zones, taken in turn: a subnet not routed cuts off its
zone's node alone, so some requests time out and others are answered. A name no load balancer
has does not resolve (the bed answers 502). Then it goes on as above, from the
load balancer on.
"""
import itertools
import json
import threading
from types import SimpleNamespace
import time
from urllib.parse import parse_qs, urlparse

from .clock import CLOCK

_zone_turns = itertools.count()
# Which of a public load balancer's nodes the next client resolves to (its own turns: the
# zone a request enters the load balancer in takes a turn of _zone_turns too).
_node_turns = itertools.count()
# Token buckets of throttled stages, by (api, stage): [tokens, last refill (wall seconds)].
_buckets = {}
_target_turns = itertools.count()
_lock = threading.Lock()

# Set by patches: the ECS model's view of tasks (all_tasks(backend), healthy_after(service),
# settle_all(backend)).
ECS = {}


def _answer(status, doc, headers=None):
    return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(doc)


def _api_error(status, message):
    return _answer(status, {"message": message}, {"x-amzn-ErrorType": "ForbiddenException" if status == 403 else "InternalServerErrorException"})


def invoke(method, path, query, account="123456789012", headers=None):
    """(status, headers, body) of `method` on `/_testbed/invoke/{api}/{stage}/{path}`, written
    to the stage's access log when it has one."""
    answer = _invoke(method, path, query, account, headers)
    _access_log(method, path, query, account, answer[0])
    return answer


def _access_log(method, path, query, account, status):
    """Writes one line to the stage's access log group in the stage's format, as API Gateway
    does once the account names its CloudWatch role; a log group that is gone gets nothing
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html)."""
    import re

    from moto.apigateway.models import apigateway_backends
    from moto.logs.models import logs_backends

    parts = path.split("/", 5)
    if len(parts) < 5:
        return
    region = parse_qs(query).get("region", ["eu-west-1"])[0]
    apigw = apigateway_backends[account][region]
    api = apigw.apis.get(parts[3])
    stage = api and api.stages.get(parts[4])
    settings = (stage and stage.access_log_settings) or {}
    arn = settings.get("destinationArn") or ""
    if not arn or not apigw.account.cloudwatch_role_arn:
        return
    group = arn.split(":log-group:", 1)[-1].removesuffix(":*")
    logs = logs_backends[account][region]
    if group not in logs.groups:
        return
    rest = "/" + (parts[5] if len(parts) > 5 else "")
    values = {"requestId": f"{time.time_ns():x}", "httpMethod": method, "path": rest,
              "resourcePath": rest, "status": str(status), "identity.sourceIp": "127.0.0.1",
              "protocol": "HTTP/1.1", "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime())}
    line = re.sub(r"\$context\.([A-Za-z.]+)", lambda m: values.get(m.group(1), "-"), settings.get("format") or "")
    with _lock:
        if "testbed" not in logs.groups[group].streams:
            logs.create_log_stream(group, "testbed")
        logs.put_log_events(group, "testbed", [{"timestamp": int(time.time() * 1000), "message": line}])


def _invoke(method, path, query, account, headers):
    from moto.apigateway.models import apigateway_backends
    from moto.elbv2.models import elbv2_backends

    parts = path.split("/", 5)  # '', '_testbed', 'invoke', api, stage, rest
    if len(parts) < 5:
        return _api_error(403, "Forbidden")
    api_id, stage_name = parts[3], parts[4]
    rest = "/" + (parts[5] if len(parts) > 5 else "")
    region = parse_qs(query).get("region", ["eu-west-1"])[0]
    apigw = apigateway_backends[account][region]
    api = apigw.apis.get(api_id)
    stage = api and api.stages.get(stage_name)
    if stage is None or not stage.deployment_id or stage.deployment_id not in api.deployments:
        return _api_error(403, "Forbidden")
    deployment = api.deployments[stage.deployment_id]
    routes = deployment.__dict__.get("_tb_routes") or routes_of(api)
    key, integration = _method(routes, rest, method)
    if not _take_token(api_id, stage, key):
        # "429 Too Many Requests" once the method's bucket (its own settings, else the stage's
        # `*/*`) is empty
        # (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html).
        return _answer(429, {"message": "Too Many Requests"},
                       {"x-amzn-ErrorType": "TooManyRequestsException"})
    if integration is None:
        return _api_error(403, "Missing Authentication Token")
    # IAM authorization: a request without a SigV4 signature is refused before the
    # integration (https://docs.aws.amazon.com/apigateway/latest/developerguide/permissions.html).
    if getattr(integration, "authorization_type", "NONE") == "AWS_IAM":
        signed = (headers or {}).get("Authorization", "").startswith("AWS4-HMAC-SHA256 ")
        if not signed:
            return _api_error(403, "Missing Authentication Token")
    # A Cognito user pool authorizer wants an ID token in `Authorization`; without one, 401
    # (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-enable-cognito-user-pool.html).
    # The bed checks a token's shape (a JWT's three parts), not its signature or pool.
    if getattr(integration, "authorization_type", "NONE") == "COGNITO_USER_POOLS":
        token = (headers or {}).get("Authorization", "")
        parts = token.removeprefix("Bearer ").split(".")
        if len(parts) != 3 or not all(parts):
            return _answer(401, {"message": "Unauthorized"}, {"x-amzn-ErrorType": "UnauthorizedException"})
    # A Lambda authorizer gets the `Authorization` header it names as identity source; without
    # one API Gateway answers 401 before calling it
    # (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-use-lambda-authorizer.html).
    # The bed runs no function: a request with the header is let through.
    if getattr(integration, "authorization_type", "NONE") == "CUSTOM":
        if not (headers or {}).get("Authorization", ""):
            return _answer(401, {"message": "Unauthorized"}, {"x-amzn-ErrorType": "UnauthorizedException"})
    # A method that requires an API key takes an enabled key, sent in `x-api-key`, of a usage
    # plan naming this stage; else 403 Forbidden
    # (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-usage-plans.html).
    if getattr(integration, "api_key_required", False) and not _key_opens(
            apigw, api_id, stage_name, (headers or {}).get("x-api-key")):
        return _api_error(403, "Forbidden")
    link_id = getattr(integration, "_tb_connection_id", None)
    if (integration.connection_type or "") != "VPC_LINK" or not link_id:
        return _api_error(500, "Internal server error")
    elb = elbv2_backends[account][region]
    target = urlparse(integration.uri or "")
    port = target.port or (443 if target.scheme == "https" else 80)
    link = apigw.vpc_links.get(link_id)
    if link is not None:
        # V1: the link is an endpoint service on its NLB; the URI's host names that NLB.
        if link.status != "AVAILABLE":
            return _api_error(500, "Internal server error")
        lbs = [elb.load_balancers.get(arn) for arn in link.target_arns or []]
        lb = next((lb for lb in lbs if lb is not None and lb.dns_name == target.hostname), None)
    else:
        # V2: the link's interfaces in its subnets send to the load balancer the integration
        # names (integrationTarget), through the link's security groups
        # (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-vpc-links-v2.html).
        link = _v2_link(account, region, link_id)
        if link is None or link.to_json()["vpcLinkStatus"] != "AVAILABLE":
            return _api_error(500, "Internal server error")
        lb = elb.load_balancers.get(getattr(integration, "_tb_integration_target", None) or "")
        if lb is None or lb.vpc_id != _v2_vpc(account, region, link):
            return _api_error(500, "Internal server error")
        if not _v2_egress_allows(account, region, link, port):
            # Its groups drop the packets: the request times out.
            return _api_error(504, "Endpoint request timed out")
    if lb is None:
        return _api_error(500, "Internal server error")
    if lb.state != "active":
        return _api_error(503, "Service Unavailable")
    if lb.type == "application" and not _alb_lets_through(account, region, lb, link, port):
        return _api_error(504, "Endpoint request timed out")
    return _forward(account, region, lb, port, method, rest)


def public(method, path, query, account="123456789012", headers=None):
    """(status, headers, body) of `method` on `/_testbed/public/{dns name}/{port}/{path}`: a
    request from the internet to a load balancer."""
    from moto.elbv2.models import elbv2_backends

    parts = path.split("/", 5)  # '', '_testbed', 'public', host, port, rest
    if len(parts) < 5 or not parts[4].isdigit():
        return _answer(400, {"message": "expected /_testbed/public/{dns name}/{port}/{path}"})
    host, port = parts[3], int(parts[4])
    rest = "/" + (parts[5] if len(parts) > 5 else "")
    region = parse_qs(query).get("region", ["eu-west-1"])[0]
    elb = elbv2_backends[account][region]
    lb = next((lb for lb in elb.load_balancers.values() if lb.dns_name == host), None)
    if lb is None:
        return _answer(502, {"message": f"{host} does not resolve"})
    # The name resolves to a node in each of its zones; clients take them in turn.
    subnets = sorted(lb.subnets, key=lambda s: s.availability_zone)
    with _lock:
        node = subnets[next(_node_turns) % len(subnets)] if subnets else None
    if lb.scheme != "internet-facing" or node is None or _not_public(account, region, lb, port, node):
        return _answer(504, {"message": "timed out"})
    if lb.state != "active":
        return _answer(503, {"message": "Service Unavailable"})
    return _forward(account, region, lb, port, method, rest)


def _not_public(account, region, lb, port, subnet):
    """Why the internet does not reach `lb`'s node in `subnet` on `port`, or None: the subnet
    has no route to an attached internet gateway (only that zone's node is cut off), or the
    groups do not let the port in from anywhere and out to the VPC."""
    from moto.ec2.models import ec2_backends

    from .patches import _allows, _default_route, _route_table_of

    ec2 = ec2_backends[account][region]
    igw = getattr(_default_route(_route_table_of(ec2, subnet)), "gateway", None)
    if igw is None or not str(getattr(igw, "id", "")).startswith("igw-") \
            or igw.vpc is None or igw.vpc.id != lb.vpc_id:
        return f"subnet {subnet.id} has no route to an attached internet gateway"
    groups = [g for g in (ec2.get_security_group_from_id(i) for i in lb.security_groups or []) if g]
    if lb.type == "application":
        if not any(_allows(r, port, [], ["0.0.0.0/0"]) for g in groups for r in g.ingress_rules):
            return f"no group of {lb.name} lets {port} in from anywhere"
        vpc = ec2.vpcs.get(lb.vpc_id)
        if not any(_allows(r, port, [], [vpc.cidr_block] if vpc else []) for g in groups for r in g.egress_rules):
            return f"no group of {lb.name} lets {port} out to the VPC"
    return None


def _forward(account, region, lb, port, method, rest):
    """From an active load balancer on: its listener on `port`, the target group it forwards
    to, and a running task in reach."""
    from moto.ecs.models import ecs_backends
    from moto.elbv2.models import elbv2_backends

    elb = elbv2_backends[account][region]
    listener = next((l for l in lb.listeners.values() if int(l.port) == port), None)
    groups = [a.data.get("TargetGroupArn") for a in (listener.default_actions if listener else [])
              if a.type == "forward"]
    group = elb.target_groups.get(groups[0]) if groups else None
    if group is None:
        return _api_error(503, "Service Unavailable")
    zones = sorted({s.availability_zone for s in lb.subnets})
    with _lock:
        zone = zones[next(_zone_turns) % len(zones)] if zones else None
    cross_zone = lb.type == "application" or \
        str(lb.attrs.get("load_balancing.cross_zone.enabled", "false")).lower() == "true"
    ecs = ecs_backends[account][region]
    ECS["settle_all"](ecs)
    now = CLOCK.now()
    tasks = [
        t for t in ECS["all_tasks"](ecs)
        if t.status(now) == "RUNNING"
        and group.arn in t.target_groups
    ]
    # Each target group checks its targets' health on its own settings.
    healthy = [t for t in tasks if CLOCK.aws_since(t.ran_at()) >= ECS["healthy_after"](t.service, [group.arn])]
    # An NLB routes to healthy targets; with none healthy it fails open, to all of them.
    candidates = healthy or tasks
    reachable = [t for t in candidates if cross_zone or t.zone == zone]
    if not reachable:
        return _api_error(504, "Endpoint request timed out")
    task = reachable[next(_target_turns) % len(reachable)]
    if rest == (group.health_check_path or "/"):
        return 200, {"Content-Type": "text/plain"}, "ok"
    return _answer(200, {"task": task.id, "zone": task.zone, "method": method, "path": rest})


def _alb_lets_through(account, region, lb, link, port):
    """Whether an ALB's groups let `port` in from the V2 link (its groups, or its subnets'
    ranges) and out to the ALB's VPC (the targets; the stack's listener and targets share the
    port)."""
    from moto.ec2.models import ec2_backends

    from .patches import _allows

    ec2 = ec2_backends[account][region]
    groups = [g for g in (ec2.get_security_group_from_id(i) for i in lb.security_groups or []) if g]
    link_groups = list(getattr(link, "sg_ids", None) or [])
    try:
        link_ranges = [ec2.get_subnet(s).cidr_block for s in getattr(link, "subnet_ids", None) or []]
    except Exception:  # noqa: BLE001 (an unknown subnet is moto's business)
        link_ranges = []
    into = any(_allows(r, port, link_groups, link_ranges) for g in groups for r in g.ingress_rules)
    vpc = ec2.vpcs.get(lb.vpc_id)
    vpc_range = [vpc.cidr_block] if vpc is not None else []
    out = any(_allows(r, port, [], vpc_range) for g in groups for r in g.egress_rules)
    return into and out


def _v2_link(account, region, link_id):
    from moto.apigatewayv2.models import apigatewayv2_backends

    return apigatewayv2_backends[account][region].vpc_links.get(link_id)


def _v2_vpc(account, region, link):
    """The VPC of a V2 link's subnets."""
    from moto.ec2.models import ec2_backends

    ec2 = ec2_backends[account][region]
    try:
        return ec2.get_subnet(link.subnet_ids[0]).vpc_id
    except Exception:
        return None


def _v2_egress_allows(account, region, link, port):
    """Whether one of a V2 link's groups lets TCP `port` out."""
    from moto.ec2.models import ec2_backends

    ec2 = ec2_backends[account][region]
    for group_id in link.sg_ids or []:
        group = ec2.get_security_group_from_id(group_id)
        for rule in (group.egress_rules if group else []):
            if rule.ip_protocol == "-1":
                return True
            if rule.ip_protocol in ("tcp", "6") and rule.from_port is not None \
                    and int(rule.from_port) <= port <= int(rule.to_port):
                return True
    return False


def _key_opens(apigw, api_id, stage_name, value):
    """Whether the API key of `value` is enabled and in a usage plan naming the stage."""
    if not value:
        return False
    keys = [k for k in apigw.keys.values() if k.value == value and k.enabled]
    for plan in apigw.usage_plans.values():
        names_stage = any(s.get("apiId") == api_id and s.get("stage") == stage_name for s in plan.api_stages)
        if names_stage and any(k.id in apigw.usage_plan_keys.get(plan.id, {}) for k in keys):
            return True
    return False


def _take_token(api_id, stage, key):
    """Whether the throttling of method settings `key` (`~1{proxy+}/ANY`), or else the stage's
    `*/*`, lets one more request through: a bucket of burstLimit tokens refilled at rateLimit
    per second, in wall time (requests are real)."""
    settings = stage.method_settings or {}
    if not (settings.get(key) or {}).get("throttlingRateLimit"):
        key = "*/*"
    limits = settings.get(key) or {}
    rate, burst = limits.get("throttlingRateLimit"), limits.get("throttlingBurstLimit")
    if not rate or not burst:
        return True
    now = time.monotonic()
    with _lock:
        tokens, last = _buckets.get((api_id, stage.name, key), [float(burst), now])
        tokens = min(float(burst), tokens + (now - last) * float(rate))
        ok = tokens >= 1
        _buckets[(api_id, stage.name, key)] = [tokens - 1 if ok else tokens, now]
    return ok


def routes_of(api):
    """{path: {method: what serves it}} of the API as it is now: its integration's connection
    and URI, and the method's authorization. A deployment keeps this as its snapshot."""
    return {
        r.get_path(): {m: SimpleNamespace(connection_type=found.method_integration.connection_type,
                                          uri=found.method_integration.uri,
                                          _tb_connection_id=getattr(found.method_integration,
                                                                    "_tb_connection_id", None),
                                          _tb_integration_target=getattr(found.method_integration,
                                                                         "_tb_integration_target", None),
                                          authorization_type=found.authorization_type,
                                          api_key_required=bool(found.api_key_required))
                       for m, found in r.resource_methods.items()
                       if found.method_integration is not None}
        for r in api.resources.values()
    }


def _method(routes, path, method):
    """The method serving `path` in `routes`: the resource of that exact path, else the nearest
    greedy `{proxy+}` above it. As (its method settings key, e.g. `~1{proxy+}/ANY`, its
    integration); (None, None) when none does."""
    candidates = [(path, routes.get(path))] + [
        (p, methods) for p, methods in sorted(routes.items(), key=lambda item: -len(item[0]))
        if p.endswith("/{proxy+}") and path.startswith(p[: -len("{proxy+}")]) and path != p[: -len("/{proxy+}")] + "/"
    ]
    for p, methods in candidates:
        if methods is None:
            continue
        verb = method if method in methods else "ANY"
        found = methods.get(verb)
        if found is not None:
            return f"{p.replace('/', '~1')}/{verb}", found
    return None, None
