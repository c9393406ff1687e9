//! The private subnets' default route to the NAT gateway (`egress = "nat"`). A resource of its
//! own rather than part of the route table: a stack moving back to the endpoints keeps it
//! until the endpoints serve the tasks, then deletes it with the NAT gateway's other parts.

use aws_sdk_ec2::types::{RouteState, RouteTable as Table};
use serde::{Deserialize, Serialize};

use super::{nat_gateway, route_table};
use crate::aws::{AwsResultExt as _, ignore};
use crate::model::{
    Cx, Dep, Depth, Diff, Env, FieldChange, Inputs, Key, Ownership, Ref, Resource, Seen,
};
use crate::state::Intent;

/// Where the route sends what is not for the VPC.
const ANYWHERE: &str = "0.0.0.0/0";

/// The route.
pub struct NatRoute {
    table: Ref<route_table::Outputs>,
    nat_gateway: Ref<nat_gateway::Outputs>,
}

impl NatRoute {
    /// The route of `table` to `nat_gateway`.
    pub fn new(
        table: &Ref<route_table::Outputs>,
        nat_gateway: &Ref<nat_gateway::Outputs>,
    ) -> NatRoute {
        NatRoute {
            table: table.clone(),
            nat_gateway: nat_gateway.clone(),
        }
    }

    /// The route as found in `table`: its target, and whether AWS says it leads nowhere.
    fn found(table: &Table) -> Option<(String, bool)> {
        table
            .routes()
            .iter()
            .find(|r| r.destination_cidr_block() == Some(ANYWHERE))
            .map(|r| {
                let target = r.nat_gateway_id().or(r.gateway_id()).unwrap_or("?");
                (
                    target.to_string(),
                    r.state() == Some(&RouteState::Blackhole),
                )
            })
    }
}

/// What the route hands its dependents: that the tasks have a way out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outputs {
    /// Its id: the table and the destination.
    pub id: String,
}

impl Resource for NatRoute {
    type Live = Table;
    type Outputs = Outputs;

    fn key(&self) -> Key {
        "route/nat".to_string()
    }

    fn kind(&self) -> &'static str {
        "route"
    }

    fn name(&self) -> String {
        format!("{ANYWHERE} → nat gateway")
    }

    fn deps(&self) -> Vec<Dep> {
        vec![self.table.dep(), self.nat_gateway.dep()]
    }

    fn found_through(&self) -> Vec<Key> {
        vec![self.table.dep().key]
    }

    async fn lookup(
        &self,
        cx: &Cx<'_>,
        inputs: &Inputs<'_>,
        _depth: Depth,
    ) -> anyhow::Result<Option<Table>> {
        let Some(table) = inputs.get(&self.table) else {
            return Ok(None);
        };
        let out = cx
            .aws
            .ec2
            .describe_route_tables()
            .route_table_ids(&table.id)
            .send()
            .await;
        let table = crate::aws::found(out.aws(|| format!("describing route table {}", table.id)))?
            .and_then(|out| out.route_tables().first().cloned());
        Ok(table.filter(|t| Self::found(t).is_some()))
    }

    fn ownership(&self, env: &Env, live: &Table) -> Ownership {
        super::owner(env, live.tags())
    }

    fn id(&self, live: &Table) -> String {
        format!("{} {ANYWHERE}", live.route_table_id().unwrap_or_default())
    }

    fn outputs(&self, _env: &Env, live: &Table) -> Outputs {
        Outputs { id: self.id(live) }
    }

    fn diff(&self, _env: &Env, live: &Table, inputs: &Inputs<'_>) -> Diff {
        let mut diff = Diff::none();
        let found = Self::found(live);
        let want = inputs.get(&self.nat_gateway).map(|n| n.id);
        match (&found, &want) {
            (Some((have, false)), Some(want)) if have == want => {}
            _ => {
                let have = found.map(|(target, blackhole)| {
                    if blackhole {
                        format!("{target} (blackhole)")
                    } else {
                        target
                    }
                });
                diff.change(
                    "target",
                    have,
                    want.map_or(crate::model::Value::Unknown, Into::into),
                );
            }
        }
        diff
    }

    fn new_fields(&self, _env: &Env, inputs: &Inputs<'_>) -> Vec<FieldChange> {
        let to = inputs
            .get(&self.nat_gateway)
            .map_or(crate::model::Value::Unknown, |n| n.id.into());
        vec![FieldChange {
            field: "target".to_string(),
            from: None,
            to,
            destructive: None,
        }]
    }

    async fn create(
        &self,
        cx: &Cx<'_>,
        inputs: &Inputs<'_>,
        _intent: &Intent,
    ) -> anyhow::Result<Table> {
        let table = inputs.need(&self.table)?.id;
        let nat = inputs.need(&self.nat_gateway)?.id;
        // An earlier call whose answer was lost may have made it.
        ignore(
            cx.aws
                .ec2
                .create_route()
                .route_table_id(&table)
                .destination_cidr_block(ANYWHERE)
                .nat_gateway_id(&nat)
                .send()
                .await
                .map(|_| ())
                .aws(|| format!("routing {ANYWHERE} of route table {table} to {nat}")),
            &["RouteAlreadyExists"],
        )?;
        let route = aws_sdk_ec2::types::Route::builder()
            .destination_cidr_block(ANYWHERE)
            .nat_gateway_id(&nat)
            .state(RouteState::Active)
            .build();
        Ok(Table::builder()
            .route_table_id(&table)
            .routes(route)
            .build())
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        live: &Table,
        _diff: &Diff,
        inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<Table>> {
        let table = live.route_table_id().unwrap_or_default().to_string();
        let nat = inputs.need(&self.nat_gateway)?.id;
        cx.say(format!("routing {ANYWHERE} to {nat}"));
        cx.aws
            .ec2
            .replace_route()
            .route_table_id(&table)
            .destination_cidr_block(ANYWHERE)
            .nat_gateway_id(&nat)
            .send()
            .await
            .aws(|| format!("routing {ANYWHERE} of route table {table} to {nat}"))?;
        Ok(None)
    }

    async fn delete(
        &self,
        cx: &Cx<'_>,
        live: &Table,
        _inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<String>> {
        let table = live.route_table_id().unwrap_or_default().to_string();
        ignore(
            cx.aws
                .ec2
                .delete_route()
                .route_table_id(&table)
                .destination_cidr_block(ANYWHERE)
                .send()
                .await
                .map(|_| ())
                .aws(|| format!("removing the route of {ANYWHERE} from route table {table}")),
            &["InvalidRoute.NotFound"],
        )?;
        Ok(None)
    }

    fn observe(&self, live: &Table) -> Seen {
        let (target, blackhole) = Self::found(live).unwrap_or_default();
        Seen::new(
            &self.id(live),
            if blackhole { "blackhole" } else { "active" },
        )
        .detail(target)
    }
}
