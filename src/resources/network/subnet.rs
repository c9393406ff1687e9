//! A subnet: a private one per `subnets` entry, each in its availability zone, where the load
//! balancer, the endpoints and the tasks are; with `egress = "nat"`, a public one per
//! `public_subnets` entry, the NAT gateway's; with `entry = "public_load_balancer"`, a public
//! one per `subnets` entry, where the internet-facing load balancer and the tasks are.

use aws_sdk_ec2::types::{ResourceType, SubnetState};
use serde::{Deserialize, Serialize};

use super::vpc;
use crate::aws::tags::ec2_spec;
use crate::aws::wait::{Patience, Poll};
use crate::aws::{AwsResultExt as _, found};
use crate::config::names::Names;
use crate::model::{
    Cx, Dep, Depth, Diff, Env, FieldChange, Inputs, Key, Ownership, Ref, Resource, Seen,
};
use crate::state::Intent;

/// The private subnet of env file entry `index`.
pub struct Subnet {
    key: Key,
    name: String,
    cidr: String,
    az: String,
    vpc: Ref<vpc::Outputs>,
}

impl Subnet {
    /// The subnet of `network.subnets[index]`.
    pub fn new(
        index: usize,
        subnet: &crate::config::Subnet,
        names: &Names,
        vpc: &Ref<vpc::Outputs>,
    ) -> Subnet {
        Subnet {
            key: format!("subnet/{index}"),
            name: names.subnet(index),
            cidr: subnet.cidr.to_string(),
            az: subnet.az.clone(),
            vpc: vpc.clone(),
        }
    }
}

impl Subnet {
    /// The public subnet of `network.public_subnets[index]` (`egress = "nat"`): the NAT
    /// gateway's; its route table leads to the internet gateway.
    pub fn public(
        index: usize,
        subnet: &crate::config::Subnet,
        names: &Names,
        vpc: &Ref<vpc::Outputs>,
    ) -> Subnet {
        Subnet {
            key: format!("subnet/public/{index}"),
            name: names.public_subnet(index),
            cidr: subnet.cidr.to_string(),
            az: subnet.az.clone(),
            vpc: vpc.clone(),
        }
    }
}

impl Subnet {
    /// Public subnet `index` the state file records and the env file no longer has: found by
    /// its name to be deleted.
    pub fn public_no_longer_used(index: usize, names: &Names, vpc: &Ref<vpc::Outputs>) -> Subnet {
        Subnet {
            key: format!("subnet/public/{index}"),
            name: names.public_subnet(index),
            cidr: String::new(),
            az: String::new(),
            vpc: vpc.clone(),
        }
    }
}

/// What a subnet hands its dependents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outputs {
    /// Subnet id.
    pub id: String,
    /// Its availability zone.
    pub az: String,
}

/// Every subnet tagged as this deployment's: both subnets come from one call while the stack
/// is surveyed.
async fn tagged(cx: &Cx<'_>) -> anyhow::Result<std::sync::Arc<Vec<aws_sdk_ec2::types::Subnet>>> {
    cx.memo
        .get("ec2 subnets", || async {
            let out = cx
                .aws
                .ec2
                .describe_subnets()
                .set_filters(Some(super::ours(cx)))
                .send()
                .await
                .aws(|| "looking up the stack's subnets".to_string())?;
            Ok(out.subnets().to_vec())
        })
        .await
}

impl Resource for Subnet {
    type Live = aws_sdk_ec2::types::Subnet;
    type Outputs = Outputs;
    const FOUND_BY_ID: bool = true;

    fn key(&self) -> Key {
        self.key.clone()
    }

