//! The image's ECR repository, and whether the image is pushed.
//!
//! When `service.image` points at this account's ECR in the stack's region, a missing
//! repository is created (scan on push, a lifecycle rule for untagged images) and tagged as
//! created by gwfargate. A repository that already existed is only read, never deleted. If the
//! tag is not pushed yet, this step fails with [`ImageNotPushed`]: everything that does not need
//! the image is still built, and `up` exits 3 with the commands to push it.
//! An image anywhere else is used as given.

use aws_sdk_ecr::types::{ImageIdentifier, ImageScanningConfiguration, Repository, Tag};

use super::{Ctx, Observed};
use crate::aws::{AwsResultExt as _, found, has_code};
use crate::config::ImageRef;
use crate::error::ImageNotPushed;
use crate::names::TAG_CREATED;
use crate::progress::StepProgress;
use crate::state::Record;

/// State key.
pub const KEY: &str = "repository";

const LIFECYCLE_POLICY: &str = r#"{"rules":[{"rulePriority":1,"description":"expire untagged images after 14 days","selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":14},"action":{"type":"expire"}}]}"#;

/// The image reference, when it lives in ECR in the stack's region: the only registry the
/// tasks can reach through the VPC endpoints.
fn in_regional_ecr(ctx: &Ctx) -> Option<ImageRef> {
    let image = ImageRef::parse(&ctx.deployment.service.image).ok()?;
    (image.ecr()?.region == ctx.deployment.region).then_some(image)
}

/// The image reference, when it lives in this account's ECR in the stack's region.
pub fn managed_image(ctx: &Ctx) -> Option<ImageRef> {
    in_regional_ecr(ctx).filter(|image| image.ecr().is_some_and(|loc| loc.account == ctx.account))
}

/// The repository, by name.
pub async fn find(ctx: &Ctx, name: &str) -> anyhow::Result<Option<Repository>> {
    let out = found(
        ctx.aws
            .ecr
            .describe_repositories()
            .repository_names(name)
            .send()
            .await
            .aws(|| format!("looking up ECR repository {name}")),
    )?;
    Ok(out.and_then(|o| o.repositories().first().cloned()))
}

/// Whether gwfargate created the repository: recorded so, or tagged so (state lost).
async fn created_by_us(ctx: &Ctx, repo: &Repository) -> anyhow::Result<bool> {
    if ctx.state.get(KEY).is_some_and(|r| r.created) {
        return Ok(true);
    }
    let Some(arn) = repo.repository_arn() else {
        return Ok(false);
    };
    let out = ctx
        .aws
        .ecr
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .aws(|| format!("reading the tags of {arn}"))?;
    let tags: Vec<(&str, &str)> = out.tags().iter().map(|t| (t.key(), t.value())).collect();
    Ok(ctx.is_ours(tags.iter().copied())
        && tags.iter().any(|(k, v)| *k == TAG_CREATED && *v == "true"))
}

