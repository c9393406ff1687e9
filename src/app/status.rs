//! `gwfargate status`: every resource of the stack, read live from AWS, the service's
//! deployments, tasks and events, the load balancer's targets, and the public URL. What
//! cannot be read is said, and the rest still shown.

use super::session::{self, Session};
use crate::model::status::{ServiceStatus, Status, Unread};
use crate::resources::ecs::task_definition::revision_number;

/// Reads every resource's live state, concurrently, then the service's tasks and the
/// targets' health.
pub async fn status(session: &Session, concurrency: usize) -> anyhow::Result<Status> {
    let env = &session.env;
    let (stack, world, unread) = session::survey_readable(env, concurrency).await;
    let notes = stack.graph.nodes().iter().flat_map(|n| n.notes());
    for note in notes.chain(stack.exposure.clone()) {
        crate::ui::output::eprint(&crate::printable::escaped(&format!("note: {note}")));
    }
    let resources = stack.graph.observe(&unread);
    let mut unread: Vec<Unread> = unread.into_iter().map(|(_, u)| u).collect();
    let inputs = world.inputs();
    let service = inputs.get(&stack.service);
    let target_group = inputs.get(&stack.target_group);
    let (tasks, targets) = tokio::join!(
        async {
            match &service {
                Some(_) => Some(crate::resources::ecs::tasks::of_service(env).await),
                None => None,
            }
        },
        async {
            match &target_group {
                Some(tg) => Some(crate::resources::elb::target_group::health(env, &tg.arn).await),
                None => None,
            }
        }
    );
    let tasks = tasks.and_then(|read| read.map_err(|e| unread.push(unread_of("tasks", &e))).ok());
    let targets =
        targets.and_then(|read| read.map_err(|e| unread.push(unread_of("targets", &e))).ok());
    let wanted = env.state.get("task_definition");
    let service = service.map(|s| {
        let tasks_read = tasks.is_some();
        let (running, stopped) = tasks.map(|t| (t.running, t.stopped)).unwrap_or_default();
        ServiceStatus {
            running: s.running,
            desired: s.desired,
            revision: (!s.task_definition.is_empty()).then(|| revision_number(&s.task_definition)),
            wanted_revision: wanted.as_ref().map(|r| revision_number(&r.id)),
            wanted_image: wanted.as_ref().and_then(|r| {
                r.outputs
                    .as_ref()?
                    .get("image")?
                    .as_str()
                    .map(str::to_string)
            }),
            deployments: s.deployments,
            events: s.events,
            tasks: tasks_read.then_some(running),
            stopped_tasks: tasks_read.then_some(stopped),
        }
    });
    let mut status = Status {
        format_version: 1,
        deployment: env.deployment.name.clone(),
        environment: env.deployment.environment.clone(),
        region: env.deployment.region.clone(),
        state_file: env.state.file().path.display().to_string(),
        state_file_present: session.target.state.is_some(),
        complete: false,
        env_file: env.state.env_file(),
        url: stack.entry.url(&inputs),
        service,
        api_auth: stack.entry.api_auth(&inputs),
        entry: env.deployment.network.entry.word().to_string(),
        targets,
        unread,
        tags: env.deployment.tags.clone(),
        resources,
        problems: Vec::new(),
    };
    status.complete = status.missing().is_empty() && status.unread.is_empty();
    status.problems = problems(&status);
    Ok(status)
}

/// What could not be read, from its error.
fn unread_of(what: &str, err: &anyhow::Error) -> Unread {
    Unread {
        what: what.to_string(),
        code: crate::aws::errors::error_code(err).map(str::to_string),
        error: format!("{err:#}"),
    }
}

