//! ECS: the cluster, the task definition, the service and its autoscaling.

pub mod autoscaling;
pub mod cluster;
pub mod service;
pub mod task_definition;
pub mod tasks;

use aws_sdk_ecs::types::{Service, ServiceField};

use crate::aws::AwsResultExt as _;
use crate::aws::errors::has_code;
use crate::model::{Cx, Env, Ownership};

/// Whether ECS tags carry this deployment's tag.
pub fn owner(env: &Env, tags: &[aws_sdk_ecs::types::Tag]) -> Ownership {
    env.owner(crate::aws::tags::from_ecs(tags))
}

/// The service `name` of `cluster`, active or still draining: read once while the stack is
/// surveyed, as the service row and the task definition row both come from it.
pub async fn service(cx: &Cx<'_>, cluster: &str, name: &str) -> anyhow::Result<Option<Service>> {
    let read = cx
        .memo
        .get(&format!("ecs service {cluster}/{name}"), || async {
            let out = cx
                .aws
                .ecs
                .describe_services()
                .cluster(cluster)
                .services(name)
                .include(ServiceField::Tags)
                .send()
                .await;
            let out = match out.aws(|| format!("looking up ecs service {name}")) {
                Err(err) if has_code(&err, &["ClusterNotFoundException"]) => return Ok(None),
                other => other?,
            };
            Ok(out
                .services()
                .iter()
                .find(|s| matches!(s.status(), Some("ACTIVE" | "DRAINING")))
                .cloned())
        })
        .await?;
    Ok((*read).clone())
}
