//! The state file: every id AWS returned, recorded the moment it returned it.
//!
//! It is a convenience, not the source of truth: every resource is also tagged and named so it
//! can be found without it. Writes are atomic (temporary file in the same directory, fsync,
//! rename), so a crash leaves either the old file or the new one. Like cargo's install tracker
//! it carries a format version and keeps fields it does not know.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};

use crate::config::Deployment;
use crate::error::UsageError;
use crate::user_files::{self, Links, Refusal};

use last_applied::SetBy;

pub mod last_applied;
pub mod lock;

/// The state format this build writes. Version 2 records typed outputs where version 1 had
/// free-form `attrs`; this build reads both.
pub const FORMAT_VERSION: u32 = 2;

/// The whole state file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    /// Format version; a newer one than [`FORMAT_VERSION`] is refused.
    pub format_version: u32,
    /// The env file `up` was run with, so `status` and `down` can name it.
    pub env_file: Option<PathBuf>,
    /// The deployment as validated at the last `up`.
    pub deployment: Deployment,
    /// The AWS account the stack lives in.
    #[serde(default)]
    pub account: Option<String>,
    /// Recorded resources, by key (`vpc`, `subnet/0`, `endpoint/ecr.api`, ...).
    #[serde(default)]
    pub resources: BTreeMap<String, Record>,
    /// Creates started but not yet answered, by the same keys: written before the call, so a
    /// crash in between leaves the name and client token to find or repeat it with.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub intents: BTreeMap<String, Intent>,
    /// The `[tags]` keys gwfargate may have put on the stack's resources: the last finished
    /// `up`'s, and those of any `up` since that did not finish. A key the env file drops is
    /// removed from the resources only if it is here; other tags (the organisation's, AWS
    /// Backup's) are never touched.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub tag_keys: BTreeSet<String>,
    /// The env file's `service.image` as the last finished `up` (or `deploy`) read it: while
    /// the file still says the same, an image `deploy` set is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env_image: Option<String>,
    /// The image `deploy` set, kept by every later `up` until the env file's image changes
    /// (kubectl's last-applied rule: what CI deployed is not undone by an infrastructure run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployed: Option<SetBy<String>>,
    /// The env file's task count and autoscaling bounds as the last finished `up` read them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env_scale: Option<Scale>,
    /// The count or bounds `scale` set, kept like a deployed image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaled: Option<SetBy<Scale>>,
    /// Fields written by a newer gwfargate, kept as they were.
    #[serde(flatten)]
    pub unknown: BTreeMap<String, serde_json::Value>,
}

/// One resource as recorded.
///
/// Files written before outputs were typed carry an `attrs` map instead of `outputs`; it is
/// dropped on reading (every output is read again from AWS), so those files still load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The resource's id or ARN.
    pub id: String,
    /// Whether gwfargate created it: this run did, or it carries the deployment's tag. Only
    /// the image repository is ever recorded otherwise (a repository the user already had).
    #[serde(default)]
    pub created: bool,
    /// What the resource hands its dependents (ids, ARNs, DNS names), in its kind's own shape.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs: Option<serde_json::Value>,
    /// When gwfargate made it (RFC 3339): for a while after, AWS's reads may not show it yet,
    /// so "not found" then means "not visible yet", even to a later run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub made: Option<String>,
}

/// A service's task count and autoscaling bounds, as `scale` sets them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scale {
    /// The desired count (without autoscaling).
    pub count: u32,
    /// Autoscaling's fewest tasks, when it scales.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<u32>,
    /// Autoscaling's most tasks, when it scales.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u32>,
}

impl Scale {
    /// The deployment's.
    pub fn of(deployment: &Deployment) -> Scale {
        let bounds = deployment.service.autoscaling.as_ref();
        Scale {
            count: deployment.service.count,
            min: bounds.map(|a| a.min),
            max: bounds.map(|a| a.max),
        }
    }

