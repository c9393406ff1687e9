//! The resource model: what every kind of AWS resource in the stack knows about itself, and
//! the values that travel between resources and to the user.
//!
//! A kind (one file under `resources/`) implements [`Resource`], in the manner of Crossplane's
//! external clients and the Terraform plugin framework: it finds itself, says whether what it
//! found is ours, computes a pure [`Diff`] of what the env file wants against what is live,
//! creates, updates, waits and deletes, and hands typed outputs to its dependents. Everything
//! the kinds have in common is written once in [`reconcile`]: the recorded id first, then
//! tags or name; ownership; create-once with the intent saved first; recording; waiting;
//! deleting with retries; the plan entry and the status row. [`graph`] holds the resources a
//! deployment needs, [`run`] walks them concurrently, [`plan`] is what a run would change.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::aws::Clients;
use crate::aws::tags::Tags;
use crate::aws::wait::{Patience, Poll};
use crate::config::Deployment;
use crate::config::names::Names;
use crate::progress::Line;
use crate::state::{Intent, SharedState};

pub mod graph;
pub mod plan;
pub mod posture;
pub mod reconcile;
pub mod run;
pub mod status;

/// A resource's key in the graph and the state file: `vpc`, `subnet/0`, `endpoint/ecr.api`.
pub type Key = String;

/// How far along a resource is, for the resources that wait on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Phase {
    /// `up`: it exists and is ready to use.
    Ready,
    /// `down`: AWS accepted its deletion, so it starts nothing new (no new task pulls an
    /// image once the service is deleted).
    Deleting,
    /// `down`: what it ran has stopped (the tasks' containers exited, their last log lines
    /// shipped).
    Quiet,
    /// `down`: it is gone.
    Gone,
}

/// What a resource needs of another: on the way up, that it is ready; on the way down, the
/// other one waits until this one reached `down` (gone, unless it can go sooner).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dep {
    /// The resource depended on.
    pub key: Key,
    /// How far this resource must be torn down before the one depended on may go.
    pub down: Phase,
}

/// A typed handle to another resource of the graph: its key, and the type of its outputs.
pub struct Ref<T> {
    key: Key,
    outputs: PhantomData<fn() -> T>,
}

impl<T> Clone for Ref<T> {
    fn clone(&self) -> Self {
        Ref {
            key: self.key.clone(),
            outputs: PhantomData,
        }
    }
}

impl<T> std::fmt::Debug for Ref<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Ref({})", self.key)
    }
}

impl<T> Ref<T> {
    /// A handle to the resource under `key`.
    pub fn new(key: impl Into<Key>) -> Ref<T> {
        Ref {
            key: key.into(),
            outputs: PhantomData,
        }
    }

    /// Depends on it: ready before this one is made, gone only after this one is.
    pub fn dep(&self) -> Dep {
        self.dep_until(Phase::Gone)
    }

    /// Depends on it, letting it go once this one reached `phase` on the way down.
    pub fn dep_until(&self, phase: Phase) -> Dep {
        Dep {
            key: self.key.clone(),
            down: phase,
        }
    }
}

/// A value in a diff: known now, or only once `up` has made what it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Known.
    Known(String),
    /// Known after `up` (a dependency is to be made first).
    Unknown,
}

impl Value {
    /// The known value, if any.
    pub fn known(&self) -> Option<&str> {
        match self {
            Value::Known(v) => Some(v),
            Value::Unknown => None,
        }
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Known(v) => f.write_str(v),
            Value::Unknown => f.write_str("(known after up)"),
        }
    }
}

impl From<String> for Value {
    fn from(value: String) -> Value {
        Value::Known(value)
    }
}

