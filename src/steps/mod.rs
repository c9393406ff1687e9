//! The stack as a graph of steps, one per AWS resource kind, each in its own file.
//!
//! Every step module offers the same four things: `find` (by recorded id, then by tag or name,
//! so a lost state file or a lost create answer never leads to a duplicate), `ensure` (find or
//! create, converge settings, wait until ready), `observe` (live state for `status`) and
//! `delete` (remove what gwfargate created and wait until AWS lets dependents go). `up` runs the
//! graph forwards, `down` backwards.

use std::collections::HashMap;

use anyhow::Context as _;

use crate::aws::Clients;
use crate::config::Deployment;
use crate::names::{Names, TAG_ENV, TAG_ENVIRONMENT, TAG_NAME};
use crate::progress::{Progress, StepProgress};
use crate::state::{Record, SharedState};

pub mod cluster;
pub mod ec2;
pub mod ecs;
pub mod elbv2;
pub mod execution_role;
pub mod gateway_endpoint;
pub mod interface_endpoints;
pub mod listener;
pub mod load_balancer;
pub mod log_group;
pub mod repository;
pub mod rest_api;
pub mod route_table;
pub mod security_group;
pub mod service;
pub mod stage;
pub mod subnets;
pub mod target_group;
pub mod task_definition;
pub mod vpc;
pub mod vpc_endpoint;
pub mod vpc_link;

/// Everything a step needs: clients, the deployment, names, and the shared state.
pub struct Ctx {
    /// AWS clients (the SDK retries throttling and 5xx).
    pub aws: Clients,
    /// Clients that send each call once, for creates that are not idempotent (see `create`).
    pub single: Clients,
    /// The validated env file.
    pub deployment: Deployment,
    /// Every resource name.
    pub names: Names,
    /// The AWS account id.
    pub account: String,
    /// The state file, saved on every change.
    pub state: SharedState,
    /// The progress display.
    pub progress: Progress,
    /// `down --purge`: delete a created repository even when it holds images.
    pub purge: bool,
    /// The env file as the user named it, for messages.
    pub env_file: String,
    /// `gwfargate` and the global options this run was given, for the commands it suggests.
    pub command_prefix: String,
    /// The AWS profile named with `--profile`, for the `aws` commands it suggests.
    pub profile: Option<String>,
}

impl Ctx {
    /// The command line to run `subcommand` on this stack again, with this run's options,
    /// e.g. `gwfargate --profile prod up --env config/prod.toml`.
    pub fn command(&self, subcommand: &str) -> String {
        format!(
            "{} {subcommand} --env {}",
            self.command_prefix,
            crate::cli::shell_word(&self.env_file)
        )
    }

    /// The tags every resource carries, plus `Name`.
    pub fn tags(&self, name: &str) -> Vec<(String, String)> {
        vec![
            (TAG_ENV.to_string(), self.deployment.name.clone()),
            (
                TAG_ENVIRONMENT.to_string(),
                self.deployment.environment.clone(),
            ),
            (TAG_NAME.to_string(), name.to_string()),
        ]
    }

    /// The same tags as a map, for APIs that take one.
    pub fn tag_map(&self, name: &str) -> HashMap<String, String> {
        self.tags(name).into_iter().collect()
    }

