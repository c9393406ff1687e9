//! Tags in each service's own shape. Every resource is tagged by the create call itself, so
//! nothing gwfargate makes is ever untagged, and tags are how it tells its own resources from
//! anyone else's.

use std::collections::HashMap;

/// The tags of one resource, as (key, value) pairs.
pub type Tags = Vec<(String, String)>;

/// Whether `tags` hold `key` = `value`.
pub fn carries<'a>(
    mut tags: impl Iterator<Item = (&'a str, &'a str)>,
    key: &str,
    value: &str,
) -> bool {
    tags.any(|(k, v)| k == key && v == value)
}

/// EC2 tags for `resource_type`, applied by the create call.
pub fn ec2_spec(
    tags: &Tags,
    resource_type: aws_sdk_ec2::types::ResourceType,
) -> aws_sdk_ec2::types::TagSpecification {
    let tags = tags
        .iter()
        .map(|(k, v)| aws_sdk_ec2::types::Tag::builder().key(k).value(v).build())
        .collect();
    aws_sdk_ec2::types::TagSpecification::builder()
        .resource_type(resource_type)
        .set_tags(Some(tags))
        .build()
}

/// EC2 tags as pairs.
pub fn from_ec2(tags: &[aws_sdk_ec2::types::Tag]) -> impl Iterator<Item = (&str, &str)> {
    tags.iter().filter_map(|t| Some((t.key()?, t.value()?)))
}

/// The value of EC2 tag `key`, if present.
pub fn ec2_value<'a>(tags: &'a [aws_sdk_ec2::types::Tag], key: &str) -> Option<&'a str> {
    from_ec2(tags).find(|(k, _)| *k == key).map(|(_, v)| v)
}

/// An EC2 filter on one field.
pub fn ec2_filter(name: &str, value: impl Into<String>) -> aws_sdk_ec2::types::Filter {
    aws_sdk_ec2::types::Filter::builder()
        .name(name)
        .values(value)
        .build()
}

/// ELBv2 tags.
pub fn elb(tags: &Tags) -> Vec<aws_sdk_elasticloadbalancingv2::types::Tag> {
    tags.iter()
        .map(|(k, v)| {
            aws_sdk_elasticloadbalancingv2::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
        })
        .collect()
}

/// ECS tags.
pub fn ecs(tags: &Tags) -> Vec<aws_sdk_ecs::types::Tag> {
    tags.iter()
        .map(|(k, v)| aws_sdk_ecs::types::Tag::builder().key(k).value(v).build())
        .collect()
}

/// ECS tags as pairs.
pub fn from_ecs(tags: &[aws_sdk_ecs::types::Tag]) -> impl Iterator<Item = (&str, &str)> {
    tags.iter().filter_map(|t| Some((t.key()?, t.value()?)))
}

/// IAM tags.
pub fn iam(tags: &Tags) -> anyhow::Result<Vec<aws_sdk_iam::types::Tag>> {
    tags.iter()
        .map(|(k, v)| {
            aws_sdk_iam::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(anyhow::Error::from)
        })
        .collect()
}

/// ECR tags.
pub fn ecr(tags: &Tags) -> anyhow::Result<Vec<aws_sdk_ecr::types::Tag>> {
    tags.iter()
        .map(|(k, v)| {
            aws_sdk_ecr::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(anyhow::Error::from)
        })
        .collect()
}

/// Tags as a map, for the APIs that take one (CloudWatch Logs, API Gateway).
pub fn map(tags: &Tags) -> HashMap<String, String> {
    tags.iter().cloned().collect()
}

/// A map's tags as pairs.
pub fn from_map(tags: Option<&HashMap<String, String>>) -> impl Iterator<Item = (&str, &str)> {
    tags.into_iter()
        .flat_map(|m| m.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}
