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
    /// The env file's `[tags]` as the stack was last built or read with (empty without
    /// them); `plan` compares them with what each resource carries.
    pub tags: std::collections::BTreeMap<String, String>,
    /// Every resource, in dependency order.
    pub resources: Vec<Observed>,
    /// What is wrong with the stack, in words (`status --check` fails on any): a missing
    /// resource, fewer tasks running than wanted, a failed rollout, a revision other than the
    /// one `up` or `deploy` registered.
    pub problems: Vec<String>,
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

/// What the probe found.
#[derive(Debug, Serialize)]
pub struct Probe {
    /// The address called.
    pub url: Option<String>,
    /// The HTTP status of the answer, if one came.
    pub status: Option<u16>,
    /// How long the answer took, in milliseconds.
    pub latency_ms: Option<u64>,
    /// Why no answer came.
    pub error: Option<String>,
    /// Every hop, in the order a request takes them.
    pub hops: Vec<Hop>,
    /// The first broken hop, if any.
    pub broken: Option<String>,
}

/// One hop of the chain.
#[derive(Debug, Serialize)]
pub struct Hop {
    /// Which hop: `stage`, `integration`, `vpc link`, ...
    pub hop: &'static str,
    /// The resource.
    pub name: String,
    /// Whether it passes requests on.
    pub ok: bool,
    /// What was seen, and for a broken hop what to do.
    pub detail: String,
}

impl Probe {
    /// Whether the request was answered, not by an error of the stack (5xx), and every hop
    /// passes requests on.
    pub fn passed(&self) -> bool {
        self.broken.is_none() && self.status.is_some_and(|s| s < 500)
    }
}

/// A task definition revision kept for `rollback`.
#[derive(Debug, Clone, Serialize)]
pub struct Revision {
    /// Its number.
    pub revision: u32,
    /// Its ARN.
    pub arn: String,
    /// The image it runs, pinned by digest.
    pub image: Option<String>,
    /// When it was registered (RFC 3339).
    pub registered_at: Option<String>,
    /// The command that registered it (`up`, `deploy`, `rollback`), when recorded.
    pub by: Option<String>,
    /// Whether the service runs it now.
    pub running: bool,
}
