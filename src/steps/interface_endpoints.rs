//! The interface endpoints that replace a NAT gateway: ECR's API and registry (image pulls)
//! and CloudWatch Logs (the awslogs driver), in every private subnet, with private DNS so the
//! tasks' ordinary AWS host names resolve to them.

use aws_sdk_ec2::types::VpcEndpointType;

use super::vpc_endpoint::{self, NewEndpoint};
use super::{Ctx, Observed};
use crate::aws::AwsResultExt as _;
use crate::progress::StepProgress;

/// The AWS services reached through interface endpoints.
pub const SERVICES: [&str; 3] = ["ecr.api", "ecr.dkr", "logs"];

/// Finds or creates each endpoint, adds missing subnets, then waits for all of them.
pub async fn ensure(ctx: &Ctx, p: &StepProgress) -> anyhow::Result<String> {
    let vpc_id = super::vpc::id(ctx).await?;
    let subnet_ids = super::subnets::ids(ctx).await?;
    let group_id = super::security_group::id(ctx).await?;
    let mut summary = Vec::new();
    for service in SERVICES {
        match vpc_endpoint::find(ctx, service).await? {
            Some(ep) => {
                let id = ep.vpc_endpoint_id().unwrap_or_default().to_string();
                ctx.record(
                    &vpc_endpoint::key(service),
                    crate::state::Record::created(&id),
                )?;
                let missing: Vec<String> = subnet_ids
                    .iter()
                    .filter(|s| !ep.subnet_ids().contains(s))
                    .cloned()
                    .collect();
                let group_missing = !ep
                    .groups()
                    .iter()
                    .any(|g| g.group_id() == Some(group_id.as_str()));
                if !missing.is_empty() || group_missing {
                    p.set(format!("updating {id}"));
                    ctx.aws
                        .ec2
                        .modify_vpc_endpoint()
                        .vpc_endpoint_id(&id)
                        .set_add_subnet_ids((!missing.is_empty()).then_some(missing))
                        .set_add_security_group_ids(group_missing.then(|| vec![group_id.clone()]))
                        .send()
                        .await
                        .aws(|| format!("updating VPC endpoint {id}"))?;
                    summary.push(format!("{service} updated {id}"));
                } else {
                    summary.push(format!("{service} found {id}"));
                }
            }
            None => {
                p.set(format!("creating {service}"));
                let id = vpc_endpoint::create(
                    ctx,
                    p,
                    &vpc_id,
                    NewEndpoint {
                        service,
                        kind: VpcEndpointType::Interface,
                        subnet_ids: subnet_ids.clone(),
                        security_group_ids: vec![group_id.clone()],
                        route_table_ids: Vec::new(),
                    },
                )
                .await?;
                summary.push(format!("{service} created {id}"));
            }
        }
    }
    for service in SERVICES {
        vpc_endpoint::wait_until_available(ctx, p, service).await?;
    }
    Ok(summary.join(", "))
}

/// Live state.
pub async fn observe(ctx: &Ctx) -> anyhow::Result<Vec<Observed>> {
    let mut seen = Vec::new();
    for service in SERVICES {
        let name = ctx.names.endpoint(service);
        seen.push(match vpc_endpoint::find(ctx, service).await? {
            Some(ep) => Observed::present(
                "interface endpoint",
                &name,
                ep.vpc_endpoint_id().unwrap_or_default(),
                &vpc_endpoint::state_of(&ep),
            )
            .detail(format!("{} subnet(s)", ep.subnet_ids().len())),
            None => Observed::missing("interface endpoint", &name),
        });
    }
    Ok(seen)
}

/// Deletes the interface endpoints and waits until they are gone.
pub async fn delete(ctx: &Ctx, p: &StepProgress) -> anyhow::Result<String> {
    vpc_endpoint::delete_all(ctx, p, VpcEndpointType::Interface).await
}
