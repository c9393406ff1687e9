//! `gwfargate policy`: the IAM policy it prints allows every call a full cycle makes, on the
//! resources each call touched (the test bed logs the ARNs IAM authorizes a call against;
//! condition keys are not evaluated), and no wildcard action.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use common::{Emulator, Workspace, gwfargate, output, push_image};

const REGION: &str = "eu-west-1";

/// The IAM action a call of the test bed's log needs. API Gateway's actions are HTTP methods
/// on paths; the test bed names the calls it knows by AWS's operation names.
fn action(call: &str) -> String {
    let (service, operation) = call.split_once('.').unwrap();
    if service != "apigateway" {
        return format!("{service}:{operation}");
    }
    let method = match operation.split_once(' ') {
        Some((method, _path)) => method,
        None if operation.starts_with("Create") => "POST",
        None if operation.starts_with("Delete") => "DELETE",
        None if operation.starts_with("Get") => "GET",
        None if operation.starts_with("Put") => "PUT",
        None if operation.starts_with("Update") => "PATCH",
        None => panic!("unknown API Gateway call {operation}"),
    };
    format!("apigateway:{method}")
}

/// A list or a single string of a statement, as strings.
fn strings(value: &serde_json::Value) -> Vec<String> {
    match value {
        serde_json::Value::String(one) => vec![one.clone()],
        serde_json::Value::Array(many) => many
            .iter()
            .map(|a| a.as_str().unwrap().to_string())
            .collect(),
        other => panic!("not a string or a list: {other}"),
    }
}

/// Every action the policy allows.
fn allowed(policy: &serde_json::Value) -> BTreeSet<String> {
    let mut actions = BTreeSet::new();
    for statement in policy["Statement"].as_array().unwrap() {
        assert_eq!(statement["Effect"], "Allow", "{statement}");
        actions.extend(strings(&statement["Action"]));
    }
    actions
}

/// IAM's match of a resource pattern: `*` any run of characters, `?` any one.
fn matches(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    // Positions in the pattern reachable after each prefix of the text.
    let mut reach = vec![false; p.len() + 1];
    reach[0] = true;
    let close = |reach: &mut Vec<bool>| {
        for i in 0..p.len() {
            if reach[i] && p[i] == '*' {
                reach[i + 1] = true;
            }
        }
    };
    close(&mut reach);
    for c in t {
        let mut next = vec![false; p.len() + 1];
        for i in 0..p.len() {
            if reach[i] && (p[i] == '*' || p[i] == '?' || p[i] == c) {
                next[if p[i] == '*' { i } else { i + 1 }] = true;
            }
        }
        close(&mut next);
        reach = next;
    }
    reach[p.len()]
}

/// Whether a statement of the policy allows `action` on `resource` (a call that takes no
/// resource needs a statement on `*`).
fn allows(policy: &serde_json::Value, action: &str, resource: &str) -> bool {
    policy["Statement"].as_array().unwrap().iter().any(|s| {
        strings(&s["Action"]).iter().any(|a| a == action)
            && strings(&s["Resource"]).iter().any(|r| {
                if resource == "*" {
                    r == "*"
                } else {
                    matches(r, resource)
                }
            })
    })
}

