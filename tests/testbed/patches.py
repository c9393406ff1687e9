"""Patches to moto's models and responses that add AWS's timing, ordering rules and the
details moto drops. Each patch checks its switch on every call, so profiles can change at
run time; with every switch off moto behaves as it always does, but for one thing moto never
does at all: a new task definition given to UpdateService becomes a new deployment (done at
once).
"""
import copy
import functools
import json
import math
import inspect
import time
from urllib.parse import unquote

from . import settings, world
from .clock import CLOCK

D = settings.DURATIONS
ACCOUNT_REGION = {}


def purge_deleted(backend):
    """Forgets VPC links whose deletion has finished."""
    for link_id, link in list(backend.vpc_links.items()):
        deleted = link.__dict__.get("_tb_deleted")
        if deleted is not None and CLOCK.aws_since(deleted) >= D["vpc_link_deleting"]:
            backend.vpc_links.pop(link_id, None)


def _wrap(cls, name):
    """Decorator: replace cls.name with fn(original, *args, **kwargs)."""

    def decorate(fn):
        original = getattr(cls, name)

        @functools.wraps(original)
        def wrapper(*args, **kwargs):
            return fn(original, *args, **kwargs)

        setattr(cls, name, wrapper)
        return fn

    return decorate


def _purge_before_reads(backend_class, purge):
    """Makes the backend's GetVpcLink and GetVpcLinks forget, first, the links whose deletion
    has finished."""
    for name in ("get_vpc_link", "get_vpc_links"):

        @_wrap(backend_class, name)
        def getter(original, self, *args, **kwargs):
            purge(self)
            return original(self, *args, **kwargs)


def _bind(original, *args, **kwargs):
    bound = inspect.signature(original).bind(*args, **kwargs)
    bound.apply_defaults()
    return bound.arguments


# ---------------------------------------------------------------- load balancers (ELBv2)
def _patch_elbv2():
    from moto.elbv2 import models as m
    from moto.elbv2.exceptions import (
        DuplicateLoadBalancerName,
        DuplicateTargetGroupName,
        ResourceInUseError,
    )

    def get_state(self):
        raw = self.__dict__.get("_tb_state", "provisioning")
        if settings.on("provisioning") and raw in ("provisioning", "active"):
            created = self.__dict__.setdefault("_tb_created", CLOCK.now())
            active_after = D["alb_active"] if self.type == "application" else D["nlb_active"]
            return "active" if CLOCK.aws_since(created) >= active_after else "provisioning"
        return raw

    def set_state(self, value):
        self.__dict__.setdefault("_tb_created", CLOCK.now())
        self.__dict__["_tb_state"] = value

    m.FakeLoadBalancer.state = property(get_state, set_state)

    @_wrap(m.ELBv2Backend, "modify_target_group")
    def modify_target_group(original, self, *args, **kwargs):
        """moto keeps a new matcher only for HTTP(S) target groups; AWS keeps it for any target
        group whose health check is HTTP(S), a TCP one of a Network Load Balancer included
        ("Matcher: [HTTP/HTTPS health checks] ... For Network Load Balancers ... 200 to 599",
        https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_Matcher.html)."""
        group = original(self, *args, **kwargs)
        codes = _bind(original, self, *args, **kwargs).get("http_codes")
        if settings.on("fidelity") and codes is not None \
                and (group.health_check_protocol or "").upper() in ("HTTP", "HTTPS"):
            group.matcher["HttpCode"] = codes
        return group

    @_wrap(m.ELBv2Backend, "create_load_balancer")
    def create_load_balancer(original, self, *args, **kwargs):
        if settings.on("new_account"):
            from moto.iam.models import iam_backends
            from moto.utilities.utils import get_partition

            iam = iam_backends[self.account_id][get_partition(self.region_name)]
            if service_linked_role(iam, "elasticloadbalancing.amazonaws.com") is None:
                iam.create_service_linked_role("elasticloadbalancing.amazonaws.com", "", "")
        if settings.on("fidelity"):
            a = _bind(original, self, *args, **kwargs)
            for lb in self.load_balancers.values():
                if lb.name != a["name"]:
                    continue
                same = (
                    lb.scheme == a["scheme"]
                    and lb.type == (a["loadbalancer_type"] or "application")
                    and sorted(s.id for s in lb.subnets) == sorted(a["subnet_ids"] or [])
                )
                if same:
                    return lb
                raise DuplicateLoadBalancerName()
        if settings.on("ordering"):
            a = _bind(original, self, *args, **kwargs)
            if a.get("scheme") == "internet-facing":
                _refuse_without_internet_gateway(self, a.get("subnet_ids") or [])
        lb = original(self, *args, **kwargs)
        if settings.on("fidelity") and lb.type == "network" and ":loadbalancer/app/" in lb.arn:
            # moto names every load balancer `loadbalancer/app/...`; an NLB's ARN is
            # `loadbalancer/net/...` (https://docs.aws.amazon.com/service-authorization/latest/reference/list_elasticloadbalancingv2.html),
            # which IAM policies scoped to NLBs name.
            old = lb.arn
            tags = self.tagging_service.list_tags_for_resource(old)["Tags"]
            lb.arn = old.replace(":loadbalancer/app/", ":loadbalancer/net/")
            self.load_balancers[lb.arn] = self.load_balancers.pop(old)
            self.tagging_service.delete_all_tags_for_resource(old)
            self.tagging_service.tag_resource(lb.arn, tags)
        return lb

    @_wrap(m.ELBv2Backend, "create_target_group")
    def create_target_group(original, self, name, **kwargs):
        if settings.on("fidelity"):
            for tg in self.target_groups.values():
                if tg.name != name:
                    continue
                same = (
                    tg.protocol == kwargs.get("protocol")
                    and str(tg.port) == str(kwargs.get("port"))
                    and tg.vpc_id == kwargs.get("vpc_id")
                    and tg.target_type == (kwargs.get("target_type") or "instance")
                )
                if same:
                    return tg
                raise DuplicateTargetGroupName()
        return original(self, name, **kwargs)

    @_wrap(m.ELBv2Backend, "delete_load_balancer")
    def delete_load_balancer(original, self, arn):
        lb = self.load_balancers.get(arn)
        if lb is not None and settings.on("ordering"):
            from moto.apigateway.models import apigateway_backends

            apigw = apigateway_backends[self.account_id][self.region_name]
            purge_deleted(apigw)
            links = apigw.vpc_links
            users = [link.id for link in links.values() if arn in (link.target_arns or [])]
            # A VPC link (V1) is a VPC endpoint service on the NLB; one left behind keeps the
            # NLB "associated with another service" (hashicorp/terraform-provider-aws#6018,
            # https://docs.aws.amazon.com/vpc/latest/privatelink/delete-endpoint-service.html).
            from moto.ec2.models import ec2_backends

            ec2 = ec2_backends[self.account_id][self.region_name]
            users += [
                f"VPC endpoint service {config.id}"
                for config in ec2.configurations.values()
                if arn in config.network_load_balancer_arns
            ]
            if users:
                raise ResourceInUseError(
                    f"Load balancer '{arn}' cannot be deleted because it is currently "
                    f"associated with another service (VPC link {', '.join(users)})"
                )
        result = original(self, arn)
        if lb is not None and settings.on("ordering"):
            # An ALB's network interfaces are in its security groups too.
            # An internet-facing one's interfaces keep their public addresses meanwhile.
            public = "internet-facing " if lb.scheme == "internet-facing" else ""
            world.linger(f"{public}load balancer {lb.name}", [s.id for s in lb.subnets], lb.security_groups or [])
        return result

    @_wrap(m.ELBv2Backend, "create_listener")
    def create_listener(original, self, *args, **kwargs):
        """An ALB forwards to HTTP(S) target groups, an NLB to TCP, UDP or TLS ones; AWS refuses
        a listener whose target group's protocol its load balancer cannot use ("The target
        group's protocol must be one the load balancer supports",
        https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-target-groups.html#target-group-protocol-version).
        moto checks only the listener's own protocol."""
        a = _bind(original, self, *args, **kwargs)
        lb = self.load_balancers.get(a.get("load_balancer_arn"))
        if settings.on("fidelity") and lb is not None:
            application = lb.type == "application"
            for action in a.get("actions") or []:
                group = self.target_groups.get(action.get("TargetGroupArn") or "")
                if group is None:
                    continue
                http = (group.protocol or "").upper() in ("HTTP", "HTTPS")
                if http != application:
                    from moto.elbv2.exceptions import ValidationError
                    raise ValidationError(
                        f"The target group '{group.arn}' uses protocol {group.protocol}, which a "
                        f"{lb.type} load balancer does not support"
                    )
        return original(self, *args, **kwargs)


