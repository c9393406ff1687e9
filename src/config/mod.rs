//! The env file: what one deployment of the stack looks like.
//!
//! Parsing is two layers, as in ripgrep: `toml` + serde turn the text into raw values that keep
//! their positions (`Spanned`), then `validate` checks every rule AWS would enforce later and
//! builds a [`Deployment`]. Everything here happens before any AWS call, and every error names
//! the file, the key, its line and column, and what is wrong.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::config::names::{TAG_ENVIRONMENT, TAG_NAME};
use crate::printable::Quoted;
use crate::user_files::{self, Links};

pub mod image;
pub mod interpolate;
pub mod names;

pub use image::ImageRef;

/// CloudWatch Logs accepts only these retention periods (days).
const RETENTION_DAYS: &[i64] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

/// The longest deployment or service name: both end up inside names AWS limits (IAM role 64,
/// ECS service 255, and the 32 of load balancers and target groups, which are shortened).
const MAX_NAME_LEN: usize = 32;

/// A validated env file: the deployment gwfargate builds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployment {
    /// Deployment name: prefix of every resource name and the `gwfargate:env` tag.
    pub name: String,
    /// Environment: the API stage name and the `Environment` tag.
    pub environment: String,
    /// AWS region.
    pub region: String,
    /// VPC and subnets.
    pub network: Network,
    /// The container service.
    pub service: Service,
    /// Log retention.
    pub logs: Logs,
    /// The public entry: API Gateway's stage settings.
    #[serde(default)]
    pub api: Api,
    /// The image repository's settings.
    #[serde(default)]
    pub repository: Repository,
    /// The env file's `[tags]`: carried by every resource beside gwfargate's own, and by the
    /// tasks the service starts.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

impl Deployment {
    /// The AWS services the tasks reach through interface endpoints: always ECR and
    /// CloudWatch Logs, and Secrets Manager or Parameter Store when a secret is kept there.
    pub fn interface_services(&self) -> Vec<String> {
        if self.network.egress != Egress::Endpoints {
            return Vec::new();
        }
        interface_services(&self.service.secrets, &self.network.endpoints)
    }

    /// The AWS services the tasks reach through gateway endpoints on the route table: S3
    /// (ECR's image layers) always, DynamoDB when the env file lists it.
    pub fn gateway_services(&self) -> Vec<String> {
        if self.network.egress != Egress::Endpoints {
            return Vec::new();
        }
        let mut services = vec!["s3".to_string()];
        services.extend(
            self.network
                .endpoints
                .iter()
                .filter(|e| GATEWAY_SERVICES.contains(&e.as_str()))
                .cloned(),
        );
        services
    }

    /// Why the subnets lack room for the most tasks this deployment may run (its count, or
    /// autoscaling's largest bound, schedules' included), if they do.
    pub fn room_problem(&self) -> Option<String> {
        let most = self
            .service
            .autoscaling
            .as_ref()
            .map_or(self.service.count, |a| {
                a.schedules.iter().map(|s| s.max).fold(a.max, u32::max)
            });
        subnet_too_small(&self.network, most, self.interface_services().len())
            .map(|(_, problem)| problem)
    }

    /// Whether the tasks can pull the image through the stack's VPC endpoints: it lives in
    /// ECR in the stack's region (this account's registry or another's). The private subnets
    /// have no other way out.
    pub fn image_in_regional_ecr(&self) -> bool {
        ImageRef::parse(&self.service.image)
            .ok()
            .and_then(|i| i.ecr())
            .is_some_and(|loc| loc.region == self.region)
    }
}

/// Why `arn` is not a KMS key of `region` CloudWatch Logs and ECR could use.
fn kms_key_arn(arn: &str, region: &str) -> Result<(), String> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[1] == partition(region)
        && parts[2] == "kms"
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && parts[5].strip_prefix("key/").is_some_and(|id| {
            !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if !ok {
        return Err(format!(
            "{} is not a KMS key ARN (arn:{}:kms:{region}:<account>:key/<id>)",
            Quoted(arn),
            partition(region)
        ));
    }
    if parts[3] != region {
        return Err(format!(
            "{} is in {}; CloudWatch Logs and ECR use only a key of their own region, {region}",
            Quoted(arn),
            Quoted(parts[3])
        ));
    }
    Ok(())
}

/// Why `arn` is not a Lambda function of `region` API Gateway can call.
fn function_arn(arn: &str, region: &str) -> Result<(), String> {
    let parts: Vec<&str> = arn.split(':').collect();
    let name_ok = |n: &str| {
        !n.is_empty()
            && n.len() <= 64
            && n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    let ok = (parts.len() == 7 || parts.len() == 8)
        && parts[0] == "arn"
        && parts[1] == partition(region)
        && parts[2] == "lambda"
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && parts[5] == "function"
        && name_ok(parts[6])
        && parts.get(7).is_none_or(|q| name_ok(q));
    if !ok {
        return Err(format!(
            "{} is not a Lambda function ARN (arn:{}:lambda:{region}:<account>:function:<name>)",
            Quoted(arn),
            partition(region)
        ));
    }
    if parts[3] != region {
        return Err(format!(
            "{} is in {}; API Gateway calls an authorizer of its own region, {region}",
            Quoted(arn),
            Quoted(parts[3])
        ));
    }
    Ok(())
}

/// Why `arn` is not a regional WAF web ACL of `region` a stage can be associated with.
fn web_acl_arn(arn: &str, region: &str) -> Result<(), String> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[1] == partition(region)
        && parts[2] == "wafv2"
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && parts[5].starts_with("regional/webacl/")
        && parts[5].split('/').count() == 4
        && parts[5].split('/').all(|p| !p.is_empty());
    if !ok {
        return Err(format!(
            "{} is not a regional WAF web ACL ARN \
             (arn:{}:wafv2:{region}:<account>:regional/webacl/<name>/<id>)",
            Quoted(arn),
            partition(region)
        ));
    }
    if parts[3] != region {
        return Err(format!(
            "{} is in {}; a stage takes a web ACL of its own region, {region}",
            Quoted(arn),
            Quoted(parts[3])
        ));
    }
    Ok(())
}

/// Why `arn` is not a Cognito user pool's ARN.
fn user_pool_arn(arn: &str) -> Result<(), String> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "cognito-idp"
        && !parts[3].is_empty()
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && parts[5].strip_prefix("userpool/").is_some_and(|id| {
            id.split_once('_').is_some_and(|(region, rest)| {
                region == parts[3]
                    && !rest.is_empty()
                    && rest.bytes().all(|b| b.is_ascii_alphanumeric())
            })
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{} is not a user pool ARN (arn:aws:cognito-idp:<region>:<account>:userpool/<region>_<id>)",
            Quoted(arn)
        ))
    }
}

/// Why `user` is not a user a container can run as, or is root.
fn container_user(user: &str) -> Result<(), String> {
    let word = |w: &str| {
        !w.is_empty()
            && w.len() <= 32
            && w.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
    };
    let (name, group) = user.split_once(':').unwrap_or((user, "x"));
    if !word(name) || !word(group) {
        return Err(format!(
            "{} is not a user: write `uid`, `uid:gid`, `name` or `name:group`",
            Quoted(user)
        ));
    }
    if name == "root" || name == "0" {
        return Err(format!(
            "{} runs the container as root; name another user, or leave `user` out to run as \
             the image's",
            Quoted(user)
        ));
    }
    Ok(())
}

/// The API's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Api {
    /// Who may call the API.
    #[serde(default)]
    pub auth: Auth,
    /// Requests per second and burst the stage lets through, for every method: without a
    /// limit, anyone can spend the account's shared API Gateway quota.
    pub throttle: Throttle,
    /// X-Ray tracing of the stage's requests (billed per trace, so off unless asked).
    #[serde(default)]
    pub tracing: bool,
    /// Methods throttled otherwise than the stage, by method (`"ANY /{proxy+}"`).
    #[serde(default)]
    pub method_throttles: std::collections::BTreeMap<String, Throttle>,
    /// The Cognito user pools (ARNs) whose ID tokens are accepted (`auth = "cognito"`).
    #[serde(default)]
    pub cognito_user_pools: Vec<String>,
    /// The Lambda function that decides (`auth = "lambda"`).
    #[serde(default)]
    pub lambda_authorizer: Option<LambdaAuthorizer>,
    /// The WAF web ACL (ARN) the stage is associated with.
    #[serde(default)]
    pub waf_acl: Option<String>,
}

/// A Lambda authorizer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LambdaAuthorizer {
    /// The function's ARN.
    pub function: String,
    /// `REQUEST` (the function sees the whole request) rather than `TOKEN` (the
    /// `Authorization` header alone).
    pub request: bool,
}

/// The API's methods, as `api.throttle.methods` names them: the root and the greedy path.
pub const API_METHODS: [&str; 2] = ["ANY /", "ANY /{proxy+}"];

impl Default for Api {
    fn default() -> Api {
        Api {
            auth: Auth::None,
            throttle: Throttle {
                rate: DEFAULT_RATE,
                burst: DEFAULT_BURST,
            },
            tracing: false,
            method_throttles: std::collections::BTreeMap::new(),
            cognito_user_pools: Vec::new(),
            lambda_authorizer: None,
            waf_acl: None,
        }
    }
}

/// Who may call the API.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Auth {
    /// Anyone on the internet.
    #[default]
    None,
    /// Callers that sign their requests with AWS credentials allowed `execute-api:Invoke`.
    Iam,
    /// Callers that send the stack's API key (`x-api-key`), through a usage plan.
    ApiKey,
    /// Callers that send an ID token of one of `Api::cognito_user_pools` in `Authorization`.
    Cognito,
    /// Callers that `Api::lambda_authorizer`'s function lets in.
    Lambda,
}

impl Auth {
    /// API Gateway's `authorizationType` for the methods.
    pub fn authorization_type(self) -> &'static str {
        match self {
            Auth::None | Auth::ApiKey => "NONE",
            Auth::Iam => "AWS_IAM",
            Auth::Cognito => "COGNITO_USER_POOLS",
            Auth::Lambda => "CUSTOM",
        }
    }

    /// Whether the methods are authorized by an authorizer of the API (which sets them).
    pub fn uses_authorizer(self) -> bool {
        matches!(self, Auth::Cognito | Auth::Lambda)
    }

    /// Its word in the env file.
    pub fn word(self) -> &'static str {
        match self {
            Auth::None => "none",
            Auth::Iam => "iam",
            Auth::ApiKey => "api_key",
            Auth::Cognito => "cognito",
            Auth::Lambda => "lambda",
        }
    }

    /// Whether the methods require an API key.
    pub fn api_key_required(self) -> bool {
        self == Auth::ApiKey
    }

    /// The word a deployment's fingerprint keeps: a change of it needs a new deployment.
    pub fn fingerprint_word(self) -> &'static str {
        match self {
            Auth::ApiKey => "API_KEY",
            other => other.authorization_type(),
        }
    }
}

/// A stage's throttling: a token bucket of `burst` refilled at `rate` per second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Throttle {
    /// Steady requests per second.
    pub rate: u32,
    /// Requests at once.
    pub burst: u32,
}

/// The stage's rate unless the env file says otherwise: room for a small service, far below
/// the account's 10,000 requests per second that every API of the region shares.
pub const DEFAULT_RATE: u32 = 100;
/// The stage's burst unless the env file says otherwise.
pub const DEFAULT_BURST: u32 = 200;
/// API Gateway's account-level limits, which a stage's cannot exceed
/// (https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html).
const MAX_RATE: i64 = 10_000;
const MAX_BURST: i64 = 5_000;

/// The VPC and its subnets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Network {
    /// The VPC's CIDR block.
    pub vpc_cidr: Ipv4Net,
    /// The subnets of the load balancer and the tasks, at least two in distinct availability
    /// zones: private, or public with `entry = "public_load_balancer"`.
    pub subnets: Vec<Subnet>,
    /// The VPC's flow logs, to a log group of the stack.
    #[serde(default)]
    pub flow_logs: bool,
    /// More AWS services the tasks reach through VPC endpoints (`sqs`, `dynamodb`), beyond
    /// the ones the stack makes itself.
    #[serde(default)]
    pub endpoints: Vec<String>,
    /// How API Gateway reaches the load balancer, when the env file says
    /// (`resources::vpc_link_version` decides otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_link: Option<VpcLinkVersion>,
    /// The kind of load balancer in front of the tasks (internal, but with a public entry).
    #[serde(default)]
    pub load_balancer: LoadBalancerKind,
    /// How the tasks reach ECR, CloudWatch Logs and other services.
    #[serde(default)]
    pub egress: Egress,
    /// Public subnets (`egress = "nat"`): the NAT gateway is in the first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub public_subnets: Vec<Subnet>,
    /// How callers reach the service: API Gateway, or a public load balancer.
    #[serde(default)]
    pub entry: Entry,
}

/// How callers reach the service.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Entry {
    /// API Gateway's REST API, through a VPC link to the internal load balancer in private
    /// subnets. The original design's.
    #[default]
    ApiGateway,
    /// An internet-facing ALB in public subnets, open on its port, in front of tasks with
    /// public addresses in the same subnets; no API Gateway. The cheapest design, which the
    /// original calls not for production.
    PublicLoadBalancer,
}

impl Entry {
    /// The word the env file uses.
    pub fn word(self) -> &'static str {
        match self {
            Entry::ApiGateway => "api_gateway",
            Entry::PublicLoadBalancer => "public_load_balancer",
        }
    }
}

/// How the tasks reach AWS services and image registries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Egress {
    /// VPC endpoints (ECR, CloudWatch Logs, S3, and what secrets need); no way to the
    /// internet. The original design's.
    #[default]
    Endpoints,
    /// One NAT gateway in a public subnet, with an elastic IP, behind an internet gateway:
    /// the tasks reach any registry and every AWS service through it; no endpoints.
    Nat,
    /// Public addresses of the tasks, in public subnets, through the internet gateway: what
    /// `entry = "public_load_balancer"` implies (the env file does not name it).
    PublicIp,
}

/// The kind of internal load balancer API Gateway's VPC link reaches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadBalancerKind {
    /// A Network Load Balancer: TCP, no security group, reached by a V1 or V2 link. The
    /// original design's.
    #[default]
    Nlb,
    /// An Application Load Balancer: HTTP, behind a security group of its own, reached by a
    /// V2 link only; it counts requests per target, which autoscaling can scale on.
    Alb,
}

impl LoadBalancerKind {
    /// The other kind: the one a stack moving to this kind leaves.
    pub fn other(self) -> LoadBalancerKind {
        match self {
            LoadBalancerKind::Nlb => LoadBalancerKind::Alb,
            LoadBalancerKind::Alb => LoadBalancerKind::Nlb,
        }
    }

    /// The word the env file and `plan` use: `nlb` or `alb`.
    pub fn word(self) -> &'static str {
        match self {
            LoadBalancerKind::Nlb => "nlb",
            LoadBalancerKind::Alb => "alb",
        }
    }
}

/// The kind of VPC link between API Gateway and the load balancer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VpcLinkVersion {
    /// A V2 link: network interfaces in the private subnets with a security group of its
    /// own, made without waiting for the load balancer; the integrations name the load
    /// balancer. AWS's recommendation for REST APIs since November 2025.
    V2,
    /// A V1 link: an endpoint service on the NLB, made once the NLB is active ("legacy" in
    /// API Gateway's developer guide).
    V1,
}

