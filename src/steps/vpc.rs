//! The VPC: the stack's private network. DNS support and DNS hostnames are on, because the
//! interface endpoints' private DNS names need both.

use aws_sdk_ec2::types::{AttributeBooleanValue, ResourceType, Vpc, VpcAttributeName, VpcState};

use super::{Ctx, Observed, ec2};
use crate::aws::{AwsResultExt as _, has_code};
use crate::create::create_once;
use crate::progress::StepProgress;
use crate::state::Record;
use crate::wait::{self, Patience, Poll};

/// State key.
pub const KEY: &str = "vpc";

/// The stack's VPC: by recorded id, else by tags.
pub async fn find(ctx: &Ctx) -> anyhow::Result<Option<Vpc>> {
    if let Some(rec) = ctx.state.get(KEY) {
        let out = ctx.aws.ec2.describe_vpcs().vpc_ids(&rec.id).send().await;
        match out.aws(|| format!("describing VPC {}", rec.id)) {
            Ok(out) => {
                if let Some(vpc) = out.vpcs().first() {
                    return Ok(Some(vpc.clone()));
                }
            }
            Err(err) if has_code(&err, &["InvalidVpcID.NotFound"]) => {}
            Err(err) => return Err(err),
        }
    }
    let out = ctx
        .aws
        .ec2
        .describe_vpcs()
        .set_filters(Some(ec2::ours_named(ctx, &ctx.names.vpc)))
        .send()
        .await
        .aws(|| format!("looking up VPC {}", ctx.names.vpc))?;
    let mut vpcs = out.vpcs().to_vec();
    vpcs.sort_by(|a, b| a.vpc_id().cmp(&b.vpc_id()));
    Ok(vpcs.into_iter().next())
}

/// The VPC id, or an error saying the VPC step has not run.
pub async fn id(ctx: &Ctx) -> anyhow::Result<String> {
    find(ctx)
        .await?
        .and_then(|v| v.vpc_id().map(str::to_string))
        .ok_or_else(|| {
            anyhow::anyhow!(
                "VPC {} does not exist; run `{}`",
                ctx.names.vpc,
                ctx.command("up")
            )
        })
}

/// Finds or creates the VPC, turns DNS on, waits until available.
pub async fn ensure(ctx: &Ctx, p: &StepProgress) -> anyhow::Result<String> {
    let cidr = ctx.deployment.network.vpc_cidr.to_string();
    let (vpc_id, verb) = match find(ctx).await? {
        Some(vpc) => {
            let id = vpc.vpc_id().unwrap_or_default().to_string();
            if vpc.cidr_block() != Some(cidr.as_str()) {
                anyhow::bail!(
                    "VPC {} ({id}) has CIDR {}, but the env file asks for {cidr}; a VPC's CIDR \
                     cannot change. Run `{}` first to rebuild with the new CIDR",
                    ctx.names.vpc,
                    vpc.cidr_block().unwrap_or("?"),
                    ctx.command("down")
                );
            }
            (id, "found")
        }
        None => {
            p.set(format!("creating {cidr}"));
            ctx.intend(KEY, super::Step::Vpc, &ctx.names.vpc)?;
            let id = create_once(
                &format!("VPC {}", ctx.names.vpc),
                p,
                || async {
                    Ok(find(ctx)
                        .await?
                        .and_then(|v| v.vpc_id().map(str::to_string)))
                },
                || async {
                    let out = ctx
                        .single
                        .ec2
                        .create_vpc()
                        .cidr_block(&cidr)
                        .tag_specifications(ec2::tag_spec(ctx, ResourceType::Vpc, &ctx.names.vpc))
                        .send()
                        .await
                        .aws(|| format!("creating VPC {}", ctx.names.vpc))?;
                    out.vpc()
                        .and_then(Vpc::vpc_id)
                        .map(str::to_string)
                        .ok_or_else(|| anyhow::anyhow!("CreateVpc returned no id"))
                },
            )
            .await?;
            (id, "created")
        }
    };
    ctx.record(KEY, Record::created(&vpc_id).with("cidr", &cidr))?;
    for attribute in [
        VpcAttributeName::EnableDnsSupport,
        VpcAttributeName::EnableDnsHostnames,
    ] {
        let out = ctx
            .aws
            .ec2
            .describe_vpc_attribute()
            .vpc_id(&vpc_id)
            .attribute(attribute.clone())
            .send()
            .await
            .aws(|| format!("reading {attribute} of VPC {vpc_id}"))?;
        let on = match attribute {
            VpcAttributeName::EnableDnsSupport => out.enable_dns_support(),
            _ => out.enable_dns_hostnames(),
        }
        .and_then(AttributeBooleanValue::value)
        .unwrap_or(false);
        if !on {
            let value = AttributeBooleanValue::builder().value(true).build();
            let req = ctx.aws.ec2.modify_vpc_attribute().vpc_id(&vpc_id);
            let req = match attribute {
                VpcAttributeName::EnableDnsSupport => req.enable_dns_support(value),
                _ => req.enable_dns_hostnames(value),
            };
            req.send()
                .await
                .aws(|| format!("turning on {attribute} of VPC {vpc_id}"))?;
        }
    }
    wait::until(
        &format!("VPC {vpc_id} to become available"),
        p,
        Patience::minutes(5),
        || async {
            let vpc = find(ctx).await?;
            Ok(match vpc.as_ref().and_then(Vpc::state) {
                Some(VpcState::Available) => Poll::Ready(()),
                Some(state) => Poll::Pending(state.as_str().to_string()),
                None => Poll::Pending("not visible yet".to_string()),
            })
        },
    )
    .await?;
    Ok(format!("{verb} {vpc_id} ({cidr})"))
}

/// Live state.
pub async fn observe(ctx: &Ctx) -> anyhow::Result<Vec<Observed>> {
    Ok(vec![match find(ctx).await? {
        Some(vpc) => Observed::present(
            "vpc",
            &ctx.names.vpc,
            vpc.vpc_id().unwrap_or_default(),
            vpc.state().map_or("present", VpcState::as_str),
        )
        .detail(vpc.cidr_block().unwrap_or_default()),
        None => Observed::missing("vpc", &ctx.names.vpc),
    }])
}

/// Deletes the VPC, retrying while network interfaces still linger in it.
pub async fn delete(ctx: &Ctx, p: &StepProgress) -> anyhow::Result<String> {
    let Some(vpc) = find(ctx).await? else {
        ctx.state.forget(KEY)?;
        return Ok("already gone".to_string());
    };
    let id = vpc.vpc_id().unwrap_or_default().to_string();
    wait::retrying(
        &format!("deleting VPC {id}"),
        p,
        Patience::minutes(20),
        |err| has_code(err, &["DependencyViolation"]),
        || async {
            match ctx
                .aws
                .ec2
                .delete_vpc()
                .vpc_id(&id)
                .send()
                .await
                .aws(|| format!("deleting VPC {id}"))
            {
                Err(err) if has_code(&err, &["InvalidVpcID.NotFound"]) => Ok(()),
                other => other.map(|_| ()),
            }
        },
    )
    .await?;
    ctx.state.forget(KEY)?;
    Ok(format!("deleted {id}"))
}
