//! `gwfargate cost`: what the env file's stack costs a month, beside the original design's
//! alternatives, from a price table; with `--live`, from the AWS Price List API, and nothing
//! else is read from AWS.

use serde::Serialize;

use crate::cli::{CostArgs, Global};
use crate::cost::estimate::{Assumptions, Estimate, estimate};
use crate::cost::prices::PriceTable;
use crate::ui::fit::Width;
use crate::ui::output;

/// The stable JSON document of `cost --json` (format 1).
#[derive(Debug, Serialize)]
pub struct Document {
    /// Version of this document's shape.
    pub format_version: u32,
    /// The deployment's name.
    pub deployment: String,
    /// Its environment.
    pub environment: String,
    /// Where the prices come from.
    pub prices: PricesDoc,
    /// The estimate itself.
    #[serde(flatten)]
    pub estimate: Estimate,
}

/// The price table's provenance.
#[derive(Debug, Serialize)]
pub struct PricesDoc {
    /// When its figures were taken.
    pub as_of: String,
    /// Where from.
    pub source: String,
    /// The file given with `--prices`, if one was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Whether the prices were read from the AWS Price List API (`--live`).
    pub live: bool,
    /// With `--live`, the prices the API did not have, taken from the shipped table.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kept_from_table: Vec<String>,
}

/// Estimates and prints; the env file and the price table (or the Price List API) are the
/// only things read.
pub async fn run(args: &CostArgs, global: &Global) -> anyhow::Result<()> {
    let deployment = crate::config::load(&args.env, global.region.as_deref())?;
    let table = match &args.prices {
        Some(path) => PriceTable::from_file(path)?,
        None => PriceTable::shipped()?,
    };
    let live = match args.live {
        true => Some(live_prices(&deployment.region, &table, global).await?),
        false => None,
    };
    let prices = match &live {
        Some(live) => &live.prices,
        None => table.region(&deployment.region)?,
    };
    let defaults = Assumptions::for_deployment(&deployment);
    let assumptions = Assumptions {
        tasks: args.tasks.unwrap_or(defaults.tasks),
        requests_per_month: args
            .requests_per_month
            .unwrap_or(defaults.requests_per_month),
        gb_out: args.gb_out.unwrap_or(defaults.gb_out),
        log_gb: args.log_gb.unwrap_or(defaults.log_gb),
        image_gb: args.image_gb.unwrap_or(defaults.image_gb),
        ..defaults
    };
    let estimate = estimate(&deployment, prices, &assumptions);
    let provenance = match &live {
        Some(live) => PricesDoc {
            as_of: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
                [..10]
                .to_string(),
            source: "the AWS Price List API (GetProducts)".to_string(),
            file: None,
            live: true,
            kept_from_table: live.kept.iter().map(|k| k.to_string()).collect(),
        },
        None => PricesDoc {
            as_of: table.as_of.clone(),
            source: table.source.clone(),
            file: args.prices.as_ref().map(|p| p.display().to_string()),
            live: false,
            kept_from_table: Vec::new(),
        },
    };
    if args.json {
        let doc = Document {
            format_version: 1,
            deployment: deployment.name.clone(),
            environment: deployment.environment.clone(),
            prices: provenance,
            estimate,
        };
        output::print(&serde_json::to_string_pretty(&doc)?);
    } else {
        let from = provenance
            .file
            .as_ref()
            .map_or_else(String::new, |f| format!(" (from {f})"));
        let prices = match provenance.live {
            true => {
                let kept = match provenance.kept_from_table.is_empty() {
                    true => String::new(),
                    false => format!(
                        "; not there, so from the shipped table ({}, as of {}): {}",
                        table.source,
                        table.as_of,
                        provenance.kept_from_table.join(", ")
                    ),
                };
                format!(
                    "{}, read {}{kept}. Fargate Spot's discount is the table's.",
                    provenance.source, provenance.as_of
                )
            }
            false => format!(
                "{}, as of {}{from}. List prices change: check them before you budget.",
                provenance.source, provenance.as_of
            ),
        };
        output::print(
            crate::ui::cost::cost_report(
                &estimate,
                &deployment.name,
                &deployment.environment,
                &prices,
                Width::of_stdout(args.wide),
            )
            .trim_end(),
        );
    }
    Ok(())
}

/// The region's prices from the Price List API, which AWS serves from us-east-1 for every
/// region; what it lacks comes from `table`.
async fn live_prices(
    region: &str,
    table: &PriceTable,
    global: &Global,
) -> anyhow::Result<crate::cost::live::LivePrices> {
    // The Price List API is the commercial partition's, in us-east-1.
    if crate::config::partition(region) != "aws" {
        return Err(crate::error::UsageError(format!(
            "--live reads the AWS Price List API, which does not price {region}: run `cost` \
             without --live, or with --prices FILE"
        ))
        .into());
    }
    if let Some(profile) = &global.profile {
        crate::aws::clients::check_profile(profile).await?;
    }
    let sdk = crate::aws::clients::sdk_config(&crate::aws::clients::Connection {
        region: "us-east-1".to_string(),
        profile: global.profile.clone(),
        endpoint_url: global.endpoint_url.clone(),
    })
    .await;
    let client = aws_sdk_pricing::Client::new(&sdk);
    crate::cost::live::read(&client, region, table.regions.get(region)).await
}
