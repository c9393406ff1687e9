//! Elastic Load Balancing: the internal load balancer, its target group and listener.

pub mod listener;
pub mod load_balancer;
pub mod target_group;

use crate::aws::AwsResultExt as _;
use crate::config::LoadBalancerKind;
use crate::model::{Cx, Env, Key, Ownership};

/// The state file's keys of a load balancer of `kind`, its target group and its listener.
/// An NLB's keep the names they always had; an ALB's differ, so a stack moving from one kind
/// to the other records both while it moves.
pub fn keys(kind: LoadBalancerKind) -> [Key; 3] {
    let suffix = match kind {
        LoadBalancerKind::Nlb => "",
        LoadBalancerKind::Alb => "/alb",
    };
    ["load_balancer", "target_group", "listener"].map(|key| format!("{key}{suffix}"))
}

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
