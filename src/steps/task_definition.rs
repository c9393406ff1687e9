//! The task definition: FARGATE, awsvpc, one container logging to the stack's log group.
//!
//! RegisterTaskDefinition always makes a new revision, so `up` registers only when the latest
//! active revision differs from what the env file asks for; a second `up` registers nothing.

use aws_sdk_ecs::types::{
    Compatibility, ContainerDefinition, LogConfiguration, LogDriver, NetworkMode, PortMapping,
    TaskDefinition, TransportProtocol,
};

use super::{Ctx, Observed};
use crate::aws::{AwsResultExt as _, has_code};
use crate::create::create_once;
use crate::progress::StepProgress;
use crate::state::Record;

/// State key.
pub const KEY: &str = "task_definition";

/// The latest active revision of the family, with whether it carries this deployment's tag.
async fn find_tagged(ctx: &Ctx) -> anyhow::Result<Option<(TaskDefinition, bool)>> {
    let family = &ctx.names.task_family;
    let out = ctx
        .aws
        .ecs
        .describe_task_definition()
        .task_definition(family)
        .include(aws_sdk_ecs::types::TaskDefinitionField::Tags)
        .send()
        .await
        .aws(|| format!("looking up task definition {family}"));
    match out {
        Ok(out) => {
            let ours = super::ecs::tagged_ours(ctx, out.tags());
            Ok(out
                .task_definition()
                .filter(|td| td.status().is_none_or(|s| s.as_str() == "ACTIVE"))
                .map(|td| (td.clone(), ours)))
        }
        // ECS answers ClientException for an unknown family.
        Err(err) if has_code(&err, &["ClientException"]) => Ok(None),
        Err(err) => Err(err),
    }
}

/// The latest active revision of the family.
pub async fn find(ctx: &Ctx) -> anyhow::Result<Option<TaskDefinition>> {
    Ok(find_tagged(ctx).await?.map(|(td, _)| td))
}

fn matches(ctx: &Ctx, td: &TaskDefinition, role_arn: &str) -> bool {
    let svc = &ctx.deployment.service;
    let Some(container) = td.container_definitions().first() else {
        return false;
    };
    let log_ok = container.log_configuration().is_some_and(|log| {
        log.options()
            .and_then(|o| o.get("awslogs-group"))
            .is_some_and(|g| *g == ctx.names.log_group)
    });
    td.cpu() == Some(svc.cpu.to_string().as_str())
        && td.memory() == Some(svc.memory.to_string().as_str())
        && td.execution_role_arn() == Some(role_arn)
        && td.network_mode() == Some(&NetworkMode::Awsvpc)
        && container.name() == Some(ctx.names.container.as_str())
        && container.image() == Some(svc.image.as_str())
        && container
            .port_mappings()
            .iter()
            .any(|pm| pm.container_port() == Some(i32::from(svc.port)))
        && log_ok
}

/// Registers a revision if the latest one differs from the env file.
pub async fn ensure(ctx: &Ctx, p: &StepProgress) -> anyhow::Result<String> {
    let role_arn = super::execution_role::arn(ctx).await?;
    let family = &ctx.names.task_family;
    let latest = find_tagged(ctx).await?;
    if let Some((_, false)) = &latest {
        return Err(ctx.not_ours(&format!("task definition family {family}")));
    }
    if let Some((td, _)) = latest
        && matches(ctx, &td, &role_arn)
    {
        let arn = td.task_definition_arn().unwrap_or_default();
        ctx.record(KEY, Record::created(arn))?;
        return Ok(format!("found {family}:{}", td.revision()));
    }
    p.set("registering a revision");
    ctx.intend(KEY, super::Step::TaskDefinition, family)?;
    let svc = &ctx.deployment.service;
    let log = LogConfiguration::builder()
        .log_driver(LogDriver::Awslogs)
        .options("awslogs-group", &ctx.names.log_group)
        .options("awslogs-region", &ctx.deployment.region)
        .options("awslogs-stream-prefix", "ecs")
        .build()?;
    let container = ContainerDefinition::builder()
        .name(&ctx.names.container)
        .image(&svc.image)
        .essential(true)
        .port_mappings(
            PortMapping::builder()
                .container_port(i32::from(svc.port))
                .protocol(TransportProtocol::Tcp)
                .build(),
        )
        .log_configuration(log)
        .build();
    // Every call registers a new revision: a lost answer is resolved by looking for a
    // revision that already matches, not by registering again.
    let td = create_once(
        &format!("task definition {family}"),
        p,
        || async {
            Ok(find_tagged(ctx)
                .await?
                .map(|(td, _)| td)
                .filter(|td| matches(ctx, td, &role_arn)))
        },
        || async {
            let out = ctx
                .single
                .ecs
                .register_task_definition()
                .family(family)
                .requires_compatibilities(Compatibility::Fargate)
                .network_mode(NetworkMode::Awsvpc)
                .cpu(svc.cpu.to_string())
                .memory(svc.memory.to_string())
                .execution_role_arn(&role_arn)
                .container_definitions(container.clone())
                .set_tags(Some(super::ecs::tags(ctx, family)))
                .send()
                .await
                .aws(|| format!("registering task definition {family}"))?;
            out.task_definition()
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("RegisterTaskDefinition returned nothing"))
        },
    )
    .await?;
    ctx.record(
        KEY,
        Record::created(td.task_definition_arn().unwrap_or_default()),
    )?;
    Ok(format!("registered {family}:{}", td.revision()))
}

