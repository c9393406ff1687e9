//! A command's session: which stack it is about (env file or the only state file), its lock,
//! its state, and the connection to AWS. Everything before the first AWS call happens in
//! [`resolve`]; [`connect`] makes the environment every resource works in.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;

use crate::aws::clients::{self, Clients, Connection};
use crate::cli::Global;
use crate::config::names::Names;
use crate::config::{self, Deployment};
use crate::error::ImageNotPushed;
use crate::error::UsageError;
use crate::model::graph::Graph;
use crate::model::run::Outcome;
use crate::model::{Choices, Depth, Env, Hints, Memo, World};
use crate::resources::Stack;
use crate::state::last_applied::{self, Choice};
use crate::state::lock::{self, StackLock};
use crate::state::{CommandSet, EnvRead, Scale, SharedState, State, StateFile};

/// A command at work on a stack: which stack, and the connection to it.
pub struct Session {
    /// The stack.
    pub target: Target,
    /// The environment every resource works in.
    pub env: Arc<Env>,
    /// When the command started.
    pub started: std::time::Instant,
}

/// Resolves the stack and connects to AWS; prints any note on the choice of stack first.
pub async fn open(
    env_file: Option<&Path>,
    global: &Global,
    purpose: Purpose,
    choices: Choices,
) -> anyhow::Result<Session> {
    let started = std::time::Instant::now();
    let target = resolve(env_file, global, purpose)?;
    open_target(target, global, purpose, choices, started).await
}

/// Resolves the stack and connects to AWS to read it (`status`, `revisions`, `api-key`):
/// no lock, and the state file is never written.
pub async fn open_to_read(env_file: Option<&Path>, global: &Global) -> anyhow::Result<Session> {
    open(env_file, global, Purpose::Status, Choices::default()).await
}

/// Refuses, before any AWS call, an image the tasks cannot pull: the private subnets reach
/// only ECR in the stack's region, through the VPC endpoints (through a NAT gateway, any
/// registry). `check` says the user knows.
pub fn check_image(
    deployment: &crate::config::Deployment,
    check: &crate::cli::ImageCheck,
) -> anyhow::Result<()> {
    if check.allow_image_outside_ecr
        || deployment.image_in_regional_ecr()
        || deployment.network.egress != crate::config::Egress::Endpoints
    {
        return Ok(());
    }
    let region = &deployment.region;
    Err(UsageError(format!(
        "`service.image` {image} is outside ECR in {region}, and nothing was changed: the tasks \
         run in private subnets with no route to the internet and reach only {region}'s ECR \
         through the VPC endpoints, so they could not pull it and the service would never \
         start.\n  Push the image to ECR in {region} (or add an ECR pull-through cache rule \
         there) and use that reference; or, if you gave the subnets another way out yourself, \
         run again with --allow-image-outside-ecr (or GWFARGATE_ALLOW_IMAGE_OUTSIDE_ECR=1); or set \
         `egress = \"nat\"` under [network] for a NAT gateway, through which the tasks reach any \
         registry.",
        image = crate::printable::Quoted(&deployment.service.image),
    ))
    .into())
}

/// Connects to AWS for a resolved stack.
pub async fn open_target(
    target: Target,
    global: &Global,
    purpose: Purpose,
    choices: Choices,
    started: std::time::Instant,
) -> anyhow::Result<Session> {
    if let Some(note) = &target.note {
        crate::ui::output::eprint(note);
    }
    let writable = matches!(
        purpose,
        Purpose::Up | Purpose::Deploy | Purpose::Scale | Purpose::Rollback | Purpose::Down
    );
    let env = connect(&target, global, choices, writable).await?;
    if writable {
        // The second lock, per user: a run from another directory has another state file but
        // the same AWS resources.
        let lock = lock::acquire_deployment(
            &env.account,
            &env.deployment,
            match purpose {
                Purpose::Up => "up",
                Purpose::Deploy => "deploy",
                Purpose::Scale => "scale",
                Purpose::Rollback => "rollback",
                _ => "down",
            },
            crate::ui::output::eprint,
        )?;
        let mut target = target;
        if let Some(lock) = lock {
            target.locks.push(lock);
        }
        return Ok(Session {
            target,
            env,
            started,
        });
    }
    Ok(Session {
        target,
        env,
        started,
    })
}

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
    pub locks: Vec<StackLock>,
    /// Something the user should know about the choice of stack, for stderr.
    pub note: Option<String>,
    /// For `plan`: the change of the env file a built stack cannot take, if any.
    pub fixed: Option<FixedChange>,
    /// What the env file itself says of the image and the scale (the deployment may run what
    /// a command set instead); recorded once `up` finishes.
    pub read: Option<EnvRead>,
    /// What `deploy` and `scale` set that this run keeps or makes.
    pub set: CommandSet,
}

