//! The ECS cluster the service runs in.

use aws_sdk_ecs::types::Cluster;

use super::{Ctx, Observed};
use crate::aws::{AwsResultExt as _, has_code};
use crate::progress::StepProgress;
use crate::state::Record;
use crate::wait::{self, Patience};

/// State key.
pub const KEY: &str = "cluster";

/// The active cluster, by name.
pub async fn find(ctx: &Ctx) -> anyhow::Result<Option<Cluster>> {
    let name = &ctx.names.cluster;
    let out = ctx
        .aws
        .ecs
        .describe_clusters()
        .clusters(name)
        .include(aws_sdk_ecs::types::ClusterField::Tags)
        .send()
        .await
        .aws(|| format!("looking up ECS cluster {name}"))?;
    Ok(out
        .clusters()
        .iter()
        .find(|c| c.status() == Some("ACTIVE") || c.status() == Some("PROVISIONING"))
        .cloned())
}

/// Finds or creates the cluster.
pub async fn ensure(ctx: &Ctx, p: &StepProgress) -> anyhow::Result<String> {
    let name = &ctx.names.cluster;
    let (arn, verb) = match find(ctx).await? {
        Some(c) if super::ecs::tagged_ours(ctx, c.tags()) => {
            (c.cluster_arn().unwrap_or_default().to_string(), "found")
        }
        Some(_) => return Err(ctx.not_ours(&format!("ECS cluster {name}"))),
        None => {
            p.set("creating");
            ctx.intend(KEY, super::Step::Cluster, name)?;
            // CreateCluster is idempotent by name: a retry returns the same cluster.
            let out = ctx
                .aws
                .ecs
                .create_cluster()
                .cluster_name(name)
                .set_tags(Some(super::ecs::tags(ctx, name)))
                .send()
                .await
                .aws(|| format!("creating ECS cluster {name}"))?;
            let arn = out
                .cluster()
                .and_then(Cluster::cluster_arn)
                .ok_or_else(|| anyhow::anyhow!("CreateCluster returned no ARN"))?
                .to_string();
            (arn, "created")
        }
    };
    ctx.record(KEY, Record::created(&arn))?;
    Ok(format!("{verb} {name}"))
}

/// Live state.
pub async fn observe(ctx: &Ctx) -> anyhow::Result<Vec<Observed>> {
    let name = &ctx.names.cluster;
    Ok(vec![match find(ctx).await? {
        Some(c) => Observed::present(
            "ecs cluster",
            name,
            c.cluster_arn().unwrap_or_default(),
            c.status().unwrap_or("present"),
        ),
        None => Observed::missing("ecs cluster", name),
    }])
}

/// Deletes the cluster, retrying while a draining service still holds it.
pub async fn delete(ctx: &Ctx, p: &StepProgress) -> anyhow::Result<String> {
    let name = &ctx.names.cluster;
    match find(ctx).await? {
        None => {
            ctx.state.forget(KEY)?;
            return Ok("already gone".to_string());
        }
        Some(c) if !super::ecs::tagged_ours(ctx, c.tags()) => {
            ctx.state.forget(KEY)?;
            return Ok(format!("left {name}: gwfargate did not create it"));
        }
        Some(_) => {}
    }
    wait::retrying(
        &format!("deleting ECS cluster {name}"),
        p,
        Patience::minutes(10),
        |err| {
            has_code(
                err,
                &[
                    "ClusterContainsServicesException",
                    "ClusterContainsTasksException",
                ],
            )
        },
        || async {
            match ctx
                .aws
                .ecs
                .delete_cluster()
                .cluster(name)
                .send()
                .await
                .aws(|| format!("deleting ECS cluster {name}"))
            {
                Err(err) if has_code(&err, &["ClusterNotFoundException"]) => Ok(()),
                other => other.map(|_| ()),
            }
        },
    )
    .await?;
    ctx.state.forget(KEY)?;
    Ok(format!("deleted {name}"))
}
