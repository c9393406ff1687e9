//! Test harness: a private emulator per test, the real binary pointed at it, SDK clients to
//! check the result from outside, and an environment that can never reach real AWS.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use std::collections::BTreeMap;

use assert_cmd::Command;

/// The repository root. Read when the test runs (cargo sets it then too): a test binary built
/// in another clone sharing the target directory would otherwise look in that clone.
pub fn root() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
}

/// A moto server on 127.0.0.1, on a port the kernel chose, killed when dropped.
pub struct Emulator {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
}

impl Emulator {
    /// Starts an emulator whose ECS services report `running` tasks (moto as it is).
    pub fn start(running: u32) -> Emulator {
        Emulator::with_profile(running, "plain")
    }

    /// Starts the realistic test bed at 1/500 of AWS's durations, with no faults: what a
    /// test of a whole stack's settings needs.
    pub fn realistic() -> Emulator {
        let emulator = Emulator::with_profile(1, "realistic");
        emulator.configure(realistic_settings(
            0.002,
            serde_json::json!({"seed": 1, "rules": []}),
        ));
        emulator
    }

    /// Starts an emulator with a test bed profile (`plain` or `realistic`).
    pub fn with_profile(running: u32, profile: &str) -> Emulator {
        let python = root().join(".venv/bin/python");
        assert!(
            python.exists(),
            "the emulator is not installed: run scripts/setup-emulator.sh (scripts/test.sh does)"
        );
        let mut child = StdCommand::new(python)
            .arg(root().join("scripts/moto_launcher.py"))
            .arg("--ecs-running")
            .arg(running.to_string())
            .arg("--profile")
            .arg(profile)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the emulator");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read the emulator's port");
        let port: u16 = line
            .trim()
            .strip_prefix("PORT=")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the emulator did not say its port: {line:?}"));
        Emulator {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Stops the emulator: its endpoint refuses connections from now on.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The SDK configuration for checking the emulator from outside.
    pub async fn sdk(&self, region: &str) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(region.to_string()))
            .endpoint_url(&self.endpoint)
            .credentials_provider(aws_sdk_sts::config::Credentials::new(
                "testing", "testing", None, None, "tests",
            ))
            .load()
            .await
    }
}

impl Emulator {
    /// Sends a request to the test bed's control API and returns the JSON answer.
    pub fn control(&self, method: &str, path: &str, body: &str) -> serde_json::Value {
        use std::io::{Read as _, Write as _};
        let addr = self.endpoint.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(addr).expect("connect to the test bed");
        write!(
            stream,
            "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .expect("send");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("read");
        let json = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        serde_json::from_str(json).unwrap_or_else(|_| panic!("test bed answered {answer:?}"))
    }

    /// The test bed's call log, by `service.Operation`.
    pub fn calls(&self) -> serde_json::Map<String, serde_json::Value> {
        self.control("GET", "/_testbed/calls", "")
            .as_object()
            .cloned()
            .unwrap_or_default()
    }

    /// Clears the call log (and rate buckets); settings stay.
    pub fn reset_calls(&self) {
        self.control("POST", "/_testbed/reset", "");
    }

    /// Replaces the test bed's settings (see tests/testbed/settings.py).
    pub fn configure(&self, settings: serde_json::Value) {
        self.control("POST", "/_testbed/config", &settings.to_string());
    }

    /// How many calls the log holds, of every operation.
    pub fn total(&self) -> u64 {
        self.calls()
            .values()
            .map(|c| c["count"].as_u64().unwrap_or(0))
            .sum()
    }

    /// The operations in the log that are not reads (Describe, Get, List).
    pub fn writes(&self) -> Vec<String> {
        self.calls()
            .keys()
            .filter(|op| {
                let name = op.split_once('.').map_or(op.as_str(), |(_, name)| name);
                !["Describe", "Get", "List", "GET "]
                    .iter()
                    .any(|read| name.starts_with(read))
            })
            .cloned()
            .collect()
    }

    /// How many calls of an operation the log holds.
    pub fn count(&self, operation: &str) -> u64 {
        self.calls()
            .get(operation)
            .and_then(|c| c["count"].as_u64())
            .unwrap_or(0)
    }

    /// How often the test bed refused `operation` ("service.Operation"), by error code.
    pub fn codes(&self, operation: &str) -> std::collections::BTreeMap<String, u64> {
        self.calls()
            .get(operation)
            .and_then(|c| c["codes"].as_object().cloned())
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.as_u64().unwrap_or(0)))
            .collect()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A scratch working directory with an env file in it.
pub struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    /// A workspace whose `env1.toml` is `config/env1.toml` with `edits` applied (old, new).
    pub fn new(edits: &[(&str, &str)]) -> Workspace {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut text = std::fs::read_to_string(root().join("config/env1.toml")).expect("env1");
        for (old, new) in edits {
            assert!(text.contains(old), "fixture lacks {old:?}");
            text = text.replace(old, new);
        }
        std::fs::write(dir.path().join("env1.toml"), text).expect("write env");
        // Empty AWS config files: nothing from the machine's own ~/.aws leaks into a test.
        std::fs::write(dir.path().join("no-aws-config"), "").expect("write config");
        std::fs::write(dir.path().join("no-aws-credentials"), "").expect("write credentials");
        Workspace { dir }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The state file `up` writes for `env1.toml`.
    pub fn state_file(&self) -> PathBuf {
        self.path().join(".gwfargate/env1.json")
    }
}

/// The environment the binary runs with: it can only reach `endpoint`.
pub fn environment(dir: &Path, endpoint: &str) -> Vec<(&'static str, std::ffi::OsString)> {
    assert!(
        endpoint.starts_with("http://127.0.0.1:"),
        "tests only talk to loopback"
    );
    vec![
        ("PATH", std::env::var_os("PATH").unwrap_or_default()),
        ("HOME", dir.into()),
        ("AWS_ENDPOINT_URL", endpoint.into()),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ("AWS_CONFIG_FILE", dir.join("no-aws-config").into()),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            dir.join("no-aws-credentials").into(),
        ),
        ("GWFARGATE_POLL_SECONDS", "0.05".into()),
        // The tests' tasks pull nothing, so most run an image outside ECR (no push step); the
        // refusal of such an image is tested with this removed.
        ("GWFARGATE_ALLOW_IMAGE_OUTSIDE_ECR", "1".into()),
    ]
}

