//! The security group of the tasks and the interface endpoints.
//!
//! Ingress: the service port and 443 from the VPC only. Egress: 443 to the VPC (interface
//! endpoints) and 443 to the S3 prefix list (gateway endpoint, where ECR keeps image layers).
//! The all-open egress rule AWS adds to every new group is removed: the original design left it.

use aws_sdk_ec2::types::{
    IpPermission, IpRange, PrefixListId, ResourceType, SecurityGroup as Group,
};
use serde::{Deserialize, Serialize};

use super::vpc;
use crate::aws::errors::has_code;
use crate::aws::tags::{ec2_filter, ec2_spec};
use crate::aws::wait::Patience;
use crate::aws::{AwsResultExt as _, ignore};
use crate::model::{Cx, Dep, Depth, Diff, Env, Inputs, Key, Ownership, Ref, Resource, Seen};
use crate::state::Intent;

/// The tasks' and endpoints' security group.
pub struct SecurityGroup {
    name: String,
    port: i32,
    vpc_cidr: String,
    description: String,
    vpc: Ref<vpc::Outputs>,
}

impl SecurityGroup {
    /// The group of `deployment`'s tasks.
    pub fn new(
        deployment: &crate::config::Deployment,
        names: &crate::config::names::Names,
        vpc: &Ref<vpc::Outputs>,
    ) -> SecurityGroup {
        SecurityGroup {
            name: names.security_group.clone(),
            port: i32::from(deployment.service.port),
            vpc_cidr: deployment.network.vpc_cidr.to_string(),
            description: format!(
                "gwfargate {}: tasks of {} and the VPC endpoints",
                deployment.name, deployment.service.name
            ),
            vpc: vpc.clone(),
        }
    }

    fn ingress(&self) -> Vec<Rule> {
        vec![
            Rule::cidr(
                self.port,
                &self.vpc_cidr,
                "service port from the VPC (load balancer)",
            ),
            Rule::cidr(
                443,
                &self.vpc_cidr,
                "HTTPS from the VPC (interface endpoints)",
            ),
        ]
    }

    fn egress(&self, s3: Option<&str>) -> Vec<Rule> {
        let mut rules = vec![Rule::cidr(
            443,
            &self.vpc_cidr,
            "HTTPS to the interface endpoints",
        )];
        if let Some(s3) = s3 {
            rules.push(Rule {
                port: 443,
                peer: Peer::PrefixList(s3.to_string()),
                description: "HTTPS to S3 (image layers)",
            });
        }
        rules
    }
}

/// The group, and the id of the region's S3 prefix list its egress rule names.
#[derive(Debug, Clone)]
pub struct Live {
    /// The group with its rules.
    pub group: Group,
    /// AWS's managed prefix list for S3 in the region (read at full depth).
    pub s3_prefix_list: Option<String>,
}

/// What the group hands its dependents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outputs {
    /// Group id.
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Peer {
    Cidr(String),
    PrefixList(String),
}

#[derive(Debug, Clone)]
struct Rule {
    port: i32,
    peer: Peer,
    description: &'static str,
}

impl Rule {
    fn cidr(port: i32, cidr: &str, description: &'static str) -> Rule {
        Rule {
            port,
            peer: Peer::Cidr(cidr.to_string()),
            description,
        }
    }

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

    fn words(&self) -> String {
        match &self.peer {
            Peer::Cidr(cidr) => format!("tcp {} {cidr}", self.port),
            Peer::PrefixList(id) => format!("tcp {} {id}", self.port),
        }
    }
}

fn is_open_egress(p: &IpPermission) -> bool {
    p.ip_protocol() == Some("-1")
        && p.ip_ranges()
            .iter()
            .any(|r| r.cidr_ip() == Some("0.0.0.0/0"))
}

/// The rules of `perms` in words, one per peer.
fn words(perms: &[IpPermission]) -> Vec<String> {
    let mut out = Vec::new();
    for p in perms {
        let proto = match p.ip_protocol() {
            Some("-1") => "all".to_string(),
            other => other.unwrap_or("?").to_string(),
        };
        let port = match (p.from_port(), p.to_port()) {
            (Some(a), Some(b)) if a == b && proto != "all" => format!(" {a}"),
            (Some(a), Some(b)) if proto != "all" => format!(" {a}-{b}"),
            _ => String::new(),
        };
        for r in p.ip_ranges() {
            out.push(format!("{proto}{port} {}", r.cidr_ip().unwrap_or("?")));
        }
        for pl in p.prefix_list_ids() {
            out.push(format!(
                "{proto}{port} {}",
                pl.prefix_list_id().unwrap_or("?")
            ));
        }
        for g in p.user_id_group_pairs() {
            out.push(format!("{proto}{port} {}", g.group_id().unwrap_or("?")));
        }
    }
    out
}

