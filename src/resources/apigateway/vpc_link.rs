//! The API Gateway (REST, v1) VPC link to the NLB: how the public API reaches the private load
//! balancer. AWS fails a link made before the NLB is active ("NLB is not in active state"), so
//! the link waits for the load balancer to be ready. A link found FAILED, or left deleting by
//! an interrupted `down`, is replaced: the new one first, the old one deleted once the
//! integrations and the stage moved to it.

use aws_sdk_apigateway::types::{VpcLink as Link, VpcLinkStatus};
use serde::{Deserialize, Serialize};

use crate::aws::tags;
use crate::aws::wait::{Patience, Poll};
use crate::aws::{AwsResultExt as _, found};
use crate::model::{
    Cx, Dep, Depth, Diff, Env, Inputs, Key, Ownership, Ref, Replace, Resource, Seen,
};
use crate::resources::elb::load_balancer;
use crate::state::Intent;

/// The VPC link.
pub struct VpcLink {
    name: String,
    description: String,
    load_balancer: Ref<load_balancer::Outputs>,
}

impl VpcLink {
    /// The deployment's link to `load_balancer`.
    pub fn new(
        deployment: &crate::config::Deployment,
        names: &crate::config::names::Names,
        load_balancer: &Ref<load_balancer::Outputs>,
    ) -> VpcLink {
        VpcLink {
            name: names.vpc_link.clone(),
            description: format!("gwfargate {}: API Gateway to the NLB", deployment.name),
            load_balancer: load_balancer.clone(),
        }
    }
}

/// How long a link of either kind may take to be made or deleted: terraform-provider-aws's
/// own tests see V1 links take about 12 minutes; a V2 link makes network interfaces, and gets
/// the same budget.
pub(super) const PATIENCE: Patience = Patience::minutes(20);

/// Refusals of a link's deletion that mean "not yet": an integration deleted moments ago can
/// still hold it for a while.
pub(super) const STILL_IN_USE: &[&str] = &[
    "BadRequestException",
    "ConflictException",
    "TooManyRequestsException",
];

/// What the link hands its dependents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outputs {
    /// VPC link id.
    pub id: String,
}

fn status_of(link: &Link) -> String {
    link.status().map_or_else(
        || "unknown".to_string(),
        |s| s.as_str().to_ascii_lowercase(),
    )
}

impl Resource for VpcLink {
    type Live = Link;
    type Outputs = Outputs;
    const FOUND_BY_ID: bool = true;

    fn key(&self) -> Key {
        "vpc_link".to_string()
    }

