//! `gwfargate revisions`: the task definition revisions kept for `rollback`, newest first,
//! each with its image, when and by which command it was registered, and which one runs.

use crate::aws::AwsResultExt as _;
use crate::model::Env;
use crate::model::status::Revision;
use crate::resources::ecs::task_definition::{self, TAG_BY, TaskDefinition};

/// The active revisions of the stack's family, newest first.
pub async fn revisions(env: &Env) -> anyhow::Result<Vec<Revision>> {
    let line = crate::progress::Silent;
    let cx = crate::model::Cx { env, line: &line };
    let family = &env.names.task_family;
    let running = crate::resources::ecs::service(&cx, &env.names.cluster, &env.names.service)
        .await?
        .and_then(|s| s.task_definition().map(str::to_string));
    let mut arns = TaskDefinition::active_revisions(&cx, family).await?;
    arns.sort_by_key(|arn| std::cmp::Reverse(task_definition::revision_number(arn)));
    let mut found = Vec::new();
    for arn in arns {
        let out = env
            .aws
            .ecs
            .describe_task_definition()
            .task_definition(&arn)
            .include(aws_sdk_ecs::types::TaskDefinitionField::Tags)
            .send()
            .await
            .aws(|| format!("reading {arn}"))?;
        if !env.is_ours(crate::aws::tags::from_ecs(out.tags())) {
            continue;
        }
        let definition = out.task_definition();
        found.push(Revision {
            revision: task_definition::revision_number(&arn),
            image: definition
                .and_then(|d| d.container_definitions().first())
                .and_then(|c| c.image())
                .map(str::to_string),
            registered_at: crate::aws::rfc3339(definition.and_then(|d| d.registered_at())),
            by: out
                .tags()
                .iter()
                .find(|t| t.key() == Some(TAG_BY))
                .and_then(|t| t.value().map(str::to_string)),
            running: running.as_deref() == Some(arn.as_str()),
            arn,
        });
    }
    Ok(found)
}

/// The revision `rollback` goes back to: `to`, when given and kept; else the newest one older
/// than the running one that runs another image.
pub fn rollback_target(revisions: &[Revision], to: Option<u32>) -> Result<&Revision, String> {
    let kept = || {
        revisions
            .iter()
            .map(|r| r.revision.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(to) = to {
        return revisions.iter().find(|r| r.revision == to).ok_or_else(|| {
            format!(
                "revision {to} is not kept (kept: {}); `gwfargate revisions` lists them",
                kept()
            )
        });
    }
    let running = revisions.iter().find(|r| r.running).ok_or_else(|| {
        "the service runs none of the kept revisions; name one with --to".to_string()
    })?;
    revisions
        .iter()
        .find(|r| r.revision < running.revision && r.image != running.image)
        .ok_or_else(|| {
            format!(
                "no revision older than the running {} runs another image (kept: {}); nothing \
                 to roll back to",
                running.revision,
                kept()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn revision(n: u32, image: &str, running: bool) -> Revision {
        Revision {
            revision: n,
            arn: format!("arn:aws:ecs:eu-west-1:1:task-definition/f:{n}"),
            image: Some(image.to_string()),
            registered_at: None,
            by: None,
            running,
        }
    }

    #[test]
    fn rollback_goes_to_the_newest_older_revision_of_another_image() {
        let kept = [
            revision(5, "app@sha256:b", true),
            revision(4, "app@sha256:b", false),
            revision(3, "app@sha256:a", false),
            revision(2, "app@sha256:z", false),
        ];
        assert_eq!(rollback_target(&kept, None).expect("one").revision, 3);
        assert_eq!(rollback_target(&kept, Some(2)).expect("named").revision, 2);
        let missing = rollback_target(&kept, Some(1)).expect_err("not kept");
        assert!(missing.contains("kept: 5, 4, 3, 2"), "{missing}");
        let only = [revision(1, "app@sha256:a", true)];
        assert!(rollback_target(&only, None).is_err());
    }
}
