//! The ECS service: Fargate tasks in the private subnets, no public IP, registered with the
//! target group, with the deployment circuit breaker on (and rollback) so a broken image
//! fails in minutes instead of retrying forever.
//!
//! "Steady" is judged from the primary deployment, not from the SDK's `services_stable`
//! waiter, which counts a rolled-back deployment as stable.

use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, DeploymentCircuitBreaker, DeploymentConfiguration,
    DeploymentRolloutState, LaunchType, LoadBalancer, NetworkConfiguration, PropagateTags, Service,
};

use std::sync::atomic::{AtomicBool, Ordering};

use super::{Ctx, Observed};
use crate::aws::{AwsResultExt as _, has_code};
use crate::progress::StepProgress;
use crate::state::Record;
use crate::wait::{self, Patience, Poll};

/// State key.
pub const KEY: &str = "service";

/// The service in the cluster, if it is active (or still draining, with `draining`).
async fn lookup(ctx: &Ctx, draining: bool) -> anyhow::Result<Option<Service>> {
    let name = &ctx.names.service;
    if super::cluster::find(ctx).await?.is_none() {
        return Ok(None);
    }
    let out = ctx
        .aws
        .ecs
        .describe_services()
        .cluster(&ctx.names.cluster)
        .services(name)
        .include(aws_sdk_ecs::types::ServiceField::Tags)
        .send()
        .await;
    let out = match out.aws(|| format!("looking up ECS service {name}")) {
        Err(err) if has_code(&err, &["ClusterNotFoundException"]) => return Ok(None),
        other => other?,
    };
    Ok(out
        .services()
        .iter()
        .find(|s| s.status() == Some("ACTIVE") || (draining && s.status() == Some("DRAINING")))
        .cloned())
}

/// The active service.
pub async fn find(ctx: &Ctx) -> anyhow::Result<Option<Service>> {
    lookup(ctx, false).await
}

fn deployment_configuration() -> DeploymentConfiguration {
    DeploymentConfiguration::builder()
        .deployment_circuit_breaker(
            DeploymentCircuitBreaker::builder()
                .enable(true)
                .rollback(true)
                .build(),
        )
        .maximum_percent(200)
        .minimum_healthy_percent(100)
        .build()
}

fn is_role_not_ready(err: &anyhow::Error) -> bool {
    has_code(err, &["InvalidParameterException"])
        && format!("{err:#}").to_ascii_lowercase().contains("assume")
}

/// Where the service's tasks run and how traffic reaches them.
struct Wiring {
    network: AwsVpcConfiguration,
    load_balancer: LoadBalancer,
}

impl Wiring {
    async fn wanted(ctx: &Ctx) -> anyhow::Result<Wiring> {
        let subnets = super::subnets::ids(ctx).await?;
        let group = super::security_group::id(ctx).await?;
        let target_group = super::target_group::arn(ctx).await?;
        Ok(Wiring {
            network: AwsVpcConfiguration::builder()
                .set_subnets(Some(subnets))
                .security_groups(group)
                .assign_public_ip(AssignPublicIp::Disabled)
                .build()?,
            load_balancer: LoadBalancer::builder()
                .target_group_arn(target_group)
                .container_name(&ctx.names.container)
                .container_port(i32::from(ctx.deployment.service.port))
                .build(),
        })
    }

    fn network_configuration(&self) -> NetworkConfiguration {
        NetworkConfiguration::builder()
            .awsvpc_configuration(self.network.clone())
            .build()
    }
}

/// One thing about a live service that can differ from what the env file and the stack want.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Drift {
    TaskDefinition,
    Count,
    TargetGroup,
    Network,
    CircuitBreaker,
}

impl Drift {
    fn words(self) -> &'static str {
        match self {
            Drift::TaskDefinition => "task definition",
            Drift::Count => "task count",
            Drift::TargetGroup => "target group",
            Drift::Network => "network",
            Drift::CircuitBreaker => "circuit breaker",
        }
    }
}

fn words(drift: &[Drift]) -> String {
    drift
        .iter()
        .map(|d| d.words())
        .collect::<Vec<_>>()
        .join(", ")
}

