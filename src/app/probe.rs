//! `gwfargate status --probe`: calls the stack's URL as a client would, and walks the chain a
//! request follows (stage → deployment → api → integration → VPC link and its group → load
//! balancer and, for an ALB, its group → listener → target group → target health → the tasks'
//! group → tasks → endpoints; for the public entry, the internet gateway and the public route
//! table → the load balancer ...), naming the first hop that is broken and what to do about it.

use std::time::{Duration, Instant};

use http_body_util::{BodyExt as _, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::session::{self, Session};
use crate::config::names::Names;
use crate::model::plan::Action;
use crate::model::status::{Hop, Probe};
use crate::model::{Depth, Observed, Value};

/// How long the probe waits for the stack to answer (API Gateway's own limit is 29 s).
const TIMEOUT: Duration = Duration::from_secs(30);

/// Which of a resource's planned field changes break its hop.
enum Fields {
    /// Any change.
    All,
    /// Only changes of these fields.
    Only(&'static [&'static str]),
    /// Changes of any field but these.
    Except(&'static [&'static str]),
}

impl Fields {
    fn counts(&self, field: &str) -> bool {
        match self {
            Fields::All => true,
            Fields::Only(these) => these.contains(&field),
            // A listed field also stands for its members: `throttle` for `throttle[ANY /].rate`.
            Fields::Except(these) => !these
                .iter()
                .any(|t| field == *t || field.starts_with(&format!("{t}["))),
        }
    }
}

/// A hop a request takes: its name, the kind of the resource that makes it (and its name,
/// when the kind has several), the state that resource must be in (`None`: any state of a
/// resource that exists), and which planned changes break it.
struct HopOf {
    hop: &'static str,
    kind: &'static str,
    wanted: Option<&'static str>,
    fields: Fields,
    named: Option<fn(&Names) -> &str>,
}

/// A security group's rules a request crosses; what else it lets through does not matter here.
const GROUP_RULES: &[&str] = &["ingress", "egress"];

/// The stage's deployment is a snapshot of the integrations taken when it was made: a stage
/// serving an older one (or one made outside gwfargate) is its own hop. Throttling passes
/// requests on, however it is set; so do the access log and tracing.
const STAGE_FIELDS: &[&str] = &[
    "deployment",
    "unused_deployments",
    "throttle.rate",
    "throttle.burst",
    "throttle",
    "access_log",
    "access_log.format",
    "tracing",
    "web_acl",
];

/// Settings of the API that change who may call it and how, not whether requests pass.
const API_FIELDS: &[&str] = &[
    "security_policy",
    "authorization ANY /",
    "authorization ANY /{proxy+}",
    "api_key ANY /",
    "api_key ANY /{proxy+}",
];

/// An endpoint's policy is narrowed by `up`; an open one lets everything through.
const ENDPOINT_FIELDS: &[&str] = &["policy"];

/// The hops of the public entry's way in alone (a NAT stack has an internet gateway too, on
/// the tasks' way out).
const PUBLIC_HOPS: &[&str] = &["internet gateway", "public route table"];

