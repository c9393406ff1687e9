//! What the interface and gateway endpoint steps share: finding an endpoint by its tags,
//! creating it with a deterministic client token, waiting for it, deleting it.
//!
//! The SDK reports endpoint states as `Unknown("available")` (AWS answers in lower case while
//! the model says `Available`), so states are compared case-insensitively.

use aws_sdk_ec2::types::{ResourceType, VpcEndpoint, VpcEndpointType};

use super::{Ctx, ec2};
use crate::aws::{AwsResultExt as _, has_code};
use crate::names::TAG_ENV;
use crate::progress::StepProgress;
use crate::state::Record;
use crate::wait::{self, Patience, Poll};

/// The state key of the endpoint for `service` (`ecr.api`, `s3`, ...).
pub fn key(service: &str) -> String {
    format!("endpoint/{service}")
}

/// AWS's service name, `com.amazonaws.<region>.<service>`.
pub fn service_name(ctx: &Ctx, service: &str) -> String {
    format!("com.amazonaws.{}.{service}", ctx.deployment.region)
}

/// The endpoint's state in lower case.
pub fn state_of(endpoint: &VpcEndpoint) -> String {
    endpoint.state().map_or_else(
        || "unknown".to_string(),
        |s| s.as_str().to_ascii_lowercase(),
    )
}

fn live(endpoint: &VpcEndpoint) -> bool {
    !matches!(
        state_of(endpoint).as_str(),
        "deleted" | "deleting" | "failed" | "rejected" | "expired"
    )
}

/// The endpoint for `service`: by recorded id, else by tags. Deleted ones do not count.
pub async fn find(ctx: &Ctx, service: &str) -> anyhow::Result<Option<VpcEndpoint>> {
    if let Some(rec) = ctx.state.get(&key(service)) {
        let out = ctx
            .aws
            .ec2
            .describe_vpc_endpoints()
            .vpc_endpoint_ids(&rec.id)
            .send()
            .await;
        match out.aws(|| format!("describing VPC endpoint {}", rec.id)) {
            Ok(out) => {
                if let Some(ep) = out.vpc_endpoints().iter().find(|e| live(e)) {
                    return Ok(Some(ep.clone()));
                }
            }
            Err(err) if has_code(&err, &["InvalidVpcEndpointId.NotFound"]) => {}
            Err(err) => return Err(err),
        }
    }
    let mut found: Vec<VpcEndpoint> = named(ctx, service)
        .await?
        .into_iter()
        .filter(live)
        .collect();
    found.sort_by(|a, b| a.vpc_endpoint_id().cmp(&b.vpc_endpoint_id()));
    Ok(found.into_iter().next())
}

/// Every endpoint of the stack for `service`, by its tags, in any state.
async fn named(ctx: &Ctx, service: &str) -> anyhow::Result<Vec<VpcEndpoint>> {
    let name = ctx.names.endpoint(service);
    let out = ctx
        .aws
        .ec2
        .describe_vpc_endpoints()
        .set_filters(Some(ec2::ours_named(ctx, &name)))
        .send()
        .await
        .aws(|| format!("looking up VPC endpoint {name}"))?;
    Ok(out.vpc_endpoints().to_vec())
}

/// What a new endpoint looks like.
pub struct NewEndpoint<'a> {
    /// Short service name (`ecr.api`, `s3`).
    pub service: &'a str,
    /// Interface or gateway.
    pub kind: VpcEndpointType,
    /// Subnets (interface endpoints).
    pub subnet_ids: Vec<String>,
    /// Security groups (interface endpoints).
    pub security_group_ids: Vec<String>,
    /// Route tables (gateway endpoints).
    pub route_table_ids: Vec<String>,
}

/// Creates an endpoint and records its id at once, with the client token of its intent: a
/// create repeated after a lost answer or a crash returns the first endpoint, and a new
/// endpoint (after one was deleted) gets a new token.
pub async fn create(
    ctx: &Ctx,
    p: &StepProgress,
    vpc_id: &str,
    new: NewEndpoint<'_>,
) -> anyhow::Result<String> {
    let name = ctx.names.endpoint(new.service);
    let step = if new.kind == VpcEndpointType::Interface {
        super::Step::InterfaceEndpoints
    } else {
        super::Step::GatewayEndpoint
    };
    // AWS allows one private DNS name (and one S3 route) per service in a VPC, until the
    // endpoint holding it is gone: one an interrupted `down` left deleting must go first.
    wait_until_none_deleting(ctx, p, new.service).await?;
    let token = ctx.intend(&key(new.service), step, &name)?.client_token;
    let interface = new.kind == VpcEndpointType::Interface;
    let out = ctx
        .aws
        .ec2
        .create_vpc_endpoint()
        .vpc_id(vpc_id)
        .service_name(service_name(ctx, new.service))
        .vpc_endpoint_type(new.kind)
        .set_subnet_ids(interface.then_some(new.subnet_ids))
        .set_security_group_ids(interface.then_some(new.security_group_ids))
        .set_private_dns_enabled(interface.then_some(true))
        .set_route_table_ids((!interface).then_some(new.route_table_ids))
        .client_token(token)
        .tag_specifications(ec2::tag_spec(ctx, ResourceType::VpcEndpoint, &name))
        .send()
        .await
        .aws(|| format!("creating VPC endpoint {name}"))?;
    let id = out
        .vpc_endpoint()
        .and_then(VpcEndpoint::vpc_endpoint_id)
        .ok_or_else(|| anyhow::anyhow!("CreateVpcEndpoint returned no id"))?
        .to_string();
    ctx.record(&key(new.service), Record::created(&id))?;
    Ok(id)
}

