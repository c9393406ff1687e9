//! The V2 VPC link: API Gateway's network interfaces in the private subnets, with a security
//! group of their own, through which the REST API's integrations reach the load balancer
//! they name (`integrationTarget`). Unlike a V1 link it is not an endpoint service on the
//! NLB, so it is made while the NLB is still provisioning, and it never holds the NLB on the
//! way down. AWS recommends it for REST APIs ("Set up VPC links V2 in API Gateway", API
//! Gateway developer guide); it is made with API Gateway's second API.
//!
//! A link found FAILED, or left deleting by an interrupted `down`, is replaced: the new one
//! first, the old one deleted once the integrations and the stage moved to it.

use aws_sdk_apigatewayv2::types::{VpcLink as Link, VpcLinkStatus};

use super::vpc_link::Outputs;
use crate::aws::tags;
use crate::aws::wait::{Patience, Poll};
use crate::aws::{AwsResultExt as _, found};
use crate::model::{
    Cx, Dep, Depth, Diff, Env, FieldChange, Inputs, Key, Ownership, Ref, Replace, Resource, Seen,
};
use crate::resources::network::{security_group, subnet};
use crate::state::Intent;

/// The V2 VPC link.
pub struct VpcLinkV2 {
    name: String,
    subnets: Vec<Ref<subnet::Outputs>>,
    security_group: Ref<security_group::Outputs>,
}

impl VpcLinkV2 {
    /// The deployment's link in `subnets`, its interfaces in `security_group`.
    pub fn new(
        names: &crate::config::names::Names,
        subnets: &[Ref<subnet::Outputs>],
        security_group: &Ref<security_group::Outputs>,
    ) -> VpcLinkV2 {
        VpcLinkV2 {
            name: names.vpc_link.clone(),
            subnets: subnets.to_vec(),
            security_group: security_group.clone(),
        }
    }

    /// The subnets and group the link should be on, once they exist.
    fn placement(&self, inputs: &Inputs<'_>) -> Option<(Vec<String>, String)> {
        let subnets = self
            .subnets
            .iter()
            .map(|s| inputs.get(s).map(|o| o.id))
            .collect::<Option<Vec<_>>>()?;
        let group = inputs.get(&self.security_group)?.id;
        Some((crate::model::sorted(&subnets), group))
    }
}

fn status_of(link: &Link) -> String {
    link.vpc_link_status().map_or_else(
        || "unknown".to_string(),
        |s| s.as_str().to_ascii_lowercase(),
    )
}

/// The link as a `GetVpcLink` or `CreateVpcLink` answer describes it: the two answers and
/// the list's items are different types with the same fields.
macro_rules! link_of {
    ($out:expr) => {{
        let out = $out;
        Link::builder()
            .set_vpc_link_id(out.vpc_link_id().map(str::to_string))
            .set_name(out.name().map(str::to_string))
            .set_vpc_link_status(out.vpc_link_status().cloned())
            .set_vpc_link_status_message(out.vpc_link_status_message().map(str::to_string))
            .set_subnet_ids(Some(out.subnet_ids().to_vec()))
            .set_security_group_ids(Some(out.security_group_ids().to_vec()))
            .set_tags(out.tags().cloned())
            .build()
    }};
}

impl Resource for VpcLinkV2 {
    type Live = Link;
    type Outputs = Outputs;
    const FOUND_BY_ID: bool = true;

    fn key(&self) -> Key {
        "vpc_link_v2".to_string()
    }