    /// Makes `deployment` scale as this says.
    pub fn apply_to(&self, deployment: &mut Deployment) {
        deployment.service.count = self.count;
        if let Some(bounds) = deployment.service.autoscaling.as_mut() {
            bounds.min = self.min.unwrap_or(bounds.min);
            bounds.max = self.max.unwrap_or(bounds.max);
        }
    }
}

impl std::fmt::Display for Scale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.min, self.max) {
            (Some(min), Some(max)) => write!(f, "autoscaling {min} to {max} tasks"),
            _ => write!(f, "count {}", self.count),
        }
    }
}

/// What the env file said when a run read it.
#[derive(Debug, Clone)]
pub struct EnvRead {
    /// Its `service.image`.
    pub image: String,
    /// Its count and bounds.
    pub scale: Scale,
}

/// What commands set that a run keeps or makes.
#[derive(Debug, Clone, Default)]
pub struct CommandSet {
    /// The image `deploy` set.
    pub image: Option<SetBy<String>>,
    /// The count or bounds `scale` set.
    pub scale: Option<SetBy<Scale>>,
}

/// The current time in the state file's format.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// A create about to be sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intent {
    /// The kind of resource being made (the key was `step` when resources were steps).
    #[serde(alias = "step")]
    pub kind: String,
    /// The name (or `Name` tag) it will carry.
    pub name: String,
    /// The client token, sent where the API takes one (CreateVpcEndpoint, CreateRouteTable,
    /// ECS CreateService); a retry after a crash reuses it. Elsewhere the name and tags are what
    /// find a create whose answer was lost.
    pub client_token: String,
    /// When the intent was written (RFC 3339).
    pub since: String,
}

impl State {
    /// An empty state for a deployment.
    pub fn new(deployment: Deployment, env_file: Option<PathBuf>) -> State {
        State {
            format_version: FORMAT_VERSION,
            env_file,
            deployment,
            account: None,
            resources: BTreeMap::new(),
            intents: BTreeMap::new(),
            tag_keys: BTreeSet::new(),
            env_image: None,
            deployed: None,
            env_scale: None,
            scaled: None,
            unknown: BTreeMap::new(),
        }
    }
}

impl State {
    /// The `[tags]` keys to remove from the resources as the stack becomes `next`: those the
    /// last env file had, or an `up` cut short may have put on some resources, that `next`
    /// drops. Until an `up` finishes, every key of either is kept as possibly set.
    pub fn retire_tags(&mut self, next: &Deployment) -> Vec<String> {
        let mut keys = std::mem::take(&mut self.tag_keys);
        keys.extend(self.deployment.tags.keys().cloned());
        let retired = keys
            .iter()
            .filter(|k| !next.tags.contains_key(*k))
            .cloned()
            .collect();
        keys.extend(next.tags.keys().cloned());
        self.tag_keys = keys;
        retired
    }
}

/// The JSON files in `dir`, sorted; none when it does not exist.
fn json_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut found: Vec<PathBuf> = match fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|ext| ext == "json"))
            .collect(),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(err) => {
            return Err(err).with_context(|| format!("cannot list {}", dir.display()));
        }
    };
    found.sort();
    Ok(found)
}

/// Where one env's state file lives, and how it is read and written.
#[derive(Debug, Clone)]
pub struct StateFile {
    /// Path of the JSON file.
    pub path: PathBuf,
}

