//! The SDK configuration (region, profile, endpoint, retries, timeouts) and the set of clients.
//!
//! The SDK's defaults are standard retries with 3 attempts and no operation timeout; a tool that
//! waits minutes on AWS wants more attempts and must never hang on one call, so both are set here.

use std::time::Duration;

use anyhow::Context as _;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};

use super::errors::aws_error;
use super::reachability::Reachability;

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
    /// VPC link (V1), REST API, deployment, stage.
    pub apigw: aws_sdk_apigateway::Client,
    /// VPC link (V2): API Gateway's second API, which alone makes V2 links.
    pub apigwv2: aws_sdk_apigatewayv2::Client,
    /// Image repository.
    pub ecr: aws_sdk_ecr::Client,
    /// Log group.
    pub logs: aws_sdk_cloudwatchlogs::Client,
    /// Execution role.
    pub iam: aws_sdk_iam::Client,
    /// Caller identity (account id).
    pub sts: aws_sdk_sts::Client,
    /// The stage's web ACL association.
    pub waf: aws_sdk_wafv2::Client,
    /// The service's scalable target, scaling policies and scheduled actions.
    pub autoscaling: aws_sdk_applicationautoscaling::Client,
    /// The secrets the container names (only whether they exist).
    pub secrets: aws_sdk_secretsmanager::Client,
    /// The parameters the container names (only whether they exist).
    pub ssm: aws_sdk_ssm::Client,
}

/// Regions an account must enable before use ("Enable or disable AWS Regions in your
/// account", AWS Account Management reference guide).
pub const OPT_IN_REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-south-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-west-1",
    "eu-central-2",
    "eu-south-1",
    "eu-south-2",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
];

/// A service client from the shared configuration, carrying [`Reachability`] and
/// [`super::host_prefix::NoPrefixOnAddresses`], with `retry`
/// instead of the shared retry policy when given.
macro_rules! client {
    ($sdk:ident, $config:expr, $retry:expr) => {{
        let mut builder = $sdk::config::Builder::from($config)
            .interceptor(Reachability)
            .interceptor(super::host_prefix::NoPrefixOnAddresses);
        if let Some(retry) = $retry {
            builder = builder.retry_config(retry);
        }
        $sdk::Client::from_conf(builder.build())
    }};
}

impl Clients {
    /// Makes every client from one configuration.
    pub fn new(config: &SdkConfig) -> Clients {
        Clients::with_retry(config, None)
    }

    /// Clients that send each call once. A create that is not idempotent must not be retried
    /// blindly: if its answer was lost, the retry makes a second resource. Those creates go
    /// through [`super::create::create_once`], which looks before it retries.
    pub fn single_attempt(config: &SdkConfig) -> Clients {
        Clients::with_retry(config, Some(RetryConfig::disabled()))
    }

    fn with_retry(config: &SdkConfig, retry: Option<RetryConfig>) -> Clients {
        Clients {
            ec2: client!(aws_sdk_ec2, config, retry.clone()),
            elb: client!(aws_sdk_elasticloadbalancingv2, config, retry.clone()),
            ecs: client!(aws_sdk_ecs, config, retry.clone()),
            apigw: client!(aws_sdk_apigateway, config, retry.clone()),
            apigwv2: client!(aws_sdk_apigatewayv2, config, retry.clone()),
            ecr: client!(aws_sdk_ecr, config, retry.clone()),
            logs: client!(aws_sdk_cloudwatchlogs, config, retry.clone()),
            iam: client!(aws_sdk_iam, config, retry.clone()),
            sts: client!(aws_sdk_sts, config, retry.clone()),
            waf: client!(aws_sdk_wafv2, config, retry.clone()),
            autoscaling: client!(aws_sdk_applicationautoscaling, config, retry.clone()),
            secrets: client!(aws_sdk_secretsmanager, config, retry.clone()),
            ssm: client!(aws_sdk_ssm, config, retry),
        }
    }

    /// The account the credentials belong to.
    pub async fn account_id(&self, region: &str) -> anyhow::Result<String> {
        let asked = self.sts.get_caller_identity().send().await;
        let identity = match asked.map_err(aws_error) {
            Ok(identity) => identity,
            // A region that must be enabled per account rejects every token until it is.
            Err(err)
                if OPT_IN_REGIONS.contains(&region)
                    && matches!(
                        err.code.as_deref(),
                        Some("InvalidClientTokenId" | "UnrecognizedClientException")
                    ) =>
            {
                return Err(crate::error::UsageError(format!(
                    "region {region} rejects these credentials ({err}). {region} is a region \
                     each AWS account must enable first: enable it (AWS console, Account, AWS \
                     Regions; or `aws account enable-region --region-name {region}`), wait until \
                     it is enabled, then run the command again. Nothing was changed"
                ))
                .into());
            }
            Err(err) => {
                return Err(anyhow::Error::new(err).context(
                    "cannot tell which AWS account to use (sts:GetCallerIdentity failed); \
                     check your credentials, --profile and --endpoint-url",
                ));
            }
        };
        let account = identity
            .account()
            .context("sts:GetCallerIdentity returned no account id")?;
        // It names lock files: nothing but an account id may.
        if !is_account_id(account) {
            anyhow::bail!(
                "sts:GetCallerIdentity answered account id {}, which is not 12 digits: is \
                 the endpoint an AWS endpoint? Nothing was changed",
                crate::printable::Quoted(account)
            );
        }
        Ok(account.to_string())
    }
}

/// Whether `text` is an AWS account id: 12 digits.
pub fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
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
        // The AWS CLI asks for the MFA code of a role that needs one; the SDK for Rust cannot
        // ask, and would fail later with a message that hides why.
        let mut name = profile.to_string();
        for _ in 0..10 {
            let Some(current) = set.get_profile(&name) else {
                break;
            };
            if let (Some(role), Some(mfa)) = (current.get("role_arn"), current.get("mfa_serial")) {
                return Err(crate::error::UsageError(format!(
                    "--profile {profile}: profile {name} assumes role {role} with MFA \
                     (mfa_serial {mfa}), and gwfargate cannot ask for the code; nothing was sent \
                     to AWS. Get temporary credentials first, for example `eval \"$(aws \
                     configure export-credentials --profile {profile} --format env)\"` (it asks \
                     for the code), then run without --profile, or use an SSO profile"
                ))
                .into());
            }
            match current.get("source_profile") {
                Some(source) if source != name => name = source.to_string(),
                _ => break,
            }
        }
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
