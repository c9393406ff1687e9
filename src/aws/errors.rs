//! Reading SDK errors: the code callers branch on, whether the call may have taken effect, and a
//! message people can read (an `SdkError` alone displays only "service error").

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Whether an error's cause is that no credentials could be had (expired SSO session, a
/// role that cannot be assumed, none configured).
fn for_want_of_credentials(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(err);
    while let Some(current) = cause {
        if current
            .downcast_ref::<aws_credential_types::provider::error::CredentialsError>()
            .is_some()
        {
            return true;
        }
        cause = current.source();
    }
    false
}

/// How a failed call may have ended on AWS's side, which decides whether to retry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// AWS refused the call without acting (throttling): safe to send again.
    Throttled,
    /// The answer is unknown (timeout, dropped connection, 5xx): it may have taken effect.
    Unknown,
    /// AWS answered with an error: it did not take effect.
    Refused,
}

/// Error codes AWS uses for throttling, across the services we call.
pub const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "RequestThrottled",
    "RequestThrottledException",
    "SlowDown",
    "PriorRequestNotComplete",
];

/// An AWS error reduced to what callers branch on and what users need to read.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct AwsError {
    /// The service's error code (`DependencyViolation`, `NotFoundException`, ...), if any.
    pub code: Option<String>,
    /// The error code, the service's message, and the cause chain, for people.
    pub message: String,
    /// Whether the call may have taken effect.
    pub outcome: Outcome,
}

/// Turns any SDK error into an [`AwsError`], keeping its code and whole cause chain.
pub fn aws_error<E>(err: E) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let code = err.code().map(str::to_string);
    let message = match (err.code(), err.message()) {
        (Some(code), Some(msg)) => format!("{code}: {msg}"),
        (Some(code), None) => code.to_string(),
        _ => error_chain(&err),
    };
    let outcome = if code.as_deref().is_some_and(|c| THROTTLING.contains(&c)) {
        Outcome::Throttled
    } else {
        Outcome::Refused
    };
    AwsError {
        code,
        message,
        outcome,
    }
}

/// An error and its sources, each shown once, for people: the SDK's own `Display` of a
/// transport error says only "dispatch failure", and its `Debug` is a wall of internals.
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let line = cause.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        source = cause.source();
    }
    text
}

/// Like [`aws_error`], and tells from the transport whether the call may have taken effect.
pub fn sdk_error<E>(err: SdkError<E, HttpResponse>) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let server_error = err
        .raw_response()
        .is_some_and(|r| r.status().as_u16() >= 500);
    // A request that never left because its credentials could not be had did nothing and
    // will fail the same way again; any other failure to send or to hear back (a timeout, a
    // connection dropped mid-answer) leaves it unknown.
    let unknown = match &err {
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => true,
        SdkError::DispatchFailure(failure) => !failure.is_user() && !for_want_of_credentials(&err),
        _ => false,
    };
    let mut out = aws_error(err);
    if out.outcome != Outcome::Throttled && (unknown || server_error) {
        out.outcome = Outcome::Unknown;
    }
    out
}

/// How the AWS call in an error chain ended, if the chain carries one.
pub fn outcome(err: &anyhow::Error) -> Option<Outcome> {
    err.chain()
        .find_map(|cause| cause.downcast_ref::<AwsError>())
        .map(|aws| aws.outcome)
}

/// The AWS error code in an error chain, if the chain carries an [`AwsError`].
pub fn error_code(err: &anyhow::Error) -> Option<&str> {
    err.chain()
        .find_map(|cause| cause.downcast_ref::<AwsError>())
        .and_then(|aws| aws.code.as_deref())
}

/// Whether an error chain carries one of these AWS error codes.
pub fn has_code(err: &anyhow::Error, codes: &[&str]) -> bool {
    error_code(err).is_some_and(|code| codes.contains(&code))
}

/// Error codes that mean "no such resource", across the services we use.
pub const NOT_FOUND: &[&str] = &[
    "NotFoundException",
    "NoSuchEntity",
    "ResourceNotFoundException",
    "RepositoryNotFoundException",
    "LoadBalancerNotFound",
    "TargetGroupNotFound",
    "ListenerNotFound",
    "ClusterNotFoundException",
    "ServiceNotFoundException",
    "InvalidVpcID.NotFound",
    "InvalidSubnetID.NotFound",
    "InvalidGroup.NotFound",
    "InvalidRouteTableID.NotFound",
    "InvalidVpcEndpointId.NotFound",
    "InvalidAssociationID.NotFound",
    "InvalidInternetGatewayID.NotFound",
    "InvalidAllocationID.NotFound",
    "NatGatewayNotFound",
];

/// Whether an error means the resource does not exist.
pub fn is_not_found(err: &anyhow::Error) -> bool {
    has_code(err, NOT_FOUND)
}

/// Adds `.aws()` to SDK results: converts the error and attaches what we were doing.
pub trait AwsResultExt<T> {
    /// Converts the SDK error into an [`AwsError`] with `doing` as context.
    fn aws(self, doing: impl FnOnce() -> String) -> anyhow::Result<T>;
}

impl<T, E> AwsResultExt<T> for Result<T, SdkError<E, HttpResponse>>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    fn aws(self, doing: impl FnOnce() -> String) -> anyhow::Result<T> {
        self.map_err(|err| anyhow::Error::new(sdk_error(err)).context(doing()))
    }
}

/// Maps "not found" to `None`, so lookups read as `Option`.
pub fn found<T>(result: anyhow::Result<T>) -> anyhow::Result<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(err) if is_not_found(&err) => Ok(None),
        Err(err) => Err(err),
    }
}

/// A call's result, with an error of one of `codes` (a repeat of what is already so, such as
/// a retry meeting what its lost first attempt did) counted as success.
pub fn ignore<T>(result: anyhow::Result<T>, codes: &[&str]) -> anyhow::Result<()> {
    match result {
        Err(err) if has_code(&err, codes) => Ok(()),
        other => other.map(|_| ()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_credential_types::provider::error::CredentialsError;
    use aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityError;
    use aws_smithy_runtime_api::client::result::ConnectorError;

    fn dispatch(source: ConnectorError) -> SdkError<GetCallerIdentityError, HttpResponse> {
        SdkError::dispatch_failure(source)
    }

    #[test]
    fn a_dropped_connection_leaves_the_call_unknown() {
        let dropped =
            ConnectorError::other("connection closed before message completed".into(), None);
        assert_eq!(sdk_error(dispatch(dropped)).outcome, Outcome::Unknown);
        let timed_out = ConnectorError::timeout("read timed out".into());
        assert_eq!(sdk_error(dispatch(timed_out)).outcome, Outcome::Unknown);
    }

    #[test]
    fn missing_credentials_are_a_refusal_not_a_lost_answer() {
        let no_credentials = ConnectorError::other(
            Box::new(CredentialsError::not_loaded("the SSO session has expired")),
            None,
        );
        let err = sdk_error(dispatch(no_credentials));
        assert_eq!(err.outcome, Outcome::Refused);
        assert!(
            err.message.contains("the SSO session has expired"),
            "{}",
            err.message
        );
    }
}