# ---------------------------------------------------------------- API Gateway
def _patch_apigateway():
    from moto.apigateway import models as m
    from moto.apigateway import responses as r
    from moto.apigateway.exceptions import BadRequestException, ConflictException

    def get_status(self):
        if self.__dict__.get("_tb_broken"):
            return "FAILED"
        raw = self.__dict__.get("_tb_status", "AVAILABLE")
        if not settings.on("provisioning") or "_tb_created" not in self.__dict__:
            return raw
        if "_tb_deleted" in self.__dict__:
            return "DELETING"
        since = CLOCK.aws_since(self.__dict__["_tb_created"])
        if self.__dict__.get("_tb_fail"):
            return "PENDING" if since < D["vpc_link_failed"] else "FAILED"
        return "PENDING" if since < D["vpc_link_available"] else "AVAILABLE"

    def set_status(self, value):
        self.__dict__["_tb_status"] = value

    m.VpcLink.status = property(get_status, set_status)

    original_link_json = m.VpcLink.to_json

    def link_json(self):
        out = original_link_json(self)
        if self.status == "FAILED" and self.__dict__.get("_tb_fail"):
            out["statusMessage"] = self.__dict__["_tb_fail"]
        elif self.status == "AVAILABLE":
            out["statusMessage"] = "Your vpc link is ready for use"
        return out

    m.VpcLink.to_json = link_json

    # TagResource, UntagResource and GetTags on every taggable resource the stack has, named by
    # its ARN (https://docs.aws.amazon.com/apigateway/latest/api/API_TagResource.html): moto
    # serves only stages.
    def tagged(self):
        arn = unquote(self.path.split("/tags/", 1)[1].split("?", 1)[0])
        parts = arn.split("::", 1)[-1].strip("/").split("/")
        backend = self.backend
        if parts[0] == "restapis" and len(parts) == 2:
            return backend.get_rest_api(parts[1])
        if parts[0] == "restapis" and len(parts) == 4 and parts[2] == "stages":
            return backend.get_stage(parts[1], parts[3])
        if parts[0] == "vpclinks" and len(parts) == 2:
            return backend.get_vpc_link(parts[1])
        if parts[0] == "usageplans" and len(parts) == 2:
            return backend.get_usage_plan(parts[1])
        if parts[0] == "apikeys" and len(parts) == 2:
            return backend.get_api_key(parts[1])
        raise BadRequestException(f"Invalid ARN: {arn}")

    def get_tags(self):
        return json.dumps({"tags": tagged(self).tags or {}})

    def tag_resource(self):
        resource = tagged(self)
        resource.tags = {**(resource.tags or {}), **(self._get_param("tags") or {})}
        return 204, {}, ""

    def untag_resource(self):
        resource = tagged(self)
        drop = set(self.querystring.get("tagKeys") or [])
        resource.tags = {k: v for k, v in (resource.tags or {}).items() if k not in drop}
        return 204, {}, ""

    from moto.apigateway import urls as u

    u.url_paths["{0}/tags/arn:(?P<partition>[^/]+):apigateway:(?P<region_name>[^/]+)::/(?P<tagged>.+)$"] = (
        r.APIGatewayResponse.dispatch)
    r.APIGatewayResponse.get_tags = get_tags
    r.APIGatewayResponse.tag_resource = tag_resource
    r.APIGatewayResponse.untag_resource = untag_resource

    @_wrap(m.APIGatewayBackend, "create_vpc_link")
    def create_vpc_link(original, self, name, description, target_arns, tags):
        fail = None
        if settings.on("ordering"):
            from moto.elbv2.models import elbv2_backends

            purge_deleted(self)
            lbs = elbv2_backends[self.account_id][self.region_name].load_balancers
            for arn in target_arns or []:
                lb = lbs.get(arn)
                if lb is None or lb.state != "active":
                    fail = f"NLB ARN is malformed or NLB {arn} is not in active state"
                others = [
                    link.id
                    for link in self.vpc_links.values()
                    if arn in (link.target_arns or []) and link.status in ("PENDING", "AVAILABLE")
                ]
                if others and not fail:
                    fail = f"NLB {arn} is already associated with another VPC link ({others[0]})"
        link = original(self, name, description, target_arns, tags)
        if settings.on("provisioning") or fail:
            link.__dict__["_tb_created"] = CLOCK.now()
        if fail:
            link.__dict__["_tb_fail"] = fail
        return link

    @_wrap(m.APIGatewayBackend, "delete_vpc_link")
    def delete_vpc_link(original, self, vpc_link_id):
        if settings.on("ordering"):
            refuse_link_in_use(self.account_id, self.region_name, vpc_link_id, BadRequestException)
        link = self.vpc_links.get(vpc_link_id)
        if link is not None and settings.on("provisioning"):
            link.__dict__.setdefault("_tb_deleted", CLOCK.now())
            link.__dict__.setdefault("_tb_created", CLOCK.now())
            return None
        return original(self, vpc_link_id)

    _purge_before_reads(m.APIGatewayBackend, purge_deleted)

    # A REST API's TLS security policy (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-security-policies.html):
    # kept and answered (moto drops both keys); an enhanced policy (`SecurityPolicy_...`) needs
    # an endpoint access mode, at create and when changed to one.
    def check_tls(policy, mode):
        if policy and policy.startswith("SecurityPolicy_") and not mode:
            raise BadRequestException(
                "When you use an enhanced security policy, you must also set the endpoint "
                "access mode")

    @_wrap(r.APIGatewayResponse, "create_rest_api")
    def create_rest_api(original, self):
        policy, mode = self._get_param("securityPolicy"), self._get_param("endpointAccessMode")
        if settings.on("fidelity"):
            check_tls(policy, mode)
        status, headers, body = original(self)
        if settings.on("fidelity") and status == 200:
            doc = json.loads(body)
            api = self.backend.apis[doc["id"]]
            api.__dict__["_tb_tls"] = {"securityPolicy": policy or "TLS_1_0",
                                       "endpointAccessMode": mode}
            body = json.dumps(api.to_dict())
        return status, headers, body

    @_wrap(r.APIGatewayResponse, "update_rest_api")
    def update_rest_api(original, self):
        if settings.on("fidelity"):
            function_id = self.path.replace("/restapis/", "", 1).split("/")[0]
            api = self.backend.get_rest_api(function_id)
            tls = dict(api.__dict__.get("_tb_tls") or {"securityPolicy": "TLS_1_0", "endpointAccessMode": None})
            for op in self._get_param("patchOperations") or []:
                if op.get("op") == "replace" and op.get("path") == "/securityPolicy":
                    tls["securityPolicy"] = op.get("value")
                if op.get("op") == "replace" and op.get("path") == "/endpointAccessMode":
                    tls["endpointAccessMode"] = op.get("value")
            check_tls(tls["securityPolicy"], tls["endpointAccessMode"])
            api.__dict__["_tb_tls"] = tls
        return original(self)

    @_wrap(m.APIGatewayBackend, "delete_authorizer")
    def delete_authorizer(original, self, restapi_id, authorizer_id):
        # AWS deletes no authorizer a method still uses ("Cannot delete authorizer ..., is
        # referenced in method"), so the methods must move off it first.
        if settings.on("ordering"):
            api = self.get_rest_api(restapi_id)
            for resource in api.resources.values():
                for verb, method in resource.resource_methods.items():
                    if (getattr(method, "authorizer_id", None) == authorizer_id
                            and method.authorization_type in ("COGNITO_USER_POOLS", "CUSTOM")):
                        raise BadRequestException(
                            f"Cannot delete authorizer '{authorizer_id}', is referenced in method: "
                            f"{verb}/{resource.get_path()}")
        return original(self, restapi_id, authorizer_id)

    @_wrap(m.APIGatewayBackend, "update_stage")
    def update_stage(original, self, function_id, stage_name, patch_operations):
        # A stage writes access logs through the account's CloudWatch role, and AWS refuses
        # the setting while the account names none
        # (https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html).
        logs_to = [op for op in patch_operations or []
                   if op.get("op") == "replace" and op.get("path") == "/accessLogSettings/destinationArn"]
        if settings.on("fidelity") and logs_to and not self.account.cloudwatch_role_arn:
            raise BadRequestException("CloudWatch Logs role ARN must be set in account settings to enable logging")
        return original(self, function_id, stage_name, patch_operations)

    @_wrap(m.APIGatewayBackend, "update_account")
    def update_account(original, self, patch_operations):
        # API Gateway assumes the role to check it: one IAM has not shown it yet (seconds after
        # CreateRole), or one that does not exist, is refused (terraform-provider-aws retries
        # aws_api_gateway_account for this reason, hashicorp/terraform-provider-aws#1213).
        for op in patch_operations or []:
            if settings.on("provisioning") and op.get("path") == "/cloudwatchRoleArn" and op.get("value"):
                if _role_not_assumable(self.account_id, self.region_name, op["value"]):
                    raise BadRequestException(
                        "The role ARN does not have required permissions set to API Gateway")
        return original(self, patch_operations)

    original_api_dict = m.RestAPI.to_dict

    def api_dict(self):
        out = original_api_dict(self)
        if settings.on("fidelity"):
            tls = self.__dict__.get("_tb_tls") or {"securityPolicy": "TLS_1_0"}
            out.update({k: v for k, v in tls.items() if v})
        return out

    m.RestAPI.to_dict = api_dict

    @_wrap(m.RestAPI, "create_deployment")
    def create_deployment(original, self, *args, **kwargs):
        # A stage serves a snapshot of the API taken when its deployment was made: "After
        # creating your API, you must deploy it ... every time you update an API, you must
        # redeploy it" (https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-deployments.html).
        # The data plane answers from this snapshot, so an integration changed without a new
        # deployment changes no traffic, as on AWS.
        from . import dataplane

        deployment = original(self, *args, **kwargs)
        deployment.__dict__["_tb_routes"] = dataplane.routes_of(self)
        return deployment

    @_wrap(m.RestAPI, "delete_deployment")
    def delete_deployment(original, self, deployment_id):
        # moto only refuses while the stage the deployment was made with serves it; AWS refuses
        # while any stage does: "Deleting a deployment will only succeed if there are no Stage
        # resources associated with it"
        # (https://docs.aws.amazon.com/apigateway/latest/api/API_DeleteDeployment.html).
        if settings.on("ordering") and any(
            stage.deployment_id == deployment_id for stage in self.stages.values()
        ):
            from moto.apigateway.exceptions import StageStillActive

            raise StageStillActive()
        return original(self, deployment_id)

    @_wrap(m.APIGatewayBackend, "put_method")
    def put_method(original, self, function_id, resource_id, method_type, *args, **kwargs):
        if settings.on("fidelity"):
            resource = self.get_resource(function_id, resource_id)
            if method_type in resource.resource_methods:
                # moto overwrites the method; AWS refuses to make it twice.
                raise ConflictException("Method already exists for this resource")
        return original(self, function_id, resource_id, method_type, *args, **kwargs)

    # UpdateMethod, which moto lacks: the patches a method's authorization takes
    # (https://docs.aws.amazon.com/apigateway/latest/api/API_UpdateMethod.html).
    def update_method(self):
        parts = self.path.split("/")
        method = self.backend.get_method(parts[2], parts[4], parts[6])
        for op in self._get_param("patchOperations") or []:
            if op.get("op") != "replace":
                continue
            if op.get("path") == "/authorizationType":
                method.authorization_type = op.get("value")
            elif op.get("path") == "/authorizerId":
                method.authorizer_id = op.get("value")
            elif op.get("path") == "/apiKeyRequired":
                method.api_key_required = str(op.get("value")).lower() == "true"
            else:
                raise BadRequestException(f"Invalid patch path {op.get('path')}")
        return 200, {}, json.dumps(method.to_json())

    r.APIGatewayResponse.update_method = update_method

    @_wrap(r.APIGatewayResponse, "put_integration")
    def put_integration(original, self):
        result = original(self)
        if settings.on("fidelity") or settings.on("ordering"):
            parts = self.path.split("/")
            integration = self.backend.get_integration(parts[2], parts[4], parts[6])
            integration._tb_connection_id = self._get_param("connectionId")
            # The load balancer a V2 link's integration sends to
            # (https://docs.aws.amazon.com/apigateway/latest/api/API_PutIntegration.html).
            integration._tb_integration_target = self._get_param("integrationTarget")
        return result

    original_integration_json = m.Integration.to_json

    def integration_json(self):
        out = original_integration_json(self)
        if settings.on("fidelity") and getattr(self, "_tb_connection_id", None):
            out["connectionId"] = self._tb_connection_id
            out["connectionType"] = self.connection_type
            if getattr(self, "_tb_integration_target", None):
                out["integrationTarget"] = self._tb_integration_target
        return out

    m.Integration.to_json = integration_json


# ---------------------------------------------------------------- API Gateway V2 (VPC links)
def purge_deleted_v2(backend):
    """Forgets V2 VPC links whose deletion has finished; their interfaces linger on."""
    for link_id, link in list(backend.vpc_links.items()):
        deleted = link.__dict__.get("_tb_deleted")
        if deleted is not None and CLOCK.aws_since(deleted) >= D["vpc_link_v2_deleting"]:
            backend.vpc_links.pop(link_id, None)


def v2_link_status(link):
    """A V2 link's status: PENDING while AWS makes its interfaces, then AVAILABLE; DELETING
    once deleted. moto makes every link AVAILABLE at once."""
    if "_tb_deleted" in link.__dict__:
        return "DELETING"
    if link.__dict__.get("_tb_broken"):
        return "FAILED"
    if not settings.on("provisioning") or "_tb_created" not in link.__dict__:
        return "AVAILABLE"
    since = CLOCK.aws_since(link.__dict__["_tb_created"])
    return "PENDING" if since < D["vpc_link_v2_available"] else "AVAILABLE"


def _patch_apigatewayv2():
    from moto.apigatewayv2 import models as m
    from moto.apigatewayv2.exceptions import BadRequestException

    original_json = m.VpcLink.to_json

    def link_json(self):
        out = original_json(self)
        out["vpcLinkStatus"] = v2_link_status(self)
        if out["vpcLinkStatus"] == "AVAILABLE":
            out["vpcLinkStatusMessage"] = "VPC link is ready to route traffic"
        elif out["vpcLinkStatus"] == "FAILED":
            out["vpcLinkStatusMessage"] = self.__dict__["_tb_broken"]
        return out

    m.VpcLink.to_json = link_json

    @_wrap(m.ApiGatewayV2Backend, "create_vpc_link")
    def create_vpc_link(original, self, name, sg_ids, subnet_ids, tags):
        if settings.on("ordering"):
            # The subnets and groups must exist, in one VPC: AWS makes the link's
            # interfaces there (https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/vpclinks.html).
            from moto.ec2.models import ec2_backends

            ec2 = ec2_backends[self.account_id][self.region_name]
            vpcs = set()
            for subnet_id in subnet_ids or []:
                try:
                    vpcs.add(ec2.get_subnet(subnet_id).vpc_id)
                except Exception:
                    raise BadRequestException(f"Subnet {subnet_id} does not exist")
            for group_id in sg_ids or []:
                group = ec2.get_security_group_from_id(group_id)
                if group is None:
                    raise BadRequestException(f"Security group {group_id} does not exist")
                vpcs.add(group.vpc_id)
            if len(vpcs) > 1:
                raise BadRequestException("The subnets and security groups must be in one VPC")
        link = original(self, name, sg_ids, subnet_ids, tags)
        if settings.on("provisioning"):
            link.__dict__["_tb_created"] = CLOCK.now()
        if settings.on("ordering"):
            world.hold(f"VPC link {link.id}", subnet_ids, sg_ids)
        return link

    @_wrap(m.ApiGatewayV2Backend, "delete_vpc_link")
    def delete_vpc_link(original, self, vpc_link_id):
        if settings.on("ordering"):
            # As a V1 link, one a method's integration names cannot be deleted.
            refuse_link_in_use(self.account_id, self.region_name, vpc_link_id, BadRequestException)
        link = self.vpc_links.get(vpc_link_id)
        if link is None:
            raise m.VpcLinkNotFound(vpc_link_id)
        world.release(f"VPC link {vpc_link_id}",
                      D["vpc_link_v2_deleting"] if settings.on("provisioning") else 0.0)
        if settings.on("provisioning"):
            link.__dict__.setdefault("_tb_deleted", CLOCK.now())
            link.__dict__.setdefault("_tb_created", CLOCK.now())
            return None
        return original(self, vpc_link_id)

    _purge_before_reads(m.ApiGatewayV2Backend, purge_deleted_v2)


def refuse_link_in_use(account, region, vpc_link_id, error):
    """Raises `error` when a REST API method's integration names the VPC link: AWS will not
    delete it ("Cannot delete vpc link ... is referenced in [...]")."""
    from moto.apigateway.models import apigateway_backends

    for api in apigateway_backends[account][region].apis.values():
        for resource in api.resources.values():
            for method_name, method in resource.resource_methods.items():
                integration = getattr(method, "method_integration", None)
                if integration is not None and getattr(integration, "_tb_connection_id", None) == vpc_link_id:
                    raise error(
                        f"Cannot delete vpc link. Vpc link '{vpc_link_id}', is referenced in "
                        f"[{method_name}:{resource.id}:{api.id}] in format [Method:Resource:Api]."
                    )


# ---------------------------------------------------------------- EC2
def _patch_zones():
    # "AWS maps the physical Availability Zones randomly to the Availability Zone names for
    # each AWS account", so a zone's id, not its name, is the same place in every account
    # (https://docs.aws.amazon.com/ram/latest/userguide/working-with-az-ids.html). moto has one
    # fixed map; `zone_ids` gives this account its own.
    from moto.ec2.models import availability_zones_and_regions as m

    def get_zone_id(self):
        own = settings.current().get("zone_ids", {}).get(self.name)
        return own or self.__dict__.get("_tb_zone_id") or self.__dict__.get("zone_id")

    def set_zone_id(self, value):
        self.__dict__["_tb_zone_id"] = value

    m.Zone.zone_id = property(get_zone_id, set_zone_id)


