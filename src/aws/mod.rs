//! Everything about talking to AWS that is not one resource's business: clients, reading
//! errors, creating exactly once, waiting, and tags.

pub mod clients;
pub mod create;
pub mod errors;
pub mod reachability;
pub mod tags;
pub mod wait;

pub use clients::Clients;
pub use errors::{AwsResultExt, found, ignore};
