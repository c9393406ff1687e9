//! A real service on the stack: the container's settings, health and deployment settings, and
//! autoscaling, each built, read back with the SDK, changed in place, and removed; an
//! autoscaler's scale-out survives `up`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
use common::{Emulator, Workspace, gwfargate, output, push_image};

const REGION: &str = "eu-west-1";
const REPO: &str = "microservice1";

/// Every key of a real service, as a user would write them.
const EVERY_KEY: &str = r#"health_check_path = "/actuator/health"
command           = ["java", "-jar", "/app.jar"]
entrypoint        = ["/usr/bin/tini", "--"]
working_directory = "/app"
stop_timeout      = 60
cpu_architecture  = "arm64"
ephemeral_storage_gib = 30
health_check_grace_period = 90

[service.env]
LOG_LEVEL = "info"
SPRING_PROFILES_ACTIVE = "prod"

[service.container_health_check]
command      = ["CMD-SHELL", "curl -f http://localhost:8080/actuator/health || exit 1"]
interval     = 15
retries      = 5
start_period = 60

[service.target_health_check]
interval            = 5
healthy_threshold   = 3
unhealthy_threshold = 4
matcher             = "200-299"

[service.deployment]
minimum_healthy_percent = 50
maximum_percent         = 150
alarms                  = ["cluster1-5xx"]

[service.autoscaling]
min = 1
max = 4
cpu = 60
memory = 70
scale_in_cooldown = 120

[[service.autoscaling.schedule]]
name     = "night"
cron     = "0 20 ? * MON-FRI *"
timezone = "Europe/Dublin"
min      = 1
max      = 1
"#;

/// The VPC endpoints not deleted: service (last part of its name), type and policy, sorted.
async fn live_endpoints(sdk: &aws_config::SdkConfig) -> Vec<(String, String, String)> {
    let mut found: Vec<(String, String, String)> = aws_sdk_ec2::Client::new(sdk)
        .describe_vpc_endpoints()
        .send()
        .await
        .unwrap()
        .vpc_endpoints()
        .iter()
        .filter(|e| {
            e.state()
                .is_some_and(|s| s.as_str().to_lowercase() != "deleted")
        })
        .map(|e| {
            (
                e.service_name()
                    .unwrap()
                    .rsplit('.')
                    .next()
                    .unwrap()
                    .to_string(),
                e.vpc_endpoint_type().unwrap().as_str().to_lowercase(),
                common::policy_text(e.policy_document().unwrap_or_default()),
            )
        })
        .collect();
    found.sort();
    found
}

