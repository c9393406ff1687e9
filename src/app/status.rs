//! `gwfargate status`: every resource of the stack, read live from AWS, and the public URL.

use super::session::{self, Session};
use crate::model::Depth;
use crate::model::status::{ServiceCounts, Status};

/// Reads every resource's live state, concurrently.
pub async fn status(session: &Session, concurrency: usize) -> anyhow::Result<Status> {
    let env = &session.env;
    let (stack, world) = session::survey(env, Depth::Observe, concurrency).await?;
    let notes = stack.graph.nodes().iter().flat_map(|n| n.notes());
    for note in notes.chain(stack.exposure.clone()) {
        crate::ui::output::eprint(&crate::printable::escaped(&format!("note: {note}")));
    }
    let resources = stack.graph.observe();
    let inputs = world.inputs();
    let mut status = Status {
        format_version: 1,
        deployment: env.deployment.name.clone(),
        environment: env.deployment.environment.clone(),
        region: env.deployment.region.clone(),
        state_file: env.state.file().path.display().to_string(),
        state_file_present: session.target.state.is_some(),
        complete: false,
        env_file: env.state.env_file(),
        url: inputs.get(&stack.stage).map(|s| s.url),
        service: inputs.get(&stack.service).map(|s| ServiceCounts {
            running: s.running,
            desired: s.desired,
        }),
        tags: env.deployment.tags.clone(),
        resources,
    };
    status.complete = status.missing().is_empty();
    Ok(status)
}
