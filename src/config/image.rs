//! Container image references: which registry, repository, tag or digest. gwfargate manages
//! the repository only when the image is in this account's ECR in the stack's region.

/// A container image reference, split into the parts gwfargate needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// Registry host, if the reference names one (`docker.io` style references have none).
    pub registry: Option<String>,
    /// Repository path within the registry.
    pub repository: String,
    /// Tag, or `None` when the reference pins a digest.
    pub tag: Option<String>,
    /// Digest (`sha256:...`) when pinned.
    pub digest: Option<String>,
}

/// Where an image lives when it is in an ECR registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcrLocation {
    /// The registry's account.
    pub account: String,
    /// The registry's region.
    pub region: String,
}

impl ImageRef {
    /// Splits `registry/repo:tag` or `registry/repo@sha256:...`; a missing tag means `latest`.
    pub fn parse(image: &str) -> Result<ImageRef, String> {
        let invalid = |why: &str| {
            format!(
                "{} is not an image reference: {why}",
                crate::printable::Quoted(image)
            )
        };
        if image.is_empty() || image.chars().any(|c| c.is_whitespace()) {
            return Err(invalid("it is empty or contains spaces"));
        }
        let (rest, digest) = match image.split_once('@') {
            Some((rest, digest)) => {
                if !digest.starts_with("sha256:") || digest.len() != 71 {
                    return Err(invalid("a digest is sha256: and 64 hex digits"));
                }
                (rest, Some(digest.to_string()))
            }
            None => (image, None),
        };
        let (registry, path) = match rest.split_once('/') {
            Some((first, path))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (Some(first.to_string()), path)
            }
            _ => (None, rest),
        };
        let (repository, tag) = match path.rsplit_once(':') {
            Some((repo, tag)) => (repo, Some(tag.to_string())),
            None => (path, None),
        };
        if repository.is_empty()
            || !repository
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-/".contains(c))
        {
            return Err(invalid(
                "the repository may hold only lowercase letters, digits, `.`, `_`, `-` and `/`",
            ));
        }
        // ECR and the OCI distribution spec: components of lowercase letters and digits,
        // joined by single `.`, `_` or `-`, separated by `/`; ECR names are 2 to 256 long
        // (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreateRepository.html).
        if let Some(component) = repository.split('/').find(|c| !is_path_component(c)) {
            return Err(invalid(&format!(
                "{} in the repository is not a name AWS accepts: each part between \
                 `/` starts and ends with a lowercase letter or digit, with single `.`, `_` or \
                 `-` between them",
                crate::printable::Quoted(component)
            )));
        }
        if let Some(tag) = &tag
            && (tag.is_empty()
                || tag.len() > 128
                || !tag
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)))
        {
            return Err(invalid(
                "a tag is 1 to 128 letters, digits, `.`, `_` or `-`",
            ));
        }
        let tag = match (&tag, &digest) {
            (None, None) => Some("latest".to_string()),
            _ => tag,
        };
        let parsed = ImageRef {
            registry,
            repository: repository.to_string(),
            tag,
            digest,
        };
        if parsed.ecr().is_some() && !(2..=256).contains(&repository.len()) {
            return Err(invalid("an ECR repository name is 2 to 256 characters"));
        }
        Ok(parsed)
    }

    /// The account and region when the registry is ECR's (`<account>.dkr.ecr.<region>.amazonaws.com`).
    pub fn ecr(&self) -> Option<EcrLocation> {
        let registry = self.registry.as_deref()?;
        let mut parts = registry.split('.');
        let account = parts.next()?;
        let (dkr, ecr, region) = (parts.next()?, parts.next()?, parts.next()?);
        let rest: Vec<&str> = parts.collect();
        let is_ecr = account.len() == 12
            && account.chars().all(|c| c.is_ascii_digit())
            && dkr == "dkr"
            && ecr == "ecr"
            && (rest == ["amazonaws", "com"] || rest == ["amazonaws", "com", "cn"]);
        is_ecr.then(|| EcrLocation {
            account: account.to_string(),
            region: region.to_string(),
        })
    }
}

/// Whether `part` is one `/`-separated part of a repository name: lowercase letters and
/// digits, with single `.`, `_` or `-` between them.
fn is_path_component(part: &str) -> bool {
    let separator = |c: char| ".-_".contains(c);
    !part.is_empty()
        && !part.starts_with(separator)
        && !part.ends_with(separator)
        && !part
            .as_bytes()
            .windows(2)
            .any(|w| separator(w[0] as char) && separator(w[1] as char))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_image_references() {
        let ecr =
            ImageRef::parse("123456789012.dkr.ecr.eu-west-1.amazonaws.com/a/b:1.0").expect("ok");
        assert_eq!(ecr.repository, "a/b");
        assert_eq!(ecr.tag.as_deref(), Some("1.0"));
        assert_eq!(
            ecr.ecr(),
            Some(EcrLocation {
                account: "123456789012".into(),
                region: "eu-west-1".into()
            })
        );
        let hub = ImageRef::parse("nginx").expect("ok");
        assert_eq!(hub.registry, None);
        assert_eq!(hub.tag.as_deref(), Some("latest"));
        assert_eq!(hub.ecr(), None);
        let local = ImageRef::parse("localhost:5000/app:2").expect("ok");
        assert_eq!(local.registry.as_deref(), Some("localhost:5000"));
        assert!(ImageRef::parse("Bad/Upper:1").is_err());
    }

    #[test]
    fn repository_names_aws_rejects_are_refused_naming_the_part() {
        let ecr = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";
        for (name, part) in [
            ("../etc", "\"..\""),
            ("a//b", "\"\""),
            ("-x-", "\"-x-\""),
            ("a/b./c", "\"b.\""),
            ("a__-b", "\"a__-b\""),
        ] {
            let err = ImageRef::parse(&format!("{ecr}/{name}:1")).expect_err(name);
            assert!(err.contains(part), "{name}: {err}");
        }
        let err = ImageRef::parse(&format!("{ecr}/a:1")).expect_err("too short");
        assert!(err.contains("2 to 256"), "{err}");
        for fine in ["a-b", "a.b_c/d-e-f", "team/app1"] {
            ImageRef::parse(&format!("{ecr}/{fine}:1")).expect(fine);
        }
        ImageRef::parse("x").expect("a one-letter Docker Hub name is fine");
    }
}
