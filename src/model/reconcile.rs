//! The reconciler, written once for every kind: what each resource's own code leaves out.
//!
//! - Finding: the id the state file recorded first; a recorded id that names something not
//!   ours is reported and left alone, and the tag or name search takes over.
//! - Ownership: nothing is changed or deleted unless it carries the deployment's tag.
//! - Creating: the intent (kind, name, client token) is saved before the call; the call goes
//!   through create-once, so a lost answer is looked for, never repeated; the id is recorded
//!   the moment AWS returns it.
//! - Waiting: for readiness after a create or change, and for the resource to be gone after a
//!   delete; a resource just made that AWS does not show yet is "not visible yet", not gone
//!   (AWS's reads lag its writes).
//! - Deleting: retrying what the kind names as "still in use", "not found" as done.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;

use super::graph::Node;
use super::plan::{Action, Change};
use super::run::Signal;
use super::{
    Cx, Deleted, Dep, Depth, Diff, Env, ForeignUse, Inputs, Observed, Ownership, Phase, Resource,
    TAGS_FIELD, TagChanges, World,
};
use crate::aws::errors::{has_code, is_not_found};
use crate::aws::wait::{self, Patience, Poll};
use crate::config::names::TAG_ENV;
use crate::state::Record;

/// How long a resource just made may stay invisible to reads before it counts as gone: 2
/// minutes (terraform waits 2 to 5), 60 polling units, so tests that shorten the unit shorten
/// it too.
fn visibility() -> Duration {
    wait::unit() * 60
}

/// What the survey found.
#[derive(Clone)]
enum Found<L> {
    /// Not looked for yet.
    NotLooked,
    /// Ours.
    Ours(L),
    /// Nothing.
    Absent,
    /// Something of our name that is not ours.
    Foreign(L),
}

/// A resource in the graph: a kind and what the survey found of it.
pub struct Typed<R: Resource> {
    resource: R,
    key: String,
    kind: &'static str,
    name: String,
    deps: Vec<Dep>,
    found_through: Vec<String>,
    orphan: bool,
    found: Mutex<Found<R::Live>>,
    notes: Mutex<Vec<String>>,
}

/// The state file's key for what a replacement of `key` left to delete once the dependents
/// moved on: `{key}~replaced:{id}`.
fn replaced_key(key: &str, id: &str) -> String {
    format!("{key}~replaced:{id}")
}

impl<R: Resource> Typed<R> {
    /// Wraps a resource; an orphan is one the env file no longer describes.
    pub fn new(resource: R, orphan: bool) -> Typed<R> {
        Typed {
            key: resource.key(),
            kind: resource.kind(),
            name: resource.name(),
            deps: resource.deps(),
            found_through: resource.found_through(),
            resource,
            orphan,
            found: Mutex::new(Found::NotLooked),
            notes: Mutex::new(Vec::new()),
        }
    }