/// The binary, run in `dir`, with an environment that only reaches `endpoint`.
pub fn gwfargate(dir: &Path, endpoint: &str) -> Command {
    let mut cmd = Command::cargo_bin("gwfargate").expect("binary");
    cmd.current_dir(dir)
        .env_clear()
        .envs(environment(dir, endpoint))
        .timeout(std::time::Duration::from_secs(300));
    cmd
}

/// The binary started in the background, stderr piped, for tests that stop it part way.
pub fn spawn(dir: &Path, endpoint: &str, args: &[&str]) -> Child {
    spawn_with(dir, endpoint, args, &[])
}

/// Like [`spawn`], with more environment variables.
pub fn spawn_with(dir: &Path, endpoint: &str, args: &[&str], more: &[(&str, &str)]) -> Child {
    StdCommand::new(assert_cmd::cargo::cargo_bin("gwfargate"))
        .current_dir(dir)
        .env_clear()
        .envs(environment(dir, endpoint))
        .envs(more.iter().copied())
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start gwfargate")
}

/// Puts an image manifest into the emulator's ECR, standing in for `docker push`.
pub async fn push_image(sdk: &aws_config::SdkConfig, repository: &str, tag: &str) {
    push_build(sdk, repository, tag, 0).await;
}

/// Pushes build number `build` of an image under `tag`: another build is another digest.
pub async fn push_build(sdk: &aws_config::SdkConfig, repository: &str, tag: &str, build: u32) {
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 2,
                   "digest": format!("sha256:{build:064}")},
        // moto derives the image digest from the layers': another build, another layer.
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 1,
                    "digest": format!("sha256:{build:064}")}]
    });
    aws_sdk_ecr::Client::new(sdk)
        .put_image()
        .repository_name(repository)
        .image_manifest(manifest.to_string())
        .image_tag(tag)
        .send()
        .await
        .expect("put image");
}

/// The reference env file's ECS service, as AWS describes it now.
pub async fn the_service(sdk: &aws_config::SdkConfig) -> aws_sdk_ecs::types::Service {
    aws_sdk_ecs::Client::new(sdk)
        .describe_services()
        .cluster("cluster1-cluster")
        .services("cluster1-service-microservice1")
        .send()
        .await
        .unwrap()
        .services()[0]
        .clone()
}

/// The digest ECR holds under `tag` in `repository`.
pub async fn digest_of(sdk: &aws_config::SdkConfig, repository: &str, tag: &str) -> String {
    aws_sdk_ecr::Client::new(sdk)
        .list_images()
        .repository_name(repository)
        .send()
        .await
        .unwrap()
        .image_ids()
        .iter()
        .find(|id| id.image_tag() == Some(tag))
        .and_then(|id| id.image_digest())
        .unwrap()
        .to_string()
}

