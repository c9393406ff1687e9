//! Everything about talking to AWS that is not one resource's business: the SDK configuration
//! (region, profile, endpoint, retries, timeouts), the set of clients, and reading SDK errors.
//!
//! The SDK's defaults are standard retries with 3 attempts and no operation timeout; a tool that
//! waits minutes on AWS wants more attempts and must never hang on one call, so both are set here.

use std::time::Duration;

use anyhow::Context as _;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// How to reach AWS, from the command line.
#[derive(Debug, Clone, Default)]
pub struct Connection {
    /// Region to use (the env file's, or `--region`).
    pub region: String,
    /// Named profile from the shared config files (`--profile`).
    pub profile: Option<String>,
    /// Endpoint override (`--endpoint-url`); `AWS_ENDPOINT_URL` is read by the SDK itself.
    pub endpoint_url: Option<String>,
}

/// Builds the SDK configuration the way the AWS CLI resolves it, plus our retry and timeouts.
pub async fn sdk_config(conn: &Connection) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(conn.region.clone()))
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(8)
                .with_initial_backoff(Duration::from_millis(200))
                .with_max_backoff(Duration::from_secs(10)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(10))
                .operation_attempt_timeout(Duration::from_secs(30))
                .operation_timeout(Duration::from_secs(120))
                .build(),
        );
    if let Some(profile) = &conn.profile {
        // As in the AWS CLI, a profile named on the command line beats credentials in the
        // environment: `--profile prod` must never run with whatever keys happen to be exported.
        // It needs the region itself: a profile that assumes a role calls STS with it.
        let provider_config = aws_config::provider_config::ProviderConfig::default()
            .with_region(Some(Region::new(conn.region.clone())));
        loader = loader.profile_name(profile).credentials_provider(
            aws_config::profile::ProfileFileCredentialsProvider::builder()
                .configure(&provider_config)
                .profile_name(profile)
                .build(),
        );
    }
    if let Some(url) = &conn.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}

/// One client per AWS service the stack uses.
#[derive(Debug, Clone)]
pub struct Clients {
    /// VPC, subnets, route table, security group, endpoints.
    pub ec2: aws_sdk_ec2::Client,
    /// Load balancer, target group, listener.
    pub elb: aws_sdk_elasticloadbalancingv2::Client,
    /// Cluster, task definition, service.
    pub ecs: aws_sdk_ecs::Client,
    /// VPC link, REST API, deployment, stage.
    pub apigw: aws_sdk_apigateway::Client,
    /// Image repository.
    pub ecr: aws_sdk_ecr::Client,
    /// Log group.
    pub logs: aws_sdk_cloudwatchlogs::Client,
    /// Execution role.
    pub iam: aws_sdk_iam::Client,
    /// Caller identity (account id).
    pub sts: aws_sdk_sts::Client,
}

impl Clients {
    /// Makes every client from one configuration.
    pub fn new(config: &SdkConfig) -> Clients {
        Clients {
            ec2: aws_sdk_ec2::Client::new(config),
            elb: aws_sdk_elasticloadbalancingv2::Client::new(config),
            ecs: aws_sdk_ecs::Client::new(config),
            apigw: aws_sdk_apigateway::Client::new(config),
            ecr: aws_sdk_ecr::Client::new(config),
            logs: aws_sdk_cloudwatchlogs::Client::new(config),
            iam: aws_sdk_iam::Client::new(config),
            sts: aws_sdk_sts::Client::new(config),
        }
    }

    /// Clients that send each call once. A create that is not idempotent must not be retried
    /// blindly: if its answer was lost, the retry makes a second resource. Those creates go
    /// through [`crate::create::create_once`], which looks before it retries.
    pub fn single_attempt(config: &SdkConfig) -> Clients {
        let once = RetryConfig::disabled();
        Clients {
            ec2: aws_sdk_ec2::Client::from_conf(
                aws_sdk_ec2::config::Builder::from(config)
                    .retry_config(once.clone())
                    .build(),
            ),
            elb: aws_sdk_elasticloadbalancingv2::Client::from_conf(
                aws_sdk_elasticloadbalancingv2::config::Builder::from(config)
                    .retry_config(once.clone())
                    .build(),
            ),
            ecs: aws_sdk_ecs::Client::from_conf(
                aws_sdk_ecs::config::Builder::from(config)
                    .retry_config(once.clone())
                    .build(),
            ),
            apigw: aws_sdk_apigateway::Client::from_conf(
                aws_sdk_apigateway::config::Builder::from(config)
                    .retry_config(once.clone())
                    .build(),
            ),
            ecr: aws_sdk_ecr::Client::from_conf(
                aws_sdk_ecr::config::Builder::from(config)
                    .retry_config(once.clone())
                    .build(),
            ),
            logs: aws_sdk_cloudwatchlogs::Client::from_conf(
                aws_sdk_cloudwatchlogs::config::Builder::from(config)
                    .retry_config(once.clone())
                    .build(),
            ),
            iam: aws_sdk_iam::Client::from_conf(
                aws_sdk_iam::config::Builder::from(config)
                    .retry_config(once.clone())
                    .build(),
            ),
            sts: aws_sdk_sts::Client::from_conf(
                aws_sdk_sts::config::Builder::from(config)
                    .retry_config(once)
                    .build(),
            ),
        }
    }

    /// The account the credentials belong to.
    pub async fn account_id(&self) -> anyhow::Result<String> {
        let identity = self
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(aws_error)
            .context(
                "cannot tell which AWS account to use (sts:GetCallerIdentity failed); \
                 check your credentials, --profile and --endpoint-url",
            )?;
        identity
            .account()
            .map(str::to_string)
            .context("sts:GetCallerIdentity returned no account id")
    }
}

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

/// Fails with a usage error (exit 2, nothing sent to AWS) when `--profile` names a profile
/// that is in neither the shared config file nor the credentials file.
pub async fn check_profile(profile: &str) -> anyhow::Result<()> {
    let set = aws_config::profile::load(
        &aws_types::os_shim_internal::Fs::real(),
        &aws_types::os_shim_internal::Env::real(),
        &Default::default(),
        None,
    )
    .await
    .map_err(|err| crate::error::UsageError(format!("cannot read the AWS config files: {err}")))?;
    if set.get_profile(profile).is_some() {
        return Ok(());
    }
    let mut known: Vec<&str> = set.profiles().collect();
    known.sort_unstable();
    Err(crate::error::UsageError(format!(
        "--profile {profile}: no such profile in the AWS config or credentials file ({}); \
         nothing was sent to AWS",
        if known.is_empty() {
            "they define no profiles".to_string()
        } else {
            format!("profiles there: {}", known.join(", "))
        }
    ))
    .into())
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
