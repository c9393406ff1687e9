//! The command line without AWS: bad env files, bad flags, choosing the stack, help.
//! The endpoint here is a listener that only counts connections, which proves that a rejected
//! command sent nothing to AWS.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{Workspace, gwfargate, output};

/// A loopback listener that counts the connections made to it.
struct CountingEndpoint {
    url: String,
    count: Arc<AtomicUsize>,
}

impl CountingEndpoint {
    fn start() -> CountingEndpoint {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let count = Arc::new(AtomicUsize::new(0));
        let seen = count.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                seen.fetch_add(1, Ordering::SeqCst);
                // A refusal the SDK does not retry, so a run that got this far ends at once.
                if let Ok(mut stream) = stream {
                    use std::io::Write as _;
                    let _ = stream.write_all(
                        b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                    );
                }
            }
        });
        CountingEndpoint { url, count }
    }

    fn connections(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }
}

#[test]
fn broken_env_files_exit_2_name_the_key_and_call_nothing() {
    let endpoint = CountingEndpoint::start();
    // (what is broken, edit of config/env1.toml, text the error must contain)
    let cases: &[(&str, (&str, &str), &str)] = &[
        (
            "unknown key",
            ("[logs]", "colour = \"red\"\n[logs]"),
            "unknown field `colour`",
        ),
        (
            "unknown key in a table",
            ("port              = 8080", "port = 8080\nprot = 1"),
            "unknown field `prot`",
        ),
        (
            "unparsable CIDR",
            ("vpc_cidr = \"10.0.0.0/16\"", "vpc_cidr = \"10.0.0/16\""),
            "`network.vpc_cidr`",
        ),
        (
            "subnet outside the VPC",
            ("cidr = \"10.0.2.0/24\"", "cidr = \"10.1.2.0/24\""),
            "`network.subnets[1].cidr`: 10.1.2.0/24 is not inside",
        ),
        (
            "overlapping subnets",
            ("cidr = \"10.0.2.0/24\"", "cidr = \"10.0.1.128/25\""),
            "overlaps network.subnets[0]",
        ),
        (
            "one subnet",
            (
                ",\n             { cidr = \"10.0.2.0/24\", az = \"eu-west-1b\" }",
                "",
            ),
            "`network.subnets`: 1 subnet(s) given",
        ),
        (
            "one availability zone",
            ("az = \"eu-west-1b\"", "az = \"eu-west-1a\""),
            "network.subnets[0] is already in eu-west-1a",
        ),
        (
            "AZ of another region",
            ("az = \"eu-west-1b\"", "az = \"us-east-1b\""),
            "`network.subnets[1].az`",
        ),
        (
            "port out of range",
            ("port              = 8080", "port              = 70000"),
            "`service.port`: 70000 is out of range",
        ),
        (
            "port zero",
            ("port              = 8080", "port              = 0"),
            "`service.port`",
        ),
        (
            "cpu Fargate lacks",
            ("cpu               = 1024", "cpu               = 1000"),
            "`service.cpu`",
        ),
        (
            "memory Fargate lacks with that cpu",
            ("memory            = 2048", "memory            = 16384"),
            "`service.memory`: Fargate does not offer 16384 MiB with 1024",
        ),
        (
            "negative count",
            ("count             = 1", "count             = -1"),
            "`service.count`",
        ),
        (
            "bad stage name",
            ("environment = \"dev\"", "environment = \"dev stage\""),
            "`environment`",
        ),
        (
            "bad deployment name",
            ("name        = \"cluster1\"", "name        = \"Cluster_1\""),
            "`name`",
        ),
        (
            "name too long",
            (
                "name        = \"cluster1\"",
                "name        = \"a-very-long-deployment-name-beyond-limits\"",
            ),
            "`name`",
        ),
        (
            "bad region",
            ("region      = \"eu-west-1\"", "region      = \"europe\""),
            "`region`",
        ),
        (
            "retention CloudWatch lacks",
            ("retention_days = 30", "retention_days = 31"),
            "`logs.retention_days`",
        ),
        (
            "bad image",
            (
                "image             = \"123456789012",
                "image             = \"UPPER/",
            ),
            "`service.image`",
        ),
        (
            "bad health check path",
            (
                "health_check_path = \"/actuator/health\"",
                "health_check_path = \"actuator\"",
            ),
            "`service.health_check_path`",
        ),
        (
            "missing key",
            ("region      = \"eu-west-1\"\n", ""),
            "missing field `region`",
        ),
        ("not TOML", ("[network]", "[network"), "env1.toml:"),
        // Refusals AWS would make mid-build, after resources were made.
        (
            "two subnets in one zone",
            (
                "{ cidr = \"10.0.2.0/24\", az = \"eu-west-1b\" } ]",
                "{ cidr = \"10.0.2.0/24\", az = \"eu-west-1b\" },\n\
                 { cidr = \"10.0.3.0/24\", az = \"eu-west-1b\" } ]",
            ),
            "`network.subnets[2].az`: network.subnets[1] is already in eu-west-1b",
        ),
        (
            "a load balancer name beginning with internal-",
            (
                "name        = \"cluster1\"",
                "name        = \"internal-apps\"",
            ),
            "begin with `internal-`",
        ),
        (
            "an ECR repository name AWS rejects",
            ("amazonaws.com/microservice1:", "amazonaws.com/../etc:"),
            "is not a name AWS accepts",
        ),
    ];
    assert!(cases.len() >= 12);
    // (what is broken, every edit, text the error must contain)
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str);
    let mut cases: Vec<Case> = cases
        .iter()
        .map(|(what, edit, expected)| (*what, vec![*edit], *expected))
        .collect();
    cases.push((
        "a subnet too small for the stack",
        vec![
            ("cidr = \"10.0.2.0/24\"", "cidr = \"10.0.2.0/28\""),
            ("count             = 1", "count             = 8"),
        ],
        "`network.subnets[1].cidr`: 10.0.2.0/28 has 11 usable addresses",
    ));
    for (what, edits, expected) in &cases {
        let ws = Workspace::new(edits);
        let result = gwfargate(ws.path(), &endpoint.url)
            .args(["up", "--env", "env1.toml"])
            .assert()
            .code(2);
        let (stdout, stderr) = output(&result);
        assert!(stdout.is_empty(), "{what}: nothing on stdout, got {stdout}");
        assert!(
            stderr.contains("env1.toml:"),
            "{what}: the file is named: {stderr}"
        );
        assert!(
            stderr.contains(expected),
            "{what}: expected {expected:?} in:\n{stderr}"
        );
        assert!(
            !ws.state_file().exists(),
            "{what}: no state file was written"
        );
    }
    assert_eq!(
        endpoint.connections(),
        0,
        "a rejected env file must not reach AWS"
    );
}