/// Finds or creates the repository, then checks that the image is pushed.
pub async fn ensure(ctx: &Ctx, p: &StepProgress) -> anyhow::Result<String> {
    let Some(image) = managed_image(ctx) else {
        let given = &ctx.deployment.service.image;
        if in_regional_ecr(ctx).is_none() {
            ctx.progress.line(&format!(
                "warning: {given} is outside ECR in {region}. The tasks run in private subnets \
                 with no route to the internet and reach only {region}'s ECR through the VPC \
                 endpoints, so they cannot pull it; the service will not become steady. Push \
                 the image to ECR in {region} (or put a pull-through cache there) and use that \
                 reference",
                region = ctx.deployment.region
            ));
        }
        return Ok(format!("{given} is used as given"));
    };
    let name = image.repository.clone();
    let summary = match find(ctx, &name).await? {
        Some(repo) => {
            let created = created_by_us(ctx, &repo).await?;
            ctx.record(
                KEY,
                Record {
                    id: repo.repository_arn().unwrap_or_default().to_string(),
                    created,
                    attrs: [("name".to_string(), name.clone())].into(),
                },
            )?;
            if created {
                // A run cut short after CreateRepository may have left it without its rule.
                ensure_lifecycle_policy(ctx, &name).await?;
                format!("found {name}")
            } else {
                format!("found {name} (yours: gwfargate never deletes it)")
            }
        }
        None => {
            p.set(format!("creating {name}"));
            ctx.intend(KEY, super::Step::Repository, &name)?;
            let mut tags = ctx.tags(&name);
            tags.push((TAG_CREATED.to_string(), "true".to_string()));
            let tags: Vec<Tag> = tags
                .into_iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect::<Result<_, _>>()?;
            let out = ctx
                .aws
                .ecr
                .create_repository()
                .repository_name(&name)
                .image_scanning_configuration(
                    ImageScanningConfiguration::builder()
                        .scan_on_push(true)
                        .build(),
                )
                .set_tags(Some(tags))
                .send()
                .await;
            let (arn, created) = match out.aws(|| format!("creating ECR repository {name}")) {
                Ok(out) => (
                    out.repository()
                        .and_then(|r| r.repository_arn().map(str::to_string)),
                    true,
                ),
                // Ours if a lost answer made it (it carries our tags); else the user's, made
                // meanwhile, and never to be deleted.
                Err(err) if has_code(&err, &["RepositoryAlreadyExistsException"]) => {
                    match find(ctx, &name).await? {
                        Some(repo) => (
                            repo.repository_arn().map(str::to_string),
                            created_by_us(ctx, &repo).await?,
                        ),
                        None => (None, false),
                    }
                }
                Err(err) => return Err(err),
            };
            let arn = arn.ok_or_else(|| anyhow::anyhow!("CreateRepository returned no ARN"))?;
            ctx.record(
                KEY,
                Record {
                    id: arn,
                    created,
                    attrs: [("name".to_string(), name.clone())].into(),
                },
            )?;
            if created {
                ensure_lifecycle_policy(ctx, &name).await?;
                format!("created {name}")
            } else {
                format!("found {name} (yours: gwfargate never deletes it)")
            }
        }
    };
    p.set("checking the image is pushed");
    let id = match (&image.tag, &image.digest) {
        (_, Some(digest)) => ImageIdentifier::builder().image_digest(digest).build(),
        (Some(tag), None) => ImageIdentifier::builder().image_tag(tag).build(),
        (None, None) => ImageIdentifier::builder().image_tag("latest").build(),
    };
    let images = ctx
        .aws
        .ecr
        .describe_images()
        .repository_name(&name)
        .image_ids(id)
        .send()
        .await
        .aws(|| format!("looking up image {}", ctx.deployment.service.image));
    let pushed = match images {
        Ok(out) => !out.image_details().is_empty(),
        Err(err) if has_code(&err, &["ImageNotFoundException"]) => false,
        Err(err) => return Err(err),
    };
    if !pushed {
        return Err(ImageNotPushed {
            image: ctx.deployment.service.image.clone(),
            registry: image.registry.clone().unwrap_or_default(),
            region: ctx.deployment.region.clone(),
            up_command: ctx.command("up"),
            profile: ctx.profile.clone(),
        }
        .into());
    }
    Ok(format!("{summary}, image pushed"))
}

/// Puts the rule that expires untagged images, unless the repository has a lifecycle policy.
async fn ensure_lifecycle_policy(ctx: &Ctx, name: &str) -> anyhow::Result<()> {
    let current = found(
        ctx.aws
            .ecr
            .get_lifecycle_policy()
            .repository_name(name)
            .send()
            .await
            .aws(|| format!("reading the lifecycle policy of ECR repository {name}")),
    );
    match current {
        Ok(Some(_)) => return Ok(()),
        Ok(None) => {}
        Err(err) if has_code(&err, &["LifecyclePolicyNotFoundException"]) => {}
        Err(err) => return Err(err),
    }
    ctx.aws
        .ecr
        .put_lifecycle_policy()
        .repository_name(name)
        .lifecycle_policy_text(LIFECYCLE_POLICY)
        .send()
        .await
        .aws(|| format!("setting the lifecycle policy of ECR repository {name}"))?;
    Ok(())
}

/// Live state.
pub async fn observe(ctx: &Ctx) -> anyhow::Result<Vec<Observed>> {
    let Some(image) = managed_image(ctx) else {
        return Ok(Vec::new());
    };
    Ok(vec![match find(ctx, &image.repository).await? {
        Some(repo) => Observed::present(
            "ecr repository",
            &image.repository,
            repo.repository_arn().unwrap_or_default(),
            "present",
        ),
        None => Observed::missing("ecr repository", &image.repository),
    }])
}

/// Deletes the repository only if gwfargate created it, and only when it holds no image
/// unless `--purge` was given.
pub async fn delete(ctx: &Ctx, _p: &StepProgress) -> anyhow::Result<String> {
    let Some(image) = managed_image(ctx) else {
        return Ok("nothing to do".to_string());
    };
    let name = &image.repository;
    let Some(repo) = find(ctx, name).await? else {
        ctx.state.forget(KEY)?;
        return Ok("already gone".to_string());
    };
    if !created_by_us(ctx, &repo).await? {
        ctx.state.forget(KEY)?;
        return Ok(format!("kept {name}: it existed before gwfargate"));
    }
    let images = ctx
        .aws
        .ecr
        .list_images()
        .repository_name(name)
        .send()
        .await
        .aws(|| format!("listing the images of ECR repository {name}"))?;
    let count = images.image_ids().len();
    if count > 0 && !ctx.purge {
        ctx.state.forget(KEY)?;
        return Ok(format!(
            "kept {name}: it holds {count} image(s); `{}` deletes it with them",
            ctx.command("down --purge")
        ));
    }
    found(
        ctx.aws
            .ecr
            .delete_repository()
            .repository_name(name)
            .force(ctx.purge)
            .send()
            .await
            .aws(|| format!("deleting ECR repository {name}")),
    )?;
    ctx.state.forget(KEY)?;
    Ok(format!("deleted {name} ({count} image(s))"))
}
