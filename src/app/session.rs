//! The operations behind the commands. Each turns options into work and returns what the
//! CLI layer renders; none of them parses flags.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::aws::{self, Clients, Connection};
use crate::config::{self, Deployment};
use crate::error::UsageError;
use crate::lock::{self, StackLock};
use crate::names::Names;
use crate::progress::{Mark, Progress};
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
    /// Held while `up` or `down` works on the stack.
    #[expect(dead_code, reason = "held, never read: dropping it releases the stack")]
    pub lock: Option<StackLock>,
    /// Something the user should know about the choice of stack, for stderr.
    pub note: Option<String>,
}

/// What a command will do with the stack it resolves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// `up`: build it as the env file says (locked).
    Up,
    /// `status`: read it.
    Status,
    /// `down`: remove it as it was built (locked).
    Down,
}

/// Resolves the stack from `--env` or, without it, from the only state file in `state_dir`.
/// For `up` and `down` the stack's lock is taken before its state is read, so what is read is
/// what no other run is changing. Everything here happens before any AWS call.
pub fn resolve(
    env: Option<&Path>,
    global: &crate::cli::Global,
    purpose: Purpose,
) -> anyhow::Result<Target> {
    let state_dir = global.state_dir.as_path();
    let region = global.region.as_deref();
    let command = match purpose {
        Purpose::Up => Some("up"),
        Purpose::Down => Some("down"),
        Purpose::Status => None,
    };
    match env {
        Some(env) => {
            let mut deployment = config::load(env, region)?;
            let file = StateFile::for_env(state_dir, env)?;
            let lock = command.map(|c| lock::acquire(&file, c)).transpose()?;
            let state = load_state(&file)?;
            let mut note = None;
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
                if let Some(change) = fixed_change(old, &deployment) {
                    if purpose == Purpose::Up {
                        return Err(UsageError(format!(
                            "{}: {change} since the stack was built, and a built stack cannot \
                             take that change in place. Nothing was changed. To rebuild with it: \
                             run `{} down --env {}` (it removes the stack as built), then `up` \
                             again",
                            env.display(),
                            global.command_prefix(),
                            crate::cli::shell_word(&env.display().to_string())
                        ))
                        .into());
                    }
                    // Reading or removing the stack goes by what was built, not by the edit.
                    note = Some(format!(
                        "note: {}: {change} since the stack was built; {} the stack as built",
                        env.display(),
                        if purpose == Purpose::Down {
                            "removing"
                        } else {
                            "showing"
                        }
                    ));
                    deployment = old.clone();
                }
            }
            Ok(Target {
                deployment,
                file,
                state,
                env_file: Some(env.to_path_buf()),
                lock,
                note,
            })
        }
        None => {
            let file = StateFile::only_one_in(state_dir)?;
            let vanished = || format!("state file {} vanished", file.path.display());
            let lock = command.map(|c| lock::acquire(&file, c)).transpose()?;
            let state = load_state(&file)?.with_context(vanished)?;
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
                lock,
                note: None,
            })
        }
    }
}

/// Reads the state file; a damaged or newer one is a usage error (exit 2) sent before any
/// AWS call, and the file is left as it is.
fn load_state(file: &StateFile) -> anyhow::Result<Option<State>> {
    file.load()
        .map_err(|err| UsageError(format!("{err:#}")).into())
}

/// The first env file change that a built stack cannot take in place, if any: the names of
/// half the stack derive from these keys, or AWS cannot change them on a live resource.
/// Applying them step by step would leave the old resources behind (or rewire the API to a
/// port nothing listens on).
fn fixed_change(old: &Deployment, new: &Deployment) -> Option<String> {
    let subnets = |d: &Deployment| {
        d.network
            .subnets
            .iter()
            .map(|s| format!("{} in {}", s.cidr, s.az))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let fixed = [
        (
            "environment",
            old.environment.clone(),
            new.environment.clone(),
        ),
        (
            "service.name",
            old.service.name.clone(),
            new.service.name.clone(),
        ),
        (
            "service.port",
            old.service.port.to_string(),
            new.service.port.to_string(),
        ),
        (
            "network.vpc_cidr",
            old.network.vpc_cidr.to_string(),
            new.network.vpc_cidr.to_string(),
        ),
        ("network.subnets", subnets(old), subnets(new)),
    ];
    fixed
        .into_iter()
        .find(|(_, was, now)| was != now)
        .map(|(key, was, now)| format!("`{key}` changed from {was} to {now}"))
}

/// Connects to AWS and builds the step context for a target.
pub async fn context(
    target: &Target,
    global: &crate::cli::Global,
    purge: bool,
) -> anyhow::Result<Ctx> {
    if let Some(profile) = &global.profile {
        aws::check_profile(profile).await?;
    }
    let conn = Connection {
        region: target.deployment.region.clone(),
        profile: global.profile.clone(),
        endpoint_url: global.endpoint_url.clone(),
    };
    let sdk = aws::sdk_config(&conn).await;
    let clients = Clients::new(&sdk);
    let single = Clients::single_attempt(&sdk);
    let account = clients.account_id().await?;
    if let Some(recorded) = target.state.as_ref().and_then(|s| s.account.as_deref())
        && recorded != account
    {
        return Err(UsageError(format!(
            "state file {} records a stack in AWS account {recorded}, but these credentials are \
             for account {account}. Nothing was changed. Use the profile of account {recorded}",
            target.file.path.display()
        ))
        .into());
    }
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
        single,
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
        command_prefix: global.command_prefix(),
        profile: global.profile.clone(),
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
    crate::graph::run_until(
        &Step::ALL,
        deps,
        limit,
        crate::interrupt::requested,
        move |step| {
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
                        p.finish(Mark::Ok, &summary);
                        Ok(())
                    }
                    // Stopping for the user (image to push, Ctrl-C) is not a failure.
                    Err(err) if err.chain().any(|c| c.is::<crate::error::ImageNotPushed>()) => {
                        p.finish(Mark::Stopped, "image not pushed yet");
                        Err(err.context(format!("step `{}` stopped", step.label())))
                    }
                    Err(err) if err.chain().any(|c| c.is::<crate::interrupt::Interrupted>()) => {
                        p.finish(Mark::Stopped, "interrupted");
                        Err(err.context(format!("step `{}` stopped", step.label())))
                    }
                    Err(err) => {
                        // The whole error comes at the end; here, its code or its first line.
                        let short = aws::error_code(&err).map_or_else(
                            || {
                                err.root_cause()
                                    .to_string()
                                    .lines()
                                    .next()
                                    .unwrap_or_default()
                                    .to_string()
                            },
                            str::to_string,
                        );
                        p.finish(Mark::Failed, &short);
                        Err(err.context(format!("step `{}` failed", step.label())))
                    }
                }
            })
        },
    )
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
        return match err.downcast::<crate::error::ImageNotPushed>() {
            Ok(typed) => typed.into(),
            Err(err) => err,
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
