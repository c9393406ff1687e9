//! The ECS cluster the service runs in, with CloudWatch Container Insights when the env file
//! asks.

use aws_sdk_ecs::types::{Cluster as Live, ClusterField, ClusterSetting, ClusterSettingName};
use serde::{Deserialize, Serialize};

use crate::aws::AwsResultExt as _;
use crate::aws::tags;
use crate::aws::wait::{self, Patience, Poll};
use crate::model::{
    Cx, Dep, Depth, Diff, Env, FieldChange, Inputs, Key, Ownership, Ref, Resource, Seen,
};
use crate::resources::service_linked_role;
use crate::state::Intent;

/// The cluster.
pub struct Cluster {
    name: String,
    container_insights: Option<bool>,
    /// Whether the service runs on Fargate Spot, which the cluster must offer.
    spot: bool,
    service_linked_role: Ref<service_linked_role::Outputs>,
}

/// The capacity providers a cluster offers for Fargate Spot (and regular Fargate beside it).
const FARGATE_PROVIDERS: [&str; 2] = ["FARGATE", "FARGATE_SPOT"];

impl Cluster {
    /// The deployment's cluster, made once ECS's service-linked role exists.
    pub fn new(
        deployment: &crate::config::Deployment,
        names: &crate::config::names::Names,
        service_linked_role: &Ref<service_linked_role::Outputs>,
    ) -> Cluster {
        Cluster {
            name: names.cluster.clone(),
            container_insights: deployment.logs.container_insights,
            spot: deployment.service.spot.is_some(),
            service_linked_role: service_linked_role.clone(),
        }
    }

    fn insights_word(&self) -> &'static str {
        if self.container_insights == Some(true) {
            "enabled"
        } else {
            "disabled"
        }
    }

    fn insights(&self) -> ClusterSetting {
        ClusterSetting::builder()
            .name(ClusterSettingName::ContainerInsights)
            .value(self.insights_word())
            .build()
    }
}

/// The cluster's Container Insights setting, if it has one.
fn insights(live: &Live) -> Option<&str> {
    live.settings()
        .iter()
        .find(|s| s.name() == Some(&ClusterSettingName::ContainerInsights))
        .and_then(ClusterSetting::value)
}

/// What the cluster hands its dependents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outputs {
    /// Cluster name.
    pub name: String,
    /// Cluster ARN.
    pub arn: String,
}

impl Resource for Cluster {
    type Live = Live;
    type Outputs = Outputs;

    fn key(&self) -> Key {
        "cluster".to_string()
    }

