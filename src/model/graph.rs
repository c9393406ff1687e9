//! The resources of one deployment as a graph, and the four walks over it: survey (find every
//! resource), plan (diff each against the env file, in dependency order), apply (`up`) and
//! tear down (`down`, dependents first).
//!
//! The graph is data: `resources::graph` adds one node per resource the deployment needs, so
//! an optional resource is one `if` there. Nodes are added after what they depend on, so the
//! order of addition is a dependency order.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Context as _;
use futures::future::BoxFuture;

use super::plan::{Change, Plan};
use super::reconcile::Typed;
use super::run::{self, Outcome, Signal};
use super::status::Unread;
use super::{Cx, Deleted, Dep, Depth, Env, Key, Observed, Phase, Ref, Resource, World};
use crate::progress::{Board, Line, Mark, Silent};

/// One resource of the graph, its kind erased: what the walks call. Implemented once, for
/// every kind, by the reconciler.
pub trait Node: Send + Sync {
    /// Its key.
    fn key(&self) -> &str;
    /// Its kind, in `status`'s words.
    fn kind(&self) -> &'static str;
    /// Its name.
    fn name(&self) -> &str;
    /// What it depends on.
    fn deps(&self) -> &[Dep];
    /// Whether the env file no longer describes it: `up` deletes it.
    fn is_orphan(&self) -> bool;
    /// The same resource, as one the env file no longer describes.
    fn into_orphan(self: Arc<Self>) -> Arc<dyn Node>;
    /// The dependencies its lookup needs the outputs of.
    fn found_through(&self) -> &[Key];
    /// Finds it (recorded id, then tags or name) and publishes what it found.
    fn survey<'a>(
        &'a self,
        cx: Cx<'a>,
        world: &'a World,
        depth: Depth,
    ) -> BoxFuture<'a, anyhow::Result<()>>;
    /// Its plan entry, from what the survey found and what its dependencies will publish;
    /// publishes the outputs known before `up` (none for what is yet to be made).
    fn plan(&self, env: &Env, world: &World) -> Change;
    /// Makes it what the env file says and waits until it is ready; words for the progress
    /// line.
    fn apply<'a>(&'a self, cx: Cx<'a>, world: &'a World) -> BoxFuture<'a, anyhow::Result<String>>;
    /// Deletes it, if it is ours, and waits until it is gone.
    fn delete<'a>(
        &'a self,
        cx: Cx<'a>,
        world: &'a World,
        signal: Signal,
    ) -> BoxFuture<'a, anyhow::Result<Deleted>>;
    /// Deletes what a replacement left to delete once the dependents moved on (see
    /// [`Resource::replaced_after_dependents`]); words for the progress line, `None` when
    /// there was nothing.
    fn retire<'a>(
        &'a self,
        cx: Cx<'a>,
        world: &'a World,
    ) -> BoxFuture<'a, anyhow::Result<Option<String>>>;
    /// The ids of what it has to [`Node::retire`].
    fn retiring(&self, env: &Env) -> Vec<String>;
    /// Its status row.
    fn observe(&self) -> Observed;
    /// The progress line's words for how its deletion ended.
    fn deleted_words(&self, deleted: &Deleted) -> String;
    /// Why `down` keeps it rather than delete it (it holds images, it is not ours), if so.
    fn kept(&self, env: &Env) -> Option<String>;
    /// Whether the survey found it, and it is ours.
    fn exists(&self) -> bool;
    /// What the survey noticed that the user should know.
    fn notes(&self) -> Vec<String>;
}

/// The resources of a deployment.
#[derive(Default)]
pub struct Graph {
    nodes: Vec<Arc<dyn Node>>,
    index: HashMap<Key, usize>,
}

impl Graph {
    /// An empty graph.
    pub fn new() -> Graph {
        Graph::default()
    }

    /// Adds a resource; returns the handle its dependents use.
    pub fn add<R: Resource>(&mut self, resource: R) -> Ref<R::Outputs> {
        self.insert(Typed::new(resource, false))
    }

    /// Adds a resource the env file no longer describes, found in the state file: `up` and
    /// `down` delete it.
    pub fn add_orphan<R: Resource>(&mut self, resource: R) -> Ref<R::Outputs> {
        self.insert(Typed::new(resource, true))
    }

