//! The private subnets: one per env file entry, each in its availability zone. No route to the
//! internet ever reaches them; tasks reach AWS through the VPC endpoints.

use aws_sdk_ec2::types::{ResourceType, Subnet};

use super::{Ctx, Observed, ec2};
use crate::aws::{AwsResultExt as _, has_code};
use crate::create::create_once;
use crate::names::{TAG_ENV, TAG_NAME};
use crate::progress::StepProgress;
use crate::state::Record;
use crate::wait::{self, Patience};

fn key(index: usize) -> String {
    format!("subnet/{index}")
}

/// The subnet for env file entry `index`: by recorded id, else by tags.
pub async fn find(ctx: &Ctx, index: usize) -> anyhow::Result<Option<Subnet>> {
    if let Some(rec) = ctx.state.get(&key(index)) {
        let out = ctx
            .aws
            .ec2
            .describe_subnets()
            .subnet_ids(&rec.id)
            .send()
            .await;
        match out.aws(|| format!("describing subnet {}", rec.id)) {
            Ok(out) => {
                if let Some(subnet) = out.subnets().first() {
                    return Ok(Some(subnet.clone()));
                }
            }
            Err(err) if has_code(&err, &["InvalidSubnetID.NotFound"]) => {}
            Err(err) => return Err(err),
        }
    }
    let name = ctx.names.subnet(index);
    let out = ctx
        .aws
        .ec2
        .describe_subnets()
        .set_filters(Some(ec2::ours_named(ctx, &name)))
        .send()
        .await
        .aws(|| format!("looking up subnet {name}"))?;
    let mut subnets = out.subnets().to_vec();
    subnets.sort_by(|a, b| a.subnet_id().cmp(&b.subnet_id()));
    Ok(subnets.into_iter().next())
}

/// Fails with a usage error (exit 2) before anything is created when an env file subnet names
/// an availability zone the region does not offer to this account: a typo found only by
/// CreateSubnet would leave half a stack behind, and the fix would then count as a change of
/// subnets.
pub async fn check_zones(ctx: &Ctx) -> anyhow::Result<()> {
    let region = &ctx.deployment.region;
    let out = ctx
        .aws
        .ec2
        .describe_availability_zones()
        .send()
        .await
        .aws(|| format!("listing the availability zones of {region}"))?;
    let offered: Vec<&str> = out
        .availability_zones()
        .iter()
        .filter_map(|z| z.zone_name())
        .collect();
    for (i, subnet) in ctx.deployment.network.subnets.iter().enumerate() {
        if !offered.contains(&subnet.az.as_str()) {
            return Err(crate::error::UsageError(format!(
                "{}: network.subnets[{i}].az: {:?} is not an availability zone of {region} for \
                 this account (it offers {}). Nothing was created",
                ctx.env_file,
                subnet.az,
                offered.join(", ")
            ))
            .into());
        }
    }
    Ok(())
}

/// Every subnet tagged as this deployment's, including ones no longer in the env file.
async fn all_ours(ctx: &Ctx) -> anyhow::Result<Vec<Subnet>> {
    let out = ctx
        .aws
        .ec2
        .describe_subnets()
        .filters(ec2::filter(&format!("tag:{TAG_ENV}"), &ctx.deployment.name))
        .send()
        .await
        .aws(|| "looking up the stack's subnets".to_string())?;
    Ok(out.subnets().to_vec())
}

/// The ids of the env file's subnets, in env file order.
pub async fn ids(ctx: &Ctx) -> anyhow::Result<Vec<String>> {
    let mut ids = Vec::new();
    for index in 0..ctx.deployment.network.subnets.len() {
        let subnet = find(ctx, index).await?.ok_or_else(|| {
            anyhow::anyhow!(
                "subnet {} does not exist; run `{}`",
                ctx.names.subnet(index),
                ctx.command("up")
            )
        })?;
        ids.push(subnet.subnet_id().unwrap_or_default().to_string());
    }
    Ok(ids)
}

