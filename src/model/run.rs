//! Running a dependency graph of steps concurrently.
//!
//! Like cargo's job queue: a node starts when all its dependencies are done, at most `limit`
//! run at once, and a failure never stops the others abruptly. A failed node's dependents are
//! skipped; nodes that do not depend on it still run, so one `up` gets as far as it can (this
//! is what lets `up` build everything but the service when the image is missing).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;

use futures::FutureExt as _;
use futures::future::BoxFuture;
use tokio::task::JoinSet;

/// How a graph run ended.
#[derive(Debug)]
pub struct Outcome<N> {
    /// Nodes that finished, in finishing order.
    pub done: Vec<N>,
    /// Nodes that failed, with their errors.
    pub failed: Vec<(N, anyhow::Error)>,
    /// Nodes never started because a dependency failed (or the graph has a cycle).
    pub skipped: Vec<N>,
}

impl<N> Outcome<N> {
    /// Whether every node finished.
    pub fn succeeded(&self) -> bool {
        self.failed.is_empty() && self.skipped.is_empty()
    }
}

/// Reverses a dependency function over `nodes`: in the result, a node depends on everything
/// that depended on it. `down` runs `up`'s graph this way.
pub fn reversed<N: Copy + Ord>(nodes: &[N], deps: impl Fn(N) -> Vec<N>) -> BTreeMap<N, Vec<N>> {
    let mut rev: BTreeMap<N, Vec<N>> = nodes.iter().map(|n| (*n, Vec::new())).collect();
    for &node in nodes {
        for dep in deps(node) {
            if let Some(list) = rev.get_mut(&dep) {
                list.push(node);
            }
        }
    }
    rev
}

/// Runs `work` for every node after its dependencies, at most `limit` at a time. Dependencies
/// outside `nodes` count as done.
#[cfg(test)]
pub async fn run<N, D, F>(nodes: &[N], deps: D, limit: usize, work: F) -> Outcome<N>
where
    N: Copy + Ord + Debug + Send + 'static,
    D: Fn(N) -> Vec<N>,
    F: Fn(N) -> BoxFuture<'static, anyhow::Result<()>>,
{
    run_until(nodes, deps, limit, || false, work).await
}

