//! Application Auto Scaling of the service's task count: the scalable target (min and max),
//! a target-tracking policy per metric the env file scales on (CPU, memory, and behind an ALB
//! requests per task), and the scheduled actions.
//!
//! Once the target exists the desired count is the autoscaler's: the service only brings it
//! into the bounds (see `service.rs`), so re-applying the env file never undoes a scale-out
//! (terraform-provider-aws#335, aws-cdk#5215, copilot-cli#1619).
//!
//! Deregistering the target deletes its policies and scheduled actions with it
//! (API_DeregisterScalableTarget), so `down` is one call.

use aws_sdk_applicationautoscaling::types::{
    MetricType, PolicyType, PredefinedMetricSpecification, ScalableDimension, ScalableTarget,
    ScalableTargetAction, ScalingActivity, ScalingPolicy, ScheduledAction, ServiceNamespace,
    TargetTrackingScalingPolicyConfiguration,
};
use serde::{Deserialize, Serialize};

use super::service;
use crate::aws::AwsResultExt as _;
use crate::aws::tags;
use crate::config::{self, Deployment, names::Names};
use crate::model::{
    Cx, Dep, Depth, Diff, Env, FieldChange, Inputs, Key, Ownership, Ref, Resource, Seen,
};
use crate::resources::elb::{load_balancer, target_group};
use crate::state::Intent;

/// The metrics the service scales on, by the name of their policy's suffix.
const METRICS: [(&str, MetricType); 3] = [
    ("cpu", MetricType::EcsServiceAverageCpuUtilization),
    ("memory", MetricType::EcsServiceAverageMemoryUtilization),
    ("requests", MetricType::AlbRequestCountPerTarget),
];

/// The ALB and target group whose requests per target a policy tracks.
pub struct RequestCount {
    load_balancer: Ref<load_balancer::Outputs>,
    target_group: Ref<target_group::Outputs>,
}

impl RequestCount {
    /// The requests `load_balancer` sends to each target of `target_group`.
    pub fn of(
        load_balancer: &Ref<load_balancer::Outputs>,
        target_group: &Ref<target_group::Outputs>,
    ) -> RequestCount {
        RequestCount {
            load_balancer: load_balancer.clone(),
            target_group: target_group.clone(),
        }
    }

    /// `app/<lb>/<id>/targetgroup/<tg>/<id>`: the metric's resource label, the ends of the two
    /// ARNs ("PredefinedMetricSpecification", Application Auto Scaling API reference).
    fn label(&self, inputs: &Inputs<'_>) -> anyhow::Result<String> {
        let lb = inputs.need(&self.load_balancer)?;
        let tg = inputs.need(&self.target_group)?;
        let lb_part = lb.arn.split_once(":loadbalancer/").map(|(_, rest)| rest);
        let tg_part = tg.arn.split_once(":targetgroup/").map(|(_, rest)| rest);
        match (lb_part, tg_part) {
            (Some(lb_part), Some(tg_part)) => Ok(format!("{lb_part}/targetgroup/{tg_part}")),
            _ => anyhow::bail!(
                "cannot make a request-count label of load balancer {} and target group {}",
                lb.arn,
                tg.arn
            ),
        }
    }
}

/// The service's scalable target, with its policies and schedules.
pub struct Autoscaling {
    resource_id: String,
    service_name: String,
    cluster_name: String,
    settings: config::Autoscaling,
    service: Ref<service::Outputs>,
    request_count: Option<RequestCount>,
}

impl Autoscaling {
    /// The autoscaling of `deployment`'s service, made once the service exists;
    /// `request_count` says where its requests are counted, when it scales on them.
    pub fn new(
        deployment: &Deployment,
        names: &Names,
        service: &Ref<service::Outputs>,
        request_count: RequestCount,
    ) -> Option<Autoscaling> {
        let settings = deployment.service.autoscaling.clone()?;
        let scales_on_requests = settings.requests.is_some();
        let mut autoscaling = Autoscaling::with(names, settings, service);
        autoscaling.request_count = scales_on_requests.then_some(request_count);
        Some(autoscaling)
    }

