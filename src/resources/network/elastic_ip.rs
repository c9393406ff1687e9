//! The NAT gateway's elastic IP (`egress = "nat"`): the stack's one public address, which the
//! tasks' requests to the internet come from. AWS releases it only once the NAT gateway using
//! it is deleted, so it goes after the NAT gateway.

use aws_sdk_ec2::types::{Address, DomainType, ResourceType};
use serde::{Deserialize, Serialize};

use crate::aws::tags::ec2_spec;
use crate::aws::{AwsResultExt as _, found};
use crate::model::{Cx, Dep, Depth, Env, Inputs, Key, Ownership, Resource, Seen};
use crate::state::Intent;

/// The elastic IP.
pub struct ElasticIp {
    name: String,
}

impl ElasticIp {
    /// The address of `names`' deployment's NAT gateway.
    pub fn new(names: &crate::config::names::Names) -> ElasticIp {
        ElasticIp {
            name: names.elastic_ip.clone(),
        }
    }
}

/// What the address hands its dependents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outputs {
    /// Allocation id (`eipalloc-...`).
    pub allocation_id: String,
    /// The address.
    pub public_ip: String,
}

impl Resource for ElasticIp {
    type Live = Address;
    type Outputs = Outputs;
    const FOUND_BY_ID: bool = true;

    fn key(&self) -> Key {
        "elastic_ip".to_string()
    }

    fn kind(&self) -> &'static str {
        "elastic ip"
    }

    fn name(&self) -> String {
        self.name.clone()
    }

    fn deps(&self) -> Vec<Dep> {
        Vec::new()
    }

    async fn by_id(&self, cx: &Cx<'_>, id: &str, _depth: Depth) -> anyhow::Result<Option<Address>> {
        let out = cx
            .aws
            .ec2
            .describe_addresses()
            .allocation_ids(id)
            .send()
            .await;
        Ok(found(out.aws(|| format!("describing elastic ip {id}")))?
            .and_then(|out| out.addresses().first().cloned()))
    }

    async fn lookup(
        &self,
        cx: &Cx<'_>,
        _inputs: &Inputs<'_>,
        _depth: Depth,
    ) -> anyhow::Result<Option<Address>> {
        let out = cx
            .aws
            .ec2
            .describe_addresses()
            .set_filters(Some(super::ours_named(cx, &self.name)))
            .send()
            .await
            .aws(|| format!("looking up elastic ip {}", self.name))?;
        let mut addresses = out.addresses().to_vec();
        addresses.sort_by(|a, b| a.allocation_id().cmp(&b.allocation_id()));
        Ok(addresses.into_iter().next())
    }

    fn tags(&self, live: &Address) -> Option<crate::aws::tags::Tags> {
        Some(crate::aws::tags::owned(crate::aws::tags::from_ec2(
            live.tags(),
        )))
    }

    async fn retag(
        &self,
        cx: &Cx<'_>,
        live: &Address,
        changes: &crate::model::TagChanges,
    ) -> anyhow::Result<()> {
        crate::aws::tags::retag_ec2(&cx.aws, &self.id(live), &changes.set, &changes.remove).await
    }

    fn ownership(&self, env: &Env, live: &Address) -> Ownership {
        super::owner(env, live.tags())
    }

    fn id(&self, live: &Address) -> String {
        live.allocation_id().unwrap_or_default().to_string()
    }

    fn outputs(&self, _env: &Env, live: &Address) -> Outputs {
        Outputs {
            allocation_id: self.id(live),
            public_ip: live.public_ip().unwrap_or_default().to_string(),
        }
    }

    async fn create(
        &self,
        cx: &Cx<'_>,
        _inputs: &Inputs<'_>,
        _intent: &Intent,
    ) -> anyhow::Result<Address> {
        let out = cx
            .single
            .ec2
            .allocate_address()
            .domain(DomainType::Vpc)
            .tag_specifications(ec2_spec(&cx.tags(&self.name), ResourceType::ElasticIp))
            .send()
            .await
            .aws(|| format!("allocating elastic ip {}", self.name))?;
        let tags: Vec<aws_sdk_ec2::types::Tag> = cx
            .tags(&self.name)
            .iter()
            .map(|(k, v)| aws_sdk_ec2::types::Tag::builder().key(k).value(v).build())
            .collect();
        Ok(Address::builder()
            .set_allocation_id(out.allocation_id().map(str::to_string))
            .set_public_ip(out.public_ip().map(str::to_string))
            .domain(DomainType::Vpc)
            .set_tags(Some(tags))
            .build())
    }

    async fn delete(
        &self,
        cx: &Cx<'_>,
        live: &Address,
        _inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<String>> {
        let id = self.id(live);
        cx.aws
            .ec2
            .release_address()
            .allocation_id(&id)
            .send()
            .await
            .aws(|| format!("releasing elastic ip {id}"))?;
        Ok(None)
    }

    fn delete_retryable(&self) -> &'static [&'static str] {
        // Still the NAT gateway's while it is being deleted.
        &["InvalidIPAddress.InUse"]
    }

    fn summary(&self, live: &Address) -> String {
        format!("{} ({})", self.id(live), live.public_ip().unwrap_or("?"))
    }

    fn observe(&self, live: &Address) -> Seen {
        Seen::new(
            &self.id(live),
            if live.association_id().is_some() {
                "associated"
            } else {
                "present"
            },
        )
        .detail(live.public_ip().unwrap_or_default())
    }
}
