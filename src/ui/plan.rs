//! A plan for people: one line per resource that changes, its field changes beneath
//! (`from → to`), what is destructive and why, then the summary. The same text goes to stdout
//! for `plan` and to stderr before `up` acts.

use crate::model::plan::{Action, Change, Plan};
use crate::printable::escaped;

/// Renders `plan` under `header` (deployment, region, account); `colour` only on a terminal.
pub fn render(plan: &Plan, header: &str, colour: bool) -> String {
    let paint = |text: String, action: Action| -> String {
        if !colour {
            return text;
        }
        let styled = console::style(text);
        match action {
            Action::Create => styled.green(),
            Action::Update => styled.yellow(),
            Action::Replace | Action::Delete => styled.red(),
            Action::Refuse => styled.red().bold(),
            Action::None => styled,
        }
        .force_styling(true)
        .to_string()
    };
    let pending: Vec<&Change> = plan.pending().collect();
    let kind_width = pending.iter().map(|c| c.kind.len()).max().unwrap_or(0);
    let mut out = format!("{header}\n");
    for change in &pending {
        let symbol = match change.action {
            Action::Create => "+",
            Action::Update => "~",
            Action::Replace => "-/+",
            Action::Delete => "-",
            Action::Refuse => "!",
            Action::None => " ",
        };
        let mut line = format!(
            "{symbol:>3} {:<8} {:<kind_width$} {}",
            change.action.word(),
            change.kind,
            change.name
        );
        if change.action == Action::Create && !change.fields.is_empty() {
            let settings: Vec<String> = change
                .fields
                .iter()
                .map(|f| format!("{} {}", f.field, f.to))
                .collect();
            line.push_str(&format!(" ({})", settings.join(", ")));
        } else if let Some(id) = &change.id {
            line.push_str(&format!(" ({})", super::table::short_id(id)));
        }
        // Names, values and reasons carry AWS's words: escaped before any colour is added.
        out.push_str(&paint(escaped(&line), change.action));
        out.push('\n');
        if change.action != Action::Create {
            for field in &change.fields {
                out.push_str(&escaped(&format!(
                    "        {}: {} → {}\n",
                    field.field,
                    field.from.as_deref().unwrap_or("(none)"),
                    field.to
                )));
            }
        }
        if let Some(reason) = &change.reason {
            let label = if change.action == Action::Refuse {
                "refused"
            } else {
                "why"
            };
            out.push_str(&escaped(&format!("        {label}: {reason}\n")));
        }
        if let Some(loss) = &change.destructive {
            let text = format!("        destructive: {loss}");
            out.push_str(&if colour {
                console::style(text)
                    .red()
                    .bold()
                    .force_styling(true)
                    .to_string()
            } else {
                text
            });
            out.push('\n');
        }
    }
    for note in &plan.notes {
        out.push_str(&escaped(&format!("note: {note}\n")));
    }
    if plan.is_empty() {
        out.push_str("No changes: the stack is as the env file says.\n");
    } else {
        out.push_str(&format!("Plan: {}.\n", plan.summary()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{FieldChange, Value};

    fn field(name: &str, from: Option<&str>, to: Value) -> FieldChange {
        FieldChange {
            field: name.into(),
            from: from.map(str::to_string),
            to,
            destructive: None,
        }
    }

    /// One entry of each action, as `plan` prints them.
    #[test]
    fn every_action_renders_with_its_fields_reason_and_loss() {
        let plan = Plan {
            changes: vec![
                Change {
                    action: Action::None,
                    kind: "vpc",
                    name: "cluster1-vpc".into(),
                    id: Some("vpc-1".into()),
                    reason: None,
                    fields: vec![],
                    destructive: None,
                },
                Change {
                    action: Action::Create,
                    kind: "subnet",
                    name: "cluster1-subnet-private-3".into(),
                    id: None,
                    reason: None,
                    fields: vec![field("cidr", None, Value::Known("10.0.3.0/24".into()))],
                    destructive: None,
                },
                Change {
                    action: Action::Update,
                    kind: "log group",
                    name: "/ecs/cluster1/microservice1".into(),
                    id: Some("arn:aws:logs:eu-west-1:1:log-group:/ecs/cluster1/microservice1:*".into()),
                    reason: None,
                    fields: vec![field("retention_days", Some("90"), Value::Known("30".into()))],
                    destructive: Some("CloudWatch deletes the log events older than 30 days".into()),
                },
                Change {
                    action: Action::Update,
                    kind: "ecs service",
                    name: "cluster1-service-microservice1".into(),
                    id: Some("svc".into()),
                    reason: None,
                    fields: vec![field("task_definition", Some("td:1"), Value::Unknown)],
                    destructive: None,
                },
                Change {
                    action: Action::Replace,
                    kind: "vpc link",
                    name: "cluster1-vpclink-microservice1".into(),
                    id: Some("l-1".into()),
                    reason: Some("AWS reports it failed: NLB is not in active state".into()),
                    fields: vec![],
                    destructive: None,
                },
                Change {
                    action: Action::Delete,
                    kind: "ecr repository",
                    name: "old".into(),
                    id: Some("arn:aws:ecr:eu-west-1:1:repository/old".into()),
                    reason: Some("the env file no longer describes it".into()),
                    fields: vec![],
                    destructive: Some("ecr repository old is deleted".into()),
                },
                Change {
                    action: Action::Refuse,
                    kind: "target group",
                    name: "cluster1-tg-microservice1".into(),
                    id: Some("tg".into()),
                    reason: Some("a target group's port cannot change; run `gwfargate down --env env1.toml`, then `up`".into()),
                    fields: vec![field("port", Some("8080"), Value::Known("9090".into()))],
                    destructive: None,
                },
            ],
            notes: vec!["image x is not pushed yet".into()],
        };
        insta::assert_snapshot!(render(
            &plan,
            "plan: deployment cluster1 (dev), region eu-west-1, account 123456789012",
            false
        ));
    }

    #[test]
    fn an_empty_plan_says_so() {
        let text = render(&Plan::default(), "plan: deployment d", false);
        assert_eq!(
            text,
            "plan: deployment d\nNo changes: the stack is as the env file says.\n"
        );
    }
}
