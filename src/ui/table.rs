//! The status table: one aligned row per resource, the task counts and the URL.

use comfy_table::presets::NOTHING;
use comfy_table::{ContentArrangement, Table};

use crate::model::posture::Check;
use crate::model::status::{Probe, Revision, Status};

/// Renders the status as an aligned table for people. `command_prefix` starts the command
/// it suggests (`gwfargate` and this run's options).
pub fn status_table(status: &Status, command_prefix: &str) -> String {
    let mut table = Table::new();
    // On a terminal, columns wrap to its width; in a pipe, rows stay whole for grep.
    let arrangement = if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        ContentArrangement::Dynamic
    } else {
        ContentArrangement::Disabled
    };
    table
        .load_preset(NOTHING)
        .set_content_arrangement(arrangement)
        .set_header(vec!["KIND", "NAME", "ID", "STATE", "DETAIL"]);
    for column in table.column_iter_mut() {
        column.set_padding((0, 2));
    }
    for r in &status.resources {
        table.add_row(vec![
            r.kind.to_string(),
            r.name.clone(),
            r.id.as_deref().map_or_else(|| "-".to_string(), short_id),
            r.state.clone(),
            r.detail.clone().unwrap_or_default(),
        ]);
    }
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
    // Every cell is padded, the last column too: no line ends in blanks.
    for line in table.to_string().lines() {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    match &status.service {
        Some(s) => out.push_str(&format!(
            "service: {}/{} tasks running\n",
            s.running, s.desired
        )),
        None => out.push_str("service: missing\n"),
    }
    if !status.tags.is_empty() {
        let tags: Vec<String> = status
            .tags
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        out.push_str(&format!("tags: {}\n", tags.join(", ")));
    }
    match &status.url {
        Some(url) => out.push_str(&format!("url: {url}\n")),
        None => out.push_str("url: none (the API or its stage is missing)\n"),
    }
    // The missing resources come first among the problems, and are said below.
    for problem in status.problems.iter().skip(missing) {
        out.push_str(&format!("problem: {problem}\n"));
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
        (None, _, _) => "probe: no URL to call (the API or its stage is missing)\n".to_string(),
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
