//! The ECS service: Fargate tasks in the private subnets, no public IP, registered with the
//! target group, with the deployment circuit breaker on (and rollback) so a broken image fails
//! in minutes instead of retrying forever.
//!
//! "Steady" is judged from the deployment of the wanted task definition, not from the SDK's
//! `services_stable` waiter, which counts a rolled-back deployment as stable.
//!
//! On the way down the service is deleted only once the stage is gone, so no request can
//! reach its tasks any more: they are stopped at once, without the target group's
//! deregistration delay. The ECR and S3 endpoints may go as soon as the deletion is accepted
//! (no new task will pull an image); the logs endpoint only once the tasks' containers have
//! exited, so their last log lines are shipped.

use std::sync::atomic::{AtomicBool, Ordering};

use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, CapacityProviderStrategyItem, Deployment as Rollout,
    DeploymentAlarms, DeploymentCircuitBreaker, DeploymentConfiguration, DeploymentRolloutState,
    DesiredStatus, LaunchType, LoadBalancer, NetworkConfiguration, PropagateTags, Service as Live,
};
use aws_sdk_elasticloadbalancingv2::types::TargetGroupAttribute;
use serde::{Deserialize, Serialize};

use super::{cluster, task_definition};
use crate::aws::errors::{has_code, is_not_found};
use crate::aws::tags;
use crate::aws::wait::{self, Patience, Poll};
use crate::aws::{AwsResultExt as _, ignore};
use crate::config::{Deployment, names::Names};
use crate::model::{
    Cx, Dep, Depth, Diff, Env, FieldChange, Inputs, Key, Ownership, Phase, Ref, Replace, Resource,
    Seen, listed, sorted,
};
use crate::resources::elb::{listener, target_group};
use crate::resources::network::{endpoint, endpoint_access, security_group, subnet};
use crate::state::Intent;

/// The service and what it runs on.
pub struct Service {
    name: String,
    cluster_name: String,
    container: String,
    port: i32,
    desired: i32,
    /// Whether Application Auto Scaling owns the desired count.
    autoscaled: bool,
    grace_period: i32,
    rollout: crate::config::Rollout,
    spot: Option<crate::config::Spot>,
    log_group: String,
    cluster: Ref<cluster::Outputs>,
    task_definition: Ref<task_definition::Outputs>,
    target_group: Ref<target_group::Outputs>,
    listener: Ref<listener::Outputs>,
    subnets: Vec<Ref<subnet::Outputs>>,
    security_group: Ref<security_group::Outputs>,
    endpoints: Vec<Dep>,
    retiring: Option<[Key; 2]>,
    /// Whether the tasks get public addresses: in public subnets (`entry =
    /// "public_load_balancer"`) that is their only way to ECR and CloudWatch Logs.
    public_ip: bool,
}

/// What the service stands on.
pub struct Wiring<'a> {
    /// The cluster.
    pub cluster: &'a Ref<cluster::Outputs>,
    /// The task definition.
    pub task_definition: &'a Ref<task_definition::Outputs>,
    /// The target group its tasks register with.
    pub target_group: &'a Ref<target_group::Outputs>,
    /// The listener (ECS refuses a target group no listener uses).
    pub listener: &'a Ref<listener::Outputs>,
    /// The private subnets.
    pub subnets: &'a [Ref<subnet::Outputs>],
    /// The tasks' security group.
    pub security_group: &'a Ref<security_group::Outputs>,
    /// The interface endpoints by service name, and the gateway endpoint.
    pub endpoints: &'a [(String, Ref<endpoint::Outputs>)],
    /// The tasks' way to the interface endpoints (none with `egress = "nat"`).
    pub endpoint_access: Option<&'a Ref<endpoint_access::Outputs>>,
    /// The tasks' way out through a NAT gateway (its route and the rule to anywhere), when
    /// they go that way.
    pub way_out: Vec<Dep>,
}

impl Service {
    /// The service of `deployment`, wired as `wiring` says.
    pub fn new(deployment: &Deployment, names: &Names, wiring: Wiring<'_>) -> Service {
        let mut endpoints: Vec<Dep> = wiring
            .endpoints
            .iter()
            .map(|(service, r)| {
                // Tasks ship logs until their containers exit; nothing pulls an image once the
                // service's deletion is accepted.
                r.dep_until(if *service == "logs" {
                    Phase::Quiet
                } else {
                    Phase::Deleting
                })
            })
            .collect();
        endpoints.extend(wiring.endpoint_access.map(|r| r.dep_until(Phase::Quiet)));
        endpoints.extend(wiring.way_out);
        Service {
            name: names.service.clone(),
            cluster_name: names.cluster.clone(),
            container: names.container.clone(),
            port: i32::from(deployment.service.port),
            desired: crate::aws::int(deployment.service.count),
            autoscaled: deployment.service.autoscaling.is_some(),
            grace_period: crate::aws::int(deployment.service.health_check_grace_period),
            rollout: deployment.service.rollout.clone(),
            spot: deployment.service.spot,
            log_group: names.log_group.clone(),
            cluster: wiring.cluster.clone(),
            task_definition: wiring.task_definition.clone(),
            target_group: wiring.target_group.clone(),
            listener: wiring.listener.clone(),
            subnets: wiring.subnets.to_vec(),
            security_group: wiring.security_group.clone(),
            endpoints,
            retiring: None,
            public_ip: deployment.network.egress == crate::config::Egress::PublicIp,
        }
    }

    fn network(&self, inputs: &Inputs<'_>) -> anyhow::Result<NetworkConfiguration> {
        let subnets = self
            .subnets
            .iter()
            .map(|s| inputs.need(s).map(|o| o.id))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(NetworkConfiguration::builder()
            .awsvpc_configuration(
                AwsVpcConfiguration::builder()
                    .set_subnets(Some(subnets))
                    .security_groups(inputs.need(&self.security_group)?.id)
                    .assign_public_ip(self.assign_public_ip())
                    .build()?,
            )
            .build())
    }

    fn assign_public_ip(&self) -> AssignPublicIp {
        match self.public_ip {
            true => AssignPublicIp::Enabled,
            false => AssignPublicIp::Disabled,
        }
    }

