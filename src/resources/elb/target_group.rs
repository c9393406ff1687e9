//! The target group: TCP on the service port (HTTP behind an Application Load Balancer), IP targets (Fargate tasks), an HTTP health
//! check on the env file's path, and a 30 s deregistration delay instead of AWS's 300 s so
//! deploys do not wait five minutes per task.

use aws_sdk_elasticloadbalancingv2::types::{
    Matcher, ProtocolEnum, TargetGroup as Tg, TargetGroupAttribute, TargetTypeEnum,
};
use serde::{Deserialize, Serialize};

use crate::aws::tags;
use crate::aws::wait::Patience;
use crate::aws::{AwsResultExt as _, found};
use crate::model::status::Target;
use crate::model::{
    Cx, Dep, Depth, Diff, Env, FieldChange, Inputs, Key, Ownership, Ref, Resource, Seen,
};
use crate::resources::network::vpc;
use crate::state::Intent;

impl TargetGroup {
    /// Takes the group out of the stack's ECS service when the service still sends its tasks
    /// to it besides another group (a stack that moved to the other kind of load balancer),
    /// and waits for the deployment that makes, so no task is left registered with a group
    /// that is gone. A service with this group alone is being deleted with it.
    async fn leave_the_service(&self, cx: &Cx<'_>, arn: &str) -> anyhow::Result<()> {
        use aws_sdk_ecs::types::LoadBalancer as Attached;
        let Some(service) =
            crate::resources::ecs::service(cx, &self.cluster, &self.service).await?
        else {
            return Ok(());
        };
        let attached = service.load_balancers();
        let rest: Vec<Attached> = attached
            .iter()
            .filter(|lb| lb.target_group_arn() != Some(arn))
            .cloned()
            .collect();
        if service.status() != Some("ACTIVE") || rest.len() == attached.len() || rest.is_empty() {
            return Ok(());
        }
        cx.say(format!("taking the tasks of {} off it", self.service));
        cx.aws
            .ecs
            .update_service()
            .cluster(&self.cluster)
            .service(&self.service)
            .set_load_balancers(Some(rest))
            .send()
            .await
            .aws(|| {
                format!(
                    "taking target group {} off service {}",
                    self.name, self.service
                )
            })?;
        let what = format!(
            "service {} to stop using target group {}",
            self.service, self.name
        );
        crate::aws::wait::until(&what, cx.line, Patience::minutes(30), || async {
            let out = cx
                .aws
                .ecs
                .describe_services()
                .cluster(&self.cluster)
                .services(&self.service)
                .send()
                .await
                .aws(|| format!("looking up ecs service {}", self.service))?;
            let Some(service) = out.services().first() else {
                return Ok(crate::aws::wait::Poll::Ready(()));
            };
            let deployments = service.deployments();
            let settled = deployments.len() == 1
                && deployments[0].rollout_state()
                    == Some(&aws_sdk_ecs::types::DeploymentRolloutState::Completed);
            Ok(if settled {
                crate::aws::wait::Poll::Ready(())
            } else {
                crate::aws::wait::Poll::Pending(format!("{} deployments", deployments.len()))
            })
        })
        .await
    }
}

/// The attribute that says how long a deregistered target keeps its connections.
pub const DEREGISTRATION_DELAY: &str = "deregistration_delay.timeout_seconds";

const DEREGISTRATION_DELAY_SECONDS: &str = "30";

/// The target group of the service's tasks.
pub struct TargetGroup {
    name: String,
    port: i32,
    health_check_path: String,
    check: crate::config::TargetHealthCheck,
    vpc: Ref<vpc::Outputs>,
    kind: crate::config::LoadBalancerKind,
    protocol: ProtocolEnum,
    cluster: String,
    service: String,
}

/// The protocol of the target group and listener in front of the tasks: TCP for an NLB,
/// HTTP for an ALB.
pub fn protocol(kind: crate::config::LoadBalancerKind) -> ProtocolEnum {
    match kind {
        crate::config::LoadBalancerKind::Nlb => ProtocolEnum::Tcp,
        crate::config::LoadBalancerKind::Alb => ProtocolEnum::Http,
    }
}

