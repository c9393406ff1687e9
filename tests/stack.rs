//! The whole stack, end to end, against a private emulator: `up` (image missing, then pushed),
//! a second `up` that changes nothing, `status`, `status --json`, and `down` leaving nothing.
//! Everything is checked from outside with the SDK, as a user's console would show it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aws_config::SdkConfig;
use common::{Emulator, Workspace, expected_full_stack, gwfargate, inventory, output, push_image};

const REGION: &str = "eu-west-1";
const REPO: &str = "microservice1";

/// Checks every resource's settings and the wiring between them.
async fn check_settings_and_wiring(sdk: &SdkConfig, url: &str) {
    let ec2 = aws_sdk_ec2::Client::new(sdk);
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(sdk);
    let ecs = aws_sdk_ecs::Client::new(sdk);
    let apigw = aws_sdk_apigateway::Client::new(sdk);
    let iam = aws_sdk_iam::Client::new(sdk);
    let logs = aws_sdk_cloudwatchlogs::Client::new(sdk);
    let ecr = aws_sdk_ecr::Client::new(sdk);

    // VPC with DNS support and hostnames.
    let vpcs = ec2.describe_vpcs().send().await.unwrap();
    let vpc = vpcs
        .vpcs()
        .iter()
        .find(|v| v.is_default() != Some(true))
        .unwrap();
    let vpc_id = vpc.vpc_id().unwrap();
    assert_eq!(vpc.cidr_block(), Some("10.0.0.0/16"));
    let tag = |tags: &[aws_sdk_ec2::types::Tag], key: &str| {
        tags.iter()
            .find(|t| t.key() == Some(key))
            .and_then(|t| t.value())
            .map(str::to_string)
    };
    assert_eq!(
        tag(vpc.tags(), "gwfargate:env").as_deref(),
        Some("cluster1")
    );
    assert_eq!(tag(vpc.tags(), "Environment").as_deref(), Some("dev"));
    for attr in [
        aws_sdk_ec2::types::VpcAttributeName::EnableDnsSupport,
        aws_sdk_ec2::types::VpcAttributeName::EnableDnsHostnames,
    ] {
        let out = ec2
            .describe_vpc_attribute()
            .vpc_id(vpc_id)
            .attribute(attr.clone())
            .send()
            .await
            .unwrap();
        let on = match attr {
            aws_sdk_ec2::types::VpcAttributeName::EnableDnsSupport => out.enable_dns_support(),
            _ => out.enable_dns_hostnames(),
        }
        .and_then(|v| v.value());
        assert_eq!(on, Some(true), "{attr:?}");
    }

    // Subnets: the env file's CIDRs and zones, in the VPC, no public IPs.
    let subnets = ec2
        .describe_subnets()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("vpc-id")
                .values(vpc_id)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let mut placed: Vec<(String, String)> = subnets
        .subnets()
        .iter()
        .map(|s| {
            (
                s.cidr_block().unwrap().to_string(),
                s.availability_zone().unwrap().to_string(),
            )
        })
        .collect();
    placed.sort();
    assert_eq!(
        placed,
        vec![
            ("10.0.1.0/24".to_string(), "eu-west-1a".to_string()),
            ("10.0.2.0/24".to_string(), "eu-west-1b".to_string())
        ]
    );
    assert!(
        subnets
            .subnets()
            .iter()
            .all(|s| s.map_public_ip_on_launch() != Some(true))
    );
    let mut subnet_ids: Vec<String> = subnets
        .subnets()
        .iter()
        .map(|s| s.subnet_id().unwrap().to_string())
        .collect();
    subnet_ids.sort();

    // Route table: both subnets, no route to the internet.
    let tables = ec2
        .describe_route_tables()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("tag:gwfargate:env")
                .values("cluster1")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let table = &tables.route_tables()[0];
    let mut associated: Vec<String> = table
        .associations()
        .iter()
        .filter_map(|a| a.subnet_id().map(str::to_string))
        .collect();
    associated.sort();
    assert_eq!(associated, subnet_ids);
    assert!(
        table
            .routes()
            .iter()
            .all(|r| r.destination_cidr_block() != Some("0.0.0.0/0")),
        "no route to the internet"
    );

    // Two security groups. The tasks': the service port in from the VPC, 443 out to the
    // endpoints' group and S3's prefix list only. The endpoints': 443 in from the tasks' group
    // only, nothing out.
    let groups = ec2
        .describe_security_groups()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("vpc-id")
                .values(vpc_id)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let named = |name: &str| {
        groups
            .security_groups()
            .iter()
            .find(|g| g.group_name() == Some(name))
            .unwrap_or_else(|| panic!("no group {name}: {groups:?}"))
            .clone()
    };
    let sg = named("cluster1-sg-microservice1");
    let sg_id = sg.group_id().unwrap();
    let vpce_sg = named("cluster1-sg-vpce");
    let vpce_sg_id = vpce_sg.group_id().unwrap();
    assert_eq!(groups.security_groups().len(), 4, "{groups:?}");
    // The VPC's default group keeps no rules (Security Hub EC2.2).
    let default = named("default");
    assert!(
        default.ip_permissions().is_empty() && default.ip_permissions_egress().is_empty(),
        "{default:?}"
    );
    let rules = |perms: &[aws_sdk_ec2::types::IpPermission]| {
        let mut out: Vec<String> = Vec::new();
        for p in perms {
            let port = format!(
                "{} {}",
                p.ip_protocol().unwrap(),
                p.from_port().unwrap_or(-1)
            );
            out.extend(
                p.ip_ranges()
                    .iter()
                    .map(|r| format!("{port} {}", r.cidr_ip().unwrap())),
            );
            out.extend(
                p.prefix_list_ids()
                    .iter()
                    .map(|_| format!("{port} s3 prefix list")),
            );
            out.extend(
                p.user_id_group_pairs()
                    .iter()
                    .map(|g| format!("{port} {}", g.group_id().unwrap())),
            );
            assert!(p.ipv6_ranges().is_empty(), "{p:?}");
        }
        out.sort();
        out
    };
    assert_eq!(rules(sg.ip_permissions()), ["tcp 8080 10.0.0.0/16"]);
    assert_eq!(
        rules(sg.ip_permissions_egress()),
        [
            "tcp 443 s3 prefix list".to_string(),
            format!("tcp 443 {vpce_sg_id}"),
        ]
    );
    assert_eq!(
        rules(vpce_sg.ip_permissions()),
        [format!("tcp 443 {sg_id}")]
    );
    assert!(
        rules(vpce_sg.ip_permissions_egress()).is_empty(),
        "{vpce_sg:?}"
    );
    // The V2 VPC link's interfaces: nothing in, the listener's port out to the VPC only.
    let link_sg = named("cluster1-sg-vpclink-microservice1");
    assert!(link_sg.ip_permissions().is_empty(), "{link_sg:?}");
    assert_eq!(
        rules(link_sg.ip_permissions_egress()),
        ["tcp 8080 10.0.0.0/16"]
    );

    // Endpoints: three interface endpoints in both subnets with the group and private DNS,
    // and the S3 gateway endpoint on the route table.
    let endpoints = ec2.describe_vpc_endpoints().send().await.unwrap();
    let mut services: Vec<String> = Vec::new();
    for ep in endpoints.vpc_endpoints() {
        services.push(ep.service_name().unwrap().to_string());
        assert_eq!(ep.vpc_id(), Some(vpc_id));
        // Each lets through only what the tasks need, never AWS's default "everything".
        let policy = ep.policy_document().unwrap_or_default();
        let service = ep.service_name().unwrap();
        assert!(
            !policy.contains(r#""Action":"*""#) && !policy.is_empty(),
            "{service}: {policy}"
        );
        let scoped_to = match service.rsplit('.').next().unwrap() {
            "s3" => "arn:aws:s3:::prod-eu-west-1-starport-layer-bucket/*",
            "logs" => "log-group:/ecs/cluster1/microservice1:*",
            _ => "arn:aws:ecr:eu-west-1:123456789012:repository/microservice1",
        };
        assert!(policy.contains(scoped_to), "{service}: {policy}");
        if ep.service_name() == Some("com.amazonaws.eu-west-1.s3") {
            assert_eq!(
                ep.route_table_ids(),
                &[table.route_table_id().unwrap().to_string()]
            );
        } else {
            let mut in_subnets = ep.subnet_ids().to_vec();
            in_subnets.sort();
            assert_eq!(in_subnets, subnet_ids, "{:?}", ep.service_name());
            assert_eq!(ep.private_dns_enabled(), Some(true));
            let in_groups: Vec<_> = ep.groups().iter().filter_map(|g| g.group_id()).collect();
            assert_eq!(in_groups, [vpce_sg_id], "{:?}", ep.service_name());
        }
    }
    services.sort();
    assert_eq!(
        services,
        ["ecr.api", "ecr.dkr", "logs", "s3"].map(|s| format!("com.amazonaws.eu-west-1.{s}"))
    );

    // Role and its scoped policy.
    let role = iam
        .get_role()
        .role_name("cluster1-role-microservice1-eu-west-1")
        .send()
        .await
        .unwrap();
    let role = role.role().unwrap();
    let trust = common::policy_text(role.assume_role_policy_document().unwrap());
    assert!(trust.contains("ecs-tasks.amazonaws.com"), "{trust}");
    // Only ECS acting for this account (the confused-deputy guard).
    assert!(
        trust.contains(r#""aws:SourceAccount":"123456789012""#)
            && trust.contains(r#""aws:SourceArn":"arn:aws:ecs:eu-west-1:123456789012:*""#),
        "{trust}"
    );
    let policy = iam
        .get_role_policy()
        .role_name(role.role_name())
        .policy_name("cluster1-policy-microservice1-execution")
        .send()
        .await
        .unwrap();
    let policy = common::policy_text(policy.policy_document());
    assert!(
        policy.contains(
            "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/cluster1/microservice1:*"
        ),
        "{policy}"
    );
    assert!(
        policy.contains("arn:aws:ecr:eu-west-1:123456789012:repository/microservice1"),
        "{policy}"
    );

    // Log group retention.
    let groups = logs.describe_log_groups().send().await.unwrap();
    let mut retention: Vec<(&str, Option<i32>)> = groups
        .log_groups()
        .iter()
        .map(|g| (g.log_group_name().unwrap(), g.retention_in_days()))
        .collect();
    retention.sort_unstable();
    assert_eq!(
        retention,
        [
            ("/apigateway/cluster1/microservice1/access", Some(30)),
            ("/ecs/cluster1/microservice1", Some(30))
        ]
    );

    // Repository: scan on push, lifecycle policy.
    let repos = ecr.describe_repositories().send().await.unwrap();
    let repo = &repos.repositories()[0];
    assert_eq!(repo.repository_name(), Some(REPO));
    assert_eq!(
        repo.image_scanning_configuration()
            .map(|c| c.scan_on_push()),
        Some(true)
    );
    ecr.get_lifecycle_policy()
        .repository_name(REPO)
        .send()
        .await
        .unwrap();

    // Task definition: Fargate, awsvpc, sizes, the role and the log group.
    let td = ecs
        .describe_task_definition()
        .task_definition("cluster1-task-microservice1")
        .send()
        .await
        .unwrap();
    let td = td.task_definition().unwrap();
    assert_eq!(td.cpu(), Some("1024"));
    assert_eq!(td.memory(), Some("2048"));
    assert_eq!(
        td.network_mode(),
        Some(&aws_sdk_ecs::types::NetworkMode::Awsvpc)
    );
    assert!(
        td.requires_compatibilities()
            .contains(&aws_sdk_ecs::types::Compatibility::Fargate)
    );
    assert_eq!(td.execution_role_arn(), Some(role.arn()));
    let container = &td.container_definitions()[0];
    assert!(
        container.image().is_some_and(|image| image
            .starts_with("123456789012.dkr.ecr.eu-west-1.amazonaws.com/microservice1@sha256:")),
        "pinned to the digest 1.0.0 names: {:?}",
        container.image()
    );
    assert_eq!(container.port_mappings()[0].container_port(), Some(8080));
    let log_options = container.log_configuration().unwrap().options().unwrap();
    assert_eq!(
        log_options.get("awslogs-group").map(String::as_str),
        Some("/ecs/cluster1/microservice1")
    );
    assert_eq!(
        log_options.get("awslogs-stream-prefix").map(String::as_str),
        Some("ecs")
    );

    // NLB: internal, network, in both subnets. Target group, listener.
    let lbs = elb.describe_load_balancers().send().await.unwrap();
    let lb = &lbs.load_balancers()[0];
    assert_eq!(
        lb.scheme(),
        Some(&aws_sdk_elasticloadbalancingv2::types::LoadBalancerSchemeEnum::Internal)
    );
    assert_eq!(
        lb.r#type(),
        Some(&aws_sdk_elasticloadbalancingv2::types::LoadBalancerTypeEnum::Network)
    );
    let mut lb_subnets: Vec<String> = lb
        .availability_zones()
        .iter()
        .filter_map(|z| z.subnet_id().map(str::to_string))
        .collect();
    lb_subnets.sort();
    assert_eq!(lb_subnets, subnet_ids);
    let lb_arn = lb.load_balancer_arn().unwrap();
    let lb_dns = lb.dns_name().unwrap();
    let tgs = elb.describe_target_groups().send().await.unwrap();
    let tg = &tgs.target_groups()[0];
    let tg_arn = tg.target_group_arn().unwrap();
    assert_eq!(tg.port(), Some(8080));
    assert_eq!(
        tg.protocol(),
        Some(&aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Tcp)
    );
    assert_eq!(
        tg.target_type(),
        Some(&aws_sdk_elasticloadbalancingv2::types::TargetTypeEnum::Ip)
    );
    assert_eq!(tg.health_check_path(), Some("/actuator/health"));
    assert_eq!(tg.vpc_id(), Some(vpc_id));
    let attrs = elb
        .describe_target_group_attributes()
        .target_group_arn(tg_arn)
        .send()
        .await
        .unwrap();
    assert!(attrs.attributes().iter().any(|a| {
        a.key() == Some("deregistration_delay.timeout_seconds") && a.value() == Some("30")
    }));
    let listeners = elb
        .describe_listeners()
        .load_balancer_arn(lb_arn)
        .send()
        .await
        .unwrap();
    let listener = &listeners.listeners()[0];
    assert_eq!(listener.port(), Some(8080));
    assert_eq!(
        listener.protocol(),
        Some(&aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Tcp)
    );
    assert_eq!(
        listener.default_actions()[0].target_group_arn(),
        Some(tg_arn)
    );

    // Service: Fargate, private subnets, the group, no public IP, on the target group.
    let svc = &common::the_service(sdk).await;
    assert_eq!(svc.status(), Some("ACTIVE"));
    assert_eq!(
        svc.launch_type(),
        Some(&aws_sdk_ecs::types::LaunchType::Fargate)
    );
    assert_eq!(svc.desired_count(), 1);
    assert_eq!(svc.task_definition(), td.task_definition_arn());
    let net = svc
        .network_configuration()
        .unwrap()
        .awsvpc_configuration()
        .unwrap();
    let mut svc_subnets = net.subnets().to_vec();
    svc_subnets.sort();
    assert_eq!(svc_subnets, subnet_ids);
    assert_eq!(net.security_groups(), &[sg_id.to_string()]);
    assert_eq!(
        net.assign_public_ip(),
        Some(&aws_sdk_ecs::types::AssignPublicIp::Disabled)
    );
    assert_eq!(svc.load_balancers()[0].target_group_arn(), Some(tg_arn));
    assert_eq!(svc.load_balancers()[0].container_port(), Some(8080));
    assert_eq!(
        svc.load_balancers()[0].container_name(),
        Some("microservice1")
    );

    // A V2 VPC link in the private subnets with its own group, and no V1 link; the
    // integrations go over it to the NLB, by its DNS name and its ARN.
    assert!(
        apigw
            .get_vpc_links()
            .send()
            .await
            .unwrap()
            .items()
            .is_empty()
    );
    let links = aws_sdk_apigatewayv2::Client::new(sdk)
        .get_vpc_links()
        .send()
        .await
        .unwrap();
    let link = &links.items()[0];
    let mut link_subnets = link.subnet_ids().to_vec();
    link_subnets.sort();
    assert_eq!(link_subnets, subnet_ids);
    assert_eq!(
        link.security_group_ids(),
        &[link_sg.group_id().unwrap().to_string()]
    );
    let apis = apigw.get_rest_apis().send().await.unwrap();
    let api = &apis.items()[0];
    let api_id = api.id().unwrap();
    assert_eq!(
        url,
        format!("https://{api_id}.execute-api.eu-west-1.amazonaws.com/dev")
    );
    let resources = apigw
        .get_resources()
        .rest_api_id(api_id)
        .send()
        .await
        .unwrap();
    let mut paths: Vec<&str> = resources.items().iter().filter_map(|r| r.path()).collect();
    paths.sort_unstable();
    assert_eq!(paths, vec!["/", "/{proxy+}"]);
    for resource in resources.items() {
        let integration = apigw
            .get_integration()
            .rest_api_id(api_id)
            .resource_id(resource.id().unwrap())
            .http_method("ANY")
            .send()
            .await
            .unwrap();
        assert_eq!(
            integration.r#type(),
            Some(&aws_sdk_apigateway::types::IntegrationType::HttpProxy)
        );
        assert_eq!(
            integration.connection_type(),
            Some(&aws_sdk_apigateway::types::ConnectionType::VpcLink)
        );
        let expected_uri = if resource.path() == Some("/") {
            format!("http://{lb_dns}:8080/")
        } else {
            format!("http://{lb_dns}:8080/{{proxy}}")
        };
        // moto as it is keeps neither the connection id nor the target: the realistic
        // test bed, which does, checks them (tests/realistic.rs).
        assert_eq!(integration.uri(), Some(expected_uri.as_str()));
    }
    apigw
        .get_stage()
        .rest_api_id(api_id)
        .stage_name("dev")
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn up_status_down_end_to_end() {
    let emulator = Emulator::start(1);
    let sdk = emulator.sdk(REGION).await;
    let ws = Workspace::new(&[]);
    let dir = ws.path();

    // 1. The image is not pushed: everything else is built, exit 3 with the push commands.
    let first = gwfargate(dir, &emulator.endpoint)
        .args(["up", "--env", "env1.toml"])
        .assert()
        .code(3);
    let (_, stderr) = output(&first);
    assert!(
        stderr.contains(
            "docker push 123456789012.dkr.ecr.eu-west-1.amazonaws.com/microservice1:1.0.0"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("docker login"), "{stderr}");
    let partial = inventory(&sdk).await;
    assert_eq!(
        partial["active services"], 0,
        "no service without the image"
    );
    assert_eq!(
        partial["active task definitions"], 0,
        "no revision names an image that is not there"
    );
    assert_eq!(partial["rest apis"], 1, "the API does not need the image");
    assert_eq!(partial["vpc links"], 1);
    assert_eq!(partial["ecr repositories"], 1, "the repository was created");
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ws.state_file()).unwrap()).unwrap();
    assert_eq!(state["format_version"], 2);
    assert!(
        state["resources"]["vpc"]["id"]
            .as_str()
            .unwrap()
            .starts_with("vpc-")
    );
    assert!(state["resources"].get("service").is_none());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&ws.state_file()), 0o600, "state file is user-only");
        assert_eq!(
            mode(ws.state_file().parent().unwrap()),
            0o700,
            "state dir is user-only"
        );
    }
    // Not a terminal: plain lines, each with the time since start, a step and its result.
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("[") && l.contains("s] vpc") && l.contains(" ok ")),
        "{stderr}"
    );
    assert!(stderr.contains("STOP   image not pushed yet"), "{stderr}");
    assert!(
        !stderr.contains("FAILED"),
        "waiting for a push is no failure: {stderr}"
    );

    // 2. Push, then `up` again finishes the stack and prints the URL.
    push_image(&sdk, REPO, "1.0.0").await;
    let second = gwfargate(dir, &emulator.endpoint)
        .args(["up", "--env", "env1.toml"])
        .assert()
        .success();
    let (stdout, _) = output(&second);
    let url = stdout.trim().to_string();
    assert!(
        url.starts_with("https://") && url.ends_with(".execute-api.eu-west-1.amazonaws.com/dev"),
        "{url}"
    );
    assert_eq!(inventory(&sdk).await, expected_full_stack());
    check_settings_and_wiring(&sdk, &url).await;

    // 3. A second `up` on a complete stack changes nothing: same counts (one task definition
    //    revision, one API deployment) and the same state file.
    let before = std::fs::read_to_string(ws.state_file()).unwrap();
    emulator.reset_calls();
    let third = gwfargate(dir, &emulator.endpoint)
        .args(["up", "--env", "env1.toml"])
        .assert()
        .success();
    assert_eq!(output(&third).0.trim(), url);
    // Not one write reached AWS: every call was a Describe, Get or List; and few of them.
    let calls = emulator.calls();
    assert!(calls.len() > 10, "the calls were logged: {calls:?}");
    assert!(
        emulator.writes().is_empty(),
        "a second up wrote: {:?}",
        emulator.writes()
    );
    assert!(
        emulator.total() <= 39,
        "a no-op up makes at most 39 calls, made {}: {calls:?}",
        emulator.total()
    );
    assert_eq!(inventory(&sdk).await, expected_full_stack());
    assert_eq!(std::fs::read_to_string(ws.state_file()).unwrap(), before);
    let (_, stderr) = output(&third);
    assert!(
        !stderr.contains("warning"),
        "an image in the region's ECR: {stderr}"
    );
    for change in [
        "created",
        "registered",
        "updated",
        "redeployed",
        "deployed",
        "change(s)",
        "associat",
    ] {
        assert!(
            !stderr.contains(change),
            "a second up must change nothing, saw {change:?}:\n{stderr}"
        );
    }

    // 4. status: a line per resource, the counts and the URL; --json the same, for scripts.
    emulator.reset_calls();
    let status = gwfargate(dir, &emulator.endpoint)
        .arg("status")
        .assert()
        .success();
    assert!(
        emulator.total() <= 27,
        "status makes at most 27 calls, made {}: {:?}",
        emulator.total(),
        emulator.calls()
    );
    assert!(
        emulator.writes().is_empty(),
        "status wrote: {:?}",
        emulator.writes()
    );
    let (table, _) = output(&status);
    for kind in [
        "vpc",
        "subnet",
        "route table",
        "security group",
        "interface endpoint",
        "gateway endpoint",
        "iam role",
        "log group",
        "ecr repository",
        "ecs cluster",
        "task definition",
        "load balancer",
        "target group",
        "listener",
        "ecs service",
        "vpc link",
        "rest api",
        "api integrations",
        "api stage",
    ] {
        assert!(table.contains(kind), "status lacks {kind}:\n{table}");
    }
    assert!(!table.contains("missing"), "{table}");
    assert!(table.contains("service: 1/1 tasks running"), "{table}");
    assert!(
        table.contains("posture: ")
            && table.contains("pass  EC2.2 ")
            && table.contains("FAIL  ECS.5 "),
        "{table}"
    );
    assert!(table.contains(&format!("url: {url}")), "{table}");
    let json = gwfargate(dir, &emulator.endpoint)
        .args(["status", "--json"])
        .assert()
        .success();
    let doc: serde_json::Value = serde_json::from_str(&output(&json).0).unwrap();
    assert_eq!(doc["format_version"], 1);
    assert_eq!(doc["url"], url.as_str());
    assert_eq!(doc["complete"], true);
    assert_eq!(
        (&doc["service"]["running"], &doc["service"]["desired"]),
        (&serde_json::json!(1), &serde_json::json!(1))
    );
    assert_eq!(
        doc["service"]["revision"], doc["service"]["wanted_revision"],
        "{doc:#}"
    );
    for list in ["deployments", "events", "tasks", "stopped_tasks"] {
        assert!(doc["service"][list].is_array(), "{list}: {doc:#}");
    }
    assert!(doc["targets"].is_array(), "{doc:#}");
    assert_eq!(doc["api_auth"], "none");
    assert_eq!(doc["unread"], serde_json::json!([]));
    let resources = doc["resources"].as_array().unwrap();
    // 29 resources; no row for the V1 link a stack might have left, since there is none.
    assert_eq!(resources.len(), 29);
    for r in resources {
        // Every key is always there, `detail` as null when there is none: stable for scripts.
        for key in ["kind", "name", "id", "state", "detail"] {
            assert!(r.get(key).is_some(), "{key} in {r}");
        }
        assert_ne!(r["state"], "missing", "{r}");
        assert!(r["id"].as_str().is_some_and(|id| !id.is_empty()), "{r}");
    }

    // 5. down: the repository holds an image, so it is kept and said so; all else goes.
    let down = gwfargate(dir, &emulator.endpoint)
        .args(["down", "--yes"])
        .assert()
        .success();
    let (_, stderr) = output(&down);
    assert!(
        stderr.contains("kept microservice1: it holds 1 image(s)"),
        "{stderr}"
    );
    assert!(
        !ws.state_file().exists(),
        "state file removed after a complete down"
    );
    let mut left = inventory(&sdk).await;
    assert_eq!(left.remove("ecr repositories"), Some(1));
    assert!(left.values().all(|n| *n == 0), "left behind: {left:?}");

    // 6. down --purge finds the repository by its tags (no state file) and deletes it.
    gwfargate(dir, &emulator.endpoint)
        .args(["down", "--purge", "--yes", "--env", "env1.toml"])
        .assert()
        .success();
    common::assert_nothing_left(&sdk, "after down").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_image_elsewhere_is_used_as_given_and_long_names_are_shortened() {
    let emulator = Emulator::start(1);
    let sdk = emulator.sdk(REGION).await;
    let long_name = "a-thirty-two-character-name-xyz1";
    let ws = Workspace::new(&[
        (
            "name        = \"cluster1\"",
            &format!("name        = \"{long_name}\""),
        ),
        (
            "name              = \"microservice1\"",
            "name              = \"orders-service-with-long-name\"",
        ),
        (
            "image             = \"123456789012.dkr.ecr.eu-west-1.amazonaws.com/microservice1:1.0.0\"",
            "image             = \"public.ecr.aws/nginx/nginx:1.27\"",
        ),
    ]);
    let up = gwfargate(ws.path(), &emulator.endpoint)
        .args(["up", "--env", "env1.toml"])
        .assert()
        .success();
    let (_, stderr) = output(&up);
    assert!(
        stderr.contains(
            "public.ecr.aws/nginx/nginx:1.27 is outside ECR in eu-west-1; it is used as given"
        ),
        "{stderr}"
    );
    // The private subnets cannot reach a registry outside the region's ECR: said up front.
    assert!(
        stderr.contains("note: public.ecr.aws/nginx/nginx:1.27 is outside ECR in eu-west-1"),
        "{stderr}"
    );
    let counts = inventory(&sdk).await;
    assert_eq!(
        counts["ecr repositories"], 0,
        "no repository for an image elsewhere"
    );
    assert_eq!(counts["load balancers"], 1);

    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&sdk);
    let lb_name = elb
        .describe_load_balancers()
        .send()
        .await
        .unwrap()
        .load_balancers()[0]
        .load_balancer_name()
        .unwrap()
        .to_string();
    let tg_name = elb
        .describe_target_groups()
        .send()
        .await
        .unwrap()
        .target_groups()[0]
        .target_group_name()
        .unwrap()
        .to_string();
    for name in [&lb_name, &tg_name] {
        assert!(name.len() <= 32, "{name} is over AWS's 32");
        assert!(name.starts_with("a-thirty-two"), "{name}");
    }
    assert_ne!(lb_name, tg_name);

    // Shortened names are stable: a second run finds everything.
    gwfargate(ws.path(), &emulator.endpoint)
        .args(["up", "--env", "env1.toml"])
        .assert()
        .success();
    assert_eq!(inventory(&sdk).await, counts);

    // The execution role may pull from any registry, as the image is not in this account's ECR.
    let iam = aws_sdk_iam::Client::new(&sdk);
    let roles = iam.list_roles().send().await.unwrap();
    let role = roles.roles()[0].role_name().to_string();
    assert!(role.len() <= 64, "{role}");

    gwfargate(ws.path(), &emulator.endpoint)
        .args(["down", "--yes"])
        .assert()
        .success();
    common::assert_nothing_left(&sdk, "after down").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_repository_that_existed_before_is_never_deleted() {
    let emulator = Emulator::start(1);
    let sdk = emulator.sdk(REGION).await;
    let ecr = aws_sdk_ecr::Client::new(&sdk);
    ecr.create_repository()
        .repository_name(REPO)
        .send()
        .await
        .unwrap();
    push_image(&sdk, REPO, "1.0.0").await;
    let ws = Workspace::new(&[]);
    let up = gwfargate(ws.path(), &emulator.endpoint)
        .args(["up", "--env", "env1.toml"])
        .assert()
        .success();
    assert!(
        output(&up)
            .1
            .contains("found microservice1, image pushed (yours: gwfargate never deletes it)"),
        "{}",
        output(&up).1
    );
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ws.state_file()).unwrap()).unwrap();
    assert_eq!(state["resources"]["repository"]["created"], false);

    let down = gwfargate(ws.path(), &emulator.endpoint)
        .args(["down", "--purge", "--yes"])
        .assert()
        .success();
    assert!(
        output(&down)
            .1
            .contains("kept microservice1: it existed before gwfargate")
    );
    let repos = ecr.describe_repositories().send().await.unwrap();
    assert_eq!(
        repos.repositories().len(),
        1,
        "the user's repository survives, even with --purge"
    );
    let images = ecr
        .list_images()
        .repository_name(REPO)
        .send()
        .await
        .unwrap();
    assert_eq!(images.image_ids().len(), 1);
    let mut left = inventory(&sdk).await;
    left.remove("ecr repositories");
    assert!(left.values().all(|n| *n == 0), "left behind: {left:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn status_of_a_stack_that_is_not_there_reports_every_resource_missing() {
    let emulator = Emulator::start(1);
    let ws = Workspace::new(&[]);
    let status = gwfargate(ws.path(), &emulator.endpoint)
        .args(["status", "--env", "env1.toml"])
        .assert()
        .success();
    let (table, _) = output(&status);
    assert!(
        table.contains(
            "no state file (.gwfargate/env1.json), and nothing of this stack was found by its tags and names"
        ),
        "{table}"
    );
    assert!(table.contains("url: none"), "{table}");
    assert!(
        table.lines().all(|l| l == l.trim_end()),
        "no line ends in blanks:\n{table}"
    );
    let json = gwfargate(ws.path(), &emulator.endpoint)
        .args(["status", "--env", "env1.toml", "--json"])
        .assert()
        .success();
    let doc: serde_json::Value = serde_json::from_str(&output(&json).0).unwrap();
    assert_eq!(doc["complete"], false);
    assert_eq!(doc["state_file_present"], false);
    assert!(doc["url"].is_null());
    let resources = doc["resources"].as_array().unwrap();
    assert_eq!(resources.len(), 29);
    assert!(
        resources
            .iter()
            .all(|r| r["state"] == "missing" && r["id"].is_null()),
        "{doc}"
    );
    assert!(!ws.state_file().exists(), "status never writes state");
}