/// Finds or creates each subnet.
pub async fn ensure(ctx: &Ctx, p: &StepProgress) -> anyhow::Result<String> {
    let vpc_id = super::vpc::id(ctx).await?;
    let mut summary = Vec::new();
    for (index, want) in ctx.deployment.network.subnets.iter().enumerate() {
        let name = ctx.names.subnet(index);
        let cidr = want.cidr.to_string();
        let id = match find(ctx, index).await? {
            Some(subnet) => {
                let id = subnet.subnet_id().unwrap_or_default().to_string();
                if subnet.cidr_block() != Some(cidr.as_str())
                    || subnet.availability_zone() != Some(want.az.as_str())
                {
                    anyhow::bail!(
                        "subnet {name} ({id}) is {} in {}, but the env file asks for {cidr} in {}; \
                         a subnet cannot move. Run `{}` first to rebuild it",
                        subnet.cidr_block().unwrap_or("?"),
                        subnet.availability_zone().unwrap_or("?"),
                        want.az,
                        ctx.command("down")
                    );
                }
                summary.push(format!("found {id}"));
                id
            }
            None => {
                p.set(format!("creating {name} ({cidr} in {})", want.az));
                ctx.intend(&key(index), super::Step::Subnets, &name)?;
                let id = create_once(
                    &format!("subnet {name}"),
                    p,
                    || async {
                        Ok(find(ctx, index)
                            .await?
                            .and_then(|s| s.subnet_id().map(str::to_string)))
                    },
                    || async {
                        let out = ctx
                            .single
                            .ec2
                            .create_subnet()
                            .vpc_id(&vpc_id)
                            .cidr_block(&cidr)
                            .availability_zone(&want.az)
                            .tag_specifications(ec2::tag_spec(ctx, ResourceType::Subnet, &name))
                            .send()
                            .await
                            .aws(|| format!("creating subnet {name} ({cidr} in {})", want.az))?;
                        out.subnet()
                            .and_then(Subnet::subnet_id)
                            .map(str::to_string)
                            .ok_or_else(|| anyhow::anyhow!("CreateSubnet returned no id"))
                    },
                )
                .await?;
                summary.push(format!("created {id}"));
                id
            }
        };
        ctx.record(
            &key(index),
            Record::created(&id)
                .with("cidr", &cidr)
                .with("az", &want.az),
        )?;
    }
    Ok(summary.join(", "))
}

/// Live state.
pub async fn observe(ctx: &Ctx) -> anyhow::Result<Vec<Observed>> {
    let mut seen = Vec::new();
    for (index, want) in ctx.deployment.network.subnets.iter().enumerate() {
        let name = ctx.names.subnet(index);
        seen.push(match find(ctx, index).await? {
            Some(s) => Observed::present(
                "subnet",
                &name,
                s.subnet_id().unwrap_or_default(),
                s.state().map_or("present", |st| st.as_str()),
            )
            .detail(format!("{} {}", want.cidr, want.az)),
            None => Observed::missing("subnet", &name),
        });
    }
    Ok(seen)
}

/// Deletes every subnet of the deployment, retrying while network interfaces linger.
pub async fn delete(ctx: &Ctx, p: &StepProgress) -> anyhow::Result<String> {
    let subnets = all_ours(ctx).await?;
    let mut deleted = Vec::new();
    for subnet in subnets {
        let id = subnet.subnet_id().unwrap_or_default().to_string();
        let name = ec2::tag(subnet.tags(), TAG_NAME).unwrap_or(&id).to_string();
        wait::retrying(
            &format!("deleting subnet {name}"),
            p,
            Patience::minutes(20),
            |err| has_code(err, &["DependencyViolation"]),
            || async {
                match ctx
                    .aws
                    .ec2
                    .delete_subnet()
                    .subnet_id(&id)
                    .send()
                    .await
                    .aws(|| format!("deleting subnet {name} ({id})"))
                {
                    Err(err) if has_code(&err, &["InvalidSubnetID.NotFound"]) => Ok(()),
                    other => other.map(|_| ()),
                }
            },
        )
        .await?;
        deleted.push(id);
    }
    ctx.state.forget_prefix("subnet/")?;
    Ok(if deleted.is_empty() {
        "already gone".to_string()
    } else {
        format!("deleted {}", deleted.join(", "))
    })
}
