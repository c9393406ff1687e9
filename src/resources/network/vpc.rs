//! The VPC: the stack's private network. DNS support and DNS hostnames are on, because the
//! interface endpoints' private DNS names need both. Its default security group keeps no
//! rules: AWS gives it one letting its members reach each other and one letting them reach
//! anything, and whatever is put in it by mistake would get both (Security Hub EC2.2,
//! https://docs.aws.amazon.com/securityhub/latest/userguide/ec2-controls.html#ec2-2).

use aws_sdk_ec2::types::{
    AttributeBooleanValue, IpPermission, ResourceType, VpcAttributeName, VpcState,
};
use serde::{Deserialize, Serialize};

use crate::aws::tags::{ec2_filter, ec2_spec};
use crate::aws::wait::Poll;
use crate::aws::{AwsResultExt as _, found};
use crate::model::{
    Cx, Dep, Depth, Diff, Env, FieldChange, Inputs, Key, Ownership, Resource, Seen,
};
use crate::state::Intent;

/// The VPC.
pub struct Vpc {
    name: String,
    cidr: String,
}

impl Vpc {
    /// The deployment's VPC.
    pub fn new(env: &crate::config::Deployment, names: &crate::config::names::Names) -> Vpc {
        Vpc {
            name: names.vpc.clone(),
            cidr: env.network.vpc_cidr.to_string(),
        }
    }
}

/// The VPC as AWS shows it, with its DNS attributes when read (`None`: not read, or a VPC just
/// made whose attributes are set next).
#[derive(Debug, Clone)]
pub struct Live {
    /// The VPC.
    pub vpc: aws_sdk_ec2::types::Vpc,
    /// `enableDnsSupport`.
    pub dns_support: Option<bool>,
    /// `enableDnsHostnames`.
    pub dns_hostnames: Option<bool>,
    /// Its default security group.
    pub default_group: DefaultGroup,
}

/// The VPC's default security group, as far as it was read.
#[derive(Debug, Clone, PartialEq)]
pub enum DefaultGroup {
    /// Not read (`status` reads less).
    NotRead,
    /// The VPC was just made: AWS gave its default group its two rules.
    AsAwsMadeIt,
    /// Read: its id and rules.
    Read {
        /// Group id.
        id: String,
        /// Inbound rules.
        ingress: Vec<IpPermission>,
        /// Outbound rules.
        egress: Vec<IpPermission>,
    },
}

/// The default security group of VPC `id`.
async fn default_group(cx: &Cx<'_>, id: &str) -> anyhow::Result<DefaultGroup> {
    let out = cx
        .aws
        .ec2
        .describe_security_groups()
        .filters(ec2_filter("vpc-id", id))
        .filters(ec2_filter("group-name", "default"))
        .send()
        .await
        .aws(|| format!("reading the default security group of VPC {id}"))?;
    Ok(match out.security_groups().first() {
        Some(group) => DefaultGroup::Read {
            id: group.group_id().unwrap_or_default().to_string(),
            ingress: group.ip_permissions().to_vec(),
            egress: group.ip_permissions_egress().to_vec(),
        },
        // Not listed yet (a VPC made moments ago): as AWS makes it.
        None => DefaultGroup::AsAwsMadeIt,
    })
}

/// What the VPC hands its dependents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outputs {
    /// VPC id.
    pub id: String,
    /// Its CIDR block.
    pub cidr: String,
}

async fn attribute(
    cx: &Cx<'_>,
    id: &str,
    attribute: VpcAttributeName,
) -> anyhow::Result<Option<bool>> {
    let out = cx
        .aws
        .ec2
        .describe_vpc_attribute()
        .vpc_id(id)
        .attribute(attribute.clone())
        .send()
        .await
        .aws(|| format!("reading {attribute} of VPC {id}"))?;
    Ok(match attribute {
        VpcAttributeName::EnableDnsSupport => out.enable_dns_support(),
        _ => out.enable_dns_hostnames(),
    }
    .and_then(AttributeBooleanValue::value))
}