impl StateFile {
    /// The state file for an env file: `<dir>/<env file stem>.json`.
    pub fn for_env(dir: &Path, env_file: &Path) -> anyhow::Result<StateFile> {
        let stem = env_file
            .file_stem()
            .and_then(|s| s.to_str())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                UsageError(format!(
                    "{}: cannot name a state file after this env file; give it a name like env1.toml",
                    env_file.display()
                ))
            })?;
        Ok(StateFile {
            path: dir.join(format!("{stem}.json")),
        })
    }

    /// The state file of the stack `deployment` is: the one in `dir` that records the same
    /// deployment name and region, whichever env file wrote it, so a copied or renamed env
    /// file is the same stack and never gets a second state file; else, for a new stack,
    /// `<dir>/<env file stem>.json`.
    pub fn for_stack(
        dir: &Path,
        env_file: &Path,
        deployment: &Deployment,
    ) -> anyhow::Result<StateFile> {
        let own = StateFile::for_env(dir, env_file)?;
        let mut candidates = json_files(dir)?;
        // The env file's own name first: with two files of one stack (left by an older
        // gwfargate), the one it wrote wins.
        candidates.sort_by_key(|p| *p != own.path);
        for path in candidates {
            let file = StateFile { path };
            // A damaged file of another name is not this stack's to judge; the env file's own
            // is read, and refused, by the caller.
            if let Ok(Some(state)) = file.load()
                && state.deployment.name == deployment.name
                && state.deployment.region == deployment.region
            {
                return Ok(file);
            }
        }
        Ok(own)
    }

    /// The only state file in `dir`; with none or several, a usage error that lists them.
    pub fn only_one_in(dir: &Path) -> anyhow::Result<StateFile> {
        let mut found = json_files(dir)?;
        match found.len() {
            0 => Err(UsageError(format!(
                "no state file in {}, so the stack is not known from here. Pass --env FILE (the \
                 env file `up` used: the stack is found by its tags even without a state file), \
                 or --state-dir DIR if the state lives elsewhere",
                dir.display()
            ))
            .into()),
            1 => Ok(StateFile {
                path: found.remove(0),
            }),
            _ => {
                let envs: Vec<String> = found
                    .iter()
                    .map(|path| {
                        StateFile { path: path.clone() }
                            .load()
                            .ok()
                            .flatten()
                            .and_then(|s| s.env_file)
                            .map_or_else(
                                || "(env file unknown)".to_string(),
                                |p| p.display().to_string(),
                            )
                    })
                    .collect();
                let width = envs.iter().map(String::len).max().unwrap_or(0);
                let choices: Vec<String> = envs
                    .iter()
                    .zip(&found)
                    .map(|(env, path)| {
                        format!("  --env {env:<width$}   (state {})", path.display())
                    })
                    .collect();
                Err(UsageError(format!(
                    "{} holds several state files; say which stack with --env:\n{}",
                    dir.display(),
                    choices.join("\n")
                ))
                .into())
            }
        }
    }

    /// Reads the state; `None` if there is no file. A damaged or newer file is an error.
    pub fn load(&self) -> anyhow::Result<Option<State>> {
        if let Some(dir) = self
            .path
            .parent()
            .filter(|d| !d.as_os_str().is_empty() && d.exists())
        {
            user_files::check_private_dir(dir).map_err(UsageError)?;
        }
        let read = user_files::read(&self.path, user_files::STATE_FILE_LIMIT, Links::Refuse);
        let text = match read {
            Ok(Some(text)) => text,
            Ok(None) => return Ok(None),
            Err(Refusal::Io(err)) => {
                return Err(err)
                    .with_context(|| format!("cannot read state file {}", self.path.display()));
            }
            Err(why) => {
                return Err(UsageError(format!(
                    "state file {} {why}; it was left as it is",
                    self.path.display()
                ))
                .into());
            }
        };
        let value: serde_json::Value = serde_json::from_str(&text).with_context(|| {
            format!(
                "state file {} is damaged (not JSON); it was left as it is. \
                 Move it away and run `up` again with the same options: resources are found \
                 again by their tags",
                self.path.display()
            )
        })?;
        let version = value
            .get("format_version")
            .and_then(serde_json::Value::as_u64);
        match version {
            Some(v) if v > u64::from(FORMAT_VERSION) => bail!(
                "state file {} has format version {v}, newer than this gwfargate understands \
                 ({FORMAT_VERSION}); upgrade gwfargate. The file was left as it is",
                self.path.display()
            ),
            None => bail!(
                "state file {} has no format_version; it is not a gwfargate state file or is damaged. \
                 It was left as it is",
                self.path.display()
            ),
            Some(_) => {}
        }
        let state = serde_json::from_value(value).with_context(|| {
            format!(
                "state file {} is damaged; it was left as it is",
                self.path.display()
            )
        })?;
        Ok(Some(state))
    }

    /// Writes the state atomically, readable by the user only.
    pub fn save(&self, state: &State) -> anyhow::Result<()> {
        let dir = self
            .path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        create_private_dir(dir)?;
        let json = serde_json::to_vec_pretty(state).context("cannot encode the state")?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)
            .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
        tmp.write_all(&json)
            .and_then(|()| tmp.write_all(b"\n"))
            .and_then(|()| tmp.as_file().sync_all())
            .with_context(|| format!("cannot write state to {}", dir.display()))?;
        tmp.persist(&self.path)
            .with_context(|| format!("cannot replace state file {}", self.path.display()))?;
        // The rename itself is only durable once the directory is synced: without it, a power
        // cut can bring back the old file and lose an id AWS already returned.
        #[cfg(unix)]
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("cannot sync state directory {}", dir.display()))?;
        Ok(())
    }

    /// Deletes the state file (after `down` removed everything); whether there was one.
    pub fn remove(&self) -> anyhow::Result<bool> {
        match fs::remove_file(&self.path) {
            Ok(()) => Ok(true),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(err) => Err(err).with_context(|| format!("cannot delete {}", self.path.display())),
        }
    }
}

