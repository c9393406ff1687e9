//! The command line: what the user typed, parsed by clap. No I/O happens here; `app` turns
//! these values into work.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Stand up, report on and tear down an API Gateway → VPC link → NLB → ECS Fargate stack.
#[derive(Debug, Parser)]
#[command(
    name = "gwfargate",
    version,
    about,
    after_help = "Examples:\n  gwfargate plan --env config/env1.toml\n  gwfargate up --env config/env1.toml\n  gwfargate status --json\n  gwfargate down\n\n\
Exit codes: 0 success, 1 AWS or runtime failure, 2 bad command line or env file (or a change\n\
refused, or a confirmation needed), 3 image not pushed yet, 4 changes pending (plan\n\
--detailed-exitcode), 130 interrupted (Ctrl-C; run the same command again to carry on)."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// How to reach AWS and where state lives.
    #[command(flatten)]
    pub global: Global,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct Global {
    /// Directory of the state files.
    #[arg(long, global = true, value_name = "DIR", default_value = ".gwfargate")]
    pub state_dir: PathBuf,
    /// Named AWS profile (as in the AWS CLI).
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// AWS region; overrides the env file's.
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,
    /// Send every AWS call to this endpoint (an emulator); `AWS_ENDPOINT_URL` works too.
    // Checked by the application, not clap: clap's error would echo a password in it.
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// More log output on stderr (-v: debug, -vv: trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

impl Global {
    /// `gwfargate` with the options given that are not defaults, ready to paste into a shell:
    /// the start of every command gwfargate tells the user to run next, so a hint never sends
    /// them to another account, region or state file.
    pub fn command_prefix(&self) -> String {
        let mut words = vec!["gwfargate".to_string()];
        if self.state_dir != std::path::Path::new(".gwfargate") {
            words.push(format!(
                "--state-dir {}",
                crate::shell::word(&self.state_dir.display().to_string())
            ));
        }
        for (flag, value) in [
            ("--profile", &self.profile),
            ("--region", &self.region),
            ("--endpoint-url", &self.endpoint_url),
        ] {
            if let Some(value) = value {
                words.push(format!("{flag} {}", crate::shell::word(value)));
            }
        }
        words.join(" ")
    }
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build the stack the env file describes, or converge a partly built one, and wait until it serves.
    #[command(after_help = "Example:\n  gwfargate up --env config/env1.toml\n\n\
Prints the plan first. A plan that loses something (a replacement, a deletion, a shorter log\n\
retention) is applied only when confirmed on a terminal, or with --yes.\n\
Prints the invoke URL when the stack serves. Exits 3 if the service image is not pushed yet,\n\
after building everything that does not need it, with the commands to push it.")]
    Up(UpArgs),
    /// Run another image on the built stack: a new task definition revision (digest pinned), a rollout, a wait.
    #[command(
        after_help = "Examples:\n  gwfargate deploy --env config/env1.toml --image 123456789012.dkr.ecr.eu-west-1.amazonaws.com/microservice1:1.1.0\n  \
gwfargate deploy --env config/env1.toml --image \"$REPO:$GIT_SHA\" --no-wait\n\n\
Changes nothing else: when the env file holds changes `up` has not applied, it refuses and\n\
says which. Fails when the deployment is rolled back, with the stopped tasks' reasons. A\n\
later `up` keeps the deployed image while the env file's `image` stays as it was; change\n\
`image` in the env file (or deploy again) to replace it. Exits 3 if the image is not pushed."
    )]
    Deploy(DeployArgs),
    /// Run another number of tasks (or, with autoscaling, other bounds) on the built stack.
    #[command(
        after_help = "Examples:\n  gwfargate scale --env config/env1.toml --count 3\n  \
gwfargate scale --env config/env1.toml --min 2 --max 10    # with [service.autoscaling]\n\n\
Changes nothing else: when the env file holds changes `up` has not applied, it refuses and\n\
says which. A later `up` keeps the new scale while the env file's `count` (or bounds) stays\n\
as it was; change it in the env file, or scale again, to replace it."
    )]
    Scale(ScaleArgs),
    /// List the task definition revisions kept for rollback: image, when and by which command, which one runs.
    #[command(
        after_help = "Examples:\n  gwfargate revisions\n  gwfargate revisions --env config/env1.toml --json"
    )]
    Revisions(RevisionsArgs),
    /// Run an earlier revision's image again: the previous one, or --to REVISION.
    #[command(
        after_help = "Examples:\n  gwfargate rollback\n  gwfargate rollback --env config/env1.toml --to 7\n\n\
Without --to, goes back to the newest kept revision older than the running one that runs\n\
another image. The image is pinned by its digest, registered as a new revision (tagged\n\
gwfargate:by=rollback), rolled out and waited for; the revisions rolled back from are then\n\
deregistered, so a second rollback goes further back. A later `up` keeps the image, like a\n\
deployed one."
    )]
    Rollback(RollbackArgs),
    /// Print the service's container logs, each line marked with its task's short id.
    #[command(
        after_help = "Examples:\n  gwfargate logs --since 1h\n  gwfargate logs --follow --filter ERROR\n  \
gwfargate logs --previous          # the last stopped task: why it stopped, and its logs\n  \
gwfargate logs --json --since 2026-11-28T08:00:00Z --until 2026-11-28T09:00:00Z\n\n\
--since and --until take a duration ago (10m, 2h, 1d) or a time; --since defaults to 10m.\n\
--filter is a CloudWatch Logs filter pattern. --follow prints new lines as they come until\n\
Ctrl-C, which ends it with exit 0. --json prints one JSON object per line: task, timestamp,\n\
message."
    )]
    Logs(LogsArgs),
    /// Run a one-off task (a migration) from the service's task definition, network and roles.
    #[command(
        after_help = "Examples:\n  gwfargate run --wait -- ./manage.py migrate\n  \
gwfargate run --env config/env1.toml -- /app/bin/reindex --all\n\n\
The command replaces the container's. With --wait, its lines are printed as they come and\n\
gwfargate exits with the container's exit code; without, it prints the task's ARN and\n\
returns once ECS started it."
    )]
    Run(RunArgs),
    /// Show what `up` would change, resource by resource, without changing anything.
    #[command(
        after_help = "Examples:\n  gwfargate plan --env config/env1.toml\n  gwfargate plan --env config/env1.toml --json\n  gwfargate plan --env config/env1.toml --detailed-exitcode   # 0 nothing to do, 4 changes\n\n\
Reads AWS only: no write, no lock, no state file needed (without one, what exists is found by\n\
its tags and names). Exits 2 when `up` would refuse a change."
    )]
    Plan(PlanArgs),
    /// Show every resource of the stack, read live from AWS, and the public URL.
    #[command(
        after_help = "Examples:\n  gwfargate status\n  gwfargate status --env config/env1.toml --json\n  gwfargate status --check    # exit 1 if anything is missing\n  gwfargate status --probe    # call the URL, walk stage → ... → tasks, name the broken hop"
    )]
    Status(StatusArgs),
    /// Delete everything `up` created, in reverse dependency order, then the state file.
    #[command(
        after_help = "Examples:\n  gwfargate down\n  gwfargate down --env config/env1.toml --purge --yes\n\n\
Lists what it will delete and asks on a terminal; without one it needs --yes.\n\
An ECR repository that existed before `up` is never deleted; one gwfargate created is kept\n\
while it holds images, unless --purge is given."
    )]
    Down(DownArgs),
    /// Print the resources of the stack and what depends on what (Graphviz DOT, or --json).
    #[command(
        after_help = "Example:\n  gwfargate graph --env config/env1.toml | dot -Tsvg > stack.svg\n\n\
Reads nothing from AWS but the account id (sts:GetCallerIdentity): it decides whether the\n\
image's repository is this account's, and so part of the graph."
    )]
    Graph(GraphArgs),
    /// Print the IAM policy a caller needs to run up, plan, status and down on this stack.
    #[command(
        after_help = "Example:\n  gwfargate policy --env config/env1.toml > gwfargate-policy.json\n  \
aws iam create-policy --policy-name gwfargate-cluster1 --policy-document file://gwfargate-policy.json\n\n\
Every action is named (no service:*), scoped to the stack's ARNs where the action takes one,\n\
and to the deployment's tag where an id cannot be known in advance. iam:PassRole is allowed\n\
only on the execution role, to ECS tasks. Reads nothing from AWS but the account id."
    )]
    Policy(PolicyArgs),
    /// Show the stack's API key (`api.auth = "api_key"`): its name and id, its value with --show.
    #[command(
        after_help = "Examples:\n  gwfargate api-key --env config/env1.toml\n  \
curl -H \"x-api-key: $(gwfargate api-key --env config/env1.toml --show)\" \"$URL\"\n\n\
The value is printed only with --show, alone on stdout, so it stays out of logs unless asked."
    )]
    ApiKey(ApiKeyArgs),
    /// Estimate what the stack costs a month, beside the original design's alternatives.
    #[command(after_help = "Examples:\n  gwfargate cost --env config/env1.toml\n  \
