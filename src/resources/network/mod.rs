//! The network: VPC, private subnets, their route table, the tasks' and the endpoints' security
//! groups, and the VPC endpoints that replace a NAT gateway; with `egress = "nat"`, public
//! subnets, an internet gateway, an elastic IP and a NAT gateway instead of the endpoints. All
//! EC2; every resource is found by its tags.

use aws_sdk_ec2::types::Filter;

use crate::aws::tags::ec2_filter;
use crate::config::names::{TAG_ENV, TAG_NAME};
use crate::model::Env;

pub mod elastic_ip;
pub mod endpoint;
pub mod endpoint_access;
pub mod flow_log;
pub mod internet_access;
pub mod internet_gateway;
pub mod nat_gateway;
pub mod nat_route;
pub mod route_table;
pub mod security_group;
pub mod subnet;
pub mod vpc;

/// Filters matching this deployment's resources.
pub fn ours(env: &Env) -> Vec<Filter> {
    vec![ec2_filter(&format!("tag:{TAG_ENV}"), &env.deployment.name)]
}

/// Filters matching this deployment's resource named `name`.
pub fn ours_named(env: &Env, name: &str) -> Vec<Filter> {
    let mut filters = ours(env);
    filters.push(ec2_filter(&format!("tag:{TAG_NAME}"), name));
    filters
}

/// Whether EC2 tags carry this deployment's tag.
pub fn owner(env: &Env, tags: &[aws_sdk_ec2::types::Tag]) -> crate::model::Ownership {
    env.owner(crate::aws::tags::from_ec2(tags))
}

/// The `Name` tag, if any.
pub fn name_of(tags: &[aws_sdk_ec2::types::Tag]) -> Option<&str> {
    crate::aws::tags::ec2_value(tags, TAG_NAME)
}
