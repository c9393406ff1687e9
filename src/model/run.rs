//! Walking a dependency graph concurrently.
//!
//! Like cargo's job queue: a node starts when what it waits for is done, at most `limit` run at
//! once, and a failure never stops the others abruptly. A failed node's dependents are skipped;
//! nodes that do not depend on it still run, so one `up` gets as far as it can (this is what
//! lets `up` build everything but the service when the image is missing).
//!
//! A node may let its dependents go before it is done: on the way down, the ECR endpoints wait
//! only until the service's deletion was accepted, the logs endpoint until its tasks stopped.
//! A node says how far it got through the [`Signal`] it is given; finishing reaches `finish`.
//! Among the nodes that could start, the one with the longest chain of work behind it goes
//! first, so the critical path never queues behind work that could wait.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use futures::FutureExt as _;
use futures::future::BoxFuture;
use tokio::task::JoinSet;

use super::Phase;

/// How a graph run ended.
#[derive(Debug)]
pub struct Outcome {
    /// Nodes that finished, in finishing order.
    pub done: Vec<usize>,
    /// Nodes that failed, with their errors.
    pub failed: Vec<(usize, anyhow::Error)>,
    /// Nodes never started because a dependency failed (or the graph has a cycle, or the run
    /// was stopped).
    pub skipped: Vec<usize>,
}

impl Outcome {
    /// Whether every node finished.
    pub fn succeeded(&self) -> bool {
        self.failed.is_empty() && self.skipped.is_empty()
    }
}

/// How a running node says how far it got.
pub type Signal = Arc<dyn Fn(Phase) + Send + Sync>;

/// The length of the longest chain of nodes that wait on each node, itself included: the
/// priority of each node when several could start.
pub fn depths(deps: &[Vec<(usize, Phase)>]) -> Vec<usize> {
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); deps.len()];
    for (node, list) in deps.iter().enumerate() {
        for (dep, _) in list {
            if let Some(d) = dependents.get_mut(*dep) {
                d.push(node);
            }
        }
    }
    let mut memo: Vec<Option<usize>> = vec![None; deps.len()];
    fn depth(
        n: usize,
        dependents: &[Vec<usize>],
        memo: &mut [Option<usize>],
        seen: &mut BTreeSet<usize>,
    ) -> usize {
        if let Some(d) = memo[n] {
            return d;
        }
        if !seen.insert(n) {
            return 0; // a cycle: reported as skipped by `run`
        }
        let below = dependents[n]
            .iter()
            .map(|&m| depth(m, dependents, memo, seen))
            .max()
            .unwrap_or(0);
        seen.remove(&n);
        memo[n] = Some(below + 1);
        below + 1
    }
    (0..deps.len())
        .map(|n| depth(n, &dependents, &mut memo, &mut BTreeSet::new()))
        .collect()
}

