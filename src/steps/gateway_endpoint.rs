//! The S3 gateway endpoint on the private route table: ECR serves image layers from S3, so
//! without it (and without a NAT gateway) no task could pull its image.

use aws_sdk_ec2::types::VpcEndpointType;

use super::vpc_endpoint::{self, NewEndpoint};
use super::{Ctx, Observed};
use crate::aws::AwsResultExt as _;
use crate::progress::StepProgress;
use crate::state::Record;

/// The AWS service reached through the gateway endpoint.
pub const SERVICE: &str = "s3";

/// Finds or creates the endpoint on the route table, then waits for it.
pub async fn ensure(ctx: &Ctx, p: &StepProgress) -> anyhow::Result<String> {
    let vpc_id = super::vpc::id(ctx).await?;
    let table_id = super::route_table::find(ctx)
        .await?
        .and_then(|t| t.route_table_id().map(str::to_string))
        .ok_or_else(|| anyhow::anyhow!("route table {} does not exist", ctx.names.route_table))?;
    let summary = match vpc_endpoint::find(ctx, SERVICE).await? {
        Some(ep) => {
            let id = ep.vpc_endpoint_id().unwrap_or_default().to_string();
            ctx.record(&vpc_endpoint::key(SERVICE), Record::created(&id))?;
            if ep.route_table_ids().contains(&table_id) {
                format!("found {id}")
            } else {
                p.set(format!("adding route table {table_id}"));
                ctx.aws
                    .ec2
                    .modify_vpc_endpoint()
                    .vpc_endpoint_id(&id)
                    .add_route_table_ids(&table_id)
                    .send()
                    .await
                    .aws(|| format!("adding route table {table_id} to VPC endpoint {id}"))?;
                format!("updated {id}")
            }
        }
        None => {
            p.set("creating");
            let id = vpc_endpoint::create(
                ctx,
                p,
                &vpc_id,
                NewEndpoint {
                    service: SERVICE,
                    kind: VpcEndpointType::Gateway,
                    subnet_ids: Vec::new(),
                    security_group_ids: Vec::new(),
                    route_table_ids: vec![table_id],
                },
            )
            .await?;
            format!("created {id}")
        }
    };
    vpc_endpoint::wait_until_available(ctx, p, SERVICE).await?;
    Ok(summary)
}

/// Live state.
pub async fn observe(ctx: &Ctx) -> anyhow::Result<Vec<Observed>> {
    let name = ctx.names.endpoint(SERVICE);
    Ok(vec![match vpc_endpoint::find(ctx, SERVICE).await? {
        Some(ep) => Observed::present(
            "gateway endpoint",
            &name,
            ep.vpc_endpoint_id().unwrap_or_default(),
            &vpc_endpoint::state_of(&ep),
        ),
        None => Observed::missing("gateway endpoint", &name),
    }])
}

/// Deletes the gateway endpoint and waits until it is gone.
pub async fn delete(ctx: &Ctx, p: &StepProgress) -> anyhow::Result<String> {
    vpc_endpoint::delete_all(ctx, p, VpcEndpointType::Gateway).await
}
