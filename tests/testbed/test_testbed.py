"""Self-tests of the test bed: one small test per behaviour, so a moto upgrade that breaks one
shows here first. Run: .venv/bin/python -m unittest discover -s tests/testbed -t tests
"""
import json
import os
import subprocess
import sys
import time
import unittest
import urllib.error
import urllib.request
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

TESTS = Path(__file__).resolve().parent.parent
SCALE = 0.002  # 150 AWS seconds = 0.3 s
CLIENTS = {}
REGION = "eu-west-1"

server = None
endpoint = None


def setUpModule():
    global server, endpoint
    # Loading AWS's managed IAM policies makes every reset slow, and nothing here needs them.
    env = dict(os.environ, MOTO_IAM_LOAD_MANAGED_POLICIES="false")
    server = subprocess.Popen(
        [sys.executable, "-m", "testbed.server", "--profile", "realistic", "--scale", str(SCALE)],
        cwd=TESTS, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
    )
    line = server.stdout.readline()
    endpoint = f"http://127.0.0.1:{line.strip().split('=')[1]}"


def tearDownModule():
    server.kill()
    server.wait()


def post(path, body=None):
    req = urllib.request.Request(endpoint + path, data=json.dumps(body or {}).encode(), method="POST")
    with urllib.request.urlopen(req) as resp:
        return json.loads(resp.read() or b"{}")


def get(path):
    with urllib.request.urlopen(endpoint + path) as resp:
        return json.loads(resp.read())


def aws_seconds(n, scale=SCALE):
    time.sleep(n * scale)


class Bed(unittest.TestCase):
    profile = {"provisioning": True, "ordering": True, "fidelity": True, "rate_limits": True}

    def setUp(self):
        urllib.request.urlopen(urllib.request.Request(endpoint + "/moto-api/reset", method="POST")).read()
        post("/_testbed/config", dict(self.profile, scale=SCALE))

    def client(self, service, region=REGION):
        # Made once: making a boto3 client reads its service model and takes long enough,
        # on a busy machine, to outlast the short AWS durations these tests measure.
        key = (service, region)
        if key not in CLIENTS:
            CLIENTS[key] = boto3.client(
                service, region_name=region, endpoint_url=endpoint,
                aws_access_key_id="testing", aws_secret_access_key="testing",
                # Live Tail's host prefix (`stream-`) would turn the loopback address into a
                # name that does not resolve.
                config=Config(retries={"max_attempts": 1, "mode": "standard"}, inject_host_prefix=False),
            )
        return CLIENTS[key]

    def network(self):
        ec2 = self.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        a = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone="eu-west-1a")["Subnet"]["SubnetId"]
        b = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.2.0/24", AvailabilityZone="eu-west-1b")["Subnet"]["SubnetId"]
        sg = ec2.create_security_group(GroupName="g", Description="g", VpcId=vpc)["GroupId"]
        return vpc, [a, b], sg

    def nlb(self, subnets, name="nlb", wait=True):
        elb = self.client("elbv2")
        lb = elb.create_load_balancer(Name=name, Subnets=subnets, Scheme="internal", Type="network")
        arn = lb["LoadBalancers"][0]["LoadBalancerArn"]
        if wait:
            aws_seconds(160)
        return arn

    def code(self, ctx):
        return ctx.exception.response["Error"]["Code"]


class Provisioning(Bed):
    def test_nlb_goes_from_provisioning_to_active_after_150_s(self):
        _, subnets, _ = self.network()
        arn = self.nlb(subnets, wait=False)
        state = lambda: self.client("elbv2").describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"][0]["State"]["Code"]
        self.assertEqual(state(), "provisioning")
        aws_seconds(160)
        self.assertEqual(state(), "active")

    def test_vpc_link_is_pending_then_available(self):
        _, subnets, _ = self.network()
        arn = self.nlb(subnets)
        apigw = self.client("apigateway")
        link = apigw.create_vpc_link(name="l", targetArns=[arn])["id"]
        self.assertEqual(apigw.get_vpc_link(vpcLinkId=link)["status"], "PENDING")
        aws_seconds(190)
        self.assertEqual(apigw.get_vpc_link(vpcLinkId=link)["status"], "AVAILABLE")

    def test_endpoints_are_pending_then_available_and_deleting_then_deleted(self):
        post("/_testbed/config", dict(self.profile, scale=SCALE, durations={"endpoint_deleting": 500}))
        vpc, subnets, sg = self.network()
        ec2 = self.client("ec2")
        ep = ec2.create_vpc_endpoint(VpcId=vpc, ServiceName="com.amazonaws.eu-west-1.logs", VpcEndpointType="Interface",
                                     SubnetIds=subnets, SecurityGroupIds=[sg])["VpcEndpoint"]["VpcEndpointId"]
        state = lambda: ec2.describe_vpc_endpoints(VpcEndpointIds=[ep])["VpcEndpoints"][0]["State"].lower()
        self.assertEqual(state(), "pending")
        aws_seconds(100)
        self.assertEqual(state(), "available")
        ec2.delete_vpc_endpoints(VpcEndpointIds=[ep])
        self.assertEqual(state(), "deleting")
        aws_seconds(510)
        self.assertEqual(state(), "deleted")

    def service(self, ecs_listener=True):
        vpc, subnets, sg = self.network()
        elb, ecs = self.client("elbv2"), self.client("ecs")
        lb = self.nlb(subnets)
        tg = elb.create_target_group(Name="tg", Protocol="TCP", Port=80, VpcId=vpc, TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
        if ecs_listener:
            elb.create_listener(LoadBalancerArn=lb, Protocol="TCP", Port=80,
                                DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])
        ecs.create_cluster(clusterName="c")
        ecs.register_task_definition(family="f", requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu="256",
                                     memory="512", containerDefinitions=[{"name": "app", "image": "nginx"}])
        kwargs = dict(cluster="c", serviceName="s", taskDefinition="f", desiredCount=2, launchType="FARGATE",
                      networkConfiguration={"awsvpcConfiguration": {"subnets": subnets, "securityGroups": [sg]}},
                      loadBalancers=[{"targetGroupArn": tg, "containerName": "app", "containerPort": 80}],
                      deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": True}},
                      clientToken="token-1")
        return vpc, subnets, sg, kwargs

    def test_a_task_whose_image_fails_health_checks_is_an_unhealthy_target(self):
        post("/_testbed/config", dict(self.profile, scale=SCALE, unhealthy_images=["nginx"], durations={
            "service_steady": 100, "target_registration": 100}))
        _, _, _, kwargs = self.service()
        ecs, elb = self.client("ecs"), self.client("elbv2")
        tg = kwargs["loadBalancers"][0]["targetGroupArn"]
        ecs.create_service(**kwargs)
        health = lambda: sorted((t["TargetHealth"]["State"], t["TargetHealth"].get("Reason")) for t in
                                elb.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"])
        aws_seconds(200)
        self.assertEqual(health(), [("initial", "Elb.RegistrationInProgress")] * 2)
        aws_seconds(250)
        self.assertEqual(health(), [("unhealthy", "Target.FailedHealthChecks")] * 2)

    def test_service_completes_once_its_targets_are_healthy_and_drains_when_deleted(self):
        # Steps longer than AWS's, so every check lands 100 s (0.2 s) from a change of state.
        post("/_testbed/config", dict(self.profile, scale=SCALE, durations={
            "service_draining": 100, "service_steady": 100, "target_registration": 100}))
        _, _, _, kwargs = self.service()
        ecs, elb = self.client("ecs"), self.client("elbv2")
        tg = kwargs["loadBalancers"][0]["targetGroupArn"]
        ecs.create_service(**kwargs)
        svc = lambda: ecs.describe_services(cluster="c", services=["s"])["services"][0]
        health = lambda: sorted(t["TargetHealth"]["State"] for t in
                                elb.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"])
        first = svc()
        self.assertEqual((first["runningCount"], first["deployments"][0]["rolloutState"]), (0, "IN_PROGRESS"))
        self.assertEqual(health(), [])
        # Running after 100 s; registered for 100 s, then 5 checks 30 s apart (the group's
        # defaults): healthy, and the deployment done, 350 s after the create.
        aws_seconds(200)
        running = svc()
        self.assertEqual((running["runningCount"], running["deployments"][0]["rolloutState"]), (2, "IN_PROGRESS"))
        self.assertEqual(health(), ["initial", "initial"])
        aws_seconds(250)
        steady = svc()
        self.assertEqual((steady["runningCount"], steady["deployments"][0]["rolloutState"]), (2, "COMPLETED"))
        self.assertEqual(health(), ["healthy", "healthy"])
        self.assertEqual([e["message"] for e in svc()["events"]], ["(service s) has reached a steady state."])
        # Quicker checks make a quicker deployment: 100 + 100 + 10 × 2 = 220 s.
        elb.modify_target_group(TargetGroupArn=tg, HealthCheckIntervalSeconds=10, HealthyThresholdCount=2)
        self.register_and_update(ecs)
        aws_seconds(120)
        self.assertEqual(svc()["deployments"][0]["rolloutState"], "IN_PROGRESS")
        aws_seconds(200)
        self.assertEqual([d["rolloutState"] for d in svc()["deployments"]], ["COMPLETED"])
        ecs.update_service(cluster="c", service="s", desiredCount=0)
        ecs.delete_service(cluster="c", service="s", force=True)
        self.assertEqual(svc()["status"], "DRAINING")
        aws_seconds(120)
        self.assertEqual(svc()["status"], "DRAINING", "its tasks deregister for 300 s (the default)")
        aws_seconds(250)
        self.assertEqual(svc()["status"], "INACTIVE")

    def test_a_scalable_target_keeps_its_creation_tags_and_takes_more_by_arn(self):
        _, _, _, kwargs = self.service()
        ecs, aas = self.client("ecs"), self.client("application-autoscaling")
        ecs.create_service(**kwargs)
        target = dict(ServiceNamespace="ecs", ResourceId="service/c/s", ScalableDimension="ecs:service:DesiredCount")
        arn = aas.register_scalable_target(MinCapacity=1, MaxCapacity=4, Tags={"a": "1"}, **target)["ScalableTargetARN"]
        aas.register_scalable_target(MinCapacity=1, MaxCapacity=3, Tags={"b": "2"}, **target)
        self.assertEqual(aas.list_tags_for_resource(ResourceARN=arn)["Tags"], {"a": "1"}, "creation only")
        aas.tag_resource(ResourceARN=arn, Tags={"c": "3"})
        aas.untag_resource(ResourceARN=arn, TagKeys=["a"])
        self.assertEqual(aas.list_tags_for_resource(ResourceARN=arn)["Tags"], {"c": "3"})
        aas.deregister_scalable_target(**target)
        with self.assertRaises(ClientError) as ctx:
            aas.list_tags_for_resource(ResourceARN=arn)
        self.assertEqual(self.code(ctx), "ResourceNotFoundException")

    def test_new_autoscaling_bounds_move_the_desired_count_into_them_and_say_so(self):
        _, _, _, kwargs = self.service()
        ecs, aas = self.client("ecs"), self.client("application-autoscaling")
        ecs.create_service(**kwargs)
        target = dict(ServiceNamespace="ecs", ResourceId="service/c/s", ScalableDimension="ecs:service:DesiredCount")
        desired = lambda: ecs.describe_services(cluster="c", services=["s"])["services"][0]["desiredCount"]
        aas.register_scalable_target(MinCapacity=1, MaxCapacity=4, **target)
        self.assertEqual(desired(), 2, "inside the bounds: left as it is")
        self.assertEqual(aas.describe_scaling_activities(ServiceNamespace="ecs")["ScalingActivities"], [])
        aas.register_scalable_target(MinCapacity=3, MaxCapacity=4, **target)
        self.assertEqual(desired(), 3)
        aas.register_scalable_target(MinCapacity=1, MaxCapacity=1, **target)
        self.assertEqual(desired(), 1)
        found = aas.describe_scaling_activities(ServiceNamespace="ecs", ResourceId="service/c/s")["ScalingActivities"]
        self.assertEqual([a["Description"] for a in found],
                         ["Setting desired count to 1.", "Setting desired count to 3."])
        self.assertEqual(found[0]["StatusCode"], "Successful")
        # Deregistering the target takes its policies and scheduled actions with it.
        aas.put_scaling_policy(PolicyName="cpu", PolicyType="TargetTrackingScaling", **target,
                               TargetTrackingScalingPolicyConfiguration={
                                   "TargetValue": 60.0, "PredefinedMetricSpecification": {
                                       "PredefinedMetricType": "ECSServiceAverageCPUUtilization"}})
        aas.put_scheduled_action(ScheduledActionName="night", Schedule="cron(0 20 * * ? *)",
                                 ScalableTargetAction={"MinCapacity": 1, "MaxCapacity": 1}, **target)
        aas.deregister_scalable_target(**target)
        self.assertEqual(aas.describe_scaling_policies(ServiceNamespace="ecs")["ScalingPolicies"], [])
        self.assertEqual(aas.describe_scheduled_actions(ServiceNamespace="ecs")["ScheduledActions"], [])
        # The service's deployment settings and grace period are kept, as AWS answers them.
        ecs.update_service(cluster="c", service="s", healthCheckGracePeriodSeconds=90,
                           deploymentConfiguration={"minimumHealthyPercent": 50, "maximumPercent": 150})
        svc = ecs.describe_services(cluster="c", services=["s"])["services"][0]
        self.assertEqual(svc["healthCheckGracePeriodSeconds"], 90)
        self.assertEqual((svc["deploymentConfiguration"]["minimumHealthyPercent"],
                          svc["deploymentConfiguration"]["maximumPercent"]), (50, 150))

    def test_a_capacity_provider_strategy_needs_the_clusters_providers_and_not_the_launch_type(self):
        _, _, _, kwargs = self.service()
        ecs = self.client("ecs")
        spot = [{"capacityProvider": "FARGATE", "base": 1, "weight": 1},
                {"capacityProvider": "FARGATE_SPOT", "weight": 3}]
        on_spot = dict(kwargs, capacityProviderStrategy=spot)
        del on_spot["launchType"]
        with self.assertRaises(ClientError) as ctx:
            ecs.create_service(**on_spot)
        self.assertIn("not associated with the cluster", str(ctx.exception))
        with self.assertRaises(ClientError) as ctx:
            ecs.create_service(**dict(on_spot, launchType="FARGATE"))
        self.assertIn("both a launch type and capacity provider strategy", str(ctx.exception))
        ecs.put_cluster_capacity_providers(cluster="c", capacityProviders=["FARGATE", "FARGATE_SPOT"],
                                           defaultCapacityProviderStrategy=[])
        ecs.create_service(**on_spot)
        svc = ecs.describe_services(cluster="c", services=["s"])["services"][0]
        self.assertEqual([i["capacityProvider"] for i in svc["capacityProviderStrategy"]], ["FARGATE", "FARGATE_SPOT"])
        self.assertNotIn("launchType", svc)
        # Back to the launch type with an empty strategy, and to a strategy again: each only with
        # a new deployment.
        with self.assertRaises(ClientError) as ctx:
            ecs.update_service(cluster="c", service="s", capacityProviderStrategy=[])
        self.assertIn("you must force a new deployment", str(ctx.exception))
        ecs.update_service(cluster="c", service="s", capacityProviderStrategy=[], forceNewDeployment=True)
        svc = ecs.describe_services(cluster="c", services=["s"])["services"][0]
        self.assertEqual(svc.get("launchType"), "FARGATE")
        ecs.update_service(cluster="c", service="s", capacityProviderStrategy=spot, forceNewDeployment=True)
        svc = ecs.describe_services(cluster="c", services=["s"])["services"][0]
        self.assertEqual(len(svc["capacityProviderStrategy"]), 2)

    def test_a_forced_deployment_of_the_same_revision_is_a_new_deployment(self):
        _, _, _, kwargs = self.service()
        ecs = self.client("ecs")
        ecs.create_service(**kwargs)
        first = ecs.describe_services(cluster="c", services=["s"])["services"][0]["deployments"][0]["id"]
        ecs.update_service(cluster="c", service="s", forceNewDeployment=True)
        svc = ecs.describe_services(cluster="c", services=["s"])["services"][0]
        self.assertNotEqual(svc["deployments"][0]["id"], first)
        self.assertEqual(svc["deployments"][0]["rolloutState"], "IN_PROGRESS")
        # Every task is replaced: the old ones (still pending here) stay, under their
        # deployment, until the new ones serve.
        self.assertEqual([d["id"] for d in svc["deployments"]][1:], [first])
        self.assertEqual(svc["pendingCount"], 4, "the first deployment's two, and two new ones")

    def test_new_load_balancers_start_new_tasks_and_the_old_leave_their_groups_once_the_new_serve(self):
        # "When you add, update, or remove a load balancer configuration, Amazon ECS starts
        # new tasks with the updated Elastic Load Balancing configuration, and then stops the
        # old tasks when the new tasks are running" (API_UpdateService, loadBalancers). Steps
        # of 100 s, so every check lands at least 100 s from a change of state.
        post("/_testbed/config", dict(self.profile, scale=SCALE, durations={
            "service_steady": 100, "target_registration": 100, "task_stop": 100, "eni_linger": 100}))
        vpc, _, _, kwargs = self.service()
        ecs, elb = self.client("ecs"), self.client("elbv2")
        old = kwargs["loadBalancers"][0]["targetGroupArn"]
        new = elb.create_target_group(Name="tg2", Protocol="TCP", Port=80, VpcId=vpc, TargetType="ip",
                                      HealthCheckIntervalSeconds=20, HealthyThresholdCount=5)["TargetGroups"][0]["TargetGroupArn"]
        elb.create_listener(LoadBalancerArn=elb.describe_load_balancers(Names=["nlb"])["LoadBalancers"][0]["LoadBalancerArn"],
                            Protocol="TCP", Port=81, DefaultActions=[{"Type": "forward", "TargetGroupArn": new}])
        for group, delay in ((old, "200"), (new, "600")):
            elb.modify_target_group_attributes(TargetGroupArn=group, Attributes=[
                {"Key": "deregistration_delay.timeout_seconds", "Value": delay}])
        ecs.create_service(**kwargs)
        svc = lambda: ecs.describe_services(cluster="c", services=["s"])["services"][0]
        health = lambda tg: sorted((t["Target"]["Id"], t["TargetHealth"]["State"]) for t in
                                   elb.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"])
        aws_seconds(450)  # running at 100, healthy at 100 + 100 + 30 × 5 = 350
        first = health(old)
        self.assertEqual([state for _, state in first], ["healthy", "healthy"])
        self.assertEqual(svc()["deployments"][0]["rolloutState"], "COMPLETED")
        # The same task definition, the old group and a new one: a new deployment.
        both = [kwargs["loadBalancers"][0], dict(kwargs["loadBalancers"][0], targetGroupArn=new)]
        ecs.update_service(cluster="c", service="s", loadBalancers=both)
        started = svc()
        self.assertEqual([(d["status"], d["rolloutState"]) for d in started["deployments"]],
                         [("PRIMARY", "IN_PROGRESS"), ("ACTIVE", "COMPLETED")])
        self.assertEqual(started["pendingCount"], 2, "two new tasks, beside the two running")
        self.assertEqual(health(new), [], "the running tasks were not started with the new group")
        self.assertEqual(health(old), first)
        aws_seconds(200)  # the new tasks run at 100; healthy in the new group at 300, the old at 350
        during = health(old)
        self.assertEqual(sorted(state for _, state in during), ["healthy", "healthy", "initial", "initial"])
        self.assertEqual([state for _, state in health(new)], ["initial", "initial"])
        self.assertEqual(len(svc()["deployments"]), 2)
        # Healthy in the slower group at 100 + 100 + 150 = 350: the deployment is done and the
        # old tasks drain (until 550) from the only group they were in.
        aws_seconds(250)
        done = svc()
        self.assertEqual([(d["status"], d["rolloutState"]) for d in done["deployments"]], [("PRIMARY", "COMPLETED")])
        states = dict(health(old))
        self.assertEqual(sorted(states[ip] for ip, _ in first), ["draining", "draining"])
        self.assertEqual(sorted(state for ip, state in states.items() if ip not in dict(first)), ["healthy", "healthy"])
        self.assertEqual([state for _, state in health(new)], ["healthy", "healthy"])
        # Taking the old group off is a deployment too: the tasks registered with it stay
        # there until their replacements, registered only with the new group, serve.
        aws_seconds(200)
        ecs.update_service(cluster="c", service="s", loadBalancers=both[1:])
        self.assertEqual([state for _, state in health(old)], ["healthy", "healthy"])
        aws_seconds(400)  # running at 100, healthy in the new group at 100 + 100 + 20 × 5 = 300
        self.assertEqual([state for _, state in health(old)], ["draining", "draining"])
        self.assertEqual(sorted(state for _, state in health(new)), ["draining", "draining", "healthy", "healthy"])
        self.assertEqual([d["rolloutState"] for d in svc()["deployments"]], ["COMPLETED"])
        # Each group drains them for its own delay, from 300: the old one 200 s, the new one 600.
        aws_seconds(250)
        self.assertEqual(health(old), [])
        self.assertEqual(sorted(state for _, state in health(new)), ["draining", "draining", "healthy", "healthy"])

    def test_each_target_group_checks_a_tasks_health_on_its_own_settings(self):
        post("/_testbed/config", dict(self.profile, scale=SCALE, durations={
            "service_steady": 100, "target_registration": 100}))
        vpc, _, _, kwargs = self.service()
        ecs, elb = self.client("ecs"), self.client("elbv2")
        slow = kwargs["loadBalancers"][0]["targetGroupArn"]
        elb.modify_target_group(TargetGroupArn=slow, HealthCheckIntervalSeconds=30, HealthyThresholdCount=10)
        fast = elb.create_target_group(Name="tg2", Protocol="TCP", Port=80, VpcId=vpc, TargetType="ip",
                                       HealthCheckIntervalSeconds=10, HealthyThresholdCount=2)["TargetGroups"][0]["TargetGroupArn"]
        elb.create_listener(LoadBalancerArn=elb.describe_load_balancers(Names=["nlb"])["LoadBalancers"][0]["LoadBalancerArn"],
                            Protocol="TCP", Port=81, DefaultActions=[{"Type": "forward", "TargetGroupArn": fast}])
        ecs.create_service(**dict(kwargs, loadBalancers=[
            kwargs["loadBalancers"][0], dict(kwargs["loadBalancers"][0], targetGroupArn=fast)]))
        health = lambda tg: [t["TargetHealth"]["State"] for t in
                             elb.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]]
        aws_seconds(350)  # running at 100: healthy in the fast group at 220, in the slow at 500
        self.assertEqual((health(fast), health(slow)), (["healthy"] * 2, ["initial"] * 2))
        svc = ecs.describe_services(cluster="c", services=["s"])["services"][0]
        self.assertEqual(svc["deployments"][0]["rolloutState"], "IN_PROGRESS", "done once healthy in both")

    def test_a_group_is_in_use_while_a_task_started_in_it_runs_whatever_its_service_says_now(self):
        vpc, subnets, sg, kwargs = self.service()
        ecs, ec2 = self.client("ecs"), self.client("ec2")
        other = ec2.create_security_group(GroupName="g2", Description="g2", VpcId=vpc)["GroupId"]
        ecs.create_service(**dict(kwargs, networkConfiguration={
            "awsvpcConfiguration": {"subnets": subnets, "securityGroups": [sg, other]}}))
        aws_seconds(300)
        ecs.update_service(cluster="c", service="s", networkConfiguration={
            "awsvpcConfiguration": {"subnets": subnets, "securityGroups": [sg]}})
        with self.assertRaises(ClientError) as ctx:
            ec2.delete_security_group(GroupId=other)
        self.assertEqual(self.code(ctx), "DependencyViolation")
        self.assertIn("ECS task", str(ctx.exception))
        # The new tasks serve at 240, the old ones deregister for 300, stop in 10 and their
        # interfaces go in 120: at 670.
        aws_seconds(800)
        ec2.delete_security_group(GroupId=other)

    def register_and_update(self, ecs):
        ecs.register_task_definition(family="f", requiresCompatibilities=["FARGATE"], networkMode="awsvpc",
                                     cpu="256", memory="1024",
                                     containerDefinitions=[{"name": "app", "image": "nginx"}])
        ecs.update_service(cluster="c", service="s", taskDefinition="f:2")

    def role(self, name="exec"):
        trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                                     "Principal": {"Service": "ecs-tasks.amazonaws.com"}}]})
        return self.client("iam").create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]["Arn"]

    def test_a_new_role_fails_the_task_launch_until_ecs_can_use_it(self):
        # Longer than AWS's 10 s, so the calls in between cannot outlast it.
        post("/_testbed/config", dict(self.profile, scale=SCALE,
                                      durations={"iam_role_usable": 500, "service_steady": 1000}))
        _, _, _, kwargs = self.service()
        ecs = self.client("ecs")
        role = self.role()
        ecs.register_task_definition(family="f", requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu="256",
                                     memory="512", executionRoleArn=role,
                                     containerDefinitions=[{"name": "app", "image": "nginx"}])
        kwargs["taskDefinition"] = "f:2"
        # Accepted: the tasks fail to launch, a service event says why, ECS tries every 30 s.
        ecs.create_service(**kwargs)
        svc = lambda: ecs.describe_services(cluster="c", services=["s"])["services"][0]
        first = svc()
        self.assertIn("unable to assume the role", first["events"][0]["message"])
        self.assertIn(role, first["events"][0]["message"])
        aws_seconds(600)  # usable at 500, launched at the retry at 510, running 1000 s later
        self.assertEqual(svc()["runningCount"], 0)
        aws_seconds(1500)
        self.assertEqual(svc()["runningCount"], 2)

    def test_durations_can_be_overridden_and_unknown_ones_are_refused(self):
        post("/_testbed/config", dict(self.profile, scale=SCALE, durations={"nlb_active": 1000}))
        _, subnets, _ = self.network()
        arn = self.nlb(subnets)  # waits 160 AWS seconds
        state = self.client("elbv2").describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"][0]["State"]["Code"]
        self.assertEqual(state, "provisioning")
        with self.assertRaises(urllib.error.HTTPError):
            post("/_testbed/config", dict(self.profile, durations={"nlb_actve": 1}))