    /// Whether a tag map carries this deployment's `gwfargate:env` tag.
    pub fn is_ours<'a>(&self, mut tags: impl Iterator<Item = (&'a str, &'a str)>) -> bool {
        tags.any(|(k, v)| k == TAG_ENV && v == self.deployment.name)
    }

    /// The error for a resource that has this stack's name but not its tag: gwfargate neither
    /// takes over nor deletes what it did not create.
    pub fn not_ours(&self, what: &str) -> anyhow::Error {
        anyhow::anyhow!(
            "{what} exists but is not tagged {}={}: gwfargate did not create it and will not \
             take it over. Rename the deployment (`name` in the env file) or remove it",
            TAG_ENV,
            self.deployment.name
        )
    }

    /// Writes the intent to create `key` before the create goes out; returns it (with the
    /// client token to send).
    pub fn intend(
        &self,
        key: &str,
        step: Step,
        name: &str,
    ) -> anyhow::Result<crate::state::Intent> {
        self.state
            .intend(key, step.label(), name)
            .with_context(|| format!("cannot record the intent to create {key} in the state file"))
    }

    /// Records a resource the moment AWS returned its id.
    pub fn record(&self, key: &str, record: Record) -> anyhow::Result<()> {
        self.state
            .record(key, record)
            .with_context(|| format!("cannot record {key} in the state file"))
    }

    /// An ARN of this stack's region and account.
    pub fn arn(&self, service: &str, rest: &str) -> String {
        format!(
            "arn:{}:{service}:{}:{}:{rest}",
            self.partition(),
            self.deployment.region,
            self.account
        )
    }

    /// The AWS partition of the region (`aws`, `aws-cn`, `aws-us-gov`).
    pub fn partition(&self) -> &'static str {
        let region = &self.deployment.region;
        if region.starts_with("cn-") {
            "aws-cn"
        } else if region.starts_with("us-gov-") {
            "aws-us-gov"
        } else {
            "aws"
        }
    }
}

/// One resource as seen live, for `status`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Observed {
    /// Resource kind, e.g. "vpc", "subnet".
    pub kind: &'static str,
    /// Its name.
    pub name: String,
    /// Its id or ARN, when it exists.
    pub id: Option<String>,
    /// Live state: `missing`, or AWS's own word (`available`, `active`, `provisioning`, ...),
    /// or `present` where AWS has no state for the kind.
    pub state: String,
    /// Anything else worth one glance (running/desired, DNS name); `null` when nothing.
    pub detail: Option<String>,
}

impl Observed {
    /// A resource that exists.
    pub fn present(kind: &'static str, name: &str, id: &str, state: &str) -> Observed {
        Observed {
            kind,
            name: name.to_string(),
            id: Some(id.to_string()),
            state: state.to_ascii_lowercase(),
            detail: None,
        }
    }

    /// A resource that does not exist.
    pub fn missing(kind: &'static str, name: &str) -> Observed {
        Observed {
            kind,
            name: name.to_string(),
            id: None,
            state: "missing".to_string(),
            detail: None,
        }
    }

    /// Adds a detail.
    pub fn detail(mut self, detail: impl Into<String>) -> Observed {
        self.detail = Some(detail.into());
        self
    }
}

/// A step of the stack: one AWS resource kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Step {
    /// The VPC.
    Vpc,
    /// The private subnets.
    Subnets,
    /// The route table of the private subnets.
    RouteTable,
    /// The tasks' and endpoints' security group.
    SecurityGroup,
    /// ecr.api, ecr.dkr and logs interface endpoints.
    InterfaceEndpoints,
    /// The S3 gateway endpoint.
    GatewayEndpoint,
    /// The task execution role.
    ExecutionRole,
    /// The log group.
    LogGroup,
    /// The image's ECR repository, and whether the image is pushed.
    Repository,
    /// The ECS cluster.
    Cluster,
    /// The task definition.
    TaskDefinition,
    /// The internal network load balancer.
    LoadBalancer,
    /// The target group.
    TargetGroup,
    /// The TCP listener.
    Listener,
    /// The ECS service.
    Service,
    /// The API Gateway VPC link.
    VpcLink,
    /// The REST API with its routes and integrations.
    RestApi,
    /// The API deployment and stage.
    Stage,
}

impl Step {
    /// Every step, in an order that respects dependencies (for display).
    pub const ALL: [Step; 18] = [
        Step::Vpc,
        Step::Subnets,
        Step::RouteTable,
        Step::SecurityGroup,
        Step::InterfaceEndpoints,
        Step::GatewayEndpoint,
        Step::ExecutionRole,
        Step::LogGroup,
        Step::Repository,
        Step::Cluster,
        Step::TaskDefinition,
        Step::LoadBalancer,
        Step::TargetGroup,
        Step::Listener,
        Step::Service,
        Step::VpcLink,
        Step::RestApi,
        Step::Stage,
    ];

