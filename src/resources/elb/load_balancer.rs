//! The internal load balancer in the private subnets: the VPC link's target. A Network Load
//! Balancer by default; an Application Load Balancer, behind its own security group, with
//! `load_balancer = "alb"`; with `entry = "public_load_balancer"`, an internet-facing ALB in
//! the public subnets, the stack's only way in.
//!
//! It takes minutes to become active and is the start of `up`'s critical path: it depends on
//! nothing but the subnets (and an ALB's group). A load balancer's type cannot change: a stack
//! moving to the other kind gets a new one beside the old (their names and keys differ), and
//! the old one goes once nothing uses it.

use aws_sdk_elasticloadbalancingv2::types::{
    LoadBalancer as Lb, LoadBalancerAttribute, LoadBalancerSchemeEnum, LoadBalancerStateEnum,
    LoadBalancerTypeEnum,
};
use serde::{Deserialize, Serialize};

use crate::aws::errors::has_code;
use crate::aws::tags;
use crate::aws::wait::{Patience, Poll};
use crate::aws::{AwsResultExt as _, found};
use crate::config::LoadBalancerKind;
use crate::model::{
    Cx, Dep, Depth, Diff, Env, FieldChange, Inputs, Key, Ownership, Ref, Resource, Seen,
};
use crate::resources::network::{internet_gateway, security_group, subnet};
use crate::resources::service_linked_role;
use crate::state::Intent;

/// The stack's load balancer.
pub struct LoadBalancer {
    name: String,
    kind: LoadBalancerKind,
    subnets: Vec<Ref<subnet::Outputs>>,
    service_linked_role: Ref<service_linked_role::Outputs>,
    security_group: Option<Ref<security_group::Outputs>>,
    /// The public entry's: the internet gateway an internet-facing load balancer needs
    /// attached to its VPC before it is asked for.
    internet_gateway: Option<Ref<internet_gateway::Outputs>>,
}

impl LoadBalancer {
    /// The deployment's NLB in `subnets`, made once ELB's service-linked role exists.
    pub fn new(
        names: &crate::config::names::Names,
        subnets: &[Ref<subnet::Outputs>],
        service_linked_role: &Ref<service_linked_role::Outputs>,
    ) -> LoadBalancer {
        LoadBalancer {
            name: names.load_balancer.clone(),
            kind: LoadBalancerKind::Nlb,
            subnets: subnets.to_vec(),
            service_linked_role: service_linked_role.clone(),
            security_group: None,
            internet_gateway: None,
        }
    }

    /// An Application Load Balancer behind `security_group` instead.
    pub fn application(mut self, security_group: &Ref<security_group::Outputs>) -> LoadBalancer {
        self.kind = LoadBalancerKind::Alb;
        self.security_group = Some(security_group.clone());
        self
    }

    /// Internet-facing instead of internal (`entry = "public_load_balancer"`), in public
    /// subnets: ELB refuses one in a VPC without an internet gateway ("InvalidSubnet"), so it
    /// waits for `gateway`.
    pub fn internet_facing(mut self, gateway: &Ref<internet_gateway::Outputs>) -> LoadBalancer {
        self.internet_gateway = Some(gateway.clone());
        self
    }

    fn wanted_scheme(&self) -> LoadBalancerSchemeEnum {
        match self.internet_gateway {
            Some(_) => LoadBalancerSchemeEnum::InternetFacing,
            None => LoadBalancerSchemeEnum::Internal,
        }
    }

    fn wanted_type(&self) -> LoadBalancerTypeEnum {
        match self.kind {
            LoadBalancerKind::Nlb => LoadBalancerTypeEnum::Network,
            LoadBalancerKind::Alb => LoadBalancerTypeEnum::Application,
        }
    }
}