class CircuitBreaker(Bed):
    # Rollouts last longer than on AWS, so no check lands within a fraction of a second of
    # a change of state.
    profile = dict(Bed.profile, failing_images=[":broken"],
                   durations={"service_steady": 500, "circuit_breaker": 1000})

    def register(self, image):
        return self.client("ecs").register_task_definition(
            family="f", requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu="256", memory="512",
            containerDefinitions=[{"name": "app", "image": image}])["taskDefinition"]["taskDefinitionArn"]

    def primary(self, svc):
        return next(d for d in svc["deployments"] if d["status"] == "PRIMARY")

    def test_a_first_deployment_whose_tasks_never_start_fails(self):
        _, _, _, kwargs = Provisioning.service(self)
        kwargs["taskDefinition"] = self.register("app:broken")
        ecs = self.client("ecs")
        ecs.create_service(**kwargs)
        svc = lambda: ecs.describe_services(cluster="c", services=["s"])["services"][0]
        aws_seconds(600)
        self.assertEqual((self.primary(svc())["rolloutState"], svc()["runningCount"]), ("IN_PROGRESS", 0))
        aws_seconds(500)
        primary = self.primary(svc())
        self.assertEqual(primary["rolloutState"], "FAILED")
        self.assertIn("circuit breaker", primary["rolloutStateReason"])
        self.assertIn("deployment failed: tasks failed to start", svc()["events"][0]["message"])

    def test_a_deployment_in_progress_is_stopped_and_rolled_back_on_request(self):
        _, _, _, kwargs = Provisioning.service(self)
        good = self.register("app:1")
        kwargs["taskDefinition"] = good
        ecs = self.client("ecs")
        ecs.create_service(**kwargs)
        listed = lambda *status: ecs.list_service_deployments(
            cluster="c", service="s", status=list(status))["serviceDeployments"]
        self.assertEqual([d["status"] for d in listed()], ["IN_PROGRESS"])
        aws_seconds(700)
        done = listed("SUCCESSFUL")
        self.assertEqual(len(done), 1)
        with self.assertRaises(ClientError) as ctx:
            ecs.stop_service_deployment(serviceDeploymentArn=done[0]["serviceDeploymentArn"], stopType="ROLLBACK")
        self.assertEqual(self.code(ctx), "ConflictException")
        # A new revision that would start fine, stopped while it rolls out: back to the last.
        ecs.update_service(cluster="c", service="s", taskDefinition=self.register("app:2"))
        replaced = [(d["status"], d["taskDefinition"]) for d in
                    ecs.describe_services(cluster="c", services=["s"])["services"][0]["deployments"]]
        self.assertEqual(replaced[1:], [("ACTIVE", good)], "the deployment it replaces is ACTIVE")
        rolling = listed("PENDING", "IN_PROGRESS")
        self.assertEqual(len(rolling), 1)
        self.assertTrue(rolling[0]["serviceDeploymentArn"].startswith("arn:aws:ecs:eu-west-1:123456789012:service-deployment/c/s/"))
        ecs.stop_service_deployment(serviceDeploymentArn=rolling[0]["serviceDeploymentArn"], stopType="ROLLBACK")
        svc = ecs.describe_services(cluster="c", services=["s"])["services"][0]
        self.assertEqual(svc["taskDefinition"], good)
        aws_seconds(700)
        self.assertEqual(listed("SUCCESSFUL")[0]["targetServiceRevisionArn"], good)
        with self.assertRaises(ClientError) as ctx:
            ecs.stop_service_deployment(serviceDeploymentArn=rolling[0]["serviceDeploymentArn"][:-2] + "xx")
        self.assertEqual(self.code(ctx), "ServiceDeploymentNotFoundException")

    def test_a_failed_update_is_rolled_back_to_the_last_completed_revision(self):
        _, subnets, sg, kwargs = Provisioning.service(self)
        good = self.register("app:1")
        kwargs["taskDefinition"] = good
        ecs = self.client("ecs")
        ecs.create_service(**kwargs)
        aws_seconds(700)  # 500 to run, 180 to be healthy
        bad = self.register("app:broken")
        # A new task definition and a new network configuration: one service revision.
        ecs.update_service(cluster="c", service="s", taskDefinition=bad, networkConfiguration={
            "awsvpcConfiguration": {"subnets": subnets[:1], "securityGroups": [sg]}})
        svc = lambda: ecs.describe_services(cluster="c", services=["s"])["services"][0]
        self.assertEqual(self.primary(svc())["taskDefinition"], bad)
        aws_seconds(1200)
        now = svc()
        self.assertEqual(now["taskDefinition"], good)
        self.assertEqual(now["networkConfiguration"]["awsvpcConfiguration"]["subnets"], subnets, "rolled back too")
        self.assertEqual((self.primary(now)["taskDefinition"], self.primary(now)["rolloutState"]), (good, "IN_PROGRESS"))
        failed = [d for d in now["deployments"] if d["status"] == "ACTIVE"]
        self.assertEqual([(d["taskDefinition"], d["rolloutState"]) for d in failed], [(bad, "FAILED")])
        aws_seconds(800)
        now = svc()
        self.assertEqual([(d["status"], d["rolloutState"]) for d in now["deployments"]], [("PRIMARY", "COMPLETED")])

    def test_a_rolled_back_forced_deployment_leaves_the_running_tasks_to_a_change_of_count(self):
        _, _, _, kwargs = Provisioning.service(self)
        kwargs["taskDefinition"] = self.register("app:1")
        ecs = self.client("ecs")
        ecs.create_service(**kwargs)
        aws_seconds(700)
        # The same revision's image failing from now on: the forced deployment fails and is
        # rolled back to the tasks that run.
        post("/_testbed/config", dict(self.profile, scale=SCALE, failing_images=[":1"]))
        ecs.update_service(cluster="c", service="s", forceNewDeployment=True)
        aws_seconds(1200)
        post("/_testbed/config", dict(self.profile, scale=SCALE))
        aws_seconds(700)
        svc = lambda: ecs.describe_services(cluster="c", services=["s"])["services"][0]
        self.assertEqual([(d["status"], d["rolloutState"]) for d in svc()["deployments"]], [("PRIMARY", "COMPLETED")])
        ecs.update_service(cluster="c", service="s", desiredCount=3)
        now = svc()
        self.assertEqual((now["runningCount"], now["pendingCount"]), (2, 1), "one more task, none replaced")
        self.assertEqual(len(now["deployments"]), 1)

    def test_tasks_whose_secrets_have_no_endpoint_or_do_not_exist_never_start(self):
        vpc, subnets, sg, kwargs = Provisioning.service(self)
        ec2, ecs = self.client("ec2"), self.client("ecs")
        arn = self.client("secretsmanager").create_secret(Name="db", SecretString="{}")["ARN"]
        self.client("ssm").put_parameter(Name="/app/token", Value="t", Type="SecureString")
        kwargs["taskDefinition"] = self.client("ecs").register_task_definition(
            family="f", requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu="256", memory="512",
            containerDefinitions=[{"name": "app", "image": "app:1", "secrets": [
                {"name": "DB", "valueFrom": f"{arn}:password::"},
                {"name": "TOKEN", "valueFrom": "/app/token"}]}])["taskDefinition"]["taskDefinitionArn"]
        ecs.create_service(**kwargs)
        svc = lambda: ecs.describe_services(cluster="c", services=["s"])["services"][0]
        reasons = lambda: {t["stoppedReason"] for t in ecs.describe_tasks(
            cluster="c", tasks=ecs.list_tasks(cluster="c", desiredStatus="STOPPED")["taskArns"] or ["none"])["tasks"]}
        aws_seconds(1100)
        self.assertEqual(self.primary(svc())["rolloutState"], "FAILED", "no Secrets Manager endpoint")
        self.assertTrue(any("unable to retrieve secret from asm" in r and "i/o timeout" in r for r in reasons()), reasons())
        for service in ("secretsmanager", "ssm"):
            ec2.create_vpc_endpoint(VpcId=vpc, ServiceName=f"com.amazonaws.eu-west-1.{service}",
                                    VpcEndpointType="Interface", SubnetIds=subnets, SecurityGroupIds=[sg])
        ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "UserIdGroupPairs": [{"GroupId": sg}]}])
        self.client("ssm").delete_parameter(Name="/app/token")
        ecs.update_service(cluster="c", service="s", taskDefinition=kwargs["taskDefinition"])
        aws_seconds(1100)
        self.assertEqual(self.primary(svc())["rolloutState"], "FAILED", "the parameter is gone")
        self.assertTrue(any("invalid parameters: /app/token" in r for r in reasons()), reasons())
        self.client("ssm").put_parameter(Name="/app/token", Value="t", Type="SecureString")
        ecs.update_service(cluster="c", service="s", taskDefinition=kwargs["taskDefinition"])
        aws_seconds(1100)
        self.assertEqual(self.primary(svc())["rolloutState"], "COMPLETED")

    def test_tasks_that_cannot_reach_an_endpoint_over_https_never_start(self):
        vpc, subnets, sg, kwargs = Provisioning.service(self)
        ec2, ecs = self.client("ec2"), self.client("ecs")
        vpce_sg = ec2.create_security_group(GroupName="vpce", Description="e", VpcId=vpc)["GroupId"]
        ec2.create_vpc_endpoint(VpcId=vpc, ServiceName="com.amazonaws.eu-west-1.ecr.dkr", VpcEndpointType="Interface",
                                SubnetIds=subnets, SecurityGroupIds=[vpce_sg])
        kwargs["taskDefinition"] = self.register("app:1")
        ecs.create_service(**kwargs)
        svc = lambda: ecs.describe_services(cluster="c", services=["s"])["services"][0]
        aws_seconds(1100)
        self.assertEqual(self.primary(svc())["rolloutState"], "FAILED", "the endpoint's group lets nothing in")
        stopped = ecs.list_tasks(cluster="c", desiredStatus="STOPPED")["taskArns"]
        reasons = {t["stoppedReason"] for t in ecs.describe_tasks(cluster="c", tasks=stopped)["tasks"]}
        self.assertTrue(reasons and all("ResourceInitializationError" in r and "ecr.dkr" in r for r in reasons), reasons)

        https = lambda **peer: [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, **peer}]
        ec2.authorize_security_group_ingress(GroupId=vpce_sg, IpPermissions=https(UserIdGroupPairs=[{"GroupId": sg}]))
        # AWS's all-open egress rule went: the tasks' group must name the way out itself.
        ec2.revoke_security_group_egress(GroupId=sg, IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
        ecs.update_service(cluster="c", service="s", taskDefinition=kwargs["taskDefinition"])
        aws_seconds(1100)
        self.assertEqual(self.primary(svc())["rolloutState"], "FAILED", "the tasks' group lets nothing out")

        ec2.authorize_security_group_egress(GroupId=sg, IpPermissions=https(IpRanges=[{"CidrIp": "10.0.0.0/16"}]))
        ecs.update_service(cluster="c", service="s", taskDefinition=kwargs["taskDefinition"])
        aws_seconds(700)
        now = svc()
        self.assertEqual((self.primary(now)["rolloutState"], now["runningCount"]), ("COMPLETED", 2))

    def test_tasks_with_neither_an_ecr_endpoint_nor_a_way_to_the_internet_never_start(self):
        post("/_testbed/config", dict(self.profile, scale=SCALE, egress=True))
        vpc, subnets, sg, kwargs = Provisioning.service(self)
        ec2, ecs = self.client("ec2"), self.client("ecs")
        kwargs["taskDefinition"] = self.register("app:1")
        ecs.create_service(**kwargs)
        svc = lambda: ecs.describe_services(cluster="c", services=["s"])["services"][0]
        aws_seconds(1100)
        self.assertEqual(self.primary(svc())["rolloutState"], "FAILED", "no way to the registry")
        stopped = ecs.list_tasks(cluster="c", desiredStatus="STOPPED")["taskArns"]
        reasons = {t["stoppedReason"] for t in ecs.describe_tasks(cluster="c", tasks=stopped)["tasks"]}
        self.assertTrue(reasons and all("no ECR endpoint" in r for r in reasons), reasons)

        # A NAT gateway in a public subnet behind an attached internet gateway, the default
        # routes, and 443 out: the tasks start.
        public = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.101.0/24", AvailabilityZone="eu-west-1a")["Subnet"]["SubnetId"]
        igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
        public_table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
        ec2.associate_route_table(RouteTableId=public_table, SubnetId=public)
        ec2.create_route(RouteTableId=public_table, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
        alloc = ec2.allocate_address(Domain="vpc")["AllocationId"]
        nat = ec2.create_nat_gateway(SubnetId=public, AllocationId=alloc)["NatGateway"]["NatGatewayId"]
        aws_seconds(100)
        private_table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
        for subnet in subnets:
            ec2.associate_route_table(RouteTableId=private_table, SubnetId=subnet)
        ec2.create_route(RouteTableId=private_table, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat)
        ecs.update_service(cluster="c", service="s", taskDefinition=kwargs["taskDefinition"])
        aws_seconds(700)
        now = svc()
        self.assertEqual((self.primary(now)["rolloutState"], now["runningCount"]), ("COMPLETED", 2))


class Tasks(Bed):
    # Containers stop and interfaces go for longer than on AWS (10 s, 120 s) and draining is
    # short, so each state lasts long enough to be seen and the service waits on its tasks.
    profile = dict(Bed.profile, durations={"task_stop": 300, "eni_linger": 300, "service_draining": 1})

    def running(self, delay=None, load_balancer=True):
        """A service of 2 RUNNING tasks, their ARNs (its subnets and group in self.subnets,
        self.sg); `delay` sets the target group's deregistration delay."""
        ecs = self.client("ecs")
        if load_balancer:
            _, self.subnets, self.sg, kwargs = Provisioning.service(self)
        else:
            _, self.subnets, self.sg = self.network()
            ecs.create_cluster(clusterName="c")
            ecs.register_task_definition(family="f", requiresCompatibilities=["FARGATE"], networkMode="awsvpc",
                                         cpu="256", memory="512", containerDefinitions=[{"name": "app", "image": "nginx"}])
            kwargs = dict(cluster="c", serviceName="s", taskDefinition="f", desiredCount=2, launchType="FARGATE",
                          networkConfiguration={"awsvpcConfiguration": {"subnets": self.subnets,
                                                                        "securityGroups": [self.sg]}})
        if delay is not None:
            self.set_delay(delay)
        ecs.create_service(**kwargs)
        aws_seconds(160)
        return ecs.list_tasks(cluster="c", serviceName="s")["taskArns"]

    def test_tasks_get_the_service_tags_when_made_only(self):
        ecs = self.client("ecs")
        _, self.subnets, self.sg, kwargs = Provisioning.service(self)
        ecs.create_service(**kwargs, tags=[{"key": "team", "value": "web"}], propagateTags="SERVICE")
        aws_seconds(160)
        task = ecs.list_tasks(cluster="c", serviceName="s")["taskArns"][0]
        self.assertEqual(ecs.list_tags_for_resource(resourceArn=task)["tags"], [{"key": "team", "value": "web"}])
        service = ecs.describe_services(cluster="c", services=["s"])["services"][0]["serviceArn"]
        ecs.tag_resource(resourceArn=service, tags=[{"key": "tier", "value": "1"}])
        self.assertEqual(ecs.list_tags_for_resource(resourceArn=task)["tags"], [{"key": "team", "value": "web"}])
        ecs.tag_resource(resourceArn=task, tags=[{"key": "tier", "value": "1"}])
        self.assertEqual(len(ecs.list_tags_for_resource(resourceArn=task)["tags"]), 2)

    def test_a_task_says_its_zone_and_once_running_the_digest_it_pulled(self):
        ecs, ec2 = self.client("ecs"), self.client("ec2")
        _, self.subnets, self.sg, kwargs = Provisioning.service(self)
        digest = "sha256:" + "ab" * 32
        ecs.register_task_definition(family="f", requiresCompatibilities=["FARGATE"], networkMode="awsvpc",
                                     cpu="256", memory="512",
                                     containerDefinitions=[{"name": "app", "image": f"nginx@{digest}"}])
        ecs.create_service(**kwargs)
        arn = ecs.list_tasks(cluster="c", serviceName="s")["taskArns"][0]
        task = lambda: ecs.describe_tasks(cluster="c", tasks=[arn])["tasks"][0]
        self.assertNotIn("imageDigest", task()["containers"][0])
        aws_seconds(160)
        running = task()
        self.assertEqual(running["lastStatus"], "RUNNING")
        self.assertEqual(running["containers"][0]["imageDigest"], digest)
        self.assertEqual(running["healthStatus"], "UNKNOWN")
        zones = {s["AvailabilityZone"] for s in ec2.describe_subnets(SubnetIds=self.subnets)["Subnets"]}
        self.assertIn(running["availabilityZone"], zones)

    def test_a_cluster_with_a_task_still_running_cannot_be_deleted(self):
        post("/_testbed/config", dict(self.profile, scale=SCALE,
                                      durations=dict(self.profile["durations"], task_run=100000)))
        ecs = self.client("ecs")
        _, self.subnets, self.sg, _ = Provisioning.service(self)
        network = {"awsvpcConfiguration": {"subnets": self.subnets, "securityGroups": [self.sg]}}
        arn = ecs.run_task(cluster="c", taskDefinition="f", launchType="FARGATE", startedBy="me",
                           networkConfiguration=network)["tasks"][0]["taskArn"]
        self.assertEqual(ecs.list_tasks(cluster="c", startedBy="me")["taskArns"], [arn])
        with self.assertRaises(ClientError) as ctx:
            ecs.delete_cluster(cluster="c")
        self.assertEqual(self.code(ctx), "ClusterContainsTasksException")
        ecs.stop_task(cluster="c", task=arn, reason="done")
        ecs.delete_cluster(cluster="c")

    def test_a_one_off_task_writes_its_command_runs_a_while_and_exits_with_its_code(self):
        # Runs long enough (1 s here) for both to be seen running before they exit.
        post("/_testbed/config", dict(self.profile, scale=SCALE,
                                      durations=dict(self.profile["durations"], task_run=500)))
        ecs, logs = self.client("ecs"), self.client("logs")
        _, self.subnets, self.sg, _ = Provisioning.service(self)
        logs.create_log_group(logGroupName="g")
        ecs.register_task_definition(
            family="once", requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu="256",
            memory="512", containerDefinitions=[{"name": "app", "image": "nginx", "logConfiguration": {
                "logDriver": "awslogs", "options": {"awslogs-group": "g", "awslogs-stream-prefix": "ecs"}}}])
        network = {"awsvpcConfiguration": {"subnets": self.subnets, "securityGroups": [self.sg]}}
        arns = {}
        for code, command in ((0, ["migrate"]), (3, ["sh", "-c", "exit 3"])):
            arns[code] = ecs.run_task(cluster="c", taskDefinition="once", launchType="FARGATE",
                                      networkConfiguration=network, overrides={"containerOverrides": [
                                          {"name": "app", "command": command}]})["tasks"][0]["taskArn"]
        status = lambda arn: ecs.describe_tasks(cluster="c", tasks=[arn])["tasks"][0]
        self.assertEqual(status(arns[0])["lastStatus"], "RUNNING")
        aws_seconds(600)
        # Listed as stopped once they ran their course, before anything describes them.
        self.assertEqual(ecs.list_tasks(cluster="c")["taskArns"], [])
        for code, arn in arns.items():
            task = status(arn)
            self.assertEqual((task["lastStatus"], task["containers"][0]["exitCode"]), ("STOPPED", code))
            self.assertEqual(task["stoppedReason"], "Essential container in task exited")
        stream = f"ecs/app/{arns[0].rsplit('/', 1)[1]}"
        events = logs.get_log_events(logGroupName="g", logStreamName=stream)["events"]
        self.assertEqual([e["message"] for e in events], ["migrate"])

    def set_delay(self, seconds):
        elb = self.client("elbv2")
        tg = elb.describe_target_groups(Names=["tg"])["TargetGroups"][0]["TargetGroupArn"]
        elb.modify_target_group_attributes(TargetGroupArn=tg, Attributes=[
            {"Key": "deregistration_delay.timeout_seconds", "Value": str(seconds)}])

    def stop(self, desired=None):
        """Scales the service to `desired`, or deletes it; `after` counts from here."""
        ecs = self.client("ecs")
        if desired is None:
            ecs.delete_service(cluster="c", service="s", force=True)
        else:
            ecs.update_service(cluster="c", service="s", desiredCount=desired)
        self.stopped = time.monotonic()

    def after(self, n):
        """Sleeps until n AWS seconds after the stop: unlike a chain of sleeps, the calls in
        between do not add up against the end of a state."""
        time.sleep(max(0.0, self.stopped + n * SCALE - time.monotonic()))

    def tasks(self, arns):
        return self.client("ecs").describe_tasks(cluster="c", tasks=arns)["tasks"]

    def states(self, arns):
        return {(t["lastStatus"], t["desiredStatus"]) for t in self.tasks(arns)}

    def status(self):
        return self.client("ecs").describe_services(cluster="c", services=["s"])["services"][0]["status"]

    def test_a_service_has_desired_count_tasks_pending_then_running(self):
        _, _, _, kwargs = Provisioning.service(self)
        ecs = self.client("ecs")
        ecs.create_service(**kwargs)
        arns = ecs.list_tasks(cluster="c", serviceName="s")["taskArns"]
        self.assertEqual(len(arns), 2)
        for arn in arns:
            self.assertRegex(arn, r"^arn:aws:ecs:eu-west-1:\d{12}:task/c/[0-9a-f]{32}$")
        self.assertEqual(self.states(arns), {("PENDING", "RUNNING")})
        aws_seconds(160)
        self.assertEqual(sorted(ecs.list_tasks(cluster="c", serviceName="s")["taskArns"]), sorted(arns))
        revision = ecs.describe_task_definition(taskDefinition="f")["taskDefinition"]["taskDefinitionArn"]
        tasks = self.tasks(arns)
        self.assertEqual({(t["lastStatus"], t["desiredStatus"], t["group"], t["launchType"], t["taskDefinitionArn"])
                          for t in tasks}, {("RUNNING", "RUNNING", "service:s", "FARGATE", revision)})
        self.assertTrue(all("startedAt" in t and "stoppingAt" not in t for t in tasks))
        self.assertEqual(ecs.list_tasks(cluster="c", serviceName="s", desiredStatus="STOPPED")["taskArns"], [])

    def test_run_task_tasks_still_list_and_describe(self):
        ecs = self.client("ecs")
        ecs.create_cluster(clusterName="c")
        # moto's RunTask fails on awsvpc task definitions and on containers without memory.
        ecs.register_task_definition(family="f", containerDefinitions=[{"name": "app", "image": "nginx", "memory": 512}])
        arn = ecs.run_task(cluster="c", taskDefinition="f", launchType="FARGATE")["tasks"][0]["taskArn"]
        self.assertEqual(ecs.list_tasks(cluster="c")["taskArns"], [arn])
        self.assertEqual(ecs.list_tasks(cluster="c", serviceName="s")["taskArns"], [], "it belongs to no service")
        self.assertEqual([t["taskArn"] for t in self.tasks([arn])], [arn])

    def test_a_stopped_task_deactivates_for_the_deregistration_delay_then_stops_and_deprovisions(self):
        # States of 600 AWS seconds (1.2 s), each checked in its middle: a loaded machine can
        # be late by a few hundred milliseconds.
        post("/_testbed/config", dict(self.profile, scale=SCALE,
                                      durations={"task_stop": 600, "eni_linger": 600, "service_draining": 1}))
        arns = self.running(delay=600)
        self.stop(desired=0)
        self.set_delay(0)  # the delay is read at the stop request
        self.assertEqual(self.states(arns), {("DEACTIVATING", "STOPPED")})
        self.after(900)
        self.assertEqual(self.states(arns), {("STOPPING", "STOPPED")})
        self.assertFalse(any("executionStoppedAt" in t for t in self.tasks(arns)))
        self.after(1500)
        self.assertEqual(self.states(arns), {("DEPROVISIONING", "STOPPED")})
        self.after(2100)
        self.assertEqual(self.states(arns), {("STOPPED", "STOPPED")})
        task = self.tasks(arns)[0]
        self.assertEqual(task["stopCode"], "ServiceSchedulerInitiated")
        self.assertEqual(task["stoppedReason"], f"Scaling activity initiated by (deployment {task['startedBy']})")
        # The containers exited at the end of STOPPING, 600 + 600 AWS seconds after the stop.
        self.assertAlmostEqual((task["executionStoppedAt"] - task["stoppingAt"]).total_seconds(), 1200 * SCALE, delta=0.01)
        self.assertAlmostEqual((task["stoppedAt"] - task["executionStoppedAt"]).total_seconds(), 600 * SCALE, delta=0.01)

    def test_a_zero_deregistration_delay_stops_the_containers_at_once(self):
        arns = self.running(delay=0)
        self.stop(desired=0)
        self.assertEqual(self.states(arns), {("STOPPING", "STOPPED")})

    def test_an_unset_deregistration_delay_is_300_s(self):
        arns = self.running()
        self.stop(desired=0)
        self.after(150)
        self.assertEqual(self.states(arns), {("DEACTIVATING", "STOPPED")})
        self.after(450)
        self.assertEqual(self.states(arns), {("STOPPING", "STOPPED")})

    def test_a_service_without_a_load_balancer_skips_deactivating(self):
        arns = self.running(load_balancer=False)
        self.stop(desired=0)
        self.assertEqual(self.states(arns), {("STOPPING", "STOPPED")})

    def test_running_count_drops_at_the_stop_request(self):
        self.running(delay=400)
        self.stop(desired=1)
        ecs = self.client("ecs")
        svc = ecs.describe_services(cluster="c", services=["s"])["services"][0]
        self.assertEqual((svc["runningCount"], svc["pendingCount"]), (1, 0))
        stopping = ecs.list_tasks(cluster="c", serviceName="s", desiredStatus="STOPPED")["taskArns"]
        self.assertEqual(self.states(stopping), {("DEACTIVATING", "STOPPED")})
        self.assertEqual(len(ecs.list_tasks(cluster="c", serviceName="s")["taskArns"]), 1)

    def test_a_deleted_service_drains_until_its_tasks_are_stopping(self):
        arns = self.running(delay=1000)
        self.stop()
        self.assertEqual(self.status(), "DRAINING")
        task = self.tasks(arns)[0]
        self.assertEqual((task["lastStatus"], task["stoppedReason"]), ("DEACTIVATING", "Service deleted"))
        self.after(500)
        self.assertEqual(self.status(), "DRAINING")
        self.after(1150)
        self.assertEqual(self.status(), "INACTIVE")
        self.assertEqual(self.states(arns), {("STOPPING", "STOPPED")})

    def test_interfaces_hold_the_subnet_and_group_until_the_task_is_stopped(self):
        # Without a load balancer, which would hold the subnets too.
        arns = self.running(load_balancer=False)
        ec2 = self.client("ec2")
        delete_subnet = lambda: ec2.delete_subnet(SubnetId=self.subnets[0])
        delete_group = lambda: ec2.delete_security_group(GroupId=self.sg)
        self.stop()
        self.after(100)
        self.assertEqual(self.status(), "INACTIVE", "its tasks are STOPPING")
        for delete in (delete_subnet, delete_group):
            with self.assertRaises(ClientError) as ctx:
                delete()
            self.assertEqual(self.code(ctx), "DependencyViolation")
            self.assertIn("ECS task", str(ctx.exception))
        self.after(450)
        self.assertEqual(self.states(arns), {("DEPROVISIONING", "STOPPED")})
        with self.assertRaises(ClientError) as ctx:
            delete_group()
        self.assertEqual(self.code(ctx), "DependencyViolation")
        self.after(650)
        delete_subnet()
        delete_group()

    def test_stopped_tasks_stay_describable_after_the_service_is_inactive(self):
        arns = self.running(load_balancer=False)
        ecs = self.client("ecs")
        self.stop()
        self.after(700)
        self.assertEqual(self.status(), "INACTIVE")
        self.assertEqual(self.states(arns), {("STOPPED", "STOPPED")})
        self.assertEqual(sorted(ecs.list_tasks(cluster="c", serviceName="s", desiredStatus="STOPPED")["taskArns"]),
                         sorted(arns))
        self.assertEqual(ecs.list_tasks(cluster="c", serviceName="s")["taskArns"], [])


class Ordering(Bed):
    def test_vpc_link_on_an_nlb_that_is_not_active_ends_failed(self):
        _, subnets, _ = self.network()
        arn = self.nlb(subnets, wait=False)
        apigw = self.client("apigateway")
        link = apigw.create_vpc_link(name="l", targetArns=[arn])["id"]
        aws_seconds(200)
        got = apigw.get_vpc_link(vpcLinkId=link)
        self.assertEqual(got["status"], "FAILED")
        self.assertIn("not in active state", got["statusMessage"])

    def test_a_second_vpc_link_on_the_same_nlb_ends_failed(self):
        _, subnets, _ = self.network()
        arn = self.nlb(subnets)
        apigw = self.client("apigateway")
        first = apigw.create_vpc_link(name="a", targetArns=[arn])["id"]
        second = apigw.create_vpc_link(name="b", targetArns=[arn])["id"]
        aws_seconds(200)
        self.assertEqual(apigw.get_vpc_link(vpcLinkId=first)["status"], "AVAILABLE")
        self.assertEqual(apigw.get_vpc_link(vpcLinkId=second)["status"], "FAILED")

    def test_nlb_under_a_vpc_link_cannot_be_deleted(self):
        post("/_testbed/config", dict(self.profile, scale=SCALE, durations={"vpc_link_deleting": 500}))
        _, subnets, _ = self.network()
        arn = self.nlb(subnets)
        apigw, elb = self.client("apigateway"), self.client("elbv2")
        link = apigw.create_vpc_link(name="l", targetArns=[arn])["id"]
        with self.assertRaises(ClientError) as ctx:
            elb.delete_load_balancer(LoadBalancerArn=arn)
        self.assertEqual(self.code(ctx), "ResourceInUse")
        apigw.delete_vpc_link(vpcLinkId=link)
        self.assertEqual(apigw.get_vpc_link(vpcLinkId=link)["status"], "DELETING")
        with self.assertRaises(ClientError) as ctx:
            elb.delete_load_balancer(LoadBalancerArn=arn)
        self.assertEqual(self.code(ctx), "ResourceInUse", "a deleting link still holds the NLB")
        aws_seconds(510)
        elb.delete_load_balancer(LoadBalancerArn=arn)

    def test_an_orphaned_endpoint_service_keeps_the_nlb_in_use(self):
        _, subnets, _ = self.network()
        arn = self.nlb(subnets)
        ec2, elb = self.client("ec2"), self.client("elbv2")
        service = ec2.create_vpc_endpoint_service_configuration(
            NetworkLoadBalancerArns=[arn])["ServiceConfiguration"]["ServiceId"]
        with self.assertRaises(ClientError) as ctx:
            elb.delete_load_balancer(LoadBalancerArn=arn)
        self.assertEqual(self.code(ctx), "ResourceInUse")
        self.assertIn(service, str(ctx.exception))
        ec2.delete_vpc_endpoint_service_configurations(ServiceIds=[service])
        elb.delete_load_balancer(LoadBalancerArn=arn)

    def test_vpc_link_used_by_an_integration_cannot_be_deleted(self):
        _, subnets, _ = self.network()
        arn = self.nlb(subnets)
        apigw = self.client("apigateway")
        link = apigw.create_vpc_link(name="l", targetArns=[arn])["id"]
        api = apigw.create_rest_api(name="api")
        root = api["rootResourceId"]
        apigw.put_method(restApiId=api["id"], resourceId=root, httpMethod="ANY", authorizationType="NONE")
        apigw.put_integration(restApiId=api["id"], resourceId=root, httpMethod="ANY", type="HTTP_PROXY",
                              integrationHttpMethod="ANY", uri="http://nlb:80/", connectionType="VPC_LINK",
                              connectionId=link)
        with self.assertRaises(ClientError) as ctx:
            apigw.delete_vpc_link(vpcLinkId=link)
        self.assertEqual(self.code(ctx), "BadRequestException")

    def test_a_deployment_any_stage_serves_cannot_be_deleted(self):
        apigw = self.client("apigateway")
        api = apigw.create_rest_api(name="api")
        root = api["rootResourceId"]
        apigw.put_method(restApiId=api["id"], resourceId=root, httpMethod="ANY", authorizationType="NONE")
        apigw.put_integration(restApiId=api["id"], resourceId=root, httpMethod="ANY", type="MOCK")
        first = apigw.create_deployment(restApiId=api["id"])["id"]
        second = apigw.create_deployment(restApiId=api["id"])["id"]
        # A stage made later, not by CreateDeployment, serves the first deployment.
        apigw.create_stage(restApiId=api["id"], stageName="dev", deploymentId=first)
        with self.assertRaises(ClientError) as ctx:
            apigw.delete_deployment(restApiId=api["id"], deploymentId=first)
        self.assertEqual(self.code(ctx), "BadRequestException")
        apigw.delete_deployment(restApiId=api["id"], deploymentId=second)
        self.assertEqual([d["id"] for d in apigw.get_deployments(restApiId=api["id"])["items"]], [first])

    def test_create_service_needs_a_listener_on_the_target_group(self):
        _, _, _, kwargs = Provisioning.service(self, ecs_listener=False)
        with self.assertRaises(ClientError) as ctx:
            self.client("ecs").create_service(**kwargs)
        self.assertEqual(self.code(ctx), "InvalidParameterException")

    def test_subnet_and_group_wait_for_lingering_interfaces(self):
        # Tasks stop and deprovision for longer than on AWS, so the checks cannot miss them.
        post("/_testbed/config", dict(self.profile, scale=SCALE, durations={"task_stop": 300, "eni_linger": 300}))
        vpc, subnets, sg, kwargs = Provisioning.service(self)
        ecs, ec2 = self.client("ecs"), self.client("ec2")
        ecs.create_service(**kwargs)
        with self.assertRaises(ClientError) as ctx:
            ec2.delete_security_group(GroupId=sg)
        self.assertEqual(self.code(ctx), "DependencyViolation", "a running service uses it")
        aws_seconds(160)
        ecs.delete_service(cluster="c", service="s", force=True)
        aws_seconds(450)  # deregistered after 300 s: the tasks are STOPPING, the service INACTIVE
        self.assertEqual(ecs.describe_services(cluster="c", services=["s"])["services"][0]["status"], "INACTIVE")
        with self.assertRaises(ClientError) as ctx:
            ec2.delete_security_group(GroupId=sg)
        self.assertEqual(self.code(ctx), "DependencyViolation", "the tasks' interfaces linger")
        self.assertIn("ECS task", str(ctx.exception))
        # A settings change mid-run keeps what is in flight: the interfaces still linger.
        post("/_testbed/config", dict(self.profile, scale=SCALE))
        with self.assertRaises(ClientError) as ctx:
            ec2.delete_security_group(GroupId=sg)
        self.assertEqual(self.code(ctx), "DependencyViolation", "kept across a config change")
        aws_seconds(500)  # STOPPED 900 s after the delete
        ec2.delete_security_group(GroupId=sg)

    def test_a_group_another_groups_rule_names_cannot_be_deleted(self):
        vpc, _, sg = self.network()
        ec2 = self.client("ec2")
        other = ec2.create_security_group(GroupName="other", Description="o", VpcId=vpc)["GroupId"]
        rule = [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "UserIdGroupPairs": [{"GroupId": sg}]}]
        ec2.authorize_security_group_ingress(GroupId=other, IpPermissions=rule)
        with self.assertRaises(ClientError) as ctx:
            ec2.delete_security_group(GroupId=sg)
        self.assertEqual(self.code(ctx), "DependencyViolation")
        self.assertIn(other, str(ctx.exception))
        # A rule is found to revoke without its description, as AWS does.
        described = [dict(rule[0], UserIdGroupPairs=[{"GroupId": sg, "Description": "tasks"}])]
        ec2.authorize_security_group_egress(GroupId=other, IpPermissions=described)
        ec2.revoke_security_group_egress(GroupId=other, IpPermissions=rule)
        ec2.revoke_security_group_ingress(GroupId=other, IpPermissions=rule)
        ec2.delete_security_group(GroupId=sg)


class WhatMotoDrops(Bed):
    def test_a_tcp_target_group_with_an_http_check_keeps_a_new_matcher(self):
        vpc, _, _ = self.network()
        elb = self.client("elbv2")
        tg = elb.create_target_group(Name="tg", Protocol="TCP", Port=80, VpcId=vpc, TargetType="ip",
                                     HealthCheckProtocol="HTTP", HealthCheckPath="/",
                                     Matcher={"HttpCode": "200-399"})["TargetGroups"][0]["TargetGroupArn"]
        elb.modify_target_group(TargetGroupArn=tg, Matcher={"HttpCode": "200"})
        group = elb.describe_target_groups(TargetGroupArns=[tg])["TargetGroups"][0]
        self.assertEqual(group["Matcher"]["HttpCode"], "200")

    def test_a_log_group_takes_and_drops_a_kms_key(self):
        logs = self.client("logs")
        logs.create_log_group(logGroupName="g")
        key = f"arn:aws:kms:{REGION}:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
        logs.associate_kms_key(logGroupName="g", kmsKeyId=key)
        self.assertEqual(logs.describe_log_groups(logGroupNamePrefix="g")["logGroups"][0]["kmsKeyId"], key)
        logs.disassociate_kms_key(logGroupName="g")
        self.assertNotIn("kmsKeyId", logs.describe_log_groups(logGroupNamePrefix="g")["logGroups"][0])
        with self.assertRaises(ClientError) as ctx:
            logs.associate_kms_key(logGroupName="nope", kmsKeyId=key)
        self.assertEqual(self.code(ctx), "ResourceNotFoundException")

    def test_client_tokens_return_the_first_result(self):
        vpc, subnets, sg = self.network()
        ec2 = self.client("ec2")
        args = dict(VpcId=vpc, ServiceName="com.amazonaws.eu-west-1.logs", VpcEndpointType="Interface",
                    SubnetIds=subnets, SecurityGroupIds=[sg], ClientToken="same")
        first = ec2.create_vpc_endpoint(**args)["VpcEndpoint"]["VpcEndpointId"]
        self.assertEqual(ec2.create_vpc_endpoint(**args)["VpcEndpoint"]["VpcEndpointId"], first)
        _, _, _, kwargs = Provisioning.service(self)
        ecs = self.client("ecs")
        a = ecs.create_service(**kwargs)["service"]["serviceArn"]
        b = ecs.create_service(**kwargs)["service"]["serviceArn"]
        self.assertEqual(a, b)

    def test_same_name_load_balancer_and_target_group(self):
        vpc, subnets, _ = self.network()
        elb = self.client("elbv2")
        first = self.nlb(subnets, wait=False)
        self.assertEqual(self.nlb(subnets, wait=False), first)
        with self.assertRaises(ClientError) as ctx:
            elb.create_load_balancer(Name="nlb", Subnets=subnets[:1], Scheme="internal", Type="network")
        self.assertEqual(self.code(ctx), "DuplicateLoadBalancerName")
        tg = lambda port: elb.create_target_group(Name="tg", Protocol="TCP", Port=port, VpcId=vpc, TargetType="ip")
        self.assertEqual(tg(80)["TargetGroups"][0]["TargetGroupArn"], tg(80)["TargetGroups"][0]["TargetGroupArn"])
        with self.assertRaises(ClientError) as ctx:
            tg(81)
        self.assertEqual(self.code(ctx), "DuplicateTargetGroupName")

    def test_an_nlb_arn_says_net_and_keeps_its_tags(self):
        _, subnets, _ = self.network()
        elb = self.client("elbv2")
        arn = elb.create_load_balancer(Name="tagged", Subnets=subnets, Scheme="internal", Type="network",
                                       Tags=[{"Key": "k", "Value": "v"}])["LoadBalancers"][0]["LoadBalancerArn"]
        self.assertIn(":loadbalancer/net/tagged/", arn)
        tags = elb.describe_tags(ResourceArns=[arn])["TagDescriptions"][0]["Tags"]
        self.assertEqual(tags, [{"Key": "k", "Value": "v"}])
        self.assertEqual(elb.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"][0]["LoadBalancerName"],
                         "tagged")

    def test_api_gateway_tags_every_resource_by_arn(self):
        apigw = self.client("apigateway")
        api = apigw.create_rest_api(name="api", tags={"a": "1"})["id"]
        link = apigw.create_vpc_link(name="l", targetArns=["arn:nlb"], tags={"a": "1"})["id"]
        plan = apigw.create_usage_plan(name="p", tags={"a": "1"})["id"]
        key = apigw.create_api_key(name="k", tags={"a": "1"})["id"]
        for path in (f"/restapis/{api}", f"/vpclinks/{link}", f"/usageplans/{plan}", f"/apikeys/{key}"):
            arn = f"arn:aws:apigateway:{REGION}::{path}"
            apigw.tag_resource(resourceArn=arn, tags={"b": "2"})
            apigw.untag_resource(resourceArn=arn, tagKeys=["a"])
            self.assertEqual(apigw.get_tags(resourceArn=arn)["tags"], {"b": "2"}, path)
        self.assertEqual(apigw.get_rest_api(restApiId=api)["tags"], {"b": "2"})
        self.assertEqual(apigw.get_vpc_link(vpcLinkId=link)["tags"], {"b": "2"})
        with self.assertRaises(ClientError) as ctx:
            apigw.tag_resource(resourceArn=f"arn:aws:apigateway:{REGION}::/restapis/nope", tags={"b": "2"})
        self.assertEqual(self.code(ctx), "NotFoundException")

    def test_integration_connection_id_and_deployment_configuration_are_kept(self):
        _, _, _, kwargs = Provisioning.service(self)
        ecs = self.client("ecs")
        ecs.create_service(**kwargs)
        svc = ecs.describe_services(cluster="c", services=["s"])["services"][0]
        self.assertEqual(svc["deploymentConfiguration"]["deploymentCircuitBreaker"], {"enable": True, "rollback": True})
        apigw = self.client("apigateway")
        api = apigw.create_rest_api(name="api")
        root = api["rootResourceId"]
        apigw.put_method(restApiId=api["id"], resourceId=root, httpMethod="ANY", authorizationType="NONE")
        apigw.put_integration(restApiId=api["id"], resourceId=root, httpMethod="ANY", type="HTTP_PROXY",
                              integrationHttpMethod="ANY", uri="http://nlb:80/", connectionType="VPC_LINK",
                              connectionId="abc123")
        got = apigw.get_integration(restApiId=api["id"], resourceId=root, httpMethod="ANY")
        self.assertEqual((got["connectionId"], got["connectionType"]), ("abc123", "VPC_LINK"))


class WhatMotoForgives(Bed):
    # Deletions last longer than on AWS, so the checks cannot miss their window.
    profile = dict(Bed.profile, durations={"service_draining": 500, "endpoint_deleting": 500})

    def test_a_service_name_is_taken_while_active_or_draining(self):
        _, _, _, kwargs = Provisioning.service(self)
        ecs = self.client("ecs")
        ecs.create_service(**kwargs)
        again = dict(kwargs, clientToken="another-token")
        with self.assertRaises(ClientError) as ctx:
            ecs.create_service(**again)
        self.assertIn("not idempotent", str(ctx.exception))
        ecs.update_service(cluster="c", service="s", desiredCount=0)
        ecs.delete_service(cluster="c", service="s", force=True)
        with self.assertRaises(ClientError) as ctx:
            ecs.create_service(**again)
        self.assertIn("still Draining", str(ctx.exception))
        aws_seconds(510)
        ecs.create_service(**again)

    def test_one_private_dns_endpoint_per_service_and_vpc(self):
        vpc, subnets, sg = self.network()
        ec2 = self.client("ec2")
        args = dict(VpcId=vpc, ServiceName="com.amazonaws.eu-west-1.logs", VpcEndpointType="Interface",
                    SubnetIds=subnets, SecurityGroupIds=[sg], PrivateDnsEnabled=True)
        first = ec2.create_vpc_endpoint(**args)["VpcEndpoint"]["VpcEndpointId"]
        with self.assertRaises(ClientError) as ctx:
            ec2.create_vpc_endpoint(**args)
        self.assertEqual(self.code(ctx), "InvalidParameter")
        self.assertIn("conflicting DNS domain for logs.eu-west-1.amazonaws.com", str(ctx.exception))
        ec2.delete_vpc_endpoints(VpcEndpointIds=[first])
        with self.assertRaises(ClientError):
            ec2.create_vpc_endpoint(**args)  # still deleting
        aws_seconds(510)
        ec2.create_vpc_endpoint(**args)

    def test_a_rest_apis_tls_policy_is_kept_and_an_enhanced_one_needs_an_access_mode(self):
        apigw = self.client("apigateway")
        old = apigw.create_rest_api(name="old")
        self.assertEqual(old["securityPolicy"], "TLS_1_0")
        with self.assertRaises(ClientError) as ctx:
            apigw.create_rest_api(name="x", securityPolicy="SecurityPolicy_TLS13_1_2_2021_06")
        self.assertEqual(self.code(ctx), "BadRequestException")
        new = apigw.create_rest_api(name="new", securityPolicy="SecurityPolicy_TLS13_1_2_2021_06",
                                    endpointAccessMode="BASIC")
        got = apigw.get_rest_api(restApiId=new["id"])
        self.assertEqual((got["securityPolicy"], got["endpointAccessMode"]),
                         ("SecurityPolicy_TLS13_1_2_2021_06", "BASIC"))
        apigw.update_rest_api(restApiId=old["id"], patchOperations=[
            {"op": "replace", "path": "/securityPolicy", "value": "SecurityPolicy_TLS13_1_2_2021_06"},
            {"op": "replace", "path": "/endpointAccessMode", "value": "BASIC"}])
        self.assertEqual(apigw.get_rest_apis()["items"][0]["securityPolicy"], "SecurityPolicy_TLS13_1_2_2021_06")

    def test_a_method_cannot_be_put_twice(self):
        apigw = self.client("apigateway")
        api = apigw.create_rest_api(name="api")
        args = dict(restApiId=api["id"], resourceId=api["rootResourceId"], httpMethod="ANY", authorizationType="NONE")
        apigw.put_method(**args)
        with self.assertRaises(ClientError) as ctx:
            apigw.put_method(**args)
        self.assertEqual(self.code(ctx), "ConflictException")


class LiveTail(Bed):
    profile = dict(Bed.profile, live_tail=True)

    def test_a_session_starts_then_sends_the_lines_ingested_since(self):
        logs = self.client("logs")
        logs.create_log_group(logGroupName="/g")
        for stream in ("ecs/app/t1", "ecs/app/t2"):
            logs.create_log_stream(logGroupName="/g", logStreamName=stream)
        put = lambda stream, text: logs.put_log_events(logGroupName="/g", logStreamName=stream, logEvents=[
            {"timestamp": int(time.time() * 1000), "message": text}])
        put("ecs/app/t1", "before the session")
        arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/g"
        session = logs.start_live_tail(logGroupIdentifiers=[arn], logStreamNamePrefixes=["ecs/app/t1"],
                                       logEventFilterPattern="ERROR")
        events = iter(session["responseStream"])
        self.assertIn("sessionStart", next(events))
        put("ecs/app/t1", "ERROR one")
        put("ecs/app/t1", "fine")
        put("ecs/app/t2", "ERROR another stream")
        got = []
        for _ in range(20):
            update = next(events)["sessionUpdate"]
            got += [(r["logStreamName"], r["message"]) for r in update["sessionResults"]]
            if got:
                break
        self.assertEqual(got, [("ecs/app/t1", "ERROR one")])
        session["responseStream"].close()

    def test_without_the_setting_moto_ends_the_session_after_one_update(self):
        post("/_testbed/config", {"scale": SCALE})
        logs = self.client("logs")
        logs.create_log_group(logGroupName="/g")
        session = logs.start_live_tail(logGroupIdentifiers=["arn:aws:logs:eu-west-1:123456789012:log-group:/g"])
        self.assertEqual([list(e) for e in session["responseStream"]], [["sessionStart"], ["sessionUpdate"]])


class RateLimitsFaultsAndCallLog(Bed):
    def test_rate_limits_answer_with_the_service_throttling_error(self):
        # Slower time here: at the fast scale a 30 s bucket refills between two calls.
        slow = 0.05
        post("/_testbed/config", dict(self.profile, scale=slow))
        apigw = self.client("apigateway")
        a, b = apigw.create_rest_api(name="a")["id"], apigw.create_rest_api(name="b")["id"]
        apigw.delete_rest_api(restApiId=a)
        with self.assertRaises(ClientError) as ctx:
            apigw.delete_rest_api(restApiId=b)
        self.assertEqual(self.code(ctx), "TooManyRequestsException")
        self.assertEqual(ctx.exception.response["ResponseMetadata"]["HTTPStatusCode"], 429)
        aws_seconds(31, slow)
        apigw.delete_rest_api(restApiId=b)
        # The endpoint bucket refills at 0.3 per second: real time, so calls cannot outrun it.
        post("/_testbed/config", dict(self.profile, scale=1.0))
        vpc, subnets, sg = self.network()
        ec2 = self.client("ec2")
        codes = []
        for i in range(6):
            try:
                ec2.create_vpc_endpoint(VpcId=vpc, ServiceName="com.amazonaws.eu-west-1.logs",
                                        VpcEndpointType="Interface", SubnetIds=subnets, ClientToken=f"t{i}",
                                        PrivateDnsEnabled=False)
                codes.append("ok")
            except ClientError as err:
                codes.append(err.response["Error"]["Code"])
        self.assertEqual(codes[:4], ["ok"] * 4, "a bucket of 4")
        self.assertIn("RequestLimitExceeded", codes[4:])

    def throttle_everything(self, seed=3, **rule):
        post("/_testbed/config", {"scale": SCALE, "faults": {"seed": seed, "rules": [dict({"match": "*"}, **rule)]}})

    def test_throttling_has_each_protocol_shape(self):
        self.throttle_everything(throttle=1.0)
        calls = [
            (lambda: self.client("ec2").describe_vpcs(), "RequestLimitExceeded"),
            (lambda: self.client("elbv2").describe_load_balancers(), "Throttling"),
            (lambda: self.client("iam").list_roles(), "Throttling"),
            (lambda: self.client("ecs").list_clusters(), "ThrottlingException"),
            (lambda: self.client("logs").describe_log_groups(), "ThrottlingException"),
            (lambda: self.client("apigateway").get_rest_apis(), "TooManyRequestsException"),
        ]
        for call, code in calls:
            with self.assertRaises(ClientError) as ctx:
                call()
            self.assertEqual(self.code(ctx), code)

    def test_a_denied_call_is_refused_in_each_services_words(self):
        post("/_testbed/config", {"scale": SCALE, "faults": {"seed": 1, "rules": [
            {"match": "elasticloadbalancing.DescribeTargetHealth", "deny": 1.0},
            {"match": "ec2", "deny": 1.0}, {"match": "ecs", "deny": 1.0},
            {"match": "apigateway", "deny": 1.0}]}})
        calls = [
            (lambda: self.client("ec2").describe_vpcs(), "UnauthorizedOperation", 403),
            (lambda: self.client("elbv2").describe_target_health(
                TargetGroupArn="arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/t/1"),
             "AccessDenied", 403),
            (lambda: self.client("ecs").list_clusters(), "AccessDeniedException", 400),
            (lambda: self.client("apigateway").get_rest_apis(), "AccessDeniedException", 403),
        ]
        for call, code, status in calls:
            with self.assertRaises(ClientError) as ctx:
                call()
            self.assertEqual(self.code(ctx), code)
            self.assertEqual(ctx.exception.response["ResponseMetadata"]["HTTPStatusCode"], status)
        # Only what the rules name is denied.
        self.client("elbv2").describe_load_balancers()
        self.assertEqual(get("/_testbed/calls")["elasticloadbalancing.DescribeTargetHealth"]["refused"], 1)

    def test_server_errors_are_5xx(self):
        self.throttle_everything(error=1.0)
        with self.assertRaises(ClientError) as ctx:
            self.client("ecs").list_clusters()
        self.assertGreaterEqual(ctx.exception.response["ResponseMetadata"]["HTTPStatusCode"], 500)

    def outcomes(self, seed):
        self.throttle_everything(seed=seed, throttle=0.5)
        got = []
        for _ in range(20):
            try:
                self.client("ecs").list_clusters()
                got.append("ok")
            except ClientError:
                got.append("throttled")
        return got

    def test_faults_are_reproducible_from_the_seed(self):
        first, again, other = self.outcomes(11), self.outcomes(11), self.outcomes(12)
        self.assertEqual(first, again)
        self.assertNotEqual(first, other)
        self.assertIn("ok", first)
        self.assertIn("throttled", first)

    def test_the_dice_of_an_operation_ignore_other_operations_in_between(self):
        alone = self.outcomes(11)
        self.throttle_everything(seed=11, throttle=0.5)
        mixed = []
        for i in range(20):
            for _ in range(i % 3):
                try:
                    self.client("ec2").describe_vpcs()
                except ClientError:
                    pass
            try:
                self.client("ecs").list_clusters()
                mixed.append("ok")
            except ClientError:
                mixed.append("throttled")
        self.assertEqual(alone, mixed)

    def test_a_hung_call_takes_effect_and_a_limit_stops_the_rule(self):
        # moto builds a region's EC2 backend (default VPC, images) at its first call, which
        # can outlast the impatient client's timeout below: built first.
        self.client("ec2").create_vpc(CidrBlock="10.6.0.0/16")
        post("/_testbed/config", {"scale": SCALE, "faults": {"seed": 1, "rules": [
            {"match": "ec2.CreateVpc", "hang": 1.0, "hang_seconds": 2, "limit": 1}]}})
        impatient = boto3.client(
            "ec2", region_name=REGION, endpoint_url=endpoint,
            aws_access_key_id="testing", aws_secret_access_key="testing",
            config=Config(retries={"total_max_attempts": 1, "mode": "standard"}, read_timeout=0.5),
        )
        with self.assertRaises(Exception):
            impatient.create_vpc(CidrBlock="10.7.0.0/16")
        self.assertEqual(get("/_testbed/calls")["ec2.CreateVpc"]["hung"], 1)
        cidrs = [v["CidrBlock"] for v in impatient.describe_vpcs()["Vpcs"]]
        self.assertIn("10.7.0.0/16", cidrs, "the hung call took effect")
        impatient.create_vpc(CidrBlock="10.8.0.0/16")  # the rule fired its one time

    def test_a_lost_answer_takes_effect(self):
        self.throttle_everything(lost=1.0)
        ec2 = self.client("ec2")
        with self.assertRaises(Exception):
            ec2.create_vpc(CidrBlock="10.9.0.0/16")
        post("/_testbed/config", {"scale": SCALE})
        cidrs = [v["CidrBlock"] for v in ec2.describe_vpcs()["Vpcs"]]
        self.assertIn("10.9.0.0/16", cidrs)

    def test_latency_is_added(self):
        self.throttle_everything(latency=1.0, latency_ms=300)
        started = time.monotonic()
        self.client("ecs").list_clusters()
        self.assertGreaterEqual(time.monotonic() - started, 0.3)

    def test_the_call_log_names_ecs_task_calls(self):
        ecs = self.client("ecs")
        ecs.create_cluster(clusterName="c")
        ecs.list_tasks(cluster="c")
        ecs.describe_tasks(cluster="c", tasks=["0" * 32])
        calls = get("/_testbed/calls")
        self.assertEqual((calls["ecs.ListTasks"]["ok"], calls["ecs.DescribeTasks"]["ok"]), (1, 1))

    def test_the_call_log_counts_operations_and_outcomes(self):
        post("/_testbed/reset")
        ec2 = self.client("ec2")
        ec2.describe_vpcs()
        ec2.describe_vpcs()
        with self.assertRaises(ClientError):
            ec2.delete_vpc(VpcId="vpc-00000000")
        calls = get("/_testbed/calls")
        self.assertEqual(calls["ec2.DescribeVpcs"]["count"], 2)
        self.assertEqual(calls["ec2.DescribeVpcs"]["ok"], 2)
        self.assertEqual(calls["ec2.DeleteVpc"]["refused"], 1)
        self.assertEqual(calls["ec2.DeleteVpc"]["codes"], {"InvalidVpcID.NotFound": 1})
        self.assertGreater(calls["ec2.DescribeVpcs"]["total_ms"], 0)


    def test_the_call_log_keeps_the_resources_iam_authorizes_each_call_against(self):
        post("/_testbed/reset")
        ec2, ecs, iam = self.client("ec2"), self.client("ecs"), self.client("iam")
        vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
        ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")
        ec2.describe_vpcs()
        ecs.create_cluster(clusterName="c")
        ecs.describe_services(cluster="c", services=["s"])
        iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")
        self.client("apigateway").get_rest_apis()
        secret = self.client("secretsmanager").create_secret(Name="db", SecretString="x")["ARN"]
        self.client("secretsmanager").describe_secret(SecretId=secret)
        calls = get("/_testbed/calls")
        self.assertEqual(calls["secretsmanager.DescribeSecret"]["resources"], [secret])
        arn = "arn:aws:ec2:eu-west-1:123456789012"
        self.assertEqual(calls["ec2.CreateSubnet"]["resources"], [f"{arn}:subnet/*", f"{arn}:vpc/{vpc}"])
        self.assertEqual(calls["ec2.DescribeVpcs"]["resources"], ["*"])
        self.assertEqual(calls["ecs.DescribeServices"]["resources"],
                         ["arn:aws:ecs:eu-west-1:123456789012:service/c/s"])
        self.assertEqual(calls["iam.CreateRole"]["resources"], ["arn:aws:iam::123456789012:role/r"])
        self.assertEqual(calls["apigateway.GetRestApis"]["resources"], ["arn:aws:apigateway:eu-west-1::/restapis"])

class ReadsLagWrites(Bed):
    # A lag long enough that the calls after a create land inside it, at this scale.
    profile = dict(Bed.profile, consistency=True, durations={"read_lag": 400})

    def refused(self, call):
        with self.assertRaises(ClientError) as ctx:
            call()
        return self.code(ctx)

    def test_new_network_ids_are_not_found_for_a_while_but_creates_that_name_them_are_served(self):
        ec2 = self.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone="eu-west-1a")["Subnet"]["SubnetId"]
        group = ec2.create_security_group(GroupName="g", Description="g", VpcId=vpc)["GroupId"]
        table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
        rule = [{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "10.0.0.0/16"}]}]
        lagging = [
            (lambda: ec2.describe_vpc_attribute(VpcId=vpc, Attribute="enableDnsSupport"), "InvalidVpcID.NotFound"),
            (lambda: ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True}), "InvalidVpcID.NotFound"),
            (lambda: ec2.describe_subnets(SubnetIds=[subnet]), "InvalidSubnetID.NotFound"),
            (lambda: ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=rule), "InvalidGroup.NotFound"),
            (lambda: ec2.describe_route_tables(RouteTableIds=[table]), "InvalidRouteTableID.NotFound"),
            (lambda: ec2.delete_vpc(VpcId=vpc), "InvalidVpcID.NotFound"),
        ]
        for call, code in lagging:
            self.assertEqual(self.refused(call), code)
        # A search by filter is not an id named outright.
        self.assertEqual(len(ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]), 1)
        aws_seconds(410)
        ec2.describe_subnets(SubnetIds=[subnet])
        ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=rule)
        self.assertEqual(ec2.describe_vpcs(VpcIds=[vpc])["Vpcs"][0]["VpcId"], vpc)

    def test_a_new_role_is_no_such_entity_for_a_while(self):
        iam = self.client("iam")
        Provisioning.role(self, "fresh")
        self.assertEqual(self.refused(lambda: iam.get_role(RoleName="fresh")), "NoSuchEntity")
        policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "logs:*", "Resource": "*"}]})
        put = lambda: iam.put_role_policy(RoleName="fresh", PolicyName="p", PolicyDocument=policy)
        self.assertEqual(self.refused(put), "NoSuchEntity")
        aws_seconds(410)
        put()
        self.assertEqual(iam.get_role(RoleName="fresh")["Role"]["RoleName"], "fresh")

    def test_a_new_load_balancer_is_not_found_for_a_while(self):
        _, subnets, _ = self.network()
        aws_seconds(410)
        arn = self.nlb(subnets, wait=False)
        elb = self.client("elbv2")
        describe = lambda: elb.describe_load_balancers(LoadBalancerArns=[arn])
        self.assertEqual(self.refused(describe), "LoadBalancerNotFound")
        aws_seconds(410)
        self.assertEqual(describe()["LoadBalancers"][0]["LoadBalancerArn"], arn)

    def test_create_service_right_after_its_cluster_or_listener_is_refused(self):
        _, _, _, kwargs = Provisioning.service(self)
        ecs = self.client("ecs")
        # The cluster and the listener were made moments ago.
        with self.assertRaises(ClientError) as ctx:
            ecs.create_service(**kwargs)
        self.assertEqual(self.code(ctx), "ClusterNotFoundException")
        aws_seconds(410)
        elb = self.client("elbv2")
        lb = elb.describe_load_balancers(Names=["nlb"])["LoadBalancers"][0]
        tg = elb.create_target_group(Name="tg2", Protocol="TCP", Port=81, VpcId=lb["VpcId"],
                                     TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
        elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="TCP", Port=81,
                            DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])
        balancers = [dict(kwargs["loadBalancers"][0], targetGroupArn=tg)]
        with self.assertRaises(ClientError) as ctx:
            ecs.create_service(**dict(kwargs, loadBalancers=balancers))
        self.assertEqual(self.code(ctx), "InvalidParameterException")
        self.assertIn("does not have an associated load balancer", str(ctx.exception))

    def test_update_service_naming_a_new_listeners_target_group_is_refused_for_a_while(self):
        _, _, _, kwargs = Provisioning.service(self)
        aws_seconds(410)
        ecs, elb = self.client("ecs"), self.client("elbv2")
        ecs.create_service(**kwargs)
        lb = elb.describe_load_balancers(Names=["nlb"])["LoadBalancers"][0]
        group = lambda name, port: elb.create_target_group(
            Name=name, Protocol="TCP", Port=port, VpcId=lb["VpcId"], TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
        listened, alone = group("tg2", 81), group("tg3", 82)
        elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="TCP", Port=81,
                            DefaultActions=[{"Type": "forward", "TargetGroupArn": listened}])
        update = lambda tg: ecs.update_service(cluster="c", service="s", loadBalancers=[
            dict(kwargs["loadBalancers"][0], targetGroupArn=tg)])
        self.assertEqual(self.refused(lambda: update(listened)), "InvalidParameterException")
        aws_seconds(410)
        self.assertEqual(self.refused(lambda: update(alone)), "InvalidParameterException", "no listener at all")
        update(listened)
        self.assertEqual(ecs.describe_services(cluster="c", services=["s"])["services"][0]["loadBalancers"][0]
                         ["targetGroupArn"], listened)

    def test_every_create_then_every_id_is_served_after_the_lag(self):
        _, _, _, kwargs = Provisioning.service(self)
        aws_seconds(410)
        self.assertEqual(self.client("ecs").create_service(**kwargs)["service"]["serviceName"], "s")


