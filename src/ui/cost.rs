//! The cost estimate for people: the designs side by side, what each is, the built one line
//! by line, the assumptions, and where the endpoints and a NAT gateway cost the same.

use super::fit::{Give, Width, column, layout, prose};
use crate::cost::estimate::{Crossover, DesignEstimate, Estimate, LINE_KEYS};

/// Each figure's width: dollars right-aligned, so a column's decimals line up.
const MONEY: usize = 8;

fn cents(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn money(x: f64) -> String {
    format!("{x:>MONEY$.2}")
}

/// A unit price: as many decimals as list prices have (Fargate Spot's GB-hour has seven),
/// no trailing zeros.
fn price(x: f64) -> String {
    let text = format!("{x:.7}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A design's column header, right-aligned over its figures (`MONEY` columns wide); the built
/// one is starred.
fn header(design: &DesignEstimate) -> &'static str {
    match (design.name, design.this_stack) {
        ("nlb", true) => "    nlb*",
        ("nlb", false) => "     nlb",
        ("alb", true) => "    alb*",
        ("alb", false) => "     alb",
        ("nat", true) => "    nat*",
        ("nat", false) => "     nat",
        (_, true) => " public*",
        _ => "  public",
    }
}

/// Renders the estimate fitted to `width`. `prices` names the table's date and source.
pub fn cost_report(
    estimate: &Estimate,
    deployment: &str,
    environment: &str,
    prices: &str,
    width: Width,
) -> String {
    let mut out = format!(
        "{deployment} ({environment}) in {}, {}: a month, in USD\n",
        estimate.region, estimate.region_name
    );
    out.push_str(&prose("prices: ", prices, width));
    out.push('\n');
    out.push_str(&side_by_side(estimate, width));
    out.push('\n');
    let legend: Vec<Vec<String>> = estimate
        .designs
        .iter()
        .map(|d| {
            let mark = if d.this_stack { " (* this stack)" } else { "" };
            vec![d.name.to_string(), format!("{}{mark}", d.description)]
        })
        .collect();
    out.push_str(&layout(
        &[
            column("DESIGN", Give::Never),
            column("WHAT IT IS", Give::Wrap(30)),
        ],
        &legend,
        width,
    ));
    if let Some(built) = estimate.designs.iter().find(|d| d.this_stack) {
        out.push_str("\nthis stack, line by line:\n");
        let columns = [
            column("ITEM", Give::Never),
            column("QUANTITY", Give::Wrap(16)),
            column("PRICE", Give::Wrap(12)),
            column("   MONTH", Give::Never),
        ];
        let rows: Vec<Vec<String>> = built
            .lines
            .iter()
            .map(|l| {
                vec![
                    l.item.to_string(),
                    l.how.clone(),
                    format!("{}/{}", price(l.unit_price), l.unit),
                    money(l.monthly),
                ]
            })
            .chain([vec![
                "total".to_string(),
                String::new(),
                String::new(),
                money(built.total),
            ]])
            .collect();
        out.push_str(&layout(&columns, &rows, width));
    }
    let a = &estimate.assumptions;
    out.push('\n');
    out.push_str(&prose(
        "assumed, a month: ",
        &format!(
            "{} running {} h; {} requests; {} GB out to callers; {} GB of logs; {} GB of \
             image layers pulled. Change them with --tasks, --requests-per-month, --gb-out, \
             --log-gb, --image-gb.",
            if a.tasks == 1 {
                "1 task".to_string()
            } else {
                format!("{} tasks", a.tasks)
            },
            a.hours,
            a.requests_per_month,
            a.gb_out,
            a.log_gb,
            a.image_gb
        ),
        width,
    ));
    out.push_str(&prose(
        "not counted: ",
        &estimate.not_counted.join(", "),
        width,
    ));
    out.push_str(&prose(
        "endpoints or NAT: ",
        &crossover_sentence(&estimate.endpoints_against_nat, a.image_gb),
        width,
    ));
    out
}

/// Every line item of every design in one table, a column per design, `-` where a design
/// has no such line, and the totals.
fn side_by_side(estimate: &Estimate, width: Width) -> String {
    let items: Vec<&'static str> = LINE_KEYS
        .iter()
        .filter_map(|key| {
            estimate
                .designs
                .iter()
                .flat_map(|d| &d.lines)
                .find(|l| l.key == *key)
                .map(|l| l.item)
        })
        .collect();
    let built_total = estimate
        .designs
        .iter()
        .find(|d| d.this_stack)
        .map(|d| d.total);
    let columns: Vec<_> = std::iter::once(column("ITEM", Give::Never))
        .chain(
            estimate
                .designs
                .iter()
                .map(|d| column(header(d), Give::Never)),
        )
        .collect();
    let cell = |design: &DesignEstimate, item: &str| {
        design
            .lines
            .iter()
            .find(|l| l.item == item)
            .map_or_else(|| format!("{:>MONEY$}", "-"), |l| money(l.monthly))
    };
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|item| {
            std::iter::once(item.to_string())
                .chain(estimate.designs.iter().map(|d| cell(d, item)))
                .collect()
        })
        .chain([std::iter::once("total".to_string())
            .chain(estimate.designs.iter().map(|d| money(d.total)))
            .collect()])
        .chain(built_total.map(|built| {
            std::iter::once("against this stack".to_string())
                .chain(estimate.designs.iter().map(|d| {
                    // Cents first, so the difference is the one the totals above show.
                    let diff = cents(d.total) - cents(built);
                    if d.this_stack {
                        format!("{:>MONEY$}", "-")
                    } else {
                        format!("{diff:>+MONEY$.2}")
                    }
                }))
                .collect()
        }))
        .collect();
    layout(&columns, &rows, width)
}

/// Where the endpoints start to cost less than NAT gateways, for each count of gateways;
/// `image_gb` is the S3 traffic the figures count.
pub fn crossover_sentence(crossovers: &[Crossover], image_gb: f64) -> String {
    let parts: Vec<String> = crossovers
        .iter()
        .map(|c| {
            let against = if c.nat_gateways == 1 {
                "one shared NAT gateway".to_string()
            } else {
                format!("{} NAT gateways, one per zone", c.nat_gateways)
            };
            match c.endpoints_cheaper_above_gb {
                Some(gb) if gb <= 0.0 => {
                    format!("against {against}, the endpoints always cost less")
                }
                Some(gb) => format!(
                    "against {against}, the endpoints cost more until the tasks move {gb:.0} GB \
                     a month through them, and less above that"
                ),
                None => format!("against {against}, the endpoints never cost less"),
            }
        })
        .collect();
    format!(
        "{}. The traffic counted is what the interface endpoints would carry (logs, ECR's API, \
         other services), plus the {image_gb} GB of image layers assumed, which S3's gateway \
         endpoint carries free and a NAT gateway does not (a NAT design that keeps the free \
         gateway endpoint for them moves the point up).",
        parts.join("; ")
    )
}
