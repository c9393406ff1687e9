//! `gwfargate rollback`: an earlier revision's image again, as a deploy of it would, and the
//! revisions rolled back from deregistered, so a second rollback goes further back.

use super::revisions;
use super::session::{self, Purpose};
use super::up;
use crate::aws::AwsResultExt as _;
use crate::aws::errors::has_code;
use crate::cli::{Global, RollbackArgs};
use crate::error::UsageError;
use crate::model::Env;
use crate::model::status::Revision;
use crate::resources::ecs::task_definition::TaskDefinition;
use crate::state::last_applied::SetBy;
use aws_sdk_ecs::types::{
    DeploymentRolloutState, ServiceDeploymentStatus, StopServiceDeploymentStopType,
};

/// What a rollback may change: a revision of the earlier image, and the service to run it.
const ROLLED_BACK: up::Only = up::Only {
    command: "rollback",
    what: "the image",
    fields: &[
        ("task definition", "image"),
        ("ecs service", "task_definition"),
    ],
};

/// Rolls back; returns the invoke URL.
pub async fn rollback(args: &RollbackArgs, global: &Global) -> anyhow::Result<String> {
    let reader = session::open_to_read(args.env.as_deref(), global).await?;
    let kept = revisions::revisions(&reader.env).await?;
    let to = revisions::rollback_target(&kept, args.to)
        .map_err(|why| UsageError(format!("{why}; nothing was changed")))?
        .clone();
    let image = to.image.clone().ok_or_else(|| {
        UsageError(format!(
            "revision {} names no image; nothing was changed",
            to.revision
        ))
    })?;
    let mut target = up::built_target(args.env.as_deref(), global, Purpose::Rollback, ROLLED_BACK)?;
    crate::ui::output::eprint(&format!("rollback: to revision {} ({image})", to.revision));
    // What it goes back from is not gone back to again: the revisions newer than the one
    // rolled back to (listed before this run registers its own) that run another image.
    let from: Vec<String> = kept
        .iter()
        .filter(|r| r.revision > to.revision && r.image != to.image)
        .map(|r| r.arn.clone())
        .collect();
    let line = crate::progress::Silent;
    let cx = crate::model::Cx {
        env: &reader.env,
        line: &line,
    };
    let stopped = stop_deployment_in_progress(&reader.env, &to, args.concurrency).await?;
    if stopped {
        // ECS now runs `to` again: with the revisions it went back from gone, `to` is the
        // family's newest, so what follows registers nothing and only waits for the service.
        TaskDefinition::deregister(&cx, &from).await?;
        TaskDefinition::delete_deregistered(&cx, &from).await?;
    }
    target.deployment.service.image.clone_from(&image);
    target.set.image = Some(SetBy::now(image, "rollback"));
    let url = up::apply_only(
        target,
        global,
        Purpose::Rollback,
        ROLLED_BACK,
        args.no_wait,
        args.concurrency,
    )
    .await?;
    // Not waited for: the rollout is under way from the revision it rolled back from, which
    // its own rollback may need; the next rollback or change retires it. After ECS's own
    // rollback it is gone already.
    if args.no_wait || stopped {
        return Ok(url);
    }
    TaskDefinition::deregister(&cx, &from).await?;
    TaskDefinition::delete_deregistered(&cx, &from).await?;
    Ok(url)
}

