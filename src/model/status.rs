//! The status of a stack, as `status` renders it in a table and in `--json` (format 1).

use serde::Serialize;

use super::Observed;

/// The status of a stack.
#[derive(Debug, Serialize)]
pub struct Status {
    /// Version of this document's shape.
    pub format_version: u32,
    /// Deployment name.
    pub deployment: String,
    /// Environment (stage) name.
    pub environment: String,
    /// Region.
    pub region: String,
    /// The state file.
    pub state_file: String,
    /// Whether the state file exists.
    pub state_file_present: bool,
    /// Whether every resource exists.
    pub complete: bool,
    /// The env file the stack was built from, when known.
    pub env_file: Option<String>,
    /// The invoke URL, when the API and its stage exist.
    pub url: Option<String>,
    /// The service's task counts, when it exists.
    pub service: Option<ServiceCounts>,
    /// Every resource, in dependency order.
    pub resources: Vec<Observed>,
}

/// Running and desired tasks.
#[derive(Debug, Serialize)]
pub struct ServiceCounts {
    /// Tasks running now.
    pub running: i32,
    /// Tasks wanted.
    pub desired: i32,
}

impl Status {
    /// The resources that are missing (or are someone else's under our name).
    pub fn missing(&self) -> Vec<&Observed> {
        self.resources
            .iter()
            .filter(|r| r.state == "missing" || r.state == "not ours")
            .collect()
    }
}