/// An env file change a built stack cannot take in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixedChange {
    /// The env file key.
    pub key: &'static str,
    /// Its value when the stack was built.
    pub was: String,
    /// Its value now.
    pub now: String,
}

impl std::fmt::Display for FixedChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` changed from {} to {}",
            self.key, self.was, self.now
        )
    }
}

/// What a command will do with the stack it resolves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// `up`: build it as the env file says (locked).
    Up,
    /// `deploy`: run another image on it (locked).
    Deploy,
    /// `scale`: run another number of tasks on it (locked).
    Scale,
    /// `rollback`: run an earlier revision's image on it (locked).
    Rollback,
    /// `plan`: say what `up` would change (not locked: it changes nothing).
    Plan,
    /// `status`: read it.
    Status,
    /// `down`: remove it as it was built (locked).
    Down,
}

/// Resolves the stack from `--env` or, without it, from the only state file in `state_dir`.
/// For `up` and `down` the stack's lock is taken before its state is read, so what is read is
/// what no other run is changing. Everything here happens before any AWS call.
pub fn resolve(env: Option<&Path>, global: &Global, purpose: Purpose) -> anyhow::Result<Target> {
    let state_dir = global.state_dir.as_path();
    let region = global.region.as_deref();
    let command = match purpose {
        Purpose::Up => Some("up"),
        Purpose::Deploy => Some("deploy"),
        Purpose::Scale => Some("scale"),
        Purpose::Rollback => Some("rollback"),
        Purpose::Down => Some("down"),
        Purpose::Status | Purpose::Plan => None,
    };
    match env {
        Some(env) => {
            let mut deployment = config::load(env, region)?;
            let file = StateFile::for_stack(state_dir, env, &deployment)?;
            let lock = command.map(|c| lock::acquire(&file, c)).transpose()?;
            let state = load_state(&file)?;
            let mut note = None;
            let mut fixed = None;
            let read = EnvRead {
                image: deployment.service.image.clone(),
                scale: Scale::of(&deployment),
            };
            let mut set = CommandSet::default();
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
                    if purpose == Purpose::Plan {
                        fixed = Some(change);
                    } else if matches!(
                        purpose,
                        Purpose::Up | Purpose::Deploy | Purpose::Scale | Purpose::Rollback
                    ) {
                        return Err(UsageError(format!(
                            "{}: {change} since the stack was built, and a built stack cannot \
                             take that change in place. Nothing was changed. To rebuild with it: \
                             run `{} down --env {}` (it removes the stack as built), then `up` \
                             again",
                            env.display(),
                            global.command_prefix(),
                            crate::shell::word(&env.display().to_string())
                        ))
                        .into());
                    } else {
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
            }
            // What `deploy` and `scale` set stays until the env file's own value changes.
            let sets = matches!(
                purpose,
                Purpose::Up | Purpose::Plan | Purpose::Deploy | Purpose::Scale | Purpose::Rollback
            );
            if let Some(state) = state.as_ref().filter(|_| sets) {
                let mut notes: Vec<String> = note.take().into_iter().collect();
                let image = last_applied::choose(
                    state.deployed.as_ref(),
                    state.env_image.as_ref(),
                    &read.image,
                );
                if !matches!(purpose, Purpose::Deploy | Purpose::Rollback) {
                    notes.extend(
                        image
                            .note("image", &read.image)
                            .map(|n| format!("note: {n}")),
                    );
                }
                if let Choice::Kept(kept) = image {
                    deployment.service.image.clone_from(&kept.value);
                    set.image = Some(kept);
                }
                let scale = last_applied::choose(
                    state.scaled.as_ref(),
                    state.env_scale.as_ref(),
                    &read.scale,
                );
                if purpose != Purpose::Scale {
                    notes.extend(
                        scale
                            .note("scale", &read.scale)
                            .map(|n| format!("note: {n}")),
                    );
                }
                if let Choice::Kept(kept) = scale {
                    kept.value.apply_to(&mut deployment);
                    set.scale = Some(kept);
                }
                note = (!notes.is_empty()).then(|| notes.join("\n"));
            }
            Ok(Target {
                deployment,
                file,
                state,
                env_file: Some(env.to_path_buf()),
                locks: lock.into_iter().collect(),
                note,
                fixed,
                read: Some(read),
                set,
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
            // Without the env file, what it said is what the last `up` recorded.
            let read = state.env_image.clone().map(|image| EnvRead {
                image,
                scale: state
                    .env_scale
                    .clone()
                    .unwrap_or_else(|| Scale::of(&state.deployment)),
            });
            let set = CommandSet {
                image: state.deployed.clone(),
                scale: state.scaled.clone(),
            };
            Ok(Target {
                deployment: state.deployment.clone(),
                env_file: state.env_file.clone(),
                file,
                state: Some(state),
                locks: lock.into_iter().collect(),
                note: None,
                fixed: None,
                read,
                set,
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
fn fixed_change(old: &Deployment, new: &Deployment) -> Option<FixedChange> {
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
        (
            "network.entry",
            old.network.entry.word().to_string(),
            new.network.entry.word().to_string(),
        ),
    ];
    fixed
        .into_iter()
        .find(|(_, was, now)| was != now)
        .map(|(key, was, now)| FixedChange { key, was, now })
}

/// Connects to AWS and makes the environment every resource works in. `writable` is false for
/// `plan` and `status`: they never write the state file.
/// Stops the command, exit 1, once AWS has not answered anything for about a minute: waiting
/// out every call's retries on a lost network would take many minutes and end blaming whatever
/// resource was being waited for. Every id made so far is already in the state file, written
/// atomically, so stopping at once loses nothing.
fn watch_reachability(conn: &Connection) {
    let endpoint = endpoint_url(conn.endpoint_url.as_deref())
        .ok()
        .flatten()
        .map_or_else(
            || format!("AWS in region {}", conn.region),
            |url| format!("the AWS endpoint {}", without_password(&url)),
        );
    tokio::spawn(async move {
        let (silent, why) = crate::aws::reachability::lost().await;
        crate::ui::output::eprint(&format!(
            "error: cannot reach {endpoint}: no answer to any call for {}s{}. Nothing more is \
             started, and every id made so far is recorded in the state file. Check the network \
             connection (or that the endpoint is up), then run the same command again",
            silent.as_secs(),
            why.map(|why| format!(" (last: {why})")).unwrap_or_default()
        ));
        std::process::exit(crate::error::EXIT_FAILURE);
    });
}

/// The endpoint every call goes to instead of AWS's (`--endpoint-url`, else the SDK's own
/// `AWS_ENDPOINT_URL`), if any.
pub fn endpoint_url(flag: Option<&str>) -> anyhow::Result<Option<String>> {
    let (source, url) = match (flag, std::env::var("AWS_ENDPOINT_URL")) {
        (Some(url), _) => ("--endpoint-url", url.to_string()),
        (None, Ok(url)) if !url.is_empty() => ("AWS_ENDPOINT_URL", url),
        _ => return Ok(None),
    };
    crate::cli::endpoint_url(&url)
        .map(Some)
        .map_err(|why| UsageError(format!("{source}: {why}")).into())
}

/// Checks the endpoint before anything is sent (exit 2 for one that is not usable), and warns
/// once about one that would carry the calls unencrypted off this machine.
pub fn check_endpoint(flag: Option<&str>) -> anyhow::Result<()> {
    if let Some(url) = endpoint_url(flag)?
        && crate::cli::is_plain_http_off_machine(&url)
    {
        crate::ui::output::eprint(&format!(
            "warning: {} is plain HTTP to another machine: the calls and AWS's answers cross \
             the network unencrypted. Use https:// unless this is a private test network",
            crate::printable::Quoted(&url)
        ));
    }
    Ok(())
}

/// A URL without the user and password it may carry (`https://user:secret@host`), for
/// messages.
fn without_password(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let host = authority
                .rsplit_once('@')
                .map_or(authority, |(_, host)| host);
            format!("{scheme}://{host}{path}")
        }
        None => url.to_string(),
    }
}

