//! The image's ECR repository, and whether the image is pushed.
//!
//! When `service.image` points at this account's ECR in the stack's region, a missing
//! repository is created (scan on push, a lifecycle rule for untagged images) and tagged as
//! created by gwfargate. A repository that already existed is only read, never changed or
//! deleted. If the image is not pushed yet, `up` stops here with [`ImageNotPushed`]: everything
//! that does not need the image is still built, and `up` exits 3 with the commands to push it.

use aws_sdk_ecr::types::{
    EncryptionConfiguration, EncryptionType, ImageIdentifier, ImageScanningConfiguration,
    ImageTagMutability, Repository as Repo,
};
use serde::{Deserialize, Serialize};

use crate::aws::errors::has_code;
use crate::aws::tags;
use crate::aws::{AwsResultExt as _, found};
use crate::config::ImageRef;
use crate::config::names::TAG_CREATED;
use crate::error::ImageNotPushed;
use crate::model::{Cx, Dep, Depth, Diff, Env, ForeignUse, Inputs, Key, Ownership, Resource, Seen};
use crate::state::Intent;

const LIFECYCLE_POLICY: &str = r#"{"rules":[{"rulePriority":1,"description":"expire untagged images after 14 days","selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":14},"action":{"type":"expire"}}]}"#;

/// The repository of the service's image.
pub struct Repository {
    name: String,
    image: Option<ImageRef>,
    reference: String,
    immutable_tags: bool,
    kms_key: Option<String>,
}

impl Repository {
    /// The repository of `image`, when it is in this account's ECR in the stack's region.
    pub fn for_image(image: &str, region: &str, account: &str) -> Option<Repository> {
        let parsed = ImageRef::parse(image).ok()?;
        let loc = parsed.ecr()?;
        (loc.region == region && loc.account == account).then(|| Repository {
            name: parsed.repository.clone(),
            image: Some(parsed),
            reference: image.to_string(),
            immutable_tags: false,
            kms_key: None,
        })
    }

    /// Makes a pushed tag unable to point at another image (in a repository gwfargate made).
    pub fn with_immutable_tags(mut self, immutable: bool) -> Repository {
        self.immutable_tags = immutable;
        self
    }

    /// Encrypts the images with `key` instead of ECR's own (in a repository gwfargate makes).
    pub fn with_kms_key(mut self, key: Option<String>) -> Repository {
        self.kms_key = key;
        self
    }

    /// The encryption in words: `KMS <key>` or `AES256` (ECR's own).
    fn encryption_words(kind: &str, key: Option<&str>) -> String {
        match key {
            Some(key) if kind == "KMS" => format!("KMS {key}"),
            _ => kind.to_string(),
        }
    }

    fn mutability(&self) -> ImageTagMutability {
        if self.immutable_tags {
            ImageTagMutability::Immutable
        } else {
            ImageTagMutability::Mutable
        }
    }

    /// A repository the state file records but the env file no longer uses.
    pub fn no_longer_used(name: &str) -> Repository {
        Repository {
            name: name.to_string(),
            image: None,
            reference: String::new(),
            immutable_tags: false,
            kms_key: None,
        }
    }

    fn pushed(&self, images: &[ImageIdentifier]) -> bool {
        self.image.is_none() || self.pushed_digest(images).is_some()
    }

    /// The digest of the image the env file names, as pushed now: a tag pushed again moves
    /// to a new digest.
    fn pushed_digest<'a>(&self, images: &'a [ImageIdentifier]) -> Option<&'a str> {
        let image = self.image.as_ref()?;
        images
            .iter()
            .find(|id| match (&image.digest, &image.tag) {
                (Some(digest), _) => id.image_digest() == Some(digest.as_str()),
                (None, Some(tag)) => id.image_tag() == Some(tag.as_str()),
                (None, None) => id.image_tag() == Some("latest"),
            })
            .and_then(ImageIdentifier::image_digest)
    }

    /// The image pinned to the digest its tag names now (`<registry>/<repo>@sha256:...`).
    fn pinned(&self, images: &[ImageIdentifier]) -> Option<String> {
        let image = self.image.as_ref()?;
        let digest = self.pushed_digest(images)?;
        let registry = image
            .registry
            .as_deref()
            .map(|r| format!("{r}/"))
            .unwrap_or_default();
        Some(format!("{registry}{}@{digest}", image.repository))
    }

    async fn images(&self, cx: &Cx<'_>) -> anyhow::Result<Vec<ImageIdentifier>> {
        let mut ids = Vec::new();
        let mut pages = cx
            .aws
            .ecr
            .list_images()
            .repository_name(&self.name)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page =
                page.aws(|| format!("listing the images of ECR repository {}", self.name))?;
            ids.extend(page.image_ids().iter().cloned());
        }
        Ok(ids)
    }
}