#[test]
fn broken_values_of_a_real_services_keys_are_refused_naming_the_key_before_any_call() {
    let endpoint = CountingEndpoint::start();
    let anchor = "health_check_path = \"/actuator/health\"";
    // (what is broken, lines added under [service], the key the error names, what it says)
    let cases: [(&str, &str, &str, &str); 35] = [
        (
            "a key for secrets there are none of",
            "secrets_kms_key = \"arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab\"",
            "service.secrets_kms_key",
            "only with [service.secrets]",
        ),
        (
            "Spot on arm64",
            "cpu_architecture = \"arm64\"\nspot = { base = 1, weight = 1 }",
            "service.spot",
            "runs no arm64 task",
        ),
        (
            "a Spot weight of 0",
            "spot = { weight = 0 }",
            "service.spot.weight",
            "1 to 1000",
        ),
        (
            "scaling on requests",
            "[service.autoscaling]\nmin = 1\nmax = 4\nrequests = 1000",
            "service.autoscaling.requests",
            "needs an Application Load Balancer",
        ),
        (
            "a matcher of codes a load balancer never checks",
            "[service.target_health_check]\nmatcher = \"100-199\"",
            "service.target_health_check.matcher",
            "codes 200 to 599",
        ),
        (
            "a target check every second",
            "[service.target_health_check]\ninterval = 1",
            "service.target_health_check.interval",
            "5 to 300",
        ),
        (
            "the path said twice",
            "[service.target_health_check]\npath = \"/health\"",
            "service.target_health_check.path",
            "keep one of the two",
        ),
        (
            "a managed policy that is not an ARN",
            "[service.task_role]\npolicy_arns = [\"AmazonS3ReadOnlyAccess\"]",
            "service.task_role.policy_arns[0]",
            "not a managed policy's ARN",
        ),
        (
            "an action without its service",
            "[service.task_role]\n[[service.task_role.statements]]\nactions = [\"SendMessage\"]\nresources = [\"*\"]",
            "service.task_role.statements[0].actions[0]",
            "not an IAM action",
        ),
        (
            "a resource that is not an ARN",
            "[service.task_role]\n[[service.task_role.statements]]\nactions = [\"sqs:SendMessage\"]\nresources = [\"jobs\"]",
            "service.task_role.statements[0].resources[0]",
            "not an ARN",
        ),
        (
            "an empty task role",
            "[service.task_role]",
            "service.task_role",
            "needs `policy_arns` or `statements`",
        ),
        (
            "a secret's ARN without its suffix",
            "[service.secrets]\nDB = { secretsmanager = \"arn:aws:secretsmanager:eu-west-1:123456789012:secret:db\" }",
            "service.secrets.DB.secretsmanager",
            "not a secret's full ARN",
        ),
        (
            "a secret of another region",
            "[service.secrets]\nDB = { secretsmanager = \"arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf\" }",
            "service.secrets.DB.secretsmanager",
            "Secrets Manager of eu-west-1 only",
        ),
        (
            "a JSON key on a parameter",
            "[service.secrets]\nTOKEN = { ssm = \"/app/token\", key = \"k\" }",
            "service.secrets.TOKEN",
            "are for Secrets Manager",
        ),
        (
            "a secret from nowhere",
            "[service.secrets]\nTOKEN = { }",
            "service.secrets.TOKEN",
            "say where the value is",
        ),
        (
            "a variable both plain and secret",
            "[service.env]\nTOKEN = \"x\"\n[service.secrets]\nTOKEN = { ssm = \"/app/token\" }",
            "service.secrets.TOKEN",
            "also under [service.env]",
        ),
        (
            "an unknown processor",
            "cpu_architecture = \"sparc\"",
            "service.cpu_architecture",
            "\"x86_64\" or \"arm64\"",
        ),
        (
            "a stop timeout Fargate refuses",
            "stop_timeout = 300",
            "service.stop_timeout",
            "2 to 120",
        ),
        (
            "less storage than Fargate's own",
            "ephemeral_storage_gib = 10",
            "service.ephemeral_storage_gib",
            "21 to 200",
        ),
        (
            "an empty command",
            "command = []",
            "service.command",
            "list of words",
        ),
        (
            "a relative working directory",
            "working_directory = \"app\"",
            "service.working_directory",
            "absolute path",
        ),
        (
            "a negative grace period",
            "health_check_grace_period = -1",
            "service.health_check_grace_period",
            "out of range",
        ),
        (
            "a variable name starting with a digit",
            "[service.env]\n1BAD = \"x\"",
            "service.env.1BAD",
            "not an environment variable name",
        ),
        (
            "a variable the ECS agent sets",
            "[service.env]\nECS_CONTAINER_METADATA_URI_V4 = \"x\"",
            "service.env.ECS_CONTAINER_METADATA_URI_V4",
            "set by the ECS agent",
        ),
        (
            "a health check without CMD",
            "[service.container_health_check]\ncommand = [\"curl\", \"-f\"]",
            "service.container_health_check.command",
            "CMD-SHELL",
        ),
        (
            "a health check every second",
            "[service.container_health_check]\ncommand = [\"CMD\", \"/check\"]\ninterval = 1",
            "service.container_health_check.interval",
            "5 to 300",
        ),
        (
            "a deployment above 200%",
            "[service.deployment]\nmaximum_percent = 250",
            "service.deployment.maximum_percent",
            "100 to 200",
        ),
        (
            "a deployment with no room",
            "[service.deployment]\nminimum_healthy_percent = 100\nmaximum_percent = 100",
            "service.deployment.maximum_percent",
            "no room",
        ),
        (
            "an empty alarm name",
            "[service.deployment]\nalarms = [\"\"]",
            "service.deployment.alarms[0]",
            "not a CloudWatch alarm name",
        ),
        (
            "max below min",
            "[service.autoscaling]\nmin = 3\nmax = 2\ncpu = 60",
            "service.autoscaling.max",
            "below min",
        ),
        (
            "a count outside the bounds",
            "[service.autoscaling]\nmin = 2\nmax = 4\ncpu = 60",
            "service.count",
            "outside autoscaling's 2 to 4",
        ),
        (
            "a CPU target of 95%",
            "[service.autoscaling]\nmin = 1\nmax = 4\ncpu = 95",
            "service.autoscaling.cpu",
            "10 to 90",
        ),
        (
            "nothing to scale on",
            "[service.autoscaling]\nmin = 1\nmax = 4",
            "service.autoscaling",
            "something to scale on",
        ),
        (
            "a cron of five fields",
            "[service.autoscaling]\nmin = 1\nmax = 4\n[[service.autoscaling.schedule]]\nname = \"n\"\ncron = \"0 8 * * 1\"\nmin = 1\nmax = 1",
            "service.autoscaling.schedule[0].cron",
            "has 5 fields",
        ),
        (
            "a time zone with spaces",
            "[service.autoscaling]\nmin = 1\nmax = 4\n[[service.autoscaling.schedule]]\nname = \"n\"\ncron = \"0 8 ? * MON *\"\ntimezone = \"Not a zone\"\nmin = 1\nmax = 1",
            "service.autoscaling.schedule[0].timezone",
            "not a time zone name",
        ),
    ];
    for (what, lines, key, says) in cases {
        let ws = Workspace::new(&[(anchor, &format!("{anchor}\n{lines}"))]);
        for command in ["up", "plan"] {
            let run = gwfargate(ws.path(), &endpoint.url)
                .args([command, "--env", "env1.toml"])
                .assert()
                .code(2);
            let (stdout, stderr) = output(&run);
            assert!(stdout.is_empty(), "{what}, {command}: {stdout}");
            assert!(
                stderr.contains(&format!("`{key}`")) && stderr.contains(says),
                "{what}, {command}: `{key}` and {says:?} in:\n{stderr}"
            );
            assert!(!ws.state_file().exists(), "{what}, {command}");
        }
    }
    for (lines, key, says) in [
        (
            "endpoints = [\"logs\"]",
            "network.endpoints[0]",
            "always makes the logs endpoint",
        ),
        (
            "endpoints = [\"SQS\"]",
            "network.endpoints[0]",
            "not an AWS service's endpoint name",
        ),
        (
            "endpoints = [\"sqs\", \"sqs\"]",
            "network.endpoints[1]",
            "listed twice",
        ),
    ] {
        let anchor = "vpc_cidr = \"10.0.0.0/16\"";
        let ws = Workspace::new(&[(anchor, &format!("{anchor}\n{lines}"))]);
        let run = gwfargate(ws.path(), &endpoint.url)
            .args(["plan", "--env", "env1.toml"])
            .assert()
            .code(2);
        let (_, stderr) = output(&run);
        assert!(
            stderr.contains(&format!("`{key}`")) && stderr.contains(says),
            "{lines}: {stderr}"
        );
    }
    let many: String = (0..47).map(|i| format!("t{i:02} = \"v\"\n")).collect();
    let long = format!("team = \"{}\"", "x".repeat(257));
    // (lines of a [tags] table, the key the error names, what it says)
    for (lines, key, says) in [
        (
            "\"aws:team\" = \"web\"",
            "tags.aws:team",
            "begins with `aws:`",
        ),
        ("Name = \"web\"", "tags.Name", "a key gwfargate sets itself"),
        (
            "environment = \"prod\"",
            "tags.environment",
            "a key gwfargate sets itself",
        ),
        (
            "\"gwfargate:owner\" = \"me\"",
            "tags.gwfargate:owner",
            "a key gwfargate sets itself",
        ),
        (
            "Team = \"a\"\nteam = \"b\"",
            "tags.team",
            "differ only in case",
        ),
        ("\"team#1\" = \"web\"", "tags.team#1", "not a tag key"),
        ("team = \"web; drop\"", "tags.team", "not a tag value"),
        (long.as_str(), "tags.team", "at most 256"),
        ("team = 1", "tags.team", "string"),
        (many.as_str(), "tags.t46", "keep at most 46"),
    ] {
        let ws = Workspace::new(&[("[logs]", &format!("[tags]\n{lines}\n\n[logs]"))]);
        for command in ["up", "plan"] {
            let run = gwfargate(ws.path(), &endpoint.url)
                .args([command, "--env", "env1.toml"])
                .assert()
                .code(2);
            let (stdout, stderr) = output(&run);
            assert!(stdout.is_empty(), "{key}, {command}: {stdout}");
            assert!(
                stderr.contains(&format!("`{key}`")) && stderr.contains(says),
                "{key}, {command}: `{key}` and {says:?} in:\n{stderr}"
            );
            assert!(!ws.state_file().exists(), "{key}, {command}");
        }
    }
    assert_eq!(
        endpoint.connections(),
        0,
        "a rejected env file must not reach AWS"
    );
}

