//! `gwfargate up`: build or converge the stack and wait until it serves.

use std::sync::Arc;

use super::{Direction, failure, run_steps};
use crate::steps::{Ctx, stage};

/// Runs every step forwards. Returns the invoke URL.
pub async fn up(ctx: Arc<Ctx>, concurrency: usize) -> anyhow::Result<String> {
    crate::steps::subnets::check_zones(&ctx).await?;
    ctx.state.save()?;
    ctx.progress.line(&format!(
        "up: deployment {} ({}), region {}, account {}",
        ctx.deployment.name, ctx.deployment.environment, ctx.deployment.region, ctx.account
    ));
    let outcome = run_steps(ctx.clone(), Direction::Up, concurrency).await;
    crate::interrupt::check()?;
    if !outcome.succeeded() {
        return Err(failure(outcome, "up"));
    }
    let url = ctx
        .state
        .get(stage::KEY)
        .and_then(|r| r.attrs.get("url").cloned())
        .ok_or_else(|| anyhow::anyhow!("the stage step finished without recording the URL"))?;
    ctx.progress.line(&format!(
        "up: done in {:.1}s",
        ctx.progress.elapsed().as_secs_f64()
    ));
    Ok(url)
}