async fn with_attributes(
    cx: &Cx<'_>,
    vpc: Option<aws_sdk_ec2::types::Vpc>,
    depth: Depth,
) -> anyhow::Result<Option<Live>> {
    let Some(vpc) = vpc else { return Ok(None) };
    let (dns_support, dns_hostnames, default_group) = match (depth, vpc.vpc_id()) {
        (Depth::Full, Some(id)) => tokio::try_join!(
            attribute(cx, id, VpcAttributeName::EnableDnsSupport),
            attribute(cx, id, VpcAttributeName::EnableDnsHostnames),
            default_group(cx, id)
        )?,
        _ => (None, None, DefaultGroup::NotRead),
    };
    Ok(Some(Live {
        vpc,
        dns_support,
        dns_hostnames,
        default_group,
    }))
}

fn on(value: Option<bool>) -> Option<&'static str> {
    value.map(|v| if v { "true" } else { "false" })
}

impl Vpc {
    /// Revokes every rule of the VPC's default security group, as read now.
    async fn empty_default_group(&self, cx: &Cx<'_>, vpc: &str) -> anyhow::Result<()> {
        // A VPC made moments ago may not list its default group yet.
        let (id, ingress, egress) = crate::aws::wait::until(
            &format!("the default security group of VPC {vpc} to be listed"),
            cx.line,
            crate::aws::wait::Patience::minutes(2),
            || async {
                Ok(match default_group(cx, vpc).await? {
                    DefaultGroup::Read {
                        id,
                        ingress,
                        egress,
                    } => Poll::Ready((id, ingress, egress)),
                    _ => Poll::Pending("not listed yet".to_string()),
                })
            },
        )
        .await?;
        if !ingress.is_empty() {
            cx.aws
                .ec2
                .revoke_security_group_ingress()
                .group_id(&id)
                .set_ip_permissions(Some(ingress))
                .send()
                .await
                .aws(|| format!("removing the inbound rules of default security group {id}"))?;
        }
        if !egress.is_empty() {
            cx.aws
                .ec2
                .revoke_security_group_egress()
                .group_id(&id)
                .set_ip_permissions(Some(egress))
                .send()
                .await
                .aws(|| format!("removing the outbound rules of default security group {id}"))?;
        }
        Ok(())
    }
}

impl Resource for Vpc {
    type Live = Live;
    type Outputs = Outputs;
    const FOUND_BY_ID: bool = true;

    fn key(&self) -> Key {
        "vpc".to_string()
    }