    /// The autoscaling the state file records but the env file no longer asks for.
    pub fn no_longer_used(names: &Names, service: &Ref<service::Outputs>) -> Autoscaling {
        let settings = config::Autoscaling {
            min: 0,
            max: 0,
            cpu: None,
            memory: None,
            requests: None,
            scale_in_cooldown: 0,
            scale_out_cooldown: 0,
            schedules: Vec::new(),
        };
        Autoscaling::with(names, settings, service)
    }

    fn with(names: &Names, settings: config::Autoscaling, service: &Ref<service::Outputs>) -> Self {
        Autoscaling {
            resource_id: format!("service/{}/{}", names.cluster, names.service),
            service_name: names.service.clone(),
            cluster_name: names.cluster.clone(),
            settings,
            service: service.clone(),
            request_count: None,
        }
    }

    fn policy_name(&self, metric: &str) -> String {
        format!("{}-{metric}", self.service_name)
    }

    fn target_of(&self, metric: &str) -> Option<u32> {
        match metric {
            "cpu" => self.settings.cpu,
            "memory" => self.settings.memory,
            _ => self.settings.requests,
        }
    }

    /// A policy in `plan`'s words: target and cooldowns, or `(none)`.
    fn wanted_policy(&self, metric: &str) -> String {
        self.target_of(metric).map_or_else(
            || "(none)".to_string(),
            |target| {
                policy_words(
                    metric,
                    f64::from(target),
                    self.settings.scale_in_cooldown,
                    self.settings.scale_out_cooldown,
                )
            },
        )
    }

    fn wanted_schedules(&self) -> String {
        schedule_words(self.settings.schedules.iter().map(|s| {
            (
                s.name.clone(),
                format!("cron({})", s.cron),
                s.timezone.clone(),
                s.min,
                s.max,
            )
        }))
    }

    async fn register(&self, cx: &Cx<'_>) -> anyhow::Result<()> {
        cx.aws
            .autoscaling
            .register_scalable_target()
            .service_namespace(ServiceNamespace::Ecs)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .resource_id(&self.resource_id)
            .min_capacity(crate::aws::int(self.settings.min))
            .max_capacity(crate::aws::int(self.settings.max))
            .set_tags(Some(tags::map(&cx.tags(&self.service_name))))
            .send()
            .await
            .aws(|| format!("registering the scalable target {}", self.resource_id))?;
        Ok(())
    }

    async fn put_policy(
        &self,
        cx: &Cx<'_>,
        inputs: &Inputs<'_>,
        metric: &str,
        kind: MetricType,
    ) -> anyhow::Result<()> {
        let Some(target) = self.target_of(metric) else {
            return Ok(());
        };
        let label = match (&self.request_count, &kind) {
            (Some(count), MetricType::AlbRequestCountPerTarget) => Some(count.label(inputs)?),
            _ => None,
        };
        let name = self.policy_name(metric);
        cx.aws
            .autoscaling
            .put_scaling_policy()
            .policy_name(&name)
            .service_namespace(ServiceNamespace::Ecs)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .resource_id(&self.resource_id)
            .policy_type(PolicyType::TargetTrackingScaling)
            .target_tracking_scaling_policy_configuration(
                TargetTrackingScalingPolicyConfiguration::builder()
                    .target_value(f64::from(target))
                    .predefined_metric_specification(
                        PredefinedMetricSpecification::builder()
                            .predefined_metric_type(kind)
                            .set_resource_label(label)
                            .build()?,
                    )
                    .scale_in_cooldown(crate::aws::int(self.settings.scale_in_cooldown))
                    .scale_out_cooldown(crate::aws::int(self.settings.scale_out_cooldown))
                    .build()?,
            )
            .send()
            .await
            .aws(|| format!("putting the scaling policy {name}"))?;
        Ok(())
    }