impl From<&str> for Value {
    fn from(value: &str) -> Value {
        Value::Known(value.to_string())
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(value: Option<T>) -> Value {
        value.map_or(Value::Unknown, Into::into)
    }
}

/// A list as a field value: its items joined, or `None` when it is empty.
pub fn listed(items: &[String]) -> Option<String> {
    (!items.is_empty()).then(|| items.join(", "))
}

/// The items in order, so lists AWS returns in any order compare and print alike.
pub fn sorted(items: &[String]) -> Vec<String> {
    let mut items = items.to_vec();
    items.sort_unstable();
    items
}

/// The field a `[tags]` change shows as in a diff.
pub const TAGS_FIELD: &str = "tags";

/// What `[tags]` changes on one resource.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagChanges {
    /// Tags to set (added, or with a new value).
    pub set: Tags,
    /// Tag keys to remove.
    pub remove: Vec<String>,
}

impl TagChanges {
    /// What makes a resource carrying `have` carry the env file's `[tags]`: a wanted tag it
    /// lacks or holds with another value is set; a key an earlier `up` set (`retired`) that
    /// it still carries is removed. Every other tag is left as it is.
    pub fn between(wanted: &[(String, String)], retired: &[String], have: &Tags) -> TagChanges {
        let value = |key: &str| have.iter().find(|(k, _)| k == key).map(|(_, v)| v);
        TagChanges {
            set: wanted
                .iter()
                .filter(|(k, v)| value(k) != Some(v))
                .cloned()
                .collect(),
            remove: retired
                .iter()
                .filter(|k| value(k).is_some())
                .cloned()
                .collect(),
        }
    }

    /// Whether nothing changes.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.remove.is_empty()
    }

    /// The change as a diff's field: the tags concerned, before and after
    /// (`team=web → team=payments, tier=1`).
    pub fn field(&self, wanted: &[(String, String)], have: &Tags) -> FieldChange {
        let concerned =
            |k: &str| wanted.iter().any(|(w, _)| w == k) || self.remove.iter().any(|r| r == k);
        let words = |tags: &mut Vec<String>| {
            tags.sort_unstable();
            listed(tags)
        };
        let mut before: Vec<String> = have
            .iter()
            .filter(|(k, _)| concerned(k))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let mut after: Vec<String> = wanted.iter().map(|(k, v)| format!("{k}={v}")).collect();
        FieldChange {
            field: TAGS_FIELD.to_string(),
            from: words(&mut before),
            to: Value::Known(words(&mut after).unwrap_or_else(|| "(none)".to_string())),
            destructive: None,
        }
    }
}

/// One field that differs between what is live and what is wanted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    /// The field, in the env file's or AWS's words (`retention_days`, `desired_count`).
    pub field: String,
    /// What it is now; `None` when it is not set at all.
    pub from: Option<String>,
    /// What it will be.
    pub to: Value,
    /// Why this change loses something, if it does (a shorter retention drops older logs).
    pub destructive: Option<String>,
}

impl FieldChange {
    /// A setting a new resource gets.
    pub fn setting(field: &str, to: impl Into<String>) -> FieldChange {
        FieldChange {
            field: field.to_string(),
            from: None,
            to: Value::Known(to.into()),
            destructive: None,
        }
    }
}

/// Why a resource is replaced (deleted, then made again).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replace {
    /// In plain words.
    pub reason: String,
    /// Whether something that works now is lost meanwhile; not when the old one is already
    /// failed or being deleted.
    pub destructive: bool,
}

/// What must change to make a live resource what is wanted: the same value drives `plan`,
/// `up`'s progress lines and the tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diff {
    /// Fields to change in place.
    pub fields: Vec<FieldChange>,
    /// Set when the resource must be made again.
    pub replace: Option<Replace>,
    /// Set when AWS cannot take the change in place and gwfargate will not replace it:
    /// what cannot change, and the way to do it.
    pub refuse: Option<String>,
    /// Whether applying the change gives the resource new outputs (a task definition's new
    /// revision has a new ARN), so its dependents only know them after `up`.
    pub new_outputs: bool,
}

impl Diff {
    /// No change.
    pub fn none() -> Diff {
        Diff::default()
    }