#[test]
fn an_image_the_tasks_cannot_pull_is_refused_before_any_call_unless_allowed() {
    let endpoint = CountingEndpoint::start();
    let ecr =
        "image             = \"123456789012.dkr.ecr.eu-west-1.amazonaws.com/microservice1:1.0.0\"";
    for (what, image) in [
        ("a public registry", "public.ecr.aws/nginx/nginx:1.27"),
        ("Docker Hub", "nginx:1.27"),
        (
            "ECR in another region",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/microservice1:1.0.0",
        ),
    ] {
        let ws = Workspace::new(&[(ecr, &format!("image             = \"{image}\""))]);
        for command in ["up", "plan"] {
            let run = gwfargate(ws.path(), &endpoint.url)
                .env_remove("GWFARGATE_ALLOW_IMAGE_OUTSIDE_ECR")
                .args([command, "--env", "env1.toml"])
                .assert()
                .code(2);
            let (stdout, stderr) = output(&run);
            assert!(stdout.is_empty(), "{what}, {command}: {stdout}");
            for said in [
                image,
                "is outside ECR in eu-west-1, and nothing was changed",
                "--allow-image-outside-ecr",
            ] {
                assert!(
                    stderr.contains(said),
                    "{what}, {command}: {said:?} in:\n{stderr}"
                );
            }
            assert!(!ws.state_file().exists(), "{what}, {command}");
        }
    }
    assert_eq!(endpoint.connections(), 0, "refused before any AWS call");

    // Another account's ECR in the region is reachable through the endpoints; and the user may
    // say the subnets have another way out, by flag or by environment variable.
    let other_account = Workspace::new(&[(ecr, &ecr.replace("123456789012", "210987654321"))]);
    let public = Workspace::new(&[(ecr, "image             = \"nginx:1.27\"")]);
    let runs: [(&Workspace, &[&str], Option<&str>); 3] = [
        (&other_account, &[], None),
        (&public, &["--allow-image-outside-ecr"], None),
        (&public, &[], Some("1")),
    ];
    for (ws, flags, variable) in runs {
        let before = endpoint.connections();
        let mut command = gwfargate(ws.path(), &endpoint.url);
        command.env_remove("GWFARGATE_ALLOW_IMAGE_OUTSIDE_ECR");
        if let Some(value) = variable {
            command.env("GWFARGATE_ALLOW_IMAGE_OUTSIDE_ECR", value);
        }
        // The endpoint refuses: the run gets as far as AWS and fails there (exit 1).
        command
            .args(["plan", "--env", "env1.toml"])
            .args(flags)
            .timeout(std::time::Duration::from_secs(120))
            .assert()
            .code(1);
        assert!(
            endpoint.connections() > before,
            "{flags:?} {variable:?} reached AWS"
        );
    }
}

