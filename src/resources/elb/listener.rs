//! The listener on the service port (TCP on an NLB, HTTP on an ALB), forwarding to the target
//! group. ECS refuses to create
//! a service on a target group that no listener uses, so it comes before the service.

use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, Listener as Found, ProtocolEnum,
};
use serde::{Deserialize, Serialize};

use super::{load_balancer, target_group};
use crate::aws::tags;
use crate::aws::{AwsResultExt as _, found};
use crate::model::{
    Cx, Dep, Depth, Diff, Env, Inputs, Key, Ownership, Ref, Resource, Seen, listed,
};
use crate::state::Intent;

/// The listener.
pub struct Listener {
    name: String,
    tag_name: String,
    port: i32,
    kind: crate::config::LoadBalancerKind,
    protocol: ProtocolEnum,
    load_balancer: Ref<load_balancer::Outputs>,
    target_group: Ref<target_group::Outputs>,
}

impl Listener {
    /// The listener on `deployment`'s service port.
    pub fn new(
        deployment: &crate::config::Deployment,
        names: &crate::config::names::Names,
        load_balancer: &Ref<load_balancer::Outputs>,
        target_group: &Ref<target_group::Outputs>,
    ) -> Listener {
        Listener {
            name: format!(
                "{}:{}",
                if deployment.network.load_balancer == crate::config::LoadBalancerKind::Alb {
                    "http"
                } else {
                    "tcp"
                },
                deployment.service.port
            ),
            tag_name: format!("{}-listener", names.load_balancer),
            port: i32::from(deployment.service.port),
            kind: deployment.network.load_balancer,
            protocol: target_group::protocol(deployment.network.load_balancer),
            load_balancer: load_balancer.clone(),
            target_group: target_group.clone(),
        }
    }
}

fn forward(target_group_arn: &str) -> Action {
    Action::builder()
        .r#type(ActionTypeEnum::Forward)
        .target_group_arn(target_group_arn)
        .build()
}

/// The listener as found, with its tags when they were read.
#[derive(Debug, Clone)]
pub struct Live {
    /// The listener.
    pub listener: Found,
    /// Its tags: read by a full lookup only when the env file has `[tags]` or dropped some,
    /// as nothing else about the listener needs them.
    pub tags: Option<tags::Tags>,
}

/// What the listener hands its dependents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outputs {
    /// Listener ARN.
    pub arn: String,
}

impl Resource for Listener {
    type Live = Live;
    type Outputs = Outputs;

    fn key(&self) -> Key {
        let [_, _, key] = super::keys(self.kind);
        key
    }

