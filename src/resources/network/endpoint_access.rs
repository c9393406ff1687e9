//! The tasks' way to the interface endpoints: 443 out of the tasks' group to the endpoints'
//! group. A resource of its own because each group's rule names the other (terraform's
//! `aws_security_group_rule` for the same cycle).
//!
//! It also finishes the move of a stack made before the endpoints had their own group: there,
//! one group held the tasks and the endpoints and let 443 in from, and out to, the whole VPC.
//! It comes after the endpoints, so it removes those two rules only once every endpoint has
//! moved to its own group, and the tasks never lose their way to ECR and CloudWatch Logs.

use aws_sdk_ec2::types::{IpPermission, SecurityGroup as Group};
use serde::{Deserialize, Serialize};

use super::endpoint;
use super::security_group::{self, Direction, Peer, Rule, authorize, revoke};
use crate::model::{
    Cx, Dep, Depth, Diff, Env, FieldChange, Inputs, Key, Ownership, Phase, Ref, Resource, Seen,
    Value,
};
use crate::state::Intent;

/// The egress rule from the tasks' group to the endpoints' group.
pub struct EndpointAccess {
    name: String,
    vpc_cidr: String,
    tasks: Ref<security_group::Outputs>,
    endpoints_group: Ref<security_group::Outputs>,
    endpoints: Vec<Ref<endpoint::Outputs>>,
}

/// The tasks' group as it is, and the endpoints' group its rule names.
#[derive(Debug, Clone)]
pub struct Live {
    /// The tasks' group with its rules.
    pub tasks: Group,
    /// The endpoints' group id.
    pub endpoints_group: String,
}

/// What it hands its dependents: that the tasks reach the endpoints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outputs {
    /// Its id: the two groups it joins.
    pub id: String,
}

impl EndpointAccess {
    /// The way from `tasks` to `endpoints_group`, made once the `endpoints` are in that group.
    pub fn new(
        deployment: &crate::config::Deployment,
        names: &crate::config::names::Names,
        tasks: &Ref<security_group::Outputs>,
        endpoints_group: &Ref<security_group::Outputs>,
        endpoints: &[Ref<endpoint::Outputs>],
    ) -> EndpointAccess {
        EndpointAccess {
            name: format!(
                "{} → {}",
                names.security_group, names.endpoint_security_group
            ),
            vpc_cidr: deployment.network.vpc_cidr.to_string(),
            tasks: tasks.clone(),
            endpoints_group: endpoints_group.clone(),
            endpoints: endpoints.to_vec(),
        }
    }

    fn rule(endpoints_group: &str) -> Rule {
        Rule {
            port: 443,
            peer: Peer::Group(endpoints_group.to_string()),
            description: "HTTPS to the VPC endpoints",
        }
    }

    /// The rules of the one group stacks had before the endpoints got their own.
    fn legacy(&self) -> [(Direction, Rule); 2] {
        [
            (
                Direction::Ingress,
                Rule::cidr(
                    443,
                    &self.vpc_cidr,
                    "HTTPS from the VPC (interface endpoints)",
                ),
            ),
            (
                Direction::Egress,
                Rule::cidr(443, &self.vpc_cidr, "HTTPS to the interface endpoints"),
            ),
        ]
    }

    fn legacy_present(&self, tasks: &Group) -> Vec<(Direction, Rule)> {
        self.legacy()
            .into_iter()
            .filter(|(direction, rule)| match direction {
                Direction::Ingress => rule.is_in(tasks.ip_permissions()),
                Direction::Egress => rule.is_in(tasks.ip_permissions_egress()),
            })
            .collect()
    }

    fn has_rule(live: &Live) -> bool {
        Self::rule(&live.endpoints_group).is_in(live.tasks.ip_permissions_egress())
    }

    async fn remove_legacy(&self, cx: &Cx<'_>, id: &str, tasks: &Group) -> anyhow::Result<()> {
        let present = self.legacy_present(tasks);
        if present.is_empty() {
            return Ok(());
        }
        cx.say("removing the VPC-wide HTTPS rules the endpoints no longer need");
        for (direction, rule) in present {
            revoke(cx, id, direction, vec![rule.permission()]).await?;
        }
        Ok(())
    }
}

impl Resource for EndpointAccess {
    type Live = Live;
    type Outputs = Outputs;

    fn key(&self) -> Key {
        "security_group_rule/tasks-to-endpoints".to_string()
    }

