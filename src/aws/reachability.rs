//! Whether AWS answers at all. A lost network (connection refused, no DNS, every call timing
//! out) is not a bad day at AWS: retrying each call for minutes and then blaming whatever was
//! being waited for tells the user nothing. Every client carries [`Reachability`], which notes
//! each attempt and each answer (any answer, an error too, proves AWS is reachable);
//! [`silence`] says how long gwfargate has been asking without hearing back.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// How long gwfargate may ask without any answer before it stops: about a minute, or
/// `GWFARGATE_UNREACHABLE_SECONDS` (tests shorten it).
pub fn patience() -> Duration {
    std::env::var("GWFARGATE_UNREACHABLE_SECONDS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .map_or(Duration::from_secs(60), Duration::from_secs_f64)
}

/// What the process heard: since when it has been asking without an answer.
#[derive(Debug, Default)]
struct Heard {
    /// When the first attempt since the last answer went out; `None` once answered.
    asking_since: Option<Instant>,
    /// Why the last attempt that got no answer failed, in words.
    last_failure: Option<String>,
}

static HEARD: Mutex<Heard> = Mutex::new(Heard {
    asking_since: None,
    last_failure: None,
});

fn heard() -> std::sync::MutexGuard<'static, Heard> {
    HEARD
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// How long gwfargate has been asking AWS without any answer, and the last reason a call got
/// none; `None` while AWS answers.
pub fn silence(now: Instant) -> Option<(Duration, Option<String>)> {
    let heard = heard();
    heard.asking_since.map(|since| {
        (
            now.saturating_duration_since(since),
            heard.last_failure.clone(),
        )
    })
}

/// Notes an attempt going out.
fn asking(now: Instant) {
    heard().asking_since.get_or_insert(now);
}

/// Notes an answer (of any kind).
fn answered() {
    let mut heard = heard();
    heard.asking_since = None;
    heard.last_failure = None;
}

/// Notes an attempt that ended without an answer.
fn unanswered(why: String) {
    heard().last_failure = Some(why);
}

/// The interceptor every client carries.
#[derive(Debug, Clone, Copy, Default)]
pub struct Reachability;

impl Intercept for Reachability {
    fn name(&self) -> &'static str {
        "gwfargate::Reachability"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        asking(Instant::now());
        Ok(())
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if context.response().is_some() {
            answered();
        } else if let Some(Err(err)) = context.output_or_error() {
            let mut why = err.to_string();
            let mut cause = std::error::Error::source(err);
            while let Some(next) = cause {
                why = format!("{why}: {next}");
                cause = next.source();
            }
            unanswered(why);
        }
        Ok(())
    }
}

/// Waits until gwfargate has asked AWS for [`patience`] without an answer, and returns how
/// long and the last reason; never returns while AWS answers.
pub async fn lost() -> (Duration, Option<String>) {
    let limit = patience();
    loop {
        if let Some((silent, why)) = silence(Instant::now())
            && silent >= limit
        {
            return (silent, why);
        }
        tokio::time::sleep(limit.min(Duration::from_secs(1)) / 2).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The tracker is process-wide: one test walks it through every state.
    #[test]
    fn silence_counts_from_the_first_unanswered_attempt_and_any_answer_ends_it() {
        let start = Instant::now();
        answered();
        assert!(silence(start).is_none(), "nothing asked");
        asking(start);
        asking(start + Duration::from_secs(5));
        unanswered("connection refused".into());
        let (silent, why) = silence(start + Duration::from_secs(20)).expect("silent");
        assert_eq!(silent, Duration::from_secs(20), "from the first attempt");
        assert_eq!(why.as_deref(), Some("connection refused"));
        answered();
        assert!(silence(start + Duration::from_secs(30)).is_none());
    }
}