    fn kind(&self) -> &'static str {
        "ecs cluster"
    }

    fn name(&self) -> String {
        self.name.clone()
    }

    fn deps(&self) -> Vec<Dep> {
        vec![self.service_linked_role.dep()]
    }

    async fn lookup(
        &self,
        cx: &Cx<'_>,
        _inputs: &Inputs<'_>,
        _depth: Depth,
    ) -> anyhow::Result<Option<Live>> {
        let out = cx
            .aws
            .ecs
            .describe_clusters()
            .clusters(&self.name)
            .include(ClusterField::Tags)
            .include(ClusterField::Settings)
            .send()
            .await
            .aws(|| format!("looking up ECS cluster {}", self.name))?;
        Ok(out
            .clusters()
            .iter()
            .find(|c| matches!(c.status(), Some("ACTIVE" | "PROVISIONING")))
            .cloned())
    }

    fn tags(&self, live: &Live) -> Option<crate::aws::tags::Tags> {
        Some(crate::aws::tags::owned(crate::aws::tags::from_ecs(
            live.tags(),
        )))
    }

    async fn retag(
        &self,
        cx: &Cx<'_>,
        live: &Live,
        changes: &crate::model::TagChanges,
    ) -> anyhow::Result<()> {
        crate::aws::tags::retag_ecs(&cx.aws, &self.id(live), &changes.set, &changes.remove).await
    }

    fn ownership(&self, env: &Env, live: &Live) -> Ownership {
        super::owner(env, live.tags())
    }

    fn id(&self, live: &Live) -> String {
        live.cluster_arn().unwrap_or_default().to_string()
    }

    fn outputs(&self, _env: &Env, live: &Live) -> Outputs {
        Outputs {
            name: self.name.clone(),
            arn: self.id(live),
        }
    }

    fn planned_outputs(&self, env: &Env) -> Option<Outputs> {
        Some(Outputs {
            name: self.name.clone(),
            arn: env.arn("ecs", &format!("cluster/{}", self.name)),
        })
    }

    fn diff(&self, _env: &Env, live: &Live, _inputs: &Inputs<'_>) -> Diff {
        let mut diff = Diff::none();
        // Unless the env file says, the cluster keeps what the account's default gave it.
        if self.container_insights.is_some() {
            // "enhanced" observability is Container Insights too.
            let have = insights(live).map(|v| if v == "enhanced" { "enabled" } else { v });
            diff.compare("container_insights", have, self.insights_word());
        }
        // Providers are added for Spot, never taken away: another service may use them.
        let providers = live.capacity_providers();
        if self.spot
            && !FARGATE_PROVIDERS
                .iter()
                .all(|p| providers.iter().any(|h| h == p))
        {
            let mut want: Vec<String> = providers.to_vec();
            want.extend(
                FARGATE_PROVIDERS
                    .iter()
                    .filter(|p| !providers.iter().any(|h| h == *p))
                    .map(|p| p.to_string()),
            );
            diff.change(
                "capacity_providers",
                crate::model::listed(providers),
                want.join(", "),
            );
        }
        diff
    }

    fn new_fields(&self, _env: &Env, _inputs: &Inputs<'_>) -> Vec<FieldChange> {
        match self.container_insights {
            Some(_) => vec![FieldChange::setting(
                "container_insights",
                self.insights_word(),
            )],
            None => Vec::new(),
        }
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        live: &Live,
        diff: &Diff,
        _inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<Live>> {
        if diff.changes("container_insights") {
            cx.aws
                .ecs
                .update_cluster_settings()
                .cluster(&self.name)
                .settings(self.insights())
                .send()
                .await
                .aws(|| format!("setting Container Insights of ECS cluster {}", self.name))?;
        }
        if diff.changes("capacity_providers") {
            let mut providers: Vec<String> = live.capacity_providers().to_vec();
            for p in FARGATE_PROVIDERS {
                if !providers.iter().any(|h| h == p) {
                    providers.push(p.to_string());
                }
            }
            cx.aws
                .ecs
                .put_cluster_capacity_providers()
                .cluster(&self.name)
                .set_capacity_providers(Some(providers))
                // Kept as it is: the stack's service names its own strategy.
                .set_default_capacity_provider_strategy(Some(
                    live.default_capacity_provider_strategy().to_vec(),
                ))
                .send()
                .await
                .aws(|| format!("adding Fargate Spot to ECS cluster {}", self.name))?;
        }
        Ok(None)
    }

    async fn create(
        &self,
        cx: &Cx<'_>,
        _inputs: &Inputs<'_>,
        _intent: &Intent,
    ) -> anyhow::Result<Live> {
        // CreateCluster is idempotent by name: a retry returns the same cluster.
        let out = wait::retrying(
            &format!(
                "creating ECS cluster {} (waiting for ECS's new service-linked role)",
                self.name
            ),
            cx.line,
            Patience::minutes(2),
            service_linked_role::not_usable_yet,
            || async {
                cx.aws
                    .ecs
                    .create_cluster()
                    .cluster_name(&self.name)
                    .set_settings(self.container_insights.map(|_| vec![self.insights()]))
                    .set_capacity_providers(
                        self.spot
                            .then(|| FARGATE_PROVIDERS.iter().map(|p| p.to_string()).collect()),
                    )
                    .set_tags(Some(tags::ecs(&cx.tags(&self.name))))
                    .send()
                    .await
                    .aws(|| format!("creating ECS cluster {}", self.name))
            },
        )
        .await?;
        out.cluster()
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("CreateCluster returned no cluster"))
    }

    fn readiness(&self, live: &Live) -> Poll<()> {
        match live.status() {
            Some("PROVISIONING") => Poll::Pending("provisioning".to_string()),
            _ => Poll::Ready(()),
        }
    }

    async fn delete(
        &self,
        cx: &Cx<'_>,
        _live: &Live,
        _inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<String>> {
        // Stopped with the service, unless that was gone already (an interrupted `down`).
        super::tasks::stop_one_off(cx, &self.name).await?;
        cx.aws
            .ecs
            .delete_cluster()
            .cluster(&self.name)
            .send()
            .await
            .aws(|| format!("deleting ECS cluster {}", self.name))?;
        Ok(None)
    }

    fn delete_retryable(&self) -> &'static [&'static str] {
        // A service still draining holds the cluster.
        &[
            "ClusterContainsServicesException",
            "ClusterContainsTasksException",
        ]
    }

    fn patience(&self) -> Patience {
        Patience::minutes(10)
    }

    fn summary(&self, _live: &Live) -> String {
        self.name.clone()
    }

    fn observe(&self, live: &Live) -> Seen {
        Seen::new(&self.id(live), live.status().unwrap_or("present"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Diff, World};
    use crate::resources::testing::env;

    fn cluster(status: &str, tags: &crate::aws::tags::Tags) -> Live {
        Live::builder()
            .cluster_name("cluster1-cluster")
            .cluster_arn("arn:aws:ecs:eu-west-1:123456789012:cluster/cluster1-cluster")
            .status(status)
            .set_tags(Some(tags::ecs(tags)))
            .build()
    }

    #[test]
    fn a_cluster_has_no_settings_and_is_ours_only_by_tag() {
        let env = env();
        let r = Cluster::new(
            &env.deployment,
            &env.names,
            &Ref::new("service_linked_role/ecs"),
        );
        let ours = cluster("ACTIVE", &env.tags("cluster1-cluster"));
        assert_eq!(
            r.diff(&env, &ours, &World::default().inputs()),
            Diff::none()
        );
        assert_eq!(r.ownership(&env, &ours), Ownership::Ours);
        let theirs = cluster("ACTIVE", &crate::aws::tags::Tags::default());
        assert_eq!(r.ownership(&env, &theirs), Ownership::NotOurs);
        // Its ARN is known before it exists, so a plan shows no unknown for its dependents.
        assert_eq!(r.planned_outputs(&env).map(|o| o.arn), Some(r.id(&ours)));
        assert!(matches!(
            r.readiness(&cluster("PROVISIONING", &env.tags("cluster1-cluster"))),
            Poll::Pending(_)
        ));
        assert!(matches!(r.readiness(&ours), Poll::Ready(())));
    }

    #[test]
    fn container_insights_follow_the_env_file_once_asked() {
        let mut env = env();
        let with = |value: &str| {
            Live::builder()
                .settings(
                    ClusterSetting::builder()
                        .name(ClusterSettingName::ContainerInsights)
                        .value(value)
                        .build(),
                )
                .build()
        };
        let plain = Live::builder().build();
        let r = |env: &Env| Cluster::new(&env.deployment, &env.names, &Ref::new("slr"));
        let words =
            |env: &Env, live: &Live| r(env).diff(env, live, &World::default().inputs()).words();
        assert_eq!(
            words(&env, &plain),
            "",
            "the account's default is left alone"
        );
        assert_eq!(words(&env, &with("enabled")), "");
        env.deployment.logs.container_insights = Some(true);
        assert_eq!(words(&env, &plain), "container_insights (none) → enabled");
        env.deployment.logs.container_insights = Some(false);
        assert_eq!(
            words(&env, &with("enabled")),
            "container_insights enabled → disabled"
        );
        env.deployment.logs.container_insights = Some(true);
        assert_eq!(words(&env, &with("enabled")), "");
    }
}