class NewAccount(Bed):
    profile = dict(Bed.profile, new_account=True, durations={"slr_usable": 400})

    def test_the_first_create_cluster_makes_the_ecs_role_and_is_refused_until_it_is_usable(self):
        ecs, iam = self.client("ecs"), self.client("iam")
        with self.assertRaises(ClientError) as ctx:
            ecs.create_cluster(clusterName="c")
        self.assertEqual(self.code(ctx), "InvalidParameterException")
        self.assertIn("Unable to assume the service linked role", str(ctx.exception))
        self.assertEqual(iam.get_role(RoleName="AWSServiceRoleForECS")["Role"]["Path"], "/aws-service-role/ecs.amazonaws.com/")
        aws_seconds(410)
        ecs.create_cluster(clusterName="c")

    def test_a_role_made_up_front_is_usable_once_propagated_and_a_second_one_has_been_taken(self):
        iam, ecs = self.client("iam"), self.client("ecs")
        iam.create_service_linked_role(AWSServiceName="ecs.amazonaws.com")
        with self.assertRaises(ClientError) as ctx:
            iam.create_service_linked_role(AWSServiceName="ecs.amazonaws.com")
        self.assertEqual(self.code(ctx), "InvalidInput")
        self.assertIn("has been taken", str(ctx.exception))
        with self.assertRaises(ClientError):
            ecs.create_cluster(clusterName="c")
        aws_seconds(410)
        ecs.create_cluster(clusterName="c")

    def test_the_first_load_balancer_makes_the_elb_role(self):
        _, subnets, _ = self.network()
        self.nlb(subnets, wait=False)
        role = self.client("iam").get_role(RoleName="AWSServiceRoleForElasticLoadBalancing")["Role"]
        self.assertEqual(role["Path"], "/aws-service-role/elasticloadbalancing.amazonaws.com/")