/// Runs `work` for every node once what it waits for is done, at most `limit` at a time, and
/// starts nothing new once `stop` says so. `deps[n]` lists what node `n` waits for: another
/// node, and how far that one must have got.
pub async fn run<S, F>(
    deps: &[Vec<(usize, Phase)>],
    finish: Phase,
    limit: usize,
    stop: S,
    work: F,
) -> Outcome
where
    S: Fn() -> bool,
    F: Fn(usize, Signal) -> BoxFuture<'static, anyhow::Result<()>>,
{
    let priority = depths(deps);
    let mut waiting: BTreeSet<usize> = (0..deps.len()).collect();
    let mut reached: HashMap<usize, Phase> = HashMap::new();
    let mut outcome = Outcome {
        done: Vec::new(),
        failed: Vec::new(),
        skipped: Vec::new(),
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(usize, Phase)>();
    let mut running: JoinSet<(usize, anyhow::Result<()>)> = JoinSet::new();
    let limit = limit.max(1);
    let ready = |n: usize, reached: &HashMap<usize, Phase>| {
        deps[n].iter().all(|(dep, phase)| {
            *dep >= deps.len() || reached.get(dep).is_some_and(|got| got >= phase)
        })
    };
    loop {
        while running.len() < limit && !stop() {
            let Some(next) = waiting
                .iter()
                .copied()
                .filter(|&n| ready(n, &reached))
                .max_by_key(|&n| (priority[n], std::cmp::Reverse(n)))
            else {
                break;
            };
            waiting.remove(&next);
            let tx = tx.clone();
            let signal: Signal = Arc::new(move |phase| {
                let _ = tx.send((next, phase));
            });
            let fut = std::panic::AssertUnwindSafe(work(next, signal)).catch_unwind();
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
        if running.is_empty() {
            break;
        }
        tokio::select! {
            Some((node, phase)) = rx.recv() => {
                let got = reached.entry(node).or_insert(phase);
                *got = (*got).max(phase);
            }
            joined = running.join_next() => {
                let Some(Ok((node, result))) = joined else {
                    // Nodes catch their own panics (above), so only a runtime shutdown lands here.
                    break;
                };
                match result {
                    Ok(()) => {
                        outcome.done.push(node);
                        let got = reached.entry(node).or_insert(finish);
                        *got = (*got).max(finish);
                    }
                    Err(err) => {
                        outcome.failed.push((node, err));
                        // Whatever still waits on it, directly or not, never starts.
                        let mut blocked = vec![node];
                        while let Some(failed) = blocked.pop() {
                            let dependents: Vec<usize> = waiting
                                .iter()
                                .copied()
                                .filter(|&n| deps[n].iter().any(|(d, phase)| {
                                    *d == failed && reached.get(d).is_none_or(|got| got < phase)
                                }))
                                .collect();
                            for dependent in dependents {
                                waiting.remove(&dependent);
                                outcome.skipped.push(dependent);
                                blocked.push(dependent);
                            }
                        }
                    }
                }
            }
        }
    }
    // Anything still waiting sits on a cycle, or the run was stopped.
    outcome.skipped.extend(waiting);
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// 0 ← 1, 0 ← 2, {1, 2} ← 3, 4 alone.
    fn diamond() -> Vec<Vec<(usize, Phase)>> {
        vec![
            vec![],
            vec![(0, Phase::Ready)],
            vec![(0, Phase::Ready)],
            vec![(1, Phase::Ready), (2, Phase::Ready)],
            vec![],
        ]
    }

    type Work = Box<dyn Fn(usize, Signal) -> BoxFuture<'static, anyhow::Result<()>>>;

    /// Work that records the order in which nodes ran.
    fn recorder() -> (Arc<Mutex<Vec<usize>>>, Work) {
        let order = Arc::new(Mutex::new(Vec::new()));
        let seen = order.clone();
        let work: Work = Box::new(move |n, _| {
            let seen = seen.clone();
            Box::pin(async move {
                seen.lock().expect("lock").push(n);
                Ok(())
            })
        });
        (order, work)
    }

    #[tokio::test]
    async fn runs_each_node_after_its_dependencies() {
        let (order, work) = recorder();
        let outcome = run(&diamond(), Phase::Ready, 4, || false, work).await;
        assert!(outcome.succeeded());
        let order = order.lock().expect("lock").clone();
        let pos = |n: usize| order.iter().position(|x| *x == n).expect("ran");
        assert!(pos(0) < pos(1) && pos(0) < pos(2));
        assert!(pos(1) < pos(3) && pos(2) < pos(3));
        assert_eq!(order.len(), 5);
    }

    #[tokio::test]
    async fn the_longest_chain_starts_first() {
        let (order, work) = recorder();
        // One at a time: 0 heads a chain of three, 4 stands alone, so 0 goes first.
        run(&diamond(), Phase::Ready, 1, || false, work).await;
        assert_eq!(order.lock().expect("lock")[0], 0);
        assert_eq!(depths(&diamond()), vec![3, 2, 2, 1, 1]);
    }

    #[tokio::test]
    async fn a_failure_skips_dependents_but_not_independent_nodes() {
        let outcome = run(
            &diamond(),
            Phase::Ready,
            2,
            || false,
            |n, _| {
                Box::pin(async move {
                    if n == 1 {
                        anyhow::bail!("boom")
                    }
                    Ok(())
                })
            },
        )
        .await;
        assert_eq!(outcome.failed.len(), 1);
        assert_eq!(outcome.failed[0].0, 1);
        assert_eq!(outcome.skipped, vec![3]);
        let mut done = outcome.done.clone();
        done.sort_unstable();
        assert_eq!(done, vec![0, 2, 4]);
    }

    #[tokio::test]
    async fn never_runs_more_than_the_limit_at_once() {
        let now = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let (n2, p2) = (now.clone(), peak.clone());
        let deps = vec![Vec::new(); 10];
        let outcome = run(
            &deps,
            Phase::Ready,
            3,
            || false,
            move |_, _| {
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
        let deps = vec![vec![(1, Phase::Ready)], vec![(0, Phase::Ready)]];
        let outcome = run(
            &deps,
            Phase::Ready,
            2,
            || false,
            |_, _| Box::pin(async { Ok(()) }),
        )
        .await;
        assert_eq!(outcome.skipped.len(), 2);
    }

    #[tokio::test]
    async fn once_stopped_nothing_new_starts() {
        let started = Arc::new(AtomicUsize::new(0));
        let seen = started.clone();
        let outcome = run(
            &diamond(),
            Phase::Ready,
            1,
            move || seen.load(Ordering::SeqCst) >= 2,
            {
                let started = started.clone();
                move |_, _| {
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

    #[tokio::test]
    async fn a_node_can_let_its_dependents_go_before_it_is_done() {
        // 1 waits only until 0 is quiet; 0 finishes (gone) only after 1 has run.
        let deps = vec![vec![], vec![(0, Phase::Quiet)]];
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let rx = Arc::new(Mutex::new(Some(rx)));
        let tx = Arc::new(Mutex::new(Some(tx)));
        let outcome = run(
            &deps,
            Phase::Gone,
            2,
            || false,
            move |n, signal| {
                let (rx, tx) = (rx.clone(), tx.clone());
                Box::pin(async move {
                    if n == 0 {
                        signal(Phase::Deleting);
                        signal(Phase::Quiet);
                        let waiting = rx.lock().expect("lock").take().expect("once");
                        waiting.await.expect("1 ran while 0 was still going");
                    } else if let Some(tx) = tx.lock().expect("lock").take() {
                        let _ = tx.send(());
                    }
                    Ok(())
                })
            },
        )
        .await;
        assert!(outcome.succeeded(), "{outcome:?}");
        assert_eq!(outcome.done, vec![1, 0]);
    }
}
