//! The resources of the stack, one file per kind, grouped by AWS service, and [`stack`]: the
//! one place that says which resources a deployment needs and how they depend on each other.
//! An optional resource is one `if` here.

use crate::config::names::Names;
use crate::config::{Deployment, Egress, LoadBalancerKind, VpcLinkVersion};
use crate::model::graph::Graph;
use crate::model::{Phase, Ref};

pub mod apigateway;
pub mod ecr;
pub mod ecs;
pub mod elb;
pub mod iam;
pub mod logs;
pub mod network;
pub mod permissions;
pub mod posture;
pub mod service_linked_role;

use apigateway::{
    account::CloudWatchRole, api_key::ApiKey, authorizer::Authorizer, integration::Integrations,
    rest_api::RestApi, stage::Stage, usage_plan::UsagePlan, vpc_link::VpcLink,
    vpc_link_v2::VpcLinkV2,
};
use ecs::{cluster::Cluster, service::Service, task_definition::TaskDefinition};
use elb::{listener::Listener, load_balancer::LoadBalancer, target_group::TargetGroup};
use network::endpoint::{self, Endpoint};
use network::endpoint_access::EndpointAccess;
use network::{route_table::RouteTable, security_group::SecurityGroup, subnet::Subnet, vpc::Vpc};

/// A deployment's graph, with the handles the commands read results from.
pub struct Stack {
    /// Every resource.
    pub graph: Graph,
    /// The ECS service (running and desired tasks, for `status`).
    pub service: Ref<ecs::service::Outputs>,
    /// The way in: the public URL, and who may call it.
    pub entry: Entry,
    /// The target group (target health, for `status` and `status --probe`).
    pub target_group: Ref<elb::target_group::Outputs>,
    /// What the user should know about the deployment itself.
    pub notes: Vec<String>,
    /// Who can call the API, when that is anyone: said by `plan`, `up` and `status`.
    pub exposure: Option<String>,
}

/// The stack's way in.
pub enum Entry {
    /// API Gateway's stage and REST API.
    ApiGateway {
        /// The stage (the public URL).
        stage: Ref<apigateway::stage::Outputs>,
        /// The REST API (who may call it, for `status`).
        rest_api: Ref<apigateway::rest_api::Outputs>,
    },
    /// The internet-facing load balancer, on the listener's port.
    PublicLoadBalancer {
        /// The load balancer (its DNS name).
        load_balancer: Ref<elb::load_balancer::Outputs>,
        /// The listener's port.
        port: u16,
    },
}

impl Entry {
    /// The public URL, once the resource that has it is known.
    pub fn url(&self, inputs: &crate::model::Inputs<'_>) -> Option<String> {
        match self {
            Entry::ApiGateway { stage, .. } => inputs.get(stage).map(|s| s.url),
            Entry::PublicLoadBalancer {
                load_balancer,
                port,
            } => inputs
                .get(load_balancer)
                .filter(|lb| !lb.dns_name.is_empty())
                .map(|lb| public_url(&lb.dns_name, *port)),
        }
    }

    /// How the API authorizes callers, when it is read (none for a public load balancer).
    pub fn api_auth(&self, inputs: &crate::model::Inputs<'_>) -> Option<String> {
        match self {
            Entry::ApiGateway { rest_api, .. } => inputs.get(rest_api).and_then(|api| api.auth),
            Entry::PublicLoadBalancer { .. } => None,
        }
    }
}

/// The public entry's URL: plain HTTP to the load balancer's name, on the listener's port.
pub fn public_url(dns_name: &str, port: u16) -> String {
    match port {
        80 => format!("http://{dns_name}/"),
        port => format!("http://{dns_name}:{port}/"),
    }
}

/// The NAT gateway and what it stands on: the public subnets, the internet gateway, the public
/// route table and the elastic IP; all orphans (`retired`) when the stack no longer wants them.
fn add_nat(
    g: &mut Graph,
    deployment: &Deployment,
    names: &Names,
    vpc: &Ref<network::vpc::Outputs>,
    recorded: &[(String, String)],
    retired: bool,
) -> Ref<network::nat_gateway::Outputs> {
    use network::{elastic_ip::ElasticIp, internet_gateway::InternetGateway, nat_gateway};
    fn add<R: crate::model::Resource>(g: &mut Graph, retired: bool, r: R) -> Ref<R::Outputs> {
        if retired { g.add_orphan(r) } else { g.add(r) }
    }
    // The public subnets the state file records beyond the env file's (all of them once it
    // has none); without a state file, the first two, by name.
    let wanted = if retired {
        0
    } else {
        deployment.network.public_subnets.len()
    };
    let mut old: Vec<usize> = recorded
        .iter()
        .filter_map(|(k, _)| k.strip_prefix("subnet/public/")?.parse().ok())
        .filter(|i| *i >= wanted)
        .collect();
    if recorded.is_empty() && retired {
        old = vec![0, 1];
    }
    old.sort_unstable();
    old.dedup();
    let mut public: Vec<_> = deployment
        .network
        .public_subnets
        .iter()
        .enumerate()
        .filter(|_| !retired)
        .map(|(i, s)| g.add(Subnet::public(i, s, names, vpc)))
        .collect();
    let leaving: Vec<_> = old
        .into_iter()
        .map(|i| g.add_orphan(Subnet::public_no_longer_used(i, names, vpc)))
        .collect();
    if public.is_empty() {
        public = leaving;
    }
    if public.is_empty() {
        // Nothing recorded of a public subnet: the NAT gateway's would be the first.
        public.push(g.add_orphan(Subnet::public_no_longer_used(0, names, vpc)));
    }
    let gateway = add(g, retired, InternetGateway::new(names, vpc));
    let public_routes = add(
        g,
        retired,
        RouteTable::public(names, vpc, &public, &gateway),
    );
    let address = add(g, retired, ElasticIp::new(names));
    add(
        g,
        retired,
        nat_gateway::NatGateway::new(
            names,
            nat_gateway::Wiring {
                subnet: &public[0],
                address: &address,
                internet_gateway: &gateway,
                public_routes: &public_routes,
            },
        ),
    )
}

