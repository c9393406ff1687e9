//! Creating a resource exactly once, when AWS's create call is not idempotent.
//!
//! CreateVpc, CreateSubnet, CreateRestApi, CreateVpcLink, RegisterTaskDefinition and friends
//! make a new resource on every call. If an answer is lost (timeout, dropped connection, 5xx
//! after the work was done), sending the call again makes a duplicate. So such creates go out
//! once (on the single-attempt clients), and after an answer that may have been lost we look
//! for the resource by its tags or name before trying again. Throttling is a clear "no" and is
//! simply retried after a pause.

use std::future::Future;
use std::time::Duration;

use super::errors::{Outcome, error_code, has_code, outcome};
use crate::progress::Line;

const ATTEMPTS: u32 = 10;

/// Pauses between looks for what a lost attempt made, in polling units (about 7 s in all).
const LOOKUP_WAITS: [f64; 3] = [0.5, 1.0, 2.0];

/// Answers that mean "it is already there": after a lost answer, the retry meets the resource
/// the lost attempt made.
const ALREADY_EXISTS: &[&str] = &[
    "InvalidGroup.Duplicate",
    "Resource.AlreadyAssociated",
    "DuplicateListener",
    "DuplicateLoadBalancerName",
    "DuplicateTargetGroupName",
    "ConflictException",
    "EntityAlreadyExists",
    "ResourceAlreadyExistsException",
    // A repository of the user's made meanwhile is found the same way, and used as it is.
    "RepositoryAlreadyExistsException",
];

fn pause(attempt: u32) -> Duration {
    let base = 200u64.saturating_mul(1 << attempt.min(5)).min(5_000);
    // Full jitter: concurrent steps throttled together must not retry together.
    Duration::from_millis(fastrand::u64(base / 2..=base))
}

/// Runs `create` until it succeeds, looking for its result with `lookup` whenever an attempt
/// may have taken effect without an answer. `what` names the resource in progress lines.
pub async fn create_once<T, L, LF, C, CF>(
    what: &str,
    line: &dyn Line,
    lookup: L,
    create: C,
) -> anyhow::Result<T>
where
    L: Fn() -> LF,
    LF: Future<Output = anyhow::Result<Option<T>>>,
    C: Fn() -> CF,
    CF: Future<Output = anyhow::Result<T>>,
{
    let mut attempt = 0;
    loop {
        crate::interrupt::check()?;
        let err = match create().await {
            Ok(value) => return Ok(value),
            Err(err) => err,
        };
        attempt += 1;
        if has_code(&err, ALREADY_EXISTS) {
            // Often the answer to the SDK's own retry of a call whose first answer was lost:
            // what that call made may not be readable yet (AWS's reads lag its writes), so it
            // is looked for as a lost answer's result is.
            return match look_for_unanswered(&lookup).await? {
                Some(found) => Ok(found),
                None => Err(err),
            };
        }
        let outcome = outcome(&err);
        if attempt >= ATTEMPTS || !matches!(outcome, Some(Outcome::Throttled | Outcome::Unknown)) {
            return Err(err);
        }
        let why = error_code(&err).unwrap_or("no answer").to_string();
        line.set(format!("creating {what}: retrying ({why})"));
        tokio::time::sleep(pause(attempt)).await;
        if outcome == Some(Outcome::Unknown)
            && let Some(found) = look_for_unanswered(&lookup).await?
        {
            // The lost attempt worked: adopt its result rather than make another.
            return Ok(found);
        }
    }
}

/// Looks for what a create that got no answer (lost, or cut short by a crash) may have made,
/// a few times over several seconds: AWS's reads lag its writes, so one empty look is not
/// proof.
pub async fn look_for_unanswered<T, L, LF>(lookup: &L) -> anyhow::Result<Option<T>>
where
    L: Fn() -> LF,
    LF: Future<Output = anyhow::Result<Option<T>>>,
{
    for wait in LOOKUP_WAITS {
        if let Some(found) = lookup().await? {
            return Ok(Some(found));
        }
        tokio::time::sleep(super::wait::unit().mul_f64(wait)).await;
    }
    lookup().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::errors::AwsError;
    use crate::progress::Silent;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn failure(outcome: Outcome) -> anyhow::Error {
        anyhow::Error::new(AwsError {
            code: Some("X".into()),
            message: "X".into(),
            outcome,
        })
    }

    #[tokio::test(start_paused = true)]
    async fn already_exists_right_after_a_lost_answer_is_looked_for_until_it_shows() {
        // The SDK retried a create whose answer was lost; AWS's reads do not show it yet.
        let looks = AtomicU32::new(0);
        let got = create_once(
            "thing",
            &Silent,
            || async { Ok((looks.fetch_add(1, Ordering::SeqCst) >= 2).then_some("made")) },
            || async {
                Err(anyhow::Error::new(AwsError {
                    code: Some("EntityAlreadyExists".into()),
                    message: "Role with name r already exists.".into(),
                    outcome: Outcome::Refused,
                }))
            },
        )
        .await
        .expect("adopted");
        assert_eq!(got, "made");
        assert!(looks.load(Ordering::SeqCst) >= 3);
    }

    #[tokio::test]
    async fn a_lost_answer_is_adopted_not_repeated() {
        let creates = AtomicU32::new(0);
        let got = create_once(
            "thing",
            &Silent,
            || async { Ok(Some("made-by-the-lost-call")) },
            || async {
                creates.fetch_add(1, Ordering::SeqCst);
                Err(failure(Outcome::Unknown))
            },
        )
        .await
        .expect("adopted");
        assert_eq!(got, "made-by-the-lost-call");
        assert_eq!(creates.load(Ordering::SeqCst), 1, "no second create");
    }

    #[tokio::test(start_paused = true)]
    async fn a_lost_answer_whose_result_shows_late_is_still_adopted() {
        let creates = AtomicU32::new(0);
        let looks = AtomicU32::new(0);
        let got = create_once(
            "thing",
            &Silent,
            // AWS's reads lag: the thing shows only on the third look.
            || async {
                Ok((looks.fetch_add(1, Ordering::SeqCst) >= 2).then_some("made-by-the-lost-call"))
            },
            || async {
                creates.fetch_add(1, Ordering::SeqCst);
                Err(failure(Outcome::Unknown))
            },
        )
        .await
        .expect("adopted");
        assert_eq!(got, "made-by-the-lost-call");
        assert_eq!(creates.load(Ordering::SeqCst), 1, "no second create");
    }

    #[tokio::test]
    async fn throttling_is_retried_without_looking() {
        let creates = AtomicU32::new(0);
        let got = create_once(
            "thing",
            &Silent,
            || async { panic!("a throttled call did nothing: no lookup needed") },
            || async {
                if creates.fetch_add(1, Ordering::SeqCst) < 2 {
                    Err(failure(Outcome::Throttled))
                } else {
                    Ok("made")
                }
            },
        )
        .await
        .expect("made");
        assert_eq!(got, "made");
        assert_eq!(creates.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_refusal_is_final() {
        let err = create_once::<&str, _, _, _, _>(
            "thing",
            &Silent,
            || async { Ok(None) },
            || async { Err(failure(Outcome::Refused)) },
        )
        .await
        .expect_err("refused");
        assert_eq!(error_code(&err), Some("X"));
    }
}
