//! The status table: one aligned row per resource, the task counts and the URL.

use comfy_table::presets::NOTHING;
use comfy_table::{ContentArrangement, Table};

use super::fit::{
    Column, Give, Width, column, layout, layout_rows, natural_width, prose, shorten, wrap,
};
use crate::model::posture::Check;
use crate::model::status::{Probe, Revision, ServiceStatus, Status, Target, Unread};

/// Renders the status for people, fitted to `width`: the resources, the service (revisions,
/// image, deployments, tasks, stopped tasks, events), the targets, the tags, who may call
/// the API, the URL on a line of its own, and the problems. `command_prefix` starts the
/// command it suggests (`gwfargate` and this run's options).
pub fn status_table(status: &Status, command_prefix: &str, width: Width) -> String {
    let columns = [
        column("KIND", Give::Never),
        column("NAME", Give::Shorten(12)),
        column("ID", Give::Shorten(12)),
        column("STATE", Give::Wrap(14)),
        column("DETAIL", Give::Wrap(14)),
    ];
    let rows: Vec<Vec<String>> = status
        .resources
        .iter()
        .map(|r| {
            vec![
                r.kind.to_string(),
                r.name.clone(),
                r.id.as_deref().map_or_else(|| "-".to_string(), short_id),
                r.state.clone(),
                r.detail.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let mut out = format!(
        "deployment {} ({}), region {}\n",
        status.deployment, status.environment, status.region
    );
    let missing = status.missing().len();
    if !status.state_file_present {
        out.push_str(&if missing == status.resources.len() {
            format!(
                "no state file ({}), and nothing of this stack was found by its tags and names\n",
                status.state_file
            )
        } else {
            format!(
                "state file {} is missing: resources below were found by their tags and names\n",
                status.state_file
            )
        });
    }
    out.push_str(&resource_rows(&columns, rows, width));
    let unknown = |kind: &str| {
        status
            .resources
            .iter()
            .find(|r| r.kind == kind && r.state.starts_with("unknown"))
            .map(|r| r.state.clone())
    };
    match &status.service {
        Some(service) => out.push_str(&service_lines(service, status, width)),
        None => out.push_str(&format!(
            "service: {}\n",
            unknown("ecs service").unwrap_or_else(|| "missing".to_string())
        )),
    }
    match &status.targets {
        Some(targets) => out.push_str(&targets_lines(targets, width)),
        None => {
            let unread = status.unread.iter().find(|u| u.what == "targets");
            if let Some(state) = unread
                .map(Unread::state)
                .or_else(|| unknown("target group"))
            {
                out.push_str(&format!("targets: {state}\n"));
            }
        }
    }
    if !status.tags.is_empty() {
        let tags: Vec<String> = status
            .tags
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        out.push_str(&prose("tags: ", &tags.join(", "), width));
    }
    if let Some(auth) = &status.api_auth {
        out.push_str(&format!("api auth: {auth}\n"));
    }
    if status.entry == "public_load_balancer" {
        out.push_str(&prose(
            "entry: ",
            "public load balancer: open to anyone on the internet, no API Gateway in front",
            width,
        ));
    }
    // The URL is whole on its own line, whatever the width: it is there to be copied.
    match &status.url {
        Some(url) => out.push_str(&format!("url: {url}\n")),
        None if status.entry == "public_load_balancer" => match unknown("load balancer") {
            Some(state) => out.push_str(&format!("url: {state}\n")),
            None => out.push_str("url: none (the load balancer is missing)\n"),
        },
        None => match unknown("api stage").or_else(|| unknown("rest api")) {
            Some(state) => out.push_str(&format!("url: {state}\n")),
            None => out.push_str("url: none (the API or its stage is missing)\n"),
        },
    }
    // The missing resources come first among the problems, and are said below.
    for problem in status.problems.iter().skip(missing) {
        out.push_str(&prose("problem: ", problem, width));
    }
    if missing > 0 {
        let env = status
            .env_file
            .as_deref()
            .map_or_else(|| "FILE".to_string(), crate::shell::word);
        out.push_str(&format!(
            "{missing} resource(s) missing; `{command_prefix} up --env {env}` builds them\n"
        ));
    }
    out
}

/// The resources' rows: five columns where they fit; else the detail on a line of its own
/// under the name, so the name and id keep their room.
fn resource_rows(columns: &[Column; 5], mut rows: Vec<Vec<String>>, width: Width) -> String {
    let Some(limit) = width
        .limit()
        .filter(|&limit| natural_width(columns, &rows) > limit)
    else {
        return layout(columns, &rows, width);
    };
    let details: Vec<String> = rows
        .iter_mut()
        .map(|r| r.pop().unwrap_or_default())
        .collect();
    let (header, blocks) = layout_rows(&columns[..4], &rows, width);
    let indent = header.find("NAME").unwrap_or(0);
    let mut out = header;
    for (block, detail) in blocks.iter().zip(&details) {
        out.push_str(block);
        if !detail.is_empty() {
            for line in wrap(detail, limit.saturating_sub(indent).max(20)) {
                out.push_str(&format!("{}{line}\n", " ".repeat(indent)));
            }
        }
    }
    out
}

/// A table nested under a heading, indented two columns.
fn nested(heading: &str, columns: &[Column], rows: &[Vec<String>], width: Width) -> String {
    let mut out = format!("{heading}:\n");
    for line in layout(columns, rows, width.less(2)).lines() {
        out.push_str(&format!("  {line}\n"));
    }
    out
}

/// The service: its counts and revisions, its image, deployments, tasks, stopped tasks and
/// events. What could not be read says so.
fn service_lines(service: &ServiceStatus, status: &Status, width: Width) -> String {
    let revision = |r: Option<u32>| r.map_or_else(|| "-".to_string(), |r| r.to_string());
    let mut out = format!(
        "service: {}/{} tasks running, revision {}",
        service.running,
        service.desired,
        revision(service.revision)
    );
    match service.wanted_revision {
        Some(wanted) if Some(wanted) != service.revision => {
            out.push_str(&format!(", not the wanted {wanted}"))
        }
        Some(_) => out.push_str(" (the wanted one)"),
        None => {}
    }
    out.push('\n');
    let identifier = |label: &str, image: &str| {
        let label = format!("{label}:");
        let image = match width.less(2 + 15).limit() {
            Some(room) if image.chars().count() > room => short_image(image, room),
            _ => image.to_string(),
        };
        format!("  {label:<14} {image}\n")
    };
    let images: Vec<&str> = service
        .tasks
        .iter()
        .flatten()
        .filter_map(|t| t.image.as_deref())
        .fold(Vec::new(), |mut seen, image| {
            if !seen.contains(&image) {
                seen.push(image);
            }
            seen
        });
    for image in &images {
        out.push_str(&identifier("image running", image));
    }
    if let Some(wanted) = &service.wanted_image
        && images != [wanted.as_str()]
    {
        out.push_str(&identifier("image wanted", wanted));
    }
    let deployments: Vec<Vec<String>> = service
        .deployments
        .iter()
        .map(|d| {
            vec![
                d.status.to_ascii_lowercase(),
                revision(d.revision),
                format!("{}/{}", d.running, d.desired),
                d.rollout.clone().unwrap_or_default(),
                when(d.created_at.as_deref()),
                d.reason.clone().unwrap_or_default(),
            ]
        })
        .collect();
    if !deployments.is_empty() {
        let columns = [
            column("DEPLOYMENT", Give::Never),
            column("REVISION", Give::Never),
            column("TASKS", Give::Never),
            column("ROLLOUT", Give::Never),
            column("STARTED", Give::Never),
            column("REASON", Give::Wrap(14)),
        ];
        out.push_str(&nested("deployments", &columns, &deployments, width));
    }
    let unread = |what: &str| {
        status
            .unread
            .iter()
            .find(|u| u.what == what)
            .map(Unread::state)
    };
    match &service.tasks {
        Some(tasks) if !tasks.is_empty() => {
            let columns = [
                column("TASK", Give::Shorten(10)),
                column("REVISION", Give::Never),
                column("STATUS", Give::Never),
                column("HEALTH", Give::Never),
                column("ZONE", Give::Shorten(8)),
                column("STARTED", Give::Never),
            ];
            let rows: Vec<Vec<String>> = tasks
                .iter()
                .map(|t| {
                    vec![
                        t.id.clone(),
                        revision(t.revision),
                        t.status.to_ascii_lowercase(),
                        t.health.as_deref().unwrap_or("-").to_ascii_lowercase(),
                        t.zone.clone().unwrap_or_else(|| "-".into()),
                        when(t.started_at.as_deref()),
                    ]
                })
                .collect();
            out.push_str(&nested("tasks", &columns, &rows, width));
        }
        Some(_) => out.push_str("tasks: none\n"),
        None => out.push_str(&format!("tasks: {}\n", unread("tasks").unwrap_or_default())),
    }
    if let Some(stopped) = service.stopped_tasks.as_ref().filter(|s| !s.is_empty()) {
        let columns = [
            column("TASK", Give::Shorten(10)),
            column("REVISION", Give::Never),
            column("STOPPED", Give::Never),
            column("WHY", Give::Wrap(26)),
        ];
        let rows: Vec<Vec<String>> = stopped
            .iter()
            .map(|t| {
                vec![
                    t.id.clone(),
                    revision(t.revision),
                    t.stopped_at
                        .as_deref()
                        .map_or_else(|| "stopping".to_string(), |at| when(Some(at))),
                    t.why_stopped(),
                ]
            })
            .collect();
        out.push_str(&nested("stopped tasks", &columns, &rows, width));
    }
    if !service.events.is_empty() {
        let columns = [column("AT", Give::Never), column("EVENT", Give::Wrap(20))];
        let rows: Vec<Vec<String>> = service
            .events
            .iter()
            .map(|e| vec![when(e.at.as_deref()), e.message.clone()])
            .collect();
        out.push_str(&nested("events", &columns, &rows, width));
    }
    out
}

/// A time for people: `2026-11-28 10:05:40Z` (UTC, as AWS gives it), `-` when unknown.
/// `--json` keeps RFC 3339.
fn when(rfc3339: Option<&str>) -> String {
    match rfc3339 {
        Some(at) => {
            let mut shown: String = at.replacen('T', " ", 1).chars().take(19).collect();
            shown.push('Z');
            shown
        }
        None => "-".to_string(),
    }
}

/// An image reference in `room` columns: without its registry host
/// (`123456789012.dkr.ecr...amazonaws.com/`, the same for every image of the stack), its
/// digest cut at the end as people quote digests (`sha256:4f4f4f…`), and only then shortened
/// in the middle.
fn short_image(image: &str, room: usize) -> String {
    let image = match image.split_once('/') {
        Some((host, rest)) if host.contains('.') || host.contains(':') => rest,
        _ => image,
    };
    if let Some((repository, digest)) = image.split_once('@') {
        let left = room.saturating_sub(repository.chars().count() + 1);
        // Seven characters of `sha256:`, then enough of the hash to tell images apart.
        if left >= 7 + 12 {
            let cut: String = digest.chars().take(left - 1).collect();
            return format!("{repository}@{cut}…");
        }
    }
    shorten(image, room)
}

/// The load balancer's targets and their health.
fn targets_lines(targets: &[Target], width: Width) -> String {
    if targets.is_empty() {
        return "targets: none registered\n".to_string();
    }
    let columns = [
        column("TARGET", Give::Never),
        column("ZONE", Give::Never),
        column("HEALTH", Give::Never),
        column("WHY", Give::Wrap(20)),
    ];
    let rows: Vec<Vec<String>> = targets
        .iter()
        .map(|t| {
            vec![
                t.address(),
                t.zone.clone().unwrap_or_else(|| "-".into()),
                t.state.clone(),
                t.why(),
            ]
        })
        .collect();
    let healthy = targets.iter().filter(|t| t.state == "healthy").count();
    nested(
        &format!("targets ({healthy} of {} healthy)", targets.len()),
        &columns,
        &rows,
        width,
    )
}

/// An ARN without its `arn:aws:<service>:<region>:<account>:` prefix: the table is for
/// people, and the prefix is the same on every line. `--json` keeps the whole ARN.
pub fn short_id(id: &str) -> String {
    if id.starts_with("arn:") {
        id.splitn(6, ':').nth(5).unwrap_or(id).to_string()
    } else {
        id.to_string()
    }
}

/// The probe's answer and its walk of the chain, one aligned line per hop.
pub fn probe_lines(probe: &Probe) -> String {
    let mut out = match (&probe.url, probe.status, &probe.error) {
        (None, _, _) => {
            "probe: no URL to call (the API or its stage, or the public load balancer, is missing)\n"
                .to_string()
        }
        (Some(url), Some(status), _) => format!(
            "probe: GET {url} → {status} in {} ms\n",
            probe.latency_ms.unwrap_or_default()
        ),
        (Some(url), None, error) => format!(
            "probe: GET {url} → no answer ({})\n",
            error.as_deref().unwrap_or("unknown error")
        ),
    };
    let width = probe
        .hops
        .iter()
        .map(|h| h.hop.len() + h.name.len() + 1)
        .max()
        .unwrap_or(0);
    for hop in &probe.hops {
        let label = format!("{} {}", hop.hop, hop.name);
        out.push_str(&format!(
            "  {} {label:<width$}  {}\n",
            if hop.ok { "ok  " } else { "FAIL" },
            hop.detail
        ));
    }
    match &probe.broken {
        Some(broken) => out.push_str(&format!("first broken hop: {broken}\n")),
        None if probe.status.is_some_and(|s| s < 500) => {
            out.push_str("every hop passes requests on\n")
        }
        None => {}
    }
    out.trim_end().to_string()
}

/// The security posture: a summary line, then one aligned line per check, failing ones first
/// with what turns them around.
pub fn posture_lines(checks: &[Check]) -> String {
    let passing = checks.iter().filter(|c| c.passes).count();
    let mut out = format!(
        "posture: {passing} of {} checks pass (Security Hub FSBP and Checkov controls; `-`: \
         gwfargate's own)\n",
        checks.len()
    );
    let width = checks.iter().map(|c| c.control.len()).max().unwrap_or(0);
    let mut ordered: Vec<&Check> = checks.iter().collect();
    ordered.sort_by_key(|c| c.passes);
    for c in ordered {
        let mark = if c.passes { "pass" } else { "FAIL" };
        let line = match &c.fix {
            Some(fix) => format!("  {mark}  {:<width$}  {}: {fix}", c.control, c.check),
            None => format!("  {mark}  {:<width$}  {}", c.control, c.check),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out.trim_end().to_string()
}

/// The kept revisions, newest first, the running one marked.
pub fn revisions_table(revisions: &[Revision]) -> String {
    let mut table = Table::new();
    table
        .load_preset(NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(["", "REVISION", "IMAGE", "REGISTERED", "BY"]);
    for r in revisions {
        table.add_row([
            if r.running { "*" } else { "" }.to_string(),
            r.revision.to_string(),
            r.image.clone().unwrap_or_default(),
            r.registered_at.clone().unwrap_or_default(),
            r.by.clone().unwrap_or_default(),
        ]);
    }
    let mut out = String::new();
    for line in table.to_string().lines() {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    if revisions.is_empty() {
        out.push_str("no revision is registered\n");
    } else {
        out.push_str("* runs now; `gwfargate rollback --to REVISION` runs another\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Observed;
    use crate::model::status::{Deployment, ServiceEvent, Task};

    /// A stack in the middle of a deployment that is failing: the table at its fullest.
    fn busy_stack() -> Status {
        let row = |kind: &'static str, name: &str, id: &str, state: &str, detail: &str| Observed {
            kind,
            name: name.into(),
            id: (!id.is_empty()).then(|| id.into()),
            state: state.into(),
            detail: (!detail.is_empty()).then(|| detail.into()),
        };
        let task = |id: &str, revision: u32, zone: &str| Task {
            id: id.into(),
            revision: Some(revision),
            status: "RUNNING".into(),
            health: Some("HEALTHY".into()),
            zone: Some(zone.into()),
            started_at: Some("2026-11-28T10:02:11Z".into()),
            stopped_at: None,
            stopped_reason: None,
            stop_code: None,
            exit_code: None,
            image: Some(format!("{IMAGE}@sha256:{}", "4f".repeat(32))),
        };
        Status {
            format_version: 1,
            deployment: "cluster1".into(),
            environment: "dev".into(),
            region: "eu-west-1".into(),
            state_file: ".gwfargate/env1.json".into(),
            state_file_present: true,
            complete: true,
            env_file: Some("config/env1.toml".into()),
            url: Some("https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/dev/".into()),
            service: Some(ServiceStatus {
                running: 2,
                desired: 2,
                revision: Some(7),
                wanted_revision: Some(8),
                wanted_image: Some(format!("{IMAGE}@sha256:{}", "9c".repeat(32))),
                deployments: vec![
                    Deployment {
                        status: "PRIMARY".into(),
                        revision: Some(8),
                        running: 0,
                        desired: 2,
                        rollout: Some("in_progress".into()),
                        reason: Some("ECS deployment ecs-svc/4660524425472421335 in progress.".into()),
                        created_at: Some("2026-11-28T10:05:40Z".into()),
                    },
                    Deployment {
                        status: "ACTIVE".into(),
                        revision: Some(7),
                        running: 2,
                        desired: 2,
                        rollout: Some("completed".into()),
                        reason: None,
                        created_at: Some("2026-11-28T10:01:02Z".into()),
                    },
                ],
                events: vec![ServiceEvent {
                    at: Some("2026-11-28T10:06:13Z".into()),
                    message: "(service cluster1-service-microservice1) has started 1 tasks: \
                              (task 0f6e2b6c1d4a4b8e9a7c3d2e1f0a9b8c)."
                        .into(),
                }],
                tasks: Some(vec![
                    Task {
                        status: "PROVISIONING".into(),
                        health: Some("UNKNOWN".into()),
                        started_at: None,
                        image: None,
                        ..task("9a8b7c6d5e4f40312a1b2c3d4e5f6a7b", 8, "ap-southeast-2a")
                    },
                    task("0f6e2b6c1d4a4b8e9a7c3d2e1f0a9b8c", 7, "eu-west-1a"),
                    task("5d1c0b9a8f7e4d6c8b5a4f3e2d1c0b9a", 7, "eu-west-1b"),
                ]),
                stopped_tasks: Some(vec![Task {
                    status: "STOPPED".into(),
                    stopped_at: Some("2026-11-28T10:06:01Z".into()),
                    stopped_reason: Some("Essential container in task exited".into()),
                    stop_code: Some("EssentialContainerExited".into()),
                    exit_code: Some(1),
                    ..task("e3a9d8c7b6a54f3e8d2c1b0a9f8e7d6c", 8, "eu-west-1a")
                }]),
            }),
            api_auth: Some("api_key".into()),
            entry: "api_gateway".to_string(),
            targets: Some(vec![
                Target {
                    id: "10.0.1.23".into(),
                    port: Some(8080),
                    zone: Some("eu-west-1a".into()),
                    state: "healthy".into(),
                    reason: None,
                    description: None,
                },
                Target {
                    id: "10.0.2.14".into(),
                    port: Some(8080),
                    zone: Some("eu-west-1b".into()),
                    state: "unhealthy".into(),
                    reason: Some("Target.FailedHealthChecks".into()),
                    description: Some("Health checks failed".into()),
                },
            ]),
            unread: Vec::new(),
            tags: [("team".to_string(), "payments".to_string())].into(),
            resources: vec![
                row("vpc", "cluster1-vpc", "vpc-0a1b2c3d4e5f60718", "available", ""),
                row(
                    "interface endpoint",
                    "cluster1-endpoint-ecr-dkr",
                    "vpce-0123456789abcdef0",
                    "available",
                    "com.amazonaws.eu-west-1.ecr.dkr",
                ),
                row(
                    "load balancer",
                    "cluster1-nlb-microservice1",
                    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/net/cluster1-nlb-microservice1/50dc6c495c0c9188",
                    "active",
                    "internal-cluster1-nlb-microservice1-50dc6c495c0c9188.elb.eu-west-1.amazonaws.com",
                ),
                row(
                    "ecs service",
                    "cluster1-service-microservice1",
                    "arn:aws:ecs:eu-west-1:123456789012:service/cluster1-cluster/cluster1-service-microservice1",
                    "ACTIVE",
                    "2/2 running, rollout in_progress",
                ),
                row("vpc link", "cluster1-vpclink-microservice1", "", "unknown (AccessDenied)", ""),
            ],
            problems: vec![
                "target 10.0.2.14:8080 is unhealthy (Target.FailedHealthChecks: Health checks failed)"
                    .into(),
            ],
        }
    }

    const IMAGE: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/cluster1/microservice1";

    #[test]
    fn the_status_table_fits_80_columns_without_breaking_an_identifier() {
        let table = status_table(&busy_stack(), "gwfargate", Width::Columns(80));
        for line in table.lines().filter(|l| !l.starts_with("url: ")) {
            assert!(
                console::measure_text_width(line) <= 80,
                "{} columns: {line}\n{table}",
                console::measure_text_width(line)
            );
        }
        // The URL is whole on a line of its own.
        assert!(
            table.contains("\nurl: https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/dev/\n")
        );
        insta::assert_snapshot!("status_at_80_columns", table);
    }

    #[test]
    fn an_unknown_width_is_laid_out_as_80_columns() {
        let unknown = status_table(&busy_stack(), "gwfargate", Width::Unknown);
        assert_eq!(
            unknown,
            status_table(&busy_stack(), "gwfargate", Width::Columns(80))
        );
        insta::assert_snapshot!("status_at_unknown_width", unknown);
    }

    #[test]
    fn at_200_columns_or_wide_every_identifier_is_whole() {
        let table = status_table(&busy_stack(), "gwfargate", Width::Columns(200));
        insta::assert_snapshot!("status_at_200_columns", table);
        let wide = status_table(&busy_stack(), "gwfargate", Width::Unlimited);
        for id in [
            "loadbalancer/net/cluster1-nlb-microservice1/50dc6c495c0c9188",
            "0f6e2b6c1d4a4b8e9a7c3d2e1f0a9b8c",
            &format!("{IMAGE}@sha256:{}", "9c".repeat(32)),
            "internal-cluster1-nlb-microservice1-50dc6c495c0c9188.elb.eu-west-1.amazonaws.com",
        ] {
            assert!(wide.contains(id), "{id} is not whole:\n{wide}");
        }
        assert!(!wide.contains('…'), "{wide}");
    }

    #[test]
    fn the_posture_lists_failing_checks_first_with_their_fix() {
        let checks = [
            Check {
                check: "API access logging",
                control: "CKV_AWS_76",
                passes: true,
                fix: None,
            },
            Check {
                check: "API X-Ray tracing",
                control: "APIGateway.3",
                passes: false,
                fix: Some("set `tracing = true` under [api]".into()),
            },
        ];
        assert_eq!(
            posture_lines(&checks),
            "posture: 1 of 2 checks pass (Security Hub FSBP and Checkov controls; `-`: \
             gwfargate's own)\n  \
             FAIL  APIGateway.3  API X-Ray tracing: set `tracing = true` under [api]\n  \
             pass  CKV_AWS_76    API access logging"
        );
    }

    #[test]
    fn arns_lose_only_their_common_prefix() {
        assert_eq!(
            short_id("arn:aws:ecs:eu-west-1:123456789012:service/c/s"),
            "service/c/s"
        );
        assert_eq!(
            short_id("arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/a:*"),
            "log-group:/ecs/a:*"
        );
        assert_eq!(short_id("vpc-123"), "vpc-123");
    }
}
