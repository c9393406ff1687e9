//! The log groups: the one the containers write to (awslogs driver), the one the API stage
//! writes its access log to, and the VPC flow logs' when asked, all with the env file's
//! retention: the original set none, so logs
//! were kept (and billed) forever.

use std::collections::HashMap;

use aws_sdk_cloudwatchlogs::types::LogGroup as Group;
use serde::{Deserialize, Serialize};

use crate::aws::AwsResultExt as _;
use crate::aws::tags;
use crate::model::{
    Cx, Dep, Depth, Diff, Env, FieldChange, Inputs, Key, Ownership, Resource, Seen,
};
use crate::state::Intent;

/// A log group of the stack.
pub struct LogGroup {
    key: &'static str,
    name: String,
    retention_days: i32,
    kms_key: Option<String>,
}

impl LogGroup {
    /// The containers' log group.
    pub fn new(
        deployment: &crate::config::Deployment,
        names: &crate::config::names::Names,
    ) -> LogGroup {
        LogGroup {
            key: "log_group",
            name: names.log_group.clone(),
            retention_days: i32::try_from(deployment.logs.retention_days).unwrap_or(30),
            kms_key: deployment.logs.kms_key.clone(),
        }
    }

    /// The VPC's flow logs.
    pub fn flow_logs(
        deployment: &crate::config::Deployment,
        names: &crate::config::names::Names,
    ) -> LogGroup {
        LogGroup {
            key: "log_group/flow-logs",
            name: names.flow_log_group.clone(),
            ..LogGroup::new(deployment, names)
        }
    }

    /// The API stage's access log.
    pub fn api_access(
        deployment: &crate::config::Deployment,
        names: &crate::config::names::Names,
    ) -> LogGroup {
        LogGroup {
            key: "log_group/api-access",
            name: names.access_log_group.clone(),
            ..LogGroup::new(deployment, names)
        }
    }
}

/// The group, with its tags when read.
#[derive(Debug, Clone)]
pub struct Live {
    /// The group.
    pub group: Group,
    /// Its tags (`None`: not read).
    pub tags: Option<HashMap<String, String>>,
}

/// What the log group hands its dependents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outputs {
    /// Log group name.
    pub name: String,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn bytes(n: i64) -> String {
    let n = n.max(0) as f64;
    match n {
        n if n >= 1e9 => format!("{:.1} GB", n / 1e9),
        n if n >= 1e6 => format!("{:.1} MB", n / 1e6),
        n if n >= 1e3 => format!("{:.1} kB", n / 1e3),
        n => format!("{n} B"),
    }
}

impl Resource for LogGroup {
    type Live = Live;
    type Outputs = Outputs;

    fn key(&self) -> Key {
        self.key.to_string()
    }