#[test]
fn errors_carry_line_and_column() {
    let endpoint = CountingEndpoint::start();
    let ws = Workspace::new(&[("port              = 8080", "port              = 70000")]);
    let result = gwfargate(ws.path(), &endpoint.url)
        .args(["up", "--env", "env1.toml"])
        .assert()
        .code(2);
    let (_, stderr) = output(&result);
    assert!(
        stderr.contains("env1.toml:15:21: `service.port`"),
        "{stderr}"
    );
}

#[test]
fn a_missing_env_file_is_a_usage_error() {
    let endpoint = CountingEndpoint::start();
    let ws = Workspace::new(&[]);
    let result = gwfargate(ws.path(), &endpoint.url)
        .args(["up", "--env", "nope.toml"])
        .assert()
        .code(2);
    assert!(
        output(&result)
            .1
            .contains("nope.toml: cannot read the env file")
    );
    assert_eq!(endpoint.connections(), 0);
}

#[test]
fn a_closed_stderr_changes_nothing_but_what_is_seen() {
    // `gwfargate ... 2>&1 | head -1`: the reader goes away; the exit code must stay the
    // documented one, not a panic's 101.
    let ws = Workspace::new(&[]);
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("gwfargate"))
        .current_dir(ws.path())
        .args(["up", "--env", "nope.toml"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start");
    drop(child.stderr.take());
    assert_eq!(child.wait().expect("wait").code(), Some(2));
}

#[test]
fn bad_flags_exit_2() {
    let endpoint = CountingEndpoint::start();
    let ws = Workspace::new(&[]);
    gwfargate(ws.path(), &endpoint.url)
        .args(["up"])
        .assert()
        .code(2);
    gwfargate(ws.path(), &endpoint.url)
        .args(["up", "--env", "env1.toml", "--concurrency", "0"])
        .assert()
        .code(2);
    gwfargate(ws.path(), &endpoint.url)
        .args(["deploy"])
        .assert()
        .code(2);
    let bad_url = gwfargate(ws.path(), &endpoint.url)
        .args(["status", "--env", "env1.toml", "--endpoint-url", "notaurl"])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&bad_url.get_output().stderr).into_owned();
    assert!(
        stderr.contains("not an http:// or https:// URL"),
        "{stderr}"
    );
    // A profile that no config file defines is refused before any call.
    let unknown = gwfargate(ws.path(), &endpoint.url)
        .args(["status", "--env", "env1.toml", "--profile", "nosuch"])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&unknown.get_output().stderr).into_owned();
    assert!(
        stderr.contains("--profile nosuch: no such profile"),
        "{stderr}"
    );
    assert_eq!(endpoint.connections(), 0);
}