gwfargate cost --env config/env1.toml --requests-per-month 50000000 --gb-out 200 --json\n\n\
Reads nothing from AWS unless --live. Prices come from the table shipped with gwfargate (AWS\n\
list prices, dated, sources named), from --prices FILE in the same shape, or with --live from\n\
the AWS Price List API (pricing:GetProducts). Prices one month of 730 hours\n\
with the tasks the env file runs; every traffic figure assumed is printed and settable.")]
    Cost(CostArgs),
}

/// `cost` options.
#[derive(Debug, Args)]
pub struct CostArgs {
    /// The env file (TOML) describing the deployment.
    #[arg(long, value_name = "FILE")]
    pub env: PathBuf,
    /// Print a stable JSON document instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Keep every column whole whatever the terminal's width.
    #[arg(long)]
    pub wide: bool,
    /// A price table to use instead of the one shipped (same shape: README, "What it costs").
    #[arg(long, value_name = "FILE", conflicts_with = "live")]
    pub prices: Option<PathBuf>,
    /// Read the region's prices from the AWS Price List API (pricing:GetProducts, with the
    /// profile's credentials) instead of the shipped table, which keeps what it lacks.
    #[arg(long)]
    pub live: bool,
    /// Tasks running all month [default: the env file's count].
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub tasks: Option<u32>,
    /// Requests the API serves a month [default: 1000000].
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub requests_per_month: Option<u64>,
    /// GB the service sends back to its callers a month [default: 10].
    #[arg(long, value_name = "GB", value_parser = gigabytes, allow_negative_numbers = true)]
    pub gb_out: Option<f64>,
    /// GB of logs the tasks write a month [default: 5].
    #[arg(long, value_name = "GB", value_parser = gigabytes, allow_negative_numbers = true)]
    pub log_gb: Option<f64>,
    /// GB of image layers the tasks pull a month, every task start pulling the image [default: 5].
    #[arg(long, value_name = "GB", value_parser = gigabytes, allow_negative_numbers = true)]
    pub image_gb: Option<f64>,
}

