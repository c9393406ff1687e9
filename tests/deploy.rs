//! `gwfargate deploy`: another image on the built stack and nothing else, pinned by digest,
//! failing on a rollback; kept by later `up`s until the env file's own image changes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Emulator, Workspace, gwfargate, output, push_build};

const REGION: &str = "eu-west-1";
const REPO: &str = "microservice1";
const IMAGE: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/microservice1";

fn state(ws: &Workspace) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(ws.state_file()).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn deploy_runs_another_image_that_up_keeps_until_the_env_file_changes_it() {
    let emulator = Emulator::realistic();
    let sdk = emulator.sdk(REGION).await;
    let ws = Workspace::new(&[]);
    let env_file = ws.path().join("env1.toml");
    let run = |args: &[&str]| gwfargate(ws.path(), &emulator.endpoint).args(args).assert();
    let deploy = |tag: &str| {
        gwfargate(ws.path(), &emulator.endpoint)
            .args(["deploy", "--env", "env1.toml", "--image"])
            .arg(format!("{IMAGE}:{tag}"))
            .assert()
    };

    // Nothing built yet: refused, nothing made.
    let refused = deploy("2.0.0").code(2);
    assert!(
        output(&refused).1.contains("build it first"),
        "{:?}",
        output(&refused)
    );
    assert!(!ws.state_file().exists());

    run(&["up", "--env", "env1.toml"]).code(3);
    push_build(&sdk, REPO, "1.0.0", 1).await;
    run(&["up", "--env", "env1.toml"]).success();
    assert!(
        common::running_image(&sdk)
            .await
            .ends_with(&common::digest_of(&sdk, REPO, "1.0.0").await)
    );

    // A new image: a new revision pinned to its digest, rolled out and waited for.
    push_build(&sdk, REPO, "2.0.0", 2).await;
    let deployed = deploy("2.0.0").success();
    let (url, stderr) = output(&deployed);
    assert!(url.trim().starts_with("https://"), "{url}");
    assert!(stderr.contains("deploy: done in"), "{stderr}");
    let two = common::digest_of(&sdk, REPO, "2.0.0").await;
    assert_eq!(common::running_image(&sdk).await, format!("{IMAGE}@{two}"));
    assert_eq!(state(&ws)["deployed"]["value"], format!("{IMAGE}:2.0.0"));

    // The env file still says 1.0.0, as at the last `up`: `plan` and `up` keep 2.0.0, and say why.
    let planned = run(&["plan", "--env", "env1.toml"]).success();
    let (planned, why) = output(&planned);
    assert!(planned.contains("No changes"), "{planned}");
    assert!(
        why.contains(&format!("keeping {IMAGE}:2.0.0 (set by `deploy`"))
            && why.contains("unchanged since the last `up`"),
        "{why}"
    );
    run(&["up", "--env", "env1.toml"]).success();
    assert_eq!(common::running_image(&sdk).await, format!("{IMAGE}@{two}"));

    // A deploy changes only the image: other pending changes of the env file are refused.
    let text = std::fs::read_to_string(&env_file).unwrap();
    let more = text.replace("count             = 1", "count             = 2");
    assert_ne!(more, text);
    std::fs::write(&env_file, &more).unwrap();
    push_build(&sdk, REPO, "3.0.0", 3).await;
    let refused = deploy("3.0.0").code(2);
    let (_, why) = output(&refused);
    assert!(
        why.contains("changes only the image") && why.contains("ecs service"),
        "{why}"
    );
    assert_eq!(common::running_image(&sdk).await, format!("{IMAGE}@{two}"));
    std::fs::write(&env_file, &text).unwrap();
    let elsewhere = gwfargate(ws.path(), &emulator.endpoint)
        .args(["deploy", "--env", "env1.toml", "--image"])
        .arg("123456789012.dkr.ecr.eu-west-1.amazonaws.com/other:1.0.0")
        .assert()
        .code(2);
    assert!(
        output(&elsewhere)
            .1
            .contains("not in the stack's repository")
    );

    // --no-wait: back once ECS took the new revision.
    gwfargate(ws.path(), &emulator.endpoint)
        .args(["deploy", "--env", "env1.toml", "--no-wait", "--image"])
        .arg(format!("{IMAGE}:3.0.0"))
        .assert()
        .success();
    let three = common::digest_of(&sdk, REPO, "3.0.0").await;
    assert_eq!(
        common::running_image(&sdk).await,
        format!("{IMAGE}@{three}")
    );
    run(&["up", "--env", "env1.toml"]).success();

    // An image whose tasks never start: the circuit breaker rolls back, deploy fails and says
    // so, and the image deployed before stays the one `up` keeps.
    push_build(&sdk, REPO, "4.0.0", 4).await;
    let broken = common::digest_of(&sdk, REPO, "4.0.0").await;
    let mut settings =
        common::realistic_settings(0.002, serde_json::json!({"seed": 1, "rules": []}));
    settings["failing_images"] = serde_json::json!([broken]);
    emulator.configure(settings);
    let failed = deploy("4.0.0").failure();
    let (_, why) = output(&failed);
    assert!(why.contains("rolled"), "{why}");
    // The circuit breaker's reason is general; the stopped tasks say what went wrong.
    assert!(
        why.contains("the tasks of revision") && why.contains("CannotPullContainerError"),
        "{why}"
    );
    assert_eq!(state(&ws)["deployed"]["value"], format!("{IMAGE}:3.0.0"));
    let planned = run(&["plan", "--env", "env1.toml"]).success();
    assert!(
        output(&planned)
            .1
            .contains(&format!("keeping {IMAGE}:3.0.0"))
    );
    // `status` does not call the rolled-back service healthy: it runs an older revision than
    // the one last registered, and `--check` says so.
    let checked = run(&["status", "--check"]).code(1);
    let (table, why) = output(&checked);
    assert!(
        why.contains("runs task definition revision") && why.contains("rolled back"),
        "{why}"
    );
    assert!(
        table.contains("problem: ecs service runs task definition revision"),
        "{table}"
    );
    let shown = run(&["status", "--json"]).success();
    let shown: serde_json::Value = serde_json::from_str(&output(&shown).0).unwrap();
    assert_eq!(shown["problems"].as_array().unwrap().len(), 1, "{shown}");
    // What status shows of the service: the revision it runs next to the wanted one, the
    // image it runs, its deployments, its tasks, the failed ones and why they stopped.
    let service = &shown["service"];
    assert_eq!(
        service["revision"].as_u64().unwrap() + 1,
        service["wanted_revision"].as_u64().unwrap(),
        "{service:#}"
    );
    let broken_revision = &service["wanted_revision"];
    assert!(
        service["wanted_image"].as_str().unwrap().ends_with(&broken),
        "{service:#}"
    );
    assert_eq!(
        service["deployments"][0]["status"], "PRIMARY",
        "{service:#}"
    );
    let tasks = service["tasks"].as_array().unwrap();
    assert!(!tasks.is_empty(), "{service:#}");
    for task in tasks {
        assert_eq!(task["status"], "RUNNING", "{task}");
        assert_eq!(task["image"], format!("{IMAGE}@{three}"), "{task}");
        assert!(task["zone"].as_str().unwrap().starts_with(REGION), "{task}");
    }
    let stopped = service["stopped_tasks"].as_array().unwrap();
    let failed_task = stopped
        .iter()
        .find(|t| t["revision"] == *broken_revision)
        .unwrap_or_else(|| panic!("no stopped task of the broken revision: {service:#}"));
    assert_eq!(
        failed_task["stop_code"], "TaskFailedToStart",
        "{failed_task}"
    );
    assert!(
        !service["events"].as_array().unwrap().is_empty(),
        "{service:#}"
    );
    assert!(
        shown["targets"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["state"] == "healthy"),
        "{shown:#}"
    );
    let table = output(&run(&["status", "--wide"]).success()).0;
    for part in [
        "stopped tasks:",
        "CannotPullContainerError",
        "deployments:",
        "tasks:",
        &format!("image running: {IMAGE}@{three}"),
        &format!("image wanted:  {IMAGE}@{broken}"),
        "api auth: none",
    ] {
        assert!(table.contains(part), "status lacks {part:?}:\n{table}");
    }
    run(&["up", "--env", "env1.toml"]).success();
    run(&["status", "--check"]).success();

    // Targets that fail their health checks: `--check` names them.
    let mut settings =
        common::realistic_settings(0.002, serde_json::json!({"seed": 1, "rules": []}));
    settings["unhealthy_images"] = serde_json::json!([three]);
    emulator.configure(settings.clone());
    let sick = run(&["status", "--check"]).code(1);
    let (table, why) = output(&sick);
    assert!(
        why.contains("is unhealthy (Target.FailedHealthChecks"),
        "{why}"
    );
    assert!(table.contains("unhealthy"), "{table}");

    // A read the caller may not make: its row (or section) is unknown, the rest is shown,
    // and status exits 1 saying what it could not read.
    settings["unhealthy_images"] = serde_json::json!([]);
    settings["faults"] = serde_json::json!({"seed": 1, "rules": [
        {"match": "elasticloadbalancing.DescribeTargetHealth", "deny": 1.0},
        {"match": "ecs.DescribeClusters", "deny": 1.0},
    ]});
    emulator.configure(settings);
    let denied = run(&["status", "--wide"]).code(1);
    let (table, why) = output(&denied);
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("ecs cluster") && l.contains("unknown (AccessDenied)")),
        "{table}"
    );
    assert!(table.contains("targets: unknown (AccessDenied)"), "{table}");
    assert!(
        table.contains("url: https://"),
        "the rest is shown:\n{table}"
    );
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("ecs service") && l.contains(" active ")),
        "{table}"
    );
    assert!(
        why.contains("could not read ecs cluster") && why.contains("targets"),
        "{why}"
    );
    let doc = output(&run(&["status", "--json"]).code(1)).0;
    let doc: serde_json::Value = serde_json::from_str(&doc).unwrap();
    assert!(doc["targets"].is_null(), "{doc:#}");
    let unread: Vec<&str> = doc["unread"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["code"].as_str().unwrap())
        .collect();
    assert_eq!(unread, ["AccessDeniedException", "AccessDenied"], "{doc:#}");
    // The service itself unreadable: said so, not called missing.
    emulator.configure(common::realistic_settings(
        0.002,
        serde_json::json!({"seed": 1, "rules": [{"match": "ecs.DescribeServices", "deny": 1.0}]}),
    ));
    let (table, _) = output(&run(&["status"]).code(1));
    assert!(
        table.contains("service: unknown (AccessDenied)") && !table.contains("service: missing"),
        "{table}"
    );
    emulator.configure(common::realistic_settings(
        0.002,
        serde_json::json!({"seed": 1, "rules": []}),
    ));

    // Widths: an unknown one (a pipe, or a terminal that says 0) fits 80 columns and shortens
    // ids in the middle; 200 columns and --wide keep them whole.
    let at = |columns: &str, wide: bool| {
        let mut cmd = gwfargate(ws.path(), &emulator.endpoint);
        cmd.env("COLUMNS", columns).arg("status");
        if wide {
            cmd.arg("--wide");
        }
        let table = output(&cmd.assert().success()).0;
        table[..table.find("posture:").unwrap()].to_string()
    };
    let narrow = at("0", false);
    for line in narrow.lines().filter(|l| !l.starts_with("url: ")) {
        assert!(line.chars().count() <= 80, "{line}\n{narrow}");
    }
    assert!(narrow.contains('…'), "{narrow}");
    let wide = at("0", true);
    assert!(!wide.contains('…'), "{wide}");
    assert!(
        wide.contains(&format!("{IMAGE}@{three}")),
        "the image is whole:\n{wide}"
    );
    assert!(at("200", false).contains(&format!("{IMAGE}@{three}")));

    // The env file's image changes: it wins, and the deployed one is forgotten.
    push_build(&sdk, REPO, "5.0.0", 5).await;
    std::fs::write(
        &env_file,
        text.replace("microservice1:1.0.0", "microservice1:5.0.0"),
    )
    .unwrap();
    let planned = run(&["plan", "--env", "env1.toml"]).success();
    let (_, why) = output(&planned);
    assert!(
        why.contains(&format!(
            "the env file's {IMAGE}:5.0.0 replaces {IMAGE}:3.0.0"
        )),
        "{why}"
    );
    run(&["up", "--env", "env1.toml"]).success();
    let five = common::digest_of(&sdk, REPO, "5.0.0").await;
    assert_eq!(common::running_image(&sdk).await, format!("{IMAGE}@{five}"));
    assert!(state(&ws).get("deployed").is_none(), "{}", state(&ws));

    run(&["down", "--yes", "--purge"]).success();
    common::assert_nothing_left(&sdk, "after down").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn revisions_are_listed_and_rollback_goes_back_one_image_at_a_time() {
    let emulator = Emulator::realistic();
    let sdk = emulator.sdk(REGION).await;
    let ws = Workspace::new(&[]);
    let run = |args: &[&str]| gwfargate(ws.path(), &emulator.endpoint).args(args).assert();
    run(&["up", "--env", "env1.toml"]).code(3);
    for (tag, build) in [("1.0.0", 1), ("2.0.0", 2), ("3.0.0", 3)] {
        push_build(&sdk, REPO, tag, build).await;
    }
    run(&["up", "--env", "env1.toml"]).success();
    for tag in ["2.0.0", "3.0.0"] {
        gwfargate(ws.path(), &emulator.endpoint)
            .args(["deploy", "--env", "env1.toml", "--image"])
            .arg(format!("{IMAGE}:{tag}"))
            .assert()
            .success();
    }
    let listed = |ws: &Workspace| {
        let shown = gwfargate(ws.path(), &emulator.endpoint)
            .args(["revisions", "--json"])
            .assert()
            .success();
        let doc: serde_json::Value = serde_json::from_str(&output(&shown).0).unwrap();
        doc["revisions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["revision"].as_u64().unwrap(),
                    r["by"].as_str().unwrap_or_default().to_string(),
                    r["running"].as_bool().unwrap(),
                    r["image"].as_str().unwrap().to_string(),
                )
            })
            .collect::<Vec<_>>()
    };
    let (one, two, three) = (
        common::digest_of(&sdk, REPO, "1.0.0").await,
        common::digest_of(&sdk, REPO, "2.0.0").await,
        common::digest_of(&sdk, REPO, "3.0.0").await,
    );
    let pinned = |digest: &str| format!("{IMAGE}@{digest}");
    assert_eq!(
        listed(&ws),
        [
            (3, "deploy".to_string(), true, pinned(&three)),
            (2, "deploy".to_string(), false, pinned(&two)),
            (1, "up".to_string(), false, pinned(&one)),
        ]
    );
    let table = run(&["revisions"]).success();
    assert!(
        output(&table).0.contains("REVISION"),
        "{:?}",
        output(&table)
    );

    // Back one image: 2.0.0 again, as a new revision; 3 is deregistered.
    let rolled = run(&["rollback"]).success();
    assert!(
        output(&rolled).1.contains("rollback: to revision 2"),
        "{:?}",
        output(&rolled)
    );
    assert_eq!(common::running_image(&sdk).await, pinned(&two));
    assert_eq!(
        listed(&ws),
        [
            (4, "rollback".to_string(), true, pinned(&two)),
            (2, "deploy".to_string(), false, pinned(&two)),
            (1, "up".to_string(), false, pinned(&one)),
        ]
    );
    // `up` keeps what was rolled back to.
    let planned = run(&["plan", "--env", "env1.toml"]).success();
    assert!(
        output(&planned).0.contains("No changes"),
        "{:?}",
        output(&planned)
    );

    // Again, naming the revision: further back, to 1.0.0. One not kept is refused below.
    let named = run(&["rollback", "--env", "env1.toml", "--to", "1"]).success();
    assert!(
        output(&named).1.contains("rollback: to revision 1"),
        "{:?}",
        output(&named)
    );
    assert_eq!(common::running_image(&sdk).await, pinned(&one));

    // A deployment still rolling out is stopped with ECS's own rollback: back to the
    // revision it replaces, with no new revision registered for it.
    let mut slow = common::realistic_settings(0.002, serde_json::json!({"seed": 1, "rules": []}));
    slow["durations"] = serde_json::json!({"service_steady": 4000});
    emulator.configure(slow);
    let before = listed(&ws);
    gwfargate(ws.path(), &emulator.endpoint)
        .args(["deploy", "--env", "env1.toml", "--no-wait", "--image"])
        .arg(format!("{IMAGE}:3.0.0"))
        .assert()
        .success();
    assert_eq!(listed(&ws).len(), before.len() + 1);
    emulator.reset_calls();
    let stopped = run(&["rollback"]).success();
    let (_, said) = output(&stopped);
    assert!(
        said.contains("stopped the deployment in progress"),
        "{said}"
    );
    assert_eq!(emulator.count("ecs.StopServiceDeployment"), 1);
    assert_eq!(emulator.count("ecs.RegisterTaskDefinition"), 0);
    assert_eq!(emulator.count("ecs.UpdateService"), 0);
    assert_eq!(common::running_image(&sdk).await, pinned(&one));
    assert_eq!(listed(&ws), before);
    run(&["status", "--check"]).success();
    emulator.configure(common::realistic_settings(
        0.002,
        serde_json::json!({"seed": 1, "rules": []}),
    ));
    let refused = run(&["rollback", "--to", "99"]).code(2);
    assert!(
        output(&refused).1.contains("revision 99 is not kept"),
        "{:?}",
        output(&refused)
    );
    run(&["down", "--yes", "--purge"]).success();
    common::assert_nothing_left(&sdk, "after down").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn image_updates_deploys_and_rollbacks_finish_on_the_plain_profile_too() {
    // The README's hand-test emulator: moto as it is, where nothing takes time.
    let emulator = Emulator::start(1);
    let sdk = emulator.sdk(REGION).await;
    let ws = Workspace::new(&[]);
    let env_file = ws.path().join("env1.toml");
    let run = |args: &[&str]| gwfargate(ws.path(), &emulator.endpoint).args(args).assert();
    run(&["up", "--env", "env1.toml"]).code(3);
    for (tag, build) in [("1.0.0", 1), ("2.0.0", 2), ("3.0.0", 3)] {
        push_build(&sdk, REPO, tag, build).await;
    }
    run(&["up", "--env", "env1.toml"]).success();
    let text = std::fs::read_to_string(&env_file).unwrap();
    std::fs::write(
        &env_file,
        text.replace("microservice1:1.0.0", "microservice1:2.0.0"),
    )
    .unwrap();
    run(&["up", "--env", "env1.toml"]).success();
    let two = common::digest_of(&sdk, REPO, "2.0.0").await;
    assert_eq!(common::running_image(&sdk).await, format!("{IMAGE}@{two}"));
    gwfargate(ws.path(), &emulator.endpoint)
        .args(["deploy", "--env", "env1.toml", "--image"])
        .arg(format!("{IMAGE}:3.0.0"))
        .assert()
        .success();
    let three = common::digest_of(&sdk, REPO, "3.0.0").await;
    assert_eq!(
        common::running_image(&sdk).await,
        format!("{IMAGE}@{three}")
    );
    run(&["rollback"]).success();
    assert_eq!(common::running_image(&sdk).await, format!("{IMAGE}@{two}"));
    run(&["status", "--check"]).success();

    // The REST API made again (as after a `down` cut short): the new URL is announced.
    let old = output(&run(&["status", "--json"]).success()).0;
    let old: serde_json::Value = serde_json::from_str(&old).unwrap();
    let old = old["url"].as_str().unwrap().to_string();
    let apigw = aws_sdk_apigateway::Client::new(&sdk);
    let api = old
        .trim_start_matches("https://")
        .split('.')
        .next()
        .unwrap();
    apigw
        .delete_rest_api()
        .rest_api_id(api)
        .send()
        .await
        .unwrap();
    let planned = run(&["plan", "--env", "env1.toml"]).success();
    assert!(
        output(&planned).0.contains("so the public URL changes"),
        "{:?}",
        output(&planned)
    );
    let rebuilt = run(&["up", "--env", "env1.toml"]).success();
    let (url, stderr) = output(&rebuilt);
    assert_ne!(url.trim(), old);
    assert!(
        stderr.contains(&format!(
            "up: the public URL changed: {old} answers no more; callers must use {}",
            url.trim()
        )),
        "{stderr}"
    );
    run(&["down", "--yes", "--purge"]).success();
}
