//! `plan`, and `up` and `down` asking before they lose anything: every plan action and
//! refusal, as the real binary prints them, checked against what `up` then does; a plan sends
//! no write; a doctored state file cannot turn gwfargate against someone else's resources;
//! a terminal is asked, a pipe needs `--yes`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write as _;
use std::process::{Command as StdCommand, Stdio};

use common::{
    Emulator, Workspace, gwfargate, inventory, one_of_each, output, push_image,
    workspace_outside_ecr,
};

const REGION: &str = "eu-west-1";
const ECR_IMAGE: &str =
    "image             = \"123456789012.dkr.ecr.eu-west-1.amazonaws.com/microservice1:1.0.0\"";
const PUBLIC_IMAGE: &str = "image             = \"public.ecr.aws/nginx/nginx:1.27\"";

/// `plan --json` in `ws`: its exit code and document.
fn plan(ws: &Workspace, emulator: &Emulator) -> (i32, serde_json::Value) {
    let run = gwfargate(ws.path(), &emulator.endpoint)
        .args([
            "plan",
            "--env",
            "env1.toml",
            "--json",
            "--detailed-exitcode",
        ])
        .assert();
    let code = run.get_output().status.code().unwrap_or(-1);
    let doc = serde_json::from_str(&output(&run).0)
        .unwrap_or_else(|_| panic!("plan printed no JSON: {}", output(&run).1));
    (code, doc)
}

/// The changes of a plan document of `kind`.
fn of_kind<'a>(doc: &'a serde_json::Value, kind: &str) -> Vec<&'a serde_json::Value> {
    doc["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == kind)
        .collect()
}

