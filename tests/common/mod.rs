//! Test harness: a private emulator per test, the real binary pointed at it, SDK clients to
//! check the result from outside, and an environment that can never reach real AWS.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command as StdCommand, Stdio};

use assert_cmd::Command;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
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

    /// How many calls of an operation the log holds.
    pub fn count(&self, operation: &str) -> u64 {
        self.calls()
            .get(operation)
            .and_then(|c| c["count"].as_u64())
            .unwrap_or(0)
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

/// The binary, run in `dir`, with an environment that only reaches `endpoint`.
pub fn gwfargate(dir: &Path, endpoint: &str) -> Command {
    assert!(
        endpoint.starts_with("http://127.0.0.1:"),
        "tests only talk to loopback"
    );
    let mut cmd = Command::cargo_bin("gwfargate").expect("binary");
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", dir.join("no-aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            dir.join("no-aws-credentials"),
        )
        .env("GWFARGATE_POLL_SECONDS", "0.05")
        .timeout(std::time::Duration::from_secs(300));
    cmd
}

/// Puts an image manifest into the emulator's ECR, standing in for `docker push`.
pub async fn push_image(sdk: &aws_config::SdkConfig, repository: &str, tag: &str) {
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 2,
                   "digest": format!("sha256:{}", "0".repeat(64))},
        "layers": []
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

/// The stdout and stderr of a finished command, as text.
pub fn output(assert: &assert_cmd::assert::Assert) -> (String, String) {
    let out = assert.get_output();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
