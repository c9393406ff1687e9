//! `gwfargate down`: delete what `up` created, dependents first, then the state file.

use std::sync::Arc;

use super::{Direction, failure, run_steps};
use crate::steps::Ctx;

/// Runs every step backwards; removes the state file only when all of them succeeded.
pub async fn down(ctx: Arc<Ctx>, concurrency: usize) -> anyhow::Result<()> {
    ctx.progress.line(&format!(
        "down: deployment {} ({}), region {}, account {}",
        ctx.deployment.name, ctx.deployment.environment, ctx.deployment.region, ctx.account
    ));
    let outcome = run_steps(ctx.clone(), Direction::Down, concurrency).await;
    crate::interrupt::check()?;
    if !outcome.succeeded() {
        return Err(failure(outcome, "down"));
    }
    let removed = ctx.state.file().remove()?;
    ctx.progress.line(&format!(
        "down: finished in {:.1}s; {}",
        ctx.progress.elapsed().as_secs_f64(),
        if removed {
            format!("removed {}", ctx.state.file().path.display())
        } else {
            "there was no state file to remove".to_string()
        }
    ));
    Ok(())
}