def _patch_ec2():
    from moto.ec2.exceptions import DependencyViolationError, EC2ClientError
    from moto.ec2.models import EC2Backend
    from moto.ec2.models.vpcs import VPCEndPoint

    from moto.ec2.models.security_groups import SecurityGroupRule

    @_wrap(SecurityGroupRule, "__eq__")
    def rule_eq(original, self, other):
        # AWS finds a rule to revoke by protocol, ports and peer; moto also compares the
        # description of a rule naming a group, so a revoke without it found nothing
        # (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_RevokeSecurityGroupEgress.html).
        if not settings.on("fidelity") or not (self.source_group or other.source_group):
            return original(self, other)
        def peer(r):
            return (r.source_group or {}).get("GroupId")

        return (peer(self) == peer(other) and self.ip_protocol == other.ip_protocol
                and (self.ip_protocol == "-1" or (self.from_port, self.to_port) == (other.from_port, other.to_port)))

    @_wrap(EC2Backend, "describe_vpc_endpoint_services")
    def describe_vpc_endpoint_services(original, self, *args, **kwargs):
        # Some interface endpoint services are offered only in some zones of a region, and
        # DescribeVpcEndpointServices lists where (AvailabilityZones; "Availability Zones" in
        # the AWS PrivateLink guide, "Access AWS services through AWS PrivateLink").
        found = original(self, *args, **kwargs)
        missing = settings.current().get("endpoint_zones_missing", {})

        def offered(detail):
            # `com.amazonaws.<region>.ecr.api` -> `ecr.api`; moto caches its dicts: copy.
            gone = missing.get(detail["ServiceName"].split(".", 3)[-1], [])
            zones = [z for z in detail.get("AvailabilityZones", []) if z not in gone]
            return dict(detail, AvailabilityZones=zones) if gone else detail

        return dict(found, servicesDetails=[offered(d) for d in found["servicesDetails"]])

    def get_state(self):
        raw = self.__dict__.get("_tb_state", "available")
        if not settings.on("provisioning"):
            return raw
        if raw == "available":
            created = self.__dict__.setdefault("_tb_created", CLOCK.now())
            return "available" if CLOCK.aws_since(created) >= D["endpoint_available"] else "pending"
        if raw == "deleted":
            deleted = self.__dict__.setdefault("_tb_deleted", CLOCK.now())
            return "deleted" if CLOCK.aws_since(deleted) >= D["endpoint_deleting"] else "deleting"
        return raw

    def set_state(self, value):
        self.__dict__.setdefault("_tb_created", CLOCK.now())
        if value == "deleted" and self.__dict__.get("_tb_state") != "deleted":
            self.__dict__["_tb_deleted"] = CLOCK.now()
            if settings.on("ordering") and str(self.vpc_endpoint_type).lower() == "interface":
                world.linger(
                    f"VPC endpoint {self.id}",
                    self.subnet_ids,
                    self.security_group_ids,
                    after_aws_seconds=D["endpoint_deleting"],
                )
        self.__dict__["_tb_state"] = value

    VPCEndPoint.state = property(get_state, set_state)

    tokens: dict = {}

    @_wrap(EC2Backend, "create_vpc_endpoint")
    def create_vpc_endpoint(original, self, *args, **kwargs):
        a = _bind(original, self, *args, **kwargs)
        key = (self.account_id, self.region_name, a.get("client_token"))
        known = tokens.get(key)
        # A token only stands for an endpoint the backend still holds (moto resets forget it).
        if settings.on("fidelity") and a.get("client_token") and known is not None \
                and self.vpc_end_points.get(known.id) is known:
            return known
        if settings.on("fidelity") and a.get("private_dns_enabled") \
                and str(a.get("endpoint_type")).lower() == "interface":
            # One private DNS name per service and VPC, until the endpoint holding it is gone.
            for ep in self.vpc_end_points.values():
                if ep.vpc_id == a["vpc_id"] and ep.service_name == a["service_name"] \
                        and ep.private_dns_enabled and ep.state != "deleted":
                    raise EC2ClientError(
                        "InvalidParameter",
                        f"private-dns-enabled cannot be set because there is already a conflicting DNS "
                        f"domain for {a['service_name'].split('.', 3)[-1]}.{self.region_name}.amazonaws.com "
                        f"in the VPC {a['vpc_id']}"
                    )
        endpoint = original(self, *args, **kwargs)
        if a.get("client_token"):
            tokens[key] = endpoint
        return endpoint

    def users_of(backend, subnet_id=None, group_id=None):
        users = list(world.lingering_in(subnet_id=subnet_id, group_id=group_id))
        for ep in backend.vpc_end_points.values():
            if ep.state in ("deleted",) or str(ep.vpc_endpoint_type).lower() != "interface":
                continue
            if (subnet_id and subnet_id in ep.subnet_ids) or (group_id and group_id in ep.security_group_ids):
                users.append(f"VPC endpoint {ep.id}")
        if group_id:
            # A group another group's rule names cannot be deleted until that rule goes
            # (https://docs.aws.amazon.com/vpc/latest/userguide/deleting-security-groups.html).
            for groups in list(backend.groups.values()):
                for other in list(groups.values()):
                    if other.id != group_id and any(
                            (r.source_group or {}).get("GroupId") == group_id
                            for r in other.ingress_rules + other.egress_rules):
                        users.append(f"a rule of security group {other.id}")
        for nat in list(backend.nat_gateways.values()):
            # A NAT gateway's network interface is in its subnet until it is deleted, then
            # lingers (NAT gateways' set_state); a failed one has none.
            if subnet_id and nat.subnet_id == subnet_id and nat.state not in ("deleted", "failed"):
                users.append(f"NAT gateway {nat.id}")
        from moto.ecs.models import ecs_backends
        from moto.elbv2.models import elbv2_backends

        for svc in ecs_backends[backend.account_id][backend.region_name].services.values():
            if svc.status not in ("ACTIVE", "DRAINING"):
                continue
            vpc = (svc.network_configuration or {}).get("awsvpcConfiguration", {})
            if subnet_id in (vpc.get("subnets") or []) or group_id in (vpc.get("securityGroups") or []):
                users.append(f"ECS service {svc.name}")
        ecs = ecs_backends[backend.account_id][backend.region_name]
        from . import dataplane

        if "settle_all" in dataplane.ECS:
            dataplane.ECS["settle_all"](ecs)  # the scheduler may have stopped some by now
        for task in list(ecs.__dict__.get("_tb_tasks", {}).values()):
            # A task's interface stays in the subnet and groups it was started with until it
            # stops (then it lingers: ServiceTask.stop), whatever its service says now.
            if task.live and ((subnet_id and subnet_id in (task.subnets or []))
                              or (group_id and group_id in (task.groups or []))):
                users.append(f"ECS task {task.id} of service {task.service.name}")
        for lb in elbv2_backends[backend.account_id][backend.region_name].load_balancers.values():
            # An ALB's network interfaces are in its subnets and its security groups.
            if (subnet_id and subnet_id in [s.id for s in lb.subnets]) \
                    or (group_id and group_id in (lb.security_groups or [])):
                users.append(f"load balancer {lb.name}")
        return users

    @_wrap(EC2Backend, "delete_security_group")
    def delete_security_group(original, self, name=None, group_id=None):
        if settings.on("ordering") and group_id:
            users = users_of(self, group_id=group_id)
            if users:
                raise DependencyViolationError(
                    f"resource {group_id} has a dependent object ({users[0]})"
                )
        return original(self, name=name, group_id=group_id)

    @_wrap(EC2Backend, "delete_subnet")
    def delete_subnet(original, self, subnet_id):
        if settings.on("ordering"):
            users = users_of(self, subnet_id=subnet_id)
            if users:
                raise DependencyViolationError(
                    f"The subnet '{subnet_id}' has dependencies and cannot be deleted ({users[0]})."
                )
        return original(self, subnet_id)


# ---------------------------------------------------------------- EC2: NAT and internet gateways, elastic IPs
# A NAT gateway's lifecycle is kept in its __dict__: `_tb_created`, `_tb_deleted` (when
# DeleteNatGateway was called), `_tb_failure` ((FailureCode, FailureMessage) decided at creation).
# Its elastic IP counts as used while it is neither `deleted` nor `failed`.
def _nat_holds(nat) -> bool:
    return nat.state not in ("deleted", "failed")


def _settle_nat_gateways(backend) -> None:
    """Deleting a public NAT gateway disassociates its elastic IP but does not release it
    (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteNatGateway.html); moto
    keeps it associated, so it could never serve another NAT gateway. Done once the NAT gateway
    is `deleted` (or `failed`)."""
    for nat in list(backend.nat_gateways.values()):
        if _nat_holds(nat):
            continue
        for address in list(backend.addresses):
            if address.eni is not None and address.eni is getattr(nat, "_eni", None):
                backend.disassociate_address(address=address.public_ip)


def _mapped_addresses(backend, vpc_id) -> list:
    """Public addresses in the VPC: elastic IPs associated with a network interface (a NAT
    gateway's), an internet-facing load balancer's nodes while it exists and its interfaces
    linger, and the public IPs of tasks until they are STOPPED (their interfaces go in
    DEPROVISIONING)."""
    from moto.ecs.models import ecs_backends
    from moto.elbv2.models import elbv2_backends

    from .dataplane import ECS

    mapped = [
        address.public_ip for address in backend.addresses
        if address.eni is not None and getattr(getattr(address.eni, "subnet", None), "vpc_id", None) == vpc_id
    ]
    subnets = {s.id for zone in backend.subnets.values() for s in zone.values() if s.vpc_id == vpc_id}
    elb = elbv2_backends[backend.account_id][backend.region_name]
    mapped += [f"load balancer {lb.name}" for lb in elb.load_balancers.values()
               if lb.scheme == "internet-facing" and lb.vpc_id == vpc_id]
    mapped += [owner for subnet in subnets for owner in world.lingering_in(subnet_id=subnet)
               if owner.startswith("internet-facing ")]
    if "all_tasks" in ECS:
        now = CLOCK.now()
        mapped += [f"task {t.id}" for t in ECS["all_tasks"](ecs_backends[backend.account_id][backend.region_name])
                   if getattr(t, "public_ip", False) and set(t.subnets or []) & subnets
                   and t.status(now) != "STOPPED"]
    return sorted(set(mapped))


def _refuse_without_internet_gateway(elb, subnet_ids):
    """ELB refuses an internet-facing load balancer in a VPC no internet gateway is attached
    to: "InvalidSubnet: VPC vpc-... has no internet gateway" (CreateLoadBalancer's errors,
    https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html;
    seen by openshift/installer#1110 when the gateway was attached too late)."""
    from moto.ec2.models import ec2_backends
    from moto.elbv2.exceptions import ELBClientError

    ec2 = ec2_backends[elb.account_id][elb.region_name]
    subnet = _subnet_or_none(ec2, subnet_ids[0]) if subnet_ids else None
    if subnet is None:
        return
    attached = any(igw.vpc is not None and igw.vpc.id == subnet.vpc_id
                   for igw in ec2.internet_gateways.values())
    if not attached:
        raise ELBClientError("InvalidSubnet", f"VPC {subnet.vpc_id} has no internet gateway")


def _subnet_or_none(backend, subnet_id):
    try:
        return backend.get_subnet(subnet_id)
    except Exception:  # noqa: BLE001 (moto's InvalidSubnetID.NotFound)
        return None


def _route_table_of(backend, subnet):
    """The subnet's route table: its explicit association, else its VPC's main table
    (https://docs.aws.amazon.com/vpc/latest/userguide/subnet-route-tables.html)."""
    tables = list(backend.route_tables.values())
    for table in tables:
        if subnet.id in table._associations.values():
            return table
    return next((t for t in tables if t.vpc_id == subnet.vpc_id and t.main_association_id), None)


def _default_route(table):
    return next((r for r in table.routes if r.destination_cidr_block == "0.0.0.0/0"), None) if table else None


def no_way_to_the_registry(service):
    """Why the service's tasks cannot reach their image registry, or None: tasks in private
    subnets pull through an ECR interface endpoint in their VPC, or through the internet
    (internet_path), or not at all ("ResourceInitializationError ... i/o timeout",
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/resource-initialization-error.html)."""
    from moto.ec2.models import ec2_backends

    ec2 = ec2_backends[service._account_id][service.region_name]
    net = (service.network_configuration or {}).get("awsvpcConfiguration", {})
    subnets = list(net.get("subnets") or [])
    subnet = _subnet_or_none(ec2, subnets[0]) if subnets else None
    if subnet is None:
        return None
    if any(ep.vpc_id == subnet.vpc_id and ep.state == "available"
           and ep.service_name == f"com.amazonaws.{service.region_name}.ecr.dkr"
           for ep in ec2.vpc_end_points.values()):
        return None
    public_ip = (net.get("assignPublicIp") or "DISABLED") == "ENABLED"
    reason = internet_path(ec2, subnets, list(net.get("securityGroups") or []), public_ip)
    return f"no ECR endpoint in {subnet.vpc_id} and no way to the internet ({reason})" if reason else None


def internet_path(ec2_backend, subnet_ids, group_ids, public_ip=False):
    """None if tasks in `subnet_ids` with `group_ids` can reach the internet on TCP 443, else
    why not, in a few words. The path of a private subnet: its route table sends 0.0.0.0/0 to a
    NAT gateway that is `available`, whose own subnet's table sends 0.0.0.0/0 to an internet
    gateway attached to the VPC (https://docs.aws.amazon.com/vpc/latest/userguide/nat-gateway-scenarios.html);
    and one of the groups lets 443 out to 0.0.0.0/0
    (https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html). The path of
    a public subnet: its table sends 0.0.0.0/0 to an internet gateway attached to the VPC, and
    the tasks have public addresses (`public_ip`); without one a task there cannot pull its
    image ("Fargate task networking", ECS developer guide:
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-task-networking.html)."""
    if not subnet_ids:
        return "no subnets"
    for subnet_id in subnet_ids:
        subnet = _subnet_or_none(ec2_backend, subnet_id)
        if subnet is None:
            return f"subnet {subnet_id} does not exist"
        table = _route_table_of(ec2_backend, subnet)
        route = _default_route(table)
        igw = getattr(route, "gateway", None)
        if igw is not None and str(getattr(igw, "id", "")).startswith("igw-"):
            if igw.vpc is None or igw.vpc.id != subnet.vpc_id:
                return f"internet gateway {igw.id} is not attached to {subnet.vpc_id}"
            if not public_ip:
                return (f"subnet {subnet_id} is public, and the tasks have no public IP address "
                        "(assignPublicIp is DISABLED)")
            continue
        nat = getattr(route, "nat_gateway", None)
        if nat is None:
            return f"subnet {subnet_id}'s route table has no 0.0.0.0/0 route to a NAT gateway"
        state = nat.state if ec2_backend.nat_gateways.get(nat.id) is nat else "deleted"
        if state != "available":
            return f"NAT gateway {nat.id} of subnet {subnet_id} is {state}"
        nat_subnet = _subnet_or_none(ec2_backend, nat.subnet_id)
        igw = getattr(_default_route(nat_subnet and _route_table_of(ec2_backend, nat_subnet)), "gateway", None)
        if igw is None or not str(getattr(igw, "id", "")).startswith("igw-"):
            return f"NAT gateway {nat.id}'s subnet {nat.subnet_id} has no 0.0.0.0/0 route to an internet gateway"
        if igw.vpc is None or igw.vpc.id != subnet.vpc_id:
            return f"internet gateway {igw.id} is not attached to {subnet.vpc_id}"
    groups = [g for g in (ec2_backend.get_security_group_from_id(i) for i in group_ids or []) if g is not None]
    if not any(_allows(rule, 443, [], ["0.0.0.0/0"]) for g in groups for rule in g.egress_rules):
        return f"no security group of {sorted(group_ids or [])} lets TCP 443 out to 0.0.0.0/0"
    return None