#[tokio::test(flavor = "multi_thread")]
async fn profile_and_endpoint_flags_follow_the_aws_cli() {
    let emulator = Emulator::start(1);
    let ws = Workspace::new(&[]);
    let dir = ws.path();
    std::fs::write(
        dir.join("no-aws-config"),
        "[profile emu]\nregion = us-east-1\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("no-aws-credentials"),
        "[emu]\naws_access_key_id = fromprofile\naws_secret_access_key = fromprofile\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        let mut cmd = gwfargate(dir, &emulator.endpoint);
        cmd.env_remove("AWS_ENDPOINT_URL")
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .args(args);
        cmd.assert()
    };
    // Credentials come from the named profile, the endpoint from the flag.
    let ok = run(&[
        "status",
        "--env",
        "env1.toml",
        "--json",
        "--profile",
        "emu",
        "--endpoint-url",
        &emulator.endpoint,
    ])
    .success();
    let doc: serde_json::Value = serde_json::from_str(&output(&ok).0).unwrap();
    assert_eq!(
        doc["region"], "eu-west-1",
        "the env file's region wins over the profile's"
    );
    // The commands gwfargate suggests carry the options this run was given: copied as they
    // are, they go to the same account, endpoint and state.
    let up = run(&[
        "--state-dir",
        "state here",
        "up",
        "--env",
        "env1.toml",
        "--profile",
        "emu",
        "--endpoint-url",
        &emulator.endpoint,
    ])
    .code(3);
    let (_, stderr) = output(&up);
    assert!(
        stderr.contains(&format!(
            "gwfargate --state-dir 'state here' --profile emu --endpoint-url {} up --env env1.toml",
            emulator.endpoint
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("aws ecr get-login-password --region eu-west-1 --profile emu |"),
        "{stderr}"
    );
    // A profile on the command line beats credentials in the environment, as in the AWS CLI:
    // one without keys fails even with keys exported.
    std::fs::write(
        dir.join("no-aws-config"),
        "[profile emu]\nregion = us-east-1\n[profile keyless]\nregion = us-east-1\n\
         [profile deployer]\nrole_arn = arn:aws:iam::123456789012:role/deployer\nsource_profile = emu\n",
    )
    .unwrap();
    // A profile that assumes a role (the usual shape of a production profile) works: its STS
    // call needs the region, which nothing in the environment gives here.
    gwfargate(dir, &emulator.endpoint)
        .args(["status", "--env", "env1.toml", "--profile", "deployer"])
        .assert()
        .success();
    let keyless = gwfargate(dir, &emulator.endpoint)
        .args(["status", "--env", "env1.toml", "--profile", "keyless"])
        .assert()
        .code(1);
    let (_, stderr) = output(&keyless);
    assert!(stderr.contains("check your credentials"), "{stderr}");
    assert!(
        !stderr.contains("DispatchFailure"),
        "no debug dump: {stderr}"
    );
    // Without the profile there are no credentials: an AWS failure, exit 1, saying what to check.
    let failed = run(&[
        "status",
        "--env",
        "env1.toml",
        "--endpoint-url",
        &emulator.endpoint,
    ])
    .code(1);
    assert!(
        output(&failed).1.contains("check your credentials"),
        "{}",
        output(&failed).1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn env_file_changes_converge_or_are_refused_before_any_call() {
    let emulator = Emulator::start(1);
    let sdk = emulator.sdk(REGION).await;
    let ws = Workspace::new(&[(
        "image             = \"123456789012.dkr.ecr.eu-west-1.amazonaws.com/microservice1:1.0.0\"",
        "image             = \"public.ecr.aws/nginx/nginx:1.27\"",
    )]);
    let dir = ws.path();
    gwfargate(dir, &emulator.endpoint)
        .args(["up", "--env", "env1.toml"])
        .assert()
        .success();
    let built = inventory(&sdk).await;
    let state = std::fs::read_to_string(ws.state_file()).unwrap();
    let env = std::fs::read_to_string(dir.join("env1.toml")).unwrap();

    // Changes a built stack cannot take: refused, exit 2, nothing sent, nothing changed.
    for (old, new, key) in [
        (
            "port              = 8080",
            "port              = 9090",
            "service.port",
        ),
        (
            "name              = \"microservice1\"",
            "name              = \"orders\"",
            "service.name",
        ),
        (
            "environment = \"dev\"",
            "environment = \"prod\"",
            "environment",
        ),
        (
            "vpc_cidr = \"10.0.0.0/16\"",
            "vpc_cidr = \"10.0.0.0/17\"",
            "network.vpc_cidr",
        ),
        (
            "{ cidr = \"10.0.2.0/24\", az = \"eu-west-1b\" }",
            "{ cidr = \"10.0.2.0/24\", az = \"eu-west-1b\" }, { cidr = \"10.0.3.0/24\", az = \"eu-west-1c\" }",
            "network.subnets",
        ),
    ] {
        std::fs::write(dir.join("env1.toml"), env.replace(old, new)).unwrap();
        emulator.reset_calls();
        let refused = gwfargate(dir, &emulator.endpoint)
            .args(["up", "--env", "env1.toml"])
            .assert()
            .code(2);
        let (_, stderr) = output(&refused);
        assert!(
            stderr.contains(&format!("`{key}` changed")),
            "{key}: {stderr}"
        );
        assert!(stderr.contains("Nothing was changed"), "{stderr}");
        assert!(
            emulator.calls().is_empty(),
            "{key}: no call may reach AWS: {:?}",
            emulator.calls()
        );
        assert_eq!(std::fs::read_to_string(ws.state_file()).unwrap(), state);
    }
    assert_eq!(inventory(&sdk).await, built);

    // Changes it can take converge, and touch nothing else.
    std::fs::write(
        dir.join("env1.toml"),
        env.replace("count             = 1", "count             = 2"),
    )
    .unwrap();
    let scaled = gwfargate(dir, &emulator.endpoint)
        .args(["up", "--env", "env1.toml"])
        .assert()
        .success();
    let (_, stderr) = output(&scaled);
    assert!(
        stderr.contains("updated cluster1-service-microservice1, 2/2 running: desired_count 1 → 2"),
        "{stderr}"
    );
    for change in ["created", "registered", "redeployed", "change(s)"] {
        assert!(
            !stderr.contains(change),
            "only the service changes, saw {change:?}:\n{stderr}"
        );
    }
    assert_eq!(common::the_service(&sdk).await.desired_count(), 2);
    assert_eq!(
        inventory(&sdk).await,
        built,
        "no new revision, no new deployment"
    );

    std::fs::write(
        dir.join("env1.toml"),
        env.replace("retention_days = 30", "retention_days = 90"),
    )
    .unwrap();
    gwfargate(dir, &emulator.endpoint)
        .args(["up", "--env", "env1.toml"])
        .assert()
        .success();
    let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk);
    let groups = logs.describe_log_groups().send().await.unwrap();
    assert_eq!(groups.log_groups()[0].retention_in_days(), Some(90));

    // With an edit `up` refuses still in the file, `status` and `down` go by the stack as it
    // was built (its names come from the old service name), and say so.
    std::fs::write(
        dir.join("env1.toml"),
        env.replace(
            "name              = \"microservice1\"",
            "name              = \"orders\"",
        ),
    )
    .unwrap();
    let status = gwfargate(dir, &emulator.endpoint)
        .args(["status", "--env", "env1.toml", "--json"])
        .assert()
        .success();
    let (json, stderr) = output(&status);
    assert!(
        stderr.contains("`service.name` changed from microservice1 to orders since the stack was built; showing the stack as built"),
        "{stderr}"
    );
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["complete"], true, "{doc}");
    let down = gwfargate(dir, &emulator.endpoint)
        .args(["down", "--yes", "--env", "env1.toml"])
        .assert()
        .success();
    assert!(
        output(&down).1.contains("removing the stack as built"),
        "{}",
        output(&down).1
    );
    common::assert_nothing_left(&sdk, "after down with an edited env file").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn resources_gwfargate_did_not_create_are_neither_adopted_nor_deleted() {
    let emulator = Emulator::start(1);
    let sdk = emulator.sdk(REGION).await;
    let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk);
    let ecs = aws_sdk_ecs::Client::new(&sdk);
    logs.create_log_group()
        .log_group_name("/ecs/cluster1/microservice1")
        .send()
        .await
        .unwrap();
    ecs.create_cluster()
        .cluster_name("cluster1-cluster")
        .send()
        .await
        .unwrap();
    let ws = Workspace::new(&[(
        "image             = \"123456789012.dkr.ecr.eu-west-1.amazonaws.com/microservice1:1.0.0\"",
        "image             = \"public.ecr.aws/nginx/nginx:1.27\"",
    )]);
    // The plan refuses them, so `up` changes nothing at all: no half-built stack around them.
    let up = gwfargate(ws.path(), &emulator.endpoint)
        .args(["up", "--env", "env1.toml"])
        .assert()
        .code(2);
    let (_, stderr) = output(&up);
    assert!(
        stderr.contains(
            "log group /ecs/cluster1/microservice1: exists but is not tagged gwfargate:env=cluster1"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("ecs cluster cluster1-cluster: exists but is not tagged"),
        "{stderr}"
    );
    assert!(
        stderr.contains("up refuses this plan, and nothing was changed"),
        "{stderr}"
    );
    let groups = logs.describe_log_groups().send().await.unwrap();
    assert_eq!(
        groups.log_groups()[0].retention_in_days(),
        None,
        "the user's log group is untouched"
    );
    let mut made = inventory(&sdk).await;
    made.remove("log groups");
    made.remove("active clusters");
    assert!(made.values().all(|n| *n == 0), "nothing was made: {made:?}");

    let down = gwfargate(ws.path(), &emulator.endpoint)
        .args(["down", "--yes", "--env", "env1.toml"])
        .assert()
        .success();
    let (_, stderr) = output(&down);
    assert!(
        stderr.contains("left /ecs/cluster1/microservice1: gwfargate did not create it"),
        "{stderr}"
    );
    assert!(
        stderr.contains("left cluster1-cluster: gwfargate did not create it"),
        "{stderr}"
    );
    let left = inventory(&sdk).await;
    assert_eq!(left["log groups"], 1);
    assert_eq!(left["active clusters"], 1);
    let mut rest = left.clone();
    rest.remove("log groups");
    rest.remove("active clusters");
    assert!(
        rest.values().all(|n| *n == 0),
        "everything gwfargate made is gone: {rest:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_state_file_of_another_account_is_refused() {
    let emulator = Emulator::start(1);
    let ws = Workspace::new(&[]);
    let state = serde_json::json!({
        "format_version": 1, "env_file": "env1.toml", "account": "999999999999",
        "deployment": serde_json::from_str::<serde_json::Value>(
            &std::fs::read_to_string(common::root().join("tests/fixtures/deployment.json")).unwrap()
        ).unwrap(),
        "resources": {}
    })
    .to_string();
    std::fs::create_dir_all(ws.state_file().parent().unwrap()).unwrap();
    std::fs::write(ws.state_file(), &state).unwrap();
    let refused = gwfargate(ws.path(), &emulator.endpoint)
        .args(["down", "--yes"])
        .assert()
        .code(2);
    let (_, stderr) = output(&refused);
    assert!(stderr.contains("account 999999999999"), "{stderr}");
    assert!(stderr.contains("123456789012"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(ws.state_file()).unwrap(),
        state,
        "left as it was"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_availability_zone_the_region_lacks_is_refused_before_anything_is_created() {
    let emulator = Emulator::start(1);
    let sdk = emulator.sdk(REGION).await;
    let ws = Workspace::new(&[("az = \"eu-west-1b\"", "az = \"eu-west-1z\"")]);
    let refused = gwfargate(ws.path(), &emulator.endpoint)
        .args(["up", "--env", "env1.toml"])
        .assert()
        .code(2);
    let (_, stderr) = output(&refused);
    assert!(
        stderr.contains("network.subnets[1].az: \"eu-west-1z\" is not an availability zone"),
        "{stderr}"
    );
    assert!(
        stderr.contains("eu-west-1a"),
        "names the ones offered: {stderr}"
    );
    assert!(!ws.state_file().exists(), "no state file for nothing built");
    common::assert_nothing_left(&sdk, "after a refused up").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reader_that_goes_away_does_not_stop_the_run() {
    // `gwfargate up ... 2>&1 | head -1`: after the first progress line nobody reads stderr.
    let emulator = Emulator::start(1);
    let sdk = emulator.sdk(REGION).await;
    let ws = common::workspace_outside_ecr();
    let mut child = common::spawn(ws.path(), &emulator.endpoint, &["up", "--env", "env1.toml"]);
    let mut first = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stderr.take().expect("stderr")),
        &mut first,
    )
    .expect("a first line");
    assert!(first.contains("up: deployment cluster1"), "{first}");
    // The reader is dropped here: every later line meets a closed pipe.
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(0), "the run went on to the end");
    assert_eq!(inventory(&sdk).await, common::one_of_each());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_tag_pushed_again_reaches_the_service_pinned_by_its_digest() {
    // moto alone never rolls a service out to a new revision: the test bed does.
    let emulator = Emulator::with_profile(1, "realistic");
    let sdk = emulator.sdk(REGION).await;
    let ws = Workspace::new(&[]);
    gwfargate(ws.path(), &emulator.endpoint)
        .args(["up", "--env", "env1.toml"])
        .assert()
        .code(3);
    // The first build never starts: its first deployment fails, and a fixed build pushed
    // under the same tag is what recovers it.
    common::push_build(&sdk, REPO, "1.0.0", 1).await;
    let broken = common::digest_of(&sdk, REPO, "1.0.0").await;
    let mut settings =
        common::realistic_settings(0.01, serde_json::json!({"seed": 1, "rules": []}));
    settings["failing_images"] = serde_json::json!([broken]);
    emulator.configure(settings);
    let failed = gwfargate(ws.path(), &emulator.endpoint)
        .args(["up", "--env", "env1.toml"])
        .assert()
        .code(1);
    assert!(
        output(&failed).1.contains("circuit breaker"),
        "{}",
        output(&failed).1
    );
    common::push_build(&sdk, REPO, "1.0.0", 3).await;
    gwfargate(ws.path(), &emulator.endpoint)
        .args(["up", "--env", "env1.toml"])
        .assert()
        .success();
    let first = common::digest_of(&sdk, REPO, "1.0.0").await;
    assert_ne!(first, broken);
    let registry = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";
    assert_eq!(
        common::running_image(&sdk).await,
        format!("{registry}/{REPO}@{first}")
    );
    let status = gwfargate(ws.path(), &emulator.endpoint)
        .args(["status", "--json"])
        .assert()
        .success();
    let doc: serde_json::Value = serde_json::from_str(&output(&status).0).unwrap();
    let row = doc["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "task definition")
        .unwrap()
        .clone();
    let detail = row["detail"].as_str().unwrap();
    assert!(
        detail.contains(&format!("{registry}/{REPO}:1.0.0 ({}", &first[..19])),
        "status shows the tag and the digest: {detail}"
    );

    // CI pushes a new build under the same tag: plan names the move, up deploys it.
    common::push_build(&sdk, REPO, "1.0.0", 2).await;
    let second = common::digest_of(&sdk, REPO, "1.0.0").await;
    assert_ne!(first, second);
    let plan = gwfargate(ws.path(), &emulator.endpoint)
        .args(["plan", "--env", "env1.toml", "--json"])
        .assert()
        .success();
    let doc: serde_json::Value = serde_json::from_str(&output(&plan).0).unwrap();
    let change = doc["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "task definition")
        .unwrap()
        .clone();
    assert_eq!(change["action"], "update", "{doc}");
    assert_eq!(
        change["fields"][0],
        serde_json::json!({"field": "image",
            "from": format!("{registry}/{REPO}@{first}"),
            "to": format!("{registry}/{REPO}@{second}")}),
        "{doc}"
    );
    gwfargate(ws.path(), &emulator.endpoint)
        .args(["up", "--env", "env1.toml"])
        .assert()
        .success();
    assert_eq!(
        common::running_image(&sdk).await,
        format!("{registry}/{REPO}@{second}")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cloudwatch_role_the_account_already_names_is_used_and_never_replaced() {
    let emulator = Emulator::start(1);
    let sdk = emulator.sdk(REGION).await;
    let theirs = "arn:aws:iam::123456789012:role/their-api-logging";
    aws_sdk_apigateway::Client::new(&sdk)
        .update_account()
        .patch_operations(
            aws_sdk_apigateway::types::PatchOperation::builder()
                .op(aws_sdk_apigateway::types::Op::Replace)
                .path("/cloudwatchRoleArn")
                .value(theirs)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let ws = common::workspace_outside_ecr();
    emulator.reset_calls();
    gwfargate(ws.path(), &emulator.endpoint)
        .args(["up", "--env", "env1.toml"])
        .assert()
        .success();
    assert_eq!(
        common::api_logging_role(&sdk).await.as_deref(),
        Some(theirs)
    );
    assert!(
        aws_sdk_iam::Client::new(&sdk)
            .get_role()
            .role_name(common::API_LOGGING_ROLE)
            .send()
            .await
            .is_err(),
        "no role of gwfargate's was made"
    );
    assert_eq!(emulator.count("apigateway.PATCH /account"), 0);
    let status = gwfargate(ws.path(), &emulator.endpoint)
        .arg("status")
        .assert()
        .success();
    let (table, _) = output(&status);
    assert!(
        table.contains("api logging role") && table.contains("their-api-logging"),
        "{table}"
    );
    gwfargate(ws.path(), &emulator.endpoint)
        .args(["down", "--yes"])
        .assert()
        .success();
    assert_eq!(
        common::api_logging_role(&sdk).await.as_deref(),
        Some(theirs)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_hardening_options_are_applied_read_back_and_undone() {
    // moto as it is never rolls a service out to a new task definition: the test bed does.
    let emulator = Emulator::realistic();
    let sdk = emulator.sdk(REGION).await;
    let key = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let ws = Workspace::new(&[
        (
            "vpc_cidr = \"10.0.0.0/16\"",
            "vpc_cidr = \"10.0.0.0/16\"\nflow_logs = true",
        ),
        (
            "health_check_path = \"/actuator/health\"",
            "health_check_path = \"/actuator/health\"\n\
             readonly_root_filesystem = true\nuser = \"1000:1000\"",
        ),
        (
            "retention_days = 30",
            &format!(
                "retention_days = 30\nkms_key = \"{key}\"\ncontainer_insights = true\n\n[repository]\nimmutable_tags = true\nkms_key = \"{key}\""
            ),
        ),
    ]);
    // A web ACL of the user's, for the stage.
    let waf = aws_sdk_wafv2::Client::new(&sdk);
    let acl = waf
        .create_web_acl()
        .name("edge")
        .scope(aws_sdk_wafv2::types::Scope::Regional)
        .default_action(
            aws_sdk_wafv2::types::DefaultAction::builder()
                .allow(aws_sdk_wafv2::types::AllowAction::builder().build())
                .build(),
        )
        .visibility_config(
            aws_sdk_wafv2::types::VisibilityConfig::builder()
                .sampled_requests_enabled(false)
                .cloud_watch_metrics_enabled(false)
                .metric_name("edge")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap()
        .summary()
        .unwrap()
        .arn()
        .unwrap()
        .to_string();
    let env_file = ws.path().join("env1.toml");
    let text = std::fs::read_to_string(&env_file).unwrap();
    std::fs::write(
        &env_file,
        text.replace("[api]\n", &format!("[api]\nwaf_acl = \"{acl}\"\n")),
    )
    .unwrap();
    let up = || {
        gwfargate(ws.path(), &emulator.endpoint)
            .args(["up", "--env", "env1.toml", "--yes"])
            .assert()
    };
    up().code(3);
    push_image(&sdk, REPO, "1.0.0").await;
    up().success();

    let ecs = aws_sdk_ecs::Client::new(&sdk);
    let service = common::the_service(&sdk).await;
    let td = ecs
        .describe_task_definition()
        .task_definition(service.task_definition().unwrap())
        .send()
        .await
        .unwrap();
    let container = &td.task_definition().unwrap().container_definitions()[0];
    assert_eq!(
        (container.readonly_root_filesystem(), container.user()),
        (Some(true), Some("1000:1000"))
    );
    let clusters = ecs
        .describe_clusters()
        .clusters("cluster1-cluster")
        .include(aws_sdk_ecs::types::ClusterField::Settings)
        .send()
        .await
        .unwrap();
    let settings = clusters.clusters()[0].settings();
    assert!(
        settings.iter().any(|s| s.value() == Some("enabled")),
        "{settings:?}"
    );
    let groups = aws_sdk_cloudwatchlogs::Client::new(&sdk)
        .describe_log_groups()
        .send()
        .await
        .unwrap();
    assert_eq!(groups.log_groups().len(), 3, "{groups:?}");
    assert!(
        groups
            .log_groups()
            .iter()
            .all(|g| g.kms_key_id() == Some(key)),
        "{groups:?}"
    );
    let apigw = aws_sdk_apigateway::Client::new(&sdk);
    let api = apigw.get_rest_apis().send().await.unwrap().items()[0]
        .id()
        .unwrap()
        .to_string();
    let stage = || async {
        apigw
            .get_stage()
            .rest_api_id(&api)
            .stage_name("dev")
            .send()
            .await
            .unwrap()
    };
    assert_eq!(stage().await.web_acl_arn(), Some(acl.as_str()));
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let flow_logs = ec2.describe_flow_logs().send().await.unwrap();
    let flow_log = &flow_logs.flow_logs()[0];
    assert_eq!(
        (
            flow_log.log_group_name(),
            flow_log.deliver_logs_status(),
            flow_log.deliver_logs_permission_arn()
        ),
        (
            Some("/vpc/cluster1/flow-logs"),
            Some("SUCCESS"),
            Some("arn:aws:iam::123456789012:role/cluster1-role-flow-logs-eu-west-1")
        )
    );
    let delivery = aws_sdk_iam::Client::new(&sdk)
        .get_role()
        .role_name("cluster1-role-flow-logs-eu-west-1")
        .send()
        .await
        .unwrap();
    let trust = common::policy_text(
        delivery
            .role()
            .unwrap()
            .assume_role_policy_document()
            .unwrap(),
    );
    assert!(
        trust.contains("vpc-flow-logs.amazonaws.com") && trust.contains("aws:SourceAccount"),
        "{trust}"
    );
    let repo = aws_sdk_ecr::Client::new(&sdk)
        .describe_repositories()
        .send()
        .await
        .unwrap();
    assert_eq!(
        repo.repositories()[0].image_tag_mutability(),
        Some(&aws_sdk_ecr::types::ImageTagMutability::Immutable)
    );
    let encryption = repo.repositories()[0].encryption_configuration().unwrap();
    assert_eq!(
        (encryption.encryption_type().as_str(), encryption.kms_key()),
        ("KMS", Some(key))
    );
    // ECR sets a repository's encryption when it makes it: another key is refused, with the
    // way to do it.
    let text = std::fs::read_to_string(&env_file).unwrap();
    let other_key = key.replace("1234abcd", "9999abcd");
    std::fs::write(
        &env_file,
        text.replace(
            &format!("immutable_tags = true\nkms_key = \"{key}\""),
            &format!("immutable_tags = true\nkms_key = \"{other_key}\""),
        ),
    )
    .unwrap();
    let refused = gwfargate(ws.path(), &emulator.endpoint)
        .args(["plan", "--env", "env1.toml"])
        .assert()
        .code(2);
    let (refused, _) = output(&refused);
    assert!(
        refused.contains("encryption: KMS") && refused.contains("down --purge"),
        "{refused}"
    );

    // Back to the reference file (the repository keeps its key): each option is planned back
    // and undone in place.
    let reference = std::fs::read_to_string(common::root().join("config/env1.toml")).unwrap();
    std::fs::write(
        &env_file,
        format!("{reference}\n[repository]\nkms_key = \"{key}\"\n"),
    )
    .unwrap();
    let planned = gwfargate(ws.path(), &emulator.endpoint)
        .args(["plan", "--env", "env1.toml"])
        .assert()
        .success();
    let (planned, _) = output(&planned);
    assert!(
        planned.contains("FAIL  ECS.5 "),
        "the posture as the file asks:\n{planned}"
    );
    for change in [
        "readonly_root_filesystem: on → off",
        "user: 1000:1000 → (the image's)",
        "kms_key:",
        "image_tags: IMMUTABLE → MUTABLE",
        "- delete   vpc flow log",
    ] {
        assert!(planned.contains(change), "{change:?} in:\n{planned}");
    }
    assert!(
        !planned.contains("container_insights:"),
        "left as it is once the file does not say: {planned}"
    );
    up().success();
    let groups = aws_sdk_cloudwatchlogs::Client::new(&sdk)
        .describe_log_groups()
        .send()
        .await
        .unwrap();
    assert!(groups.log_groups().iter().all(|g| g.kms_key_id().is_none()));
    assert_eq!(
        groups.log_groups().len(),
        2,
        "the flow log group went: {groups:?}"
    );
    // Without the key, the association is left as it is: it may be someone else's.
    assert_eq!(stage().await.web_acl_arn(), Some(acl.as_str()));
    assert!(
        ec2.describe_flow_logs()
            .send()
            .await
            .unwrap()
            .flow_logs()
            .is_empty()
    );
    let (code, _) = {
        let run = gwfargate(ws.path(), &emulator.endpoint)
            .args(["plan", "--env", "env1.toml", "--detailed-exitcode"])
            .assert();
        (run.get_output().status.code(), output(&run))
    };
    assert_eq!(code, Some(0));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_copied_env_file_is_the_same_stack_with_one_state_file() {
    let emulator = Emulator::start(1);
    let sdk = emulator.sdk("eu-west-1").await;
    let ws = Workspace::new(&[]);
    let run = |args: &[&str]| gwfargate(ws.path(), &emulator.endpoint).args(args).assert();
    run(&["up", "--env", "env1.toml"]).code(3);
    push_image(&sdk, "microservice1", "1.0.0").await;
    run(&["up", "--env", "env1.toml"]).success();
    std::fs::copy(ws.path().join("env1.toml"), ws.path().join("prod.toml")).unwrap();
    let state_files = || {
        let mut names: Vec<String> = std::fs::read_dir(ws.state_file().parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".json"))
            .collect();
        names.sort();
        names
    };

    // Through the copy, the stack is the one already built: nothing to make, no second file.
    let planned = run(&["plan", "--env", "prod.toml"]).success();
    assert!(
        output(&planned).0.contains("No changes"),
        "{:?}",
        output(&planned)
    );
    run(&["up", "--env", "prod.toml"]).success();
    assert_eq!(state_files(), ["env1.json"]);
    let shown = run(&["status", "--env", "prod.toml", "--json"]).success();
    let shown: serde_json::Value = serde_json::from_str(&output(&shown).0).unwrap();
    assert_eq!(shown["complete"], true);
    assert_eq!(shown["state_file_present"], true);

    // A copy naming another deployment is another stack, planned from nothing.
    let text = std::fs::read_to_string(ws.path().join("env1.toml")).unwrap();
    let renamed = text.replace("name        = \"cluster1\"", "name        = \"cluster2\"");
    assert_ne!(renamed, text);
    std::fs::write(ws.path().join("other.toml"), renamed).unwrap();
    let other = run(&["plan", "--env", "other.toml"]).success();
    assert!(output(&other).0.contains("create"), "{:?}", output(&other));

    // Removed through the copy, it is gone for the original too: no stale state says otherwise.
    run(&["down", "--env", "prod.toml", "--yes", "--purge"]).success();
    assert!(state_files().is_empty(), "{:?}", state_files());
    common::assert_nothing_left(&sdk, "after down through the copy").await;
    let after = run(&["status", "--env", "env1.toml", "--json"]);
    let after: serde_json::Value = serde_json::from_str(&output(&after).0).unwrap();
    assert_eq!(after["state_file_present"], false);
    assert_eq!(after["complete"], false);
}