/// A monthly volume in GB: a number from 0 to a billion.
fn gigabytes(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(gb) if gb.is_finite() && (0.0..=1e9).contains(&gb) => Ok(gb),
        _ => Err(format!(
            "{text:?} is not a number of GB from 0 to 1000000000"
        )),
    }
}

/// `api-key` options.
#[derive(Debug, Args)]
pub struct ApiKeyArgs {
    /// The env file; optional when the state directory holds one state file.
    #[arg(long, value_name = "FILE")]
    pub env: Option<PathBuf>,
    /// Print the key's value (alone, for scripts).
    #[arg(long)]
    pub show: bool,
    /// Print a stable JSON document (name, id, and value with --show).
    #[arg(long)]
    pub json: bool,
}

/// `policy` options.
#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// The env file (TOML) describing the deployment.
    #[arg(long, value_name = "FILE")]
    pub env: PathBuf,
}

/// `up` options.
#[derive(Debug, Args)]
pub struct UpArgs {
    /// The env file (TOML) describing the deployment.
    #[arg(long, value_name = "FILE")]
    pub env: PathBuf,
    /// How many resources may be worked on at once.
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// Apply a plan that loses something (replaces, deletes, shortens log retention) without asking.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Replace every task even when nothing changed: new tasks read the secrets again (after a
    /// rotation) and pull the image again.
    #[arg(long)]
    pub force_new_deployment: bool,
    /// The image check.
    #[command(flatten)]
    pub image: ImageCheck,
}

/// Whether to build a stack whose image the tasks cannot pull.
#[derive(Debug, Args)]
pub struct ImageCheck {
    /// Use an image outside ECR in the stack's region. With the VPC endpoints (the default
    /// design) the private subnets reach only that registry, so tasks cannot pull it unless you
    /// gave the subnets another way out yourself; a NAT or public stack needs no such flag.
    #[arg(long, env = "GWFARGATE_ALLOW_IMAGE_OUTSIDE_ECR", value_parser = clap::builder::BoolishValueParser::new())]
    pub allow_image_outside_ecr: bool,
}