    fn found(&self) -> Found<R::Live> {
        self.found
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn set_found(&self, found: Found<R::Live>) {
        *self
            .found
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = found;
    }

    fn what(&self) -> String {
        format!("{} {}", self.kind, self.name)
    }

    fn not_ours(&self, env: &Env) -> String {
        format!(
            "exists but is not tagged {TAG_ENV}={}: gwfargate did not create it and will not \
             take it over. Rename the deployment (`name` in the env file) or remove it",
            env.deployment.name
        )
    }

    /// Recorded id first, then tags or name. What gwfargate made moments ago may be found by
    /// one read and not by the next (a VPC listed by its tags whose attributes are not
    /// readable yet): that is "not visible yet", read as absent.
    async fn find(
        &self,
        cx: &Cx<'_>,
        inputs: &Inputs<'_>,
        depth: Depth,
    ) -> anyhow::Result<Found<R::Live>> {
        match self.find_as_recorded(cx, inputs, depth).await {
            Err(err) if is_not_found(&err) && self.settling(cx).is_some() => Ok(Found::Absent),
            // Found by one read, "not found" by the next: AWS has not shown all of it yet (a
            // create a crash cut short, whose id the state file never got).
            Err(err) if is_not_found(&err) => {
                wait::retrying(
                    &format!("reading {} (AWS does not show all of it yet)", self.what()),
                    cx.line,
                    Patience {
                        timeout: visibility(),
                    },
                    is_not_found,
                    || self.find_as_recorded(cx, inputs, depth),
                )
                .await
            }
            other => other,
        }
    }

    async fn find_as_recorded(
        &self,
        cx: &Cx<'_>,
        inputs: &Inputs<'_>,
        depth: Depth,
    ) -> anyhow::Result<Found<R::Live>> {
        if let Some(record) = cx.state.get(&self.key).filter(|_| R::FOUND_BY_ID)
            && let Some(live) = by_id(&self.resource, cx, &record.id, depth).await?
        {
            match self.resource.ownership(cx, &live) {
                Ownership::Ours => return Ok(Found::Ours(live)),
                // Not known to be ours: the id alone proves nothing, the search by tags decides.
                Ownership::Unknown => {}
                Ownership::NotOurs => self.note(format!(
                    "the state file records {} as {}, but it is not tagged {TAG_ENV}={}: \
                     gwfargate leaves it untouched and looks for its own by tags",
                    record.id,
                    self.what(),
                    cx.deployment.name
                )),
            }
        }
        Ok(match lookup(&self.resource, cx, inputs, depth).await? {
            Some(live) => match self.resource.ownership(cx, &live) {
                Ownership::Ours | Ownership::Unknown => Found::Ours(live),
                Ownership::NotOurs => Found::Foreign(live),
            },
            None => Found::Absent,
        })
    }

    /// How much longer it may stay invisible to AWS's reads: gwfargate made it moments ago
    /// (this run or an earlier one).
    fn settling(&self, env: &Env) -> Option<Duration> {
        env.state.still_settling(&self.key, visibility())
    }

    /// Whether a dependency was made moments ago.
    fn dependency_settling(&self, env: &Env) -> bool {
        self.deps
            .iter()
            .any(|dep| env.state.still_settling(&dep.key, visibility()).is_some())
    }

    /// Looks again until what gwfargate made moments ago shows, for at most `left`; absent
    /// after that.
    async fn find_once_visible(
        &self,
        cx: &Cx<'_>,
        world: &World,
        depth: Depth,
        left: Duration,
    ) -> anyhow::Result<Found<R::Live>> {
        let deadline = Instant::now() + left;
        let patience = Patience {
            timeout: left + wait::unit() * 2,
        };
        let what = format!("{} (made moments ago) to be visible", self.what());
        wait::until(&what, cx.line, patience, || async {
            Ok(match self.find(cx, &world.inputs(), depth).await? {
                Found::Absent if Instant::now() < deadline => {
                    Poll::Pending("not visible yet".to_string())
                }
                found => Poll::Ready(found),
            })
        })
        .await
    }

    /// What replacements of it left to delete: (state key, id).
    fn replaced(&self, env: &Env) -> Vec<(String, String)> {
        let prefix = replaced_key(&self.key, "");
        env.state
            .recorded()
            .into_iter()
            .filter(|(key, _)| key.starts_with(&prefix))
            .collect()
    }

    fn note(&self, text: String) {
        self.notes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(text);
    }

    /// The resource as AWS shows it now, bypassing what the survey read.
    async fn refetch(
        &self,
        cx: &Cx<'_>,
        id: &str,
        inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<R::Live>> {
        refetch(&self.resource, cx, id, inputs).await
    }

    /// A fresh lookup that only returns what is ours: what create-once looks for after an
    /// answer that may have been lost.
    async fn lookup_ours(
        &self,
        cx: &Cx<'_>,
        inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<R::Live>> {
        match lookup(&self.resource, cx, inputs, Depth::Full).await? {
            Some(live) => match self.resource.ownership(cx, &live) {
                Ownership::NotOurs if self.resource.foreign_use() == ForeignUse::Refuse => {
                    anyhow::bail!("{} {}", self.what(), self.not_ours(cx))
                }
                _ => Ok(Some(live)),
            },
            None => Ok(None),
        }
    }

    /// Records it; `made` when this run just made it (its reads may lag for a while).
    fn record(&self, env: &Env, live: &R::Live, made: bool) -> anyhow::Result<()> {
        let outputs = serde_json::to_value(self.resource.outputs(env, live))?;
        env.state
            .record(
                &self.key,
                Record {
                    id: self.resource.id(live),
                    created: self.resource.ownership(env, live) != Ownership::NotOurs,
                    outputs: Some(outputs),
                    made: made.then(crate::state::now_rfc3339),
                },
            )
            .map_err(|err| err.context(format!("cannot record {} in the state file", self.key)))
    }

    /// Saves the intent, creates once, records the id.
    async fn create(&self, cx: &Cx<'_>, inputs: &Inputs<'_>) -> anyhow::Result<R::Live> {
        // A create a crash cut short is a create whose answer was lost: what it may have made
        // is looked for (AWS's reads may not show it yet) before anything is made.
        if cx.state.interrupted_create(&self.key)
            && let Some(live) =
                crate::aws::create::look_for_unanswered(&|| self.lookup_ours(cx, inputs)).await?
        {
            self.record(cx, &live, true)?;
            return Ok(live);
        }
        let intent = cx
            .state
            .intend(&self.key, self.kind, &self.name)
            .map_err(|err| {
                err.context(format!("cannot record the intent to create {}", self.key))
            })?;
        cx.say("creating");
        let what = self.what();
        // A dependency made moments ago may not be visible to this create yet (ECS's
        // CreateService right after CreateCluster): that refusal is retried while it settles.
        let live = wait::retrying(
            &format!("creating {what}"),
            cx.line,
            Patience {
                timeout: visibility(),
            },
            |err| self.resource.not_visible_yet(err) && self.dependency_settling(cx),
            || {
                crate::aws::create::create_once(
                    &what,
                    cx.line,
                    || self.lookup_ours(cx, inputs),
                    || self.resource.create(cx, inputs, &intent),
                )
            },
        )
        .await?;
        self.record(cx, &live, true)?;
        Ok(live)
    }

    /// What must change: the kind's own diff, and the env file's `[tags]`.
    fn diff(&self, env: &Env, live: &R::Live, inputs: &Inputs<'_>) -> Diff {
        let mut diff = self.resource.diff(env, live, inputs);
        if let Some(have) = self.resource.tags(live) {
            let wanted = &env.names.extra_tags;
            let changes = TagChanges::between(wanted, &env.retired_tags, &have);
            if !changes.is_empty() {
                diff.fields.push(changes.field(wanted, &have));
            }
        }
        diff
    }

    /// Applies a diff: the tags through [`Resource::retag`], the rest through the kind's own
    /// update.
    async fn update(
        &self,
        cx: &Cx<'_>,
        live: &R::Live,
        diff: &Diff,
        inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<R::Live>> {
        if diff.changes(TAGS_FIELD)
            && let Some(have) = self.resource.tags(live)
        {
            let changes = TagChanges::between(&cx.names.extra_tags, &cx.retired_tags, &have);
            self.resource
                .retag(cx, live, &changes)
                .await
                .map_err(|err| err.context(format!("changing the tags of {}", self.what())))?;
        }
        let mut rest = diff.clone();
        rest.fields.retain(|f| f.field != TAGS_FIELD);
        if rest.fields.is_empty() {
            return Ok(None);
        }
        self.resource.update(cx, live, &rest, inputs).await
    }

    /// Creates the resource, sets what its create call cannot (the same diff and update that
    /// converge a found one), and waits until it is ready.
    async fn make(&self, cx: &Cx<'_>, inputs: &Inputs<'_>) -> anyhow::Result<R::Live> {
        let made = self.create(cx, inputs).await?;
        let diff = self.diff(cx, &made, inputs);
        if diff.fields.is_empty() {
            return self.resource.wait_ready(cx, made, inputs).await;
        }
        let fields: Vec<&str> = diff.fields.iter().map(|f| f.field.as_str()).collect();
        let what = format!("setting {}", fields.join(", "));
        cx.say(what.clone());
        // The resource was made a moment ago: "not found" means AWS does not show it yet.
        let updated = wait::retrying(
            &what,
            cx.line,
            Patience {
                timeout: visibility(),
            },
            is_not_found,
            || self.update(cx, &made, &diff, inputs),
        )
        .await?;
        match updated {
            Some(live) => Ok(live),
            None => self.resource.wait_ready(cx, made, inputs).await,
        }
    }

    /// Deletes the resource (retrying while it is in use), then waits until it is gone,
    /// saying how far it got. `record` is its key in the state file: its own, or that of a
    /// replaced one.
    async fn delete_live(
        &self,
        cx: &Cx<'_>,
        live: &R::Live,
        inputs: &Inputs<'_>,
        signal: &Signal,
        record: &str,
    ) -> anyhow::Result<Deleted> {
        if let Some(why) = self.resource.kept(cx, live) {
            return Ok(Deleted::Kept(why));
        }
        let retryable = self.resource.delete_retryable();
        let id = self.resource.id(live);
        let started = Instant::now();
        // "Not found" is done, unless AWS may just not show it to the delete yet: gwfargate
        // made it moments ago, or a read still sees it. Taking that for gone would leave it
        // behind.
        let deleted = wait::retrying(
            &format!("deleting {}", self.what()),
            cx.line,
            self.resource.patience(),
            |err| has_code(err, retryable) || is_not_found(err),
            || async {
                match self.resource.delete(cx, live, inputs).await {
                    Err(err) if is_not_found(&err) => {
                        let lagging = started.elapsed() < visibility()
                            && (cx.state.still_settling(record, visibility()).is_some()
                                || self.refetch(cx, &id, inputs).await?.is_some());
                        if lagging {
                            Err(err)
                        } else {
                            Ok(Deleted::AlreadyGone)
                        }
                    }
                    other => other.map(Deleted::Removed),
                }
            },
        )
        .await?;
        cx.state.unsettle(record)?;
        signal(Phase::Deleting);
        self.resource.wait_quiet(cx, live).await?;
        signal(Phase::Quiet);
        wait::until(
            &format!("{} to be deleted", self.what()),
            cx.line,
            self.resource.patience(),
            || async {
                Ok(match self.refetch(cx, &id, inputs).await? {
                    None => Poll::Ready(()),
                    Some(live) => Poll::Pending(self.resource.observe(&live).state),
                })
            },
        )
        .await?;
        Ok(deleted)
    }

    fn publish(&self, env: &Env, world: &World, live: &R::Live) {
        world.publish(&self.key, self.resource.outputs(env, live));
    }

    async fn apply_found(
        &self,
        cx: &Cx<'_>,
        world: &World,
        live: R::Live,
    ) -> anyhow::Result<(R::Live, Applied)> {
        let inputs = world.inputs();
        let diff = self.diff(cx, &live, &inputs);
        if let Some(why) = &diff.refuse {
            anyhow::bail!("{}: {why}", self.what());
        }
        if let Some(replace) = &diff.replace {
            cx.say(format!("replacing: {}", replace.reason));
            if self.resource.replaced_after_dependents(&live) {
                // Recorded first: a run cut short after the new one is made still deletes it.
                let id = self.resource.id(&live);
                cx.state
                    .record(
                        &replaced_key(&self.key, &id),
                        Record {
                            id: id.clone(),
                            created: true,
                            outputs: None,
                            made: None,
                        },
                    )
                    .map_err(|err| {
                        err.context(format!("cannot record the replaced {}", self.key))
                    })?;
                let made = self.make(cx, &inputs).await?;
                return Ok((made, Applied::Replaced(replace.reason.clone())));
            }
            let noop: Signal = std::sync::Arc::new(|_| {});
            self.delete_live(cx, &live, &inputs, &noop, &self.key)
                .await?;
            let made = self.make(cx, &inputs).await?;
            return Ok((made, Applied::Replaced(replace.reason.clone())));
        }
        if !diff.fields.is_empty() {
            cx.say(format!("updating {}", diff.words()));
            // A dependency made moments ago may not be visible to the update yet (UpdateService
            // naming the target group of a listener just made): retried while it settles.
            let updated = wait::retrying(
                &format!("updating {}", self.what()),
                cx.line,
                Patience {
                    timeout: visibility(),
                },
                |err| self.resource.not_visible_yet(err) && self.dependency_settling(cx),
                || self.update(cx, &live, &diff, &inputs),
            )
            .await?;
            let live = match updated {
                Some(updated) => updated,
                None => self.resource.wait_ready(cx, live, &inputs).await?,
            };
            return Ok((live, Applied::Updated(diff.words())));
        }
        let live = self.resource.wait_ready(cx, live, &inputs).await?;
        Ok((live, Applied::Found))
    }
}

/// What applying a resource did.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Applied {
    /// Nothing: it was as wanted.
    Found,
    /// Someone else's, used as it is.
    UsedAsIs,
    /// Made.
    Created,
    /// Changed in place: the fields, in words.
    Updated(String),
    /// Made again: why.
    Replaced(String),
}

impl Applied {
    /// Whether it was made or changed (and so may have work left after it is ready).
    fn changed(&self) -> bool {
        !matches!(self, Applied::Found | Applied::UsedAsIs)
    }

    /// The progress line's words, around the resource's summary.
    fn words(&self, summary: &str) -> String {
        match self {
            Applied::Found => format!("found {summary}"),
            Applied::UsedAsIs => format!("found {summary} (yours: gwfargate never deletes it)"),
            Applied::Created => format!("created {summary}"),
            Applied::Updated(fields) => format!("updated {summary}: {fields}"),
            Applied::Replaced(why) => format!("replaced ({why}): {summary}"),
        }
    }
}

/// The resource as AWS shows it now (by id where the kind finds by id, else by its lookup),
/// read as far as its state: what a wait looks at, every second or two.
async fn refetch<R: Resource>(
    resource: &R,
    cx: &Cx<'_>,
    id: &str,
    inputs: &Inputs<'_>,
) -> anyhow::Result<Option<R::Live>> {
    if R::FOUND_BY_ID {
        by_id(resource, cx, id, Depth::Observe).await
    } else {
        lookup(resource, cx, inputs, Depth::Observe).await
    }
}

/// [`Resource::by_id`], with what the kind counts as gone read as absent.
async fn by_id<R: Resource>(
    resource: &R,
    cx: &Cx<'_>,
    id: &str,
    depth: Depth,
) -> anyhow::Result<Option<R::Live>> {
    Ok(resource
        .by_id(cx, id, depth)
        .await?
        .filter(|live| !resource.gone(live)))
}

/// [`Resource::lookup`], with what the kind counts as gone read as absent.
async fn lookup<R: Resource>(
    resource: &R,
    cx: &Cx<'_>,
    inputs: &Inputs<'_>,
    depth: Depth,
) -> anyhow::Result<Option<R::Live>> {
    Ok(resource
        .lookup(cx, inputs, depth)
        .await?
        .filter(|live| !resource.gone(live)))
}

/// Waits until `live` is ready, polling AWS: the default of [`Resource::wait_ready`]. What is
/// ready already costs no call.
pub async fn poll_ready<R: Resource>(
    resource: &R,
    cx: &Cx<'_>,
    live: R::Live,
    inputs: &Inputs<'_>,
) -> anyhow::Result<R::Live> {
    let what = format!(
        "{} {} {}",
        resource.kind(),
        resource.name(),
        resource.waiting_for()
    );
    match resource.readiness(&live) {
        Poll::Ready(()) => return Ok(live),
        Poll::Failed(why) => anyhow::bail!("{what}: gave up, {why}"),
        Poll::Pending(_) => {}
    }
    let id = resource.id(&live);
    let started = Instant::now();
    wait::until(&what, cx.line, resource.patience(), || async {
        Ok(match refetch(resource, cx, &id, inputs).await? {
            None if started.elapsed() < visibility() => {
                Poll::Pending("not visible yet".to_string())
            }
            None => Poll::Failed("it no longer exists".to_string()),
            Some(live) => match resource.readiness(&live) {
                Poll::Ready(()) => Poll::Ready(live),
                Poll::Pending(state) => Poll::Pending(state),
                Poll::Failed(why) => Poll::Failed(why),
            },
        })
    })
    .await
}

impl<R: Resource> Node for Typed<R> {
    fn key(&self) -> &str {
        &self.key
    }

    fn kind(&self) -> &'static str {
        self.kind
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn deps(&self) -> &[Dep] {
        &self.deps
    }

    fn is_orphan(&self) -> bool {
        self.orphan
    }

    fn into_orphan(self: Arc<Self>) -> Arc<dyn Node> {
        match Arc::try_unwrap(self) {
            Ok(mut typed) => {
                typed.orphan = true;
                Arc::new(typed)
            }
            // Shared (a walk holds it): it stays as it was.
            Err(shared) => shared,
        }
    }

    fn found_through(&self) -> &[String] {
        &self.found_through
    }

    fn survey<'a>(
        &'a self,
        cx: Cx<'a>,
        world: &'a World,
        depth: Depth,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let mut found = self.find(&cx, &world.inputs(), depth).await?;
            if matches!(found, Found::Absent)
                && let Some(left) = self.settling(&cx)
            {
                found = self.find_once_visible(&cx, world, depth, left).await?;
            }
            match &found {
                Found::Ours(live) => self.publish(&cx, world, live),
                Found::Foreign(live) if self.resource.foreign_use() == ForeignUse::UseAsIs => {
                    self.publish(&cx, world, live);
                }
                _ => world.unknown(&self.key),
            }
            self.set_found(found);
            Ok(())
        })
    }

