//! `gwfargate plan`: what `up` would change, resource by resource, read from AWS without
//! writing anything, taking no lock and needing no state file.

use super::session::{FixedChange, Session};
use crate::model::Depth;
use crate::model::plan::{Action, Change, Plan};
use crate::model::{FieldChange, Value};

/// The plan, with what the deployment itself brings to notice.
pub async fn plan(session: &Session, concurrency: usize) -> anyhow::Result<Plan> {
    let env = &session.env;
    let (stack, world) = super::session::survey(env, Depth::Full, concurrency).await?;
    let mut plan = stack.graph.plan(env, &world);
    plan.notes.splice(0..0, stack.notes.iter().cloned());
    Ok(plan)
}

/// The plan of an env file change a built stack cannot take: the one resource it lands on,
/// refused, with the way to make it (`command_prefix` and `env_file` make the command).
pub fn refusal(fixed: &FixedChange, command_prefix: &str, env_file: &std::path::Path) -> Plan {
    let down = format!(
        "{command_prefix} down --env {}",
        crate::shell::word(&env_file.display().to_string())
    );
    let (kind, what) = match fixed.key {
        "environment" => (
            "api stage",
            "a stage's name (and the public URL) cannot change",
        ),
        "service.port" => ("target group", "a target group's port cannot change"),
        "network.vpc_cidr" => ("vpc", "a VPC's CIDR cannot change"),
        "network.subnets" => ("subnet", "a subnet cannot move"),
        _ => ("ecs service", "every resource's name derives from it"),
    };
    Plan {
        changes: vec![Change {
            action: Action::Refuse,
            kind,
            name: fixed.key.to_string(),
            id: None,
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