/// `deploy` options.
#[derive(Debug, Args)]
pub struct DeployArgs {
    /// The env file (TOML) of the built stack.
    #[arg(long, value_name = "FILE")]
    pub env: PathBuf,
    /// The image to run: `<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>` (or
    /// `@sha256:<digest>`); a tag is pinned to the digest it names now.
    #[arg(long, value_name = "REF")]
    pub image: String,
    /// Return once ECS accepted the new deployment, without waiting for it to complete.
    #[arg(long)]
    pub no_wait: bool,
    /// How many resources may be worked on at once.
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// The image check.
    #[command(flatten)]
    pub image_check: ImageCheck,
}

/// `scale` options.
#[derive(Debug, Args)]
pub struct ScaleArgs {
    /// The env file (TOML) of the built stack.
    #[arg(long, value_name = "FILE")]
    pub env: PathBuf,
    /// The number of tasks to run (without autoscaling).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=1000))]
    pub count: Option<u32>,
    /// Autoscaling's fewest tasks.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=1000))]
    pub min: Option<u32>,
    /// Autoscaling's most tasks.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub max: Option<u32>,
    /// Return once ECS accepted the new count, without waiting for the tasks.
    #[arg(long)]
    pub no_wait: bool,
    /// How many resources may be worked on at once.
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
}

/// `revisions` options.
#[derive(Debug, Args)]
pub struct RevisionsArgs {
    /// The env file; optional when the state directory holds one state file.
    #[arg(long, value_name = "FILE")]
    pub env: Option<PathBuf>,
    /// Print a stable JSON document instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `rollback` options.
#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The env file; optional when the state directory holds one state file.
    #[arg(long, value_name = "FILE")]
    pub env: Option<PathBuf>,
    /// The revision to go back to (`gwfargate revisions` lists them).
    #[arg(long, value_name = "REVISION")]
    pub to: Option<u32>,
    /// Return once ECS accepted the revision, without waiting for the rollout.
    #[arg(long)]
    pub no_wait: bool,
    /// How many resources may be worked on at once.
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
}

/// `logs` options.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The env file; optional when the state directory holds one state file.
    #[arg(long, value_name = "FILE")]
    pub env: Option<PathBuf>,
    /// Keep printing new lines until Ctrl-C.
    #[arg(long, short = 'f')]
    pub follow: bool,
    /// From when: a duration ago (10m, 2h) or a time (RFC 3339); 10m by default.
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Until when: a duration ago or a time.
    #[arg(long, value_name = "WHEN")]
    pub until: Option<String>,
    /// A CloudWatch Logs filter pattern (`ERROR`, `"connection refused"`).
    #[arg(long, value_name = "PATTERN")]
    pub filter: Option<String>,
    /// One task's lines only (its id, or a prefix of it).
    #[arg(long, value_name = "ID")]
    pub task: Option<String>,
    /// The last stopped task: why it stopped, then its lines.
    #[arg(long, conflicts_with = "task")]
    pub previous: bool,
    /// One JSON object per line.
    #[arg(long)]
    pub json: bool,
}

/// `run` options.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The env file; optional when the state directory holds one state file.
    #[arg(long, value_name = "FILE")]
    pub env: Option<PathBuf>,
    /// Wait for the task to stop, printing its lines, and exit with its exit code.
    #[arg(long)]
    pub wait: bool,
    /// The command, after `--`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// `plan` options.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The env file (TOML) describing the deployment.
    #[arg(long, value_name = "FILE")]
    pub env: PathBuf,
    /// Print a stable JSON document instead of text.
    #[arg(long)]
    pub json: bool,
    /// Exit 4 when the plan holds changes, 0 when it holds none.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// The image check, as `up` makes it.
    #[command(flatten)]
    pub image: ImageCheck,
}

/// `graph` options.
#[derive(Debug, Args)]
pub struct GraphArgs {
    /// The env file (TOML) describing the deployment.
    #[arg(long, value_name = "FILE")]
    pub env: PathBuf,
    /// Print a stable JSON document instead of DOT.
    #[arg(long)]
    pub json: bool,
}

