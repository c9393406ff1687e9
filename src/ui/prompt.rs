//! Asking before something destructive. On a terminal the user answers; without one (CI, a
//! pipe) nobody can, so the command needs `--yes` and says so instead of guessing.

use std::io::{BufRead as _, IsTerminal as _, Write as _};

/// Whether a person can be asked: stdin and stderr are both terminals.
pub fn can_ask() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Asks `question` on stderr and reads the answer from stdin: only `y` or `yes` agree.
pub fn confirm(question: &str) -> bool {
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "{question} [y/N] ");
    let _ = err.flush();
    drop(err);
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer).is_err() {
        return false;
    }
    agrees(&answer)
}

fn agrees(answer: &str) -> bool {
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_yes_agrees() {
        for yes in ["y", "Y\n", " yes "] {
            assert!(agrees(yes), "{yes:?}");
        }
        for no in ["", "\n", "n", "no", "yess", "sure"] {
            assert!(!agrees(no), "{no:?}");
        }
    }
}
