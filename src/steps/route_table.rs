//! The private subnets' route table: only the VPC's local route and the S3 gateway endpoint's
//! prefix-list route; no route to the internet. A table of our own (rather than the VPC's
//! main table) can be found by its tags and deleted with the stack.

use aws_sdk_ec2::types::{ResourceType, RouteTable};

use super::{Ctx, Observed, ec2};
use crate::aws::{AwsResultExt as _, has_code};
use crate::create::create_once;
use crate::progress::StepProgress;
use crate::state::Record;

/// State key.
pub const KEY: &str = "route_table";

/// The route table: by recorded id, else by tags.
pub async fn find(ctx: &Ctx) -> anyhow::Result<Option<RouteTable>> {
    if let Some(rec) = ctx.state.get(KEY) {
        let out = ctx
            .aws
            .ec2
            .describe_route_tables()
            .route_table_ids(&rec.id)
            .send()
            .await;
        match out.aws(|| format!("describing route table {}", rec.id)) {
            Ok(out) => {
                if let Some(rt) = out.route_tables().first() {
                    return Ok(Some(rt.clone()));
                }
            }
            Err(err) if has_code(&err, &["InvalidRouteTableID.NotFound"]) => {}
            Err(err) => return Err(err),
        }
    }
    let out = ctx
        .aws
        .ec2
        .describe_route_tables()
        .set_filters(Some(ec2::ours_named(ctx, &ctx.names.route_table)))
        .send()
        .await
        .aws(|| format!("looking up route table {}", ctx.names.route_table))?;
    let mut tables = out.route_tables().to_vec();
    tables.sort_by(|a, b| a.route_table_id().cmp(&b.route_table_id()));
    Ok(tables.into_iter().next())
}

/// Finds or creates the table and associates every private subnet with it.
pub async fn ensure(ctx: &Ctx, p: &StepProgress) -> anyhow::Result<String> {
    let vpc_id = super::vpc::id(ctx).await?;
    let (table, verb) = match find(ctx).await? {
        Some(table) => (table, "found"),
        None => {
            p.set("creating");
            let token = ctx
                .intend(KEY, super::Step::RouteTable, &ctx.names.route_table)?
                .client_token;
            let table = create_once(
                &format!("route table {}", ctx.names.route_table),
                p,
                || find(ctx),
                || async {
                    let out = ctx
                        .single
                        .ec2
                        .create_route_table()
                        .vpc_id(&vpc_id)
                        .client_token(&token)
                        .tag_specifications(ec2::tag_spec(
                            ctx,
                            ResourceType::RouteTable,
                            &ctx.names.route_table,
                        ))
                        .send()
                        .await
                        .aws(|| format!("creating route table {}", ctx.names.route_table))?;
                    out.route_table()
                        .cloned()
                        .ok_or_else(|| anyhow::anyhow!("CreateRouteTable returned no table"))
                },
            )
            .await?;
            (table, "created")
        }
    };
    let table_id = table.route_table_id().unwrap_or_default().to_string();
    ctx.record(KEY, Record::created(&table_id))?;
    let mut associated = 0;
    for subnet_id in super::subnets::ids(ctx).await? {
        let already = table
            .associations()
            .iter()
            .any(|a| a.subnet_id() == Some(subnet_id.as_str()));
        if already {
            continue;
        }
        p.set(format!("associating {subnet_id}"));
        create_once(
            &format!("association of {subnet_id}"),
            p,
            || async {
                Ok(find(ctx).await?.and_then(|t| {
                    t.associations()
                        .iter()
                        .any(|a| a.subnet_id() == Some(subnet_id.as_str()))
                        .then_some(())
                }))
            },
            || async {
                ctx.single
                    .ec2
                    .associate_route_table()
                    .route_table_id(&table_id)
                    .subnet_id(&subnet_id)
                    .send()
                    .await
                    .aws(|| format!("associating subnet {subnet_id} with route table {table_id}"))
                    .map(|_| ())
            },
        )
        .await?;
        associated += 1;
    }
    Ok(match (verb, associated) {
        ("created", _) | (_, 0) => format!("{verb} {table_id}"),
        _ => format!("updated {table_id}: {associated} subnet association(s) added"),
    })
}

/// Live state.
pub async fn observe(ctx: &Ctx) -> anyhow::Result<Vec<Observed>> {
    Ok(vec![match find(ctx).await? {
        Some(t) => Observed::present(
            "route table",
            &ctx.names.route_table,
            t.route_table_id().unwrap_or_default(),
            "present",
        )
        .detail(format!("{} subnet(s)", t.associations().len())),
        None => Observed::missing("route table", &ctx.names.route_table),
    }])
}

/// Removes the subnet associations, then the table.
pub async fn delete(ctx: &Ctx, p: &StepProgress) -> anyhow::Result<String> {
    let Some(table) = find(ctx).await? else {
        ctx.state.forget(KEY)?;
        return Ok("already gone".to_string());
    };
    let id = table.route_table_id().unwrap_or_default().to_string();
    for assoc in table.associations() {
        if assoc.main() == Some(true) {
            continue;
        }
        if let Some(assoc_id) = assoc.route_table_association_id() {
            p.set(format!(
                "disassociating {}",
                assoc.subnet_id().unwrap_or(assoc_id)
            ));
            match ctx
                .aws
                .ec2
                .disassociate_route_table()
                .association_id(assoc_id)
                .send()
                .await
                .aws(|| format!("disassociating {assoc_id} from route table {id}"))
            {
                Err(err) if has_code(&err, &["InvalidAssociationID.NotFound"]) => {}
                other => {
                    other?;
                }
            }
        }
    }
    match ctx
        .aws
        .ec2
        .delete_route_table()
        .route_table_id(&id)
        .send()
        .await
        .aws(|| format!("deleting route table {id}"))
    {
        Err(err) if has_code(&err, &["InvalidRouteTableID.NotFound"]) => {}
        other => {
            other?;
        }
    }
    ctx.state.forget(KEY)?;
    Ok(format!("deleted {id}"))
}