/// The load balancer, with its tags and cross-zone setting when read.
#[derive(Debug, Clone)]
pub struct Live {
    /// The load balancer.
    pub lb: Lb,
    /// Its tags (`None`: not read).
    pub tags: Option<Vec<(String, String)>>,
    /// Whether cross-zone load balancing is on (`None`: not read).
    pub cross_zone: Option<bool>,
}

/// The attribute that spreads requests over targets in every zone. Off by default on an NLB,
/// so a request entering in a zone without a healthy task fails ("Cross-zone load balancing
/// for target groups", Elastic Load Balancing user guide).
const CROSS_ZONE: &str = "load_balancing.cross_zone.enabled";

/// What the load balancer hands its dependents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outputs {
    /// Load balancer ARN.
    pub arn: String,
    /// Its DNS name: the backend of the API's integrations.
    pub dns_name: String,
}

fn state_of(lb: &Lb) -> String {
    lb.state()
        .and_then(|s| s.code())
        .map_or_else(|| "unknown".to_string(), |c| c.as_str().to_string())
}

impl Resource for LoadBalancer {
    type Live = Live;
    type Outputs = Outputs;

    fn key(&self) -> Key {
        let [key, _, _] = super::keys(self.kind);
        key
    }

    fn kind(&self) -> &'static str {
        "load balancer"
    }

    fn name(&self) -> String {
        self.name.clone()
    }

    fn deps(&self) -> Vec<Dep> {
        let mut deps: Vec<Dep> = self.subnets.iter().map(Ref::dep).collect();
        deps.push(self.service_linked_role.dep());
        deps.extend(self.security_group.as_ref().map(Ref::dep));
        deps.extend(self.internet_gateway.as_ref().map(Ref::dep));
        deps
    }

    async fn lookup(
        &self,
        cx: &Cx<'_>,
        _inputs: &Inputs<'_>,
        depth: Depth,
    ) -> anyhow::Result<Option<Live>> {
        let out = found(
            cx.aws
                .elb
                .describe_load_balancers()
                .names(&self.name)
                .send()
                .await
                .aws(|| format!("looking up load balancer {}", self.name)),
        )?;
        let Some(lb) = out.and_then(|o| o.load_balancers().first().cloned()) else {
            return Ok(None);
        };
        let tags = match (depth, lb.load_balancer_arn()) {
            (Depth::Full, Some(arn)) => Some(super::tags_of(cx, arn).await?),
            _ => None,
        };
        let ours = super::owner(cx, tags.as_ref()) == Ownership::Ours;
        // An ALB balances across zones always; only an NLB has the setting.
        let network = lb.r#type() == Some(&LoadBalancerTypeEnum::Network);
        let cross_zone = match (depth, lb.load_balancer_arn()) {
            (Depth::Full, Some(arn)) if ours && network => Some(cross_zone_of(cx, arn).await?),
            _ => None,
        };
        Ok(Some(Live {
            lb,
            tags,
            cross_zone,
        }))
    }

    fn tags(&self, live: &Live) -> Option<crate::aws::tags::Tags> {
        live.tags.clone()
    }

    async fn retag(
        &self,
        cx: &Cx<'_>,
        live: &Live,
        changes: &crate::model::TagChanges,
    ) -> anyhow::Result<()> {
        crate::aws::tags::retag_elb(&cx.aws, &self.id(live), &changes.set, &changes.remove).await
    }

    /// It holds no data: a stack moving to the other kind of load balancer deletes it once
    /// the stage serves through the new one.
    fn deleted_without_loss(&self) -> bool {
        true
    }

    fn ownership(&self, env: &Env, live: &Live) -> Ownership {
        super::owner(env, live.tags.as_ref())
    }

    fn id(&self, live: &Live) -> String {
        live.lb.load_balancer_arn().unwrap_or_default().to_string()
    }

    fn outputs(&self, _env: &Env, live: &Live) -> Outputs {
        Outputs {
            arn: self.id(live),
            dns_name: live.lb.dns_name().unwrap_or_default().to_string(),
        }
    }

    fn diff(&self, env: &Env, live: &Live, inputs: &Inputs<'_>) -> Diff {
        let mut diff = Diff::none();
        let live_type = live.lb.r#type().map(LoadBalancerTypeEnum::as_str);
        diff.compare(
            "scheme",
            live.lb.scheme().map(LoadBalancerSchemeEnum::as_str),
            self.wanted_scheme().as_str(),
        )
        .compare("type", live_type, self.wanted_type().as_str());
        if !diff.fields.is_empty() {
            diff.refuse = Some(format!(
                "a load balancer's scheme and type cannot change; remove it with `{}`, then `up`",
                env.hints.command("down")
            ));
        }
        if let Some(on) = live.cross_zone {
            diff.compare("cross_zone", Some(if on { "on" } else { "off" }), "on");
        }
        if let (Some(group), true) = (self.security_group.as_ref(), diff.refuse.is_none()) {
            let want = inputs.get(group).map(|g| g.id);
            let have = live.lb.security_groups().join(", ");
            if want.as_deref() != Some(have.as_str()) {
                diff.change(
                    "security_groups",
                    Some(have).filter(|h| !h.is_empty()),
                    want.map_or(crate::model::Value::Unknown, Into::into),
                );
            }
        }
        diff
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        live: &Live,
        diff: &Diff,
        inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<Live>> {
        if let (Some(group), true) = (
            self.security_group.as_ref(),
            diff.changes("security_groups"),
        ) {
            let group = inputs.need(group)?;
            cx.aws
                .elb
                .set_security_groups()
                .load_balancer_arn(self.id(live))
                .security_groups(group.id)
                .send()
                .await
                .aws(|| format!("setting the security group of {}", self.name))?;
        }
        if !diff.changes("cross_zone") {
            return Ok(None);
        }
        cx.aws
            .elb
            .modify_load_balancer_attributes()
            .load_balancer_arn(self.id(live))
            .attributes(
                LoadBalancerAttribute::builder()
                    .key(CROSS_ZONE)
                    .value("true")
                    .build(),
            )
            .send()
            .await
            .aws(|| format!("turning on cross-zone load balancing of {}", self.name))?;
        Ok(None)
    }

    fn new_fields(&self, _env: &Env, _inputs: &Inputs<'_>) -> Vec<FieldChange> {
        let mut fields = vec![
            FieldChange::setting("type", self.wanted_type().as_str()),
            FieldChange::setting("scheme", self.wanted_scheme().as_str()),
        ];
        if self.kind == LoadBalancerKind::Nlb {
            fields.push(FieldChange::setting("cross_zone", "on"));
        }
        fields
    }

    async fn create(
        &self,
        cx: &Cx<'_>,
        inputs: &Inputs<'_>,
        _intent: &Intent,
    ) -> anyhow::Result<Live> {
        let subnets = self
            .subnets
            .iter()
            .map(|s| inputs.need(s).map(|o| o.id))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let security_groups = match &self.security_group {
            Some(group) => Some(vec![inputs.need(group)?.id]),
            None => None,
        };
        let our_tags = cx.tags(&self.name);
        let out = cx
            .single
            .elb
            .create_load_balancer()
            .name(&self.name)
            .r#type(self.wanted_type())
            .scheme(self.wanted_scheme())
            .set_subnets(Some(subnets))
            .set_security_groups(security_groups)
            .set_tags(Some(tags::elb(&our_tags)))
            .send()
            .await
            .aws(|| format!("creating load balancer {}", self.name))?;
        let lb = out
            .load_balancers()
            .first()
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("CreateLoadBalancer returned nothing"))?;
        // A new NLB has cross-zone load balancing off: the diff that follows turns it on.
        Ok(Live {
            lb,
            tags: Some(our_tags),
            cross_zone: (self.kind == LoadBalancerKind::Nlb).then_some(false),
        })
    }

    fn readiness(&self, live: &Live) -> Poll<()> {
        match live.lb.state().and_then(|s| s.code()) {
            Some(LoadBalancerStateEnum::Active) => Poll::Ready(()),
            Some(LoadBalancerStateEnum::Failed) => Poll::Failed(format!(
                "AWS reports it failed: {}",
                live.lb
                    .state()
                    .and_then(|s| s.reason())
                    .unwrap_or("no reason given")
            )),
            _ => Poll::Pending(state_of(&live.lb)),
        }
    }

    fn waiting_for(&self) -> &'static str {
        "to become active"
    }

    async fn delete(
        &self,
        cx: &Cx<'_>,
        live: &Live,
        _inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<String>> {
        let arn = self.id(live);
        let deleted = cx
            .aws
            .elb
            .delete_load_balancer()
            .load_balancer_arn(&arn)
            .send()
            .await
            .aws(|| format!("deleting load balancer {}", self.name));
        match deleted {
            Ok(_) => Ok(None),
            // In use: a VPC link still deleting (retried), or a VPC endpoint service a link
            // left behind, which never goes by itself. Ours (it serves only this stack's NLB,
            // whose link is gone by now) is removed; the retry then deletes the NLB.
            Err(err) if has_code(&err, &["ResourceInUse"]) => {
                let orphans = endpoint_services_on(cx, &arn).await?;
                if orphans.is_empty() {
                    return Err(err);
                }
                cx.say(format!(
                    "removing {} left on it by a VPC link",
                    orphans.join(", ")
                ));
                cx.aws
                    .ec2
                    .delete_vpc_endpoint_service_configurations()
                    .set_service_ids(Some(orphans.clone()))
                    .send()
                    .await
                    .aws(|| {
                        format!(
                            "deleting VPC endpoint service {} that keeps load balancer {} in use",
                            orphans.join(", "),
                            self.name
                        )
                    })?;
                Err(err.context(format!(
                    "load balancer {} was in use by VPC endpoint service {}",
                    self.name,
                    orphans.join(", ")
                )))
            }
            Err(err) => Err(err),
        }
    }

    fn delete_retryable(&self) -> &'static [&'static str] {
        // A VPC link still on it keeps it in use.
        &["ResourceInUse"]
    }

    fn patience(&self) -> Patience {
        Patience::minutes(15)
    }

    fn summary(&self, live: &Live) -> String {
        format!("{}, {}", self.name, state_of(&live.lb))
    }

    fn observe(&self, live: &Live) -> Seen {
        Seen::new(&self.id(live), &state_of(&live.lb))
            .detail(live.lb.dns_name().unwrap_or_default())
    }
}