    fn load_balancer(&self, inputs: &Inputs<'_>) -> anyhow::Result<LoadBalancer> {
        Ok(LoadBalancer::builder()
            .target_group_arn(inputs.need(&self.target_group)?.arn)
            .container_name(&self.container)
            .container_port(self.port)
            .build())
    }

    /// While the stack moves to the other kind of load balancer: the state file's keys of the
    /// old one's listener and target group. The tasks register with the old group too as long
    /// as its listener is recorded, so the old load balancer serves until the stage has moved
    /// to the new one; the old group takes itself off the service before it goes.
    pub fn moving_from(mut self, listener: Key, target_group: Key) -> Service {
        self.retiring = Some([listener, target_group]);
        self
    }

    /// The target groups the tasks register with: the stack's, and the old one while moving.
    fn wanted_target_groups(
        &self,
        state: &crate::state::SharedState,
        inputs: &Inputs<'_>,
    ) -> Option<Vec<String>> {
        let mut arns = vec![inputs.get(&self.target_group)?.arn];
        if let Some([listener, group]) = &self.retiring
            && state.get(listener).is_some()
            && let Some(old) = state.get(group)
        {
            arns.push(old.id);
        }
        Some(arns)
    }

    fn load_balancers(
        &self,
        state: &crate::state::SharedState,
        inputs: &Inputs<'_>,
    ) -> anyhow::Result<Vec<LoadBalancer>> {
        let arns = self
            .wanted_target_groups(state, inputs)
            .ok_or_else(|| anyhow::anyhow!("the target group is not known yet"))?;
        Ok(arns
            .into_iter()
            .map(|arn| {
                LoadBalancer::builder()
                    .target_group_arn(arn)
                    .container_name(&self.container)
                    .container_port(self.port)
                    .build()
            })
            .collect())
    }

    /// Waits until the deployment of `task_definition` is the primary one and has completed
    /// with running = desired. `seen` is the service as just read, if it was (not after an
    /// update: that read is stale).
    async fn wait_until_steady(
        &self,
        cx: &Cx<'_>,
        seen: Option<Live>,
        task_definition: &str,
        inputs: &Inputs<'_>,
    ) -> anyhow::Result<Live> {
        // A read just after UpdateService may still show the old deployment: only a rollout of
        // ours that was seen and then vanished counts as rolled back.
        let seen_ours = AtomicBool::new(false);
        let failed = AtomicBool::new(false);
        if let Some(live) = seen {
            match judge_rollout(&live, task_definition, &self.log_group, &seen_ours) {
                Poll::Ready(live) => return Ok(live),
                Poll::Failed(_) => failed.store(true, Ordering::Relaxed),
                Poll::Pending(_) => {}
            }
        }
        let waited = wait::until(
            &format!("ecs service {} to be steady", self.name),
            cx.line,
            Patience::minutes(20),
            || async {
                let Some(svc) = self.lookup(cx, inputs, Depth::Full).await? else {
                    return Ok(Poll::Failed("the service no longer exists".to_string()));
                };
                let judged = judge_rollout(&svc, task_definition, &self.log_group, &seen_ours);
                if matches!(judged, Poll::Failed(_)) {
                    failed.store(true, Ordering::Relaxed);
                }
                Ok(judged)
            },
        )
        .await;
        match waited {
            Err(err) if failed.load(Ordering::Relaxed) => {
                Err(match self.why_tasks_stopped(cx, task_definition).await {
                    Some(why) => err.context(why),
                    None => err,
                })
            }
            other => other,
        }
    }

    /// Why the tasks of `task_definition` stopped, in ECS's words (the distinct reasons of
    /// the newest few): what a failed rollout's reason leaves out. `None` when none is
    /// listed or they cannot be read.
    async fn why_tasks_stopped(&self, cx: &Cx<'_>, task_definition: &str) -> Option<String> {
        let revision = task_definition::revision_number(task_definition);
        let tasks = super::tasks::of_service(cx).await.ok()?;
        let mut reasons: Vec<String> = Vec::new();
        for task in tasks
            .stopped
            .iter()
            .filter(|t| t.revision == Some(revision))
        {
            let why = task.why_stopped();
            if !reasons.contains(&why) {
                reasons.push(why);
            }
        }
        if reasons.is_empty() {
            return None;
        }
        reasons.truncate(3);
        Some(format!(
            "ecs service {}: the tasks of revision {revision} stopped: {}",
            self.name,
            reasons.join("; ")
        ))
    }

    /// Makes the service's tags, as the reconciler compares them, stand for its running tasks'
    /// too: a `[tags]` key some task lacks or holds with another value reads as missing, and a
    /// retired key some task still carries reads as present. A run cut short between the
    /// service's tagging and its tasks' is then finished by the next one, like any other
    /// change. Other tags are left as the service has them.
    async fn fold_in_task_tags(&self, cx: &Cx<'_>, service: &mut Live) -> anyhow::Result<()> {
        let concerned = |k: &str| {
            cx.names.extra_tags.iter().any(|(w, _)| w == k)
                || cx.retired_tags.iter().any(|r| r == k)
        };
        let mut view = service.tags.clone().unwrap_or_default();
        for task in self.task_arns(cx, DesiredStatus::Running).await? {
            let read = cx
                .aws
                .ecs
                .list_tags_for_resource()
                .resource_arn(&task)
                .send()
                .await;
            // Gone meanwhile: its replacement starts with the service's tags.
            let Some(out) = crate::aws::found(read.aws(|| format!("reading the tags of {task}")))?
            else {
                continue;
            };
            let task_tags = out.tags();
            let value = |tags: &[aws_sdk_ecs::types::Tag], k: &str| {
                tags.iter()
                    .find(|t| t.key() == Some(k))
                    .and_then(|t| t.value().map(str::to_string))
            };
            let keys: Vec<String> = view
                .iter()
                .chain(task_tags)
                .filter_map(|t| t.key().map(str::to_string))
                .filter(|k| concerned(k))
                .collect();
            for key in keys {
                let (on_service, on_task) = (value(&view, &key), value(task_tags, &key));
                if on_service == on_task {
                    continue;
                }
                view.retain(|t| t.key() != Some(key.as_str()));
                if on_service.is_none() {
                    view.extend(
                        task_tags
                            .iter()
                            .filter(|t| t.key() == Some(key.as_str()))
                            .cloned(),
                    );
                }
            }
        }
        service.tags = Some(view);
        Ok(())
    }