    fn kind(&self) -> &'static str {
        "vpc"
    }

    fn name(&self) -> String {
        self.name.clone()
    }

    fn deps(&self) -> Vec<Dep> {
        Vec::new()
    }

    async fn by_id(&self, cx: &Cx<'_>, id: &str, depth: Depth) -> anyhow::Result<Option<Live>> {
        let out = cx.aws.ec2.describe_vpcs().vpc_ids(id).send().await;
        let vpc = found(out.aws(|| format!("describing VPC {id}")))?
            .and_then(|out| out.vpcs().first().cloned());
        with_attributes(cx, vpc, depth).await
    }

    async fn lookup(
        &self,
        cx: &Cx<'_>,
        _inputs: &Inputs<'_>,
        depth: Depth,
    ) -> anyhow::Result<Option<Live>> {
        let out = cx
            .aws
            .ec2
            .describe_vpcs()
            .set_filters(Some(super::ours_named(cx, &self.name)))
            .send()
            .await
            .aws(|| format!("looking up VPC {}", self.name))?;
        let mut vpcs = out.vpcs().to_vec();
        vpcs.sort_by(|a, b| a.vpc_id().cmp(&b.vpc_id()));
        with_attributes(cx, vpcs.into_iter().next(), depth).await
    }

    fn tags(&self, live: &Live) -> Option<crate::aws::tags::Tags> {
        Some(crate::aws::tags::owned(crate::aws::tags::from_ec2(
            live.vpc.tags(),
        )))
    }

    async fn retag(
        &self,
        cx: &Cx<'_>,
        live: &Live,
        changes: &crate::model::TagChanges,
    ) -> anyhow::Result<()> {
        crate::aws::tags::retag_ec2(&cx.aws, &self.id(live), &changes.set, &changes.remove).await
    }

    fn ownership(&self, env: &Env, live: &Live) -> Ownership {
        super::owner(env, live.vpc.tags())
    }

    fn id(&self, live: &Live) -> String {
        live.vpc.vpc_id().unwrap_or_default().to_string()
    }

    fn outputs(&self, _env: &Env, live: &Live) -> Outputs {
        Outputs {
            id: self.id(live),
            cidr: live.vpc.cidr_block().unwrap_or_default().to_string(),
        }
    }

    fn diff(&self, env: &Env, live: &Live, _inputs: &Inputs<'_>) -> Diff {
        let mut diff = Diff::none();
        let have = live.vpc.cidr_block();
        if have != Some(self.cidr.as_str()) {
            diff.compare("cidr", have, self.cidr.as_str());
            diff.refuse = Some(format!(
                "a VPC's CIDR cannot change; to rebuild with {}: `{}`, then `up`",
                self.cidr,
                env.hints.command("down")
            ));
            return diff;
        }
        diff.compare("enable_dns_support", on(live.dns_support), "true")
            .compare("enable_dns_hostnames", on(live.dns_hostnames), "true");
        let rules = match &live.default_group {
            DefaultGroup::NotRead => None,
            DefaultGroup::AsAwsMadeIt => Some("AWS's two rules".to_string()),
            DefaultGroup::Read {
                ingress, egress, ..
            } => match ingress.len() + egress.len() {
                0 => None,
                n => Some(format!("{n} rule(s)")),
            },
        };
        if let Some(rules) = rules {
            diff.change("default_security_group", Some(rules), "no rules");
        }
        diff
    }

    fn new_fields(&self, _env: &Env, _inputs: &Inputs<'_>) -> Vec<FieldChange> {
        vec![
            FieldChange::setting("cidr", &self.cidr),
            FieldChange::setting("default_security_group", "no rules"),
        ]
    }

    async fn create(
        &self,
        cx: &Cx<'_>,
        _inputs: &Inputs<'_>,
        _intent: &Intent,
    ) -> anyhow::Result<Live> {
        let out = cx
            .single
            .ec2
            .create_vpc()
            .cidr_block(&self.cidr)
            .tag_specifications(ec2_spec(&cx.tags(&self.name), ResourceType::Vpc))
            .send()
            .await
            .aws(|| format!("creating VPC {}", self.name))?;
        let vpc = out
            .vpc()
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("CreateVpc returned no VPC"))?;
        Ok(Live {
            vpc,
            dns_support: None,
            dns_hostnames: None,
            default_group: DefaultGroup::AsAwsMadeIt,
        })
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        live: &Live,
        diff: &Diff,
        _inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<Live>> {
        let id = self.id(live);
        let on = || AttributeBooleanValue::builder().value(true).build();
        // One attribute per call: EC2 refuses both in one ModifyVpcAttribute.
        if diff.changes("enable_dns_support") {
            cx.aws
                .ec2
                .modify_vpc_attribute()
                .vpc_id(&id)
                .enable_dns_support(on())
                .send()
                .await
                .aws(|| format!("turning on DNS support of VPC {id}"))?;
        }
        if diff.changes("enable_dns_hostnames") {
            cx.aws
                .ec2
                .modify_vpc_attribute()
                .vpc_id(&id)
                .enable_dns_hostnames(on())
                .send()
                .await
                .aws(|| format!("turning on DNS hostnames of VPC {id}"))?;
        }
        if diff.changes("default_security_group") {
            self.empty_default_group(cx, &id).await?;
        }
        Ok(None)
    }

    fn readiness(&self, live: &Live) -> Poll<()> {
        match live.vpc.state() {
            Some(VpcState::Available) => Poll::Ready(()),
            Some(state) => Poll::Pending(state.as_str().to_string()),
            None => Poll::Pending("unknown".to_string()),
        }
    }

    async fn delete(
        &self,
        cx: &Cx<'_>,
        live: &Live,
        _inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<String>> {
        let id = self.id(live);
        cx.aws
            .ec2
            .delete_vpc()
            .vpc_id(&id)
            .send()
            .await
            .aws(|| format!("deleting VPC {id}"))?;
        Ok(None)
    }

    fn delete_retryable(&self) -> &'static [&'static str] {
        // Network interfaces of deleted tasks, endpoints and load balancers linger for minutes.
        &["DependencyViolation"]
    }

    fn patience(&self) -> crate::aws::wait::Patience {
        crate::aws::wait::Patience::minutes(20)
    }

    fn summary(&self, live: &Live) -> String {
        format!(
            "{} ({})",
            self.id(live),
            live.vpc.cidr_block().unwrap_or("?")
        )
    }

    fn observe(&self, live: &Live) -> Seen {
        Seen::new(
            &self.id(live),
            live.vpc.state().map_or("present", VpcState::as_str),
        )
        .detail(live.vpc.cidr_block().unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::World;
    use crate::resources::testing::env;

    fn live(cidr: &str, support: Option<bool>, hostnames: Option<bool>) -> Live {
        Live {
            vpc: aws_sdk_ec2::types::Vpc::builder()
                .vpc_id("vpc-1")
                .cidr_block(cidr)
                .state(VpcState::Available)
                .build(),
            dns_support: support,
            dns_hostnames: hostnames,
            default_group: DefaultGroup::Read {
                id: "sg-default".to_string(),
                ingress: Vec::new(),
                egress: Vec::new(),
            },
        }
    }

    #[test]
    fn dns_off_is_turned_on() {
        let env = env();
        let vpc = Vpc::new(&env.deployment, &env.names);
        let world = World::default();
        let diff = vpc.diff(
            &env,
            &live("10.0.0.0/16", Some(true), Some(false)),
            &world.inputs(),
        );
        assert_eq!(diff.words(), "enable_dns_hostnames false → true");
        assert!(
            vpc.diff(
                &env,
                &live("10.0.0.0/16", Some(true), Some(true)),
                &world.inputs()
            ) == Diff::none()
        );
        // A VPC just made: both are set, whatever AWS's defaults, and its default group
        // emptied.
        let mut made = live("10.0.0.0/16", None, None);
        made.default_group = DefaultGroup::AsAwsMadeIt;
        let made = vpc.diff(&env, &made, &world.inputs());
        assert_eq!(made.fields.len(), 3);
        assert!(made.changes("default_security_group"));
    }

    #[test]
    fn the_default_security_group_keeps_no_rules() {
        let env = env();
        let vpc = Vpc::new(&env.deployment, &env.names);
        let world = World::default();
        let mut found = live("10.0.0.0/16", Some(true), Some(true));
        found.default_group = DefaultGroup::Read {
            id: "sg-default".to_string(),
            ingress: vec![IpPermission::builder().ip_protocol("-1").build()],
            egress: vec![IpPermission::builder().ip_protocol("-1").build()],
        };
        let diff = vpc.diff(&env, &found, &world.inputs());
        assert_eq!(diff.words(), "default_security_group 2 rule(s) → no rules");
        found.default_group = DefaultGroup::NotRead;
        assert!(vpc.diff(&env, &found, &world.inputs()) == Diff::none());
    }

    #[test]
    fn another_cidr_is_refused_with_the_way_to_rebuild() {
        let env = env();
        let vpc = Vpc::new(&env.deployment, &env.names);
        let world = World::default();
        let diff = vpc.diff(
            &env,
            &live("10.1.0.0/16", Some(true), Some(true)),
            &world.inputs(),
        );
        let why = diff.refuse.clone().expect("refused");
        assert!(
            why.contains("cannot change") && why.contains("down"),
            "{why}"
        );
        assert_eq!(diff.words(), "cidr 10.1.0.0/16 → 10.0.0.0/16");
    }
}
