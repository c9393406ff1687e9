//! Elastic Load Balancing: the internal network load balancer, its target group and listener.

pub mod listener;
pub mod load_balancer;
pub mod target_group;

use crate::aws::AwsResultExt as _;
use crate::model::{Cx, Env, Ownership};

/// The tags of an ELBv2 resource.
pub async fn tags_of(cx: &Cx<'_>, arn: &str) -> anyhow::Result<Vec<(String, String)>> {
    let out = cx
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
        .flat_map(|d| d.tags())
        .filter_map(|t| {
            Some((
                t.key()?.to_string(),
                t.value().unwrap_or_default().to_string(),
            ))
        })
        .collect())
}

/// Ownership from tags, when they were read.
pub fn owner(env: &Env, tags: Option<&Vec<(String, String)>>) -> Ownership {
    match tags {
        Some(tags) => env.owner(tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
        None => Ownership::Unknown,
    }
}
