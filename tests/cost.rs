//! `gwfargate cost`: the estimate of the default stack matches a hand computation in two
//! regions, the assumptions change it as they should, bad input is refused, and nothing is
//! read from AWS (the endpoint given is a closed loopback port) but, with `--live`, the
//! Price List API (the test bed's catalog).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Workspace, gwfargate, output};
use serde_json::Value;

/// A loopback port nothing listens on: any AWS call would fail.
const NOWHERE: &str = "http://127.0.0.1:9";

fn cost_json(ws: &Workspace, more: &[&str]) -> Value {
    let assert = gwfargate(ws.path(), NOWHERE)
        .args(["cost", "--env", "env1.toml", "--json"])
        .args(more)
        .assert()
        .success();
    let (stdout, _) = output(&assert);
    serde_json::from_str(&stdout).expect("cost --json is JSON")
}

fn design<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["designs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == name)
        .unwrap_or_else(|| panic!("no design {name}"))
}

fn monthly(design: &Value, key: &str) -> f64 {
    design["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["key"] == key)
        .unwrap_or_else(|| panic!("no line {key}"))["monthly"]
        .as_f64()
        .unwrap()
}

fn assert_close(actual: f64, expected: f64, what: &str) {
    assert!(
        (actual - expected).abs() < 1e-6,
        "{what}: {actual} but by hand {expected}"
    );
}

/// The default stack (1 task of 1 vCPU and 2 GB, 2 zones, 3 interface endpoints, 30 days of
/// logs) with the default traffic (1 M requests, 10 GB out, 5 GB of logs, 5 GB of image
/// layers), in Ireland, worked out by hand from the price table.
#[test]
fn the_default_stack_in_ireland_costs_what_a_hand_computation_says() {
    let ws = Workspace::new(&[]);
    let doc = cost_json(&ws, &[]);
    assert_eq!(doc["format_version"], 1);
    assert_eq!(doc["region"], "eu-west-1");
    assert_eq!(doc["prices"]["as_of"], "2025");
    let nlb = design(&doc, "nlb");
    assert_eq!(nlb["this_stack"], true);
    assert_eq!(nlb["entry"], "api_gateway");
    assert_eq!(nlb["load_balancer"], "nlb");
    assert_eq!(nlb["egress"], "endpoints");
    let by_hand = [
        ("fargate_vcpu", 1.0 * 730.0 * 0.04048),    // 29.5504
        ("fargate_memory", 2.0 * 730.0 * 0.004445), // 6.4897
        ("api_requests", 1.0 * 3.50),
        ("nlb_hours", 730.0 * 0.0252), // 18.396
        // 10 GB / 730 h = 0.0137 GB an hour outweighs 0.38 new connections a second / 800.
        ("nlb_capacity", 10.0 * 0.006),
        ("endpoint_hours", 3.0 * 2.0 * 730.0 * 0.011), // 48.18
        ("endpoint_data", 5.0 * 0.01),
        ("s3_gateway_endpoint", 0.0),
        ("logs_ingestion", 5.0 * 0.57),
        ("logs_storage", 5.0 * 0.03),
        ("transfer_out", 10.0 * 0.09),
    ];
    for (key, expected) in by_hand {
        assert_close(monthly(nlb, key), expected, key);
    }
    assert_eq!(nlb["lines"].as_array().unwrap().len(), by_hand.len());
    assert_close(nlb["total"].as_f64().unwrap(), 110.1261, "nlb total");
    // An ALB instead: 730 h at 0.0252, and 1e6 / 2 628 000 s / 25 = 0.01522 LCU for 730 h.
    let alb_capacity = 1e6 / (730.0 * 3600.0) / 25.0 * 730.0 * 0.008;
    assert_close(
        design(&doc, "alb")["total"].as_f64().unwrap(),
        110.1261 - 18.396 - 0.06 + 18.396 + alb_capacity,
        "alb total",
    );
    // A NAT gateway per zone instead of the endpoints: 2 x 730 h at 0.048, 10 GB at 0.048,
    // 2 elastic IPs at 0.005 an hour.
    assert_close(
        design(&doc, "nat")["total"].as_f64().unwrap(),
        110.1261 - 48.18 - 0.05 + 70.08 + 0.48 + 7.30,
        "nat total",
    );
    // No API Gateway, an ALB, public IPs for 2 ALB nodes and the task, nothing else.
    assert_close(
        design(&doc, "public")["total"].as_f64().unwrap(),
        29.5504 + 6.4897 + 18.396 + alb_capacity + 3.0 * 730.0 * 0.005 + 2.85 + 0.15 + 0.90,
        "public total",
    );
    // One shared NAT gateway: 730 h x (0.048 + 0.005) = 38.69 and the image layers' 0.24,
    // against 48.18 of endpoints, closed at 0.048 - 0.01 a GB.
    let crossovers = doc["endpoints_against_nat"].as_array().unwrap();
    assert_eq!(crossovers[0]["nat_gateways"], 1);
    assert_close(
        crossovers[0]["endpoints_cheaper_above_gb"]
            .as_f64()
            .unwrap(),
        (48.18 - 38.69 - 0.24) / 0.038,
        "crossover against one NAT gateway",
    );
    assert_eq!(crossovers[1]["nat_gateways"], 2);
    assert_eq!(crossovers[1]["endpoints_cheaper_above_gb"], 0.0);
}

/// The same stack in N. Virginia: cheaper load balancer, endpoints and logs.
#[test]
fn the_default_stack_in_virginia_costs_what_a_hand_computation_says() {
    let ws = Workspace::new(&[("eu-west-1", "us-east-1")]);
    let doc = cost_json(&ws, &[]);
    assert_eq!(doc["region"], "us-east-1");
    assert_eq!(doc["region_name"], "US East (N. Virginia)");
    let nlb = design(&doc, "nlb");
    assert_close(monthly(nlb, "nlb_hours"), 730.0 * 0.0225, "nlb hours"); // 16.425
    assert_close(
        monthly(nlb, "endpoint_hours"),
        3.0 * 2.0 * 730.0 * 0.01,
        "endpoints",
    ); // 43.80
    assert_close(monthly(nlb, "logs_ingestion"), 5.0 * 0.50, "logs"); // 2.50
    // 29.5504 + 6.4897 + 3.50 + 16.425 + 0.06 + 43.80 + 0.05 + 0 + 2.50 + 0.15 + 0.90
    assert_close(nlb["total"].as_f64().unwrap(), 103.4251, "nlb total");
    // Shared NAT: 730 x (0.045 + 0.005) = 36.50, plus 5 GB x 0.045; 43.80 of endpoints.
    assert_close(
        doc["endpoints_against_nat"][0]["endpoints_cheaper_above_gb"]
            .as_f64()
            .unwrap(),
        (43.80 - 36.50 - 0.225) / 0.035,
        "crossover",
    );
}

#[test]
fn the_assumptions_on_the_command_line_change_the_lines_they_drive() {
    let ws = Workspace::new(&[]);
    let doc = cost_json(
        &ws,
        &[
            "--tasks",
            "3",
            "--requests-per-month",
            "500000000",
            "--gb-out",
            "200",
            "--log-gb",
            "0",
            "--image-gb",
            "12.5",
        ],
    );
    let a = &doc["assumptions"];
    assert_eq!(a["tasks"], 3);
    assert_eq!(a["requests_per_month"], 500_000_000);
    let nlb = design(&doc, "nlb");
    assert_close(monthly(nlb, "fargate_vcpu"), 3.0 * 730.0 * 0.04048, "vcpu");
    // 333 M at 3.50, the next 167 M at 2.80.
    assert_close(
        monthly(nlb, "api_requests"),
        333.0 * 3.50 + 167.0 * 2.80,
        "api",
    );
    // 500 M / 2 628 000 s = 190.26 connections a second = 0.2378 NLCU; 200 GB / 730 h = 0.274.
    assert_close(monthly(nlb, "nlb_capacity"), 200.0 * 0.006, "nlcu");
    assert_close(monthly(nlb, "logs_ingestion"), 0.0, "logs");
    assert_close(
        monthly(design(&doc, "nat"), "nat_data"),
        12.5 * 0.048,
        "nat data",
    );
    // 3 tasks' public IPs and 2 ALB nodes'.
    assert_close(
        monthly(design(&doc, "public"), "public_ipv4"),
        5.0 * 730.0 * 0.005,
        "public addresses",
    );
}

#[test]
fn the_human_estimate_fits_80_columns_and_names_its_sources() {
    let ws = Workspace::new(&[]);
    let assert = gwfargate(ws.path(), NOWHERE)
        .args(["cost", "--env", "env1.toml"])
        .assert()
        .success();
    let (stdout, _) = output(&assert);
    for line in stdout.lines() {
        assert!(line.chars().count() <= 80, "too wide: {line:?}");
    }
    insta::assert_snapshot!("cost_env1_eu_west_1", stdout);
}

#[test]
fn a_price_table_of_ones_own_prices_a_region_the_shipped_one_lacks() {
    let ws = Workspace::new(&[("eu-west-1", "ap-south-1")]);
    // The shipped table has no Mumbai: refused, naming what to do, exit 2.
    let assert = gwfargate(ws.path(), NOWHERE)
        .args(["cost", "--env", "env1.toml"])
        .assert()
        .code(2);
    let (_, stderr) = output(&assert);
    assert!(stderr.contains("no prices for ap-south-1"), "{stderr}");
    assert!(stderr.contains("--prices FILE"), "{stderr}");
    // Ireland's shipped figures, renamed: the estimate says where they came from.
    let shipped = std::fs::read_to_string(common::root().join("src/cost/prices.toml")).unwrap();
    let start = shipped.find("[regions.eu-west-1]").unwrap();
    let own = format!(
        "as_of = \"2026-11-28\"\nsource = \"our negotiated rates\"\n{}",
        shipped[start..].replace("[regions.eu-west-1]", "[regions.ap-south-1]")
    );
    std::fs::write(ws.path().join("prices.toml"), own).unwrap();
    let doc = cost_json(&ws, &["--prices", "prices.toml"]);
    assert_eq!(doc["prices"]["source"], "our negotiated rates");
    assert_eq!(doc["prices"]["file"], "prices.toml");
    assert_close(
        design(&doc, "nlb")["total"].as_f64().unwrap(),
        110.1261,
        "total",
    );
}

#[test]
fn bad_input_is_refused_with_what_is_wrong() {
    let ws = Workspace::new(&[]);
    for (args, says) in [
        (vec!["--gb-out", "-1"], "not a number of GB"),
        (vec!["--log-gb", "lots"], "not a number of GB"),
        (vec!["--tasks", "-2"], "--tasks"),
        (vec!["--prices", "missing.toml"], "no such file"),
    ] {
        let assert = gwfargate(ws.path(), NOWHERE)
            .args(["cost", "--env", "env1.toml"])
            .args(&args)
            .assert()
            .code(2);
        let (stdout, stderr) = output(&assert);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(stdout.is_empty(), "{args:?} printed an estimate: {stdout}");
    }
    std::fs::write(
        ws.path().join("typo.toml"),
        "as_of = \"x\"\nsource = \"y\"\n[regions.eu-west-1]\nnat_hourly = 1\n",
    )
    .unwrap();
    let assert = gwfargate(ws.path(), NOWHERE)
        .args(["cost", "--env", "env1.toml", "--prices", "typo.toml"])
        .assert()
        .code(2);
    let (_, stderr) = output(&assert);
    assert!(
        stderr.contains("typo.toml is not a valid price table"),
        "{stderr}"
    );
    assert!(stderr.contains("nat_hourly"), "{stderr}");
}

#[test]
fn live_prices_come_from_the_price_list_api_whole_pages_and_all() {
    let emulator = common::Emulator::start(1);
    let ws = Workspace::new(&[]);
    let live = |more: &[&str]| {
        gwfargate(ws.path(), &emulator.endpoint)
            .args(["cost", "--env", "env1.toml", "--live"])
            .args(more)
            .assert()
    };
    let (stdout, _) = output(&live(&["--json"]).success());
    let doc: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["prices"]["live"], true, "{doc:#}");
    assert_eq!(doc["prices"]["kept_from_table"], Value::Null, "all found");
    assert_eq!(doc["region_name"], "Europe (Ireland)");
    // The test bed's catalog: prices AWS moved since the table, and the tiers it charges.
    let nlb = design(&doc, "nlb");
    assert_close(monthly(nlb, "fargate_vcpu"), 730.0 * 0.04656, "vCPU");
    assert_close(monthly(nlb, "fargate_memory"), 1460.0 * 0.004445, "memory");
    assert_close(
        monthly(nlb, "nlb_hours"),
        730.0 * 0.0252,
        "NLB, not the trust store",
    );
    assert_close(monthly(nlb, "api_requests"), 3.5, "first tier");
    assert_close(
        monthly(nlb, "endpoint_hours"),
        3.0 * 2.0 * 730.0 * 0.011,
        "endpoints",
    );
    assert_close(monthly(nlb, "logs_ingestion"), 5.0 * 0.57, "logs");
    assert_close(
        monthly(nlb, "transfer_out"),
        10.0 * 0.09,
        "the first charged tier",
    );
    assert_close(
        monthly(design(&doc, "alb"), "alb_hours"),
        730.0 * 0.027,
        "ALB",
    );
    assert_close(
        monthly(design(&doc, "nat"), "nat_hours"),
        2.0 * 730.0 * 0.052,
        "a NAT gateway per zone",
    );
    let calls = emulator.calls();
    let reads = calls
        .get("pricing.GetProducts")
        .and_then(|c| c["count"].as_u64())
        .unwrap_or(0);
    // Seven sets of products, ELB's and CloudWatch's over more than one page of 3.
    assert!(reads > 7, "{reads} GetProducts");

    let (human, _) = output(&live(&[]).success());
    assert!(
        human.contains("AWS Price List API (GetProducts), read 20"),
        "{human}"
    );

    // Virginia's own prices (its EC2 usage types have no region code).
    let virginia = Workspace::new(&[("eu-west-1", "us-east-1")]);
    let (stdout, _) = output(
        &gwfargate(virginia.path(), &emulator.endpoint)
            .args(["cost", "--env", "env1.toml", "--live", "--json"])
            .assert()
            .success(),
    );
    let doc: Value = serde_json::from_str(&stdout).unwrap();
    assert_close(
        monthly(design(&doc, "nat"), "nat_hours"),
        2.0 * 730.0 * 0.045,
        "Virginia's NAT gateways",
    );
    assert_close(
        monthly(design(&doc, "nlb"), "fargate_vcpu"),
        730.0 * 0.04048,
        "Virginia's vCPU",
    );
    // A region the catalog has no prices of: refused, with the way without --live.
    let oregon = Workspace::new(&[("eu-west-1", "us-west-2")]);
    let (_, stderr) = output(
        &gwfargate(oregon.path(), &emulator.endpoint)
            .args(["cost", "--env", "env1.toml", "--live"])
            .assert()
            .code(1),
    );
    assert!(
        stderr.contains("no prices") && stderr.contains("without --live"),
        "{stderr}"
    );
    // Not allowed to read prices: the action and the way without --live are named.
    emulator.configure(serde_json::json!({"faults": {"seed": 1, "rules": [
        {"match": "pricing.GetProducts", "deny": 1.0}]}}));
    let (_, stderr) = output(&live(&[]).code(1));
    assert!(
        stderr.contains("pricing:GetProducts") && stderr.contains("AccessDenied"),
        "{stderr}"
    );
    let (_, stderr) = output(
        &gwfargate(ws.path(), NOWHERE)
            .args(["cost", "--env", "env1.toml", "--live", "--prices", "p.toml"])
            .assert()
            .code(2),
    );
    assert!(stderr.contains("--prices"), "{stderr}");
}