    fn kind(&self) -> &'static str {
        "security group rule"
    }

    fn name(&self) -> String {
        self.name.clone()
    }

    fn deps(&self) -> Vec<Dep> {
        let mut deps = vec![self.tasks.dep(), self.endpoints_group.dep()];
        // The VPC-wide rules go once every endpoint is in its own group; on the way down the
        // endpoints need not wait for the rule.
        deps.extend(self.endpoints.iter().map(|e| e.dep_until(Phase::Deleting)));
        deps
    }

    fn found_through(&self) -> Vec<Key> {
        vec![self.tasks.dep().key, self.endpoints_group.dep().key]
    }

    async fn lookup(
        &self,
        cx: &Cx<'_>,
        inputs: &Inputs<'_>,
        _depth: Depth,
    ) -> anyhow::Result<Option<Live>> {
        let (Some(tasks), Some(endpoints_group)) =
            (inputs.get(&self.tasks), inputs.get(&self.endpoints_group))
        else {
            return Ok(None);
        };
        let Some(group) = security_group::describe(cx, &tasks.id).await? else {
            return Ok(None);
        };
        let live = Live {
            tasks: group,
            endpoints_group: endpoints_group.id,
        };
        Ok(Self::has_rule(&live).then_some(live))
    }

    fn ownership(&self, env: &Env, live: &Live) -> Ownership {
        super::owner(env, live.tasks.tags())
    }

    fn id(&self, live: &Live) -> String {
        format!(
            "{} egress tcp 443 {}",
            live.tasks.group_id().unwrap_or_default(),
            live.endpoints_group
        )
    }

    fn outputs(&self, _env: &Env, live: &Live) -> Outputs {
        Outputs { id: self.id(live) }
    }

    fn diff(&self, _env: &Env, live: &Live, _inputs: &Inputs<'_>) -> Diff {
        let mut diff = Diff::none();
        let legacy: Vec<String> = self
            .legacy_present(&live.tasks)
            .iter()
            .map(|(direction, rule)| match direction {
                Direction::Ingress => format!("in {}", rule.words()),
                Direction::Egress => format!("out {}", rule.words()),
            })
            .collect();
        if !legacy.is_empty() {
            diff.change(
                "tasks' VPC-wide rules",
                crate::model::listed(&legacy),
                "(none)",
            );
        }
        diff
    }

    fn new_fields(&self, _env: &Env, inputs: &Inputs<'_>) -> Vec<FieldChange> {
        let to = match inputs.get(&self.endpoints_group) {
            Some(group) => Value::Known(Self::rule(&group.id).words()),
            None => Value::Unknown,
        };
        vec![FieldChange {
            field: "egress".to_string(),
            from: None,
            to,
            destructive: None,
        }]
    }

    async fn create(
        &self,
        cx: &Cx<'_>,
        inputs: &Inputs<'_>,
        _intent: &Intent,
    ) -> anyhow::Result<Live> {
        let tasks = inputs.need(&self.tasks)?.id;
        let endpoints_group = inputs.need(&self.endpoints_group)?.id;
        let rule: IpPermission = Self::rule(&endpoints_group).permission();
        authorize(cx, &tasks, Direction::Egress, vec![rule.clone()]).await?;
        let group = security_group::describe(cx, &tasks).await?.ok_or_else(|| {
            anyhow::anyhow!("security group {tasks} went away while its rule was added")
        })?;
        self.remove_legacy(cx, &tasks, &group).await?;
        Ok(Live {
            tasks: Group::builder()
                .set_group_id(group.group_id().map(str::to_string))
                .set_tags(Some(group.tags().to_vec()))
                .ip_permissions_egress(rule)
                .build(),
            endpoints_group,
        })
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        live: &Live,
        _diff: &Diff,
        _inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<Live>> {
        let id = live.tasks.group_id().unwrap_or_default().to_string();
        self.remove_legacy(cx, &id, &live.tasks).await?;
        Ok(None)
    }

    async fn delete(
        &self,
        cx: &Cx<'_>,
        live: &Live,
        _inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<String>> {
        let id = live.tasks.group_id().unwrap_or_default().to_string();
        revoke(
            cx,
            &id,
            Direction::Egress,
            vec![Self::rule(&live.endpoints_group).permission()],
        )
        .await?;
        Ok(None)
    }

    fn observe(&self, live: &Live) -> Seen {
        Seen::new(&self.id(live), "present")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::World;
    use crate::resources::testing::env;

    fn access(env: &Env) -> EndpointAccess {
        EndpointAccess::new(
            &env.deployment,
            &env.names,
            &Ref::new("security_group"),
            &Ref::new("security_group/endpoints"),
            &[Ref::new("endpoint/logs")],
        )
    }

    #[test]
    fn the_vpc_wide_rules_of_the_one_group_design_are_planned_away() {
        let env = env();
        let r = access(&env);
        let [(_, legacy_in), (_, legacy_out)] = r.legacy();
        let live = Live {
            tasks: Group::builder()
                .group_id("sg-tasks")
                .ip_permissions(legacy_in.permission())
                .ip_permissions_egress(legacy_out.permission())
                .ip_permissions_egress(EndpointAccess::rule("sg-vpce").permission())
                .build(),
            endpoints_group: "sg-vpce".into(),
        };
        let world = World::default();
        assert_eq!(
            r.diff(&env, &live, &world.inputs()).words(),
            "tasks' VPC-wide rules in tcp 443 10.0.0.0/16, out tcp 443 10.0.0.0/16 → (none)"
        );
        assert_eq!(r.id(&live), "sg-tasks egress tcp 443 sg-vpce");

        let moved = Live {
            tasks: Group::builder()
                .group_id("sg-tasks")
                .ip_permissions_egress(EndpointAccess::rule("sg-vpce").permission())
                .build(),
            endpoints_group: "sg-vpce".into(),
        };
        assert_eq!(r.diff(&env, &moved, &world.inputs()), Diff::none());
        assert!(EndpointAccess::has_rule(&moved));
        let other = Live {
            endpoints_group: "sg-other".into(),
            ..moved
        };
        assert!(!EndpointAccess::has_rule(&other));
    }

    #[test]
    fn it_comes_after_every_endpoint_but_does_not_hold_them_on_the_way_down() {
        let env = env();
        let deps = access(&env).deps();
        let logs = deps
            .iter()
            .find(|d| d.key == "endpoint/logs")
            .expect("a dependency on the logs endpoint");
        assert_eq!(logs.down, Phase::Deleting);
        assert!(
            deps.iter()
                .any(|d| d.key == "security_group/endpoints" && d.down == Phase::Gone)
        );
    }
}
