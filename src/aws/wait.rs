//! Waiting for AWS: polling with a deadline that names what was awaited, and retry loops for
//! the refusals AWS's own retries do not cover.
//!
//! Every wait in gwfargate goes through here, so the polling policy lives in one place and
//! tests can shorten it (`GWFARGATE_POLL_SECONDS` sets the unit, 2 s by default). A wait looks
//! again after half a unit, then a little later each time, but never more than a unit apart:
//! the NLB and the VPC link are `up`'s critical path, and each look that comes late delays the
//! whole run by as much (AWS's read limits allow a look every few seconds).

use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::bail;

use super::errors::{Outcome, error_code, outcome};
use crate::progress::Line;

/// What one look saw.
pub enum Poll<T> {
    /// Done; carries the result.
    Ready(T),
    /// Not yet; carries the state seen, for progress and the timeout message.
    Pending(String),
    /// Will never become ready; carries why.
    Failed(String),
}

/// How long to wait for something.
#[derive(Debug, Clone, Copy)]
pub struct Patience {
    /// Give up after this long.
    pub timeout: Duration,
}

impl Patience {
    /// Gives up after `minutes`.
    pub const fn minutes(minutes: u64) -> Patience {
        Patience {
            timeout: Duration::from_secs(minutes * 60),
        }
    }
}

/// The polling unit: 2 s, or `GWFARGATE_POLL_SECONDS` (tests and the benchmark scale it with
/// the test bed's clock).
pub fn unit() -> Duration {
    std::env::var("GWFARGATE_POLL_SECONDS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .map_or(Duration::from_secs(2), Duration::from_secs_f64)
}

/// The pauses between looks: half a unit, growing by half each time up to a unit.
struct Pauses {
    next: Duration,
    max: Duration,
}

impl Pauses {
    fn new() -> Pauses {
        let unit = unit();
        Pauses {
            next: unit / 2,
            max: unit,
        }
    }

    fn take(&mut self) -> Duration {
        let now = self.next;
        self.next = self.next.mul_f64(1.5).min(self.max);
        now
    }
}

/// Polls `check` until it is ready, fails, or `patience` runs out. `what` names the thing
/// awaited in progress lines and errors, e.g. "load balancer cluster1-nlb to become active".
pub async fn until<T, F, Fut>(
    what: &str,
    line: &dyn Line,
    patience: Patience,
    mut check: F,
) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Poll<T>>>,
{
    let started = Instant::now();
    let mut pauses = Pauses::new();
    loop {
        crate::interrupt::check()?;
        let looked = Instant::now();
        let seen = match check().await {
            Ok(seen) => seen,
            // A look that AWS throttled or did not answer (after the SDK's own retries) says
            // nothing about the resource: look again, within the same deadline.
            Err(err) if transient(&err) => Poll::Pending(format!(
                "no answer ({})",
                error_code(&err).unwrap_or("timeout or connection error")
            )),
            Err(err) => return Err(err),
        };
        match seen {
            Poll::Ready(value) => return Ok(value),
            Poll::Failed(why) => bail!("{what}: gave up, {why}"),
            Poll::Pending(state) => {
                let waited = started.elapsed();
                if waited >= patience.timeout {
                    bail!(
                        "timed out after {}s waiting for {what} (last state: {state}). \
                         Nothing was rolled back; run the same command again to keep waiting, \
                         or look at the resource in the AWS console",
                        waited.as_secs()
                    );
                }
                line.set(format!("waiting for {what} (now: {state})"));
                // Looks start a pause apart: the time a look took is part of the pause.
                let pause = pauses.take().saturating_sub(looked.elapsed());
                tokio::time::sleep(pause.min(patience.timeout - waited)).await;
            }
        }
    }
}

fn transient(err: &anyhow::Error) -> bool {
    matches!(outcome(err), Some(Outcome::Throttled | Outcome::Unknown))
}

/// Retries `attempt` while it fails with an error `retryable` accepts, for at most `patience`:
/// for the refusals AWS's own retries do not cover (`DependencyViolation`, `ResourceInUse`, ...).
pub async fn retrying<T, F, Fut>(
    what: &str,
    line: &dyn Line,
    patience: Patience,
    retryable: impl Fn(&anyhow::Error) -> bool,
    mut attempt: F,
) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    let started = Instant::now();
    let mut pauses = Pauses::new();
    loop {
        crate::interrupt::check()?;
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(err) if retryable(&err) && started.elapsed() < patience.timeout => {
                line.set(format!(
                    "{what}: retrying ({})",
                    error_code(&err).unwrap_or("error")
                ));
                tokio::time::sleep(pauses.take()).await;
            }
            Err(err) => return Err(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::errors::AwsError;
    use crate::progress::Silent;

    #[tokio::test]
    async fn a_wait_that_runs_out_names_the_resource_its_last_state_and_what_to_do() {
        let patience = Patience {
            timeout: Duration::from_millis(50),
        };
        let err = until::<(), _, _>(
            "load balancer nlb-1 to become active",
            &Silent,
            patience,
            || async { Ok(Poll::Pending("provisioning".to_string())) },
        )
        .await
        .expect_err("times out");
        let text = err.to_string();
        assert!(text.contains("timed out"), "{text}");
        assert!(
            text.contains("load balancer nlb-1 to become active"),
            "{text}"
        );
        assert!(text.contains("last state: provisioning"), "{text}");
        assert!(text.contains("run the same command again"), "{text}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_look_that_got_no_answer_is_looked_again_but_a_refusal_ends_the_wait() {
        let looks = std::sync::atomic::AtomicU32::new(0);
        let lost = |outcome| {
            anyhow::Error::new(AwsError {
                code: None,
                message: "x".into(),
                outcome,
            })
        };
        let got = until("thing", &Silent, Patience::minutes(1), || async {
            match looks.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
                0 => Err(lost(Outcome::Unknown)),
                1 => Err(lost(Outcome::Throttled)),
                _ => Ok(Poll::Ready("ready")),
            }
        })
        .await
        .expect("ready after two lost looks");
        assert_eq!(got, "ready");
        let err = until::<(), _, _>("thing", &Silent, Patience::minutes(1), || async {
            Err(lost(Outcome::Refused))
        })
        .await
        .expect_err("a refusal is final");
        assert!(outcome(&err) == Some(Outcome::Refused));
    }

    #[tokio::test]
    async fn a_failed_state_ends_the_wait_at_once() {
        let err = until::<(), _, _>(
            "VPC link l to become available",
            &Silent,
            Patience::minutes(5),
            || async {
                Ok(Poll::Failed(
                    "AWS reports FAILED: NLB is not in active state".to_string(),
                ))
            },
        )
        .await
        .expect_err("fails");
        assert!(
            err.to_string().contains("NLB is not in active state"),
            "{err}"
        );
    }

    #[test]
    fn looks_come_at_most_a_unit_apart() {
        let mut pauses = Pauses {
            next: Duration::from_secs(1),
            max: Duration::from_secs(2),
        };
        let seen: Vec<f64> = (0..5).map(|_| pauses.take().as_secs_f64()).collect();
        assert_eq!(seen, vec![1.0, 1.5, 2.0, 2.0, 2.0]);
    }
}