    fn kind(&self) -> &'static str {
        "subnet"
    }

    fn name(&self) -> String {
        self.name.clone()
    }

    fn deps(&self) -> Vec<Dep> {
        vec![self.vpc.dep()]
    }

    async fn by_id(
        &self,
        cx: &Cx<'_>,
        id: &str,
        _depth: Depth,
    ) -> anyhow::Result<Option<Self::Live>> {
        if cx.memo.is_open()
            && let Some(found) = tagged(cx).await?.iter().find(|s| s.subnet_id() == Some(id))
        {
            return Ok(Some(found.clone()));
        }
        let out = cx.aws.ec2.describe_subnets().subnet_ids(id).send().await;
        Ok(found(out.aws(|| format!("describing subnet {id}")))?
            .and_then(|out| out.subnets().first().cloned()))
    }

    async fn lookup(
        &self,
        cx: &Cx<'_>,
        _inputs: &Inputs<'_>,
        _depth: Depth,
    ) -> anyhow::Result<Option<Self::Live>> {
        let mut mine: Vec<Self::Live> = tagged(cx)
            .await?
            .iter()
            .filter(|s| super::name_of(s.tags()) == Some(self.name.as_str()))
            .cloned()
            .collect();
        mine.sort_by(|a, b| a.subnet_id().cmp(&b.subnet_id()));
        Ok(mine.into_iter().next())
    }

    fn tags(&self, live: &Self::Live) -> Option<crate::aws::tags::Tags> {
        Some(crate::aws::tags::owned(crate::aws::tags::from_ec2(
            live.tags(),
        )))
    }

    async fn retag(
        &self,
        cx: &Cx<'_>,
        live: &Self::Live,
        changes: &crate::model::TagChanges,
    ) -> anyhow::Result<()> {
        crate::aws::tags::retag_ec2(&cx.aws, &self.id(live), &changes.set, &changes.remove).await
    }

    fn ownership(&self, env: &Env, live: &Self::Live) -> Ownership {
        super::owner(env, live.tags())
    }

    fn id(&self, live: &Self::Live) -> String {
        live.subnet_id().unwrap_or_default().to_string()
    }

    fn outputs(&self, _env: &Env, live: &Self::Live) -> Outputs {
        Outputs {
            id: self.id(live),
            az: live.availability_zone().unwrap_or_default().to_string(),
        }
    }

    fn diff(&self, env: &Env, live: &Self::Live, _inputs: &Inputs<'_>) -> Diff {
        let mut diff = Diff::none();
        diff.compare("cidr", live.cidr_block(), self.cidr.as_str())
            .compare("az", live.availability_zone(), self.az.as_str());
        if !diff.fields.is_empty() {
            diff.refuse = Some(format!(
                "a subnet cannot move; to rebuild it: `{}`, then `up`",
                env.hints.command("down")
            ));
        }
        diff
    }

    fn new_fields(&self, _env: &Env, _inputs: &Inputs<'_>) -> Vec<FieldChange> {
        vec![
            FieldChange::setting("cidr", &self.cidr),
            FieldChange::setting("az", &self.az),
        ]
    }

    async fn create(
        &self,
        cx: &Cx<'_>,
        inputs: &Inputs<'_>,
        _intent: &Intent,
    ) -> anyhow::Result<Self::Live> {
        let vpc = inputs.need(&self.vpc)?;
        let out = cx
            .single
            .ec2
            .create_subnet()
            .vpc_id(&vpc.id)
            .cidr_block(&self.cidr)
            .availability_zone(&self.az)
            .tag_specifications(ec2_spec(&cx.tags(&self.name), ResourceType::Subnet))
            .send()
            .await
            .aws(|| {
                format!(
                    "creating subnet {} ({} in {})",
                    self.name, self.cidr, self.az
                )
            })?;
        out.subnet()
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("CreateSubnet returned no subnet"))
    }

    fn readiness(&self, live: &Self::Live) -> Poll<()> {
        match live.state() {
            Some(SubnetState::Available) | None => Poll::Ready(()),
            Some(state) => Poll::Pending(state.as_str().to_string()),
        }
    }

    async fn delete(
        &self,
        cx: &Cx<'_>,
        live: &Self::Live,
        _inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<String>> {
        let id = self.id(live);
        cx.aws
            .ec2
            .delete_subnet()
            .subnet_id(&id)
            .send()
            .await
            .aws(|| format!("deleting subnet {} ({id})", self.name))?;
        Ok(None)
    }

    fn delete_retryable(&self) -> &'static [&'static str] {
        // The network interfaces of stopped tasks, deleted endpoints and the deleted load
        // balancer stay in the subnet for minutes.
        &["DependencyViolation"]
    }

    fn patience(&self) -> Patience {
        Patience::minutes(20)
    }

    fn summary(&self, live: &Self::Live) -> String {
        format!(
            "{} ({} in {})",
            self.id(live),
            live.cidr_block().unwrap_or("?"),
            live.availability_zone().unwrap_or("?")
        )
    }

    fn observe(&self, live: &Self::Live) -> Seen {
        Seen::new(
            &self.id(live),
            live.state().map_or("present", SubnetState::as_str),
        )
        .detail(format!("{} {}", self.cidr, self.az))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::World;
    use crate::resources::testing::env;

    fn subnet(cidr: &str, az: &str) -> aws_sdk_ec2::types::Subnet {
        aws_sdk_ec2::types::Subnet::builder()
            .subnet_id("subnet-1")
            .cidr_block(cidr)
            .availability_zone(az)
            .build()
    }

    #[test]
    fn a_subnet_that_moved_is_refused() {
        let env = env();
        let r = Subnet::new(
            0,
            &env.deployment.network.subnets[0],
            &env.names,
            &Ref::new("vpc"),
        );
        let world = World::default();
        assert!(
            r.diff(&env, &subnet("10.0.1.0/24", "eu-west-1a"), &world.inputs()) == Diff::none()
        );
        let moved = r.diff(&env, &subnet("10.0.1.0/24", "eu-west-1c"), &world.inputs());
        assert_eq!(moved.words(), "az eu-west-1c → eu-west-1a");
        assert!(moved.refuse.is_some_and(|why| why.contains("cannot move")));
    }
}
