//! The operations behind the commands. Each turns options into work and returns what the
//! CLI layer renders; none of them parses flags.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::aws::{self, Clients, Connection};
use crate::config::{self, Deployment};
use crate::error::UsageError;
use crate::names::Names;
use crate::progress::Progress;
use crate::state::{SharedState, State, StateFile};
use crate::steps::Ctx;

pub mod down;
pub mod status;
pub mod up;

/// Which stack a command is about: the deployment, its state file, and any recorded state.
pub struct Target {
    /// The deployment.
    pub deployment: Deployment,
    /// The state file.
    pub file: StateFile,
    /// The state as read, if the file exists.
    pub state: Option<State>,
    /// The env file as the user named it (or as recorded).
    pub env_file: Option<PathBuf>,
}

/// Resolves the stack from `--env` or, without it, from the only state file in `state_dir`.
/// Everything here happens before any AWS call.
pub fn resolve(
    env: Option<&Path>,
    state_dir: &Path,
    region: Option<&str>,
) -> anyhow::Result<Target> {
    match env {
        Some(env) => {
            let deployment = config::load(env, region)?;
            let file = StateFile::for_env(state_dir, env)?;
            let state = file.load()?;
            if let Some(state) = &state {
                let old = &state.deployment;
                if old.name != deployment.name || old.region != deployment.region {
                    return Err(UsageError(format!(
                        "state file {} belongs to deployment {:?} in {}, but {} describes {:?} in {}; \
                         it was left as it is. Use another --state-dir, or `down` the old stack first",
                        file.path.display(),
                        old.name,
                        old.region,
                        env.display(),
                        deployment.name,
                        deployment.region
                    ))
                    .into());
                }
            }
            Ok(Target {
                deployment,
                file,
                state,
                env_file: Some(env.to_path_buf()),
            })
        }
        None => {
            let file = StateFile::only_one_in(state_dir)?;
            let state = file
                .load()?
                .with_context(|| format!("state file {} vanished", file.path.display()))?;
            if let Some(region) = region
                && region != state.deployment.region
            {
                return Err(UsageError(format!(
                    "--region {region} differs from the region of the recorded stack ({}); \
                     pass --env FILE to choose the stack",
                    state.deployment.region
                ))
                .into());
            }
            Ok(Target {
                deployment: state.deployment.clone(),
                env_file: state.env_file.clone(),
                file,
                state: Some(state),
            })
        }
    }
}

/// Connects to AWS and builds the step context for a target.
pub async fn context(
    target: &Target,
    global: &crate::cli::Global,
    purge: bool,
) -> anyhow::Result<Ctx> {
    let conn = Connection {
        region: target.deployment.region.clone(),
        profile: global.profile.clone(),
        endpoint_url: global.endpoint_url.clone(),
    };
    let sdk = aws::sdk_config(&conn).await;
    let clients = Clients::new(&sdk);
    let account = clients.account_id().await?;
    let mut state = target
        .state
        .clone()
        .unwrap_or_else(|| State::new(target.deployment.clone(), target.env_file.clone()));
    state.deployment = target.deployment.clone();
    if target.env_file.is_some() {
        state.env_file.clone_from(&target.env_file);
    }
    state.account = Some(account.clone());
    Ok(Ctx {
        aws: clients,
        names: Names::new(&target.deployment),
        deployment: target.deployment.clone(),
        account,
        state: SharedState::new(target.file.clone(), state),
        progress: Progress::new(),
        purge,
        env_file: target
            .env_file
            .as_ref()
            .map_or_else(|| "<env file>".to_string(), |p| p.display().to_string()),
    })
}

/// Which way to walk the step graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `up`: dependencies first, ensure each step.
    Up,
    /// `down`: dependents first, delete each step.
    Down,
}

/// Runs every step in `direction`, showing progress, and returns how it went.
pub async fn run_steps(
    ctx: std::sync::Arc<Ctx>,
    direction: Direction,
    limit: usize,
) -> crate::graph::Outcome<crate::steps::Step> {
    use crate::steps::Step;
    let reversed = crate::graph::reversed(&Step::ALL, Step::deps);
    let deps = move |step: Step| match direction {
        Direction::Up => step.deps(),
        Direction::Down => reversed.get(&step).cloned().unwrap_or_default(),
    };
    crate::graph::run(&Step::ALL, deps, limit, move |step| {
        let ctx = ctx.clone();
        Box::pin(async move {
            let p = ctx.progress.start(step.label());
            p.set(if direction == Direction::Up {
                "checking"
            } else {
                "deleting"
            });
            let result = match direction {
                Direction::Up => step.ensure(&ctx, &p).await,
                Direction::Down => step.delete(&ctx, &p).await,
            };
            match result {
                Ok(summary) => {
                    p.finish(true, &summary);
                    Ok(())
                }
                Err(err) => {
                    let short = if err.chain().any(|c| c.is::<crate::error::ImageNotPushed>()) {
                        "image not pushed yet".to_string()
                    } else {
                        aws::error_code(&err).unwrap_or("error").to_string()
                    };
                    p.finish(false, &short);
                    Err(err.context(format!("step `{}` failed", step.label())))
                }
            }
        })
    })
    .await
}

/// One error for a run with failures, naming every failed step and everything skipped.
/// A run whose only failure is the missing image keeps that typed error (exit code 3).
pub fn failure(outcome: crate::graph::Outcome<crate::steps::Step>, doing: &str) -> anyhow::Error {
    let skipped: Vec<&str> = outcome.skipped.iter().map(|s| s.label()).collect();
    let mut failed = outcome.failed;
    if failed.len() == 1
        && failed[0]
            .1
            .chain()
            .any(|c| c.is::<crate::error::ImageNotPushed>())
    {
        let (_, err) = failed.remove(0);
        return match err
            .chain()
            .find_map(|c| c.downcast_ref::<crate::error::ImageNotPushed>())
        {
            Some(typed) => anyhow::Error::new(crate::error::ImageNotPushed {
                image: typed.image.clone(),
                registry: typed.registry.clone(),
                region: typed.region.clone(),
                env_file: typed.env_file.clone(),
            }),
            None => err,
        };
    }
    let mut text = format!("{doing} did not finish: {} step(s) failed", failed.len());
    for (_, err) in &failed {
        text.push_str(&format!("\n  - {err:#}"));
    }
    if !skipped.is_empty() {
        text.push_str(&format!(
            "\n  not started because of that: {}",
            skipped.join(", ")
        ));
    }
    text.push_str("\nEverything recorded so far is in the state file; fix the cause and run the same command again.");
    anyhow::anyhow!(text)
}