    async fn delete_policy(&self, cx: &Cx<'_>, metric: &str) -> anyhow::Result<()> {
        let name = self.policy_name(metric);
        crate::aws::ignore(
            cx.aws
                .autoscaling
                .delete_scaling_policy()
                .policy_name(&name)
                .service_namespace(ServiceNamespace::Ecs)
                .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
                .resource_id(&self.resource_id)
                .send()
                .await
                .aws(|| format!("deleting the scaling policy {name}")),
            &["ObjectNotFoundException"],
        )
    }

    async fn put_schedule(
        &self,
        cx: &Cx<'_>,
        schedule: &config::ScheduledScaling,
    ) -> anyhow::Result<()> {
        cx.aws
            .autoscaling
            .put_scheduled_action()
            .scheduled_action_name(&schedule.name)
            .service_namespace(ServiceNamespace::Ecs)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .resource_id(&self.resource_id)
            .schedule(format!("cron({})", schedule.cron))
            .set_timezone(schedule.timezone.clone())
            .scalable_target_action(
                ScalableTargetAction::builder()
                    .min_capacity(crate::aws::int(schedule.min))
                    .max_capacity(crate::aws::int(schedule.max))
                    .build(),
            )
            .send()
            .await
            .aws(|| format!("putting the scheduled action {}", schedule.name))?;
        Ok(())
    }

    /// Makes policies and schedules what the env file says, given what `live` has.
    async fn converge_parts(
        &self,
        cx: &Cx<'_>,
        inputs: &Inputs<'_>,
        live: Option<&Live>,
    ) -> anyhow::Result<()> {
        for (metric, kind) in METRICS {
            let have = live.map_or_else(|| "(none)".to_string(), |l| self.live_policy(l, metric));
            let want = self.wanted_policy(metric);
            if have == want {
                continue;
            }
            if self.target_of(metric).is_some() {
                self.put_policy(cx, inputs, metric, kind.clone()).await?;
            } else {
                self.delete_policy(cx, metric).await?;
            }
        }
        let existing: Vec<&ScheduledAction> = live
            .map(|l| l.schedules.iter().collect())
            .unwrap_or_default();
        for schedule in &self.settings.schedules {
            let same = existing.iter().any(|a| {
                schedule_words(std::iter::once(action_parts(a)))
                    == schedule_words(std::iter::once((
                        schedule.name.clone(),
                        format!("cron({})", schedule.cron),
                        schedule.timezone.clone(),
                        schedule.min,
                        schedule.max,
                    )))
            });
            if !same {
                self.put_schedule(cx, schedule).await?;
            }
        }
        for action in existing {
            let name = action.scheduled_action_name();
            if self.settings.schedules.iter().any(|s| s.name == name) {
                continue;
            }
            crate::aws::ignore(
                cx.aws
                    .autoscaling
                    .delete_scheduled_action()
                    .scheduled_action_name(name)
                    .service_namespace(ServiceNamespace::Ecs)
                    .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
                    .resource_id(&self.resource_id)
                    .send()
                    .await
                    .aws(|| format!("deleting the scheduled action {name}")),
                &["ObjectNotFoundException"],
            )?;
        }
        Ok(())
    }

    fn live_policy(&self, live: &Live, metric: &str) -> String {
        let name = self.policy_name(metric);
        live.policies
            .iter()
            .find(|p| p.policy_name() == name)
            .and_then(ScalingPolicy::target_tracking_scaling_policy_configuration)
            .map_or_else(
                || "(none)".to_string(),
                |c| {
                    policy_words(
                        metric,
                        c.target_value(),
                        unsigned(c.scale_in_cooldown()),
                        unsigned(c.scale_out_cooldown()),
                    )
                },
            )
    }
}

fn unsigned(n: Option<i32>) -> u32 {
    n.and_then(|n| u32::try_from(n).ok()).unwrap_or(0)
}

fn policy_words(metric: &str, target: f64, scale_in: u32, scale_out: u32) -> String {
    let unit = match metric {
        "requests" => " requests per task per minute",
        _ => "%",
    };
    format!("target {target}{unit}, cooldown in {scale_in} s, out {scale_out} s")
}

