//! ECS: the cluster, the task definition and the service.

pub mod cluster;
pub mod service;
pub mod task_definition;

use crate::model::{Env, Ownership};

/// Whether ECS tags carry this deployment's tag.
pub fn owner(env: &Env, tags: &[aws_sdk_ecs::types::Tag]) -> Ownership {
    env.owner(crate::aws::tags::from_ecs(tags))
}
