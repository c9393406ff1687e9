//! The tasks' way to the internet (`egress = "nat"`, or the public entry's tasks with public
//! addresses): 443 out of the tasks' group to anywhere, through the NAT gateway (or the
//! internet gateway) to any registry and every AWS service. A resource of its own, as
//! [`super::endpoint_access`] is for the endpoints: a stack moving back to the endpoints keeps
//! it until the endpoints serve the tasks, then deletes it with the NAT gateway's other parts.

use aws_sdk_ec2::types::SecurityGroup as Group;
use serde::{Deserialize, Serialize};

use super::security_group::{self, Direction, Rule, authorize, revoke};
use crate::model::{Cx, Dep, Depth, Env, FieldChange, Inputs, Key, Ownership, Ref, Resource, Seen};
use crate::state::Intent;

/// The egress rule from the tasks' group to anywhere on 443.
pub struct InternetAccess {
    name: String,
    tasks: Ref<security_group::Outputs>,
}

impl InternetAccess {
    /// The way out of `tasks`' group.
    pub fn new(
        names: &crate::config::names::Names,
        tasks: &Ref<security_group::Outputs>,
    ) -> InternetAccess {
        InternetAccess {
            name: format!("{} → anywhere:443", names.security_group),
            tasks: tasks.clone(),
        }
    }

    fn rule() -> Rule {
        Rule::cidr(
            443,
            "0.0.0.0/0",
            "HTTPS to registries and AWS (NAT gateway)",
        )
    }
}

/// What it hands its dependents: that the tasks may go out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outputs {
    /// Its id: the group and the rule.
    pub id: String,
}

impl Resource for InternetAccess {
    type Live = Group;
    type Outputs = Outputs;

    fn key(&self) -> Key {
        "security_group_rule/tasks-to-internet".to_string()
    }

    fn kind(&self) -> &'static str {
        "security group rule"
    }

    fn name(&self) -> String {
        self.name.clone()
    }

    fn deps(&self) -> Vec<Dep> {
        vec![self.tasks.dep()]
    }

    fn found_through(&self) -> Vec<Key> {
        vec![self.tasks.dep().key]
    }

    async fn lookup(
        &self,
        cx: &Cx<'_>,
        inputs: &Inputs<'_>,
        _depth: Depth,
    ) -> anyhow::Result<Option<Group>> {
        let Some(tasks) = inputs.get(&self.tasks) else {
            return Ok(None);
        };
        let group = security_group::describe(cx, &tasks.id).await?;
        Ok(group.filter(|g| Self::rule().is_in(g.ip_permissions_egress())))
    }

    fn ownership(&self, env: &Env, live: &Group) -> Ownership {
        super::owner(env, live.tags())
    }

    fn id(&self, live: &Group) -> String {
        format!(
            "{} egress {}",
            live.group_id().unwrap_or_default(),
            Self::rule().words()
        )
    }

    fn outputs(&self, _env: &Env, live: &Group) -> Outputs {
        Outputs { id: self.id(live) }
    }

    fn new_fields(&self, _env: &Env, _inputs: &Inputs<'_>) -> Vec<FieldChange> {
        vec![FieldChange::setting("egress", Self::rule().words())]
    }

    async fn create(
        &self,
        cx: &Cx<'_>,
        inputs: &Inputs<'_>,
        _intent: &Intent,
    ) -> anyhow::Result<Group> {
        let tasks = inputs.need(&self.tasks)?.id;
        let rule = Self::rule().permission();
        authorize(cx, &tasks, Direction::Egress, vec![rule.clone()]).await?;
        let group = security_group::describe(cx, &tasks).await?.ok_or_else(|| {
            anyhow::anyhow!("security group {tasks} went away while its rule was added")
        })?;
        Ok(Group::builder()
            .set_group_id(group.group_id().map(str::to_string))
            .set_tags(Some(group.tags().to_vec()))
            .ip_permissions_egress(rule)
            .build())
    }

    async fn delete(
        &self,
        cx: &Cx<'_>,
        live: &Group,
        _inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<String>> {
        let id = live.group_id().unwrap_or_default().to_string();
        revoke(cx, &id, Direction::Egress, vec![Self::rule().permission()]).await?;
        Ok(None)
    }

    fn observe(&self, live: &Group) -> Seen {
        Seen::new(&self.id(live), "present")
    }
}
