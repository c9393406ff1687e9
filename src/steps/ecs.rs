//! What the cluster, task definition and service steps share: ECS tags at creation, and
//! reading them back to tell what gwfargate made.

use aws_sdk_ecs::types::Tag;

use super::Ctx;

/// Whether ECS tags carry this deployment's tag.
pub fn tagged_ours(ctx: &Ctx, tags: &[Tag]) -> bool {
    ctx.is_ours(tags.iter().filter_map(|t| Some((t.key()?, t.value()?))))
}

/// ECS tags for a resource named `name`.
pub fn tags(ctx: &Ctx, name: &str) -> Vec<Tag> {
    ctx.tags(name)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}