/// The ARN of the latest active revision.
pub async fn arn(ctx: &Ctx) -> anyhow::Result<String> {
    find(ctx)
        .await?
        .and_then(|td| td.task_definition_arn().map(str::to_string))
        .ok_or_else(|| anyhow::anyhow!("task definition {} does not exist", ctx.names.task_family))
}

/// Live state.
pub async fn observe(ctx: &Ctx) -> anyhow::Result<Vec<Observed>> {
    let family = &ctx.names.task_family;
    Ok(vec![match find(ctx).await? {
        Some(td) => Observed::present(
            "task definition",
            family,
            td.task_definition_arn().unwrap_or_default(),
            td.status().map_or("present", |s| s.as_str()),
        )
        .detail(format!("revision {}", td.revision())),
        None => Observed::missing("task definition", family),
    }])
}

/// The ARNs of every active revision of the family.
async fn active_revisions(ctx: &Ctx) -> anyhow::Result<Vec<String>> {
    let family = &ctx.names.task_family;
    let mut arns = Vec::new();
    let mut pages = ctx
        .aws
        .ecs
        .list_task_definitions()
        .family_prefix(family)
        .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.aws(|| format!("listing task definitions of {family}"))?;
        arns.extend(
            page.task_definition_arns()
                .iter()
                .filter(|arn| {
                    arn.rsplit_once('/')
                        .and_then(|(_, fam_rev)| fam_rev.rsplit_once(':'))
                        .is_some_and(|(fam, _)| fam == family)
                })
                .cloned(),
        );
    }
    Ok(arns)
}

async fn deregister(ctx: &Ctx, p: &StepProgress, arns: &[String]) -> anyhow::Result<()> {
    for arn in arns {
        p.set(format!("deregistering {arn}"));
        ctx.aws
            .ecs
            .deregister_task_definition()
            .task_definition(arn)
            .send()
            .await
            .aws(|| format!("deregistering {arn}"))?;
    }
    Ok(())
}

/// Deregisters the revisions the service no longer runs (older ones, and any a failed
/// deployment left), so they do not pile up with every change. Returns how many went.
pub async fn deregister_all_but(
    ctx: &Ctx,
    p: &StepProgress,
    in_use: &str,
) -> anyhow::Result<usize> {
    if let Some((_, false)) = find_tagged(ctx).await? {
        return Ok(0);
    }
    let unused: Vec<String> = active_revisions(ctx)
        .await?
        .into_iter()
        .filter(|arn| arn != in_use)
        .collect();
    deregister(ctx, p, &unused).await?;
    Ok(unused.len())
}

/// Deregisters every active revision of the family.
pub async fn delete(ctx: &Ctx, p: &StepProgress) -> anyhow::Result<String> {
    let family = &ctx.names.task_family;
    if let Some((_, false)) = find_tagged(ctx).await? {
        ctx.state.forget(KEY)?;
        return Ok(format!("left {family}: gwfargate did not create it"));
    }
    let arns = active_revisions(ctx).await?;
    deregister(ctx, p, &arns).await?;
    ctx.state.forget(KEY)?;
    Ok(if arns.is_empty() {
        "already gone".to_string()
    } else {
        format!("deregistered {} revision(s)", arns.len())
    })
}