/// Waits until no endpoint of the stack for `service` is being deleted.
async fn wait_until_none_deleting(
    ctx: &Ctx,
    p: &StepProgress,
    service: &str,
) -> anyhow::Result<()> {
    let name = ctx.names.endpoint(service);
    wait::until(
        &format!("the old VPC endpoint {name} to be deleted"),
        p,
        Patience::minutes(15),
        || async {
            let endpoints = named(ctx, service).await?;
            let deleting: Vec<&str> = endpoints
                .iter()
                .filter(|e| state_of(e) == "deleting")
                .filter_map(VpcEndpoint::vpc_endpoint_id)
                .collect();
            Ok(if deleting.is_empty() {
                Poll::Ready(())
            } else {
                Poll::Pending(format!("{} deleting", deleting.join(", ")))
            })
        },
    )
    .await
}

/// Waits until the endpoint for `service` is available.
pub async fn wait_until_available(
    ctx: &Ctx,
    p: &StepProgress,
    service: &str,
) -> anyhow::Result<()> {
    let name = ctx.names.endpoint(service);
    wait::until(
        &format!("VPC endpoint {name} to become available"),
        p,
        Patience::minutes(15),
        || async {
            Ok(match find(ctx, service).await? {
                None => Poll::Failed("it no longer exists".to_string()),
                Some(ep) => match state_of(&ep).as_str() {
                    "available" => Poll::Ready(()),
                    "pending" | "pendingacceptance" => Poll::Pending(state_of(&ep)),
                    other => Poll::Failed(format!("its state is {other}")),
                },
            })
        },
    )
    .await
}

/// Deletes every endpoint of the deployment of `kind`, and waits until they are gone.
pub async fn delete_all(
    ctx: &Ctx,
    p: &StepProgress,
    kind: VpcEndpointType,
) -> anyhow::Result<String> {
    let out = ctx
        .aws
        .ec2
        .describe_vpc_endpoints()
        .filters(ec2::filter(&format!("tag:{TAG_ENV}"), &ctx.deployment.name))
        .filters(ec2::filter("vpc-endpoint-type", kind.as_str()))
        .send()
        .await
        .aws(|| "looking up the stack's VPC endpoints".to_string())?;
    let ids: Vec<String> = out
        .vpc_endpoints()
        .iter()
        .filter(|e| live(e) && e.vpc_endpoint_type() == Some(&kind))
        .filter_map(|e| e.vpc_endpoint_id().map(str::to_string))
        .collect();
    if ids.is_empty() {
        forget(ctx, &kind)?;
        return Ok("already gone".to_string());
    }
    p.set(format!("deleting {}", ids.join(", ")));
    let out = ctx
        .aws
        .ec2
        .delete_vpc_endpoints()
        .set_vpc_endpoint_ids(Some(ids.clone()))
        .send()
        .await
        .aws(|| format!("deleting VPC endpoints {}", ids.join(", ")))?;
    // A successful answer can still list endpoints it did not delete.
    let failures: Vec<String> = out
        .unsuccessful()
        .iter()
        .filter(|u| {
            u.error().and_then(|e| e.code()).is_none_or(|code| {
                code != "InvalidVpcEndpoint.NotFound" && code != "InvalidVpcEndpointId.NotFound"
            })
        })
        .map(|u| {
            format!(
                "{}: {}",
                u.resource_id().unwrap_or("?"),
                u.error()
                    .and_then(|e| e.message())
                    .unwrap_or("unknown error")
            )
        })
        .collect();
    if !failures.is_empty() {
        anyhow::bail!(
            "AWS did not delete some VPC endpoints: {}",
            failures.join("; ")
        );
    }
    wait::until(
        &format!("VPC endpoints {} to be deleted", ids.join(", ")),
        p,
        Patience::minutes(15),
        || async {
            let out = ctx
                .aws
                .ec2
                .describe_vpc_endpoints()
                .set_vpc_endpoint_ids(Some(ids.clone()))
                .send()
                .await;
            match out.aws(|| "describing deleted VPC endpoints".to_string()) {
                Err(err) if has_code(&err, &["InvalidVpcEndpointId.NotFound"]) => {
                    Ok(Poll::Ready(()))
                }
                Err(err) => Err(err),
                Ok(out) => {
                    let left: Vec<String> = out
                        .vpc_endpoints()
                        .iter()
                        .filter(|e| state_of(e) != "deleted")
                        .map(state_of)
                        .collect();
                    Ok(if left.is_empty() {
                        Poll::Ready(())
                    } else {
                        Poll::Pending(left.join(", "))
                    })
                }
            }
        },
    )
    .await?;
    forget(ctx, &kind)?;
    Ok(format!("deleted {}", ids.join(", ")))
}

fn forget(ctx: &Ctx, kind: &VpcEndpointType) -> anyhow::Result<()> {
    let services: &[&str] = if *kind == VpcEndpointType::Gateway {
        &[super::gateway_endpoint::SERVICE]
    } else {
        &super::interface_endpoints::SERVICES
    };
    for service in services {
        ctx.state.forget(&key(service))?;
    }
    Ok(())
}