    fn plan(&self, env: &Env, world: &World) -> Change {
        let inputs = world.inputs();
        let mut change = Change {
            action: Action::None,
            kind: self.kind,
            name: self.name.clone(),
            id: None,
            reason: None,
            fields: Vec::new(),
            destructive: None,
        };
        match self.found() {
            Found::Ours(live) if self.orphan => {
                change.id = Some(self.resource.id(&live));
                if let Some(why) = self.resource.kept(env, &live) {
                    self.note(format!("{} is no longer used; kept: {why}", self.what()));
                    return change;
                }
                change.action = Action::Delete;
                change.reason = Some("the env file no longer describes it".to_string());
                change.destructive = (!self.resource.deleted_without_loss())
                    .then(|| format!("{} is deleted", self.what()));
                world.unknown(&self.key);
            }
            Found::Ours(live) => {
                change.id = Some(self.resource.id(&live));
                if let Some(advice) = self.resource.advice(env, &live) {
                    self.note(advice);
                }
                let diff = self.diff(env, &live, &inputs);
                if let Some(why) = diff.refuse {
                    change.action = Action::Refuse;
                    change.reason = Some(why);
                    change.fields = diff.fields;
                } else if let Some(replace) = diff.replace {
                    change.action = Action::Replace;
                    change.destructive = replace
                        .destructive
                        .then(|| format!("{} is deleted and made again", self.what()));
                    change.reason = Some(replace.reason);
                    change.fields = diff.fields;
                    world.unknown(&self.key);
                } else if !diff.fields.is_empty() {
                    change.action = Action::Update;
                    change.destructive = diff
                        .fields
                        .iter()
                        .filter_map(|f| f.destructive.clone())
                        .reduce(|a, b| format!("{a}; {b}"));
                    if diff.new_outputs {
                        world.unknown(&self.key);
                    }
                    change.fields = diff.fields;
                }
            }
            Found::Foreign(live) if self.resource.foreign_use() == ForeignUse::UseAsIs => {
                change.id = Some(self.resource.id(&live));
                if let Some(advice) = self.resource.advice(env, &live) {
                    self.note(advice);
                }
            }
            Found::Foreign(live) => {
                change.id = Some(self.resource.id(&live));
                change.action = Action::Refuse;
                change.reason = Some(self.not_ours(env));
            }
            Found::Absent | Found::NotLooked if self.orphan => {}
            Found::Absent | Found::NotLooked => {
                change.action = Action::Create;
                if let Some(note) = self.resource.creation_note(env) {
                    self.note(note);
                }
                change.fields = self.resource.new_fields(env, &inputs);
                match self.resource.planned_outputs(env) {
                    Some(outputs) => world.publish(&self.key, outputs),
                    None => world.unknown(&self.key),
                }
            }
        }
        change
    }

