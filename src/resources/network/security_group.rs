//! The stack's security groups: the tasks', the interface endpoints', the V2 VPC link's and,
//! with `load_balancer = "alb"`, the Application Load Balancer's.
//!
//! The tasks' group lets in the service port from the VPC (the load balancer) and lets out
//! 443 to S3's prefix list (the gateway endpoint, where ECR keeps image layers); its 443 out
//! to the endpoints' group is [`super::endpoint_access`]'s, because each group names the
//! other. The endpoints' group lets in 443 from the tasks' group only and lets nothing out.
//! The all-open egress rule AWS adds to every new group is removed from both: the original
//! design left it.

use aws_sdk_ec2::types::{
    IpPermission, IpRange, PrefixListId, ResourceType, SecurityGroup as Group, UserIdGroupPair,
};
use serde::{Deserialize, Serialize};

use super::vpc;
use crate::aws::errors::has_code;
use crate::aws::tags::{ec2_filter, ec2_spec};
use crate::aws::wait::Patience;
use crate::aws::{AwsResultExt as _, ignore};
use crate::model::{
    Cx, Dep, Depth, Diff, Env, FieldChange, Inputs, Key, Ownership, Ref, Resource, Seen, Value,
};
use crate::state::Intent;

/// Whose group it is, and what that lets in.
enum Purpose {
    /// The tasks': the service port from the VPC; out, HTTPS to S3's prefix list, unless
    /// they go out through a NAT gateway (`internet`: [`super::internet_access`]'s rule).
    Tasks {
        port: i32,
        vpc_cidr: String,
        internet: bool,
    },
    /// The interface endpoints': 443 from the tasks' group.
    Endpoints { tasks: Ref<Outputs> },
    /// The V2 VPC link's network interfaces: nothing in, the listener's port out to the VPC
    /// (the internal load balancer's addresses).
    VpcLink { port: i32, vpc_cidr: String },
    /// The Application Load Balancer's: the listener's port from the VPC link's group (from
    /// anywhere when `link` is `None`: the public entry's), the service port out to the VPC
    /// (the tasks).
    LoadBalancer {
        port: i32,
        vpc_cidr: String,
        link: Option<Ref<Outputs>>,
    },
}

/// One of the stack's security groups.
pub struct SecurityGroup {
    key: Key,
    name: String,
    description: String,
    vpc: Ref<vpc::Outputs>,
    purpose: Purpose,
}

impl SecurityGroup {
    /// The group of `deployment`'s tasks.
    pub fn tasks(
        deployment: &crate::config::Deployment,
        names: &crate::config::names::Names,
        vpc: &Ref<vpc::Outputs>,
    ) -> SecurityGroup {
        SecurityGroup {
            key: "security_group".to_string(),
            name: names.security_group.clone(),
            description: format!(
                "gwfargate {}: tasks of {}",
                deployment.name, deployment.service.name
            ),
            vpc: vpc.clone(),
            purpose: Purpose::Tasks {
                port: i32::from(deployment.service.port),
                vpc_cidr: deployment.network.vpc_cidr.to_string(),
                internet: deployment.network.egress != crate::config::Egress::Endpoints,
            },
        }
    }

    /// The group of `deployment`'s interface endpoints, open to the `tasks` group alone.
    pub fn endpoints(
        deployment: &crate::config::Deployment,
        names: &crate::config::names::Names,
        vpc: &Ref<vpc::Outputs>,
        tasks: &Ref<Outputs>,
    ) -> SecurityGroup {
        SecurityGroup {
            key: "security_group/endpoints".to_string(),
            name: names.endpoint_security_group.clone(),
            description: format!(
                "gwfargate {}: VPC endpoints, reached by the tasks of {}",
                deployment.name, deployment.service.name
            ),
            vpc: vpc.clone(),
            purpose: Purpose::Endpoints {
                tasks: tasks.clone(),
            },
        }
    }

