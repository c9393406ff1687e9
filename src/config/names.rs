//! Resource names and tags, derived from the deployment alone.
//!
//! Names follow the original design's `<deployment>-<kind>-<purpose>`. AWS caps some of them
//! (load balancers and target groups at 32 characters, IAM roles at 64); a name over its cap is
//! cut and given a short hash of the full name, so it stays unique and the same on every run:
//! `up` must find on its second run exactly what it made on the first.

use sha2::{Digest, Sha256};

use crate::config::Deployment;

/// Tag key that marks every resource of a deployment; its value is the deployment name.
pub const TAG_ENV: &str = "gwfargate:env";
/// Tag key for the environment (stage) name, as in the original design.
pub const TAG_ENVIRONMENT: &str = "Environment";
/// Tag key for a resource's name, shown by the AWS console.
pub const TAG_NAME: &str = "Name";
/// Tag key that marks a resource gwfargate created (rather than found).
pub const TAG_CREATED: &str = "gwfargate:created";

/// Every name the stack uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    /// Deployment name, the prefix of everything and the value of the `gwfargate:env` tag.
    pub deployment: String,
    /// Environment (stage) name, the value of the `Environment` tag.
    pub environment: String,
    /// VPC `Name` tag.
    pub vpc: String,
    /// Route table `Name` tag.
    pub route_table: String,
    /// The public subnets' route table `Name` tag (`egress = "nat"`).
    pub public_route_table: String,
    /// Internet gateway `Name` tag (`egress = "nat"`).
    pub internet_gateway: String,
    /// The NAT gateway's elastic IP `Name` tag.
    pub elastic_ip: String,
    /// NAT gateway `Name` tag.
    pub nat_gateway: String,
    /// The tasks' security group name.
    pub security_group: String,
    /// The interface endpoints' security group name.
    pub endpoint_security_group: String,
    /// Execution role name (at most 64), unique per region.
    pub execution_role: String,
    /// Inline policy name on the execution role.
    pub execution_policy: String,
    /// The containers' log group name.
    pub log_group: String,
    /// The API stage's access log group name.
    pub access_log_group: String,
    /// The VPC flow logs' log group name.
    pub flow_log_group: String,
    /// The role VPC flow logs deliver with (at most 64), unique per region.
    pub flow_log_role: String,
    /// The VPC flow log's `Name` tag.
    pub flow_log: String,
    /// ECS cluster name.
    pub cluster: String,
    /// Task definition family.
    pub task_family: String,
    /// Container name inside the task definition.
    pub container: String,
    /// ECS service name.
    pub service: String,
    /// Load balancer name (at most 32): `-nlb-` or `-alb-` by its kind, so a stack of one
    /// kind never takes the other's for its own.
    pub load_balancer: String,
    /// The Application Load Balancer's security group (`load_balancer = "alb"`).
    pub load_balancer_security_group: String,
    /// Target group name (at most 32): `-tg-` for an NLB's, `-tg-alb-` for an ALB's, so the
    /// two can stand side by side while a stack moves from one to the other.
    pub target_group: String,
    /// VPC link name.
    pub vpc_link: String,
    /// The V2 VPC link's security group.
    pub vpc_link_security_group: String,
    /// REST API name.
    pub rest_api: String,
    /// Usage plan name (`api.auth = "api_key"`).
    pub usage_plan: String,
    /// API key name (`api.auth = "api_key"`).
    pub api_key: String,
    /// Authorizer name (`api.auth = "cognito"` or `"lambda"`).
    pub authorizer: String,
    /// The role API Gateway assumes to call a Lambda authorizer (at most 64), unique per region.
    pub authorizer_role: String,
    /// The role the container's own AWS calls run as (at most 64), unique per region.
    pub task_role: String,
    /// The env file's `[tags]`, carried by every resource beside gwfargate's own.
    pub extra_tags: Vec<(String, String)>,
}

