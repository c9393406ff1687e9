//! `cost --live`: the region's prices read from the AWS Price List API (`GetProducts`, served
//! from us-east-1 for every region) instead of the table shipped with gwfargate.
//!
//! Each price is a product of one service in the region, found by its usage type (AWS puts a
//! region code before it, `EUW1-Fargate-GB-Hours`, except for some of us-east-1's) and, for
//! the load balancers, the operation that tells an NLB's from an ALB's; its on-demand terms
//! give the price (the first tier that is not free, or every tier for API Gateway's requests).
//! Fargate Spot's price moves with demand (a list figure is a snapshot): it keeps the table's
//! discount off the on-demand price read. A usage type two products of the region price
//! differently is not guessed at: it is kept from the table, as a missing one is.

use std::collections::BTreeMap;

use anyhow::Context as _;
use aws_sdk_pricing::types::{Filter, FilterType};
use serde_json::Value;

use super::prices::{RegionPrices, Tier};
use crate::aws::AwsResultExt as _;
use crate::error::UsageError;

/// One price the Price List API is asked for.
struct Wanted {
    /// The field of [`RegionPrices`] it sets.
    field: &'static str,
    /// The products it is among.
    among: Products,
    /// Its usage type, without the region code.
    usage: &'static str,
    /// Its operation, where the usage type is shared (an NLB's and an ALB's hours).
    operation: Option<&'static str>,
}

/// A set of products one paginated `GetProducts` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Products {
    /// Fargate's (AmazonECS in the region).
    Fargate,
    /// Elastic Load Balancing's (AWSELB in the region).
    LoadBalancers,
    /// NAT gateways (AmazonEC2's "NAT Gateway" family in the region: EC2 has too many
    /// products to read whole).
    NatGateways,
    /// Amazon VPC's: endpoints and public IPv4 addresses.
    Vpc,
    /// CloudWatch's: log ingestion and storage.
    CloudWatch,
    /// API Gateway's.
    ApiGateway,
    /// Data transfer out of the region to the internet.
    TransferOut,
}

impl Products {
    fn service(self) -> &'static str {
        match self {
            Products::Fargate => "AmazonECS",
            Products::LoadBalancers => "AWSELB",
            Products::NatGateways => "AmazonEC2",
            Products::Vpc => "AmazonVPC",
            Products::CloudWatch => "AmazonCloudWatch",
            Products::ApiGateway => "AmazonApiGateway",
            Products::TransferOut => "AWSDataTransfer",
        }
    }

    /// The `TERM_MATCH` filters (field, value) that narrow the service to the region.
    fn filters(self, region: &str) -> Vec<(&'static str, String)> {
        match self {
            Products::NatGateways => vec![
                ("regionCode", region.to_string()),
                ("productFamily", "NAT Gateway".to_string()),
            ],
            Products::TransferOut => vec![
                ("fromRegionCode", region.to_string()),
                ("transferType", "AWS Outbound".to_string()),
            ],
            _ => vec![("regionCode", region.to_string())],
        }
    }
}

const fn wanted(field: &'static str, among: Products, usage: &'static str) -> Wanted {
    Wanted {
        field,
        among,
        usage,
        operation: None,
    }
}

const fn by_operation(field: &'static str, usage: &'static str, operation: &'static str) -> Wanted {
    Wanted {
        field,
        among: Products::LoadBalancers,
        usage,
        operation: Some(operation),
    }
}