/// The id of AWS's managed prefix list for S3 in the region.
async fn s3_prefix_list(cx: &Cx<'_>) -> anyhow::Result<String> {
    let id = cx
        .memo
        .get("s3 prefix list", || async {
            let name = format!("com.amazonaws.{}.s3", cx.deployment.region);
            let out = cx
                .aws
                .ec2
                .describe_managed_prefix_lists()
                .filters(ec2_filter("prefix-list-name", &name))
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
                        cx.deployment.region
                    )
                })
        })
        .await?;
    Ok((*id).clone())
}

async fn with_prefix_list(
    cx: &Cx<'_>,
    group: Option<Group>,
    depth: Depth,
) -> anyhow::Result<Option<Live>> {
    let Some(group) = group else { return Ok(None) };
    let s3_prefix_list = match depth {
        Depth::Full => Some(s3_prefix_list(cx).await?),
        Depth::Observe => None,
    };
    Ok(Some(Live {
        group,
        s3_prefix_list,
    }))
}

impl Resource for SecurityGroup {
    type Live = Live;
    type Outputs = Outputs;
    const FOUND_BY_ID: bool = true;

    fn key(&self) -> Key {
        "security_group".to_string()
    }

    fn kind(&self) -> &'static str {
        "security group"
    }

    fn name(&self) -> String {
        self.name.clone()
    }

    fn deps(&self) -> Vec<Dep> {
        vec![self.vpc.dep()]
    }

    async fn by_id(&self, cx: &Cx<'_>, id: &str, depth: Depth) -> anyhow::Result<Option<Live>> {
        let out = cx
            .aws
            .ec2
            .describe_security_groups()
            .group_ids(id)
            .send()
            .await;
        let group = match out.aws(|| format!("describing security group {id}")) {
            Ok(out) => out.security_groups().first().cloned(),
            Err(err) if has_code(&err, &["InvalidGroup.NotFound", "InvalidGroupId.Malformed"]) => {
                None
            }
            Err(err) => return Err(err),
        };
        with_prefix_list(cx, group, depth).await
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
            .describe_security_groups()
            .set_filters(Some(super::ours_named(cx, &self.name)))
            .send()
            .await
            .aws(|| format!("looking up security group {}", self.name))?;
        let mut groups = out.security_groups().to_vec();
        groups.sort_by(|a, b| a.group_id().cmp(&b.group_id()));
        with_prefix_list(cx, groups.into_iter().next(), depth).await
    }

    fn ownership(&self, env: &Env, live: &Live) -> Ownership {
        super::owner(env, live.group.tags())
    }

    fn id(&self, live: &Live) -> String {
        live.group.group_id().unwrap_or_default().to_string()
    }

    fn outputs(&self, _env: &Env, live: &Live) -> Outputs {
        Outputs { id: self.id(live) }
    }

    fn diff(&self, _env: &Env, live: &Live, _inputs: &Inputs<'_>) -> Diff {
        let g = &live.group;
        let mut diff = Diff::none();
        let missing_in: Vec<Rule> = self
            .ingress()
            .into_iter()
            .filter(|r| !r.is_in(g.ip_permissions()))
            .collect();
        if !missing_in.is_empty() {
            let have = words(g.ip_permissions());
            let mut after = have.clone();
            after.extend(missing_in.iter().map(Rule::words));
            diff.change("ingress", crate::model::listed(&have), after.join(", "));
        }
        let egress = g.ip_permissions_egress();
        let missing_out: Vec<Rule> = self
            .egress(live.s3_prefix_list.as_deref())
            .into_iter()
            .filter(|r| !r.is_in(egress))
            .collect();
        let open = egress.iter().any(is_open_egress);
        if !missing_out.is_empty() || open {
            let have = words(egress);
            let kept: Vec<IpPermission> = egress
                .iter()
                .filter(|p| !is_open_egress(p))
                .cloned()
                .collect();
            let mut after = words(&kept);
            after.extend(missing_out.iter().map(Rule::words));
            diff.change("egress", crate::model::listed(&have), after.join(", "));
        }
        diff
    }

    async fn create(
        &self,
        cx: &Cx<'_>,
        inputs: &Inputs<'_>,
        _intent: &Intent,
    ) -> anyhow::Result<Live> {
        let vpc = inputs.need(&self.vpc)?;
        let tags = cx.tags(&self.name);
        let out = cx
            .single
            .ec2
            .create_security_group()
            .group_name(&self.name)
            .description(&self.description)
            .vpc_id(&vpc.id)
            .tag_specifications(ec2_spec(&tags, ResourceType::SecurityGroup))
            .send()
            .await
            .aws(|| format!("creating security group {}", self.name))?;
        let id = out
            .group_id()
            .ok_or_else(|| anyhow::anyhow!("CreateSecurityGroup returned no id"))?;
        // A new group has no ingress and AWS's all-open egress rule.
        let group = Group::builder()
            .group_id(id)
            .group_name(&self.name)
            .vpc_id(&vpc.id)
            .set_tags(Some(
                tags.iter()
                    .map(|(k, v)| aws_sdk_ec2::types::Tag::builder().key(k).value(v).build())
                    .collect(),
            ))
            .ip_permissions_egress(
                IpPermission::builder()
                    .ip_protocol("-1")
                    .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                    .build(),
            )
            .build();
        Ok(Live {
            group,
            s3_prefix_list: Some(s3_prefix_list(cx).await?),
        })
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        live: &Live,
        _diff: &Diff,
        _inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<Live>> {
        let g = &live.group;
        let id = self.id(live);
        let s3 = match &live.s3_prefix_list {
            Some(s3) => s3.clone(),
            None => s3_prefix_list(cx).await?,
        };
        let missing_in: Vec<IpPermission> = self
            .ingress()
            .iter()
            .filter(|r| !r.is_in(g.ip_permissions()))
            .map(Rule::permission)
            .collect();
        if !missing_in.is_empty() {
            cx.say("adding ingress rules");
            ignore(
                cx.aws
                    .ec2
                    .authorize_security_group_ingress()
                    .group_id(&id)
                    .set_ip_permissions(Some(missing_in))
                    .send()
                    .await
                    .aws(|| format!("adding ingress rules to {id}")),
                &["InvalidPermission.Duplicate"],
            )?;
        }
        let missing_out: Vec<IpPermission> = self
            .egress(Some(&s3))
            .iter()
            .filter(|r| !r.is_in(g.ip_permissions_egress()))
            .map(Rule::permission)
            .collect();
        if !missing_out.is_empty() {
            cx.say("adding egress rules");
            ignore(
                cx.aws
                    .ec2
                    .authorize_security_group_egress()
                    .group_id(&id)
                    .set_ip_permissions(Some(missing_out))
                    .send()
                    .await
                    .aws(|| format!("adding egress rules to {id}")),
                &["InvalidPermission.Duplicate"],
            )?;
        }
        if g.ip_permissions_egress().iter().any(is_open_egress) {
            cx.say("removing the all-open egress rule");
            let open = IpPermission::builder()
                .ip_protocol("-1")
                .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                .build();
            ignore(
                cx.aws
                    .ec2
                    .revoke_security_group_egress()
                    .group_id(&id)
                    .ip_permissions(open)
                    .send()
                    .await
                    .aws(|| format!("removing the all-open egress rule of {id}")),
                &["InvalidPermission.NotFound"],
            )?;
        }
        Ok(None)
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
            .delete_security_group()
            .group_id(&id)
            .send()
            .await
            .aws(|| format!("deleting security group {id}"))?;
        Ok(None)
    }

    fn delete_retryable(&self) -> &'static [&'static str] {
        // Task, endpoint and load balancer interfaces use it for minutes after they are gone.
        &["DependencyViolation"]
    }

    fn patience(&self) -> Patience {
        Patience::minutes(20)
    }

    fn observe(&self, live: &Live) -> Seen {
        Seen::new(&self.id(live), "present").detail(format!(
            "{} ingress, {} egress rule(s)",
            live.group.ip_permissions().len(),
            live.group.ip_permissions_egress().len()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::World;
    use crate::resources::testing::env;

    #[test]
    fn a_new_group_gets_its_rules_and_loses_the_open_egress() {
        let env = env();
        let r = SecurityGroup::new(&env.deployment, &env.names, &Ref::new("vpc"));
        let made = Live {
            group: Group::builder()
                .group_id("sg-1")
                .ip_permissions_egress(
                    IpPermission::builder()
                        .ip_protocol("-1")
                        .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                        .build(),
                )
                .build(),
            s3_prefix_list: Some("pl-s3".into()),
        };
        let world = World::default();
        let diff = r.diff(&env, &made, &world.inputs());
        assert_eq!(
            diff.words(),
            "ingress (none) → tcp 8080 10.0.0.0/16, tcp 443 10.0.0.0/16, \
             egress all 0.0.0.0/0 → tcp 443 10.0.0.0/16, tcp 443 pl-s3"
        );
        let done = Live {
            group: Group::builder()
                .group_id("sg-1")
                .set_ip_permissions(Some(r.ingress().iter().map(Rule::permission).collect()))
                .set_ip_permissions_egress(Some(
                    r.egress(Some("pl-s3"))
                        .iter()
                        .map(Rule::permission)
                        .collect(),
                ))
                .build(),
            s3_prefix_list: Some("pl-s3".into()),
        };
        assert!(r.diff(&env, &done, &world.inputs()) == Diff::none());
    }
}