    /// The group of `deployment`'s V2 VPC link: API Gateway's way to the load balancer.
    pub fn vpc_link(
        deployment: &crate::config::Deployment,
        names: &crate::config::names::Names,
        vpc: &Ref<vpc::Outputs>,
    ) -> SecurityGroup {
        SecurityGroup {
            key: "security_group/vpc-link".to_string(),
            name: names.vpc_link_security_group.clone(),
            description: format!(
                "gwfargate {}: API Gateway's VPC link to the load balancer of {}",
                deployment.name, deployment.service.name
            ),
            vpc: vpc.clone(),
            purpose: Purpose::VpcLink {
                port: i32::from(deployment.service.port),
                vpc_cidr: deployment.network.vpc_cidr.to_string(),
            },
        }
    }

    /// The group of `deployment`'s Application Load Balancer, open on the listener's port to
    /// the VPC link's group alone.
    pub fn load_balancer(
        deployment: &crate::config::Deployment,
        names: &crate::config::names::Names,
        vpc: &Ref<vpc::Outputs>,
        link: &Ref<Outputs>,
    ) -> SecurityGroup {
        SecurityGroup {
            key: "security_group/load-balancer".to_string(),
            name: names.load_balancer_security_group.clone(),
            description: format!(
                "gwfargate {}: the Application Load Balancer of {}",
                deployment.name, deployment.service.name
            ),
            vpc: vpc.clone(),
            purpose: Purpose::LoadBalancer {
                port: i32::from(deployment.service.port),
                vpc_cidr: deployment.network.vpc_cidr.to_string(),
                link: Some(link.clone()),
            },
        }
    }

    /// The group of `deployment`'s internet-facing ALB (`entry = "public_load_balancer"`):
    /// its listener's port from anywhere, nothing else.
    pub fn public_load_balancer(
        deployment: &crate::config::Deployment,
        names: &crate::config::names::Names,
        vpc: &Ref<vpc::Outputs>,
    ) -> SecurityGroup {
        SecurityGroup {
            key: "security_group/load-balancer".to_string(),
            name: names.load_balancer_security_group.clone(),
            description: format!(
                "gwfargate {}: the internet-facing Application Load Balancer of {}",
                deployment.name, deployment.service.name
            ),
            vpc: vpc.clone(),
            purpose: Purpose::LoadBalancer {
                port: i32::from(deployment.service.port),
                vpc_cidr: deployment.network.vpc_cidr.to_string(),
                link: None,
            },
        }
    }

    /// What it lets in; `None` while the group it names is yet to be made.
    fn ingress(&self, inputs: &Inputs<'_>) -> Option<Vec<Rule>> {
        match &self.purpose {
            Purpose::LoadBalancer {
                port,
                link: Some(link),
                ..
            } => inputs.get(link).map(|link| {
                vec![Rule {
                    port: *port,
                    peer: Peer::Group(link.id),
                    description: "listener port from the VPC link",
                }]
            }),
            Purpose::LoadBalancer {
                port, link: None, ..
            } => Some(vec![Rule::cidr(
                *port,
                "0.0.0.0/0",
                "listener port from the internet",
            )]),
            Purpose::VpcLink { .. } => Some(Vec::new()),
            Purpose::Tasks { port, vpc_cidr, .. } => Some(vec![Rule::cidr(
                *port,
                vpc_cidr,
                "service port from the VPC (load balancer)",
            )]),
            Purpose::Endpoints { tasks } => inputs.get(tasks).map(|tasks| {
                vec![Rule {
                    port: 443,
                    peer: Peer::Group(tasks.id),
                    description: "HTTPS from the tasks",
                }]
            }),
        }
    }