/// Stops the service's deployment in progress with ECS's own rollback (StopServiceDeployment,
/// ROLLBACK: ECS stops launching the new revision's tasks and goes back to the service
/// revision before it), when that is where `to` is: the revision the deployment replaces.
/// Returns whether it did; `false` leaves the rollback to an UpdateService, which replaces a
/// deployment in progress as well (where ECS cannot stop it: not in progress any more, or a
/// partition without service deployments).
async fn stop_deployment_in_progress(
    env: &std::sync::Arc<Env>,
    to: &Revision,
    concurrency: u16,
) -> anyhow::Result<bool> {
    let (cluster, service) = (&env.names.cluster, &env.names.service);
    let Some(live) = the_service(env).await? else {
        return Ok(false);
    };
    let deployments = live.deployments();
    let rolling = deployments.iter().any(|d| {
        d.status() == Some("PRIMARY")
            && d.rollout_state() == Some(&DeploymentRolloutState::InProgress)
    });
    let replaces_to = deployments
        .iter()
        .any(|d| d.status() == Some("ACTIVE") && d.task_definition() == Some(to.arn.as_str()));
    // ECS's own rollback only where the rollback would change nothing else: what the env
    // file holds besides is refused by the apply that follows, before anything changes.
    if !rolling || !replaces_to || !applies_only_the_image(env, concurrency).await? {
        return Ok(false);
    }
    let listed = env
        .aws
        .ecs
        .list_service_deployments()
        .cluster(cluster)
        .service(service)
        .status(ServiceDeploymentStatus::Pending)
        .status(ServiceDeploymentStatus::InProgress)
        .send()
        .await
        .aws(|| format!("listing the deployments of ecs service {service}"));
    let listed = match listed {
        Err(err) if has_code(&err, UNSTOPPABLE) => return Ok(false),
        other => other?,
    };
    let Some(arn) = listed
        .service_deployments()
        .first()
        .and_then(|d| d.service_deployment_arn())
    else {
        return Ok(false);
    };
    let stopped = env
        .aws
        .ecs
        .stop_service_deployment()
        .service_deployment_arn(arn)
        .stop_type(StopServiceDeploymentStopType::Rollback)
        .send()
        .await
        .aws(|| format!("stopping deployment {arn} of ecs service {service}"));
    match stopped {
        Err(err) if has_code(&err, UNSTOPPABLE) => Ok(false),
        Err(err) => Err(err),
        Ok(_) => {
            crate::ui::output::eprint(&format!(
                "rollback: stopped the deployment in progress ({}); ECS rolls back to revision {}",
                arn.rsplit('/').next().unwrap_or(arn),
                to.revision
            ));
            wait_until_service_runs(env, to).await?;
            Ok(true)
        }
    }
}

/// ECS's answers for a deployment it will not stop: finished meanwhile, gone, service
/// deployments not offered here, or a policy without ecs:ListServiceDeployments or
/// ecs:StopServiceDeployment (written before `rollback` used them): the UpdateService that
/// follows rolls back all the same.
const UNSTOPPABLE: &[&str] = &[
    "ConflictException",
    "ServiceDeploymentNotFoundException",
    "UnsupportedFeatureException",
    "AccessDeniedException",
];

/// Whether the stack differs from the env file in nothing but what a rollback changes, and
/// nothing is refused: then stopping a deployment cannot be followed by a refusal.
async fn applies_only_the_image(
    env: &std::sync::Arc<Env>,
    concurrency: u16,
) -> anyhow::Result<bool> {
    let (stack, world) =
        super::session::survey(env, crate::model::Depth::Full, usize::from(concurrency)).await?;
    let plan = stack.graph.plan(env, &world);
    Ok(ROLLED_BACK.others(&plan).is_empty() && plan.refused().is_empty())
}

/// Waits until the service names `to` as its revision: ECS's rollback moves it there, and
/// until it does an UpdateService would start a deployment on top of ECS's own.
async fn wait_until_service_runs(env: &Env, to: &Revision) -> anyhow::Result<()> {
    let service = &env.names.service;
    let line = crate::progress::Silent;
    crate::aws::wait::until(
        &format!(
            "ecs service {service} to go back to revision {}",
            to.revision
        ),
        &line,
        crate::aws::wait::Patience::minutes(5),
        || async {
            let live = the_service(env).await?;
            let runs = live.as_ref().and_then(|s| s.task_definition());
            Ok(if runs == Some(to.arn.as_str()) {
                crate::aws::wait::Poll::Ready(())
            } else {
                crate::aws::wait::Poll::Pending(format!(
                    "it names {}",
                    runs.unwrap_or("no revision")
                ))
            })
        },
    )
    .await
}

/// The stack's ECS service as ECS describes it now, if there is one.
async fn the_service(env: &Env) -> anyhow::Result<Option<aws_sdk_ecs::types::Service>> {
    let (cluster, service) = (&env.names.cluster, &env.names.service);
    let described = env
        .aws
        .ecs
        .describe_services()
        .cluster(cluster)
        .services(service)
        .send()
        .await
        .aws(|| format!("reading ecs service {service}"))?;
    Ok(described.services().first().cloned())
}