const HOPS: &[HopOf] = &[
    HopOf {
        hop: "internet gateway",
        kind: "internet gateway",
        wanted: Some("attached"),
        fields: Fields::All,
        named: None,
    },
    HopOf {
        hop: "public route table",
        kind: "route table",
        wanted: None,
        fields: Fields::All,
        named: Some(|names| &names.public_route_table),
    },
    HopOf {
        hop: "stage",
        kind: "api stage",
        wanted: None,
        fields: Fields::Except(STAGE_FIELDS),
        named: None,
    },
    HopOf {
        hop: "deployment",
        kind: "api stage",
        wanted: None,
        fields: Fields::Only(&["deployment"]),
        named: None,
    },
    HopOf {
        hop: "api",
        kind: "rest api",
        wanted: None,
        fields: Fields::Except(API_FIELDS),
        named: None,
    },
    HopOf {
        hop: "integration",
        kind: "api integrations",
        wanted: None,
        fields: Fields::All,
        named: None,
    },
    HopOf {
        hop: "vpc link",
        kind: "vpc link",
        wanted: Some("AVAILABLE"),
        fields: Fields::All,
        named: None,
    },
    HopOf {
        hop: "vpc link's group",
        kind: "security group",
        wanted: None,
        fields: Fields::Only(GROUP_RULES),
        named: Some(|names| &names.vpc_link_security_group),
    },
    HopOf {
        hop: "load balancer",
        kind: "load balancer",
        wanted: Some("active"),
        fields: Fields::All,
        named: None,
    },
    HopOf {
        hop: "load balancer's group",
        kind: "security group",
        wanted: None,
        fields: Fields::Only(GROUP_RULES),
        named: Some(|names| &names.load_balancer_security_group),
    },
    HopOf {
        hop: "listener",
        kind: "listener",
        wanted: None,
        fields: Fields::All,
        named: None,
    },
    HopOf {
        hop: "target group",
        kind: "target group",
        wanted: None,
        fields: Fields::All,
        named: None,
    },
    HopOf {
        hop: "tasks' group",
        kind: "security group",
        wanted: None,
        fields: Fields::Only(&["ingress"]),
        named: Some(|names| &names.security_group),
    },
    HopOf {
        hop: "tasks",
        kind: "ecs service",
        wanted: None,
        fields: Fields::All,
        named: None,
    },
    HopOf {
        hop: "endpoints",
        kind: "interface endpoint",
        wanted: Some("available"),
        fields: Fields::Except(ENDPOINT_FIELDS),
        named: None,
    },
    HopOf {
        hop: "endpoints",
        kind: "gateway endpoint",
        wanted: Some("available"),
        fields: Fields::Except(ENDPOINT_FIELDS),
        named: None,
    },
];

/// Calls the stack (through `endpoint`, an emulator, when given) and walks its chain.
pub async fn probe(
    session: &Session,
    concurrency: usize,
    endpoint: Option<&str>,
) -> anyhow::Result<Probe> {
    let env = &session.env;
    let (stack, world) = session::survey(env, Depth::Full, concurrency).await?;
    let plan = stack.graph.plan(env, &world);
    let rows = stack.graph.observe(&[]);
    let inputs = world.inputs();
    let url = stack
        .entry
        .url(&inputs)
        .map(|url| address(&url, endpoint, &env.deployment.region));
    let mut probe = Probe {
        url: url.clone(),
        status: None,
        latency_ms: None,
        error: None,
        hops: Vec::new(),
        broken: None,
    };
    if let Some(url) = &url {
        let started = Instant::now();
        match get(url).await {
            Ok(status) => {
                probe.status = Some(status);
                probe.latency_ms = u64::try_from(started.elapsed().as_millis()).ok();
            }
            Err(err) => probe.error = Some(format!("{err:#}")),
        }
    }
    let up = env.hints.command("up");
    let public = env.deployment.network.entry == crate::config::Entry::PublicLoadBalancer;
    for HopOf {
        hop,
        kind,
        wanted,
        fields,
        named,
    } in HOPS
    {
        if !public && PUBLIC_HOPS.contains(hop) {
            continue;
        }
        let this = |name: &str| named.is_none_or(|named| name == named(&env.names));
        for row in rows.iter().filter(|r| r.kind == *kind && this(&r.name)) {
            let change = plan
                .changes
                .iter()
                .find(|c| c.kind == *kind && c.name == row.name && c.action != Action::None);
            let changed: Vec<&str> = change
                .map(|c| {
                    // A value "known after up" follows from a hop before this one being
                    // replaced: that hop is the one to name.
                    c.fields
                        .iter()
                        .filter(|f| f.to != Value::Unknown)
                        .map(|f| f.field.as_str())
                        .filter(|f| fields.counts(f))
                        .collect()
                })
                .unwrap_or_default();
            let mut detail = row_words(row);
            let mut ok = true;
            if row.state == "missing" {
                ok = false;
                detail = format!("missing: `{up}` makes it again");
            } else if *hop == "deployment" && !changed.is_empty() {
                ok = false;
                detail = format!(
                    "the stage serves a deployment of other integrations than the env file's \
                     (an older snapshot, or one made outside gwfargate): `{up}` deploys them"
                );
            } else if let Some(change) = change
                && (!changed.is_empty() || (change.fields.is_empty() && fields.counts("")))
            {
                ok = false;
                detail = match (&change.reason, change.action) {
                    (Some(reason), Action::Refuse) => reason.clone(),
                    (Some(reason), Action::Replace) if changed.is_empty() => {
                        format!("{reason}: `{up}` replaces it")
                    }
                    _ => format!(
                        "differs from the env file ({}): `{up}` repairs it",
                        if changed.is_empty() {
                            "as a whole".to_string()
                        } else {
                            changed.join(", ")
                        }
                    ),
                };
            } else if let Some(wanted) = wanted
                && !row.state.eq_ignore_ascii_case(wanted)
            {
                ok = false;
                detail = if row.state.eq_ignore_ascii_case("failed") {
                    format!(
                        "{}, not {wanted}: AWS gave up on it; `{}`, then `{up}`, makes the \
                         stack again",
                        row_words(row),
                        env.hints.command("down")
                    )
                } else {
                    format!("{}, not {wanted}: requests cannot pass yet", row.state)
                };
            }
            if ok
                && *hop == "target group"
                && let Some(tg) = inputs.get(&stack.target_group)
            {
                let targets = crate::resources::elb::target_group::health(env, &tg.arn).await?;
                let (healthy, all) = (
                    targets.iter().filter(|t| t.state == "healthy").count(),
                    targets.len(),
                );
                detail = format!("{healthy} of {all} target(s) healthy");
                ok = healthy > 0;
                if !ok {
                    detail.push_str(
                        ": a new task needs its health checks first; otherwise look at the \
                         task logs and the health check path",
                    );
                }
            }
            if ok
                && *hop == "tasks"
                && let Some(counts) = inputs.get(&stack.service)
                && counts.running == 0
            {
                ok = false;
                detail = format!(
                    "0 of {} task(s) running: look at the service's events and the task logs",
                    counts.desired
                );
            }
            if !ok && probe.broken.is_none() {
                probe.broken = Some(format!("{hop} {}: {detail}", row.name));
            }
            probe.hops.push(Hop {
                hop,
                name: row.name.clone(),
                ok,
                detail,
            });
        }
    }
    Ok(probe)
}

