//! The VPC's flow log (`network.flow_logs = true`): every accepted and rejected connection of
//! the VPC, delivered to the stack's flow log group with the stack's delivery role
//! (https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-cwl.html).

use aws_sdk_ec2::types::{
    FlowLog as Found, FlowLogsResourceType, LogDestinationType, ResourceType, TrafficType,
};
use serde::{Deserialize, Serialize};

use super::vpc;
use crate::aws::tags::ec2_spec;
use crate::aws::wait::Poll;
use crate::aws::{AwsResultExt as _, found};
use crate::model::{
    Cx, Dep, Depth, Diff, Env, FieldChange, Inputs, Key, Ownership, Ref, Replace, Resource, Seen,
};
use crate::resources::{iam, logs};
use crate::state::Intent;

/// The flow log.
pub struct FlowLog {
    name: String,
    vpc: Ref<vpc::Outputs>,
    log_group: Ref<logs::Outputs>,
    role: Ref<iam::Outputs>,
}

/// What it hands its dependents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outputs {
    /// Flow log id.
    pub id: String,
}

impl FlowLog {
    /// The flow log of `vpc` to `log_group`, delivered with `role`.
    pub fn new(
        names: &crate::config::names::Names,
        vpc: &Ref<vpc::Outputs>,
        log_group: &Ref<logs::Outputs>,
        role: &Ref<iam::Outputs>,
    ) -> FlowLog {
        FlowLog {
            name: names.flow_log.clone(),
            vpc: vpc.clone(),
            log_group: log_group.clone(),
            role: role.clone(),
        }
    }
}

impl Resource for FlowLog {
    type Live = Found;
    type Outputs = Outputs;

    fn key(&self) -> Key {
        "flow_log".to_string()
    }

