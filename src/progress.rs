//! What running work says about itself, as the code doing the work sees it.
//!
//! The resource model and the AWS helpers report through these traits and never print: the
//! terminal display (`ui::progress`) implements them for `up` and `down`, and [`Silent`] stands
//! in where nobody watches (`plan`, `status`, unit tests). Keeping the traits here, below
//! everything that reports, is what lets the layers above depend downwards only.

/// How a resource's line ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// Done.
    Ok,
    /// Failed; the error follows at the end of the run.
    Failed,
    /// Stopped for the user: an image to push, or Ctrl-C.
    Stopped,
}

/// One resource's line: what it is doing now, and how it ended.
pub trait Line: Send + Sync {
    /// Says what the work is doing now (waiting for what, retrying why).
    fn set(&self, message: String);
    /// Ends the line with a result that stays.
    fn finish(&self, mark: Mark, message: &str);
}

/// The display a run's lines go to.
pub trait Board: Send + Sync {
    /// Starts a line for one resource.
    fn start(&self, label: &str) -> Box<dyn Line>;
    /// Prints a line that stays, outside any resource's line (a warning, a summary).
    fn note(&self, text: &str);
}

/// Reports nowhere.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Line for Silent {
    fn set(&self, _message: String) {}
    fn finish(&self, _mark: Mark, _message: &str) {}
}

impl Board for Silent {
    fn start(&self, _label: &str) -> Box<dyn Line> {
        Box::new(Silent)
    }
    fn note(&self, _text: &str) {}
}
