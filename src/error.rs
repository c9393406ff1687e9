//! Errors that decide what the user must do next, and so the process exit code.
//!
//! Most failures travel as `anyhow::Error` with context added on the way up. The few that change
//! what the user must do next are typed here; the application layer finds them in the chain
//! and picks the documented exit code.

use std::fmt;

/// Exit code for an AWS or runtime failure.
pub const EXIT_FAILURE: i32 = 1;
/// Exit code for a bad command line or env file; nothing was changed.
pub const EXIT_USAGE: i32 = 2;
/// Exit code for `up` stopping because the service image is not in its repository yet.
pub const EXIT_IMAGE_NOT_PUSHED: i32 = 3;
/// Exit code for `plan --detailed-exitcode` when the plan holds changes.
pub const EXIT_CHANGES_PENDING: i32 = 4;

/// A problem with what the user gave us (flags, env file, state directory choice, a change
/// the stack cannot take), found before anything was changed.
#[derive(Debug)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// `up` built everything that does not need the image and stopped: the image tag is not in
/// the ECR repository. Carries the commands that fix it.
#[derive(Debug)]
pub struct ImageNotPushed {
    /// The full image reference the service runs.
    pub image: String,
    /// The registry host, for `docker login`.
    pub registry: String,
    /// The region of the registry.
    pub region: String,
    /// The `up` command to run after the push, with this run's options.
    pub up_command: String,
    /// The AWS profile this run used (`--profile`), for the `aws ecr` command.
    pub profile: Option<String>,
}

impl fmt::Display for ImageNotPushed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "image {image} is not in its ECR repository yet.\n\
             Everything that does not need it is built. Push the image, then run `up` again:\n\n  \
             aws ecr get-login-password --region {region}{profile} | docker login --username AWS --password-stdin {registry}\n  \
             docker tag <your-local-image> {image}\n  \
             docker push {image}\n  \
             {up}",
            image = self.image,
            region = self.region,
            registry = self.registry,
            up = self.up_command,
            profile = self
                .profile
                .as_deref()
                .map(|p| format!(" --profile {}", crate::shell::word(p)))
                .unwrap_or_default(),
        )
    }
}

impl std::error::Error for ImageNotPushed {}
