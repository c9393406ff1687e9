//! The NAT gateway (`egress = "nat"`): in the first public subnet with the elastic IP, the
//! private subnets' default route. It needs the internet gateway attached, or AWS fails it
//! ("Gateway.NotAttached"); it takes minutes to become available, and its deletion holds its
//! address and its subnet until it is `deleted`.

use aws_sdk_ec2::types::{NatGateway as Nat, NatGatewayState, ResourceType};
use serde::{Deserialize, Serialize};

use super::{elastic_ip, internet_gateway, route_table, subnet};
use crate::aws::tags::ec2_spec;
use crate::aws::wait::{Patience, Poll};
use crate::aws::{AwsResultExt as _, found};
use crate::model::{
    Cx, Dep, Depth, Diff, Env, Inputs, Key, Ownership, Ref, Replace, Resource, Seen,
};
use crate::state::Intent;

/// The NAT gateway.
pub struct NatGateway {
    name: String,
    subnet: Ref<subnet::Outputs>,
    address: Ref<elastic_ip::Outputs>,
    internet_gateway: Ref<internet_gateway::Outputs>,
    public_routes: Ref<route_table::Outputs>,
}

/// What the NAT gateway stands on.
pub struct Wiring<'a> {
    /// The public subnet it is in.
    pub subnet: &'a Ref<subnet::Outputs>,
    /// Its address.
    pub address: &'a Ref<elastic_ip::Outputs>,
    /// The internet gateway, attached to the VPC.
    pub internet_gateway: &'a Ref<internet_gateway::Outputs>,
    /// The public subnets' route table, which leads it to the internet gateway.
    pub public_routes: &'a Ref<route_table::Outputs>,
}

impl NatGateway {
    /// The NAT gateway, once what `wiring` names is ready.
    pub fn new(names: &crate::config::names::Names, wiring: Wiring<'_>) -> NatGateway {
        NatGateway {
            name: names.nat_gateway.clone(),
            subnet: wiring.subnet.clone(),
            address: wiring.address.clone(),
            internet_gateway: wiring.internet_gateway.clone(),
            public_routes: wiring.public_routes.clone(),
        }
    }
}

/// What the NAT gateway hands its dependents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outputs {
    /// NAT gateway id.
    pub id: String,
}

fn state_of(live: &Nat) -> String {
    live.state()
        .map_or_else(|| "unknown".to_string(), |s| s.as_str().to_string())
}

impl Resource for NatGateway {
    type Live = Nat;
    type Outputs = Outputs;
    const FOUND_BY_ID: bool = true;

    fn key(&self) -> Key {
        "nat_gateway".to_string()
    }