class ZoneIds(Bed):
    profile = dict(Bed.profile, zone_ids={"us-east-1a": "use1-az3", "us-east-1e": "use1-az6"})

    def test_this_account_maps_zone_names_to_its_own_ids(self):
        ec2 = self.client("ec2", region="us-east-1")
        zones = {z["ZoneName"]: z["ZoneId"] for z in ec2.describe_availability_zones()["AvailabilityZones"]}
        self.assertEqual((zones["us-east-1a"], zones["us-east-1e"], zones["us-east-1b"]),
                         ("use1-az3", "use1-az6", "use1-az1"))
        vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.8.1.0/24", AvailabilityZone="us-east-1a")["Subnet"]
        self.assertEqual(subnet["AvailabilityZoneId"], "use1-az3")


class OptInRegions(Bed):
    profile = dict(Bed.profile, disabled_regions=["ap-east-1"])

    def test_a_region_the_account_has_not_enabled_rejects_every_token(self):
        sts = boto3.client("sts", region_name="ap-east-1", endpoint_url=endpoint,
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        with self.assertRaises(ClientError) as ctx:
            sts.get_caller_identity()
        self.assertEqual(self.code(ctx), "InvalidClientTokenId")
        self.assertEqual(self.client("sts").get_caller_identity()["Account"], "123456789012")


class ZoneOfferings(Bed):
    profile = dict(Bed.profile, endpoint_zones_missing={"logs": ["eu-west-1c"]})

    def test_an_endpoint_service_lists_only_the_zones_it_is_offered_in(self):
        ec2 = self.client("ec2")
        names = ["com.amazonaws.eu-west-1.logs", "com.amazonaws.eu-west-1.ecr.api"]
        details = {d["ServiceName"]: d["AvailabilityZones"]
                   for d in ec2.describe_vpc_endpoint_services(ServiceNames=names)["ServiceDetails"]}
        self.assertNotIn("eu-west-1c", details["com.amazonaws.eu-west-1.logs"])
        self.assertIn("eu-west-1c", details["com.amazonaws.eu-west-1.ecr.api"])
        post("/_testbed/config", dict(Bed.profile, scale=SCALE))
        again = ec2.describe_vpc_endpoint_services(ServiceNames=names[:1])["ServiceDetails"][0]
        self.assertIn("eu-west-1c", again["AvailabilityZones"], "moto's own list is untouched")


class Traffic(Bed):
    """The data plane: a request through stage, integration, VPC link, NLB, listener and target
    group to a task."""
    profile = dict(Bed.profile, durations={"service_steady": 10, "target_registration": 10})

    def stack(self, desired=1):
        _, _, _, kwargs = Provisioning.service(self)  # an active NLB, its listener on 80
        elb, ecs, apigw = self.client("elbv2"), self.client("ecs"), self.client("apigateway")
        lb = elb.describe_load_balancers(Names=["nlb"])["LoadBalancers"][0]
        tg = kwargs["loadBalancers"][0]["targetGroupArn"]
        elb.modify_target_group(TargetGroupArn=tg, HealthCheckPath="/health",
                                HealthCheckIntervalSeconds=10, HealthyThresholdCount=2)
        ecs.create_service(**dict(kwargs, desiredCount=desired))
        link = apigw.create_vpc_link(name="l", targetArns=[lb["LoadBalancerArn"]])["id"]
        api = apigw.create_rest_api(name="api")["id"]
        root = apigw.get_resources(restApiId=api)["items"][0]["id"]
        proxy = apigw.create_resource(restApiId=api, parentId=root, pathPart="{proxy+}")["id"]
        for resource, uri in ((root, "/"), (proxy, "/{proxy}")):
            apigw.put_method(restApiId=api, resourceId=resource, httpMethod="ANY", authorizationType="NONE")
            apigw.put_integration(restApiId=api, resourceId=resource, httpMethod="ANY", type="HTTP_PROXY",
                                  integrationHttpMethod="ANY", connectionType="VPC_LINK", connectionId=link,
                                  uri=f"http://{lb['DNSName']}:80{uri}")
        deployment = apigw.create_deployment(restApiId=api)["id"]
        apigw.create_stage(restApiId=api, stageName="dev", deploymentId=deployment)
        aws_seconds(200)  # the link becomes available, the tasks healthy
        return api, lb, tg

    def cross_zone(self, lb):
        self.client("elbv2").modify_load_balancer_attributes(
            LoadBalancerArn=lb["LoadBalancerArn"],
            Attributes=[{"Key": "load_balancing.cross_zone.enabled", "Value": "true"}])

    def call(self, api, path="/", stage="dev"):
        try:
            with urllib.request.urlopen(f"{endpoint}/_testbed/invoke/{api}/{stage}{path}") as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()

    def test_a_request_reaches_a_task_and_each_broken_hop_answers_as_aws_does(self):
        api, lb, _ = self.stack(desired=2)
        elb = self.client("elbv2")
        elb.modify_load_balancer_attributes(LoadBalancerArn=lb["LoadBalancerArn"], Attributes=[
            {"Key": "load_balancing.cross_zone.enabled", "Value": "true"}])
        status, body = self.call(api, "/orders/7")
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["path"], "/orders/7")
        self.assertEqual(self.call(api, "/health"), (200, "ok"))
        self.assertEqual(self.call(api, "/", stage="prod")[0], 403)
        listener = elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"][0]
        elb.delete_listener(ListenerArn=listener["ListenerArn"])
        self.assertEqual(self.call(api)[0], 503)

    def test_without_cross_zone_a_request_entering_a_zone_without_a_task_times_out(self):
        api, lb, _ = self.stack(desired=1)
        statuses = sorted(self.call(api)[0] for _ in range(4))
        self.assertEqual(statuses, [200, 200, 504, 504], "the NLB's two zones take turns")
        self.client("elbv2").modify_load_balancer_attributes(LoadBalancerArn=lb["LoadBalancerArn"], Attributes=[
            {"Key": "load_balancing.cross_zone.enabled", "Value": "true"}])
        self.assertEqual({self.call(api)[0] for _ in range(4)}, {200})

    def test_no_running_task_times_out(self):
        api, _, _ = self.stack(desired=1)
        self.client("ecs").update_service(cluster="c", service="s", desiredCount=0)
        aws_seconds(400)
        self.assertEqual(self.call(api)[0], 504)


    def test_a_stage_serves_the_snapshot_its_deployment_took(self):
        api, lb, _ = self.stack(desired=1)
        apigw = self.client("apigateway")
        self.cross_zone(lb)
        root = next(r for r in apigw.get_resources(restApiId=api)["items"] if r["path"] == "/")
        integration = apigw.get_integration(restApiId=api, resourceId=root["id"], httpMethod="ANY")
        apigw.put_integration(restApiId=api, resourceId=root["id"], httpMethod="ANY", type="HTTP_PROXY",
                              integrationHttpMethod="ANY", connectionType="VPC_LINK",
                              connectionId=integration["connectionId"],
                              uri=integration["uri"].replace(":80/", ":9999/"))
        self.assertEqual(self.call(api)[0], 200, "not deployed yet: the old snapshot serves")
        deployment = apigw.create_deployment(restApiId=api)["id"]
        apigw.update_stage(restApiId=api, stageName="dev", patchOperations=[
            {"op": "replace", "path": "/deploymentId", "value": deployment}])
        self.assertEqual(self.call(api)[0], 503, "no listener on 9999")
        self.assertEqual(self.call(api, "/orders")[0], 200, "the {proxy+} method was not changed")

    def test_a_throttled_stage_answers_429_beyond_its_burst(self):
        api, lb, _ = self.stack(desired=1)
        self.cross_zone(lb)
        self.client("apigateway").update_stage(restApiId=api, stageName="dev", patchOperations=[
            {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "0.5"},
            {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "2"}])
        statuses = [self.call(api)[0] for _ in range(3)]
        self.assertEqual(statuses, [200, 200, 429])
        time.sleep(2.2)  # one token back at 0.5 per second
        self.assertEqual(self.call(api)[0], 200)

    def test_a_method_throttled_on_its_own_has_its_own_bucket(self):
        api, lb, _ = self.stack(desired=1)
        self.cross_zone(lb)
        self.client("apigateway").update_stage(restApiId=api, stageName="dev", patchOperations=[
            {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "0.1"},
            {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "1"},
            {"op": "replace", "path": "/~1{proxy+}/ANY/throttling/rateLimit", "value": "0.1"},
            {"op": "replace", "path": "/~1{proxy+}/ANY/throttling/burstLimit", "value": "3"}])
        self.assertEqual([self.call(api, "/orders")[0] for _ in range(4)], [200, 200, 200, 429])
        self.assertEqual([self.call(api)[0] for _ in range(2)], [200, 429], "/ keeps the stage's bucket")

    def test_a_method_with_iam_authorization_refuses_unsigned_requests_once_deployed(self):
        api, lb, _ = self.stack(desired=1)
        apigw = self.client("apigateway")
        self.cross_zone(lb)
        root = next(r for r in apigw.get_resources(restApiId=api)["items"] if r["path"] == "/")
        method = apigw.update_method(restApiId=api, resourceId=root["id"], httpMethod="ANY", patchOperations=[
            {"op": "replace", "path": "/authorizationType", "value": "AWS_IAM"}])
        self.assertEqual(method["authorizationType"], "AWS_IAM")
        self.assertEqual(self.call(api)[0], 200, "not deployed yet")
        deployment = apigw.create_deployment(restApiId=api)["id"]
        apigw.update_stage(restApiId=api, stageName="dev", patchOperations=[
            {"op": "replace", "path": "/deploymentId", "value": deployment}])
        status, body = self.call(api)
        self.assertEqual((status, json.loads(body)["message"]), (403, "Missing Authentication Token"))
        req = urllib.request.Request(f"{endpoint}/_testbed/invoke/{api}/dev/", headers={
            "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261127/eu-west-1/execute-api/aws4_request, SignedHeaders=host, Signature=0"})
        with urllib.request.urlopen(req) as resp:
            self.assertEqual(resp.status, 200)
        self.assertEqual(self.call(api, "/orders")[0], 200, "{proxy+} kept no authorization")

    def test_a_stage_writes_its_access_log_once_the_account_names_a_cloudwatch_role(self):
        api, lb, _ = self.stack(desired=1)
        self.cross_zone(lb)
        apigw, iam, logs = self.client("apigateway"), self.client("iam"), self.client("logs")
        logs.create_log_group(logGroupName="access")
        group_arn = f"arn:aws:logs:{REGION}:123456789012:log-group:access"
        set_log = lambda: apigw.update_stage(restApiId=api, stageName="dev", patchOperations=[
            {"op": "replace", "path": "/accessLogSettings/destinationArn", "value": group_arn},
            {"op": "replace", "path": "/accessLogSettings/format",
             "value": '{"status":"$context.status","path":"$context.path","caller":"$context.identity.caller"}'}])
        with self.assertRaises(ClientError) as ctx:
            set_log()
        self.assertEqual(self.code(ctx), "BadRequestException")
        self.assertIn("CloudWatch Logs role ARN must be set", str(ctx.exception))

        # IAM shows a new role late, for longer than AWS does, so the refusal below is seen
        # even on a busy machine.
        post("/_testbed/config", dict(self.profile, scale=SCALE,
                                      durations=dict(self.profile["durations"], iam_role_usable=1000)))
        name_role = lambda arn: apigw.update_account(patchOperations=[
            {"op": "replace", "path": "/cloudwatchRoleArn", "value": arn}])
        with self.assertRaises(ClientError) as ctx:
            name_role("arn:aws:iam::123456789012:role/nobody")
        self.assertEqual(self.code(ctx), "BadRequestException", "a role that does not exist")
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                           "Principal": {"Service": "apigateway.amazonaws.com"}}]}
        role = iam.create_role(RoleName="logging", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        with self.assertRaises(ClientError) as ctx:
            name_role(role)
        self.assertIn("does not have required permissions", str(ctx.exception), "IAM has not shown it yet")
        aws_seconds(1100)
        name_role(role)
        self.assertEqual(apigw.get_account()["cloudwatchRoleArn"], role)

        set_log()
        self.assertEqual(self.call(api, "/orders")[0], 200)
        events = logs.filter_log_events(logGroupName="access")["events"]
        self.assertEqual([json.loads(e["message"]) for e in events],
                         [{"status": "200", "path": "/orders", "caller": "-"}])

    def test_a_method_that_requires_an_api_key_takes_only_a_key_of_a_plan_of_the_stage(self):
        api, lb, _ = self.stack(desired=1)
        apigw = self.client("apigateway")
        self.cross_zone(lb)
        for resource in apigw.get_resources(restApiId=api)["items"]:
            apigw.update_method(restApiId=api, resourceId=resource["id"], httpMethod="ANY", patchOperations=[
                {"op": "replace", "path": "/apiKeyRequired", "value": "true"}])
        deployment = apigw.create_deployment(restApiId=api)["id"]
        apigw.update_stage(restApiId=api, stageName="dev", patchOperations=[
            {"op": "replace", "path": "/deploymentId", "value": deployment}])
        key = apigw.create_api_key(name="k", enabled=True)
        with_key = lambda value: self.call_with(api, {"x-api-key": value})[0]
        self.assertEqual(self.call(api)[0], 403, "no key")
        self.assertEqual(with_key(key["value"]), 403, "a key in no plan")
        plan = apigw.create_usage_plan(name="p", apiStages=[{"apiId": api, "stage": "dev"}])["id"]
        apigw.create_usage_plan_key(usagePlanId=plan, keyId=key["id"], keyType="API_KEY")
        self.assertEqual(with_key(key["value"]), 200)
        self.assertEqual(with_key("not-the-key"), 403)
        apigw.update_api_key(apiKey=key["id"], patchOperations=[{"op": "replace", "path": "/enabled", "value": "false"}])
        self.assertEqual(with_key(key["value"]), 403, "a disabled key")

    def test_authorizer_methods_want_their_header_and_an_authorizer_outlives_no_method_using_it(self):
        api, lb, _ = self.stack(desired=1)
        apigw = self.client("apigateway")
        self.cross_zone(lb)
        pool = "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_Abc123"
        authorizer = apigw.create_authorizer(restApiId=api, name="a", type="COGNITO_USER_POOLS",
                                             providerARNs=[pool],
                                             identitySource="method.request.header.Authorization")["id"]
        root = next(r for r in apigw.get_resources(restApiId=api)["items"] if r["path"] == "/")
        set_auth = lambda kind, *more: apigw.update_method(
            restApiId=api, resourceId=root["id"], httpMethod="ANY",
            patchOperations=[{"op": "replace", "path": "/authorizationType", "value": kind}, *more])
        set_auth("COGNITO_USER_POOLS", {"op": "replace", "path": "/authorizerId", "value": authorizer})
        deployment = apigw.create_deployment(restApiId=api)["id"]
        apigw.update_stage(restApiId=api, stageName="dev", patchOperations=[
            {"op": "replace", "path": "/deploymentId", "value": deployment}])
        self.assertEqual(self.call(api)[0], 401, "no token")
        self.assertEqual(self.call_with(api, {"Authorization": "not-a-jwt"})[0], 401)
        self.assertEqual(self.call_with(api, {"Authorization": "eyJh.eyJz.c2ln"})[0], 200)
        with self.assertRaises(ClientError) as ctx:
            apigw.delete_authorizer(restApiId=api, authorizerId=authorizer)
        self.assertIn("is referenced in method", str(ctx.exception))
        set_auth("NONE")
        apigw.delete_authorizer(restApiId=api, authorizerId=authorizer)

        # A Lambda authorizer's method wants its identity source header before any call.
        function = "arn:aws:lambda:eu-west-1:123456789012:function:f"
        token = apigw.create_authorizer(
            restApiId=api, name="l", type="TOKEN", identitySource="method.request.header.Authorization",
            authorizerUri=f"arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/{function}/invocations")["id"]
        set_auth("CUSTOM", {"op": "replace", "path": "/authorizerId", "value": token})
        deployment = apigw.create_deployment(restApiId=api)["id"]
        apigw.update_stage(restApiId=api, stageName="dev", patchOperations=[
            {"op": "replace", "path": "/deploymentId", "value": deployment}])
        self.assertEqual(self.call(api)[0], 401, "no header")
        self.assertEqual(self.call_with(api, {"Authorization": "anything"})[0], 200, "no function is run")

    def call_with(self, api, headers, path="/"):
        req = urllib.request.Request(f"{endpoint}/_testbed/invoke/{api}/dev{path}", headers=headers)
        try:
            with urllib.request.urlopen(req) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()

    def test_a_failed_vpc_link_or_load_balancer_refuses_requests(self):
        api, lb, _ = self.stack(desired=1)
        apigw = self.client("apigateway")
        self.cross_zone(lb)
        self.assertEqual(self.call(api)[0], 200)
        post("/_testbed/fail", {"load_balancer": "nlb"})
        state = self.client("elbv2").describe_load_balancers(Names=["nlb"])["LoadBalancers"][0]["State"]
        self.assertEqual(state["Code"], "failed")
        self.assertEqual(self.call(api)[0], 503)
        link = apigw.get_vpc_links()["items"][0]["id"]
        post("/_testbed/fail", {"vpc_link": link, "reason": "the endpoint service failed"})
        self.assertEqual(apigw.get_vpc_link(vpcLinkId=link)["status"], "FAILED")
        self.assertEqual(apigw.get_vpc_link(vpcLinkId=link)["statusMessage"], "the endpoint service failed")
        self.assertEqual(self.call(api)[0], 500)
        with self.assertRaises(urllib.error.HTTPError) as refused:
            post("/_testbed/fail", {"subnet": "x"})
        self.assertEqual(refused.exception.code, 400)


class VpcLinksV2(Bed):
    """V2 links: network interfaces in subnets, made without a load balancer, that hold their
    subnets and groups until well after they are deleted; integrations name the load
    balancer (integrationTarget)."""
    profile = dict(Bed.profile, durations={"service_steady": 10, "target_registration": 10,
                                           "eni_linger": 100})

    def link(self, subnets, group):
        return self.client("apigatewayv2").create_vpc_link(
            Name="l2", SubnetIds=subnets, SecurityGroupIds=[group])["VpcLinkId"]

    def status(self, link):
        return self.client("apigatewayv2").get_vpc_link(VpcLinkId=link)["VpcLinkStatus"]

    def test_a_v2_link_is_pending_then_available_with_no_load_balancer_at_all(self):
        _, subnets, sg = self.network()
        link = self.link(subnets, sg)
        self.assertEqual(self.status(link), "PENDING")
        aws_seconds(100)
        self.assertEqual(self.status(link), "AVAILABLE")
        self.assertEqual(self.client("apigatewayv2").get_vpc_links()["Items"][0]["VpcLinkVersion"], "V2")

    def test_a_v2_link_needs_subnets_and_groups_that_exist_in_one_vpc(self):
        _, subnets, sg = self.network()
        with self.assertRaises(ClientError) as ctx:
            self.link(subnets + ["subnet-00000000"], sg)
        self.assertEqual(self.code(ctx), "BadRequestException")
        other = self.client("ec2").create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
        foreign = self.client("ec2").create_security_group(GroupName="o", Description="o", VpcId=other)["GroupId"]
        with self.assertRaises(ClientError) as ctx:
            self.link(subnets, foreign)
        self.assertEqual(self.code(ctx), "BadRequestException")

    def test_a_v2_link_holds_its_group_and_subnets_until_its_interfaces_are_gone(self):
        _, subnets, sg = self.network()
        ec2, v2 = self.client("ec2"), self.client("apigatewayv2")
        link = self.link(subnets, sg)
        aws_seconds(100)
        for delete in (lambda: ec2.delete_security_group(GroupId=sg),
                       lambda: ec2.delete_subnet(SubnetId=subnets[0])):
            with self.assertRaises(ClientError) as ctx:
                delete()
            self.assertEqual(self.code(ctx), "DependencyViolation")
        v2.delete_vpc_link(VpcLinkId=link)
        self.assertEqual(self.status(link), "DELETING")
        aws_seconds(40)
        with self.assertRaises(ClientError) as ctx:
            v2.get_vpc_link(VpcLinkId=link)
        self.assertEqual(self.code(ctx), "NotFoundException")
        with self.assertRaises(ClientError) as ctx:
            ec2.delete_security_group(GroupId=sg)
        self.assertEqual(self.code(ctx), "DependencyViolation", "its interfaces linger")
        self.assertIn(f"VPC link {link}", str(ctx.exception))
        aws_seconds(110)
        ec2.delete_security_group(GroupId=sg)

    def test_a_v2_link_an_integration_names_cannot_be_deleted(self):
        _, subnets, sg = self.network()
        link = self.link(subnets, sg)
        apigw = self.client("apigateway")
        api = apigw.create_rest_api(name="api")
        root = api["rootResourceId"]
        apigw.put_method(restApiId=api["id"], resourceId=root, httpMethod="ANY", authorizationType="NONE")
        apigw.put_integration(restApiId=api["id"], resourceId=root, httpMethod="ANY", type="HTTP_PROXY",
                              integrationHttpMethod="ANY", uri="http://nlb:80/", connectionType="VPC_LINK",
                              connectionId=link, integrationTarget="arn:aws:elasticloadbalancing:x")
        self.assertEqual(apigw.get_integration(restApiId=api["id"], resourceId=root, httpMethod="ANY")
                         ["integrationTarget"], "arn:aws:elasticloadbalancing:x")
        with self.assertRaises(ClientError) as ctx:
            self.client("apigatewayv2").delete_vpc_link(VpcLinkId=link)
        self.assertEqual(self.code(ctx), "BadRequestException")
        apigw.delete_integration(restApiId=api["id"], resourceId=root, httpMethod="ANY")
        self.client("apigatewayv2").delete_vpc_link(VpcLinkId=link)

    def test_a_request_goes_through_a_v2_link_to_the_integrations_target_if_its_group_lets_it(self):
        # The link stays pending long enough for the API to be set up on a busy machine.
        post("/_testbed/config", dict(self.profile, scale=SCALE, durations=dict(
            self.profile["durations"], vpc_link_v2_available=1000)))
        vpc, subnets, sg, kwargs = Provisioning.service(self)  # an active NLB, its listener on 80
        elb, ecs, apigw, ec2 = (self.client(s) for s in ("elbv2", "ecs", "apigateway", "ec2"))
        lb = elb.describe_load_balancers(Names=["nlb"])["LoadBalancers"][0]
        elb.modify_load_balancer_attributes(LoadBalancerArn=lb["LoadBalancerArn"], Attributes=[
            {"Key": "load_balancing.cross_zone.enabled", "Value": "true"}])
        ecs.create_service(**kwargs)
        group = ec2.create_security_group(GroupName="link", Description="l", VpcId=vpc)["GroupId"]
        ec2.revoke_security_group_egress(GroupId=group, IpPermissions=[
            {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
        link = self.link(subnets, group)
        api = apigw.create_rest_api(name="api")
        root = api["rootResourceId"]
        apigw.put_method(restApiId=api["id"], resourceId=root, httpMethod="ANY", authorizationType="NONE")

        def integrate(target):
            apigw.put_integration(restApiId=api["id"], resourceId=root, httpMethod="ANY", type="HTTP_PROXY",
                                  integrationHttpMethod="ANY", connectionType="VPC_LINK", connectionId=link,
                                  uri=f"http://{lb['DNSName']}:80/", **target)
            deployment = apigw.create_deployment(restApiId=api["id"])["id"]
            try:
                apigw.create_stage(restApiId=api["id"], stageName="dev", deploymentId=deployment)
            except ClientError:
                apigw.update_stage(restApiId=api["id"], stageName="dev", patchOperations=[
                    {"op": "replace", "path": "/deploymentId", "value": deployment}])

        integrate({"integrationTarget": lb["LoadBalancerArn"]})
        call = lambda: Traffic.call(self, api["id"])[0]
        self.assertEqual(call(), 500, "the link is still pending")
        aws_seconds(1010)
        self.assertEqual(call(), 504, "its group lets nothing out")
        ec2.authorize_security_group_egress(GroupId=group, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "10.0.0.0/16"}]}])
        self.assertEqual(call(), 200)
        integrate({})
        self.assertEqual(call(), 500, "a V2 link's integration must name its load balancer")
        integrate({"integrationTarget": lb["LoadBalancerArn"]})
        self.assertEqual(call(), 200)
        post("/_testbed/fail", {"vpc_link": link, "reason": "no room for an interface"})
        got = self.client("apigatewayv2").get_vpc_link(VpcLinkId=link)
        self.assertEqual((got["VpcLinkStatus"], got["VpcLinkStatusMessage"]),
                         ("FAILED", "no room for an interface"))
        self.assertEqual(call(), 500, "a failed link serves nothing")


