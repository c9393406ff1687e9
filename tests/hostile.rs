//! Files and settings a user did not mean, or someone else planted: each is refused with its
//! exit code and a message that names it, nothing is written outside the state directory, and
//! no escape code reaches the terminal.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use common::{Emulator, Workspace, gwfargate, output};

/// Every file under `dir` but the state directory, with its contents (links as their target).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut queue = vec![dir.to_path_buf()];
    while let Some(next) = queue.pop() {
        for entry in std::fs::read_dir(&next).unwrap() {
            let path = entry.unwrap().path();
            let relative = path.strip_prefix(dir).unwrap().to_path_buf();
            if relative.starts_with(".gwfargate") {
                continue;
            }
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&path).unwrap();
                out.insert(relative, target.to_string_lossy().as_bytes().to_vec());
            } else if meta.is_dir() {
                queue.push(path);
            } else if meta.is_file() {
                out.insert(relative, std::fs::read(&path).unwrap());
            } else {
                out.insert(relative, b"(special)".to_vec());
            }
        }
    }
    out
}

fn mkfifo(path: &Path) {
    assert!(
        std::process::Command::new("mkfifo")
            .arg(path)
            .status()
            .unwrap()
            .success()
    );
}

fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A stand-in endpoint that answers every call as STS's GetCallerIdentity, with `account`.
fn fake_sts(account: String) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            // Headers, then the body its Content-Length announces.
            loop {
                let n = stream.read(&mut buf).unwrap_or(0);
                request.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&request).to_string();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let length = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if body.len() >= length {
                        break;
                    }
                }
                if n == 0 {
                    break;
                }
            }
            let body = format!(
                "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
                 <GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/x</Arn>\
                 <UserId>AIDAEXAMPLE</UserId><Account>{account}</Account>\
                 </GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId>\
                 </ResponseMetadata></GetCallerIdentityResponse>"
            );
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    address
}

/// One hostile input: how to plant it, the command, and what must come of it.
struct Case {
    name: &'static str,
    plant: fn(&Path, &Path),
    args: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
    /// Send the calls to a stand-in answering this account id instead of the emulator.
    account: Option<fn() -> String>,
    code: i32,
    says: &'static str,
}

fn write_state_dir(ws: &Path) -> PathBuf {
    let dir = ws.join(".gwfargate");
    std::fs::create_dir_all(&dir).unwrap();
    chmod(&dir, 0o700);
    dir
}

