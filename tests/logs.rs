//! `gwfargate logs`: the history (filtered, one task's, as JSON), `--follow` until Ctrl-C,
//! and `--previous`: the last stopped task, why it stopped, and its lines.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead as _, BufReader};
use std::process::{Command as StdCommand, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{Emulator, Workspace, gwfargate, output, push_image};

const REGION: &str = "eu-west-1";
const GROUP: &str = "/ecs/cluster1/microservice1";

/// Writes `lines` (seconds ago, text) to task `task`'s stream, as the awslogs driver names it.
async fn write(sdk: &aws_config::SdkConfig, task: &str, lines: &[(u64, &str)]) {
    let logs = aws_sdk_cloudwatchlogs::Client::new(sdk);
    let stream = format!("ecs/microservice1/{task}");
    let _ = logs
        .create_log_stream()
        .log_group_name(GROUP)
        .log_stream_name(&stream)
        .send()
        .await;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let events = lines
        .iter()
        .map(|(ago, text)| {
            aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                .timestamp((now - Duration::from_secs(*ago)).as_millis() as i64)
                .message(*text)
                .build()
                .unwrap()
        })
        .collect();
    logs.put_log_events()
        .log_group_name(GROUP)
        .log_stream_name(&stream)
        .set_log_events(Some(events))
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn logs_show_history_follow_new_lines_and_the_last_stopped_task() {
    let emulator = Emulator::realistic();
    let sdk = emulator.sdk(REGION).await;
    let ws = Workspace::new(&[]);
    let run = |args: &[&str]| gwfargate(ws.path(), &emulator.endpoint).args(args).assert();
    run(&["up", "--env", "env1.toml"]).code(3);
    push_image(&sdk, "microservice1", "1.0.0").await;
    run(&["up", "--env", "env1.toml"]).success();
    let ecs = aws_sdk_ecs::Client::new(&sdk);
    let task = ecs
        .list_tasks()
        .cluster("cluster1-cluster")
        .service_name("cluster1-service-microservice1")
        .send()
        .await
        .unwrap()
        .task_arns()[0]
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    write(
        &sdk,
        &task,
        &[(300, "started"), (200, "ERROR boom"), (100, "ready")],
    )
    .await;
    write(&sdk, "0ther0task0000", &[(150, "another task's line")]).await;
    write(&sdk, &task, &[(7200, "two hours ago")]).await;

    // The last 10 minutes, in time order, each line marked with its task's short id.
    let history = output(&run(&["logs"]).success()).0;
    let lines: Vec<&str> = history.lines().collect();
    let short = &task[..8];
    assert_eq!(lines.len(), 4, "{history}");
    assert!(
        lines[0].starts_with(short) && lines[0].ends_with(" started"),
        "{history}"
    );
    assert!(lines[2].starts_with("0ther0ta") && lines[2].ends_with("another task's line"));
    assert!(lines[3].ends_with(" ready"), "{history}");
    let longer = output(&run(&["logs", "--since", "3h"]).success()).0;
    assert!(
        longer.lines().next().unwrap().ends_with("two hours ago"),
        "{longer}"
    );
    let until = output(&run(&["logs", "--since", "3h", "--until", "1h"]).success()).0;
    assert_eq!(until.lines().count(), 1, "{until}");

    // Filtered, one task's, as JSON.
    let errors = output(&run(&["logs", "--filter", "ERROR"]).success()).0;
    assert_eq!(errors.lines().count(), 1, "{errors}");
    assert!(errors.contains("ERROR boom"));
    let one = output(&run(&["logs", "--task", &task]).success()).0;
    assert_eq!(one.lines().count(), 3, "{one}");
    let json = output(&run(&["logs", "--json"]).success()).0;
    let first: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    assert_eq!(first["task"], task.as_str());
    assert_eq!(first["message"], "started");
    assert!(first["timestamp"].as_str().unwrap().ends_with('Z'));
    let refused = run(&["logs", "--since", "yesterday-ish"]).code(2);
    assert!(output(&refused).1.contains("--since"));

    // --follow: the history, then each new line as it comes, through Live Tail (no read
    // every few seconds); Ctrl-C ends it with exit 0.
    let follow = || {
        StdCommand::new(assert_cmd::cargo::cargo_bin("gwfargate"))
            .current_dir(ws.path())
            .env_clear()
            .envs(common::environment(ws.path(), &emulator.endpoint))
            .args(["logs", "--follow"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    emulator.reset_calls();
    let mut child = follow();
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    for _ in 0..4 {
        out.next().unwrap().unwrap();
    }
    // Well after the session started: only Live Tail can bring it.
    std::thread::sleep(Duration::from_secs(1));
    write(&sdk, &task, &[(0, "a new line")]).await;
    let next = out.next().unwrap().unwrap();
    assert!(next.ends_with("a new line"), "{next}");
    std::thread::sleep(Duration::from_millis(500));
    common::signal(&child, "INT");
    assert_eq!(
        common::wait_with_deadline(&mut child, Duration::from_secs(10)),
        Some(0)
    );
    assert_eq!(emulator.count("logs.StartLiveTail"), 1);
    assert_eq!(
        emulator.count("logs.FilterLogEvents"),
        2,
        "the history, and the window before the session started: {:?}",
        emulator.calls()
    );

    // Where Live Tail ends at once (moto's own, without the test bed's), it reads new lines
    // every few seconds instead, and says so.
    let mut settings =
        common::realistic_settings(0.01, serde_json::json!({"seed": 1, "rules": []}));
    settings["live_tail"] = serde_json::json!(false);
    emulator.configure(settings);
    let mut child = follow();
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    for _ in 0..5 {
        out.next().unwrap().unwrap();
    }
    write(&sdk, &task, &[(0, "one more line")]).await;
    let next = out.next().unwrap().unwrap();
    assert!(next.ends_with("one more line"), "{next}");
    common::signal(&child, "INT");
    assert_eq!(
        common::wait_with_deadline(&mut child, Duration::from_secs(10)),
        Some(0)
    );
    let mut said = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut said).unwrap();
    assert!(
        said.contains("reading new lines every few seconds"),
        "{said}"
    );

    // --previous: the service scaled in behind gwfargate's back stops its task; why, and
    // that task's lines only.
    ecs.update_service()
        .cluster("cluster1-cluster")
        .service("cluster1-service-microservice1")
        .desired_count(0)
        .send()
        .await
        .unwrap();
    let previous = run(&["logs", "--previous"]).success();
    let (lines, why) = output(&previous);
    assert!(
        why.contains(&format!("task {task} stopped at")) && why.contains("Scaling activity"),
        "{why}"
    );
    // From when it started (the lines written "minutes ago" above predate it), its own only.
    assert!(lines.contains("a new line"), "{lines}");
    assert!(
        !lines.contains("started") && !lines.contains("another task"),
        "{lines}"
    );

    run(&["down", "--yes", "--purge"]).success();
}