pub async fn connect(
    target: &Target,
    global: &Global,
    choices: Choices,
    writable: bool,
) -> anyhow::Result<Arc<Env>> {
    if let Some(profile) = &global.profile {
        clients::check_profile(profile).await?;
    }
    let conn = Connection {
        region: target.deployment.region.clone(),
        profile: global.profile.clone(),
        endpoint_url: global.endpoint_url.clone(),
    };
    let sdk = clients::sdk_config(&conn).await;
    watch_reachability(&conn);
    let aws = Clients::new(&sdk);
    let account = aws.account_id(&conn.region).await?;
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
    let retired_tags = state.retire_tags(&target.deployment);
    state.deployment = target.deployment.clone();
    if target.env_file.is_some() {
        state.env_file.clone_from(&target.env_file);
    }
    state.account = Some(account.clone());
    let state = if writable {
        SharedState::new(target.file.clone(), state)
    } else {
        SharedState::read_only(target.file.clone(), state)
    };
    Ok(Arc::new(Env {
        aws,
        single: Clients::single_attempt(&sdk),
        names: Names::new(&target.deployment),
        retired_tags,
        deployment: target.deployment.clone(),
        account,
        state,
        memo: Memo::default(),
        choices,
        hints: Hints {
            command_prefix: global.command_prefix(),
            env_file: target
                .env_file
                .as_ref()
                .map_or_else(|| "<env file>".to_string(), |p| p.display().to_string()),
            profile: global.profile.clone(),
        },
    }))
}