/// What is wrong with the stack `status` read: what is missing, what could not be read, and
/// what the service's own numbers and the targets' health give away.
fn problems(status: &Status) -> Vec<String> {
    let mut problems: Vec<String> = status
        .missing()
        .iter()
        .map(|r| format!("{} {} is {}", r.kind, r.name, r.state))
        .collect();
    problems.extend(
        status
            .unread
            .iter()
            .map(|u| format!("could not read {}: {}", u.what, u.error)),
    );
    for target in status.targets.iter().flatten() {
        if target.state == "unhealthy" {
            problems.push(format!(
                "target {} is unhealthy ({})",
                target.address(),
                target.why()
            ));
        }
    }
    let Some(service) = &status.service else {
        return problems;
    };
    if service.running < service.desired {
        problems.push(format!(
            "ecs service: {} of {} tasks running",
            service.running, service.desired
        ));
    }
    for failed in service
        .deployments
        .iter()
        .filter(|d| d.rollout.as_deref() == Some("failed"))
    {
        problems.push(format!(
            "ecs service: the latest deployment failed: {}",
            failed.reason.as_deref().unwrap_or("its rollout failed")
        ));
    }
    if let (Some(runs), Some(wanted)) = (service.revision, service.wanted_revision)
        && runs != wanted
    {
        problems.push(format!(
            "ecs service runs task definition revision {runs}, not {wanted}, the one last \
             registered (a deployment rolled back, or one still rolling out)"
        ));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Observed;
    use crate::model::status::{Deployment, Target};

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
            api_auth: None,
            entry: "api_gateway".to_string(),
            targets: None,
            unread: Vec::new(),
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

    /// A stack whose service runs `revision` (2 is wanted), `running` of `desired` tasks.
    fn serving(running: i32, desired: i32, revision: u32, failed: Option<&str>) -> Status {
        let mut status = status(false);
        status.service = Some(ServiceStatus {
            running,
            desired,
            revision: Some(revision),
            wanted_revision: Some(2),
            deployments: vec![Deployment {
                status: "PRIMARY".into(),
                revision: Some(revision),
                running,
                desired,
                rollout: Some(
                    if failed.is_some() {
                        "failed"
                    } else {
                        "completed"
                    }
                    .into(),
                ),
                reason: failed.map(str::to_string),
                created_at: None,
            }],
            ..ServiceStatus::default()
        });
        status
    }

    fn target(state: &str) -> Target {
        Target {
            id: "10.0.1.5".into(),
            port: Some(8080),
            zone: Some("eu-west-1a".into()),
            state: state.into(),
            reason: (state != "healthy").then(|| "Target.FailedHealthChecks".into()),
            description: (state != "healthy").then(|| "Health checks failed".into()),
        }
    }

    #[test]
    fn check_fails_for_each_way_the_stack_is_not_as_wanted() {
        let mut healthy = serving(2, 2, 2, None);
        healthy.targets = Some(vec![target("healthy"), target("initial")]);
        assert!(problems(&healthy).is_empty(), "{:?}", problems(&healthy));
        assert_eq!(
            problems(&status(true)),
            ["vpc link cluster1-vpclink-microservice1 is missing"]
        );
        assert_eq!(
            problems(&serving(0, 2, 2, None)),
            ["ecs service: 0 of 2 tasks running"]
        );
        assert_eq!(
            problems(&serving(1, 1, 2, Some("tasks failed to start"))),
            ["ecs service: the latest deployment failed: tasks failed to start"]
        );
        let rolled_back = problems(&serving(1, 1, 1, None));
        assert_eq!(rolled_back.len(), 1);
        assert!(
            rolled_back[0].contains("runs task definition revision 1, not 2"),
            "{rolled_back:?}"
        );
        let mut sick = serving(2, 2, 2, None);
        sick.targets = Some(vec![target("healthy"), target("unhealthy")]);
        assert_eq!(
            problems(&sick),
            [
                "target 10.0.1.5:8080 is unhealthy (Target.FailedHealthChecks: Health checks \
                 failed)"
            ]
        );
        let mut unread = serving(2, 2, 2, None);
        unread.unread.push(Unread {
            what: "targets".into(),
            code: Some("AccessDenied".into()),
            error: "reading the target health: AccessDenied".into(),
        });
        assert_eq!(
            problems(&unread),
            ["could not read targets: reading the target health: AccessDenied"]
        );
    }
}
