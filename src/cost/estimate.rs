//! A month of the stack, priced line by line: the design the env file builds, and beside it
//! the original design's alternatives for the same service. Pure: a deployment, a region's
//! prices and the traffic assumptions in, figures out.

use serde::Serialize;

use super::prices::RegionPrices;
use crate::config::{CpuArchitecture, Deployment};

/// Hours in a month, as AWS's own pricing examples count them.
pub const HOURS_PER_MONTH: f64 = 730.0;

/// Ephemeral storage every Fargate task has without charge, in GB.
const FREE_STORAGE_GB: u32 = 20;

/// One Network Load Balancer capacity unit: 800 new TCP connections a second, or 1 GB
/// processed an hour (Elastic Load Balancing pricing page).
const NLCU_CONNECTIONS_PER_SECOND: f64 = 800.0;
/// One Application Load Balancer capacity unit: 25 new connections a second, or 1 GB
/// processed an hour for containers as targets.
const LCU_CONNECTIONS_PER_SECOND: f64 = 25.0;

/// What a month of traffic looks like: the figures the estimate cannot read from the env
/// file. Each is printed with the estimate and settable on the command line.
#[derive(Debug, Clone, Serialize)]
pub struct Assumptions {
    /// Hours the stack runs in the month.
    pub hours: f64,
    /// Tasks running all month (the env file's count unless told otherwise).
    pub tasks: u32,
    /// Requests the API serves in the month.
    pub requests_per_month: u64,
    /// GB the service sends back to its callers in the month.
    pub gb_out: f64,
    /// GB of logs the tasks write in the month.
    pub log_gb: f64,
    /// GB of image layers the tasks pull in the month (every task start pulls the image).
    pub image_gb: f64,
}

impl Assumptions {
    /// The defaults: the env file's task count, a million requests, 10 GB out, 5 GB of logs
    /// and 5 GB of image pulls a month.
    pub fn for_deployment(deployment: &Deployment) -> Assumptions {
        Assumptions {
            hours: HOURS_PER_MONTH,
            tasks: deployment.service.count,
            requests_per_month: 1_000_000,
            gb_out: 10.0,
            log_gb: 5.0,
            image_gb: 5.0,
        }
    }
}

/// How callers reach the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Entry {
    /// API Gateway (REST) through a VPC link: the stack's only public entry.
    ApiGateway,
    /// An internet-facing load balancer in public subnets, no API Gateway.
    PublicLoadBalancer,
}

/// The load balancer in front of the tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadBalancerKind {
    /// Network Load Balancer (layer 4).
    Nlb,
    /// Application Load Balancer (layer 7).
    Alb,
}

/// How the tasks reach ECR, CloudWatch Logs and other AWS services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Egress {
    /// Interface endpoints in each zone and the S3 gateway endpoint; no way to the internet.
    Endpoints,
    /// One NAT gateway per zone, each with an elastic IP; no endpoints.
    Nat,
    /// Tasks in public subnets with public IPs, through the internet gateway.
    PublicIp,
}

/// One way to build the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Design {
    /// How callers reach it.
    pub entry: Entry,
    /// Its load balancer.
    pub load_balancer: LoadBalancerKind,
    /// How its tasks reach AWS services.
    pub egress: Egress,
}

impl Design {
    /// The design gwfargate builds by default: API Gateway, NLB, VPC endpoints.
    pub const BUILT: Design = Design {
        entry: Entry::ApiGateway,
        load_balancer: LoadBalancerKind::Nlb,
        egress: Egress::Endpoints,
    };

    /// The designs priced side by side: gwfargate's, then the original design's three
    /// alternatives (an ALB instead of the NLB; a NAT gateway instead of the endpoints; a
    /// public load balancer and public tasks instead of API Gateway).
    pub const ALL: [Design; 4] = [
        Design::BUILT,
        Design {
            entry: Entry::ApiGateway,
            load_balancer: LoadBalancerKind::Alb,
            egress: Egress::Endpoints,
        },
        Design {
            entry: Entry::ApiGateway,
            load_balancer: LoadBalancerKind::Nlb,
            egress: Egress::Nat,
        },
        Design {
            entry: Entry::PublicLoadBalancer,
            load_balancer: LoadBalancerKind::Alb,
            egress: Egress::PublicIp,
        },
    ];