#[test]
fn a_profile_whose_role_needs_mfa_is_refused_before_any_call() {
    let endpoint = CountingEndpoint::start();
    let ws = Workspace::new(&[]);
    std::fs::write(
        ws.path().join("no-aws-config"),
        "[profile base]\nregion = eu-west-1\n\n\
         [profile admin]\nrole_arn = arn:aws:iam::123456789012:role/admin\n\
         source_profile = base\nmfa_serial = arn:aws:iam::123456789012:mfa/me\n\n\
         [profile chained]\nrole_arn = arn:aws:iam::123456789012:role/deploy\n\
         source_profile = admin\n",
    )
    .unwrap();
    std::fs::write(
        ws.path().join("no-aws-credentials"),
        "[base]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = secret\n",
    )
    .unwrap();
    for profile in ["admin", "chained"] {
        let refused = gwfargate(ws.path(), &endpoint.url)
            .args(["status", "--env", "env1.toml", "--profile", profile])
            .assert()
            .code(2);
        let (_, stderr) = output(&refused);
        assert!(
            stderr.contains(
                "profile admin assumes role arn:aws:iam::123456789012:role/admin with MFA"
            ) && stderr.contains("export-credentials"),
            "{profile}: {stderr}"
        );
    }
    assert_eq!(endpoint.connections(), 0, "nothing was sent");
}