/// A scheduled action's name, schedule, time zone, min and max.
type ScheduleParts = (String, String, Option<String>, u32, u32);

fn action_parts(action: &ScheduledAction) -> ScheduleParts {
    let bounds = action.scalable_target_action();
    (
        action.scheduled_action_name().to_string(),
        action.schedule().to_string(),
        action.timezone().map(str::to_string),
        unsigned(bounds.and_then(ScalableTargetAction::min_capacity)),
        unsigned(bounds.and_then(ScalableTargetAction::max_capacity)),
    )
}

/// Schedules in `plan`'s words, by name: `name cron(...) [zone] min-max`.
fn schedule_words(parts: impl Iterator<Item = ScheduleParts>) -> String {
    let mut words: Vec<String> = parts
        .map(|(name, schedule, zone, min, max)| {
            format!(
                "{name} {schedule} {} → {min} to {max}",
                zone.as_deref().unwrap_or("UTC")
            )
        })
        .collect();
    words.sort();
    if words.is_empty() {
        "(none)".to_string()
    } else {
        words.join("; ")
    }
}

/// The scalable target and what hangs off it.
#[derive(Debug, Clone)]
pub struct Live {
    /// The target: min and max.
    pub target: ScalableTarget,
    /// Its scaling policies (read in full only).
    pub policies: Vec<ScalingPolicy>,
    /// Its scheduled actions (read in full only).
    pub schedules: Vec<ScheduledAction>,
    /// The service's desired count, for `status` (observed only).
    pub desired: Option<i32>,
    /// The latest scaling activities, newest first (observed only).
    pub activities: Vec<ScalingActivity>,
    /// Its tags (read in full only, when AWS names the target by an ARN).
    pub tags: Option<tags::Tags>,
}

/// What the autoscaling hands on: the scaled resource's id, and the bounds the env file gave
/// when `up` last applied it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outputs {
    /// `service/<cluster>/<service>`.
    pub resource_id: String,
    /// The env file's min and max as last applied: a schedule moves the live ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied: Option<(u32, u32)>,
}

impl Resource for Autoscaling {
    type Live = Live;
    type Outputs = Outputs;

    fn key(&self) -> Key {
        "autoscaling".to_string()
    }