    fn insert<R: Resource>(&mut self, node: Typed<R>) -> Ref<R::Outputs> {
        let key = node.key().to_string();
        self.index.insert(key.clone(), self.nodes.len());
        self.nodes.push(Arc::new(node));
        Ref::new(key)
    }

    /// Every node, in dependency order.
    pub fn nodes(&self) -> &[Arc<dyn Node>] {
        &self.nodes
    }

    /// Whether the graph holds `key`.
    pub fn contains(&self, key: &str) -> bool {
        self.index.contains_key(key)
    }

    /// Adds the resources of `other` whose keys this graph lacks, as resources the env file no
    /// longer describes: what another design of the same deployment may have left.
    pub fn add_orphans_of(&mut self, other: Graph) {
        for node in other.nodes {
            if !self.contains(node.key()) {
                let node = node.into_orphan();
                self.index.insert(node.key().to_string(), self.nodes.len());
                self.nodes.push(node);
            }
        }
    }

    /// A dependency that names no node of the graph, if any: a bug in building it.
    #[cfg(test)]
    pub fn dangling(&self) -> Option<(String, String)> {
        self.nodes.iter().find_map(|n| {
            n.deps()
                .iter()
                .find(|d| !self.index.contains_key(&d.key))
                .map(|d| (n.key().to_string(), d.key.clone()))
        })
    }

    /// For each node, what it waits for on the way up: its dependencies, ready. A resource the
    /// env file no longer describes is deleted last, as on the way down: once everything else
    /// is done (nothing of the stack uses it any more; an authorizer's methods have moved off
    /// it), and after the other such resources that depend on it (a flow log before its group).
    pub fn up_deps(&self) -> Vec<Vec<(usize, Phase)>> {
        let orphan: Vec<bool> = self.nodes.iter().map(|n| n.is_orphan()).collect();
        self.nodes
            .iter()
            .enumerate()
            .map(|(i, n)| {
                if !orphan[i] {
                    return n
                        .deps()
                        .iter()
                        .filter_map(|d| self.index.get(&d.key).map(|&j| (j, Phase::Ready)))
                        .collect();
                }
                let key = n.key();
                self.nodes
                    .iter()
                    .enumerate()
                    .filter(|&(j, other)| {
                        j != i && (!orphan[j] || other.deps().iter().any(|d| d.key == key))
                    })
                    .map(|(j, _)| (j, Phase::Ready))
                    .collect()
            })
            .collect()
    }

    /// For each node, what its lookup waits for while the stack is surveyed.
    fn survey_deps(&self) -> Vec<Vec<(usize, Phase)>> {
        self.nodes
            .iter()
            .map(|n| {
                n.found_through()
                    .iter()
                    .filter_map(|k| self.index.get(k).map(|&i| (i, Phase::Ready)))
                    .collect()
            })
            .collect()
    }

    /// For each node, what it waits for on the way down: everything that depends on it, as
    /// far as each dependency says.
    pub fn down_deps(&self) -> Vec<Vec<(usize, Phase)>> {
        let mut down = vec![Vec::new(); self.nodes.len()];
        for (dependent, node) in self.nodes.iter().enumerate() {
            for dep in node.deps() {
                if let Some(&i) = self.index.get(&dep.key) {
                    down[i].push((dependent, dep.down));
                }
            }
        }
        down
    }

    /// Finds every resource, concurrently; a lookup that needs another resource's outputs (a
    /// listener is looked up on its load balancer) after that one.
    pub async fn survey(
        &self,
        env: &Arc<Env>,
        world: &Arc<World>,
        depth: Depth,
        limit: usize,
    ) -> anyhow::Result<()> {
        let outcome = self.look(env, world, depth, limit).await;
        if let Some((_, err)) = outcome.failed.into_iter().next() {
            return Err(err);
        }
        // What was not looked at cannot be told apart from what is not there.
        if let Some(&i) = outcome.skipped.first() {
            anyhow::bail!(
                "internal error (a bug in gwfargate): {} was never looked up",
                label(self.nodes[i].as_ref())
            );
        }
        Ok(())
    }