    /// Adds a field change when `from` and `to` differ (an unknown `to` always differs).
    pub fn compare(&mut self, field: &str, from: Option<&str>, to: impl Into<Value>) -> &mut Diff {
        let to = to.into();
        if to.known() != from || to == Value::Unknown {
            self.fields.push(FieldChange {
                field: field.to_string(),
                from: from.map(str::to_string),
                to,
                destructive: None,
            });
        }
        self
    }

    /// Adds a field change unconditionally.
    pub fn change(&mut self, field: &str, from: Option<String>, to: impl Into<Value>) -> &mut Diff {
        self.fields.push(FieldChange {
            field: field.to_string(),
            from,
            to: to.into(),
            destructive: None,
        });
        self
    }

    /// Marks the last field change as destructive, saying why.
    pub fn losing(&mut self, why: &str) -> &mut Diff {
        if let Some(last) = self.fields.last_mut() {
            last.destructive = Some(why.to_string());
        }
        self
    }

    /// Whether `field` changes.
    pub fn changes(&self, field: &str) -> bool {
        self.fields.iter().any(|f| f.field == field)
    }

    /// Plans adding to list `field` the wanted members it lacks, leaving the others (the
    /// user's) alone: `have` (sorted) → `have` and the missing ones, sorted. `want` is `None`
    /// while a member is yet to be made.
    pub fn add_missing(&mut self, field: &str, have: &[String], want: Option<Vec<String>>) {
        match want {
            Some(want) if want.iter().all(|w| have.contains(w)) => {}
            Some(want) => {
                let mut after = have.to_vec();
                after.extend(want.into_iter().filter(|w| !have.contains(w)));
                self.change(field, listed(have), sorted(&after).join(", "));
            }
            None => {
                self.change(field, listed(have), Value::Unknown);
            }
        }
    }

    /// The field changes in a line: `retention_days 30 → 7, desired_count 1 → 2`.
    pub fn words(&self) -> String {
        self.fields
            .iter()
            .map(|f| {
                format!(
                    "{} {} → {}",
                    f.field,
                    f.from.as_deref().unwrap_or("(none)"),
                    f.to
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// How much a lookup reads: enough to show a status row, or everything a diff needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// Existence, state and the one detail `status` shows.
    Observe,
    /// Everything: settings, tags, attributes, policies.
    Full,
}

/// Whether a found resource is this deployment's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ownership {
    /// It carries the deployment's tag.
    Ours,
    /// It does not: gwfargate neither changes nor deletes it.
    NotOurs,
    /// Not known at this depth (the tags cost a read `status` does not make).
    Unknown,
}

/// What to do with a resource of our name that is not ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForeignUse {
    /// Refuse: gwfargate will not take it over, and cannot make its own under that name.
    Refuse,
    /// Use it as it is, never change or delete it (an image repository the user already had).
    UseAsIs,
}

/// How a deletion ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deleted {
    /// Deleted, with a detail for the progress line ("3 image(s)"), if any.
    Removed(Option<String>),
    /// There was nothing to delete.
    AlreadyGone,
    /// Deliberately kept: why.
    Kept(String),
    /// Not gwfargate's: left as it is.
    Left,
}

/// One resource as seen live, for `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Observed {
    /// Resource kind, e.g. "vpc", "subnet".
    pub kind: &'static str,
    /// Its name.
    pub name: String,
    /// Its id or ARN, when it exists.
    pub id: Option<String>,
    /// Live state: `missing`, or AWS's own word (`available`, `active`, `provisioning`, ...),
    /// or `present` where AWS has no state for the kind.
    pub state: String,
    /// Anything else worth one glance (running/desired, DNS name); `null` when nothing.
    pub detail: Option<String>,
}

impl Observed {
    /// A resource that exists, as its kind saw it.
    pub fn present(kind: &'static str, name: &str, seen: Seen) -> Observed {
        Observed {
            kind,
            name: name.to_string(),
            id: Some(seen.id),
            state: seen.state,
            detail: seen.detail,
        }
    }