    fn kind(&self) -> &'static str {
        "autoscaling"
    }

    fn name(&self) -> String {
        self.service_name.clone()
    }

    fn deps(&self) -> Vec<Dep> {
        let mut deps = vec![self.service.dep()];
        if let Some(count) = &self.request_count {
            deps.push(count.load_balancer.dep());
            deps.push(count.target_group.dep());
        }
        deps
    }

    async fn lookup(
        &self,
        cx: &Cx<'_>,
        _inputs: &Inputs<'_>,
        depth: Depth,
    ) -> anyhow::Result<Option<Live>> {
        let out = cx
            .aws
            .autoscaling
            .describe_scalable_targets()
            .service_namespace(ServiceNamespace::Ecs)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .resource_ids(&self.resource_id)
            .send()
            .await
            .aws(|| format!("looking up the scalable target {}", self.resource_id))?;
        let Some(target) = out.scalable_targets().first().cloned() else {
            return Ok(None);
        };
        let mut live = Live {
            target,
            policies: Vec::new(),
            schedules: Vec::new(),
            desired: None,
            activities: Vec::new(),
            tags: None,
        };
        if depth == Depth::Observe {
            live.desired = super::service(cx, &self.cluster_name, &self.service_name)
                .await?
                .map(|s| s.desired_count());
            live.activities = cx
                .aws
                .autoscaling
                .describe_scaling_activities()
                .service_namespace(ServiceNamespace::Ecs)
                .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
                .resource_id(&self.resource_id)
                .max_results(3)
                .send()
                .await
                .aws(|| format!("reading the scaling activities of {}", self.resource_id))?
                .scaling_activities()
                .to_vec();
            return Ok(Some(live));
        }
        live.policies = cx
            .aws
            .autoscaling
            .describe_scaling_policies()
            .service_namespace(ServiceNamespace::Ecs)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .resource_id(&self.resource_id)
            .send()
            .await
            .aws(|| format!("reading the scaling policies of {}", self.resource_id))?
            .scaling_policies()
            .to_vec();
        live.schedules = cx
            .aws
            .autoscaling
            .describe_scheduled_actions()
            .service_namespace(ServiceNamespace::Ecs)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .resource_id(&self.resource_id)
            .send()
            .await
            .aws(|| format!("reading the scheduled actions of {}", self.resource_id))?
            .scheduled_actions()
            .to_vec();
        // Read only when the env file's `[tags]` matter, as nothing else needs them.
        let tagged = !cx.names.extra_tags.is_empty() || !cx.retired_tags.is_empty();
        if let Some(arn) = live.target.scalable_target_arn().filter(|_| tagged) {
            let out = cx
                .aws
                .autoscaling
                .list_tags_for_resource()
                .resource_arn(arn)
                .send()
                .await
                .aws(|| {
                    format!(
                        "reading the tags of the scalable target {}",
                        self.resource_id
                    )
                })?;
            live.tags = Some(tags::owned(tags::from_map(out.tags())));
        }
        Ok(Some(live))
    }

    fn tags(&self, live: &Live) -> Option<tags::Tags> {
        live.tags.clone()
    }

    /// RegisterScalableTarget tags a target only when it makes it: later changes go through
    /// TagResource and UntagResource.
    async fn retag(
        &self,
        cx: &Cx<'_>,
        live: &Live,
        changes: &crate::model::TagChanges,
    ) -> anyhow::Result<()> {
        let arn = live.target.scalable_target_arn().unwrap_or_default();
        tags::retag_autoscaling(&cx.aws, arn, &changes.set, &changes.remove).await
    }

    /// A scalable target is named by the service it scales, which is the deployment's.
    fn ownership(&self, _env: &Env, _live: &Live) -> Ownership {
        Ownership::Ours
    }

    fn id(&self, live: &Live) -> String {
        live.target.resource_id().to_string()
    }

    fn outputs(&self, _env: &Env, live: &Live) -> Outputs {
        Outputs {
            resource_id: self.id(live),
            applied: Some((self.settings.min, self.settings.max)),
        }
    }

    fn diff(&self, env: &Env, live: &Live, _inputs: &Inputs<'_>) -> Diff {
        let mut diff = Diff::none();
        // A schedule in effect has moved the live bounds: they are the env file's as long as
        // the file's are what `up` last applied.
        let applied = env
            .state
            .get(&self.key())
            .and_then(|record| record.outputs)
            .and_then(|outputs| serde_json::from_value::<Outputs>(outputs).ok())
            .and_then(|outputs| outputs.applied);
        let scheduled = !self.settings.schedules.is_empty()
            && applied == Some((self.settings.min, self.settings.max));
        if !scheduled {
            diff.compare(
                "min",
                Some(&live.target.min_capacity().to_string()),
                self.settings.min.to_string(),
            )
            .compare(
                "max",
                Some(&live.target.max_capacity().to_string()),
                self.settings.max.to_string(),
            );
        }
        for (metric, _) in METRICS {
            let field = format!("{metric}_policy");
            let field = field.as_str();
            diff.compare(
                field,
                Some(&self.live_policy(live, metric)),
                self.wanted_policy(metric),
            );
        }
        diff.compare(
            "schedule",
            Some(&schedule_words(live.schedules.iter().map(action_parts))),
            self.wanted_schedules(),
        );
        diff
    }

    fn new_fields(&self, _env: &Env, _inputs: &Inputs<'_>) -> Vec<FieldChange> {
        let mut fields = vec![
            FieldChange::setting("min", self.settings.min.to_string()),
            FieldChange::setting("max", self.settings.max.to_string()),
        ];
        for (metric, field) in [
            ("cpu", "cpu_policy"),
            ("memory", "memory_policy"),
            ("requests", "requests_policy"),
        ] {
            if self.target_of(metric).is_some() {
                fields.push(FieldChange::setting(field, self.wanted_policy(metric)));
            }
        }
        if !self.settings.schedules.is_empty() {
            fields.push(FieldChange::setting("schedule", self.wanted_schedules()));
        }
        fields
    }

    async fn create(
        &self,
        cx: &Cx<'_>,
        inputs: &Inputs<'_>,
        _intent: &Intent,
    ) -> anyhow::Result<Live> {
        // RegisterScalableTarget is an upsert: repeating it after a lost answer is harmless.
        self.register(cx).await?;
        self.converge_parts(cx, inputs, None).await?;
        self.lookup(cx, inputs, Depth::Full).await?.ok_or_else(|| {
            anyhow::anyhow!(
                "the scalable target {} was registered but is not listed yet; run `up` again",
                self.resource_id
            )
        })
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        live: &Live,
        diff: &Diff,
        inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<Live>> {
        if diff.changes("min") || diff.changes("max") {
            self.register(cx).await?;
        }
        self.converge_parts(cx, inputs, Some(live)).await?;
        Ok(None)
    }

    async fn delete(
        &self,
        cx: &Cx<'_>,
        _live: &Live,
        _inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<String>> {
        cx.aws
            .autoscaling
            .deregister_scalable_target()
            .service_namespace(ServiceNamespace::Ecs)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .resource_id(&self.resource_id)
            .send()
            .await
            .aws(|| format!("deregistering the scalable target {}", self.resource_id))?;
        Ok(Some(
            "its policies and scheduled actions went with it".to_string(),
        ))
    }

    fn summary(&self, live: &Live) -> String {
        format!(
            "{} ({} to {} tasks)",
            self.resource_id,
            live.target.min_capacity(),
            live.target.max_capacity()
        )
    }

    fn observe(&self, live: &Live) -> Seen {
        let desired = live
            .desired
            .map_or_else(|| "?".to_string(), |d| d.to_string());
        let mut detail = format!(
            "min {} / desired {desired} / max {}",
            live.target.min_capacity(),
            live.target.max_capacity()
        );
        // The latest scaling activities, newest first, as read (up to three).
        let activities: Vec<String> = live
            .activities
            .iter()
            .map(|a| format!("{} ({})", a.description(), a.status_code().as_str()))
            .collect();
        if !activities.is_empty() {
            detail.push_str(&format!("; last: {}", activities.join("; ")));
        }
        let state = if live.target.suspended_state().is_some_and(|s| {
            s.dynamic_scaling_in_suspended() == Some(true)
                || s.dynamic_scaling_out_suspended() == Some(true)
                || s.scheduled_scaling_suspended() == Some(true)
        }) {
            "suspended"
        } else {
            "active"
        };
        Seen::new(&self.resource_id, state).detail(detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::testing::env;
    use aws_sdk_applicationautoscaling::types::ScalingActivityStatusCode;

    fn autoscaling(text: &str) -> Autoscaling {
        let mut env = env();
        env.deployment.service.autoscaling = Some(
            crate::config::parse(
                std::path::Path::new("env1.toml"),
                &include_str!("../../../config/env1.toml")
                    .replace("[api]", &format!("{text}\n[api]"))
                    .replace(
                        "vpc_cidr = \"10.0.0.0/16\"",
                        "vpc_cidr = \"10.0.0.0/16\"\nload_balancer = \"alb\"",
                    ),
                None,
            )
            .expect("valid")
            .service
            .autoscaling
            .expect("autoscaling"),
        );
        Autoscaling::new(
            &env.deployment,
            &env.names,
            &Ref::new("service"),
            RequestCount::of(&Ref::new("load_balancer"), &Ref::new("target_group")),
        )
        .expect("set")
    }

    #[test]
    fn a_request_count_policy_waits_for_the_alb_and_names_its_target_group() {
        let a = autoscaling("[service.autoscaling]\nmin = 1\nmax = 4\nrequests = 500\n");
        let deps: Vec<String> = a.deps().into_iter().map(|d| d.key).collect();
        assert_eq!(deps, ["service", "load_balancer", "target_group"]);
        assert!(
            autoscaling("[service.autoscaling]\nmin = 1\nmax = 4\ncpu = 60\n")
                .request_count
                .is_none(),
            "without `requests` it waits for the service alone"
        );
        let env = env();
        let world = crate::model::World::default();
        assert_eq!(
            a.diff(&env, &live(&a, 1, 4), &world.inputs()).words(),
            "requests_policy (none) → target 500 requests per task per minute, cooldown in 300 \
             s, out 60 s"
        );
        world.publish(
            "load_balancer",
            load_balancer::Outputs {
                arn: "arn:aws:elasticloadbalancing:eu-west-1:1:loadbalancer/app/c-alb-m/50dc6c495c0c9188"
                    .to_string(),
                dns_name: "internal-c-alb-m.elb.amazonaws.com".to_string(),
            },
        );
        world.publish(
            "target_group",
            target_group::Outputs {
                arn: "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/c-tg-m/943f017f100becff"
                    .to_string(),
            },
        );
        let label = a.request_count.as_ref().expect("counted");
        assert_eq!(
            label.label(&world.inputs()).expect("label"),
            "app/c-alb-m/50dc6c495c0c9188/targetgroup/c-tg-m/943f017f100becff"
        );
    }

    fn live(a: &Autoscaling, min: i32, max: i32) -> Live {
        Live {
            target: ScalableTarget::builder()
                .service_namespace(ServiceNamespace::Ecs)
                .resource_id(&a.resource_id)
                .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
                .min_capacity(min)
                .max_capacity(max)
                .role_arn("arn:aws:iam::1:role/aas")
                .creation_time(aws_smithy_types::DateTime::from_secs(0))
                .build()
                .expect("target"),
            policies: Vec::new(),
            schedules: Vec::new(),
            desired: Some(3),
            activities: Vec::new(),
            tags: None,
        }
    }

    #[test]
    fn bounds_policies_and_schedules_are_compared_in_plan_words() {
        let a = autoscaling(
            "[service.autoscaling]\nmin = 1\nmax = 4\ncpu = 60\n\
             [[service.autoscaling.schedule]]\nname = \"night\"\ncron = \"0 20 * * ? *\"\n\
             timezone = \"Europe/Dublin\"\nmin = 1\nmax = 1\n",
        );
        let env = env();
        let world = crate::model::World::default();
        let diff = a.diff(&env, &live(&a, 2, 4), &world.inputs());
        assert_eq!(
            diff.words(),
            "min 2 → 1, cpu_policy (none) → target 60%, cooldown in 300 s, out 60 s, \
             schedule (none) → night cron(0 20 * * ? *) Europe/Dublin → 1 to 1"
        );
        let seen = a.observe(&live(&a, 1, 4));
        assert_eq!(seen.detail.as_deref(), Some("min 1 / desired 3 / max 4"));
        let activity = |description: &str, status: ScalingActivityStatusCode| {
            ScalingActivity::builder()
                .activity_id(description)
                .service_namespace(ServiceNamespace::Ecs)
                .resource_id(&a.resource_id)
                .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
                .description(description)
                .cause("monitor alarm")
                .start_time(aws_smithy_types::DateTime::from_secs(0))
                .status_code(status)
                .build()
                .expect("activity")
        };
        let mut scaled = live(&a, 1, 4);
        scaled.activities = vec![
            activity(
                "Setting desired count to 3.",
                ScalingActivityStatusCode::Successful,
            ),
            activity(
                "Setting desired count to 2.",
                ScalingActivityStatusCode::Failed,
            ),
        ];
        assert_eq!(
            a.observe(&scaled).detail.as_deref(),
            Some(
                "min 1 / desired 3 / max 4; last: Setting desired count to 3. (Successful); \
                 Setting desired count to 2. (Failed)"
            )
        );
    }
}