    fn kind(&self) -> &'static str {
        "nat gateway"
    }

    fn name(&self) -> String {
        self.name.clone()
    }

    fn deps(&self) -> Vec<Dep> {
        vec![
            self.subnet.dep(),
            self.address.dep(),
            self.internet_gateway.dep(),
            self.public_routes.dep(),
        ]
    }

    async fn by_id(&self, cx: &Cx<'_>, id: &str, _depth: Depth) -> anyhow::Result<Option<Nat>> {
        let out = cx
            .aws
            .ec2
            .describe_nat_gateways()
            .nat_gateway_ids(id)
            .send()
            .await;
        Ok(found(out.aws(|| format!("describing nat gateway {id}")))?
            .and_then(|out| out.nat_gateways().first().cloned()))
    }

    async fn lookup(
        &self,
        cx: &Cx<'_>,
        _inputs: &Inputs<'_>,
        _depth: Depth,
    ) -> anyhow::Result<Option<Nat>> {
        let mut filters = super::ours_named(cx, &self.name);
        filters.push(
            aws_sdk_ec2::types::Filter::builder()
                .name("state")
                .values("pending")
                .values("available")
                .values("deleting")
                .values("failed")
                .build(),
        );
        let out = cx
            .aws
            .ec2
            .describe_nat_gateways()
            .set_filter(Some(filters))
            .send()
            .await
            .aws(|| format!("looking up nat gateway {}", self.name))?;
        let mut gateways = out.nat_gateways().to_vec();
        gateways.sort_by(|a, b| a.nat_gateway_id().cmp(&b.nat_gateway_id()));
        Ok(gateways.into_iter().next())
    }

    fn tags(&self, live: &Nat) -> Option<crate::aws::tags::Tags> {
        Some(crate::aws::tags::owned(crate::aws::tags::from_ec2(
            live.tags(),
        )))
    }

    async fn retag(
        &self,
        cx: &Cx<'_>,
        live: &Nat,
        changes: &crate::model::TagChanges,
    ) -> anyhow::Result<()> {
        crate::aws::tags::retag_ec2(&cx.aws, &self.id(live), &changes.set, &changes.remove).await
    }

    fn ownership(&self, env: &Env, live: &Nat) -> Ownership {
        super::owner(env, live.tags())
    }

    fn id(&self, live: &Nat) -> String {
        live.nat_gateway_id().unwrap_or_default().to_string()
    }

    fn outputs(&self, _env: &Env, live: &Nat) -> Outputs {
        Outputs { id: self.id(live) }
    }

    /// A failed NAT gateway stays listed for an hour, and one being deleted (an interrupted
    /// `down`) will be gone: both are replaced, the old one gone first, as it holds the address.
    fn diff(&self, _env: &Env, live: &Nat, _inputs: &Inputs<'_>) -> Diff {
        let mut diff = Diff::none();
        let reason = match live.state() {
            Some(NatGatewayState::Failed) => Some(format!(
                "AWS reports it failed: {}",
                live.failure_message()
                    .or(live.failure_code())
                    .unwrap_or("no reason given")
            )),
            Some(NatGatewayState::Deleting) => {
                Some("it is being deleted (an interrupted down)".to_string())
            }
            _ => None,
        };
        diff.replace = reason.map(|reason| Replace {
            reason,
            destructive: false,
        });
        diff
    }

    async fn create(
        &self,
        cx: &Cx<'_>,
        inputs: &Inputs<'_>,
        intent: &Intent,
    ) -> anyhow::Result<Nat> {
        let subnet = inputs.need(&self.subnet)?;
        let address = inputs.need(&self.address)?;
        let out = cx
            .single
            .ec2
            .create_nat_gateway()
            .subnet_id(&subnet.id)
            .allocation_id(&address.allocation_id)
            .client_token(&intent.client_token)
            .tag_specifications(ec2_spec(&cx.tags(&self.name), ResourceType::Natgateway))
            .send()
            .await
            .aws(|| format!("creating nat gateway {}", self.name))?;
        out.nat_gateway()
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("CreateNatGateway returned no gateway"))
    }

    fn readiness(&self, live: &Nat) -> Poll<()> {
        match live.state() {
            Some(NatGatewayState::Available) => Poll::Ready(()),
            Some(NatGatewayState::Failed) => Poll::Failed(format!(
                "AWS reports it failed: {}",
                live.failure_message()
                    .or(live.failure_code())
                    .unwrap_or("no reason given")
            )),
            _ => Poll::Pending(state_of(live)),
        }
    }

    fn waiting_for(&self) -> &'static str {
        "to become available"
    }

    fn patience(&self) -> Patience {
        Patience::minutes(15)
    }

    async fn delete(
        &self,
        cx: &Cx<'_>,
        live: &Nat,
        _inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<String>> {
        // Deleting it again changes nothing; the wait for `deleted` follows.
        if live.state() == Some(&NatGatewayState::Deleting) {
            return Ok(None);
        }
        let id = self.id(live);
        cx.aws
            .ec2
            .delete_nat_gateway()
            .nat_gateway_id(&id)
            .send()
            .await
            .aws(|| format!("deleting nat gateway {id}"))?;
        Ok(None)
    }

    /// A deleted NAT gateway stays listed for an hour: it is gone all the same.
    fn gone(&self, live: &Nat) -> bool {
        live.state() == Some(&NatGatewayState::Deleted)
    }

    fn observe(&self, live: &Nat) -> Seen {
        Seen::new(&self.id(live), &state_of(live)).detail(
            live.nat_gateway_addresses()
                .first()
                .and_then(|a| a.public_ip())
                .unwrap_or_default(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::World;
    use crate::resources::testing::env;

    #[test]
    fn a_failed_or_deleting_nat_gateway_is_replaced_an_available_one_kept() {
        let env = env();
        let r = NatGateway::new(
            &env.names,
            Wiring {
                subnet: &Ref::new("subnet/public/0"),
                address: &Ref::new("elastic_ip"),
                internet_gateway: &Ref::new("internet_gateway"),
                public_routes: &Ref::new("route_table/public"),
            },
        );
        let world = World::default();
        let nat = |state: NatGatewayState| {
            Nat::builder()
                .nat_gateway_id("nat-1")
                .state(state)
                .failure_code("Gateway.NotAttached")
                .build()
        };
        assert_eq!(
            r.diff(&env, &nat(NatGatewayState::Available), &world.inputs()),
            Diff::none()
        );
        assert!(matches!(
            r.readiness(&nat(NatGatewayState::Pending)),
            Poll::Pending(state) if state == "pending"
        ));
        for (state, words) in [
            (NatGatewayState::Failed, "Gateway.NotAttached"),
            (NatGatewayState::Deleting, "interrupted down"),
        ] {
            let replaced = r.diff(&env, &nat(state), &world.inputs()).replace;
            assert!(
                replaced.is_some_and(|r| r.reason.contains(words) && !r.destructive),
                "{words}"
            );
        }
        assert!(r.gone(&nat(NatGatewayState::Deleted)));
    }
}