/// What differs between the live service and what the env file and the stack want. After
/// drift (a target group made again, say) the service must follow, or it registers its tasks
/// where no traffic comes.
fn differences(svc: &Service, task_definition: &str, desired: i32, want: &Wiring) -> Vec<Drift> {
    let sorted = |items: &[String]| {
        let mut items = items.to_vec();
        items.sort_unstable();
        items
    };
    let mut out = Vec::new();
    if svc.task_definition() != Some(task_definition) {
        out.push(Drift::TaskDefinition);
    }
    if svc.desired_count() != desired {
        out.push(Drift::Count);
    }
    let lb = &want.load_balancer;
    let wired = svc.load_balancers().len() == 1
        && svc.load_balancers().iter().all(|have| {
            have.target_group_arn() == lb.target_group_arn()
                && have.container_name() == lb.container_name()
                && have.container_port() == lb.container_port()
        });
    if !wired {
        out.push(Drift::TargetGroup);
    }
    let network = svc
        .network_configuration()
        .and_then(NetworkConfiguration::awsvpc_configuration);
    let placed = network.is_some_and(|have| {
        sorted(have.subnets()) == sorted(want.network.subnets())
            && sorted(have.security_groups()) == sorted(want.network.security_groups())
            && have.assign_public_ip() != Some(&AssignPublicIp::Enabled)
    });
    if !placed {
        out.push(Drift::Network);
    }
    // Only judged when reported: an emulator may not keep it.
    let breaker = svc
        .deployment_configuration()
        .and_then(DeploymentConfiguration::deployment_circuit_breaker);
    if breaker.is_some_and(|b| !(b.enable() && b.rollback())) {
        out.push(Drift::CircuitBreaker);
    }
    out
}

/// What an update changed that the steady service no longer has. A rolled-back deployment of
/// new wiring runs the same task definition as ours, so the wait alone cannot tell: only a
/// second look shows the service went back to what it had.
fn reverted(
    svc: &Service,
    task_definition: &str,
    desired: i32,
    want: &Wiring,
    updated: &[Drift],
) -> Vec<Drift> {
    differences(svc, task_definition, desired, want)
        .into_iter()
        .filter(|d| updated.contains(d) && *d != Drift::Count)
        .collect()
}

/// Finds, creates or updates the service, then waits until it is steady.
pub async fn ensure(ctx: &Ctx, p: &StepProgress) -> anyhow::Result<String> {
    let name = &ctx.names.service;
    let want = ctx.deployment.service.count;
    let desired = i32::try_from(want).unwrap_or(i32::MAX);
    let task_definition = super::task_definition::arn(ctx).await?;
    let wiring = Wiring::wanted(ctx).await?;
    let mut updated = Vec::new();
    let verb = match find(ctx).await? {
        Some(svc) if !super::ecs::tagged_ours(ctx, svc.tags()) => {
            return Err(ctx.not_ours(&format!("ECS service {name}")));
        }
        Some(svc) => {
            let changes = differences(&svc, &task_definition, desired, &wiring);
            if changes.is_empty() {
                "found".to_string()
            } else {
                p.set(format!("updating the {}", words(&changes)));
                // Only what differs: resending the wiring would start a new deployment (every
                // task replaced) for what could have been a change of count.
                let mut update = ctx
                    .aws
                    .ecs
                    .update_service()
                    .cluster(&ctx.names.cluster)
                    .service(name)
                    .desired_count(desired);
                if changes.contains(&Drift::TaskDefinition) {
                    update = update.task_definition(&task_definition);
                }
                if changes.contains(&Drift::Network) {
                    update = update.network_configuration(wiring.network_configuration());
                }
                if changes.contains(&Drift::TargetGroup) {
                    update = update
                        .load_balancers(wiring.load_balancer.clone())
                        .health_check_grace_period_seconds(60);
                }
                if changes.contains(&Drift::CircuitBreaker) {
                    update = update.deployment_configuration(deployment_configuration());
                }
                update
                    .send()
                    .await
                    .aws(|| format!("updating ECS service {name}"))?;
                updated = changes.clone();
                format!("updated the {} of", words(&changes))
            }
        }
        None => {
            // AWS refuses a new service under the name of one still draining (an interrupted
            // `down`): let it go first.
            if lookup(ctx, true).await?.is_some() {
                wait_until_drained(ctx, p).await?;
            }
            p.set("creating");
            // The intent's token: a create whose answer was lost, or that a crash cut short,
            // is repeated with the same token and returns the first service.
            let client_token = ctx.intend(KEY, super::Step::Service, name)?.client_token;
            let out = wait::retrying(
                &format!("creating ECS service {name} (waiting for the new IAM role to be usable)"),
                p,
                Patience::minutes(2),
                is_role_not_ready,
                || async {
                    ctx.aws
                        .ecs
                        .create_service()
                        .cluster(&ctx.names.cluster)
                        .service_name(name)
                        .task_definition(&task_definition)
                        .desired_count(desired)
                        .launch_type(LaunchType::Fargate)
                        .network_configuration(wiring.network_configuration())
                        .load_balancers(wiring.load_balancer.clone())
                        .deployment_configuration(deployment_configuration())
                        .health_check_grace_period_seconds(60)
                        .client_token(&client_token)
                        .set_tags(Some(super::ecs::tags(ctx, name)))
                        .propagate_tags(PropagateTags::Service)
                        .send()
                        .await
                        .aws(|| format!("creating ECS service {name}"))
                },
            )
            .await?;
            let arn = out
                .service()
                .and_then(Service::service_arn)
                .ok_or_else(|| anyhow::anyhow!("CreateService returned no ARN"))?;
            ctx.record(KEY, Record::created(arn))?;
            "created".to_string()
        }
    };
    let svc = wait_until_steady(ctx, p, &task_definition).await?;
    ctx.record(KEY, Record::created(svc.service_arn().unwrap_or_default()))?;
    let reverted = reverted(&svc, &task_definition, desired, &wiring, &updated);
    if !reverted.is_empty() {
        anyhow::bail!(
            "ECS service {name} went back to its previous {}: the circuit breaker rolled the \
             deployment back. Check the task logs in log group {}",
            words(&reverted),
            ctx.names.log_group
        );
    }
    let retired = super::task_definition::deregister_all_but(ctx, p, &task_definition).await?;
    Ok(format!(
        "{verb} {name}, {}/{} running{}",
        svc.running_count(),
        svc.desired_count(),
        match retired {
            0 => String::new(),
            n => format!("; deregistered {n} unused task definition revision(s)"),
        }
    ))
}