    /// The ARNs of the service's tasks meant to be in `status`, every page of them.
    async fn task_arns(&self, cx: &Cx<'_>, status: DesiredStatus) -> anyhow::Result<Vec<String>> {
        let mut arns = Vec::new();
        let mut pages = cx
            .aws
            .ecs
            .list_tasks()
            .cluster(&self.cluster_name)
            .service_name(&self.name)
            .desired_status(status)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            match page.aws(|| format!("listing the tasks of ecs service {}", self.name)) {
                Ok(page) => arns.extend(page.task_arns().iter().cloned()),
                // The service has gone: so have its tasks.
                Err(err)
                    if has_code(
                        &err,
                        &["ClusterNotFoundException", "ServiceNotFoundException"],
                    ) =>
                {
                    break;
                }
                Err(err) => return Err(err),
            }
        }
        Ok(arns)
    }

    /// Waits until every task the service ran has stopped its containers.
    async fn wait_until_tasks_stopped(&self, cx: &Cx<'_>) -> anyhow::Result<()> {
        wait::until(
            &format!("the tasks of ecs service {} to stop", self.name),
            cx.line,
            Patience::minutes(15),
            || async {
                // Tasks still meant to run have not even begun to stop.
                let mut running = self.task_arns(cx, DesiredStatus::Running).await?;
                if cx.choices.by == "down" {
                    running.extend(
                        super::tasks::one_off_arns(cx, &self.cluster_name, DesiredStatus::Running)
                            .await?,
                    );
                }
                if !running.is_empty() {
                    return Ok(Poll::Pending(format!("{} task(s) running", running.len())));
                }
                // Containers have exited once a task is deprovisioning (its interface is being
                // released) or stopped.
                let mut stopping = 0;
                // The one-off tasks `down` stopped hold their interfaces in the subnets too.
                let mut stopped = self.task_arns(cx, DesiredStatus::Stopped).await?;
                if cx.choices.by == "down" {
                    stopped.extend(
                        super::tasks::one_off_arns(cx, &self.cluster_name, DesiredStatus::Stopped)
                            .await?,
                    );
                }
                for chunk in stopped.chunks(100) {
                    let out = cx
                        .aws
                        .ecs
                        .describe_tasks()
                        .cluster(&self.cluster_name)
                        .set_tasks(Some(chunk.to_vec()))
                        .send()
                        .await
                        .aws(|| format!("describing the tasks of ecs service {}", self.name))?;
                    stopping += out
                        .tasks()
                        .iter()
                        .filter(|t| !matches!(t.last_status(), Some("DEPROVISIONING" | "STOPPED")))
                        .count();
                }
                Ok(if stopping == 0 {
                    Poll::Ready(())
                } else {
                    Poll::Pending(format!("{stopping} task(s) stopping"))
                })
            },
        )
        .await
    }
}

/// What the service hands its dependents (and `status`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outputs {
    /// Service ARN.
    pub arn: String,
    /// Tasks running.
    pub running: i32,
    /// Tasks wanted.
    pub desired: i32,
    /// The task definition revision it runs.
    #[serde(default)]
    pub task_definition: String,
    /// Why its latest deployment failed, when it did (the circuit breaker's reason).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_rollout: Option<String>,
    /// Its deployments, primary first, for `status` (read live, never recorded).
    #[serde(skip)]
    pub deployments: Vec<crate::model::status::Deployment>,
    /// Its newest events, newest first, for `status` (read live, never recorded).
    #[serde(skip)]
    pub events: Vec<crate::model::status::ServiceEvent>,
}

impl Service {
    /// The desired count `up` sets when the service has `live`: the env file's `count`, or,
    /// while the autoscaler owns the count, `live` itself. Re-applying the env file must not
    /// undo a scale-out, and new bounds move the count into them on their own ("it changes
    /// the resource's current capacity to a value that is inside of this range",
    /// API_RegisterScalableTarget), as a schedule's do.
    fn wanted_desired(&self, live: i32) -> i32 {
        if self.autoscaled { live } else { self.desired }
    }

    /// The deployment settings: the env file's percentages and alarms; the circuit breaker
    /// (with rollback) always.
    fn deployment_configuration(&self) -> anyhow::Result<DeploymentConfiguration> {
        Ok(DeploymentConfiguration::builder()
            .deployment_circuit_breaker(
                DeploymentCircuitBreaker::builder()
                    .enable(true)
                    .rollback(true)
                    .build(),
            )
            .maximum_percent(crate::aws::int(self.rollout.maximum_percent))
            .minimum_healthy_percent(crate::aws::int(self.rollout.minimum_healthy_percent))
            .alarms(
                DeploymentAlarms::builder()
                    .set_alarm_names(Some(self.rollout.alarms.clone()))
                    .enable(!self.rollout.alarms.is_empty())
                    .rollback(!self.rollout.alarms.is_empty())
                    .build()?,
            )
            .build())
    }
}

impl Service {
    /// The capacity provider strategy: regular Fargate with its base, then Spot by weight;
    /// `None` (the Fargate launch type) without Spot.
    fn strategy(&self) -> Option<Vec<CapacityProviderStrategyItem>> {
        let spot = self.spot?;
        let item = |provider: &str, base: u32, weight: u32| {
            CapacityProviderStrategyItem::builder()
                .capacity_provider(provider)
                .base(crate::aws::int(base))
                .weight(crate::aws::int(weight))
                .build()
        };
        [
            item("FARGATE", spot.base, 1),
            item("FARGATE_SPOT", 0, spot.weight),
        ]
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .ok()
    }
}

