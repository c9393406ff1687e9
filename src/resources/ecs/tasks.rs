//! The service's tasks as people look at them: the running ones, and the ones that stopped
//! lately with ECS's reasons (`status`, `logs --previous`, a failed `deploy`).

use aws_sdk_ecs::types::DesiredStatus;

use crate::aws::AwsResultExt as _;
use crate::aws::errors::{has_code, ignore};
use crate::model::Env;
use crate::model::status::Task;

/// The `startedBy` of the one-off tasks `gwfargate run` starts: how `down` finds them.
pub const ONE_OFF: &str = "gwfargate-run";

/// The one-off tasks (`gwfargate run`) of `cluster` meant to be in `status`, every page.
pub async fn one_off_arns(
    env: &Env,
    cluster: &str,
    status: DesiredStatus,
) -> anyhow::Result<Vec<String>> {
    let mut arns = Vec::new();
    let mut pages = env
        .aws
        .ecs
        .list_tasks()
        .cluster(cluster)
        .started_by(ONE_OFF)
        .desired_status(status)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        match page.aws(|| format!("listing the one-off tasks of ecs cluster {cluster}")) {
            Ok(page) => arns.extend(page.task_arns().iter().cloned()),
            Err(err) if has_code(&err, &["ClusterNotFoundException"]) => break,
            Err(err) => return Err(err),
        }
    }
    Ok(arns)
}

/// Stops the one-off tasks still running in `cluster` (a migration `gwfargate run` left
/// running): ECS does not delete a cluster with tasks in it, nor EC2 a subnet their
/// interfaces are in. Returns how many it stopped.
pub async fn stop_one_off(env: &Env, cluster: &str) -> anyhow::Result<usize> {
    let running = one_off_arns(env, cluster, DesiredStatus::Running).await?;
    for arn in &running {
        ignore(
            env.aws
                .ecs
                .stop_task()
                .cluster(cluster)
                .task(arn)
                .reason("gwfargate down: the stack is being removed")
                .send()
                .await
                .aws(|| format!("stopping one-off task {arn}")),
            &["InvalidParameterException", "ClusterNotFoundException"],
        )?;
    }
    Ok(running.len())
}

/// How many stopped tasks are described: the newest are the ones that explain a failure.
const STOPPED_SHOWN: usize = 10;

/// The service's tasks: running (or starting) ones, and stopped ones, newest first.
#[derive(Debug, Default)]
pub struct Tasks {
    /// Tasks ECS means to keep running (provisioning, pending or running).
    pub running: Vec<Task>,
    /// Tasks that stopped or are stopping, newest first.
    pub stopped: Vec<Task>,
}

/// Reads the tasks of `env`'s service: one ListTasks for each desired status (a page of 100:
/// more than a status table shows) and one DescribeTasks for them all.
pub async fn of_service(env: &Env) -> anyhow::Result<Tasks> {
    let (cluster, service) = (&env.names.cluster, &env.names.service);
    let list = |status: DesiredStatus| async move {
        let out = env
            .aws
            .ecs
            .list_tasks()
            .cluster(cluster)
            .service_name(service)
            .desired_status(status)
            .send()
            .await
            .aws(|| format!("listing the tasks of ecs service {service}"))?;
        anyhow::Ok(out.task_arns().to_vec())
    };
    let (running, stopped) =
        tokio::try_join!(list(DesiredStatus::Running), list(DesiredStatus::Stopped))?;
    let mut arns: Vec<String> = running.into_iter().chain(stopped).collect();
    // DescribeTasks takes at most 100; the running ones come first.
    arns.truncate(100);
    if arns.is_empty() {
        return Ok(Tasks::default());
    }
    let out = env
        .aws
        .ecs
        .describe_tasks()
        .cluster(cluster)
        .set_tasks(Some(arns))
        .send()
        .await
        .aws(|| format!("describing the tasks of ecs service {service}"))?;
    let mut running = Vec::new();
    let mut stopped = Vec::new();
    for task in out.tasks() {
        if task.desired_status() == Some("STOPPED") {
            stopped.push((task.stopped_at().map(|t| t.secs()), seen(task)));
        } else {
            running.push((task.started_at().map(|t| t.secs()), seen(task)));
        }
    }
    Ok(Tasks {
        running: newest_first(running, usize::MAX),
        stopped: newest_first(stopped, STOPPED_SHOWN),
    })
}

/// The tasks, newest first (those without a time yet, starting, first of all), at most `n`.
fn newest_first(mut tasks: Vec<(Option<i64>, Task)>, n: usize) -> Vec<Task> {
    tasks.sort_by_key(|(at, task)| (std::cmp::Reverse(at.unwrap_or(i64::MAX)), task.id.clone()));
    tasks.into_iter().take(n).map(|(_, task)| task).collect()
}

/// What `status` shows of a task.
pub fn seen(task: &aws_sdk_ecs::types::Task) -> Task {
    let arn = task.task_arn().unwrap_or_default();
    let time = crate::aws::rfc3339;
    let container = task.containers().first();
    let image = container.and_then(|c| {
        let image = c.image()?;
        Some(match c.image_digest() {
            // A digest-pinned image names its digest already.
            Some(digest) if !image.contains('@') => {
                format!("{}@{digest}", image_without_tag(image))
            }
            _ => image.to_string(),
        })
    });
    Task {
        id: arn.rsplit('/').next().unwrap_or(arn).to_string(),
        revision: task
            .task_definition_arn()
            .map(super::task_definition::revision_number),
        status: task.last_status().unwrap_or("UNKNOWN").to_string(),
        health: task.health_status().map(|h| h.as_str().to_string()),
        zone: task.availability_zone().map(str::to_string),
        started_at: time(task.started_at()),
        stopped_at: time(task.stopped_at()),
        stopped_reason: task.stopped_reason().map(str::to_string),
        stop_code: task.stop_code().map(|c| c.as_str().to_string()),
        exit_code: container.and_then(|c| c.exit_code()),
        image,
    }
}

/// `repo:tag` without `:tag` (a registry's port is not a tag).
fn image_without_tag(image: &str) -> &str {
    match image.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => repo,
        _ => image,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_loses_its_tag_but_not_its_registrys_port() {
        assert_eq!(image_without_tag("repo:v1"), "repo");
        assert_eq!(image_without_tag("host:5000/repo"), "host:5000/repo");
        assert_eq!(image_without_tag("host:5000/repo:v1"), "host:5000/repo");
    }

    #[test]
    fn the_newest_task_comes_first_and_a_starting_one_before_all() {
        let task = |id: &str| Task {
            id: id.into(),
            revision: None,
            status: "RUNNING".into(),
            health: None,
            zone: None,
            started_at: None,
            stopped_at: None,
            stopped_reason: None,
            stop_code: None,
            exit_code: None,
            image: None,
        };
        let ids = |tasks: Vec<Task>| tasks.into_iter().map(|t| t.id).collect::<Vec<_>>();
        let read = vec![
            (Some(1), task("old")),
            (None, task("starting")),
            (Some(5), task("new")),
        ];
        assert_eq!(
            ids(newest_first(read.clone(), 9)),
            ["starting", "new", "old"]
        );
        assert_eq!(ids(newest_first(read, 2)), ["starting", "new"]);
    }
}
