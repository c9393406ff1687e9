//! `gwfargate scale`: another task count, or other autoscaling bounds, and nothing else; kept
//! by later `up`s until the env file's own count or bounds change.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
use common::{Emulator, Workspace, gwfargate, output, push_image};

const REGION: &str = "eu-west-1";

fn state(ws: &Workspace) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(ws.state_file()).unwrap()).unwrap()
}

async fn bounds(sdk: &aws_config::SdkConfig) -> (i32, i32) {
    let out = aws_sdk_applicationautoscaling::Client::new(sdk)
        .describe_scalable_targets()
        .service_namespace(ServiceNamespace::Ecs)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .send()
        .await
        .unwrap();
    let target = &out.scalable_targets()[0];
    (target.min_capacity(), target.max_capacity())
}

#[tokio::test(flavor = "multi_thread")]
async fn scale_sets_the_count_or_bounds_that_up_keeps_until_the_env_file_changes_them() {
    let emulator = Emulator::realistic();
    let sdk = emulator.sdk(REGION).await;
    let ws = Workspace::new(&[]);
    let env_file = ws.path().join("env1.toml");
    let run = |args: &[&str]| gwfargate(ws.path(), &emulator.endpoint).args(args).assert();
    run(&["scale", "--env", "env1.toml", "--count", "2"]).code(2);
    run(&["up", "--env", "env1.toml"]).code(3);
    push_image(&sdk, "microservice1", "1.0.0").await;
    run(&["up", "--env", "env1.toml"]).success();

    // A count: the service's desired count, waited for, recorded.
    let scaled = run(&["scale", "--env", "env1.toml", "--count", "3"]).success();
    assert!(
        output(&scaled).1.contains("scale: done in"),
        "{:?}",
        output(&scaled)
    );
    let service = common::the_service(&sdk).await;
    assert_eq!((service.desired_count(), service.running_count()), (3, 3));
    assert_eq!(state(&ws)["scaled"]["value"]["count"], 3);

    // `up` keeps it while the env file's count is what the last `up` read, and says why.
    let planned = run(&["plan", "--env", "env1.toml"]).success();
    let (planned, why) = output(&planned);
    assert!(planned.contains("No changes"), "{planned}");
    assert!(
        why.contains("scale: keeping count 3 (set by `scale`"),
        "{why}"
    );
    run(&["up", "--env", "env1.toml"]).success();
    assert_eq!(common::the_service(&sdk).await.desired_count(), 3);

    // Refused before any change: bounds without autoscaling, more tasks than the subnets hold.
    let refused = run(&["scale", "--env", "env1.toml", "--max", "4"]).code(2);
    assert!(output(&refused).1.contains("no [service.autoscaling]"));
    let refused = run(&["scale", "--env", "env1.toml", "--count", "900"]).code(2);
    assert!(
        output(&refused).1.contains("does not fit"),
        "{:?}",
        output(&refused)
    );
    assert_eq!(common::the_service(&sdk).await.desired_count(), 3);

    // The env file's count changes: it wins, and the scaled one is forgotten.
    let text = std::fs::read_to_string(&env_file).unwrap();
    let two = text.replace("count             = 1", "count             = 2");
    assert_ne!(two, text);
    std::fs::write(&env_file, &two).unwrap();
    let planned = run(&["plan", "--env", "env1.toml"]).success();
    assert!(
        output(&planned)
            .1
            .contains("scale: the env file's count 2 replaces count 3"),
        "{:?}",
        output(&planned)
    );
    run(&["up", "--env", "env1.toml"]).success();
    assert_eq!(common::the_service(&sdk).await.desired_count(), 2);
    assert!(state(&ws).get("scaled").is_none());

    // With autoscaling, bounds; the count is the autoscaler's.
    let autoscaled = two.replace(
        "[api]",
        "[service.autoscaling]\nmin = 1\nmax = 4\ncpu = 60\n\n[api]",
    );
    std::fs::write(&env_file, &autoscaled).unwrap();
    run(&["up", "--env", "env1.toml"]).success();
    let refused = run(&["scale", "--env", "env1.toml", "--count", "3"]).code(2);
    assert!(output(&refused).1.contains("autoscaler owns"));
    run(&["scale", "--env", "env1.toml", "--min", "2", "--max", "6"]).success();
    assert_eq!(bounds(&sdk).await, (2, 6));
    run(&["up", "--env", "env1.toml"]).success();
    assert_eq!(bounds(&sdk).await, (2, 6), "up keeps the scaled bounds");

    run(&["down", "--yes", "--purge"]).success();
    common::assert_nothing_left(&sdk, "after down").await;
}