impl TargetGroup {
    /// The target group of `deployment`'s service.
    pub fn new(
        deployment: &crate::config::Deployment,
        names: &crate::config::names::Names,
        vpc: &Ref<vpc::Outputs>,
    ) -> TargetGroup {
        TargetGroup {
            name: names.target_group.clone(),
            port: i32::from(deployment.service.port),
            health_check_path: deployment.service.health_check_path.clone(),
            check: deployment.service.target_health_check.clone(),
            vpc: vpc.clone(),
            kind: deployment.network.load_balancer,
            protocol: protocol(deployment.network.load_balancer),
            cluster: names.cluster.clone(),
            service: names.service.clone(),
        }
    }
}

impl TargetGroup {
    fn matcher(&self) -> Matcher {
        Matcher::builder().http_code(&self.check.matcher).build()
    }
}

/// The target group, with its tags and deregistration delay when read.
#[derive(Debug, Clone)]
pub struct Live {
    /// The target group.
    pub tg: Tg,
    /// Its tags (`None`: not read).
    pub tags: Option<Vec<(String, String)>>,
    /// Its deregistration delay in seconds (`None`: not read, or a group just made).
    pub deregistration_delay: Option<String>,
}

/// What the target group hands its dependents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outputs {
    /// Target group ARN.
    pub arn: String,
}

impl Resource for TargetGroup {
    type Live = Live;
    type Outputs = Outputs;

    fn key(&self) -> Key {
        let [_, key, _] = super::keys(self.kind);
        key
    }