    /// What must exist (and be ready) before this step can run.
    pub fn deps(self) -> Vec<Step> {
        use Step::*;
        match self {
            Vpc | ExecutionRole | LogGroup | Repository | Cluster => vec![],
            Subnets | SecurityGroup | TargetGroup => vec![Vpc],
            RouteTable => vec![Subnets],
            InterfaceEndpoints => vec![Subnets, SecurityGroup],
            GatewayEndpoint => vec![RouteTable],
            // A revision names the image: none is registered for an image not pushed yet,
            // or `status` would show a revision no service runs.
            TaskDefinition => vec![ExecutionRole, LogGroup, Repository],
            // The NLB is on the critical path (minutes to become active): it starts as soon
            // as the subnets exist.
            LoadBalancer => vec![Subnets],
            Listener => vec![LoadBalancer, TargetGroup],
            // Tasks need the listener (ECS requires it), the endpoints (image pull, logs)
            // and the image itself.
            Service => vec![
                Cluster,
                TaskDefinition,
                Listener,
                InterfaceEndpoints,
                GatewayEndpoint,
                SecurityGroup,
                Repository,
            ],
            // A VPC link on an NLB that is not active ends FAILED.
            VpcLink => vec![LoadBalancer],
            // Routes go live only when something listens behind them.
            RestApi => vec![VpcLink, Listener],
            // The stage makes the URL public: only once the service serves.
            Stage => vec![RestApi, Service],
        }
    }

