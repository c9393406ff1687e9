//! `gwfargate plan`: what `up` would change, resource by resource, read from AWS without
//! writing anything, taking no lock and needing no state file.

use super::session::{FixedChange, Session, Target};
use crate::config::names::Names;
use crate::model::Depth;
use crate::model::plan::{Action, Change, Plan};
use crate::model::{FieldChange, Value};

/// The plan, with what the deployment itself brings to notice.
pub async fn plan(session: &Session, concurrency: usize) -> anyhow::Result<Plan> {
    let env = &session.env;
    super::up::check_secrets(env).await?;
    let (stack, world) = super::session::survey(env, Depth::Full, concurrency).await?;
    let mut plan = stack.graph.plan(env, &world);
    plan.notes.splice(0..0, stack.notes.iter().cloned());
    plan.notes.extend(stack.exposure.clone());
    Ok(plan)
}

/// The plan of an env file change a built stack cannot take: the resource it lands on (as
/// built, with its recorded id), refused, with the way to make the change.
pub fn refusal(fixed: &FixedChange, target: &Target, command_prefix: &str) -> Plan {
    let env_file = target
        .env_file
        .as_ref()
        .map_or_else(|| "FILE".to_string(), |p| p.display().to_string());
    let down = format!(
        "{command_prefix} down --env {}",
        crate::shell::word(&env_file)
    );
    let built = target
        .state
        .as_ref()
        .map_or_else(|| target.deployment.clone(), |s| s.deployment.clone());
    let names = Names::new(&built);
    let [lb_key, _, _] = crate::resources::elb::keys(built.network.load_balancer);
    let public = built.network.entry == crate::config::Entry::PublicLoadBalancer;
    let (kind, key, name, what) = match fixed.key {
        "environment" if !public => (
            "api stage",
            "stage",
            built.environment.clone(),
            "a stage's name (and the public URL) cannot change",
        ),
        "service.port" => (
            "target group",
            "target_group",
            names.target_group.clone(),
            "a target group's port cannot change",
        ),
        "network.vpc_cidr" => (
            "vpc",
            "vpc",
            names.vpc.clone(),
            "a VPC's CIDR cannot change",
        ),
        "network.entry" => (
            "load balancer",
            lb_key.as_str(),
            names.load_balancer.clone(),
            "the way in cannot change in place: the load balancer's scheme and subnets, and the \
             public URL, would all change",
        ),
        "network.subnets" if public => (
            "subnet",
            "subnet/public/0",
            names.public_subnet(0),
            "a subnet cannot move",
        ),
        "network.subnets" => (
            "subnet",
            "subnet/0",
            names.subnet(0),
            "a subnet cannot move",
        ),
        _ => (
            "ecs service",
            "service",
            names.service.clone(),
            "every resource's name derives from it",
        ),
    };
    let id = target
        .state
        .as_ref()
        .and_then(|s| s.resources.get(key))
        .map(|r| r.id.clone());
    Plan {
        changes: vec![Change {
            action: Action::Refuse,
            kind,
            name,
            id,
            reason: Some(format!(
                "{what}; to rebuild with it: `{down}` (it removes the stack as built), then `up`"
            )),
            fields: vec![FieldChange {
                field: fixed.key.to_string(),
                from: Some(fixed.was.clone()),
                to: Value::Known(fixed.now.clone()),
                destructive: None,
            }],
            destructive: None,
        }],
        notes: Vec::new(),
    }
}