/// Builds the stack's graph and finds every resource of it: `Full` for what a plan needs,
/// `Observe` for a status row. Shared reads end with the survey.
pub async fn survey(
    env: &Arc<Env>,
    depth: Depth,
    concurrency: usize,
) -> anyhow::Result<(Stack, Arc<World>)> {
    survey_stack(env, stack_of(env), depth, concurrency).await
}

/// As [`survey`], for `down`: without a state file, also what the deployment's other way in
/// may have left ([`crate::resources::other_entry`]).
pub async fn survey_to_delete(
    env: &Arc<Env>,
    concurrency: usize,
) -> anyhow::Result<(Stack, Arc<World>)> {
    let mut stack = stack_of(env);
    if env.state.recorded().is_empty()
        && let Some(other) =
            crate::resources::other_entry(&env.deployment, &env.names, &env.account)
    {
        stack.graph.add_orphans_of(other);
    }
    survey_stack(env, stack, Depth::Full, concurrency).await
}

async fn survey_stack(
    env: &Arc<Env>,
    stack: Stack,
    depth: Depth,
    concurrency: usize,
) -> anyhow::Result<(Stack, Arc<World>)> {
    let world = Arc::new(World::default());
    let surveyed = stack.graph.survey(env, &world, depth, concurrency).await;
    env.memo.close();
    surveyed?;
    Ok((stack, world))
}

/// The resources `env` describes, and those its state file records that it no longer does.
fn stack_of(env: &Env) -> Stack {
    crate::resources::stack(
        &env.deployment,
        &env.names,
        &env.account,
        &env.state.recorded(),
    )
}

/// Finds what can be read of the stack, for `status`: what could not be read (by graph
/// index, and why) does not end the survey.
pub async fn survey_readable(
    env: &Arc<Env>,
    concurrency: usize,
) -> (
    Stack,
    Arc<World>,
    Vec<(usize, crate::model::status::Unread)>,
) {
    let stack = stack_of(env);
    let world = Arc::new(World::default());
    let unread = stack.graph.survey_readable(env, &world, concurrency).await;
    env.memo.close();
    (stack, world, unread)
}

/// The line every command that works on a stack starts with.
pub fn header(verb: &str, env: &Env) -> String {
    format!(
        "{verb}: deployment {} ({}), region {}, account {}",
        env.deployment.name, env.deployment.environment, env.deployment.region, env.account
    )
}

/// One error for a run with failures, naming every failed resource and everything skipped.
/// A run whose only failure is the missing image keeps that typed error (exit code 3).
pub fn failure(outcome: Outcome, graph: &Graph, doing: &str) -> anyhow::Error {
    let label = |i: usize| crate::model::graph::label(graph.nodes()[i].as_ref());
    let skipped: Vec<String> = outcome.skipped.iter().map(|&i| label(i)).collect();
    let mut failed = outcome.failed;
    if failed.len() == 1 && failed[0].1.chain().any(|c| c.is::<ImageNotPushed>()) {
        let (_, err) = failed.remove(0);
        return match err.downcast::<ImageNotPushed>() {
            Ok(typed) => typed.into(),
            Err(err) => err,
        };
    }
    let mut text = format!(
        "{doing} did not finish: {} resource(s) failed",
        failed.len()
    );
    for (_, err) in &failed {
        text.push_str(&format!("\n  - {err:#}"));
    }
    if !skipped.is_empty() {
        text.push_str(&format!(
            "\n  not started because of that: {}",
            skipped.join(", ")
        ));
    }
    text.push_str(
        "\nEverything recorded so far is in the state file; fix the cause and run the same command again.",
    );
    anyhow::anyhow!(text)
}

/// The display of a run that changes the stack, with Ctrl-C handled: a line per resource,
/// labels padded to the longest.
pub fn display(graph: &Graph) -> Arc<dyn crate::progress::Board> {
    let width = graph
        .nodes()
        .iter()
        .map(|n| crate::model::graph::label(n.as_ref()).len())
        .max()
        .unwrap_or(0);
    let progress = crate::ui::progress::Progress::new(width);
    let board = progress.clone();
    crate::interrupt::install(move |text| progress.line(text));
    Arc::new(board)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoint_in_a_message_keeps_no_password() {
        assert_eq!(
            without_password("https://me:s3cret@proxy.example:8443/aws"),
            "https://proxy.example:8443/aws"
        );
        assert_eq!(
            without_password("http://127.0.0.1:5000"),
            "http://127.0.0.1:5000"
        );
    }
}