/// The VPC endpoint services on the load balancer `arn` and on nothing else.
async fn endpoint_services_on(cx: &Cx<'_>, arn: &str) -> anyhow::Result<Vec<String>> {
    let mut ids = Vec::new();
    let mut pages = cx
        .aws
        .ec2
        .describe_vpc_endpoint_service_configurations()
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.aws(|| format!("looking for VPC endpoint services on {arn}"))?;
        ids.extend(
            page.service_configurations()
                .iter()
                .filter(|c| c.network_load_balancer_arns() == [arn.to_string()])
                .filter_map(|c| c.service_id().map(str::to_string)),
        );
    }
    Ok(ids)
}

/// Whether cross-zone load balancing is on.
async fn cross_zone_of(cx: &Cx<'_>, arn: &str) -> anyhow::Result<bool> {
    let out = cx
        .aws
        .elb
        .describe_load_balancer_attributes()
        .load_balancer_arn(arn)
        .send()
        .await
        .aws(|| format!("reading the attributes of {arn}"))?;
    Ok(out
        .attributes()
        .iter()
        .any(|a| a.key() == Some(CROSS_ZONE) && a.value() == Some("true")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::World;
    use crate::resources::testing::env;
    use aws_sdk_elasticloadbalancingv2::types::{LoadBalancerState, LoadBalancerStateEnum};

    fn live(scheme: LoadBalancerSchemeEnum, state: LoadBalancerStateEnum) -> Live {
        Live {
            lb: Lb::builder()
                .load_balancer_arn("lb-1")
                .scheme(scheme)
                .r#type(LoadBalancerTypeEnum::Network)
                .state(LoadBalancerState::builder().code(state).build())
                .build(),
            tags: None,
            cross_zone: None,
        }
    }

    #[test]
    fn an_internet_facing_load_balancer_is_refused_a_provisioning_one_waited_for() {
        let env = env();
        let r = LoadBalancer::new(
            &env.names,
            &[],
            &Ref::new("service_linked_role/elasticloadbalancing"),
        );
        let world = World::default();
        let ours = live(
            LoadBalancerSchemeEnum::Internal,
            LoadBalancerStateEnum::Provisioning,
        );
        assert_eq!(r.diff(&env, &ours, &world.inputs()), Diff::none());
        assert!(matches!(r.readiness(&ours), Poll::Pending(state) if state == "provisioning"));
        let public = r.diff(
            &env,
            &live(
                LoadBalancerSchemeEnum::InternetFacing,
                LoadBalancerStateEnum::Active,
            ),
            &world.inputs(),
        );
        assert_eq!(public.words(), "scheme internet-facing → internal");
        assert!(public.refuse.is_some());
    }

    #[test]
    fn an_alb_has_its_own_key_and_keeps_its_own_group() {
        let env = env();
        let nlb_resource = LoadBalancer::new(
            &env.names,
            &[],
            &Ref::new("service_linked_role/elasticloadbalancing"),
        );
        let alb = LoadBalancer::new(
            &env.names,
            &[],
            &Ref::new("service_linked_role/elasticloadbalancing"),
        )
        .application(&Ref::new("security_group/load-balancer"));
        assert_eq!(nlb_resource.key(), "load_balancer");
        assert_eq!(alb.key(), "load_balancer/alb");
        let world = World::default();
        let nlb = live(
            LoadBalancerSchemeEnum::Internal,
            LoadBalancerStateEnum::Active,
        );
        let refused = alb.diff(&env, &nlb, &world.inputs());
        assert_eq!(refused.words(), "type network → application");
        assert!(refused.refuse.is_some());
        world.publish(
            "security_group/load-balancer",
            crate::resources::network::security_group::Outputs {
                id: "sg-alb".to_string(),
            },
        );
        let mut ours = nlb.clone();
        ours.lb.r#type = Some(LoadBalancerTypeEnum::Application);
        ours.lb.security_groups = Some(vec!["sg-other".to_string()]);
        let moved = alb.diff(&env, &ours, &world.inputs());
        assert!(moved.refuse.is_none());
        assert_eq!(moved.words(), "security_groups sg-other → sg-alb");
        ours.lb.security_groups = Some(vec!["sg-alb".to_string()]);
        assert_eq!(alb.diff(&env, &ours, &world.inputs()), Diff::none());
    }

    #[test]
    fn cross_zone_load_balancing_off_is_turned_on_in_place() {
        let env = env();
        let r = LoadBalancer::new(
            &env.names,
            &[],
            &Ref::new("service_linked_role/elasticloadbalancing"),
        );
        let world = World::default();
        let mut off = live(
            LoadBalancerSchemeEnum::Internal,
            LoadBalancerStateEnum::Active,
        );
        off.cross_zone = Some(false);
        let diff = r.diff(&env, &off, &world.inputs());
        assert_eq!(diff.words(), "cross_zone off → on");
        assert!(diff.refuse.is_none() && diff.replace.is_none());
        off.cross_zone = Some(true);
        assert_eq!(r.diff(&env, &off, &world.inputs()), Diff::none());
    }
}