class PlainProfile(Bed):
    profile = {}

    def test_plain_is_moto_as_it_is(self):
        _, subnets, _ = self.network()
        arn = self.nlb(subnets, wait=False)
        state = self.client("elbv2").describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"][0]["State"]["Code"]
        self.assertEqual(state, "active")

    def test_a_new_task_definition_is_a_new_deployment_done_at_once(self):
        _, _, _, kwargs = Provisioning.service(self)
        ecs = self.client("ecs")
        ecs.create_service(**kwargs)
        second = ecs.register_task_definition(
            family="f", requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu="256",
            memory="512", containerDefinitions=[{"name": "app", "image": "nginx:2"}])["taskDefinition"]
        ecs.update_service(cluster="c", service="s", taskDefinition=second["taskDefinitionArn"])
        deployments = ecs.describe_services(cluster="c", services=["s"])["services"][0]["deployments"]
        self.assertEqual([(d["status"], d["taskDefinition"], d["rolloutState"]) for d in deployments],
                         [("PRIMARY", second["taskDefinitionArn"], "COMPLETED")])



class ApplicationLoadBalancers(Bed):
    """ALBs: provisioning, HTTP listeners and target groups only, security groups their
    interfaces hold, the data plane through those groups, and request-count scaling labels."""
    profile = dict(Bed.profile, durations={"service_steady": 10, "target_registration": 10,
                                           "eni_linger": 100})

    def alb(self, subnets, group, wait=True):
        arn = self.client("elbv2").create_load_balancer(
            Name="alb", Subnets=subnets, SecurityGroups=[group], Scheme="internal",
            Type="application")["LoadBalancers"][0]["LoadBalancerArn"]
        if wait:
            aws_seconds(130)
        return arn

    def test_an_alb_is_provisioning_then_active_with_an_app_arn(self):
        _, subnets, sg = self.network()
        arn = self.alb(subnets, sg, wait=False)
        self.assertIn(":loadbalancer/app/alb/", arn)
        state = lambda: self.client("elbv2").describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"][0]["State"]["Code"]
        self.assertEqual(state(), "provisioning")
        aws_seconds(130)
        self.assertEqual(state(), "active")

    def test_an_alb_listener_forwards_to_http_target_groups_only(self):
        vpc, subnets, sg = self.network()
        elb = self.client("elbv2")
        lb = self.alb(subnets, sg, wait=False)
        tcp = elb.create_target_group(Name="tcp", Protocol="TCP", Port=80, VpcId=vpc, TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
        http = elb.create_target_group(Name="http", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
        for protocol, group in (("TCP", http), ("HTTP", tcp)):
            with self.assertRaises(ClientError) as ctx:
                elb.create_listener(LoadBalancerArn=lb, Protocol=protocol, Port=80,
                                    DefaultActions=[{"Type": "forward", "TargetGroupArn": group}])
            self.assertEqual(self.code(ctx), "ValidationError", protocol)
        elb.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=80,
                            DefaultActions=[{"Type": "forward", "TargetGroupArn": http}])
        nlb = self.nlb(subnets, wait=False)
        with self.assertRaises(ClientError) as ctx:
            elb.create_listener(LoadBalancerArn=nlb, Protocol="TCP", Port=80,
                                DefaultActions=[{"Type": "forward", "TargetGroupArn": http}])
        self.assertEqual(self.code(ctx), "ValidationError")

    def test_an_albs_group_is_held_while_it_exists_and_after_by_its_interfaces(self):
        _, subnets, sg = self.network()
        ec2, elb = self.client("ec2"), self.client("elbv2")
        lb = self.alb(subnets, sg, wait=False)
        with self.assertRaises(ClientError) as ctx:
            ec2.delete_security_group(GroupId=sg)
        self.assertEqual(self.code(ctx), "DependencyViolation")
        self.assertIn("load balancer alb", str(ctx.exception))
        elb.delete_load_balancer(LoadBalancerArn=lb)
        with self.assertRaises(ClientError) as ctx:
            ec2.delete_security_group(GroupId=sg)
        self.assertEqual(self.code(ctx), "DependencyViolation", "its interfaces linger")
        aws_seconds(110)
        ec2.delete_security_group(GroupId=sg)

    def serving(self):
        """An active ALB with an HTTP listener on 80, a service behind it, a V2 link and an
        API whose stage sends to the ALB; (call, alb group, link group, scalable service id,
        ALB ARN, target group ARN)."""
        post("/_testbed/config", dict(self.profile, scale=SCALE, durations=dict(
            self.profile["durations"], vpc_link_v2_available=1000)))
        vpc, subnets, sg, kwargs = Provisioning.service(self, ecs_listener=False)
        elb, ecs, apigw, ec2 = (self.client(s) for s in ("elbv2", "ecs", "apigateway", "ec2"))
        link_group = ec2.create_security_group(GroupName="link", Description="l", VpcId=vpc)["GroupId"]
        alb_group = ec2.create_security_group(GroupName="alb", Description="a", VpcId=vpc)["GroupId"]
        lb = self.alb(subnets, alb_group)
        tg = elb.create_target_group(Name="web", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
        elb.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=80,
                            DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])
        kwargs["loadBalancers"] = [{"targetGroupArn": tg, "containerName": "app", "containerPort": 80}]
        ecs.create_service(**kwargs)
        link = self.client("apigatewayv2").create_vpc_link(
            Name="l2", SubnetIds=subnets, SecurityGroupIds=[link_group])["VpcLinkId"]
        api = apigw.create_rest_api(name="api")
        root = api["rootResourceId"]
        apigw.put_method(restApiId=api["id"], resourceId=root, httpMethod="ANY", authorizationType="NONE")
        dns = elb.describe_load_balancers(LoadBalancerArns=[lb])["LoadBalancers"][0]["DNSName"]
        apigw.put_integration(restApiId=api["id"], resourceId=root, httpMethod="ANY", type="HTTP_PROXY",
                              integrationHttpMethod="ANY", connectionType="VPC_LINK", connectionId=link,
                              uri=f"http://{dns}:80/", integrationTarget=lb)
        deployment = apigw.create_deployment(restApiId=api["id"])["id"]
        apigw.create_stage(restApiId=api["id"], stageName="dev", deploymentId=deployment)
        aws_seconds(1010)
        return (lambda: Traffic.call(self, api["id"])[0]), alb_group, link_group, "service/c/s", lb, tg

    def test_a_request_reaches_the_tasks_only_through_the_albs_groups(self):
        call, alb_group, link_group, _, _, _ = self.serving()
        ec2 = self.client("ec2")
        ec2.revoke_security_group_egress(GroupId=alb_group, IpPermissions=[
            {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
        ec2.authorize_security_group_egress(GroupId=alb_group, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "10.0.0.0/16"}]}])
        self.assertEqual(call(), 504, "out to the tasks, but nothing lets the link in")
        link_in = [{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "UserIdGroupPairs": [{"GroupId": link_group}]}]
        ec2.authorize_security_group_ingress(GroupId=alb_group, IpPermissions=link_in)
        self.assertEqual(call(), 200)
        ec2.revoke_security_group_egress(GroupId=alb_group, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "10.0.0.0/16"}]}])
        self.assertEqual(call(), 504, "the link let in, but nothing lets the ALB out to the tasks")

    def test_a_request_count_policy_names_the_target_group_of_the_service(self):
        _, _, _, service, lb, tg = self.serving()
        aas = self.client("application-autoscaling")
        aas.register_scalable_target(ServiceNamespace="ecs", ResourceId=service,
                                     ScalableDimension="ecs:service:DesiredCount", MinCapacity=1, MaxCapacity=3)

        def put(label):
            spec = {"PredefinedMetricType": "ALBRequestCountPerTarget"}
            if label is not None:
                spec["ResourceLabel"] = label
            aas.put_scaling_policy(
                PolicyName="requests", ServiceNamespace="ecs", ResourceId=service,
                ScalableDimension="ecs:service:DesiredCount", PolicyType="TargetTrackingScaling",
                TargetTrackingScalingPolicyConfiguration={"TargetValue": 100.0,
                                                          "PredefinedMetricSpecification": spec})

        label = lb.split(":loadbalancer/")[1] + "/targetgroup/" + tg.split(":targetgroup/")[1]
        # A group of the ALB that the service does not send its tasks to.
        vpc = self.client("elbv2").describe_target_groups(TargetGroupArns=[tg])["TargetGroups"][0]["VpcId"]
        other = self.client("elbv2").create_target_group(
            Name="other", Protocol="HTTP", Port=81, VpcId=vpc, TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
        self.client("elbv2").create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=81,
                                             DefaultActions=[{"Type": "forward", "TargetGroupArn": other}])
        unattached = lb.split(":loadbalancer/")[1] + "/targetgroup/" + other.split(":targetgroup/")[1]
        for bad in (None, "app/alb/123/targetgroup/web/456", label.replace("app/", "net/"), unattached):
            with self.assertRaises(ClientError) as ctx:
                put(bad)
            self.assertEqual(self.code(ctx), "ValidationException", bad)
        put(label)
        got = aas.describe_scaling_policies(ServiceNamespace="ecs", ResourceId=service)["ScalingPolicies"]
        self.assertEqual(got[0]["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"]
                         ["ResourceLabel"], label)


