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
    /// through [`super::create::create_once`], which looks before it retries.
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
