//! `gwfargate run -- COMMAND...`: a one-off task (a database migration) from the service's
//! own task definition, network and roles, its lines streamed as they come and its container's
//! exit code returned.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_ecs::types::{ContainerOverride, PropagateTags, TaskOverride};

use super::logs::{Line, Printed, Query};
use crate::aws::AwsResultExt as _;
use crate::error::UsageError;
use crate::model::Env;

/// The `startedBy` of one-off tasks (ECS allows letters, digits, `-`, `/` and `_` there).
pub const STARTED_BY: &str = crate::resources::ecs::tasks::ONE_OFF;

/// Starts `command` as a one-off task; returns its ARN.
pub async fn start(env: &Env, command: &[String]) -> anyhow::Result<String> {
    let line = crate::progress::Silent;
    let cx = crate::model::Cx { env, line: &line };
    let service = crate::resources::ecs::service(&cx, &env.names.cluster, &env.names.service)
        .await?
        .ok_or_else(|| {
            UsageError(format!(
                "ecs service {} is not there, so there is no task definition or network to run \
                 a task with; build the stack with `up` first",
                env.names.service
            ))
        })?;
    let mut run = env
        .aws
        .ecs
        .run_task()
        .cluster(&env.names.cluster)
        .set_task_definition(service.task_definition().map(str::to_string))
        .count(1)
        .started_by(STARTED_BY)
        .propagate_tags(PropagateTags::TaskDefinition)
        .set_network_configuration(service.network_configuration().cloned())
        .overrides(
            TaskOverride::builder()
                .container_overrides(
                    ContainerOverride::builder()
                        .name(&env.names.container)
                        .set_command(Some(command.to_vec()))
                        .build(),
                )
                .build(),
        );
    // Placed as the service's tasks are: on its capacity providers, or Fargate.
    if service.capacity_provider_strategy().is_empty() {
        run = run.launch_type(aws_sdk_ecs::types::LaunchType::Fargate);
    } else {
        run =
            run.set_capacity_provider_strategy(Some(service.capacity_provider_strategy().to_vec()));
    }
    let out = run
        .send()
        .await
        .aws(|| "starting the one-off task".to_string())?;
    if let Some(failure) = out.failures().first() {
        anyhow::bail!(
            "ECS did not start the task: {}",
            failure.reason().unwrap_or("no reason given")
        );
    }
    out.tasks()
        .first()
        .and_then(|t| t.task_arn())
        .map(str::to_string)
        .ok_or_else(|| anyhow::anyhow!("RunTask started no task"))
}

/// Waits until task `arn` stopped, printing its lines as they come; returns its container's
/// exit code.
pub async fn wait(env: &Env, arn: &str, print: impl Fn(&Line)) -> anyhow::Result<i32> {
    let id = arn.rsplit('/').next().unwrap_or(arn);
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or_default())
        - 60_000;
    let query = Query::of_task(env, id, since);
    let mut printed = Printed::default();
    // After the task stopped, its last lines may reach CloudWatch Logs a little later.
    let mut reads_after_stop = 0;
    loop {
        let task = env
            .aws
            .ecs
            .describe_tasks()
            .cluster(&env.names.cluster)
            .tasks(arn)
            .send()
            .await
            .aws(|| format!("reading task {id}"))?
            .tasks()
            .first()
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("ECS no longer describes task {id}"))?;
        let stopped = task.last_status() == Some("STOPPED");
        for line in query.read(env, printed.from(query.start())).await? {
            if printed.first(&line) {
                print(&line);
            }
        }
        if stopped {
            reads_after_stop += 1;
        }
        if reads_after_stop == 3 {
            let container = task.containers().first();
            return container.and_then(|c| c.exit_code()).ok_or_else(|| {
                anyhow::anyhow!(
                    "task {id} stopped without an exit code: {}",
                    task.stopped_reason()
                        .or_else(|| container.and_then(|c| c.reason()))
                        .unwrap_or("no reason given")
                )
            });
        }
        tokio::time::sleep(crate::aws::wait::unit()).await;
    }
}
