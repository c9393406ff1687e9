//! `gwfargate policy`: the IAM policy it prints allows every call a full cycle makes, and no
//! wildcard action.

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

/// Every action the policy allows, and the statements themselves.
fn allowed(policy: &serde_json::Value) -> BTreeSet<String> {
    let mut actions = BTreeSet::new();
    for statement in policy["Statement"].as_array().unwrap() {
        assert_eq!(statement["Effect"], "Allow", "{statement}");
        match &statement["Action"] {
            serde_json::Value::String(one) => {
                actions.insert(one.clone());
            }
            serde_json::Value::Array(many) => {
                actions.extend(many.iter().map(|a| a.as_str().unwrap().to_string()));
            }
            other => panic!("Action {other}"),
        }
    }
    actions
}

#[tokio::test(flavor = "multi_thread")]
async fn the_printed_policy_allows_every_call_of_a_full_cycle_and_no_wildcard() {
    let emulator = Emulator::with_profile(1, "realistic");
    let sdk = emulator.sdk(REGION).await;
    let ws = Workspace::new(&[]);
    let printed = gwfargate(ws.path(), &emulator.endpoint)
        .args(["policy", "--env", "env1.toml"])
        .assert()
        .success();
    let policy: serde_json::Value = serde_json::from_str(&output(&printed).0).unwrap();
    let actions = allowed(&policy);
    assert!(
        actions.iter().all(|a| a != "*" && !a.ends_with(":*")),
        "no wildcard action: {actions:?}"
    );
    // iam:PassRole only on the execution role, only to ECS tasks; service-linked roles only
    // for the two services.
    let statements = policy["Statement"].as_array().unwrap();
    let pass: Vec<_> = statements
        .iter()
        .filter(|s| s["Action"] == "iam:PassRole")
        .collect();
    assert_eq!(pass.len(), 1);
    assert_eq!(
        pass[0]["Resource"],
        "arn:aws:iam::123456789012:role/cluster1-role-microservice1-eu-west-1"
    );
    assert_eq!(
        pass[0]["Condition"]["StringEquals"]["iam:PassedToService"],
        "ecs-tasks.amazonaws.com"
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
    push_image(&sdk, "microservice1", "1.0.0").await;
    emulator.reset_calls();
    for args in [
        vec!["up", "--env", "env1.toml"],
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
    assert!(called.len() > 50, "a full cycle: {called:?}");
    let missing: Vec<&String> = called.difference(&actions).collect();
    assert!(
        missing.is_empty(),
        "calls the policy does not allow: {missing:?}"
    );
}