fn row_words(row: &Observed) -> String {
    match &row.detail {
        Some(detail) => format!("{}, {detail}", row.state),
        None => row.state.clone(),
    }
}

/// The address to call: the invoke URL; through an emulator (`--endpoint-url`), the test
/// bed's address for the same stage.
fn address(url: &str, endpoint: Option<&str>, region: &str) -> String {
    let Some(endpoint) = endpoint else {
        return url.to_string();
    };
    let endpoint = endpoint.trim_end_matches('/');
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    // http://{load balancer's DNS name}:{port}/: a public entry.
    if !host.contains(".execute-api.") {
        let (name, port) = host.split_once(':').unwrap_or((host, "80"));
        return format!("{endpoint}/_testbed/public/{name}/{port}/{path}?region={region}");
    }
    // https://{api}.execute-api.{region}.amazonaws.com/{stage}/
    let api = host.split('.').next().unwrap_or_default();
    format!("{endpoint}/_testbed/invoke/{api}/{path}?region={region}")
}

/// GETs `url` and returns the HTTP status.
async fn get(url: &str) -> anyhow::Result<u16> {
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()?
        .https_or_http()
        .enable_http1()
        .build();
    let client: Client<_, Empty<bytes::Bytes>> = Client::builder(TokioExecutor::new()).build(https);
    let uri: hyper::Uri = url.parse()?;
    let answer = tokio::time::timeout(TIMEOUT, async {
        let response = client.get(uri).await?;
        let status = response.status().as_u16();
        // Read the body, so the time measured is the whole answer's.
        response.into_body().collect().await?;
        anyhow::Ok(status)
    })
    .await
    .map_err(|_| anyhow::anyhow!("no answer within {}s", TIMEOUT.as_secs()))??;
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn through_an_emulator_the_probe_calls_the_test_beds_address_for_the_stage() {
        let url = "https://abc123defg.execute-api.eu-west-1.amazonaws.com/dev/";
        assert_eq!(address(url, None, "eu-west-1"), url);
        assert_eq!(
            address(url, Some("http://127.0.0.1:5000/"), "eu-west-1"),
            "http://127.0.0.1:5000/_testbed/invoke/abc123defg/dev/?region=eu-west-1"
        );
        let public = "http://cluster1-alb-demo-1.eu-west-1.elb.amazonaws.com:8080/";
        assert_eq!(
            address(public, Some("http://127.0.0.1:5000"), "eu-west-1"),
            "http://127.0.0.1:5000/_testbed/public/cluster1-alb-demo-1.eu-west-1.elb.amazonaws.com/8080/?region=eu-west-1"
        );
    }
}
