//! A plan: what `up` would change, resource by resource, as data. `plan` renders it, `up`
//! prints it before acting and asks before anything destructive, and the tests read it.

use serde::Serialize;

use super::FieldChange;

/// What `up` would do with one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Nothing: it is as wanted.
    None,
    /// Make it.
    Create,
    /// Change it in place.
    Update,
    /// Delete it and make it again.
    Replace,
    /// Delete it: tagged as this deployment's, but the env file no longer describes it.
    Delete,
    /// Nothing: AWS cannot take the change in place; `reason` says how to make it.
    Refuse,
}

impl Action {
    /// The word in plans and summaries.
    pub fn word(self) -> &'static str {
        match self {
            Action::None => "no change",
            Action::Create => "create",
            Action::Update => "update",
            Action::Replace => "replace",
            Action::Delete => "delete",
            Action::Refuse => "refuse",
        }
    }
}

/// One resource's entry in a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The action.
    pub action: Action,
    /// The resource's kind, in `status`'s words.
    pub kind: &'static str,
    /// Its name.
    pub name: String,
    /// Its id, when it exists.
    pub id: Option<String>,
    /// Why this changes what it does, when that is not plain from the fields (a replacement's
    /// or refusal's reason).
    pub reason: Option<String>,
    /// The field changes (updates), or the settings a new resource gets (creates).
    pub fields: Vec<FieldChange>,
    /// Set when the change loses something: what.
    pub destructive: Option<String>,
}

impl Change {
    /// Whether `up` would act on it.
    pub fn acts(&self) -> bool {
        !matches!(self.action, Action::None | Action::Refuse)
    }
}

/// The plan for a whole stack.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Every resource's entry, in dependency order; `Action::None` ones included.
    pub changes: Vec<Change>,
    /// What the user should know that is not a change (a recorded id that is not ours, an
    /// image outside the region's ECR).
    pub notes: Vec<String>,
}

impl Plan {
    /// The entries that change something (or are refused).
    pub fn pending(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| c.action != Action::None)
    }

    /// Whether `up` would change nothing.
    pub fn is_empty(&self) -> bool {
        self.pending().next().is_none()
    }

    /// The refused entries.
    pub fn refused(&self) -> Vec<&Change> {
        self.changes
            .iter()
            .filter(|c| c.action == Action::Refuse)
            .collect()
    }

    /// The destructive entries.
    pub fn destructive(&self) -> Vec<&Change> {
        self.changes
            .iter()
            .filter(|c| c.acts() && c.destructive.is_some())
            .collect()
    }

    /// "2 to create, 1 to update, 1 destructive", or "no changes".
    pub fn summary(&self) -> String {
        let count = |action| self.changes.iter().filter(|c| c.action == action).count();
        let mut parts: Vec<String> = [
            (Action::Create, "to create"),
            (Action::Update, "to update"),
            (Action::Replace, "to replace"),
            (Action::Delete, "to delete"),
            (Action::Refuse, "refused"),
        ]
        .into_iter()
        .filter_map(|(action, words)| {
            let n = count(action);
            (n > 0).then(|| format!("{n} {words}"))
        })
        .collect();
        if parts.is_empty() {
            return "no changes".to_string();
        }
        let destructive = self.destructive().len();
        if destructive > 0 {
            parts.push(format!("{destructive} destructive"));
        }
        parts.join(", ")
    }
}

/// The stable JSON document of `plan --json` (format 1).
#[derive(Debug, Serialize)]
pub struct Document<'a> {
    /// Version of this document's shape.
    pub format_version: u32,
    /// Deployment name.
    pub deployment: &'a str,
    /// Region.
    pub region: &'a str,
    /// Only what would change (or is refused), in dependency order.
    pub changes: Vec<DocumentChange<'a>>,
    /// What the user should know that is not a change (a recorded id that is not ours).
    pub notes: &'a [String],
}

/// One change in [`Document`].
#[derive(Debug, Serialize)]
pub struct DocumentChange<'a> {
    /// `create`, `update`, `replace`, `delete` or `refuse`.
    pub action: Action,
    /// Kind, in `status`'s words.
    pub kind: &'static str,
    /// Name.
    pub name: &'a str,
    /// Id, or null when it does not exist yet.
    pub id: Option<&'a str>,
    /// Whether the change loses something (a replacement, a deletion, a shorter log
    /// retention, a new public URL).
    pub destructive: bool,
    /// Why, or null.
    pub reason: Option<String>,
    /// Field changes: `from` is null when unset; `to` is "(known after up)" when only `up`
    /// can tell.
    pub fields: Vec<DocumentField<'a>>,
}

/// One field in [`DocumentChange`].
#[derive(Debug, Serialize)]
pub struct DocumentField<'a> {
    /// Field name.
    pub field: &'a str,
    /// Value now, or null.
    pub from: Option<&'a str>,
    /// Value after `up`.
    pub to: String,
}

impl Plan {
    /// The plan as the stable JSON document.
    pub fn document<'a>(&'a self, deployment: &'a str, region: &'a str) -> Document<'a> {
        Document {
            format_version: 1,
            deployment,
            region,
            changes: self
                .pending()
                .map(|c| DocumentChange {
                    action: c.action,
                    kind: c.kind,
                    name: &c.name,
                    id: c.id.as_deref(),
                    destructive: c.destructive.is_some(),
                    reason: match (&c.reason, &c.destructive) {
                        (Some(reason), Some(loss)) if reason != loss => {
                            Some(format!("{reason}; {loss}"))
                        }
                        (Some(reason), _) => Some(reason.clone()),
                        (None, loss) => loss.clone(),
                    },
                    fields: c
                        .fields
                        .iter()
                        .map(|f| DocumentField {
                            field: &f.field,
                            from: f.from.as_deref(),
                            to: f.to.to_string(),
                        })
                        .collect(),
                })
                .collect(),
            notes: &self.notes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Value;

    fn change(action: Action, destructive: Option<&str>) -> Change {
        Change {
            action,
            kind: "log group",
            name: "/ecs/a/b".into(),
            id: None,
            reason: None,
            fields: vec![FieldChange {
                field: "retention_days".into(),
                from: Some("30".into()),
                to: Value::Known("7".into()),
                destructive: destructive.map(str::to_string),
            }],
            destructive: destructive.map(str::to_string),
        }
    }

    #[test]
    fn the_summary_counts_each_action_and_what_is_destructive() {
        let plan = Plan {
            changes: vec![
                change(Action::Create, None),
                change(Action::Create, None),
                change(Action::Update, Some("older events are deleted")),
                change(Action::None, None),
            ],
            notes: vec![],
        };
        assert_eq!(plan.summary(), "2 to create, 1 to update, 1 destructive");
        assert_eq!(Plan::default().summary(), "no changes");
        assert!(Plan::default().is_empty());
    }

    #[test]
    fn the_document_lists_only_changes_with_their_fields() {
        let plan = Plan {
            changes: vec![
                change(Action::None, None),
                change(Action::Update, Some("x")),
            ],
            notes: vec![],
        };
        let json = serde_json::to_value(plan.document("d", "r")).expect("json");
        assert_eq!(
            json,
            serde_json::json!({
                "format_version": 1, "deployment": "d", "region": "r",
                "changes": [{"action": "update", "kind": "log group", "name": "/ecs/a/b",
                             "id": null, "destructive": true, "reason": "x",
                             "fields": [{"field": "retention_days", "from": "30", "to": "7"}]}],
                "notes": []
            })
        );
    }
}