    /// What it lets out, given S3's prefix list (read at full depth).
    fn egress(&self, s3: Option<&str>) -> Vec<Rule> {
        match (&self.purpose, s3) {
            // Its way out is [`super::internet_access`]'s.
            (Purpose::Tasks { internet: true, .. }, _) => Vec::new(),
            (Purpose::Tasks { .. }, Some(s3)) => vec![Rule {
                port: 443,
                peer: Peer::PrefixList(s3.to_string()),
                description: "HTTPS to S3 (image layers)",
            }],
            (Purpose::VpcLink { port, vpc_cidr }, _) => vec![Rule::cidr(
                *port,
                vpc_cidr,
                "listener port to the load balancer",
            )],
            (Purpose::LoadBalancer { port, vpc_cidr, .. }, _) => {
                vec![Rule::cidr(*port, vpc_cidr, "service port to the tasks")]
            }
            _ => Vec::new(),
        }
    }

    fn needs_prefix_list(&self) -> bool {
        matches!(
            self.purpose,
            Purpose::Tasks {
                internet: false,
                ..
            }
        )
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
pub(super) enum Peer {
    Cidr(String),
    PrefixList(String),
    Group(String),
}

/// One TCP rule: a port and who is on the other side.
#[derive(Debug, Clone)]
pub(super) struct Rule {
    pub(super) port: i32,
    pub(super) peer: Peer,
    pub(super) description: &'static str,
}

impl Rule {
    pub(super) fn cidr(port: i32, cidr: &str, description: &'static str) -> Rule {
        Rule {
            port,
            peer: Peer::Cidr(cidr.to_string()),
            description,
        }
    }

    pub(super) fn permission(&self) -> IpPermission {
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
            Peer::Group(id) => b.user_id_group_pairs(
                UserIdGroupPair::builder()
                    .group_id(id)
                    .description(self.description)
                    .build(),
            ),
        }
        .build()
    }

    pub(super) fn is_in(&self, perms: &[IpPermission]) -> bool {
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
                    Peer::Group(id) => p
                        .user_id_group_pairs()
                        .iter()
                        .any(|g| g.group_id() == Some(id)),
                }
        })
    }

    pub(super) fn words(&self) -> String {
        match &self.peer {
            Peer::Cidr(id) | Peer::PrefixList(id) | Peer::Group(id) => {
                format!("tcp {} {id}", self.port)
            }
        }
    }
}

/// The all-open egress rule AWS gives every new group.
fn open_egress() -> IpPermission {
    IpPermission::builder()
        .ip_protocol("-1")
        .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
        .build()
}

/// Which way a rule lets traffic through.
#[derive(Debug, Clone, Copy)]
pub(super) enum Direction {
    Ingress,
    Egress,
}

/// Adds `perms` to group `id` (none: no call); adding one it has is not an error.
pub(super) async fn authorize(
    cx: &Cx<'_>,
    id: &str,
    direction: Direction,
    perms: Vec<IpPermission>,
) -> anyhow::Result<()> {
    if perms.is_empty() {
        return Ok(());
    }
    let result = match direction {
        Direction::Ingress => {
            cx.say("adding ingress rules");
            cx.aws
                .ec2
                .authorize_security_group_ingress()
                .group_id(id)
                .set_ip_permissions(Some(perms))
                .send()
                .await
                .map(|_| ())
                .aws(|| format!("adding ingress rules to {id}"))
        }
        Direction::Egress => {
            cx.say("adding egress rules");
            cx.aws
                .ec2
                .authorize_security_group_egress()
                .group_id(id)
                .set_ip_permissions(Some(perms))
                .send()
                .await
                .map(|_| ())
                .aws(|| format!("adding egress rules to {id}"))
        }
    };
    ignore(result, &["InvalidPermission.Duplicate"])?;
    Ok(())
}