/// Where a service's tasks run, in `plan`'s words.
fn placement_words(strategy: &[CapacityProviderStrategyItem]) -> String {
    if strategy.is_empty() {
        return "launch type FARGATE".to_string();
    }
    strategy
        .iter()
        .map(|i| {
            format!(
                "{} base {} weight {}",
                i.capacity_provider(),
                i.base(),
                i.weight()
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Alarms that roll a deployment back, in `plan`'s words.
fn alarm_words(names: &[String]) -> String {
    crate::model::listed(names).unwrap_or_else(|| "(none)".to_string())
}

fn is_role_not_ready(err: &anyhow::Error) -> bool {
    has_code(err, &["InvalidParameterException"])
        && format!("{err:#}").to_ascii_lowercase().contains("assume")
}

/// How many of the service's events `status` shows (ECS keeps the last 100).
const EVENTS_SHOWN: usize = 5;

use crate::aws::rfc3339 as time;

/// The service's deployments as `status` shows them, primary first.
fn deployments(live: &Live) -> Vec<crate::model::status::Deployment> {
    let mut seen: Vec<_> = live
        .deployments()
        .iter()
        .map(|d| crate::model::status::Deployment {
            status: d.status().unwrap_or("UNKNOWN").to_string(),
            revision: d
                .task_definition()
                .map(super::task_definition::revision_number),
            running: d.running_count(),
            desired: d.desired_count(),
            rollout: d.rollout_state().map(|r| r.as_str().to_ascii_lowercase()),
            reason: d.rollout_state_reason().map(str::to_string),
            created_at: time(d.created_at()),
        })
        .collect();
    seen.sort_by_key(|d| d.status != "PRIMARY");
    seen
}

/// The newest service event since `deployment` started, if any.
fn latest_event<'a>(svc: &'a Live, deployment: &Rollout) -> Option<&'a str> {
    let started = deployment.created_at()?;
    svc.events()
        .iter()
        .filter(|e| e.created_at().is_some_and(|at| at >= started))
        .max_by_key(|e| e.created_at())
        .and_then(|e| e.message())
}

/// What one look at the service says about the rollout of `task_definition`. `seen_ours`
/// remembers, across looks, whether a deployment of it was ever listed.
fn judge_rollout(
    svc: &Live,
    task_definition: &str,
    log_group: &str,
    seen_ours: &AtomicBool,
) -> Poll<Live> {
    let deployments = svc.deployments();
    let Some(primary) = deployments.iter().find(|d| d.status() == Some("PRIMARY")) else {
        return Poll::Pending("no primary deployment yet".to_string());
    };
    let failed = |reason: Option<&str>| {
        format!(
            "the deployment failed (the circuit breaker stopped it): {}. \
             Check the task logs in log group {log_group}",
            reason.unwrap_or("no reason given")
        )
    };
    let ours = deployments
        .iter()
        .find(|d| d.task_definition() == Some(task_definition));
    if ours.is_some() {
        seen_ours.store(true, Ordering::Relaxed);
    }
    if primary.task_definition() != Some(task_definition) {
        if let Some(ours) = ours
            && ours.rollout_state() == Some(&DeploymentRolloutState::Failed)
        {
            return Poll::Failed(format!(
                "{}; the service was rolled back to {}",
                failed(ours.rollout_state_reason()),
                primary.task_definition().unwrap_or("the previous revision")
            ));
        }
        if ours.is_none()
            && seen_ours.load(Ordering::Relaxed)
            && primary.rollout_state() == Some(&DeploymentRolloutState::Completed)
        {
            return Poll::Failed(format!(
                "the service runs {} instead of {task_definition}: the circuit breaker rolled \
                 the deployment back. Check the task logs in log group {log_group}",
                primary.task_definition().unwrap_or("another revision")
            ));
        }
        return Poll::Pending(format!(
            "waiting for the deployment of {task_definition} to start"
        ));
    }
    let mut progress = format!(
        "{}/{} running, rollout {}",
        primary.running_count(),
        primary.desired_count(),
        primary
            .rollout_state()
            .map_or("unknown", DeploymentRolloutState::as_str)
    );
    // What ECS says about this deployment (a task that failed to launch, and why) is what the
    // user needs while the count stays at 0.
    if let Some(event) = latest_event(svc, primary) {
        progress.push_str(&format!("; ECS: {event}"));
    }
    match primary.rollout_state() {
        Some(DeploymentRolloutState::Failed) => {
            Poll::Failed(failed(primary.rollout_state_reason()))
        }
        Some(DeploymentRolloutState::Completed)
            if primary.running_count() == primary.desired_count()
                && svc.running_count() == svc.desired_count() =>
        {
            Poll::Ready(svc.clone())
        }
        None if svc.desired_count() == 0 && svc.running_count() == 0 => Poll::Ready(svc.clone()),
        _ => Poll::Pending(progress),
    }
}

impl Resource for Service {
    type Live = Live;
    type Outputs = Outputs;

    fn key(&self) -> Key {
        "service".to_string()
    }

    fn kind(&self) -> &'static str {
        "ecs service"
    }

    fn name(&self) -> String {
        self.name.clone()
    }

    fn deps(&self) -> Vec<Dep> {
        let mut deps = vec![
            self.cluster.dep(),
            self.task_definition.dep(),
            self.target_group.dep(),
            self.listener.dep(),
            self.security_group.dep(),
        ];
        deps.extend(self.subnets.iter().map(Ref::dep));
        deps.extend(self.endpoints.iter().cloned());
        deps
    }

    /// The service, active or still draining (an interrupted `down`).
    async fn lookup(
        &self,
        cx: &Cx<'_>,
        _inputs: &Inputs<'_>,
        depth: Depth,
    ) -> anyhow::Result<Option<Live>> {
        let mut found = super::service(cx, &self.cluster_name, &self.name).await?;
        let tagged = !cx.names.extra_tags.is_empty() || !cx.retired_tags.is_empty();
        if let Some(service) = found.as_mut().filter(|_| depth == Depth::Full && tagged) {
            self.fold_in_task_tags(cx, service).await?;
        }
        Ok(found)
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
        crate::aws::tags::retag_ecs(&cx.aws, &self.id(live), &changes.set, &changes.remove).await?;
        // Tasks get the service's tags only when they start: the running ones are tagged here,
        // so a cost report sees the new tags without a deployment.
        for task in self.task_arns(cx, DesiredStatus::Running).await? {
            match crate::aws::tags::retag_ecs(&cx.aws, &task, &changes.set, &changes.remove).await {
                // It stopped meanwhile; its replacement starts with the service's tags.
                Err(err) if is_not_found(&err) => {}
                other => other?,
            }
        }
        Ok(())
    }

    fn ownership(&self, env: &Env, live: &Live) -> Ownership {
        super::owner(env, live.tags())
    }

    fn id(&self, live: &Live) -> String {
        live.service_arn().unwrap_or_default().to_string()
    }

    fn outputs(&self, _env: &Env, live: &Live) -> Outputs {
        let failed = live.deployments().iter().find(|d| {
            d.rollout_state() == Some(&aws_sdk_ecs::types::DeploymentRolloutState::Failed)
        });
        Outputs {
            arn: self.id(live),
            running: live.running_count(),
            desired: live.desired_count(),
            task_definition: live.task_definition().unwrap_or_default().to_string(),
            failed_rollout: failed.map(|d| {
                d.rollout_state_reason()
                    .unwrap_or("its rollout failed")
                    .to_string()
            }),
            deployments: deployments(live),
            events: live
                .events()
                .iter()
                .take(EVENTS_SHOWN)
                .map(|e| crate::model::status::ServiceEvent {
                    at: time(e.created_at()),
                    message: e.message().unwrap_or_default().to_string(),
                })
                .collect(),
        }
    }

    fn diff(&self, env: &Env, live: &Live, inputs: &Inputs<'_>) -> Diff {
        let mut diff = Diff::none();
        if live.status() == Some("DRAINING") {
            diff.replace = Some(Replace {
                reason: "it is still draining (an interrupted down); AWS takes the name back once it is gone".to_string(),
                destructive: false,
            });
            return diff;
        }
        diff.compare(
            "task_definition",
            live.task_definition(),
            inputs.get(&self.task_definition).map(|t| t.arn),
        )
        .compare(
            "desired_count",
            Some(&live.desired_count().to_string()),
            self.wanted_desired(live.desired_count()).to_string(),
        );
        let have = live.capacity_provider_strategy();
        let want = self.strategy().unwrap_or_default();
        if placement_words(have) != placement_words(&want) {
            diff.change(
                "capacity",
                Some(placement_words(have)),
                placement_words(&want),
            );
        }
        if env.choices.force_new_deployment {
            diff.change(
                "tasks",
                Some("running".to_string()),
                "replaced (--force-new-deployment)",
            );
        }
        if let Some(grace) = live.health_check_grace_period_seconds() {
            diff.compare(
                "health_check_grace_period",
                Some(&format!("{grace} s")),
                format!("{} s", self.grace_period),
            );
        }
        if let Some(config) = live.deployment_configuration() {
            let percent = |p: Option<i32>| p.map(|p| format!("{p}%"));
            diff.compare(
                "minimum_healthy_percent",
                percent(config.minimum_healthy_percent()).as_deref(),
                format!("{}%", self.rollout.minimum_healthy_percent),
            )
            .compare(
                "maximum_percent",
                percent(config.maximum_percent()).as_deref(),
                format!("{}%", self.rollout.maximum_percent),
            );
            let alarms = config
                .alarms()
                .filter(|a| a.enable())
                .map(|a| sorted(a.alarm_names()))
                .unwrap_or_default();
            diff.compare(
                "rollback_alarms",
                Some(&alarm_words(&alarms)),
                alarm_words(&sorted(&self.rollout.alarms)),
            );
        }
        let lbs = live.load_balancers();
        let want = self.wanted_target_groups(&env.state, inputs);
        let wired = want.as_ref().map(|want| {
            lbs.len() == want.len()
                && want.iter().all(|arn| {
                    lbs.iter().any(|lb| {
                        lb.target_group_arn() == Some(arn.as_str())
                            && lb.container_name() == Some(self.container.as_str())
                            && lb.container_port() == Some(self.port)
                    })
                })
        });
        if wired != Some(true) {
            let now: Vec<String> = lbs
                .iter()
                .filter_map(|l| l.target_group_arn().map(str::to_string))
                .collect();
            diff.change(
                "target_group",
                listed(&now),
                want.map(|want| want.join(", ")),
            );
        }
        let network = live
            .network_configuration()
            .and_then(NetworkConfiguration::awsvpc_configuration);
        let have_subnets = network.map(|n| sorted(n.subnets())).unwrap_or_default();
        let want_subnets: Option<Vec<String>> = self
            .subnets
            .iter()
            .map(|s| inputs.get(s).map(|o| o.id))
            .collect();
        if want_subnets.as_ref().map(|w| sorted(w)) != Some(have_subnets.clone()) {
            diff.change(
                "subnets",
                listed(&have_subnets),
                want_subnets.map(|w| sorted(&w).join(", ")),
            );
        }
        let have_groups = network
            .map(|n| sorted(n.security_groups()))
            .unwrap_or_default();
        let want_group = inputs.get(&self.security_group).map(|g| g.id);
        if want_group.as_ref().map(|g| vec![g.clone()]) != Some(have_groups.clone()) {
            diff.change("security_groups", listed(&have_groups), want_group);
        }
        // AWS's default, when the service does not say, is no public address.
        let public_ip = network
            .and_then(AwsVpcConfiguration::assign_public_ip)
            .unwrap_or(&AssignPublicIp::Disabled);
        if *public_ip != self.assign_public_ip() {
            diff.change(
                "assign_public_ip",
                Some(public_ip.as_str().into()),
                self.assign_public_ip().as_str(),
            );
        }
        // Only judged when AWS reports it: an emulator may not keep it.
        let breaker = live
            .deployment_configuration()
            .and_then(DeploymentConfiguration::deployment_circuit_breaker);
        if let Some(b) = breaker
            && !(b.enable() && b.rollback())
        {
            diff.change(
                "circuit_breaker",
                Some(format!("enable {}, rollback {}", b.enable(), b.rollback())),
                "enable true, rollback true",
            );
        }
        diff
    }

    fn new_fields(&self, _env: &Env, _inputs: &Inputs<'_>) -> Vec<FieldChange> {
        let mut fields = vec![FieldChange::setting(
            "desired_count",
            self.desired.to_string(),
        )];
        if self.public_ip {
            fields.push(FieldChange::setting("assign_public_ip", "ENABLED"));
        }
        fields
    }

    async fn create(
        &self,
        cx: &Cx<'_>,
        inputs: &Inputs<'_>,
        intent: &Intent,
    ) -> anyhow::Result<Live> {
        let task_definition = inputs.need(&self.task_definition)?.arn;
        let network = self.network(inputs)?;
        let load_balancer = self.load_balancer(inputs)?;
        let out = wait::retrying(
            &format!(
                "creating ecs service {} (waiting for the new IAM role to be usable)",
                self.name
            ),
            cx.line,
            Patience::minutes(2),
            is_role_not_ready,
            || async {
                cx.aws
                    .ecs
                    .create_service()
                    .cluster(&self.cluster_name)
                    .service_name(&self.name)
                    .task_definition(&task_definition)
                    .desired_count(self.desired)
                    .set_launch_type(self.spot.is_none().then_some(LaunchType::Fargate))
                    .set_capacity_provider_strategy(self.strategy())
                    .network_configuration(network.clone())
                    .load_balancers(load_balancer.clone())
                    .deployment_configuration(self.deployment_configuration()?)
                    .health_check_grace_period_seconds(self.grace_period)
                    // The intent's token: a create whose answer was lost, or that a crash cut
                    // short, is repeated with the same token and returns the first service.
                    .client_token(&intent.client_token)
                    .set_tags(Some(tags::ecs(&cx.tags(&self.name))))
                    .propagate_tags(PropagateTags::Service)
                    .send()
                    .await
                    .aws(|| format!("creating ecs service {}", self.name))
            },
        )
        .await?;
        out.service()
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("CreateService returned no service"))
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        live: &Live,
        diff: &Diff,
        inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<Live>> {
        let task_definition = inputs.need(&self.task_definition)?.arn;
        // Only what differs: resending the wiring would start a new deployment (every task
        // replaced) for what could have been a change of count, and resending the count
        // would undo the autoscaler's.
        let mut update = cx
            .aws
            .ecs
            .update_service()
            .cluster(&self.cluster_name)
            .service(&self.name);
        if diff.changes("desired_count") {
            update = update.desired_count(self.wanted_desired(live.desired_count()));
        }
        if diff.changes("tasks") {
            update = update.force_new_deployment(true);
        }
        if diff.changes("capacity") {
            // ECS takes a move between the launch type and a strategy, or a new strategy, only
            // with a new deployment; an empty strategy takes the service back to the launch
            // type.
            update = update
                .set_capacity_provider_strategy(Some(self.strategy().unwrap_or_default()))
                .force_new_deployment(true);
        }
        if diff.changes("health_check_grace_period") {
            update = update.health_check_grace_period_seconds(self.grace_period);
        }
        if diff.changes("task_definition") {
            update = update.task_definition(&task_definition);
        }
        if diff.changes("subnets")
            || diff.changes("security_groups")
            || diff.changes("assign_public_ip")
        {
            update = update.network_configuration(self.network(inputs)?);
        }
        if diff.changes("target_group") {
            update = update
                .set_load_balancers(Some(self.load_balancers(&cx.state, inputs)?))
                .health_check_grace_period_seconds(self.grace_period);
        }
        if [
            "circuit_breaker",
            "minimum_healthy_percent",
            "maximum_percent",
            "rollback_alarms",
        ]
        .iter()
        .any(|field| diff.changes(field))
        {
            update = update.deployment_configuration(self.deployment_configuration()?);
        }
        let accepted = update
            .send()
            .await
            .aws(|| format!("updating ecs service {}", self.name))?;
        if cx.choices.no_wait {
            return Ok(accepted.service().cloned());
        }
        let steady = self
            .wait_until_steady(cx, None, &task_definition, inputs)
            .await?;
        // A rolled-back deployment of new wiring runs the same task definition as ours, so the
        // wait alone cannot tell: what was changed and is back as it was has been rolled back.
        let reverted: Vec<String> = self
            .diff(cx, &steady, inputs)
            .fields
            .into_iter()
            .filter(|f| {
                diff.changes(&f.field)
                    && !["desired_count", "tasks", "capacity"].contains(&f.field.as_str())
            })
            .map(|f| f.field)
            .collect();
        if !reverted.is_empty() {
            anyhow::bail!(
                "ecs service {} went back to its previous {}: the circuit breaker rolled the \
                 deployment back. Check the task logs in log group {}",
                self.name,
                reverted.join(", "),
                self.log_group
            );
        }
        Ok(Some(steady))
    }

    async fn wait_ready(
        &self,
        cx: &Cx<'_>,
        live: Live,
        inputs: &Inputs<'_>,
    ) -> anyhow::Result<Live> {
        if cx.choices.no_wait {
            return Ok(live);
        }
        let task_definition = inputs.need(&self.task_definition)?.arn;
        self.wait_until_steady(cx, Some(live), &task_definition, inputs)
            .await
    }

    /// Deregisters the revisions the service no longer runs (older ones, and any a failed
    /// deployment left), so they do not pile up with every change.
    async fn after_change(
        &self,
        cx: &Cx<'_>,
        live: &Live,
        inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<String>> {
        // Not waited for: which revision it runs is not known yet, so none is deregistered.
        if cx.choices.no_wait {
            return Ok(None);
        }
        let family = inputs.need(&self.task_definition)?.family;
        let in_use = live.task_definition().unwrap_or_default();
        let mut revisions = task_definition::TaskDefinition::active_revisions(cx, &family).await?;
        revisions.sort_by_key(|arn| std::cmp::Reverse(task_definition::revision_number(arn)));
        // The newest few stay for `rollback`; older ones, and none the service runs, go.
        let unused: Vec<String> = revisions
            .into_iter()
            .skip(task_definition::KEPT_REVISIONS)
            .filter(|arn| arn != in_use)
            .collect();
        let unused = task_definition::TaskDefinition::ours(cx, unused).await?;
        task_definition::TaskDefinition::deregister(cx, &unused).await?;
        task_definition::TaskDefinition::delete_deregistered(cx, &unused).await?;
        Ok((!unused.is_empty()).then(|| {
            format!(
                "deregistered and deleted {} old task definition revision(s)",
                unused.len()
            )
        }))
    }

    async fn delete(
        &self,
        cx: &Cx<'_>,
        live: &Live,
        inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<String>> {
        // Only `down` stops them: a replacement by `up` leaves a migration running.
        if cx.choices.by == "down" {
            let one_off = super::tasks::stop_one_off(cx, &self.cluster_name).await?;
            if one_off > 0 {
                cx.say(format!(
                    "stopped {one_off} one-off task(s) of `gwfargate run`"
                ));
            }
        }
        if live.status() != Some("ACTIVE") {
            return Ok(None);
        }
        // The stage is gone, so no request can reach the tasks: stop them at once rather than
        // after the target group's deregistration delay.
        if let Some(tg) = inputs.get(&self.target_group) {
            cx.say("stopping the tasks at once (no deregistration delay)");
            cx.aws
                .elb
                .modify_target_group_attributes()
                .target_group_arn(&tg.arn)
                .attributes(
                    TargetGroupAttribute::builder()
                        .key(target_group::DEREGISTRATION_DELAY)
                        .value("0")
                        .build(),
                )
                .send()
                .await
                .aws(|| {
                    format!(
                        "dropping the deregistration delay of target group {}",
                        tg.arn
                    )
                })?;
        }
        cx.say("scaling to 0");
        cx.aws
            .ecs
            .update_service()
            .cluster(&self.cluster_name)
            .service(&self.name)
            .desired_count(0)
            .send()
            .await
            .aws(|| format!("scaling ecs service {} to 0", self.name))?;
        ignore(
            cx.aws
                .ecs
                .delete_service()
                .cluster(&self.cluster_name)
                .service(&self.name)
                .force(true)
                .send()
                .await
                .aws(|| format!("deleting ecs service {}", self.name)),
            &["ServiceNotFoundException", "ServiceNotActiveException"],
        )?;
        Ok(None)
    }

    async fn wait_quiet(&self, cx: &Cx<'_>, _live: &Live) -> anyhow::Result<()> {
        self.wait_until_tasks_stopped(cx).await
    }

    /// ECS's CreateService right after CreateCluster says the cluster is not found, and
    /// CreateService or UpdateService right after CreateListener that the target group "does
    /// not have an associated load balancer".
    /// Only these two: an update that is retried is sent again, and a "not found" from the
    /// wait after it (a target group's health, say) is no reason to start another deployment.
    fn not_visible_yet(&self, err: &anyhow::Error) -> bool {
        has_code(err, &["ClusterNotFoundException"])
            || (has_code(err, &["InvalidParameterException"])
                && format!("{err:#}").contains("does not have an associated load balancer"))
    }

    fn patience(&self) -> Patience {
        Patience::minutes(20)
    }

    fn summary(&self, live: &Live) -> String {
        format!(
            "{}, {}/{} running",
            self.name,
            live.running_count(),
            live.desired_count()
        )
    }

    fn observe(&self, live: &Live) -> Seen {
        let rollout = live
            .deployments()
            .iter()
            .find(|d| d.status() == Some("PRIMARY"))
            .and_then(|d| d.rollout_state())
            .map_or(String::new(), |r| {
                format!(", rollout {}", r.as_str().to_ascii_lowercase())
            });
        Seen::new(&self.id(live), live.status().unwrap_or("present")).detail(format!(
            "{}/{} running{rollout}",
            live.running_count(),
            live.desired_count()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::World;
    use crate::resources::testing::env;
    use aws_sdk_ecs::types::Deployment as EcsDeployment;

    const NEW: &str = "arn:aws:ecs:eu-west-1:1:task-definition/t:2";
    const OLD: &str = "arn:aws:ecs:eu-west-1:1:task-definition/t:1";

    fn deployment(
        status: &str,
        task_definition: &str,
        rollout: DeploymentRolloutState,
        running: i32,
    ) -> EcsDeployment {
        EcsDeployment::builder()
            .status(status)
            .task_definition(task_definition)
            .rollout_state(rollout)
            .rollout_state_reason("ECS deployment circuit breaker: tasks failed to start.")
            .running_count(running)
            .desired_count(1)
            .build()
    }

    fn service(deployments: Vec<EcsDeployment>, running: i32) -> Live {
        Live::builder()
            .set_deployments(Some(deployments))
            .running_count(running)
            .desired_count(1)
            .build()
    }

    fn judged(deployments: Vec<EcsDeployment>, running: i32) -> Result<&'static str, String> {
        judged_after(&AtomicBool::new(false), deployments, running)
    }

    fn judged_after(
        seen: &AtomicBool,
        deployments: Vec<EcsDeployment>,
        running: i32,
    ) -> Result<&'static str, String> {
        match judge_rollout(&service(deployments, running), NEW, "/ecs/app", seen) {
            Poll::Ready(_) => Ok("ready"),
            Poll::Pending(_) => Ok("pending"),
            Poll::Failed(why) => Err(why),
        }
    }

    #[test]
    fn the_new_revision_completed_with_every_task_running_is_steady() {
        let done = deployment("PRIMARY", NEW, DeploymentRolloutState::Completed, 1);
        assert_eq!(judged(vec![done], 1), Ok("ready"));
        let starting = deployment("PRIMARY", NEW, DeploymentRolloutState::InProgress, 0);
        assert_eq!(judged(vec![starting], 0), Ok("pending"));
    }

    #[test]
    fn a_deployment_the_circuit_breaker_stopped_fails_and_names_the_log_group() {
        let failed = deployment("PRIMARY", NEW, DeploymentRolloutState::Failed, 0);
        let why = judged(vec![failed], 0).expect_err("a failure");
        assert!(why.contains("tasks failed to start"), "{why}");
        assert!(why.contains("/ecs/app"), "{why}");
    }

    #[test]
    fn a_rolled_back_deployment_is_a_failure_not_a_steady_service() {
        // While the rollback runs, the failed deployment is still listed.
        let rollback = deployment("PRIMARY", OLD, DeploymentRolloutState::InProgress, 1);
        let ours = deployment("ACTIVE", NEW, DeploymentRolloutState::Failed, 0);
        let why = judged(vec![rollback, ours], 1).expect_err("a failure");
        assert!(why.contains("rolled back to"), "{why}");
        assert!(why.contains(OLD), "{why}");
        // Once the rollback completed, the failed deployment is gone: the old revision still
        // serving is not what was asked for.
        let seen = AtomicBool::new(false);
        let ours = deployment("PRIMARY", NEW, DeploymentRolloutState::InProgress, 0);
        assert_eq!(judged_after(&seen, vec![ours], 0), Ok("pending"));
        let rolled_back = deployment("PRIMARY", OLD, DeploymentRolloutState::Completed, 1);
        let why = judged_after(&seen, vec![rolled_back], 1).expect_err("a failure");
        assert!(why.contains(OLD) && why.contains("rolled"), "{why}");
    }

    #[test]
    fn an_older_revision_is_waited_for_until_ours_was_seen() {
        // A read that lags behind UpdateService still shows the old, completed deployment.
        let old = deployment("PRIMARY", OLD, DeploymentRolloutState::Completed, 1);
        assert_eq!(judged(vec![old], 1), Ok("pending"));
        let other = deployment("PRIMARY", OLD, DeploymentRolloutState::InProgress, 0);
        assert_eq!(judged(vec![other], 0), Ok("pending"));
    }

    fn wired(env: &Env) -> (Service, World) {
        let endpoints = [("logs".to_string(), Ref::new("endpoint/logs"))];
        let subnets = [Ref::new("subnet/0")];
        let svc = Service::new(
            &env.deployment,
            &env.names,
            Wiring {
                cluster: &Ref::new("cluster"),
                task_definition: &Ref::new("task_definition"),
                target_group: &Ref::new("target_group"),
                listener: &Ref::new("listener"),
                subnets: &subnets,
                security_group: &Ref::new("security_group"),
                endpoints: &endpoints,
                endpoint_access: Some(&Ref::new("security_group_rule/tasks-to-endpoints")),
                way_out: Vec::new(),
            },
        );
        let world = World::default();
        world.publish(
            "task_definition",
            task_definition::Outputs {
                arn: NEW.into(),
                family: "t".into(),
                image: None,
            },
        );
        world.publish(
            "target_group",
            target_group::Outputs {
                arn: "tg-new".into(),
            },
        );
        world.publish(
            "subnet/0",
            subnet::Outputs {
                id: "subnet-1".into(),
                az: "a".into(),
            },
        );
        world.publish(
            "security_group",
            security_group::Outputs { id: "sg-1".into() },
        );
        (svc, world)
    }

    fn live(target_group: &str, count: i32) -> Live {
        Live::builder()
            .status("ACTIVE")
            .task_definition(NEW)
            .desired_count(count)
            .load_balancers(
                LoadBalancer::builder()
                    .target_group_arn(target_group)
                    .container_name("microservice1")
                    .container_port(8080)
                    .build(),
            )
            .network_configuration(
                NetworkConfiguration::builder()
                    .awsvpc_configuration(
                        AwsVpcConfiguration::builder()
                            .subnets("subnet-1")
                            .security_groups("sg-1")
                            .build()
                            .expect("network"),
                    )
                    .build(),
            )
            .build()
    }

    #[test]
    fn the_service_follows_a_target_group_made_again_and_a_new_count() {
        let env = env();
        let (svc, world) = wired(&env);
        assert!(svc.diff(&env, &live("tg-new", 1), &world.inputs()) == Diff::none());
        assert_eq!(
            svc.diff(&env, &live("tg-old", 2), &world.inputs()).words(),
            "desired_count 2 → 1, target_group tg-old → tg-new"
        );
        // A new task definition revision to come: its ARN is known after up.
        world.unknown("task_definition");
        assert_eq!(
            svc.diff(&env, &live("tg-new", 1), &world.inputs()).words(),
            format!("task_definition {NEW} → (known after up)")
        );
    }

    #[test]
    fn with_autoscaling_the_count_is_the_autoscalers() {
        let mut env = env();
        env.deployment.service.autoscaling = Some(crate::config::Autoscaling {
            min: 2,
            max: 4,
            cpu: Some(60),
            memory: None,
            requests: None,
            scale_in_cooldown: 300,
            scale_out_cooldown: 60,
            schedules: Vec::new(),
        });
        let (svc, world) = wired(&env);
        // A scale-out, or a count a schedule's bounds set (9), is left as it is: new bounds
        // move the count themselves.
        for count in [3, 2, 9, 0] {
            let diff = svc.diff(&env, &live("tg-new", count), &world.inputs());
            assert!(diff.fields.is_empty(), "live {count}: {}", diff.words());
        }
        // Without autoscaling the env file's count is wanted again.
        env.deployment.service.autoscaling = None;
        let (svc, world) = wired(&env);
        assert_eq!(
            svc.diff(&env, &live("tg-new", 3), &world.inputs()).words(),
            "desired_count 3 → 1"
        );
        // A forced deployment is a change of its own.
        env.choices.force_new_deployment = true;
        assert_eq!(
            svc.diff(&env, &live("tg-new", 1), &world.inputs()).words(),
            "tasks running → replaced (--force-new-deployment)"
        );
    }

    #[test]
    fn a_service_still_draining_is_replaced_without_loss() {
        let env = env();
        let (svc, world) = wired(&env);
        let draining = Live::builder().status("DRAINING").build();
        let replace = svc
            .diff(&env, &draining, &world.inputs())
            .replace
            .expect("replaced");
        assert!(!replace.destructive && replace.reason.contains("draining"));
        assert_eq!(
            svc.deps()
                .iter()
                .find(|d| d.key == "endpoint/logs")
                .map(|d| d.down),
            Some(Phase::Quiet)
        );
    }
}