/// The AWS services AWS reaches through gateway endpoints (on the route table) rather than
/// interface endpoints.
pub const GATEWAY_SERVICES: [&str; 2] = ["s3", "dynamodb"];

/// One subnet of the env file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subnet {
    /// The subnet's CIDR block, inside the VPC's.
    pub cidr: Ipv4Net,
    /// Its availability zone, e.g. `eu-west-1a`.
    pub az: String,
}

/// The Fargate service and its container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    /// Service name, used in resource names.
    pub name: String,
    /// The container image reference.
    pub image: String,
    /// The container and listener port.
    pub port: u16,
    /// Desired task count.
    pub count: u32,
    /// Task CPU units (1024 = 1 vCPU).
    pub cpu: u32,
    /// Task memory in MiB.
    pub memory: u32,
    /// HTTP path of the target group's health check.
    pub health_check_path: String,
    /// The rest of the target group's health check.
    #[serde(default)]
    pub target_health_check: TargetHealthCheck,
    /// The container's root filesystem is read-only.
    #[serde(default)]
    pub readonly_root_filesystem: bool,
    /// The user the container runs as (`uid`, `uid:gid`, `name`, `name:group`), if not the
    /// image's.
    #[serde(default)]
    pub user: Option<String>,
    /// The container's command, if not the image's `CMD`.
    #[serde(default)]
    pub command: Vec<String>,
    /// The container's entry point, if not the image's `ENTRYPOINT`.
    #[serde(default)]
    pub entrypoint: Vec<String>,
    /// The directory the command runs in, if not the image's.
    #[serde(default)]
    pub working_directory: Option<String>,
    /// Seconds between SIGTERM and SIGKILL when a task stops (ECS's default: 30).
    #[serde(default)]
    pub stop_timeout: Option<u32>,
    /// The processor the tasks run on.
    #[serde(default)]
    pub cpu_architecture: CpuArchitecture,
    /// The task's ephemeral storage in GiB, if more than Fargate's 20.
    #[serde(default)]
    pub ephemeral_storage_gib: Option<u32>,
    /// Tasks on Fargate Spot, beside regular Fargate.
    #[serde(default)]
    pub spot: Option<Spot>,
    /// Plain environment variables of the container.
    #[serde(default)]
    pub environment: std::collections::BTreeMap<String, String>,
    /// Environment variables whose values ECS reads from Secrets Manager or Parameter Store
    /// when a task starts.
    #[serde(default)]
    pub secrets: std::collections::BTreeMap<String, Secret>,
    /// The KMS key (ARN) the secrets are encrypted with, if not the services' own: the
    /// execution role may decrypt with it, through those services only.
    #[serde(default)]
    pub secrets_kms_key: Option<String>,
    /// The container's own health check (Docker's `HEALTHCHECK`), run by the ECS agent.
    #[serde(default)]
    pub container_health_check: Option<ContainerHealthCheck>,
    /// The role the container's own AWS calls run as; `None`: the tasks get no AWS
    /// credentials.
    #[serde(default)]
    pub task_role: Option<TaskRole>,
    /// Seconds ECS ignores failing load balancer health checks of a new task.
    #[serde(default = "default_grace_period")]
    pub health_check_grace_period: u32,
    /// How a deployment replaces tasks.
    #[serde(default)]
    pub rollout: Rollout,
    /// Application Auto Scaling of the task count, when set.
    #[serde(default)]
    pub autoscaling: Option<Autoscaling>,
}

fn default_grace_period() -> u32 {
    DEFAULT_GRACE_PERIOD
}

/// Seconds a new task's failing load balancer health checks are ignored unless the env file
/// says otherwise: the time a small JVM service takes to start.
pub const DEFAULT_GRACE_PERIOD: u32 = 60;

/// A capacity provider strategy of regular Fargate and Fargate Spot: the first `base` tasks
/// on regular Fargate, then `weight` on Spot for every one on regular Fargate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spot {
    /// Tasks always on regular Fargate.
    pub base: u32,
    /// Spot tasks per regular one beyond the base.
    pub weight: u32,
}

/// The container's own AWS permissions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRole {
    /// Managed policies (ARNs) attached to the role.
    pub policy_arns: Vec<String>,
    /// Statements of its inline policy.
    pub statements: Vec<Statement>,
}

/// One statement of an IAM policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    /// `Allow` rather than `Deny`.
    pub allow: bool,
    /// The actions (`sqs:SendMessage`, `s3:Get*`).
    pub actions: Vec<String>,
    /// The resources (ARNs, `*`).
    pub resources: Vec<String>,
}

impl TaskRole {
    /// The AWS services its statements' actions reach, by IAM prefix (`sqs`, `dynamodb`).
    pub fn services(&self) -> Vec<String> {
        let mut services: Vec<String> = self
            .statements
            .iter()
            .filter(|s| s.allow)
            .flat_map(|s| s.actions.iter())
            .filter_map(|a| a.split_once(':').map(|(service, _)| service.to_string()))
            .collect();
        services.sort();
        services.dedup();
        services
    }
}

/// Whether `text` is a UUID (`8-4-4-4-12` hexadecimal digits), as Secrets Manager's version
/// ids are.
fn is_uuid(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && parts
            .iter()
            .all(|p| p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Where a secret environment variable's value is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Secret {
    /// A Secrets Manager secret, optionally one JSON key of it and one version.
    SecretsManager {
        /// The secret's full ARN (with its six-character suffix).
        arn: String,
        /// The JSON key whose value is used, if not the whole secret.
        key: Option<String>,
        /// The version stage (`AWSPREVIOUS`) or id, if not `AWSCURRENT`.
        version: Option<String>,
    },
    /// An SSM Parameter Store parameter of the stack's region.
    Ssm {
        /// Its name (`/app/token`), or its ARN as the env file gives it.
        parameter: String,
    },
}

impl Secret {
    /// ECS's `valueFrom` for it, in `account` and `region`.
    pub fn value_from(&self, region: &str, account: &str) -> String {
        match self {
            Secret::SecretsManager { arn, key, version } => {
                if key.is_none() && version.is_none() {
                    return arn.clone();
                }
                // `arn:json-key:version-stage:version-id`: a version id is a UUID, anything
                // else a staging label (`AWSPREVIOUS`, or one of the user's own).
                let version = version.as_deref().unwrap_or_default();
                let (stage, id) = if is_uuid(version) {
                    ("", version)
                } else {
                    (version, "")
                };
                format!("{arn}:{}:{stage}:{id}", key.as_deref().unwrap_or_default())
            }
            Secret::Ssm { .. } => self.arn(region, account),
        }
    }

    /// The ARN the execution role must be allowed to read, in `account` and `region`.
    pub fn arn(&self, region: &str, account: &str) -> String {
        match self {
            Secret::SecretsManager { arn, .. } => arn.clone(),
            Secret::Ssm { parameter } if parameter.starts_with("arn:") => parameter.clone(),
            Secret::Ssm { parameter } => format!(
                "arn:{}:ssm:{region}:{account}:parameter/{}",
                partition(region),
                parameter.trim_start_matches('/')
            ),
        }
    }

    /// The parameter's name as Parameter Store knows it (`/app/token`), for a parameter.
    pub fn parameter_name(&self) -> Option<String> {
        match self {
            Secret::SecretsManager { .. } => None,
            Secret::Ssm { parameter } => Some(match parameter.split_once(":parameter/") {
                // A hierarchical name keeps its leading slash; the ARN drops it.
                Some((_, name)) if name.contains('/') => format!("/{name}"),
                Some((_, name)) => name.to_string(),
                None => parameter.clone(),
            }),
        }
    }

    /// The interface endpoint the tasks reach it through.
    pub fn endpoint_service(&self) -> &'static str {
        match self {
            Secret::SecretsManager { .. } => "secretsmanager",
            Secret::Ssm { .. } => "ssm",
        }
    }
}

/// The processor the tasks run on (Fargate's `runtimePlatform.cpuArchitecture`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CpuArchitecture {
    /// Intel or AMD.
    #[default]
    X86_64,
    /// AWS Graviton: about 20% cheaper per vCPU hour; the image must be built for arm64.
    Arm64,
}

impl CpuArchitecture {
    /// ECS's word for it.
    pub fn ecs_word(self) -> &'static str {
        match self {
            CpuArchitecture::X86_64 => "X86_64",
            CpuArchitecture::Arm64 => "ARM64",
        }
    }
}

/// The target group's health check of each task, beside its path: a task serves once
/// `healthy_threshold` checks in a row pass, `interval` seconds apart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetHealthCheck {
    /// Seconds between checks.
    pub interval: u32,
    /// Passing checks in a row that make a target healthy.
    pub healthy_threshold: u32,
    /// Failing checks in a row that make a target unhealthy.
    pub unhealthy_threshold: u32,
    /// The HTTP codes that pass (`200`, `200-299`, `200,204`).
    pub matcher: String,
    /// Seconds one check may take, if not the load balancer's default.
    #[serde(default)]
    pub timeout: Option<u32>,
}

impl TargetHealthCheck {
    /// The timeout to set: the env file's, or, below a 10 s interval, one that fits in it (a
    /// check's timeout cannot exceed its interval, and the defaults may).
    pub fn timeout(&self) -> Option<u32> {
        self.timeout
            .or_else(|| (self.interval < 10).then(|| self.interval.min(6)))
    }
}

impl Default for TargetHealthCheck {
    /// A new task serves after about 20 s of checks instead of AWS's default 150 (30 s × 5),
    /// so a deploy is quick and a broken task is noticed within 20 s.
    fn default() -> TargetHealthCheck {
        TargetHealthCheck {
            interval: 10,
            healthy_threshold: 2,
            unhealthy_threshold: 2,
            matcher: "200-399".to_string(),
            timeout: None,
        }
    }
}

/// A container health check: `command` every `interval` seconds, unhealthy after `retries`
/// failures in a row, failures ignored for `start_period` seconds after the start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerHealthCheck {
    /// `["CMD", exe, args...]` or `["CMD-SHELL", "shell command"]`.
    pub command: Vec<String>,
    /// Seconds between checks (5 to 300).
    pub interval: u32,
    /// Seconds one check may take (2 to 60).
    pub timeout: u32,
    /// Failures in a row that make the container unhealthy (1 to 10).
    pub retries: u32,
    /// Seconds after the start during which failures do not count (0 to 300).
    pub start_period: u32,
}

/// How a deployment replaces tasks; the circuit breaker (with rollback) is always on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rollout {
    /// The share of the desired count that must stay healthy during a deployment (percent).
    pub minimum_healthy_percent: u32,
    /// The most tasks a deployment may run at once, as a share of the desired count (percent).
    pub maximum_percent: u32,
    /// CloudWatch alarms (names) that roll a deployment back when they go off.
    #[serde(default)]
    pub alarms: Vec<String>,
}

impl Default for Rollout {
    fn default() -> Rollout {
        Rollout {
            minimum_healthy_percent: 100,
            maximum_percent: 200,
            alarms: Vec::new(),
        }
    }
}

/// Application Auto Scaling of the service's task count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Autoscaling {
    /// The fewest tasks.
    pub min: u32,
    /// The most tasks.
    pub max: u32,
    /// Target average CPU utilization (percent), if scaled on it.
    pub cpu: Option<u32>,
    /// Target average memory utilization (percent), if scaled on it.
    pub memory: Option<u32>,
    /// Target requests per task per minute (the ALB's `RequestCountPerTarget`), if scaled on
    /// it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<u32>,
    /// Seconds after a scale-in before another.
    pub scale_in_cooldown: u32,
    /// Seconds after a scale-out before another.
    pub scale_out_cooldown: u32,
    /// Bounds that change on a schedule.
    pub schedules: Vec<ScheduledScaling>,
}

/// A scheduled change of the autoscaling bounds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduledScaling {
    /// Its name, unique among the schedules.
    pub name: String,
    /// When: Application Auto Scaling's six cron fields (`"0 8 ? * MON-FRI *"`).
    pub cron: String,
    /// The time zone the cron fields are read in (IANA, e.g. `Europe/Dublin`); UTC if unset.
    pub timezone: Option<String>,
    /// The fewest tasks from then on.
    pub min: u32,
    /// The most tasks from then on.
    pub max: u32,
}

/// CloudWatch Logs settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Logs {
    /// Days to keep log events.
    pub retention_days: u32,
    /// The KMS key (ARN) the stack's log groups are encrypted with, if not CloudWatch's own.
    #[serde(default)]
    pub kms_key: Option<String>,
    /// CloudWatch Container Insights on the cluster (billed as custom metrics); `None`: as
    /// the account's default sets it.
    #[serde(default)]
    pub container_insights: Option<bool>,
}

/// The image repository's settings (when gwfargate makes it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Repository {
    /// A pushed tag can never point at another image.
    #[serde(default)]
    pub immutable_tags: bool,
    /// The KMS key (ARN) the repository's images are encrypted with, if not ECR's own.
    #[serde(default)]
    pub kms_key: Option<String>,
}

/// One problem in an env file, located as precisely as the parser allows.
#[derive(Debug)]
pub struct ConfigError {
    /// The env file.
    pub file: PathBuf,
    /// Dotted key path, e.g. `service.port`; empty for a file-level problem.
    pub key: String,
    /// 1-based line and column, where known.
    pub position: Option<(usize, usize)>,
    /// What is wrong, and what would be right.
    pub problem: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some((line, col)) = self.position {
            write!(f, ":{line}:{col}")?;
        }
        if self.key.is_empty() {
            write!(f, ": {}", self.problem)
        } else {
            write!(f, ": `{}`: {}", self.key, self.problem)
        }
    }
}