#[test]
fn every_command_has_help_with_an_example() {
    let ws = Workspace::new(&[]);
    for command in [
        vec!["--help"],
        vec!["up", "--help"],
        vec!["status", "--help"],
        vec!["down", "--help"],
    ] {
        let result = gwfargate(ws.path(), "http://127.0.0.1:9")
            .args(&command)
            .assert()
            .success();
        let (stdout, _) = output(&result);
        assert!(stdout.contains("gwfargate "), "{command:?}: {stdout}");
        assert!(
            stdout.contains("Example"),
            "{command:?} has an example: {stdout}"
        );
    }
}

#[test]
fn without_env_status_and_down_need_exactly_one_state_file() {
    let endpoint = CountingEndpoint::start();
    let ws = Workspace::new(&[]);
    let none = gwfargate(ws.path(), &endpoint.url)
        .arg("status")
        .assert()
        .code(2);
    assert!(
        output(&none).1.contains("no state file in .gwfargate"),
        "{}",
        output(&none).1
    );

    let state_dir = ws.path().join(".gwfargate");
    std::fs::create_dir_all(&state_dir).unwrap();
    let deployment = serde_json::json!({
        "name": "cluster1", "environment": "dev", "region": "eu-west-1",
        "network": {"vpc_cidr": "10.0.0.0/16", "subnets": [
            {"cidr": "10.0.1.0/24", "az": "eu-west-1a"}, {"cidr": "10.0.2.0/24", "az": "eu-west-1b"}]},
        "service": {"name": "m", "image": "nginx", "port": 80, "count": 1, "cpu": 256, "memory": 512,
                    "health_check_path": "/"},
        "logs": {"retention_days": 30}
    });
    for env in ["env1", "env2"] {
        let state = serde_json::json!({
            "format_version": 1, "env_file": format!("config/{env}.toml"),
            "deployment": deployment, "resources": {}
        });
        std::fs::write(state_dir.join(format!("{env}.json")), state.to_string()).unwrap();
    }
    for command in ["status", "down"] {
        let several = gwfargate(ws.path(), &endpoint.url)
            .arg(command)
            .assert()
            .code(2);
        let (_, stderr) = output(&several);
        assert!(stderr.contains("--env config/env1.toml"), "{stderr}");
        assert!(stderr.contains("--env config/env2.toml"), "{stderr}");
    }
    // --state-dir points elsewhere.
    let elsewhere = gwfargate(ws.path(), &endpoint.url)
        .args(["status", "--state-dir", "other"])
        .assert()
        .code(2);
    assert!(output(&elsewhere).1.contains("no state file in other"));
    assert_eq!(endpoint.connections(), 0);
}

