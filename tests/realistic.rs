//! gwfargate on the realistic test bed: AWS's provisioning times (scaled 1/100), its ordering
//! rules, rate limits, and injected throttling, 5xx and lost answers. moto alone forgives all
//! of these; each test here fails if gwfargate stops respecting one of them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod common;

use std::collections::BTreeMap;
use std::time::Instant;

use common::{
    Emulator, gwfargate, inventory, one_of_each, output, realistic_settings, workspace_outside_ecr,
};

const REGION: &str = "eu-west-1";

#[tokio::test(flavor = "multi_thread")]
async fn up_status_down_respect_aws_ordering_and_timing() {
    let emulator = Emulator::with_profile(1, "realistic");
    let sdk = emulator.sdk(REGION).await;
    let ws = workspace_outside_ecr();

    let started = Instant::now();
    let up = gwfargate(ws.path(), &emulator.endpoint)
        .args(["up", "--env", "env1.toml"])
        .assert()
        .success();
    let up_seconds = started.elapsed().as_secs_f64();
    let (_, stderr) = output(&up);
    // It really waited: the NLB, endpoints, VPC link and service were seen pending.
    for waited in [
        "to become active (now: provisioning)",
        "to become available (now: pending)",
        "to be steady (now: 0/1 running",
    ] {
        assert!(
            stderr.contains(waited),
            "expected a wait {waited:?}:\n{stderr}"
        );
    }
    // One VPC link, a V2 link (AWS's recommendation), and no legacy one.
    assert_eq!(emulator.count("apigateway.CreateVpcLinkV2"), 1, "{stderr}");
    assert_eq!(emulator.count("apigateway.CreateVpcLink"), 0, "{stderr}");
    assert_eq!(inventory(&sdk).await, one_of_each());
    let links = aws_sdk_apigatewayv2::Client::new(&sdk)
        .get_vpc_links()
        .send()
        .await
        .unwrap();
    assert_eq!(
        links.items()[0].vpc_link_status().map(|s| s.as_str()),
        Some("AVAILABLE")
    );
    // Both routes go over it to the NLB, named by its ARN.
    let apigw = aws_sdk_apigateway::Client::new(&sdk);
    let api = apigw.get_rest_apis().send().await.unwrap().items()[0]
        .id()
        .unwrap()
        .to_string();
    let nlb = aws_sdk_elasticloadbalancingv2::Client::new(&sdk)
        .describe_load_balancers()
        .send()
        .await
        .unwrap()
        .load_balancers()[0]
        .load_balancer_arn()
        .unwrap()
        .to_string();
    for route in apigw
        .get_resources()
        .rest_api_id(&api)
        .send()
        .await
        .unwrap()
        .items()
    {
        let integration = apigw
            .get_integration()
            .rest_api_id(&api)
            .resource_id(route.id().unwrap())
            .http_method("ANY")
            .send()
            .await
            .unwrap();
        assert_eq!(integration.connection_id(), links.items()[0].vpc_link_id());
        assert_eq!(integration.integration_target(), Some(nlb.as_str()));
    }
    // Cross-zone load balancing is on: a request entering the NLB in a zone without a healthy
    // task still reaches one (AWS's default for NLBs is off).
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&sdk);
    let lbs = elb.describe_load_balancers().send().await.unwrap();
    let attributes = elb
        .describe_load_balancer_attributes()
        .load_balancer_arn(lbs.load_balancers()[0].load_balancer_arn().unwrap())
        .send()
        .await
        .unwrap();
    assert!(
        attributes
            .attributes()
            .iter()
            .any(|a| a.key() == Some("load_balancing.cross_zone.enabled")
                && a.value() == Some("true")),
        "{attributes:?}"
    );
    // ECS refuses a service whose target group has no listener, and (reads lagging writes)
    // one whose listener or cluster is moments old: the service was made once, after both,
    // with nothing else refused.
    let refused = emulator.codes("ecs.CreateService");
    assert!(
        refused
            .keys()
            .all(|c| c == "InvalidParameterException" || c == "ClusterNotFoundException"),
        "{refused:?}"
    );
    assert_eq!(
        emulator.calls()["ecs.CreateService"]["ok"].as_u64(),
        Some(1)
    );

    // A new account names no CloudWatch role: `up` made one and named it (API Gateway refuses
    // an access log before, and refuses the role until IAM shows it), and every request is
    // written to the access log group as JSON.
    let logging_role = format!(
        "arn:aws:iam::123456789012:role/{}",
        common::API_LOGGING_ROLE
    );
    assert_eq!(
        common::api_logging_role(&sdk).await.as_deref(),
        Some(logging_role.as_str())
    );
    let apigw = aws_sdk_apigateway::Client::new(&sdk);
    let api = apigw.get_rest_apis().send().await.unwrap().items()[0]
        .id()
        .unwrap()
        .to_string();
    let stage = apigw
        .get_stage()
        .rest_api_id(&api)
        .stage_name("dev")
        .send()
        .await
        .unwrap();
    let access = stage.access_log_settings().unwrap();
    assert_eq!(
        access.destination_arn(),
        Some(
            "arn:aws:logs:eu-west-1:123456789012:log-group:/apigateway/cluster1/microservice1/access"
        )
    );
    assert_eq!(invoke_status(&emulator, &api), 200);
    let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk);
    let events = logs
        .filter_log_events()
        .log_group_name("/apigateway/cluster1/microservice1/access")
        .send()
        .await
        .unwrap();
    let line: serde_json::Value =
        serde_json::from_str(events.events()[0].message().unwrap()).unwrap();
    assert_eq!(
        (&line["status"], &line["httpMethod"]),
        (&"200".into(), &"GET".into()),
        "{line}"
    );

    let status = gwfargate(ws.path(), &emulator.endpoint)
        .args(["status", "--json"])
        .assert()
        .success();
    let doc: serde_json::Value = serde_json::from_str(&output(&status).0).unwrap();
    assert_eq!(doc["complete"], true, "{doc}");
    let service = &doc["service"];
    assert_eq!(
        (&service["running"], &service["desired"]),
        (&serde_json::json!(1), &serde_json::json!(1)),
        "{service:#}"
    );
    // The one task, where it runs, and the target it is, healthy.
    let tasks = service["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 1, "{service:#}");
    assert_eq!(tasks[0]["status"], "RUNNING");
    assert!(
        tasks[0]["zone"]
            .as_str()
            .is_some_and(|z| z.starts_with("eu-west-1"))
    );
    assert_eq!(service["deployments"][0]["rollout"], "completed");
    assert!(
        service["events"][0]["message"]
            .as_str()
            .unwrap()
            .contains("has reached a steady state"),
        "{service:#}"
    );
    let targets = doc["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 1, "{doc:#}");
    assert_eq!(targets[0]["state"], "healthy");

    emulator.reset_calls();
    let started = Instant::now();
    gwfargate(ws.path(), &emulator.endpoint)
        .args(["down", "--yes"])
        .assert()
        .success();
    let down_seconds = started.elapsed().as_secs_f64();
    common::assert_nothing_left(&sdk, "after down").await;
    // The account's logging role and setting stay: other APIs may log through them by now.
    assert_eq!(
        common::api_logging_role(&sdk).await.as_deref(),
        Some(logging_role.as_str())
    );
    aws_sdk_iam::Client::new(&sdk)
        .get_role()
        .role_name(common::API_LOGGING_ROLE)
        .send()
        .await
        .expect("the logging role is kept");
    // No NLB deletion under a VPC link, no VPC link deletion under an integration.
    assert!(
        emulator
            .codes("elasticloadbalancing.DeleteLoadBalancer")
            .is_empty()
    );
    assert!(emulator.codes("apigateway.DeleteVpcLinkV2").is_empty());
    assert_eq!(emulator.count("apigateway.DeleteVpcLinkV2"), 1);
    // The subnets and the group were refused while interfaces lingered, and retried until gone.
    for op in ["ec2.DeleteSecurityGroup", "ec2.DeleteSubnet"] {
        let refused = emulator.codes(op);
        assert!(
            refused.get("DependencyViolation").is_some_and(|n| *n >= 1),
            "{op}: {refused:?}"
        );
        assert_eq!(
            refused.len(),
            1,
            "{op}: only DependencyViolation: {refused:?}"
        );
    }
    eprintln!("realistic profile: up {up_seconds:.1}s, down {down_seconds:.1}s (AWS time x100)");
}

#[tokio::test(flavor = "multi_thread")]
async fn up_and_down_survive_throttling_and_server_errors() {
    let emulator = Emulator::with_profile(1, "realistic");
    emulator.configure(realistic_settings(
        0.01,
        serde_json::json!({
            "seed": 20, "rules": [{"match": "*", "throttle": 0.2, "error": 0.05}]
        }),
    ));
    let sdk = emulator.sdk(REGION).await;
    let ws = workspace_outside_ecr();
    gwfargate(ws.path(), &emulator.endpoint)
        .args(["up", "--env", "env1.toml"])
        .assert()
        .success();
    let calls = emulator.calls();
    let injected: u64 = calls
        .values()
        .map(|c| c["throttled"].as_u64().unwrap_or(0) + c["errors"].as_u64().unwrap_or(0))
        .sum();
    assert!(injected >= 10, "the faults really happened: {injected}");
    emulator.configure(realistic_settings(
        0.01,
        serde_json::json!({"seed": 1, "rules": []}),
    ));
    assert_eq!(inventory(&sdk).await, one_of_each());
    emulator.configure(realistic_settings(
        0.01,
        serde_json::json!({
            "seed": 21, "rules": [{"match": "*", "throttle": 0.2, "error": 0.05}]
        }),
    ));
    gwfargate(ws.path(), &emulator.endpoint)
        .args(["down", "--yes"])
        .assert()
        .success();
    emulator.configure(realistic_settings(
        0.01,
        serde_json::json!({"seed": 1, "rules": []}),
    ));
    common::assert_nothing_left(&sdk, "after down").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn lost_answers_on_creates_leave_exactly_one_of_each() {
    let emulator = Emulator::with_profile(1, "realistic");
    let sdk = emulator.sdk(REGION).await;
    let mut lost_total = 0;
    for seed in 1..=6 {
        let ws = workspace_outside_ecr();
        emulator.configure(realistic_settings(
            0.01,
            serde_json::json!({
                "seed": seed, "rules": [{"match": "*", "creates_only": true, "lost": 0.05}]
            }),
        ));
        gwfargate(ws.path(), &emulator.endpoint)
            .args(["up", "--env", "env1.toml"])
            .assert()
            .success();
        let lost: u64 = emulator
            .calls()
            .values()
            .map(|c| c["lost"].as_u64().unwrap_or(0))
            .sum();
        lost_total += lost;
        emulator.configure(realistic_settings(
            0.01,
            serde_json::json!({"seed": 1, "rules": []}),
        ));
        assert_eq!(
            inventory(&sdk).await,
            one_of_each(),
            "seed {seed}, {lost} lost answer(s)"
        );
        gwfargate(ws.path(), &emulator.endpoint)
            .args(["down", "--yes"])
            .assert()
            .success();
        common::assert_nothing_left(&sdk, &format!("seed {seed}, after down")).await;
        if seed >= 3 && lost_total >= 3 {
            break;
        }
    }
    assert!(
        lost_total >= 3,
        "too few lost answers to prove anything: {lost_total}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_role_is_waited_for_and_a_broken_image_fails_fast() {
    let emulator = Emulator::with_profile(1, "realistic");
    let mut settings = realistic_settings(0.01, serde_json::json!({"seed": 1, "rules": []}));
    // ECS cannot use the new role until well after the NLB is active, so the service's first
    // task launches fail with "unable to assume the role" and ECS retries them.
    settings["durations"] = serde_json::json!({"iam_role_usable": 400});
    settings["failing_images"] = serde_json::json!([":broken"]);
    emulator.configure(settings.clone());
    let sdk = emulator.sdk(REGION).await;
    let ws = workspace_outside_ecr();
    let up = gwfargate(ws.path(), &emulator.endpoint)
        .args(["up", "--env", "env1.toml"])
        .assert()
        .success();
    let (_, stderr) = output(&up);
    // ECS accepts the service and fails to launch its tasks until it can use the role: `up`
    // shows ECS's own words while it waits.
    assert!(
        stderr.contains("ECS: (service cluster1-service-microservice1) failed to launch a task")
            && stderr.contains("unable to assume the role"),
        "{stderr}"
    );
    assert_eq!(inventory(&sdk).await, one_of_each());

    // A new image whose tasks never start: the circuit breaker rolls the service back, and
    // `up` says so instead of calling the rolled-back service steady.
    let env = ws.path().join("env1.toml");
    let text = std::fs::read_to_string(&env).unwrap();
    std::fs::write(&env, text.replace("nginx:1.27", "nginx:broken")).unwrap();
    let started = Instant::now();
    let failed = gwfargate(ws.path(), &emulator.endpoint)
        .args(["up", "--env", "env1.toml"])
        .assert()
        .code(1);
    let (_, stderr) = output(&failed);
    assert!(stderr.contains("circuit breaker"), "{stderr}");
    assert!(stderr.contains("rolled back to"), "{stderr}");
    assert!(stderr.contains("/ecs/cluster1/microservice1"), "{stderr}");
    assert!(
        started.elapsed().as_secs() < 60,
        "it failed as soon as AWS did"
    );
    // Someone else in the account just deleted a REST API: DeleteRestApi's one call per
    // 30 s (3 s here, so a slow start of `down` cannot miss it) is spent, and `down` waits.
    settings["rates"] = serde_json::json!({"apigateway.DeleteRestApi": [1, 1.0 / 300.0]});
    emulator.configure(settings.clone());
    let apigw = aws_sdk_apigateway::Client::new(&sdk);
    let other = apigw.create_rest_api().name("other").send().await.unwrap();
    apigw
        .delete_rest_api()
        .rest_api_id(other.id().unwrap())
        .send()
        .await
        .unwrap();
    gwfargate(ws.path(), &emulator.endpoint)
        .args(["down", "--yes"])
        .assert()
        .success();
    let throttled = emulator.calls()["apigateway.DeleteRestApi"]["throttled"]
        .as_u64()
        .unwrap_or(0);
    assert!(throttled >= 1, "DeleteRestApi met its rate limit");

    // A first deployment that fails has nothing to roll back to: it ends FAILED.
    let failed = gwfargate(ws.path(), &emulator.endpoint)
        .args(["up", "--env", "env1.toml"])
        .assert()
        .code(1);
    let (_, stderr) = output(&failed);
    assert!(
        stderr.contains("the deployment failed (the circuit breaker stopped it)"),
        "{stderr}"
    );
    std::fs::write(&env, text).unwrap();
    gwfargate(ws.path(), &emulator.endpoint)
        .args(["up", "--env", "env1.toml"])
        .assert()
        .success();
    // One of each, and the revision of the failed image, kept (the newest five are) for
    // `revisions` to show and `rollback --to` to reach.
    let mut kept = one_of_each();
    kept.insert("active task definitions", 2);
    assert_eq!(inventory(&sdk).await, kept);
    gwfargate(ws.path(), &emulator.endpoint)
        .args(["down", "--yes"])
        .assert()
        .success();
    common::assert_nothing_left(&sdk, "after down").await;
}

/// Every refusal code the test bed answered, by operation, for failure messages.
fn refusals(emulator: &Emulator) -> BTreeMap<String, BTreeMap<String, u64>> {
    emulator
        .calls()
        .keys()
        .map(|op| (op.clone(), emulator.codes(op)))
        .filter(|(_, codes)| !codes.is_empty())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_account_whose_reads_lag_writes_is_built_and_torn_down() {
    let emulator = Emulator::with_profile(1, "realistic");
    let mut settings = realistic_settings(0.01, serde_json::json!({"seed": 1, "rules": []}));
    // New ids stay unknown for 0.3 s: every call right after a create meets the lag.
    settings["durations"] = serde_json::json!({"read_lag": 30, "slr_usable": 30});
    emulator.configure(settings.clone());
    let sdk = emulator.sdk(REGION).await;
    let ws = workspace_outside_ecr();
    gwfargate(ws.path(), &emulator.endpoint)
        .args(["up", "--env", "env1.toml"])
        .assert()
        .success();
    // The test bed did refuse what real AWS refuses, and gwfargate waited each one out.
    let seen = refusals(&emulator);
    for (op, code) in [
        ("ec2.ModifyVpcAttribute", "InvalidVpcID.NotFound"),
        ("iam.PutRolePolicy", "NoSuchEntity"),
        ("ecs.CreateCluster", "InvalidParameterException"),
    ] {
        assert!(
            seen.get(op).is_some_and(|c| c.contains_key(code)),
            "{op} was never refused with {code}: {seen:#?}"
        );
    }
    assert_eq!(inventory(&sdk).await, one_of_each());
    let linked = [
        "AWSServiceRoleForECS".to_string(),
        "AWSServiceRoleForElasticLoadBalancing".to_string(),
    ];
    assert_eq!(common::service_linked_roles(&sdk).await, linked);
    assert_eq!(
        emulator.count("iam.CreateServiceLinkedRole"),
        2,
        "both made up front"
    );
    gwfargate(ws.path(), &emulator.endpoint)
        .args(["down", "--yes"])
        .assert()
        .success();
    common::assert_nothing_left(&sdk, "after down").await;
    assert_eq!(
        common::service_linked_roles(&sdk).await,
        linked,
        "the account's roles are kept"
    );

    // An `up` killed right after making the role, then `down` at once: AWS does not show the
    // role yet, and `down` must not take that for gone.
    // 2 s: inside gwfargate's window for what it made moments ago (60 polling units, 3 s here).
    settings["durations"] = serde_json::json!({"read_lag": 200});
    emulator.configure(settings.clone());
    let mut child = common::spawn(ws.path(), &emulator.endpoint, &["up", "--env", "env1.toml"]);
    let seen = common::read_until(&mut child, |_, line| {
        line.contains("iam role") && line.contains("setting")
    });
    let _ = child.kill(); // SIGKILL
    let _ = child.wait();
    assert!(
        seen.last().is_some_and(|l| l.contains("setting")),
        "{seen:#?}"
    );
    emulator.reset_calls();
    gwfargate(ws.path(), &emulator.endpoint)
        .args(["down", "--yes"])
        .assert()
        .success();
    common::assert_nothing_left(&sdk, "after a down right after a killed up").await;
    let seen = refusals(&emulator);
    assert!(
        seen.get("iam.GetRole")
            .is_some_and(|c| c.contains_key("NoSuchEntity")),
        "down met the lag: {seen:#?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_endpoint_service_a_vpc_link_left_on_the_nlb_is_named_and_removed_by_down() {
    let emulator = Emulator::with_profile(1, "realistic");
    let sdk = emulator.sdk(REGION).await;
    let ws = workspace_outside_ecr();
    gwfargate(ws.path(), &emulator.endpoint)
        .args(["up", "--env", "env1.toml"])
        .assert()
        .success();
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&sdk);
    let lbs = elb.describe_load_balancers().send().await.unwrap();
    let nlb = lbs.load_balancers()[0].load_balancer_arn().unwrap();
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let orphan = ec2
        .create_vpc_endpoint_service_configuration()
        .network_load_balancer_arns(nlb)
        .send()
        .await
        .unwrap();
    let orphan = orphan
        .service_configuration()
        .unwrap()
        .service_id()
        .unwrap();
    let down = gwfargate(ws.path(), &emulator.endpoint)
        .args(["down", "--yes"])
        .assert()
        .success();
    let (_, stderr) = output(&down);
    assert!(
        stderr.contains(&format!("removing {orphan} left on it by a VPC link")),
        "{stderr}"
    );
    common::assert_nothing_left(&sdk, "after down").await;
    let left = ec2
        .describe_vpc_endpoint_service_configurations()
        .send()
        .await
        .unwrap();
    assert!(left.service_configurations().is_empty(), "{left:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_region_the_account_has_not_enabled_says_what_to_enable() {
    // The realistic profile's account has not enabled the opt-in region ap-east-1.
    let emulator = Emulator::with_profile(1, "realistic");
    let ws = common::Workspace::new(&[
        ("region      = \"eu-west-1\"", "region      = \"ap-east-1\""),
        ("az = \"eu-west-1a\"", "az = \"ap-east-1a\""),
        ("az = \"eu-west-1b\"", "az = \"ap-east-1b\""),
    ]);
    let refused = gwfargate(ws.path(), &emulator.endpoint)
        .args(["up", "--env", "env1.toml"])
        .assert()
        .code(2);
    let (_, stderr) = output(&refused);
    assert!(
        stderr.contains("ap-east-1 is a region each AWS account must enable first")
            && stderr.contains("aws account enable-region --region-name ap-east-1"),
        "{stderr}"
    );
    assert!(emulator.writes().is_empty(), "{:?}", emulator.writes());
}

#[tokio::test(flavor = "multi_thread")]
async fn zones_without_fargate_or_an_endpoint_the_tasks_need_are_refused_before_any_create() {
    // On the realistic test bed, CloudWatch Logs' endpoint is not offered in eu-west-1c.
    let emulator = Emulator::with_profile(1, "realistic");
    let ws = common::Workspace::new(&[("az = \"eu-west-1b\"", "az = \"eu-west-1c\"")]);
    let refused = gwfargate(ws.path(), &emulator.endpoint)
        .args(["up", "--env", "env1.toml"])
        .assert()
        .code(2);
    let (_, stderr) = output(&refused);
    assert!(
        stderr.contains("network.subnets[1].az")
            && stderr.contains("com.amazonaws.eu-west-1.logs is not offered in eu-west-1c"),
        "{stderr}"
    );
    // us-east-1a is zone use1-az3 in this account (us-east-1e elsewhere): no Fargate there.
    let ws = common::Workspace::new(&[
        ("region      = \"eu-west-1\"", "region      = \"us-east-1\""),
        ("az = \"eu-west-1a\"", "az = \"us-east-1a\""),
        ("az = \"eu-west-1b\"", "az = \"us-east-1e\""),
        (
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com",
        ),
    ]);
    let refused = gwfargate(ws.path(), &emulator.endpoint)
        .args(["up", "--env", "env1.toml"])
        .assert()
        .code(2);
    let (_, stderr) = output(&refused);
    assert!(
        stderr.contains(
            "us-east-1a is zone use1-az3 in this account, where AWS Fargate runs no task"
        ),
        "{stderr}"
    );
    assert!(emulator.writes().is_empty(), "{:?}", emulator.writes());
}

/// Probes a broken stack: exit 1, the HTTP status when given, and the first broken hop's
/// words starting with `starts`; the probe document, for more checks.
fn first_broken(
    ws: &common::Workspace,
    emulator: &Emulator,
    status: Option<u64>,
    starts: &str,
) -> serde_json::Value {
    let (code, probe) = run_probe(ws, emulator);
    assert_eq!(code, 1, "{probe:#}");
    if let Some(status) = status {
        assert_eq!(probe["status"], status, "{probe:#}");
    }
    let broken = probe["broken"].as_str().unwrap_or_default();
    assert!(broken.starts_with(starts), "{probe:#}");
    probe
}

/// `status --probe --json`: the exit code and the probe document.
fn run_probe(ws: &common::Workspace, emulator: &Emulator) -> (i32, serde_json::Value) {
    let out = gwfargate(ws.path(), &emulator.endpoint)
        .args(["status", "--probe", "--json"])
        .assert();
    let code = out.get_output().status.code().unwrap();
    let doc: serde_json::Value = serde_json::from_str(&output(&out).0).unwrap();
    (code, doc["probe"].clone())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_probe_walks_a_serving_stack_end_to_end_and_names_each_broken_hop() {
    let emulator = Emulator::with_profile(1, "realistic");
    let sdk = emulator.sdk(REGION).await;
    // A V1 link: its failure, replacement and leftovers are walked here; a V2 link's in
    // `a_failed_v2_link_is_replaced_new_one_first`.
    let ws = workspace_v1();
    let up = || {
        gwfargate(ws.path(), &emulator.endpoint)
            .args(["up", "--env", "env1.toml", "--yes"])
            .assert()
            .success();
    };
    up();
    let (code, probe) = run_probe(&ws, &emulator);
    assert_eq!(code, 0, "{probe:#}");
    assert_eq!(probe["status"], 200, "{probe:#}");
    assert!(probe["broken"].is_null(), "{probe:#}");
    let hops: Vec<&str> = probe["hops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["hop"].as_str().unwrap())
        .collect();
    for hop in [
        "stage",
        "deployment",
        "api",
        "integration",
        "vpc link",
        "load balancer",
        "listener",
        "target group",
        "tasks",
        "endpoints",
    ] {
        assert!(hops.contains(&hop), "{hop} walked: {probe:#}");
    }

    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&sdk);
    let apigw = aws_sdk_apigateway::Client::new(&sdk);
    let api = apigw.get_rest_apis().send().await.unwrap().items()[0]
        .id()
        .unwrap()
        .to_string();
    let broken =
        |probe: &serde_json::Value| probe["broken"].as_str().unwrap_or_default().to_string();

    // TLS 1.2 or newer on the API's endpoint; an API put back to TLS 1.0 is converged.
    let tls = || async {
        let got = apigw.get_rest_api().rest_api_id(&api).send().await.unwrap();
        (
            got.security_policy().map(|p| p.as_str().to_string()),
            got.endpoint_access_mode().map(|m| m.as_str().to_string()),
        )
    };
    let modern = (
        Some("SecurityPolicy_TLS13_1_2_2021_06".to_string()),
        Some("BASIC".to_string()),
    );
    assert_eq!(tls().await, modern);
    apigw
        .update_rest_api()
        .rest_api_id(&api)
        .patch_operations(
            aws_sdk_apigateway::types::PatchOperation::builder()
                .op(aws_sdk_apigateway::types::Op::Replace)
                .path("/securityPolicy")
                .value("TLS_1_0")
                .build(),
        )
        .send()
        .await
        .unwrap();
    up();
    assert_eq!(tls().await, modern);

    // The stage.
    apigw
        .delete_stage()
        .rest_api_id(&api)
        .stage_name("dev")
        .send()
        .await
        .unwrap();
    first_broken(&ws, &emulator, None, "stage dev: missing");
    up();

    // The listener.
    let lbs = elb.describe_load_balancers().send().await.unwrap();
    let listeners = elb
        .describe_listeners()
        .load_balancer_arn(lbs.load_balancers()[0].load_balancer_arn().unwrap())
        .send()
        .await
        .unwrap();
    elb.delete_listener()
        .listener_arn(listeners.listeners()[0].listener_arn().unwrap())
        .send()
        .await
        .unwrap();
    first_broken(&ws, &emulator, Some(503), "listener tcp:8080: missing");
    up();
    assert_eq!(probe_status(&ws, &emulator), 200);

    // The integration: someone pointed it at another port.
    let resources = apigw
        .get_resources()
        .rest_api_id(&api)
        .send()
        .await
        .unwrap();
    let root = resources
        .items()
        .iter()
        .find(|r| r.path() == Some("/"))
        .unwrap();
    let integration = apigw
        .get_integration()
        .rest_api_id(&api)
        .resource_id(root.id().unwrap())
        .http_method("ANY")
        .send()
        .await
        .unwrap();
    let uri = integration.uri().unwrap().to_string();
    let point_root_at = |uri: String| {
        let apigw = apigw.clone();
        let api = api.clone();
        let root = root.id().unwrap().to_string();
        let link = integration.connection_id().unwrap().to_string();
        let target = integration.integration_target().map(str::to_string);
        async move {
            apigw
                .put_integration()
                .rest_api_id(&api)
                .resource_id(root)
                .http_method("ANY")
                .r#type(aws_sdk_apigateway::types::IntegrationType::HttpProxy)
                .integration_http_method("ANY")
                .connection_type(aws_sdk_apigateway::types::ConnectionType::VpcLink)
                .connection_id(link)
                .set_integration_target(target)
                .uri(uri)
                .send()
                .await
                .unwrap();
        }
    };
    point_root_at(uri.replace(":8080", ":9999")).await;
    // Not deployed: the stage still serves its snapshot, but the next deployment would break.
    let probe = first_broken(&ws, &emulator, Some(200), "integration");
    assert!(
        broken(&probe).contains("differs from the env file"),
        "{probe:#}"
    );
    up();
    assert_eq!(probe_status(&ws, &emulator), 200);

    // The deployment: someone deployed the broken integration from the console, then put the
    // integration right without deploying again.
    point_root_at(uri.replace(":8080", ":9999")).await;
    let console = apigw
        .create_deployment()
        .rest_api_id(&api)
        .description("from the console")
        .send()
        .await
        .unwrap();
    apigw
        .update_stage()
        .rest_api_id(&api)
        .stage_name("dev")
        .patch_operations(
            aws_sdk_apigateway::types::PatchOperation::builder()
                .op(aws_sdk_apigateway::types::Op::Replace)
                .path("/deploymentId")
                .value(console.id().unwrap())
                .build(),
        )
        .send()
        .await
        .unwrap();
    point_root_at(uri.clone()).await;
    first_broken(&ws, &emulator, Some(503), "deployment dev");
    up();
    assert_eq!(probe_status(&ws, &emulator), 200);

    // The VPC link: AWS reports it failed.
    let link = apigw.get_vpc_links().send().await.unwrap().items()[0]
        .id()
        .unwrap()
        .to_string();
    emulator.control(
        "POST",
        "/_testbed/fail",
        &serde_json::json!({"vpc_link": link, "reason": "the endpoint service failed"}).to_string(),
    );
    let probe = first_broken(&ws, &emulator, Some(500), "vpc link");
    assert!(
        broken(&probe).contains("the endpoint service failed"),
        "{probe:#}"
    );
    up();
    assert_eq!(probe_status(&ws, &emulator), 200);
    let links = apigw.get_vpc_links().send().await.unwrap();
    assert_eq!(
        links.items().len(),
        1,
        "the failed link is deleted: {links:?}"
    );
    assert_ne!(links.items()[0].id(), Some(link.as_str()));

    // A replaced link a run cut short left: recorded in the state file, deleted by the next up.
    let current = &links.items()[0];
    let left = apigw
        .create_vpc_link()
        .name(current.name().unwrap())
        .set_target_arns(Some(current.target_arns().to_vec()))
        .set_tags(current.tags().cloned())
        .send()
        .await
        .unwrap()
        .id()
        .unwrap()
        .to_string();
    let mut state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ws.state_file()).unwrap()).unwrap();
    state["resources"][format!("vpc_link~replaced:{left}")] =
        serde_json::json!({"id": left, "created": true});
    std::fs::write(ws.state_file(), state.to_string()).unwrap();
    let planned = gwfargate(ws.path(), &emulator.endpoint)
        .args(["plan", "--env", "env1.toml"])
        .assert()
        .success();
    let planned = output(&planned).0;
    assert!(
        planned.contains("cluster1-vpclink-microservice1 (replaced)") && planned.contains(&left),
        "{planned}"
    );
    // `down` lists it with the rest (asked without a terminal: nothing is deleted).
    let asked = gwfargate(ws.path(), &emulator.endpoint)
        .args(["down", "--env", "env1.toml"])
        .assert()
        .code(2);
    let asked = output(&asked).1;
    assert!(
        asked.contains(&format!(
            "cluster1-vpclink-microservice1 (replaced, {left})"
        )),
        "{asked}"
    );
    let again = gwfargate(ws.path(), &emulator.endpoint)
        .args(["up", "--env", "env1.toml", "--yes"])
        .assert()
        .success();
    let stderr = output(&again).1;
    assert!(
        stderr.contains("(replaced)") && stderr.contains(&format!("deleted {left}")),
        "{stderr}"
    );
    let links = apigw.get_vpc_links().send().await.unwrap();
    assert_eq!(links.items().len(), 1, "{links:?}");
    assert_ne!(links.items()[0].id(), Some(left.as_str()));
    assert!(
        !std::fs::read_to_string(ws.state_file())
            .unwrap()
            .contains("~replaced"),
    );

    // An endpoint the tasks need: requests still pass, but the probe names it.
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let endpoints = ec2.describe_vpc_endpoints().send().await.unwrap();
    let logs = endpoints
        .vpc_endpoints()
        .iter()
        .find(|e| e.service_name().is_some_and(|n| n.ends_with(".logs")))
        .unwrap();
    ec2.delete_vpc_endpoints()
        .vpc_endpoint_ids(logs.vpc_endpoint_id().unwrap())
        .send()
        .await
        .unwrap();
    first_broken(&ws, &emulator, None, "endpoints cluster1-vpce-logs");
    up();

    // The tasks: someone scaled the service to 0.
    aws_sdk_ecs::Client::new(&sdk)
        .update_service()
        .cluster("cluster1-cluster")
        .service("cluster1-service-microservice1")
        .desired_count(0)
        .send()
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(4)).await; // the task stops
    let probe = first_broken(&ws, &emulator, Some(504), "target group");
    assert!(
        broken(&probe).contains("0 of 0 target(s) healthy"),
        "{probe:#}"
    );
    let tasks = probe["hops"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["hop"] == "tasks")
        .unwrap();
    assert_eq!(tasks["ok"], false, "{probe:#}");
    up();
    assert_eq!(probe_status(&ws, &emulator), 200);

    // The stage's throttling, from the env file, enforced by API Gateway.
    let env_file = ws.path().join("env1.toml");
    let text = std::fs::read_to_string(&env_file).unwrap();
    std::fs::write(
        &env_file,
        text.replace("[api]\n", "[api]\nthrottle = { rate = 1, burst = 2 }\n"),
    )
    .unwrap();
    let planned = gwfargate(ws.path(), &emulator.endpoint)
        .args(["plan", "--env", "env1.toml"])
        .assert()
        .success();
    let planned = output(&planned).0;
    assert!(
        planned.contains("throttle.rate: 100 → 1") && planned.contains("throttle.burst: 200 → 2"),
        "{planned}"
    );
    up();
    assert_eq!(stage_throttle(&apigw, &api).await, (1.0, 2));
    let statuses: Vec<u16> = (0..3).map(|_| invoke_status(&emulator, &api)).collect();
    assert_eq!(statuses, [200, 200, 429]);
    // A method throttled on its own has its own bucket.
    std::fs::write(
        &env_file,
        text.replace(
            "[api]\n",
            "[api]\nthrottle = { rate = 1, burst = 2, methods = { \"ANY /{proxy+}\" = { rate = 1, burst = 4 } } }\n",
        ),
    )
    .unwrap();
    up();
    let statuses: Vec<u16> = (0..5)
        .map(|_| invoke_path_status(&emulator, &api, "orders/7"))
        .collect();
    assert_eq!(statuses, [200, 200, 200, 200, 429]);
    // Without the key, the defaults again, for the method too.
    std::fs::write(&env_file, text).unwrap();
    up();
    assert_eq!(stage_throttle(&apigw, &api).await, (100.0, 200));
    let stage = apigw
        .get_stage()
        .rest_api_id(&api)
        .stage_name("dev")
        .send()
        .await
        .unwrap();
    let proxy = &stage.method_settings().unwrap()["~1{proxy+}/ANY"];
    assert_eq!(
        (
            proxy.throttling_rate_limit(),
            proxy.throttling_burst_limit()
        ),
        (100.0, 200)
    );

    // Open to the internet, and said so; with `auth = "iam"` only signed requests pass.
    let said = |args: &[&str]| {
        let run = gwfargate(ws.path(), &emulator.endpoint)
            .args(args)
            .assert()
            .success();
        let (out, err) = output(&run);
        format!("{out}{err}")
    };
    assert!(
        said(&["status"]).contains("the API is open to the internet"),
        "status"
    );
    let open = std::fs::read_to_string(&env_file).unwrap();
    // The env file with `auth = "none"` replaced by `auth` (and the keys it needs).
    let set_auth = |auth: &str| {
        std::fs::write(&env_file, open.replace("auth = \"none\"", auth)).unwrap();
    };
    set_auth("auth = \"iam\"");
    let planned = said(&["plan", "--env", "env1.toml"]);
    assert!(
        planned.contains("authorization ANY /: NONE → AWS_IAM")
            && planned.contains("authorization ANY /{proxy+}: NONE → AWS_IAM")
            && planned.contains("deployment: integrations")
            && !planned.contains("open to the internet"),
        "{planned}"
    );
    up();
    assert_eq!(invoke_status(&emulator, &api), 403, "unsigned");
    assert_eq!(invoke_signed_status(&emulator, &api), 200, "signed");
    assert!(!said(&["status"]).contains("open to the internet"));

    // With `auth = "api_key"`, only requests with the stack's key pass; its value is printed
    // only when asked.
    set_auth("auth = \"api_key\"");
    let planned = said(&["plan", "--env", "env1.toml"]);
    for change in [
        "authorization ANY /: AWS_IAM → NONE",
        "api_key ANY /{proxy+}: not required → required",
        "+ create   usage plan",
        "+ create   api key",
        "gwfargate api-key --show",
    ] {
        assert!(planned.contains(change), "{change:?} in:\n{planned}");
    }
    up();
    assert_eq!(invoke_status(&emulator, &api), 403, "no key");
    let key = gwfargate(ws.path(), &emulator.endpoint)
        .args(["api-key", "--env", "env1.toml", "--show"])
        .assert()
        .success();
    let value = output(&key).0.trim().to_string();
    assert!(value.len() >= 20, "{value:?}");
    assert_eq!(
        invoke_with(&emulator, &api, &format!("x-api-key: {value}\r\n")),
        200
    );
    assert_eq!(
        invoke_with(&emulator, &api, "x-api-key: not-the-key\r\n"),
        403
    );
    let unshown = said(&["api-key", "--env", "env1.toml"]);
    assert!(
        unshown.contains("cluster1-key-microservice1") && !unshown.contains(&value),
        "{unshown}"
    );
    // Back to an open API: the key and its plan are planned away and deleted.
    std::fs::write(&env_file, &open).unwrap();
    let planned = said(&["plan", "--env", "env1.toml"]);
    assert!(
        planned.contains("- delete   usage plan") && planned.contains("- delete   api key"),
        "{planned}"
    );
    up();
    assert_eq!(invoke_status(&emulator, &api), 200);
    let keys = apigw.get_api_keys().send().await.unwrap();
    assert!(keys.items().is_empty(), "{keys:?}");
    let refused = gwfargate(ws.path(), &emulator.endpoint)
        .args(["api-key", "--env", "env1.toml"])
        .assert()
        .code(2);
    assert!(output(&refused).1.contains("takes no API key"));

    // With `auth = "cognito"`, an authorizer of the user pools sets both methods, and only
    // requests with a token pass; back to an open API, it goes once no method uses it.
    let pool = "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_Abc123";
    set_auth(&format!(
        "auth = \"cognito\"\ncognito_user_pools = [\"{pool}\"]"
    ));
    let planned = said(&["plan", "--env", "env1.toml"]);
    assert!(
        planned.contains("+ create   api authorizer") && planned.contains(pool),
        "{planned}"
    );
    up();
    assert_eq!(invoke_status(&emulator, &api), 401, "no token");
    assert_eq!(
        invoke_with(&emulator, &api, "Authorization: eyJh.eyJz.c2ln\r\n"),
        200
    );
    let authorizers = apigw
        .get_authorizers()
        .rest_api_id(&api)
        .send()
        .await
        .unwrap();
    let authorizer = authorizers.items()[0].id().unwrap().to_string();
    let resources = apigw
        .get_resources()
        .rest_api_id(&api)
        .embed("methods")
        .send()
        .await
        .unwrap();
    for r in resources.items() {
        let method = &r.resource_methods().unwrap()["ANY"];
        assert_eq!(
            (method.authorization_type(), method.authorizer_id()),
            (Some("COGNITO_USER_POOLS"), Some(authorizer.as_str())),
            "{:?}",
            r.path()
        );
    }
    std::fs::write(&env_file, &open).unwrap();
    assert!(said(&["plan", "--env", "env1.toml"]).contains("- delete   api authorizer"));
    up();
    assert_eq!(invoke_status(&emulator, &api), 200);
    let authorizers = apigw
        .get_authorizers()
        .rest_api_id(&api)
        .send()
        .await
        .unwrap();
    assert!(authorizers.items().is_empty(), "{authorizers:?}");

    // With `auth = "lambda"`, API Gateway calls the function with a role that may invoke it
    // alone; without an Authorization header, 401 before any call.
    let function = "arn:aws:lambda:eu-west-1:123456789012:function:authorize";
    let invoker = "cluster1-role-microservice1-authorizer-eu-west-1";
    set_auth(&format!(
        "auth = \"lambda\"\nauthorizer = {{ function = \"{function}\" }}"
    ));
    let planned = said(&["plan", "--env", "env1.toml"]);
    assert!(
        planned.contains("+ create   api authorizer") && planned.contains(invoker),
        "{planned}"
    );
    up();
    assert_eq!(
        invoke_status(&emulator, &api),
        401,
        "no Authorization header"
    );
    assert_eq!(
        invoke_with(&emulator, &api, "Authorization: allow-me\r\n"),
        200
    );
    let authorizers = apigw
        .get_authorizers()
        .rest_api_id(&api)
        .send()
        .await
        .unwrap();
    let authorizer = &authorizers.items()[0];
    assert_eq!(
        (authorizer.r#type(), authorizer.authorizer_credentials()),
        (
            Some(&aws_sdk_apigateway::types::AuthorizerType::Token),
            Some(format!("arn:aws:iam::123456789012:role/{invoker}").as_str())
        )
    );
    assert!(
        authorizer.authorizer_uri().unwrap().contains(function),
        "{authorizer:?}"
    );
    let iam = aws_sdk_iam::Client::new(&sdk);
    let invoke = iam
        .get_role_policy()
        .role_name(invoker)
        .policy_name("cluster1-policy-microservice1-authorizer")
        .send()
        .await
        .unwrap();
    let invoke = common::policy_text(invoke.policy_document());
    assert!(
        invoke.contains("lambda:InvokeFunction") && invoke.contains(function),
        "{invoke}"
    );
    std::fs::write(&env_file, &open).unwrap();
    up();
    assert_eq!(invoke_status(&emulator, &api), 200);
    let authorizers = apigw
        .get_authorizers()
        .rest_api_id(&api)
        .send()
        .await
        .unwrap();
    assert!(authorizers.items().is_empty(), "{authorizers:?}");
    assert!(
        iam.get_role().role_name(invoker).send().await.is_err(),
        "the invoker role goes with the authorizer"
    );

    // The load balancer: AWS reports it failed; nothing `up` can repair in place.
    emulator.control(
        "POST",
        "/_testbed/fail",
        r#"{"load_balancer": "cluster1-nlb-microservice1"}"#,
    );
    first_broken(
        &ws,
        &emulator,
        Some(503),
        "load balancer cluster1-nlb-microservice1: failed",
    );
}

/// The rate and burst of every method of the stage `dev` of `api`.
async fn stage_throttle(apigw: &aws_sdk_apigateway::Client, api: &str) -> (f64, i32) {
    let stage = apigw
        .get_stage()
        .rest_api_id(api)
        .stage_name("dev")
        .send()
        .await
        .unwrap();
    let every = &stage.method_settings().unwrap()["*/*"];
    (
        every.throttling_rate_limit(),
        every.throttling_burst_limit(),
    )
}

/// The HTTP status of a GET through the test bed's data plane to the stage `dev` of `api`.
fn invoke_status(emulator: &Emulator, api: &str) -> u16 {
    invoke_with(emulator, api, "")
}

/// Like [`invoke_status`], with a SigV4 `Authorization` header (the test bed checks its
/// presence, not the signature).
fn invoke_signed_status(emulator: &Emulator, api: &str) -> u16 {
    invoke_with(
        emulator,
        api,
        "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261127/eu-west-1/execute-api/aws4_request, SignedHeaders=host, Signature=0\r\n",
    )
}

/// Like [`invoke_status`], for `path` under the stage.
fn invoke_path_status(emulator: &Emulator, api: &str, path: &str) -> u16 {
    invoke_at(emulator, api, path, "")
}

fn invoke_with(emulator: &Emulator, api: &str, headers: &str) -> u16 {
    invoke_at(emulator, api, "", headers)
}

fn invoke_at(emulator: &Emulator, api: &str, path: &str, headers: &str) -> u16 {
    common::invoke(emulator, api, path, headers)
}

fn probe_status(ws: &common::Workspace, emulator: &Emulator) -> u64 {
    run_probe(ws, emulator).1["status"]
        .as_u64()
        .unwrap_or_default()
}

/// Puts a two-group stack back as gwfargate made it before the endpoints had their own
/// security group: endpoints in the tasks' group, 443 in from and out to the whole VPC, no
/// endpoints' group, and a state file that never heard of one.
async fn as_made_with_one_group(
    ws: &common::Workspace,
    sdk: &aws_config::SdkConfig,
    ec2: &aws_sdk_ec2::Client,
) {
    use aws_sdk_ec2::types::{IpPermission, IpRange, UserIdGroupPair};
    let tasks = common::group_id(sdk, "cluster1-sg-microservice1").await;
    let vpce = common::group_id(sdk, "cluster1-sg-vpce").await;
    let https = |peer: IpPermission| peer;
    let vpc_wide = https(
        IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(443)
            .to_port(443)
            .ip_ranges(IpRange::builder().cidr_ip("10.0.0.0/16").build())
            .build(),
    );
    ec2.authorize_security_group_ingress()
        .group_id(&tasks)
        .ip_permissions(vpc_wide.clone())
        .send()
        .await
        .unwrap();
    ec2.authorize_security_group_egress()
        .group_id(&tasks)
        .ip_permissions(vpc_wide)
        .send()
        .await
        .unwrap();
    let endpoints = ec2.describe_vpc_endpoints().send().await.unwrap();
    for ep in endpoints.vpc_endpoints() {
        if ep.groups().is_empty() {
            continue;
        }
        ec2.modify_vpc_endpoint()
            .vpc_endpoint_id(ep.vpc_endpoint_id().unwrap())
            .add_security_group_ids(&tasks)
            .remove_security_group_ids(&vpce)
            .send()
            .await
            .unwrap();
    }
    ec2.revoke_security_group_egress()
        .group_id(&tasks)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(443)
                .to_port(443)
                .user_id_group_pairs(UserIdGroupPair::builder().group_id(&vpce).build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    ec2.delete_security_group()
        .group_id(&vpce)
        .send()
        .await
        .unwrap();
    let mut state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ws.state_file()).unwrap()).unwrap();
    let resources = state["resources"].as_object_mut().unwrap();
    for key in [
        "security_group/endpoints",
        "security_group_rule/tasks-to-endpoints",
    ] {
        assert!(resources.remove(key).is_some(), "{key} in {resources:?}");
    }
    std::fs::write(ws.state_file(), state.to_string()).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stack_made_with_one_security_group_moves_to_two_without_losing_traffic() {
    let emulator = Emulator::with_profile(1, "realistic");
    emulator.configure(realistic_settings(
        0.002,
        serde_json::json!({"seed": 1, "rules": []}),
    ));
    let sdk = emulator.sdk(REGION).await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let ws = workspace_outside_ecr();
    let up = || {
        gwfargate(ws.path(), &emulator.endpoint)
            .args(["up", "--env", "env1.toml", "--yes"])
            .assert()
            .success()
    };
    up();
    let api = aws_sdk_apigateway::Client::new(&sdk)
        .get_rest_apis()
        .send()
        .await
        .unwrap()
        .items()[0]
        .id()
        .unwrap()
        .to_string();
    as_made_with_one_group(&ws, &sdk, &ec2).await;
    assert_eq!(invoke_status(&emulator, &api), 200);

    let planned = gwfargate(ws.path(), &emulator.endpoint)
        .args(["plan", "--env", "env1.toml"])
        .assert()
        .success();
    let (planned, _) = output(&planned);
    for line in [
        "+ create   security group",
        "cluster1-sg-vpce",
        "~ update   interface endpoint",
        "+ create   security group rule",
    ] {
        assert!(planned.contains(line), "{line:?} in:\n{planned}");
    }
    assert!(
        !planned.contains("ecs service") && !planned.contains("- delete"),
        "the tasks are not replaced, nothing is deleted:\n{planned}"
    );

    // Requests keep passing while `up` moves the endpoints.
    let statuses =
        common::up_while_serving(&ws, &emulator, &api, &["up", "--env", "env1.toml", "--yes"]);
    assert_eq!(statuses.keys().collect::<Vec<_>>(), [&200], "{statuses:?}");

    // As a new stack is made: the tasks' group lets 443 out to the endpoints' group only.
    let rules = ec2
        .describe_security_groups()
        .group_names("cluster1-sg-microservice1")
        .send()
        .await;
    let tasks = match rules {
        Ok(out) => out.security_groups()[0].clone(),
        Err(_) => ec2
            .describe_security_groups()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("group-name")
                    .values("cluster1-sg-microservice1")
                    .build(),
            )
            .send()
            .await
            .unwrap()
            .security_groups()[0]
            .clone(),
    };
    assert!(
        tasks
            .ip_permissions()
            .iter()
            .all(|p| p.from_port() == Some(8080)),
        "{tasks:?}"
    );
    assert!(
        tasks
            .ip_permissions_egress()
            .iter()
            .all(|p| p.ip_ranges().is_empty()),
        "{tasks:?}"
    );
    let (code, _) = {
        let run = gwfargate(ws.path(), &emulator.endpoint)
            .args(["plan", "--env", "env1.toml", "--detailed-exitcode"])
            .assert();
        (run.get_output().status.code(), output(&run))
    };
    assert_eq!(code, Some(0), "nothing left to change");

    // The tasks still reach ECR and CloudWatch Logs: a new revision rolls out (the test bed
    // stops tasks whose groups keep them from an endpoint).
    let env_file = ws.path().join("env1.toml");
    let text = std::fs::read_to_string(&env_file).unwrap();
    std::fs::write(
        &env_file,
        text.replace("memory            = 2048", "memory            = 4096"),
    )
    .unwrap();
    up();
    let svc = common::the_service(&sdk).await;
    assert_eq!(
        (svc.running_count(), svc.deployments().len()),
        (1, 1),
        "{svc:?}"
    );
    assert_eq!(invoke_status(&emulator, &api), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stack_with_an_authorizer_and_flow_logs_is_torn_down_whole() {
    // AWS deletes no authorizer a method still names (the test bed refuses it too): `down`
    // moves the methods off it first. The flow log goes before its group and role.
    let emulator = Emulator::with_profile(1, "realistic");
    emulator.configure(realistic_settings(
        0.002,
        serde_json::json!({"seed": 1, "rules": []}),
    ));
    let sdk = emulator.sdk(REGION).await;
    let ws = workspace_outside_ecr();
    let env_file = ws.path().join("env1.toml");
    let text = std::fs::read_to_string(&env_file).unwrap();
    std::fs::write(
        &env_file,
        text.replace(
            "auth = \"none\"",
            "auth = \"lambda\"\nauthorizer = { function = \"arn:aws:lambda:eu-west-1:123456789012:function:authorize\" }",
        )
        .replace("vpc_cidr = \"10.0.0.0/16\"", "vpc_cidr = \"10.0.0.0/16\"\nflow_logs = true"),
    )
    .unwrap();
    gwfargate(ws.path(), &emulator.endpoint)
        .args(["up", "--env", "env1.toml"])
        .assert()
        .success();
    let flow_logs = aws_sdk_ec2::Client::new(&sdk)
        .describe_flow_logs()
        .send()
        .await
        .unwrap();
    assert_eq!(flow_logs.flow_logs().len(), 1);
    gwfargate(ws.path(), &emulator.endpoint)
        .args(["down", "--yes"])
        .assert()
        .success();
    common::assert_nothing_left(&sdk, "after down").await;
    let iam = aws_sdk_iam::Client::new(&sdk);
    for role in [
        "cluster1-role-microservice1-authorizer-eu-west-1",
        "cluster1-role-flow-logs-eu-west-1",
    ] {
        assert!(
            iam.get_role().role_name(role).send().await.is_err(),
            "{role} is left"
        );
    }
    assert!(
        aws_sdk_ec2::Client::new(&sdk)
            .describe_flow_logs()
            .send()
            .await
            .unwrap()
            .flow_logs()
            .is_empty()
    );
}

/// A workspace whose image is outside ECR and whose stack has a V1 (legacy) VPC link.
fn workspace_v1() -> common::Workspace {
    common::Workspace::new(&[
        (
            "image             = \"123456789012.dkr.ecr.eu-west-1.amazonaws.com/microservice1:1.0.0\"",
            "image             = \"public.ecr.aws/nginx/nginx:1.27\"",
        ),
        (
            "vpc_cidr = \"10.0.0.0/16\"",
            "vpc_cidr = \"10.0.0.0/16\"\nvpc_link = \"v1\"",
        ),
    ])
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_v2_link_is_replaced_new_one_first() {
    let emulator = Emulator::with_profile(1, "realistic");
    let sdk = emulator.sdk(REGION).await;
    let ws = workspace_outside_ecr();
    let up = || {
        gwfargate(ws.path(), &emulator.endpoint)
            .args(["up", "--env", "env1.toml", "--yes"])
            .assert()
            .success()
    };
    up();
    assert_eq!(probe_status(&ws, &emulator), 200);
    let v2 = aws_sdk_apigatewayv2::Client::new(&sdk);
    let link = v2.get_vpc_links().send().await.unwrap().items()[0]
        .vpc_link_id()
        .unwrap()
        .to_string();
    emulator.control(
        "POST",
        "/_testbed/fail",
        &serde_json::json!({"vpc_link": link, "reason": "no free address in subnet"}).to_string(),
    );
    let probe = first_broken(&ws, &emulator, Some(500), "vpc link");
    assert!(
        probe["broken"]
            .as_str()
            .unwrap()
            .contains("no free address in subnet"),
        "{probe:#}"
    );
    let planned = gwfargate(ws.path(), &emulator.endpoint)
        .args(["plan", "--env", "env1.toml"])
        .assert()
        .success();
    let (planned, _) = output(&planned);
    assert!(
        planned.contains("-/+ replace  vpc link")
            && planned.contains("AWS reports it failed: no free address in subnet"),
        "{planned}"
    );
    emulator.reset_calls();
    up();
    assert_eq!(probe_status(&ws, &emulator), 200);
    let links = v2.get_vpc_links().send().await.unwrap();
    assert_eq!(
        links.items().len(),
        1,
        "the failed link is deleted: {links:?}"
    );
    assert_ne!(links.items()[0].vpc_link_id(), Some(link.as_str()));
    // New one first: the old one was deleted once nothing named it, never refused.
    assert!(emulator.codes("apigateway.DeleteVpcLinkV2").is_empty());
    assert_eq!(emulator.count("apigateway.CreateVpcLinkV2"), 1);
}

/// The VPC links of each kind: (V1, V2).
async fn links(sdk: &aws_config::SdkConfig) -> (usize, usize) {
    let v1 = aws_sdk_apigateway::Client::new(sdk)
        .get_vpc_links()
        .send()
        .await
        .unwrap();
    let v2 = aws_sdk_apigatewayv2::Client::new(sdk)
        .get_vpc_links()
        .send()
        .await
        .unwrap();
    (v1.items().len(), v2.items().len())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stack_built_with_a_v1_link_moves_to_a_v2_link_and_back_without_losing_traffic() {
    let emulator = Emulator::with_profile(1, "realistic");
    emulator.configure(realistic_settings(
        0.002,
        serde_json::json!({"seed": 1, "rules": []}),
    ));
    let sdk = emulator.sdk(REGION).await;
    let ws = workspace_v1();
    let env_file = ws.path().join("env1.toml");
    let v1_text = std::fs::read_to_string(&env_file).unwrap();
    gwfargate(ws.path(), &emulator.endpoint)
        .args(["up", "--env", "env1.toml"])
        .assert()
        .success();
    assert_eq!(links(&sdk).await, (1, 0), "a V1 link, as the env file says");
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

    // Without a choice in the env file, a stack built with V1 keeps it (a new gwfargate
    // changes no built stack on its own) and is told how to move.
    std::fs::write(&env_file, v1_text.replace("vpc_link = \"v1\"\n", "")).unwrap();
    let unchosen = gwfargate(ws.path(), &emulator.endpoint)
        .args(["plan", "--env", "env1.toml", "--detailed-exitcode"])
        .assert();
    let (stdout, stderr) = output(&unchosen);
    assert_eq!(unchosen.get_output().status.code(), Some(0), "{stdout}");
    assert!(
        format!("{stdout}{stderr}").contains("set `vpc_link = \"v2\"` under [network]"),
        "{stdout}{stderr}"
    );

    // Chosen: the plan shows the switch, and nothing else.
    std::fs::write(
        &env_file,
        v1_text.replace("vpc_link = \"v1\"", "vpc_link = \"v2\""),
    )
    .unwrap();
    let planned = gwfargate(ws.path(), &emulator.endpoint)
        .args(["plan", "--env", "env1.toml"])
        .assert()
        .success();
    let (planned, _) = output(&planned);
    for line in [
        "+ create   security group",
        "cluster1-sg-vpclink-microservice1",
        "+ create   vpc link",
        "~ update   api integrations",
        "- delete   vpc link",
    ] {
        assert!(planned.contains(line), "{line:?} in:\n{planned}");
    }
    assert!(
        !planned.contains("ecs service") && !planned.contains("load balancer"),
        "the tasks and the NLB stay:\n{planned}"
    );
    // Nothing is lost by the switch: `up` needs no confirmation for it (CI runs it as is).
    assert!(!planned.contains("destructive"), "{planned}");
    // Killed part way, once the integrations moved to the new link and before the stage is
    // deployed: the old link still serves the stage's snapshot, and the next `up` finishes
    // the switch.
    let moved = |line: &str| line.contains("api integrations") && line.contains(" ok ");
    let mut child = common::spawn(ws.path(), &emulator.endpoint, &["up", "--env", "env1.toml"]);
    let seen = common::read_until(&mut child, |_, line| moved(line));
    let _ = child.kill(); // SIGKILL
    let _ = child.wait();
    assert!(seen.iter().any(|l| moved(l)), "{seen:?}");
    assert_eq!(
        links(&sdk).await,
        (1, 1),
        "killed before the old link went: {seen:?}"
    );
    assert_eq!(invoke_status(&emulator, &api), 200, "served after the kill");
    emulator.reset_calls();
    // No --yes: nothing the switch deletes needs a confirmation.
    let statuses = common::up_while_serving(&ws, &emulator, &api, &["up", "--env", "env1.toml"]);
    assert_eq!(statuses.keys().collect::<Vec<_>>(), [&200], "{statuses:?}");
    assert_eq!(
        links(&sdk).await,
        (0, 1),
        "the V1 link is gone, a V2 link serves"
    );
    assert_eq!(emulator.count("apigateway.DeleteVpcLink"), 1);
    // The V1 link went only once nothing named it: no refusal on the way.
    assert!(emulator.codes("apigateway.DeleteVpcLink").is_empty());
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ws.state_file()).unwrap()).unwrap();
    let recorded = &state["resources"];
    assert!(
        recorded.get("vpc_link_v2").is_some() && recorded.get("vpc_link").is_none(),
        "{state:#}"
    );
    let run = gwfargate(ws.path(), &emulator.endpoint)
        .args(["plan", "--env", "env1.toml", "--detailed-exitcode"])
        .assert();
    assert_eq!(
        run.get_output().status.code(),
        Some(0),
        "nothing left to change"
    );

    // And back, for a team that must keep V1: the V2 link and its group go.
    std::fs::write(&env_file, &v1_text).unwrap();
    // No --yes: nothing the switch deletes needs a confirmation.
    let statuses = common::up_while_serving(&ws, &emulator, &api, &["up", "--env", "env1.toml"]);
    assert_eq!(statuses.keys().collect::<Vec<_>>(), [&200], "{statuses:?}");
    assert_eq!(links(&sdk).await, (1, 0));
    let groups = aws_sdk_ec2::Client::new(&sdk)
        .describe_security_groups()
        .send()
        .await
        .unwrap();
    assert!(
        groups
            .security_groups()
            .iter()
            .all(|g| g.group_name() != Some("cluster1-sg-vpclink-microservice1")),
        "{groups:?}"
    );
    // The state file lost, and the env file back to no choice (V2 for a stack it cannot
    // see): `down` still finds the V1 link by its name and removes it with the rest.
    std::fs::remove_file(ws.state_file()).unwrap();
    std::fs::write(&env_file, v1_text.replace("vpc_link = \"v1\"\n", "")).unwrap();
    gwfargate(ws.path(), &emulator.endpoint)
        .args(["down", "--env", "env1.toml", "--yes"])
        .assert()
        .success();
    common::assert_nothing_left(&sdk, "after down without a state file").await;
}