impl std::error::Error for ConfigError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnv {
    name: Spanned<String>,
    environment: Spanned<String>,
    region: Spanned<String>,
    network: RawNetwork,
    service: RawService,
    logs: Option<RawLogs>,
    api: Option<RawApi>,
    repository: Option<RawRepository>,
    tags: Option<BTreeMap<String, Spanned<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApi {
    auth: Option<Spanned<String>>,
    throttle: Option<RawThrottle>,
    tracing: Option<bool>,
    cognito_user_pools: Option<Spanned<Vec<Spanned<String>>>>,
    authorizer: Option<Spanned<RawAuthorizer>>,
    waf_acl: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAuthorizer {
    function: Spanned<String>,
    #[serde(rename = "type")]
    kind: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawThrottle {
    rate: Spanned<i64>,
    burst: Spanned<i64>,
    methods: Option<std::collections::BTreeMap<String, Spanned<RawRate>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRate {
    rate: Spanned<i64>,
    burst: Spanned<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNetwork {
    vpc_cidr: Spanned<String>,
    subnets: Spanned<Vec<RawSubnet>>,
    flow_logs: Option<bool>,
    endpoints: Option<Vec<Spanned<String>>>,
    vpc_link: Option<Spanned<String>>,
    load_balancer: Option<Spanned<String>>,
    egress: Option<Spanned<String>>,
    public_subnets: Option<Spanned<Vec<RawSubnet>>>,
    entry: Option<Spanned<String>>,
    acknowledge_public_entry: Option<Spanned<bool>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSubnet {
    cidr: Spanned<String>,
    az: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawService {
    name: Spanned<String>,
    image: Spanned<String>,
    port: Spanned<i64>,
    count: Spanned<i64>,
    cpu: Spanned<i64>,
    memory: Spanned<i64>,
    health_check_path: Option<Spanned<String>>,
    readonly_root_filesystem: Option<bool>,
    user: Option<Spanned<String>>,
    command: Option<Spanned<Vec<String>>>,
    entrypoint: Option<Spanned<Vec<String>>>,
    working_directory: Option<Spanned<String>>,
    stop_timeout: Option<Spanned<i64>>,
    cpu_architecture: Option<Spanned<String>>,
    ephemeral_storage_gib: Option<Spanned<i64>>,
    spot: Option<Spanned<RawSpot>>,
    health_check_grace_period: Option<Spanned<i64>>,
    env: Option<std::collections::BTreeMap<String, Spanned<String>>>,
    secrets: Option<std::collections::BTreeMap<String, Spanned<RawSecret>>>,
    secrets_kms_key: Option<Spanned<String>>,
    task_role: Option<Spanned<RawTaskRole>>,
    container_health_check: Option<Spanned<RawContainerHealthCheck>>,
    target_health_check: Option<RawTargetHealthCheck>,
    deployment: Option<RawRollout>,
    autoscaling: Option<Spanned<RawAutoscaling>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpot {
    base: Option<Spanned<i64>>,
    weight: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTaskRole {
    policy_arns: Option<Vec<Spanned<String>>>,
    statements: Option<Vec<Spanned<RawStatement>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStatement {
    effect: Option<Spanned<String>>,
    actions: Spanned<Vec<Spanned<String>>>,
    resources: Spanned<Vec<Spanned<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSecret {
    secretsmanager: Option<Spanned<String>>,
    key: Option<Spanned<String>>,
    version: Option<Spanned<String>>,
    ssm: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTargetHealthCheck {
    path: Option<Spanned<String>>,
    interval: Option<Spanned<i64>>,
    healthy_threshold: Option<Spanned<i64>>,
    unhealthy_threshold: Option<Spanned<i64>>,
    matcher: Option<Spanned<String>>,
    timeout: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawContainerHealthCheck {
    command: Spanned<Vec<String>>,
    interval: Option<Spanned<i64>>,
    timeout: Option<Spanned<i64>>,
    retries: Option<Spanned<i64>>,
    start_period: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRollout {
    minimum_healthy_percent: Option<Spanned<i64>>,
    maximum_percent: Option<Spanned<i64>>,
    alarms: Option<Spanned<Vec<Spanned<String>>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAutoscaling {
    min: Spanned<i64>,
    max: Spanned<i64>,
    cpu: Option<Spanned<i64>>,
    memory: Option<Spanned<i64>>,
    scale_in_cooldown: Option<Spanned<i64>>,
    scale_out_cooldown: Option<Spanned<i64>>,
    schedule: Option<Vec<Spanned<RawSchedule>>>,
    requests: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchedule {
    name: Spanned<String>,
    cron: Spanned<String>,
    timezone: Option<Spanned<String>>,
    min: Spanned<i64>,
    max: Spanned<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLogs {
    retention_days: Option<Spanned<i64>>,
    kms_key: Option<Spanned<String>>,
    container_insights: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRepository {
    immutable_tags: Option<bool>,
    kms_key: Option<Spanned<String>>,
}

/// Reads and validates an env file. `region_override` (from `--region`) replaces the file's
/// region before the availability zones are checked against it.
pub fn load(path: &Path, region_override: Option<&str>) -> Result<Deployment, ConfigError> {
    let refused = |problem: String| ConfigError {
        file: path.to_path_buf(),
        key: String::new(),
        position: None,
        problem,
    };
    // A FIFO or device named as the env file would hang or never end: refused unread.
    let text = user_files::read(path, user_files::ENV_FILE_LIMIT, Links::Follow)
        .map_err(|why| refused(format!("the env file {why}")))?
        .ok_or_else(|| refused("cannot read the env file: there is no such file".to_string()))?;
    let filled =
        interpolate::interpolate(&text, |name| std::env::var(name).ok()).map_err(|err| {
            ConfigError {
                file: path.to_path_buf(),
                key: key_at(&text, err.offset),
                position: Some(line_col(&text, err.offset)),
                problem: err.problem,
            }
        })?;
    parse(path, &filled, region_override)
}

/// Validates env file text; `path` is only used in messages.
pub fn parse(
    path: &Path,
    text: &str,
    region_override: Option<&str>,
) -> Result<Deployment, ConfigError> {
    let checker = Checker { path, text };
    let raw: RawEnv = toml::from_str(text).map_err(|err| {
        let position = err.span().map(|span| line_col(text, span.start));
        ConfigError {
            file: path.to_path_buf(),
            key: err
                .span()
                .map(|span| key_at(text, span.start))
                .unwrap_or_default(),
            position,
            problem: plain_words(err.message().trim()),
        }
    })?;
    checker.validate(raw, region_override)
}

struct Checker<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Checker<'_> {
    fn error(&self, key: &str, span: Range<usize>, problem: impl Into<String>) -> ConfigError {
        ConfigError {
            file: self.path.to_path_buf(),
            key: key.to_string(),
            position: Some(line_col(self.text, span.start)),
            problem: problem.into(),
        }
    }

    fn validate(
        &self,
        raw: RawEnv,
        region_override: Option<&str>,
    ) -> Result<Deployment, ConfigError> {
        let name = self.resource_name("name", &raw.name)?;
        let environment = raw.environment.get_ref().clone();
        if environment.is_empty()
            || environment.len() > 128
            || !environment
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(self.error(
                "environment",
                raw.environment.span(),
                format!(
                    "{environment} is not a valid API Gateway stage name: use 1 to 128 letters, \
                     digits, hyphens or underscores",
                    environment = Quoted(&environment)
                ),
            ));
        }
        let region = match region_override {
            Some(region) => region.to_string(),
            None => raw.region.get_ref().clone(),
        };
        if !is_region(&region) {
            return Err(self.error(
                "region",
                raw.region.span(),
                format!(
                    "{} is not an AWS region name (for example eu-west-1)",
                    Quoted(&region)
                ),
            ));
        }
        let network_span = raw.network.subnets.span();
        let entry_span = raw.network.entry.as_ref().map(Spanned::span);
        let network = self.network(raw.network, &region)?;
        if network.entry == Entry::PublicLoadBalancer && raw.api.is_some() {
            return Err(self.error(
                "api",
                entry_span.unwrap_or_default(),
                "[api] sets API Gateway's stage, and a public entry has no API Gateway: remove \
                 [api], or use `entry = \"api_gateway\"`",
            ));
        }
        let service = self.service(raw.service, &region, network.load_balancer)?;
        if name == "internal" || name.starts_with("internal-") {
            return Err(self.error(
                "name",
                raw.name.span(),
                format!(
                    "{name} would make the load balancer's name begin with `internal-`, which \
                     Elastic Load Balancing refuses; choose another deployment name",
                    name = Quoted(&name)
                ),
            ));
        }
        // The most tasks the autoscaler may run, its schedules' bounds included.
        let most_tasks = service.autoscaling.as_ref().map_or(service.count, |a| {
            a.schedules.iter().map(|s| s.max).fold(a.max, u32::max)
        });
        let endpoints = interface_services(&service.secrets, &network.endpoints).len();
        if let Some((i, problem)) = subnet_too_small(&network, most_tasks, endpoints) {
            return Err(self.error(&format!("network.subnets[{i}].cidr"), network_span, problem));
        }
        let logs = self.logs(raw.logs, &region)?;
        let api = self.api(raw.api, &region)?;
        let mut repository = Repository::default();
        if let Some(raw) = raw.repository {
            repository.immutable_tags = raw.immutable_tags.unwrap_or(false);
            if let Some(key) = &raw.kms_key {
                if let Err(problem) = kms_key_arn(key.get_ref(), &region) {
                    return Err(self.error("repository.kms_key", key.span(), problem));
                }
                repository.kms_key = Some(key.get_ref().clone());
            }
        }
        let tags = self.tags(raw.tags.unwrap_or_default())?;
        Ok(Deployment {
            name,
            environment,
            region,
            network,
            service,
            logs,
            api,
            repository,
            tags,
        })
    }

    /// The user's tags, as every service of the stack accepts them: IAM's and API Gateway's
    /// rules are the strictest, and IAM reads keys without regard to case.
    fn tags(
        &self,
        raw: BTreeMap<String, Spanned<String>>,
    ) -> Result<BTreeMap<String, String>, ConfigError> {
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        for (key, value) in &raw {
            let path = format!("tags.{key}");
            let span = value.span();
            if let Err(problem) = tag_key(key) {
                return Err(self.error(&path, span, problem));
            }
            if let Some(other) = seen.insert(key.to_lowercase(), key.clone()) {
                return Err(self.error(
                    &path,
                    span,
                    format!(
                        "{key} and {other} differ only in case, which IAM reads as one key; \
                         keep one of them"
                    ),
                ));
            }
            let text = value.get_ref();
            if text.chars().count() > MAX_TAG_VALUE || !text.chars().all(tag_char) {
                return Err(self.error(
                    &path,
                    span,
                    format!(
                        "{} is not a tag value every AWS service takes: at most \
                         {MAX_TAG_VALUE} letters, digits, spaces and `_ . : / = + - @`",
                        Quoted(text)
                    ),
                ));
            }
        }
        if raw.len() > MAX_USER_TAGS {
            let (key, value) = raw.iter().nth(MAX_USER_TAGS).map_or_else(
                || (String::new(), 0..0),
                |(k, v)| (format!("tags.{k}"), v.span()),
            );
            return Err(self.error(
                &key,
                value,
                format!(
                    "{} tags are more than a resource can carry beside gwfargate's own: AWS \
                     allows 50 tags, gwfargate uses up to {}, so keep at most {MAX_USER_TAGS}",
                    raw.len(),
                    50 - MAX_USER_TAGS
                ),
            ));
        }
        Ok(raw.into_iter().map(|(k, v)| (k, v.into_inner())).collect())
    }

    fn logs(&self, raw: Option<RawLogs>, region: &str) -> Result<Logs, ConfigError> {
        let mut logs = Logs {
            retention_days: 30,
            kms_key: None,
            container_insights: None,
        };
        let Some(raw) = raw else { return Ok(logs) };
        if let Some(days) = &raw.retention_days {
            let value = *days.get_ref();
            if !RETENTION_DAYS.contains(&value) {
                return Err(self.error(
                    "logs.retention_days",
                    days.span(),
                    format!(
                        "{value} is not a retention CloudWatch Logs offers; choose one of {RETENTION_DAYS:?}"
                    ),
                ));
            }
            logs.retention_days = u32::try_from(value).unwrap_or(30);
        }
        if let Some(key) = &raw.kms_key {
            if let Err(problem) = kms_key_arn(key.get_ref(), region) {
                return Err(self.error("logs.kms_key", key.span(), problem));
            }
            logs.kms_key = Some(key.get_ref().clone());
        }
        logs.container_insights = raw.container_insights;
        Ok(logs)
    }

    fn api(&self, raw: Option<RawApi>, region: &str) -> Result<Api, ConfigError> {
        let mut api = Api::default();
        let Some(raw) = raw else { return Ok(api) };
        api.tracing = raw.tracing.unwrap_or(false);
        if let Some(auth) = &raw.auth {
            api.auth = match auth.get_ref().as_str() {
                "none" => Auth::None,
                "iam" => Auth::Iam,
                "api_key" => Auth::ApiKey,
                "cognito" => Auth::Cognito,
                "lambda" => Auth::Lambda,
                other => {
                    return Err(self.error(
                        "api.auth",
                        auth.span(),
                        format!(
                            "{} is not a way to authorize callers; use \"iam\", \"api_key\", \"cognito\", \"lambda\" or \"none\"",
                            Quoted(other)
                        ),
                    ));
                }
            };
        }
        match (&raw.cognito_user_pools, api.auth) {
            (None, Auth::Cognito) => {
                return Err(self.error(
                    "api.cognito_user_pools",
                    raw.auth.as_ref().map_or(0..0, Spanned::span),
                    "`auth = \"cognito\"` needs the user pools whose tokens are accepted: \
                     `cognito_user_pools = [\"arn:aws:cognito-idp:<region>:<account>:userpool/<id>\"]`",
                ));
            }
            (Some(pools), auth) if auth != Auth::Cognito => {
                return Err(self.error(
                    "api.cognito_user_pools",
                    pools.span(),
                    "user pools are used only with `auth = \"cognito\"`",
                ));
            }
            (Some(pools), _) => {
                if pools.get_ref().is_empty() || pools.get_ref().len() > 1000 {
                    return Err(self.error(
                        "api.cognito_user_pools",
                        pools.span(),
                        "name 1 to 1000 user pools",
                    ));
                }
                for (i, pool) in pools.get_ref().iter().enumerate() {
                    if let Err(problem) = user_pool_arn(pool.get_ref()) {
                        return Err(self.error(
                            &format!("api.cognito_user_pools[{i}]"),
                            pool.span(),
                            problem,
                        ));
                    }
                    api.cognito_user_pools.push(pool.get_ref().clone());
                }
            }
            (None, _) => {}
        }
        match (raw.authorizer, api.auth) {
            (None, Auth::Lambda) => {
                return Err(self.error(
                    "api.authorizer",
                    raw.auth.as_ref().map_or(0..0, Spanned::span),
                    "`auth = \"lambda\"` needs the function that decides: `authorizer = { function \
                     = \"arn:aws:lambda:<region>:<account>:function:<name>\" }`",
                ));
            }
            (Some(authorizer), auth) if auth != Auth::Lambda => {
                return Err(self.error(
                    "api.authorizer",
                    authorizer.span(),
                    "an authorizer function is used only with `auth = \"lambda\"`",
                ));
            }
            (Some(authorizer), _) => {
                let authorizer = authorizer.into_inner();
                let function = authorizer.function.get_ref();
                if let Err(problem) = function_arn(function, region) {
                    return Err(self.error(
                        "api.authorizer.function",
                        authorizer.function.span(),
                        problem,
                    ));
                }
                let request = match authorizer.kind.as_ref().map(|k| k.get_ref().as_str()) {
                    None | Some("token") => false,
                    Some("request") => true,
                    Some(other) => {
                        return Err(self.error(
                            "api.authorizer.type",
                            authorizer.kind.as_ref().map_or(0..0, Spanned::span),
                            format!(
                                "{} is not a kind of Lambda authorizer; use \"token\" (the \
                                 Authorization header) or \"request\" (the whole request)",
                                Quoted(other)
                            ),
                        ));
                    }
                };
                api.lambda_authorizer = Some(LambdaAuthorizer {
                    function: function.clone(),
                    request,
                });
            }
            (None, _) => {}
        }
        if let Some(acl) = &raw.waf_acl {
            if let Err(problem) = web_acl_arn(acl.get_ref(), region) {
                return Err(self.error("api.waf_acl", acl.span(), problem));
            }
            api.waf_acl = Some(acl.get_ref().clone());
        }
        if let Some(throttle) = raw.throttle {
            api.throttle = self.throttle("api.throttle", &throttle.rate, &throttle.burst)?;
            for (method, rates) in throttle.methods.unwrap_or_default() {
                let key = format!(
                    "api.throttle.methods.\"{}\"",
                    crate::printable::escaped(&method)
                );
                if !API_METHODS.contains(&method.as_str()) {
                    return Err(self.error(
                        &key,
                        rates.span(),
                        format!(
                            "the API has no method {}; its methods are {}",
                            Quoted(&method),
                            API_METHODS.map(|m| format!("\"{m}\"")).join(" and ")
                        ),
                    ));
                }
                let rates = rates.into_inner();
                let limits = self.throttle(&key, &rates.rate, &rates.burst)?;
                api.method_throttles.insert(method, limits);
            }
        }
        Ok(api)
    }

    /// A rate and burst API Gateway takes, named `key` in errors.
    fn throttle(
        &self,
        key: &str,
        rate: &Spanned<i64>,
        burst: &Spanned<i64>,
    ) -> Result<Throttle, ConfigError> {
        let (r, b) = (*rate.get_ref(), *burst.get_ref());
        if !(1..=MAX_RATE).contains(&r) {
            return Err(self.error(
                &format!("{key}.rate"),
                rate.span(),
                format!("{r} is not a rate API Gateway takes: 1 to {MAX_RATE} requests per second"),
            ));
        }
        if !(1..=MAX_BURST).contains(&b) {
            return Err(self.error(
                &format!("{key}.burst"),
                burst.span(),
                format!("{b} is not a burst API Gateway takes: 1 to {MAX_BURST} requests"),
            ));
        }
        Ok(Throttle {
            rate: u32::try_from(r).unwrap_or(DEFAULT_RATE),
            burst: u32::try_from(b).unwrap_or(DEFAULT_BURST),
        })
    }

    fn resource_name(&self, key: &str, value: &Spanned<String>) -> Result<String, ConfigError> {
        let name = value.get_ref();
        let ok = !name.is_empty()
            && name.len() <= MAX_NAME_LEN
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && !name.ends_with('-')
            && !name.contains("--")
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if ok {
            Ok(name.clone())
        } else {
            Err(self.error(
                key,
                value.span(),
                format!(
                    "{name} is not a usable name: use 1 to {MAX_NAME_LEN} lowercase letters, digits \
                     and single hyphens, starting with a letter and not ending with a hyphen \
                     (it prefixes AWS resource names)",
                    name = Quoted(name)
                ),
            ))
        }
    }

    fn cidr(&self, key: &str, value: &Spanned<String>) -> Result<Ipv4Net, ConfigError> {
        let net: Ipv4Net = value.get_ref().parse().map_err(|_| {
            self.error(
                key,
                value.span(),
                format!(
                    "{} is not an IPv4 CIDR block (for example 10.0.0.0/16)",
                    Quoted(value.get_ref())
                ),
            )
        })?;
        if net.trunc() != net {
            return Err(self.error(
                key,
                value.span(),
                format!("{net} has host bits set; the network is {}", net.trunc()),
            ));
        }
        Ok(net)
    }

    fn network(&self, raw: RawNetwork, region: &str) -> Result<Network, ConfigError> {
        let vpc_cidr = self.cidr("network.vpc_cidr", &raw.vpc_cidr)?;
        if !(16..=28).contains(&vpc_cidr.prefix_len()) {
            return Err(self.error(
                "network.vpc_cidr",
                raw.vpc_cidr.span(),
                format!("{vpc_cidr}: a VPC's prefix length must be between /16 and /28"),
            ));
        }
        let entry = self.entry(&raw)?;
        let public = entry == Entry::PublicLoadBalancer;
        let mut endpoints: Vec<String> = Vec::new();
        for (i, service) in raw.endpoints.iter().flatten().enumerate() {
            let name = service.get_ref();
            let key = format!("network.endpoints[{i}]");
            let ok = !name.is_empty()
                && name.len() <= 64
                && name.starts_with(|c: char| c.is_ascii_lowercase())
                && name.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-'
                });
            if !ok {
                return Err(self.error(
                    &key,
                    service.span(),
                    format!(
                        "{} is not an AWS service's endpoint name (for example \"sqs\", \
                         \"dynamodb\", \"kms\": the last part of com.amazonaws.<region>.<name>)",
                        Quoted(name)
                    ),
                ));
            }
            if INTERFACE_SERVICES.contains(&name.as_str()) || name == "s3" {
                return Err(self.error(
                    &key,
                    service.span(),
                    format!("the stack always makes the {name} endpoint; leave it out"),
                ));
            }
            if endpoints.contains(name) {
                return Err(self.error(&key, service.span(), format!("{name} is listed twice")));
            }
            endpoints.push(name.clone());
        }
        let span = raw.subnets.span();
        let raw_subnets = raw.subnets.into_inner();
        if raw_subnets.len() < 2 {
            return Err(self.error(
                "network.subnets",
                span,
                format!(
                    "{} subnet(s) given; the load balancer and service need at least 2, in different availability zones",
                    raw_subnets.len()
                ),
            ));
        }
        let mut subnets: Vec<Subnet> = Vec::new();
        for (i, raw_subnet) in raw_subnets.iter().enumerate() {
            let key = format!("network.subnets[{i}].cidr");
            let cidr = self.cidr(&key, &raw_subnet.cidr)?;
            if !vpc_cidr.contains(&cidr) {
                return Err(self.error(
                    &key,
                    raw_subnet.cidr.span(),
                    format!("{cidr} is not inside the VPC's {vpc_cidr}"),
                ));
            }
            if !(16..=28).contains(&cidr.prefix_len()) {
                return Err(self.error(
                    &key,
                    raw_subnet.cidr.span(),
                    format!("{cidr}: a subnet's prefix length must be between /16 and /28"),
                ));
            }
            if let Some((j, other)) = subnets
                .iter()
                .enumerate()
                .find(|(_, other)| other.cidr.contains(&cidr) || cidr.contains(&other.cidr))
            {
                return Err(self.error(
                    &key,
                    raw_subnet.cidr.span(),
                    format!(
                        "{cidr} overlaps network.subnets[{j}] ({}); subnets must not overlap",
                        other.cidr
                    ),
                ));
            }
            let az_key = format!("network.subnets[{i}].az");
            let az = raw_subnet.az.get_ref();
            if !is_zone_of(az, region) {
                return Err(self.error(
                    &az_key,
                    raw_subnet.az.span(),
                    format!(
                        "{az} is not an availability zone of region {region} (expected {region}a, {region}b, ...)",
                        az = Quoted(az)
                    ),
                ));
            }
            // The load balancer and the interface endpoints take one subnet per zone
            // (CreateLoadBalancer: "You can specify only one subnet per Availability Zone").
            if let Some(j) = subnets.iter().position(|other| &other.az == az) {
                return Err(self.error(
                    &az_key,
                    raw_subnet.az.span(),
                    format!(
                        "network.subnets[{j}] is already in {az}; the load balancer and the \
                         interface endpoints take one subnet per availability zone, so give \
                         each subnet its own zone"
                    ),
                ));
            }
            subnets.push(Subnet {
                cidr,
                az: az.clone(),
            });
        }
        let vpc_link = match raw.vpc_link.as_ref() {
            None => None,
            Some(word) => match word.get_ref().as_str() {
                "v2" => Some(VpcLinkVersion::V2),
                "v1" => Some(VpcLinkVersion::V1),
                other => {
                    return Err(self.error(
                        "network.vpc_link",
                        word.span(),
                        format!(
                            "{} is not a kind of VPC link; use \"v2\" (the default, AWS's \
                             recommendation) or \"v1\" (the legacy link on the NLB)",
                            Quoted(other)
                        ),
                    ));
                }
            },
        };
        let load_balancer = match raw.load_balancer.as_ref() {
            None if public => LoadBalancerKind::Alb,
            None => LoadBalancerKind::Nlb,
            Some(word) => match word.get_ref().as_str() {
                "nlb" => LoadBalancerKind::Nlb,
                "alb" => LoadBalancerKind::Alb,
                other => {
                    return Err(self.error(
                        "network.load_balancer",
                        word.span(),
                        format!(
                            "{} is not a kind of load balancer; use \"nlb\" (a Network Load \
                             Balancer, the default) or \"alb\" (an Application Load Balancer)",
                            Quoted(other)
                        ),
                    ));
                }
            },
        };
        if let (LoadBalancerKind::Alb, Some(VpcLinkVersion::V1)) = (load_balancer, vpc_link) {
            let span = raw.vpc_link.as_ref().map(Spanned::span).unwrap_or_default();
            return Err(self.error(
                "network.vpc_link",
                span,
                "a VPC link V1 reaches only a Network Load Balancer, and `load_balancer` is \
                 \"alb\": remove `vpc_link` (or set it to \"v2\"), or use `load_balancer = \
                 \"nlb\"`",
            ));
        }
        let egress = match raw.egress.as_ref() {
            None if public => Egress::PublicIp,
            None => Egress::Endpoints,
            Some(word) => match word.get_ref().as_str() {
                "endpoints" => Egress::Endpoints,
                "nat" => Egress::Nat,
                other => {
                    return Err(self.error(
                        "network.egress",
                        word.span(),
                        format!(
                            "{} is not a way out for the tasks; use \"endpoints\" (VPC \
                             endpoints, the default) or \"nat\" (a NAT gateway)",
                            Quoted(other)
                        ),
                    ));
                }
            },
        };
        let mut public_subnets: Vec<Subnet> = Vec::new();
        match (&raw.public_subnets, egress) {
            (None, Egress::Nat) => {
                return Err(self.error(
                    "network.egress",
                    raw.egress.as_ref().map(Spanned::span).unwrap_or_default(),
                    "a NAT gateway stands in a public subnet: add `public_subnets = [ { cidr = \
                     \"10.0.101.0/24\", az = \"...\" } ]` under [network]",
                ));
            }
            (Some(given), Egress::Endpoints | Egress::PublicIp) => {
                return Err(self.error(
                    "network.public_subnets",
                    given.span(),
                    "public subnets are only for `egress = \"nat\"` (the NAT gateway's); the \
                     endpoints design has none",
                ));
            }
            (Some(given), Egress::Nat) => {
                if given.get_ref().is_empty() {
                    return Err(self.error(
                        "network.public_subnets",
                        given.span(),
                        "give at least one public subnet: the NAT gateway stands in the first",
                    ));
                }
                for (i, raw_subnet) in given.get_ref().iter().enumerate() {
                    let key = format!("network.public_subnets[{i}].cidr");
                    let cidr = self.cidr(&key, &raw_subnet.cidr)?;
                    if !vpc_cidr.contains(&cidr) || !(16..=28).contains(&cidr.prefix_len()) {
                        return Err(self.error(
                            &key,
                            raw_subnet.cidr.span(),
                            format!("{cidr} must be inside the VPC's {vpc_cidr}, /16 to /28"),
                        ));
                    }
                    if let Some(other) = subnets
                        .iter()
                        .chain(&public_subnets)
                        .find(|o| o.cidr.contains(&cidr) || cidr.contains(&o.cidr))
                    {
                        return Err(self.error(
                            &key,
                            raw_subnet.cidr.span(),
                            format!(
                                "{cidr} overlaps the subnet {}; subnets must not overlap",
                                other.cidr
                            ),
                        ));
                    }
                    let az = raw_subnet.az.get_ref();
                    if !is_zone_of(az, region) {
                        return Err(self.error(
                            &format!("network.public_subnets[{i}].az"),
                            raw_subnet.az.span(),
                            format!(
                                "{az} is not an availability zone of region {region}",
                                az = Quoted(az)
                            ),
                        ));
                    }
                    public_subnets.push(Subnet {
                        cidr,
                        az: az.clone(),
                    });
                }
            }
            (None, Egress::Endpoints | Egress::PublicIp) => {}
        }
        if egress == Egress::Nat
            && let Some(first) = raw.endpoints.as_ref().and_then(|e| e.first())
        {
            return Err(self.error(
                "network.endpoints[0]",
                first.span(),
                "with `egress = \"nat\"` the tasks reach every AWS service through the NAT \
                 gateway, and the stack makes no endpoints: remove `endpoints`",
            ));
        }
        Ok(Network {
            vpc_cidr,
            subnets,
            flow_logs: raw.flow_logs.unwrap_or(false),
            endpoints,
            vpc_link,
            load_balancer,
            egress,
            public_subnets,
            entry,
        })
    }

    /// The env file's entry, refusing a public one it does not acknowledge and the settings
    /// that have no meaning without API Gateway and private subnets.
    fn entry(&self, raw: &RawNetwork) -> Result<Entry, ConfigError> {
        let span = raw.entry.as_ref().map(Spanned::span).unwrap_or_default();
        let entry = match raw.entry.as_ref().map(|w| w.get_ref().as_str()) {
            None | Some("api_gateway") => Entry::ApiGateway,
            Some("public_load_balancer") => Entry::PublicLoadBalancer,
            Some(other) => {
                return Err(self.error(
                    "network.entry",
                    span,
                    format!(
                        "{} is not a way in; use \"api_gateway\" (API Gateway and a VPC link, \
                         the default) or \"public_load_balancer\" (an internet-facing ALB and \
                         public tasks)",
                        Quoted(other)
                    ),
                ));
            }
        };
        let acknowledged = raw.acknowledge_public_entry.as_ref();
        match (entry, acknowledged) {
            (Entry::ApiGateway, Some(given)) => {
                return Err(self.error(
                    "network.acknowledge_public_entry",
                    given.span(),
                    "this acknowledges `entry = \"public_load_balancer\"`, which the env file \
                     does not set: remove it",
                ));
            }
            (Entry::PublicLoadBalancer, given) if given.is_none_or(|g| !*g.get_ref()) => {
                return Err(self.error(
                    "network.acknowledge_public_entry",
                    given.map_or(span.clone(), Spanned::span),
                    "a public load balancer lets anyone on the internet call every route of the \
                     service over plain HTTP, with no API Gateway in front (no throttling, no \
                     authorization, no TLS), and gives the tasks public IP addresses: the \
                     original design calls it not for production. To build it anyway, add \
                     `acknowledge_public_entry = true` under [network] (to remove a built one, \
                     `down` without --env goes by what its state file recorded)",
                ));
            }
            _ => {}
        }
        if entry == Entry::ApiGateway {
            return Ok(entry);
        }
        let why_not = [
            (
                "network.vpc_link",
                raw.vpc_link.as_ref().map(Spanned::span),
                "there is no VPC link without API Gateway: remove `vpc_link`",
            ),
            (
                "network.egress",
                raw.egress.as_ref().map(Spanned::span),
                "with a public entry the tasks have public addresses and reach ECR, CloudWatch \
                 Logs and any registry through the internet gateway: remove `egress`",
            ),
            (
                "network.public_subnets",
                raw.public_subnets.as_ref().map(Spanned::span),
                "with a public entry `subnets` are the public subnets, where the load balancer \
                 and the tasks are: remove `public_subnets`",
            ),
            (
                "network.endpoints",
                raw.endpoints
                    .as_ref()
                    .and_then(|e| e.first())
                    .map(Spanned::span),
                "with a public entry the tasks reach every AWS service through the internet \
                 gateway, and the stack makes no endpoints: remove `endpoints`",
            ),
            (
                "network.load_balancer",
                raw.load_balancer
                    .as_ref()
                    .filter(|w| w.get_ref() != "alb")
                    .map(Spanned::span),
                "a public entry is an internet-facing Application Load Balancer, behind a \
                 security group open only on its port: remove `load_balancer`, or set it to \
                 \"alb\"",
            ),
        ];
        if let Some((key, Some(span), problem)) = why_not.into_iter().find(|(_, s, _)| s.is_some())
        {
            return Err(self.error(key, span, problem));
        }
        Ok(entry)
    }

    fn service(
        &self,
        raw: RawService,
        region: &str,
        load_balancer: LoadBalancerKind,
    ) -> Result<Service, ConfigError> {
        let name = self.resource_name("service.name", &raw.name)?;
        let image = raw.image.get_ref().clone();
        if let Err(problem) = ImageRef::parse(&image) {
            return Err(self.error("service.image", raw.image.span(), problem));
        }
        let port = *raw.port.get_ref();
        let port = u16::try_from(port)
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| {
                self.error(
                    "service.port",
                    raw.port.span(),
                    format!("{port} is out of range; a port is 1 to 65535"),
                )
            })?;
        let count = *raw.count.get_ref();
        let count = u32::try_from(count)
            .ok()
            .filter(|c| *c <= 1000)
            .ok_or_else(|| {
                self.error(
                    "service.count",
                    raw.count.span(),
                    format!("{count} is not a task count; use 0 to 1000"),
                )
            })?;
        let cpu = *raw.cpu.get_ref();
        let memory = *raw.memory.get_ref();
        let Some(memories) = fargate_memory_for(cpu) else {
            return Err(self.error(
                "service.cpu",
                raw.cpu.span(),
                format!(
                    "{cpu} is not a Fargate CPU size; choose 256, 512, 1024, 2048, 4096, 8192 or 16384"
                ),
            ));
        };
        if !memories.contains(&memory) {
            return Err(self.error(
                "service.memory",
                raw.memory.span(),
                format!(
                    "Fargate does not offer {memory} MiB with {cpu} CPU units; with {cpu} it offers {} MiB",
                    describe_memories(&memories)
                ),
            ));
        }
        let mut target_health_check = TargetHealthCheck::default();
        let mut raw_path = raw.health_check_path;
        if let Some(check) = raw.target_health_check {
            let key = "service.target_health_check";
            if let Some(path) = check.path {
                if raw_path.is_some() {
                    return Err(self.error(
                        &format!("{key}.path"),
                        path.span(),
                        "the path is already `service.health_check_path`; keep one of the two",
                    ));
                }
                raw_path = Some(path);
            }
            // Elastic Load Balancing's limits (ELB API reference, CreateTargetGroup); an ALB's
            // are stricter on the timeout and the codes.
            let alb = load_balancer == LoadBalancerKind::Alb;
            if let Some(v) = &check.interval {
                target_health_check.interval =
                    self.within(&format!("{key}.interval"), v, 5..=300, "seconds")?;
            }
            if let Some(v) = &check.healthy_threshold {
                target_health_check.healthy_threshold =
                    self.within(&format!("{key}.healthy_threshold"), v, 2..=10, "checks")?;
            }
            if let Some(v) = &check.unhealthy_threshold {
                target_health_check.unhealthy_threshold =
                    self.within(&format!("{key}.unhealthy_threshold"), v, 2..=10, "checks")?;
            }
            if let Some(v) = &check.timeout {
                let timeout = self.within(&format!("{key}.timeout"), v, 2..=120, "seconds")?;
                if timeout > target_health_check.interval {
                    return Err(self.error(
                        &format!("{key}.timeout"),
                        v.span(),
                        format!(
                            "{timeout} s is longer than the interval ({} s); a check must end \
                             before the next begins",
                            target_health_check.interval
                        ),
                    ));
                }
                if alb && timeout == target_health_check.interval {
                    return Err(self.error(
                        &format!("{key}.timeout"),
                        v.span(),
                        format!(
                            "{timeout} s is the interval; an Application Load Balancer wants \
                             the timeout shorter than the interval"
                        ),
                    ));
                }
                target_health_check.timeout = Some(timeout);
            }
            if let Some(matcher) = &check.matcher {
                let text = matcher.get_ref();
                let highest = if alb { 499 } else { 599 };
                let code = |c: &str| c.parse::<u16>().is_ok_and(|c| (200..=highest).contains(&c));
                let ok = !text.is_empty()
                    && text.split(',').all(|part| match part.split_once('-') {
                        Some((a, b)) => code(a) && code(b) && a < b,
                        None => code(part),
                    });
                if !ok {
                    return Err(self.error(
                        &format!("{key}.matcher"),
                        matcher.span(),
                        format!(
                            "{} is not a set of HTTP codes {} checks for: codes 200 to \
                             {highest}, as `200`, `200,204` or `200-299`",
                            Quoted(text),
                            if alb {
                                "an Application Load Balancer"
                            } else {
                                "a Network Load Balancer"
                            }
                        ),
                    ));
                }
                target_health_check.matcher = text.clone();
            }
            // An ALB's timeout must stay below a short interval: pick one that does.
            if alb && check.timeout.is_none() && target_health_check.interval < 10 {
                target_health_check.timeout =
                    Some(target_health_check.interval.saturating_sub(1).max(2));
            }
        }
        let health_check_path = match raw_path {
            None => "/".to_string(),
            Some(path) => {
                let value = path.get_ref();
                if !value.starts_with('/')
                    || value.len() > 1024
                    || value.chars().any(|c| c.is_whitespace() || c.is_control())
                {
                    return Err(self.error(
                        "service.health_check_path",
                        path.span(),
                        format!(
                            "{value} is not an HTTP path: it must start with `/`, have no spaces and be at most 1024 characters",
                            value = Quoted(value)
                        ),
                    ));
                }
                value.clone()
            }
        };
        let user = match &raw.user {
            None => None,
            Some(user) => {
                if let Err(problem) = container_user(user.get_ref()) {
                    return Err(self.error("service.user", user.span(), problem));
                }
                Some(user.get_ref().clone())
            }
        };
        let command = self.argv("service.command", raw.command.as_ref())?;
        let entrypoint = self.argv("service.entrypoint", raw.entrypoint.as_ref())?;
        let working_directory = match &raw.working_directory {
            None => None,
            Some(dir) => {
                let value = dir.get_ref();
                if !value.starts_with('/') || value.chars().any(char::is_control) {
                    return Err(self.error(
                        "service.working_directory",
                        dir.span(),
                        format!(
                            "{} is not an absolute path in the container (for example /app)",
                            Quoted(value)
                        ),
                    ));
                }
                Some(value.clone())
            }
        };
        // Fargate's limits (Amazon ECS developer guide, "Task definition parameters").
        let stop_timeout = raw
            .stop_timeout
            .as_ref()
            .map(|t| {
                self.within(
                    "service.stop_timeout",
                    t,
                    2..=120,
                    "seconds (Fargate's limit)",
                )
            })
            .transpose()?;
        let ephemeral_storage_gib = raw
            .ephemeral_storage_gib
            .as_ref()
            .map(|g| {
                self.within(
                    "service.ephemeral_storage_gib",
                    g,
                    21..=200,
                    "GiB (Fargate gives 20 without it)",
                )
            })
            .transpose()?;
        let cpu_architecture = match raw.cpu_architecture.as_ref() {
            None => CpuArchitecture::X86_64,
            Some(arch) => match arch.get_ref().as_str() {
                "x86_64" => CpuArchitecture::X86_64,
                "arm64" => CpuArchitecture::Arm64,
                other => {
                    return Err(self.error(
                        "service.cpu_architecture",
                        arch.span(),
                        format!(
                            "{} is not a processor Fargate offers; use \"x86_64\" or \"arm64\"",
                            Quoted(other)
                        ),
                    ));
                }
            },
        };
        let spot = match raw.spot {
            None => None,
            Some(spot) => {
                let span = spot.span();
                let spot = spot.into_inner();
                if cpu_architecture == CpuArchitecture::Arm64 {
                    return Err(self.error(
                        "service.spot",
                        span,
                        "Fargate Spot runs no arm64 task (AWS Fargate capacity providers); use \
                         `cpu_architecture = \"x86_64\"` or leave Spot out",
                    ));
                }
                // ECS's limits on a capacity provider strategy item (API reference).
                let base = spot
                    .base
                    .as_ref()
                    .map(|b| self.within("service.spot.base", b, 0..=100_000, "tasks"))
                    .transpose()?
                    .unwrap_or(0);
                let weight = spot
                    .weight
                    .as_ref()
                    .map(|w| {
                        self.within(
                            "service.spot.weight",
                            w,
                            1..=1000,
                            "Spot tasks per regular one",
                        )
                    })
                    .transpose()?
                    .unwrap_or(1);
                Some(Spot { base, weight })
            }
        };
        let health_check_grace_period = raw
            .health_check_grace_period
            .as_ref()
            .map(|g| {
                self.within(
                    "service.health_check_grace_period",
                    g,
                    0..=i64::from(i32::MAX),
                    "seconds",
                )
            })
            .transpose()?
            .unwrap_or(DEFAULT_GRACE_PERIOD);
        let mut environment = std::collections::BTreeMap::new();
        for (variable, value) in raw.env.unwrap_or_default() {
            let key = format!("service.env.{variable}");
            if let Err(problem) = environment_name(&variable) {
                return Err(self.error(&key, value.span(), problem));
            }
            if value.get_ref().contains('\0') {
                return Err(self.error(&key, value.span(), "a value cannot hold a NUL character"));
            }
            environment.insert(variable, value.into_inner());
        }
        let mut secrets = std::collections::BTreeMap::new();
        for (variable, raw_secret) in raw.secrets.unwrap_or_default() {
            let key = format!("service.secrets.{variable}");
            let span = raw_secret.span();
            if let Err(problem) = environment_name(&variable) {
                return Err(self.error(&key, span, problem));
            }
            if environment.contains_key(&variable) {
                return Err(self.error(
                    &key,
                    span,
                    format!("{variable} is also under [service.env]; a variable has one value"),
                ));
            }
            secrets.insert(variable, self.secret(&key, raw_secret, region)?);
        }
        let task_role = raw.task_role.map(|role| self.task_role(role)).transpose()?;
        let secrets_kms_key = match &raw.secrets_kms_key {
            None => None,
            Some(key) if secrets.is_empty() => {
                return Err(self.error(
                    "service.secrets_kms_key",
                    key.span(),
                    "a key for the secrets is used only with [service.secrets]",
                ));
            }
            Some(key) => {
                if let Err(problem) = kms_key_arn(key.get_ref(), region) {
                    return Err(self.error("service.secrets_kms_key", key.span(), problem));
                }
                Some(key.get_ref().clone())
            }
        };
        let container_health_check = raw
            .container_health_check
            .map(|check| self.container_health_check(check))
            .transpose()?;
        let rollout = self.rollout(raw.deployment)?;
        let autoscaling = raw
            .autoscaling
            .map(|a| self.autoscaling(a, count, &raw.count, load_balancer))
            .transpose()?;
        Ok(Service {
            name,
            image,
            port,
            count,
            cpu: u32::try_from(cpu).unwrap_or_default(),
            memory: u32::try_from(memory).unwrap_or_default(),
            health_check_path,
            target_health_check,
            readonly_root_filesystem: raw.readonly_root_filesystem.unwrap_or(false),
            user,
            command,
            entrypoint,
            working_directory,
            stop_timeout,
            cpu_architecture,
            ephemeral_storage_gib,
            spot,
            environment,
            secrets,
            secrets_kms_key,
            task_role,
            container_health_check,
            health_check_grace_period,
            rollout,
            autoscaling,
        })
    }

    /// The task role: managed policies by ARN, and statements of actions on resources.
    fn task_role(&self, raw: Spanned<RawTaskRole>) -> Result<TaskRole, ConfigError> {
        let span = raw.span();
        let raw = raw.into_inner();
        let key = "service.task_role";
        let mut role = TaskRole {
            policy_arns: Vec::new(),
            statements: Vec::new(),
        };
        for (i, arn) in raw.policy_arns.iter().flatten().enumerate() {
            let text = arn.get_ref();
            let parts: Vec<&str> = text.splitn(6, ':').collect();
            let ok = parts.len() == 6
                && parts[0] == "arn"
                && parts[1].starts_with("aws")
                && parts[2] == "iam"
                && parts[3].is_empty()
                && (parts[4] == "aws"
                    || (parts[4].len() == 12 && parts[4].bytes().all(|b| b.is_ascii_digit())))
                && parts[5]
                    .strip_prefix("policy/")
                    .is_some_and(|p| !p.is_empty());
            if !ok {
                return Err(self.error(
                    &format!("{key}.policy_arns[{i}]"),
                    arn.span(),
                    format!(
                        "{} is not a managed policy's ARN (arn:aws:iam::aws:policy/<name> or \
                         arn:aws:iam::<account>:policy/<name>)",
                        Quoted(text)
                    ),
                ));
            }
            role.policy_arns.push(text.clone());
        }
        // IAM attaches at most 10 managed policies to a role by default (IAM quotas).
        if role.policy_arns.len() > 10 {
            return Err(self.error(
                &format!("{key}.policy_arns"),
                span,
                "IAM attaches at most 10 managed policies to a role; merge some into statements",
            ));
        }
        for (i, raw) in raw.statements.into_iter().flatten().enumerate() {
            let at = format!("{key}.statements[{i}]");
            let raw = raw.into_inner();
            let allow = match raw.effect.as_ref().map(|e| e.get_ref().as_str()) {
                None | Some("Allow") => true,
                Some("Deny") => false,
                Some(other) => {
                    return Err(self.error(
                        &format!("{at}.effect"),
                        raw.effect.as_ref().map_or(0..0, Spanned::span),
                        format!(
                            "{} is not an effect; use \"Allow\" or \"Deny\"",
                            Quoted(other)
                        ),
                    ));
                }
            };
            let actions: Vec<String> = raw
                .actions
                .get_ref()
                .iter()
                .map(|a| a.get_ref().clone())
                .collect();
            if actions.is_empty() {
                return Err(self.error(
                    &format!("{at}.actions"),
                    raw.actions.span(),
                    "name at least one action",
                ));
            }
            for (j, action) in raw.actions.get_ref().iter().enumerate() {
                let text = action.get_ref();
                let ok = text.split_once(':').is_some_and(|(service, name)| {
                    !service.is_empty()
                        && service
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                        && !name.is_empty()
                        && name
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'*' || b == b'?')
                });
                if !ok {
                    return Err(self.error(
                        &format!("{at}.actions[{j}]"),
                        action.span(),
                        format!(
                            "{} is not an IAM action (service:Action, e.g. sqs:SendMessage)",
                            Quoted(text)
                        ),
                    ));
                }
            }
            let resources: Vec<String> = raw
                .resources
                .get_ref()
                .iter()
                .map(|r| r.get_ref().clone())
                .collect();
            if resources.is_empty() {
                return Err(self.error(
                    &format!("{at}.resources"),
                    raw.resources.span(),
                    "name at least one resource (an ARN, or \"*\")",
                ));
            }
            for (j, resource) in raw.resources.get_ref().iter().enumerate() {
                let text = resource.get_ref();
                if text != "*" && !text.starts_with("arn:") {
                    return Err(self.error(
                        &format!("{at}.resources[{j}]"),
                        resource.span(),
                        format!("{} is not an ARN or \"*\"", Quoted(text)),
                    ));
                }
            }
            role.statements.push(Statement {
                allow,
                actions,
                resources,
            });
        }
        if role.policy_arns.is_empty() && role.statements.is_empty() {
            return Err(self.error(
                key,
                span,
                "a task role needs `policy_arns` or `statements`; without [service.task_role] the \
                 tasks get no AWS credentials",
            ));
        }
        Ok(role)
    }

    /// A secret's source: exactly one of `secretsmanager` (a secret's ARN of `region`, with an
    /// optional JSON `key` and `version`) and `ssm` (a parameter's name or ARN of `region`).
    fn secret(
        &self,
        key: &str,
        raw: Spanned<RawSecret>,
        region: &str,
    ) -> Result<Secret, ConfigError> {
        let span = raw.span();
        let raw = raw.into_inner();
        let word = |v: &Option<Spanned<String>>,
                    what: &str|
         -> Result<Option<String>, ConfigError> {
            match v {
                None => Ok(None),
                Some(v) => {
                    let text = v.get_ref();
                    if text.is_empty() || text.contains(':') || text.chars().any(char::is_control) {
                        Err(self.error(
                            &format!("{key}.{what}"),
                            v.span(),
                            format!("{} is not a {what}: no `:` and not empty", Quoted(text)),
                        ))
                    } else {
                        Ok(Some(text.clone()))
                    }
                }
            }
        };
        match (&raw.secretsmanager, &raw.ssm) {
            (Some(arn), None) => {
                let text = arn.get_ref();
                let parts: Vec<&str> = text.splitn(7, ':').collect();
                let ok = parts.len() == 7
                    && parts[0] == "arn"
                    && parts[1] == partition(region)
                    && parts[2] == "secretsmanager"
                    && parts[4].len() == 12
                    && parts[4].bytes().all(|b| b.is_ascii_digit())
                    && parts[5] == "secret"
                    && parts[6]
                        .rsplit_once('-')
                        .is_some_and(|(name, suffix)| !name.is_empty() && suffix.len() == 6);
                if !ok {
                    return Err(self.error(
                        &format!("{key}.secretsmanager"),
                        arn.span(),
                        format!(
                            "{} is not a secret's full ARN \
                             (arn:{}:secretsmanager:{region}:<account>:secret:<name>-<6 characters>, \
                             as the console shows it); name a JSON key with `key = \"...\"`",
                            Quoted(text),
                            partition(region)
                        ),
                    ));
                }
                if parts[3] != region {
                    return Err(self.error(
                        &format!("{key}.secretsmanager"),
                        arn.span(),
                        format!(
                            "{} is in {}; the tasks reach Secrets Manager of {region} only \
                             (through the stack's endpoint)",
                            Quoted(text),
                            Quoted(parts[3])
                        ),
                    ));
                }
                Ok(Secret::SecretsManager {
                    arn: text.clone(),
                    key: word(&raw.key, "key")?,
                    version: word(&raw.version, "version")?,
                })
            }
            (None, Some(parameter)) => {
                if let Some(extra) = raw.key.as_ref().or(raw.version.as_ref()) {
                    return Err(self.error(
                        key,
                        extra.span(),
                        "`key` and `version` are for Secrets Manager; a parameter is read whole",
                    ));
                }
                let text = parameter.get_ref();
                let ok = if text.starts_with("arn:") {
                    let parts: Vec<&str> = text.splitn(6, ':').collect();
                    parts.len() == 6
                        && parts[2] == "ssm"
                        && parts[3] == region
                        && parts[5].starts_with("parameter/")
                } else {
                    !text.is_empty()
                        && text.len() <= 2048
                        && text
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"_.-/".contains(&b))
                };
                if !ok {
                    return Err(self.error(
                        &format!("{key}.ssm"),
                        parameter.span(),
                        format!(
                            "{} is not a parameter of {region}: give its name (`/app/token`: \
                             letters, digits, `_.-/`) or its ARN in {region}",
                            Quoted(text)
                        ),
                    ));
                }
                Ok(Secret::Ssm {
                    parameter: text.clone(),
                })
            }
            _ => Err(self.error(
                key,
                span,
                "say where the value is: `{ secretsmanager = \"<secret ARN>\" }` (with an \
                 optional `key` and `version`) or `{ ssm = \"<parameter name>\" }`",
            )),
        }
    }

    /// A number of `range`, in `unit`, named `key` in errors.
    fn within(
        &self,
        key: &str,
        value: &Spanned<i64>,
        range: std::ops::RangeInclusive<i64>,
        unit: &str,
    ) -> Result<u32, ConfigError> {
        let v = *value.get_ref();
        if range.contains(&v) {
            Ok(u32::try_from(v).unwrap_or_default())
        } else {
            Err(self.error(
                key,
                value.span(),
                format!(
                    "{v} is out of range: use {} to {} {unit}",
                    range.start(),
                    range.end()
                ),
            ))
        }
    }

    /// A command line (`["exe", "arg", ...]`): at least the executable, no empty word.
    fn argv(
        &self,
        key: &str,
        raw: Option<&Spanned<Vec<String>>>,
    ) -> Result<Vec<String>, ConfigError> {
        let Some(raw) = raw else {
            return Ok(Vec::new());
        };
        let words = raw.get_ref();
        if words.is_empty() || words[0].is_empty() || words.iter().any(|w| w.contains('\0')) {
            return Err(self.error(
                key,
                raw.span(),
                "write the command as a list of words, the program first: [\"java\", \"-jar\", \"/app.jar\"]",
            ));
        }
        Ok(words.clone())
    }

    fn container_health_check(
        &self,
        raw: Spanned<RawContainerHealthCheck>,
    ) -> Result<ContainerHealthCheck, ConfigError> {
        let raw = raw.into_inner();
        let key = "service.container_health_check";
        let command = raw.command.get_ref();
        let ok = match command.first().map(String::as_str) {
            Some("CMD") => command.len() >= 2 && !command[1].is_empty(),
            Some("CMD-SHELL") => command.len() == 2 && !command[1].trim().is_empty(),
            _ => false,
        };
        if !ok {
            return Err(self.error(
                &format!("{key}.command"),
                raw.command.span(),
                "write [\"CMD-SHELL\", \"curl -f http://localhost:8080/ || exit 1\"] (a shell \
                 command) or [\"CMD\", \"/bin/check\", \"arg\"] (a program and its arguments)",
            ));
        }
        let number = |name: &str, value: &Option<Spanned<i64>>, range, default| match value {
            None => Ok(default),
            Some(v) => self.within(&format!("{key}.{name}"), v, range, "seconds"),
        };
        let retries = match &raw.retries {
            None => 3,
            Some(v) => self.within(&format!("{key}.retries"), v, 1..=10, "failures")?,
        };
        Ok(ContainerHealthCheck {
            command: command.clone(),
            interval: number("interval", &raw.interval, 5..=300, 30)?,
            timeout: number("timeout", &raw.timeout, 2..=60, 5)?,
            retries,
            start_period: number("start_period", &raw.start_period, 0..=300, 0)?,
        })
    }

    fn rollout(&self, raw: Option<RawRollout>) -> Result<Rollout, ConfigError> {
        let mut rollout = Rollout::default();
        let Some(raw) = raw else { return Ok(rollout) };
        if let Some(min) = &raw.minimum_healthy_percent {
            rollout.minimum_healthy_percent = self.within(
                "service.deployment.minimum_healthy_percent",
                min,
                0..=100,
                "percent",
            )?;
        }
        if let Some(max) = &raw.maximum_percent {
            // The subnets are sized for twice the tasks (`subnet_too_small`).
            rollout.maximum_percent = self.within(
                "service.deployment.maximum_percent",
                max,
                100..=200,
                "percent",
            )?;
            if rollout.maximum_percent <= rollout.minimum_healthy_percent {
                return Err(self.error(
                    "service.deployment.maximum_percent",
                    max.span(),
                    format!(
                        "{}% leaves a deployment no room: it must be above \
                         minimum_healthy_percent ({}%), or no task could be started or stopped",
                        rollout.maximum_percent, rollout.minimum_healthy_percent
                    ),
                ));
            }
        } else if rollout.minimum_healthy_percent >= rollout.maximum_percent {
            rollout.maximum_percent = 200;
        }
        if let Some(alarms) = &raw.alarms {
            for (i, alarm) in alarms.get_ref().iter().enumerate() {
                let name = alarm.get_ref();
                if name.is_empty() || name.len() > 255 || name.chars().any(char::is_control) {
                    return Err(self.error(
                        &format!("service.deployment.alarms[{i}]"),
                        alarm.span(),
                        format!(
                            "{} is not a CloudWatch alarm name (1 to 255 characters)",
                            Quoted(name)
                        ),
                    ));
                }
                rollout.alarms.push(name.clone());
            }
        }
        Ok(rollout)
    }

    fn autoscaling(
        &self,
        raw: Spanned<RawAutoscaling>,
        count: u32,
        raw_count: &Spanned<i64>,
        load_balancer: LoadBalancerKind,
    ) -> Result<Autoscaling, ConfigError> {
        let span = raw.span();
        let raw = raw.into_inner();
        let key = "service.autoscaling";
        let requests = match &raw.requests {
            None => None,
            Some(requests) if load_balancer == LoadBalancerKind::Nlb => {
                return Err(self.error(
                    &format!("{key}.requests"),
                    requests.span(),
                    "scaling on requests needs an Application Load Balancer: ECS's \
                     request-count metric exists only behind one, and this stack's is a \
                     Network Load Balancer; set `load_balancer = \"alb\"` under [network], or \
                     scale on `cpu` or `memory`, or on a schedule",
                ));
            }
            Some(requests) => Some(self.within(
                &format!("{key}.requests"),
                requests,
                1..=1_000_000,
                "requests per task per minute",
            )?),
        };
        let min = self.within(&format!("{key}.min"), &raw.min, 0..=1000, "tasks")?;
        let max = self.within(&format!("{key}.max"), &raw.max, 1..=1000, "tasks")?;
        if max < min {
            return Err(self.error(
                &format!("{key}.max"),
                raw.max.span(),
                format!("{max} is below min ({min})"),
            ));
        }
        if !(min..=max).contains(&count) {
            return Err(self.error(
                "service.count",
                raw_count.span(),
                format!(
                    "{count} is outside autoscaling's {min} to {max}: `count` is the number a \
                     new service starts with, so make it one the autoscaler allows"
                ),
            ));
        }
        let target = |name: &str, v: &Option<Spanned<i64>>| {
            v.as_ref()
                .map(|v| self.within(&format!("{key}.{name}"), v, 10..=90, "percent"))
                .transpose()
        };
        let cpu = target("cpu", &raw.cpu)?;
        let memory = target("memory", &raw.memory)?;
        let cooldown = |name: &str, v: &Option<Spanned<i64>>, default| match v {
            None => Ok(default),
            Some(v) => self.within(&format!("{key}.{name}"), v, 0..=3600, "seconds"),
        };
        let scale_in_cooldown = cooldown("scale_in_cooldown", &raw.scale_in_cooldown, 300)?;
        let scale_out_cooldown = cooldown("scale_out_cooldown", &raw.scale_out_cooldown, 60)?;
        let mut schedules: Vec<ScheduledScaling> = Vec::new();
        for (i, raw) in raw.schedule.unwrap_or_default().into_iter().enumerate() {
            let raw = raw.into_inner();
            let at = format!("{key}.schedule[{i}]");
            let name = raw.name.get_ref();
            let name_ok = !name.is_empty()
                && name.len() <= 64
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !name_ok {
                return Err(self.error(
                    &format!("{at}.name"),
                    raw.name.span(),
                    format!(
                        "{} is not a usable name: 1 to 64 letters, digits, hyphens or underscores",
                        Quoted(name)
                    ),
                ));
            }
            if schedules.iter().any(|s| &s.name == name) {
                return Err(self.error(
                    &format!("{at}.name"),
                    raw.name.span(),
                    format!("another schedule is already named {}", Quoted(name)),
                ));
            }
            if let Err(problem) = cron_fields(raw.cron.get_ref()) {
                return Err(self.error(&format!("{at}.cron"), raw.cron.span(), problem));
            }
            let timezone = match &raw.timezone {
                None => None,
                Some(zone) => {
                    let z = zone.get_ref();
                    let ok = !z.is_empty()
                        && z.len() <= 64
                        && z.split('/').all(|part| {
                            !part.is_empty()
                                && part.bytes().all(|b| {
                                    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'+')
                                })
                        });
                    if !ok {
                        return Err(self.error(
                            &format!("{at}.timezone"),
                            zone.span(),
                            format!(
                                "{} is not a time zone name (for example Europe/Dublin or UTC)",
                                Quoted(z)
                            ),
                        ));
                    }
                    Some(z.clone())
                }
            };
            let smin = self.within(&format!("{at}.min"), &raw.min, 0..=1000, "tasks")?;
            let smax = self.within(&format!("{at}.max"), &raw.max, 1..=1000, "tasks")?;
            if smax < smin {
                return Err(self.error(
                    &format!("{at}.max"),
                    raw.max.span(),
                    format!("{smax} is below the schedule's min ({smin})"),
                ));
            }
            schedules.push(ScheduledScaling {
                name: name.clone(),
                cron: raw.cron.get_ref().clone(),
                timezone,
                min: smin,
                max: smax,
            });
        }
        if cpu.is_none() && memory.is_none() && requests.is_none() && schedules.is_empty() {
            return Err(self.error(
                key,
                span,
                "autoscaling needs something to scale on: `cpu = 60` (target average CPU, \
                 percent), `memory = 70`, `requests = 1000` (per task per minute, with \
                 `load_balancer = \"alb\"`), or a [[service.autoscaling.schedule]]",
            ));
        }
        Ok(Autoscaling {
            min,
            max,
            cpu,
            memory,
            requests,
            scale_in_cooldown,
            scale_out_cooldown,
            schedules,
        })
    }
}

/// Why `name` cannot be a container's environment variable: a shell name, and not one the
/// ECS agent sets for the container itself.
fn environment_name(name: &str) -> Result<(), String> {
    let ok = name.len() <= 255
        && name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !ok {
        return Err(format!(
            "{} is not an environment variable name: letters, digits and underscores, not \
             starting with a digit",
            Quoted(name)
        ));
    }
    if name.starts_with("ECS_CONTAINER_METADATA_URI")
        || name.starts_with("AWS_CONTAINER_CREDENTIALS")
        || name == "AWS_EXECUTION_ENV"
    {
        return Err(format!(
            "{name} is set by the ECS agent for the container (metadata and credentials); \
             choose another name"
        ));
    }
    Ok(())
}

/// The most `[tags]` an env file may have: AWS's 50 per resource, less gwfargate's own four
/// (`gwfargate:env`, `Environment`, `Name`, and `gwfargate:created` on the repository).
const MAX_USER_TAGS: usize = 46;
/// The longest tag key, in characters.
const MAX_TAG_KEY: usize = 128;
/// The longest tag value, in characters.
const MAX_TAG_VALUE: usize = 256;

/// A character every tagged service accepts in a tag (IAM's and API Gateway's set).
fn tag_char(c: char) -> bool {
    c.is_alphanumeric() || c == ' ' || "_.:/=+-@".contains(c)
}

/// Why `key` cannot be one of the user's tag keys: AWS's reserved prefix, gwfargate's own
/// keys, or characters some service refuses.
fn tag_key(key: &str) -> Result<(), String> {
    if key.is_empty() || key.chars().count() > MAX_TAG_KEY || !key.chars().all(tag_char) {
        return Err(format!(
            "{} is not a tag key every AWS service takes: 1 to {MAX_TAG_KEY} letters, digits, \
             spaces and `_ . : / = + - @`",
            Quoted(key)
        ));
    }
    let lower = key.to_lowercase();
    if lower.starts_with("aws:") {
        return Err(format!(
            "{key} begins with `aws:`, which AWS keeps for its own tags; choose another key"
        ));
    }
    let own = [TAG_ENVIRONMENT, TAG_NAME];
    if lower.starts_with("gwfargate:") || own.iter().any(|o| o.to_lowercase() == lower) {
        return Err(format!(
            "{key} is a key gwfargate sets itself (`Name`, `Environment` and `gwfargate:*` \
             find and mark the stack's resources); choose another key"
        ));
    }
    Ok(())
}

/// Why `cron` is not Application Auto Scaling's six cron fields.
fn cron_fields(cron: &str) -> Result<(), String> {
    let fields: Vec<&str> = cron.split_whitespace().collect();
    let wrong = |why: &str| {
        Err(format!(
            "{} {why}: write Application Auto Scaling's six fields, minutes hours \
             day-of-month month day-of-week year, e.g. \"0 8 ? * MON-FRI *\" (one of the \
             two days is `?`)",
            Quoted(cron)
        ))
    };
    if cron.starts_with("cron(") {
        return wrong("is wrapped in cron(...), which gwfargate adds");
    }
    if fields.len() != 6 {
        return wrong(&format!("has {} fields", fields.len()));
    }
    if fields.iter().any(|f| {
        !f.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b",-*?/#LW".contains(&b))
    }) {
        return wrong("has a character cron does not use");
    }
    if (fields[2] == "?") == (fields[4] == "?") {
        return wrong("must have `?` in exactly one of day-of-month and day-of-week");
    }
    Ok(())
}

/// The AWS services the tasks reach through interface endpoints (S3 has a gateway endpoint).
pub const INTERFACE_SERVICES: [&str; 3] = ["ecr.api", "ecr.dkr", "logs"];

/// The interface endpoints' services for a service with `secrets`, with the env file's
/// `extra` ones.
fn interface_services(
    secrets: &std::collections::BTreeMap<String, Secret>,
    extra: &[String],
) -> Vec<String> {
    let mut services: Vec<String> = INTERFACE_SERVICES.iter().map(|s| s.to_string()).collect();
    let wanted = secrets
        .values()
        .map(|s| s.endpoint_service())
        .chain(extra.iter().map(String::as_str))
        .filter(|s| !GATEWAY_SERVICES.contains(s));
    for service in wanted {
        if !services.iter().any(|s| s == service) {
            services.push(service.to_string());
        }
    }
    services
}

/// Addresses AWS keeps in every subnet (network, router, DNS, future use, broadcast).
const RESERVED_PER_SUBNET: u64 = 5;

/// Free addresses a subnet needs for an NLB to be made in it when AWS picks the address
/// ("Update the Availability Zones for your Network Load Balancer", Considerations).
const FREE_FOR_LOAD_BALANCER: u64 = 8;

/// The first subnet too small for the stack, and why: at the load balancer's creation it
/// needs 8 free addresses beside the interface endpoints' (one each); during a deployment
/// (maximum 200%) twice the tasks, spread over the subnets, beside the endpoints and the
/// load balancer's own address.
fn subnet_too_small(network: &Network, count: u32, endpoints: usize) -> Option<(usize, String)> {
    let endpoints = endpoints as u64;
    let zones = network.subnets.len() as u64;
    let tasks = (u64::from(count) * 2).div_ceil(zones.max(1));
    let need = (FREE_FOR_LOAD_BALANCER + endpoints).max(1 + endpoints + tasks);
    network.subnets.iter().enumerate().find_map(|(i, subnet)| {
        let usable = (1u64 << (32 - u32::from(subnet.cidr.prefix_len())))
            .saturating_sub(RESERVED_PER_SUBNET);
        (usable < need).then(|| {
            (
                i,
                format!(
                    "{} has {usable} usable addresses (AWS keeps {RESERVED_PER_SUBNET}); the \
                     stack needs {need} in each subnet: {FREE_FOR_LOAD_BALANCER} free for the \
                     load balancer to be made, {endpoints} for the interface endpoints and up to \
                     {tasks} for tasks while a deployment runs ({count} tasks, twice that \
                     during a deployment, over {zones} subnets). Use a larger subnet (a /27 \
                     has 27)",
                    subnet.cidr
                ),
            )
        })
    })
}

/// The memory sizes (MiB) Fargate offers with a CPU size, or `None` for an unknown CPU size.
fn fargate_memory_for(cpu: i64) -> Option<Vec<i64>> {
    let steps = |from: i64, to: i64, step: i64| (from..=to).step_by(step as usize).collect();
    match cpu {
        256 => Some(vec![512, 1024, 2048]),
        512 => Some(steps(1024, 4096, 1024)),
        1024 => Some(steps(2048, 8192, 1024)),
        2048 => Some(steps(4096, 16384, 1024)),
        4096 => Some(steps(8192, 30720, 1024)),
        8192 => Some(steps(16384, 61440, 4096)),
        16384 => Some(steps(32768, 122880, 8192)),
        _ => None,
    }
}

fn describe_memories(memories: &[i64]) -> String {
    match memories {
        [first, .., last] if memories.len() > 3 => {
            let step = memories[1] - first;
            format!("{first} to {last} in steps of {step}")
        }
        _ => memories
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// The AWS partition of a region (`aws`, `aws-cn`, `aws-us-gov`): the second word of its ARNs.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

fn is_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts.iter().all(|p| !p.is_empty())
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| p.chars().all(|c| c.is_ascii_lowercase()))
        && parts[parts.len() - 1].chars().all(|c| c.is_ascii_digit())
}

fn is_zone_of(az: &str, region: &str) -> bool {
    az.strip_prefix(region)
        .is_some_and(|rest| rest.len() == 1 && rest.chars().all(|c| c.is_ascii_lowercase()))
}

/// The dotted key whose value starts at or spans `offset`, read off the text: the nearest
/// `[table]` above and the `key =` of the line. Empty when the line is not an assignment.
fn key_at(text: &str, offset: usize) -> String {
    let before = &text[..offset.min(text.len())];
    let mut line_start = before.rfind('\n').map_or(0, |nl| nl + 1);
    let mut line = text[line_start..].lines().next().unwrap_or_default();
    // An element of an array on a line of its own (`{ cidr = ..., az = ... },`) belongs to
    // the key of the array: the nearest line above that opens one.
    while line.trim_start().starts_with('{') || line.trim_start().starts_with(']') {
        let Some(above) = text[..line_start.saturating_sub(1)].rfind('\n') else {
            line_start = 0;
            line = text.lines().next().unwrap_or_default();
            break;
        };
        line_start = above + 1;
        line = text[line_start..].lines().next().unwrap_or_default();
        if line.contains("= [") {
            break;
        }
    }
    let Some((key, _)) = line.split_once('=') else {
        return String::new();
    };
    let key = key.trim();
    if key.is_empty() || key.starts_with('[') || key.starts_with('{') || key.starts_with('#') {
        return String::new();
    }
    let table = text[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('[') && !l.starts_with("[["))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_string());
    match table {
        Some(table) if !table.is_empty() => format!("{table}.{key}"),
        _ => key.to_string(),
    }
}

/// serde's type words in the user's terms: `expected i64` means a whole number.
fn plain_words(message: &str) -> String {
    let mut text = message.to_string();
    for (rust, plain) in [
        ("expected i64", "expected a whole number"),
        ("expected u64", "expected a whole number"),
        ("expected u32", "expected a whole number"),
        ("expected u16", "expected a whole number"),
        ("floating point", "the number"),
        ("invalid type: string", "found the text"),
        ("invalid type: integer", "found the number"),
        ("invalid type: boolean", "found"),
    ] {
        text = text.replace(rust, plain);
    }
    text
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rfind('\n')
        .map_or(before.len(), |nl| before.len() - nl - 1)
        + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name        = "cluster1"
environment = "dev"
region      = "eu-west-1"

[network]
vpc_cidr = "10.0.0.0/16"
subnets  = [ { cidr = "10.0.1.0/24", az = "eu-west-1a" },
             { cidr = "10.0.2.0/24", az = "eu-west-1b" } ]

[service]
name              = "microservice1"
image             = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/microservice1:1.0.0"
port              = 8080
count             = 1
cpu               = 1024
memory            = 2048
health_check_path = "/actuator/health"

[logs]
retention_days = 30
"#;

    fn check(text: &str) -> Result<Deployment, ConfigError> {
        parse(Path::new("env.toml"), text, None)
    }

    #[test]
    fn accepts_the_reference_env_file() {
        let d = check(GOOD).expect("valid");
        assert_eq!(d.name, "cluster1");
        assert_eq!(d.network.subnets.len(), 2);
        assert_eq!(d.service.port, 8080);
        assert_eq!(d.logs.retention_days, 30);
    }

    #[test]
    fn a_method_may_be_throttled_on_its_own_and_only_the_apis_methods() {
        let with = |api: &str| check(&format!("{GOOD}\n[api]\n{api}\n"));
        let d = with(
            "tracing = true\nthrottle = { rate = 100, burst = 200, methods = { \"ANY /{proxy+}\" = { rate = 5, burst = 10 } } }",
        )
        .expect("valid");
        assert!(d.api.tracing);
        assert_eq!(
            d.api.method_throttles.get("ANY /{proxy+}"),
            Some(&Throttle { rate: 5, burst: 10 })
        );
        assert!(!check(GOOD).expect("valid").api.tracing, "off unless asked");
        let err = with(
            "throttle = { rate = 100, burst = 200, methods = { \"GET /orders\" = { rate = 5, burst = 10 } } }",
        )
        .expect_err("no such method");
        assert_eq!(err.key, "api.throttle.methods.\"GET /orders\"");
        assert!(
            err.problem.contains("\"ANY /\" and \"ANY /{proxy+}\""),
            "{err}"
        );
        let err = with(
            "throttle = { rate = 100, burst = 200, methods = { \"ANY /\" = { rate = 5, burst = 9000 } } }",
        )
        .expect_err("burst beyond the account's");
        assert_eq!(err.key, "api.throttle.methods.\"ANY /\".burst");
    }

    #[test]
    fn cognito_needs_its_user_pools_and_they_need_cognito() {
        let with = |api: &str| check(&format!("{GOOD}\n[api]\n{api}\n"));
        let pool = "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_Abc123";
        let d = with(&format!(
            "auth = \"cognito\"\ncognito_user_pools = [\"{pool}\"]"
        ))
        .expect("valid");
        assert_eq!(
            (d.api.auth, d.api.cognito_user_pools),
            (Auth::Cognito, vec![pool.to_string()])
        );
        for (api, key, problem) in [
            (
                "auth = \"cognito\"",
                "api.cognito_user_pools",
                "needs the user pools",
            ),
            (
                &format!("auth = \"iam\"\ncognito_user_pools = [\"{pool}\"]"),
                "api.cognito_user_pools",
                "only with `auth = \"cognito\"`",
            ),
            (
                "auth = \"cognito\"\ncognito_user_pools = []",
                "api.cognito_user_pools",
                "name 1 to 1000",
            ),
            (
                "auth = \"cognito\"\ncognito_user_pools = [\"arn:aws:cognito-idp:eu-west-1:123456789012:userpool/us-east-1_X\"]",
                "api.cognito_user_pools[0]",
                "is not a user pool ARN",
            ),
        ] {
            let err = with(api).expect_err(problem);
            assert_eq!(err.key, key, "{api}");
            assert!(err.problem.contains(problem), "{err}");
        }
    }

    #[test]
    fn lambda_needs_its_function_of_the_region_and_it_needs_lambda() {
        let with = |api: &str| check(&format!("{GOOD}\n[api]\n{api}\n"));
        let function = "arn:aws:lambda:eu-west-1:123456789012:function:authorize";
        let d = with(&format!(
            "auth = \"lambda\"\nauthorizer = {{ function = \"{function}\", type = \"request\" }}"
        ))
        .expect("valid");
        assert_eq!(
            d.api.lambda_authorizer,
            Some(LambdaAuthorizer {
                function: function.to_string(),
                request: true
            })
        );
        let token = with(&format!(
            "auth = \"lambda\"\nauthorizer = {{ function = \"{function}:live\" }}"
        ))
        .expect("an alias, token by default");
        assert_eq!(token.api.lambda_authorizer.map(|l| l.request), Some(false));
        for (api, key, problem) in [
            (
                "auth = \"lambda\"".to_string(),
                "api.authorizer",
                "needs the function",
            ),
            (
                format!("auth = \"iam\"\nauthorizer = {{ function = \"{function}\" }}"),
                "api.authorizer",
                "only with `auth = \"lambda\"`",
            ),
            (
                format!(
                    "auth = \"lambda\"\nauthorizer = {{ function = \"{}\" }}",
                    function.replace("eu-west-1", "us-east-1")
                ),
                "api.authorizer.function",
                "calls an authorizer of its own region",
            ),
            (
                "auth = \"lambda\"\nauthorizer = { function = \"authorize\" }".to_string(),
                "api.authorizer.function",
                "is not a Lambda function ARN",
            ),
            (
                format!(
                    "auth = \"lambda\"\nauthorizer = {{ function = \"{function}\", type = \"jwt\" }}"
                ),
                "api.authorizer.type",
                "is not a kind of Lambda authorizer",
            ),
        ] {
            let err = with(&api).expect_err(problem);
            assert_eq!(err.key, key, "{api}");
            assert!(err.problem.contains(problem), "{err}");
        }
    }

    #[test]
    fn a_web_acl_is_a_regional_one_of_the_stacks_region() {
        let with = |api: &str| check(&format!("{GOOD}\n[api]\n{api}\n"));
        let acl = "arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/edge/a1b2";
        let d = with(&format!("waf_acl = \"{acl}\"")).expect("valid");
        assert_eq!(d.api.waf_acl.as_deref(), Some(acl));
        for (value, problem) in [
            (
                acl.replace("eu-west-1", "us-east-1"),
                "a stage takes a web ACL of its own region",
            ),
            (
                acl.replace("regional", "global"),
                "is not a regional WAF web ACL ARN",
            ),
            ("edge".to_string(), "is not a regional WAF web ACL ARN"),
        ] {
            let err = with(&format!("waf_acl = \"{value}\"")).expect_err(problem);
            assert_eq!(err.key, "api.waf_acl");
            assert!(err.problem.contains(problem), "{err}");
        }
    }

    #[test]
    fn hardening_options_are_checked_before_any_call() {
        let key = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        let with = |service: &str, logs: &str| {
            check(
                &GOOD
                    .replace("[logs]\n", &format!("[logs]\n{logs}\n"))
                    .replace(
                        "health_check_path = \"/actuator/health\"",
                        &format!("health_check_path = \"/actuator/health\"\n{service}"),
                    ),
            )
        };
        let d = with(
            "user = \"app:app\"\nreadonly_root_filesystem = true",
            &format!("kms_key = \"{key}\"\ncontainer_insights = false"),
        )
        .expect("valid");
        assert_eq!(d.service.user.as_deref(), Some("app:app"));
        assert!(d.service.readonly_root_filesystem);
        assert_eq!(d.logs.kms_key.as_deref(), Some(key));
        assert_eq!(d.logs.container_insights, Some(false));
        for (service, logs, field, problem) in [
            (
                "user = \"root\"",
                "",
                "service.user",
                "runs the container as root",
            ),
            (
                "user = \"0:0\"",
                "",
                "service.user",
                "runs the container as root",
            ),
            ("user = \"a b\"", "", "service.user", "is not a user"),
            (
                "",
                "kms_key = \"alias/logs\"",
                "logs.kms_key",
                "is not a KMS key ARN",
            ),
            (
                "",
                &format!("kms_key = \"{}\"", key.replace("eu-west-1", "us-east-1")),
                "logs.kms_key",
                "use only a key of their own region",
            ),
        ] {
            let err = with(service, logs).expect_err(problem);
            assert_eq!(err.key, field);
            assert!(err.problem.contains(problem), "{err}");
        }
    }

    #[test]
    fn a_secret_is_read_from_its_arn_with_its_key_and_version_as_ecs_writes_them() {
        let sm = |key: Option<&str>, version: Option<&str>| Secret::SecretsManager {
            arn: "arn:aws:secretsmanager:eu-west-1:1:secret:db-AbCdEf".into(),
            key: key.map(str::to_string),
            version: version.map(str::to_string),
        };
        let from = |s: Secret| s.value_from("eu-west-1", "123456789012");
        assert_eq!(
            from(sm(None, None)),
            "arn:aws:secretsmanager:eu-west-1:1:secret:db-AbCdEf"
        );
        assert_eq!(
            from(sm(Some("password"), None)),
            "arn:aws:secretsmanager:eu-west-1:1:secret:db-AbCdEf:password::"
        );
        assert_eq!(
            from(sm(None, Some("AWSPREVIOUS"))),
            "arn:aws:secretsmanager:eu-west-1:1:secret:db-AbCdEf::AWSPREVIOUS:"
        );
        // A staging label of the user's own is a stage too.
        assert_eq!(
            from(sm(None, Some("blue"))),
            "arn:aws:secretsmanager:eu-west-1:1:secret:db-AbCdEf::blue:"
        );
        assert_eq!(
            from(sm(Some("k"), Some("a1b2c3d4-5678-90ab-cdef-0123456789ab"))),
            "arn:aws:secretsmanager:eu-west-1:1:secret:db-AbCdEf:k::a1b2c3d4-5678-90ab-cdef-0123456789ab"
        );
        for (parameter, arn, name) in [
            (
                "/app/token",
                "arn:aws:ssm:eu-west-1:123456789012:parameter/app/token",
                "/app/token",
            ),
            (
                "token",
                "arn:aws:ssm:eu-west-1:123456789012:parameter/token",
                "token",
            ),
            (
                "arn:aws:ssm:eu-west-1:9:parameter/app/token",
                "arn:aws:ssm:eu-west-1:9:parameter/app/token",
                "/app/token",
            ),
        ] {
            let secret = Secret::Ssm {
                parameter: parameter.into(),
            };
            assert_eq!(secret.value_from("eu-west-1", "123456789012"), arn);
            assert_eq!(secret.parameter_name().as_deref(), Some(name));
        }
    }

    #[test]
    fn region_override_applies_before_zone_check() {
        let err = parse(Path::new("env.toml"), GOOD, Some("us-east-1")).expect_err("zones");
        assert_eq!(err.key, "network.subnets[0].az");
    }

    #[test]
    fn reports_line_and_column_of_the_bad_value() {
        let err = check(&GOOD.replace("port              = 8080", "port              = 0"))
            .expect_err("port 0");
        assert_eq!(err.key, "service.port");
        assert_eq!(err.position, Some((14, 21)));
        assert!(
            err.to_string()
                .starts_with("env.toml:14:21: `service.port`"),
            "{err}"
        );
    }

    #[test]
    fn a_value_of_the_wrong_type_names_its_key_in_plain_words() {
        let err = check(&GOOD.replace("count             = 1", "count             = \"1\""))
            .expect_err("a string count");
        assert_eq!(err.key, "service.count");
        assert!(
            err.problem.contains("expected a whole number"),
            "{}",
            err.problem
        );
        let err = check(&GOOD.replace("region      = \"eu-west-1\"", "region      = 5"))
            .expect_err("a number region");
        assert_eq!(err.key, "region");
    }

    #[test]
    fn a_bad_element_on_a_line_of_its_own_names_its_array() {
        let err = check(&GOOD.replace(
            "             { cidr = \"10.0.2.0/24\", az = \"eu-west-1b\" } ]",
            "             { cidr = \"10.0.2.0/24\", az = 7 } ]",
        ))
        .expect_err("a number for an az");
        assert_eq!(err.key, "network.subnets", "{err}");
    }

    #[test]
    fn two_subnets_in_one_zone_are_refused_naming_the_other() {
        let three = GOOD.replace(
            "             { cidr = \"10.0.2.0/24\", az = \"eu-west-1b\" } ]",
            "             { cidr = \"10.0.2.0/24\", az = \"eu-west-1b\" },\n             \
             { cidr = \"10.0.3.0/24\", az = \"eu-west-1a\" } ]",
        );
        let err = check(&three).expect_err("two in eu-west-1a");
        assert_eq!(err.key, "network.subnets[2].az");
        assert!(
            err.problem
                .contains("network.subnets[0] is already in eu-west-1a"),
            "{}",
            err.problem
        );
    }

    #[test]
    fn the_load_balancer_is_an_nlb_unless_the_env_file_asks_for_an_alb() {
        assert_eq!(
            check(GOOD).expect("good").network.load_balancer,
            LoadBalancerKind::Nlb
        );
        let alb = |extra: &str| {
            check(&GOOD.replace(
                "vpc_cidr = \"10.0.0.0/16\"",
                &format!("vpc_cidr = \"10.0.0.0/16\"\nload_balancer = \"alb\"\n{extra}"),
            ))
        };
        let d = alb("").expect("an ALB");
        assert_eq!(d.network.load_balancer, LoadBalancerKind::Alb);
        alb("vpc_link = \"v2\"").expect("an ALB through a V2 link");
        let err = alb("vpc_link = \"v1\"").expect_err("a V1 link reaches no ALB");
        assert_eq!(err.key, "network.vpc_link");
        assert!(
            err.problem.contains("only a Network Load Balancer"),
            "{}",
            err.problem
        );
        let err = check(&GOOD.replace(
            "vpc_cidr = \"10.0.0.0/16\"",
            "vpc_cidr = \"10.0.0.0/16\"\nload_balancer = \"gwlb\"",
        ))
        .expect_err("no such kind");
        assert_eq!(err.key, "network.load_balancer");
        assert!(err.problem.contains("\"alb\""), "{}", err.problem);
    }

    #[test]
    fn an_albs_health_check_keeps_its_timeout_below_the_interval_and_its_codes_below_500() {
        let with = |lb: &str, settings: &str| {
            check(
                &GOOD
                    .replace(
                        "vpc_cidr = \"10.0.0.0/16\"",
                        &format!("vpc_cidr = \"10.0.0.0/16\"\nload_balancer = \"{lb}\""),
                    )
                    .replace(
                        "[logs]",
                        &format!("[service.target_health_check]\n{settings}\n[logs]"),
                    ),
            )
        };
        let alb = with("alb", "interval = 5").expect("a short interval");
        assert_eq!(alb.service.target_health_check.timeout(), Some(4));
        let nlb = with("nlb", "interval = 5").expect("a short interval");
        assert_eq!(nlb.service.target_health_check.timeout(), Some(5));
        let err = with("alb", "interval = 10\ntimeout = 10").expect_err("timeout = interval");
        assert_eq!(err.key, "service.target_health_check.timeout");
        assert!(
            err.problem.contains("shorter than the interval"),
            "{}",
            err.problem
        );
        with("nlb", "interval = 10\ntimeout = 10").expect("an NLB takes it");
        let err = with("alb", "matcher = \"200-599\"").expect_err("5xx on an ALB");
        assert!(err.problem.contains("200 to 499"), "{}", err.problem);
        with("nlb", "matcher = \"200-599\"").expect("an NLB takes 5xx");
    }

    #[test]
    fn a_nat_gateway_needs_a_public_subnet_and_leaves_out_the_endpoints() {
        let with = |extra: &str| {
            check(&GOOD.replace(
                "vpc_cidr = \"10.0.0.0/16\"",
                &format!("vpc_cidr = \"10.0.0.0/16\"\n{extra}"),
            ))
        };
        let public = "public_subnets = [ { cidr = \"10.0.101.0/24\", az = \"eu-west-1a\" } ]";
        let d = with(&format!("egress = \"nat\"\n{public}")).expect("a NAT gateway");
        assert_eq!(d.network.egress, Egress::Nat);
        assert_eq!(d.network.public_subnets.len(), 1);
        assert!(d.interface_services().is_empty() && d.gateway_services().is_empty());
        assert_eq!(check(GOOD).expect("good").network.egress, Egress::Endpoints);
        let err = with("egress = \"nat\"").expect_err("no public subnet");
        assert!(err.problem.contains("public_subnets"), "{}", err.problem);
        let err = with(public).expect_err("public subnets without a NAT gateway");
        assert_eq!(err.key, "network.public_subnets");
        let overlapping = "public_subnets = [ { cidr = \"10.0.1.0/24\", az = \"eu-west-1a\" } ]";
        let err = with(&format!("egress = \"nat\"\n{overlapping}")).expect_err("overlap");
        assert_eq!(err.key, "network.public_subnets[0].cidr");
        let err = with(&format!(
            "egress = \"nat\"\n{public}\nendpoints = [\"sqs\"]"
        ))
        .expect_err("endpoints beside a NAT gateway");
        assert_eq!(err.key, "network.endpoints[0]");
        let err = with("egress = \"internet\"").expect_err("no such way out");
        assert_eq!(err.key, "network.egress");
    }

    #[test]
    fn a_public_entry_is_acknowledged_and_takes_no_setting_of_api_gateway_or_private_subnets() {
        let with = |extra: &str| {
            check(&GOOD.replace(
                "vpc_cidr = \"10.0.0.0/16\"",
                &format!("vpc_cidr = \"10.0.0.0/16\"\n{extra}"),
            ))
        };
        let public = "entry = \"public_load_balancer\"";
        let ok = format!("{public}\nacknowledge_public_entry = true");
        let d = with(&ok).expect("an acknowledged public entry");
        assert_eq!(d.network.entry, Entry::PublicLoadBalancer);
        assert_eq!(d.network.load_balancer, LoadBalancerKind::Alb);
        assert_eq!(d.network.egress, Egress::PublicIp);
        assert!(d.interface_services().is_empty() && d.gateway_services().is_empty());
        assert_eq!(check(GOOD).expect("good").network.entry, Entry::ApiGateway);
        with(&format!("{ok}\nload_balancer = \"alb\"")).expect("alb said outright");
        for unacknowledged in [
            public.to_string(),
            format!("{public}\nacknowledge_public_entry = false"),
        ] {
            let err = with(&unacknowledged).expect_err("not acknowledged");
            assert_eq!(err.key, "network.acknowledge_public_entry");
            assert!(
                err.problem.contains("not for production"),
                "{}",
                err.problem
            );
        }
        let err = with("acknowledge_public_entry = true").expect_err("nothing to acknowledge");
        assert_eq!(err.key, "network.acknowledge_public_entry");
        for (extra, key) in [
            ("vpc_link = \"v2\"", "network.vpc_link"),
            ("egress = \"nat\"", "network.egress"),
            ("egress = \"endpoints\"", "network.egress"),
            (
                "public_subnets = [ { cidr = \"10.0.101.0/24\", az = \"eu-west-1a\" } ]",
                "network.public_subnets",
            ),
            ("endpoints = [\"sqs\"]", "network.endpoints"),
            ("load_balancer = \"nlb\"", "network.load_balancer"),
        ] {
            let err = with(&format!("{ok}\n{extra}")).expect_err(extra);
            assert_eq!(err.key, key, "{extra}");
        }
        let err = check(&format!(
            "{}\n[api]\nauth = \"iam\"\n",
            GOOD.replace(
                "vpc_cidr = \"10.0.0.0/16\"",
                &format!("vpc_cidr = \"10.0.0.0/16\"\n{ok}"),
            )
        ))
        .expect_err("[api] without API Gateway");
        assert_eq!(err.key, "api");
        let err = with("entry = \"internet\"").expect_err("no such way in");
        assert_eq!(err.key, "network.entry");
    }

    #[test]
    fn scaling_on_requests_needs_an_alb_and_a_sane_target() {
        let with = |lb: &str, requests: &str| {
            check(
                &GOOD
                    .replace(
                        "vpc_cidr = \"10.0.0.0/16\"",
                        &format!("vpc_cidr = \"10.0.0.0/16\"\nload_balancer = \"{lb}\""),
                    )
                    .replace(
                        "[logs]",
                        &format!(
                            "[service.autoscaling]\nmin = 1\nmax = 4\nrequests = {requests}\n[logs]"
                        ),
                    ),
            )
        };
        let d = with("alb", "800").expect("requests behind an ALB");
        assert_eq!(d.service.autoscaling.expect("set").requests, Some(800));
        let err = with("nlb", "800").expect_err("no request count behind an NLB");
        assert_eq!(err.key, "service.autoscaling.requests");
        assert!(
            err.problem.contains("load_balancer = \"alb\""),
            "{}",
            err.problem
        );
        let err = with("alb", "0").expect_err("zero requests per task");
        assert_eq!(err.key, "service.autoscaling.requests");
    }

    #[test]
    fn a_name_that_makes_the_load_balancer_internal_dash_is_refused() {
        for name in ["internal", "internal-app"] {
            let err = check(&GOOD.replace("\"cluster1\"", &format!("{name:?}"))).expect_err(name);
            assert_eq!(err.key, "name");
            assert!(err.problem.contains("`internal-`"), "{}", err.problem);
        }
        check(&GOOD.replace("\"cluster1\"", "\"internals\"")).expect("internals is fine");
    }

    #[test]
    fn subnets_too_small_for_the_load_balancer_endpoints_and_tasks_are_refused() {
        let small = |prefix: u8, count: u32| {
            check(
                &GOOD
                    .replace("10.0.1.0/24", &format!("10.0.1.0/{prefix}"))
                    .replace("count             = 1", &format!("count = {count}")),
            )
        };
        // A /28 has 11 usable addresses: 8 free for the NLB and 3 for the endpoints.
        small(28, 1).expect("a /28 holds a small stack");
        let err = small(28, 8).expect_err("8 tasks, 16 while deploying, 8 per subnet");
        assert_eq!(err.key, "network.subnets[0].cidr");
        assert!(
            err.problem.contains("11 usable addresses"),
            "{}",
            err.problem
        );
        assert!(err.problem.contains("needs 12"), "{}", err.problem);
        small(27, 8).expect("a /27 has room");
    }

    #[test]
    fn memory_message_lists_what_fargate_offers() {
        let err = check(&GOOD.replace("memory            = 2048", "memory            = 1024"))
            .expect_err("memory");
        assert!(
            err.problem.contains("2048 to 8192 in steps of 1024"),
            "{}",
            err.problem
        );
    }
}
