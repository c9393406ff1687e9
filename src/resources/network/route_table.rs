//! The private subnets' route table: only the VPC's local route and the S3 gateway endpoint's
//! prefix-list route; no route to the internet. A table of our own (rather than the VPC's main
//! table) can be found by its tags and deleted with the stack.

use aws_sdk_ec2::types::{ResourceType, RouteTable as Table};
use serde::{Deserialize, Serialize};

use super::{subnet, vpc};
use crate::aws::tags::ec2_spec;
use crate::aws::{AwsResultExt as _, found, ignore};
use crate::model::{Cx, Dep, Depth, Diff, Env, Inputs, Key, Ownership, Ref, Resource, Seen};
use crate::state::Intent;

/// The route table of the private subnets.
pub struct RouteTable {
    name: String,
    vpc: Ref<vpc::Outputs>,
    subnets: Vec<Ref<subnet::Outputs>>,
}

impl RouteTable {
    /// The table, associated with every one of `subnets`.
    pub fn new(
        names: &crate::config::names::Names,
        vpc: &Ref<vpc::Outputs>,
        subnets: &[Ref<subnet::Outputs>],
    ) -> RouteTable {
        RouteTable {
            name: names.route_table.clone(),
            vpc: vpc.clone(),
            subnets: subnets.to_vec(),
        }
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
        "route_table".to_string()
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
