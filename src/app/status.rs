//! `gwfargate status`: every resource of the stack, read live from AWS.

use futures::future::try_join_all;
use serde::Serialize;

use crate::steps::{Ctx, Observed, Step, service};

/// The status of a stack, as rendered in both the table and `--json`.
#[derive(Debug, Serialize)]
pub struct Status {
    /// Version of this document's shape.
    pub format_version: u32,
    /// Deployment name.
    pub deployment: String,
    /// Environment (stage) name.
    pub environment: String,
    /// Region.
    pub region: String,
    /// The state file, and whether it exists.
    pub state_file: String,
    /// Whether the state file exists.
    pub state_file_present: bool,
    /// Whether every resource exists.
    pub complete: bool,
    /// The env file the stack was built from, when known.
    pub env_file: Option<String>,
    /// The invoke URL, when the API and its stage exist.
    pub url: Option<String>,
    /// The service's task counts, when it exists.
    pub service: Option<ServiceCounts>,
    /// Every resource, in dependency order.
    pub resources: Vec<Observed>,
}

/// Running and desired tasks.
#[derive(Debug, Serialize)]
pub struct ServiceCounts {
    /// Tasks running now.
    pub running: i32,
    /// Tasks wanted.
    pub desired: i32,
}

/// Reads every resource's live state, concurrently.
pub async fn status(ctx: &Ctx, state_file_present: bool) -> anyhow::Result<Status> {
    let per_step = try_join_all(Step::ALL.iter().map(|step| step.observe(ctx))).await?;
    let resources: Vec<Observed> = per_step.into_iter().flatten().collect();
    let complete = resources.iter().all(|r| r.state != "missing");
    let url = resources
        .iter()
        .find(|r| r.kind == "api stage" && r.state != "missing")
        .and_then(|r| r.detail.clone());
    let service = service::counts(ctx)
        .await?
        .map(|(running, desired)| ServiceCounts { running, desired });
    Ok(Status {
        format_version: 1,
        deployment: ctx.deployment.name.clone(),
        environment: ctx.deployment.environment.clone(),
        region: ctx.deployment.region.clone(),
        state_file: ctx.state.file().path.display().to_string(),
        state_file_present,
        complete,
        env_file: ctx.state.env_file(),
        url,
        service,
        resources,
    })
}