/// What the API stands on.
struct ApiWiring<'a> {
    link_version: VpcLinkVersion,
    /// The V2 link's group (none with a V1 link).
    link_group: Option<&'a Ref<network::security_group::Outputs>>,
    subnets: &'a [Ref<network::subnet::Outputs>],
    load_balancer: &'a Ref<elb::load_balancer::Outputs>,
    listener: &'a Ref<elb::listener::Outputs>,
    service: &'a Ref<ecs::service::Outputs>,
    recorded: &'a [(String, String)],
}

/// API Gateway's part of the stack (`entry = "api_gateway"`): the VPC link, the REST API, its
/// integrations, authorizer, stage, usage plan and key, and what of these the state file
/// records that the env file no longer wants.
fn add_api(
    g: &mut Graph,
    deployment: &Deployment,
    names: &Names,
    notes: &mut Vec<String>,
    wiring: ApiWiring<'_>,
) -> Entry {
    let ApiWiring {
        link_version,
        link_group,
        subnets,
        load_balancer,
        listener,
        service,
        recorded,
    } = wiring;
    let was_recorded = |key: &str| recorded.iter().any(|(k, _)| k == key);
    if deployment.network.vpc_link.is_none() && link_version == VpcLinkVersion::V1 {
        notes.push(
            "this stack reaches its NLB through a VPC link V1, which AWS calls legacy: set \
             `vpc_link = \"v2\"` under [network] and `up` moves the API to a V2 link, then \
             deletes the V1 link (it then needs \
             iam:CreateServiceLinkedRole for API Gateway's role: see `gwfargate policy`); \
             `vpc_link = \"v1\"` keeps it and silences this note"
                .to_string(),
        );
    }
    // A V2 link is made on the subnets, beside the NLB; a V1 link only once the NLB is active.
    let vpc_link = match link_group {
        Some(group) => g.add(VpcLinkV2::new(names, subnets, group)),
        None => g.add(VpcLink::new(deployment, names, load_balancer)),
    };
    let rest_api = g.add(RestApi::new(deployment, names));
    let integrations = g.add(Integrations::new(
        deployment,
        link_version,
        &rest_api,
        &vpc_link,
        load_balancer,
        listener,
    ));
    let access_log = g.add(logs::LogGroup::api_access(deployment, names));
    let logging_role = g.add(CloudWatchRole);
    let invoker = deployment.api.lambda_authorizer.as_ref().map(|lambda| {
        g.add(iam::StackRole::authorizer_invoker(
            deployment,
            names,
            &lambda.function,
        ))
    });
    let authorizer = deployment.api.auth.uses_authorizer().then(|| {
        g.add(Authorizer::new(
            deployment,
            names,
            &rest_api,
            invoker.as_ref(),
        ))
    });
    let stage = Stage::new(
        deployment,
        &rest_api,
        &integrations,
        &vpc_link,
        load_balancer,
        service,
        apigateway::stage::Logging {
            log_group: &access_log,
            role: &logging_role,
        },
    );
    let stage = g.add(match &authorizer {
        Some(authorizer) => stage.after(authorizer.dep()),
        None => stage,
    });

    let usage_plan = || UsagePlan::new(deployment, names, &rest_api, &stage);
    let api_key = deployment.api.auth.api_key_required().then(|| {
        let plan = g.add(usage_plan());
        notes.push(format!(
            "callers send the stack's API key in the `x-api-key` header; `gwfargate api-key \
             --show --env <file>` prints it (the key {} is made once and kept)",
            names.api_key
        ));
        g.add(ApiKey::new(deployment, names, &plan))
    });

    if authorizer.is_none() && was_recorded("authorizer") {
        g.add_orphan(Authorizer::new(deployment, names, &rest_api, None));
    }
    if invoker.is_none() && was_recorded("authorizer_role") {
        // The function it may invoke does not matter to its deletion.
        g.add_orphan(iam::StackRole::authorizer_invoker(deployment, names, "*"));
    }
    if api_key.is_none() && (was_recorded("usage_plan") || was_recorded("api_key")) {
        let plan = g.add_orphan(usage_plan());
        g.add_orphan(ApiKey::new(deployment, names, &plan));
    }
    Entry::ApiGateway { stage, rest_api }
}

/// What `down` without a state file looks for beside `deployment`'s own resources: with the
/// public entry, the API Gateway design's (the API, the VPC links, either load balancer, the
/// endpoints or NAT gateway, the private subnets), by name, since the stack may have been
/// built before the env file said `public_load_balancer`. `None` with API Gateway: its graph
/// already looks for the public entry's parts (public subnets, internet gateway, ALB).
pub fn other_entry(deployment: &Deployment, names: &Names, account: &str) -> Option<Graph> {
    if deployment.network.entry != crate::config::Entry::PublicLoadBalancer {
        return None;
    }
    let mut other = deployment.clone();
    other.network.entry = crate::config::Entry::ApiGateway;
    // An ALB of the same name as the public one, so the NLB is looked for as the other kind.
    other.network.load_balancer = LoadBalancerKind::Alb;
    other.network.egress = Egress::Endpoints;
    other.network.vpc_link = None;
    Some(stack(&other, names, account, &[]).graph)
}

/// The kind of VPC link the stack has: the env file's choice; without one, V1 for a stack the
/// state file records a V1 link of (a new version of gwfargate changes no built stack on its
/// own), V2 otherwise. An ALB is reached by a V2 link only.
pub fn vpc_link_version(deployment: &Deployment, recorded: &[(String, String)]) -> VpcLinkVersion {
    match deployment.network.vpc_link {
        _ if deployment.network.load_balancer == LoadBalancerKind::Alb => VpcLinkVersion::V2,
        Some(version) => version,
        None if recorded.iter().any(|(key, _)| key == "vpc_link") => VpcLinkVersion::V1,
        None => VpcLinkVersion::V2,
    }
}

