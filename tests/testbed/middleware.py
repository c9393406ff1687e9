"""The part of the test bed that sits in front of moto: it names each call, applies rate
limits and seeded faults in each protocol's own error shape, and keeps a call log.

Control endpoints (never faulted, never logged):
  ANY  /_testbed/invoke/{api}/{stage}/{path}   the stack's traffic (dataplane.py)
  GET  /_testbed/calls    the call log: {"ec2.CreateVpc": {"count", "ok", "resources" (the ARNs
                          IAM authorizes it against, authorization.py), "refused" (moto's
                          own error answers), "throttled", "errors", "lost", "hung" (injected),
                          "codes" (error codes seen), "total_ms", "max_ms"}, ...}
  GET  /_testbed/config   the current settings
  POST /_testbed/config   replace the settings (JSON body, see settings.py)
  POST /_testbed/fail     break a built VPC link or load balancer as AWS may (patches.fail)
  ANY  /_testbed/public/{dns name}/{port}/{path}  a request from the internet to a load
                          balancer (dataplane.py)
  GET  /_testbed/internet_path?subnets=a,b&groups=c[&public_ip=true][&region=eu-west-1]
                          whether tasks there reach the internet on 443: {"reason": null} or
                          why not (patches.internet_path; read-only)
  POST /_testbed/reset    clear the call log, rate buckets and lingering interfaces; reseed
                          (a config change clears the same but keeps lingering interfaces)

AWS calls moto does not serve: the Price List API's GetProducts (pricing.py's catalog).
"""
import json
import random
import re
import socket
import threading
import time
import uuid
from urllib.parse import parse_qs

from . import authorization, consistency, dataplane, livetail, patches, pricing, settings, world
from .clock import CLOCK

QUERY_SERVICES = {"elasticloadbalancing", "iam", "sts"}
JSON_SERVICES = {"ecs", "logs", "ecr"}

# API Gateway is REST: name the calls the tool makes, the rest by method and path.
APIGW_ROUTES = [
    ("POST", r"^/restapis$", "CreateRestApi"),
    ("DELETE", r"^/restapis/[^/]+$", "DeleteRestApi"),
    ("POST", r"^/restapis/[^/]+/deployments$", "CreateDeployment"),
    ("POST", r"^/restapis/[^/]+/stages$", "CreateStage"),
    ("PATCH", r"^/restapis/[^/]+/stages/[^/]+$", "UpdateStage"),
    ("DELETE", r"^/restapis/[^/]+/stages/[^/]+$", "DeleteStage"),
    ("POST", r"^/restapis/[^/]+/resources/[^/]+$", "CreateResource"),
    ("PUT", r"^/restapis/[^/]+/resources/[^/]+/methods/[^/]+$", "PutMethod"),
    ("PUT", r"^/restapis/[^/]+/resources/[^/]+/methods/[^/]+/integration$", "PutIntegration"),
    ("POST", r"^/vpclinks$", "CreateVpcLink"),
    ("DELETE", r"^/vpclinks/[^/]+$", "DeleteVpcLink"),
    ("GET", r"^/vpclinks/[^/]+$", "GetVpcLink"),
    ("GET", r"^/vpclinks$", "GetVpcLinks"),
    ("GET", r"^/restapis$", "GetRestApis"),
    # VPC links V2: API Gateway's second API, on the same host under /v2.
    ("POST", r"^/v2/vpclinks$", "CreateVpcLinkV2"),
    ("DELETE", r"^/v2/vpclinks/[^/]+$", "DeleteVpcLinkV2"),
    ("GET", r"^/v2/vpclinks/[^/]+$", "GetVpcLinkV2"),
    ("GET", r"^/v2/vpclinks$", "GetVpcLinksV2"),
]

CREATE_PREFIXES = ("Create", "Register", "Put", "Authorize", "Associate", "Modify")


