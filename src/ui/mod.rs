//! Everything the user sees: progress on stderr, tables and JSON on stdout, plans, questions.
//! Human output is for people (aligned, colour only on a terminal); `--json` is for scripts.

pub mod cost;
pub mod fit;
pub mod output;
pub mod plan;
pub mod progress;
pub mod prompt;
pub mod table;