fn edit(ws: &Workspace, old: &str, new: &str) {
    let path = ws.path().join("env1.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(old), "env file lacks {old:?}");
    std::fs::write(path, text.replace(old, new)).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_stack_is_planned_as_creates_with_reads_only_and_no_state() {
    let emulator = Emulator::start(1);
    let ws = Workspace::new(&[]);
    let (code, doc) = plan(&ws, &emulator);
    assert_eq!(code, 4, "changes pending: {doc}");
    assert_eq!(doc["format_version"], 1);
    assert_eq!(doc["deployment"], "cluster1");
    assert_eq!(doc["region"], REGION);
    let changes = doc["changes"].as_array().unwrap();
    // 29 resources: the V2 VPC link has a security group of its own.
    assert_eq!(changes.len(), 29, "{doc}");
    assert!(changes.iter().all(|c| c["action"] == "create"), "{doc}");
    // A new account names no CloudWatch role for API Gateway: gwfargate names its own.
    assert_eq!(
        of_kind(&doc, "api logging role")[0]["fields"],
        serde_json::json!([{"field": "cloudwatch_role", "from": null,
                            "to": "arn:aws:iam::123456789012:role/gwfargate-apigateway-cloudwatch-logs"}])
    );
    for c in changes {
        for key in [
            "action",
            "kind",
            "name",
            "id",
            "destructive",
            "reason",
            "fields",
        ] {
            assert!(c.get(key).is_some(), "{key} in {c}");
        }
    }
    // The posture of the stack `up` would build: the open API fails its check, with the key
    // that turns it around.
    let open_api = doc["posture"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["control"] == "CKV_AWS_59")
        .unwrap();
    assert_eq!(open_api["passes"], false, "{open_api}");
    assert!(
        open_api["fix"].as_str().unwrap().contains("auth = \"iam\""),
        "{open_api}"
    );
    let vpc = of_kind(&doc, "vpc");
    assert_eq!(
        vpc[0]["fields"],
        serde_json::json!([{"field": "cidr", "from": null, "to": "10.0.0.0/16"},
                           {"field": "default_security_group", "from": null, "to": "no rules"}])
    );
    let stage = of_kind(&doc, "api stage");
    assert_eq!(
        stage[0]["fields"],
        serde_json::json!([{"field": "throttle.rate", "from": null, "to": "100"},
                           {"field": "throttle.burst", "from": null, "to": "200"},
                           {"field": "access_log", "from": null,
                            "to": "arn:aws:logs:eu-west-1:123456789012:log-group:/apigateway/cluster1/microservice1/access"}])
    );
    assert!(
        emulator.writes().is_empty(),
        "a plan wrote: {:?}",
        emulator.writes()
    );
    assert!(!ws.state_file().exists(), "a plan writes no state file");
    // Plain text for people says the same.
    let text = gwfargate(ws.path(), &emulator.endpoint)
        .args(["plan", "--env", "env1.toml"])
        .assert()
        .success();
    let (stdout, _) = output(&text);
    assert!(stdout.contains("+ create   vpc"), "{stdout}");
    assert!(
        stdout.contains("posture: ") && stdout.contains("FAIL  APIGateway.3"),
        "{stdout}"
    );
    assert!(stdout.contains("Plan: 29 to create."), "{stdout}");
    assert!(
        stdout.contains("+ create   vpc link            cluster1-vpclink-microservice1 (version V2, subnets (known after up)"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_change_is_planned_as_up_then_applies_it_and_destructive_ones_need_yes() {
    // moto as it is never rolls a service out to a new task definition: the test bed does.
    let emulator = Emulator::realistic();
    let sdk = emulator.sdk(REGION).await;
    let ws = Workspace::new(&[]);
    // The image is not pushed yet: `up` makes everything else, its repository included.
    gwfargate(ws.path(), &emulator.endpoint)
        .args(["up", "--env", "env1.toml"])
        .assert()
        .code(3);
    let (_, doc) = plan(&ws, &emulator);
    let creates: Vec<&str> = doc["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        creates,
        ["task definition", "ecs service", "api stage"],
        "only what needs the image is left: {doc}"
    );
    push_image(&sdk, "microservice1", "1.0.0").await;
    gwfargate(ws.path(), &emulator.endpoint)
        .args(["up", "--env", "env1.toml"])
        .assert()
        .success();

    // A complete stack: nothing to do, few reads, no write; exit 0 with --detailed-exitcode.
    emulator.reset_calls();
    let (code, doc) = plan(&ws, &emulator);
    assert_eq!(
        (code, doc["changes"].as_array().unwrap().len()),
        (0, 0),
        "{doc}"
    );
    assert!(emulator.writes().is_empty(), "{:?}", emulator.writes());
    assert!(
        emulator.total() <= 39,
        "a plan of a complete stack makes at most 39 calls, made {}: {:?}",
        emulator.total(),
        emulator.calls()
    );

    // A deployment a run cut short left behind is ours and unused: planned for removal and
    // removed; one made by hand is not ours and stays.
    let apigw = aws_sdk_apigateway::Client::new(&sdk);
    let api = apigw.get_rest_apis().send().await.unwrap().items()[0]
        .id()
        .unwrap()
        .to_string();
    let deployments = || async {
        let mut d: Vec<String> = apigw
            .get_deployments()
            .rest_api_id(&api)
            .send()
            .await
            .unwrap()
            .items()
            .iter()
            .map(|d| d.description().unwrap_or_default().to_string())
            .collect();
        d.sort();
        d
    };
    let served = deployments().await;
    for description in ["gwfargate integrations 0000", "by hand"] {
        apigw
            .create_deployment()
            .rest_api_id(&api)
            .description(description)
            .send()
            .await
            .unwrap();
    }
    let (code, doc) = plan(&ws, &emulator);
    assert_eq!(code, 4, "{doc}");
    assert_eq!(
        of_kind(&doc, "api stage")[0]["fields"],
        serde_json::json!([{"field": "unused_deployments", "from": "1", "to": "0"}]),
        "{doc}"
    );
    gwfargate(ws.path(), &emulator.endpoint)
        .args(["up", "--env", "env1.toml"])
        .assert()
        .success();
    let mut expected = served.clone();
    expected.push("by hand".to_string());
    expected.sort();
    assert_eq!(deployments().await, expected);

    // Updates, each field from → to; a value only `up` can know says so.
    edit(&ws, "retention_days = 30", "retention_days = 90");
    edit(&ws, "count             = 1", "count             = 2");
    edit(&ws, "microservice1:1.0.0", "microservice1:1.0.1");
    // Another build: the same bytes under a new tag would be the same digest, and nothing to
    // deploy.
    common::push_build(&sdk, "microservice1", "1.0.1", 1).await;
    let (code, doc) = plan(&ws, &emulator);
    assert_eq!(code, 4);
    let logs = of_kind(&doc, "log group");
    assert_eq!(
        (logs[0]["action"].clone(), logs[0]["destructive"].clone()),
        (serde_json::json!("update"), serde_json::json!(false)),
        "a longer retention loses nothing: {doc}"
    );
    assert_eq!(
        logs[0]["fields"],
        serde_json::json!([{"field": "retention_days", "from": "30", "to": "90"}])
    );
    let td = of_kind(&doc, "task definition");
    assert_eq!(td[0]["fields"][0]["field"], "image", "{doc}");
    let (from, to) = (
        td[0]["fields"][0]["from"].as_str().unwrap(),
        td[0]["fields"][0]["to"].as_str().unwrap(),
    );
    assert!(
        from.contains("/microservice1@sha256:")
            && to.contains("/microservice1@sha256:")
            && from != to,
        "the image is pinned to the digest 1.0.1 names: {doc}"
    );
    let svc = of_kind(&doc, "ecs service");
    let fields: Vec<(&str, &str)> = svc[0]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["field"].as_str().unwrap(), f["to"].as_str().unwrap()))
        .collect();
    assert_eq!(
        fields,
        [
            ("task_definition", "(known after up)"),
            ("desired_count", "2")
        ],
        "{doc}"
    );
    let applied = gwfargate(ws.path(), &emulator.endpoint)
        .args(["up", "--env", "env1.toml"])
        .assert()
        .success();
    let (_, stderr) = output(&applied);
    assert!(stderr.contains("retention_days 30 → 90"), "{stderr}");
    assert!(stderr.contains("desired_count 1 → 2"), "{stderr}");
    let (code, doc) = plan(&ws, &emulator);
    assert_eq!(code, 0, "up applied what plan showed: {doc}");

    // A shorter retention deletes logs: without a terminal, `up` needs --yes, and changes
    // nothing until it has it.
    edit(&ws, "retention_days = 90", "retention_days = 7");
    let (_, doc) = plan(&ws, &emulator);
    let logs = of_kind(&doc, "log group");
    assert_eq!(logs[0]["destructive"], true, "{doc}");
    assert!(
        logs[0]["reason"]
            .as_str()
            .unwrap()
            .contains("older than 7 days"),
        "{doc}"
    );
    emulator.reset_calls();
    let refused = gwfargate(ws.path(), &emulator.endpoint)
        .args(["up", "--env", "env1.toml"])
        .assert()
        .code(2);
    let (_, stderr) = output(&refused);
    assert!(stderr.contains("--yes"), "{stderr}");
    assert!(
        emulator.writes().is_empty(),
        "nothing changed: {:?}",
        emulator.writes()
    );
    let retention = || async {
        aws_sdk_cloudwatchlogs::Client::new(&sdk)
            .describe_log_groups()
            .send()
            .await
            .unwrap()
            .log_groups()[0]
            .retention_in_days()
    };
    assert_eq!(retention().await, Some(90));
    gwfargate(ws.path(), &emulator.endpoint)
        .args(["up", "--env", "env1.toml", "--yes"])
        .assert()
        .success();
    assert_eq!(retention().await, Some(7));
    gwfargate(ws.path(), &emulator.endpoint)
        .args(["down", "--yes", "--purge"])
        .assert()
        .success();
    common::assert_nothing_left(&sdk, "after down").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_repository_no_longer_used_is_planned_for_deletion_and_deleted_only_with_yes() {
    let emulator = Emulator::start(1);
    let sdk = emulator.sdk(REGION).await;
    let ws = Workspace::new(&[]);
    // `up` makes the repository, then stops for the push.
    gwfargate(ws.path(), &emulator.endpoint)
        .args(["up", "--env", "env1.toml"])
        .assert()
        .code(3);
    // The image moves elsewhere: the empty repository gwfargate made is no longer described.
    edit(&ws, ECR_IMAGE, PUBLIC_IMAGE);
    let (code, doc) = plan(&ws, &emulator);
    assert_eq!(code, 4);
    let repo = of_kind(&doc, "ecr repository");
    assert_eq!(repo.len(), 1, "{doc}");
    assert_eq!(repo[0]["action"], "delete");
    assert_eq!(repo[0]["destructive"], true);
    assert_eq!(repo[0]["name"], "microservice1");
    gwfargate(ws.path(), &emulator.endpoint)
        .args(["up", "--env", "env1.toml"])
        .assert()
        .code(2);
    assert_eq!(
        inventory(&sdk).await["ecr repositories"],
        1,
        "not without --yes"
    );
    gwfargate(ws.path(), &emulator.endpoint)
        .args(["up", "--env", "env1.toml", "--yes"])
        .assert()
        .success();
    assert_eq!(inventory(&sdk).await, one_of_each(), "the repository went");
    let (code, _) = plan(&ws, &emulator);
    assert_eq!(code, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn changes_aws_cannot_take_are_refused_by_plan_and_up_alike() {
    let emulator = Emulator::start(1);
    let sdk = emulator.sdk(REGION).await;
    let ws = workspace_outside_ecr();
    gwfargate(ws.path(), &emulator.endpoint)
        .args(["up", "--env", "env1.toml"])
        .assert()
        .success();
    let built = inventory(&sdk).await;

    // Against the recorded deployment: refused before any AWS call, plan and up alike.
    for (old, new, key, kind) in [
        (
            "port              = 8080",
            "port              = 9090",
            "service.port",
            "target group",
        ),
        (
            "vpc_cidr = \"10.0.0.0/16\"",
            "vpc_cidr = \"10.0.0.0/17\"",
            "network.vpc_cidr",
            "vpc",
        ),
        (
            "environment = \"dev\"",
            "environment = \"prod\"",
            "environment",
            "api stage",
        ),
    ] {
        let env = std::fs::read_to_string(ws.path().join("env1.toml")).unwrap();
        edit(&ws, old, new);
        emulator.reset_calls();
        let (code, doc) = plan(&ws, &emulator);
        assert_eq!(code, 2, "{key}: {doc}");
        let refused = of_kind(&doc, kind);
        assert_eq!(refused[0]["action"], "refuse", "{key}: {doc}");
        assert_eq!(refused[0]["fields"][0]["field"], key);
        assert!(
            refused[0]["reason"].as_str().unwrap().contains("down"),
            "{doc}"
        );
        assert!(emulator.calls().is_empty(), "{key}: {:?}", emulator.calls());
        std::fs::write(ws.path().join("env1.toml"), env).unwrap();
    }

    // Found on AWS, with no state file to compare with: the VPC itself says its CIDR differs.
    std::fs::remove_file(ws.state_file()).unwrap();
    edit(
        &ws,
        "vpc_cidr = \"10.0.0.0/16\"",
        "vpc_cidr = \"10.0.0.0/17\"",
    );
    let (code, doc) = plan(&ws, &emulator);
    assert_eq!(code, 2, "{doc}");
    let vpc = of_kind(&doc, "vpc");
    assert_eq!(vpc[0]["action"], "refuse");
    assert_eq!(
        vpc[0]["fields"],
        serde_json::json!([{"field": "cidr", "from": "10.0.0.0/16", "to": "10.0.0.0/17"}])
    );
    emulator.reset_calls();
    let up = gwfargate(ws.path(), &emulator.endpoint)
        .args(["up", "--env", "env1.toml", "--yes"])
        .assert()
        .code(2);
    assert!(
        output(&up).1.contains("a VPC's CIDR cannot change"),
        "{}",
        output(&up).1
    );
    assert!(emulator.writes().is_empty(), "{:?}", emulator.writes());
    assert_eq!(inventory(&sdk).await, built);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_doctored_state_file_cannot_turn_gwfargate_against_resources_it_did_not_make() {
    let emulator = Emulator::start(1);
    let sdk = emulator.sdk(REGION).await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let apigw = aws_sdk_apigateway::Client::new(&sdk);
    // Someone else's resources, untagged.
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.9.0.0/16")
        .send()
        .await
        .unwrap()
        .vpc()
        .unwrap()
        .vpc_id()
        .unwrap()
        .to_string();
    let group = ec2
        .create_security_group()
        .group_name("theirs")
        .description("theirs")
        .vpc_id(&vpc)
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_string();
    let api = apigw
        .create_rest_api()
        .name("theirs")
        .send()
        .await
        .unwrap()
        .id()
        .unwrap()
        .to_string();
    // A state file that says they are the stack's.
    let ws = workspace_outside_ecr();
    let mut deployment: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(common::root().join("tests/fixtures/deployment.json")).unwrap(),
    )
    .unwrap();
    deployment["service"]["image"] = serde_json::json!("public.ecr.aws/nginx/nginx:1.27");
    let record = |id: &str| serde_json::json!({"id": id, "created": true});
    let state = serde_json::json!({
        "format_version": 2, "env_file": "env1.toml", "account": "123456789012",
        "deployment": deployment,
        "resources": {"vpc": record(&vpc), "security_group": record(&group), "rest_api": record(&api)}
    });
    std::fs::create_dir_all(ws.state_file().parent().unwrap()).unwrap();
    std::fs::write(ws.state_file(), state.to_string()).unwrap();

    let text = gwfargate(ws.path(), &emulator.endpoint)
        .args(["plan", "--env", "env1.toml"])
        .assert()
        .success();
    let (stdout, _) = output(&text);
    for id in [&vpc, &group, &api] {
        assert!(
            stdout.contains(&format!("the state file records {id}"))
                && stdout.contains("leaves it untouched"),
            "{id}: {stdout}"
        );
    }
    // status shows none of theirs as the stack's, and says why.
    let status = gwfargate(ws.path(), &emulator.endpoint)
        .args(["status", "--json"])
        .assert()
        .success();
    let (json, stderr) = output(&status);
    assert!(
        stderr.contains(&format!("note: the state file records {api}")),
        "{stderr}"
    );
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    for r in doc["resources"].as_array().unwrap() {
        assert!(
            ![&vpc, &group, &api].iter().any(|id| r["id"] == id.as_str()),
            "status showed theirs as the stack's: {r}"
        );
    }
    emulator.reset_calls();
    let down = gwfargate(ws.path(), &emulator.endpoint)
        .args(["down", "--yes"])
        .assert()
        .success();
    assert!(
        output(&down)
            .1
            .contains(&format!("note: the state file records {vpc}")),
        "{}",
        output(&down).1
    );
    for write in emulator.writes() {
        assert!(!write.contains("Delete"), "down deleted something: {write}");
    }
    let still = |what: &str, ok: bool| assert!(ok, "{what} of theirs was deleted");
    still(
        "the VPC",
        !ec2.describe_vpcs()
            .vpc_ids(&vpc)
            .send()
            .await
            .unwrap()
            .vpcs()
            .is_empty(),
    );
    still(
        "the security group",
        !ec2.describe_security_groups()
            .group_ids(&group)
            .send()
            .await
            .unwrap()
            .security_groups()
            .is_empty(),
    );
    still(
        "the REST API",
        apigw.get_rest_api().rest_api_id(&api).send().await.is_ok(),
    );

    // `up` builds the stack's own, next to theirs, and changes nothing of theirs.
    std::fs::write(ws.state_file(), state.to_string()).unwrap();
    gwfargate(ws.path(), &emulator.endpoint)
        .args(["up", "--env", "env1.toml"])
        .assert()
        .success();
    let mut want = one_of_each();
    *want.get_mut("vpcs").unwrap() += 1;
    *want.get_mut("security groups").unwrap() += 1;
    *want.get_mut("rest apis").unwrap() += 1;
    assert_eq!(inventory(&sdk).await, want);
    let theirs = ec2.describe_vpcs().vpc_ids(&vpc).send().await.unwrap();
    assert!(
        theirs.vpcs()[0].tags().is_empty(),
        "their VPC was not tagged as ours"
    );
}

/// Runs gwfargate on a pseudo-terminal (util-linux `script`), typing `answer`.
fn on_a_terminal(ws: &Workspace, emulator: &Emulator, args: &str, answer: &str) -> (i32, String) {
    let binary = assert_cmd::cargo::cargo_bin("gwfargate");
    let mut child = StdCommand::new("script")
        .args(["-qec", &format!("{} {args}", binary.display()), "/dev/null"])
        .current_dir(ws.path())
        .env_clear()
        .envs(common::environment(ws.path(), &emulator.endpoint))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("util-linux script runs gwfargate on a pseudo-terminal");
    // Typed once the question is up; a terminal keeps what was typed early all the same.
    child
        .stdin
        .take()
        .unwrap()
        .write_all(answer.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn on_a_terminal_up_and_down_ask_and_only_yes_goes_ahead() {
    let emulator = Emulator::start(1);
    let sdk = emulator.sdk(REGION).await;
    let ws = workspace_outside_ecr();
    gwfargate(ws.path(), &emulator.endpoint)
        .args(["up", "--env", "env1.toml"])
        .assert()
        .success();
    edit(&ws, "retention_days = 30", "retention_days = 7");
    let (code, screen) = on_a_terminal(&ws, &emulator, "up --env env1.toml", "n\n");
    assert_eq!(code, 2, "{screen}");
    assert!(
        screen.contains("Apply this plan, with what it loses?"),
        "{screen}"
    );
    let (code, screen) = on_a_terminal(&ws, &emulator, "up --env env1.toml", "y\n");
    assert_eq!(code, 0, "{screen}");
    let (code, screen) = on_a_terminal(&ws, &emulator, "down", "no\n");
    assert_eq!(code, 2, "{screen}");
    assert!(screen.contains("Delete all of this?"), "{screen}");
    assert!(
        screen.contains("log group") && screen.contains("with its stored logs"),
        "{screen}"
    );
    assert_eq!(inventory(&sdk).await, one_of_each(), "nothing was deleted");
    // Without a terminal: --yes or nothing.
    let piped = gwfargate(ws.path(), &emulator.endpoint)
        .arg("down")
        .assert()
        .code(2);
    assert!(
        output(&piped).1.contains("down --yes"),
        "{}",
        output(&piped).1
    );
    assert_eq!(inventory(&sdk).await, one_of_each(), "nothing was deleted");
    let (code, screen) = on_a_terminal(&ws, &emulator, "down", "y\n");
    assert_eq!(code, 0, "{screen}");
    common::assert_nothing_left(&sdk, "after down").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn environment_variables_fill_in_the_env_file_and_an_unset_one_is_refused() {
    let emulator = Emulator::start(1);
    let ws = Workspace::new(&[
        ("microservice1:1.0.0", "${IMAGE_REPO}:${IMAGE_TAG}"),
        (
            "[api]",
            "[service.env]\nNOTE = '${NOT_FILLED}' # ${NOR_THIS}\n\n[api]",
        ),
    ]);
    // Unset: exit 2, the key and the variable named, nothing sent.
    emulator.reset_calls();
    let refused = gwfargate(ws.path(), &emulator.endpoint)
        .args(["plan", "--env", "env1.toml"])
        .env("IMAGE_REPO", "microservice1")
        .assert()
        .code(2);
    let (_, stderr) = output(&refused);
    assert!(
        stderr.contains("`service.image`") && stderr.contains("IMAGE_TAG is not set"),
        "{stderr}"
    );
    assert_eq!(emulator.total(), 0, "nothing sent");

    let planned = gwfargate(ws.path(), &emulator.endpoint)
        .args(["plan", "--env", "env1.toml", "--json"])
        .env("IMAGE_REPO", "microservice1")
        .env("IMAGE_TAG", "2.0.0")
        .assert()
        .success();
    let text = output(&planned).0;
    assert!(text.contains("microservice1:2.0.0"), "{text}");
    // NOT_FILLED and NOR_THIS are unset too, yet the plan went through: a single-quoted
    // string and a comment are taken as written.
}