/// Removes `perms` from group `id` (none: no call); removing one it lacks is not an error.
pub(super) async fn revoke(
    cx: &Cx<'_>,
    id: &str,
    direction: Direction,
    perms: Vec<IpPermission>,
) -> anyhow::Result<()> {
    if perms.is_empty() {
        return Ok(());
    }
    let result = match direction {
        Direction::Ingress => cx
            .aws
            .ec2
            .revoke_security_group_ingress()
            .group_id(id)
            .set_ip_permissions(Some(perms))
            .send()
            .await
            .map(|_| ())
            .aws(|| format!("removing ingress rules of {id}")),
        Direction::Egress => cx
            .aws
            .ec2
            .revoke_security_group_egress()
            .group_id(id)
            .set_ip_permissions(Some(perms))
            .send()
            .await
            .map(|_| ())
            .aws(|| format!("removing egress rules of {id}")),
    };
    ignore(result, &["InvalidPermission.NotFound"])?;
    Ok(())
}

fn is_open_egress(p: &IpPermission) -> bool {
    p.ip_protocol() == Some("-1")
        && p.ip_ranges()
            .iter()
            .any(|r| r.cidr_ip() == Some("0.0.0.0/0"))
}

/// The rules of `perms` in words, one per peer.
pub(super) fn words(perms: &[IpPermission]) -> Vec<String> {
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

/// Group `id` with its rules; `None` when AWS has no such group. Read once while the stack is
/// surveyed: the tasks' group and [`super::endpoint_access`] both read it. The groups the
/// state file records are read together, in one call.
pub(super) async fn describe(cx: &Cx<'_>, id: &str) -> anyhow::Result<Option<Group>> {
    if let Some(groups) = recorded_groups(cx, id).await? {
        return Ok(groups.iter().find(|g| g.group_id() == Some(id)).cloned());
    }
    let group = cx
        .memo
        .get(&format!("security group {id}"), || async {
            let out = cx
                .aws
                .ec2
                .describe_security_groups()
                .group_ids(id)
                .send()
                .await;
            match out.aws(|| format!("describing security group {id}")) {
                Ok(out) => Ok(out.security_groups().first().cloned()),
                Err(err)
                    if has_code(&err, &["InvalidGroup.NotFound", "InvalidGroupId.Malformed"]) =>
                {
                    Ok(None)
                }
                Err(err) => Err(err),
            }
        })
        .await?;
    Ok((*group).clone())
}

/// Every group the state file records, when it records `id` and others, from one call;
/// `None` when that call cannot answer for them all (one is gone: AWS then refuses the whole
/// call) or there is nothing to share it with.
async fn recorded_groups(cx: &Cx<'_>, id: &str) -> anyhow::Result<Option<Vec<Group>>> {
    let mut ids: Vec<String> = cx
        .state
        .recorded()
        .into_iter()
        .filter(|(key, value)| {
            (key == "security_group" || key.starts_with("security_group/"))
                && value.starts_with("sg-")
                && !value.contains(char::is_whitespace)
        })
        .map(|(_, value)| value)
        .collect();
    ids.sort();
    ids.dedup();
    if ids.len() < 2 || !ids.iter().any(|i| i == id) {
        return Ok(None);
    }
    let groups = cx
        .memo
        .get("recorded security groups", || async {
            let out = cx
                .aws
                .ec2
                .describe_security_groups()
                .set_group_ids(Some(ids.clone()))
                .send()
                .await;
            match out.aws(|| format!("describing security groups {}", ids.join(", "))) {
                Ok(out) => Ok(Some(out.security_groups().to_vec())),
                Err(err)
                    if has_code(&err, &["InvalidGroup.NotFound", "InvalidGroupId.Malformed"]) =>
                {
                    Ok(None)
                }
                Err(err) => Err(err),
            }
        })
        .await?;
    Ok((*groups).clone())
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
    needed: bool,
) -> anyhow::Result<Option<Live>> {
    let Some(group) = group else { return Ok(None) };
    let s3_prefix_list = match depth {
        Depth::Full if needed => Some(s3_prefix_list(cx).await?),
        _ => None,
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
        self.key.clone()
    }

    fn kind(&self) -> &'static str {
        "security group"
    }

    fn name(&self) -> String {
        self.name.clone()
    }

    fn deps(&self) -> Vec<Dep> {
        let mut deps = vec![self.vpc.dep()];
        match &self.purpose {
            // Its rule names the other group, which AWS will not delete while it does.
            Purpose::Endpoints { tasks: named }
            | Purpose::LoadBalancer {
                link: Some(named), ..
            } => {
                deps.push(named.dep());
            }
            Purpose::LoadBalancer { link: None, .. } => {}
            Purpose::Tasks { .. } | Purpose::VpcLink { .. } => {}
        }
        deps
    }

    async fn by_id(&self, cx: &Cx<'_>, id: &str, depth: Depth) -> anyhow::Result<Option<Live>> {
        let group = describe(cx, id).await?;
        with_prefix_list(cx, group, depth, self.needs_prefix_list()).await
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
        with_prefix_list(
            cx,
            groups.into_iter().next(),
            depth,
            self.needs_prefix_list(),
        )
        .await
    }

    fn tags(&self, live: &Live) -> Option<crate::aws::tags::Tags> {
        Some(crate::aws::tags::owned(crate::aws::tags::from_ec2(
            live.group.tags(),
        )))
    }

    /// A V2 VPC link's group goes with its link, an ALB's with its ALB, which no traffic uses
    /// any more by then.
    fn deleted_without_loss(&self) -> bool {
        matches!(
            self.purpose,
            Purpose::VpcLink { .. } | Purpose::LoadBalancer { .. }
        )
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
        super::owner(env, live.group.tags())
    }

    fn id(&self, live: &Live) -> String {
        live.group.group_id().unwrap_or_default().to_string()
    }

    fn outputs(&self, _env: &Env, live: &Live) -> Outputs {
        Outputs { id: self.id(live) }
    }

    fn diff(&self, _env: &Env, live: &Live, inputs: &Inputs<'_>) -> Diff {
        let g = &live.group;
        let mut diff = Diff::none();
        let have = words(g.ip_permissions());
        match self.ingress(inputs) {
            Some(rules) => {
                let missing: Vec<Rule> = rules
                    .into_iter()
                    .filter(|r| !r.is_in(g.ip_permissions()))
                    .collect();
                if !missing.is_empty() {
                    let mut after = have.clone();
                    after.extend(missing.iter().map(Rule::words));
                    diff.change("ingress", crate::model::listed(&have), after.join(", "));
                }
            }
            None => {
                diff.change("ingress", crate::model::listed(&have), Value::Unknown);
            }
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
            let after = crate::model::listed(&after).unwrap_or_else(|| "(none)".to_string());
            diff.change("egress", crate::model::listed(&have), after);
        }
        diff
    }

    fn new_fields(&self, _env: &Env, inputs: &Inputs<'_>) -> Vec<FieldChange> {
        let listed = |rules: Vec<Rule>| {
            let words: Vec<String> = rules.iter().map(Rule::words).collect();
            crate::model::listed(&words).unwrap_or_else(|| "(none)".to_string())
        };
        let ingress = match self.ingress(inputs) {
            Some(rules) => listed(rules),
            None => match &self.purpose {
                Purpose::LoadBalancer { port, .. } => {
                    format!("tcp {port} from the VPC link's group (known after up)")
                }
                _ => "HTTPS from the tasks' group (known after up)".to_string(),
            },
        };
        let egress = match &self.purpose {
            Purpose::Tasks { internet: true, .. } => "(none; see the rule to anywhere)".to_string(),
            Purpose::Tasks { .. } => "tcp 443 S3's prefix list".to_string(),
            Purpose::Endpoints { .. } => "(none)".to_string(),
            Purpose::VpcLink { .. } | Purpose::LoadBalancer { .. } => listed(self.egress(None)),
        };
        vec![
            FieldChange::setting("ingress", &ingress),
            FieldChange::setting("egress", &egress),
        ]
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
            .ip_permissions_egress(open_egress())
            .build();
        let s3_prefix_list = match self.needs_prefix_list() {
            true => Some(s3_prefix_list(cx).await?),
            false => None,
        };
        Ok(Live {
            group,
            s3_prefix_list,
        })
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        live: &Live,
        _diff: &Diff,
        inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<Live>> {
        let g = &live.group;
        let id = self.id(live);
        let s3 = match (&live.s3_prefix_list, self.needs_prefix_list()) {
            (Some(s3), _) => Some(s3.clone()),
            (None, true) => Some(s3_prefix_list(cx).await?),
            (None, false) => None,
        };
        let Some(ingress) = self.ingress(inputs) else {
            anyhow::bail!("the tasks' security group is not there yet; run the same command again")
        };
        let missing_in: Vec<IpPermission> = ingress
            .iter()
            .filter(|r| !r.is_in(g.ip_permissions()))
            .map(Rule::permission)
            .collect();
        authorize(cx, &id, Direction::Ingress, missing_in).await?;
        let missing_out: Vec<IpPermission> = self
            .egress(s3.as_deref())
            .iter()
            .filter(|r| !r.is_in(g.ip_permissions_egress()))
            .map(Rule::permission)
            .collect();
        authorize(cx, &id, Direction::Egress, missing_out).await?;
        if g.ip_permissions_egress().iter().any(is_open_egress) {
            cx.say("removing the all-open egress rule");
            revoke(cx, &id, Direction::Egress, vec![open_egress()]).await?;
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

    fn made(id: &str) -> Live {
        Live {
            group: Group::builder()
                .group_id(id)
                .ip_permissions_egress(open_egress())
                .build(),
            s3_prefix_list: Some("pl-s3".into()),
        }
    }

    fn with_rules(r: &SecurityGroup, inputs: &Inputs<'_>) -> Live {
        Live {
            group: Group::builder()
                .group_id("sg-1")
                .set_ip_permissions(Some(
                    r.ingress(inputs)
                        .expect("the tasks' group is known")
                        .iter()
                        .map(Rule::permission)
                        .collect(),
                ))
                .set_ip_permissions_egress(Some(
                    r.egress(Some("pl-s3"))
                        .iter()
                        .map(Rule::permission)
                        .collect(),
                ))
                .build(),
            s3_prefix_list: Some("pl-s3".into()),
        }
    }

    #[test]
    fn the_tasks_group_lets_in_the_service_port_and_out_only_to_s3() {
        let env = env();
        let r = SecurityGroup::tasks(&env.deployment, &env.names, &Ref::new("vpc"));
        let world = World::default();
        let diff = r.diff(&env, &made("sg-1"), &world.inputs());
        assert_eq!(
            diff.words(),
            "ingress (none) → tcp 8080 10.0.0.0/16, egress all 0.0.0.0/0 → tcp 443 pl-s3"
        );
        let done = with_rules(&r, &world.inputs());
        assert!(r.diff(&env, &done, &world.inputs()) == Diff::none());
    }

    #[test]
    fn the_endpoints_group_lets_in_the_tasks_group_alone_and_nothing_out() {
        let env = env();
        let tasks = Ref::new("security_group");
        let r = SecurityGroup::endpoints(&env.deployment, &env.names, &Ref::new("vpc"), &tasks);
        let world = World::default();
        // The tasks' group is yet to be made: its id is known after up.
        let diff = r.diff(&env, &made("sg-2"), &world.inputs());
        assert_eq!(diff.fields[0].to, Value::Unknown);
        world.publish(
            "security_group",
            Outputs {
                id: "sg-tasks".into(),
            },
        );
        let diff = r.diff(&env, &made("sg-2"), &world.inputs());
        assert_eq!(
            diff.words(),
            "ingress (none) → tcp 443 sg-tasks, egress all 0.0.0.0/0 → (none)"
        );
        let done = with_rules(&r, &world.inputs());
        assert!(done.group.ip_permissions_egress().is_empty());
        assert!(r.diff(&env, &done, &world.inputs()) == Diff::none());
        assert!(r.deps().iter().any(|d| d.key == "security_group"));
    }
}