    /// Finds what can be read, as [`Graph::survey`] does, for `status`: a read that fails
    /// (a policy that does not allow it) marks that resource, and those looked up through it,
    /// unread instead of ending the survey. Returns them by index.
    pub async fn survey_readable(
        &self,
        env: &Arc<Env>,
        world: &Arc<World>,
        limit: usize,
    ) -> Vec<(usize, Unread)> {
        let outcome = self.look(env, world, Depth::Observe, limit).await;
        let mut unread: Vec<(usize, Unread)> = outcome
            .failed
            .into_iter()
            .map(|(i, err)| {
                let unread = Unread {
                    what: label(self.nodes[i].as_ref()),
                    code: crate::aws::errors::error_code(&err).map(str::to_string),
                    error: format!("{err:#}"),
                };
                (i, unread)
            })
            .collect();
        // What is found through what could not be read is unknown for the same reason.
        let (cause, code) = unread
            .first()
            .map(|(_, u)| (u.what.clone(), u.code.clone()))
            .unwrap_or_default();
        let skipped = outcome.skipped.into_iter().map(|i| {
            let unread = Unread {
                what: label(self.nodes[i].as_ref()),
                code: code.clone(),
                error: format!("not read: it is found through {cause}, which could not be read"),
            };
            (i, unread)
        });
        unread.extend(skipped);
        unread.sort_by_key(|(i, _)| *i);
        unread
    }

    /// Looks every resource up, dependencies' outputs first.
    async fn look(
        &self,
        env: &Arc<Env>,
        world: &Arc<World>,
        depth: Depth,
        limit: usize,
    ) -> Outcome {
        let nodes = self.nodes.clone();
        let (env2, world2) = (env.clone(), world.clone());
        run::run(
            &self.survey_deps(),
            Phase::Ready,
            limit,
            || false,
            move |i, _| {
                let (node, env, world) = (nodes[i].clone(), env2.clone(), world2.clone());
                Box::pin(async move {
                    let cx = Cx {
                        env: &env,
                        line: &Silent,
                    };
                    node.survey(cx, &world, depth)
                        .await
                        .with_context(|| format!("cannot read {} {}", node.kind(), node.name()))
                })
            },
        )
        .await
    }

    /// The plan, from what the survey found.
    pub fn plan(&self, env: &Env, world: &World) -> Plan {
        let mut changes: Vec<Change> = self.nodes.iter().map(|n| n.plan(env, world)).collect();
        for node in &self.nodes {
            changes.extend(node.retiring(env).into_iter().map(|id| {
                Change {
                    action: super::plan::Action::Delete,
                    kind: node.kind(),
                    name: format!("{} (replaced)", node.name()),
                    id: Some(id),
                    reason: Some(
                        "a replacement left it; deleted once what uses it moved to the new one"
                            .to_string(),
                    ),
                    fields: Vec::new(),
                    destructive: None,
                }
            }));
        }
        let notes = self.nodes.iter().flat_map(|n| n.notes()).collect();
        Plan { changes, notes }
    }

    /// Every status row, in dependency order; what could not be read (by index) is
    /// `unknown (CODE)`. What the env file no longer describes has a row only while it
    /// exists: its absence is what is wanted.
    pub fn observe(&self, unread: &[(usize, Unread)]) -> Vec<Observed> {
        self.nodes
            .iter()
            .enumerate()
            .filter(|(i, n)| !n.is_orphan() || n.exists() || unread.iter().any(|(at, _)| at == i))
            .map(|(i, n)| match unread.iter().find(|(at, _)| *at == i) {
                Some((_, why)) => Observed {
                    kind: n.kind(),
                    name: n.name().to_string(),
                    id: None,
                    state: why.state(),
                    detail: None,
                },
                None => n.observe(),
            })
            .collect()
    }

    /// `up`: applies every node once its dependencies are ready, at most `limit` at once,
    /// each on its own line of `board`.
    pub async fn apply(
        &self,
        env: Arc<Env>,
        world: Arc<World>,
        board: Arc<dyn Board>,
        limit: usize,
    ) -> Outcome {
        self.walk(Walk::Apply, env, world, board, limit).await
    }