    fn kind(&self) -> &'static str {
        "log group"
    }

    fn name(&self) -> String {
        self.name.clone()
    }

    fn deps(&self) -> Vec<Dep> {
        Vec::new()
    }

    async fn lookup(
        &self,
        cx: &Cx<'_>,
        _inputs: &Inputs<'_>,
        depth: Depth,
    ) -> anyhow::Result<Option<Live>> {
        let out = cx
            .aws
            .logs
            .describe_log_groups()
            .log_group_name_prefix(&self.name)
            .send()
            .await
            .aws(|| format!("looking up log group {}", self.name))?;
        let Some(group) = out
            .log_groups()
            .iter()
            .find(|g| g.log_group_name() == Some(self.name.as_str()))
            .cloned()
        else {
            return Ok(None);
        };
        let tags = match depth {
            Depth::Observe => None,
            Depth::Full => {
                let arn = group.arn().map_or_else(
                    || cx.arn("logs", &format!("log-group:{}", self.name)),
                    str::to_string,
                );
                let out = cx
                    .aws
                    .logs
                    .list_tags_for_resource()
                    .resource_arn(arn.trim_end_matches(":*"))
                    .send()
                    .await
                    .aws(|| format!("reading the tags of log group {}", self.name))?;
                Some(out.tags().cloned().unwrap_or_default())
            }
        };
        Ok(Some(Live { group, tags }))
    }

    fn tags(&self, live: &Live) -> Option<crate::aws::tags::Tags> {
        live.tags.as_ref()?;
        Some(crate::aws::tags::owned(crate::aws::tags::from_map(
            live.tags.as_ref(),
        )))
    }

    async fn retag(
        &self,
        cx: &Cx<'_>,
        live: &Live,
        changes: &crate::model::TagChanges,
    ) -> anyhow::Result<()> {
        crate::aws::tags::retag_log_group(
            &cx.aws,
            self.id(live).trim_end_matches(":*"),
            &changes.set,
            &changes.remove,
        )
        .await
    }

    fn ownership(&self, env: &Env, live: &Live) -> Ownership {
        match &live.tags {
            Some(t) => env.owner(tags::from_map(Some(t))),
            None => Ownership::Unknown,
        }
    }

    fn id(&self, live: &Live) -> String {
        live.group.arn().unwrap_or(&self.name).to_string()
    }

    fn outputs(&self, _env: &Env, _live: &Live) -> Outputs {
        Outputs {
            name: self.name.clone(),
        }
    }

    fn planned_outputs(&self, _env: &Env) -> Option<Outputs> {
        Some(Outputs {
            name: self.name.clone(),
        })
    }

    fn diff(&self, _env: &Env, live: &Live, _inputs: &Inputs<'_>) -> Diff {
        let mut diff = Diff::none();
        let have = live.group.retention_in_days();
        if have != Some(self.retention_days) {
            diff.change(
                "retention_days",
                have.map(|d| d.to_string()),
                self.retention_days.to_string(),
            );
            // Shortening the retention drops the older events. Setting one where there was none
            // does too, unless the group is younger than the retention (one a run cut short
            // made moments ago): no event can be older than its group.
            let younger = live.group.creation_time().is_some_and(|created| {
                let age_ms = now_ms().saturating_sub(created);
                age_ms < i64::from(self.retention_days) * 86_400_000
            });
            let loses = match have {
                Some(days) => days > self.retention_days,
                None => !younger,
            };
            if loses {
                diff.losing(&format!(
                    "CloudWatch deletes the log events older than {} day{}",
                    self.retention_days,
                    if self.retention_days == 1 { "" } else { "s" }
                ));
            }
        }
        if live.group.kms_key_id() != self.kms_key.as_deref() {
            diff.change(
                "kms_key",
                live.group.kms_key_id().map(str::to_string),
                self.kms_key.as_deref().unwrap_or("(CloudWatch's own)"),
            );
        }
        diff
    }

    fn new_fields(&self, _env: &Env, _inputs: &Inputs<'_>) -> Vec<FieldChange> {
        let mut fields = vec![FieldChange::setting(
            "retention_days",
            self.retention_days.to_string(),
        )];
        if let Some(key) = &self.kms_key {
            fields.push(FieldChange::setting("kms_key", key));
        }
        fields
    }

    async fn create(
        &self,
        cx: &Cx<'_>,
        _inputs: &Inputs<'_>,
        _intent: &Intent,
    ) -> anyhow::Result<Live> {
        let our_tags = tags::map(&cx.tags(&self.name));
        cx.aws
            .logs
            .create_log_group()
            .log_group_name(&self.name)
            .set_kms_key_id(self.kms_key.clone())
            .set_tags(Some(our_tags.clone()))
            .send()
            .await
            .aws(|| format!("creating log group {}", self.name))?;
        Ok(Live {
            group: Group::builder()
                .log_group_name(&self.name)
                .arn(cx.arn("logs", &format!("log-group:{}:*", self.name)))
                .set_kms_key_id(self.kms_key.clone())
                .build(),
            tags: Some(our_tags),
        })
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        _live: &Live,
        diff: &Diff,
        _inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<Live>> {
        if diff.changes("retention_days") {
            cx.aws
                .logs
                .put_retention_policy()
                .log_group_name(&self.name)
                .retention_in_days(self.retention_days)
                .send()
                .await
                .aws(|| format!("setting the retention of log group {}", self.name))?;
        }
        if diff.changes("kms_key") {
            match &self.kms_key {
                // New events are encrypted with the key; older ones stay readable.
                Some(key) => cx
                    .aws
                    .logs
                    .associate_kms_key()
                    .log_group_name(&self.name)
                    .kms_key_id(key)
                    .send()
                    .await
                    .map(|_| ())
                    .aws(|| format!("encrypting log group {} with {key}", self.name))?,
                None => cx
                    .aws
                    .logs
                    .disassociate_kms_key()
                    .log_group_name(&self.name)
                    .send()
                    .await
                    .map(|_| ())
                    .aws(|| format!("removing the KMS key of log group {}", self.name))?,
            }
        }
        Ok(None)
    }

    async fn delete(
        &self,
        cx: &Cx<'_>,
        _live: &Live,
        _inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<String>> {
        cx.aws
            .logs
            .delete_log_group()
            .log_group_name(&self.name)
            .send()
            .await
            .aws(|| format!("deleting log group {}", self.name))?;
        Ok(None)
    }

    fn summary(&self, _live: &Live) -> String {
        self.name.clone()
    }

    fn observe(&self, live: &Live) -> Seen {
        let retention = live.group.retention_in_days().map_or_else(
            || "no retention".to_string(),
            |d| format!("retention {d} days"),
        );
        let stored = live
            .group
            .stored_bytes()
            .map(|b| format!(", {} stored", bytes(b)))
            .unwrap_or_default();
        Seen::new(&self.id(live), "present").detail(format!("{retention}{stored}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::World;
    use crate::resources::testing::env;

    fn live(days: Option<i32>) -> Live {
        Live {
            group: Group::builder()
                .log_group_name("/ecs/cluster1/microservice1")
                .set_retention_in_days(days)
                .build(),
            tags: None,
        }
    }

    #[test]
    fn a_shorter_retention_is_destructive_a_longer_one_is_not() {
        let env = env();
        let r = LogGroup::new(&env.deployment, &env.names);
        let world = World::default();
        assert!(r.diff(&env, &live(Some(30)), &world.inputs()) == Diff::none());
        let longer = r.diff(&env, &live(Some(7)), &world.inputs());
        assert_eq!(longer.words(), "retention_days 7 → 30");
        assert_eq!(longer.fields[0].destructive, None);
        let shorter = r.diff(&env, &live(Some(90)), &world.inputs());
        assert_eq!(shorter.words(), "retention_days 90 → 30");
        assert!(
            shorter.fields[0]
                .destructive
                .as_deref()
                .is_some_and(|w| w.contains("older than 30 days"))
        );
        // Kept forever until now: setting a retention drops the older events, unless the group
        // is younger than the retention (a run cut short right after making it).
        assert!(
            r.diff(&env, &live(None), &world.inputs()).fields[0]
                .destructive
                .is_some()
        );
        let mut fresh = live(None);
        fresh.group = Group::builder()
            .log_group_name("g")
            .creation_time(now_ms() - 60_000)
            .build();
        let diff = r.diff(&env, &fresh, &world.inputs());
        assert_eq!(diff.words(), "retention_days (none) → 30");
        assert_eq!(diff.fields[0].destructive, None);
    }

    #[test]
    fn stored_bytes_read_as_people_do() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1_500), "1.5 kB");
        assert_eq!(bytes(2_300_000_000), "2.3 GB");
    }
}
