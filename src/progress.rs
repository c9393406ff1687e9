//! What `up` and `down` show while they work.
//!
//! On a terminal: a live line per running step with a spinner, its elapsed time and what it
//! is waiting for. Otherwise (CI, pipes, logs): plain lines on stderr, each stamped with the
//! time since the command started, and a line whenever what a step waits on changes. On a real
//! account `up` takes minutes; silence would look like a hang.

use std::io::{IsTerminal as _, Write as _};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The progress display of one command run.
#[derive(Clone)]
pub struct Progress {
    inner: Arc<Inner>,
}

struct Inner {
    started: Instant,
    live: Option<MultiProgress>,
    plain_lock: Mutex<()>,
}

/// One step's line in the display.
pub struct StepProgress {
    progress: Progress,
    label: String,
    started: Instant,
    bar: Option<ProgressBar>,
    last_message: Mutex<String>,
}

impl Progress {
    /// A live display if stderr is a terminal, plain lines otherwise.
    pub fn new() -> Progress {
        let live = std::io::stderr()
            .is_terminal()
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Progress {
            inner: Arc::new(Inner {
                started: Instant::now(),
                live,
                plain_lock: Mutex::new(()),
            }),
        }
    }

    /// Time since the command started.
    pub fn elapsed(&self) -> Duration {
        self.inner.started.elapsed()
    }

    /// Prints a line that stays (above the live lines on a terminal).
    pub fn line(&self, text: &str) {
        match &self.inner.live {
            Some(live) => live.suspend(|| crate::output::eprint(text)),
            None => {
                let _guard = self.inner.plain_lock.lock();
                let mut err = std::io::stderr().lock();
                let _ = writeln!(err, "[{:>6.1}s] {text}", self.elapsed().as_secs_f64());
            }
        }
    }

    /// Starts showing a step.
    pub fn start(&self, label: &str) -> StepProgress {
        let bar = self.inner.live.as_ref().map(|live| {
            let bar = live.add(ProgressBar::new_spinner());
            let style =
                ProgressStyle::with_template("{spinner} {prefix:<22} {elapsed:>4} {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner());
            bar.set_style(style);
            bar.set_prefix(label.to_string());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        StepProgress {
            progress: self.clone(),
            label: label.to_string(),
            started: Instant::now(),
            bar,
            last_message: Mutex::new(String::new()),
        }
    }
}

impl Default for Progress {
    fn default() -> Self {
        Progress::new()
    }
}

impl StepProgress {
    /// Says what the step is doing now; repeated messages are shown once.
    pub fn set(&self, message: impl Into<String>) {
        let message = message.into();
        {
            let mut last = self
                .last_message
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if *last == message {
                return;
            }
            last.clone_from(&message);
        }
        match &self.bar {
            Some(bar) => bar.set_message(message),
            None => self.progress.line(&format!("{:<22} {message}", self.label)),
        }
    }

    /// Time since the step started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Ends the step's line with a result that stays on screen.
    pub fn finish(&self, ok: bool, message: &str) {
        let mark = format!("{:<6}", if ok { "ok" } else { "FAILED" });
        // Colour only on a terminal; plain lines stay plain for logs and CI.
        let mark = match (&self.bar, ok) {
            (Some(_), true) => console::style(mark).for_stderr().green().to_string(),
            (Some(_), false) => console::style(mark).for_stderr().red().bold().to_string(),
            (None, _) => mark,
        };
        let text = format!(
            "{:<22} {mark} {message} ({:.1}s)",
            self.label,
            self.elapsed().as_secs_f64()
        );
        match &self.bar {
            Some(bar) => {
                bar.finish_and_clear();
                self.progress.line(&text);
            }
            None => self.progress.line(&text),
        }
    }
}