    /// The design `deployment` builds: the default with the env file's load balancer and
    /// way out, or the public one. (The `nat` column is the NLB one: an ALB with a NAT gateway is priced as the
    /// NLB's, the nearest column.)
    pub fn of(deployment: &Deployment) -> Design {
        match deployment.network.egress {
            crate::config::Egress::PublicIp => Design::ALL[3],
            crate::config::Egress::Nat => Design {
                egress: Egress::Nat,
                ..Design::BUILT
            },
            crate::config::Egress::Endpoints => Design {
                load_balancer: match deployment.network.load_balancer {
                    crate::config::LoadBalancerKind::Nlb => LoadBalancerKind::Nlb,
                    crate::config::LoadBalancerKind::Alb => LoadBalancerKind::Alb,
                },
                ..Design::BUILT
            },
        }
    }

    /// A short name for a column: what sets it apart from the default design.
    pub fn short_name(self) -> &'static str {
        match (self.entry, self.load_balancer, self.egress) {
            (Entry::PublicLoadBalancer, ..) => "public",
            (_, _, Egress::Nat) => "nat",
            (_, LoadBalancerKind::Alb, _) => "alb",
            _ => "nlb",
        }
    }

    /// What it is, in a line.
    pub fn description(self) -> &'static str {
        match (self.entry, self.load_balancer, self.egress) {
            (Entry::PublicLoadBalancer, ..) => {
                "internet-facing ALB -> Fargate in public subnets with public IPs; no API \
                 Gateway (not for production)"
            }
            (_, _, Egress::Nat) => {
                "API Gateway -> VPC link -> internal NLB -> Fargate; a NAT gateway per zone, no endpoints"
            }
            (_, LoadBalancerKind::Alb, _) => {
                "API Gateway -> VPC link -> internal ALB -> Fargate; VPC endpoints"
            }
            _ => "API Gateway -> VPC link -> internal NLB -> Fargate; VPC endpoints",
        }
    }
}

/// Every line's key, in the order lines are listed: compute, the entry, the load
/// balancer, the way out, logs, data out.
pub const LINE_KEYS: [&str; 19] = [
    "fargate_vcpu",
    "fargate_memory",
    "fargate_spot_vcpu",
    "fargate_spot_memory",
    "fargate_storage",
    "api_requests",
    "nlb_hours",
    "nlb_capacity",
    "alb_hours",
    "alb_capacity",
    "endpoint_hours",
    "endpoint_data",
    "s3_gateway_endpoint",
    "nat_hours",
    "nat_data",
    "public_ipv4",
    "logs_ingestion",
    "logs_storage",
    "transfer_out",
];

/// One priced line: a quantity of something at a unit price.
#[derive(Debug, Clone, Serialize)]
pub struct Line {
    /// A stable key, e.g. `fargate_vcpu`.
    pub key: &'static str,
    /// What it is, for people.
    pub item: &'static str,
    /// How the quantity is made, for people: `1 task x 1 vCPU x 730 h`.
    pub how: String,
    /// The month's quantity.
    pub quantity: f64,
    /// Its unit, e.g. `vCPU-hour`.
    pub unit: &'static str,
    /// USD per unit (for tiered prices, the quantity's average).
    pub unit_price: f64,
    /// USD for the month.
    pub monthly: f64,
}

/// One design's month.
#[derive(Debug, Clone, Serialize)]
pub struct DesignEstimate {
    /// Its short name (`nlb`, `alb`, `nat`, `public`).
    pub name: &'static str,
    /// The design.
    #[serde(flatten)]
    pub design: Design,
    /// Whether it is the one the env file builds.
    pub this_stack: bool,
    /// What it is, in a line.
    pub description: &'static str,
    /// Its lines.
    pub lines: Vec<Line>,
    /// USD for the month, all lines.
    pub total: f64,
}

