//! Tags in each service's own shape. Every resource is tagged by the create call itself, so
//! nothing gwfargate makes is ever untagged, and tags are how it tells its own resources from
//! anyone else's.

use std::collections::HashMap;

use crate::aws::Clients;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::aws::errors::AwsResultExt;

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

/// EC2 tags.
pub fn ec2(tags: &Tags) -> Vec<aws_sdk_ec2::types::Tag> {
    tags.iter()
        .map(|(k, v)| aws_sdk_ec2::types::Tag::builder().key(k).value(v).build())
        .collect()
}

/// EC2 tags for `resource_type`, applied by the create call.
pub fn ec2_spec(
    tags: &Tags,
    resource_type: aws_sdk_ec2::types::ResourceType,
) -> aws_sdk_ec2::types::TagSpecification {
    aws_sdk_ec2::types::TagSpecification::builder()
        .resource_type(resource_type)
        .set_tags(Some(ec2(tags)))
        .build()
}

/// EC2 tags as pairs.
pub fn from_ec2(tags: &[aws_sdk_ec2::types::Tag]) -> impl Iterator<Item = (&str, &str)> {
    tags.iter()
        .filter_map(|t| Some((t.key()?, t.value().unwrap_or_default())))
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
    tags.iter()
        .filter_map(|t| Some((t.key()?, t.value().unwrap_or_default())))
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

/// Sends `untag` when there are keys to remove, then `tag` when there are tags to set: every
/// service tags in two calls of its own. (A future does nothing until awaited, so the one not
/// needed is never sent.) Removing first keeps a key whose case changed (`Team` to `team`):
/// IAM reads both as one key, so removing the old one last would remove the new one.
async fn tag_and_untag<TagOut, TagErr, UntagOut, UntagErr>(
    what: &str,
    set: &Tags,
    remove: &[String],
    tag: impl Future<Output = Result<TagOut, SdkError<TagErr, HttpResponse>>>,
    untag: impl Future<Output = Result<UntagOut, SdkError<UntagErr, HttpResponse>>>,
) -> anyhow::Result<()>
where
    TagErr: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    UntagErr: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    if !remove.is_empty() {
        untag.await.aws(|| format!("removing tags from {what}"))?;
    }
    if !set.is_empty() {
        tag.await.aws(|| format!("tagging {what}"))?;
    }
    Ok(())
}

/// Sets `set` and removes the keys `remove` on an EC2 resource (VPC, subnet, route table,
/// security group, endpoint, flow log).
pub async fn retag_ec2(
    aws: &Clients,
    id: &str,
    set: &Tags,
    remove: &[String],
) -> anyhow::Result<()> {
    let keys = remove
        .iter()
        .map(|k| aws_sdk_ec2::types::Tag::builder().key(k).build())
        .collect();
    tag_and_untag(
        id,
        set,
        remove,
        aws.ec2
            .create_tags()
            .resources(id)
            .set_tags(Some(ec2(set)))
            .send(),
        aws.ec2
            .delete_tags()
            .resources(id)
            .set_tags(Some(keys))
            .send(),
    )
    .await
}

/// Sets and removes tags on a load balancer, target group or listener.
pub async fn retag_elb(
    aws: &Clients,
    arn: &str,
    set: &Tags,
    remove: &[String],
) -> anyhow::Result<()> {
    tag_and_untag(
        arn,
        set,
        remove,
        aws.elb
            .add_tags()
            .resource_arns(arn)
            .set_tags(Some(elb(set)))
            .send(),
        aws.elb
            .remove_tags()
            .resource_arns(arn)
            .set_tag_keys(Some(remove.to_vec()))
            .send(),
    )
    .await
}

/// Sets and removes tags on an ECS cluster, service, task definition or task.
pub async fn retag_ecs(
    aws: &Clients,
    arn: &str,
    set: &Tags,
    remove: &[String],
) -> anyhow::Result<()> {
    tag_and_untag(
        arn,
        set,
        remove,
        aws.ecs
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(ecs(set)))
            .send(),
        aws.ecs
            .untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(remove.to_vec()))
            .send(),
    )
    .await
}

/// Sets and removes tags on an API Gateway resource, named by its ARN
/// (`arn:aws:apigateway:<region>::/restapis/<id>`).
pub async fn retag_apigateway(
    aws: &Clients,
    arn: &str,
    set: &Tags,
    remove: &[String],
) -> anyhow::Result<()> {
    tag_and_untag(
        arn,
        set,
        remove,
        aws.apigw
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(map(set)))
            .send(),
        aws.apigw
            .untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(remove.to_vec()))
            .send(),
    )
    .await
}

/// Sets and removes tags on a log group, named by its ARN without the trailing `:*`.
pub async fn retag_log_group(
    aws: &Clients,
    arn: &str,
    set: &Tags,
    remove: &[String],
) -> anyhow::Result<()> {
    tag_and_untag(
        arn,
        set,
        remove,
        aws.logs
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(map(set)))
            .send(),
        aws.logs
            .untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(remove.to_vec()))
            .send(),
    )
    .await
}

/// Sets and removes tags on an ECR repository.
pub async fn retag_ecr(
    aws: &Clients,
    arn: &str,
    set: &Tags,
    remove: &[String],
) -> anyhow::Result<()> {
    tag_and_untag(
        arn,
        set,
        remove,
        aws.ecr
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(ecr(set)?))
            .send(),
        aws.ecr
            .untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(remove.to_vec()))
            .send(),
    )
    .await
}

/// Sets and removes tags on an Application Auto Scaling scalable target.
pub async fn retag_autoscaling(
    aws: &Clients,
    arn: &str,
    set: &Tags,
    remove: &[String],
) -> anyhow::Result<()> {
    tag_and_untag(
        arn,
        set,
        remove,
        aws.autoscaling
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(map(set)))
            .send(),
        aws.autoscaling
            .untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(remove.to_vec()))
            .send(),
    )
    .await
}

/// Sets and removes tags on an IAM role.
pub async fn retag_role(
    aws: &Clients,
    name: &str,
    set: &Tags,
    remove: &[String],
) -> anyhow::Result<()> {
    tag_and_untag(
        &format!("IAM role {name}"),
        set,
        remove,
        aws.iam
            .tag_role()
            .role_name(name)
            .set_tags(Some(iam(set)?))
            .send(),
        aws.iam
            .untag_role()
            .role_name(name)
            .set_tag_keys(Some(remove.to_vec()))
            .send(),
    )
    .await
}

/// Tags as owned pairs, from any service's shape.
pub fn owned<'a>(tags: impl Iterator<Item = (&'a str, &'a str)>) -> Tags {
    tags.map(|(k, v)| (k.to_string(), v.to_string())).collect()
}
