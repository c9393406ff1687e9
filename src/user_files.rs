//! Files a user names, or that someone else may have put in the way: read only when they are
//! regular files of a sane size, and (for the lock and state files gwfargate writes) opened
//! without following a symbolic link, so a link planted in the state directory cannot turn a
//! write onto another file. A FIFO or a device is refused before a byte is read: reading one
//! would hang, or never end, while the stack's lock is held.

use std::fs::{File, Metadata, OpenOptions};
use std::io::Read as _;
use std::path::Path;

/// The largest env file: they are a few hundred bytes.
pub const ENV_FILE_LIMIT: u64 = 1 << 20;
/// The largest state file: they are a few KiB.
pub const STATE_FILE_LIMIT: u64 = 16 << 20;
/// The most of a lock file read to say who holds it.
pub const LOCK_HOLDER_LIMIT: u64 = 4 << 10;

/// Whether the file named may be a symbolic link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links {
    /// Followed, as for an env file a user keeps elsewhere.
    Follow,
    /// Refused, as for the files gwfargate itself writes.
    Refuse,
}

/// Why a file was not read.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// A symbolic link where gwfargate does not follow one.
    #[error(
        "is a symbolic link; gwfargate does not follow links to the files it writes (one \
         planted there could turn a write onto another file): remove the link"
    )]
    Symlink,
    /// A directory, FIFO, device or socket.
    #[error("is {0}, not a regular file")]
    NotRegular(&'static str),
    /// Larger than such a file can be.
    #[error("is larger than {limit} bytes, far more than such a file holds")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// Not text.
    #[error("is not UTF-8 text")]
    NotText,
    /// The OS refused.
    #[error("cannot be read: {0}")]
    Io(#[source] std::io::Error),
}

/// Opens `path` with `options`, never blocking on a FIFO, and with [`Links::Refuse`] never
/// through a symbolic link; `Ok(None)` when there is nothing at `path`.
pub fn open(path: &Path, options: &mut OpenOptions, links: Links) -> Result<Option<File>, Refusal> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        let nofollow = if links == Links::Refuse {
            libc::O_NOFOLLOW
        } else {
            0
        };
        options.custom_flags(libc::O_NONBLOCK | nofollow);
    }
    match options.open(path) {
        Ok(file) => Ok(Some(file)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        #[cfg(unix)]
        Err(err) if links == Links::Refuse && err.raw_os_error() == Some(libc::ELOOP) => {
            Err(Refusal::Symlink)
        }
        Err(err) => Err(Refusal::Io(err)),
    }
}

/// Fails unless `file` is a regular file.
pub fn regular(file: &File) -> Result<Metadata, Refusal> {
    let meta = file.metadata().map_err(Refusal::Io)?;
    if meta.is_file() {
        Ok(meta)
    } else {
        Err(Refusal::NotRegular(kind(&meta)))
    }
}

/// The text of the regular file at `path`, at most `limit` bytes; `Ok(None)` when there is
/// nothing there.
pub fn read(path: &Path, limit: u64, links: Links) -> Result<Option<String>, Refusal> {
    let Some(file) = open(path, OpenOptions::new().read(true), links)? else {
        return Ok(None);
    };
    let meta = regular(&file)?;
    if meta.len() > limit {
        return Err(Refusal::TooLarge { limit });
    }
    // The size may change between the look and the read: read one byte more than allowed.
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(Refusal::Io)?;
    if bytes.len() as u64 > limit {
        return Err(Refusal::TooLarge { limit });
    }
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| Refusal::NotText)
}

fn kind(meta: &Metadata) -> &'static str {
    let kind = meta.file_type();
    if kind.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if kind.is_fifo() {
            return "a FIFO";
        }
        if kind.is_char_device() || kind.is_block_device() {
            return "a device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    "not a regular file"
}

/// Fails when users other than the owner can write into `dir`: they could put a state file,
/// or a link in place of one, there.
pub fn check_private_dir(dir: &Path) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let meta = std::fs::metadata(dir)
            .map_err(|err| format!("cannot read directory {}: {err}", dir.display()))?;
        let mode = meta.permissions().mode() & 0o777;
        let me = rustix::process::geteuid().as_raw();
        if std::os::unix::fs::MetadataExt::uid(&meta) != me {
            return Err(format!(
                "directory {} belongs to another user (uid {}): they could put a state file, or \
                 a link in place of one, there. Use a directory of your own (another \
                 --state-dir)",
                dir.display(),
                std::os::unix::fs::MetadataExt::uid(&meta)
            ));
        }
        if mode & 0o022 != 0 {
            return Err(format!(
                "directory {} can be written by other users (mode {mode:o}): they could put a \
                 state file, or a link in place of one, there. Use a directory only you can \
                 write to (`chmod go-w {}`, or another --state-dir)",
                dir.display(),
                dir.display()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_of_a_sane_size_are_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let small = dir.path().join("small");
        std::fs::write(&small, "name = 1\n").expect("write");
        assert_eq!(
            read(&small, 100, Links::Refuse).expect("read").as_deref(),
            Some("name = 1\n")
        );
        assert!(matches!(
            read(&small, 4, Links::Follow),
            Err(Refusal::TooLarge { limit: 4 })
        ));
        assert!(
            read(&dir.path().join("none"), 4, Links::Refuse)
                .expect("absent")
                .is_none()
        );
        assert!(matches!(
            read(dir.path(), 4, Links::Follow),
            Err(Refusal::NotRegular("a directory"))
        ));
        assert!(matches!(
            read(Path::new("/dev/zero"), 4, Links::Follow),
            Err(Refusal::NotRegular("a device"))
        ));
        std::fs::write(dir.path().join("binary"), [0xff, 0xfe]).expect("write");
        assert!(matches!(
            read(&dir.path().join("binary"), 4, Links::Follow),
            Err(Refusal::NotText)
        ));
    }

    #[cfg(unix)]
    #[test]
    fn a_link_is_followed_only_when_asked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("target");
        std::fs::write(&target, "x").expect("write");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        assert!(matches!(
            read(&link, 10, Links::Refuse),
            Err(Refusal::Symlink)
        ));
        assert_eq!(
            read(&link, 10, Links::Follow).expect("read").as_deref(),
            Some("x")
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_refused_without_waiting_for_a_writer() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo");
        assert!(made.success());
        assert!(matches!(
            read(&fifo, 10, Links::Follow),
            Err(Refusal::NotRegular("a FIFO"))
        ));
    }

    #[cfg(unix)]
    #[test]
    fn a_directory_others_can_write_into_is_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))
            .expect("chmod");
        assert!(check_private_dir(dir.path()).is_ok());
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777))
            .expect("chmod");
        let err = check_private_dir(dir.path()).expect_err("refused");
        assert!(err.contains("mode 777"), "{err}");
    }
}
