//! The stack's topologies as data: `[network] load_balancer = "alb"` builds an Application
//! Load Balancer behind its own security group instead of the NLB, serves through it on the
//! realistic test bed, scales on requests per task, and is removed with nothing left; a built
//! stack moves from one kind to the other while it serves.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod common;

use common::{Emulator, gwfargate, inventory, output, realistic_settings, workspace_outside_ecr};

const REGION: &str = "eu-west-1";

fn invoke_status(emulator: &Emulator, api: &str) -> u16 {
    common::invoke(emulator, api, "", "")
}

/// The id of the stack's REST API.
async fn api_id(sdk: &aws_config::SdkConfig) -> String {
    aws_sdk_apigateway::Client::new(sdk)
        .get_rest_apis()
        .send()
        .await
        .unwrap()
        .items()[0]
        .id()
        .unwrap()
        .to_string()
}

/// The egress rules of the tasks' security group.
async fn tasks_egress(sdk: &aws_config::SdkConfig) -> Vec<aws_sdk_ec2::types::IpPermission> {
    aws_sdk_ec2::Client::new(sdk)
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
        .ip_permissions_egress()
        .to_vec()
}

/// The realistic test bed, fast (scale 0.002), without faults.
/// Deletes the `0.0.0.0/0` route of the route table named `name`, behind gwfargate's back.
async fn delete_default_route(sdk: &aws_config::SdkConfig, name: &str) {
    let ec2 = aws_sdk_ec2::Client::new(sdk);
    let table = ec2
        .describe_route_tables()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("tag:Name")
                .values(name)
                .build(),
        )
        .send()
        .await
        .unwrap()
        .route_tables()[0]
        .route_table_id()
        .unwrap()
        .to_string();
    ec2.delete_route()
        .route_table_id(&table)
        .destination_cidr_block("0.0.0.0/0")
        .send()
        .await
        .unwrap();
}

/// `status --probe` fails, naming `hop`.
fn probe_names(ws: &common::Workspace, emulator: &Emulator, hop: &str) {
    let probed = gwfargate(ws.path(), &emulator.endpoint)
        .args(["status", "--probe"])
        .assert()
        .failure();
    let (probed, _) = output(&probed);
    assert!(probed.contains(hop), "{hop} in {probed}");
}

fn bed() -> Emulator {
    let emulator = Emulator::with_profile(1, "realistic");
    emulator.configure(realistic_settings(
        0.002,
        serde_json::json!({"seed": 1, "rules": []}),
    ));
    emulator
}

/// `up --yes`, which must succeed.
fn up(ws: &common::Workspace, emulator: &Emulator) {
    gwfargate(ws.path(), &emulator.endpoint)
        .args(["up", "--env", "env1.toml", "--yes"])
        .assert()
        .success();
}

/// The plan of the env file as it stands has nothing to change.
fn assert_plan_empty(ws: &common::Workspace, emulator: &Emulator) {
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
}