    fn kind(&self) -> &'static str {
        "vpc link"
    }

    fn name(&self) -> String {
        self.name.clone()
    }

    fn deps(&self) -> Vec<Dep> {
        vec![self.load_balancer.dep()]
    }

    async fn by_id(&self, cx: &Cx<'_>, id: &str, _depth: Depth) -> anyhow::Result<Option<Link>> {
        let out = found(
            cx.aws
                .apigw
                .get_vpc_link()
                .vpc_link_id(id)
                .send()
                .await
                .aws(|| format!("describing VPC link {id}")),
        )?;
        Ok(out.map(|out| {
            Link::builder()
                .set_id(out.id().map(str::to_string))
                .set_name(out.name().map(str::to_string))
                .set_status(out.status().cloned())
                .set_status_message(out.status_message().map(str::to_string))
                .set_target_arns(Some(out.target_arns().to_vec()))
                .set_tags(out.tags().cloned())
                .build()
        }))
    }

    async fn lookup(
        &self,
        cx: &Cx<'_>,
        _inputs: &Inputs<'_>,
        _depth: Depth,
    ) -> anyhow::Result<Option<Link>> {
        let mut pages = cx
            .aws
            .apigw
            .get_vpc_links()
            .limit(500)
            .into_paginator()
            .send();
        let mut matches = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.aws(|| "listing VPC links".to_string())?;
            matches.extend(
                page.items()
                    .iter()
                    .filter(|l| {
                        l.name() == Some(self.name.as_str()) && cx.is_ours(tags::from_map(l.tags()))
                    })
                    .cloned(),
            );
        }
        // A usable link before a failed or deleting one.
        matches.sort_by_key(|l| match l.status() {
            Some(VpcLinkStatus::Available) => 0,
            Some(VpcLinkStatus::Pending) => 1,
            _ => 2,
        });
        Ok(matches.into_iter().next())
    }

    fn tags(&self, live: &Link) -> Option<crate::aws::tags::Tags> {
        Some(crate::aws::tags::owned(crate::aws::tags::from_map(
            live.tags(),
        )))
    }

    async fn retag(
        &self,
        cx: &Cx<'_>,
        live: &Link,
        changes: &crate::model::TagChanges,
    ) -> anyhow::Result<()> {
        super::retag(cx, &format!("/vpclinks/{}", self.id(live)), changes).await
    }

    fn ownership(&self, env: &Env, live: &Link) -> Ownership {
        env.owner(tags::from_map(live.tags()))
    }

    fn id(&self, live: &Link) -> String {
        live.id().unwrap_or_default().to_string()
    }

    fn outputs(&self, _env: &Env, live: &Link) -> Outputs {
        Outputs { id: self.id(live) }
    }

    /// Integrations name the link, and AWS will not delete a link they use ("Cannot delete
    /// vpc link ... is referenced in [ANY:...]"): the new one comes first. Not for a link
    /// still being deleted (an interrupted `down`): it holds the load balancer until it is
    /// gone, and a second link on it would fail, so it is waited out first.
    fn replaced_after_dependents(&self, live: &Link) -> bool {
        live.status() != Some(&VpcLinkStatus::Deleting)
    }

    fn diff(&self, _env: &Env, live: &Link, inputs: &Inputs<'_>) -> Diff {
        let mut diff = Diff::none();
        let replace = |reason: String| {
            Some(Replace {
                reason,
                destructive: false,
            })
        };
        diff.replace = match live.status() {
            Some(VpcLinkStatus::Failed) => replace(format!(
                "AWS reports it failed: {}",
                live.status_message().unwrap_or("no reason given")
            )),
            Some(VpcLinkStatus::Deleting) => {
                replace("it is being deleted (an interrupted down)".to_string())
            }
            _ => match inputs.get(&self.load_balancer) {
                Some(lb) if live.target_arns().contains(&lb.arn) => None,
                // A link to a load balancer that is gone serves nothing.
                Some(_) => replace("it points at another load balancer".to_string()),
                None => replace("its load balancer is made again".to_string()),
            },
        };
        diff
    }

    async fn create(
        &self,
        cx: &Cx<'_>,
        inputs: &Inputs<'_>,
        _intent: &Intent,
    ) -> anyhow::Result<Link> {
        let lb = inputs.need(&self.load_balancer)?;
        let out = cx
            .single
            .apigw
            .create_vpc_link()
            .name(&self.name)
            .description(&self.description)
            .target_arns(&lb.arn)
            .set_tags(Some(tags::map(&cx.tags(&self.name))))
            .send()
            .await
            .aws(|| format!("creating VPC link {}", self.name))?;
        Ok(Link::builder()
            .set_id(out.id().map(str::to_string))
            .set_name(out.name().map(str::to_string))
            .set_status(out.status().cloned())
            .set_target_arns(Some(out.target_arns().to_vec()))
            .set_tags(out.tags().cloned())
            .build())
    }

    fn readiness(&self, live: &Link) -> Poll<()> {
        match live.status() {
            Some(VpcLinkStatus::Available) => Poll::Ready(()),
            Some(VpcLinkStatus::Failed) => Poll::Failed(format!(
                "AWS reports FAILED: {}. Run `up` again to replace it",
                live.status_message().unwrap_or("no reason given"),
            )),
            _ => Poll::Pending(status_of(live)),
        }
    }

    fn patience(&self) -> Patience {
        PATIENCE
    }

    async fn delete(
        &self,
        cx: &Cx<'_>,
        live: &Link,
        _inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<String>> {
        if live.status() == Some(&VpcLinkStatus::Deleting) {
            return Ok(None);
        }
        let id = self.id(live);
        cx.aws
            .apigw
            .delete_vpc_link()
            .vpc_link_id(&id)
            .send()
            .await
            .aws(|| format!("deleting VPC link {id}"))?;
        Ok(None)
    }

    /// The other kind of link took its traffic before it goes.
    fn deleted_without_loss(&self) -> bool {
        true
    }

    fn delete_retryable(&self) -> &'static [&'static str] {
        STILL_IN_USE
    }

    fn summary(&self, live: &Link) -> String {
        format!("{}, {}", self.id(live), status_of(live))
    }

    fn observe(&self, live: &Link) -> Seen {
        Seen::new(&self.id(live), &status_of(live))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::World;
    use crate::resources::testing::env;

    fn link(status: VpcLinkStatus, target: &str) -> Link {
        Link::builder()
            .id("l-1")
            .status(status)
            .status_message("NLB is not in active state")
            .target_arns(target)
            .build()
    }

    #[test]
    fn a_failed_or_deleting_link_is_replaced_a_good_one_kept() {
        let env = env();
        let r = VpcLink::new(&env.deployment, &env.names, &Ref::new("load_balancer"));
        let world = World::default();
        world.publish(
            "load_balancer",
            load_balancer::Outputs {
                arn: "lb-1".into(),
                dns_name: "d".into(),
            },
        );
        assert!(
            r.diff(
                &env,
                &link(VpcLinkStatus::Available, "lb-1"),
                &world.inputs()
            ) == Diff::none()
        );
        let failed = r
            .diff(&env, &link(VpcLinkStatus::Failed, "lb-1"), &world.inputs())
            .replace
            .expect("replaced");
        assert!(failed.reason.contains("NLB is not in active state") && !failed.destructive);
        let deleting = r
            .diff(
                &env,
                &link(VpcLinkStatus::Deleting, "lb-1"),
                &world.inputs(),
            )
            .replace
            .expect("replaced");
        assert!(deleting.reason.contains("interrupted down"));
        assert!(
            r.diff(
                &env,
                &link(VpcLinkStatus::Available, "lb-0"),
                &world.inputs()
            )
            .replace
            .is_some()
        );
    }
}
