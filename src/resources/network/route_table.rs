//! The subnets' route tables. The private subnets': the VPC's local route and the S3 gateway
//! endpoint's prefix-list route, no route to the internet; with `egress = "nat"`, a default
//! route to the NAT gateway ([`super::nat_route`]'s). The public subnets' (`egress = "nat"`,
//! or `entry = "public_load_balancer"`): a default
//! route to the internet gateway. A table of our own (rather than the VPC's main table) can be
//! found by its tags and deleted with the stack.

use aws_sdk_ec2::types::{ResourceType, RouteTable as Table};
use serde::{Deserialize, Serialize};

use super::{internet_gateway, subnet, vpc};
use crate::aws::tags::ec2_spec;
use crate::aws::{AwsResultExt as _, found, ignore};
use crate::model::{Cx, Dep, Depth, Diff, Env, Inputs, Key, Ownership, Ref, Resource, Seen};
use crate::state::Intent;

/// A route table of the stack's subnets.
pub struct RouteTable {
    key: Key,
    name: String,
    vpc: Ref<vpc::Outputs>,
    subnets: Vec<Ref<subnet::Outputs>>,
    default_route: Option<DefaultRoute>,
}

/// Where a table sends what is not for the VPC (`0.0.0.0/0`). The private table's route to
/// a NAT gateway is [`super::nat_route`]'s.
enum DefaultRoute {
    /// The internet gateway: the public subnets'.
    Internet(Ref<internet_gateway::Outputs>),
}

/// The destination of a default route.
const ANYWHERE: &str = "0.0.0.0/0";

impl RouteTable {
    /// The table, associated with every one of `subnets`.
    pub fn new(
        names: &crate::config::names::Names,
        vpc: &Ref<vpc::Outputs>,
        subnets: &[Ref<subnet::Outputs>],
    ) -> RouteTable {
        RouteTable {
            key: "route_table".to_string(),
            name: names.route_table.clone(),
            vpc: vpc.clone(),
            subnets: subnets.to_vec(),
            default_route: None,
        }
    }

    /// The public subnets' table, its default route to the internet gateway.
    pub fn public(
        names: &crate::config::names::Names,
        vpc: &Ref<vpc::Outputs>,
        subnets: &[Ref<subnet::Outputs>],
        gateway: &Ref<internet_gateway::Outputs>,
    ) -> RouteTable {
        RouteTable {
            key: "route_table/public".to_string(),
            name: names.public_route_table.clone(),
            vpc: vpc.clone(),
            subnets: subnets.to_vec(),
            default_route: Some(DefaultRoute::Internet(gateway.clone())),
        }
    }

    /// The id the default route should lead to; `None` while it is yet to be made.
    fn wanted_target(&self, inputs: &Inputs<'_>) -> Option<Option<String>> {
        match &self.default_route {
            None => Some(None),
            Some(DefaultRoute::Internet(gateway)) => inputs.get(gateway).map(|g| Some(g.id)),
        }
    }

    /// The default route's target as found, and whether AWS says it leads nowhere.
    fn default_target(live: &Table) -> Option<(String, bool)> {
        live.routes()
            .iter()
            .find(|r| r.destination_cidr_block() == Some(ANYWHERE))
            .map(|r| {
                let target = r
                    .nat_gateway_id()
                    .or(r.gateway_id())
                    .unwrap_or("?")
                    .to_string();
                let blackhole = r.state() == Some(&aws_sdk_ec2::types::RouteState::Blackhole);
                (target, blackhole)
            })
    }

    fn associated(live: &Table) -> Vec<String> {
        let mut ids: Vec<String> = live
            .associations()
            .iter()
            .filter(|a| a.main() != Some(true))
            .filter_map(|a| a.subnet_id().map(str::to_string))
            .collect();
        ids.sort();
        ids
    }
}

/// What the route table hands its dependents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outputs {
    /// Route table id.
    pub id: String,
}

impl Resource for RouteTable {
    type Live = Table;
    type Outputs = Outputs;
    const FOUND_BY_ID: bool = true;

    fn key(&self) -> Key {
        self.key.clone()
    }