/// Waits until the deployment of `task_definition` is the primary one and has completed with
/// running = desired. A deployment the circuit breaker stopped is a failure, and so is one it
/// rolled back: the service then still runs an older revision, not what the env file asks for.
pub async fn wait_until_steady(
    ctx: &Ctx,
    p: &StepProgress,
    task_definition: &str,
) -> anyhow::Result<Service> {
    let name = &ctx.names.service;
    // A read just after UpdateService may still show the old deployment: only a rollout of
    // ours that was seen and then vanished counts as rolled back.
    let seen_ours = AtomicBool::new(false);
    wait::until(
        &format!("ECS service {name} to be steady"),
        p,
        Patience::minutes(20),
        || async {
            let Some(svc) = find(ctx).await? else {
                return Ok(Poll::Failed("the service no longer exists".to_string()));
            };
            Ok(judge_rollout(
                &svc,
                task_definition,
                &ctx.names.log_group,
                &seen_ours,
            ))
        },
    )
    .await
}

/// What one look at the service says about the rollout of `task_definition`. `seen_ours`
/// remembers, across looks, whether a deployment of it was ever listed.
fn judge_rollout(
    svc: &Service,
    task_definition: &str,
    log_group: &str,
    seen_ours: &AtomicBool,
) -> Poll<Service> {
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
    let progress = format!(
        "{}/{} running, rollout {}",
        primary.running_count(),
        primary.desired_count(),
        primary
            .rollout_state()
            .map_or("unknown", DeploymentRolloutState::as_str)
    );
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

/// Live state, with running/desired counts.
pub async fn observe(ctx: &Ctx) -> anyhow::Result<Vec<Observed>> {
    let name = &ctx.names.service;
    Ok(vec![match lookup(ctx, true).await? {
        Some(svc) => {
            let rollout = svc
                .deployments()
                .iter()
                .find(|d| d.status() == Some("PRIMARY"))
                .and_then(|d| d.rollout_state())
                .map_or(String::new(), |r| {
                    format!(", rollout {}", r.as_str().to_ascii_lowercase())
                });
            Observed::present(
                "ecs service",
                name,
                svc.service_arn().unwrap_or_default(),
                svc.status().unwrap_or("present"),
            )
            .detail(format!(
                "{}/{} running{rollout}",
                svc.running_count(),
                svc.desired_count()
            ))
        }
        None => Observed::missing("ecs service", name),
    }])
}

/// Running and desired task counts, if the service exists.
pub async fn counts(ctx: &Ctx) -> anyhow::Result<Option<(i32, i32)>> {
    Ok(lookup(ctx, true)
        .await?
        .map(|s| (s.running_count(), s.desired_count())))
}

/// Scales the service to zero, deletes it, and waits until it is inactive.
pub async fn delete(ctx: &Ctx, p: &StepProgress) -> anyhow::Result<String> {
    let name = &ctx.names.service;
    match lookup(ctx, true).await? {
        None => {
            ctx.state.forget(KEY)?;
            return Ok("already gone".to_string());
        }
        Some(svc) if !super::ecs::tagged_ours(ctx, svc.tags()) => {
            ctx.state.forget(KEY)?;
            return Ok(format!("left {name}: gwfargate did not create it"));
        }
        Some(_) => {}
    }
    if find(ctx).await?.is_some() {
        p.set("scaling to 0");
        ctx.aws
            .ecs
            .update_service()
            .cluster(&ctx.names.cluster)
            .service(name)
            .desired_count(0)
            .send()
            .await
            .aws(|| format!("scaling ECS service {name} to 0"))?;
        match ctx
            .aws
            .ecs
            .delete_service()
            .cluster(&ctx.names.cluster)
            .service(name)
            .force(true)
            .send()
            .await
            .aws(|| format!("deleting ECS service {name}"))
        {
            Err(err)
                if has_code(
                    &err,
                    &["ServiceNotFoundException", "ServiceNotActiveException"],
                ) => {}
            other => {
                other?;
            }
        }
    }
    wait_until_drained(ctx, p).await?;
    ctx.state.forget(KEY)?;
    Ok(format!("deleted {name}"))
}

/// Waits until no service of this name is active or draining.
async fn wait_until_drained(ctx: &Ctx, p: &StepProgress) -> anyhow::Result<()> {
    let name = &ctx.names.service;
    wait::until(
        &format!("ECS service {name} to drain"),
        p,
        Patience::minutes(15),
        || async {
            Ok(match lookup(ctx, true).await? {
                None => Poll::Ready(()),
                Some(svc) => Poll::Pending(format!(
                    "{}, {} running",
                    svc.status().unwrap_or("?"),
                    svc.running_count()
                )),
            })
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecs::types::Deployment;

    const NEW: &str = "arn:aws:ecs:eu-west-1:1:task-definition/t:2";
    const OLD: &str = "arn:aws:ecs:eu-west-1:1:task-definition/t:1";

    fn deployment(
        status: &str,
        task_definition: &str,
        rollout: DeploymentRolloutState,
        running: i32,
    ) -> Deployment {
        Deployment::builder()
            .status(status)
            .task_definition(task_definition)
            .rollout_state(rollout)
            .rollout_state_reason("ECS deployment circuit breaker: tasks failed to start.")
            .running_count(running)
            .desired_count(1)
            .build()
    }

    fn service(deployments: Vec<Deployment>, running: i32) -> Service {
        Service::builder()
            .set_deployments(Some(deployments))
            .running_count(running)
            .desired_count(1)
            .build()
    }

    fn judged(deployments: Vec<Deployment>, running: i32) -> Result<&'static str, String> {
        judged_after(&AtomicBool::new(false), deployments, running)
    }

    fn judged_after(
        seen: &AtomicBool,
        deployments: Vec<Deployment>,
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

    fn wiring(target_group: &str) -> Wiring {
        Wiring {
            network: AwsVpcConfiguration::builder()
                .subnets("subnet-1")
                .security_groups("sg-1")
                .build()
                .expect("network"),
            load_balancer: LoadBalancer::builder()
                .target_group_arn(target_group)
                .container_name("app")
                .container_port(8080)
                .build(),
        }
    }

    #[test]
    fn new_wiring_the_service_went_back_from_is_reported() {
        let want = wiring("tg-new");
        let live = |target_group: &str| {
            Service::builder()
                .task_definition(NEW)
                .desired_count(1)
                .load_balancers(wiring(target_group).load_balancer)
                .network_configuration(wiring(target_group).network_configuration())
                .build()
        };
        assert_eq!(
            differences(&live("tg-old"), NEW, 1, &want),
            vec![Drift::TargetGroup]
        );
        // Rolled back: the service is on the old target group again.
        assert_eq!(
            reverted(&live("tg-old"), NEW, 1, &want, &[Drift::TargetGroup]),
            vec![Drift::TargetGroup]
        );
        // Moved: nothing went back.
        assert!(reverted(&live("tg-new"), NEW, 1, &want, &[Drift::TargetGroup]).is_empty());
        // What was not updated is not called reverted.
        assert!(reverted(&live("tg-old"), NEW, 1, &want, &[Drift::Count]).is_empty());
    }

    #[test]
    fn an_older_revision_is_waited_for_until_ours_was_seen() {
        // A read that lags behind UpdateService still shows the old, completed deployment.
        let old = deployment("PRIMARY", OLD, DeploymentRolloutState::Completed, 1);
        assert_eq!(judged(vec![old], 1), Ok("pending"));
        let other = deployment("PRIMARY", OLD, DeploymentRolloutState::InProgress, 0);
        assert_eq!(judged(vec![other], 0), Ok("pending"));
    }
}