    /// A resource that does not exist.
    pub fn missing(kind: &'static str, name: &str) -> Observed {
        Observed {
            kind,
            name: name.to_string(),
            id: None,
            state: "missing".to_string(),
            detail: None,
        }
    }
}

/// What a kind sees of a found resource for its `status` row; the row's kind and name are
/// the node's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// Its id or ARN.
    pub id: String,
    /// AWS's own word for its state (`available`, `active`, ...), or `present` where AWS has
    /// none for the kind.
    pub state: String,
    /// Anything else worth one glance (running/desired, DNS name).
    pub detail: Option<String>,
}

impl Seen {
    /// Seen with `id`, in `state`.
    pub fn new(id: &str, state: &str) -> Seen {
        Seen {
            id: id.to_string(),
            state: state.to_ascii_lowercase(),
            detail: None,
        }
    }

    /// Adds a detail.
    pub fn detail(mut self, detail: impl Into<String>) -> Seen {
        self.detail = Some(detail.into());
        self
    }
}

/// The commands gwfargate suggests, with this run's options, so a hint never sends the user to
/// another account, region or state file.
#[derive(Debug, Clone, Default)]
pub struct Hints {
    /// `gwfargate` and the global options this run was given.
    pub command_prefix: String,
    /// The env file as the user named it.
    pub env_file: String,
    /// The AWS profile named with `--profile`, for the `aws` commands suggested.
    pub profile: Option<String>,
}

impl Hints {
    /// The command line to run `subcommand` on this stack again, e.g.
    /// `gwfargate --profile prod up --env config/prod.toml`.
    pub fn command(&self, subcommand: &str) -> String {
        format!(
            "{} {subcommand} --env {}",
            self.command_prefix,
            crate::shell::word(&self.env_file)
        )
    }
}

/// Reads shared by several resources while the stack is surveyed (both subnets come from one
/// DescribeSubnets, every endpoint from one DescribeVpcEndpoints). Closed once the survey is
/// done: waits and the lookups after a lost answer must see AWS as it is now.
#[derive(Default)]
pub struct Memo {
    closed: AtomicBool,
    #[expect(clippy::type_complexity, reason = "a cache of type-erased reads")]
    cells: Mutex<HashMap<String, Arc<tokio::sync::OnceCell<Arc<dyn Any + Send + Sync>>>>>,
}

impl Memo {
    /// The result of `read` under `key`, read once while the memo is open.
    pub async fn get<T, F, Fut>(&self, key: &str, read: F) -> anyhow::Result<Arc<T>>
    where
        T: Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = anyhow::Result<T>>,
    {
        if self.closed.load(Ordering::SeqCst) {
            return Ok(Arc::new(read().await?));
        }
        let cell = self
            .cells
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(key.to_string())
            .or_default()
            .clone();
        let value = cell
            .get_or_try_init(|| async {
                read()
                    .await
                    .map(|v| Arc::new(v) as Arc<dyn Any + Send + Sync>)
            })
            .await?
            .clone();
        value
            .downcast::<T>()
            .map_err(|_| anyhow::anyhow!("internal error: read {key} was cached as another type"))
    }

    /// Whether reads are still shared (the survey is under way).
    pub fn is_open(&self) -> bool {
        !self.closed.load(Ordering::SeqCst)
    }

    /// Every later read goes to AWS.
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.cells
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }
}

