//! Values a command sets on a built stack outside the env file (`deploy`'s image, `scale`'s
//! count), and kubectl's last-applied rule for them: a later `up` keeps such a value while the
//! env file's own value is what the last `up` read, and the env file wins once it changes. An
//! infrastructure run then never undoes what CI deployed or an operator scaled, and an edit of
//! the env file still takes effect.

use std::fmt::Display;

use serde::{Deserialize, Serialize};

/// A value a command set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetBy<T> {
    /// The value.
    pub value: T,
    /// The command that set it (`deploy`, `scale`).
    pub by: String,
    /// When (RFC 3339).
    pub at: String,
}

impl<T> SetBy<T> {
    /// `value`, set now by `command`.
    pub fn now(value: T, command: &str) -> SetBy<T> {
        SetBy {
            value,
            by: command.to_string(),
            at: super::now_rfc3339(),
        }
    }
}

/// Which value a run of `up` or `plan` uses, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice<T> {
    /// The env file's: no command set another since.
    EnvFile,
    /// The one a command set: the env file's is as the last `up` read it.
    Kept(SetBy<T>),
    /// The env file's, replacing the one a command set: the file's changed since.
    EnvFileOver {
        /// What the command set.
        set: SetBy<T>,
        /// The file's value at the last `up`, if recorded.
        was: Option<T>,
    },
}

/// The choice between what a command `set`, and `file`, the env file's value now, given
/// `read`, the env file's value at the last `up`.
pub fn choose<T: PartialEq + Clone>(
    set: Option<&SetBy<T>>,
    read: Option<&T>,
    file: &T,
) -> Choice<T> {
    match (set, read) {
        (None, _) => Choice::EnvFile,
        (Some(set), Some(read)) if read == file => Choice::Kept(set.clone()),
        (Some(set), read) => Choice::EnvFileOver {
            set: set.clone(),
            was: read.cloned(),
        },
    }
}

impl<T: Display> Choice<T> {
    /// Why this value, for the user (`what`: "image", "scale"); `None` with nothing to say.
    pub fn note(&self, what: &str, file: &T) -> Option<String> {
        match self {
            Choice::EnvFile => None,
            Choice::Kept(set) => Some(format!(
                "{what}: keeping {} (set by `{}` at {}): the env file's {file} is unchanged since \
                 the last `up`. Change it in the env file, or `{}` again, to replace it",
                set.value,
                set.by,
                set.at,
                // What a rollback set is replaced by a deploy, not by another rollback.
                if set.by == "rollback" {
                    "deploy"
                } else {
                    &set.by
                }
            )),
            Choice::EnvFileOver { set, was } => Some(format!(
                "{what}: the env file's {file} replaces {} (set by `{}` at {}): the env file's \
                 {what} changed since the last `up`{}",
                set.value,
                set.by,
                set.at,
                was.as_ref()
                    .map_or_else(String::new, |was| format!(" (it was {was})"))
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_value_is_kept_until_the_env_files_own_changes() {
        let set = SetBy {
            value: "repo:2".to_string(),
            by: "deploy".to_string(),
            at: "2026-11-28T07:00:00Z".to_string(),
        };
        let file = "repo:1".to_string();
        assert_eq!(choose(None, Some(&file), &file), Choice::EnvFile);
        let kept = choose(Some(&set), Some(&file), &file);
        assert_eq!(kept, Choice::Kept(set.clone()));
        let why = kept.note("image", &file).expect("said");
        assert!(why.contains("keeping repo:2 (set by `deploy`"), "{why}");
        let now = "repo:3".to_string();
        let replaced = choose(Some(&set), Some(&file), &now);
        assert_eq!(
            replaced,
            Choice::EnvFileOver {
                set: set.clone(),
                was: Some(file.clone())
            }
        );
        let why = replaced.note("image", &now).expect("said");
        assert!(
            why.contains("repo:3 replaces repo:2") && why.contains("(it was repo:1)"),
            "{why}"
        );
        // Nothing recorded of the env file: the file wins.
        assert!(matches!(
            choose(Some(&set), None, &file),
            Choice::EnvFileOver { was: None, .. }
        ));
    }
}
