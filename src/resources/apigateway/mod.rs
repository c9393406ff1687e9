//! API Gateway: the VPC link to the load balancer, the REST API and its stage. API Gateway
//! has no tag filter, so these are found by their recorded id first, then by name and tags.

pub mod integration;
pub mod rest_api;
pub mod stage;
pub mod vpc_link;