/// Each action the call log holds, with each resource it was authorized against.
fn touched(calls: &serde_json::Map<String, serde_json::Value>) -> BTreeSet<(String, String)> {
    calls
        .iter()
        .flat_map(|(call, entry)| {
            let action = action(call);
            entry["resources"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |r| (action.clone(), r.as_str().unwrap().to_string()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// What of `pairs` the policy does not allow.
fn refused<'a>(
    policy: &serde_json::Value,
    pairs: &'a BTreeSet<(String, String)>,
) -> Vec<&'a (String, String)> {
    pairs
        .iter()
        .filter(|(action, resource)| !allows(policy, action, resource))
        .collect()
}

/// The policy `policy --env env1.toml` prints for `ws`.
fn printed_policy(ws: &common::Workspace, emulator: &Emulator) -> serde_json::Value {
    let printed = gwfargate(ws.path(), &emulator.endpoint)
        .args(["policy", "--env", "env1.toml"])
        .assert()
        .success();
    serde_json::from_str(&output(&printed).0).unwrap()
}

/// The policy `policy --env env1.toml` prints for `ws`, and the call log of a cycle run with
/// it (`up`, `plan`, `status`, `down`), after asserting the policy allows every call on what
/// it touched.
fn cycle_allowed(
    ws: &common::Workspace,
    emulator: &Emulator,
) -> (
    serde_json::Value,
    serde_json::Map<String, serde_json::Value>,
) {
    let policy = printed_policy(ws, emulator);
    let actions = allowed(&policy);
    emulator.reset_calls();
    for args in [
        vec!["up", "--env", "env1.toml", "--yes"],
        vec!["plan", "--env", "env1.toml"],
        vec!["status"],
        vec!["down", "--yes"],
    ] {
        gwfargate(ws.path(), &emulator.endpoint)
            .args(&args)
            .assert()
            .success();
    }
    let calls = emulator.calls();
    let called: BTreeSet<String> = calls.keys().map(|c| action(c)).collect();
    let missing: Vec<&String> = called.difference(&actions).collect();
    assert!(
        missing.is_empty(),
        "calls the policy does not allow: {missing:?}"
    );
    let pairs = touched(&calls);
    let refused = refused(&policy, &pairs);
    assert!(
        refused.is_empty(),
        "calls the policy allows, but not on what they touched: {refused:#?}"
    );
    (policy, calls)
}

#[test]
fn resource_patterns_match_as_iam_matches_them() {
    assert!(matches(
        "arn:aws:ec2:r:1:vpc/*",
        "arn:aws:ec2:r:1:vpc/vpc-1"
    ));
    assert!(matches("*", "anything"));
    assert!(matches("a?c*", "abcdef"));
    assert!(!matches(
        "arn:aws:ec2:r:1:vpc/*",
        "arn:aws:ec2:r:1:subnet/subnet-1"
    ));
    assert!(!matches("role/a", "role/ab"));
    assert!(matches("log-group:/ecs/x:*", "log-group:/ecs/x:*"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_printed_policy_allows_every_call_of_a_full_cycle_and_no_wildcard() {
    let emulator = Emulator::with_profile(1, "realistic");
    let sdk = emulator.sdk(REGION).await;
    // The container reads a secret and a parameter, so the cycle checks they exist and makes
    // their endpoints.
    let secret = common::create_secret(&sdk, "db", "{}").await;
    // With an API key, so the cycle also makes and deletes a usage plan and a key; with
    // autoscaling, so it registers and deregisters a scalable target; with a task role and
    // Fargate Spot.
    let service_keys = format!(
        "health_check_path = \"/actuator/health\"\nspot = {{ base = 1, weight = 1 }}\n\
         [service.autoscaling]\nmin = 1\nmax = 2\ncpu = 60\n\
         [[service.autoscaling.schedule]]\nname = \"night\"\ncron = \"0 20 ? * MON-FRI *\"\n\
         min = 1\nmax = 1\n[service.secrets]\nTOKEN = {{ ssm = \"/microservice1/token\" }}\n\
         DB = {{ secretsmanager = \"{secret}\" }}\n[service.task_role]\n\
         [[service.task_role.statements]]\nactions = [\"sqs:SendMessage\"]\n\
         resources = [\"arn:aws:sqs:eu-west-1:123456789012:jobs\"]"
    );
    let ws = Workspace::new(&[
        ("auth = \"none\"", "auth = \"api_key\""),
        ("health_check_path = \"/actuator/health\"", &service_keys),
        ("[logs]", "[tags]\nteam = \"web\"\ncost = \"1\"\n\n[logs]"),
    ]);
    aws_sdk_ssm::Client::new(&sdk)
        .put_parameter()
        .name("/microservice1/token")
        .value("t")
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    let policy = printed_policy(&ws, &emulator);
    let actions = allowed(&policy);
    assert!(
        actions.iter().all(|a| a != "*" && !a.ends_with(":*")),
        "no wildcard action: {actions:?}"
    );
    // iam:PassRole only on the execution role, only to ECS tasks, and on API Gateway's
    // logging role, only to API Gateway; service-linked roles only for the two services.
    let statements = policy["Statement"].as_array().unwrap();
    let pass: Vec<(&str, &str)> = statements
        .iter()
        .filter(|s| s["Action"] == "iam:PassRole")
        .map(|s| {
            (
                s["Resource"].as_str().unwrap(),
                s["Condition"]["StringEquals"]["iam:PassedToService"]
                    .as_str()
                    .unwrap(),
            )
        })
        .collect();
    assert_eq!(
        pass,
        [
            (
                "arn:aws:iam::123456789012:role/cluster1-role-microservice1-eu-west-1",
                "ecs-tasks.amazonaws.com"
            ),
            (
                "arn:aws:iam::123456789012:role/gwfargate-apigateway-cloudwatch-logs",
                "apigateway.amazonaws.com"
            ),
            (
                "arn:aws:iam::123456789012:role/cluster1-role-microservice1-task-eu-west-1",
                "ecs-tasks.amazonaws.com"
            )
        ]
    );
    let linked = statements
        .iter()
        .find(|s| {
            s["Action"]
                .to_string()
                .contains("iam:CreateServiceLinkedRole")
        })
        .unwrap();
    assert_eq!(
        linked["Condition"]["StringEqualsIfExists"]["iam:AWSServiceName"],
        serde_json::json!(["ecs.amazonaws.com", "elasticloadbalancing.amazonaws.com"])
    );

    // A full cycle: a first up that stops for the image, up, a no-op up, plan, status, down.
    emulator.reset_calls();
    gwfargate(ws.path(), &emulator.endpoint)
        .args(["up", "--env", "env1.toml"])
        .assert()
        .code(3);
    let mut called: BTreeSet<String> = emulator.calls().keys().map(|c| action(c)).collect();
    let mut pairs = touched(&emulator.calls());
    push_image(&sdk, "microservice1", "1.0.0").await;
    emulator.reset_calls();
    gwfargate(ws.path(), &emulator.endpoint)
        .args(["up", "--env", "env1.toml"])
        .assert()
        .success();
    // A tag re-valued and one dropped: every resource is tagged and untagged in place.
    let env_file = ws.path().join("env1.toml");
    let text = std::fs::read_to_string(&env_file).unwrap();
    std::fs::write(
        &env_file,
        text.replace("team = \"web\"\ncost = \"1\"", "team = \"payments\""),
    )
    .unwrap();
    for args in [
        vec!["up", "--env", "env1.toml"],
        vec!["plan", "--env", "env1.toml"],
        vec!["status"],
        vec!["down", "--yes", "--purge"],
    ] {
        gwfargate(ws.path(), &emulator.endpoint)
            .args(&args)
            .assert()
            .success();
    }
    called.extend(emulator.calls().keys().map(|c| action(c)));
    for scaling in [
        "application-autoscaling:RegisterScalableTarget",
        "application-autoscaling:PutScalingPolicy",
        "application-autoscaling:PutScheduledAction",
        "application-autoscaling:DescribeScalingActivities",
        "application-autoscaling:DeregisterScalableTarget",
        "ssm:DescribeParameters",
        "secretsmanager:DescribeSecret",
        "iam:DeleteRole",
        "iam:UntagRole",
        "ec2:DeleteTags",
        "ecs:UntagResource",
        "elasticloadbalancing:RemoveTags",
        "logs:UntagResource",
        "application-autoscaling:UntagResource",
    ] {
        assert!(called.contains(scaling), "{scaling} in {called:?}");
    }
    pairs.extend(touched(&emulator.calls()));
    assert!(called.len() > 50, "a full cycle: {called:?}");
    let missing: Vec<&String> = called.difference(&actions).collect();
    assert!(
        missing.is_empty(),
        "calls the policy does not allow: {missing:?}"
    );
    let refused = refused(&policy, &pairs);
    assert!(
        refused.is_empty(),
        "calls the policy allows, but not on what they touched: {refused:#?}"
    );
    // Scoped: most of what the cycle touched is the stack's own, not `*`.
    let scoped = pairs.iter().filter(|(_, r)| r != "*").count();
    assert!(scoped > pairs.len() / 2, "{pairs:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_printed_policy_of_an_alb_stack_allows_its_cycle_on_its_own_arns() {
    // An ALB's ARNs say `app`, not `net`; its group is set on it, and its requests scaled on.
    // The stack was built with an NLB, which the cycle's first `up` moves from and deletes.
    let emulator = Emulator::with_profile(1, "realistic");
    let ws = common::workspace_outside_ecr();
    gwfargate(ws.path(), &emulator.endpoint)
        .args(["up", "--env", "env1.toml", "--yes"])
        .assert()
        .success();
    let env_file = ws.path().join("env1.toml");
    let text = std::fs::read_to_string(&env_file).unwrap();
    std::fs::write(
        &env_file,
        text.replace(
            "vpc_cidr = \"10.0.0.0/16\"",
            "vpc_cidr = \"10.0.0.0/16\"\nload_balancer = \"alb\"",
        )
        .replace(
            "[api]",
            "[service.autoscaling]\nmin = 1\nmax = 2\nrequests = 500\n\n[api]",
        ),
    )
    .unwrap();
    let (_, calls) = cycle_allowed(&ws, &emulator);
    let pairs = touched(&calls);
    let alb: Vec<&(String, String)> = pairs
        .iter()
        .filter(|(action, r)| {
            action == "elasticloadbalancing:CreateLoadBalancer"
                && r.contains(":loadbalancer/app/cluster1-alb-microservice1/")
        })
        .collect();
    assert_eq!(alb.len(), 1, "the ALB is created as `app`: {pairs:#?}");
    let nlb_deleted = pairs.iter().any(|(action, r)| {
        action == "elasticloadbalancing:DeleteLoadBalancer"
            && r.contains(":loadbalancer/net/cluster1-nlb-microservice1/")
    });
    assert!(nlb_deleted, "the old NLB is deleted: {pairs:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_printed_policy_of_a_nat_stack_allows_its_cycle() {
    // The internet gateway, the elastic IP, the NAT gateway and the routes to them.
    let emulator = Emulator::with_profile(1, "realistic");
    let ws = common::workspace_outside_ecr();
    let env_file = ws.path().join("env1.toml");
    let text = std::fs::read_to_string(&env_file).unwrap();
    std::fs::write(
        &env_file,
        text.replace(
            "vpc_cidr = \"10.0.0.0/16\"",
            "vpc_cidr = \"10.0.0.0/16\"\negress = \"nat\"\n\
             public_subnets = [ { cidr = \"10.0.101.0/24\", az = \"eu-west-1a\" } ]",
        ),
    )
    .unwrap();
    let (_, calls) = cycle_allowed(&ws, &emulator);
    let called: BTreeSet<String> = calls.keys().map(|c| action(c)).collect();
    for nat in [
        "ec2:CreateInternetGateway",
        "ec2:AttachInternetGateway",
        "ec2:AllocateAddress",
        "ec2:CreateNatGateway",
        "ec2:CreateRoute",
        "ec2:DeleteNatGateway",
        "ec2:ReleaseAddress",
        "ec2:DetachInternetGateway",
        "ec2:DeleteInternetGateway",
    ] {
        assert!(called.contains(nat), "{nat} in {called:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_printed_policy_of_a_public_stack_allows_its_cycle_and_nothing_of_api_gateway() {
    // The internet gateway, the internet-facing ALB, the tasks' public addresses.
    let emulator = Emulator::with_profile(1, "realistic");
    let ws = common::workspace_outside_ecr();
    let env_file = ws.path().join("env1.toml");
    let text = std::fs::read_to_string(&env_file).unwrap();
    std::fs::write(
        &env_file,
        text.replace(
            "vpc_cidr = \"10.0.0.0/16\"",
            "vpc_cidr = \"10.0.0.0/16\"\nentry = \"public_load_balancer\"\n\
             acknowledge_public_entry = true",
        )
        .replace("[api]\nauth", "# [api]\n# auth"),
    )
    .unwrap();
    let (policy, calls) = cycle_allowed(&ws, &emulator);
    let actions = allowed(&policy);
    assert!(
        !actions.iter().any(|a| a.starts_with("apigateway:")),
        "{actions:?}"
    );
    let called: BTreeSet<String> = calls.keys().map(|c| action(c)).collect();
    for public in [
        "ec2:CreateInternetGateway",
        "ec2:AttachInternetGateway",
        "ec2:CreateRoute",
        "elasticloadbalancing:CreateLoadBalancer",
        "ec2:DetachInternetGateway",
        "ec2:DeleteInternetGateway",
    ] {
        assert!(called.contains(public), "{public} in {called:?}");
    }
    assert!(
        !called.iter().any(|c| c.starts_with("apigateway:")),
        "{called:?}"
    );
}