class Call:
    """What one request is."""

    def __init__(self, service: str, operation: str):
        self.service = service
        self.operation = operation
        # The ARNs IAM would authorize it against (authorization.py), set once it is read.
        self.resources = []

    @property
    def key(self) -> str:
        return f"{self.service}.{self.operation}"

    @property
    def is_create(self) -> bool:
        return self.operation.startswith(CREATE_PREFIXES)


def identify(environ) -> Call | None:
    path = environ.get("PATH_INFO", "")
    if path.startswith("/moto-api") or path.startswith("/_testbed"):
        return None
    auth = environ.get("HTTP_AUTHORIZATION", "")
    match = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/aws4_request", auth)
    service = match.group(1) if match else "unknown"
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return Call(service, target.split(".")[-1])
    if service == "apigateway":
        method = environ.get("REQUEST_METHOD", "GET")
        for want, pattern, name in APIGW_ROUTES:
            if method == want and re.match(pattern, path):
                return Call(service, name)
        generic = re.sub(r"/[a-z0-9]{10}(?=/|$)", "/{id}", path)
        return Call(service, f"{method} {generic}")
    body = environ["testbed.body"].decode("utf-8", "replace")
    action = parse_qs(body).get("Action", [None])[0] or parse_qs(environ.get("QUERY_STRING", "")).get("Action", [None])[0]
    return Call(service, action or "unknown")


def error_response(call: Call, kind: str):
    """(status, headers, body) of a throttling or server error in the service's own shape."""
    throttle = kind == "throttle"
    if call.service == "ec2":
        code, status = ("RequestLimitExceeded", 503) if throttle else ("Unavailable", 503)
        return refusal_response(call, code, "Request limit exceeded.", status)
    if call.service in QUERY_SERVICES:
        code, status = ("Throttling", 400) if throttle else ("ServiceUnavailable", 503)
        return refusal_response(call, code, "Rate exceeded", status)
    if call.service == "apigateway":
        if throttle:
            return refusal_response(call, "TooManyRequestsException", "Too Many Requests", 429)
        return refusal_response(call, "ServiceUnavailableException", "Service Unavailable", 503)
    code, status = ("ThrottlingException", 400) if throttle else ("ServiceUnavailableException", 503)
    return refusal_response(call, code, "Rate exceeded", status)


def denial(call: Call) -> tuple[str, str, int]:
    """(code, message, status) of a call the caller's policy does not allow, in the service's
    own words: EC2 answers UnauthorizedOperation
    (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html), the query
    services AccessDenied (e.g. https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/CommonErrors.html),
    the JSON ones and API Gateway AccessDeniedException; 403, but 400 for the JSON services,
    as their API references list it
    (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeServices.html)."""
    code = {"ec2": "UnauthorizedOperation"}.get(
        call.service, "AccessDenied" if call.service in QUERY_SERVICES else "AccessDeniedException")
    message = (f"User: arn:aws:iam::123456789012:user/testbed is not authorized to perform: "
               f"{call.service}:{call.operation} because no identity-based policy allows the "
               f"{call.service}:{call.operation} action")
    return code, message, 400 if call.service in JSON_SERVICES else 403