    fn apply<'a>(&'a self, cx: Cx<'a>, world: &'a World) -> BoxFuture<'a, anyhow::Result<String>> {
        Box::pin(async move {
            let inputs = world.inputs();
            if self.orphan {
                let noop: Signal = std::sync::Arc::new(|_| {});
                let deleted = self.delete(cx, world, noop).await?;
                return Ok(self.deleted_words(&deleted));
            }
            let (live, applied) = match self.found() {
                Found::Ours(live) => self.apply_found(&cx, world, live).await?,
                Found::Foreign(live) if self.resource.foreign_use() == ForeignUse::UseAsIs => {
                    let live = self.resource.wait_ready(&cx, live, &inputs).await?;
                    (live, Applied::UsedAsIs)
                }
                Found::Foreign(_) => anyhow::bail!("{} {}", self.what(), self.not_ours(&cx)),
                Found::Absent => (self.make(&cx, &inputs).await?, Applied::Created),
                Found::NotLooked => anyhow::bail!(
                    "internal error (a bug in gwfargate): {} was never looked up",
                    self.what()
                ),
            };
            self.record(&cx, &live, false)?;
            self.publish(&cx, world, &live);
            self.set_found(Found::Ours(live.clone()));
            let words = applied.words(&self.resource.summary(&live));
            let more = if applied.changed() {
                self.resource.after_change(&cx, &live, &inputs).await?
            } else {
                None
            };
            Ok(match more {
                Some(more) => format!("{words}; {more}"),
                None => words,
            })
        })
    }

    fn delete<'a>(
        &'a self,
        cx: Cx<'a>,
        world: &'a World,
        signal: Signal,
    ) -> BoxFuture<'a, anyhow::Result<Deleted>> {
        Box::pin(async move {
            let inputs = world.inputs();
            let deleted = match self.found() {
                Found::Absent => Deleted::AlreadyGone,
                Found::Foreign(_) => Deleted::Left,
                Found::Ours(live) => {
                    let deleted = self
                        .delete_live(&cx, &live, &inputs, &signal, &self.key)
                        .await?;
                    if matches!(deleted, Deleted::Removed(_) | Deleted::AlreadyGone) {
                        self.set_found(Found::Absent);
                    }
                    deleted
                }
                // Forgetting its record now would lose the id.
                Found::NotLooked => anyhow::bail!(
                    "internal error (a bug in gwfargate): {} was never looked up",
                    self.what()
                ),
            };
            cx.state.forget(&self.key).map_err(|err| {
                err.context(format!("cannot forget {} in the state file", self.key))
            })?;
            if !self.retiring(&cx).is_empty() {
                self.retire(cx, world).await?;
            }
            Ok(deleted)
        })
    }

    fn retire<'a>(
        &'a self,
        cx: Cx<'a>,
        world: &'a World,
    ) -> BoxFuture<'a, anyhow::Result<Option<String>>> {
        Box::pin(async move {
            let inputs = world.inputs();
            let mut deleted = Vec::new();
            for (key, id) in self.replaced(&cx) {
                // Ours only: the recorded id alone proves nothing.
                let live = self.refetch(&cx, &id, &inputs).await?;
                if let Some(live) = live
                    && self.resource.ownership(&cx, &live) != Ownership::NotOurs
                {
                    let noop: Signal = std::sync::Arc::new(|_| {});
                    self.delete_live(&cx, &live, &inputs, &noop, &key).await?;
                    deleted.push(id.clone());
                }
                cx.state
                    .forget(&key)
                    .map_err(|err| err.context(format!("cannot forget {key} in the state file")))?;
            }
            Ok((!deleted.is_empty()).then(|| format!("deleted {}", deleted.join(", "))))
        })
    }

    fn retiring(&self, env: &Env) -> Vec<String> {
        self.replaced(env).into_iter().map(|(_, id)| id).collect()
    }

    fn deleted_words(&self, deleted: &Deleted) -> String {
        match deleted {
            Deleted::Removed(None) => format!("deleted {}", self.name),
            Deleted::Removed(Some(detail)) => format!("deleted {} ({detail})", self.name),
            Deleted::AlreadyGone => "already gone".to_string(),
            Deleted::Kept(why) => format!("kept {}: {why}", self.name),
            Deleted::Left => match self.resource.foreign_use() {
                ForeignUse::UseAsIs => format!("kept {}: it existed before gwfargate", self.name),
                ForeignUse::Refuse => format!("left {}: gwfargate did not create it", self.name),
            },
        }
    }

    fn kept(&self, env: &Env) -> Option<String> {
        match self.found() {
            Found::Ours(live) => self.resource.kept(env, &live),
            Found::Foreign(_) => Some(match self.resource.foreign_use() {
                ForeignUse::UseAsIs => "it existed before gwfargate".to_string(),
                ForeignUse::Refuse => "gwfargate did not create it".to_string(),
            }),
            Found::Absent | Found::NotLooked => None,
        }
    }

    fn observe(&self) -> Observed {
        let row =
            |live: &R::Live| Observed::present(self.kind, &self.name, self.resource.observe(live));
        match self.found() {
            Found::Ours(live) => row(&live),
            Found::Foreign(live) if self.resource.foreign_use() == ForeignUse::UseAsIs => {
                row(&live)
            }
            Found::Foreign(live) => {
                let mut row = row(&live);
                row.state = "not ours".to_string();
                row.detail = Some(format!("not tagged {TAG_ENV}: someone else's"));
                row
            }
            Found::Absent | Found::NotLooked => Observed::missing(self.kind, &self.name),
        }
    }

    fn exists(&self) -> bool {
        matches!(self.found(), Found::Ours(_))
    }

    fn notes(&self) -> Vec<String> {
        self.notes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}