/// The resources `deployment` needs in `account`. `recorded` is what the state file holds
/// (key and id): what it records that the deployment no longer needs is added to be deleted.
pub fn stack(
    deployment: &Deployment,
    names: &Names,
    account: &str,
    recorded: &[(String, String)],
) -> Stack {
    let mut g = Graph::new();
    let mut notes = Vec::new();
    let region = deployment.region.as_str();

    let vpc = g.add(Vpc::new(deployment, names));
    // With a public entry the env file's subnets are public: the load balancer and the tasks
    // are reached from the internet, through the internet gateway.
    let public = deployment.network.entry == crate::config::Entry::PublicLoadBalancer;
    let subnets: Vec<_> = deployment
        .network
        .subnets
        .iter()
        .enumerate()
        .map(|(i, s)| match public {
            true => g.add(Subnet::public(i, s, names, &vpc)),
            false => g.add(Subnet::new(i, s, names, &vpc)),
        })
        .collect();
    let recorded_key = |key: &str| recorded.iter().any(|(k, _)| k == key);
    let recorded_prefix = |prefix: &str| recorded.iter().any(|(k, _)| k.starts_with(prefix));
    // With a NAT gateway the tasks go out through it, and the stack makes no endpoints. The
    // other design's resources a stack records (or, without a state file, may have) go.
    let nat = deployment.network.egress == Egress::Nat;
    let nat_gateway = if nat {
        Some(add_nat(&mut g, deployment, names, &vpc, recorded, false))
    } else if !public
        && (recorded.is_empty()
            || [
                "nat_gateway",
                "internet_gateway",
                "elastic_ip",
                "route_table/public",
            ]
            .iter()
            .any(|k| recorded_key(k))
            || recorded_prefix("subnet/public/"))
    {
        Some(add_nat(&mut g, deployment, names, &vpc, recorded, true))
    } else {
        None
    };
    let internet_gateway =
        public.then(|| g.add(network::internet_gateway::InternetGateway::new(names, &vpc)));
    let route_table = match &internet_gateway {
        Some(gateway) => g.add(RouteTable::public(names, &vpc, &subnets, gateway)),
        None => g.add(RouteTable::new(names, &vpc, &subnets)),
    };
    let security_group = g.add(SecurityGroup::tasks(deployment, names, &vpc));
    // The tasks' way out through the NAT gateway: made with it; once the stack goes back to
    // the endpoints, deleted with it, after the endpoints serve the tasks.
    let mut way_out = Vec::new();
    if let Some(nat_gateway) = &nat_gateway {
        let route = network::nat_route::NatRoute::new(&route_table, nat_gateway);
        let access = network::internet_access::InternetAccess::new(names, &security_group);
        if nat {
            // Through the NAT gateway too, tasks ship logs until their containers exit.
            way_out.push(g.add(route).dep_until(Phase::Quiet));
            way_out.push(g.add(access).dep_until(Phase::Quiet));
        } else {
            g.add_orphan(route);
            g.add_orphan(access);
        }
    } else if public {
        // The tasks' public addresses lead out through the public route table.
        let access = network::internet_access::InternetAccess::new(names, &security_group);
        way_out.push(g.add(access).dep_until(Phase::Quiet));
        way_out.push(route_table.dep_until(Phase::Quiet));
    }
    let endpoints_recorded = recorded_prefix("endpoint")
        || recorded_key("security_group/endpoints")
        || recorded_key("security_group_rule/tasks-to-endpoints");
    // What the other design may have left is looked for only when the state file says so, or
    // when there is none.
    let retire_endpoints = nat && (endpoints_recorded || recorded.is_empty());
    let no_endpoints = nat || public;
    let endpoint_group = SecurityGroup::endpoints(deployment, names, &vpc, &security_group);
    let endpoint_group = match (no_endpoints, retire_endpoints) {
        (false, _) => g.add(endpoint_group),
        (true, true) => g.add_orphan(endpoint_group),
        // Named by nothing in the graph: no endpoint is made or deleted.
        (true, false) => Ref::new(crate::model::Resource::key(&endpoint_group)),
    };
    let interface = |service: &str| {
        Endpoint::interface(
            service,
            region,
            names,
            &vpc,
            &subnets,
            endpoint::Groups {
                endpoints: &endpoint_group,
                tasks: &security_group,
            },
            endpoint::policy(service, deployment, names, account),
        )
    };
    let gateway = |service: &str| {
        Endpoint::gateway(
            service,
            region,
            names,
            &vpc,
            &route_table,
            endpoint::policy(service, deployment, names, account),
        )
    };
    let mut endpoints: Vec<(String, _)> = deployment
        .interface_services()
        .into_iter()
        .map(|service| {
            let r = g.add(interface(&service));
            (service, r)
        })
        .collect();
    let interface_endpoints: Vec<_> = endpoints.iter().map(|(_, r)| r.clone()).collect();
    for service in deployment.gateway_services() {
        let r = g.add(gateway(&service));
        endpoints.push((service, r));
    }
    let endpoint_access = EndpointAccess::new(
        deployment,
        names,
        &security_group,
        &endpoint_group,
        &interface_endpoints,
    );
    let endpoint_access = match (no_endpoints, retire_endpoints) {
        (false, _) => Some(g.add(endpoint_access)),
        (true, true) => {
            g.add_orphan(endpoint_access);
            None
        }
        (true, false) => None,
    };

    if deployment.network.flow_logs {
        let group = g.add(logs::LogGroup::flow_logs(deployment, names));
        let delivery = g.add(iam::StackRole::flow_log_delivery(
            deployment, names, account,
        ));
        g.add(network::flow_log::FlowLog::new(
            names, &vpc, &group, &delivery,
        ));
    }

    let was_recorded = |key: &str| recorded.iter().any(|(k, _)| k == key);
    let no_state = recorded.is_empty();
    // A stack whose state file records the other kind of load balancer moves to this one:
    // the new one is made beside the old, the tasks register with both, the stage moves, then
    // the old one goes. Without a state file the other kind is looked for by name, so `down`
    // removes it too.
    let kind = deployment.network.load_balancer;
    let other_kind = kind.other();
    let old_keys = elb::keys(other_kind);
    let moving = !no_state
        && !public
        && (old_keys.iter().any(|k| was_recorded(k))
            || (other_kind == LoadBalancerKind::Nlb && was_recorded("vpc_link")));

    let role = g.add(iam::StackRole::task_execution(deployment, names, account));
    let task_role = deployment.service.task_role.as_ref().map(|wanted| {
        // The tasks reach AWS only through the VPC's endpoints.
        let reachable: Vec<String> = deployment
            .interface_services()
            .into_iter()
            .chain(deployment.gateway_services())
            .collect();
        let unreachable: Vec<String> = wanted
            .services()
            .into_iter()
            .filter(|s| !reachable.contains(s))
            .collect();
        if !unreachable.is_empty() && !no_endpoints {
            notes.push(format!(
                "the task role's statements reach {list}, but the tasks reach AWS only through \
                 the VPC's endpoints: add {quoted} to `endpoints` under [network] (the \
                 endpoint's name may differ from the IAM prefix; managed policies are not read)",
                list = unreachable.join(", "),
                quoted = unreachable
                    .iter()
                    .map(|s| format!("\"{s}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        g.add(iam::StackRole::task(deployment, names, account))
    });
    let log_group = g.add(logs::LogGroup::new(deployment, names));
    let repository = match ecr::Repository::for_image(&deployment.service.image, region, account) {
        Some(repository) => Some(
            g.add(
                repository
                    .with_immutable_tags(deployment.repository.immutable_tags)
                    .with_kms_key(deployment.repository.kms_key.clone()),
            ),
        ),
        None => {
            // Through a NAT gateway the tasks reach any registry.
            if !deployment.image_in_regional_ecr() && !no_endpoints {
                notes.push(format!(
                    "{image} is outside ECR in {region}; it is used as given, but the \
                     tasks run in private subnets with no route to the internet and reach only \
                     {region}'s ECR through the VPC endpoints, so they cannot pull it and the \
                     service will not become steady. Push the image to ECR in {region} (or put a \
                     pull-through cache there) and use that reference",
                    image = deployment.service.image
                ));
            }
            None
        }
    };
    let ecs_role = g.add(service_linked_role::ServiceLinkedRole::ecs());
    let cluster = g.add(Cluster::new(deployment, names, &ecs_role));
    let task_definition = g.add(TaskDefinition::new(
        deployment,
        names,
        (&role, task_role.as_ref()),
        &log_group,
        repository.as_ref(),
    ));

    let link_version = vpc_link_version(deployment, recorded);
    let link_group = (link_version == VpcLinkVersion::V2 && !public)
        .then(|| g.add(SecurityGroup::vpc_link(deployment, names, &vpc)));
    let elb_role = g.add(service_linked_role::ServiceLinkedRole::elastic_load_balancing());
    let load_balancer = LoadBalancer::new(names, &subnets, &elb_role);
    let load_balancer = match (deployment.network.load_balancer, &link_group) {
        _ if let Some(gateway) = &internet_gateway => {
            let group = g.add(SecurityGroup::public_load_balancer(deployment, names, &vpc));
            load_balancer.application(&group).internet_facing(gateway)
        }
        (LoadBalancerKind::Alb, Some(link_group)) => {
            let group = g.add(SecurityGroup::load_balancer(
                deployment, names, &vpc, link_group,
            ));
            load_balancer.application(&group)
        }
        _ => load_balancer,
    };
    let load_balancer = g.add(load_balancer);
    let target_group = g.add(TargetGroup::new(deployment, names, &vpc));
    let listener = g.add(Listener::new(
        deployment,
        names,
        &load_balancer,
        &target_group,
    ));
    let service = Service::new(
        deployment,
        names,
        ecs::service::Wiring {
            cluster: &cluster,
            task_definition: &task_definition,
            target_group: &target_group,
            listener: &listener,
            subnets: &subnets,
            security_group: &security_group,
            endpoints: &endpoints,
            endpoint_access: endpoint_access.as_ref(),
            way_out,
        },
    );
    let service = g.add(match moving {
        true => {
            let [_, old_group, old_listener] = old_keys.clone();
            service.moving_from(old_listener, old_group)
        }
        false => service,
    });

    let autoscaling = ecs::autoscaling::Autoscaling::new(
        deployment,
        names,
        &service,
        ecs::autoscaling::RequestCount::of(&load_balancer, &target_group),
    )
    .map(|a| g.add(a));

    let entry = match &link_group {
        _ if public => Entry::PublicLoadBalancer {
            load_balancer: load_balancer.clone(),
            port: deployment.service.port,
        },
        link_group => add_api(
            &mut g,
            deployment,
            names,
            &mut notes,
            ApiWiring {
                link_version,
                link_group: link_group.as_ref(),
                subnets: &subnets,
                load_balancer: &load_balancer,
                listener: &listener,
                service: &service,
                recorded,
            },
        ),
    };
    for (key, id) in recorded {
        if g.contains(key) {
            continue;
        }

        // What the state file records that this deployment no longer needs.
        if key == "repository"
            && let Some(name) = id.rsplit_once("repository/").map(|(_, name)| name)
        {
            g.add_orphan(ecr::Repository::no_longer_used(name));
        }
    }
    // The old load balancer, its target group and listener, once nothing uses them; an old
    // NLB before the V1 link on it (below), an old ALB after the link group its own names.
    let mut other = deployment.clone();
    other.network.load_balancer = other_kind;
    let other_names = Names::new(&other);
    let retire = |g: &mut Graph, link_group: Option<&Ref<network::security_group::Outputs>>| {
        let old = LoadBalancer::new(&other_names, &subnets, &elb_role);
        let old = match link_group {
            Some(link_group) => {
                let group = g.add_orphan(SecurityGroup::load_balancer(
                    &other,
                    &other_names,
                    &vpc,
                    link_group,
                ));
                old.application(&group)
            }
            None => old,
        };
        let old = g.add_orphan(old);
        let old_group = g.add_orphan(TargetGroup::new(&other, &other_names, &vpc));
        g.add_orphan(Listener::new(&other, &other_names, &old, &old_group));
        old
    };
    let retiring = (moving || no_state) && !public;
    let nlb = match (kind, retiring) {
        (LoadBalancerKind::Nlb, _) => Some(load_balancer.clone()),
        (LoadBalancerKind::Alb, true) => Some(retire(&mut g, None)),
        (LoadBalancerKind::Alb, false) => None,
    };
    // The other kind of VPC link, once the stack switched: it goes after the integrations and
    // the stage moved to the new one. Without a state file it is looked for by name, so
    // `down` removes it too.
    let mut link_group = link_group;
    match (link_version, &nlb) {
        _ if public => {}
        (VpcLinkVersion::V2, Some(nlb)) if no_state || was_recorded("vpc_link") => {
            g.add_orphan(VpcLink::new(deployment, names, nlb));
        }
        (VpcLinkVersion::V1, _)
            if no_state
                || was_recorded("vpc_link_v2")
                || was_recorded("security_group/vpc-link") =>
        {
            let group = g.add_orphan(SecurityGroup::vpc_link(deployment, names, &vpc));
            g.add_orphan(VpcLinkV2::new(names, &subnets, &group));
            link_group = Some(group);
        }
        _ => {}
    }
    if kind == LoadBalancerKind::Nlb && retiring {
        // Without a V2 link's group an ALB was never built: it needs a V2 link.
        if let Some(link_group) = &link_group {
            retire(&mut g, Some(link_group));
        }
    }
    let flow_log_parts = ["flow_log", "log_group/flow-logs", "flow_log_role"];
    if !deployment.network.flow_logs && flow_log_parts.iter().any(|k| was_recorded(k)) {
        let group = g.add_orphan(logs::LogGroup::flow_logs(deployment, names));
        let delivery = g.add_orphan(iam::StackRole::flow_log_delivery(
            deployment, names, account,
        ));
        g.add_orphan(network::flow_log::FlowLog::new(
            names, &vpc, &group, &delivery,
        ));
    }
    if autoscaling.is_none() && was_recorded("autoscaling") {
        g.add_orphan(ecs::autoscaling::Autoscaling::no_longer_used(
            names, &service,
        ));
    }
    if task_role.is_none() && was_recorded("task_role") {
        g.add_orphan(iam::StackRole::task(deployment, names, account));
    }
    // An endpoint no secret needs and the env file no longer lists goes once the tasks have
    // moved to a revision without that secret.
    let mut retired_services: Vec<String> = recorded
        .iter()
        .filter_map(|(key, _)| key.strip_prefix("endpoint/").map(str::to_string))
        .collect();
    if retire_endpoints && recorded.is_empty() {
        retired_services.extend(
            crate::config::INTERFACE_SERVICES
                .iter()
                .chain(&["s3"])
                .map(|s| s.to_string()),
        );
    }
    for service in &retired_services {
        let service = service.as_str();
        if endpoints.iter().any(|(s, _)| s == service) {
            continue;
        }
        g.add_orphan(if crate::config::GATEWAY_SERVICES.contains(&service) {
            gateway(service)
        } else {
            interface(service)
        });
    }
    if public && deployment.service.port == 443 {
        notes.push(
            "the public load balancer listens on 443 with plain HTTP (it has no certificate): \
             callers must use http://, and https:// fails"
                .to_string(),
        );
    }
    let exposure = if public {
        Some(format!(
            "the load balancer is open to the internet on port {}: anyone can call every route \
             of the service over plain HTTP, with no API Gateway in front (no throttling, no \
             authorization), and the tasks have public IP addresses",
            deployment.service.port
        ))
    } else {
        (deployment.api.auth == crate::config::Auth::None).then(|| {
            "the API is open to the internet: anyone can call every route of the service (set \
         `auth = \"iam\"` under [api] in the env file to require AWS-signed requests)"
                .to_string()
        })
    };
    Stack {
        graph: g,
        service,
        entry,
        target_group,
        notes,
        exposure,
    }
}

#[cfg(test)]
pub mod testing {
    //! What unit tests of the kinds share: an environment whose clients are never called.

    use crate::aws::Clients;
    use crate::config::names::Names;
    use crate::model::{Env, Hints, Memo};
    use crate::state::{SharedState, State, StateFile};

    /// The reference env file's deployment in account 123456789012, with clients that reach
    /// nothing (pure functions never call them).
    pub fn env() -> Env {
        let deployment = crate::config::parse(
            std::path::Path::new("env1.toml"),
            include_str!("../../config/env1.toml"),
            None,
        )
        .expect("the reference env file is valid");
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("eu-west-1"))
            .build();
        let file = StateFile {
            path: std::path::PathBuf::from("/nonexistent/env1.json"),
        };
        Env {
            aws: Clients::new(&sdk),
            single: Clients::single_attempt(&sdk),
            names: Names::new(&deployment),
            retired_tags: Vec::new(),
            state: SharedState::read_only(file, State::new(deployment.clone(), None)),
            deployment,
            account: "123456789012".to_string(),
            memo: Memo::default(),
            choices: crate::model::Choices::default(),
            hints: Hints {
                command_prefix: "gwfargate".to_string(),
                env_file: "env1.toml".to_string(),
                profile: None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Phase;

    fn graph(image: Option<&str>, recorded: &[(String, String)]) -> Stack {
        let env = testing::env();
        let mut deployment = env.deployment.clone();
        if let Some(image) = image {
            deployment.service.image = image.to_string();
        }
        stack(
            &deployment,
            &Names::new(&deployment),
            "123456789012",
            recorded,
        )
    }

    #[test]
    fn what_the_env_file_no_longer_asks_for_is_deleted_last_dependents_first() {
        let recorded: Vec<(String, String)> = [
            "flow_log",
            "usage_plan",
            "api_key",
            "authorizer",
            "authorizer_role",
        ]
        .iter()
        .map(|k| (k.to_string(), format!("id-{k}")))
        .collect();
        let s = graph(None, &recorded);
        let keys: Vec<&str> = s.graph.nodes().iter().map(|n| n.key()).collect();
        let at = |key: &str| keys.iter().position(|k| *k == key).expect(key);
        let up = s.graph.up_deps();
        let waits_for = |key: &str, other: &str| up[at(key)].iter().any(|(i, _)| *i == at(other));
        for orphan in [
            "flow_log",
            "log_group/flow-logs",
            "flow_log_role",
            "usage_plan",
            "api_key",
            "authorizer",
            "authorizer_role",
        ] {
            // After the stack is done: the stage redeployed, the API's methods moved off.
            assert!(
                waits_for(orphan, "stage") && waits_for(orphan, "rest_api"),
                "{orphan}"
            );
        }
        assert!(waits_for("log_group/flow-logs", "flow_log"));
        assert!(waits_for("flow_log_role", "flow_log"));
        assert!(!waits_for("flow_log", "log_group/flow-logs"));
        assert!(waits_for("usage_plan", "api_key"));
        assert!(
            !waits_for("stage", "authorizer"),
            "nothing of the stack waits for them"
        );
    }

    #[test]
    fn every_dependency_is_a_resource_of_the_graph_added_before_it() {
        let s = graph(None, &[]);
        assert_eq!(s.graph.dangling(), None);
        let keys: Vec<&str> = s.graph.nodes().iter().map(|n| n.key()).collect();
        for (i, node) in s.graph.nodes().iter().enumerate() {
            for dep in node.deps() {
                let at = keys
                    .iter()
                    .position(|k| *k == dep.key)
                    .expect("in the graph");
                assert!(at < i, "{} depends on later {}", node.key(), dep.key);
            }
        }
        // 29 resources, and what a stack without a state file may have left: the NAT
        // gateway's (two public subnets, internet gateway, route table, address, gateway,
        // the route to it and the tasks' rule to anywhere), a V1 link, an ALB with its group,
        // target group and listener.
        assert_eq!(keys.len(), 42);
        assert!(s.graph.nodes()[keys.len() - 1].is_orphan());
    }

    #[test]
    fn the_order_rules_of_aws_are_in_the_graph() {
        let s = graph(None, &[]);
        let deps = |key: &str| -> Vec<(String, Phase)> {
            s.graph
                .nodes()
                .iter()
                .find(|n| n.key() == key)
                .expect("node")
                .deps()
                .iter()
                .map(|d| (d.key.clone(), d.down))
                .collect()
        };
        let has = |key: &str, dep: &str| deps(key).iter().any(|(k, _)| k == dep);
        // A V2 link waits for its subnets and its group, not for the load balancer, which
        // only its integrations name.
        assert!(has("vpc_link_v2", "security_group/vpc-link") && has("vpc_link_v2", "subnet/1"));
        assert!(!has("vpc_link_v2", "load_balancer"));
        assert!(has("integrations", "load_balancer"));
        // ECS needs a listener on the target group, and tasks need the endpoints.
        assert!(has("service", "listener"));
        assert!(has("service", "endpoint/ecr.dkr") && has("service", "endpoint/s3"));
        // The tasks reach the endpoints through the rule between the two groups, which comes
        // after every endpoint moved to its own group (a stack made with one group).
        let access = "security_group_rule/tasks-to-endpoints";
        assert!(has("service", access));
        assert!(has(access, "endpoint/logs") && has(access, "security_group/endpoints"));
        assert!(has("endpoint/logs", "security_group/endpoints"));
        // AWS deletes no group another group's rule names.
        assert!(
            deps("security_group/endpoints").contains(&("security_group".to_string(), Phase::Gone))
        );
        // The URL goes public only once the service serves.
        assert!(has("stage", "service"));
        // No revision for an image not pushed.
        assert!(has("task_definition", "repository"));
        // Down: the ECR endpoints go once the service's deletion is accepted, logs once the
        // tasks have stopped; everything else once its users are gone.
        assert!(deps("service").contains(&("endpoint/ecr.api".to_string(), Phase::Deleting)));
        assert!(deps("service").contains(&("endpoint/logs".to_string(), Phase::Quiet)));
        assert!(deps("integrations").contains(&("vpc_link_v2".to_string(), Phase::Gone)));
        assert!(deps("stage").contains(&("vpc_link_v2".to_string(), Phase::Gone)));
        // The API and its routes do not wait for the VPC link; only their integrations do.
        assert!(deps("rest_api").is_empty());
    }

    fn graph_with(
        vpc_link: VpcLinkVersion,
        recorded: &[(&str, &str)],
    ) -> (Stack, impl Fn(&Stack, &str, &str) -> bool) {
        let env = testing::env();
        let mut deployment = env.deployment.clone();
        deployment.network.vpc_link = Some(vpc_link);
        let recorded: Vec<(String, String)> = recorded
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let s = stack(
            &deployment,
            &Names::new(&deployment),
            "123456789012",
            &recorded,
        );
        let waits_for = |s: &Stack, key: &str, other: &str| {
            let keys: Vec<&str> = s.graph.nodes().iter().map(|n| n.key()).collect();
            let at = |key: &str| keys.iter().position(|k| *k == key).expect(key);
            s.graph.up_deps()[at(key)]
                .iter()
                .any(|(i, _)| *i == at(other))
        };
        (s, waits_for)
    }

    #[test]
    fn an_alb_sits_behind_a_group_open_to_the_v2_link_and_is_what_requests_are_counted_on() {
        let mut deployment = testing::env().deployment;
        deployment.network.load_balancer = LoadBalancerKind::Alb;
        deployment.service.autoscaling = Some(crate::config::Autoscaling {
            min: 1,
            max: 3,
            cpu: None,
            memory: None,
            requests: Some(500),
            scale_in_cooldown: 300,
            scale_out_cooldown: 60,
            schedules: Vec::new(),
        });
        let names = Names::new(&deployment);
        assert_eq!(names.load_balancer, "cluster1-alb-microservice1");
        // The state file of an NLB stack with a V1 link: it moves, and the V1 link (it reaches
        // no ALB) and the NLB, its target group and listener go once nothing uses them.
        let recorded: Vec<(String, String)> = ["vpc_link", "load_balancer", "target_group"]
            .iter()
            .map(|k| (k.to_string(), "abc".to_string()))
            .collect();
        let s = stack(&deployment, &names, "123456789012", &recorded);
        let node = |key: &str| s.graph.nodes().iter().find(|n| n.key() == key).expect(key);
        let deps =
            |key: &str| -> Vec<String> { node(key).deps().iter().map(|d| d.key.clone()).collect() };
        assert!(deps("load_balancer/alb").contains(&"security_group/load-balancer".to_string()));
        for old in ["load_balancer", "target_group", "listener", "vpc_link"] {
            assert!(node(old).is_orphan(), "{old}");
        }
        assert!(deps("vpc_link").contains(&"load_balancer".to_string()));
        assert!(!node("load_balancer/alb").is_orphan());
        assert!(
            deps("security_group/load-balancer").contains(&"security_group/vpc-link".to_string())
        );
        assert!(deps("vpc_link_v2").contains(&"security_group/vpc-link".to_string()));
        let autoscaling = deps("autoscaling");
        assert!(
            autoscaling.contains(&"load_balancer/alb".to_string()),
            "{autoscaling:?}"
        );
        assert!(
            autoscaling.contains(&"target_group/alb".to_string()),
            "{autoscaling:?}"
        );
        assert_eq!(vpc_link_version(&deployment, &recorded), VpcLinkVersion::V2);
        // An NLB has no group of its own.
        let (nlb, _) = graph_with(VpcLinkVersion::V2, &[("vpc", "vpc-1")]);
        assert!(!nlb.graph.contains("security_group/load-balancer"));
    }

    #[test]
    fn down_without_a_state_file_also_looks_for_a_public_stacks_api_gateway_design() {
        let mut deployment = testing::env().deployment;
        let names = Names::new(&deployment);
        assert!(
            other_entry(&deployment, &names, "123456789012").is_none(),
            "an API Gateway stack's own graph looks for the public parts"
        );
        deployment.network.entry = crate::config::Entry::PublicLoadBalancer;
        deployment.network.load_balancer = LoadBalancerKind::Alb;
        deployment.network.egress = Egress::PublicIp;
        let names = Names::new(&deployment);
        let mut g = stack(&deployment, &names, "123456789012", &[]).graph;
        let own = g.nodes().len();
        g.add_orphans_of(other_entry(&deployment, &names, "123456789012").expect("public"));
        assert_eq!(g.dangling(), None);
        let added: Vec<&str> = g.nodes()[own..]
            .iter()
            .map(|n| {
                assert!(n.is_orphan(), "{}", n.key());
                n.key()
            })
            .collect();
        for key in [
            "rest_api",
            "stage",
            "vpc_link",
            "vpc_link_v2",
            "security_group/vpc-link",
            "load_balancer",
            "subnet/0",
            "route_table",
            "security_group/endpoints",
            "nat_gateway",
        ] {
            assert!(added.contains(&key), "{key}: {added:?}");
        }
        assert!(
            !added.contains(&"load_balancer/alb"),
            "the public ALB stays the stack's own"
        );
    }

    #[test]
    fn a_public_entry_is_an_internet_facing_alb_after_the_internet_gateway_and_no_api() {
        let mut deployment = testing::env().deployment;
        deployment.network.entry = crate::config::Entry::PublicLoadBalancer;
        deployment.network.load_balancer = LoadBalancerKind::Alb;
        deployment.network.egress = Egress::PublicIp;
        let names = Names::new(&deployment);
        for recorded in [vec![("vpc".to_string(), "vpc-1".to_string())], Vec::new()] {
            let s = stack(&deployment, &names, "123456789012", &recorded);
            assert_eq!(s.graph.dangling(), None);
            assert!(matches!(
                s.entry,
                Entry::PublicLoadBalancer { port: 8080, .. }
            ));
            let keys: Vec<&str> = s.graph.nodes().iter().map(|n| n.key()).collect();
            for absent in [
                "rest_api",
                "stage",
                "integrations",
                "vpc_link",
                "vpc_link_v2",
                "security_group/vpc-link",
                "security_group/endpoints",
                "nat_gateway",
                "elastic_ip",
                "load_balancer",
                "route_table",
                "subnet/0",
            ] {
                assert!(!keys.contains(&absent), "{absent}: {keys:?}");
            }
            assert!(!keys.iter().any(|k| k.starts_with("endpoint")), "{keys:?}");
            let deps = |key: &str| -> Vec<String> {
                let node = s.graph.nodes().iter().find(|n| n.key() == key).expect(key);
                assert!(!node.is_orphan(), "{key}");
                node.deps().iter().map(|d| d.key.clone()).collect()
            };
            let lb = deps("load_balancer/alb");
            for needed in [
                "internet_gateway",
                "security_group/load-balancer",
                "subnet/public/0",
                "subnet/public/1",
            ] {
                assert!(lb.contains(&needed.to_string()), "{needed}: {lb:?}");
            }
            assert!(deps("route_table/public").contains(&"internet_gateway".to_string()));
            let service = deps("service");
            for needed in [
                "route_table/public",
                "security_group_rule/tasks-to-internet",
                "subnet/public/0",
            ] {
                assert!(
                    service.contains(&needed.to_string()),
                    "{needed}: {service:?}"
                );
            }
            assert!(
                s.exposure
                    .as_deref()
                    .is_some_and(|e| e.contains("port 8080"))
            );
            assert!(!s.notes.iter().any(|n| n.contains("plain HTTP")));
        }
        deployment.service.port = 443;
        let s = stack(&deployment, &names, "123456789012", &[]);
        assert!(
            s.notes.iter().any(|n| n.contains("https:// fails")),
            "{:?}",
            s.notes
        );
    }

    #[test]
    fn with_a_nat_gateway_the_tasks_go_out_through_it_and_there_are_no_endpoints() {
        let mut deployment = testing::env().deployment;
        deployment.network.egress = Egress::Nat;
        deployment.network.public_subnets = vec![crate::config::Subnet {
            cidr: "10.0.101.0/24".parse().expect("cidr"),
            az: "eu-west-1a".to_string(),
        }];
        let names = Names::new(&deployment);
        let recorded = vec![("vpc".to_string(), "vpc-1".to_string())];
        let s = stack(&deployment, &names, "123456789012", &recorded);
        assert_eq!(s.graph.dangling(), None);
        let keys: Vec<&str> = s.graph.nodes().iter().map(|n| n.key()).collect();
        assert!(!keys.iter().any(|k| k.starts_with("endpoint")), "{keys:?}");
        assert!(!keys.contains(&"security_group/endpoints"), "{keys:?}");
        let deps = |key: &str| -> Vec<String> {
            let node = s.graph.nodes().iter().find(|n| n.key() == key).expect(key);
            assert!(!node.is_orphan(), "{key}");
            node.deps().iter().map(|d| d.key.clone()).collect()
        };
        let nat = deps("nat_gateway");
        for needed in [
            "subnet/public/0",
            "elastic_ip",
            "internet_gateway",
            "route_table/public",
        ] {
            assert!(nat.contains(&needed.to_string()), "{needed}: {nat:?}");
        }
        let route = deps("route/nat");
        assert!(
            route.contains(&"nat_gateway".to_string())
                && route.contains(&"route_table".to_string())
        );
        assert!(deps("route_table/public").contains(&"internet_gateway".to_string()));
        let service = deps("service");
        for way_out in ["route/nat", "security_group_rule/tasks-to-internet"] {
            assert!(
                service.contains(&way_out.to_string()),
                "{way_out}: {service:?}"
            );
        }
        // A stack that was built with endpoints has them deleted once nothing uses them.
        let built = vec![
            ("vpc".to_string(), "vpc-1".to_string()),
            ("endpoint/logs".to_string(), "vpce-1".to_string()),
            ("security_group/endpoints".to_string(), "sg-1".to_string()),
        ];
        let s = stack(&deployment, &names, "123456789012", &built);
        for key in ["endpoint/logs", "security_group/endpoints"] {
            let node = s.graph.nodes().iter().find(|n| n.key() == key).expect(key);
            assert!(node.is_orphan(), "{key}");
        }
        // And back: the route and the rule to anywhere go after the endpoints are made (as
        // orphans, once everything else is done), and before the NAT gateway.
        let mut endpoints_again = deployment.clone();
        endpoints_again.network.egress = Egress::Endpoints;
        endpoints_again.network.public_subnets.clear();
        let was_nat = vec![
            ("vpc".to_string(), "vpc-1".to_string()),
            ("nat_gateway".to_string(), "nat-1".to_string()),
            ("route/nat".to_string(), "rtb-1 0.0.0.0/0".to_string()),
            ("subnet/public/0".to_string(), "subnet-p".to_string()),
        ];
        let s = stack(&endpoints_again, &names, "123456789012", &was_nat);
        assert_eq!(s.graph.dangling(), None);
        let keys: Vec<&str> = s.graph.nodes().iter().map(|n| n.key()).collect();
        let at = |key: &str| keys.iter().position(|k| *k == key).expect(key);
        let up = s.graph.up_deps();
        let waits_for = |key: &str, other: &str| up[at(key)].iter().any(|(i, _)| *i == at(other));
        for key in [
            "route/nat",
            "security_group_rule/tasks-to-internet",
            "nat_gateway",
            "subnet/public/0",
        ] {
            assert!(s.graph.nodes()[at(key)].is_orphan(), "{key}");
        }
        assert!(waits_for(
            "route/nat",
            "security_group_rule/tasks-to-endpoints"
        ));
        assert!(waits_for(
            "security_group_rule/tasks-to-internet",
            "endpoint/ecr.dkr"
        ));
        assert!(waits_for("nat_gateway", "route/nat"));
    }

    #[test]
    fn a_v1_link_waits_for_the_active_nlb_and_has_no_group() {
        let (s, _) = graph_with(VpcLinkVersion::V1, &[("vpc", "vpc-1")]);
        let link = s
            .graph
            .nodes()
            .iter()
            .find(|n| n.key() == "vpc_link")
            .expect("a V1 link");
        // A VPC link on an NLB that is not active ends FAILED.
        assert!(link.deps().iter().any(|d| d.key == "load_balancer"));
        assert!(!link.is_orphan());
        assert!(!s.graph.contains("vpc_link_v2") && !s.graph.contains("security_group/vpc-link"));
    }

    #[test]
    fn a_switch_of_link_deletes_the_old_one_after_the_stage_moved_to_the_new() {
        let (s, waits_for) = graph_with(VpcLinkVersion::V2, &[("vpc_link", "abc")]);
        let old = s.graph.nodes().iter().find(|n| n.key() == "vpc_link");
        assert!(old.is_some_and(|n| n.is_orphan()));
        assert!(waits_for(&s, "vpc_link", "stage") && waits_for(&s, "vpc_link", "vpc_link_v2"));
        let (s, waits_for) = graph_with(VpcLinkVersion::V1, &[("vpc_link_v2", "abc")]);
        for key in ["vpc_link_v2", "security_group/vpc-link"] {
            let node = s.graph.nodes().iter().find(|n| n.key() == key);
            assert!(node.is_some_and(|n| n.is_orphan()), "{key}");
            assert!(waits_for(&s, key, "stage"), "{key}");
        }
        // The group goes once the link holding its interfaces is gone.
        assert!(waits_for(&s, "security_group/vpc-link", "vpc_link_v2"));
        // A stack whose state records neither link has nothing to switch from.
        let (s, _) = graph_with(VpcLinkVersion::V2, &[("vpc", "vpc-1")]);
        assert!(!s.graph.contains("vpc_link"));
    }

    #[test]
    fn without_a_choice_a_built_v1_stack_keeps_its_link_and_a_new_one_gets_v2() {
        let env = testing::env();
        let recorded = |keys: &[&str]| -> Vec<(String, String)> {
            keys.iter()
                .map(|k| (k.to_string(), "x".to_string()))
                .collect()
        };
        let d = &env.deployment;
        assert_eq!(d.network.vpc_link, None);
        assert_eq!(
            vpc_link_version(d, &recorded(&["vpc", "vpc_link"])),
            VpcLinkVersion::V1
        );
        assert_eq!(vpc_link_version(d, &recorded(&["vpc"])), VpcLinkVersion::V2);
        assert_eq!(vpc_link_version(d, &[]), VpcLinkVersion::V2);
        let s = stack(
            d,
            &env.names,
            "123456789012",
            &recorded(&["vpc", "vpc_link"]),
        );
        assert!(s.graph.contains("vpc_link") && !s.graph.contains("vpc_link_v2"));
        assert!(
            s.notes
                .iter()
                .any(|n| n.contains("set `vpc_link = \"v2\"`")),
            "{:?}",
            s.notes
        );
        let mut chosen = d.clone();
        chosen.network.vpc_link = Some(VpcLinkVersion::V1);
        let s = stack(
            &chosen,
            &env.names,
            "123456789012",
            &recorded(&["vpc", "vpc_link"]),
        );
        assert!(
            s.notes.iter().all(|n| !n.contains("VPC link V1")),
            "{:?}",
            s.notes
        );
    }

    #[test]
    fn an_image_elsewhere_has_no_repository_and_a_warning() {
        let s = graph(Some("public.ecr.aws/nginx/nginx:1.27"), &[]);
        assert!(!s.graph.contains("repository"));
        assert!(
            s.notes[0].contains("outside ECR in eu-west-1"),
            "{:?}",
            s.notes
        );
        assert_eq!(s.graph.dangling(), None);
    }

    #[test]
    fn a_repository_the_env_file_no_longer_uses_is_added_to_be_deleted() {
        let recorded = [(
            "repository".to_string(),
            "arn:aws:ecr:eu-west-1:123456789012:repository/old".to_string(),
        )];
        let s = graph(Some("public.ecr.aws/nginx/nginx:1.27"), &recorded);
        let orphan = s
            .graph
            .nodes()
            .iter()
            .find(|n| n.key() == "repository")
            .expect("added");
        assert_eq!(orphan.name(), "old");
    }
}