impl Names {
    /// Derives every name from the deployment.
    pub fn new(d: &Deployment) -> Names {
        let n = &d.name;
        let s = &d.service.name;
        Names {
            deployment: n.clone(),
            environment: d.environment.clone(),
            vpc: format!("{n}-vpc"),
            route_table: format!("{n}-rt-private"),
            public_route_table: format!("{n}-rt-public"),
            internet_gateway: format!("{n}-igw"),
            elastic_ip: format!("{n}-eip-nat"),
            nat_gateway: format!("{n}-nat"),
            security_group: format!("{n}-sg-{s}"),
            endpoint_security_group: format!("{n}-sg-vpce"),
            // IAM is global: two regions' stacks of one name must not share a role.
            execution_role: fit(&format!("{n}-role-{s}-{}", d.region), 64),
            execution_policy: format!("{n}-policy-{s}-execution"),
            log_group: format!("/ecs/{n}/{s}"),
            access_log_group: format!("/apigateway/{n}/{s}/access"),
            flow_log_group: format!("/vpc/{n}/flow-logs"),
            flow_log_role: fit(&format!("{n}-role-flow-logs-{}", d.region), 64),
            flow_log: format!("{n}-flow-log"),
            cluster: format!("{n}-cluster"),
            task_family: format!("{n}-task-{s}"),
            container: s.clone(),
            service: format!("{n}-service-{s}"),
            load_balancer: fit(&format!("{n}-{}-{s}", d.network.load_balancer.word()), 32),
            load_balancer_security_group: format!("{n}-sg-alb-{s}"),
            target_group: fit(
                &match d.network.load_balancer {
                    crate::config::LoadBalancerKind::Nlb => format!("{n}-tg-{s}"),
                    crate::config::LoadBalancerKind::Alb => format!("{n}-tg-alb-{s}"),
                },
                32,
            ),
            vpc_link: format!("{n}-vpclink-{s}"),
            vpc_link_security_group: format!("{n}-sg-vpclink-{s}"),
            rest_api: format!("{n}-api-{s}"),
            usage_plan: format!("{n}-plan-{s}"),
            api_key: format!("{n}-key-{s}"),
            authorizer: format!("{n}-authorizer-{s}"),
            authorizer_role: fit(&format!("{n}-role-{s}-authorizer-{}", d.region), 64),
            task_role: fit(&format!("{n}-role-{s}-task-{}", d.region), 64),
            extra_tags: d.tags.clone().into_iter().collect(),
        }
    }

    /// The tags every resource named `name` carries: the deployment's, the environment's,
    /// `Name`, and the env file's `[tags]`.
    pub fn tags(&self, name: &str) -> crate::aws::tags::Tags {
        let mut tags = vec![
            (TAG_ENV.to_string(), self.deployment.clone()),
            (TAG_ENVIRONMENT.to_string(), self.environment.clone()),
            (TAG_NAME.to_string(), name.to_string()),
        ];
        tags.extend(self.extra_tags.iter().cloned());
        tags
    }

    /// Whether tags carry this deployment's `gwfargate:env` tag: the one mark of what gwfargate
    /// made.
    pub fn is_ours<'a>(&self, tags: impl Iterator<Item = (&'a str, &'a str)>) -> bool {
        crate::aws::tags::carries(tags, TAG_ENV, &self.deployment)
    }

    /// `Name` tag of the private subnet at `index` (0-based in the env file).
    pub fn subnet(&self, index: usize) -> String {
        format!("{}-subnet-private-{}", self.deployment, index + 1)
    }

    /// `Name` tag of public subnet `index` (0-based), `<deployment>-subnet-public-<n>`.
    pub fn public_subnet(&self, index: usize) -> String {
        format!("{}-subnet-public-{}", self.deployment, index + 1)
    }

    /// `Name` tag of the VPC endpoint for `service` (`ecr.api`, `logs`, `s3`, ...).
    pub fn endpoint(&self, service: &str) -> String {
        format!("{}-vpce-{}", self.deployment, service.replace('.', "-"))
    }
}

/// Cuts `name` to at most `max` characters, keeping it unique with 8 hex digits of its hash.
pub fn fit(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_string();
    }
    let digest = Sha256::digest(name.as_bytes());
    let hash: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    let keep = max.saturating_sub(hash.len() + 1);
    let head = name[..keep].trim_end_matches('-');
    format!("{head}-{hash}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_are_kept() {
        assert_eq!(
            fit("cluster1-nlb-microservice1", 32),
            "cluster1-nlb-microservice1"
        );
    }

    #[test]
    fn long_names_are_cut_deterministically_and_stay_distinct() {
        let a = fit("averyveryverylongdeployment-nlb-microservice-alpha", 32);
        let b = fit("averyveryverylongdeployment-nlb-microservice-beta", 32);
        assert_eq!(a.len(), 32);
        assert!(b.len() <= 32);
        assert_ne!(a, b);
        assert_eq!(
            a,
            fit("averyveryverylongdeployment-nlb-microservice-alpha", 32)
        );
        assert!(!a.contains("--"), "{a}");
    }
}