/// Where the endpoints and a NAT gateway cost the same.
#[derive(Debug, Clone, Serialize)]
pub struct Crossover {
    /// NAT gateways in the comparison: one shared, or one per zone.
    pub nat_gateways: u32,
    /// The endpoints cost less once the tasks move more than this many GB a month through
    /// them (logs, ECR's API, other services; S3 as assumed besides); `0` when they always
    /// cost less, absent when they never do.
    pub endpoints_cheaper_above_gb: Option<f64>,
}

/// The whole estimate.
#[derive(Debug, Clone, Serialize)]
pub struct Estimate {
    /// The region priced.
    pub region: String,
    /// Its name.
    pub region_name: String,
    /// The traffic assumed.
    pub assumptions: Assumptions,
    /// Each design, the built one first.
    pub designs: Vec<DesignEstimate>,
    /// Endpoints against one shared NAT gateway, and against one per zone.
    pub endpoints_against_nat: Vec<Crossover>,
    /// What no line counts.
    pub not_counted: Vec<&'static str>,
}

/// Prices each design for `deployment` in the region whose prices are given.
pub fn estimate(
    deployment: &Deployment,
    prices: &RegionPrices,
    assumptions: &Assumptions,
) -> Estimate {
    let built = Design::of(deployment);
    let designs = std::iter::once(built)
        .chain(Design::ALL.into_iter().filter(|d| *d != built))
        .map(|design| {
            let lines = lines(design, deployment, prices, assumptions);
            DesignEstimate {
                name: design.short_name(),
                design,
                this_stack: design == built,
                description: design.description(),
                total: lines.iter().map(|l| l.monthly).sum(),
                lines,
            }
        })
        .collect();
    let zones = zones(deployment);
    Estimate {
        region: deployment.region.clone(),
        region_name: prices.name.clone(),
        assumptions: assumptions.clone(),
        designs,
        endpoints_against_nat: [1, zones]
            .into_iter()
            .map(|nat_gateways| Crossover {
                nat_gateways,
                endpoints_cheaper_above_gb: crossover(
                    deployment,
                    prices,
                    assumptions,
                    nat_gateways,
                ),
            })
            .collect(),
        not_counted: vec![
            "free tiers and credits",
            "traffic between zones",
            "ECR storage",
            "flow logs and Container Insights",
            "WAF, Secrets Manager and KMS",
            "taxes",
        ],
    }
}

/// How many interface endpoints the endpoints design of `deployment` has, whatever its own
/// way out (a NAT or public stack has none, its endpoints alternative does).
fn endpoint_services(deployment: &Deployment) -> usize {
    let mut endpoints = deployment.clone();
    endpoints.network.egress = crate::config::Egress::Endpoints;
    endpoints.interface_services().len()
}

fn zones(deployment: &Deployment) -> u32 {
    u32::try_from(deployment.network.subnets.len()).unwrap_or(u32::MAX)
}

fn line(
    key: &'static str,
    item: &'static str,
    how: String,
    quantity: f64,
    unit: &'static str,
    unit_price: f64,
) -> Line {
    Line {
        key,
        item,
        how,
        quantity,
        unit,
        unit_price,
        monthly: quantity * unit_price,
    }
}