def _patch_gateways():
    from moto.core.utils import iso_8601_datetime_with_milliseconds
    from moto.ec2.exceptions import DependencyViolationError, EC2ClientError
    from moto.ec2.models import EC2Backend
    from moto.ec2.models.internet_gateways import InternetGateway
    from moto.ec2.models.nat_gateways import NatGateway
    from moto.ec2.models.route_tables import Route

    def get_state(self):
        """pending, then available after `nat_gateway_available` or failed after
        `nat_gateway_failed`; deleting, then deleted after `nat_gateway_deleting` (the states:
        https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_NatGateway.html). moto: at
        once available, at once deleted."""
        d = self.__dict__
        raw = d.get("_tb_state", "available")
        timed = settings.on("provisioning")
        if raw == "available":
            created = d.setdefault("_tb_created", CLOCK.now())
            after = D["nat_gateway_failed"] if d.get("_tb_failure") else D["nat_gateway_available"]
            if timed and CLOCK.aws_since(created) < after:
                return "pending"
            return "failed" if d.get("_tb_failure") else "available"
        if raw == "deleted":
            deleted = d.setdefault("_tb_deleted", CLOCK.now())
            return "deleting" if timed and CLOCK.aws_since(deleted) < D["nat_gateway_deleting"] else "deleted"
        return raw

    def set_state(self, value):
        d = self.__dict__
        if value == "deleted" and "_tb_state" in d and d["_tb_state"] != "deleted":
            was = self.state
            d["_tb_deleted"] = CLOCK.now()
            if settings.on("ordering") and was != "failed":
                # Its network interface goes with it, then lingers like any other.
                world.linger(f"NAT gateway {self.id}", [self.subnet_id], [],
                             after_aws_seconds=D["nat_gateway_deleting"] if settings.on("provisioning") else 0.0)
        d.setdefault("_tb_created", CLOCK.now())
        d["_tb_state"] = value

    NatGateway.state = property(get_state, set_state)
    NatGateway.failure_code = property(
        lambda self: self.__dict__["_tb_failure"][0] if self.state == "failed" else None)
    NatGateway.failure_message = property(
        lambda self: self.__dict__["_tb_failure"][1] if self.state == "failed" else None)
    NatGateway.delete_time = property(
        lambda self: iso_8601_datetime_with_milliseconds(CLOCK.utc(self.__dict__["_tb_deleted"]))
        if "_tb_deleted" in self.__dict__ else None)

    def find_nat(backend, nat_gateway_id):
        nat = backend.nat_gateways.get(nat_gateway_id)
        if nat is None:
            raise EC2ClientError("NatGatewayNotFound", f"The Nat Gateway {nat_gateway_id} was not found")
        return nat

    @_wrap(EC2Backend, "create_nat_gateway")
    def create_nat_gateway(original, self, *args, **kwargs):
        """Needs a subnet and, for a public one, an elastic IP that exists and is associated
        with nothing else; moto checks both, but only after making the NAT gateway's network
        interface, which it then leaves behind. A public NAT gateway in a VPC without an
        attached internet gateway ends `failed`, Gateway.NotAttached
        (https://docs.aws.amazon.com/vpc/latest/userguide/nat-gateway-troubleshooting.html,
        words from https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_NatGateway.html)."""
        a = _bind(original, self, *args, **kwargs)
        public = (a.get("connectivity_type") or "public") != "private"
        if settings.on("ordering"):
            _settle_nat_gateways(self)
            self.get_subnet(a["subnet_id"])  # InvalidSubnetID.NotFound
            allocation = a.get("allocation_id")
            if public and allocation:
                eip = next((e for e in self.addresses if e.allocation_id == allocation), None)
                if eip is None:
                    raise EC2ClientError("InvalidAllocationID.NotFound",
                                         f"Elastic IP address {allocation} could not be associated with this NAT gateway")
                if eip.eni is not None or eip.instance is not None:
                    raise EC2ClientError("Resource.AlreadyAssociated",
                                         f"Elastic IP address {allocation} is already associated")
        nat = original(self, *args, **kwargs)
        if settings.on("ordering") and public and not any(
                igw.vpc is not None and igw.vpc.id == nat.vpc_id for igw in self.internet_gateways.values()):
            nat.__dict__["_tb_failure"] = ("Gateway.NotAttached", f"Network {nat.vpc_id} has no Internet gateway attached")
        return nat

    @_wrap(EC2Backend, "delete_nat_gateway")
    def delete_nat_gateway(original, self, nat_gateway_id):
        # moto fails with an internal error on an id it does not know.
        if settings.on("fidelity"):
            find_nat(self, nat_gateway_id)
        return original(self, nat_gateway_id)

    @_wrap(EC2Backend, "describe_nat_gateways")
    def describe_nat_gateways(original, self, filters, nat_gateway_ids):
        """A deleted NAT gateway stays visible, `deleted`, for `nat_gateway_visible`, then is
        gone (https://docs.aws.amazon.com/vpc/latest/userguide/nat-gateway-working-with.html).
        moto ignores tag filters and answers nothing for an unknown id, where AWS says
        NatGatewayNotFound."""
        if settings.on("ordering"):
            _settle_nat_gateways(self)
        if settings.on("provisioning"):
            for nat in list(self.nat_gateways.values()):
                deleted = nat.__dict__.get("_tb_deleted")
                if deleted is not None and CLOCK.aws_since(deleted) >= D["nat_gateway_deleting"] + D["nat_gateway_visible"]:
                    self.nat_gateways.pop(nat.id, None)
        if settings.on("fidelity"):
            for nat_gateway_id in nat_gateway_ids or []:
                find_nat(self, nat_gateway_id)
        found = original(self, filters, nat_gateway_ids)
        if settings.on("fidelity"):
            for name, values in (filters or {}).items():
                if name.startswith("tag:"):
                    found = [n for n in found if n.get_filter_value(name) in values]
                elif name == "tag-key":
                    found = [n for n in found if set(n.get_filter_value(name)) & set(values)]
        return found

    @_wrap(EC2Backend, "release_address")
    def release_address(original, self, address=None, allocation_id=None):
        """An address in use cannot be released: InvalidIPAddress.InUse ("You must disassociate
        the Elastic IP address before you can release it",
        https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ReleaseAddress.html); a NAT
        gateway's is disassociated only by deleting it (API_DeleteNatGateway). moto releases it."""
        if settings.on("ordering"):
            _settle_nat_gateways(self)
            for nat in list(self.nat_gateways.values()):
                if not _nat_holds(nat):
                    continue
                for held in nat.address_set:
                    if (allocation_id and held.get("allocationId") == allocation_id) \
                            or (address and held.get("publicIp") == address):
                        raise EC2ClientError("InvalidIPAddress.InUse", f"Address {held.get('publicIp')} is in use.")
        return original(self, address=address, allocation_id=allocation_id)

    for name in ("associate_address", "describe_addresses"):

        @_wrap(EC2Backend, name)
        def settled(original, self, *args, **kwargs):
            if settings.on("ordering"):
                _settle_nat_gateways(self)
            return original(self, *args, **kwargs)

    @_wrap(EC2Backend, "detach_internet_gateway")
    def detach_internet_gateway(original, self, internet_gateway_id, vpc_id):
        """Refused while an elastic IP is associated in the VPC, a NAT gateway's until it is
        `deleted` (hashicorp/terraform#1303, hashicorp/terraform#497: "has some mapped public
        address(es)")."""
        if settings.on("ordering"):
            _settle_nat_gateways(self)
            igw = self.internet_gateways.get(internet_gateway_id)
            if igw is not None and igw.vpc is not None and igw.vpc.id == vpc_id and _mapped_addresses(self, vpc_id):
                raise DependencyViolationError(
                    f"Network {vpc_id} has some mapped public address(es). Please unmap those public "
                    f"address(es) before detaching the gateway."
                )
        return original(self, internet_gateway_id, vpc_id)

    @_wrap(EC2Backend, "delete_vpc")
    def delete_vpc(original, self, vpc_id):
        """Refused while an internet gateway is attached ("You must detach or delete all gateways
        ... before you can delete it", https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteVpc.html);
        moto leaves it as a TODO."""
        if settings.on("ordering") and any(
                igw.vpc is not None and igw.vpc.id == vpc_id for igw in self.internet_gateways.values()):
            raise DependencyViolationError(f"The vpc '{vpc_id}' has dependencies and cannot be deleted.")
        return original(self, vpc_id)

    def route_state(self):
        """blackhole while the route's NAT gateway is not `available`, or its internet gateway
        is not attached to the table's VPC ("the route's target isn't available (for example,
        the specified gateway isn't attached to the VPC ...)",
        https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_Route.html); moto: always active."""
        if settings.on("ordering"):
            nat = self.nat_gateway
            if nat is not None and nat.state != "available":
                return "blackhole"
            gateway = self.gateway
            if isinstance(gateway, InternetGateway) and (gateway.vpc is None or gateway.vpc.id != self.route_table.vpc_id):
                return "blackhole"
        return "active"

    Route.state = property(route_state)


# ---------------------------------------------------------------- IAM
def _patch_iam():
    from moto.iam.models import IAMBackend

    from moto.iam import models as iam_models
    from moto.iam.exceptions import InvalidInput

    @_wrap(IAMBackend, "create_role")
    def create_role(original, self, *args, **kwargs):
        role = original(self, *args, **kwargs)
        role.__dict__["_tb_created"] = CLOCK.now()
        return role

    # AWS's names for the two service-linked roles the stack needs (moto says "Ecs").
    iam_models.SERVICE_NAME_CONVERSION.setdefault("ecs", "ECS")
    iam_models.SERVICE_NAME_CONVERSION.setdefault("elasticloadbalancing", "ElasticLoadBalancing")

    @_wrap(IAMBackend, "create_service_linked_role")
    def create_service_linked_role(original, self, service_name, description, suffix):
        # AWS refuses a second one with InvalidInput "has been taken"
        # (https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateServiceLinkedRole.html,
        # aws/copilot-cli#1171); moto says EntityAlreadyExists.
        if settings.on("fidelity") and service_linked_role(self, service_name) is not None and not suffix:
            name = service_linked_role(self, service_name).name
            raise InvalidInput(f"Service role name {name} has been taken in this account, please try a different suffix.")
        return original(self, service_name, description, suffix)


def service_linked_role(iam, service_name):
    """The account's service-linked role for a service (`ecs.amazonaws.com`), or None."""
    for role in iam.roles.values():
        if role.path == f"/aws-service-role/{service_name}/":
            return role
    return None


def _service_linked_role_refusal(account_id, region, service_name):
    """Why a new account's service cannot act yet, or None (switch `new_account`).

    ECS makes its service-linked role at the first CreateCluster or CreateService when the
    caller may, and until IAM has propagated it refuses with "Unable to assume the service
    linked role" (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using-service-linked-roles.html;
    aws/copilot-cli#1171, hashicorp/terraform-provider-aws#4779, aws/aws-cdk#10220; terraform
    retries it in internal/service/ecs/cluster.go). Elastic Load Balancing makes its own at the
    first CreateLoadBalancer (https://docs.aws.amazon.com/elasticloadbalancing/latest/userguide/elb-service-linked-roles.html).
    """
    if not settings.on("new_account"):
        return None
    from moto.iam.models import iam_backends
    from moto.utilities.utils import get_partition

    iam = iam_backends[account_id][get_partition(region)]
    role = service_linked_role(iam, service_name)
    if role is None:
        role = iam.create_service_linked_role(service_name, "", "")
    if CLOCK.aws_since(role.__dict__.get("_tb_created", 0.0)) < D["slr_usable"]:
        return "Unable to assume the service linked role. Please verify that the ECS service linked role exists."
    return None


def _role_not_assumable(account_id, region, role_arn):
    """Whether a service cannot assume the role yet: it does not exist, or IAM has not shown
    it to other services (`iam_role_usable` after CreateRole)."""
    from moto.iam.models import iam_backends
    from moto.utilities.utils import get_partition

    try:
        iam_backends[account_id][get_partition(region)].get_role_by_arn(role_arn)
    except Exception:  # noqa: BLE001 (moto's NotFound)
        return True
    return _role_usable_at(account_id, region, role_arn) is not None


def _role_usable_at(account_id, region, role_arn):
    """When ECS can first assume this role (a `CLOCK.now()` value), or None when it can now or
    the role is not moto's to know: IAM changes take seconds to reach ECS."""
    from moto.iam.models import iam_backends
    from moto.utilities.utils import get_partition

    try:
        role = iam_backends[account_id][get_partition(region)].get_role_by_arn(role_arn)
    except Exception:  # noqa: BLE001 (moto's NotFound: a missing role is moto's business)
        return None
    created = role.__dict__.get("_tb_created")
    if created is None or CLOCK.aws_since(created) >= D["iam_role_usable"]:
        return None
    return created + CLOCK.wall(D["iam_role_usable"])


# ---------------------------------------------------------------- ECS
#
# A service's rollout is kept in its __dict__: `_tb_rollout` (when the current deployment
# started), `_tb_revision` (what its tasks are started with: _service_revision), `_tb_forced`
# (the last forced deployment), `_tb_fails` (its image never starts), `_tb_good`,
# `_tb_good_wiring` and `_tb_good_revision` (the task definition, load balancers, network
# configuration and revision of the last deployment that completed), `_tb_failed` (the
# deployment the circuit breaker stopped, shown beside the rollback until that completes).
# `settle` moves it on with the clock.
#
# moto starts no task for a service: the bed's ServiceTasks stand in for them, kept by the
# backend (`_tb_tasks`, by ARN) after their service is gone.
_addresses = iter(range(10, 1 << 20))


def _task_address(service, subnets):
    """A private address and zone for a task's interface: ECS spreads a service's tasks over
    its subnets, one after the other (target groups of Fargate tasks list them by address)."""
    import ipaddress

    from moto.ec2.models import ec2_backends

    offset = next(_addresses)
    try:
        subnet = ec2_backends[service._account_id][service.region_name].get_subnet(
            subnets[offset % len(subnets)])
        network = ipaddress.ip_network(subnet.cidr_block)
        return str(network.network_address + 4 + offset % (network.num_addresses - 5)), subnet.availability_zone
    except Exception:  # noqa: BLE001 (no subnet known: any private address will do)
        return f"10.255.{offset // 250 % 250}.{offset % 250 + 1}", None


def _target_groups(service):
    """The target group ARNs of a service's current load balancers."""
    return [b.get("targetGroupArn") for b in service.load_balancers or []]