class NatGateways(Bed):
    """NAT gateways: pending then available, deleting then deleted and listed a while; failed
    without an internet gateway; the elastic IP, internet gateway and subnet they hold; routes to
    them blackholed until available; and the internet path through them."""
    # Long enough that each state is seen on a busy machine.
    profile = dict(Bed.profile, durations={"nat_gateway_available": 500, "nat_gateway_failed": 250,
                                           "nat_gateway_deleting": 500, "nat_gateway_visible": 500,
                                           "eni_linger": 250})

    def public(self):
        """A VPC with an internet gateway attached: (vpc, subnets, group, internet gateway)."""
        vpc, subnets, sg = self.network()
        ec2 = self.client("ec2")
        igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
        return vpc, subnets, sg, igw

    def address(self):
        return self.client("ec2").allocate_address(Domain="vpc")["AllocationId"]

    def nat(self, subnet, allocation=None, **kwargs):
        return self.client("ec2").create_nat_gateway(
            SubnetId=subnet, AllocationId=allocation or self.address(), **kwargs)["NatGateway"]["NatGatewayId"]

    def describe(self, nat):
        return self.client("ec2").describe_nat_gateways(NatGatewayIds=[nat])["NatGateways"][0]

    def refused(self, code, call, *words):
        with self.assertRaises(ClientError) as ctx:
            call()
        self.assertEqual(self.code(ctx), code)
        for word in words:
            self.assertIn(word, str(ctx.exception))

    def test_a_nat_gateway_is_pending_then_available_and_deleting_then_deleted_and_listed_a_while(self):
        vpc, subnets, _, _ = self.public()
        ec2 = self.client("ec2")
        nat = self.nat(subnets[0], TagSpecifications=[
            {"ResourceType": "natgateway", "Tags": [{"Key": "Name", "Value": "n"}]}])
        self.assertEqual(self.describe(nat)["State"], "pending")
        aws_seconds(510)
        self.assertEqual(self.describe(nat)["State"], "available")

        def listed(state, name="n"):
            return [n["NatGatewayId"] for n in ec2.describe_nat_gateways(Filters=[
                {"Name": "state", "Values": [state]}, {"Name": "vpc-id", "Values": [vpc]},
                {"Name": "tag:Name", "Values": [name]}])["NatGateways"]]

        self.assertEqual(listed("available"), [nat])
        self.assertEqual(listed("available", name="other"), [], "moto ignores tag filters")
        ec2.delete_nat_gateway(NatGatewayId=nat)
        self.assertEqual(self.describe(nat)["State"], "deleting")
        self.assertIn("DeleteTime", self.describe(nat))
        aws_seconds(510)
        self.assertEqual(self.describe(nat)["State"], "deleted")
        self.assertEqual(listed("deleted"), [nat])
        aws_seconds(500)
        self.refused("NatGatewayNotFound", lambda: self.describe(nat))
        self.refused("NatGatewayNotFound", lambda: ec2.delete_nat_gateway(NatGatewayId="nat-00000000000000000"))

    def test_a_public_nat_gateway_fails_in_a_vpc_without_an_internet_gateway(self):
        vpc, subnets, _ = self.network()
        ec2 = self.client("ec2")
        allocation = self.address()
        nat = self.nat(subnets[0], allocation)
        private = ec2.create_nat_gateway(SubnetId=subnets[1], ConnectivityType="private")["NatGateway"]["NatGatewayId"]
        self.assertEqual(self.describe(nat)["State"], "pending")
        aws_seconds(510)
        got = self.describe(nat)
        self.assertEqual((got["State"], got["FailureCode"], got["FailureMessage"]),
                         ("failed", "Gateway.NotAttached", f"Network {vpc} has no Internet gateway attached"))
        self.assertEqual(self.describe(private)["State"], "available", "a private one needs no internet gateway")
        self.assertNotIn("AssociationId", ec2.describe_addresses(AllocationIds=[allocation])["Addresses"][0])
        ec2.release_address(AllocationId=allocation)

    def test_a_nat_gateway_needs_a_subnet_and_a_free_address_and_leaves_nothing_when_refused(self):
        _, subnets, _, _ = self.public()
        ec2 = self.client("ec2")
        allocation = self.address()
        self.refused("InvalidAllocationID.NotFound", lambda: self.nat(subnets[0], "eipalloc-00000000000000000"))
        self.nat(subnets[0], allocation)
        self.refused("Resource.AlreadyAssociated", lambda: self.nat(subnets[1], allocation))
        self.refused("InvalidSubnetID.NotFound", lambda: self.nat("subnet-00000000000000000"))
        interfaces = ec2.describe_network_interfaces(Filters=[{"Name": "subnet-id", "Values": [subnets[1]]}])
        self.assertEqual(interfaces["NetworkInterfaces"], [], "moto leaves a refused one's interface behind")

    def test_an_address_is_held_by_its_nat_gateway_until_it_is_deleted(self):
        _, subnets, _, _ = self.public()
        ec2 = self.client("ec2")
        allocation = self.address()
        nat = self.nat(subnets[0], allocation)
        release = lambda: ec2.release_address(AllocationId=allocation)
        self.refused("InvalidIPAddress.InUse", release)
        aws_seconds(510)
        self.refused("InvalidIPAddress.InUse", release)
        ec2.delete_nat_gateway(NatGatewayId=nat)
        self.refused("InvalidIPAddress.InUse", release)  # deleting still holds it
        aws_seconds(510)
        self.assertNotIn("AssociationId", ec2.describe_addresses(AllocationIds=[allocation])["Addresses"][0])
        again = self.nat(subnets[0], allocation)  # moto keeps the old association: AlreadyAssociated
        self.refused("InvalidIPAddress.InUse", release)
        ec2.delete_nat_gateway(NatGatewayId=again)
        aws_seconds(510)
        release()

    def test_the_internet_gateway_stays_while_a_nat_gateway_maps_an_address_and_the_vpc_while_it_is_attached(self):
        vpc, subnets, _, igw = self.public()
        ec2 = self.client("ec2")
        self.refused("DependencyViolation", lambda: ec2.delete_internet_gateway(InternetGatewayId=igw))  # moto's own
        nat = self.nat(subnets[0])
        detach = lambda: ec2.detach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
        self.refused("DependencyViolation", detach, f"Network {vpc} has some mapped public address(es)")
        ec2.delete_nat_gateway(NatGatewayId=nat)
        self.refused("DependencyViolation", detach, "mapped public address")
        aws_seconds(510)
        detach()
        ec2.delete_internet_gateway(InternetGatewayId=igw)
        bare = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
        other = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        ec2.attach_internet_gateway(InternetGatewayId=other, VpcId=bare)
        self.refused("DependencyViolation", lambda: ec2.delete_vpc(VpcId=bare))
        ec2.detach_internet_gateway(InternetGatewayId=other, VpcId=bare)
        ec2.delete_vpc(VpcId=bare)

    def test_a_nat_gateways_subnet_is_held_while_it_exists_and_after_by_its_interface(self):
        _, subnets, _, _ = self.public()
        ec2 = self.client("ec2")
        nat = self.nat(subnets[0])
        delete = lambda: ec2.delete_subnet(SubnetId=subnets[0])
        self.refused("DependencyViolation", delete, f"NAT gateway {nat}")
        ec2.delete_nat_gateway(NatGatewayId=nat)
        aws_seconds(510)
        self.assertEqual(self.describe(nat)["State"], "deleted")
        self.refused("DependencyViolation", delete, f"NAT gateway {nat}")  # its interface lingers
        aws_seconds(300)
        delete()

    def test_a_route_to_a_nat_gateway_is_a_blackhole_until_it_is_available(self):
        vpc, subnets, _, igw = self.public()
        ec2 = self.client("ec2")
        nat = self.nat(subnets[0])
        private = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
        public = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
        ec2.create_route(RouteTableId=private, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat)
        ec2.create_route(RouteTableId=public, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)

        def state(table):
            routes = ec2.describe_route_tables(RouteTableIds=[table])["RouteTables"][0]["Routes"]
            return next(r["State"] for r in routes if r.get("DestinationCidrBlock") == "0.0.0.0/0")

        self.assertEqual((state(private), state(public)), ("blackhole", "active"))
        aws_seconds(510)
        self.assertEqual(state(private), "active")
        ec2.delete_nat_gateway(NatGatewayId=nat)
        self.assertEqual(state(private), "blackhole")
        aws_seconds(510)
        ec2.detach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
        self.assertEqual(state(public), "blackhole", "its internet gateway is detached")

    def test_the_internet_path_runs_through_an_available_nat_gateway_and_an_attached_internet_gateway(self):
        vpc, (public, private), sg, igw = self.public()
        ec2 = self.client("ec2")
        why = lambda: get(f"/_testbed/internet_path?subnets={private}&groups={sg}")["reason"]
        self.assertIn("no 0.0.0.0/0 route to a NAT gateway", why())
        nat = self.nat(public)
        table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
        ec2.associate_route_table(RouteTableId=table, SubnetId=private)
        ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat)
        self.assertIn(f"NAT gateway {nat} of subnet {private} is pending", why())
        aws_seconds(510)
        self.assertIn("no 0.0.0.0/0 route to an internet gateway", why(), "the NAT gateway's subnet has none")
        main = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc]},
                                                  {"Name": "association.main", "Values": ["true"]}])
        ec2.create_route(RouteTableId=main["RouteTables"][0]["RouteTableId"], DestinationCidrBlock="0.0.0.0/0",
                         GatewayId=igw)
        self.assertIsNone(why())
        everything = [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
        ec2.revoke_security_group_egress(GroupId=sg, IpPermissions=everything)
        self.assertIn("lets TCP 443 out", why())
        ec2.authorize_security_group_egress(GroupId=sg, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}])
        self.assertIn("lets TCP 443 out", why(), "not to the internet")
        ec2.authorize_security_group_egress(GroupId=sg, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
        self.assertIsNone(why())
        ec2.delete_nat_gateway(NatGatewayId=nat)
        self.assertIn(f"NAT gateway {nat} of subnet {private} is deleting", why())


class PublicEntry(Bed):
    """A public entry: an internet-facing load balancer needs an internet gateway attached to
    its VPC; a request from the internet reaches it only through public subnets and its
    groups; tasks in public subnets reach their registry only with public addresses."""
    profile = dict(Bed.profile, egress=True, durations={"service_steady": 10, "target_registration": 10})

    def public_network(self):
        """A VPC whose two subnets route to an attached internet gateway: (vpc, subnets,
        tasks' group, route table)."""
        vpc, subnets, sg = self.network()
        ec2 = self.client("ec2")
        igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
        table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
        ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
        for subnet in subnets:
            ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)
        return vpc, subnets, sg, table

    def call(self, host, port=80):
        try:
            with urllib.request.urlopen(f"{endpoint}/_testbed/public/{host}/{port}/hello") as resp:
                return resp.status
        except urllib.error.HTTPError as err:
            return err.code

    def test_an_internet_facing_load_balancer_needs_an_internet_gateway_attached_to_its_vpc(self):
        vpc, subnets, _ = self.network()
        ec2, elb = self.client("ec2"), self.client("elbv2")
        group = ec2.create_security_group(GroupName="alb", Description="a", VpcId=vpc)["GroupId"]
        create = lambda: elb.create_load_balancer(Name="pub", Subnets=subnets, SecurityGroups=[group],
                                                  Scheme="internet-facing", Type="application")
        with self.assertRaises(ClientError) as ctx:
            create()
        self.assertEqual(self.code(ctx), "InvalidSubnet")
        self.assertIn(f"VPC {vpc} has no internet gateway", str(ctx.exception))
        elb.create_load_balancer(Name="internal", Subnets=subnets, SecurityGroups=[group],
                                 Scheme="internal", Type="application")
        igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        with self.assertRaises(ClientError):
            create()
        ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
        self.assertEqual(create()["LoadBalancers"][0]["Scheme"], "internet-facing")

    def test_a_request_from_the_internet_reaches_the_tasks_only_through_public_subnets_and_open_groups(self):
        vpc, subnets, sg, table = self.public_network()
        ec2, elb, ecs = self.client("ec2"), self.client("elbv2"), self.client("ecs")
        group = ec2.create_security_group(GroupName="alb", Description="a", VpcId=vpc)["GroupId"]
        anywhere = [{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
        ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=anywhere)
        lb = elb.create_load_balancer(Name="pub", Subnets=subnets, SecurityGroups=[group],
                                      Scheme="internet-facing", Type="application")["LoadBalancers"][0]
        tg = elb.create_target_group(Name="web", Protocol="HTTP", Port=80, VpcId=vpc,
                                     TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
        elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
                            DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])
        ecs.create_cluster(clusterName="c")
        ecs.register_task_definition(family="f", requiresCompatibilities=["FARGATE"], networkMode="awsvpc",
                                     cpu="256", memory="512", containerDefinitions=[{"name": "app", "image": "nginx"}])
        ecs.create_service(cluster="c", serviceName="s", taskDefinition="f", desiredCount=1, launchType="FARGATE",
                           networkConfiguration={"awsvpcConfiguration": {
                               "subnets": subnets, "securityGroups": [sg], "assignPublicIp": "ENABLED"}},
                           loadBalancers=[{"targetGroupArn": tg, "containerName": "app", "containerPort": 80}])
        dns = lb["DNSName"]
        self.assertEqual(self.call(dns), 503, "provisioning")
        aws_seconds(300)
        self.assertEqual(self.call(dns), 200)
        self.assertEqual(self.call("nothing.eu-west-1.elb.amazonaws.com"), 502, "no such name")
        self.assertEqual(self.call(dns, port=8080), 504, "its group lets only 80 in")
        ec2.revoke_security_group_ingress(GroupId=group, IpPermissions=anywhere)
        self.assertEqual(self.call(dns), 504, "its group does not let the internet in")
        ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=anywhere)
        self.assertEqual(self.call(dns), 200)
        association = [a["RouteTableAssociationId"] for a in ec2.describe_route_tables(
            RouteTableIds=[table])["RouteTables"][0]["Associations"] if a.get("SubnetId") == subnets[0]]
        ec2.disassociate_route_table(AssociationId=association[0])
        answers = sorted({self.call(dns) for _ in range(6)})
        self.assertEqual(answers, [200, 504], "one zone's node has no way to the internet, the other's has")
        ec2.delete_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0")
        self.assertEqual({self.call(dns) for _ in range(4)}, {504}, "neither has")

    def test_public_addresses_keep_the_internet_gateway_attached_until_their_interfaces_go(self):
        vpc, subnets, sg, _ = self.public_network()
        ec2, elb = self.client("ec2"), self.client("elbv2")
        igw = ec2.describe_internet_gateways()["InternetGateways"][0]["InternetGatewayId"]
        lb = elb.create_load_balancer(Name="pub", Subnets=subnets, SecurityGroups=[sg],
                                      Scheme="internet-facing", Type="application")["LoadBalancers"][0]
        detach = lambda: ec2.detach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
        with self.assertRaises(ClientError) as ctx:
            detach()
        self.assertEqual(self.code(ctx), "DependencyViolation")
        self.assertIn("mapped public address(es)", str(ctx.exception))
        elb.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])
        with self.assertRaises(ClientError):
            detach()  # its interfaces linger
        aws_seconds(130)  # eni_linger (120 s)
        detach()

    def test_tasks_in_a_public_subnet_reach_the_internet_only_with_public_addresses(self):
        vpc, subnets, sg, table = self.public_network()
        why = lambda public: get(f"/_testbed/internet_path?subnets={','.join(subnets)}&groups={sg}"
                                 f"&public_ip={public}")["reason"]
        self.assertIn("no public IP address", why("false"))
        self.assertIsNone(why("true"))
        ec2 = self.client("ec2")
        ec2.delete_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0")
        self.assertIn("no 0.0.0.0/0 route", why("true"))