/// What every resource needs from outside itself: AWS clients, the deployment, its names, the
/// account, the state file.
pub struct Env {
    /// AWS clients (the SDK retries throttling and 5xx).
    pub aws: Clients,
    /// Clients that send each call once, for creates that are not idempotent.
    pub single: Clients,
    /// The validated env file (or the deployment as built, for `status` and `down`).
    pub deployment: Deployment,
    /// Every resource name.
    pub names: Names,
    /// `[tags]` keys an earlier `up` set that the env file no longer has: removed from every
    /// resource that carries them.
    pub retired_tags: Vec<String>,
    /// The AWS account id.
    pub account: String,
    /// The state file, saved on every change (read-only for `plan` and `status`).
    pub state: SharedState,
    /// Reads shared while the stack is surveyed.
    pub memo: Memo,
    /// What the user chose on the command line beyond the env file.
    pub choices: Choices,
    /// The commands gwfargate suggests.
    pub hints: Hints,
}

/// What the user chose on the command line beyond the env file.
#[derive(Debug, Clone, Copy, Default)]
pub struct Choices {
    /// `down --purge`: delete a created repository even when it holds images.
    pub purge: bool,
    /// `up --force-new-deployment`: replace every task though nothing changed (a rotated
    /// secret, a re-pushed tag the env file does not pin).
    pub force_new_deployment: bool,
    /// `deploy --no-wait`: a changed service is left rolling out once ECS accepted the change.
    pub no_wait: bool,
    /// The command (`up`, `deploy`, `rollback`, `down`), recorded on the revisions it
    /// registers; `down` also stops the one-off tasks of `gwfargate run`.
    pub by: &'static str,
}

impl Env {
    /// The tags of the resource named `name`.
    pub fn tags(&self, name: &str) -> crate::aws::tags::Tags {
        self.names.tags(name)
    }

    /// Whether tags carry this deployment's tag.
    pub fn is_ours<'a>(&self, tags: impl Iterator<Item = (&'a str, &'a str)>) -> bool {
        self.names.is_ours(tags)
    }

    /// Ours or not ours, from tags.
    pub fn owner<'a>(&self, tags: impl Iterator<Item = (&'a str, &'a str)>) -> Ownership {
        if self.is_ours(tags) {
            Ownership::Ours
        } else {
            Ownership::NotOurs
        }
    }

    /// An ARN of this stack's region and account.
    pub fn arn(&self, service: &str, rest: &str) -> String {
        format!(
            "arn:{}:{service}:{}:{}:{rest}",
            self.partition(),
            self.deployment.region,
            self.account
        )
    }

    /// The AWS partition of the region (`aws`, `aws-cn`, `aws-us-gov`).
    pub fn partition(&self) -> &'static str {
        crate::config::partition(&self.deployment.region)
    }
}

/// What one resource's work has in hand: the environment, and its line on the display.
pub struct Cx<'a> {
    /// The environment.
    pub env: &'a Env,
    /// Where to say what it is doing.
    pub line: &'a dyn Line,
}

impl std::ops::Deref for Cx<'_> {
    type Target = Env;
    fn deref(&self) -> &Env {
        self.env
    }
}

impl Cx<'_> {
    /// Says what the work is doing now.
    pub fn say(&self, message: impl Into<String>) {
        self.line.set(message.into());
    }
}

/// The outputs resources have published so far in a run: known ones only. A dependency's
/// outputs are unknown while it is yet to be made.
#[derive(Default)]
pub struct World {
    outputs: Mutex<HashMap<Key, Arc<dyn Any + Send + Sync>>>,
}

impl World {
    fn lock(&self) -> MutexGuard<'_, HashMap<Key, Arc<dyn Any + Send + Sync>>> {
        self.outputs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Publishes a resource's outputs.
    pub fn publish<T: Send + Sync + 'static>(&self, key: &str, outputs: T) {
        self.lock().insert(key.to_string(), Arc::new(outputs));
    }

    /// Marks a resource's outputs unknown (it is yet to be made, or will change).
    pub fn unknown(&self, key: &str) {
        self.lock().remove(key);
    }

    /// What a resource's dependencies have published.
    pub fn inputs(&self) -> Inputs<'_> {
        Inputs { world: self }
    }
}

/// A resource's view of its dependencies' outputs.
pub struct Inputs<'a> {
    world: &'a World,
}

