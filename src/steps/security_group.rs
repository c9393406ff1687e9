//! The security group of the tasks and the interface endpoints.
//!
//! Ingress: the service port and 443 from the VPC only. Egress: 443 to the VPC (interface
//! endpoints) and 443 to the S3 prefix list (gateway endpoint, where ECR keeps image layers).
//! The all-open egress rule AWS adds to every new group is removed: the original design left it.

use aws_sdk_ec2::types::{IpPermission, IpRange, PrefixListId, ResourceType, SecurityGroup};

use super::{Ctx, Observed, ec2};
use crate::aws::{AwsResultExt as _, has_code};
use crate::create::create_once;
use crate::progress::StepProgress;
use crate::state::Record;
use crate::wait::{self, Patience};

/// State key.
pub const KEY: &str = "security_group";

/// The security group: by recorded id, else by tags.
pub async fn find(ctx: &Ctx) -> anyhow::Result<Option<SecurityGroup>> {
    if let Some(rec) = ctx.state.get(KEY) {
        let out = ctx
            .aws
            .ec2
            .describe_security_groups()
            .group_ids(&rec.id)
            .send()
            .await;
        match out.aws(|| format!("describing security group {}", rec.id)) {
            Ok(out) => {
                if let Some(sg) = out.security_groups().first() {
                    return Ok(Some(sg.clone()));
                }
            }
            Err(err) if has_code(&err, &["InvalidGroup.NotFound", "InvalidGroupId.Malformed"]) => {}
            Err(err) => return Err(err),
        }
    }
    let out = ctx
        .aws
        .ec2
        .describe_security_groups()
        .set_filters(Some(ec2::ours_named(ctx, &ctx.names.security_group)))
        .send()
        .await
        .aws(|| format!("looking up security group {}", ctx.names.security_group))?;
    let mut groups = out.security_groups().to_vec();
    groups.sort_by(|a, b| a.group_id().cmp(&b.group_id()));
    Ok(groups.into_iter().next())
}

/// The security group id, or an error if it does not exist.
pub async fn id(ctx: &Ctx) -> anyhow::Result<String> {
    find(ctx)
        .await?
        .and_then(|g| g.group_id().map(str::to_string))
        .ok_or_else(|| {
            anyhow::anyhow!(
                "security group {} does not exist; run `{}`",
                ctx.names.security_group,
                ctx.command("up")
            )
        })
}

/// The id of AWS's managed prefix list for S3 in the region.
pub async fn s3_prefix_list(ctx: &Ctx) -> anyhow::Result<String> {
    let name = format!("com.amazonaws.{}.s3", ctx.deployment.region);
    let out = ctx
        .aws
        .ec2
        .describe_managed_prefix_lists()
        .filters(ec2::filter("prefix-list-name", &name))
        .send()
        .await
        .aws(|| format!("looking up the managed prefix list {name}"))?;
    out.prefix_lists()
        .iter()
        .find_map(|pl| pl.prefix_list_id())
        .map(str::to_string)
        .ok_or_else(|| {
            anyhow::anyhow!(
                "region {} has no managed prefix list {name}",
                ctx.deployment.region
            )
        })
}

enum Peer {
    Cidr(String),
    PrefixList(String),
}

struct Rule {
    port: i32,
    peer: Peer,
    description: &'static str,
}

impl Rule {
    fn permission(&self) -> IpPermission {
        let b = IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(self.port)
            .to_port(self.port);
        match &self.peer {
            Peer::Cidr(cidr) => b.ip_ranges(
                IpRange::builder()
                    .cidr_ip(cidr)
                    .description(self.description)
                    .build(),
            ),
            Peer::PrefixList(id) => b.prefix_list_ids(
                PrefixListId::builder()
                    .prefix_list_id(id)
                    .description(self.description)
                    .build(),
            ),
        }
        .build()
    }

    fn is_in(&self, perms: &[IpPermission]) -> bool {
        perms.iter().any(|p| {
            p.ip_protocol() == Some("tcp")
                && p.from_port() == Some(self.port)
                && p.to_port() == Some(self.port)
                && match &self.peer {
                    Peer::Cidr(cidr) => p.ip_ranges().iter().any(|r| r.cidr_ip() == Some(cidr)),
                    Peer::PrefixList(id) => p
                        .prefix_list_ids()
                        .iter()
                        .any(|pl| pl.prefix_list_id() == Some(id)),
                }
        })
    }
}

fn is_open_egress(p: &IpPermission) -> bool {
    p.ip_protocol() == Some("-1")
        && p.ip_ranges()
            .iter()
            .any(|r| r.cidr_ip() == Some("0.0.0.0/0"))
}