def _service_revision(service):
    """What a task of the service's current service revision is started with: its task
    definition, load balancers and network configuration, and the last forced deployment.
    A change of any starts new tasks and stops the old ones once the new ones run
    ("Amazon ECS service revisions"; API_UpdateService: "When you add, update, or remove a
    load balancer configuration, Amazon ECS starts new tasks with the updated Elastic Load
    Balancing configuration, and then stops the old tasks when the new tasks are running")."""
    return (
        service.task_definition,
        json.dumps(service.load_balancers or [], sort_keys=True),
        json.dumps(service.network_configuration or {}, sort_keys=True),
        service.__dict__.get("_tb_forced"),
    )


class ServiceTask:
    """A task the service scheduler started, whose state follows the clock
    (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-lifecycle-explanation.html):
    PENDING until its rollout is steady (PROVISIONING, PENDING and ACTIVATING in one; a task
    of a failing image never runs), then RUNNING. Once stopped: DEACTIVATING while its target
    group deregisters it, STOPPING while its containers get SIGTERM and exit, DEPROVISIONING
    while its network interface is detached and deleted, then STOPPED.
    """

    def __init__(self, service, arn, at, containers):
        d = service.__dict__
        self.service = service
        self.task_arn = arn
        self.id = arn.rsplit("/", 1)[-1]
        self.cluster_name = service.cluster_name
        self.task_definition_arn = service.task_definition
        self.launch_type = service.launch_type or "FARGATE"
        # A service's tasks are started by its deployment (what ListTasks' startedBy matches).
        self.started_by = d["_tb_primary"]
        self.created = at
        self.rollout = d["_tb_rollout"]
        self.never_runs = d["_tb_fails"]
        self.containers = containers
        # What the task was started with: its service revision, so the scheduler tells old
        # tasks from new, and the target groups it was registered with, which stay its own
        # when the service's load balancers change.
        self.revision = d.get("_tb_revision")
        self.target_groups = _target_groups(service)
        vpc = (service.network_configuration or {}).get("awsvpcConfiguration", {})
        self.subnets, self.groups = vpc.get("subnets"), vpc.get("securityGroups")
        self.public_ip = vpc.get("assignPublicIp") == "ENABLED"
        self.ip, self.zone = _task_address(service, self.subnets)
        # (stop requested, deregistered, containers exited, stopped), as CLOCK.now() values.
        self.stop_times = None
        self.stopped_reason = self.stop_code = None
        # moto's TagResource and ListTagsForResource find tasks through list_tasks. A task gets
        # its service's or task definition's tags as the service's propagateTags says, and
        # only when it is made ("Tags can only be propagated to the task during task
        # creation", https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html).
        self.tags = []
        if service.propagate_tags == "SERVICE":
            self.tags = [dict(t) for t in service.tags or []]
        elif service.propagate_tags == "TASK_DEFINITION":
            definition = service._backend.describe_task_definition(service.task_definition)
            self.tags = [dict(t) for t in definition.tags or []]

    @property
    def live(self):
        return self.stop_times is None

    def ran_at(self):
        """When it started running (None: it never will)."""
        return None if self.never_runs else self.rollout + CLOCK.wall(D["service_steady"])

    def stop(self, at, reason, code, delay):
        """Stops it at `at` (now, or when the scheduler did); `delay` is its target group's
        deregistration delay in AWS seconds."""
        ran = self.ran_at()
        if ran is None or ran > at:
            # Never RUNNING, so never registered: ECS registers a task with its target group
            # while ACTIVATING, just before RUNNING (task lifecycle page).
            delay = 0
        deregistered = at + CLOCK.wall(delay)
        exited = deregistered + CLOCK.wall(D["task_stop"])
        stopped = exited + CLOCK.wall(D["eni_linger"])
        self.stop_times = (at, deregistered, exited, stopped)
        self.stopped_reason, self.stop_code = reason, code
        if settings.on("ordering"):
            # Its network interface stays in its subnets and security groups until it is
            # STOPPED (DEPROVISIONING detaches and deletes it: task lifecycle page).
            world.linger(f"ECS task {self.id} of service {self.service.name}", self.subnets, self.groups,
                         until=stopped)

    def status(self, now):
        if self.stop_times is None:
            ran = self.ran_at()
            return "RUNNING" if ran is not None and now >= ran else "PENDING"
        _, deregistered, exited, stopped = self.stop_times
        for end, state in ((deregistered, "DEACTIVATING"), (exited, "STOPPING"), (stopped, "DEPROVISIONING")):
            if now < end:
                return state
        return "STOPPED"

    def describe(self, now):
        """What DescribeTasks shows at `now` (one instant, so the fields agree). Timestamps
        appear once reached (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Task.html):
        stoppingAt when it left RUNNING, executionStoppedAt when its containers exited,
        stoppedAt when it was STOPPED."""
        requested, _, exited, stopped = self.stop_times or (None, None, None, None)
        ran = self.ran_at()
        if ran is not None and requested is not None and ran > requested:
            ran = None

        def reached(moment):
            return CLOCK.utc(moment) if moment is not None and moment <= now else None

        container = "STOPPED" if reached(exited) else "RUNNING" if reached(ran) else "PENDING"

        def pulled(image):
            # A container's imageDigest is there once the image was pulled, so once it ran
            # (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Container.html);
            # the digest of a digest-pinned reference is the one it names.
            digest = image.split("@", 1)[1] if "@" in image else None
            return {"imageDigest": digest} if digest and reached(ran) else {}

        return {
            "taskArn": self.task_arn,
            "clusterArn": self.service.cluster_arn,
            "taskDefinitionArn": self.task_definition_arn,
            "group": f"service:{self.service.name}",
            "startedBy": self.started_by,
            "launchType": self.launch_type,
            "lastStatus": self.status(now),
            "desiredStatus": "RUNNING" if requested is None else "STOPPED",
            "createdAt": CLOCK.utc(self.created),
            "startedAt": reached(ran),
            "stoppingAt": reached(requested),
            "executionStoppedAt": reached(exited),
            "stoppedAt": reached(stopped),
            "stoppedReason": self.stopped_reason,
            "stopCode": self.stop_code,
            "availabilityZone": self.zone,
            # Without a container health check ECS reports UNKNOWN (API_Task.html, healthStatus);
            # container health checks are not simulated, so every task says so.
            "healthStatus": "UNKNOWN",
            "containers": [
                {"name": name, "image": image, "taskArn": self.task_arn, "lastStatus": container,
                 **pulled(image)}
                for name, image in self.containers
            ],
        }


# Why the scheduler stops a task: its stoppedReason (with the deployment that started it)
# and stopCode (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/stopped-task-error-codes.html).
SCALED_IN = ("Scaling activity initiated by (deployment {})", "ServiceSchedulerInitiated")
SERVICE_DELETED = ("Service deleted", "ServiceSchedulerInitiated")
FAILED_TO_START = ("CannotPullContainerError: The task's image could not be pulled", "TaskFailedToStart")


# Tasks in private subnets reach ECR and CloudWatch Logs only through the interface endpoints,
# over HTTPS, and only where both security groups allow it: the task's groups must let 443 out
# to the endpoint (its group, or a range holding its subnets), and the endpoint's groups must
# let 443 in from the task (its group, or a range holding its subnet). Otherwise the image pull
# times out and the task stops ("the security group attached to the endpoint must allow
# incoming connections on port 443", https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html;
# rules name a range, a prefix list or a security group,
# https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html;
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/resource-initialization-error.html).
# The S3 gateway endpoint's path (prefix list, route) is not judged.
TASK_ENDPOINTS = ("ecr.api", "ecr.dkr", "logs", "secretsmanager", "ssm")

# Where ECS reads a container's secrets from, by the service in its `valueFrom` ARN (a bare
# parameter name is Parameter Store's).
SECRET_SERVICES = {"secretsmanager": "asm", "ssm": "ssm"}


def unreachable_secrets(service, task_definition):
    """Why the tasks of `service` cannot read their task definition's secrets, or None: with
    no route to the internet, ECS reads them through the VPC's interface endpoint of Secrets
    Manager or Parameter Store, and a secret that does not exist fails the task
    ("Retrieving secrets through interface VPC endpoints" and "ResourceInitializationError"
    pages, ECS developer guide:
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html,
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/resource-initialization-error.html)."""
    from moto.ec2.models import ec2_backends
    from moto.secretsmanager.models import secretsmanager_backends
    from moto.ssm.models import ssm_backends

    containers = service._backend.describe_task_definition(task_definition).container_definitions
    wanted = [s.get("valueFrom", "") for c in containers for s in c.get("secrets") or []]
    if not wanted:
        return None
    ec2 = ec2_backends[service._account_id][service.region_name]
    net = (service.network_configuration or {}).get("awsvpcConfiguration", {})
    try:
        vpc_id = ec2.get_subnet((net.get("subnets") or [])[0]).vpc_id
    except Exception:  # noqa: BLE001 (no or an unknown subnet is moto's business)
        return None
    for value_from in wanted:
        kind = value_from.split(":")[2] if value_from.startswith("arn:") else "ssm"
        short = SECRET_SERVICES.get(kind, kind)
        endpoint = f"com.amazonaws.{service.region_name}.{kind}"
        if not any(ep.vpc_id == vpc_id and ep.service_name == endpoint and ep.state != "deleted"
                   for ep in ec2.vpc_end_points.values()):
            return (f"ResourceInitializationError: unable to pull secrets or registry auth: execution "
                    f"resource retrieval failed: unable to retrieve secret from {short}: service call has "
                    f"been retried 5 time(s): RequestError: send request failed caused by: Post "
                    f"\"https://{kind}.{service.region_name}.amazonaws.com/\": dial tcp :443: i/o timeout")
        if kind == "secretsmanager":
            arn = ":".join(value_from.split(":")[:7])
            known = secretsmanager_backends[service._account_id][service.region_name].secrets
            if not any(arn == getattr(secret, "arn", None) for secret in known.values()):
                return (f"ResourceInitializationError: unable to pull secrets or registry auth: execution "
                        f"resource retrieval failed: unable to retrieve secret from asm: ResourceNotFoundException: "
                        f"Secrets Manager can't find the specified secret. ({arn})")
        else:
            if ssm_backends[service._account_id][service.region_name].get_parameter(value_from) is None:
                name = value_from
                return (f"ResourceInitializationError: unable to pull secrets or registry auth: execution "
                        f"resource retrieval failed: unable to retrieve secrets from ssm: invalid parameters: {name}")
    return None


def _allows(rule, port, groups, ranges):
    """Whether a moto security group rule lets TCP `port` through to or from a peer in
    `groups` or in all of `ranges` (CIDR strings)."""
    import ipaddress

    if rule.ip_protocol not in ("-1", "tcp"):
        return False
    if rule.ip_protocol == "tcp" and not (rule.from_port <= port <= rule.to_port):
        return False
    if (rule.source_group or {}).get("GroupId") in groups:
        return True
    cidr = (rule.ip_range or {}).get("CidrIp")
    if not cidr or not ranges:
        return False
    return all(ipaddress.ip_network(r).subnet_of(ipaddress.ip_network(cidr)) for r in ranges)


def unreachable_endpoint(service):
    """The first interface endpoint the service's tasks need and cannot reach, in words, or
    None."""
    from moto.ec2.models import ec2_backends

    ec2 = ec2_backends[service._account_id][service.region_name]
    net = (service.network_configuration or {}).get("awsvpcConfiguration", {})
    task_group_ids = list(net.get("securityGroups") or [])
    try:
        task_subnets = [ec2.get_subnet(s) for s in net.get("subnets") or []]
    except Exception:  # noqa: BLE001 (an unknown subnet is moto's business)
        return None
    if not task_subnets:
        return None
    vpc_id = task_subnets[0].vpc_id
    task_ranges = [s.cidr_block for s in task_subnets]

    def groups(ids):
        return [g for g in (ec2.get_security_group_from_id(i) for i in ids) if g is not None]

    for ep in list(ec2.vpc_end_points.values()):
        if (ep.vpc_id != vpc_id or ep.state == "deleted" or str(ep.vpc_endpoint_type).lower() != "interface"
                or not ep.service_name.endswith(TASK_ENDPOINTS)):
            continue
        ep_group_ids = list(ep.security_group_ids or [])
        ep_ranges = [ec2.get_subnet(s).cidr_block for s in ep.subnet_ids or []]
        out = any(_allows(r, 443, ep_group_ids, ep_ranges) for g in groups(task_group_ids) for r in g.egress_rules)
        into = any(_allows(r, 443, task_group_ids, task_ranges) for g in groups(ep_group_ids) for r in g.ingress_rules)
        if not (out and into):
            side = "the tasks' security groups let no HTTPS out to it" if not out else \
                "its security groups let no HTTPS in from the tasks"
            return f"endpoint {ep.id} ({ep.service_name}): {side}"
    return None


