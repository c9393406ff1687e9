//! One `up` or `down` at a time per stack.
//!
//! Two runs on one stack would race each other's creates and deletes. The lock is an OS file
//! lock, so it dies with its process (even on kill -9); the file also says who holds it, for
//! the message the second run prints. Two locks are taken: one beside the state file, and one
//! per user named after the account, region and deployment, so a run from another directory
//! (another state file, the same AWS resources) is refused too.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::Context as _;

use crate::config::Deployment;
use crate::error::UsageError;
use crate::state::StateFile;
use crate::user_files::{self, Links, Refusal};

/// Held while a command changes a stack; released when dropped or when the process ends.
#[derive(Debug)]
pub struct StackLock {
    _files: Vec<File>,
}

/// Another gwfargate holds the stack's lock.
#[derive(Debug, thiserror::Error)]
#[error(
    "another gwfargate is working on this stack ({holder}); wait for it to finish, or stop it \
     (the lock goes with its process). Lock file: {path}"
)]
pub struct Busy {
    /// Who holds it: pid, host, start time, command.
    pub holder: String,
    /// The lock file.
    pub path: String,
}

/// Takes the lock of the stack whose state is `state`, or fails at once with [`Busy`]. Taken
/// before the state is read, so what is read is what no other run is changing.
pub fn acquire(state: &StateFile, command: &str) -> anyhow::Result<StackLock> {
    let path = state.path.with_extension("lock");
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::state::create_private_dir(dir)?;
    }
    Ok(StackLock {
        _files: vec![take(&path, command)?],
    })
}

/// Takes this user's lock of the deployment in `account` and its region, or fails at once
/// with [`Busy`]: a run from another directory or `--state-dir` has another state file but
/// the same AWS resources. Without a place for it (no writable `$XDG_RUNTIME_DIR` or home),
/// it warns through `say` and goes on with the state file's lock alone.
pub fn acquire_deployment(
    account: &str,
    deployment: &Deployment,
    command: &str,
    say: impl Fn(&str),
) -> anyhow::Result<Option<StackLock>> {
    let Some(dir) = user_lock_dir() else {
        say(
            "warning: no $XDG_RUNTIME_DIR or $HOME: runs from other directories are not locked out",
        );
        return Ok(None);
    };
    if let Err(err) = crate::state::create_private_dir(&dir) {
        say(&format!(
            "warning: runs from other directories are not locked out: {err:#}"
        ));
        return Ok(None);
    }
    let path = dir.join(format!(
        "{account}-{}-{}.lock",
        deployment.region, deployment.name
    ));
    Ok(Some(StackLock {
        _files: vec![take(&path, command)?],
    }))
}

/// Where the per-user deployment locks live: `$XDG_RUNTIME_DIR/gwfargate`, else
/// `~/.cache/gwfargate/locks`.
fn user_lock_dir() -> Option<PathBuf> {
    let runtime = std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|d| !d.is_empty())
        .map(|d| PathBuf::from(d).join("gwfargate"));
    runtime.or_else(|| {
        std::env::var_os("HOME")
            .filter(|d| !d.is_empty())
            .map(|home| PathBuf::from(home).join(".cache/gwfargate/locks"))
    })
}

fn take(path: &Path, command: &str) -> anyhow::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let refused = |why: Refusal| -> anyhow::Error {
        match why {
            Refusal::Io(err) => {
                anyhow::Error::new(err).context(format!("cannot open lock file {}", path.display()))
            }
            why => UsageError(format!("lock file {} {why}", path.display())).into(),
        }
    };
    let mut file = user_files::open(path, &mut options, Links::Refuse)
        .map_err(refused)?
        .ok_or_else(|| anyhow::anyhow!("lock file {} vanished as it was made", path.display()))?;
    user_files::regular(&file).map_err(refused)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut bytes = Vec::new();
            let _ = (&mut file)
                .take(user_files::LOCK_HOLDER_LIMIT)
                .read_to_end(&mut bytes);
            let holder = crate::printable::quoted(String::from_utf8_lossy(&bytes).trim());
            return Err(Busy {
                holder: if holder.is_empty() {
                    "holder unknown".to_string()
                } else {
                    holder.to_string()
                },
                path: path.display().to_string(),
            }
            .into());
        }
        Err(TryLockError::Error(err)) => {
            return Err(err).with_context(|| format!("cannot lock {}", path.display()));
        }
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown host".to_string());
    let holder = format!(
        "`{command}`, pid {} on {host}, started {}",
        std::process::id(),
        humantime::format_rfc3339_seconds(SystemTime::now())
    );
    file.set_len(0)
        .and_then(|()| file.seek(SeekFrom::Start(0)).map(|_| ()))
        .and_then(|()| file.write_all(holder.as_bytes()))
        .and_then(|()| file.flush())
        .with_context(|| format!("cannot write lock file {}", path.display()))?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_first_ones_identity() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("env1.lock");
        let first = take(&path, "up").expect("first");
        let err = take(&path, "down").expect_err("busy");
        let text = err.to_string();
        assert!(
            text.contains(&format!("pid {}", std::process::id())),
            "{text}"
        );
        assert!(text.contains("`up`"), "{text}");
        drop(first);
        take(&path, "down").expect("free again once dropped");
    }
}