fn plural(n: u32, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A figure for people: at most two decimals, no trailing zeros (`1`, `0.75`, `1.67`).
fn figure(x: f64) -> String {
    let text = format!("{x:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// `n` of something that may be fractional (tasks split between Fargate and Spot).
fn amount(n: f64, one: &str, many: &str) -> String {
    format!("{} {}", figure(n), if n == 1.0 { one } else { many })
}

/// The same month's figure for each design, line by line.
fn lines(
    design: Design,
    deployment: &Deployment,
    prices: &RegionPrices,
    traffic: &Assumptions,
) -> Vec<Line> {
    let hours = traffic.hours;
    let zones = zones(deployment);
    let mut out = fargate(deployment, prices, traffic);
    if design.entry == Entry::ApiGateway {
        let millions = traffic.requests_per_month as f64 / 1e6;
        let cost = prices.api_requests(millions);
        out.push(line(
            "api_requests",
            "API Gateway requests",
            format!("{} million requests", figure(millions)),
            millions,
            "million",
            if millions > 0.0 { cost / millions } else { 0.0 },
        ));
    }
    let per_second = traffic.requests_per_month as f64 / (hours * 3600.0);
    let gb_per_hour = if hours > 0.0 {
        traffic.gb_out / hours
    } else {
        0.0
    };
    // The two kinds bill alike: hours, and capacity units of whichever dimension is largest.
    let (keys, items, unit_name, unit, hour_price, unit_price, connections_per_unit) =
        match design.load_balancer {
            LoadBalancerKind::Nlb => (
                ("nlb_hours", "nlb_capacity"),
                ("NLB hours", "NLB capacity units"),
                "NLCU",
                "NLCU-h",
                prices.nlb_hour,
                prices.nlcu_hour,
                NLCU_CONNECTIONS_PER_SECOND,
            ),
            LoadBalancerKind::Alb => (
                ("alb_hours", "alb_capacity"),
                ("ALB hours", "ALB capacity units"),
                "LCU",
                "LCU-h",
                prices.alb_hour,
                prices.lcu_hour,
                LCU_CONNECTIONS_PER_SECOND,
            ),
        };
    out.push(line(
        keys.0,
        items.0,
        format!("{hours} h"),
        hours,
        "h",
        hour_price,
    ));
    let units = (per_second / connections_per_unit).max(gb_per_hour);
    out.push(line(
        keys.1,
        items.1,
        format!("{units:.4} {unit_name} x {hours} h"),
        units * hours,
        unit,
        unit_price,
    ));
    match design.egress {
        Egress::Endpoints => {
            let endpoints = u32::try_from(endpoint_services(deployment)).unwrap_or(u32::MAX);
            out.push(line(
                "endpoint_hours",
                "Interface endpoint hours",
                format!(
                    "{} x {} x {hours} h",
                    plural(endpoints, "endpoint", "endpoints"),
                    plural(zones, "zone", "zones")
                ),
                f64::from(endpoints) * f64::from(zones) * hours,
                "endpoint-h",
                prices.endpoint_hour,
            ));
            out.push(line(
                "endpoint_data",
                "Interface endpoint data",
                format!("{} GB of logs", traffic.log_gb),
                traffic.log_gb,
                "GB",
                prices.endpoint_gb,
            ));
            out.push(line(
                "s3_gateway_endpoint",
                "S3 gateway endpoint",
                format!("{} GB of image layers, free", traffic.image_gb),
                traffic.image_gb,
                "GB",
                0.0,
            ));
        }
        Egress::Nat => {
            out.push(line(
                "nat_hours",
                "NAT gateway hours",
                format!("{} x {hours} h", plural(zones, "gateway", "gateways")),
                f64::from(zones) * hours,
                "h",
                prices.nat_hour,
            ));
            out.push(line(
                "nat_data",
                "NAT gateway data",
                format!(
                    "{} GB of logs + {} GB of image layers",
                    traffic.log_gb, traffic.image_gb
                ),
                traffic.log_gb + traffic.image_gb,
                "GB",
                prices.nat_gb,
            ));
            out.push(line(
                "public_ipv4",
                "Public IPv4 addresses",
                format!("{} x {hours} h", plural(zones, "elastic IP", "elastic IPs")),
                f64::from(zones) * hours,
                "address-h",
                prices.public_ipv4_hour,
            ));
        }
        Egress::PublicIp => {
            let addresses = zones.saturating_add(traffic.tasks);
            out.push(line(
                "public_ipv4",
                "Public IPv4 addresses",
                format!(
                    "({} + {}) x {hours} h",
                    plural(zones, "ALB node", "ALB nodes"),
                    plural(traffic.tasks, "task", "tasks")
                ),
                f64::from(addresses) * hours,
                "address-h",
                prices.public_ipv4_hour,
            ));
        }
    }
    let retention = deployment.logs.retention_days;
    out.push(line(
        "logs_ingestion",
        "Logs ingestion",
        format!("{} GB", traffic.log_gb),
        traffic.log_gb,
        "GB",
        prices.logs_ingest_gb,
    ));
    out.push(line(
        "logs_storage",
        "Logs storage",
        format!(
            "{} GB a month kept {retention} days, at steady state",
            traffic.log_gb
        ),
        traffic.log_gb * f64::from(retention) / 30.0,
        "GB-month",
        prices.logs_store_gb_month,
    ));
    out.push(line(
        "transfer_out",
        "Data transfer out",
        format!("{} GB to callers", traffic.gb_out),
        traffic.gb_out,
        "GB",
        prices.transfer_out_gb,
    ));
    out
}

/// Fargate's lines: vCPU and memory, split between regular Fargate and Spot as the env file's
/// capacity provider strategy splits the tasks, and storage beyond the free 20 GB.
fn fargate(deployment: &Deployment, prices: &RegionPrices, traffic: &Assumptions) -> Vec<Line> {
    let service = &deployment.service;
    let hours = traffic.hours;
    let vcpu = f64::from(service.cpu) / 1024.0;
    let gb = f64::from(service.memory) / 1024.0;
    let arm = service.cpu_architecture == CpuArchitecture::Arm64;
    let tasks = f64::from(traffic.tasks);
    // ECS places `base` tasks on regular Fargate, then `weight` on Spot for each regular one.
    let spot_tasks = service.spot.map_or(0.0, |spot| {
        let beyond = (tasks - f64::from(spot.base)).max(0.0);
        beyond * f64::from(spot.weight) / (f64::from(spot.weight) + 1.0)
    });
    let regular_tasks = tasks - spot_tasks;
    let platform = if arm { ", arm64" } else { "" };
    let mut out = Vec::new();
    let (vcpu_price, gb_price) = if arm {
        (prices.fargate_arm_vcpu_hour, prices.fargate_arm_gb_hour)
    } else {
        (prices.fargate_vcpu_hour, prices.fargate_gb_hour)
    };
    out.push(line(
        "fargate_vcpu",
        "Fargate vCPU",
        format!(
            "{} x {} vCPU x {hours} h{platform}",
            amount(regular_tasks, "task", "tasks"),
            figure(vcpu)
        ),
        regular_tasks * vcpu * hours,
        "vCPU-h",
        vcpu_price,
    ));
    out.push(line(
        "fargate_memory",
        "Fargate memory",
        format!(
            "{} x {} GB x {hours} h",
            amount(regular_tasks, "task", "tasks"),
            figure(gb)
        ),
        regular_tasks * gb * hours,
        "GB-h",
        gb_price,
    ));
    if service.spot.is_some() {
        let (vcpu_price, gb_price) = if arm {
            (
                prices.fargate_arm_spot_vcpu_hour,
                prices.fargate_arm_spot_gb_hour,
            )
        } else {
            (prices.fargate_spot_vcpu_hour, prices.fargate_spot_gb_hour)
        };
        out.push(line(
            "fargate_spot_vcpu",
            "Fargate Spot vCPU",
            format!(
                "{} x {} vCPU x {hours} h{platform}",
                amount(spot_tasks, "task", "tasks"),
                figure(vcpu)
            ),
            spot_tasks * vcpu * hours,
            "vCPU-h",
            vcpu_price,
        ));
        out.push(line(
            "fargate_spot_memory",
            "Fargate Spot memory",
            format!(
                "{} x {} GB x {hours} h",
                amount(spot_tasks, "task", "tasks"),
                figure(gb)
            ),
            spot_tasks * gb * hours,
            "GB-h",
            gb_price,
        ));
    }
    if let Some(storage) = service
        .ephemeral_storage_gib
        .filter(|s| *s > FREE_STORAGE_GB)
    {
        let extra = storage - FREE_STORAGE_GB;
        out.push(line(
            "fargate_storage",
            "Fargate storage over 20 GB",
            format!(
                "{} x {extra} GB x {hours} h",
                plural(traffic.tasks, "task", "tasks")
            ),
            tasks * f64::from(extra) * hours,
            "GB-h",
            prices.fargate_storage_gb_hour,
        ));
    }
    out
}

/// The GB a month of traffic through the interface endpoints above which they cost less
/// than `nat_gateways` NAT gateways carrying the same traffic and the assumed image layers
/// (free through the S3 gateway endpoint, charged through a NAT gateway). `Some(0)` when the
/// endpoints always cost less, `None` when they never do.
fn crossover(
    deployment: &Deployment,
    prices: &RegionPrices,
    traffic: &Assumptions,
    nat_gateways: u32,
) -> Option<f64> {
    let endpoints = endpoint_services(deployment) as f64;
    let endpoints_fixed =
        endpoints * f64::from(zones(deployment)) * traffic.hours * prices.endpoint_hour;
    let nat_fixed =
        f64::from(nat_gateways) * traffic.hours * (prices.nat_hour + prices.public_ipv4_hour)
            + traffic.image_gb * prices.nat_gb;
    let gap = endpoints_fixed - nat_fixed;
    if gap <= 0.0 {
        return Some(0.0);
    }
    let saved_per_gb = prices.nat_gb - prices.endpoint_gb;
    (saved_per_gb > 0.0).then(|| gap / saved_per_gb)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::prices::PriceTable;

    /// The original design's env file, `extra` added under `[service]`.
    fn deployment(extra: &str) -> Deployment {
        let anchor = r#"health_check_path = "/actuator/health""#;
        let env1 = include_str!("../../config/env1.toml");
        assert!(env1.contains(anchor));
        let text = env1.replacen(anchor, &format!("{anchor}\n{extra}"), 1);
        crate::config::parse(std::path::Path::new("env1.toml"), &text, None).expect("valid env")
    }

    fn ireland() -> RegionPrices {
        PriceTable::shipped()
            .expect("table")
            .region("eu-west-1")
            .expect("eu-west-1")
            .clone()
    }

    fn monthly(design: &DesignEstimate, key: &str) -> f64 {
        design
            .lines
            .iter()
            .find(|l| l.key == key)
            .map_or_else(|| panic!("no line {key} in {}", design.name), |l| l.monthly)
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6
    }

    #[test]
    fn every_line_is_in_the_listed_order() {
        let d = deployment("spot = { base = 1, weight = 3 }\nephemeral_storage_gib = 50");
        let e = estimate(&d, &ireland(), &Assumptions::for_deployment(&d));
        for design in &e.designs {
            let ranks: Vec<usize> = design
                .lines
                .iter()
                .map(|l| {
                    LINE_KEYS
                        .iter()
                        .position(|k| *k == l.key)
                        .unwrap_or_else(|| panic!("{} is not in LINE_KEYS", l.key))
                })
                .collect();
            assert!(
                ranks.windows(2).all(|w| w[0] < w[1]),
                "{}: {ranks:?}",
                design.name
            );
        }
    }

    #[test]
    fn spot_tasks_follow_the_capacity_provider_strategy() {
        // 5 tasks, base 1, weight 3: 1 regular, then of the other 4, 1 regular and 3 Spot.
        let d = deployment("spot = { base = 1, weight = 3 }");
        let a = Assumptions {
            tasks: 5,
            ..Assumptions::for_deployment(&d)
        };
        let e = estimate(&d, &ireland(), &a);
        let built = &e.designs[0];
        assert!(close(monthly(built, "fargate_vcpu"), 2.0 * 730.0 * 0.04048));
        assert!(close(
            monthly(built, "fargate_spot_vcpu"),
            3.0 * 730.0 * 0.012144
        ));
        assert!(close(
            monthly(built, "fargate_spot_memory"),
            3.0 * 2.0 * 730.0 * 0.0013335
        ));
    }

    #[test]
    fn graviton_and_extra_storage_use_their_own_prices() {
        let d = deployment("cpu_architecture = \"arm64\"\nephemeral_storage_gib = 50");
        let e = estimate(&d, &ireland(), &Assumptions::for_deployment(&d));
        let built = &e.designs[0];
        assert!(close(monthly(built, "fargate_vcpu"), 730.0 * 0.03238));
        assert!(close(
            monthly(built, "fargate_memory"),
            2.0 * 730.0 * 0.00356
        ));
        assert!(close(
            monthly(built, "fargate_storage"),
            30.0 * 730.0 * 0.000111
        ));
    }

    #[test]
    fn each_design_has_its_own_lines_and_only_those() {
        let d = deployment("");
        let e = estimate(&d, &ireland(), &Assumptions::for_deployment(&d));
        let keys = |name: &str| -> Vec<&str> {
            e.designs
                .iter()
                .find(|x| x.name == name)
                .expect("design")
                .lines
                .iter()
                .map(|l| l.key)
                .collect()
        };
        assert!(keys("nlb").contains(&"endpoint_hours") && !keys("nlb").contains(&"nat_hours"));
        assert!(keys("alb").contains(&"alb_capacity") && !keys("alb").contains(&"nlb_hours"));
        assert!(keys("nat").contains(&"nat_data") && !keys("nat").contains(&"endpoint_hours"));
        assert!(!keys("public").contains(&"api_requests"));
        assert!(keys("public").contains(&"public_ipv4"));
        // A public ALB node per zone and a public IP per task: 3 addresses all month.
        let public = e
            .designs
            .iter()
            .find(|x| x.name == "public")
            .expect("public");
        assert!(close(monthly(public, "public_ipv4"), 3.0 * 730.0 * 0.005));
        assert!(e.designs[0].this_stack && e.designs.iter().filter(|x| x.this_stack).count() == 1);
    }

    #[test]
    fn a_stack_with_an_alb_is_priced_as_the_alb_design_and_the_nlb_is_an_alternative() {
        let mut d = deployment("");
        let nlb = estimate(&d, &ireland(), &Assumptions::for_deployment(&d));
        d.network.load_balancer = crate::config::LoadBalancerKind::Alb;
        let alb = estimate(&d, &ireland(), &Assumptions::for_deployment(&d));
        let names = |e: &Estimate| e.designs.iter().map(|x| x.name).collect::<Vec<_>>();
        assert_eq!(names(&nlb), ["nlb", "alb", "nat", "public"]);
        assert_eq!(names(&alb), ["alb", "nlb", "nat", "public"]);
        assert!(alb.designs[0].this_stack && !alb.designs[1].this_stack);
        assert!(close(alb.designs[0].total, nlb.designs[1].total));
        d.network.egress = crate::config::Egress::Nat;
        let nat = estimate(&d, &ireland(), &Assumptions::for_deployment(&d));
        assert_eq!(names(&nat), ["nat", "nlb", "alb", "public"]);
        assert!(nat.designs[0].this_stack);
        // The alternatives are priced alike whatever this stack is: endpoints included.
        assert!(close(nat.designs[1].total, nlb.designs[0].total));
        d.network.egress = crate::config::Egress::PublicIp;
        d.network.entry = crate::config::Entry::PublicLoadBalancer;
        let public = estimate(&d, &ireland(), &Assumptions::for_deployment(&d));
        assert_eq!(names(&public), ["public", "nlb", "alb", "nat"]);
        assert!(public.designs[0].this_stack);
        assert!(close(public.designs[1].total, nlb.designs[0].total));
        assert!(close(public.designs[0].total, nlb.designs[3].total));
    }

    #[test]
    fn more_endpoints_cost_more_hours_and_move_the_crossover() {
        let plain = deployment("");
        let more = {
            let mut d = plain.clone();
            d.network.endpoints = vec!["sqs".to_string()];
            d
        };
        let a = Assumptions::for_deployment(&plain);
        let e = estimate(&more, &ireland(), &a);
        assert!(close(
            monthly(&e.designs[0], "endpoint_hours"),
            4.0 * 2.0 * 730.0 * 0.011
        ));
        // Shared NAT: (64.24 - 38.69 - 0.24) / 0.038 GB.
        let shared = e.endpoints_against_nat[0]
            .endpoints_cheaper_above_gb
            .expect("a crossover");
        assert!(close(shared, (64.24 - 730.0 * 0.053 - 5.0 * 0.048) / 0.038));
    }

    #[test]
    fn the_crossover_says_always_or_never_at_the_edges() {
        let d = deployment("");
        let a = Assumptions::for_deployment(&d);
        let mut prices = ireland();
        prices.endpoint_hour = 0.0;
        assert_eq!(crossover(&d, &prices, &a, 1), Some(0.0));
        let mut prices = ireland();
        prices.nat_gb = prices.endpoint_gb;
        assert_eq!(crossover(&d, &prices, &a, 1), None);
    }
}