/// Finds or creates the group and converges its rules.
pub async fn ensure(ctx: &Ctx, p: &StepProgress) -> anyhow::Result<String> {
    let vpc_id = super::vpc::id(ctx).await?;
    let name = &ctx.names.security_group;
    let verb = if find(ctx).await?.is_some() {
        "found"
    } else {
        p.set("creating");
        ctx.intend(KEY, super::Step::SecurityGroup, name)?;
        let id = create_once(
            &format!("security group {name}"),
            p,
            || async {
                Ok(find(ctx)
                    .await?
                    .and_then(|g| g.group_id().map(str::to_string)))
            },
            || async {
                let out = ctx
                    .single
                    .ec2
                    .create_security_group()
                    .group_name(name)
                    .description(format!(
                        "gwfargate {}: tasks of {} and the VPC endpoints",
                        ctx.deployment.name, ctx.deployment.service.name
                    ))
                    .vpc_id(&vpc_id)
                    .tag_specifications(ec2::tag_spec(ctx, ResourceType::SecurityGroup, name))
                    .send()
                    .await
                    .aws(|| format!("creating security group {name}"))?;
                out.group_id()
                    .map(str::to_string)
                    .ok_or_else(|| anyhow::anyhow!("CreateSecurityGroup returned no id"))
            },
        )
        .await?;
        ctx.record(KEY, Record::created(id))?;
        "created"
    };
    let group = find(ctx)
        .await?
        .ok_or_else(|| anyhow::anyhow!("security group {name} vanished right after creation"))?;
    let group_id = group.group_id().unwrap_or_default().to_string();
    ctx.record(KEY, Record::created(&group_id))?;

    let vpc_cidr = ctx.deployment.network.vpc_cidr.to_string();
    let port = i32::from(ctx.deployment.service.port);
    let ingress = [
        Rule {
            port,
            peer: Peer::Cidr(vpc_cidr.clone()),
            description: "service port from the VPC (load balancer)",
        },
        Rule {
            port: 443,
            peer: Peer::Cidr(vpc_cidr.clone()),
            description: "HTTPS from the VPC (interface endpoints)",
        },
    ];
    let egress = [
        Rule {
            port: 443,
            peer: Peer::Cidr(vpc_cidr),
            description: "HTTPS to the interface endpoints",
        },
        Rule {
            port: 443,
            peer: Peer::PrefixList(s3_prefix_list(ctx).await?),
            description: "HTTPS to S3 (image layers)",
        },
    ];
    let mut changes = 0;
    let missing_in: Vec<IpPermission> = ingress
        .iter()
        .filter(|r| !r.is_in(group.ip_permissions()))
        .map(Rule::permission)
        .collect();
    if !missing_in.is_empty() {
        p.set("adding ingress rules");
        changes += missing_in.len();
        ignore_duplicate(
            ctx.aws
                .ec2
                .authorize_security_group_ingress()
                .group_id(&group_id)
                .set_ip_permissions(Some(missing_in))
                .send()
                .await
                .aws(|| format!("adding ingress rules to {group_id}")),
        )?;
    }
    let missing_out: Vec<IpPermission> = egress
        .iter()
        .filter(|r| !r.is_in(group.ip_permissions_egress()))
        .map(Rule::permission)
        .collect();
    if !missing_out.is_empty() {
        p.set("adding egress rules");
        changes += missing_out.len();
        ignore_duplicate(
            ctx.aws
                .ec2
                .authorize_security_group_egress()
                .group_id(&group_id)
                .set_ip_permissions(Some(missing_out))
                .send()
                .await
                .aws(|| format!("adding egress rules to {group_id}")),
        )?;
    }
    if group.ip_permissions_egress().iter().any(is_open_egress) {
        p.set("removing the all-open egress rule");
        changes += 1;
        let open = IpPermission::builder()
            .ip_protocol("-1")
            .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
            .build();
        match ctx
            .aws
            .ec2
            .revoke_security_group_egress()
            .group_id(&group_id)
            .ip_permissions(open)
            .send()
            .await
            .aws(|| format!("removing the all-open egress rule of {group_id}"))
        {
            Err(err) if has_code(&err, &["InvalidPermission.NotFound"]) => {}
            other => {
                other?;
            }
        }
    }
    Ok(match (verb, changes) {
        ("created", _) | (_, 0) => format!("{verb} {group_id}"),
        _ => format!("updated {group_id}: {changes} rule change(s)"),
    })
}

fn ignore_duplicate<T>(result: anyhow::Result<T>) -> anyhow::Result<()> {
    match result {
        Err(err) if has_code(&err, &["InvalidPermission.Duplicate"]) => Ok(()),
        other => other.map(|_| ()),
    }
}

/// Live state.
pub async fn observe(ctx: &Ctx) -> anyhow::Result<Vec<Observed>> {
    Ok(vec![match find(ctx).await? {
        Some(g) => Observed::present(
            "security group",
            &ctx.names.security_group,
            g.group_id().unwrap_or_default(),
            "present",
        )
        .detail(format!(
            "{} ingress, {} egress rule(s)",
            g.ip_permissions().len(),
            g.ip_permissions_egress().len()
        )),
        None => Observed::missing("security group", &ctx.names.security_group),
    }])
}

/// Deletes the group, retrying while task, NLB or endpoint interfaces still use it.
pub async fn delete(ctx: &Ctx, p: &StepProgress) -> anyhow::Result<String> {
    let Some(group) = find(ctx).await? else {
        ctx.state.forget(KEY)?;
        return Ok("already gone".to_string());
    };
    let id = group.group_id().unwrap_or_default().to_string();
    wait::retrying(
        &format!("deleting security group {id}"),
        p,
        Patience::minutes(20),
        |err| has_code(err, &["DependencyViolation"]),
        || async {
            match ctx
                .aws
                .ec2
                .delete_security_group()
                .group_id(&id)
                .send()
                .await
                .aws(|| format!("deleting security group {id}"))
            {
                Err(err) if has_code(&err, &["InvalidGroup.NotFound"]) => Ok(()),
                other => other.map(|_| ()),
            }
        },
    )
    .await?;
    ctx.state.forget(KEY)?;
    Ok(format!("deleted {id}"))
}