    fn kind(&self) -> &'static str {
        "vpc flow log"
    }

    fn name(&self) -> String {
        self.name.clone()
    }

    fn deps(&self) -> Vec<Dep> {
        vec![self.vpc.dep(), self.log_group.dep(), self.role.dep()]
    }

    async fn lookup(
        &self,
        cx: &Cx<'_>,
        _inputs: &Inputs<'_>,
        _depth: Depth,
    ) -> anyhow::Result<Option<Found>> {
        let filters = super::ours_named(cx, &self.name);
        let out = found(
            cx.aws
                .ec2
                .describe_flow_logs()
                .set_filter(Some(filters))
                .send()
                .await
                .aws(|| format!("looking up flow log {}", self.name)),
        )?;
        let mut logs: Vec<Found> = out.map(|o| o.flow_logs().to_vec()).unwrap_or_default();
        logs.sort_by(|a, b| a.flow_log_id().cmp(&b.flow_log_id()));
        Ok(logs.into_iter().next())
    }

    fn tags(&self, live: &Found) -> Option<crate::aws::tags::Tags> {
        Some(crate::aws::tags::owned(crate::aws::tags::from_ec2(
            live.tags(),
        )))
    }

    async fn retag(
        &self,
        cx: &Cx<'_>,
        live: &Found,
        changes: &crate::model::TagChanges,
    ) -> anyhow::Result<()> {
        crate::aws::tags::retag_ec2(&cx.aws, &self.id(live), &changes.set, &changes.remove).await
    }

    fn ownership(&self, env: &Env, live: &Found) -> Ownership {
        super::owner(env, live.tags())
    }

    fn id(&self, live: &Found) -> String {
        live.flow_log_id().unwrap_or_default().to_string()
    }

    fn outputs(&self, _env: &Env, live: &Found) -> Outputs {
        Outputs { id: self.id(live) }
    }

    /// A flow log changes nothing in place: one of another VPC, group or role is made again.
    fn diff(&self, _env: &Env, live: &Found, inputs: &Inputs<'_>) -> Diff {
        let mut diff = Diff::none();
        let wrong = [
            (
                "vpc",
                live.resource_id(),
                inputs.get(&self.vpc).map(|v| v.id),
            ),
            (
                "log_group",
                live.log_group_name(),
                inputs.get(&self.log_group).map(|l| l.name),
            ),
            (
                "delivery_role",
                live.deliver_logs_permission_arn(),
                inputs.get(&self.role).map(|r| r.arn),
            ),
        ]
        .into_iter()
        .find(|(_, have, want)| want.as_deref().is_some_and(|w| Some(w) != *have));
        if let Some((field, have, want)) = wrong {
            diff.replace = Some(Replace {
                reason: format!(
                    "its {field} is {} instead of {}",
                    have.unwrap_or("(none)"),
                    want.unwrap_or_default()
                ),
                destructive: false,
            });
        }
        diff
    }

    fn new_fields(&self, _env: &Env, _inputs: &Inputs<'_>) -> Vec<FieldChange> {
        vec![FieldChange::setting("traffic", "ALL")]
    }

    async fn create(
        &self,
        cx: &Cx<'_>,
        inputs: &Inputs<'_>,
        intent: &Intent,
    ) -> anyhow::Result<Found> {
        let vpc = inputs.need(&self.vpc)?.id;
        let group = inputs.need(&self.log_group)?.name;
        let role = inputs.need(&self.role)?.arn;
        let out = cx
            .single
            .ec2
            .create_flow_logs()
            .resource_type(FlowLogsResourceType::Vpc)
            .resource_ids(&vpc)
            .traffic_type(TrafficType::All)
            .log_destination_type(LogDestinationType::CloudWatchLogs)
            .log_group_name(&group)
            .deliver_logs_permission_arn(&role)
            .client_token(&intent.client_token)
            .tag_specifications(ec2_spec(&cx.tags(&self.name), ResourceType::VpcFlowLog))
            .send()
            .await
            .aws(|| format!("creating flow log {}", self.name))?;
        if let Some(failed) = out.unsuccessful().first() {
            anyhow::bail!(
                "AWS made no flow log for {vpc}: {}",
                failed
                    .error()
                    .and_then(|e| e.message())
                    .unwrap_or("no reason given")
            );
        }
        let id = out
            .flow_log_ids()
            .first()
            .ok_or_else(|| anyhow::anyhow!("CreateFlowLogs returned no id"))?;
        Ok(Found::builder()
            .flow_log_id(id)
            .resource_id(vpc)
            .log_group_name(group)
            .deliver_logs_permission_arn(role)
            .deliver_logs_status("SUCCESS")
            .set_tags(Some(
                cx.tags(&self.name)
                    .iter()
                    .map(|(k, v)| aws_sdk_ec2::types::Tag::builder().key(k).value(v).build())
                    .collect(),
            ))
            .build())
    }

    /// Delivery AWS reports failed (a role it cannot assume, a group gone) is said, not waited.
    fn readiness(&self, live: &Found) -> Poll<()> {
        match live.deliver_logs_status() {
            Some("FAILED") => Poll::Failed(format!(
                "its delivery failed: {}",
                live.deliver_logs_error_message()
                    .unwrap_or("no reason given")
            )),
            _ => Poll::Ready(()),
        }
    }

    async fn delete(
        &self,
        cx: &Cx<'_>,
        live: &Found,
        _inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<String>> {
        let id = self.id(live);
        cx.aws
            .ec2
            .delete_flow_logs()
            .flow_log_ids(&id)
            .send()
            .await
            .aws(|| format!("deleting flow log {id}"))?;
        Ok(None)
    }

    fn observe(&self, live: &Found) -> Seen {
        Seen::new(&self.id(live), live.flow_log_status().unwrap_or("present"))
            .detail(format!("to {}", live.log_group_name().unwrap_or("?")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::World;
    use crate::resources::testing::env;

    #[test]
    fn a_flow_log_elsewhere_is_made_again_and_failed_delivery_is_said() {
        let env = env();
        let r = FlowLog::new(
            &env.names,
            &Ref::new("vpc"),
            &Ref::new("log_group/flow-logs"),
            &Ref::new("flow_log_role"),
        );
        let world = World::default();
        world.publish(
            "vpc",
            vpc::Outputs {
                id: "vpc-1".into(),
                cidr: "10.0.0.0/16".into(),
            },
        );
        world.publish(
            "log_group/flow-logs",
            logs::Outputs {
                name: "/vpc/cluster1/flow-logs".into(),
            },
        );
        world.publish(
            "flow_log_role",
            iam::Outputs {
                arn: "arn:aws:iam::123456789012:role/r".into(),
            },
        );
        let live = |group: &str, status: &str| {
            Found::builder()
                .flow_log_id("fl-1")
                .resource_id("vpc-1")
                .log_group_name(group)
                .deliver_logs_permission_arn("arn:aws:iam::123456789012:role/r")
                .deliver_logs_status(status)
                .build()
        };
        assert_eq!(
            r.diff(
                &env,
                &live("/vpc/cluster1/flow-logs", "SUCCESS"),
                &world.inputs()
            ),
            Diff::none()
        );
        let elsewhere = r.diff(&env, &live("/other", "SUCCESS"), &world.inputs());
        assert!(
            elsewhere
                .replace
                .is_some_and(|r| r.reason.contains("log_group is /other")),
        );
        assert!(matches!(
            r.readiness(&live("/vpc/cluster1/flow-logs", "FAILED")),
            Poll::Failed(_)
        ));
    }
}