/// Like [`run`], but starts no new node once `stop` says so; nodes never started are skipped.
pub async fn run_until<N, D, S, F>(
    nodes: &[N],
    deps: D,
    limit: usize,
    stop: S,
    work: F,
) -> Outcome<N>
where
    S: Fn() -> bool,
    N: Copy + Ord + Debug + Send + 'static,
    D: Fn(N) -> Vec<N>,
    F: Fn(N) -> BoxFuture<'static, anyhow::Result<()>>,
{
    let all: BTreeSet<N> = nodes.iter().copied().collect();
    let mut waiting_on: BTreeMap<N, BTreeSet<N>> = all
        .iter()
        .map(|&n| (n, deps(n).into_iter().filter(|d| all.contains(d)).collect()))
        .collect();
    let mut outcome = Outcome {
        done: Vec::new(),
        failed: Vec::new(),
        skipped: Vec::new(),
    };
    let mut running: JoinSet<(N, anyhow::Result<()>)> = JoinSet::new();
    let limit = limit.max(1);
    loop {
        while running.len() < limit && !stop() {
            let Some(next) = waiting_on
                .iter()
                .find(|(_, deps)| deps.is_empty())
                .map(|(n, _)| *n)
            else {
                break;
            };
            waiting_on.remove(&next);
            let fut = std::panic::AssertUnwindSafe(work(next)).catch_unwind();
            running.spawn(async move {
                let result = fut.await.unwrap_or_else(|panic| {
                    let why = panic
                        .downcast_ref::<&str>()
                        .map(|s| (*s).to_string())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_default();
                    Err(anyhow::anyhow!(
                        "internal error (a bug in gwfargate): {why}"
                    ))
                });
                (next, result)
            });
        }
        let Some(joined) = running.join_next().await else {
            break;
        };
        let Ok((node, result)) = joined else {
            // Steps catch their own panics (below), so only a runtime shutdown lands here.
            break;
        };
        match result {
            Ok(()) => {
                outcome.done.push(node);
                for deps in waiting_on.values_mut() {
                    deps.remove(&node);
                }
            }
            Err(err) => {
                outcome.failed.push((node, err));
                let mut blocked = vec![node];
                while let Some(failed) = blocked.pop() {
                    let dependents: Vec<N> = waiting_on
                        .iter()
                        .filter(|(_, deps)| deps.contains(&failed))
                        .map(|(n, _)| *n)
                        .collect();
                    for dependent in dependents {
                        waiting_on.remove(&dependent);
                        outcome.skipped.push(dependent);
                        blocked.push(dependent);
                    }
                }
            }
        }
    }
    // Anything still waiting sits on a cycle.
    outcome.skipped.extend(waiting_on.into_keys());
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    fn deps(n: u8) -> Vec<u8> {
        match n {
            2 => vec![1],
            3 => vec![1],
            4 => vec![2, 3],
            _ => vec![],
        }
    }

    #[tokio::test]
    async fn runs_each_node_after_its_dependencies() {
        let order = Arc::new(Mutex::new(Vec::new()));
        let seen = order.clone();
        let outcome = run(&[4, 3, 2, 1, 5], deps, 4, move |n| {
            let seen = seen.clone();
            Box::pin(async move {
                seen.lock().expect("lock").push(n);
                Ok(())
            })
        })
        .await;
        assert!(outcome.succeeded());
        let order = order.lock().expect("lock").clone();
        let pos = |n: u8| order.iter().position(|x| *x == n).expect("ran");
        assert!(pos(1) < pos(2) && pos(1) < pos(3));
        assert!(pos(2) < pos(4) && pos(3) < pos(4));
        assert_eq!(order.len(), 5);
    }

    #[tokio::test]
    async fn a_failure_skips_dependents_but_not_independent_nodes() {
        let outcome = run(&[1, 2, 3, 4, 5], deps, 2, |n| {
            Box::pin(async move {
                if n == 2 {
                    anyhow::bail!("boom")
                }
                Ok(())
            })
        })
        .await;
        assert_eq!(outcome.failed.len(), 1);
        assert_eq!(outcome.failed[0].0, 2);
        assert_eq!(outcome.skipped, vec![4]);
        let mut done = outcome.done.clone();
        done.sort_unstable();
        assert_eq!(done, vec![1, 3, 5]);
    }

    #[tokio::test]
    async fn never_runs_more_than_the_limit_at_once() {
        let now = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let (n2, p2) = (now.clone(), peak.clone());
        let nodes: Vec<u8> = (10..20).collect();
        let outcome = run(
            &nodes,
            |_| vec![],
            3,
            move |_| {
                let (now, peak) = (n2.clone(), p2.clone());
                Box::pin(async move {
                    let running = now.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(running, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    now.fetch_sub(1, Ordering::SeqCst);
                    Ok(())
                })
            },
        )
        .await;
        assert!(outcome.succeeded());
        assert_eq!(peak.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_cycle_is_reported_as_skipped_not_a_hang() {
        let outcome = run(
            &[1, 2],
            |n| vec![if n == 1 { 2 } else { 1 }],
            2,
            |_| Box::pin(async { Ok(()) }),
        )
        .await;
        assert_eq!(outcome.skipped.len(), 2);
    }

    #[tokio::test]
    async fn once_stopped_nothing_new_starts() {
        let started = Arc::new(AtomicUsize::new(0));
        let seen = started.clone();
        let outcome = run_until(
            &[1, 2, 3, 4, 5],
            deps,
            1,
            move || seen.load(Ordering::SeqCst) >= 2,
            {
                let started = started.clone();
                move |_| {
                    let started = started.clone();
                    Box::pin(async move {
                        started.fetch_add(1, Ordering::SeqCst);
                        Ok(())
                    })
                }
            },
        )
        .await;
        assert_eq!(outcome.done.len(), 2);
        assert_eq!(outcome.skipped.len(), 3);
    }

    #[test]
    fn reversal_makes_dependents_come_first() {
        let rev = reversed(&[1, 2, 3, 4], deps);
        assert_eq!(rev[&1], vec![2, 3]);
        assert_eq!(rev[&2], vec![4]);
        assert!(rev[&4].is_empty());
    }
}