    fn kind(&self) -> &'static str {
        "vpc link"
    }

    fn name(&self) -> String {
        self.name.clone()
    }

    fn deps(&self) -> Vec<Dep> {
        // The link's interfaces hold the subnets and the group until AWS removes them.
        let mut deps: Vec<Dep> = self.subnets.iter().map(Ref::dep).collect();
        deps.push(self.security_group.dep());
        deps
    }

    async fn by_id(&self, cx: &Cx<'_>, id: &str, _depth: Depth) -> anyhow::Result<Option<Link>> {
        let out = found(
            cx.aws
                .apigwv2
                .get_vpc_link()
                .vpc_link_id(id)
                .send()
                .await
                .aws(|| format!("describing VPC link {id}")),
        )?;
        Ok(out.map(|out| link_of!(&out)))
    }

    async fn lookup(
        &self,
        cx: &Cx<'_>,
        _inputs: &Inputs<'_>,
        _depth: Depth,
    ) -> anyhow::Result<Option<Link>> {
        let mut matches = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = cx
                .aws
                .apigwv2
                .get_vpc_links()
                .set_next_token(token.take())
                .send()
                .await
                .aws(|| "listing VPC links (V2)".to_string())?;
            matches.extend(
                page.items()
                    .iter()
                    .filter(|l| {
                        l.name() == Some(self.name.as_str()) && cx.is_ours(tags::from_map(l.tags()))
                    })
                    .cloned(),
            );
            match page.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_string()),
                _ => break,
            }
        }
        // One that serves is the stack's; a failed or deleting one is what a replacement
        // left behind.
        matches.sort_by_key(|l| match l.vpc_link_status() {
            Some(VpcLinkStatus::Available | VpcLinkStatus::Inactive) => 0,
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
        let arn = format!(
            "arn:{}:apigateway:{}::/vpclinks/{}",
            cx.partition(),
            cx.deployment.region,
            self.id(live)
        );
        if !changes.set.is_empty() {
            cx.aws
                .apigwv2
                .tag_resource()
                .resource_arn(&arn)
                .set_tags(Some(tags::map(&changes.set)))
                .send()
                .await
                .aws(|| format!("tagging {arn}"))?;
        }
        if !changes.remove.is_empty() {
            cx.aws
                .apigwv2
                .untag_resource()
                .resource_arn(&arn)
                .set_tag_keys(Some(changes.remove.clone()))
                .send()
                .await
                .aws(|| format!("untagging {arn}"))?;
        }
        Ok(())
    }

    fn ownership(&self, env: &Env, live: &Link) -> Ownership {
        env.owner(tags::from_map(live.tags()))
    }

    fn id(&self, live: &Link) -> String {
        live.vpc_link_id().unwrap_or_default().to_string()
    }

    fn outputs(&self, _env: &Env, live: &Link) -> Outputs {
        Outputs { id: self.id(live) }
    }

    /// Integrations name the link, and AWS will not delete a link they use: the new one
    /// comes first. Even for a link still being deleted (an interrupted `down`): unlike a V1
    /// link it holds no load balancer, so nothing stops a second one meanwhile.
    fn replaced_after_dependents(&self, _live: &Link) -> bool {
        true
    }

    fn diff(&self, _env: &Env, live: &Link, inputs: &Inputs<'_>) -> Diff {
        let mut diff = Diff::none();
        let replace = |reason: String| {
            Some(Replace {
                reason,
                destructive: false,
            })
        };
        diff.replace = match live.vpc_link_status() {
            Some(VpcLinkStatus::Failed) => replace(format!(
                "AWS reports it failed: {}",
                live.vpc_link_status_message().unwrap_or("no reason given")
            )),
            Some(VpcLinkStatus::Deleting) => {
                replace("it is being deleted (an interrupted down)".to_string())
            }
            _ => match self.placement(inputs) {
                // A link's subnets and groups are fixed when it is made.
                Some((subnets, group)) => {
                    let have = crate::model::sorted(live.subnet_ids());
                    if have != subnets {
                        replace(format!(
                            "its subnets are {}, not the stack's {}",
                            have.join(", "),
                            subnets.join(", ")
                        ))
                    } else if live.security_group_ids() != [group.clone()] {
                        replace(format!("its security group is not the stack's {group}"))
                    } else {
                        None
                    }
                }
                None => replace("its subnets or security group are made again".to_string()),
            },
        };
        diff
    }

    fn new_fields(&self, _env: &Env, inputs: &Inputs<'_>) -> Vec<FieldChange> {
        let (subnets, group) = self.placement(inputs).map_or_else(
            || {
                (
                    "(known after up)".to_string(),
                    "(known after up)".to_string(),
                )
            },
            |(subnets, group)| (subnets.join(", "), group),
        );
        vec![
            FieldChange::setting("version", "V2"),
            FieldChange::setting("subnets", subnets),
            FieldChange::setting("security_group", group),
        ]
    }

    async fn create(
        &self,
        cx: &Cx<'_>,
        inputs: &Inputs<'_>,
        _intent: &Intent,
    ) -> anyhow::Result<Link> {
        let subnets = self
            .subnets
            .iter()
            .map(|s| inputs.need(s).map(|o| o.id))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let group = inputs.need(&self.security_group)?.id;
        let out = cx
            .single
            .apigwv2
            .create_vpc_link()
            .name(&self.name)
            .set_subnet_ids(Some(subnets))
            .security_group_ids(group)
            .set_tags(Some(tags::map(&cx.tags(&self.name))))
            .send()
            .await
            .aws(|| format!("creating VPC link {}", self.name))?;
        Ok(link_of!(&out))
    }

    fn readiness(&self, live: &Link) -> Poll<()> {
        match live.vpc_link_status() {
            // AWS makes a link unused for 60 days INACTIVE and wakes it with the next
            // request: nothing `up` can or need do, so it is as ready as it gets.
            Some(VpcLinkStatus::Available | VpcLinkStatus::Inactive) => Poll::Ready(()),
            Some(VpcLinkStatus::Failed) => Poll::Failed(format!(
                "AWS reports FAILED: {}. Run `up` again to replace it",
                live.vpc_link_status_message().unwrap_or("no reason given"),
            )),
            _ => Poll::Pending(status_of(live)),
        }
    }

    fn patience(&self) -> Patience {
        super::vpc_link::PATIENCE
    }

    async fn delete(
        &self,
        cx: &Cx<'_>,
        live: &Link,
        _inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<String>> {
        if live.vpc_link_status() == Some(&VpcLinkStatus::Deleting) {
            return Ok(None);
        }
        let id = self.id(live);
        cx.aws
            .apigwv2
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
        super::vpc_link::STILL_IN_USE
    }

    fn summary(&self, live: &Link) -> String {
        format!("{}, {}", self.id(live), status_of(live))
    }

    fn observe(&self, live: &Link) -> Seen {
        let detail = match live.vpc_link_status() {
            Some(VpcLinkStatus::Inactive) => "V2, unused for 60 days: the next request wakes it",
            _ => "V2",
        };
        Seen::new(&self.id(live), &status_of(live)).detail(detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::World;
    use crate::resources::testing::env;

    fn link(status: VpcLinkStatus, subnets: &[&str], group: &str) -> Link {
        Link::builder()
            .vpc_link_id("l-2")
            .vpc_link_status(status)
            .vpc_link_status_message("no room in subnet")
            .set_subnet_ids(Some(subnets.iter().map(|s| s.to_string()).collect()))
            .security_group_ids(group)
            .build()
    }

    fn world() -> World {
        let world = World::default();
        for (i, id) in ["subnet-b", "subnet-a"].iter().enumerate() {
            world.publish(
                &format!("subnet/{i}"),
                subnet::Outputs {
                    id: id.to_string(),
                    az: format!("eu-west-1{i}"),
                },
            );
        }
        world.publish(
            "security_group/vpc-link",
            security_group::Outputs { id: "sg-l".into() },
        );
        world
    }

    fn resource() -> VpcLinkV2 {
        let env = env();
        VpcLinkV2::new(
            &env.names,
            &[Ref::new("subnet/0"), Ref::new("subnet/1")],
            &Ref::new("security_group/vpc-link"),
        )
    }

    #[test]
    fn a_link_on_the_stacks_subnets_and_group_is_kept_in_any_order() {
        let env = env();
        let good = link(VpcLinkStatus::Available, &["subnet-a", "subnet-b"], "sg-l");
        assert!(resource().diff(&env, &good, &world().inputs()) == Diff::none());
    }

    #[test]
    fn a_failed_deleting_or_misplaced_link_is_replaced_without_loss() {
        let env = env();
        let inputs = world();
        let reason = |l: Link| {
            let replace = resource()
                .diff(&env, &l, &inputs.inputs())
                .replace
                .expect("replaced");
            assert!(!replace.destructive);
            replace.reason
        };
        assert!(
            reason(link(
                VpcLinkStatus::Failed,
                &["subnet-a", "subnet-b"],
                "sg-l"
            ))
            .contains("no room in subnet")
        );
        assert!(
            reason(link(
                VpcLinkStatus::Deleting,
                &["subnet-a", "subnet-b"],
                "sg-l"
            ))
            .contains("interrupted down")
        );
        assert!(
            reason(link(VpcLinkStatus::Available, &["subnet-a"], "sg-l"))
                .contains("not the stack's subnet-a, subnet-b")
        );
        assert!(
            reason(link(
                VpcLinkStatus::Available,
                &["subnet-a", "subnet-b"],
                "sg-x"
            ))
            .contains("sg-l")
        );
    }

    #[test]
    fn readiness_follows_the_links_status() {
        let r = resource();
        let pending = link(VpcLinkStatus::Pending, &[], "sg");
        assert!(matches!(r.readiness(&pending), Poll::Pending(_)));
        let failed = link(VpcLinkStatus::Failed, &[], "sg");
        assert!(matches!(r.readiness(&failed), Poll::Failed(m) if m.contains("no room")));
        let ready = link(VpcLinkStatus::Available, &[], "sg");
        assert!(matches!(r.readiness(&ready), Poll::Ready(())));
        // Idle for 60 days: no wait, and status says why.
        let idle = link(VpcLinkStatus::Inactive, &[], "sg");
        assert!(matches!(r.readiness(&idle), Poll::Ready(())));
        assert!(
            r.observe(&idle)
                .detail
                .as_deref()
                .is_some_and(|d| d.contains("60 days"))
        );
    }
}
