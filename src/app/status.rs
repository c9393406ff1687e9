//! `gwfargate status`: every resource of the stack, read live from AWS, and the public URL.

use super::session::{self, Session};
use crate::model::Depth;
use crate::model::status::{ServiceCounts, Status};

/// Reads every resource's live state, concurrently.
pub async fn status(session: &Session, concurrency: usize) -> anyhow::Result<Status> {
    let env = &session.env;
    let (stack, world) = session::survey(env, Depth::Observe, concurrency).await?;
    let notes = stack.graph.nodes().iter().flat_map(|n| n.notes());
    for note in notes.chain(stack.exposure.clone()) {
        crate::ui::output::eprint(&crate::printable::escaped(&format!("note: {note}")));
    }
    let resources = stack.graph.observe();
    let inputs = world.inputs();
    let mut status = Status {
        format_version: 1,
        deployment: env.deployment.name.clone(),
        environment: env.deployment.environment.clone(),
        region: env.deployment.region.clone(),
        state_file: env.state.file().path.display().to_string(),
        state_file_present: session.target.state.is_some(),
        complete: false,
        env_file: env.state.env_file(),
        url: inputs.get(&stack.stage).map(|s| s.url),
        service: inputs.get(&stack.service).map(|s| ServiceCounts {
            running: s.running,
            desired: s.desired,
        }),
        tags: env.deployment.tags.clone(),
        resources,
        problems: Vec::new(),
    };
    status.complete = status.missing().is_empty();
    let wanted = env.state.get("task_definition").map(|r| r.id);
    status.problems = problems(
        &status,
        inputs.get(&stack.service).as_ref(),
        wanted.as_deref(),
    );
    Ok(status)
}

/// What is wrong with the stack `status` read: what is missing, and what the service's own
/// numbers give away. `wanted` is the revision `up` or `deploy` last registered.
fn problems(
    status: &Status,
    service: Option<&crate::resources::ecs::service::Outputs>,
    wanted: Option<&str>,
) -> Vec<String> {
    let mut problems: Vec<String> = status
        .missing()
        .iter()
        .map(|r| format!("{} {} is {}", r.kind, r.name, r.state))
        .collect();
    let Some(service) = service else {
        return problems;
    };
    if service.running < service.desired {
        problems.push(format!(
            "ecs service: {} of {} tasks running",
            service.running, service.desired
        ));
    }
    if let Some(why) = &service.failed_rollout {
        problems.push(format!("ecs service: the latest deployment failed: {why}"));
    }
    let revision = crate::resources::ecs::task_definition::revision_number;
    if let Some(wanted) =
        wanted.filter(|w| !service.task_definition.is_empty() && *w != service.task_definition)
    {
        problems.push(format!(
            "ecs service runs task definition revision {}, not {}, the one last registered \
             (a deployment rolled back, or one still rolling out)",
            revision(&service.task_definition),
            revision(wanted)
        ));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Observed;
    use crate::resources::ecs::service::Outputs;

    fn status(missing: bool) -> Status {
        Status {
            format_version: 1,
            deployment: "cluster1".into(),
            environment: "dev".into(),
            region: "eu-west-1".into(),
            state_file: ".gwfargate/env1.json".into(),
            state_file_present: true,
            complete: !missing,
            env_file: None,
            url: None,
            service: None,
            tags: Default::default(),
            resources: vec![Observed {
                kind: "vpc link",
                name: "cluster1-vpclink-microservice1".into(),
                id: None,
                state: if missing { "missing" } else { "AVAILABLE" }.into(),
                detail: None,
            }],
            problems: Vec::new(),
        }
    }

    const REVISION: &str = "arn:aws:ecs:eu-west-1:123456789012:task-definition/t:";

    fn service(running: i32, desired: i32, revision: u32, failed: Option<&str>) -> Outputs {
        Outputs {
            arn: "arn:aws:ecs:eu-west-1:123456789012:service/c/s".into(),
            running,
            desired,
            task_definition: format!("{REVISION}{revision}"),
            failed_rollout: failed.map(str::to_string),
        }
    }

    #[test]
    fn check_fails_for_each_way_the_stack_is_not_as_wanted() {
        let wanted = format!("{REVISION}2");
        let healthy = service(2, 2, 2, None);
        assert!(problems(&status(false), Some(&healthy), Some(&wanted)).is_empty());
        let found = problems(&status(true), Some(&healthy), Some(&wanted));
        assert_eq!(
            found,
            ["vpc link cluster1-vpclink-microservice1 is missing"]
        );
        let found = problems(&status(false), Some(&service(0, 2, 2, None)), Some(&wanted));
        assert_eq!(found, ["ecs service: 0 of 2 tasks running"]);
        let failed = service(1, 1, 2, Some("tasks failed to start"));
        let found = problems(&status(false), Some(&failed), Some(&wanted));
        assert_eq!(
            found,
            ["ecs service: the latest deployment failed: tasks failed to start"]
        );
        let rolled_back = problems(&status(false), Some(&service(1, 1, 1, None)), Some(&wanted));
        assert_eq!(rolled_back.len(), 1);
        assert!(
            rolled_back[0].contains("runs task definition revision 1, not 2"),
            "{rolled_back:?}"
        );
    }
}