    /// `down`: deletes every node once what depends on it has gone far enough, at most
    /// `limit` at once.
    pub async fn teardown(
        &self,
        env: Arc<Env>,
        world: Arc<World>,
        board: Arc<dyn Board>,
        limit: usize,
    ) -> Outcome {
        self.walk(Walk::Teardown, env, world, board, limit).await
    }

    /// After `up`'s walk: deletes the resources replacements left behind for their
    /// dependents to move off, at once; the errors of those that could not be deleted.
    pub async fn retire(
        &self,
        env: Arc<Env>,
        world: Arc<World>,
        board: Arc<dyn Board>,
    ) -> Vec<anyhow::Error> {
        let work = self
            .nodes
            .iter()
            .filter(|n| !n.retiring(&env).is_empty())
            .map(|node| {
                let (env, world, board) = (env.clone(), world.clone(), board.clone());
                async move {
                    let line = board.start(&format!("{} (replaced)", label(node.as_ref())));
                    line.set("deleting the replaced one".to_string());
                    let cx = Cx {
                        env: &env,
                        line: line.as_ref(),
                    };
                    let result = node
                        .retire(cx, &world)
                        .await
                        .map(|words| words.unwrap_or_else(|| "nothing left".to_string()));
                    finish(line.as_ref(), node.as_ref(), result)
                }
            });
        futures::future::join_all(work)
            .await
            .into_iter()
            .filter_map(Result::err)
            .collect()
    }

    async fn walk(
        &self,
        walk: Walk,
        env: Arc<Env>,
        world: Arc<World>,
        board: Arc<dyn Board>,
        limit: usize,
    ) -> Outcome {
        let (deps, finish_at, first) = match walk {
            Walk::Apply => (self.up_deps(), Phase::Ready, "checking"),
            Walk::Teardown => (self.down_deps(), Phase::Gone, "deleting"),
        };
        let nodes = self.nodes.clone();
        run::run(
            &deps,
            finish_at,
            limit,
            crate::interrupt::requested,
            move |i, signal| {
                let (node, env, world, board) =
                    (nodes[i].clone(), env.clone(), world.clone(), board.clone());
                Box::pin(async move {
                    let line = board.start(&label(node.as_ref()));
                    line.set(first.to_string());
                    let cx = Cx {
                        env: &env,
                        line: line.as_ref(),
                    };
                    let result = match walk {
                        Walk::Apply => node.apply(cx, &world).await,
                        Walk::Teardown => node
                            .delete(cx, &world, signal)
                            .await
                            .map(|d| node.deleted_words(&d)),
                    };
                    finish(line.as_ref(), node.as_ref(), result)
                })
            },
        )
        .await
    }
}

/// Which way a walk goes.
#[derive(Debug, Clone, Copy)]
enum Walk {
    /// `up`: dependencies first.
    Apply,
    /// `down`: dependents first.
    Teardown,
}

/// The label of a node's progress line.
pub fn label(node: &dyn Node) -> String {
    format!("{} {}", node.kind(), node.name())
}

/// Ends a node's line with how its work went; stopping for the user (an image to push,
/// Ctrl-C) is not a failure.
fn finish(line: &dyn Line, node: &dyn Node, result: anyhow::Result<String>) -> anyhow::Result<()> {
    let what = label(node);
    match result {
        Ok(words) => {
            line.finish(Mark::Ok, &words);
            Ok(())
        }
        Err(err) if err.chain().any(|c| c.is::<crate::error::ImageNotPushed>()) => {
            line.finish(Mark::Stopped, "image not pushed yet");
            Err(err.context(format!("{what} stopped")))
        }
        Err(err) if err.chain().any(|c| c.is::<crate::interrupt::Interrupted>()) => {
            line.finish(Mark::Stopped, "interrupted");
            Err(err.context(format!("{what} stopped")))
        }
        Err(err) => {
            // The whole error comes at the end; here, its code or its first line.
            let short = crate::aws::errors::error_code(&err).map_or_else(
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
            line.finish(Mark::Failed, &short);
            Err(err.context(format!("{what} failed")))
        }
    }
}