def refusal_response(call: Call, code: str, message: str, status: int):
    """(status, headers, body) of a refusal with this code, in the service's own shape."""
    request_id = str(uuid.uuid4())
    if call.service == "ec2":
        body = (
            f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error><Code>{code}</Code>"
            f"<Message>{message}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>"
        )
        return status, [("Content-Type", "text/xml")], body
    if call.service in QUERY_SERVICES:
        body = (
            f"<ErrorResponse><Error><Type>{'Sender' if status < 500 else 'Receiver'}</Type>"
            f"<Code>{code}</Code><Message>{message}</Message>"
            f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        )
        return status, [("Content-Type", "text/xml")], body
    if call.service == "apigateway":
        return status, [("Content-Type", "application/json"), ("x-amzn-ErrorType", code)], json.dumps({"message": message})
    return status, [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-RequestId", request_id)], json.dumps({"__type": code, "message": message})


def error_code(body: bytes) -> str | None:
    """The error code in a refused answer, whatever the protocol."""
    text = body.decode("utf-8", "replace")
    match = re.search(r"<Code>([^<]+)</Code>", text)
    if match:
        return match.group(1)
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    code = doc.get("__type") or doc.get("code") or doc.get("type")
    return code.split("#")[-1] if isinstance(code, str) else None


class Middleware:
    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()
        self.calls: dict[str, dict] = {}
        self.buckets: dict[str, list[float]] = {}
        # How many calls of each operation came so far: the nth call of an operation draws
        # the same dice whatever other operations ran in between (steps run concurrently).
        self.nth: dict[str, int] = {}
        # How often each fault rule (by index) fired, for rules with a `limit`.
        self.fired: dict[int, int] = {}

    # ------------------------------------------------------------ bookkeeping
    def reset(self, world_too: bool = True):
        """Clears the call log, rate buckets and dice; with `world_too`, also the lingering
        network interfaces (a config change keeps them: resources in flight stay in flight)."""
        with self.lock:
            self.calls.clear()
            self.buckets.clear()
            self.nth.clear()
            self.fired.clear()
        if world_too:
            world.reset()
            consistency.reset()

    def log(self, call: Call, outcome: str, started: float, code: str | None = None):
        ms = (time.monotonic() - started) * 1000
        with self.lock:
            entry = self.calls.setdefault(
                call.key,
                {"count": 0, "ok": 0, "refused": 0, "throttled": 0, "errors": 0, "lost": 0,
                 "hung": 0, "codes": {}, "total_ms": 0.0, "max_ms": 0.0},
            )
            entry["count"] += 1
            entry[outcome] += 1
            entry["resources"] = sorted(set(entry.get("resources", [])) | set(call.resources))
            entry["total_ms"] += ms
            entry["max_ms"] = max(entry["max_ms"], ms)
            if code:
                entry["codes"][code] = entry["codes"].get(code, 0) + 1

    def take_token(self, call: Call) -> bool:
        limit = settings.RATE_LIMITS.get(call.key)
        if not limit or not settings.on("rate_limits"):
            return True
        size, per_aws_second = limit
        now = CLOCK.now()
        with self.lock:
            tokens, last = self.buckets.get(call.key, [float(size), now])
            tokens = min(size, tokens + (now - last) / CLOCK.scale * per_aws_second)
            ok = tokens >= 1
            self.buckets[call.key] = [tokens - 1 if ok else tokens, now]
        return ok

    def rule_for(self, call: Call) -> tuple[int, dict] | None:
        """The first rule that matches the call and has not reached its `limit`."""
        for index, rule in enumerate(settings.current()["faults"].get("rules", [])):
            match = rule.get("match", "*")
            if match not in ("*", call.service, call.key):
                continue
            if rule.get("creates_only") and not call.is_create:
                continue
            with self.lock:
                if "limit" in rule and self.fired.get(index, 0) >= rule["limit"]:
                    continue
            return index, rule
        return None

    def roll(self, call: Call, n: int, kind: str, probability: float) -> bool:
        """Throws the dice for fault `kind` on the nth call of an operation."""
        seed = settings.current()["faults"]["seed"]
        return random.Random(f"{seed}|{call.key}|{n}|{kind}").random() < probability

    def fire(self, index: int, rule: dict) -> bool:
        """Counts a firing of rule `index`; False (and no count) once its `limit` is reached,
        decided under one lock so two calls at once cannot both take the last one."""
        with self.lock:
            fired = self.fired.get(index, 0)
            if "limit" in rule and fired >= rule["limit"]:
                return False
            self.fired[index] = fired + 1
            return True

    # ------------------------------------------------------------ WSGI
    def control(self, environ, start_response):
        path = environ["PATH_INFO"]
        method = environ["REQUEST_METHOD"]
        if path == "/_testbed/calls" and method == "GET":
            with self.lock:
                body = json.dumps(self.calls)
        elif path == "/_testbed/config" and method == "GET":
            body = json.dumps(settings.current())
        elif path == "/_testbed/config" and method == "POST":
            try:
                settings.replace(json.loads(environ["testbed.body"] or b"{}"))
            except ValueError as err:
                start_response("400 Bad Request", [("Content-Type", "application/json")])
                return [json.dumps({"error": str(err)}).encode()]
            self.reset(world_too=False)
            body = json.dumps(settings.current())
        elif path == "/_testbed/fail" and method == "POST":
            try:
                body = json.dumps(patches.fail(json.loads(environ["testbed.body"] or b"{}")))
            except ValueError as err:
                start_response("400 Bad Request", [("Content-Type", "application/json")])
                return [json.dumps({"error": str(err)}).encode()]
        elif path == "/_testbed/internet_path" and method == "GET":
            from moto.ec2.models import ec2_backends

            query = parse_qs(environ.get("QUERY_STRING", ""))

            def ids(key):
                return [i for value in query.get(key, []) for i in value.split(",") if i]

            region = (query.get("region") or ["eu-west-1"])[0]
            account = (query.get("account") or ["123456789012"])[0]
            public_ip = (query.get("public_ip") or ["false"])[0] == "true"
            body = json.dumps({"reason": patches.internet_path(ec2_backends[account][region], ids("subnets"),
                                                                ids("groups"), public_ip)})
        elif path == "/_testbed/reset" and method == "POST":
            self.reset()
            body = "{}"
        else:
            start_response("404 Not Found", [("Content-Type", "application/json")])
            return [b'{"error": "unknown test bed endpoint"}']
        data = body.encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]

    def __call__(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["testbed.body"] = body
        import io

        environ["wsgi.input"] = io.BytesIO(body)
        if environ.get("PATH_INFO", "").startswith(("/_testbed/invoke/", "/_testbed/public/")):
            # The stack's traffic: never faulted or logged as an AWS call.
            through = dataplane.invoke if environ["PATH_INFO"].startswith("/_testbed/invoke/") else dataplane.public
            status, headers, body = through(
                environ.get("REQUEST_METHOD", "GET"), environ["PATH_INFO"], environ.get("QUERY_STRING", ""),
                headers={"Authorization": environ.get("HTTP_AUTHORIZATION", ""),
                         "x-api-key": environ.get("HTTP_X_API_KEY", "")})
            data = body.encode()
            start_response(f"{status} {'OK' if status == 200 else 'Error'}",
                           [*headers.items(), ("Content-Length", str(len(data)))])
            return [data]
        if environ.get("PATH_INFO", "").startswith("/_testbed"):
            return self.control(environ, start_response)
        call = identify(environ)
        if call is None:
            return self.app(environ, start_response)
        started = time.monotonic()
        with self.lock:
            n = self.nth.get(call.key, 0)
            self.nth[call.key] = n + 1

        region = re.search(r"Credential=[^/]+/[^/]+/([^/]+)/", environ.get("HTTP_AUTHORIZATION", ""))
        call.resources = authorization.resources(
            call, environ, "123456789012", region.group(1) if region else "us-east-1")
        if region and region.group(1) in settings.current().get("disabled_regions", []):
            # An opt-in region the account has not enabled rejects every token
            # (https://docs.aws.amazon.com/accounts/latest/reference/manage-acct-regions.html;
            # STS answers InvalidClientTokenId, aws/aws-cli#4964).
            return self.refuse(call, "InvalidClientTokenId",
                               "The security token included in the request is invalid.", 403,
                               start_response, started)
        if not self.take_token(call):
            return self.reply(call, "throttle", start_response, started)
        found = self.rule_for(call)
        if found:
            index, rule = found
            if rule.get("latency") and self.roll(call, n, "latency", rule["latency"]):
                time.sleep(rule.get("latency_ms", 200) / 1000)
            for kind in ("deny", "throttle", "error", "lost", "hang"):
                if rule.get(kind) and self.roll(call, n, kind, rule[kind]):
                    if not self.fire(index, rule):
                        break
                    if kind == "deny":
                        return self.refuse(call, *denial(call), start_response, started)
                    if kind == "lost":
                        return self.lose(call, environ, start_response, started, n)
                    if kind == "hang":
                        return self.hang(call, environ, start_response, started, rule)
                    return self.reply(call, kind, start_response, started)

        lag = consistency.refusal(call, environ)
        if lag is not None:
            return self.refuse(call, *lag, start_response, started)
        if call.key == "pricing.GetProducts":
            # moto has no Price List API: the test bed's catalog answers.
            status, answer = pricing.get_products(json.loads(environ["testbed.body"] or b"{}"))
            data = json.dumps(answer).encode()
            self.log(call, "ok" if status == 200 else "refused", started,
                     None if status == 200 else answer.get("__type"))
            start_response(f"{status} {'OK' if status == 200 else 'Bad Request'}",
                           [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(data))),
                            ("x-amzn-RequestId", str(uuid.uuid4()))])
            return [data]
        if call.key == "logs.StartLiveTail" and settings.on("live_tail"):
            self.log(call, "ok", started)
            start_response("200 OK", [("Content-Type", "application/vnd.amazon.eventstream"),
                                      ("x-amzn-RequestId", str(uuid.uuid4()))])
            request = json.loads(environ["testbed.body"] or b"{}")
            return livetail.session(request, "123456789012", region.group(1) if region else "us-east-1",
                                    every=0.2)

        status_holder = {}

        def capture(status, headers, exc_info=None):
            status_holder["status"] = status
            return start_response(status, headers, exc_info)

        chunks = list(self.app(environ, capture))
        status = int(status_holder.get("status", "200").split()[0])
        if status >= 400:
            self.log(call, "refused", started, error_code(b"".join(chunks)))
        else:
            self.log(call, "ok", started)
            consistency.answered(call, environ, b"".join(chunks))
        return chunks

    def refuse(self, call, code, message, status, start_response, started):
        """Answers with a refusal the test bed makes itself (moto never sees the call)."""
        status, headers, body = refusal_response(call, code, message, status)
        self.log(call, "refused", started, code)
        reason = {403: "Forbidden", 404: "Not Found"}.get(status, "Bad Request")
        start_response(f"{status} {reason}", headers)
        return [body.encode()]

    def reply(self, call, kind, start_response, started):
        status, headers, body = error_response(call, kind)
        self.log(call, "throttled" if kind == "throttle" else "errors", started)
        reason = {400: "Bad Request", 429: "Too Many Requests", 503: "Service Unavailable"}.get(status, "Error")
        start_response(f"{status} {reason}", headers)
        return [body.encode()]

    def take_effect(self, call, environ):
        """Runs the call in moto and throws its answer away."""
        seen = {}

        def discard(status, headers, exc_info=None):
            seen["status"] = int(status.split()[0])
            return lambda data: None

        body = b"".join(self.app(environ, discard))
        if seen.get("status", 500) < 400:
            consistency.answered(call, environ, body)

    def hang(self, call, environ, start_response, started, rule):
        """The call takes effect and its answer never comes (for `hang_seconds`): a test can
        kill the client at the one moment a create is done on AWS's side and not yet known
        to it."""
        self.take_effect(call, environ)
        self.log(call, "hung", started)
        time.sleep(rule.get("hang_seconds", 600))
        status, headers, body = error_response(call, "error")
        start_response("503 Service Unavailable", headers)
        return [body.encode()]

    def lose(self, call, environ, start_response, started, n):
        """The call takes effect; the client sees a 503 or a dropped connection."""
        self.take_effect(call, environ)
        self.log(call, "lost", started)
        sock = environ.get("werkzeug.socket")
        if sock is not None and self.roll(call, n, "drop", 0.5):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
            return [b""]
        status, headers, body = error_response(call, "error")
        start_response("503 Service Unavailable", headers)
        return [body.encode()]
