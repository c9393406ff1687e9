//! A security check of the stack, as `plan` and `status` show it (computed by
//! `resources::posture`).

use serde::Serialize;

/// One check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What is checked, in words.
    pub check: &'static str,
    /// The scanner's control id (`APIGateway.1`, `CKV_AWS_59`), `-` for a check of gwfargate's
    /// own.
    pub control: &'static str,
    /// Whether the stack passes it.
    pub passes: bool,
    /// How to pass it, when it fails.
    pub fix: Option<String>,
}