/// Every price read, with where it is.
const WANTED: [Wanted; 18] = [
    wanted(
        "fargate_vcpu_hour",
        Products::Fargate,
        "Fargate-vCPU-Hours:perCPU",
    ),
    wanted("fargate_gb_hour", Products::Fargate, "Fargate-GB-Hours"),
    wanted(
        "fargate_arm_vcpu_hour",
        Products::Fargate,
        "Fargate-ARM-vCPU-Hours:perCPU",
    ),
    wanted(
        "fargate_arm_gb_hour",
        Products::Fargate,
        "Fargate-ARM-GB-Hours",
    ),
    wanted(
        "fargate_storage_gb_hour",
        Products::Fargate,
        "Fargate-EphemeralStorage-GB-Hours",
    ),
    by_operation("nlb_hour", "LoadBalancerUsage", "LoadBalancing:Network"),
    by_operation("nlcu_hour", "LCUUsage", "LoadBalancing:Network"),
    by_operation("alb_hour", "LoadBalancerUsage", "LoadBalancing:Application"),
    by_operation("lcu_hour", "LCUUsage", "LoadBalancing:Application"),
    wanted("nat_hour", Products::NatGateways, "NatGateway-Hours"),
    wanted("nat_gb", Products::NatGateways, "NatGateway-Bytes"),
    wanted("endpoint_hour", Products::Vpc, "VpcEndpoint-Hours"),
    wanted("endpoint_gb", Products::Vpc, "VpcEndpoint-Bytes"),
    wanted("public_ipv4_hour", Products::Vpc, "PublicIPv4:InUseAddress"),
    wanted(
        "logs_ingest_gb",
        Products::CloudWatch,
        "DataProcessing-Bytes",
    ),
    wanted(
        "logs_store_gb_month",
        Products::CloudWatch,
        "TimedStorage-ByteHrs",
    ),
    wanted(
        "transfer_out_gb",
        Products::TransferOut,
        "DataTransfer-Out-Bytes",
    ),
    wanted(
        "api_rest_million",
        Products::ApiGateway,
        "ApiGatewayRequest",
    ),
];

/// The Fargate Spot prices, which follow the on-demand ones they discount.
const SPOT: [(&str, &str); 4] = [
    ("fargate_spot_vcpu_hour", "fargate_vcpu_hour"),
    ("fargate_spot_gb_hour", "fargate_gb_hour"),
    ("fargate_arm_spot_vcpu_hour", "fargate_arm_vcpu_hour"),
    ("fargate_arm_spot_gb_hour", "fargate_arm_gb_hour"),
];

/// The Spot discount assumed without a table to take it from (the shipped table's 70%).
const SPOT_SHARE: f64 = 0.3;

/// The region's prices as read, and what was not read.
#[derive(Debug, Clone)]
pub struct LivePrices {
    /// Every price: read, or kept from the table.
    pub prices: RegionPrices,
    /// The prices the Price List API did not have, kept from the table.
    pub kept: Vec<&'static str>,
}

/// Reads `region`'s prices with `client` (of us-east-1). A price the API does not have is kept
/// from `table` (the shipped table's region, if it has one); without it, that is an error.
pub async fn read(
    client: &aws_sdk_pricing::Client,
    region: &str,
    table: Option<&RegionPrices>,
) -> anyhow::Result<LivePrices> {
    let mut groups: BTreeMap<Products, Vec<&Wanted>> = BTreeMap::new();
    for w in &WANTED {
        groups.entry(w.among).or_default().push(w);
    }
    let mut found: BTreeMap<&'static str, Vec<Dimension>> = BTreeMap::new();
    let mut location = None;
    for (products, wanted) in groups {
        let documents = products_of(client, products, region).await?;
        location = location.or_else(|| {
            documents.iter().find_map(|d| {
                d["product"]["attributes"]["location"]
                    .as_str()
                    .map(str::to_string)
            })
        });
        for w in wanted {
            if let Some(dimensions) = pick(&documents, w) {
                found.insert(w.field, dimensions);
            }
        }
    }
    let mut live = assemble(region, &found, table)?;
    if live.prices.name.is_empty() {
        live.prices.name = location.unwrap_or_else(|| region.to_string());
    }
    Ok(live)
}

/// Every product of `products` in `region`, page by page.
async fn products_of(
    client: &aws_sdk_pricing::Client,
    products: Products,
    region: &str,
) -> anyhow::Result<Vec<Value>> {
    let service = products.service();
    let mut request = client
        .get_products()
        .service_code(service)
        .format_version("aws_v1");
    for (field, value) in products.filters(region) {
        request = request.filters(
            Filter::builder()
                .r#type(FilterType::TermMatch)
                .field(field)
                .value(value)
                .build()?,
        );
    }
    let mut pages = request.into_paginator().send();
    let mut documents = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.aws(|| {
            format!(
                "reading {service}'s prices in {region} from the AWS Price List API \
                 (pricing:GetProducts, in us-east-1); without --live, `cost` uses the table \
                 shipped with gwfargate"
            )
        })?;
        for text in page.price_list() {
            documents.push(
                serde_json::from_str(text)
                    .with_context(|| format!("a product of {service} is not JSON: {text}"))?,
            );
        }
    }
    Ok(documents)
}

