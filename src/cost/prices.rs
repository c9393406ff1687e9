//! The price table `cost` reads: the one shipped inside the binary (`prices.toml`), or one
//! the user passes with `--prices FILE` in the same shape.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::UsageError;
use crate::user_files::{self, Links};

/// The table shipped with gwfargate.
const SHIPPED: &str = include_str!("prices.toml");

/// A price table: where its figures come from, and each region's.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceTable {
    /// When the figures were taken (a year, or a date).
    pub as_of: String,
    /// Where they were taken from.
    pub source: String,
    /// Each region's prices, by region code.
    pub regions: BTreeMap<String, RegionPrices>,
}

/// One region's on-demand prices in USD. Hours are billed hours, GB are gigabytes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionPrices {
    /// The region's name, e.g. "Europe (Ireland)".
    pub name: String,
    /// Fargate, Linux on x86: per vCPU hour.
    pub fargate_vcpu_hour: f64,
    /// Fargate, Linux on x86: per GB of memory per hour.
    pub fargate_gb_hour: f64,
    /// Fargate, Linux on Graviton (arm64): per vCPU hour.
    pub fargate_arm_vcpu_hour: f64,
    /// Fargate, Linux on Graviton: per GB hour.
    pub fargate_arm_gb_hour: f64,
    /// Fargate Spot on x86: per vCPU hour (a typical figure; AWS moves it with demand).
    pub fargate_spot_vcpu_hour: f64,
    /// Fargate Spot on x86: per GB hour.
    pub fargate_spot_gb_hour: f64,
    /// Fargate Spot on Graviton: per vCPU hour.
    pub fargate_arm_spot_vcpu_hour: f64,
    /// Fargate Spot on Graviton: per GB hour.
    pub fargate_arm_spot_gb_hour: f64,
    /// Fargate ephemeral storage beyond the 20 GB every task has: per GB hour.
    pub fargate_storage_gb_hour: f64,
    /// Network Load Balancer: per hour.
    pub nlb_hour: f64,
    /// Network Load Balancer: per capacity unit (NLCU) hour.
    pub nlcu_hour: f64,
    /// Application Load Balancer: per hour.
    pub alb_hour: f64,
    /// Application Load Balancer: per capacity unit (LCU) hour.
    pub lcu_hour: f64,
    /// NAT gateway: per hour.
    pub nat_hour: f64,
    /// NAT gateway: per GB processed.
    pub nat_gb: f64,
    /// Interface VPC endpoint: per endpoint per availability zone per hour.
    pub endpoint_hour: f64,
    /// Interface VPC endpoint: per GB processed (the first petabyte's rate).
    pub endpoint_gb: f64,
    /// Public IPv4 address (an elastic IP, a load balancer node's, a task's): per hour.
    pub public_ipv4_hour: f64,
    /// CloudWatch Logs: per GB ingested.
    pub logs_ingest_gb: f64,
    /// CloudWatch Logs: per GB stored per month.
    pub logs_store_gb_month: f64,
    /// Data transfer out to the internet: per GB (the first 10 TB a month's rate).
    pub transfer_out_gb: f64,
    /// API Gateway REST APIs: per million requests, in tiers of the month's requests.
    pub api_rest_million: Vec<Tier>,
}

/// One tier of a price that falls with volume.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    /// The month's volume (in millions) up to which this price applies; none on the last tier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub up_to_million: Option<f64>,
    /// The price per million in this tier.
    pub price: f64,
}

impl RegionPrices {
    /// Each price with its name, for validation.
    fn named(&self) -> Vec<(&'static str, f64)> {
        vec![
            ("fargate_vcpu_hour", self.fargate_vcpu_hour),
            ("fargate_gb_hour", self.fargate_gb_hour),
            ("fargate_arm_vcpu_hour", self.fargate_arm_vcpu_hour),
            ("fargate_arm_gb_hour", self.fargate_arm_gb_hour),
            ("fargate_spot_vcpu_hour", self.fargate_spot_vcpu_hour),
            ("fargate_spot_gb_hour", self.fargate_spot_gb_hour),
            (
                "fargate_arm_spot_vcpu_hour",
                self.fargate_arm_spot_vcpu_hour,
            ),
            ("fargate_arm_spot_gb_hour", self.fargate_arm_spot_gb_hour),
            ("fargate_storage_gb_hour", self.fargate_storage_gb_hour),
            ("nlb_hour", self.nlb_hour),
            ("nlcu_hour", self.nlcu_hour),
            ("alb_hour", self.alb_hour),
            ("lcu_hour", self.lcu_hour),
            ("nat_hour", self.nat_hour),
            ("nat_gb", self.nat_gb),
            ("endpoint_hour", self.endpoint_hour),
            ("endpoint_gb", self.endpoint_gb),
            ("public_ipv4_hour", self.public_ipv4_hour),
            ("logs_ingest_gb", self.logs_ingest_gb),
            ("logs_store_gb_month", self.logs_store_gb_month),
            ("transfer_out_gb", self.transfer_out_gb),
        ]
    }

    /// Why these prices cannot be used, if they cannot: a negative or non-finite price, or
    /// API tiers that do not rise and end open.
    fn problem(&self) -> Option<String> {
        if let Some((name, _)) = self
            .named()
            .into_iter()
            .find(|(_, v)| !v.is_finite() || *v < 0.0)
        {
            return Some(format!("{name} must be a price of 0 or more"));
        }
        let tiers = &self.api_rest_million;
        let Some((last, rest)) = tiers.split_last() else {
            return Some("api_rest_million needs at least one tier".to_string());
        };
        if last.up_to_million.is_some() {
            return Some("api_rest_million's last tier must have no up_to_million".to_string());
        }
        let mut floor = 0.0;
        for tier in rest {
            match tier.up_to_million {
                Some(top) if top.is_finite() && top > floor => floor = top,
                _ => {
                    return Some(
                        "api_rest_million's tiers must each give an up_to_million above the \
                         previous one (all but the last)"
                            .to_string(),
                    );
                }
            }
        }
        tiers
            .iter()
            .any(|t| !t.price.is_finite() || t.price < 0.0)
            .then(|| "api_rest_million's prices must be 0 or more".to_string())
    }