def _patch_ecs():
    import threading

    from moto.ecs import models as m
    from moto.ecs import responses as r
    from moto.ecs.exceptions import InvalidParameterException
    from moto.moto_api._internal import mock_random
    from moto.utilities.utils import get_partition

    # Reads move rollouts on (settle) and may start or stop tasks: one at a time.
    lock = threading.RLock()

    def new_deployment_id():
        return f"ecs-svc/{mock_random.randint(0, 32**12)}"

    def fails(backend, task_definition, setting="failing_images"):
        patterns = settings.current().get(setting) or []
        if not patterns or not task_definition:
            return False
        images = [c.get("image", "") for c in backend.describe_task_definition(task_definition).container_definitions]
        return any(p in image for p in patterns for image in images)

    def _refuse_unlistened_target_groups(backend, load_balancers):
        """ECS takes only target groups a load balancer's listener forwards to."""
        from moto.elbv2.models import elbv2_backends

        elb = elbv2_backends[backend.account_id][backend.region_name]
        for lb in load_balancers or []:
            arn = lb.get("targetGroupArn")
            if arn and not elb._any_listener_using(arn):
                raise InvalidParameterException(
                    f"The target group with targetGroupArn {arn} does not have an associated load balancer."
                )

    def start_rollout(backend, service, forced=False):
        if service.task_definition:
            # AWS answers with the revision's ARN (moto keeps what UpdateService was given).
            service.task_definition = backend.describe_task_definition(service.task_definition).arn
        if forced:
            # forceNewDeployment replaces every task, with the same configuration.
            service.__dict__["_tb_forced"] = new_deployment_id()
        service.__dict__["_tb_revision"] = _service_revision(service)
        service.__dict__["_tb_rollout"] = service.__dict__["_tb_started"] = CLOCK.now()
        blocked = unreachable_endpoint(service) if settings.on("fidelity") else None
        if blocked is None and settings.on("egress"):
            blocked = no_way_to_the_registry(service)
        secrets = (unreachable_secrets(service, service.task_definition)
                   if settings.on("fidelity") and service.task_definition else None)
        service.__dict__["_tb_fails"] = (fails(backend, service.task_definition) or blocked is not None
                                         or secrets is not None)
        service.__dict__["_tb_fail_reason"] = (
            (f"ResourceInitializationError: unable to pull secrets or registry auth: {blocked}: "
             "dial tcp :443: i/o timeout", "TaskFailedToStart") if blocked
            else (secrets, "TaskFailedToStart") if secrets else FAILED_TO_START)
        service.__dict__["_tb_primary"] = new_deployment_id()

    def back_to_good(service):
        """Rolls the service back to its last completed service revision: its task definition,
        load balancers and network configuration ("Amazon ECS service revisions": a rollback
        deploys the last revision that completed)."""
        d = service.__dict__
        service.task_definition = d["_tb_good"]
        service.load_balancers, service.network_configuration, d["_tb_forced"] = copy.deepcopy(d["_tb_good_wiring"])
        d["_tb_revision"] = d["_tb_good_revision"]

    def registry(backend):
        return backend.__dict__.setdefault("_tb_tasks", {})

    def all_tasks(backend):
        """A copy: other requests' threads may start tasks meanwhile."""
        return list(registry(backend).values())

    def tasks_of(service):
        return [t for t in all_tasks(service._backend) if t.service is service]

    def deregistration_delay(service, arns=None):
        """AWS seconds target groups `arns` (default: the service's) take to deregister a task: their live
        `deregistration_delay.timeout_seconds`, 300 when unset; 0 without a load balancer
        (https://docs.aws.amazon.com/elasticloadbalancing/latest/network/load-balancer-target-groups.html#deregistration-delay)."""
        from moto.elbv2.models import elbv2_backends

        groups = elbv2_backends[service._account_id][service.region_name].target_groups
        arns = _target_groups(service) if arns is None else arns
        return max(
            (int(groups[arn].attributes.get("deregistration_delay.timeout_seconds", 300)) for arn in arns if arn in groups),
            default=0,
        )

    def healthy_after(service, arns=None):
        """AWS seconds from a task RUNNING to healthy in target groups `arns` (default: the
        service's): registration, then
        `healthy_threshold_count` checks `health_check_interval_seconds` apart, read live
        (AWS's defaults for an NLB target group: 30 s × 5); 0 without a load balancer. ECS
        counts a deployment done only once its tasks are healthy there
        (https://docs.aws.amazon.com/elasticloadbalancing/latest/network/target-group-health-checks.html,
        https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-ecs.html)."""
        from moto.elbv2.models import elbv2_backends

        groups = elbv2_backends[service._account_id][service.region_name].target_groups
        arns = _target_groups(service) if arns is None else arns
        return max(
            (D["target_registration"]
             + float(groups[arn].health_check_interval_seconds) * float(groups[arn].healthy_threshold_count)
             for arn in arns if arn in groups),
            default=0,
        )

    def steady_after(service):
        """AWS seconds from a rollout's start until its tasks serve."""
        return D["service_steady"] + healthy_after(service)

    def stop(service, tasks, at, why):
        if not tasks:
            return
        reason, code = why
        for task in tasks:
            # A task leaves the target groups it was registered with.
            task.stop(at, reason.format(task.started_by), code, deregistration_delay(service, task.target_groups))

    def scale(service, at):
        """Starts or stops tasks of the service's revision until `desiredCount` of them are
        up, newest stopped first; other revisions' tasks (another task definition, load
        balancers or network configuration) stay until the new deployment is
        steady (settle)."""
        if "_tb_deleted" in service.__dict__ or not service.task_definition:
            return
        with lock:
            current = [t for t in tasks_of(service) if t.live and t.revision == service.__dict__.get("_tb_revision")]
            want = service.desired_count or 0
            containers = [(c.get("name"), c.get("image")) for c in
                          service._backend.describe_task_definition(service.task_definition).container_definitions]
            for _ in range(want - len(current)):
                arn = (f"arn:{get_partition(service.region_name)}:ecs:{service.region_name}:{service._account_id}:"
                       f"task/{service.cluster_name}/{mock_random.uuid4().hex}")
                registry(service._backend)[arn] = ServiceTask(service, arn, at, containers)
            excess = sorted(current, key=lambda t: t.created, reverse=True)[:max(0, len(current) - want)]
            stop(service, excess, at, SCALED_IN)

    def settle(self):
        d = self.__dict__
        start = d.get("_tb_rollout")
        if start is None:
            return
        with lock:
            since = CLOCK.aws_since(start)
            if d.get("_tb_fails"):
                if since >= D["circuit_breaker"]:
                    tripped = start + CLOCK.wall(D["circuit_breaker"])
                    # The breaker stops the failing deployment from launching tasks
                    # (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html).
                    stop(self, [t for t in tasks_of(self) if t.live and t.never_runs], tripped,
                         d.get("_tb_fail_reason") or FAILED_TO_START)
                    if d.get("_tb_good"):
                        # The circuit breaker rolls back to the last deployment that completed.
                        d["_tb_failed"] = {"id": d.get("_tb_primary"), "taskDefinition": self.task_definition}
                        back_to_good(self)
                        d["_tb_rollout"] = tripped
                        d["_tb_fails"] = False
                        d["_tb_primary"] = new_deployment_id()
                        scale(self, tripped)
                return
            serving = steady_after(self)
            if since >= serving:
                d["_tb_good"] = self.task_definition
                d["_tb_good_wiring"] = (copy.deepcopy(self.load_balancers), copy.deepcopy(self.network_configuration),
                                        d.get("_tb_forced"))
                d["_tb_good_revision"] = d.get("_tb_revision")
                d.pop("_tb_failed", None)
                # A rolling update stops the old revision's tasks once the new ones serve
                # (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-ecs.html).
                old = [t for t in tasks_of(self) if t.live and t.revision != d.get("_tb_revision")]
                stop(self, old, start + CLOCK.wall(serving), SCALED_IN)

    def settle_all(backend):
        for service in list(backend.services.values()):
            settle(service)

    from . import dataplane

    dataplane.ECS.update(all_tasks=all_tasks, healthy_after=healthy_after, settle_all=settle_all)

    def steady(self):
        settle(self)
        start = self.__dict__.get("_tb_rollout")
        if start is None:
            return True
        return not self.__dict__.get("_tb_fails") and CLOCK.aws_since(start) >= steady_after(self)

    def counting(self, state, revision=None):
        """How many of the service's tasks are in `state` now (of service revision `revision`
        only, if given)."""
        settle(self)
        now = CLOCK.now()
        return sum(t.status(now) == state and revision in (None, t.revision) for t in tasks_of(self))

    def get_status(self):
        raw = self.__dict__.get("_tb_status", "ACTIVE")
        deleted = self.__dict__.get("_tb_deleted")
        if settings.on("provisioning") and raw == "INACTIVE" and deleted is not None:
            # DRAINING until all its tasks are STOPPING or STOPPED
            # (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeleteService.html),
            # and at least `service_draining`.
            ends = [t.stop_times[1] for t in tasks_of(self) if t.stop_times]
            drained = max([deleted + CLOCK.wall(D["service_draining"]), *ends])
            return "DRAINING" if CLOCK.now() < drained else "INACTIVE"
        return raw

    def set_status(self, value):
        self.__dict__["_tb_status"] = value

    def get_running(self):
        raw = self.__dict__.get("_tb_running", 0)
        if not settings.on("provisioning") or "_tb_rollout" not in self.__dict__:
            return raw
        # Only RUNNING tasks count: a stopped task is DEACTIVATING at once (task lifecycle page).
        return counting(self, "RUNNING")

    def set_running(self, value):
        self.__dict__["_tb_running"] = value

    def get_pending(self):
        raw = self.__dict__.get("_tb_pending", 0)
        if not settings.on("provisioning") or "_tb_rollout" not in self.__dict__:
            return raw
        return counting(self, "PENDING")

    def set_pending(self, value):
        self.__dict__["_tb_pending"] = value

    def get_deployments(self):
        raw = self.__dict__.get("_tb_deployments", [])
        if not settings.on("provisioning") or "_tb_rollout" not in self.__dict__ or not raw:
            return raw
        settle(self)
        d = self.__dict__
        deployment = dict(raw[0])
        deployment["id"] = d.get("_tb_primary", deployment["id"])
        # Each deployment starts when its CreateService or UpdateService did.
        deployment["createdAt"] = CLOCK.utc(d.get("_tb_started", d["_tb_rollout"]))
        running = counting(self, "RUNNING", d.get("_tb_revision"))
        if d.get("_tb_fails"):
            stopped = CLOCK.aws_since(d["_tb_rollout"]) >= D["circuit_breaker"]
            state = "FAILED" if stopped else "IN_PROGRESS"
            reason = (
                f"ECS deployment circuit breaker: tasks failed to start. Deployment {deployment['id']} failed."
                if stopped
                else f"ECS deployment {deployment['id']} in progress."
            )
        else:
            completed = running >= self.desired_count and steady(self)
            state = "COMPLETED" if completed else "IN_PROGRESS"
            reason = f"ECS deployment {deployment['id']} " + ("completed." if completed else "in progress.")
        said = d.setdefault("_tb_said", set())
        if state != "IN_PROGRESS" and (deployment["id"], state) not in said:
            # ECS says so in the service's events, newest first ("Viewing Amazon ECS service
            # event messages", ECS developer guide).
            said.add((deployment["id"], state))
            message = (f"(service {self.name}) has reached a steady state." if state == "COMPLETED"
                       else f"(service {self.name}) (deployment {deployment['id']}) deployment failed: "
                            "tasks failed to start.")
            self.events.insert(0, {"id": str(mock_random.uuid4()), "createdAt": CLOCK.utc(CLOCK.now()),
                                   "message": message})
        deployment.update(
            desiredCount=self.desired_count,
            runningCount=running,
            pendingCount=counting(self, "PENDING", d.get("_tb_revision")),
            taskDefinition=self.task_definition,
            rolloutState=state,
            rolloutStateReason=reason,
        )
        deployments = [deployment]
        failed = d.get("_tb_failed")
        # The deployments being replaced stay ACTIVE while their tasks run, beside the PRIMARY
        # one (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Deployment.html):
        # one per deployment that started tasks still up, as each task's startedBy says.
        now = CLOCK.now()
        older = {}
        for task in tasks_of(self):
            if task.live and task.revision != d.get("_tb_revision") \
                    and not (failed and task.started_by == failed["id"]):
                older.setdefault((task.started_by, task.task_definition_arn), []).append(task)
        for (started_by, definition), tasks in older.items():
            deployments.append(dict(
                raw[0], id=started_by, status="ACTIVE", taskDefinition=definition,
                desiredCount=len(tasks), runningCount=sum(t.status(now) == "RUNNING" for t in tasks),
                pendingCount=0, rolloutState="COMPLETED",
                rolloutStateReason=f"ECS deployment {started_by} completed.",
            ))
        if failed:
            deployments.append(dict(
                raw[0], id=failed["id"], status="ACTIVE", taskDefinition=failed["taskDefinition"],
                desiredCount=0, runningCount=0, pendingCount=0, rolloutState="FAILED",
                rolloutStateReason="ECS deployment circuit breaker: tasks failed to start. Rolling back.",
            ))
        return deployments

    def set_deployments(self, value):
        self.__dict__["_tb_deployments"] = value

    m.Service.status = property(get_status, set_status)
    m.Service.running_count = property(get_running, set_running)
    m.Service.pending_count = property(get_pending, set_pending)
    m.Service.deployments = property(get_deployments, set_deployments)

    @_wrap(m.EC2ContainerServiceBackend, "create_cluster")
    def create_cluster(original, self, *args, **kwargs):
        why = _service_linked_role_refusal(self.account_id, self.region_name, "ecs.amazonaws.com")
        if why:
            raise InvalidParameterException(why)
        return original(self, *args, **kwargs)

    @_wrap(m.EC2ContainerServiceBackend, "create_service")
    def create_service(original, self, *args, **kwargs):
        why = _service_linked_role_refusal(self.account_id, self.region_name, "ecs.amazonaws.com")
        if why:
            raise InvalidParameterException(why)
        a = _bind(original, self, *args, **kwargs)
        if settings.on("fidelity"):
            # moto replaces a service of the same name; AWS refuses (a repeat with the first
            # call's client token never gets here: see create_service_response).
            cluster = a["cluster_str"].split("/")[-1]
            existing = self.services.get(f"{cluster}:{a['service_name']}")
            if existing is not None and existing.status == "DRAINING":
                raise InvalidParameterException("Unable to Start a service that is still Draining.")
            if existing is not None and existing.status == "ACTIVE":
                raise InvalidParameterException("Creation of service was not idempotent.")
        if settings.on("ordering"):
            _refuse_unlistened_target_groups(self, a.get("load_balancers"))
        usable_at = role = None
        if settings.on("provisioning") and a.get("task_definition_str"):
            role = getattr(self.describe_task_definition(a["task_definition_str"]), "execution_role_arn", None)
            usable_at = role and _role_usable_at(self.account_id, self.region_name, role)
        service = original(self, *args, **kwargs)
        if settings.on("provisioning"):
            start_rollout(self, service)
            now = CLOCK.now()
            if usable_at:
                # A new execution role fails at task launch, not at CreateService: a service
                # event says so and the scheduler tries again about 30 s later, until IAM has
                # reached ECS ("Amazon ECS task execution IAM role" and "Viewing Amazon ECS
                # service event messages", ECS developer guide; aws/copilot-cli#2121).
                retry = CLOCK.wall(D["task_launch_retry"])
                tries = math.ceil((usable_at - now) / retry)
                service.__dict__["_tb_rollout"] = now + tries * retry
                service.events.insert(0, {
                    "id": str(mock_random.uuid4()),
                    "createdAt": CLOCK.utc(now),
                    "message": (
                        f"(service {service.name}) failed to launch a task with (error ECS was unable "
                        f"to assume the role '{role}' that was provided for this task. Please verify "
                        "that the role being passed has the proper trust relationship and permissions "
                        "and that your IAM user has permissions to pass this role.)."
                    ),
                })
            scale(service, now)
        return service

    @_wrap(m.EC2ContainerServiceBackend, "update_service")
    def update_service(original, self, props):
        # forceNewDeployment starts a deployment of the same revision (API_UpdateService).
        forced = bool(props.get("force_new_deployment"))
        changes = (props.get("task_definition") is not None or props.get("desired_count") is not None
                   or forced)
        # Load balancers or a network configuration given start a deployment too: "When you
        # update any of these parameters, Amazon ECS starts new tasks with the new
        # configuration" (API_UpdateService), even when the task definition is the same. The
        # same values again start a deployment whose tasks are the ones already running.
        changes = changes or any(props.get(name) is not None for name in ("load_balancers", "network_configuration"))
        if settings.on("ordering"):
            # As CreateService: a target group no listener forwards to is refused.
            _refuse_unlistened_target_groups(self, props.get("load_balancers"))
        strategy = props.get("capacity_provider_strategy")
        new_definition = props.get("task_definition")  # moto pops it
        if settings.on("fidelity") and strategy is not None:
            current = self.services.get(f"{props.get('cluster', 'default').split('/')[-1]}:{props['service'].split('/')[-1]}")
            if current is not None:
                if strategy != (getattr(current, "capacity_provider_strategy", None) or []) \
                        and not props.get("force_new_deployment"):
                    # ECS's own refusal, as users met it (reproio/ecs_deploy#75, pipe-cd/pipecd#6385).
                    raise InvalidParameterException(
                        "When switching from launch type to capacity provider strategy on an existing "
                        "service, or making a change to a capacity provider strategy on a service that "
                        "is already using one, you must force a new deployment.")
                refusal = _capacity_refusal(self, props.get("cluster", "default"), None, strategy)
                if refusal:
                    raise InvalidParameterException(refusal)
                if not strategy:
                    # An empty strategy takes the service back to the launch type.
                    props["launch_type"] = "FARGATE"
        if settings.on("provisioning"):
            # Whether the rollout so far completed decides what a failure rolls back to.
            before = self.services.get(f"{props.get('cluster', 'default').split('/')[-1]}:{props['service'].split('/')[-1]}")
            if before is not None:
                settle(before)
        service = original(self, props)
        if settings.on("fidelity") and strategy:
            # A service placed by a strategy has no launch type.
            service.launch_type = None
        if settings.on("provisioning") and changes:
            start_rollout(self, service, forced)
            # A lower desiredCount stops tasks at once, a higher one starts tasks (task
            # lifecycle page).
            scale(service, CLOCK.now())
        elif new_definition is not None and service.deployments:
            # A new task definition starts a new deployment of it ("a new deployment is
            # triggered", https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_UpdateService.html);
            # moto keeps the old one as PRIMARY, so nothing would ever see the new revision
            # roll out. Without `provisioning` it completes at once.
            service.task_definition = self.describe_task_definition(service.task_definition).arn
            deployment = dict(service.deployments[0])
            deployment_id = f"ecs-svc/{mock_random.randint(0, 32**12)}"
            from moto.core.utils import utcnow

            now = utcnow()
            deployment.update({
                "id": deployment_id, "taskDefinition": service.task_definition, "createdAt": now,
                "updatedAt": now, "rolloutState": "COMPLETED",
                "rolloutStateReason": f"ECS deployment {deployment_id} completed.",
            })
            service.deployments = [deployment]
        return service

    @_wrap(m.EC2ContainerServiceBackend, "delete_service")
    def delete_service(original, self, cluster_name, service_name, force):
        service = original(self, cluster_name, service_name, force)
        if "_tb_deleted" not in service.__dict__:
            with lock:
                settle(service)
                service.__dict__["_tb_deleted"] = CLOCK.now()
                # DeleteService with force stops the service's tasks (API_DeleteService).
                stop(service, [t for t in tasks_of(service) if t.live], CLOCK.now(), SERVICE_DELETED)
        return service

    @_wrap(m.EC2ContainerServiceBackend, "list_tasks")
    def list_tasks(original, self, *args, **kwargs):
        # A one-off task that ran its course is listed as stopped, as DescribeTasks shows it.
        for by_arn in self.tasks.values():
            for task in by_arn.values():
                if "_tb_oneoff" in task.__dict__:
                    settle_oneoff(task)
        found = original(self, *args, **kwargs)
        if not settings.on("provisioning"):
            return found
        a = _bind(original, self, *args, **kwargs)
        service = a["service_name"] and a["service_name"].split("/")[-1]
        if service:
            found = []  # moto ignores serviceName; its own (RunTask) tasks belong to no service
        cluster = self._get_cluster(a["cluster_str"]).name if a["cluster_str"] else None
        revisions = self.list_task_definitions(a["family"]) if a["family"] else None
        # The default filter is desiredStatus RUNNING
        # (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListTasks.html);
        # moto lists every status without one.
        wanted = a["desiredStatus"] or "RUNNING"
        found = [t for t in found if t.desired_status == wanted]
        settle_all(self)
        return found + [
            t for t in all_tasks(self)
            if (not cluster or t.cluster_name == cluster)
            and (not service or t.service.name == service)
            and (revisions is None or t.task_definition_arn in revisions)
            and (not a["started_by"] or t.started_by == a["started_by"])
            and not a["container_instance"]  # Fargate tasks run on no container instance
            and ("RUNNING" if t.live else "STOPPED") == wanted
        ]

    # A one-off task (RunTask) stands in for a container that runs its command: it writes the
    # command to its log stream as the awslogs driver would name it, runs for `task_run` AWS
    # seconds, then stops with the exit code an `exit N` in its command gives (0 otherwise),
    # as ECS reports an essential container that exited ("Essential container in task
    # exited", https://docs.aws.amazon.com/AmazonECS/latest/developerguide/stopped-task-error-codes.html).
    # Fargate sizes a task by its task-level cpu and memory, and a container may leave memory
    # unset (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html#container_definition_memory);
    # moto adds up containers' memory and fails on None, so RunTask of such a task failed.
    original_requirements = m.EC2ContainerServiceBackend._calculate_task_resource_requirements

    def requirements(task_definition):
        if all(c.get("memory") is not None or c.get("memoryReservation") is not None
               or "Memory" in c or "MemoryReservation" in c
               for c in task_definition.container_definitions):
            return original_requirements(task_definition)
        return {"CPU": int(task_definition.cpu or 0), "MEMORY": int(task_definition.memory or 0),
                "PORTS": [], "PORTS_UDP": []}

    m.EC2ContainerServiceBackend._calculate_task_resource_requirements = staticmethod(requirements)
    # moto names a task's interface by the interface's private DNS name, which it sets only in
    # a VPC with DNS hostnames: elsewhere RunTask failed. AWS gives every interface one.
    from moto.ec2.models.elastic_network_interfaces import NetworkInterface

    if not hasattr(NetworkInterface, "private_dns_name"):
        NetworkInterface.private_dns_name = None

    @_wrap(m.EC2ContainerServiceBackend, "run_task")
    def run_task(original, self, *args, **kwargs):
        made = original(self, *args, **kwargs)
        if not settings.on("provisioning"):
            return made
        a = _bind(original, self, *args, **kwargs)
        overrides = (a.get("overrides") or {}).get("containerOverrides") or [{}]
        command = overrides[0].get("command") or []
        words = " ".join(command)
        code = 0
        if "exit " in words:
            tail = words.split("exit ", 1)[1].split()
            code = int(tail[0]) if tail and tail[0].isdigit() else 1
        for task in made:
            task.__dict__["_tb_oneoff"] = (CLOCK.now(), code)
            # Its state follows the clock, not moto's step per DescribeTasks.
            task._tick = -(10**9)
            definition = self.describe_task_definition(task.task_definition_arn)
            options = ((definition.container_definitions[0].get("logConfiguration") or {})
                       .get("options") or {})
            if options.get("awslogs-group"):
                from moto.logs.models import logs_backends

                logs = logs_backends[self.account_id][self.region_name]
                stream = (f"{options.get('awslogs-stream-prefix', 'ecs')}/"
                          f"{definition.container_definitions[0]['name']}/{task.id}")
                try:
                    logs.create_log_stream(options["awslogs-group"], stream)
                    logs.put_log_events(options["awslogs-group"], stream,
                                        [{"timestamp": int(time.time() * 1000), "message": words}])
                except Exception:  # noqa: BLE001 (no group: the task would not start on AWS either)
                    pass
        return made

    def settle_oneoff(task):
        started, code = task.__dict__["_tb_oneoff"]
        if CLOCK.aws_since(started) < D["task_run"] or task.desired_status == "STOPPED":
            return
        task.status = "STOPPED"
        task.desired_status = "STOPPED"
        task.stopped_reason = "Essential container in task exited"
        for container in task.containers:
            container.last_status = "STOPPED"
            container.exitCode = code

    @_wrap(m.EC2ContainerServiceBackend, "delete_cluster")
    def delete_cluster(original, self, cluster_str):
        # "You can't delete a cluster that has active tasks" (API_DeleteCluster,
        # ClusterContainsTasksException): one-off tasks (RunTask) and the services' own.
        if settings.on("ordering"):
            from moto.core.exceptions import JsonRESTError

            name = self._get_cluster(cluster_str).name
            for task in (self.tasks.get(name) or {}).values():
                if "_tb_oneoff" in task.__dict__:
                    settle_oneoff(task)
            active = [t for t in (self.tasks.get(name) or {}).values() if t.desired_status != "STOPPED"]
            active += [t for t in all_tasks(self) if t.cluster_name == name and t.live]
            if active:
                raise JsonRESTError("ClusterContainsTasksException",
                                    "The Cluster cannot be deleted while Tasks are active.")
        return original(self, cluster_str)

    @_wrap(m.EC2ContainerServiceBackend, "describe_tasks")
    def describe_tasks(original, self, cluster_str, tasks):
        for by_arn in self.tasks.values():
            for task in by_arn.values():
                if "_tb_oneoff" in task.__dict__:
                    settle_oneoff(task)
        found = original(self, cluster_str, tasks)
        if not settings.on("provisioning"):
            return found
        cluster = self._get_cluster(cluster_str).name
        ids = {task.split("/")[-1] for task in tasks}
        settle_all(self)
        now = CLOCK.now()
        # Stopped tasks stay describable for at least an hour
        # (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeTasks.html); the bed keeps them.
        return found + [t.describe(now) for t in all_tasks(self) if t.cluster_name == cluster and t.id in ids]

    from moto.elbv2 import models as elbv2_models

    @_wrap(elbv2_models.ELBv2Backend, "describe_target_health")
    def describe_target_health(original, self, target_group_arn, targets):
        found = original(self, target_group_arn, targets)
        if not settings.on("provisioning"):
            return found
        ecs = m.ecs_backends[self.account_id][self.region_name]
        settle_all(ecs)
        now = CLOCK.now()
        group = self.target_groups[target_group_arn]
        port = group.port
        for task in all_tasks(ecs):
            service = task.service
            if target_group_arn not in task.target_groups:
                continue
            ran = task.ran_at()
            status = task.status(now)
            if ran is None or now < ran or status not in ("RUNNING", "DEACTIVATING"):
                continue  # registered while ACTIVATING, gone once deregistered
            if status == "DEACTIVATING":
                if now >= task.stop_times[0] + CLOCK.wall(deregistration_delay(service, [target_group_arn])):
                    continue  # each group drains it for its own delay; the task waits for the longest
                state = ("draining", "Target.DeregistrationInProgress", "Target deregistration is in progress")
            elif CLOCK.aws_since(ran) < healthy_after(service, [target_group_arn]):  # each group its own checks
                state = ("initial", "Elb.RegistrationInProgress", "Target registration is in progress")
            elif fails(ecs, task.task_definition_arn, "unhealthy_images"):
                # https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_TargetHealth.html
                state = ("unhealthy", "Target.FailedHealthChecks", "Health checks failed")
            else:
                state = ("healthy", None, None)
            found.append(elbv2_models.FakeHealthStatus(task.ip, port, group.health_check_port, *state))
        return found

    tokens: dict = {}

    # Service deployments (moto has none): the service's current deployment as ECS's
    # ListServiceDeployments shows it, and StopServiceDeployment with ROLLBACK, which "rolls
    # back the service deployment to the previous service revision", configured for rollback
    # or not (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_StopServiceDeployment.html;
    # "Stopping Amazon ECS service deployments": PENDING and IN_PROGRESS ones can be stopped).
    def deployment_arn(service):
        short = service.__dict__.get("_tb_primary", "ecs-svc/0").split("/")[-1]
        return (f"arn:{get_partition(service.region_name)}:ecs:{service.region_name}:{service._account_id}:"
                f"service-deployment/{service.cluster_name}/{service.name}/{short}")

    def deployment_status(service):
        # The rollback a stop starts is a deployment of its own here (AWS moves the stopped
        # one through ROLLBACK_REQUESTED and ROLLBACK_IN_PROGRESS under the same ARN).
        return "SUCCESSFUL" if steady(service) else "IN_PROGRESS"

    def list_service_deployments(self):
        cluster = self._get_param("cluster", "default").split("/")[-1]
        name = self._get_param("service", "").split("/")[-1]
        service = self.ecs_backend.services.get(f"{cluster}:{name}")
        if service is None:
            from moto.ecs.exceptions import ServiceNotFoundException

            raise ServiceNotFoundException()
        wanted = self._get_param("status") or []
        found = []
        if "_tb_rollout" in service.__dict__:
            status = deployment_status(service)
            if not wanted or status in wanted:
                found.append({
                    "serviceDeploymentArn": deployment_arn(service), "serviceArn": service.arn,
                    "clusterArn": service.cluster_arn, "status": status,
                    "targetServiceRevisionArn": service.task_definition,
                    "startedAt": CLOCK.utc(service.__dict__.get("_tb_started", service.__dict__["_tb_rollout"])).timestamp(),
                })
        return json.dumps({"serviceDeployments": found})

    def stop_service_deployment(self):
        arn = self._get_param("serviceDeploymentArn")
        match = [s for s in self.ecs_backend.services.values() if deployment_arn(s) == arn]
        from moto.core.exceptions import JsonRESTError

        if not match:
            raise JsonRESTError("ServiceDeploymentNotFoundException", "The service deployment does not exist.")
        service = match[0]
        d = service.__dict__
        if deployment_status(service) != "IN_PROGRESS" or not d.get("_tb_good"):
            raise JsonRESTError("ConflictException",
                                "The service deployment is not in a state that can be stopped.")
        with lock:
            now = CLOCK.now()
            stopped = [t for t in tasks_of(service) if t.live and t.revision == d.get("_tb_revision")]
            stop(service, stopped, now, SCALED_IN)
            back_to_good(service)
            d["_tb_rollout"] = d["_tb_started"] = now
            d["_tb_fails"] = False
            d["_tb_primary"] = new_deployment_id()
            scale(service, now)
        return json.dumps({"serviceDeploymentArn": arn})

    r.EC2ContainerServiceResponse.list_service_deployments = list_service_deployments
    r.EC2ContainerServiceResponse.stop_service_deployment = stop_service_deployment

    @_wrap(r.EC2ContainerServiceResponse, "create_service")
    def create_service_response(original, self):
        token = self._get_param("clientToken")
        cluster = self._get_param("cluster", "default")
        key = (self.current_account, self.region, cluster, token)
        known = tokens.get(key)
        if settings.on("fidelity") and token and known is not None \
                and known in self.ecs_backend.services.values():
            from moto.core.responses import ActionResult

            return ActionResult({"service": known})
        strategy = self._get_param("capacityProviderStrategy") or []
        if settings.on("fidelity"):
            from moto.ecs.exceptions import InvalidParameterException

            refusal = _capacity_refusal(self.ecs_backend, cluster, self._get_param("launchType"), strategy)
            if refusal:
                raise InvalidParameterException(refusal)
        result = original(self)
        name = self._get_param("serviceName")
        service = self.ecs_backend.services.get(f"{cluster.split('/')[-1]}:{name}")
        if service is not None:
            if settings.on("fidelity"):
                # AWS keeps both and answers them in DescribeServices (API_CreateService); moto
                # drops them on create.
                service.deployment_configuration = self._get_param("deploymentConfiguration")
                service.health_check_grace_period_seconds = self._get_param("healthCheckGracePeriodSeconds")
                service.capacity_provider_strategy = strategy
                if strategy:
                    # A service placed by a strategy has no launch type (moto makes it EC2).
                    service.launch_type = None
            if token:
                tokens[key] = service
        return result