/// One price dimension of an on-demand term: the range of usage it covers and its USD price
/// per unit.
#[derive(Debug, Clone, PartialEq)]
struct Dimension {
    begin: f64,
    end: Option<f64>,
    usd: f64,
}

/// The price of `w` among `documents`: that of the one product it names, or of several that
/// agree; none when they disagree.
fn pick(documents: &[Value], w: &Wanted) -> Option<Vec<Dimension>> {
    let mut matches: Vec<Vec<Dimension>> = documents.iter().filter_map(|d| priced(d, w)).collect();
    matches.dedup();
    match matches.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    }
}

/// The on-demand dimensions of `document` when it is the product `w` names.
fn priced(document: &Value, w: &Wanted) -> Option<Vec<Dimension>> {
    let attributes = &document["product"]["attributes"];
    let usage = attributes["usagetype"].as_str()?;
    if !same_usage(usage, w.usage) {
        return None;
    }
    if let Some(operation) = w.operation
        && attributes["operation"].as_str() != Some(operation)
    {
        return None;
    }
    let number = |v: &Value| v.as_str().and_then(|s| s.parse::<f64>().ok());
    let mut dimensions: Vec<Dimension> = document["terms"]["OnDemand"]
        .as_object()?
        .values()
        .filter_map(|term| term["priceDimensions"].as_object())
        .flat_map(|dimensions| dimensions.values())
        .filter_map(|d| {
            Some(Dimension {
                begin: number(&d["beginRange"]).unwrap_or(0.0),
                // "Inf" parses as infinity: an open end.
                end: number(&d["endRange"]).filter(|end| end.is_finite()),
                usd: number(&d["pricePerUnit"]["USD"])?,
            })
        })
        .collect();
    dimensions.sort_by(|a, b| a.begin.total_cmp(&b.begin));
    (!dimensions.is_empty()).then_some(dimensions)
}

/// Whether a product's usage type is `wanted` in some region: `wanted` itself (some of
/// us-east-1's), or `wanted` after a region code (`EUW1-`, `USE1-`, the older `EU-`). Other
/// prefixes name other products (`TS-LoadBalancerUsage`: an ALB's trust store).
fn same_usage(usage: &str, wanted: &str) -> bool {
    if usage == wanted {
        return true;
    }
    usage.split_once('-').is_some_and(|(prefix, rest)| {
        rest == wanted
            && (2..=5).contains(&prefix.len())
            && prefix
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            && (prefix.chars().any(|c| c.is_ascii_digit()) || prefix == "EU")
    })
}

/// The region's prices from what was found, the rest from `table`.
fn assemble(
    region: &str,
    found: &BTreeMap<&'static str, Vec<Dimension>>,
    table: Option<&RegionPrices>,
) -> anyhow::Result<LivePrices> {
    if found.is_empty() {
        // Nothing at all is no price list of this region, not a list that lacks a few.
        anyhow::bail!(
            "the AWS Price List API has no prices gwfargate reads for {region}; without \
             --live, `cost` uses the table shipped with gwfargate"
        );
    }
    let missing: Vec<&'static str> = WANTED
        .iter()
        .map(|w| w.field)
        .filter(|f| !found.contains_key(f))
        .collect();
    let Some(table) = table else {
        if !missing.is_empty() {
            return Err(UsageError(format!(
                "the AWS Price List API has no {} in {region}, and the shipped table has no \
                 {region} to take them from: pass --prices FILE with a table for {region} \
                 instead of --live",
                missing.join(", ")
            ))
            .into());
        }
        // Every price found but Spot's, which takes the assumed discount.
        return assemble(region, found, Some(&RegionPrices::default()));
    };
    let mut prices = table.clone();
    for (field, dimensions) in found {
        if *field == "api_rest_million" {
            prices.api_rest_million = tiers(dimensions);
        } else {
            // The first tier AWS charges for (a free one, where there is one, is the
            // account's allowance, which the estimate does not count).
            let usd = dimensions
                .iter()
                .find(|d| d.usd > 0.0)
                .map_or(0.0, |d| d.usd);
            set(&mut prices, field, usd);
        }
    }
    for (spot, on_demand) in SPOT {
        let share = match (get(table, spot), get(table, on_demand)) {
            (Some(s), Some(o)) if o > 0.0 => s / o,
            _ => SPOT_SHARE,
        };
        let live = get(&prices, on_demand).unwrap_or(0.0);
        set(&mut prices, spot, live * share);
    }
    Ok(LivePrices {
        prices,
        kept: missing,
    })
}