/// The task definition revision the reference service runs now, as ECS keeps it.
pub async fn running_revision(sdk: &aws_config::SdkConfig) -> aws_sdk_ecs::types::TaskDefinition {
    let service = the_service(sdk).await;
    aws_sdk_ecs::Client::new(sdk)
        .describe_task_definition()
        .task_definition(service.task_definition().unwrap())
        .send()
        .await
        .unwrap()
        .task_definition()
        .unwrap()
        .clone()
}

/// The image of the task definition the reference service runs now.
pub async fn running_image(sdk: &aws_config::SdkConfig) -> String {
    running_revision(sdk).await.container_definitions()[0]
        .image()
        .unwrap()
        .to_string()
}

/// The stdout and stderr of a finished command, as text.
pub fn output(assert: &assert_cmd::assert::Assert) -> (String, String) {
    let out = assert.get_output();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// How many of each kind exist, counted with the ordinary list and describe calls.
pub async fn inventory(sdk: &aws_config::SdkConfig) -> BTreeMap<&'static str, usize> {
    let ec2 = aws_sdk_ec2::Client::new(sdk);
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(sdk);
    let ecs = aws_sdk_ecs::Client::new(sdk);
    let apigw = aws_sdk_apigateway::Client::new(sdk);
    let iam = aws_sdk_iam::Client::new(sdk);
    let logs = aws_sdk_cloudwatchlogs::Client::new(sdk);
    let ecr = aws_sdk_ecr::Client::new(sdk);
    let mut n = BTreeMap::new();

    let vpcs = ec2.describe_vpcs().send().await.unwrap();
    n.insert(
        "vpcs",
        vpcs.vpcs()
            .iter()
            .filter(|v| v.is_default() != Some(true))
            .count(),
    );
    let subnets = ec2.describe_subnets().send().await.unwrap();
    n.insert(
        "subnets",
        subnets
            .subnets()
            .iter()
            .filter(|s| s.default_for_az() != Some(true))
            .count(),
    );
    let groups = ec2.describe_security_groups().send().await.unwrap();
    n.insert(
        "security groups",
        groups
            .security_groups()
            .iter()
            .filter(|g| g.group_name() != Some("default"))
            .count(),
    );
    let tables = ec2.describe_route_tables().send().await.unwrap();
    n.insert(
        "route tables",
        tables
            .route_tables()
            .iter()
            .filter(|t| !t.associations().iter().any(|a| a.main() == Some(true)))
            .count(),
    );
    // The NAT design's, counted only when there are any, so the endpoints design's inventory
    // reads as it always did.
    let gateways = ec2.describe_internet_gateways().send().await.unwrap();
    let nats = ec2.describe_nat_gateways().send().await.unwrap();
    let addresses = ec2.describe_addresses().send().await.unwrap();
    for (kind, count) in [
        ("internet gateways", gateways.internet_gateways().len()),
        (
            "nat gateways",
            nats.nat_gateways()
                .iter()
                .filter(|g| {
                    !matches!(
                        g.state(),
                        Some(aws_sdk_ec2::types::NatGatewayState::Deleted)
                    )
                })
                .count(),
        ),
        ("elastic ips", addresses.addresses().len()),
    ] {
        if count > 0 {
            n.insert(kind, count);
        }
    }
    let endpoints = ec2.describe_vpc_endpoints().send().await.unwrap();
    n.insert(
        "vpc endpoints",
        endpoints
            .vpc_endpoints()
            .iter()
            .filter(|e| {
                e.state()
                    .is_none_or(|s| !s.as_str().eq_ignore_ascii_case("deleted"))
            })
            .count(),
    );
    let lbs = elb.describe_load_balancers().send().await.unwrap();
    n.insert("load balancers", lbs.load_balancers().len());
    let tgs = elb.describe_target_groups().send().await.unwrap();
    n.insert("target groups", tgs.target_groups().len());
    let mut listeners = 0;
    for lb in lbs.load_balancers() {
        let out = elb
            .describe_listeners()
            .load_balancer_arn(lb.load_balancer_arn().unwrap())
            .send()
            .await
            .unwrap();
        listeners += out.listeners().len();
    }
    n.insert("listeners", listeners);
    let apis = apigw.get_rest_apis().send().await.unwrap();
    n.insert("rest apis", apis.items().len());
    let mut deployments = 0;
    for api in apis.items() {
        let out = apigw
            .get_deployments()
            .rest_api_id(api.id().unwrap())
            .send()
            .await
            .unwrap();
        deployments += out.items().len();
    }
    n.insert("api deployments", deployments);
    // V1 links, and V2 links (API Gateway's second API).
    let v2 = aws_sdk_apigatewayv2::Client::new(sdk)
        .get_vpc_links()
        .send()
        .await
        .unwrap();
    n.insert(
        "vpc links",
        apigw.get_vpc_links().send().await.unwrap().items().len() + v2.items().len(),
    );
    let clusters = ecs.list_clusters().send().await.unwrap();
    let described = ecs
        .describe_clusters()
        .set_clusters(Some(clusters.cluster_arns().to_vec()))
        .send()
        .await
        .unwrap();
    n.insert(
        "active clusters",
        described
            .clusters()
            .iter()
            .filter(|c| c.status() == Some("ACTIVE"))
            .count(),
    );
    let mut services = 0;
    for arn in clusters.cluster_arns() {
        let listed = ecs.list_services().cluster(arn).send().await.unwrap();
        if listed.service_arns().is_empty() {
            continue;
        }
        let out = ecs
            .describe_services()
            .cluster(arn)
            .set_services(Some(listed.service_arns().to_vec()))
            .send()
            .await
            .unwrap();
        services += out
            .services()
            .iter()
            .filter(|s| s.status() == Some("ACTIVE"))
            .count();
    }
    n.insert("active services", services);
    let tds = ecs
        .list_task_definitions()
        .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
        .send()
        .await
        .unwrap();
    n.insert("active task definitions", tds.task_definition_arns().len());
    // Service-linked roles and API Gateway's logging role are the account's, kept by `down`:
    // checked apart.
    let roles = iam.list_roles().send().await.unwrap();
    let stack = roles
        .roles()
        .iter()
        .filter(|r| {
            !r.path().starts_with("/aws-service-role/") && r.role_name() != API_LOGGING_ROLE
        })
        .count();
    n.insert("iam roles", stack);
    n.insert(
        "log groups",
        logs.describe_log_groups()
            .send()
            .await
            .unwrap()
            .log_groups()
            .len(),
    );
    n.insert(
        "ecr repositories",
        ecr.describe_repositories()
            .send()
            .await
            .unwrap()
            .repositories()
            .len(),
    );
    n
}