def fail(doc, account="123456789012"):
    """Breaks a built resource as AWS sometimes does on its own (`POST /_testbed/fail`):
    {"vpc_link": id} turns a link FAILED ("VPC link status ... FAILED", with a statusMessage:
    https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-api-with-vpclink-cli.html),
    {"load_balancer": name} turns an NLB `failed`
    (https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_LoadBalancerState.html);
    optional "region" (default eu-west-1) and "reason". Answers what it broke."""
    from moto.apigateway.models import apigateway_backends
    from moto.elbv2.models import elbv2_backends

    region = doc.get("region", "eu-west-1")
    reason = doc.get("reason", "broken by the test bed")
    if "vpc_link" in doc:
        link = apigateway_backends[account][region].vpc_links.get(doc["vpc_link"])
        if link is None:
            from moto.apigatewayv2.models import apigatewayv2_backends

            # A V2 link, whose interfaces AWS could not make or keep.
            link = apigatewayv2_backends[account][region].vpc_links.get(doc["vpc_link"])
            if link is None:
                raise ValueError(f"no VPC link {doc['vpc_link']}")
            link.__dict__["_tb_broken"] = reason
            return {"vpc_link": link.id, "status": v2_link_status(link)}
        link.__dict__["_tb_broken"] = True
        link.__dict__["_tb_fail"] = reason
        return {"vpc_link": link.id, "status": link.status}
    if "load_balancer" in doc:
        lbs = elbv2_backends[account][region].load_balancers.values()
        lb = next((lb for lb in lbs if lb.name == doc["load_balancer"]), None)
        if lb is None:
            raise ValueError(f"no load balancer {doc['load_balancer']}")
        lb.state = "failed"
        lb.__dict__["_tb_reason"] = reason
        return {"load_balancer": lb.name, "state": lb.state}
    raise ValueError("say which resource to break: vpc_link or load_balancer")


