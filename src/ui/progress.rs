//! What `up` and `down` show while they work: the terminal side of [`crate::progress`].
//!
//! On a terminal: a live line per running step with a spinner, its elapsed time and what it
//! is waiting for. Otherwise (CI, pipes, logs): plain lines on stderr, each stamped with the
//! time since the command started, and a line whenever what a step waits on changes. On a real
//! account `up` takes minutes; silence would look like a hang.

use std::io::{IsTerminal as _, Write as _};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::progress::{Board, Line, Mark};

/// The progress display of one command run.
#[derive(Clone)]
pub struct Progress {
    inner: Arc<Inner>,
}

struct Inner {
    started: Instant,
    live: Option<MultiProgress>,
    plain_lock: Mutex<()>,
    width: usize,
    /// The lines started so far, for the heartbeat of plain output.
    lines: Mutex<Vec<Weak<LineState>>>,
}

/// One resource's line in the display.
pub struct StepLine {
    progress: Progress,
    started: Instant,
    bar: Option<ProgressBar>,
    state: Arc<LineState>,
}

/// What a line last showed, shared with the heartbeat.
struct LineState {
    label: String,
    shown: Mutex<Shown>,
    done: AtomicBool,
}

impl Progress {
    /// A live display if stderr is a terminal, plain lines otherwise; labels are padded to
    /// `width` so results line up.
    pub fn new(width: usize) -> Progress {
        let live = std::io::stderr()
            .is_terminal()
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        let progress = Progress {
            inner: Arc::new(Inner {
                started: Instant::now(),
                live,
                plain_lock: Mutex::new(()),
                width,
                lines: Mutex::new(Vec::new()),
            }),
        };
        // In plain output a step blocked in one long call (an endpoint that does not answer)
        // sets nothing new: the heartbeat says it is still there, every 30 s.
        if progress.inner.live.is_none()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let weak = Arc::downgrade(&progress.inner);
            runtime.spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    let Some(inner) = weak.upgrade() else { return };
                    Progress { inner }.beat(Instant::now());
                }
            });
        }
        progress
    }

    /// Says again what each running step last said, when it said it [`HEARTBEAT`] ago or more.
    fn beat(&self, now: Instant) {
        let lines: Vec<Arc<LineState>> = {
            let mut lines = self
                .inner
                .lines
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            lines.retain(|line| line.strong_count() > 0);
            lines.iter().filter_map(Weak::upgrade).collect()
        };
        for line in lines {
            if line.done.load(Ordering::SeqCst) {
                continue;
            }
            let text = {
                let mut shown = line
                    .shown
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if shown.message.is_empty() || now.duration_since(shown.at) < HEARTBEAT {
                    continue;
                }
                shown.at = now;
                format!(
                    "{} (still, {}s)",
                    shown.message,
                    now.duration_since(shown.first).as_secs()
                )
            };
            self.line(&format!(
                "{:<width$} {text}",
                line.label,
                width = self.inner.width
            ));
        }
    }

    /// Time since the command started.
    pub fn elapsed(&self) -> Duration {
        self.inner.started.elapsed()
    }

    /// Prints a line that stays (above the live lines on a terminal).
    pub fn line(&self, text: &str) {
        match &self.inner.live {
            Some(live) => live.suspend(|| super::output::eprint(text)),
            None => {
                let _guard = self.inner.plain_lock.lock();
                let mut err = std::io::stderr().lock();
                let _ = writeln!(err, "[{:>6.1}s] {text}", self.elapsed().as_secs_f64());
            }
        }
    }

    /// Starts showing a resource.
    pub fn start_line(&self, label: &str) -> StepLine {
        let width = self.inner.width;
        let bar = self.inner.live.as_ref().map(|live| {
            let bar = live.add(ProgressBar::new_spinner());
            let style = ProgressStyle::with_template(&format!(
                "{{spinner}} {{prefix:<{width}}} {{elapsed:>4}} {{wide_msg}}"
            ))
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
            bar.set_style(style);
            bar.set_prefix(label.to_string());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        let state = Arc::new(LineState {
            label: label.to_string(),
            shown: Mutex::new(Shown {
                message: String::new(),
                first: Instant::now(),
                at: Instant::now(),
            }),
            done: AtomicBool::new(false),
        });
        self.inner
            .lines
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(Arc::downgrade(&state));
        StepLine {
            progress: self.clone(),
            started: Instant::now(),
            bar,
            state,
        }
    }
}

impl Board for Progress {
    fn start(&self, label: &str) -> Box<dyn Line> {
        Box::new(self.start_line(label))
    }

    fn note(&self, text: &str) {
        self.line(&crate::printable::escaped(text));
    }
}

/// In plain output, how often a step that keeps waiting on the same thing says so again: on a
/// real account a wait lasts minutes, and a log that stops looks like a hang.
const HEARTBEAT: Duration = Duration::from_secs(30);

/// What plain output prints for a new message: `None` while it repeats the last one printed
/// less than [`HEARTBEAT`] ago, the message with how long it has lasted when it repeats an
/// older one.
fn plain_line(last: &Shown, message: &str, now: Instant) -> Option<String> {
    if last.message != message {
        return Some(message.to_string());
    }
    let since = now.duration_since(last.at);
    (since >= HEARTBEAT).then(|| {
        format!(
            "{message} (still, {}s)",
            now.duration_since(last.first).as_secs()
        )
    })
}

/// The last message a step showed, and when.
struct Shown {
    message: String,
    /// When it was first shown.
    first: Instant,
    /// When it was last printed.
    at: Instant,
}

impl Line for StepLine {
    /// A live line just changes; plain output prints a new message once, and a lasting one
    /// again every 30 s.
    fn set(&self, message: String) {
        // Messages carry AWS's words (service events, reasons): escape what a terminal obeys.
        let message = crate::printable::escaped(&message);
        let now = Instant::now();
        let line = {
            let mut last = self
                .state
                .shown
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let line = plain_line(&last, &message, now);
            if line.is_some() {
                if last.message != message {
                    last.first = now;
                }
                last.message.clone_from(&message);
                last.at = now;
            }
            line
        };
        match (&self.bar, line) {
            (Some(bar), Some(_)) => bar.set_message(message),
            (None, Some(line)) => self.progress.line(&format!(
                "{:<width$} {line}",
                self.state.label,
                width = self.progress.inner.width
            )),
            (_, None) => {}
        }
    }

    fn finish(&self, mark: Mark, message: &str) {
        let message = &crate::printable::escaped(message);
        self.state.done.store(true, Ordering::SeqCst);
        let word = format!(
            "{:<6}",
            match mark {
                Mark::Ok => "ok",
                Mark::Failed => "FAILED",
                Mark::Stopped => "STOP",
            }
        );
        // Colour only on a terminal; plain lines stay plain for logs and CI.
        let symbol = match mark {
            Mark::Ok => "✓",
            Mark::Failed => "✗",
            Mark::Stopped => "■",
        };
        let mark = match (&self.bar, mark) {
            (None, _) => word,
            (Some(_), Mark::Ok) => console::style(word).for_stderr().green().to_string(),
            (Some(_), Mark::Failed) => console::style(word).for_stderr().red().bold().to_string(),
            (Some(_), Mark::Stopped) => console::style(word).for_stderr().yellow().to_string(),
        };
        let text = format!(
            "{:<width$} {mark} {message} ({:.1}s)",
            self.state.label,
            self.started.elapsed().as_secs_f64(),
            width = self.progress.inner.width
        );
        match &self.bar {
            // A symbol where the spinner was, so finished and running lines line up.
            Some(bar) => {
                bar.finish_and_clear();
                self.progress.line(&format!("{symbol} {text}"));
            }
            None => self.progress.line(&text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_silent_for_30_s_is_said_again_by_the_heartbeat_until_it_ends() {
        let progress = Progress {
            inner: Arc::new(Inner {
                started: Instant::now(),
                live: None,
                plain_lock: Mutex::new(()),
                width: 10,
                lines: Mutex::new(Vec::new()),
            }),
        };
        let line = progress.start_line("vpc");
        line.set("waiting for an answer".to_string());
        let at = |l: &StepLine| l.state.shown.lock().expect("lock").at;
        let first = at(&line);
        progress.beat(first + Duration::from_secs(10));
        assert_eq!(at(&line), first, "quiet for less than 30 s");
        progress.beat(first + Duration::from_secs(31));
        assert_eq!(at(&line), first + Duration::from_secs(31), "said again");
        line.finish(Mark::Ok, "done");
        progress.beat(first + Duration::from_secs(70));
        assert_eq!(
            at(&line),
            first + Duration::from_secs(31),
            "a finished line stays quiet"
        );
    }

    #[test]
    fn plain_output_says_a_lasting_wait_again_every_30_s_and_nothing_in_between() {
        let start = Instant::now();
        let last = Shown {
            message: "waiting for NLB (now: provisioning)".to_string(),
            first: start,
            at: start,
        };
        let same = "waiting for NLB (now: provisioning)";
        assert_eq!(
            plain_line(&last, same, start + Duration::from_secs(10)),
            None
        );
        assert_eq!(
            plain_line(&last, same, start + Duration::from_secs(31)).as_deref(),
            Some("waiting for NLB (now: provisioning) (still, 31s)")
        );
        assert_eq!(
            plain_line(&last, "waiting for NLB (now: active)", start).as_deref(),
            Some("waiting for NLB (now: active)")
        );
    }
}