const CASES: &[Case] = &[
    Case {
        name: "env file is a FIFO (reading it would hang)",
        plant: |ws, _| {
            std::fs::remove_file(ws.join("env1.toml")).unwrap();
            mkfifo(&ws.join("env1.toml"));
        },
        args: &["plan", "--env", "env1.toml"],
        env: &[],
        account: None,
        code: 2,
        says: "the env file is a FIFO, not a regular file",
    },
    Case {
        name: "env file is /dev/zero (reading it would never end)",
        plant: |_, _| {},
        args: &["plan", "--env", "/dev/zero"],
        env: &[],
        account: None,
        code: 2,
        says: "the env file is a device, not a regular file",
    },
    Case {
        name: "env file is a directory",
        plant: |ws, _| std::fs::create_dir(ws.join("dir.toml")).unwrap(),
        args: &["plan", "--env", "dir.toml"],
        env: &[],
        account: None,
        code: 2,
        says: "the env file is a directory",
    },
    Case {
        name: "env file of 2 MiB",
        plant: |ws, _| {
            let mut text = std::fs::read_to_string(ws.join("env1.toml")).unwrap();
            text.push_str(&format!("# {}\n", "x".repeat(2 << 20)));
            std::fs::write(ws.join("env1.toml"), text).unwrap();
        },
        args: &["plan", "--env", "env1.toml"],
        env: &[],
        account: None,
        code: 2,
        says: "the env file is larger than 1048576 bytes",
    },
    Case {
        name: "env file that is not text",
        plant: |ws, _| std::fs::write(ws.join("env1.toml"), [0xff, 0xfe, 0x00]).unwrap(),
        args: &["plan", "--env", "env1.toml"],
        env: &[],
        account: None,
        code: 2,
        says: "the env file is not UTF-8 text",
    },
    Case {
        name: "escape codes in an env file value",
        plant: |ws, _| {
            let text = std::fs::read_to_string(ws.join("env1.toml")).unwrap();
            let text = text.replacen(
                "name        = \"cluster1\"",
                "name        = \"\\u001b]0;owned\\u0007\\u001b[2J\"",
                1,
            );
            std::fs::write(ws.join("env1.toml"), text).unwrap();
        },
        args: &["plan", "--env", "env1.toml"],
        env: &[],
        account: None,
        code: 2,
        says: "\\u{1b}]0;owned\\u{7}\\u{1b}[2J",
    },
    Case {
        name: "a 10000-character value",
        plant: |ws, _| {
            let text = std::fs::read_to_string(ws.join("env1.toml")).unwrap();
            let text = text.replacen(
                "region      = \"eu-west-1\"",
                &format!("region      = \"{}\"", "r".repeat(10_000)),
                1,
            );
            std::fs::write(ws.join("env1.toml"), text).unwrap();
        },
        args: &["plan", "--env", "env1.toml"],
        env: &[],
        account: None,
        code: 2,
        says: "… (9800 more characters)",
    },
    Case {
        name: "state file is a link to another file",
        plant: |ws, outside| {
            let dir = write_state_dir(ws);
            std::os::unix::fs::symlink(outside, dir.join("env1.json")).unwrap();
        },
        args: &["plan", "--env", "env1.toml"],
        env: &[],
        account: None,
        code: 2,
        says: "env1.json is a symbolic link",
    },
    Case {
        name: "state file is a FIFO",
        plant: |ws, _| mkfifo(&write_state_dir(ws).join("env1.json")),
        args: &["plan", "--env", "env1.toml"],
        env: &[],
        account: None,
        code: 2,
        says: "env1.json is a FIFO, not a regular file",
    },
    Case {
        name: "state file of 17 MiB",
        plant: |ws, _| {
            let dir = write_state_dir(ws);
            std::fs::write(dir.join("env1.json"), vec![b' '; 17 << 20]).unwrap();
        },
        args: &["plan", "--env", "env1.toml"],
        env: &[],
        account: None,
        code: 2,
        says: "env1.json is larger than 16777216 bytes",
    },
    Case {
        name: "lock file is a link to another file",
        plant: |ws, outside| {
            let dir = write_state_dir(ws);
            std::os::unix::fs::symlink(outside, dir.join("env1.lock")).unwrap();
        },
        args: &["up", "--env", "env1.toml", "--yes"],
        env: &[],
        account: None,
        code: 2,
        says: "env1.lock is a symbolic link",
    },
    Case {
        name: "state directory others can write into",
        plant: |ws, _| {
            std::fs::create_dir(ws.join("shared")).unwrap();
            chmod(&ws.join("shared"), 0o777);
        },
        args: &["--state-dir", "shared", "up", "--env", "env1.toml", "--yes"],
        env: &[],
        account: None,
        code: 2,
        says: "can be written by other users (mode 777)",
    },
    Case {
        name: "a state directory others can write into, only read",
        plant: |ws, _| {
            std::fs::create_dir(ws.join("shared")).unwrap();
            std::fs::write(ws.join("shared/env1.json"), "{}").unwrap();
            chmod(&ws.join("shared"), 0o777);
        },
        args: &["--state-dir", "shared", "status", "--env", "env1.toml"],
        env: &[],
        account: None,
        code: 2,
        says: "can be written by other users (mode 777)",
    },
    Case {
        name: "a password in --endpoint-url",
        plant: |_, _| {},
        args: &[
            "--endpoint-url",
            "http://me:s3cret@127.0.0.1:9/",
            "plan",
            "--env",
            "env1.toml",
        ],
        env: &[],
        account: None,
        code: 2,
        says: "carries a user or password",
    },
    Case {
        name: "a password in AWS_ENDPOINT_URL",
        plant: |_, _| {},
        args: &["plan", "--env", "env1.toml"],
        env: &[("AWS_ENDPOINT_URL", "http://me:s3cret@127.0.0.1:9/")],
        account: None,
        code: 2,
        says: "AWS_ENDPOINT_URL: the endpoint URL carries a user or password",
    },
    Case {
        name: "an endpoint that is not an HTTP URL",
        plant: |_, _| {},
        args: &["plan", "--env", "env1.toml"],
        env: &[("AWS_ENDPOINT_URL", "ftp://127.0.0.1/")],
        account: None,
        code: 2,
        says: "is not an http:// or https:// URL",
    },
    Case {
        name: "an account id that climbs out of the lock directory",
        plant: |_, _| {},
        args: &["up", "--env", "env1.toml", "--yes"],
        env: &[],
        account: Some(|| "../../../tmp/owned".to_string()),
        code: 1,
        says: "which is not 12 digits",
    },
    Case {
        name: "an account id of 5000 characters",
        plant: |_, _| {},
        args: &["up", "--env", "env1.toml", "--yes"],
        env: &[],
        account: Some(|| "9".repeat(5000)),
        code: 1,
        says: "… (4800 more characters)",
    },
];