/// The role `up` makes for API Gateway's account-level CloudWatch logging when the account
/// names none; `down` leaves it.
pub const API_LOGGING_ROLE: &str = "gwfargate-apigateway-cloudwatch-logs";

/// The role API Gateway's account settings name for CloudWatch logging in `sdk`'s region.
pub async fn api_logging_role(sdk: &aws_config::SdkConfig) -> Option<String> {
    aws_sdk_apigateway::Client::new(sdk)
        .get_account()
        .send()
        .await
        .unwrap()
        .cloudwatch_role_arn()
        .map(str::to_string)
}

/// One of each resource the reference env file makes (its image is in ECR, so one repository).
pub fn expected_full_stack() -> BTreeMap<&'static str, usize> {
    BTreeMap::from([
        ("vpcs", 1),
        ("subnets", 2),
        // The tasks', the endpoints' and the V2 VPC link's.
        ("security groups", 3),
        ("route tables", 1),
        ("vpc endpoints", 4),
        ("load balancers", 1),
        ("target groups", 1),
        ("listeners", 1),
        ("rest apis", 1),
        ("api deployments", 1),
        ("vpc links", 1),
        ("active clusters", 1),
        ("active services", 1),
        ("active task definitions", 1),
        ("iam roles", 1),
        ("log groups", 2),
        ("ecr repositories", 1),
    ])
}

/// A workspace whose image is outside ECR: no push step, no repository.
pub fn workspace_outside_ecr() -> Workspace {
    Workspace::new(&[(
        "image             = \"123456789012.dkr.ecr.eu-west-1.amazonaws.com/microservice1:1.0.0\"",
        "image             = \"public.ecr.aws/nginx/nginx:1.27\"",
    )])
}

/// One of each resource for [`workspace_outside_ecr`] (no repository).
pub fn one_of_each() -> BTreeMap<&'static str, usize> {
    let mut want = expected_full_stack();
    want.insert("ecr repositories", 0);
    want
}

