//! What the EC2 steps share: tag specifications at creation and the tag filters that find a
//! resource again without the state file.

use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};

use super::Ctx;
use crate::names::{TAG_ENV, TAG_NAME};

/// Tags for `resource_type`, applied by the create call itself so nothing is ever untagged.
pub fn tag_spec(ctx: &Ctx, resource_type: ResourceType, name: &str) -> TagSpecification {
    let tags = ctx
        .tags(name)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect();
    TagSpecification::builder()
        .resource_type(resource_type)
        .set_tags(Some(tags))
        .build()
}

/// Filters matching this deployment's resource named `name`.
pub fn ours_named(ctx: &Ctx, name: &str) -> Vec<Filter> {
    vec![
        Filter::builder()
            .name(format!("tag:{TAG_ENV}"))
            .values(&ctx.deployment.name)
            .build(),
        Filter::builder()
            .name(format!("tag:{TAG_NAME}"))
            .values(name)
            .build(),
    ]
}

/// A filter on one field.
pub fn filter(name: &str, value: impl Into<String>) -> Filter {
    Filter::builder().name(name).values(value).build()
}

/// The value of tag `key`, if present.
pub fn tag<'a>(tags: &'a [Tag], key: &str) -> Option<&'a str> {
    tags.iter()
        .find(|t| t.key() == Some(key))
        .and_then(Tag::value)
}