#[test]
fn hostile_files_and_settings_are_refused_and_nothing_outside_the_state_directory_changes() {
    let emulator = Emulator::start(1);
    for case in CASES {
        let ws = Workspace::new(&[]);
        let outside_dir = tempfile::tempdir().unwrap();
        let outside = outside_dir.path().join("precious");
        std::fs::write(&outside, "keep me").unwrap();
        (case.plant)(ws.path(), &outside);
        let before = snapshot(ws.path());
        let endpoint = match case.account {
            Some(account) => fake_sts(account()),
            None => emulator.endpoint.clone(),
        };
        let run = gwfargate(ws.path(), &endpoint)
            .args(case.args)
            .envs(case.env.iter().copied())
            .timeout(std::time::Duration::from_secs(60))
            .assert();
        let (_, stderr) = output(&run);
        assert_eq!(
            run.get_output().status.code(),
            Some(case.code),
            "{}: {stderr}",
            case.name
        );
        assert!(stderr.contains(case.says), "{}: {stderr}", case.name);
        assert!(
            !stderr.contains('\u{1b}') && !stderr.contains('\u{7}'),
            "{}: an escape code reached the terminal: {stderr:?}",
            case.name
        );
        assert!(
            !stderr.contains("s3cret"),
            "{}: the password was echoed: {stderr}",
            case.name
        );
        assert!(stderr.len() < 4000, "{}: {} bytes", case.name, stderr.len());
        assert_eq!(
            before,
            snapshot(ws.path()),
            "{}: something outside the state directory changed",
            case.name
        );
        assert_eq!(std::fs::read_to_string(&outside).unwrap(), "keep me");
        assert_eq!(std::fs::read_dir(outside_dir.path()).unwrap().count(), 1);
    }
}

#[test]
fn the_holder_of_a_lock_is_shown_without_its_escape_codes() {
    let emulator = Emulator::start(1);
    let ws = Workspace::new(&[]);
    let dir = write_state_dir(ws.path());
    let mut held = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(dir.join("env1.lock"))
        .unwrap();
    held.write_all(format!("\u{1b}]0;owned\u{7}{}", "y".repeat(5000)).as_bytes())
        .unwrap();
    held.try_lock().unwrap();
    let run = gwfargate(ws.path(), &emulator.endpoint)
        .args(["up", "--env", "env1.toml", "--yes"])
        .assert()
        .code(1);
    let (_, stderr) = output(&run);
    assert!(
        stderr.contains("another gwfargate is working on this stack"),
        "{stderr}"
    );
    assert!(stderr.contains("\\u{1b}]0;owned\\u{7}"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
    assert!(stderr.contains("more characters"), "{stderr}");
    assert!(emulator.writes().is_empty(), "{:?}", emulator.writes());
}