    /// The price of `millions` of REST API requests in a month, tier by tier.
    pub fn api_requests(&self, millions: f64) -> f64 {
        let mut floor = 0.0;
        let mut total = 0.0;
        for tier in &self.api_rest_million {
            let top = tier.up_to_million.unwrap_or(f64::INFINITY);
            if millions > floor {
                total += (millions.min(top) - floor) * tier.price;
            }
            floor = top;
        }
        total
    }
}

impl PriceTable {
    /// The table shipped inside the binary.
    pub fn shipped() -> anyhow::Result<PriceTable> {
        PriceTable::parse(SHIPPED, "the price table shipped with gwfargate")
    }

    /// A table the user supplies (`--prices FILE`).
    pub fn from_file(path: &Path) -> anyhow::Result<PriceTable> {
        let shown = path.display();
        // A table that cannot be read is the command line's fault, as an env file's is.
        let text = user_files::read(path, user_files::ENV_FILE_LIMIT, Links::Follow)
            .map_err(|why| UsageError(format!("the price table {shown} {why}")))?
            .ok_or_else(|| {
                UsageError(format!(
                    "cannot read the price table {shown}: there is no such file"
                ))
            })?;
        PriceTable::parse(&text, &format!("the price table {shown}"))
    }

    fn parse(text: &str, what: &str) -> anyhow::Result<PriceTable> {
        let table: PriceTable = toml::from_str(text).map_err(|err| {
            UsageError(format!(
                "{what} is not a valid price table: {}\n  (its shape is gwfargate's own \
                 src/cost/prices.toml; README, \"What it costs\")",
                err.message()
            ))
        })?;
        for (region, prices) in &table.regions {
            if let Some(problem) = prices.problem() {
                return Err(UsageError(format!("{what}: region {region}: {problem}")).into());
            }
        }
        Ok(table)
    }

    /// The prices of `region`, or an error naming the regions the table has and what to do.
    pub fn region(&self, region: &str) -> anyhow::Result<&RegionPrices> {
        self.regions.get(region).ok_or_else(|| {
            let known: Vec<&str> = self.regions.keys().map(String::as_str).collect();
            UsageError(format!(
                "the price table has no prices for {region} (it has {}); pass --prices FILE \
                 with that region's prices, in the shape of the table shipped with gwfargate \
                 (README, \"What it costs\")",
                known.join(", ")
            ))
            .into()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_table_parses_and_names_its_source() {
        let table = PriceTable::shipped().expect("shipped table");
        assert_eq!(table.as_of, "2025");
        assert!(table.source.contains("aws.amazon.com"));
        for region in ["us-east-1", "us-west-2", "eu-west-1"] {
            assert!(table.region(region).is_ok(), "{region}");
        }
    }

    #[test]
    fn a_region_missing_from_the_table_is_refused_with_the_ones_it_has() {
        let table = PriceTable::shipped().expect("shipped table");
        let err = table
            .region("ap-south-1")
            .expect_err("no prices")
            .to_string();
        assert!(err.contains("no prices for ap-south-1"), "{err}");
        assert!(err.contains("eu-west-1, us-east-1, us-west-2"), "{err}");
        assert!(err.contains("--prices FILE"), "{err}");
    }

    #[test]
    fn api_requests_are_priced_tier_by_tier() {
        let table = PriceTable::shipped().expect("shipped table");
        let prices = table.region("us-east-1").expect("us-east-1");
        assert!((prices.api_requests(1.0) - 3.50).abs() < 1e-9);
        // 333 M at 3.50, then 167 M at 2.80.
        assert!((prices.api_requests(500.0) - (333.0 * 3.50 + 167.0 * 2.80)).abs() < 1e-6);
        // Beyond 20 000 M the open tier's 1.51.
        let all = 333.0 * 3.50 + 667.0 * 2.80 + 19_000.0 * 2.38 + 1_000.0 * 1.51;
        assert!((prices.api_requests(21_000.0) - all).abs() < 1e-6);
        assert_eq!(prices.api_requests(0.0), 0.0);
    }

    #[test]
    fn a_table_with_a_typo_a_negative_price_or_bad_tiers_is_refused() {
        let shipped = SHIPPED.to_string();
        let typo = shipped.replacen("nat_gb =", "nat_gbb =", 1);
        let err = PriceTable::parse(&typo, "t").expect_err("typo").to_string();
        assert!(err.contains("nat_gbb"), "{err}");
        let negative = shipped.replacen("nat_hour = 0.045", "nat_hour = -0.045", 1);
        let err = PriceTable::parse(&negative, "t")
            .expect_err("negative")
            .to_string();
        assert!(err.contains("us-east-1: nat_hour must be a price"), "{err}");
        let closed = shipped.replacen(
            "{ price = 1.51 }",
            "{ up_to_million = 9e9, price = 1.51 }",
            1,
        );
        let err = PriceTable::parse(&closed, "t")
            .expect_err("closed")
            .to_string();
        assert!(err.contains("last tier"), "{err}");
        let falling = shipped.replacen("up_to_million = 1000,", "up_to_million = 100,", 1);
        let err = PriceTable::parse(&falling, "t")
            .expect_err("falling")
            .to_string();
        assert!(err.contains("above the previous one"), "{err}");
    }
}
