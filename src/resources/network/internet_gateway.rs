//! The internet gateway (`egress = "nat"`, or `entry = "public_load_balancer"`): the public
//! subnets' way out, and so the NAT gateway's, or the public entry's way in and the tasks' way
//! out. A NAT gateway in a VPC without one attached fails ("Gateway.NotAttached"), and
//! AWS will not detach it while an address is mapped in the VPC, so it is made first and goes
//! last, after the NAT gateway and its elastic IP.

use aws_sdk_ec2::types::{InternetGateway as Gateway, ResourceType};
use serde::{Deserialize, Serialize};

use super::vpc;
use crate::aws::errors::has_code;
use crate::aws::tags::ec2_spec;
use crate::aws::{AwsResultExt as _, found, ignore};
use crate::model::{Cx, Dep, Depth, Diff, Env, Inputs, Key, Ownership, Ref, Resource, Seen};
use crate::state::Intent;

/// The VPC's internet gateway.
pub struct InternetGateway {
    name: String,
    vpc: Ref<vpc::Outputs>,
}

impl InternetGateway {
    /// The gateway of `names`' deployment, attached to its VPC.
    pub fn new(names: &crate::config::names::Names, vpc: &Ref<vpc::Outputs>) -> InternetGateway {
        InternetGateway {
            name: names.internet_gateway.clone(),
            vpc: vpc.clone(),
        }
    }

    fn attached_to(live: &Gateway) -> Vec<String> {
        live.attachments()
            .iter()
            .filter_map(|a| a.vpc_id().map(str::to_string))
            .collect()
    }
}

/// What the gateway hands its dependents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outputs {
    /// Internet gateway id.
    pub id: String,
}

impl Resource for InternetGateway {
    type Live = Gateway;
    type Outputs = Outputs;
    const FOUND_BY_ID: bool = true;

    fn key(&self) -> Key {
        "internet_gateway".to_string()
    }

    fn kind(&self) -> &'static str {
        "internet gateway"
    }

    fn name(&self) -> String {
        self.name.clone()
    }

    fn deps(&self) -> Vec<Dep> {
        vec![self.vpc.dep()]
    }

    async fn by_id(&self, cx: &Cx<'_>, id: &str, _depth: Depth) -> anyhow::Result<Option<Gateway>> {
        let out = cx
            .aws
            .ec2
            .describe_internet_gateways()
            .internet_gateway_ids(id)
            .send()
            .await;
        Ok(
            found(out.aws(|| format!("describing internet gateway {id}")))?
                .and_then(|out| out.internet_gateways().first().cloned()),
        )
    }

    async fn lookup(
        &self,
        cx: &Cx<'_>,
        _inputs: &Inputs<'_>,
        _depth: Depth,
    ) -> anyhow::Result<Option<Gateway>> {
        let out = cx
            .aws
            .ec2
            .describe_internet_gateways()
            .set_filters(Some(super::ours_named(cx, &self.name)))
            .send()
            .await
            .aws(|| format!("looking up internet gateway {}", self.name))?;
        let mut gateways = out.internet_gateways().to_vec();
        gateways.sort_by(|a, b| a.internet_gateway_id().cmp(&b.internet_gateway_id()));
        Ok(gateways.into_iter().next())
    }

    fn tags(&self, live: &Gateway) -> Option<crate::aws::tags::Tags> {
        Some(crate::aws::tags::owned(crate::aws::tags::from_ec2(
            live.tags(),
        )))
    }

    async fn retag(
        &self,
        cx: &Cx<'_>,
        live: &Gateway,
        changes: &crate::model::TagChanges,
    ) -> anyhow::Result<()> {
        crate::aws::tags::retag_ec2(&cx.aws, &self.id(live), &changes.set, &changes.remove).await
    }

    fn ownership(&self, env: &Env, live: &Gateway) -> Ownership {
        super::owner(env, live.tags())
    }

    fn id(&self, live: &Gateway) -> String {
        live.internet_gateway_id().unwrap_or_default().to_string()
    }

    fn outputs(&self, _env: &Env, live: &Gateway) -> Outputs {
        Outputs { id: self.id(live) }
    }

    fn diff(&self, _env: &Env, live: &Gateway, inputs: &Inputs<'_>) -> Diff {
        let mut diff = Diff::none();
        let have = Self::attached_to(live);
        match inputs.get(&self.vpc) {
            Some(vpc) if have == [vpc.id.clone()] => {}
            want => {
                diff.change(
                    "attached_to",
                    crate::model::listed(&have),
                    want.map_or(crate::model::Value::Unknown, |v| v.id.into()),
                );
            }
        }
        diff
    }

    async fn create(
        &self,
        cx: &Cx<'_>,
        _inputs: &Inputs<'_>,
        _intent: &Intent,
    ) -> anyhow::Result<Gateway> {
        let out = cx
            .single
            .ec2
            .create_internet_gateway()
            .tag_specifications(ec2_spec(
                &cx.tags(&self.name),
                ResourceType::InternetGateway,
            ))
            .send()
            .await
            .aws(|| format!("creating internet gateway {}", self.name))?;
        // Attached by the diff that follows.
        out.internet_gateway()
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("CreateInternetGateway returned no gateway"))
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        live: &Gateway,
        _diff: &Diff,
        inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<Gateway>> {
        let vpc = inputs.need(&self.vpc)?;
        let id = self.id(live);
        cx.say(format!("attaching it to {}", vpc.id));
        let attached = cx
            .aws
            .ec2
            .attach_internet_gateway()
            .internet_gateway_id(&id)
            .vpc_id(&vpc.id)
            .send()
            .await
            .map(|_| ())
            .aws(|| format!("attaching internet gateway {id} to {}", vpc.id));
        match attached {
            // An earlier attempt whose answer was lost may have attached it; AWS says the
            // same of a gateway attached elsewhere, which is an error.
            Err(err) if has_code(&err, &["Resource.AlreadyAssociated"]) => {
                let now = self.by_id(cx, &id, Depth::Observe).await?;
                if now.is_some_and(|g| Self::attached_to(&g) == [vpc.id.clone()]) {
                    Ok(None)
                } else {
                    Err(err)
                }
            }
            other => other.map(|()| None),
        }
    }

    async fn delete(
        &self,
        cx: &Cx<'_>,
        live: &Gateway,
        _inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<String>> {
        let id = self.id(live);
        for vpc in Self::attached_to(live) {
            cx.say(format!("detaching it from {vpc}"));
            // Refused while an address is mapped in the VPC (the NAT gateway's, until it is
            // deleted): retried.
            ignore(
                cx.aws
                    .ec2
                    .detach_internet_gateway()
                    .internet_gateway_id(&id)
                    .vpc_id(&vpc)
                    .send()
                    .await
                    .map(|_| ())
                    .aws(|| format!("detaching internet gateway {id} from {vpc}")),
                &["Gateway.NotAttached"],
            )?;
        }
        cx.aws
            .ec2
            .delete_internet_gateway()
            .internet_gateway_id(&id)
            .send()
            .await
            .aws(|| format!("deleting internet gateway {id}"))?;
        Ok(None)
    }

    fn delete_retryable(&self) -> &'static [&'static str] {
        &["DependencyViolation"]
    }

    fn observe(&self, live: &Gateway) -> Seen {
        let attached = Self::attached_to(live);
        Seen::new(
            &self.id(live),
            if attached.is_empty() {
                "detached"
            } else {
                "attached"
            },
        )
    }
}