/// API Gateway's request tiers: a price per request over ranges of requests, as a price per
/// million over ranges of millions.
fn tiers(dimensions: &[Dimension]) -> Vec<Tier> {
    let mut tiers: Vec<Tier> = dimensions
        .iter()
        .map(|d| Tier {
            up_to_million: d.end.map(|end| end / 1e6),
            price: d.usd * 1e6,
        })
        .collect();
    if let Some(last) = tiers.last_mut() {
        last.up_to_million = None;
    }
    tiers
}

fn get(prices: &RegionPrices, field: &str) -> Option<f64> {
    serde_json::to_value(prices).ok()?[field].as_f64()
}

fn set(prices: &mut RegionPrices, field: &str, usd: f64) {
    let slot = match field {
        "fargate_vcpu_hour" => &mut prices.fargate_vcpu_hour,
        "fargate_gb_hour" => &mut prices.fargate_gb_hour,
        "fargate_arm_vcpu_hour" => &mut prices.fargate_arm_vcpu_hour,
        "fargate_arm_gb_hour" => &mut prices.fargate_arm_gb_hour,
        "fargate_spot_vcpu_hour" => &mut prices.fargate_spot_vcpu_hour,
        "fargate_spot_gb_hour" => &mut prices.fargate_spot_gb_hour,
        "fargate_arm_spot_vcpu_hour" => &mut prices.fargate_arm_spot_vcpu_hour,
        "fargate_arm_spot_gb_hour" => &mut prices.fargate_arm_spot_gb_hour,
        "fargate_storage_gb_hour" => &mut prices.fargate_storage_gb_hour,
        "nlb_hour" => &mut prices.nlb_hour,
        "nlcu_hour" => &mut prices.nlcu_hour,
        "alb_hour" => &mut prices.alb_hour,
        "lcu_hour" => &mut prices.lcu_hour,
        "nat_hour" => &mut prices.nat_hour,
        "nat_gb" => &mut prices.nat_gb,
        "endpoint_hour" => &mut prices.endpoint_hour,
        "endpoint_gb" => &mut prices.endpoint_gb,
        "public_ipv4_hour" => &mut prices.public_ipv4_hour,
        "logs_ingest_gb" => &mut prices.logs_ingest_gb,
        "logs_store_gb_month" => &mut prices.logs_store_gb_month,
        "transfer_out_gb" => &mut prices.transfer_out_gb,
        _ => return,
    };
    *slot = usd;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product(usage: &str, operation: &str, dimensions: &[(&str, &str, &str)]) -> Value {
        let dims: serde_json::Map<String, Value> = dimensions
            .iter()
            .enumerate()
            .map(|(i, (begin, end, usd))| {
                (
                    format!("SKU.TERM.{i}"),
                    serde_json::json!({"beginRange": begin, "endRange": end,
                                       "pricePerUnit": {"USD": usd}, "unit": "Hrs"}),
                )
            })
            .collect();
        serde_json::json!({
            "product": {"productFamily": "x", "sku": "SKU",
                        "attributes": {"usagetype": usage, "operation": operation,
                                       "regionCode": "eu-west-1", "location": "EU (Ireland)"}},
            "terms": {"OnDemand": {"SKU.TERM": {"priceDimensions": dims}}}
        })
    }

    fn field(name: &str) -> &'static Wanted {
        WANTED.iter().find(|w| w.field == name).expect(name)
    }

    #[test]
    fn a_usage_type_matches_after_a_region_code_only() {
        assert!(same_usage("Fargate-GB-Hours", "Fargate-GB-Hours"));
        assert!(same_usage("EUW1-Fargate-GB-Hours", "Fargate-GB-Hours"));
        assert!(same_usage("EU-NatGateway-Hours", "NatGateway-Hours"));
        assert!(same_usage("APN1-LCUUsage", "LCUUsage"));
        for other in [
            "TS-LoadBalancerUsage",
            "EUW1-TS-LoadBalancerUsage",
            "EUW1-Fargate-ARM-GB-Hours",
            "EUW1-SpotUsage:Fargate-GB-Hours",
            "euw1-Fargate-GB-Hours",
        ] {
            let wanted = other
                .rsplit_once("TS-")
                .map_or("Fargate-GB-Hours", |_| "LoadBalancerUsage");
            assert!(!same_usage(other, wanted), "{other}");
        }
    }

    #[test]
    fn a_product_is_priced_by_usage_and_operation_from_its_on_demand_dimensions() {
        let alb = product(
            "EUW1-LoadBalancerUsage",
            "LoadBalancing:Application",
            &[("0", "Inf", "0.0252000000")],
        );
        assert_eq!(
            priced(&alb, field("alb_hour")),
            Some(vec![Dimension {
                begin: 0.0,
                end: None,
                usd: 0.0252
            }])
        );
        assert_eq!(priced(&alb, field("nlb_hour")), None, "an NLB's operation");
        assert_eq!(priced(&alb, field("lcu_hour")), None, "another usage");
        let same = product(
            "EU-LoadBalancerUsage",
            "LoadBalancing:Application",
            &[("0", "Inf", "0.0252000000")],
        );
        let other = product(
            "EU-LoadBalancerUsage",
            "LoadBalancing:Application",
            &[("0", "Inf", "0.0300000000")],
        );
        let w = field("alb_hour");
        assert!(pick(&[alb.clone(), same], w).is_some(), "two that agree");
        assert_eq!(
            pick(&[alb, other], w),
            None,
            "two that disagree: not guessed"
        );
    }

    #[test]
    fn found_prices_replace_the_tables_the_rest_is_kept_and_spot_keeps_its_discount() {
        let table = super::super::prices::PriceTable::shipped()
            .expect("shipped")
            .regions["eu-west-1"]
            .clone();
        let mut found = BTreeMap::new();
        let one = |usd: f64| {
            vec![Dimension {
                begin: 0.0,
                end: None,
                usd,
            }]
        };
        found.insert("fargate_vcpu_hour", one(0.05));
        // A free first tier is the account's allowance: the charged tier is the price.
        found.insert(
            "transfer_out_gb",
            vec![
                Dimension {
                    begin: 0.0,
                    end: Some(100.0),
                    usd: 0.0,
                },
                Dimension {
                    begin: 100.0,
                    end: Some(10240.0),
                    usd: 0.09,
                },
            ],
        );
        found.insert(
            "api_rest_million",
            vec![
                Dimension {
                    begin: 0.0,
                    end: Some(333e6),
                    usd: 0.0000037,
                },
                Dimension {
                    begin: 333e6,
                    end: None,
                    usd: 0.0000031,
                },
            ],
        );
        let live = assemble("eu-west-1", &found, Some(&table)).expect("with a table");
        assert_eq!(live.prices.fargate_vcpu_hour, 0.05);
        assert_eq!(live.prices.transfer_out_gb, 0.09);
        assert_eq!(live.prices.nlb_hour, table.nlb_hour, "kept");
        assert!(live.kept.contains(&"nlb_hour") && !live.kept.contains(&"fargate_vcpu_hour"));
        let share = table.fargate_spot_vcpu_hour / table.fargate_vcpu_hour;
        assert!((live.prices.fargate_spot_vcpu_hour - 0.05 * share).abs() < 1e-12);
        assert_eq!(live.prices.api_rest_million.len(), 2);
        assert!((live.prices.api_rest_million[0].price - 3.7).abs() < 1e-9);
        assert_eq!(live.prices.api_rest_million[0].up_to_million, Some(333.0));
        assert_eq!(live.prices.api_rest_million[1].up_to_million, None);

        let err = assemble("ap-east-2", &found, None).expect_err("nothing to keep from");
        assert!(err.to_string().contains("nlb_hour"), "{err}");
        let everything: BTreeMap<_, _> = WANTED.iter().map(|w| (w.field, one(1.0))).collect();
        let read = assemble("ap-east-2", &everything, None).expect("all found");
        assert!(read.kept.is_empty());
        assert!((read.prices.fargate_spot_gb_hour - SPOT_SHARE).abs() < 1e-12);
    }
}