    fn kind(&self) -> &'static str {
        "listener"
    }

    fn name(&self) -> String {
        self.name.clone()
    }

    fn deps(&self) -> Vec<Dep> {
        vec![self.load_balancer.dep(), self.target_group.dep()]
    }

    fn found_through(&self) -> Vec<Key> {
        vec![self.load_balancer.dep().key]
    }

    /// The listener on the service port of the stack's load balancer.
    async fn lookup(
        &self,
        cx: &Cx<'_>,
        inputs: &Inputs<'_>,
        depth: Depth,
    ) -> anyhow::Result<Option<Live>> {
        let Some(lb) = inputs.get(&self.load_balancer) else {
            return Ok(None);
        };
        let out = found(
            cx.aws
                .elb
                .describe_listeners()
                .load_balancer_arn(&lb.arn)
                .send()
                .await
                .aws(|| format!("listing the listeners of {}", lb.arn)),
        )?;
        let Some(listener) = out.and_then(|o| {
            o.listeners()
                .iter()
                .find(|l| l.port() == Some(self.port))
                .cloned()
        }) else {
            return Ok(None);
        };
        let tagged = !cx.names.extra_tags.is_empty() || !cx.retired_tags.is_empty();
        let tags = match listener.listener_arn() {
            Some(arn) if depth == Depth::Full && tagged => Some(super::tags_of(cx, arn).await?),
            _ => None,
        };
        Ok(Some(Live { listener, tags }))
    }

    fn tags(&self, live: &Live) -> Option<tags::Tags> {
        live.tags.clone()
    }

    async fn retag(
        &self,
        cx: &Cx<'_>,
        live: &Live,
        changes: &crate::model::TagChanges,
    ) -> anyhow::Result<()> {
        tags::retag_elb(&cx.aws, &self.id(live), &changes.set, &changes.remove).await
    }

    /// Ours when it is on our load balancer: only then is it looked up.
    /// It holds no data: a stack moving to the other kind of load balancer deletes it once
    /// the stage serves through the new one.
    fn deleted_without_loss(&self) -> bool {
        true
    }

    fn ownership(&self, _env: &Env, _live: &Live) -> Ownership {
        Ownership::Ours
    }

    fn id(&self, live: &Live) -> String {
        live.listener.listener_arn().unwrap_or_default().to_string()
    }

    fn outputs(&self, _env: &Env, live: &Live) -> Outputs {
        Outputs { arn: self.id(live) }
    }

    fn diff(&self, _env: &Env, live: &Live, inputs: &Inputs<'_>) -> Diff {
        let mut diff = Diff::none();
        let now: Vec<String> = live
            .listener
            .default_actions()
            .iter()
            .filter_map(|a| a.target_group_arn().map(str::to_string))
            .collect();
        match inputs.get(&self.target_group) {
            Some(tg) if now == [tg.arn.clone()] => {}
            want => {
                diff.change("target_group", listed(&now), want.map(|t| t.arn));
            }
        }
        diff
    }

    async fn create(
        &self,
        cx: &Cx<'_>,
        inputs: &Inputs<'_>,
        _intent: &Intent,
    ) -> anyhow::Result<Live> {
        let lb = inputs.need(&self.load_balancer)?;
        let tg = inputs.need(&self.target_group)?;
        let out = cx
            .single
            .elb
            .create_listener()
            .load_balancer_arn(&lb.arn)
            .protocol(self.protocol.clone())
            .port(self.port)
            .default_actions(forward(&tg.arn))
            .set_tags(Some(tags::elb(&cx.tags(&self.tag_name))))
            .send()
            .await
            .aws(|| format!("creating the {} listener", self.name))?;
        let listener = out
            .listeners()
            .first()
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("CreateListener returned nothing"))?;
        Ok(Live {
            listener,
            tags: None,
        })
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        live: &Live,
        _diff: &Diff,
        inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<Live>> {
        let tg = inputs.need(&self.target_group)?;
        let arn = self.id(live);
        cx.aws
            .elb
            .modify_listener()
            .listener_arn(&arn)
            .default_actions(forward(&tg.arn))
            .send()
            .await
            .aws(|| format!("updating listener {arn}"))?;
        Ok(None)
    }

    async fn delete(
        &self,
        cx: &Cx<'_>,
        live: &Live,
        _inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<String>> {
        let arn = self.id(live);
        cx.aws
            .elb
            .delete_listener()
            .listener_arn(&arn)
            .send()
            .await
            .aws(|| format!("deleting listener {arn}"))?;
        Ok(None)
    }

    fn summary(&self, _live: &Live) -> String {
        format!("{}:{}", self.protocol.as_str(), self.port)
    }

    fn observe(&self, live: &Live) -> Seen {
        Seen::new(&self.id(live), "present")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Value, World};
    use crate::resources::testing::env;

    fn forwarding(target_group: &str) -> Live {
        Live {
            listener: Found::builder()
                .listener_arn("l-1")
                .port(8080)
                .default_actions(forward(target_group))
                .build(),
            tags: None,
        }
    }

    #[test]
    fn the_listener_follows_a_target_group_made_again() {
        let env = env();
        let r = Listener::new(
            &env.deployment,
            &env.names,
            &Ref::new("load_balancer"),
            &Ref::new("target_group"),
        );
        let world = World::default();
        world.publish(
            "target_group",
            target_group::Outputs {
                arn: "tg-new".into(),
            },
        );
        assert_eq!(
            r.diff(&env, &forwarding("tg-new"), &world.inputs()),
            Diff::none()
        );
        assert_eq!(
            r.diff(&env, &forwarding("tg-old"), &world.inputs()).words(),
            "target_group tg-old → tg-new"
        );
        world.unknown("target_group");
        assert_eq!(
            r.diff(&env, &forwarding("tg-old"), &world.inputs()).fields[0].to,
            Value::Unknown
        );
    }
}