fn target() -> (ServiceNamespace, ScalableDimension, &'static str) {
    (
        ServiceNamespace::Ecs,
        ScalableDimension::EcsServiceDesiredCount,
        "service/cluster1-cluster/cluster1-service-microservice1",
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn every_service_key_is_built_read_back_changed_in_place_and_removed() {
    let emulator = Emulator::realistic();
    let sdk = emulator.sdk(REGION).await;
    let ws = Workspace::new(&[("health_check_path = \"/actuator/health\"", EVERY_KEY)]);
    let env_file = ws.path().join("env1.toml");
    let run = |args: &[&str]| gwfargate(ws.path(), &emulator.endpoint).args(args).assert();
    let planned = run(&["plan", "--env", "env1.toml"]).success();
    let (planned, _) = output(&planned);
    for said in [
        "+ create   autoscaling",
        "cpu_policy target 60%, cooldown in 120 s, out 60 s",
        "schedule night cron(0 20 ? * MON-FRI *) Europe/Dublin → 1 to 1",
    ] {
        assert!(planned.contains(said), "{said:?} in:\n{planned}");
    }
    run(&["up", "--env", "env1.toml"]).code(3);
    push_image(&sdk, REPO, "1.0.0").await;
    run(&["up", "--env", "env1.toml"]).success();

    // The task definition, as ECS keeps it.
    let ecs = aws_sdk_ecs::Client::new(&sdk);
    let revision = || common::running_revision(&sdk);
    let td = revision().await;
    let container = &td.container_definitions()[0];
    assert_eq!(container.command(), ["java", "-jar", "/app.jar"]);
    assert_eq!(container.entry_point(), ["/usr/bin/tini", "--"]);
    assert_eq!(container.working_directory(), Some("/app"));
    assert_eq!(container.stop_timeout(), Some(60));
    let vars: Vec<(&str, &str)> = container
        .environment()
        .iter()
        .map(|kv| (kv.name().unwrap(), kv.value().unwrap()))
        .collect();
    assert_eq!(
        vars,
        [("LOG_LEVEL", "info"), ("SPRING_PROFILES_ACTIVE", "prod")]
    );
    let check = container.health_check().unwrap();
    assert_eq!(
        (
            check.command(),
            check.interval(),
            check.timeout(),
            check.retries(),
            check.start_period()
        ),
        (
            &[
                "CMD-SHELL".to_string(),
                "curl -f http://localhost:8080/actuator/health || exit 1".to_string()
            ][..],
            Some(15),
            Some(5),
            Some(5),
            Some(60)
        )
    );
    assert_eq!(
        td.runtime_platform()
            .and_then(|p| p.cpu_architecture())
            .map(|a| a.as_str()),
        Some("ARM64")
    );
    assert_eq!(td.ephemeral_storage().map(|e| e.size_in_gib()), Some(30));

    // The target group's health check.
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&sdk);
    let check = || async {
        let groups = elb.describe_target_groups().send().await.unwrap();
        let tg = groups.target_groups()[0].clone();
        (
            tg.health_check_interval_seconds(),
            tg.healthy_threshold_count(),
            tg.unhealthy_threshold_count(),
            tg.matcher().and_then(|m| m.http_code()).map(str::to_string),
        )
    };
    assert_eq!(
        check().await,
        (Some(5), Some(3), Some(4), Some("200-299".to_string()))
    );

    // The service's health and deployment settings.
    let service = common::the_service(&sdk).await;
    assert_eq!(service.health_check_grace_period_seconds(), Some(90));
    let config = service.deployment_configuration().unwrap();
    assert_eq!(
        (config.minimum_healthy_percent(), config.maximum_percent()),
        (Some(50), Some(150))
    );
    let alarms = config.alarms().unwrap();
    assert_eq!(
        (alarms.alarm_names(), alarms.enable(), alarms.rollback()),
        (&["cluster1-5xx".to_string()][..], true, true)
    );
    let breaker = config.deployment_circuit_breaker().unwrap();
    assert!(breaker.enable() && breaker.rollback());

    // The scalable target, its policies and its schedule.
    let aas = aws_sdk_applicationautoscaling::Client::new(&sdk);
    let (namespace, dimension, id) = target();
    let bounds = || async {
        aas.describe_scalable_targets()
            .service_namespace(namespace.clone())
            .resource_ids(id)
            .send()
            .await
            .unwrap()
            .scalable_targets()
            .iter()
            .map(|t| (t.min_capacity(), t.max_capacity()))
            .collect::<Vec<_>>()
    };
    assert_eq!(bounds().await, [(1, 4)]);
    let policies = || async {
        let mut found: Vec<(String, f64, Option<i32>, Option<i32>)> = aas
            .describe_scaling_policies()
            .service_namespace(namespace.clone())
            .resource_id(id)
            .send()
            .await
            .unwrap()
            .scaling_policies()
            .iter()
            .map(|p| {
                let c = p.target_tracking_scaling_policy_configuration().unwrap();
                (
                    format!(
                        "{} {}",
                        p.policy_name(),
                        c.predefined_metric_specification()
                            .unwrap()
                            .predefined_metric_type()
                            .as_str()
                    ),
                    c.target_value(),
                    c.scale_in_cooldown(),
                    c.scale_out_cooldown(),
                )
            })
            .collect();
        found.sort_by(|a, b| a.0.cmp(&b.0));
        found
    };
    assert_eq!(
        policies().await,
        [
            (
                "cluster1-service-microservice1-cpu ECSServiceAverageCPUUtilization".to_string(),
                60.0,
                Some(120),
                Some(60)
            ),
            (
                "cluster1-service-microservice1-memory ECSServiceAverageMemoryUtilization"
                    .to_string(),
                70.0,
                Some(120),
                Some(60)
            ),
        ]
    );
    let schedules = || async {
        aas.describe_scheduled_actions()
            .service_namespace(namespace.clone())
            .resource_id(id)
            .send()
            .await
            .unwrap()
            .scheduled_actions()
            .iter()
            .map(|a| {
                let bounds = a.scalable_target_action().unwrap();
                (
                    a.scheduled_action_name().to_string(),
                    a.schedule().to_string(),
                    a.timezone().map(str::to_string),
                    bounds.min_capacity(),
                    bounds.max_capacity(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        schedules().await,
        [(
            "night".to_string(),
            "cron(0 20 ? * MON-FRI *)".to_string(),
            Some("Europe/Dublin".to_string()),
            Some(1),
            Some(1)
        )]
    );
    let unchanged = |what: &str| {
        let run = gwfargate(ws.path(), &emulator.endpoint)
            .args(["plan", "--env", "env1.toml", "--detailed-exitcode"])
            .assert();
        let code = run.get_output().status.code();
        assert_eq!(code, Some(0), "{what}: {}", output(&run).0);
    };
    unchanged("right after up");

    // The autoscaler scales out behind gwfargate's back: `plan` sees nothing to do, and `up`
    // leaves the count alone.
    ecs.update_service()
        .cluster("cluster1-cluster")
        .service("cluster1-service-microservice1")
        .desired_count(3)
        .send()
        .await
        .unwrap();
    unchanged("after a scale-out");
    run(&["up", "--env", "env1.toml"]).success();
    assert_eq!(common::the_service(&sdk).await.desired_count(), 3);
    let status = run(&["status"]).success();
    let (status, _) = output(&status);
    assert!(
        status.contains("min 1 / desired 3 / max 4"),
        "status shows the bounds and the count:\n{status}"
    );

    // A schedule fires and moves the bounds (as a scheduled action registers them): `up`
    // leaves them, since the file's are still what it last applied.
    aas.register_scalable_target()
        .service_namespace(namespace.clone())
        .scalable_dimension(dimension.clone())
        .resource_id(id)
        .min_capacity(3)
        .max_capacity(4)
        .send()
        .await
        .unwrap();
    unchanged("while a schedule is in effect");
    run(&["up", "--env", "env1.toml"]).success();
    assert_eq!(bounds().await, [(3, 4)]);

    // Each key changed: planned, then converged in place.
    let text = std::fs::read_to_string(&env_file).unwrap();
    let changed = text
        .replace(
            "[\"java\", \"-jar\", \"/app.jar\"]",
            "[\"java\", \"-jar\", \"/app2.jar\"]",
        )
        .replace("entrypoint        = [\"/usr/bin/tini\", \"--\"]\n", "")
        .replace(
            "working_directory = \"/app\"",
            "working_directory = \"/srv\"",
        )
        .replace("stop_timeout      = 60", "stop_timeout      = 10")
        .replace("\"arm64\"", "\"x86_64\"")
        .replace("ephemeral_storage_gib = 30", "ephemeral_storage_gib = 40")
        .replace(
            "health_check_grace_period = 90",
            "health_check_grace_period = 30",
        )
        .replace("LOG_LEVEL = \"info\"", "LOG_LEVEL = \"debug\"")
        .replace("retries      = 5", "retries      = 2")
        .replace("interval            = 5", "interval            = 15")
        .replace(
            "matcher             = \"200-299\"",
            "matcher             = \"200\"",
        )
        .replace(
            "minimum_healthy_percent = 50",
            "minimum_healthy_percent = 100",
        )
        .replace(
            "maximum_percent         = 150",
            "maximum_percent         = 200",
        )
        .replace("alarms                  = [\"cluster1-5xx\"]\n", "")
        .replace("min = 1\nmax = 4", "min = 1\nmax = 2")
        .replace("cpu = 60", "cpu = 50")
        .replace("memory = 70\n", "")
        .replace("name     = \"night\"", "name     = \"evening\"");
    assert_ne!(text, changed);
    std::fs::write(&env_file, &changed).unwrap();
    let planned = run(&["plan", "--env", "env1.toml"]).success();
    let (planned, _) = output(&planned);
    for said in [
        "command: [\"java\",\"-jar\",\"/app.jar\"] → [\"java\",\"-jar\",\"/app2.jar\"]",
        "entrypoint: [\"/usr/bin/tini\",\"--\"] → (the image's)",
        "working_directory: /app → /srv",
        "stop_timeout: 60 s → 10 s",
        "cpu_architecture: arm64 → x86_64",
        "ephemeral_storage_gib: 30 → 40",
        "env: LOG_LEVEL=info, SPRING_PROFILES_ACTIVE=prod → LOG_LEVEL=debug, SPRING_PROFILES_ACTIVE=prod",
        "5 retries, start period 60 s → [\"CMD-SHELL\"",
        "2 retries, start period 60 s",
        "health_check_grace_period: 90 s → 30 s",
        "health_check_interval: 5 → 15",
        "matcher: 200-299 → 200",
        "minimum_healthy_percent: 50% → 100%",
        "maximum_percent: 150% → 200%",
        "rollback_alarms: cluster1-5xx → (none)",
        "min: 3 → 1",
        "max: 4 → 2",
        "cpu_policy: target 60%, cooldown in 120 s, out 60 s → target 50%",
        "memory_policy: target 70%, cooldown in 120 s, out 60 s → (none)",
        "schedule: night cron(0 20 ? * MON-FRI *) Europe/Dublin → 1 to 1 → evening",
    ] {
        assert!(planned.contains(said), "{said:?} in:\n{planned}");
    }
    run(&["up", "--env", "env1.toml"]).success();
    // The new max moved the count: status shows that scaling activity.
    let json = output(&run(&["status", "--json"]).success()).0;
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    let row = json["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "autoscaling")
        .unwrap()
        .clone();
    assert!(
        row["detail"]
            .as_str()
            .unwrap()
            .contains("; last: Setting desired count to"),
        "status shows the last scaling activities: {row}"
    );
    let td = revision().await;
    let container = &td.container_definitions()[0];
    assert_eq!(
        (
            container.command(),
            container.entry_point().is_empty(),
            container.working_directory(),
            container.stop_timeout(),
            container.health_check().unwrap().retries()
        ),
        (
            &[
                "java".to_string(),
                "-jar".to_string(),
                "/app2.jar".to_string()
            ][..],
            true,
            Some("/srv"),
            Some(10),
            Some(2)
        )
    );
    assert_eq!(
        td.runtime_platform()
            .and_then(|p| p.cpu_architecture())
            .map(|a| a.as_str()),
        Some("X86_64")
    );
    assert_eq!(td.ephemeral_storage().map(|e| e.size_in_gib()), Some(40));
    assert_eq!(
        check().await,
        (Some(15), Some(3), Some(4), Some("200".to_string()))
    );
    let service = common::the_service(&sdk).await;
    assert_eq!(
        (
            service.desired_count(),
            service.health_check_grace_period_seconds()
        ),
        (2, Some(30)),
        "the count brought into the new bounds"
    );
    let config = service.deployment_configuration().unwrap();
    assert_eq!(
        (
            config.minimum_healthy_percent(),
            config.maximum_percent(),
            config.alarms().map(|a| a.enable())
        ),
        (Some(100), Some(200), Some(false))
    );
    assert_eq!(bounds().await, [(1, 2)]);
    assert_eq!(
        policies().await,
        [(
            "cluster1-service-microservice1-cpu ECSServiceAverageCPUUtilization".to_string(),
            50.0,
            Some(120),
            Some(60)
        )]
    );
    assert_eq!(
        schedules()
            .await
            .into_iter()
            .map(|s| s.0)
            .collect::<Vec<_>>(),
        ["evening"]
    );
    unchanged("after the changes");

    // A restart without a change: a new deployment of the same revision.
    let deployment = || async {
        common::the_service(&sdk).await.deployments()[0]
            .id()
            .unwrap()
            .to_string()
    };
    let before = deployment().await;
    let forced = run(&["up", "--env", "env1.toml", "--force-new-deployment"]).success();
    let (_, forced) = output(&forced);
    assert!(
        forced.contains("tasks: running → replaced (--force-new-deployment)"),
        "{forced}"
    );
    assert_ne!(deployment().await, before);
    assert_eq!(
        revision().await.revision(),
        td.revision(),
        "no new revision"
    );

    // Autoscaling dropped from the file: the target goes, and the count is the file's again.
    let reference = std::fs::read_to_string(common::root().join("config/env1.toml")).unwrap();
    std::fs::write(&env_file, &reference).unwrap();
    let planned = run(&["plan", "--env", "env1.toml"]).success();
    let (planned, _) = output(&planned);
    assert!(planned.contains("- delete   autoscaling"), "{planned}");
    run(&["up", "--env", "env1.toml", "--yes"]).success();
    assert!(bounds().await.is_empty());
    assert_eq!(common::the_service(&sdk).await.desired_count(), 1);

    // And back, then down: nothing left.
    std::fs::write(&env_file, &changed).unwrap();
    run(&["up", "--env", "env1.toml"]).success();
    assert_eq!(bounds().await, [(1, 2)]);
    run(&["down", "--yes", "--purge"]).success();
    assert!(bounds().await.is_empty());
    assert!(schedules().await.is_empty());
    common::assert_nothing_left(&sdk, "after down").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_are_checked_read_through_their_own_endpoints_and_their_endpoints_go_with_them() {
    let emulator = Emulator::realistic();
    let sdk = emulator.sdk(REGION).await;
    let secret = common::create_secret(&sdk, "db", "{\"password\": \"p\"}").await;
    let ssm = aws_sdk_ssm::Client::new(&sdk);
    let put = |name: &'static str| {
        ssm.put_parameter()
            .name(name)
            .value("t")
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .send()
    };
    let both = format!(
        "health_check_path = \"/actuator/health\"\n[service.secrets]\n\
         DB_PASSWORD = {{ secretsmanager = \"{secret}\", key = \"password\" }}\n\
         API_TOKEN = {{ ssm = \"/microservice1/api-token\" }}\n"
    );
    let ws = Workspace::new(&[("health_check_path = \"/actuator/health\"", &both)]);
    let env_file = ws.path().join("env1.toml");
    let run = |args: &[&str]| gwfargate(ws.path(), &emulator.endpoint).args(args).assert();

    // A secret that does not exist: refused before anything is made, the variable named.
    emulator.reset_calls();
    for command in ["plan", "up"] {
        let refused = run(&[command, "--env", "env1.toml"]).code(2);
        let (_, stderr) = output(&refused);
        assert!(
            stderr.contains(
                "service.secrets.API_TOKEN: there is no parameter /microservice1/api-token"
            ) && stderr.contains("nothing was changed"),
            "{command}: {stderr}"
        );
    }
    assert_eq!(emulator.writes(), Vec::<String>::new(), "nothing made");
    put("/microservice1/api-token").await.unwrap();

    run(&["up", "--env", "env1.toml"]).code(3);
    push_image(&sdk, REPO, "1.0.0").await;
    run(&["up", "--env", "env1.toml"]).success();

    let ecs = aws_sdk_ecs::Client::new(&sdk);
    let secrets_of_revision = || async {
        let service = common::the_service(&sdk).await;
        let td = ecs
            .describe_task_definition()
            .task_definition(service.task_definition().unwrap())
            .send()
            .await
            .unwrap();
        td.task_definition().unwrap().container_definitions()[0]
            .secrets()
            .iter()
            .map(|s| (s.name().to_string(), s.value_from().to_string()))
            .collect::<Vec<_>>()
    };
    let parameter = "arn:aws:ssm:eu-west-1:123456789012:parameter/microservice1/api-token";
    assert_eq!(
        secrets_of_revision().await,
        [
            ("API_TOKEN".to_string(), parameter.to_string()),
            ("DB_PASSWORD".to_string(), format!("{secret}:password::")),
        ]
    );
    // The execution role may read exactly those; each endpoint lets through only them.
    let iam = aws_sdk_iam::Client::new(&sdk);
    let policy = iam
        .get_role_policy()
        .role_name("cluster1-role-microservice1-eu-west-1")
        .policy_name("cluster1-policy-microservice1-execution")
        .send()
        .await
        .unwrap();
    let policy: serde_json::Value =
        serde_json::from_str(&common::policy_text(policy.policy_document())).unwrap();
    let statement = |sid: &str| {
        policy["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["Sid"] == sid)
            .cloned()
    };
    assert_eq!(
        statement("Secrets").unwrap()["Resource"],
        serde_json::json!([secret])
    );
    assert_eq!(
        statement("Parameters").unwrap()["Resource"],
        serde_json::json!([parameter])
    );
    let endpoints = || async {
        live_endpoints(&sdk)
            .await
            .into_iter()
            .map(|(service, _, policy)| (service, policy))
            .collect::<Vec<_>>()
    };
    let now = endpoints().await;
    let names: Vec<&str> = now.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(names, ["api", "dkr", "logs", "s3", "secretsmanager", "ssm"]);
    let secrets_policy = &now[4].1;
    assert!(
        secrets_policy.contains(&secret)
            && secrets_policy.contains("secretsmanager:GetSecretValue"),
        "{secrets_policy}"
    );

    // The parameter dropped from the file: its endpoint goes once the tasks no longer need it.
    let text = std::fs::read_to_string(&env_file).unwrap();
    std::fs::write(
        &env_file,
        text.replace("API_TOKEN = { ssm = \"/microservice1/api-token\" }\n", ""),
    )
    .unwrap();
    let planned = run(&["plan", "--env", "env1.toml"]).success();
    let (planned, _) = output(&planned);
    assert!(
        planned.contains("- delete   interface endpoint cluster1-vpce-ssm"),
        "{planned}"
    );
    run(&["up", "--env", "env1.toml", "--yes"]).success();
    assert_eq!(
        secrets_of_revision().await,
        [("DB_PASSWORD".to_string(), format!("{secret}:password::"))]
    );
    let names: Vec<String> = endpoints().await.into_iter().map(|(s, _)| s).collect();
    assert_eq!(names, ["api", "dkr", "logs", "s3", "secretsmanager"]);

    // No secret at all: the last secrets endpoint goes too, and so does the role's right.
    let reference = std::fs::read_to_string(common::root().join("config/env1.toml")).unwrap();
    std::fs::write(&env_file, &reference).unwrap();
    run(&["up", "--env", "env1.toml", "--yes"]).success();
    let names: Vec<String> = endpoints().await.into_iter().map(|(s, _)| s).collect();
    assert_eq!(names, ["api", "dkr", "logs", "s3"]);
    assert!(secrets_of_revision().await.is_empty());
    run(&["down", "--yes", "--purge"]).success();
    common::assert_nothing_left(&sdk, "after down").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_task_role_gets_its_policies_and_the_endpoints_its_calls_need() {
    let emulator = Emulator::realistic();
    let sdk = emulator.sdk(REGION).await;
    let queue = "arn:aws:sqs:eu-west-1:123456789012:jobs";
    let table = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders";
    let role_text = format!(
        "health_check_path = \"/actuator/health\"\n[service.task_role]\n\
         policy_arns = [\"arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess\"]\n\
         [[service.task_role.statements]]\nactions = [\"sqs:SendMessage\"]\nresources = [\"{queue}\"]\n\
         [[service.task_role.statements]]\nactions = [\"dynamodb:GetItem\"]\nresources = [\"{table}\"]\n"
    );
    let ws = Workspace::new(&[("health_check_path = \"/actuator/health\"", &role_text)]);
    let env_file = ws.path().join("env1.toml");
    let run = |args: &[&str]| gwfargate(ws.path(), &emulator.endpoint).args(args).assert();

    // Without the endpoints, the plan says which the statements need.
    let planned = run(&["plan", "--env", "env1.toml"]).success();
    let (planned, _) = output(&planned);
    assert!(
        planned.contains("the task role's statements reach dynamodb, sqs")
            && planned.contains("add \"dynamodb\", \"sqs\" to `endpoints` under [network]"),
        "{planned}"
    );
    let text = std::fs::read_to_string(&env_file).unwrap();
    std::fs::write(
        &env_file,
        text.replace(
            "vpc_cidr = \"10.0.0.0/16\"",
            "vpc_cidr = \"10.0.0.0/16\"\nendpoints = [\"sqs\", \"dynamodb\"]",
        ),
    )
    .unwrap();
    let planned = run(&["plan", "--env", "env1.toml"]).success();
    let (planned, _) = output(&planned);
    assert!(
        !planned.contains("the task role's statements reach"),
        "{planned}"
    );
    run(&["up", "--env", "env1.toml"]).code(3);
    push_image(&sdk, REPO, "1.0.0").await;
    run(&["up", "--env", "env1.toml"]).success();

    let role_name = "cluster1-role-microservice1-task-eu-west-1";
    let iam = aws_sdk_iam::Client::new(&sdk);
    let role = iam.get_role().role_name(role_name).send().await.unwrap();
    let role_arn = role.role().unwrap().arn().to_string();
    let trust = common::policy_text(role.role().unwrap().assume_role_policy_document().unwrap());
    assert!(
        trust.contains("ecs-tasks.amazonaws.com") && trust.contains("aws:SourceAccount"),
        "{trust}"
    );
    let attached = || async {
        iam.list_attached_role_policies()
            .role_name(role_name)
            .send()
            .await
            .unwrap()
            .attached_policies()
            .iter()
            .map(|p| p.policy_arn().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        attached().await,
        ["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"]
    );
    let inline = || async {
        let policy = iam
            .get_role_policy()
            .role_name(role_name)
            .policy_name("cluster1-policy-microservice1-task")
            .send()
            .await
            .unwrap();
        common::policy_text(policy.policy_document())
    };
    let policy = inline().await;
    assert!(
        policy.contains("sqs:SendMessage") && policy.contains(queue) && policy.contains(table),
        "{policy}"
    );
    let ecs = aws_sdk_ecs::Client::new(&sdk);
    let task_role = || async {
        let service = common::the_service(&sdk).await;
        ecs.describe_task_definition()
            .task_definition(service.task_definition().unwrap())
            .send()
            .await
            .unwrap()
            .task_definition()
            .unwrap()
            .task_role_arn()
            .map(str::to_string)
    };
    assert_eq!(task_role().await, Some(role_arn));
    let endpoints = || async {
        live_endpoints(&sdk)
            .await
            .into_iter()
            .map(|(service, kind, _)| (service, kind))
            .collect::<Vec<_>>()
    };
    let pair = |s: &str, t: &str| (s.to_string(), t.to_string());
    assert_eq!(
        endpoints().await,
        [
            pair("api", "interface"),
            pair("dkr", "interface"),
            pair("dynamodb", "gateway"),
            pair("logs", "interface"),
            pair("s3", "gateway"),
            pair("sqs", "interface"),
        ]
    );

    // Every endpoint lets the task role's own calls through (its IAM policy decides), and
    // everyone else only to what the stack needs.
    let s3 = live_endpoints(&sdk)
        .await
        .into_iter()
        .find(|(service, _, _)| service == "s3")
        .unwrap()
        .2;
    assert!(
        s3.contains("TheTaskRole") && s3.contains(role_name) && s3.contains("ImageLayers"),
        "{s3}"
    );

    // Policies changed in place: the managed one detached, a statement dropped.
    let text = std::fs::read_to_string(&env_file).unwrap();
    std::fs::write(
        &env_file,
        text.replace(
            "policy_arns = [\"arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess\"]\n",
            "",
        )
        .replace(
            &format!(
                "[[service.task_role.statements]]\nactions = [\"dynamodb:GetItem\"]\nresources = [\"{table}\"]\n"
            ),
            "",
        )
        .replace("endpoints = [\"sqs\", \"dynamodb\"]", "endpoints = [\"sqs\"]"),
    )
    .unwrap();
    let planned = run(&["plan", "--env", "env1.toml"]).success();
    let (planned, _) = output(&planned);
    for said in [
        "managed_policies: arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess → (none)",
        "policy.Statement1: ",
        "- delete gateway endpoint cluster1-vpce-dynamodb",
    ] {
        let words = planned.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(words.contains(said), "{said:?} in:\n{planned}");
    }
    run(&["up", "--env", "env1.toml", "--yes"]).success();
    assert!(attached().await.is_empty());
    assert!(!inline().await.contains(table));
    assert!(!endpoints().await.iter().any(|(s, _)| s == "dynamodb"));

    // No task role: the tasks get no credentials again, and the role goes.
    let reference = std::fs::read_to_string(common::root().join("config/env1.toml")).unwrap();
    std::fs::write(&env_file, &reference).unwrap();
    run(&["up", "--env", "env1.toml", "--yes"]).success();
    assert_eq!(task_role().await, None);
    assert!(iam.get_role().role_name(role_name).send().await.is_err());
    assert!(!endpoints().await.iter().any(|(s, _)| s == "sqs"));
    run(&["down", "--yes", "--purge"]).success();
    common::assert_nothing_left(&sdk, "after down").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn fargate_spot_is_a_strategy_changed_in_place_both_ways() {
    let emulator = Emulator::realistic();
    let sdk = emulator.sdk(REGION).await;
    let anchor = "health_check_path = \"/actuator/health\"";
    let ws = Workspace::new(&[(
        anchor,
        &format!("{anchor}\nspot = {{ base = 1, weight = 3 }}"),
    )]);
    let env_file = ws.path().join("env1.toml");
    let run = |args: &[&str]| gwfargate(ws.path(), &emulator.endpoint).args(args).assert();
    run(&["up", "--env", "env1.toml"]).code(3);
    push_image(&sdk, REPO, "1.0.0").await;
    run(&["up", "--env", "env1.toml"]).success();

    let ecs = aws_sdk_ecs::Client::new(&sdk);
    let clusters = ecs
        .describe_clusters()
        .clusters("cluster1-cluster")
        .send()
        .await
        .unwrap();
    assert_eq!(
        clusters.clusters()[0].capacity_providers(),
        ["FARGATE", "FARGATE_SPOT"]
    );
    let placement = || async {
        let service = common::the_service(&sdk).await;
        (
            service.launch_type().map(|l| l.as_str().to_string()),
            service
                .capacity_provider_strategy()
                .iter()
                .map(|i| (i.capacity_provider().to_string(), i.base(), i.weight()))
                .collect::<Vec<_>>(),
        )
    };
    let item = |p: &str, base: i32, weight: i32| (p.to_string(), base, weight);
    assert_eq!(
        placement().await,
        (
            None,
            vec![item("FARGATE", 1, 1), item("FARGATE_SPOT", 0, 3)]
        )
    );

    // Another weight: in place, with a new deployment.
    let text = std::fs::read_to_string(&env_file).unwrap();
    std::fs::write(&env_file, text.replace("weight = 3", "weight = 2")).unwrap();
    let planned = run(&["plan", "--env", "env1.toml"]).success();
    let (planned, _) = output(&planned);
    assert!(
        planned.contains(
            "capacity: FARGATE base 1 weight 1, FARGATE_SPOT base 0 weight 3 → \
             FARGATE base 1 weight 1, FARGATE_SPOT base 0 weight 2"
        ),
        "{planned}"
    );
    run(&["up", "--env", "env1.toml"]).success();
    assert_eq!(
        placement().await.1,
        vec![item("FARGATE", 1, 1), item("FARGATE_SPOT", 0, 2)]
    );

    // Spot left out: back to the launch type, and on Spot again, each with a new deployment.
    let reference = std::fs::read_to_string(common::root().join("config/env1.toml")).unwrap();
    std::fs::write(&env_file, &reference).unwrap();
    run(&["up", "--env", "env1.toml"]).success();
    assert_eq!(placement().await, (Some("FARGATE".to_string()), vec![]));
    std::fs::write(&env_file, text.replace("weight = 3", "weight = 2")).unwrap();
    run(&["up", "--env", "env1.toml"]).success();
    assert_eq!(
        placement().await,
        (
            None,
            vec![item("FARGATE", 1, 1), item("FARGATE_SPOT", 0, 2)]
        )
    );
    run(&["down", "--yes", "--purge"]).success();
    common::assert_nothing_left(&sdk, "after down").await;
}