/// `status` options.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The env file; optional when the state directory holds one state file.
    #[arg(long, value_name = "FILE")]
    pub env: Option<PathBuf>,
    /// Print a stable JSON document instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Exit 1 if anything is not as wanted: a resource missing, fewer tasks running than
    /// wanted, a failed or rolled-back rollout, another revision running than the one last
    /// registered, an unhealthy target.
    #[arg(long)]
    pub check: bool,
    /// Show every identifier whole, however wide the lines get (on a narrow or unknown
    /// width they are shortened in the middle with `…`; `--json` always has them whole).
    #[arg(long)]
    pub wide: bool,
    /// Also call the URL and walk the chain a request follows, naming the first broken hop
    /// (exit 1 when the stack does not serve).
    #[arg(long)]
    pub probe: bool,
}

/// `down` options.
#[derive(Debug, Args)]
pub struct DownArgs {
    /// The env file; optional when the state directory holds one state file.
    #[arg(long, value_name = "FILE")]
    pub env: Option<PathBuf>,
    /// Also delete a repository gwfargate created even if it holds images.
    #[arg(long)]
    pub purge: bool,
    /// Delete without asking (needed without a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// How many resources may be worked on at once.
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
}

/// Accepts `http://host[:port][/path]` or `https://...`, as the SDK does, without a user or
/// password in it (it would be echoed in the commands gwfargate suggests, and credentials
/// belong in the AWS profile). `--endpoint-url` and `AWS_ENDPOINT_URL` both go through it.
pub fn endpoint_url(text: &str) -> Result<String, String> {
    // Before anything that quotes the URL back: whatever its scheme, a password is not shown.
    let after_scheme = text.split_once("://").map_or(text, |(_, rest)| rest);
    let authority = after_scheme
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default();
    if authority.contains('@') {
        return Err(
            "the endpoint URL carries a user or password (`user:password@`): leave \
                    them out; credentials go in the AWS profile or environment, never in the URL"
                .to_string(),
        );
    }
    let shown = crate::printable::Quoted(text);
    if !(text.starts_with("http://") || text.starts_with("https://")) {
        return Err(format!("{shown} is not an http:// or https:// URL"));
    }
    if authority.is_empty() || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("{shown} has no host, or has spaces in it"));
    }
    Ok(text.to_string())
}

/// Whether an endpoint URL is plain HTTP to a host other than this machine: every answer
/// (and what gwfargate sends) then crosses the network unencrypted.
pub fn is_plain_http_off_machine(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    !loopback
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn hints_repeat_the_options_given_and_survive_the_shell() {
        let cli = Cli::try_parse_from([
            "gwfargate",
            "--state-dir",
            "my state",
            "--profile",
            "prod",
            "status",
        ])
        .expect("parses");
        assert_eq!(
            cli.global.command_prefix(),
            "gwfargate --state-dir 'my state' --profile prod"
        );
        let plain = Cli::try_parse_from(["gwfargate", "status"]).expect("parses");
        assert_eq!(plain.global.command_prefix(), "gwfargate");
    }

    #[test]
    fn an_endpoint_must_be_an_http_url_with_a_host() {
        assert!(endpoint_url("http://127.0.0.1:5000").is_ok());
        assert!(endpoint_url("https://ec2.example.com/").is_ok());
        for bad in [
            "notaurl",
            "ftp://x",
            "http://",
            "http:///path",
            "https://a b",
            "http://me:secret@127.0.0.1:5000",
            "https://token@proxy.example/",
            "http://127.0.0.1:5000/\u{1b}[2J",
            "HTTPS://u:s3cret@host/",
            "ftp://u:s3cret@host/",
        ] {
            assert!(endpoint_url(bad).is_err(), "{bad}");
        }
        for with_password in ["http://me:s3cret@127.0.0.1:5000", "ftp://u:s3cret@host/"] {
            let refused = endpoint_url(with_password).expect_err("refused");
            assert!(!refused.contains("s3cret"), "{refused}");
        }
    }

    #[test]
    fn plain_http_is_noticed_only_off_this_machine() {
        for local in [
            "http://127.0.0.1:5000",
            "http://localhost:4566/",
            "http://[::1]:5000",
            "https://ec2.example.com",
        ] {
            assert!(!is_plain_http_off_machine(local), "{local}");
        }
        for remote in ["http://10.0.0.5:5000", "http://moto.internal/"] {
            assert!(is_plain_http_off_machine(remote), "{remote}");
        }
    }
}
