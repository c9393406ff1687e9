//! What the load balancer, target group and listener steps share: ELBv2 tags at creation,
//! and reading them back to tell what gwfargate made.

use aws_sdk_elasticloadbalancingv2::types::Tag;

use super::Ctx;
use crate::aws::AwsResultExt as _;

/// ELBv2 tags for a resource named `name`.
pub fn tags(ctx: &Ctx, name: &str) -> Vec<Tag> {
    ctx.tags(name)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// Whether the ELBv2 resource `arn` carries this deployment's tag.
pub async fn is_ours(ctx: &Ctx, arn: &str) -> anyhow::Result<bool> {
    let out = ctx
        .aws
        .elb
        .describe_tags()
        .resource_arns(arn)
        .send()
        .await
        .aws(|| format!("reading the tags of {arn}"))?;
    Ok(out
        .tag_descriptions()
        .iter()
        .any(|d| ctx.is_ours(d.tags().iter().filter_map(|t| Some((t.key()?, t.value()?))))))
}
