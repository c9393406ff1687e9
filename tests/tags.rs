//! The env file's `[tags]`: on every resource the stack has and on its tasks, changed in place
//! (set, re-valued, removed) without touching tags someone else put there, and gone with the
//! stack.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use common::{Emulator, Workspace, gwfargate, output, push_image};

const REGION: &str = "eu-west-1";
const REPO: &str = "microservice1";

type TagMap = BTreeMap<String, String>;

/// Tags as a map, from any service's (key, value) pairs.
fn tag_map<'a>(pairs: impl Iterator<Item = (Option<&'a str>, Option<&'a str>)>) -> TagMap {
    pairs
        .map(|(k, v)| {
            (
                k.unwrap_or_default().to_string(),
                v.unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn ec2_map(tags: &[aws_sdk_ec2::types::Tag]) -> TagMap {
    tag_map(tags.iter().map(|t| (t.key(), t.value())))
}

fn ecs_map(tags: &[aws_sdk_ecs::types::Tag]) -> TagMap {
    tag_map(tags.iter().map(|t| (t.key(), t.value())))
}

/// Every resource of deployment `cluster1` and every task it runs, each with its tags, read
/// service by service as a user would check them: (what it is, its tags).
async fn stack_tags(sdk: &aws_config::SdkConfig) -> Vec<(String, TagMap)> {
    let ours = |tags: &TagMap| tags.get("gwfargate:env").map(String::as_str) == Some("cluster1");
    let mut found: Vec<(String, TagMap)> = Vec::new();

    let ec2 = aws_sdk_ec2::Client::new(sdk);
    for vpc in ec2.describe_vpcs().send().await.unwrap().vpcs() {
        found.push((
            format!("vpc {}", vpc.vpc_id().unwrap()),
            ec2_map(vpc.tags()),
        ));
    }
    for subnet in ec2.describe_subnets().send().await.unwrap().subnets() {
        found.push((
            format!("subnet {}", subnet.subnet_id().unwrap()),
            ec2_map(subnet.tags()),
        ));
    }
    for table in ec2
        .describe_route_tables()
        .send()
        .await
        .unwrap()
        .route_tables()
    {
        found.push((
            format!("route table {}", table.route_table_id().unwrap()),
            ec2_map(table.tags()),
        ));
    }
    for group in ec2
        .describe_security_groups()
        .send()
        .await
        .unwrap()
        .security_groups()
    {
        found.push((
            format!("security group {}", group.group_id().unwrap()),
            ec2_map(group.tags()),
        ));
    }
    for endpoint in ec2
        .describe_vpc_endpoints()
        .send()
        .await
        .unwrap()
        .vpc_endpoints()
    {
        found.push((
            format!("endpoint {}", endpoint.service_name().unwrap()),
            ec2_map(endpoint.tags()),
        ));
    }

    for flow_log in ec2.describe_flow_logs().send().await.unwrap().flow_logs() {
        found.push((
            format!("flow log {}", flow_log.flow_log_id().unwrap()),
            ec2_map(flow_log.tags()),
        ));
    }

    let elb = aws_sdk_elasticloadbalancingv2::Client::new(sdk);
    let mut arns = Vec::new();
    for lb in elb
        .describe_load_balancers()
        .send()
        .await
        .unwrap()
        .load_balancers()
    {
        let arn = lb.load_balancer_arn().unwrap().to_string();
        for listener in elb
            .describe_listeners()
            .load_balancer_arn(&arn)
            .send()
            .await
            .unwrap()
            .listeners()
        {
            arns.push(listener.listener_arn().unwrap().to_string());
        }
        arns.push(arn);
    }
    for tg in elb
        .describe_target_groups()
        .send()
        .await
        .unwrap()
        .target_groups()
    {
        arns.push(tg.target_group_arn().unwrap().to_string());
    }
    for arn in arns {
        let described = elb
            .describe_tags()
            .resource_arns(&arn)
            .send()
            .await
            .unwrap();
        let tags = described.tag_descriptions()[0]
            .tags()
            .iter()
            .map(|t| {
                (
                    t.key().unwrap().to_string(),
                    t.value().unwrap_or_default().to_string(),
                )
            })
            .collect();
        found.push((arn, tags));
    }

    let ecs = aws_sdk_ecs::Client::new(sdk);
    let mut arns = Vec::new();
    for cluster in ecs.list_clusters().send().await.unwrap().cluster_arns() {
        arns.push(cluster.clone());
        arns.extend(
            ecs.list_services()
                .cluster(cluster)
                .send()
                .await
                .unwrap()
                .service_arns()
                .iter()
                .cloned(),
        );
        arns.extend(
            ecs.list_tasks()
                .cluster(cluster)
                .service_name("cluster1-service-microservice1")
                .send()
                .await
                .unwrap()
                .task_arns()
                .iter()
                .cloned(),
        );
    }
    arns.extend(
        ecs.list_task_definitions()
            .send()
            .await
            .unwrap()
            .task_definition_arns()
            .iter()
            .cloned(),
    );
    for arn in arns {
        let out = ecs
            .list_tags_for_resource()
            .resource_arn(&arn)
            .send()
            .await
            .unwrap();
        found.push((arn, ecs_map(out.tags())));
    }

    let iam = aws_sdk_iam::Client::new(sdk);
    for role in iam.list_roles().send().await.unwrap().roles() {
        let out = iam
            .list_role_tags()
            .role_name(role.role_name())
            .send()
            .await
            .unwrap();
        let tags = out
            .tags()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect();
        found.push((format!("role {}", role.role_name()), tags));
    }

    let logs = aws_sdk_cloudwatchlogs::Client::new(sdk);
    for group in logs
        .describe_log_groups()
        .send()
        .await
        .unwrap()
        .log_groups()
    {
        let arn = group.arn().unwrap().trim_end_matches(":*").to_string();
        let out = logs
            .list_tags_for_resource()
            .resource_arn(&arn)
            .send()
            .await
            .unwrap();
        found.push((
            arn,
            out.tags()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .collect(),
        ));
    }

    let apigw = aws_sdk_apigateway::Client::new(sdk);
    for api in apigw.get_rest_apis().send().await.unwrap().items() {
        let id = api.id().unwrap();
        let tags = |m: Option<&std::collections::HashMap<String, String>>| {
            m.cloned()
                .unwrap_or_default()
                .into_iter()
                .collect::<TagMap>()
        };
        found.push((format!("rest api {id}"), tags(api.tags())));
        for stage in apigw
            .get_stages()
            .rest_api_id(id)
            .send()
            .await
            .unwrap()
            .item()
        {
            found.push((
                format!("stage {}", stage.stage_name().unwrap()),
                tags(stage.tags()),
            ));
        }
    }
    for plan in apigw.get_usage_plans().send().await.unwrap().items() {
        found.push((
            format!("usage plan {}", plan.id().unwrap()),
            plan.tags()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .collect(),
        ));
    }
    for key in apigw.get_api_keys().send().await.unwrap().items() {
        found.push((
            format!("api key {}", key.id().unwrap()),
            key.tags()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .collect(),
        ));
    }
    for link in apigw.get_vpc_links().send().await.unwrap().items() {
        found.push((
            format!("vpc link {}", link.id().unwrap()),
            link.tags()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .collect(),
        ));
    }
    let v2 = aws_sdk_apigatewayv2::Client::new(sdk);
    for link in v2.get_vpc_links().send().await.unwrap().items() {
        found.push((
            format!("vpc link {}", link.vpc_link_id().unwrap()),
            link.tags()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .collect(),
        ));
    }

    let aas = aws_sdk_applicationautoscaling::Client::new(sdk);
    for target in aas
        .describe_scalable_targets()
        .service_namespace(aws_sdk_applicationautoscaling::types::ServiceNamespace::Ecs)
        .send()
        .await
        .unwrap()
        .scalable_targets()
    {
        let arn = target.scalable_target_arn().unwrap();
        let out = aas
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .unwrap();
        found.push((
            arn.to_string(),
            out.tags()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .collect(),
        ));
    }

    let ecr = aws_sdk_ecr::Client::new(sdk);
    for repo in ecr
        .describe_repositories()
        .send()
        .await
        .unwrap()
        .repositories()
    {
        let out = ecr
            .list_tags_for_resource()
            .resource_arn(repo.repository_arn().unwrap())
            .send()
            .await
            .unwrap();
        let tags = out
            .tags()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect();
        found.push((
            format!("repository {}", repo.repository_name().unwrap()),
            tags,
        ));
    }

    // Tasks carry the service's tags, not gwfargate's mark alone: keep them by their ARN.
    found
        .into_iter()
        .filter(|(what, tags)| ours(tags) || what.contains(":task/"))
        .collect()
}

/// Asserts every resource and task carries `want` and none of `gone`; returns how many there are.
fn assert_tagged(found: &[(String, TagMap)], want: &[(&str, &str)], gone: &[&str], when: &str) {
    for (what, tags) in found {
        for (k, v) in want {
            assert_eq!(
                tags.get(*k).map(String::as_str),
                Some(*v),
                "{when}: {what} carries {k}={v}: {tags:?}"
            );
        }
        for k in gone {
            assert!(!tags.contains_key(*k), "{when}: {what} lost {k}: {tags:?}");
        }
    }
}

/// Which kinds of thing `found` holds, so a kind that lost its tags is not missed by the loop.
fn kinds(found: &[(String, TagMap)]) -> Vec<String> {
    let mut kinds: Vec<String> = found
        .iter()
        .map(|(what, _)| {
            let what = what.as_str();
            match what.strip_prefix("arn:aws:") {
                Some(arn) => {
                    let service = arn.split(':').next().unwrap_or_default();
                    let rest = arn.splitn(4, ':').nth(3).unwrap_or_default();
                    let kind = rest.split(['/', ':']).next().unwrap_or_default();
                    format!("{service} {kind}")
                }
                None => what.rsplit_once(' ').map_or(what, |(k, _)| k).to_string(),
            }
        })
        .collect();
    kinds.sort();
    kinds.dedup();
    kinds
}

#[tokio::test(flavor = "multi_thread")]
async fn tags_reach_every_resource_and_task_change_in_place_and_leave_others_alone() {
    let emulator = Emulator::realistic();
    let sdk = emulator.sdk(REGION).await;
    let ws = Workspace::new(&[
        ("auth = \"none\"", "auth = \"api_key\""),
        (
            "vpc_cidr = \"10.0.0.0/16\"",
            "vpc_cidr = \"10.0.0.0/16\"\nflow_logs = true",
        ),
        (
            "[api]",
            "[service.autoscaling]\nmin = 1\nmax = 2\ncpu = 60\n\n[api]",
        ),
        (
            "[logs]",
            "[tags]\nteam = \"web\"\n\"cost-center\" = \"42\"\nnote = \"\"\n\n[logs]",
        ),
    ]);
    let env_file = ws.path().join("env1.toml");
    let run = |args: &[&str]| gwfargate(ws.path(), &emulator.endpoint).args(args).assert();
    run(&["up", "--env", "env1.toml"]).code(3);
    push_image(&sdk, REPO, "1.0.0").await;
    run(&["up", "--env", "env1.toml"]).success();

    let found = stack_tags(&sdk).await;
    assert_tagged(
        &found,
        &[("team", "web"), ("cost-center", "42")],
        &[],
        "after up",
    );
    let every_kind = [
        "api key",
        "application-autoscaling scalable-target",
        "ecs cluster",
        "ecs service",
        "ecs task",
        "ecs task-definition",
        "elasticloadbalancing listener",
        "elasticloadbalancing loadbalancer",
        "elasticloadbalancing targetgroup",
        "endpoint",
        "flow log",
        "logs log-group",
        "repository",
        "rest api",
        "role",
        "route table",
        "security group",
        "stage",
        "subnet",
        "usage plan",
        "vpc",
        "vpc link",
    ];
    assert_eq!(kinds(&found), every_kind, "{found:?}");

    let shown = run(&["status", "--json"]).success();
    let (shown, _) = output(&shown);
    let shown: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(
        shown["tags"],
        serde_json::json!({"team": "web", "cost-center": "42", "note": ""})
    );
    let table = run(&["status"]).success();
    assert!(
        output(&table)
            .0
            .contains("tags: cost-center=42, note=, team=web")
    );

    // Someone else's tag on the VPC, and on the service, stays through every change.
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let vpc = ec2
        .describe_vpcs()
        .send()
        .await
        .unwrap()
        .vpcs()
        .iter()
        .find(|v| ec2_map(v.tags()).contains_key("gwfargate:env"))
        .and_then(|v| v.vpc_id().map(str::to_string))
        .unwrap();
    ec2.create_tags()
        .resources(&vpc)
        .tags(
            aws_sdk_ec2::types::Tag::builder()
                .key("backup")
                .value("daily")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let ecs = aws_sdk_ecs::Client::new(&sdk);
    let service = common::the_service(&sdk).await;
    let service_arn = service.service_arn().unwrap().to_string();
    let backup = aws_sdk_ecs::types::Tag::builder()
        .key("backup")
        .value("daily")
        .build();
    ecs.tag_resource()
        .resource_arn(&service_arn)
        .tags(backup.clone())
        .send()
        .await
        .unwrap();
    let role = "cluster1-role-microservice1-eu-west-1";
    let iam = aws_sdk_iam::Client::new(&sdk);
    iam.tag_role()
        .role_name(role)
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key("backup")
                .value("daily")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let others_kept = |found: &[(String, TagMap)], when: &str| {
        for end in [vpc.as_str(), service_arn.as_str(), role] {
            let (what, tags) = found.iter().find(|(what, _)| what.ends_with(end)).unwrap();
            assert_eq!(
                tags.get("backup").map(String::as_str),
                Some("daily"),
                "{when}: someone else's tag stays on {what}"
            );
        }
    };

    // A new value, a new key, a key dropped: planned, then changed in place.
    let text = std::fs::read_to_string(&env_file).unwrap();
    let changed = text.replace(
        "team = \"web\"\n\"cost-center\" = \"42\"",
        "team = \"payments\"\ntier = \"1\"",
    );
    assert_ne!(changed, text);
    std::fs::write(&env_file, &changed).unwrap();
    let planned = run(&["plan", "--env", "env1.toml"]).success();
    let (planned, _) = output(&planned);
    let words = planned.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains("tags: cost-center=42, note=, team=web → note=, team=payments, tier=1"),
        "{planned}"
    );
    assert!(
        !words.contains("replace"),
        "tags change in place: {planned}"
    );
    let before: Vec<String> = found.iter().map(|(what, _)| what.clone()).collect();
    run(&["up", "--env", "env1.toml"]).success();
    let found = stack_tags(&sdk).await;
    assert_tagged(
        &found,
        &[("team", "payments"), ("tier", "1")],
        &["cost-center"],
        "after the change",
    );
    assert_eq!(kinds(&found), every_kind);
    let after: Vec<String> = found.iter().map(|(what, _)| what.clone()).collect();
    assert_eq!(after, before, "nothing was made again, no task replaced");
    others_kept(&found, "after the change");
    assert_tagged(&found, &[("note", "")], &[], "an empty value");

    // Converged: nothing left to change.
    let again = run(&["plan", "--env", "env1.toml"]).success();
    let (again, _) = output(&again);
    assert!(again.contains("No changes"), "{again}");

    // A task that lost a tag, or holds another value, is found and put right by the next run
    // (as after an `up` cut short between the service's tagging and its tasks').
    let task = ecs
        .list_tasks()
        .cluster("cluster1-cluster")
        .service_name("cluster1-service-microservice1")
        .send()
        .await
        .unwrap()
        .task_arns()[0]
        .clone();
    ecs.untag_resource()
        .resource_arn(&task)
        .tag_keys("team")
        .send()
        .await
        .unwrap();
    ecs.tag_resource()
        .resource_arn(&task)
        .tags(
            aws_sdk_ecs::types::Tag::builder()
                .key("tier")
                .value("2")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let drifted = run(&["plan", "--env", "env1.toml"]).success();
    let (drifted, _) = output(&drifted);
    assert!(
        drifted.contains("ecs service") && drifted.contains("tags:"),
        "{drifted}"
    );
    run(&["up", "--env", "env1.toml"]).success();
    let found = stack_tags(&sdk).await;
    assert_tagged(
        &found,
        &[("team", "payments"), ("tier", "1")],
        &["cost-center"],
        "after the tasks' drift",
    );
    let again = run(&["plan", "--env", "env1.toml"]).success();
    assert!(
        output(&again).0.contains("No changes"),
        "{:?}",
        output(&again)
    );

    // Every tag dropped from the env file goes from every resource; the other tag stays.
    let untagged = changed.replace(
        "[tags]\nteam = \"payments\"\ntier = \"1\"\nnote = \"\"\n",
        "",
    );
    assert_ne!(untagged, changed);
    std::fs::write(&env_file, &untagged).unwrap();
    run(&["up", "--env", "env1.toml"]).success();
    let found = stack_tags(&sdk).await;
    assert_tagged(
        &found[..],
        &[],
        &["team", "tier", "cost-center", "note"],
        "after [tags] went",
    );
    assert_eq!(kinds(&found), every_kind);
    others_kept(&found, "after [tags] went");
    let again = run(&["plan", "--env", "env1.toml"]).success();
    assert!(
        output(&again).0.contains("No changes"),
        "{:?}",
        output(&again)
    );

    run(&["down", "--yes", "--purge"]).success();
    common::assert_nothing_left(&sdk, "after down").await;
}
