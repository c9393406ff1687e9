//! Waiting for AWS: polling with backoff and a deadline that names what was awaited.
//!
//! Every wait in gwfargate goes through [`until`], so the polling policy lives in one place
//! and tests can shorten it (`GWFARGATE_POLL_SECONDS` sets the first poll interval).

use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::bail;

use crate::progress::StepProgress;

/// What one poll saw.
pub enum Poll<T> {
    /// Done; carries the result.
    Ready(T),
    /// Not yet; carries the state seen, for progress and the timeout message.
    Pending(String),
    /// Will never become ready; carries why.
    Failed(String),
}

/// How long to wait for something and how often to look.
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

/// The first poll interval: 2 s, or `GWFARGATE_POLL_SECONDS` (tests shorten every wait).
pub fn first_interval() -> Duration {
    std::env::var("GWFARGATE_POLL_SECONDS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .map_or(Duration::from_secs(2), Duration::from_secs_f64)
}

/// Polls `check` until it is ready, fails, or `patience` runs out. `what` names the thing
/// awaited in progress lines and errors, e.g. "NLB cluster1-nlb to become active".
pub async fn until<T, F, Fut>(
    what: &str,
    progress: &StepProgress,
    patience: Patience,
    mut check: F,
) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Poll<T>>>,
{
    let started = Instant::now();
    let mut interval = first_interval();
    let max_interval = interval.saturating_mul(8).min(Duration::from_secs(15));
    loop {
        crate::interrupt::check()?;
        let seen = match check().await {
            Ok(seen) => seen,
            // A look that AWS throttled or did not answer (after the SDK's own retries) says
            // nothing about the resource: look again, within the same deadline.
            Err(err) if transient(&err) => Poll::Pending(format!(
                "no answer ({})",
                crate::aws::error_code(&err).unwrap_or("timeout or connection error")
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
                progress.set(format!("waiting for {what} (now: {state})"));
                tokio::time::sleep(interval.min(patience.timeout - waited)).await;
                interval = (interval * 3 / 2).min(max_interval);
            }
        }
    }
}

fn transient(err: &anyhow::Error) -> bool {
    matches!(
        crate::aws::outcome(err),
        Some(crate::aws::Outcome::Throttled | crate::aws::Outcome::Unknown)
    )
}

/// Retries `attempt` while it fails with an error `retryable` accepts, for at most `patience`:
/// for the errors AWS's own retries do not cover (`DependencyViolation`, `ResourceInUse`, ...).
pub async fn retrying<T, F, Fut>(
    what: &str,
    progress: &StepProgress,
    patience: Patience,
    retryable: impl Fn(&anyhow::Error) -> bool,
    mut attempt: F,
) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    let started = Instant::now();
    let mut interval = first_interval();
    let max_interval = interval.saturating_mul(8).min(Duration::from_secs(15));
    loop {
        crate::interrupt::check()?;
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(err) if retryable(&err) && started.elapsed() < patience.timeout => {
                progress.set(format!(
                    "{what}: retrying ({})",
                    crate::aws::error_code(&err).unwrap_or("error")
                ));
                tokio::time::sleep(interval).await;
                interval = (interval * 3 / 2).min(max_interval);
            }
            Err(err) => return Err(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_wait_that_runs_out_names_the_resource_its_last_state_and_what_to_do() {
        let progress = crate::progress::Progress::new().start("test");
        let patience = Patience {
            timeout: Duration::from_millis(50),
        };
        let err = until::<(), _, _>(
            "load balancer nlb-1 to become active",
            &progress,
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
        let progress = crate::progress::Progress::new().start("test");
        let looks = std::sync::atomic::AtomicU32::new(0);
        let lost = |outcome| {
            anyhow::Error::new(crate::aws::AwsError {
                code: None,
                message: "x".into(),
                outcome,
            })
        };
        let got = until("thing", &progress, Patience::minutes(1), || async {
            match looks.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
                0 => Err(lost(crate::aws::Outcome::Unknown)),
                1 => Err(lost(crate::aws::Outcome::Throttled)),
                _ => Ok(Poll::Ready("ready")),
            }
        })
        .await
        .expect("ready after two lost looks");
        assert_eq!(got, "ready");
        let err = until::<(), _, _>("thing", &progress, Patience::minutes(1), || async {
            Err(lost(crate::aws::Outcome::Refused))
        })
        .await
        .expect_err("a refusal is final");
        assert!(crate::aws::outcome(&err) == Some(crate::aws::Outcome::Refused));
    }

    #[tokio::test]
    async fn a_failed_state_ends_the_wait_at_once() {
        let progress = crate::progress::Progress::new().start("test");
        let err = until::<(), _, _>(
            "VPC link l to become available",
            &progress,
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
}