def _capacity_refusal(backend, cluster, launch_type, strategy):
    """Why ECS refuses a service's capacity provider strategy, or None: with a launch type as
    well, or naming a provider its cluster does not offer (API_CreateService and
    API_CapacityProviderStrategyItem: "A capacity provider must be associated with the
    cluster to be used in a capacity provider strategy")."""
    if not strategy:
        return None
    if launch_type:
        return "Specifying both a launch type and capacity provider strategy is not supported."
    found = backend.clusters.get(cluster.split("/")[-1])
    offered = list(getattr(found, "capacity_providers", None) or [])
    missing = [i["capacityProvider"] for i in strategy if i["capacityProvider"] not in offered]
    if missing:
        return ("The specified capacity provider strategy cannot contain a capacity provider that is not "
                f"associated with the cluster ({', '.join(missing)}). Associate the capacity provider with "
                "the cluster or specify a valid capacity provider and try again.")
    return None


def _patch_logs():
    """AssociateKmsKey and DisassociateKmsKey, which moto lacks: a log group's key for the
    events written from then on (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_AssociateKmsKey.html)."""
    from moto.logs.exceptions import ResourceNotFoundException
    from moto.logs.responses import LogsResponse

    def group_of(self):
        name = self._get_param("logGroupName")
        group = self.logs_backend.groups.get(name)
        if group is None:
            raise ResourceNotFoundException("The specified log group does not exist.")
        return group

    def associate_kms_key(self):
        group_of(self).kms_key_id = self._get_param("kmsKeyId")
        return ""

    def disassociate_kms_key(self):
        group_of(self).kms_key_id = None
        return ""

    LogsResponse.associate_kms_key = associate_kms_key
    LogsResponse.disassociate_kms_key = disassociate_kms_key


def _patch_applicationautoscaling():
    """What moto's Application Auto Scaling lacks:
    - RegisterScalableTarget brings an ECS service's desired count into the new bounds, as AWS
      does for an active resource ("it changes the resource's current capacity to a value that
      is inside of this range",
      https://docs.aws.amazon.com/autoscaling/application/APIReference/API_RegisterScalableTarget.html),
      and records the scaling activity;
    - DeregisterScalableTarget deletes the target's scaling policies and scheduled actions
      ("Deregistering a scalable target deletes the scaling policies and the scheduled actions
      that are associated with it",
      https://docs.aws.amazon.com/autoscaling/application/APIReference/API_DeregisterScalableTarget.html);
    - DescribeScalingActivities, newest first
      (https://docs.aws.amazon.com/autoscaling/application/APIReference/API_DescribeScalingActivities.html)."""
    import time

    from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse as R
    from moto.moto_api._internal import mock_random

    def activities(backend):
        return backend.__dict__.setdefault("_tb_activities", [])

    original_register = R.register_scalable_target

    def register_scalable_target(self):
        result = original_register(self)
        if not settings.on("provisioning") or self._get_param("ServiceNamespace") != "ecs":
            return result
        backend = self.applicationautoscaling_backend
        resource_id = self._get_param("ResourceId")
        target = next(iter(backend.describe_scalable_targets("ecs", [resource_id], None)), None)
        _, cluster, name = resource_id.split("/")
        service = backend.ecs_backend.services.get(f"{cluster}:{name}")
        if target is None or service is None or service.status != "ACTIVE":
            return result
        want = min(max(service.desired_count or 0, target.min_capacity), target.max_capacity)
        if want != service.desired_count:
            before = service.desired_count
            backend.ecs_backend.update_service({"cluster": cluster, "service": name, "desired_count": want})
            activities(backend).insert(0, {
                "ActivityId": str(mock_random.uuid4()),
                "ServiceNamespace": "ecs",
                "ResourceId": resource_id,
                "ScalableDimension": "ecs:service:DesiredCount",
                "Description": f"Setting desired count to {want}.",
                "Cause": (f"minimum capacity was set to {target.min_capacity}" if want > before
                          else f"maximum capacity was set to {target.max_capacity}"),
                "StartTime": time.time(),
                "EndTime": time.time(),
                "StatusCode": "Successful",
                "StatusMessage": f"Successfully set desired count to {want}. Change successfully fulfilled by ecs.",
            })
        return result

    def describe_scaling_activities(self):
        resource_id = self._get_param("ResourceId")
        found = [a for a in activities(self.applicationautoscaling_backend)
                 if a["ServiceNamespace"] == self._get_param("ServiceNamespace")
                 and (resource_id is None or a["ResourceId"] == resource_id)]
        return json.dumps({"ScalingActivities": found[: self._get_int_param("MaxResults") or 50]})

    original_deregister = R.deregister_scalable_target

    def deregister_scalable_target(self):
        gone = target_arn(self.applicationautoscaling_backend, self._get_param("ServiceNamespace"),
                          self._get_param("ResourceId"), self._get_param("ScalableDimension"))
        result = original_deregister(self)
        tags_of(self.applicationautoscaling_backend).pop(gone, None)
        if settings.on("fidelity"):
            backend = self.applicationautoscaling_backend
            key = (self._get_param("ServiceNamespace"), self._get_param("ResourceId"),
                   self._get_param("ScalableDimension"))
            of_target = lambda x: (x.service_namespace, x.resource_id, x.scalable_dimension) == key  # noqa: E731
            for name in [n for n, p in backend.policies.items() if of_target(p)]:
                del backend.policies[name]
            backend.scheduled_actions[:] = [a for a in backend.scheduled_actions if not of_target(a)]
        return result

    # Tags on scalable targets: given by RegisterScalableTarget when it creates the target
    # ("you can only tag a scalable target when it is created", later TagResource and
    # UntagResource, https://docs.aws.amazon.com/autoscaling/application/APIReference/API_TagResource.html),
    # gone with it. moto drops them.
    def tags_of(backend):
        return backend.__dict__.setdefault("_tb_tags", {})

    def target_arn(backend, namespace, resource_id, dimension):
        found = [t for t in backend.describe_scalable_targets(namespace, [resource_id], dimension)]
        return found[0].arn if found else None

    tagging_register = register_scalable_target

    def register_with_tags(self):
        backend = self.applicationautoscaling_backend
        key = (self._get_param("ServiceNamespace"), self._get_param("ResourceId"),
               self._get_param("ScalableDimension"))
        existed = target_arn(backend, *key) is not None
        result = tagging_register(self)
        arn = target_arn(backend, *key)
        if arn and not existed and self._get_param("Tags"):
            tags_of(backend)[arn] = dict(self._get_param("Tags"))
        return result

    def tagged_target(self):
        from moto.core.exceptions import JsonRESTError

        backend = self.applicationautoscaling_backend
        arn = self._get_param("ResourceARN")
        if not any(t.arn == arn for ts in backend.targets.values() for t in ts.values()):
            raise JsonRESTError("ResourceNotFoundException", f"Scalable target {arn} does not exist")
        return tags_of(backend).setdefault(arn, {})

    def list_tags_for_resource(self):
        return json.dumps({"Tags": tagged_target(self)})

    def tag_resource(self):
        tagged_target(self).update(self._get_param("Tags") or {})
        return "{}"

    def untag_resource(self):
        tags = tagged_target(self)
        for key in self._get_param("TagKeys") or []:
            tags.pop(key, None)
        return "{}"

    from moto.applicationautoscaling import models as aas

    @_wrap(aas.ApplicationAutoscalingBackend, "put_scaling_policy")
    def put_scaling_policy(original, self, *args, **kwargs):
        """A request-count policy names, in ResourceLabel, the ALB and the target group whose
        requests per target it tracks: `app/<lb>/<id>/targetgroup/<tg>/<id>`, a target group
        attached to the scaled ECS service ("ResourceLabel ... You can't use the
        ALBRequestCountPerTarget metric type unless there is a target group attached to the
        ... ECS service",
        https://docs.aws.amazon.com/autoscaling/application/APIReference/API_PredefinedMetricSpecification.html).
        moto keeps any label, or none."""
        a = _bind(original, self, *args, **kwargs)
        # The body is the policy's TargetTrackingScalingPolicyConfiguration.
        spec = (a.get("policy_body") or {}).get("PredefinedMetricSpecification") or {}
        if settings.on("fidelity") and spec.get("PredefinedMetricType") == "ALBRequestCountPerTarget":
            problem = _request_count_label_problem(self, a.get("resource_id") or "", spec.get("ResourceLabel"))
            if problem:
                from moto.core.exceptions import JsonRESTError
                raise JsonRESTError("ValidationException", problem)
        return original(self, *args, **kwargs)

    R.list_tags_for_resource = list_tags_for_resource
    R.tag_resource = tag_resource
    R.untag_resource = untag_resource
    R.register_scalable_target = register_with_tags
    R.deregister_scalable_target = deregister_scalable_target
    R.describe_scaling_activities = describe_scaling_activities


def _request_count_label_problem(backend, resource_id, label):
    """Why `label` cannot be the request-count label of the ECS service `resource_id`
    (`service/<cluster>/<name>`), or None."""
    from moto.elbv2.models import elbv2_backends

    if not label:
        return "ResourceLabel is required for the predefined metric type ALBRequestCountPerTarget"
    lb_part, _, tg_part = label.partition("/targetgroup/")
    if not lb_part.startswith("app/") or not tg_part:
        return f"Invalid ResourceLabel {label}: expected app/<load-balancer>/<id>/targetgroup/<target-group>/<id>"
    elb = elbv2_backends[backend.account_id][backend.region_name]
    lb = next((lb for lb in elb.load_balancers.values() if lb.arn.endswith(f":loadbalancer/{lb_part}")), None)
    group = next((g for g in elb.target_groups.values() if g.arn.endswith(f":targetgroup/{tg_part}")), None)
    if lb is None or group is None or lb.arn not in (group.load_balancer_arns or []):
        return f"Invalid ResourceLabel {label}: no such target group of an Application Load Balancer"
    _, cluster, name = (resource_id.split("/") + ["", ""])[:3]
    service = backend.ecs_backend.services.get(f"{cluster}:{name}")
    if service is None or group.arn not in [b.get("targetGroupArn") for b in service.load_balancers or []]:
        return (f"Invalid ResourceLabel {label}: target group {group.name} is not attached to "
                f"ECS service {name}")
    return None


def apply():
    _patch_applicationautoscaling()
    _patch_logs()
    _patch_iam()
    _patch_elbv2()
    _patch_apigateway()
    _patch_apigatewayv2()
    _patch_zones()
    _patch_ec2()
    _patch_gateways()
    _patch_ecs()