/// The repository, with what the diff and the push check need when read.
#[derive(Debug, Clone)]
pub struct Live {
    /// The repository.
    pub repo: Repo,
    /// Whether it carries this deployment's tag and `gwfargate:created` (`None`: not read).
    pub created_by_us: Option<bool>,
    /// Whether it has a lifecycle policy (`None`: not read).
    pub lifecycle: Option<bool>,
    /// The images it holds (`None`: not read).
    pub images: Option<Vec<ImageIdentifier>>,
    /// Its tags (`None`: not read).
    pub tags: Option<tags::Tags>,
}

/// What the repository hands its dependents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outputs {
    /// Repository name.
    pub name: String,
    /// Repository ARN.
    pub arn: String,
    /// The service's image pinned to the digest its tag names now, once pushed and read: ECS
    /// resolves a tag only when a task starts, so a tag pushed again would otherwise never
    /// reach the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
}

impl Resource for Repository {
    type Live = Live;
    type Outputs = Outputs;

    fn key(&self) -> Key {
        "repository".to_string()
    }

    fn kind(&self) -> &'static str {
        "ecr repository"
    }

    fn name(&self) -> String {
        self.name.clone()
    }

    fn deps(&self) -> Vec<Dep> {
        Vec::new()
    }

    async fn lookup(
        &self,
        cx: &Cx<'_>,
        _inputs: &Inputs<'_>,
        depth: Depth,
    ) -> anyhow::Result<Option<Live>> {
        let out = found(
            cx.aws
                .ecr
                .describe_repositories()
                .repository_names(&self.name)
                .send()
                .await
                .aws(|| format!("looking up ECR repository {}", self.name)),
        )?;
        let Some(repo) = out.and_then(|o| o.repositories().first().cloned()) else {
            return Ok(None);
        };
        if depth == Depth::Observe {
            return Ok(Some(Live {
                repo,
                created_by_us: None,
                lifecycle: None,
                images: None,
                tags: None,
            }));
        }
        let arn = repo.repository_arn().unwrap_or_default().to_string();
        let tagged = cx
            .aws
            .ecr
            .list_tags_for_resource()
            .resource_arn(&arn)
            .send()
            .await
            .aws(|| format!("reading the tags of {arn}"))?;
        let pairs: Vec<(&str, &str)> = tagged.tags().iter().map(|t| (t.key(), t.value())).collect();
        let created_by_us = cx.is_ours(pairs.iter().copied())
            && pairs.iter().any(|(k, v)| *k == TAG_CREATED && *v == "true");
        let lifecycle = if created_by_us {
            let policy = cx
                .aws
                .ecr
                .get_lifecycle_policy()
                .repository_name(&self.name)
                .send()
                .await
                .aws(|| {
                    format!(
                        "reading the lifecycle policy of ECR repository {}",
                        self.name
                    )
                });
            match policy {
                Ok(_) => Some(true),
                Err(err)
                    if has_code(
                        &err,
                        &[
                            "LifecyclePolicyNotFoundException",
                            "RepositoryNotFoundException",
                        ],
                    ) =>
                {
                    Some(false)
                }
                Err(err) => return Err(err),
            }
        } else {
            None
        };
        Ok(Some(Live {
            repo,
            created_by_us: Some(created_by_us),
            lifecycle,
            images: Some(self.images(cx).await?),
            tags: Some(tags::owned(pairs.into_iter())),
        }))
    }

    fn tags(&self, live: &Live) -> Option<tags::Tags> {
        live.tags.clone()
    }

    async fn retag(
        &self,
        cx: &Cx<'_>,
        live: &Live,
        changes: &crate::model::TagChanges,
    ) -> anyhow::Result<()> {
        tags::retag_ecr(&cx.aws, &self.id(live), &changes.set, &changes.remove).await
    }

    fn ownership(&self, _env: &Env, live: &Live) -> Ownership {
        match live.created_by_us {
            Some(true) => Ownership::Ours,
            Some(false) => Ownership::NotOurs,
            None => Ownership::Unknown,
        }
    }

    fn foreign_use(&self) -> ForeignUse {
        ForeignUse::UseAsIs
    }

    fn id(&self, live: &Live) -> String {
        live.repo.repository_arn().unwrap_or_default().to_string()
    }

    fn outputs(&self, _env: &Env, live: &Live) -> Outputs {
        Outputs {
            name: self.name.clone(),
            arn: self.id(live),
            image: live
                .images
                .as_deref()
                .and_then(|images| self.pinned(images)),
        }
    }

    fn planned_outputs(&self, env: &Env) -> Option<Outputs> {
        Some(Outputs {
            name: self.name.clone(),
            arn: env.arn("ecr", &format!("repository/{}", self.name)),
            image: None,
        })
    }

    fn diff(&self, _env: &Env, live: &Live, _inputs: &Inputs<'_>) -> Diff {
        let mut diff = Diff::none();
        if live.created_by_us == Some(true) && live.lifecycle == Some(false) {
            diff.change(
                "lifecycle_policy",
                None,
                "expire untagged images after 14 days",
            );
        }
        if live.created_by_us == Some(true) && self.image.is_some() {
            let encryption = live.repo.encryption_configuration();
            let have = Self::encryption_words(
                encryption.map_or("AES256", |e| e.encryption_type().as_str()),
                encryption.and_then(|e| e.kms_key()),
            );
            let want = Self::encryption_words(
                if self.kms_key.is_some() {
                    "KMS"
                } else {
                    "AES256"
                },
                self.kms_key.as_deref(),
            );
            // Without the key, the repository keeps the encryption it was made with.
            if self.kms_key.is_some() && have != want {
                diff.change("encryption", Some(have), want);
                diff.refuse = Some(
                    "ECR sets a repository's encryption when it makes it. To change it, push \
                     the image to a new repository and name that one in the env file (or take \
                     the whole stack down with `gwfargate down --purge`, which also deletes \
                     the repository and its images, and run `up` again)"
                        .to_string(),
                );
            }
            let have = live
                .repo
                .image_tag_mutability()
                .unwrap_or(&ImageTagMutability::Mutable);
            diff.compare(
                "image_tags",
                Some(have.as_str()),
                self.mutability().as_str(),
            );
        }
        diff
    }

    /// One already there (ours if a lost answer made it, else the user's, made meanwhile and
    /// used as it is) is found by create-once's lookup.
    async fn create(
        &self,
        cx: &Cx<'_>,
        _inputs: &Inputs<'_>,
        _intent: &Intent,
    ) -> anyhow::Result<Live> {
        let mut our_tags = cx.tags(&self.name);
        our_tags.push((TAG_CREATED.to_string(), "true".to_string()));
        let out = cx
            .aws
            .ecr
            .create_repository()
            .repository_name(&self.name)
            .image_scanning_configuration(
                ImageScanningConfiguration::builder()
                    .scan_on_push(true)
                    .build(),
            )
            .image_tag_mutability(self.mutability())
            .set_encryption_configuration(
                self.kms_key
                    .as_ref()
                    .map(|key| {
                        EncryptionConfiguration::builder()
                            .encryption_type(EncryptionType::Kms)
                            .kms_key(key)
                            .build()
                    })
                    .transpose()?,
            )
            .set_tags(Some(tags::ecr(&our_tags)?))
            .send()
            .await
            .aws(|| format!("creating ECR repository {}", self.name))?;
        Ok(Live {
            repo: out
                .repository()
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("CreateRepository returned no repository"))?,
            created_by_us: Some(true),
            lifecycle: Some(false),
            images: None,
            tags: Some(our_tags),
        })
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        _live: &Live,
        diff: &Diff,
        _inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<Live>> {
        if diff.changes("lifecycle_policy") {
            cx.aws
                .ecr
                .put_lifecycle_policy()
                .repository_name(&self.name)
                .lifecycle_policy_text(LIFECYCLE_POLICY)
                .send()
                .await
                .aws(|| {
                    format!(
                        "setting the lifecycle policy of ECR repository {}",
                        self.name
                    )
                })?;
        }
        if diff.changes("image_tags") {
            cx.aws
                .ecr
                .put_image_tag_mutability()
                .repository_name(&self.name)
                .image_tag_mutability(self.mutability())
                .send()
                .await
                .aws(|| format!("setting the tag mutability of ECR repository {}", self.name))?;
        }
        Ok(None)
    }

    /// Ready once the image is pushed; until then `up` stops here, having built everything
    /// that does not need the image.
    async fn wait_ready(
        &self,
        cx: &Cx<'_>,
        live: Live,
        _inputs: &Inputs<'_>,
    ) -> anyhow::Result<Live> {
        let images = match &live.images {
            Some(images) if self.pushed(images) => return Ok(live),
            _ => self.images(cx).await?,
        };
        if self.pushed(&images) {
            return Ok(Live {
                images: Some(images),
                ..live
            });
        }
        Err(ImageNotPushed {
            image: self.reference.clone(),
            registry: self
                .image
                .as_ref()
                .and_then(|i| i.registry.clone())
                .unwrap_or_default(),
            region: cx.deployment.region.clone(),
            up_command: cx.hints.command("up"),
            profile: cx.hints.profile.clone(),
        }
        .into())
    }

    fn advice(&self, env: &Env, live: &Live) -> Option<String> {
        let images = live.images.as_ref()?;
        (self.image.is_some() && !self.pushed(images)).then(|| {
            format!(
                "image {} is not pushed yet: `{}` builds everything that does not need it, then \
                 stops and says how to push it",
                self.reference,
                env.hints.command("up")
            )
        })
    }

    fn kept(&self, env: &Env, live: &Live) -> Option<String> {
        let count = live.images.as_ref().map_or(0, Vec::len);
        (count > 0 && !env.choices.purge).then(|| {
            format!(
                "it holds {count} image(s); `{}` deletes it with them",
                env.hints.command("down --purge")
            )
        })
    }

    async fn delete(
        &self,
        cx: &Cx<'_>,
        live: &Live,
        _inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<String>> {
        let count = live.images.as_ref().map_or(0, Vec::len);
        cx.aws
            .ecr
            .delete_repository()
            .repository_name(&self.name)
            .force(cx.choices.purge)
            .send()
            .await
            .aws(|| format!("deleting ECR repository {}", self.name))?;
        Ok(Some(format!("{count} image(s)")))
    }

    fn summary(&self, live: &Live) -> String {
        match &live.images {
            Some(images) if self.image.is_some() && self.pushed(images) => {
                format!("{}, image pushed", self.name)
            }
            _ => self.name.clone(),
        }
    }

    fn observe(&self, live: &Live) -> Seen {
        Seen::new(&self.id(live), "present")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::World;
    use crate::resources::testing::env;

    const IMAGE: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/microservice1:1.0.0";

    fn live(created: bool, lifecycle: bool, tags: &[&str]) -> Live {
        Live {
            repo: Repo::builder().repository_name("microservice1").build(),
            created_by_us: Some(created),
            lifecycle: Some(lifecycle),
            images: Some(
                tags.iter()
                    .enumerate()
                    .map(|(i, t)| {
                        ImageIdentifier::builder()
                            .image_tag(*t)
                            .image_digest(format!("sha256:{i:064}"))
                            .build()
                    })
                    .collect(),
            ),
            tags: None,
        }
    }

    #[test]
    fn the_image_is_pinned_to_the_digest_its_tag_names_now() {
        let env = env();
        let r = Repository::for_image(IMAGE, "eu-west-1", "123456789012").expect("managed");
        let pushed = live(true, true, &["0.9.0", "1.0.0"]);
        assert_eq!(
            r.outputs(&env, &pushed).image.as_deref(),
            Some(
                "123456789012.dkr.ecr.eu-west-1.amazonaws.com/microservice1@sha256:\
                 0000000000000000000000000000000000000000000000000000000000000001"
            )
        );
        let not_pushed = live(true, true, &["0.9.0"]);
        assert_eq!(r.outputs(&env, &not_pushed).image, None);
    }

    #[test]
    fn only_this_accounts_ecr_in_the_region_is_managed() {
        assert!(Repository::for_image(IMAGE, "eu-west-1", "123456789012").is_some());
        assert!(Repository::for_image(IMAGE, "us-east-1", "123456789012").is_none());
        assert!(Repository::for_image(IMAGE, "eu-west-1", "999999999999").is_none());
        assert!(Repository::for_image("nginx:1", "eu-west-1", "123456789012").is_none());
    }

    #[test]
    fn ours_gets_its_lifecycle_rule_back_the_users_is_never_changed() {
        let env = env();
        let r = Repository::for_image(IMAGE, "eu-west-1", "123456789012").expect("managed");
        let world = World::default();
        assert_eq!(
            r.diff(&env, &live(true, false, &[]), &world.inputs())
                .words(),
            "lifecycle_policy (none) → expire untagged images after 14 days"
        );
        assert!(r.diff(&env, &live(false, false, &[]), &world.inputs()) == Diff::none());
        assert!(r.pushed(&live(true, true, &["1.0.0"]).images.expect("read")));
        assert!(!r.pushed(&live(true, true, &["0.9"]).images.expect("read")));
    }

    #[test]
    fn a_repository_holding_images_is_kept_unless_purged() {
        let mut env = env();
        let r = Repository::no_longer_used("microservice1");
        assert!(r.kept(&env, &live(true, true, &[])).is_none());
        let why = r.kept(&env, &live(true, true, &["1.0.0"])).expect("kept");
        assert!(
            why.contains("holds 1 image(s)") && why.contains("down --purge"),
            "{why}"
        );
        env.choices.purge = true;
        assert!(r.kept(&env, &live(true, true, &["1.0.0"])).is_none());
    }
}
