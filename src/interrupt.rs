//! Ctrl-C during `up` or `down`: start nothing new, let calls in flight finish, save, exit 130.
//!
//! The first Ctrl-C sets a process-wide flag that the executor, waits and retry loops check
//! between calls; each AWS call in flight ends on its own (its operation timeout bounds it),
//! and the state file already holds every id recorded so far. If that takes longer than
//! [`GRACE`], or on a second Ctrl-C, the process exits at once: the state file is written
//! atomically, so it is never torn, and the next run finds the rest by tags.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Exit code after an interruption (128 + SIGINT), as shells expect.
pub const EXIT_INTERRUPTED: i32 = 130;

/// How long calls in flight may take to finish after the first Ctrl-C.
pub const GRACE: Duration = Duration::from_secs(30);

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Whether the user asked to stop.
pub fn requested() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// The command stopped because the user asked it to.
#[derive(Debug, thiserror::Error)]
#[error(
    "interrupted: nothing new was started and every id is saved in the state file; run the same \
     command again to carry on"
)]
pub struct Interrupted;

/// Fails with [`Interrupted`] if the user asked to stop.
pub fn check() -> Result<(), Interrupted> {
    if requested() {
        Err(Interrupted)
    } else {
        Ok(())
    }
}

/// Starts listening for Ctrl-C; `say` prints what happens (above the live display).
pub fn install(say: impl Fn(&str) + Send + Sync + 'static) {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        INTERRUPTED.store(true, Ordering::SeqCst);
        say(
            "interrupted: starting nothing new, letting calls in flight finish \
             (Ctrl-C again to quit at once)",
        );
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            () = tokio::time::sleep(GRACE) => {}
        }
        say("interrupted: quitting now; the state file is intact");
        std::process::exit(EXIT_INTERRUPTED);
    });
}