    /// The step's label in progress lines and errors.
    pub fn label(self) -> &'static str {
        match self {
            Step::Vpc => "vpc",
            Step::Subnets => "subnets",
            Step::RouteTable => "route table",
            Step::SecurityGroup => "security group",
            Step::InterfaceEndpoints => "interface endpoints",
            Step::GatewayEndpoint => "gateway endpoint",
            Step::ExecutionRole => "execution role",
            Step::LogGroup => "log group",
            Step::Repository => "image repository",
            Step::Cluster => "ecs cluster",
            Step::TaskDefinition => "task definition",
            Step::LoadBalancer => "load balancer",
            Step::TargetGroup => "target group",
            Step::Listener => "listener",
            Step::Service => "ecs service",
            Step::VpcLink => "vpc link",
            Step::RestApi => "rest api",
            Step::Stage => "api stage",
        }
    }

    /// Finds or creates the resource, converges it, waits until ready. Returns a summary.
    pub async fn ensure(self, ctx: &Ctx, p: &StepProgress) -> anyhow::Result<String> {
        match self {
            Step::Vpc => vpc::ensure(ctx, p).await,
            Step::Subnets => subnets::ensure(ctx, p).await,
            Step::RouteTable => route_table::ensure(ctx, p).await,
            Step::SecurityGroup => security_group::ensure(ctx, p).await,
            Step::InterfaceEndpoints => interface_endpoints::ensure(ctx, p).await,
            Step::GatewayEndpoint => gateway_endpoint::ensure(ctx, p).await,
            Step::ExecutionRole => execution_role::ensure(ctx, p).await,
            Step::LogGroup => log_group::ensure(ctx, p).await,
            Step::Repository => repository::ensure(ctx, p).await,
            Step::Cluster => cluster::ensure(ctx, p).await,
            Step::TaskDefinition => task_definition::ensure(ctx, p).await,
            Step::LoadBalancer => load_balancer::ensure(ctx, p).await,
            Step::TargetGroup => target_group::ensure(ctx, p).await,
            Step::Listener => listener::ensure(ctx, p).await,
            Step::Service => service::ensure(ctx, p).await,
            Step::VpcLink => vpc_link::ensure(ctx, p).await,
            Step::RestApi => rest_api::ensure(ctx, p).await,
            Step::Stage => stage::ensure(ctx, p).await,
        }
    }

    /// Deletes what gwfargate created of this kind and waits until it is gone.
    pub async fn delete(self, ctx: &Ctx, p: &StepProgress) -> anyhow::Result<String> {
        match self {
            Step::Vpc => vpc::delete(ctx, p).await,
            Step::Subnets => subnets::delete(ctx, p).await,
            Step::RouteTable => route_table::delete(ctx, p).await,
            Step::SecurityGroup => security_group::delete(ctx, p).await,
            Step::InterfaceEndpoints => interface_endpoints::delete(ctx, p).await,
            Step::GatewayEndpoint => gateway_endpoint::delete(ctx, p).await,
            Step::ExecutionRole => execution_role::delete(ctx, p).await,
            Step::LogGroup => log_group::delete(ctx, p).await,
            Step::Repository => repository::delete(ctx, p).await,
            Step::Cluster => cluster::delete(ctx, p).await,
            Step::TaskDefinition => task_definition::delete(ctx, p).await,
            Step::LoadBalancer => load_balancer::delete(ctx, p).await,
            Step::TargetGroup => target_group::delete(ctx, p).await,
            Step::Listener => listener::delete(ctx, p).await,
            Step::Service => service::delete(ctx, p).await,
            Step::VpcLink => vpc_link::delete(ctx, p).await,
            Step::RestApi => rest_api::delete(ctx, p).await,
            Step::Stage => stage::delete(ctx, p).await,
        }
    }

    /// Reads the live state of this kind's resources.
    pub async fn observe(self, ctx: &Ctx) -> anyhow::Result<Vec<Observed>> {
        match self {
            Step::Vpc => vpc::observe(ctx).await,
            Step::Subnets => subnets::observe(ctx).await,
            Step::RouteTable => route_table::observe(ctx).await,
            Step::SecurityGroup => security_group::observe(ctx).await,
            Step::InterfaceEndpoints => interface_endpoints::observe(ctx).await,
            Step::GatewayEndpoint => gateway_endpoint::observe(ctx).await,
            Step::ExecutionRole => execution_role::observe(ctx).await,
            Step::LogGroup => log_group::observe(ctx).await,
            Step::Repository => repository::observe(ctx).await,
            Step::Cluster => cluster::observe(ctx).await,
            Step::TaskDefinition => task_definition::observe(ctx).await,
            Step::LoadBalancer => load_balancer::observe(ctx).await,
            Step::TargetGroup => target_group::observe(ctx).await,
            Step::Listener => listener::observe(ctx).await,
            Step::Service => service::observe(ctx).await,
            Step::VpcLink => vpc_link::observe(ctx).await,
            Step::RestApi => rest_api::observe(ctx).await,
            Step::Stage => stage::observe(ctx).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dependency_comes_earlier_in_all() {
        for (i, step) in Step::ALL.iter().enumerate() {
            for dep in step.deps() {
                let at = Step::ALL.iter().position(|s| *s == dep).expect("listed");
                assert!(at < i, "{step:?} depends on later {dep:?}");
            }
        }
    }

    #[test]
    fn the_order_rules_of_aws_are_in_the_graph() {
        assert!(Step::VpcLink.deps().contains(&Step::LoadBalancer));
        assert!(Step::Service.deps().contains(&Step::Listener));
        assert!(Step::Service.deps().contains(&Step::InterfaceEndpoints));
        assert!(Step::RestApi.deps().contains(&Step::VpcLink));
        assert!(Step::RestApi.deps().contains(&Step::Listener));
        assert!(Step::Stage.deps().contains(&Step::Service));
    }

    #[test]
    fn down_deletes_users_before_what_they_use() {
        let rev = crate::graph::reversed(&Step::ALL, Step::deps);
        // The NLB goes only after the VPC link, the link only after the REST API.
        assert!(rev[&Step::LoadBalancer].contains(&Step::VpcLink));
        assert!(rev[&Step::VpcLink].contains(&Step::RestApi));
        assert!(rev[&Step::Listener].contains(&Step::Service));
        assert!(rev[&Step::SecurityGroup].contains(&Step::InterfaceEndpoints));
        assert!(rev[&Step::SecurityGroup].contains(&Step::Service));
        assert!(rev[&Step::Vpc].contains(&Step::Subnets));
    }
}