impl Inputs<'_> {
    /// The outputs behind `r`; `None` while they are unknown (it is yet to be made).
    pub fn get<T: Clone + Send + Sync + 'static>(&self, r: &Ref<T>) -> Option<T> {
        self.world
            .lock()
            .get(&r.key)
            .and_then(|v| v.clone().downcast::<T>().ok())
            .map(|v| (*v).clone())
    }

    /// The outputs behind `r`, which must be known: the resource comes after it in the graph.
    pub fn need<T: Clone + Send + Sync + 'static>(&self, r: &Ref<T>) -> anyhow::Result<T> {
        self.get(r).ok_or_else(|| {
            anyhow::anyhow!(
                "{} is not there yet, though everything depending on it waits for it; \
                 run the same command again",
                r.key
            )
        })
    }
}

/// One kind of AWS resource in the stack. Every method but the AWS calls is a pure function,
/// so diffs, readiness and status rows are unit-tested without AWS.
///
/// The reconciler (written once, in [`reconcile`]) decides which of these to call: a kind only
/// says how to find, compare, make, change, wait for and delete its own resource.
pub trait Resource: Send + Sync + 'static {
    /// What AWS says about it: the object found and any further reads the diff needs.
    type Live: Clone + Send + Sync + 'static;
    /// What it hands its dependents (ids, ARNs, DNS names); also kept in the state file.
    type Outputs: Clone + Send + Sync + Serialize + DeserializeOwned + 'static;

    /// Its key in the graph and the state file.
    fn key(&self) -> Key;
    /// Its kind, in `status`'s words ("vpc", "load balancer").
    fn kind(&self) -> &'static str;
    /// Its name (or `Name` tag).
    fn name(&self) -> String;
    /// What it needs before it can be made, and what must go before it can be deleted.
    fn deps(&self) -> Vec<Dep>;

    /// The dependencies whose outputs its lookup needs (a listener is found on its load
    /// balancer): while the stack is surveyed, it is looked up after them, everything else at
    /// once.
    fn found_through(&self) -> Vec<Key> {
        Vec::new()
    }

    /// Whether [`Resource::by_id`] reads AWS: kinds found by their name alone leave it unset,
    /// and are read again by [`Resource::lookup`].
    const FOUND_BY_ID: bool = false;

    /// Looks it up by the id the state file recorded; `None` when AWS has no such thing.
    fn by_id(
        &self,
        cx: &Cx<'_>,
        id: &str,
        depth: Depth,
    ) -> impl Future<Output = anyhow::Result<Option<Self::Live>>> + Send {
        let _ = (cx, id, depth);
        async { Ok(None) }
    }

    /// Looks it up by tags or name. Kinds found by tags return only what is ours; kinds found
    /// by name may return someone else's, which [`Resource::ownership`] tells apart.
    fn lookup(
        &self,
        cx: &Cx<'_>,
        inputs: &Inputs<'_>,
        depth: Depth,
    ) -> impl Future<Output = anyhow::Result<Option<Self::Live>>> + Send;

    /// Whether what was found carries the deployment's tag.
    fn ownership(&self, env: &Env, live: &Self::Live) -> Ownership;

    /// What to do with a resource of our name that is not ours.
    fn foreign_use(&self) -> ForeignUse {
        ForeignUse::Refuse
    }

    /// Its id or ARN, as recorded in the state file.
    fn id(&self, live: &Self::Live) -> String;

    /// What it hands its dependents.
    fn outputs(&self, env: &Env, live: &Self::Live) -> Self::Outputs;

    /// What it will hand its dependents once made, when its names alone say (a log group's
    /// name, a role's ARN): its dependents are then planned against them, not against
    /// values known only after `up`.
    fn planned_outputs(&self, env: &Env) -> Option<Self::Outputs> {
        let _ = env;
        None
    }

    /// The tags it carries, when its kind carries the env file's `[tags]` and they were read
    /// (a full lookup): the reconciler converges `[tags]` on them through
    /// [`Resource::retag`]. `None` leaves its tags as they are.
    fn tags(&self, live: &Self::Live) -> Option<Tags> {
        let _ = live;
        None
    }

    /// Sets tags and removes tag keys in place, in its service's words (CreateTags and
    /// DeleteTags, TagResource and UntagResource, ...).
    fn retag(
        &self,
        cx: &Cx<'_>,
        live: &Self::Live,
        changes: &TagChanges,
    ) -> impl Future<Output = anyhow::Result<()>> + Send {
        let _ = (cx, live, changes);
        async { anyhow::bail!("gwfargate cannot change this resource's tags in place") }
    }

    /// What must change to make it what is wanted.
    fn diff(&self, env: &Env, live: &Self::Live, inputs: &Inputs<'_>) -> Diff {
        let _ = (env, live, inputs);
        Diff::none()
    }

    /// What the user should know about a found resource that is not a change (an image not
    /// pushed yet).
    fn advice(&self, env: &Env, live: &Self::Live) -> Option<String> {
        let _ = (env, live);
        None
    }

    /// What the user should know before it is made again after it went missing (a new REST API
    /// has a new public URL). Not destructive: what it replaces is already gone.
    fn creation_note(&self, env: &Env) -> Option<String> {
        let _ = env;
        None
    }

    /// The settings a new one gets, for the plan's `create` line.
    fn new_fields(&self, env: &Env, inputs: &Inputs<'_>) -> Vec<FieldChange> {
        let _ = (env, inputs);
        Vec::new()
    }

    /// Makes it; `intent` carries the client token to send where the API takes one. Called
    /// through create-once: a create whose answer was lost is looked for, not repeated.
    fn create(
        &self,
        cx: &Cx<'_>,
        inputs: &Inputs<'_>,
        intent: &Intent,
    ) -> impl Future<Output = anyhow::Result<Self::Live>> + Send;

    /// Applies a diff's field changes in place. Returns the live resource when it waited for
    /// it to be ready itself.
    fn update(
        &self,
        cx: &Cx<'_>,
        live: &Self::Live,
        diff: &Diff,
        inputs: &Inputs<'_>,
    ) -> impl Future<Output = anyhow::Result<Option<Self::Live>>> + Send {
        let _ = (cx, live, inputs);
        let fields = diff.words();
        async move { anyhow::bail!("gwfargate cannot change {fields} in place") }
    }

    /// Whether it is ready to use.
    fn readiness(&self, live: &Self::Live) -> Poll<()> {
        let _ = live;
        Poll::Ready(())
    }

    /// Words for the wait, after the resource's name: "to become active".
    fn waiting_for(&self) -> &'static str {
        "to become available"
    }

    /// How long it may take to become ready, or to go.
    fn patience(&self) -> Patience {
        Patience::minutes(15)
    }

    /// Waits until it is ready; by default polls [`Resource::readiness`].
    fn wait_ready(
        &self,
        cx: &Cx<'_>,
        live: Self::Live,
        inputs: &Inputs<'_>,
    ) -> impl Future<Output = anyhow::Result<Self::Live>> + Send
    where
        Self: Sized,
    {
        reconcile::poll_ready(self, cx, live, inputs)
    }

    /// Work after it became ready, when it was made or changed (the service deregisters the
    /// task definition revisions it no longer runs). Returns words for the progress line.
    fn after_change(
        &self,
        cx: &Cx<'_>,
        live: &Self::Live,
        inputs: &Inputs<'_>,
    ) -> impl Future<Output = anyhow::Result<Option<String>>> + Send {
        let _ = (cx, live, inputs);
        async { Ok(None) }
    }

    /// Deletes it (one attempt: the reconciler retries [`Resource::delete_retryable`]
    /// refusals, treats "not found" as done and waits until it is gone). Returns a detail for
    /// the progress line, if any.
    fn delete(
        &self,
        cx: &Cx<'_>,
        live: &Self::Live,
        inputs: &Inputs<'_>,
    ) -> impl Future<Output = anyhow::Result<Option<String>>> + Send;

    /// Whether deleting it, once the env file no longer describes it, loses nothing: it
    /// only carried traffic that has moved on (the other kind of VPC link). Such a deletion
    /// is planned, but `up` needs no confirmation for it.
    fn deleted_without_loss(&self) -> bool {
        false
    }

    /// Why deleting it would lose what must be kept (an image repository holding images,
    /// without `--purge`): it is then kept, and the plan says so instead of `delete`.
    fn kept(&self, env: &Env, live: &Self::Live) -> Option<String> {
        let _ = (env, live);
        None
    }

    /// Whether a replacement makes the new one before deleting the old (terraform's
    /// `create_before_destroy`): for what its dependents name by id and AWS will not delete
    /// while they do (a VPC link its integrations use). The old one is deleted once every
    /// dependent has moved on; its id is recorded until then, so a run cut short, or `down`,
    /// still removes it.
    fn replaced_after_dependents(&self, live: &Self::Live) -> bool {
        let _ = live;
        false
    }

    /// Whether a refused create or update means a dependency made moments ago is not visible
    /// to it yet (retried while the dependency is that new). By default: "not found".
    fn not_visible_yet(&self, err: &anyhow::Error) -> bool {
        crate::aws::errors::is_not_found(err)
    }

    /// Error codes that mean "not yet" when deleting: something still uses it.
    fn delete_retryable(&self) -> &'static [&'static str] {
        &[]
    }

    /// Waits, once its deletion was accepted, until what it ran has stopped.
    fn wait_quiet(
        &self,
        cx: &Cx<'_>,
        live: &Self::Live,
    ) -> impl Future<Output = anyhow::Result<()>> + Send {
        let _ = (cx, live);
        async { Ok(()) }
    }

    /// Whether a found resource counts as gone (an endpoint in state `deleted`): the
    /// reconciler reads such a resource as absent, whichever way it was found.
    fn gone(&self, live: &Self::Live) -> bool {
        let _ = live;
        false
    }

    /// A short description for progress lines: "vpc-0ab12 (10.0.0.0/16)".
    fn summary(&self, live: &Self::Live) -> String {
        self.id(live)
    }

    /// What its status row shows of it.
    fn observe(&self, live: &Self::Live) -> Seen;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> Tags {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn tag_changes_set_what_differs_remove_what_was_ours_and_leave_the_rest() {
        let wanted = tags(&[("team", "payments"), ("tier", "1")]);
        let retired = vec!["cost-center".to_string(), "gone-already".to_string()];
        let have = tags(&[
            ("gwfargate:env", "cluster1"),
            ("team", "web"),
            ("tier", "1"),
            ("cost-center", "42"),
            ("backup", "daily"),
        ]);
        let changes = TagChanges::between(&wanted, &retired, &have);
        assert_eq!(changes.set, tags(&[("team", "payments")]));
        assert_eq!(changes.remove, ["cost-center"]);
        let field = changes.field(&wanted, &have);
        assert_eq!(field.field, TAGS_FIELD);
        assert_eq!(
            field.from.as_deref(),
            Some("cost-center=42, team=web, tier=1")
        );
        assert_eq!(field.to, Value::from("team=payments, tier=1"));

        assert!(
            TagChanges::between(
                &wanted,
                &retired,
                &tags(&[("team", "payments"), ("tier", "1")])
            )
            .is_empty()
        );
        let all_gone = TagChanges::between(&[], &["team".to_string()], &have);
        assert_eq!(all_gone.remove, ["team"]);
        let field = all_gone.field(&[], &have);
        assert_eq!(
            (field.from.as_deref(), field.to),
            (Some("team=web"), Value::from("(none)"))
        );
    }
}
