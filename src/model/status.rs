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
    /// The invoke URL, when the API and its stage exist; with a public entry, the load
    /// balancer's `http://` address.
    pub url: Option<String>,
    /// How callers reach the service: `api_gateway`, or `public_load_balancer` (straight from
    /// the internet, no API Gateway in front).
    pub entry: String,
    /// The service, when it exists: its counts, revisions, deployments, events and tasks.
    pub service: Option<ServiceStatus>,
    /// Who may call the API (`none`, `iam`, `api_key`, `cognito`, `lambda`, or `unknown` for
    /// an authorization gwfargate does not set), as its methods say; `null` without the API.
    pub api_auth: Option<String>,
    /// The load balancer's targets and their health; `null` without the target group or when
    /// it could not be read.
    pub targets: Option<Vec<Target>>,
    /// What could not be read, and why (`status` exits 1 when anything is here).
    pub unread: Vec<Unread>,
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

/// The ECS service as `status` shows it.
#[derive(Debug, Default, Serialize)]
pub struct ServiceStatus {
    /// Tasks running now.
    pub running: i32,
    /// Tasks wanted.
    pub desired: i32,
    /// The task definition revision the service runs (its primary deployment's).
    pub revision: Option<u32>,
    /// The revision `up` or `deploy` last registered: the one wanted.
    pub wanted_revision: Option<u32>,
    /// The image the wanted revision runs, pinned by digest, when recorded.
    pub wanted_image: Option<String>,
    /// Its deployments, primary first.
    pub deployments: Vec<Deployment>,
    /// Its newest events, newest first.
    pub events: Vec<ServiceEvent>,
    /// Its running tasks; `null` when they could not be read.
    pub tasks: Option<Vec<Task>>,
    /// Its tasks that stopped lately (ECS lists them for about an hour), newest first;
    /// `null` when they could not be read.
    pub stopped_tasks: Option<Vec<Task>>,
}

/// One of a service's deployments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deployment {
    /// `PRIMARY` (the newest) or `ACTIVE` (one being replaced).
    pub status: String,
    /// The task definition revision it runs.
    pub revision: Option<u32>,
    /// Its tasks running.
    pub running: i32,
    /// Its tasks wanted.
    pub desired: i32,
    /// Its rollout: `completed`, `in_progress` or `failed`.
    pub rollout: Option<String>,
    /// Why its rollout is in that state (the circuit breaker's words on a failure).
    pub reason: Option<String>,
    /// When it started (RFC 3339).
    pub created_at: Option<String>,
}

/// A service event: what ECS said about the service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceEvent {
    /// When (RFC 3339).
    pub at: Option<String>,
    /// What ECS said.
    pub message: String,
}

/// A task of the service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Task {
    /// Its id (the last part of its ARN).
    pub id: String,
    /// The task definition revision it runs.
    pub revision: Option<u32>,
    /// ECS's last status: `PROVISIONING`, `PENDING`, `RUNNING`, `STOPPED`, ...
    pub status: String,
    /// Its container health: `HEALTHY`, `UNHEALTHY` or `UNKNOWN` (no health check).
    pub health: Option<String>,
    /// The availability zone it runs in.
    pub zone: Option<String>,
    /// When it started (RFC 3339).
    pub started_at: Option<String>,
    /// When it stopped (RFC 3339).
    pub stopped_at: Option<String>,
    /// Why it stopped, in ECS's words.
    pub stopped_reason: Option<String>,
    /// ECS's stop code (`TaskFailedToStart`, `EssentialContainerExited`, ...).
    pub stop_code: Option<String>,
    /// The essential container's exit code, once it exited.
    pub exit_code: Option<i32>,
    /// The image its container runs, with the digest it resolved to.
    pub image: Option<String>,
}

/// A load balancer target and its health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    /// The target: a task's IP address.
    pub id: String,
    /// Its port.
    pub port: Option<i32>,
    /// Its availability zone.
    pub zone: Option<String>,
    /// `initial`, `healthy`, `unhealthy`, `draining`, `unused`, `unavailable`.
    pub state: String,
    /// The reason code for a state other than healthy (`Target.FailedHealthChecks`, ...).
    pub reason: Option<String>,
    /// The reason in words.
    pub description: Option<String>,
}

impl Task {
    /// Why it stopped, in ECS's words, with its stop code and exit code when known.
    pub fn why_stopped(&self) -> String {
        let mut why = self
            .stopped_reason
            .clone()
            .unwrap_or_else(|| "no reason given".to_string());
        if let Some(code) = &self.stop_code {
            why.push_str(&format!(" ({code})"));
        }
        if let Some(exit) = self.exit_code {
            why.push_str(&format!(", exit code {exit}"));
        }
        why
    }
}

impl Target {
    /// Why it is in its state: the reason code and its words, empty when healthy.
    pub fn why(&self) -> String {
        match (&self.reason, &self.description) {
            (Some(code), Some(words)) => format!("{code}: {words}"),
            (Some(code), None) => code.clone(),
            (None, Some(words)) => words.clone(),
            (None, None) => String::new(),
        }
    }

    /// `address:port`.
    pub fn address(&self) -> String {
        match self.port {
            Some(port) => format!("{}:{port}", self.id),
            None => self.id.clone(),
        }
    }
}

/// Something `status` could not read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unread {
    /// What: a resource (`ecs service cluster1-service1`), `tasks` or `targets`.
    pub what: String,
    /// AWS's error code (`AccessDenied`, ...), when it gave one.
    pub code: Option<String>,
    /// The error, in full.
    pub error: String,
}

impl Unread {
    /// The state `status` shows for it: `unknown (AccessDenied)`, the code without the
    /// `Exception` some services end theirs with.
    pub fn state(&self) -> String {
        let code = self.code.as_deref().unwrap_or("error");
        format!(
            "unknown ({})",
            code.strip_suffix("Exception").unwrap_or(code)
        )
    }
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