class PriceList(Bed):
    """The Price List API's GetProducts, which moto lacks: the catalog's products in AWS's
    document shape, TERM_MATCH filters, short pages."""

    def test_get_products_filters_by_exact_attributes_and_pages_with_a_token(self):
        pricing = self.client("pricing", region="us-east-1")
        pages = pricing.get_paginator("get_products").paginate(
            ServiceCode="AWSELB", FormatVersion="aws_v1",
            Filters=[{"Type": "TERM_MATCH", "Field": "regionCode", "Value": "eu-west-1"}])
        documents = [json.loads(p) for page in pages for p in page["PriceList"]]
        usages = sorted(d["product"]["attributes"]["usagetype"] for d in documents)
        self.assertEqual(usages, ["EUW1-LCUUsage", "EUW1-LCUUsage", "EUW1-LoadBalancerUsage",
                                  "EUW1-LoadBalancerUsage", "EUW1-LoadBalancerUsage", "EUW1-TS-LoadBalancerUsage"])
        first = pricing.get_products(ServiceCode="AWSELB", Filters=[
            {"Type": "TERM_MATCH", "Field": "regionCode", "Value": "eu-west-1"}])
        self.assertEqual(len(first["PriceList"]), 3)
        self.assertIn("NextToken", first)
        alb = next(d for d in documents if d["product"]["attributes"]["operation"] == "LoadBalancing:Application"
                   and d["product"]["attributes"]["usagetype"] == "EUW1-LoadBalancerUsage")
        (term,) = alb["terms"]["OnDemand"].values()
        (dimension,) = term["priceDimensions"].values()
        self.assertEqual(dimension["pricePerUnit"]["USD"], "0.0270000000")
        nat = pricing.get_products(ServiceCode="AmazonEC2", Filters=[
            {"Type": "TERM_MATCH", "Field": "regionCode", "Value": "us-east-1"},
            {"Type": "TERM_MATCH", "Field": "productFamily", "Value": "NAT Gateway"}])["PriceList"]
        self.assertEqual(sorted(json.loads(p)["product"]["attributes"]["usagetype"] for p in nat),
                         ["NatGateway-Bytes", "NatGateway-Hours"], "us-east-1's EC2 usage types have no prefix")
        with self.assertRaises(ClientError) as ctx:
            pricing.get_products(ServiceCode="AWSELB", Filters=[
                {"Type": "CONTAINS", "Field": "usagetype", "Value": "LCU"}])
        self.assertEqual(self.code(ctx), "InvalidParameterException")


if __name__ == "__main__":
    unittest.main()