    fn kind(&self) -> &'static str {
        "target group"
    }

    fn name(&self) -> String {
        self.name.clone()
    }

    fn deps(&self) -> Vec<Dep> {
        vec![self.vpc.dep()]
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
                .describe_target_groups()
                .names(&self.name)
                .send()
                .await
                .aws(|| format!("looking up target group {}", self.name)),
        )?;
        let Some(tg) = out.and_then(|o| o.target_groups().first().cloned()) else {
            return Ok(None);
        };
        let arn = tg.target_group_arn().unwrap_or_default().to_string();
        if depth == Depth::Observe {
            return Ok(Some(Live {
                tg,
                tags: None,
                deregistration_delay: None,
            }));
        }
        let tags = super::tags_of(cx, &arn).await?;
        let attrs = cx
            .aws
            .elb
            .describe_target_group_attributes()
            .target_group_arn(&arn)
            .send()
            .await
            .aws(|| format!("reading the attributes of target group {}", self.name))?;
        let deregistration_delay = attrs
            .attributes()
            .iter()
            .find(|a| a.key() == Some(DEREGISTRATION_DELAY))
            .and_then(|a| a.value().map(str::to_string));
        Ok(Some(Live {
            tg,
            tags: Some(tags),
            deregistration_delay,
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
        live.tg.target_group_arn().unwrap_or_default().to_string()
    }

    fn outputs(&self, _env: &Env, live: &Live) -> Outputs {
        Outputs { arn: self.id(live) }
    }

    fn diff(&self, env: &Env, live: &Live, _inputs: &Inputs<'_>) -> Diff {
        let mut diff = Diff::none();
        let port = live.tg.port().map(|p| p.to_string());
        diff.compare("port", port.as_deref(), self.port.to_string())
            .compare(
                "target_type",
                live.tg.target_type().map(TargetTypeEnum::as_str),
                "ip",
            );
        if let Some(protocol) = live.tg.protocol() {
            diff.compare("protocol", Some(protocol.as_str()), self.protocol.as_str());
        }
        if !diff.fields.is_empty() {
            diff.refuse = Some(format!(
                "a target group's port, protocol and target type cannot change (Fargate tasks \
                 need `ip`); run `{}`, then `up`",
                env.hints.command("down")
            ));
            return diff;
        }
        let number = |n: Option<i32>| n.map(|n| n.to_string());
        diff.compare(
            "health_check_path",
            live.tg.health_check_path(),
            self.health_check_path.as_str(),
        )
        .compare(
            "health_check_interval",
            number(live.tg.health_check_interval_seconds()).as_deref(),
            self.check.interval.to_string(),
        )
        .compare(
            "healthy_threshold",
            number(live.tg.healthy_threshold_count()).as_deref(),
            self.check.healthy_threshold.to_string(),
        )
        .compare(
            "unhealthy_threshold",
            number(live.tg.unhealthy_threshold_count()).as_deref(),
            self.check.unhealthy_threshold.to_string(),
        )
        .compare(
            "deregistration_delay",
            live.deregistration_delay.as_deref(),
            DEREGISTRATION_DELAY_SECONDS,
        );
        if let Some(timeout) = self.check.timeout() {
            diff.compare(
                "health_check_timeout",
                number(live.tg.health_check_timeout_seconds()).as_deref(),
                timeout.to_string(),
            );
        }
        // Only judged when AWS reports it: an emulator may not keep it.
        if let Some(codes) = live.tg.matcher().and_then(|m| m.http_code()) {
            diff.compare("matcher", Some(codes), self.check.matcher.as_str());
        }
        diff
    }

    fn new_fields(&self, _env: &Env, _inputs: &Inputs<'_>) -> Vec<FieldChange> {
        vec![FieldChange::setting(
            "health_check_path",
            &self.health_check_path,
        )]
    }

    async fn create(
        &self,
        cx: &Cx<'_>,
        inputs: &Inputs<'_>,
        _intent: &Intent,
    ) -> anyhow::Result<Live> {
        let vpc = inputs.need(&self.vpc)?;
        let our_tags = cx.tags(&self.name);
        let out = cx
            .single
            .elb
            .create_target_group()
            .name(&self.name)
            .protocol(self.protocol.clone())
            .port(self.port)
            .vpc_id(&vpc.id)
            .target_type(TargetTypeEnum::Ip)
            .health_check_enabled(true)
            .health_check_protocol(ProtocolEnum::Http)
            .health_check_path(&self.health_check_path)
            .health_check_interval_seconds(crate::aws::int(self.check.interval))
            .healthy_threshold_count(crate::aws::int(self.check.healthy_threshold))
            .unhealthy_threshold_count(crate::aws::int(self.check.unhealthy_threshold))
            .matcher(self.matcher())
            .set_health_check_timeout_seconds(self.check.timeout().map(crate::aws::int))
            .set_tags(Some(tags::elb(&our_tags)))
            .send()
            .await
            .aws(|| format!("creating target group {}", self.name))?;
        let tg = out
            .target_groups()
            .first()
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("CreateTargetGroup returned nothing"))?;
        Ok(Live {
            tg,
            tags: Some(our_tags),
            deregistration_delay: None,
        })
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        live: &Live,
        diff: &Diff,
        _inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<Live>> {
        let arn = self.id(live);
        if [
            "health_check_path",
            "health_check_interval",
            "healthy_threshold",
            "unhealthy_threshold",
            "matcher",
            "health_check_timeout",
        ]
        .iter()
        .any(|field| diff.changes(field))
        {
            cx.aws
                .elb
                .modify_target_group()
                .target_group_arn(&arn)
                .health_check_path(&self.health_check_path)
                .health_check_interval_seconds(crate::aws::int(self.check.interval))
                .healthy_threshold_count(crate::aws::int(self.check.healthy_threshold))
                .unhealthy_threshold_count(crate::aws::int(self.check.unhealthy_threshold))
                .matcher(self.matcher())
                .set_health_check_timeout_seconds(self.check.timeout().map(crate::aws::int))
                .send()
                .await
                .aws(|| format!("updating the health check of target group {}", self.name))?;
        }
        if diff.changes("deregistration_delay") {
            cx.aws
                .elb
                .modify_target_group_attributes()
                .target_group_arn(&arn)
                .attributes(
                    TargetGroupAttribute::builder()
                        .key(DEREGISTRATION_DELAY)
                        .value(DEREGISTRATION_DELAY_SECONDS)
                        .build(),
                )
                .send()
                .await
                .aws(|| {
                    format!(
                        "setting the deregistration delay of target group {}",
                        self.name
                    )
                })?;
        }
        Ok(None)
    }

    async fn delete(
        &self,
        cx: &Cx<'_>,
        live: &Live,
        _inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<String>> {
        self.leave_the_service(cx, &self.id(live)).await?;
        cx.aws
            .elb
            .delete_target_group()
            .target_group_arn(self.id(live))
            .send()
            .await
            .aws(|| format!("deleting target group {}", self.name))?;
        Ok(None)
    }

    fn delete_retryable(&self) -> &'static [&'static str] {
        // A listener or a service still using it.
        &["ResourceInUse"]
    }

    fn patience(&self) -> Patience {
        Patience::minutes(10)
    }

    fn summary(&self, _live: &Live) -> String {
        self.name.clone()
    }

    fn observe(&self, live: &Live) -> Seen {
        Seen::new(&self.id(live), "present").detail(format!(
            "{}:{} health {}",
            live.tg
                .protocol()
                .map_or("tcp".to_string(), |p| p.as_str().to_lowercase()),
            live.tg.port().unwrap_or_default(),
            live.tg.health_check_path().unwrap_or("-")
        ))
    }
}

/// The targets of the group `arn` and their health, as `status` shows them.
pub async fn health(env: &Env, arn: &str) -> anyhow::Result<Vec<Target>> {
    let out = env
        .aws
        .elb
        .describe_target_health()
        .target_group_arn(arn)
        .send()
        .await
        .aws(|| format!("reading the target health of {arn}"))?;
    let mut targets: Vec<Target> = out
        .target_health_descriptions()
        .iter()
        .map(|d| {
            let target = d.target();
            let health = d.target_health();
            Target {
                id: target.and_then(|t| t.id()).unwrap_or_default().to_string(),
                port: target.and_then(|t| t.port()),
                zone: target
                    .and_then(|t| t.availability_zone())
                    .map(str::to_string),
                state: health
                    .and_then(|h| h.state())
                    .map_or("unknown", |s| s.as_str())
                    .to_string(),
                reason: health
                    .and_then(|h| h.reason())
                    .map(|r| r.as_str().to_string()),
                description: health.and_then(|h| h.description()).map(str::to_string),
            }
        })
        .collect();
    // In a stable order: AWS lists them as it likes.
    targets.sort_by(|a, b| (&a.id, a.port).cmp(&(&b.id, b.port)));
    Ok(targets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::World;
    use crate::resources::testing::env;

    fn live(port: i32, path: &str, delay: Option<&str>) -> Live {
        Live {
            tg: Tg::builder()
                .target_group_arn("tg-1")
                .port(port)
                .protocol(ProtocolEnum::Tcp)
                .target_type(TargetTypeEnum::Ip)
                .health_check_path(path)
                .health_check_interval_seconds(10)
                .healthy_threshold_count(2)
                .unhealthy_threshold_count(2)
                .build(),
            tags: None,
            deregistration_delay: delay.map(str::to_string),
        }
    }

    #[test]
    fn the_health_check_and_delay_converge_the_port_is_refused() {
        let env = env();
        let r = TargetGroup::new(&env.deployment, &env.names, &Ref::new("vpc"));
        let world = World::default();
        assert!(
            r.diff(
                &env,
                &live(8080, "/actuator/health", Some("30")),
                &world.inputs()
            ) == Diff::none()
        );
        assert_eq!(
            r.diff(&env, &live(8080, "/", None), &world.inputs())
                .words(),
            "health_check_path / → /actuator/health, deregistration_delay (none) → 30"
        );
        let moved = r.diff(
            &env,
            &live(9090, "/actuator/health", Some("30")),
            &world.inputs(),
        );
        assert!(moved.refuse.is_some());
        assert_eq!(moved.words(), "port 9090 → 8080");
        let mut http = live(8080, "/actuator/health", Some("30"));
        http.tg.protocol = Some(ProtocolEnum::Http);
        let other_kind = r.diff(&env, &http, &world.inputs());
        assert!(other_kind.refuse.is_some());
        assert_eq!(other_kind.words(), "protocol HTTP → TCP");
        let mut defaults = live(8080, "/actuator/health", Some("30"));
        defaults.tg = Tg::builder()
            .target_group_arn("tg-1")
            .port(8080)
            .target_type(TargetTypeEnum::Ip)
            .health_check_path("/actuator/health")
            .health_check_interval_seconds(30)
            .healthy_threshold_count(5)
            .unhealthy_threshold_count(2)
            .matcher(Matcher::builder().http_code("200").build())
            .build();
        assert_eq!(
            r.diff(&env, &defaults, &world.inputs()).words(),
            "health_check_interval 30 → 10, healthy_threshold 5 → 2, matcher 200 → 200-399"
        );
        // The env file's own settings.
        let mut env = env;
        env.deployment.service.target_health_check = crate::config::TargetHealthCheck {
            interval: 30,
            healthy_threshold: 5,
            unhealthy_threshold: 3,
            matcher: "200".to_string(),
            timeout: None,
        };
        let r = TargetGroup::new(&env.deployment, &env.names, &Ref::new("vpc"));
        assert_eq!(
            r.diff(&env, &defaults, &world.inputs()).words(),
            "unhealthy_threshold 2 → 3"
        );
    }
}