/// `down --yes`, after which nothing of any kind is left.
async fn down_leaves_nothing(
    ws: &common::Workspace,
    emulator: &Emulator,
    sdk: &aws_config::SdkConfig,
) {
    gwfargate(ws.path(), &emulator.endpoint)
        .args(["down", "--yes"])
        .assert()
        .success();
    common::assert_nothing_left(sdk, "after down").await;
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

#[tokio::test(flavor = "multi_thread")]
async fn an_alb_stack_builds_serves_scales_on_requests_and_is_removed_whole() {
    let emulator = bed();
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

    up(&ws, &emulator);

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
    let link_group = common::group_id(&sdk, "cluster1-sg-vpclink-microservice1").await;
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
    let api = api_id(&sdk).await;
    assert_eq!(invoke_status(&emulator, &api), 200);

    // Nothing to change the second time.
    assert_plan_empty(&ws, &emulator);

    // A lost rule drops the requests at the ALB's group; `up` puts it back.
    ec2.revoke_security_group_ingress()
        .group_id(alb_group.group_id().unwrap())
        .set_ip_permissions(Some(ingress.to_vec()))
        .send()
        .await
        .unwrap();
    assert_eq!(invoke_status(&emulator, &api), 504);
    let probe = gwfargate(ws.path(), &emulator.endpoint)
        .args(["status", "--probe", "--json"])
        .assert()
        .code(1);
    let probe: serde_json::Value = serde_json::from_str(&output(&probe).0).unwrap();
    let broken = probe["probe"]["broken"].as_str().unwrap_or_default();
    assert!(
        broken.starts_with("load balancer's group") && broken.contains("ingress"),
        "{probe:#}"
    );
    up(&ws, &emulator);
    assert_eq!(invoke_status(&emulator, &api), 200);

    down_leaves_nothing(&ws, &emulator, &sdk).await;
}

/// The stack's load balancers by type, target groups, and the target groups its service
/// sends tasks to.
async fn load_balancing(sdk: &aws_config::SdkConfig) -> (Vec<String>, usize, Vec<String>) {
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(sdk);
    let mut kinds: Vec<String> = elb
        .describe_load_balancers()
        .send()
        .await
        .unwrap()
        .load_balancers()
        .iter()
        .map(|lb| lb.r#type().unwrap().as_str().to_string())
        .collect();
    kinds.sort();
    let groups = elb
        .describe_target_groups()
        .send()
        .await
        .unwrap()
        .target_groups()
        .len();
    let service = aws_sdk_ecs::Client::new(sdk)
        .describe_services()
        .cluster("cluster1-cluster")
        .services("cluster1-service-microservice1")
        .send()
        .await
        .unwrap();
    let attached = service.services()[0]
        .load_balancers()
        .iter()
        .map(|lb| lb.target_group_arn().unwrap().to_string())
        .collect();
    (kinds, groups, attached)
}

fn edit(ws: &common::Workspace, from: &str, to: &str) {
    let env_file = ws.path().join("env1.toml");
    let text = std::fs::read_to_string(&env_file).unwrap();
    assert!(text.contains(from), "{from} in {text}");
    std::fs::write(&env_file, text.replacen(from, to, 1)).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_built_stack_moves_from_an_nlb_to_an_alb_and_back_while_it_serves() {
    let emulator = bed();
    let sdk = emulator.sdk(REGION).await;
    // Built as the original design: an NLB behind a V1 link.
    let ws = workspace_outside_ecr();
    let cidr = "vpc_cidr = \"10.0.0.0/16\"";
    edit(&ws, cidr, &format!("{cidr}\nvpc_link = \"v1\""));
    up(&ws, &emulator);
    let api = api_id(&sdk).await;
    assert_eq!(invoke_status(&emulator, &api), 200);

    // To an ALB (which a V1 link cannot reach): the plan makes the new one and deletes the
    // old, nothing of which needs a confirmation.
    edit(&ws, "vpc_link = \"v1\"", "load_balancer = \"alb\"");
    let planned = gwfargate(ws.path(), &emulator.endpoint)
        .args(["plan", "--env", "env1.toml"])
        .assert()
        .success();
    let (planned, _) = output(&planned);
    for expected in [
        "cluster1-alb-microservice1",
        "cluster1-tg-alb-microservice1",
        "cluster1-nlb-microservice1",
    ] {
        assert!(planned.contains(expected), "{expected}: {planned}");
    }
    assert!(!planned.contains("destructive"), "{planned}");
    // New ids unknown to other calls for 500 AWS s (1 s at this scale): UpdateService naming
    // the new listener's target group meets the lag, as CloudFormation users met it
    // (cloudformation-coverage-roadmap#1868).
    let mut lagging = realistic_settings(0.002, serde_json::json!({"seed": 1, "rules": []}));
    lagging["durations"] = serde_json::json!({"read_lag": 500});
    emulator.configure(lagging);
    emulator.reset_calls();
    let statuses = common::up_while_serving(&ws, &emulator, &api, &["up", "--env", "env1.toml"]);
    assert_eq!(
        statuses.keys().copied().collect::<Vec<_>>(),
        [200],
        "{statuses:?}"
    );
    assert!(
        emulator
            .codes("ecs.UpdateService")
            .contains_key("InvalidParameterException"),
        "the service's update met the new listener's lag and waited it out: {:?}",
        emulator.codes("ecs.UpdateService")
    );
    let (kinds, groups, attached) = load_balancing(&sdk).await;
    assert_eq!(kinds, ["application"]);
    assert_eq!(groups, 1);
    assert_eq!(
        attached.len(),
        1,
        "the old group is off the service: {attached:?}"
    );
    assert_eq!(
        aws_sdk_apigateway::Client::new(&sdk)
            .get_vpc_links()
            .send()
            .await
            .unwrap()
            .items()
            .len(),
        0
    );
    assert_plan_empty(&ws, &emulator);

    // And back to an NLB, now behind the V2 link: the ALB's group goes with it.
    edit(&ws, "load_balancer = \"alb\"", "load_balancer = \"nlb\"");
    let statuses = common::up_while_serving(&ws, &emulator, &api, &["up", "--env", "env1.toml"]);
    assert_eq!(
        statuses.keys().copied().collect::<Vec<_>>(),
        [200],
        "{statuses:?}"
    );
    let (kinds, groups, attached) = load_balancing(&sdk).await;
    assert_eq!(kinds, ["network"]);
    assert_eq!((groups, attached.len()), (1, 1));
    let inventory = inventory(&sdk).await;
    assert_eq!(inventory["security groups"], 3, "{inventory:?}");

    down_leaves_nothing(&ws, &emulator, &sdk).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn down_without_a_state_file_finds_the_load_balancer_of_either_kind() {
    let emulator = bed();
    let sdk = emulator.sdk(REGION).await;
    let ws = workspace_alb();
    up(&ws, &emulator);
    // The state file lost, and the env file saying the other kind.
    std::fs::remove_dir_all(ws.path().join(".gwfargate")).unwrap();
    edit(&ws, "load_balancer = \"alb\"", "load_balancer = \"nlb\"");
    edit(&ws, "requests = 500", "cpu = 60");
    gwfargate(ws.path(), &emulator.endpoint)
        .args(["down", "--env", "env1.toml", "--yes"])
        .assert()
        .success();
    common::assert_nothing_left(&sdk, "after down").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn down_without_a_state_file_finds_a_stack_built_with_the_other_way_in() {
    let emulator = bed();
    let sdk = emulator.sdk(REGION).await;
    let cidr = "vpc_cidr = \"10.0.0.0/16\"";
    let public = "\nentry = \"public_load_balancer\"\nacknowledge_public_entry = true";
    // Built with API Gateway; the state file lost, and the env file now says public.
    let ws = workspace_outside_ecr();
    up(&ws, &emulator);
    std::fs::remove_dir_all(ws.path().join(".gwfargate")).unwrap();
    edit(&ws, cidr, &format!("{cidr}{public}"));
    edit(&ws, "[api]\nauth", "# [api]\n# auth");
    let down = gwfargate(ws.path(), &emulator.endpoint)
        .args(["down", "--env", "env1.toml", "--yes"])
        .assert()
        .success();
    let (_, listed) = output(&down);
    for part in [
        "cluster1-nlb-microservice1",
        "cluster1-vpclink-microservice1",
        "cluster1-subnet-private-1",
    ] {
        assert!(listed.contains(part), "{part} is listed: {listed}");
    }
    common::assert_nothing_left(&sdk, "after down of an API Gateway stack").await;

    // Built public; the state file lost, and the env file now says API Gateway.
    let ws = workspace_public(true);
    up(&ws, &emulator);
    std::fs::remove_dir_all(ws.path().join(".gwfargate")).unwrap();
    edit(&ws, public, "");
    edit(&ws, "# [api]\n# auth", "[api]\nauth");
    gwfargate(ws.path(), &emulator.endpoint)
        .args(["down", "--env", "env1.toml", "--yes"])
        .assert()
        .success();
    common::assert_nothing_left(&sdk, "after down of a public stack").await;
}

/// A workspace whose stack goes out through a NAT gateway, with an image outside ECR.
fn workspace_nat() -> common::Workspace {
    let ws = workspace_outside_ecr();
    let cidr = "vpc_cidr = \"10.0.0.0/16\"";
    edit(
        &ws,
        cidr,
        &format!(
            "{cidr}\negress = \"nat\"\npublic_subnets = [ {{ cidr = \"10.0.101.0/24\", az = \"eu-west-1a\" }} ]"
        ),
    );
    ws
}

#[tokio::test(flavor = "multi_thread")]
async fn a_nat_stack_builds_serves_pulls_from_outside_ecr_and_is_removed_whole() {
    let emulator = bed();
    let sdk = emulator.sdk(REGION).await;
    let ws = workspace_nat();
    let made = gwfargate(ws.path(), &emulator.endpoint)
        .args(["up", "--env", "env1.toml", "--yes"])
        .assert()
        .success();
    let (_, stderr) = output(&made);
    // The tasks reach any registry through the NAT gateway: no warning about the image.
    assert!(!stderr.contains("outside ECR"), "{stderr}");
    let have = inventory(&sdk).await;
    assert_eq!(have["vpc endpoints"], 0, "{have:?}");
    assert_eq!(have["nat gateways"], 1, "{have:?}");
    assert_eq!(have["internet gateways"], 1, "{have:?}");
    assert_eq!(have["elastic ips"], 1, "{have:?}");
    // The tasks' and the V2 link's groups: no endpoints' group.
    assert_eq!(have["security groups"], 2, "{have:?}");
    assert_eq!(have["subnets"], 3, "{have:?}");
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let nat = ec2.describe_nat_gateways().send().await.unwrap();
    let nat = &nat.nat_gateways()[0];
    assert_eq!(nat.state().map(|s| s.as_str()), Some("available"));
    let egress = tasks_egress(&sdk).await;
    assert!(
        egress.iter().any(|p| p.from_port() == Some(443)
            && p.ip_ranges()
                .iter()
                .any(|r| r.cidr_ip() == Some("0.0.0.0/0"))),
        "{egress:?}"
    );
    let api = api_id(&sdk).await;
    assert_eq!(invoke_status(&emulator, &api), 200);
    assert_plan_empty(&ws, &emulator);
    let status = gwfargate(ws.path(), &emulator.endpoint)
        .args(["status", "--json"])
        .assert()
        .success();
    let doc = output(&status).0;
    assert!(
        doc.contains("nat gateway") && doc.contains("internet gateway"),
        "{doc}"
    );

    // A default route lost behind gwfargate's back is planned and put back by `up`.
    delete_default_route(&sdk, "cluster1-rt-private").await;
    let planned = gwfargate(ws.path(), &emulator.endpoint)
        .args(["plan", "--env", "env1.toml"])
        .assert()
        .success();
    let (planned, _) = output(&planned);
    assert!(
        planned.contains("create   route 0.0.0.0/0 → nat gateway"),
        "{planned}"
    );
    up(&ws, &emulator);
    assert_plan_empty(&ws, &emulator);

    down_leaves_nothing(&ws, &emulator, &sdk).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_built_stack_moves_from_endpoints_to_a_nat_gateway_and_back_while_it_serves() {
    let emulator = bed();
    let sdk = emulator.sdk(REGION).await;
    let ws = workspace_outside_ecr();
    up(&ws, &emulator);
    let api = api_id(&sdk).await;
    assert_eq!(inventory(&sdk).await["vpc endpoints"], 4);

    let cidr = "vpc_cidr = \"10.0.0.0/16\"";
    let nat = format!(
        "{cidr}\negress = \"nat\"\npublic_subnets = [ {{ cidr = \"10.0.101.0/24\", az = \"eu-west-1a\" }} ]"
    );
    edit(&ws, cidr, &nat);
    let statuses =
        common::up_while_serving(&ws, &emulator, &api, &["up", "--env", "env1.toml", "--yes"]);
    assert_eq!(
        statuses.keys().copied().collect::<Vec<_>>(),
        [200],
        "{statuses:?}"
    );
    let have = inventory(&sdk).await;
    assert_eq!(have["vpc endpoints"], 0, "the endpoints went: {have:?}");
    assert_eq!(have["nat gateways"], 1, "{have:?}");
    assert_eq!(
        have["security groups"], 2,
        "the endpoints' group went: {have:?}"
    );

    edit(&ws, &nat, cidr);
    let statuses =
        common::up_while_serving(&ws, &emulator, &api, &["up", "--env", "env1.toml", "--yes"]);
    assert_eq!(
        statuses.keys().copied().collect::<Vec<_>>(),
        [200],
        "{statuses:?}"
    );
    let have = inventory(&sdk).await;
    assert_eq!(have["vpc endpoints"], 4, "{have:?}");
    for gone in ["nat gateways", "internet gateways", "elastic ips"] {
        assert!(!have.contains_key(gone), "{gone}: {have:?}");
    }
    assert_eq!(have["subnets"], 2, "{have:?}");
    // The tasks' group no longer lets HTTPS out to anywhere.
    let egress = tasks_egress(&sdk).await;
    assert!(
        !egress.iter().any(|p| p
            .ip_ranges()
            .iter()
            .any(|r| r.cidr_ip() == Some("0.0.0.0/0"))),
        "{egress:?}"
    );
    assert_plan_empty(&ws, &emulator);

    down_leaves_nothing(&ws, &emulator, &sdk).await;
}

/// A workspace whose env file asks for the public entry, acknowledged when `acknowledged`.
fn workspace_public(acknowledged: bool) -> common::Workspace {
    let ws = workspace_outside_ecr();
    let cidr = "vpc_cidr = \"10.0.0.0/16\"";
    let acknowledgment = if acknowledged {
        "\nacknowledge_public_entry = true"
    } else {
        ""
    };
    edit(
        &ws,
        cidr,
        &format!("{cidr}\nentry = \"public_load_balancer\"{acknowledgment}"),
    );
    // No API Gateway, so no [api].
    edit(&ws, "[api]\nauth", "# [api]\n# auth");
    ws
}

/// The status of a GET from the internet to the public entry's `url` (`http://host:port/`),
/// through the test bed.
fn from_the_internet(emulator: &Emulator, url: &str) -> u16 {
    let rest = url.trim_start_matches("http://").trim_end_matches('/');
    let (host, port) = rest.split_once(':').expect("host:port");
    common::request(
        emulator,
        &format!("/_testbed/public/{host}/{port}/hello?region={REGION}"),
        "",
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_public_entry_is_acknowledged_builds_serves_from_the_internet_says_it_is_public_and_is_removed_whole()
 {
    let emulator = bed();
    let sdk = emulator.sdk(REGION).await;

    // Not acknowledged: refused before any AWS call, naming the key to add.
    let ws = workspace_public(false);
    let refused = gwfargate(ws.path(), &emulator.endpoint)
        .args(["up", "--env", "env1.toml", "--yes"])
        .assert()
        .code(2);
    let (_, stderr) = output(&refused);
    assert!(
        stderr.contains("acknowledge_public_entry = true") && stderr.contains("not for production"),
        "{stderr}"
    );
    common::assert_nothing_left(&sdk, "after the refusal").await;

    let ws = workspace_public(true);
    let planned = gwfargate(ws.path(), &emulator.endpoint)
        .args(["plan", "--env", "env1.toml"])
        .assert()
        .success();
    let (planned, _) = output(&planned);
    for wanted in [
        "open to the internet on port 8080",
        "scheme internet-facing",
        "ingress tcp 8080 0.0.0.0/0",
        "assign_public_ip ENABLED",
        "internet gateway",
        "cluster1-subnet-public-1",
    ] {
        assert!(planned.contains(wanted), "{wanted} in {planned}");
    }
    assert!(
        !planned.contains("rest api") && !planned.contains("vpc link"),
        "{planned}"
    );

    let made = gwfargate(ws.path(), &emulator.endpoint)
        .args(["up", "--env", "env1.toml", "--yes"])
        .assert()
        .success();
    let url = output(&made).0.trim().to_string();
    assert!(
        url.starts_with("http://cluster1-alb-microservice1") && url.ends_with(":8080/"),
        "{url}"
    );
    let have = inventory(&sdk).await;
    for none in ["rest apis", "vpc links", "vpc endpoints"] {
        assert_eq!(have.get(none).copied().unwrap_or(0), 0, "{none}: {have:?}");
    }
    assert_eq!(have.get("nat gateways"), None, "{have:?}");
    assert_eq!(have["internet gateways"], 1, "{have:?}");
    // The tasks' and the load balancer's groups.
    assert_eq!(have["security groups"], 2, "{have:?}");
    assert_eq!(have["subnets"], 2, "{have:?}");
    assert_eq!(from_the_internet(&emulator, &url), 200);
    assert_plan_empty(&ws, &emulator);

    let status = gwfargate(ws.path(), &emulator.endpoint)
        .args(["status", "--json"])
        .assert()
        .success();
    let doc: serde_json::Value = serde_json::from_str(&output(&status).0).unwrap();
    assert_eq!(doc["entry"], "public_load_balancer", "{doc:#}");
    assert_eq!(doc["url"], url.as_str(), "{doc:#}");
    assert_eq!(doc["api_auth"], serde_json::Value::Null, "{doc:#}");
    let status = gwfargate(ws.path(), &emulator.endpoint)
        .args(["status"])
        .assert()
        .success();
    let (shown, _) = output(&status);
    assert!(shown.contains("open to anyone on the internet"), "{shown}");
    let keyless = gwfargate(ws.path(), &emulator.endpoint)
        .args(["api-key"])
        .assert()
        .code(2);
    let (_, stderr) = output(&keyless);
    assert!(stderr.contains("no API Gateway"), "{stderr}");

    // The load balancer's group closed to the internet: the probe names it, `up` opens it.
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let group = common::group_id(&sdk, "cluster1-sg-alb-microservice1").await;
    ec2.revoke_security_group_ingress()
        .group_id(&group)
        .ip_permissions(
            aws_sdk_ec2::types::IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(8080)
                .to_port(8080)
                .ip_ranges(
                    aws_sdk_ec2::types::IpRange::builder()
                        .cidr_ip("0.0.0.0/0")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(from_the_internet(&emulator, &url), 504);
    probe_names(&ws, &emulator, "load balancer's group");
    up(&ws, &emulator);
    assert_eq!(from_the_internet(&emulator, &url), 200);

    // The public route lost behind gwfargate's back: the probe names the route table.
    delete_default_route(&sdk, "cluster1-rt-public").await;
    assert_eq!(from_the_internet(&emulator, &url), 504);
    probe_names(&ws, &emulator, "public route table");
    up(&ws, &emulator);
    assert_eq!(from_the_internet(&emulator, &url), 200);

    // The way in of a built stack does not change in place: refused, nothing changed.
    edit(
        &ws,
        "entry = \"public_load_balancer\"\nacknowledge_public_entry = true",
        "",
    );
    let refused = gwfargate(ws.path(), &emulator.endpoint)
        .args(["up", "--env", "env1.toml", "--yes"])
        .assert()
        .code(2);
    let (_, stderr) = output(&refused);
    assert!(
        stderr.contains("network.entry") && stderr.contains("down --env"),
        "{stderr}"
    );
    assert_eq!(from_the_internet(&emulator, &url), 200);

    down_leaves_nothing(&ws, &emulator, &sdk).await;
}
