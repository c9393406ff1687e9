//! `gwfargate deploy`: another image on the built stack, and nothing else. The image is
//! recorded, so a later `up` keeps it while the env file's own `image` stays as it was.

use super::session::{self, Purpose};
use super::up;
use crate::cli::{DeployArgs, Global};
use crate::config::image::ImageRef;
use crate::error::UsageError;
use crate::state::last_applied::SetBy;

/// What a deploy may change: the image of a new task definition revision, and the revision
/// the service runs.
const DEPLOYED: up::Only = up::Only {
    command: "deploy",
    what: "the image",
    fields: &[
        ("task definition", "image"),
        ("ecs service", "task_definition"),
    ],
};

/// Deploys `args.image`; returns the invoke URL.
pub async fn deploy(args: &DeployArgs, global: &Global) -> anyhow::Result<String> {
    let mut target = up::built_target(Some(&args.env), global, Purpose::Deploy, DEPLOYED)?;
    same_repository(&args.image, &target.deployment.service.image)?;
    target.deployment.service.image.clone_from(&args.image);
    target.set.image = Some(SetBy::now(args.image.clone(), "deploy"));
    session::check_image(&target.deployment, &args.image_check)?;
    up::apply_only(
        target,
        global,
        Purpose::Deploy,
        DEPLOYED,
        args.no_wait,
        args.concurrency,
    )
    .await
}

/// Refuses an image outside the stack's repository: the repository is part of the stack, and
/// which one it is is the env file's to say.
fn same_repository(image: &str, stack_image: &str) -> anyhow::Result<()> {
    let given = ImageRef::parse(image)
        .map_err(|why| UsageError(format!("--image: {why}; nothing was changed")))?;
    let Ok(stack) = ImageRef::parse(stack_image) else {
        return Ok(());
    };
    if (&given.registry, &given.repository) == (&stack.registry, &stack.repository) {
        return Ok(());
    }
    let name = |r: &ImageRef| match &r.registry {
        Some(registry) => format!("{registry}/{}", r.repository),
        None => r.repository.clone(),
    };
    Err(UsageError(format!(
        "--image {image} is not in the stack's repository {}, and nothing was changed. `deploy` \
         runs another image of that repository; to use another repository, change `image` in \
         the env file and run `up`",
        name(&stack)
    ))
    .into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_images_of_the_stacks_repository_are_deployed() {
        let stack = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/microservice1:1.0.0";
        assert!(
            same_repository(
                "123456789012.dkr.ecr.eu-west-1.amazonaws.com/microservice1:2.0.0",
                stack
            )
            .is_ok()
        );
        assert!(
            same_repository(
                "123456789012.dkr.ecr.eu-west-1.amazonaws.com/microservice1@sha256:\
                 0123456789012345678901234567890123456789012345678901234567890123",
                stack
            )
            .is_ok()
        );
        let other = same_repository(
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/other:2.0.0",
            stack,
        )
        .expect_err("another repository");
        assert!(
            other.to_string().contains("not in the stack's repository"),
            "{other}"
        );
        let bad = same_repository("Not An Image", stack).expect_err("not a reference");
        assert!(bad.to_string().contains("--image"), "{bad}");
    }
}
