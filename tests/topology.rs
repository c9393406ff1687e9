//! The stack's topologies as data: `[network] load_balancer = "alb"` builds an Application
//! Load Balancer behind its own security group instead of the NLB, serves through it on the
//! realistic test bed, scales on requests per task, and is removed with nothing left; a built
//! stack of one kind is refused the other with the way to rebuild it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod common;

use common::{Emulator, gwfargate, inventory, output, realistic_settings, workspace_outside_ecr};

const REGION: &str = "eu-west-1";

/// A request through the test bed's data plane to the stage `dev` of `api`: its status.
fn invoke_status(emulator: &Emulator, api: &str) -> u16 {
    use std::io::{Read as _, Write as _};
    let addr = emulator.endpoint.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET /_testbed/invoke/{api}/dev/?region={REGION} HTTP/1.0\r\nHost: {addr}\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

/// A workspace whose env file asks for an ALB and scales on requests per task.
fn workspace_alb() -> common::Workspace {
    let ws = workspace_outside_ecr();
    let env_file = ws.path().join("env1.toml");
    let text = std::fs::read_to_string(&env_file).unwrap();
    let text = text
        .replace(
            "vpc_cidr = \"10.0.0.0/16\"",
            "vpc_cidr = \"10.0.0.0/16\"\nload_balancer = \"alb\"",
        )
        .replace(
            "[api]",
            "[service.autoscaling]\nmin = 1\nmax = 3\nrequests = 500\n\n[api]",
        );
    std::fs::write(&env_file, text).unwrap();
    ws
}

fn set_load_balancer(ws: &common::Workspace, kind: &str) {
    let env_file = ws.path().join("env1.toml");
    let text = std::fs::read_to_string(&env_file).unwrap();
    let text = text.replace(
        "load_balancer = \"alb\"",
        &format!("load_balancer = \"{kind}\""),
    );
    let text = if kind == "nlb" {
        text.replace("requests = 500", "cpu = 60")
    } else {
        text
    };
    std::fs::write(&env_file, text).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_alb_stack_builds_serves_scales_on_requests_and_is_removed_whole() {
    let emulator = Emulator::with_profile(1, "realistic");
    emulator.configure(realistic_settings(
        0.002,
        serde_json::json!({"seed": 1, "rules": []}),
    ));
    let sdk = emulator.sdk(REGION).await;
    let ws = workspace_alb();

    let planned = gwfargate(ws.path(), &emulator.endpoint)
        .args(["plan", "--env", "env1.toml"])
        .assert()
        .success();
    let (planned, _) = output(&planned);
    for expected in [
        "type application",
        "cluster1-sg-alb-microservice1",
        "cluster1-alb-microservice1",
        "http:8080",
        "requests_policy target 500 requests per task per minute",
    ] {
        assert!(planned.contains(expected), "{expected}: {planned}");
    }

    gwfargate(ws.path(), &emulator.endpoint)
        .args(["up", "--env", "env1.toml", "--yes"])
        .assert()
        .success();

    // What AWS holds: an internal ALB behind its own group, HTTP on both sides.
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&sdk);
    let lbs = elb.describe_load_balancers().send().await.unwrap();
    assert_eq!(lbs.load_balancers().len(), 1, "{lbs:?}");
    let lb = &lbs.load_balancers()[0];
    let lb_arn = lb.load_balancer_arn().unwrap().to_string();
    assert_eq!(lb.r#type().map(|t| t.as_str()), Some("application"));
    assert_eq!(lb.scheme().map(|s| s.as_str()), Some("internal"));
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let groups = ec2
        .describe_security_groups()
        .group_ids(lb.security_groups()[0].clone())
        .send()
        .await
        .unwrap();
    let alb_group = groups.security_groups()[0].clone();
    assert_eq!(
        alb_group.group_name(),
        Some("cluster1-sg-alb-microservice1")
    );
    let link_group = ec2
        .describe_security_groups()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("group-name")
                .values("cluster1-sg-vpclink-microservice1")
                .build(),
        )
        .send()
        .await
        .unwrap()
        .security_groups()[0]
        .group_id()
        .unwrap()
        .to_string();
    let ingress = alb_group.ip_permissions();
    assert_eq!(ingress.len(), 1, "{ingress:?}");
    assert_eq!(ingress[0].from_port(), Some(8080));
    assert_eq!(
        ingress[0].user_id_group_pairs()[0].group_id(),
        Some(link_group.as_str()),
        "only the VPC link's group is let in"
    );
    let listeners = elb
        .describe_listeners()
        .load_balancer_arn(&lb_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        listeners.listeners()[0].protocol().map(|p| p.as_str()),
        Some("HTTP")
    );
    let groups = elb.describe_target_groups().send().await.unwrap();
    let tg_arn = groups.target_groups()[0]
        .target_group_arn()
        .unwrap()
        .to_string();
    assert_eq!(
        groups.target_groups()[0].protocol().map(|p| p.as_str()),
        Some("HTTP")
    );

    // The request-count policy names this ALB's target group of the service.
    let policies = aws_sdk_applicationautoscaling::Client::new(&sdk)
        .describe_scaling_policies()
        .service_namespace(aws_sdk_applicationautoscaling::types::ServiceNamespace::Ecs)
        .send()
        .await
        .unwrap();
    let policy = policies
        .scaling_policies()
        .iter()
        .find(|p| p.policy_name().ends_with("-requests"))
        .expect("a request-count policy");
    let config = policy
        .target_tracking_scaling_policy_configuration()
        .unwrap();
    assert_eq!(config.target_value(), 500.0);
    let spec = config.predefined_metric_specification().unwrap();
    assert_eq!(
        spec.predefined_metric_type().as_str(),
        "ALBRequestCountPerTarget"
    );
    let label = format!(
        "{}/targetgroup/{}",
        lb_arn.split_once(":loadbalancer/").unwrap().1,
        tg_arn.split_once(":targetgroup/").unwrap().1
    );
    assert_eq!(spec.resource_label(), Some(label.as_str()));

    // It serves through the data plane, and `status` reports the ALB.
    let status = gwfargate(ws.path(), &emulator.endpoint)
        .args(["status", "--json"])
        .assert()
        .success();
    let doc: serde_json::Value = serde_json::from_str(&output(&status).0).unwrap();
    let text = doc.to_string();
    assert!(
        text.contains(":loadbalancer/app/cluster1-alb-microservice1/"),
        "{doc:#}"
    );
    let api = aws_sdk_apigateway::Client::new(&sdk)
        .get_rest_apis()
        .send()
        .await
        .unwrap()
        .items()[0]
        .id()
        .unwrap()
        .to_string();
    assert_eq!(invoke_status(&emulator, &api), 200);

    // Nothing to change the second time.
    let again = gwfargate(ws.path(), &emulator.endpoint)
        .args(["plan", "--env", "env1.toml", "--json"])
        .assert()
        .success();
    let plan: serde_json::Value = serde_json::from_str(&output(&again).0).unwrap();
    assert_eq!(
        plan["changes"].as_array().map(Vec::len),
        Some(0),
        "{plan:#}"
    );

    // A lost rule drops the requests at the ALB's group; `up` puts it back.
    ec2.revoke_security_group_ingress()
        .group_id(alb_group.group_id().unwrap())
        .set_ip_permissions(Some(ingress.to_vec()))
        .send()
        .await
        .unwrap();
    assert_eq!(invoke_status(&emulator, &api), 504);
    gwfargate(ws.path(), &emulator.endpoint)
        .args(["up", "--env", "env1.toml", "--yes"])
        .assert()
        .success();
    assert_eq!(invoke_status(&emulator, &api), 200);

    // A built ALB stack is refused the NLB with the way to rebuild, and nothing changes.
    set_load_balancer(&ws, "nlb");
    let before = inventory(&sdk).await;
    emulator.reset_calls();
    let refused = gwfargate(ws.path(), &emulator.endpoint)
        .args(["up", "--env", "env1.toml", "--yes"])
        .assert()
        .failure();
    let (_, err) = output(&refused);
    assert!(
        err.contains("load_balancer = \"alb\"") && err.contains("down"),
        "{err}"
    );
    let creates: u64 = emulator
        .calls()
        .iter()
        .filter(|(op, _)| op.contains(".Create") || op.contains(".Delete"))
        .map(|(_, c)| c["count"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(creates, 0, "{:?}", emulator.calls());
    assert_eq!(inventory(&sdk).await, before);
    set_load_balancer(&ws, "alb");

    gwfargate(ws.path(), &emulator.endpoint)
        .args(["down", "--yes"])
        .assert()
        .success();
    common::assert_nothing_left(&sdk, "after down").await;
}