    fn kind(&self) -> &'static str {
        "route table"
    }

    fn name(&self) -> String {
        self.name.clone()
    }

    fn deps(&self) -> Vec<Dep> {
        let mut deps = vec![self.vpc.dep()];
        deps.extend(self.subnets.iter().map(Ref::dep));
        match &self.default_route {
            Some(DefaultRoute::Internet(gateway)) => deps.push(gateway.dep()),
            None => {}
        }
        deps
    }

    async fn by_id(&self, cx: &Cx<'_>, id: &str, _depth: Depth) -> anyhow::Result<Option<Table>> {
        let out = cx
            .aws
            .ec2
            .describe_route_tables()
            .route_table_ids(id)
            .send()
            .await;
        Ok(found(out.aws(|| format!("describing route table {id}")))?
            .and_then(|out| out.route_tables().first().cloned()))
    }

    async fn lookup(
        &self,
        cx: &Cx<'_>,
        _inputs: &Inputs<'_>,
        _depth: Depth,
    ) -> anyhow::Result<Option<Table>> {
        let out = cx
            .aws
            .ec2
            .describe_route_tables()
            .set_filters(Some(super::ours_named(cx, &self.name)))
            .send()
            .await
            .aws(|| format!("looking up route table {}", self.name))?;
        let mut tables = out.route_tables().to_vec();
        tables.sort_by(|a, b| a.route_table_id().cmp(&b.route_table_id()));
        Ok(tables.into_iter().next())
    }

    fn tags(&self, live: &Table) -> Option<crate::aws::tags::Tags> {
        Some(crate::aws::tags::owned(crate::aws::tags::from_ec2(
            live.tags(),
        )))
    }

    async fn retag(
        &self,
        cx: &Cx<'_>,
        live: &Table,
        changes: &crate::model::TagChanges,
    ) -> anyhow::Result<()> {
        crate::aws::tags::retag_ec2(&cx.aws, &self.id(live), &changes.set, &changes.remove).await
    }

    fn ownership(&self, env: &Env, live: &Table) -> Ownership {
        super::owner(env, live.tags())
    }

    fn id(&self, live: &Table) -> String {
        live.route_table_id().unwrap_or_default().to_string()
    }

    fn outputs(&self, _env: &Env, live: &Table) -> Outputs {
        Outputs { id: self.id(live) }
    }

    fn diff(&self, _env: &Env, live: &Table, inputs: &Inputs<'_>) -> Diff {
        let have = Self::associated(live);
        let want: Option<Vec<String>> = self
            .subnets
            .iter()
            .map(|s| inputs.get(s).map(|o| o.id))
            .collect();
        let mut diff = Diff::none();
        diff.add_missing("subnets", &have, want);
        let found = Self::default_target(live);
        match (self.wanted_target(inputs), found) {
            // A table without a default route of its own leaves the one it has alone.
            (Some(None), _) => {}
            (Some(Some(want)), Some((have, false))) if want == have => {}
            (want, found) => {
                let have = found.map(|(target, blackhole)| {
                    if blackhole {
                        format!("{ANYWHERE} → {target} (blackhole)")
                    } else {
                        format!("{ANYWHERE} → {target}")
                    }
                });
                match want {
                    Some(Some(target)) => {
                        diff.change("default_route", have, format!("{ANYWHERE} → {target}"))
                    }
                    _ => diff.change("default_route", have, crate::model::Value::Unknown),
                };
            }
        }
        diff
    }

    async fn create(
        &self,
        cx: &Cx<'_>,
        inputs: &Inputs<'_>,
        intent: &Intent,
    ) -> anyhow::Result<Table> {
        let vpc = inputs.need(&self.vpc)?;
        let out = cx
            .single
            .ec2
            .create_route_table()
            .vpc_id(&vpc.id)
            .client_token(&intent.client_token)
            .tag_specifications(ec2_spec(&cx.tags(&self.name), ResourceType::RouteTable))
            .send()
            .await
            .aws(|| format!("creating route table {}", self.name))?;
        out.route_table()
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("CreateRouteTable returned no table"))
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        live: &Table,
        _diff: &Diff,
        inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<Table>> {
        let id = self.id(live);
        if let Some(Some(target)) = self.wanted_target(inputs)
            && Self::default_target(live)
                .is_none_or(|(have, blackhole)| have != target || blackhole)
        {
            cx.say(format!("routing {ANYWHERE} to {target}"));
            let replace = Self::default_target(live).is_some();
            let result = if replace {
                cx.aws
                    .ec2
                    .replace_route()
                    .route_table_id(&id)
                    .destination_cidr_block(ANYWHERE)
                    .gateway_id(&target)
                    .send()
                    .await
                    .map(|_| ())
                    .aws(|| format!("routing {ANYWHERE} of route table {id} to {target}"))
            } else {
                cx.aws
                    .ec2
                    .create_route()
                    .route_table_id(&id)
                    .destination_cidr_block(ANYWHERE)
                    .gateway_id(&target)
                    .send()
                    .await
                    .map(|_| ())
                    .aws(|| format!("routing {ANYWHERE} of route table {id} to {target}"))
            };
            // An earlier call whose answer was lost may have made it.
            ignore(result, &["RouteAlreadyExists"])?;
        }
        let have = Self::associated(live);
        for subnet in &self.subnets {
            let subnet_id = inputs.need(subnet)?.id;
            if have.contains(&subnet_id) {
                continue;
            }
            cx.say(format!("associating {subnet_id}"));
            // An earlier call whose answer was lost may have made it.
            ignore(
                cx.aws
                    .ec2
                    .associate_route_table()
                    .route_table_id(&id)
                    .subnet_id(&subnet_id)
                    .send()
                    .await
                    .aws(|| format!("associating subnet {subnet_id} with route table {id}")),
                &["Resource.AlreadyAssociated"],
            )?;
        }
        Ok(None)
    }

    async fn delete(
        &self,
        cx: &Cx<'_>,
        live: &Table,
        _inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<String>> {
        let id = self.id(live);
        for assoc in live.associations() {
            if assoc.main() == Some(true) {
                continue;
            }
            if let Some(assoc_id) = assoc.route_table_association_id() {
                cx.say(format!(
                    "disassociating {}",
                    assoc.subnet_id().unwrap_or(assoc_id)
                ));
                ignore(
                    cx.aws
                        .ec2
                        .disassociate_route_table()
                        .association_id(assoc_id)
                        .send()
                        .await
                        .aws(|| format!("disassociating {assoc_id} from route table {id}")),
                    &["InvalidAssociationID.NotFound"],
                )?;
            }
        }
        cx.aws
            .ec2
            .delete_route_table()
            .route_table_id(&id)
            .send()
            .await
            .aws(|| format!("deleting route table {id}"))?;
        Ok(None)
    }

    fn delete_retryable(&self) -> &'static [&'static str] {
        &["DependencyViolation"]
    }

    fn observe(&self, live: &Table) -> Seen {
        Seen::new(&self.id(live), "present")
            .detail(format!("{} subnet(s)", Self::associated(live).len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::World;
    use crate::resources::testing::env;

    #[test]
    fn missing_associations_are_added_and_unknown_subnets_wait_for_up() {
        let env = env();
        let subnets = [Ref::new("subnet/0"), Ref::new("subnet/1")];
        let r = RouteTable::new(&env.names, &Ref::new("vpc"), &subnets);
        let table = Table::builder()
            .route_table_id("rtb-1")
            .associations(
                aws_sdk_ec2::types::RouteTableAssociation::builder()
                    .subnet_id("subnet-a")
                    .build(),
            )
            .build();
        let world = World::default();
        world.publish(
            "subnet/0",
            subnet::Outputs {
                id: "subnet-a".into(),
                az: "a".into(),
            },
        );
        assert_eq!(
            r.diff(&env, &table, &world.inputs()).words(),
            "subnets subnet-a → (known after up)"
        );
        world.publish(
            "subnet/1",
            subnet::Outputs {
                id: "subnet-b".into(),
                az: "b".into(),
            },
        );
        assert_eq!(
            r.diff(&env, &table, &world.inputs()).words(),
            "subnets subnet-a → subnet-a, subnet-b"
        );
    }
}