/// The names of the account's service-linked roles.
pub async fn service_linked_roles(sdk: &aws_config::SdkConfig) -> Vec<String> {
    let iam = aws_sdk_iam::Client::new(sdk);
    let roles = iam.list_roles().send().await.unwrap();
    let mut names: Vec<String> = roles
        .roles()
        .iter()
        .filter(|r| r.path().starts_with("/aws-service-role/"))
        .map(|r| r.role_name().to_string())
        .collect();
    names.sort();
    names
}

/// The realistic profile's settings at a time scale, with these fault rules.
pub fn realistic_settings(scale: f64, faults: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "scale": scale, "provisioning": true, "ordering": true, "fidelity": true,
        "rate_limits": true, "consistency": true, "new_account": true,
        "disabled_regions": ["ap-east-1"], "live_tail": true, "egress": true, "faults": faults
    })
}

/// Makes a Secrets Manager secret holding `value`; returns its full ARN.
pub async fn create_secret(sdk: &aws_config::SdkConfig, name: &str, value: &str) -> String {
    aws_sdk_secretsmanager::Client::new(sdk)
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
        .expect("create secret")
        .arn()
        .expect("secret ARN")
        .to_string()
}

/// Fails unless nothing of any kind is left in the emulator; `context` says after what.
pub async fn assert_nothing_left(sdk: &aws_config::SdkConfig, context: &str) {
    let left = inventory(sdk).await;
    assert!(
        left.values().all(|n| *n == 0),
        "{context}: left behind {left:?}"
    );
}

/// Reads the child's stderr until a line satisfies `until` (or it ends); returns the lines.
pub fn read_until(child: &mut Child, mut until: impl FnMut(usize, &str) -> bool) -> Vec<String> {
    let stderr = child.stderr.take().expect("piped stderr");
    let mut lines = Vec::new();
    let mut reader = BufReader::new(stderr);
    let mut line = String::new();
    while reader.read_line(&mut line).unwrap_or(0) > 0 {
        lines.push(line.trim_end().to_string());
        line.clear();
        if until(lines.len(), lines.last().unwrap()) {
            break;
        }
    }
    // Keep draining in the background so the child never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut rest = String::new();
        while reader.read_line(&mut rest).unwrap_or(0) > 0 {
            rest.clear();
        }
    });
    lines
}

pub fn signal(child: &Child, name: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
}

pub fn wait_with_deadline(child: &mut Child, deadline: Duration) -> Option<i32> {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status.code();
        }
        assert!(
            start.elapsed() < deadline,
            "the process did not end within {deadline:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A policy document as IAM answers it (URL-encoded), readable.
pub fn policy_text(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// A request through the test bed's data plane to `path` under the stage `dev` of `api` in
/// eu-west-1, with raw `headers` lines (each ending `\r\n`): its HTTP status.
pub fn invoke(emulator: &Emulator, api: &str, path: &str, headers: &str) -> u16 {
    request(
        emulator,
        &format!("/_testbed/invoke/{api}/dev/{path}?region=eu-west-1"),
        headers,
    )
}

/// The HTTP status of a GET of the test bed's `target` (a path and query), with `headers`
/// (each ending in CRLF).
pub fn request(emulator: &Emulator, target: &str, headers: &str) -> u16 {
    use std::io::{Read as _, Write as _};
    let addr = emulator.endpoint.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {target} HTTP/1.0\r\nHost: {addr}\r\n{headers}\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

/// Runs gwfargate with `args` in the background while requests go through the stack's stage
/// `dev` of `api`; the statuses seen. It must succeed.
pub fn up_while_serving(
    ws: &Workspace,
    emulator: &Emulator,
    api: &str,
    args: &[&str],
) -> BTreeMap<u16, u32> {
    let mut child = spawn(ws.path(), &emulator.endpoint, args);
    // Its first line read, the rest drained in the background: a full pipe would stall it.
    read_until(&mut child, |_, _| true);
    let mut statuses = BTreeMap::new();
    let code = loop {
        *statuses
            .entry(invoke(emulator, api, "", ""))
            .or_insert(0u32) += 1;
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(code, Some(0), "{statuses:?}");
    statuses
}

/// The id of the security group named `name`.
pub async fn group_id(sdk: &aws_config::SdkConfig, name: &str) -> String {
    aws_sdk_ec2::Client::new(sdk)
        .describe_security_groups()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("group-name")
                .values(name)
                .build(),
        )
        .send()
        .await
        .unwrap()
        .security_groups()[0]
        .group_id()
        .unwrap()
        .to_string()
}