#[test]
fn a_state_file_of_another_deployment_is_refused_and_kept() {
    let endpoint = CountingEndpoint::start();
    let ws = Workspace::new(&[("name        = \"cluster1\"", "name        = \"cluster2\"")]);
    let state_dir = ws.path().join(".gwfargate");
    std::fs::create_dir_all(&state_dir).unwrap();
    let state = serde_json::json!({
        "format_version": 1, "env_file": "env1.toml",
        "deployment": {
            "name": "cluster1", "environment": "dev", "region": "eu-west-1",
            "network": {"vpc_cidr": "10.0.0.0/16", "subnets": []},
            "service": {"name": "m", "image": "nginx", "port": 80, "count": 1, "cpu": 256,
                        "memory": 512, "health_check_path": "/"},
            "logs": {"retention_days": 30}
        },
        "resources": {}
    })
    .to_string();
    // `up` with this state file in place is refused, says why, and leaves the file as it is.
    let refused_with = |state: &str, why: &str| {
        std::fs::write(ws.state_file(), state).unwrap();
        let refused = gwfargate(ws.path(), &endpoint.url)
            .args(["up", "--env", "env1.toml"])
            .assert()
            .code(2);
        let (_, stderr) = output(&refused);
        assert!(stderr.contains(why), "{stderr}");
        assert_eq!(std::fs::read_to_string(ws.state_file()).unwrap(), state);
    };
    refused_with(&state, "belongs to deployment \"cluster1\"");
    // The same deployment in another region is another stack: refused too.
    refused_with(
        &state
            .replace("\"cluster1\"", "\"cluster2\"")
            .replace("\"eu-west-1\"", "\"us-east-1\""),
        "belongs to deployment \"cluster2\" in us-east-1, but env1.toml describes \"cluster2\" in eu-west-1",
    );
    assert_eq!(endpoint.connections(), 0);
}

#[test]
fn a_damaged_or_newer_state_file_is_refused_and_left_as_it_is() {
    let endpoint = CountingEndpoint::start();
    let ws = Workspace::new(&[]);
    std::fs::create_dir_all(ws.state_file().parent().unwrap()).unwrap();
    let cases = [
        (
            "truncated",
            "{\"format_version\": 1, \"deployment\": {\"name\": \"clus",
            "damaged",
        ),
        ("not JSON", "this is not json", "damaged (not JSON)"),
        (
            "newer format",
            "{\"format_version\": 7, \"deployment\": {}}",
            "format version 7, newer",
        ),
    ];
    for (what, text, expected) in cases {
        std::fs::write(ws.state_file(), text).unwrap();
        for args in [
            vec!["up", "--env", "env1.toml"],
            vec!["status"],
            vec!["down"],
        ] {
            let refused = gwfargate(ws.path(), &endpoint.url)
                .args(&args)
                .assert()
                .code(2);
            let (_, stderr) = output(&refused);
            assert!(stderr.contains(expected), "{what} {args:?}: {stderr}");
            assert!(stderr.contains("left as it is"), "{what}: {stderr}");
            assert_eq!(
                std::fs::read_to_string(ws.state_file()).unwrap(),
                text,
                "{what}: untouched"
            );
        }
    }
    assert_eq!(endpoint.connections(), 0);
}