/// Creates a directory (and parents) readable by the user only.
pub fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .with_context(|| format!("cannot create state directory {}", dir.display()))?;
    user_files::check_private_dir(dir).map_err(|why| UsageError(why).into())
}

/// The state shared by resources working concurrently; every change is saved at once.
#[derive(Debug, Clone)]
pub struct SharedState {
    file: StateFile,
    state: Arc<Mutex<State>>,
    writable: bool,
}

impl SharedState {
    /// Shares `state`, saving it to `file` on every change (in this build's format).
    pub fn new(file: StateFile, mut state: State) -> SharedState {
        state.format_version = FORMAT_VERSION;
        SharedState {
            file,
            state: Arc::new(Mutex::new(state)),
            writable: true,
        }
    }

    /// Shares `state` for reading only: `plan` and `status` never write the state file.
    pub fn read_only(file: StateFile, state: State) -> SharedState {
        SharedState {
            writable: false,
            ..SharedState::new(file, state)
        }
    }

    fn persist(&self, state: &State) -> anyhow::Result<()> {
        if self.writable {
            self.file.save(state)
        } else {
            Ok(())
        }
    }

    /// Every recorded key and id.
    pub fn recorded(&self) -> Vec<(String, String)> {
        self.lock()
            .resources
            .iter()
            .map(|(k, r)| (k.clone(), r.id.clone()))
            .collect()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The record under `key`, if any.
    pub fn get(&self, key: &str) -> Option<Record> {
        self.lock().resources.get(key).cloned()
    }

    /// How much longer the resource under `key` may stay invisible to AWS's reads: what is
    /// left of `window` since gwfargate made it. `None` once the window has passed, or when
    /// gwfargate did not make it (or does not know it did: a create a crash cut short is
    /// looked for by the create itself, as a lost answer is).
    pub fn still_settling(&self, key: &str, window: Duration) -> Option<Duration> {
        let state = self.lock();
        let made = state.resources.get(key).and_then(|r| r.made.clone())?;
        let at = humantime::parse_rfc3339(&made).ok()?;
        let age = SystemTime::now().duration_since(at).unwrap_or_default();
        window.checked_sub(age).filter(|left| !left.is_zero())
    }

    /// Records a resource (settling its intent, if any) and saves at once. A record of the
    /// same id keeps when it was made.
    pub fn record(&self, key: &str, mut record: Record) -> anyhow::Result<()> {
        let mut state = self.lock();
        if record.made.is_none()
            && let Some(old) = state.resources.get(key).filter(|old| old.id == record.id)
        {
            record.made.clone_from(&old.made);
        }
        let settled = state.intents.remove(key).is_some();
        if !settled && state.resources.get(key) == Some(&record) {
            return Ok(());
        }
        state.resources.insert(key.to_string(), record);
        self.persist(&state)
    }

    /// The intent to create `key`: the one already recorded (a create a crash interrupted),
    /// or a new one with a fresh client token, saved before this returns.
    pub fn intend(&self, key: &str, kind: &str, name: &str) -> anyhow::Result<Intent> {
        let mut state = self.lock();
        if let Some(intent) = state.intents.get(key) {
            return Ok(intent.clone());
        }
        let token: String = std::iter::repeat_with(fastrand::alphanumeric)
            .take(32)
            .collect();
        let intent = Intent {
            kind: kind.to_string(),
            name: name.to_string(),
            client_token: token,
            since: now_rfc3339(),
        };
        state.intents.insert(key.to_string(), intent.clone());
        self.persist(&state)?;
        Ok(intent)
    }

    /// Forgets when the resource under `key` was made, once its deletion was accepted: from
    /// then on, "not found" means gone, even for a run that follows a crash.
    pub fn unsettle(&self, key: &str) -> anyhow::Result<()> {
        let mut state = self.lock();
        match state.resources.get_mut(key) {
            Some(record) if record.made.is_some() => {
                record.made = None;
                self.persist(&state)
            }
            _ => Ok(()),
        }
    }

    /// Whether a create of `key` was started and never answered (a crash cut it short).
    pub fn interrupted_create(&self, key: &str) -> bool {
        self.lock().intents.contains_key(key)
    }

    /// Forgets a resource and saves at once.
    pub fn forget(&self, key: &str) -> anyhow::Result<()> {
        let mut state = self.lock();
        let had_intent = state.intents.remove(key).is_some();
        if state.resources.remove(key).is_some() || had_intent {
            self.persist(&state)?;
        }
        Ok(())
    }

    /// The env file recorded in the state.
    pub fn env_file(&self) -> Option<String> {
        self.lock()
            .env_file
            .as_ref()
            .map(|p| p.display().to_string())
    }

    /// Records the `[tags]` keys the stack's resources carry, once an `up` has put exactly
    /// those on every one, and saves at once.
    pub fn tags_applied(&self, keys: BTreeSet<String>) -> anyhow::Result<()> {
        let mut state = self.lock();
        if state.tag_keys == keys {
            return Ok(());
        }
        state.tag_keys = keys;
        self.persist(&state)
    }

    /// Records, once a run finished, the env file's image and scale it read, and what a
    /// command set that is still in force (`None` where the env file's won), and saves at
    /// once.
    pub fn applied(&self, read: EnvRead, set: CommandSet) -> anyhow::Result<()> {
        let mut state = self.lock();
        let before = (
            state.env_image.clone(),
            state.deployed.clone(),
            state.env_scale.clone(),
            state.scaled.clone(),
        );
        let after = (Some(read.image), set.image, Some(read.scale), set.scale);
        if before == after {
            return Ok(());
        }
        (
            state.env_image,
            state.deployed,
            state.env_scale,
            state.scaled,
        ) = after;
        self.persist(&state)
    }

    /// Saves the current state.
    pub fn save(&self) -> anyhow::Result<()> {
        let state = self.lock();
        self.persist(&state)
    }

    /// The file this state is saved to.
    pub fn file(&self) -> &StateFile {
        &self.file
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment() -> Deployment {
        crate::config::parse(
            Path::new("env1.toml"),
            include_str!("../../config/env1.toml"),
            None,
        )
        .expect("reference env file is valid")
    }

    #[test]
    fn tag_keys_an_unfinished_up_may_have_set_are_retired_until_one_finishes() {
        let with = |pairs: &[&str]| {
            let mut d = deployment();
            d.tags = pairs
                .iter()
                .map(|k| (k.to_string(), "v".to_string()))
                .collect();
            d
        };
        let mut state = State::new(with(&["team", "cost-center"]), None);
        // The next env file drops cost-center and adds tier; that `up` is cut short.
        assert_eq!(state.retire_tags(&with(&["team", "tier"])), ["cost-center"]);
        state.deployment = with(&["team", "tier"]);
        // A later one drops tier too: cost-center may still be on what the first left.
        assert_eq!(state.retire_tags(&with(&["team"])), ["cost-center", "tier"]);
        state.deployment = with(&["team"]);
        // Once an `up` finishes, only its own keys are kept.
        state.tag_keys = ["team".to_string()].into_iter().collect();
        assert!(state.retire_tags(&with(&["team"])).is_empty());
        let text = serde_json::to_string(&state).expect("a state serializes");
        let back: State = serde_json::from_str(&text).expect("a state reads back");
        assert_eq!(back.tag_keys, state.tag_keys);
    }

    #[test]
    fn round_trips_and_keeps_unknown_fields() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = StateFile {
            path: dir.path().join("s/env1.json"),
        };
        let mut state = State::new(deployment(), None);
        state
            .unknown
            .insert("from_the_future".into(), serde_json::json!({"x": 1}));
        state.resources.insert(
            "vpc".into(),
            Record {
                id: "vpc-1".into(),
                created: true,
                outputs: Some(serde_json::json!({"id": "vpc-1"})),
                made: None,
            },
        );
        file.save(&state).expect("save");
        let loaded = file.load().expect("load").expect("present");
        assert_eq!(loaded.resources["vpc"].id, "vpc-1");
        assert_eq!(
            loaded.resources["vpc"].outputs,
            Some(serde_json::json!({"id": "vpc-1"}))
        );
        assert_eq!(
            loaded.unknown["from_the_future"],
            serde_json::json!({"x": 1})
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&file.path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            let dir_mode = fs::metadata(dir.path().join("s"))
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(dir_mode & 0o777, 0o700);
        }
    }

    #[test]
    fn an_intent_is_saved_before_the_create_and_settled_by_the_record() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = StateFile {
            path: dir.path().join("env1.json"),
        };
        let shared = SharedState::new(file.clone(), State::new(deployment(), None));
        let first = shared.intend("vpc", "vpc", "cluster1-vpc").expect("intend");
        let on_disk = file.load().expect("load").expect("saved");
        assert_eq!(
            on_disk.intents["vpc"], first,
            "written before the call goes out"
        );
        let again = shared.intend("vpc", "vpc", "cluster1-vpc").expect("intend");
        assert_eq!(
            again.client_token, first.client_token,
            "a retry after a crash reuses it"
        );
        shared
            .record(
                "vpc",
                Record {
                    id: "vpc-1".into(),
                    created: true,
                    outputs: None,
                    made: None,
                },
            )
            .expect("record");
        let on_disk = file.load().expect("load").expect("saved");
        assert!(on_disk.intents.is_empty());
        assert_eq!(on_disk.resources["vpc"].id, "vpc-1");
        let next = shared.intend("vpc", "vpc", "cluster1-vpc").expect("intend");
        assert_ne!(
            next.client_token, first.client_token,
            "a new create gets a new token"
        );
    }

