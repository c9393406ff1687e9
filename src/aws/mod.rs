//! Everything about talking to AWS that is not one resource's business: clients, reading
//! errors, creating exactly once, waiting, and tags.

pub mod clients;
pub mod create;
pub mod errors;
pub mod host_prefix;
pub mod reachability;
pub mod tags;
pub mod wait;

pub use clients::Clients;

/// An AWS time as RFC 3339 (`2026-11-28T10:05:40.123Z`), the form `--json` prints.
pub fn rfc3339(at: Option<&aws_smithy_types::DateTime>) -> Option<String> {
    at.and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
}

/// A count or a number of seconds as AWS's APIs take it (`i32`); the env file's are checked
/// far below its largest value, which stands in for anything beyond it.
pub fn int(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}
pub use errors::{AwsResultExt, found, ignore};

/// A policy document as AWS answers it (IAM URL-encodes it; EC2 does not), parsed; `None`
/// when it is not JSON.
pub fn policy_document(text: &str) -> Option<serde_json::Value> {
    let text = percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .ok()?
        .into_owned();
    serde_json::from_str(&text).ok()
}
