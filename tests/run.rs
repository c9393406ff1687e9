//! `gwfargate run`: a one-off task from the service's task definition and network, its lines
//! streamed and its exit code returned.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Emulator, Workspace, gwfargate, output, push_image};

#[tokio::test(flavor = "multi_thread")]
async fn a_one_off_task_runs_the_command_streams_its_lines_and_returns_its_exit_code() {
    let emulator = Emulator::realistic();
    let sdk = emulator.sdk("eu-west-1").await;
    let ws = Workspace::new(&[]);
    let run = |args: &[&str]| gwfargate(ws.path(), &emulator.endpoint).args(args).assert();
    run(&["up", "--env", "env1.toml"]).code(3);
    push_image(&sdk, "microservice1", "1.0.0").await;
    run(&["up", "--env", "env1.toml"]).success();

    // A command that succeeds: its line printed, exit 0.
    let ok = run(&["run", "--wait", "--", "./manage.py", "migrate"]).success();
    let (lines, said) = output(&ok);
    assert_eq!(lines.trim(), "./manage.py migrate", "{lines}");
    assert!(said.contains("the command exited with 0"), "{said}");

    // One that fails: gwfargate exits with its code.
    let failed = run(&["run", "--wait", "--", "sh", "-c", "exit 3"]).code(3);
    assert!(output(&failed).1.contains("exited with 3"));

    // Without --wait: the task's ARN, and it runs from the service's revision and network.
    let started = run(&["run", "--", "sleep", "60"]).success();
    let arn = output(&started).0.trim().to_string();
    let ecs = aws_sdk_ecs::Client::new(&sdk);
    let task = ecs
        .describe_tasks()
        .cluster("cluster1-cluster")
        .tasks(&arn)
        .send()
        .await
        .unwrap()
        .tasks()[0]
        .clone();
    let service = common::the_service(&sdk).await;
    assert_eq!(task.task_definition_arn(), service.task_definition());
    assert_eq!(task.started_by(), Some("gwfargate-run"));
    assert_eq!(
        task.overrides().unwrap().container_overrides()[0].command(),
        ["sleep", "60"]
    );

    // No command: refused by the command line.
    run(&["run", "--wait"]).code(2);

    // A one-off task still running (a long migration) does not hold `down` up: ECS deletes
    // no cluster with tasks in it, so `down` stops it first.
    let state_of = |arn: String| {
        let ecs = ecs.clone();
        async move {
            ecs.describe_tasks()
                .cluster("cluster1-cluster")
                .tasks(arn)
                .send()
                .await
                .unwrap()
                .tasks()[0]
                .desired_status()
                .unwrap()
                .to_string()
        }
    };
    // The task above runs its course (20 AWS seconds) first.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while state_of(arn.clone()).await != "STOPPED" {
        assert!(
            std::time::Instant::now() < deadline,
            "the one-off task never ended"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let mut settings =
        common::realistic_settings(0.002, serde_json::json!({"seed": 1, "rules": []}));
    settings["durations"] = serde_json::json!({"task_run": 1_000_000});
    emulator.configure(settings);
    let long = run(&["run", "--", "sleep", "3600"]).success();
    let long = output(&long).0.trim().to_string();
    assert_eq!(state_of(long.clone()).await, "RUNNING");
    let down = run(&["down", "--yes", "--purge"]).success();
    assert!(
        output(&down).1.contains("stopped 1 one-off task(s)"),
        "{:?}",
        output(&down)
    );
    assert_eq!(emulator.count("ecs.StopTask"), 1);
    common::assert_nothing_left(&sdk, "after down").await;
}