    #[test]
    fn what_was_made_moments_ago_is_still_settling_even_for_a_later_run() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = StateFile {
            path: dir.path().join("env1.json"),
        };
        let window = Duration::from_secs(120);
        let shared = SharedState::new(file.clone(), State::new(deployment(), None));
        let record = |id: &str, made: Option<String>| Record {
            id: id.into(),
            created: true,
            outputs: None,
            made,
        };
        shared.intend("vpc", "vpc", "cluster1-vpc").expect("intend");
        assert_eq!(
            shared.still_settling("vpc", window),
            None,
            "a create a crash cut short may never have reached AWS"
        );
        shared
            .record("vpc", record("vpc-1", Some(now_rfc3339())))
            .expect("record");
        shared.record("vpc", record("vpc-1", None)).expect("record");
        let later = SharedState::new(file.clone(), file.load().expect("load").expect("saved"));
        let left = later.still_settling("vpc", window).expect("settling");
        assert!(
            left <= window && left > Duration::from_secs(100),
            "{left:?}"
        );
        later.unsettle("vpc").expect("unsettle");
        assert_eq!(
            later.still_settling("vpc", window),
            None,
            "its deletion was accepted: not found means gone"
        );
        later
            .record("vpc", record("vpc-1", Some(now_rfc3339())))
            .expect("record");
        let old = humantime::format_rfc3339_seconds(SystemTime::now() - Duration::from_secs(300));
        later
            .record("subnet/0", record("subnet-1", Some(old.to_string())))
            .expect("record");
        assert_eq!(later.still_settling("subnet/0", window), None);
        later
            .record("subnet/1", record("subnet-2", None))
            .expect("record");
        assert_eq!(
            later.still_settling("subnet/1", window),
            None,
            "found, not made: nothing to wait for"
        );
        later.record("vpc", record("vpc-2", None)).expect("record");
        assert_eq!(later.still_settling("vpc", window), None, "another id");
    }

    /// A state file as gwfargate wrote it before records carried typed outputs (free-form
    /// `attrs`), with a create still in flight: every later gwfargate must keep reading it.
    #[test]
    fn a_state_file_written_before_typed_outputs_still_loads() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("env1.json");
        fs::write(
            &path,
            include_str!("../../tests/fixtures/state-v1-attrs.json"),
        )
        .expect("write");
        let state = StateFile { path }.load().expect("load").expect("present");
        assert_eq!(state.deployment, deployment());
        assert_eq!(state.account.as_deref(), Some("123456789012"));
        assert_eq!(state.resources.len(), 20);
        assert_eq!(state.resources["vpc"].id, "vpc-a95923fe1bc417038");
        assert_eq!(state.resources["subnet/1"].id, "subnet-72bed6feb3687deca");
        assert!(state.resources.values().all(|r| r.created));
        assert_eq!(state.intents["vpc_link"].kind, "vpc link");
        assert_eq!(
            state.intents["vpc_link"].client_token,
            "Zq3k9XrT0bWm4YpLc8NvA1sD5fGh7JkE"
        );
    }

    #[test]
    fn refuses_damaged_and_future_files_without_touching_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("env1.json");
        let file = StateFile { path: path.clone() };
        for text in [
            "{\"format_version\": 1, \"deploym",
            "not json",
            "{\"format_version\": 99}",
        ] {
            fs::write(&path, text).expect("write");
            let err = file.load().expect_err("refused");
            assert!(format!("{err:#}").contains("left as it is"), "{err:#}");
            assert_eq!(fs::read_to_string(&path).expect("read"), text);
        }
    }

    #[test]
    fn only_one_in_lists_the_choices() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(StateFile::only_one_in(dir.path()).is_err());
        let mut state = State::new(deployment(), Some("config/env1.toml".into()));
        StateFile {
            path: dir.path().join("env1.json"),
        }
        .save(&state)
        .expect("save");
        assert!(StateFile::only_one_in(dir.path()).is_ok());
        state.env_file = Some("config/env2.toml".into());
        StateFile {
            path: dir.path().join("env2.json"),
        }
        .save(&state)
        .expect("save");
        let err = StateFile::only_one_in(dir.path()).expect_err("two");
        let text = err.to_string();
        assert!(
            text.contains("--env config/env1.toml") && text.contains("--env config/env2.toml"),
            "{text}"
        );
    }
}
