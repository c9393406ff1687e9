//! The task definition: FARGATE, awsvpc, one container logging to the stack's log group.
//!
//! RegisterTaskDefinition always makes a new revision, so a new one is registered only when
//! the latest active revision differs from what the env file asks for: a second `up`
//! registers nothing. A change of image, size or role is an update that registers a revision
//! (with a new ARN, which the service then follows).

use aws_sdk_ecs::types::{
    Compatibility, ContainerDefinition, CpuArchitecture, EphemeralStorage, HealthCheck,
    KeyValuePair, LogConfiguration, LogDriver, NetworkMode, OsFamily, PortMapping, RuntimePlatform,
    Secret as SecretRef, TaskDefinition as Revision, TaskDefinitionField, TaskDefinitionStatus,
    TransportProtocol,
};
use serde::{Deserialize, Serialize};

use crate::aws::AwsResultExt as _;
use crate::aws::create::create_once;
use crate::aws::errors::has_code;
use crate::aws::tags;
use crate::config::names::Names;
use crate::config::{ContainerHealthCheck, Deployment, Secret};
use crate::model::{
    Cx, Dep, Depth, Diff, Env, FieldChange, Inputs, Key, Ownership, Ref, Resource, Seen,
};
use crate::resources::{ecr, iam, logs};
use crate::state::Intent;

/// The service's task definition family.
pub struct TaskDefinition {
    family: String,
    container: String,
    image: String,
    port: i32,
    cpu: String,
    memory: String,
    readonly_root_filesystem: bool,
    user: Option<String>,
    command: Vec<String>,
    entrypoint: Vec<String>,
    working_directory: Option<String>,
    stop_timeout: Option<i32>,
    cpu_architecture: &'static str,
    ephemeral_storage_gib: Option<i32>,
    environment: std::collections::BTreeMap<String, String>,
    secrets: std::collections::BTreeMap<String, Secret>,
    health_check: Option<ContainerHealthCheck>,
    region: String,
    cluster: String,
    service: String,
    role: Ref<iam::Outputs>,
    task_role: Option<Ref<iam::Outputs>>,
    log_group: Ref<logs::Outputs>,
    repository: Option<Ref<ecr::Outputs>>,
}

impl TaskDefinition {
    /// The task definition of `deployment`'s service, run with the execution `roles.0` and the
    /// task role `roles.1`, if any. With `repository`, no revision is registered before the
    /// image is pushed (`status` would show one no service runs).
    pub fn new(
        deployment: &Deployment,
        names: &Names,
        roles: (&Ref<iam::Outputs>, Option<&Ref<iam::Outputs>>),
        log_group: &Ref<logs::Outputs>,
        repository: Option<&Ref<ecr::Outputs>>,
    ) -> TaskDefinition {
        let (role, task_role) = roles;
        let svc = &deployment.service;
        TaskDefinition {
            family: names.task_family.clone(),
            container: names.container.clone(),
            image: svc.image.clone(),
            port: i32::from(svc.port),
            cpu: svc.cpu.to_string(),
            memory: svc.memory.to_string(),
            readonly_root_filesystem: svc.readonly_root_filesystem,
            user: svc.user.clone(),
            command: svc.command.clone(),
            entrypoint: svc.entrypoint.clone(),
            working_directory: svc.working_directory.clone(),
            stop_timeout: svc.stop_timeout.and_then(|t| i32::try_from(t).ok()),
            cpu_architecture: svc.cpu_architecture.ecs_word(),
            ephemeral_storage_gib: svc
                .ephemeral_storage_gib
                .and_then(|g| i32::try_from(g).ok()),
            environment: svc.environment.clone(),
            secrets: svc.secrets.clone(),
            health_check: svc.container_health_check.clone(),
            region: deployment.region.clone(),
            cluster: names.cluster.clone(),
            service: names.service.clone(),
            role: role.clone(),
            task_role: task_role.cloned(),
            log_group: log_group.clone(),
            repository: repository.cloned(),
        }
    }

    /// The image the container runs: pinned to its digest when it is in this account's ECR
    /// (`None` until the repository has read it), the env file's reference elsewhere.
    fn image(&self, inputs: &Inputs<'_>) -> Option<String> {
        match &self.repository {
            Some(repository) => inputs.get(repository).and_then(|r| r.image),
            None => Some(self.image.clone()),
        }
    }

    /// The revision and its image in `status`'s words: the env file's tag with the digest
    /// it was pinned to.
    fn running_image(&self, live: &Live) -> String {
        let image = live
            .revision
            .container_definitions()
            .first()
            .and_then(ContainerDefinition::image)
            .unwrap_or_default();
        match image.split_once('@') {
            Some((_, digest)) if self.repository.is_some() => format!(
                "revision {}, {} ({})",
                live.revision.revision(),
                self.image,
                digest.get(..19).unwrap_or(digest)
            ),
            // Not recorded (a revision the circuit breaker rolled back to): the tasks say.
            _ if image.is_empty() => format!("revision {}", live.revision.revision()),
            _ => format!("revision {}, {image}", live.revision.revision()),
        }
    }

    /// Each secret variable and where ECS reads it from, in `account`.
    fn secret_refs(&self, account: &str) -> Vec<(String, String)> {
        self.secrets
            .iter()
            .map(|(name, secret)| (name.clone(), secret.value_from(&self.region, account)))
            .collect()
    }

    fn container(
        &self,
        log_group: &str,
        image: &str,
        account: &str,
    ) -> anyhow::Result<ContainerDefinition> {
        let log = LogConfiguration::builder()
            .log_driver(LogDriver::Awslogs)
            .options("awslogs-group", log_group)
            .options("awslogs-region", &self.region)
            .options("awslogs-stream-prefix", "ecs")
            .build()?;
        Ok(ContainerDefinition::builder()
            .name(&self.container)
            .image(image)
            .essential(true)
            .port_mappings(
                PortMapping::builder()
                    .container_port(self.port)
                    .protocol(TransportProtocol::Tcp)
                    .build(),
            )
            .log_configuration(log)
            .set_readonly_root_filesystem(self.readonly_root_filesystem.then_some(true))
            .set_user(self.user.clone())
            .set_command((!self.command.is_empty()).then(|| self.command.clone()))
            .set_entry_point((!self.entrypoint.is_empty()).then(|| self.entrypoint.clone()))
            .set_working_directory(self.working_directory.clone())
            .set_stop_timeout(self.stop_timeout)
            .set_environment((!self.environment.is_empty()).then(|| {
                self.environment
                    .iter()
                    .map(|(name, value)| KeyValuePair::builder().name(name).value(value).build())
                    .collect()
            }))
            .set_secrets(
                (!self.secrets.is_empty())
                    .then(|| {
                        self.secret_refs(account)
                            .into_iter()
                            .map(|(name, from)| {
                                SecretRef::builder().name(name).value_from(from).build()
                            })
                            .collect::<Result<Vec<_>, _>>()
                    })
                    .transpose()?,
            )
            .set_health_check(
                self.health_check
                    .as_ref()
                    .map(|check| {
                        HealthCheck::builder()
                            .set_command(Some(check.command.clone()))
                            .interval(crate::aws::int(check.interval))
                            .timeout(crate::aws::int(check.timeout))
                            .retries(crate::aws::int(check.retries))
                            .start_period(crate::aws::int(check.start_period))
                            .build()
                    })
                    .transpose()?,
            )
            .build())
    }

    /// The container settings the env file decides, each in `plan`'s words: what a live
    /// revision's container is compared on.
    fn wanted_container(&self) -> Vec<(&'static str, String)> {
        vec![
            ("command", words_or(&self.command, "(the image's)")),
            ("entrypoint", words_or(&self.entrypoint, "(the image's)")),
            (
                "working_directory",
                self.working_directory
                    .clone()
                    .unwrap_or_else(|| "(the image's)".to_string()),
            ),
            ("stop_timeout", stop_timeout_words(self.stop_timeout)),
            ("env", environment_words(self.environment.iter())),
            (
                "container_health_check",
                health_check_words(self.health_check.as_ref().map(|c| {
                    (
                        c.command.clone(),
                        c.interval,
                        c.timeout,
                        c.retries,
                        c.start_period,
                    )
                })),
            ),
        ]
    }

    async fn register(&self, cx: &Cx<'_>, inputs: &Inputs<'_>) -> anyhow::Result<Live> {
        let role = inputs.need(&self.role)?;
        let image = self.image(inputs).ok_or_else(|| {
            anyhow::anyhow!(
                "internal error (a bug in gwfargate): the digest of {} is not known",
                self.image
            )
        })?;
        let container = self.container(&inputs.need(&self.log_group)?.name, &image, &cx.account)?;
        let mut our_tags = cx.tags(&self.family);
        // Which command made the revision, for `revisions`.
        if !cx.choices.by.is_empty() {
            our_tags.push((TAG_BY.to_string(), cx.choices.by.to_string()));
        }
        let our_tags = tags::ecs(&our_tags);
        let out = cx
            .single
            .ecs
            .register_task_definition()
            .family(&self.family)
            .requires_compatibilities(Compatibility::Fargate)
            .network_mode(NetworkMode::Awsvpc)
            .cpu(&self.cpu)
            .memory(&self.memory)
            .execution_role_arn(&role.arn)
            .set_task_role_arn(
                self.task_role
                    .as_ref()
                    .map(|r| inputs.need(r).map(|o| o.arn))
                    .transpose()?,
            )
            .runtime_platform(
                RuntimePlatform::builder()
                    .cpu_architecture(CpuArchitecture::from(self.cpu_architecture))
                    .operating_system_family(OsFamily::Linux)
                    .build(),
            )
            .set_ephemeral_storage(
                self.ephemeral_storage_gib
                    .map(|gib| EphemeralStorage::builder().size_in_gib(gib).build()),
            )
            .container_definitions(container)
            .set_tags(Some(our_tags.clone()))
            .send()
            .await
            .aws(|| format!("registering task definition {}", self.family))?;
        Ok(Live {
            revision: out
                .task_definition()
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("RegisterTaskDefinition returned nothing"))?,
            // The answer may leave out the tags it was given.
            tags: Some(if out.tags().is_empty() {
                our_tags
            } else {
                out.tags().to_vec()
            }),
        })
    }

    /// Every active revision of the family.
    pub async fn active_revisions(cx: &Cx<'_>, family: &str) -> anyhow::Result<Vec<String>> {
        let mut arns = Vec::new();
        let mut pages = cx
            .aws
            .ecs
            .list_task_definitions()
            .family_prefix(family)
            .status(TaskDefinitionStatus::Active)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.aws(|| format!("listing task definitions of {family}"))?;
            arns.extend(
                page.task_definition_arns()
                    .iter()
                    .filter(|arn| {
                        arn.rsplit_once('/')
                            .and_then(|(_, fam_rev)| fam_rev.rsplit_once(':'))
                            .is_some_and(|(fam, _)| fam == family)
                    })
                    .cloned(),
            );
        }
        Ok(arns)
    }

    /// The revisions among `arns` that carry the deployment's tag: gwfargate deregisters no
    /// revision someone else registered in the family.
    pub async fn ours(cx: &Cx<'_>, arns: Vec<String>) -> anyhow::Result<Vec<String>> {
        let mut ours = Vec::new();
        for arn in arns {
            let out = cx
                .aws
                .ecs
                .describe_task_definition()
                .task_definition(&arn)
                .include(TaskDefinitionField::Tags)
                .send()
                .await
                .aws(|| format!("reading the tags of {arn}"))?;
            if super::owner(cx, out.tags()) == Ownership::Ours {
                ours.push(arn);
            }
        }
        Ok(ours)
    }

    /// Deregisters revisions of the family.
    pub async fn deregister(cx: &Cx<'_>, arns: &[String]) -> anyhow::Result<()> {
        for arn in arns {
            cx.say(format!("deregistering {arn}"));
            cx.aws
                .ecs
                .deregister_task_definition()
                .task_definition(arn)
                .send()
                .await
                .aws(|| format!("deregistering {arn}"))?;
        }
        Ok(())
    }

    /// Deletes deregistered revisions, ten at a time (DeleteTaskDefinitions' limit): a
    /// deregistered revision otherwise stays listed for ever.
    pub async fn delete_deregistered(cx: &Cx<'_>, arns: &[String]) -> anyhow::Result<()> {
        for batch in arns.chunks(10) {
            let out = cx
                .aws
                .ecs
                .delete_task_definitions()
                .set_task_definitions(Some(batch.to_vec()))
                .send()
                .await
                .aws(|| format!("deleting {}", batch.join(", ")))?;
            if let Some(failure) = out.failures().first() {
                anyhow::bail!(
                    "ECS did not delete {}: {}",
                    failure.arn().unwrap_or("a revision"),
                    failure.reason().unwrap_or("no reason given")
                );
            }
        }
        Ok(())
    }
}

/// Tag of a revision: the command that registered it (`up`, `deploy`, `rollback`).
pub const TAG_BY: &str = "gwfargate:by";

/// How many revisions stay registered, the running one included: what `rollback` can go
/// back to.
pub const KEPT_REVISIONS: usize = 5;

/// The revision number of a task definition ARN (`...:task-definition/family:7` is 7).
pub fn revision_number(arn: &str) -> u32 {
    arn.rsplit_once(':')
        .and_then(|(_, n)| n.parse().ok())
        .unwrap_or_default()
}

fn unsigned(n: Option<i32>) -> Option<u32> {
    n.and_then(|n| u32::try_from(n).ok())
}

/// A command line in `plan`'s words (JSON, so words with spaces stay visible), or `unset`.
fn words_or(words: &[String], unset: &str) -> String {
    if words.is_empty() {
        unset.to_string()
    } else {
        serde_json::to_string(words).unwrap_or_else(|_| words.join(" "))
    }
}

fn stop_timeout_words(seconds: Option<i32>) -> String {
    seconds.map_or_else(|| "(ECS's 30 s)".to_string(), |s| format!("{s} s"))
}

/// Environment variables in `plan`'s words: `NAME=value` by name, or `(none)`.
fn environment_words<N: std::fmt::Display, V: std::fmt::Display>(
    vars: impl Iterator<Item = (N, V)>,
) -> String {
    let words: Vec<String> = vars
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    crate::model::listed(&words).unwrap_or_else(|| "(none)".to_string())
}

/// Secret variables in `plan`'s words: `NAME from <valueFrom>` by name, or `(none)`.
fn secret_words<'a>(refs: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let words: Vec<String> = refs
        .map(|(name, from)| format!("{name} from {from}"))
        .collect();
    crate::model::listed(&words).unwrap_or_else(|| "(none)".to_string())
}

/// A container health check in `plan`'s words: (command, interval, timeout, retries, start
/// period).
fn health_check_words(check: Option<(Vec<String>, u32, u32, u32, u32)>) -> String {
    match check {
        None => "(none)".to_string(),
        Some((command, interval, timeout, retries, start)) => format!(
            "{} every {interval} s, timeout {timeout} s, {retries} retries, start period {start} s",
            words_or(&command, "[]")
        ),
    }
}

/// The latest active revision, with its tags.
#[derive(Debug, Clone)]
pub struct Live {
    /// The revision.
    pub revision: Revision,
    /// Its tags (`None`: not read; a status row reads the revision the service runs).
    pub tags: Option<Vec<aws_sdk_ecs::types::Tag>>,
}

/// What the task definition hands its dependents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outputs {
    /// The revision's ARN.
    pub arn: String,
    /// The family.
    pub family: String,
    /// The revision's image (a revision never changes, so the state file's copy stays true
    /// for as long as the service runs that revision).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
}

impl Resource for TaskDefinition {
    type Live = Live;
    type Outputs = Outputs;

    fn key(&self) -> Key {
        "task_definition".to_string()
    }

    fn kind(&self) -> &'static str {
        "task definition"
    }

    fn name(&self) -> String {
        self.family.clone()
    }

    fn deps(&self) -> Vec<Dep> {
        let mut deps = vec![self.role.dep(), self.log_group.dep()];
        deps.extend(self.task_role.iter().map(Ref::dep));
        deps.extend(self.repository.iter().map(Ref::dep));
        deps
    }

    async fn lookup(
        &self,
        cx: &Cx<'_>,
        _inputs: &Inputs<'_>,
        depth: Depth,
    ) -> anyhow::Result<Option<Live>> {
        if depth == Depth::Observe
            && let Some(running) = super::service(cx, &self.cluster, &self.service)
                .await?
                .and_then(|s| s.task_definition().map(str::to_string))
        {
            // A status row: the revision the service runs, read with the service, and its
            // image as recorded when that revision was registered.
            let revision = running
                .rsplit_once(':')
                .and_then(|(_, n)| n.parse().ok())
                .unwrap_or_default();
            let image = cx
                .state
                .get(&self.key())
                .filter(|record| record.id == running)
                .and_then(|record| record.outputs)
                .and_then(|outputs| serde_json::from_value::<Outputs>(outputs).ok())
                .and_then(|outputs| outputs.image);
            let containers = image
                .map(|image| vec![ContainerDefinition::builder().image(image).build()])
                .unwrap_or_default();
            return Ok(Some(Live {
                revision: Revision::builder()
                    .task_definition_arn(running)
                    .revision(revision)
                    .set_container_definitions(Some(containers))
                    .build(),
                tags: None,
            }));
        }
        let out = cx
            .aws
            .ecs
            .describe_task_definition()
            .task_definition(&self.family)
            .include(TaskDefinitionField::Tags)
            .send()
            .await
            .aws(|| format!("looking up task definition {}", self.family));
        match out {
            Ok(out) => Ok(out
                .task_definition()
                .filter(|td| {
                    td.status()
                        .is_none_or(|s| *s == TaskDefinitionStatus::Active)
                })
                .map(|td| Live {
                    revision: td.clone(),
                    tags: Some(out.tags().to_vec()),
                })),
            // ECS answers ClientException for an unknown family.
            Err(err) if has_code(&err, &["ClientException"]) => Ok(None),
            Err(err) => Err(err),
        }
    }

    fn tags(&self, live: &Live) -> Option<crate::aws::tags::Tags> {
        live.tags
            .as_deref()
            .map(|t| crate::aws::tags::owned(crate::aws::tags::from_ecs(t)))
    }

    async fn retag(
        &self,
        cx: &Cx<'_>,
        live: &Live,
        changes: &crate::model::TagChanges,
    ) -> anyhow::Result<()> {
        crate::aws::tags::retag_ecs(&cx.aws, &self.id(live), &changes.set, &changes.remove).await
    }

    fn ownership(&self, env: &Env, live: &Live) -> Ownership {
        live.tags
            .as_ref()
            .map_or(Ownership::Unknown, |tags| super::owner(env, tags))
    }

    fn id(&self, live: &Live) -> String {
        live.revision
            .task_definition_arn()
            .unwrap_or_default()
            .to_string()
    }

    fn outputs(&self, _env: &Env, live: &Live) -> Outputs {
        Outputs {
            arn: self.id(live),
            family: self.family.clone(),
            image: live
                .revision
                .container_definitions()
                .first()
                .and_then(ContainerDefinition::image)
                .map(str::to_string),
        }
    }

    fn diff(&self, env: &Env, live: &Live, inputs: &Inputs<'_>) -> Diff {
        let td = &live.revision;
        let container = td.container_definitions().first();
        let mut diff = Diff::none();
        diff.compare("cpu", td.cpu(), self.cpu.as_str())
            .compare("memory", td.memory(), self.memory.as_str())
            .compare(
                "execution_role",
                td.execution_role_arn(),
                inputs.get(&self.role).map(|r| r.arn),
            )
            .compare(
                "task_role",
                Some(td.task_role_arn().unwrap_or("(none)")),
                match &self.task_role {
                    None => Some("(none)".to_string()),
                    Some(r) => inputs.get(r).map(|r| r.arn),
                },
            )
            .compare(
                "container",
                container.and_then(ContainerDefinition::name),
                self.container.as_str(),
            )
            .compare(
                "image",
                container.and_then(ContainerDefinition::image),
                self.image(inputs),
            );
        let port = container
            .and_then(|c| c.port_mappings().first())
            .and_then(PortMapping::container_port)
            .map(|p| p.to_string());
        diff.compare("port", port.as_deref(), self.port.to_string());
        let readonly = container
            .and_then(ContainerDefinition::readonly_root_filesystem)
            .unwrap_or(false);
        diff.compare(
            "readonly_root_filesystem",
            Some(if readonly { "on" } else { "off" }),
            if self.readonly_root_filesystem {
                "on"
            } else {
                "off"
            },
        );
        let user = container.and_then(ContainerDefinition::user);
        if user != self.user.as_deref() {
            diff.change(
                "user",
                user.map(str::to_string),
                self.user.as_deref().unwrap_or("(the image's)"),
            );
        }
        let live_check = container
            .and_then(ContainerDefinition::health_check)
            .map(|c| {
                (
                    c.command().to_vec(),
                    unsigned(c.interval()).unwrap_or(30),
                    unsigned(c.timeout()).unwrap_or(5),
                    unsigned(c.retries()).unwrap_or(3),
                    unsigned(c.start_period()).unwrap_or(0),
                )
            });
        let live_container = [
            (
                "command",
                words_or(
                    container
                        .map(ContainerDefinition::command)
                        .unwrap_or_default(),
                    "(the image's)",
                ),
            ),
            (
                "entrypoint",
                words_or(
                    container
                        .map(ContainerDefinition::entry_point)
                        .unwrap_or_default(),
                    "(the image's)",
                ),
            ),
            (
                "working_directory",
                container
                    .and_then(ContainerDefinition::working_directory)
                    .unwrap_or("(the image's)")
                    .to_string(),
            ),
            (
                "stop_timeout",
                stop_timeout_words(container.and_then(ContainerDefinition::stop_timeout)),
            ),
            (
                "env",
                environment_words(
                    container
                        .map(ContainerDefinition::environment)
                        .unwrap_or_default()
                        .iter()
                        .filter_map(|kv| Some((kv.name()?, kv.value().unwrap_or_default())))
                        .collect::<std::collections::BTreeMap<_, _>>()
                        .into_iter(),
                ),
            ),
            ("container_health_check", health_check_words(live_check)),
        ];
        for ((field, have), (_, want)) in live_container.iter().zip(self.wanted_container()) {
            diff.compare(field, Some(have.as_str()), want);
        }
        let live_secrets: std::collections::BTreeMap<&str, &str> = container
            .map(ContainerDefinition::secrets)
            .unwrap_or_default()
            .iter()
            .map(|s| (s.name(), s.value_from()))
            .collect();
        diff.compare(
            "secrets",
            Some(&secret_words(live_secrets.into_iter())),
            secret_words(
                self.secret_refs(&env.account)
                    .iter()
                    .map(|(n, f)| (n.as_str(), f.as_str())),
            ),
        );
        let architecture = td
            .runtime_platform()
            .and_then(RuntimePlatform::cpu_architecture)
            .map_or("X86_64", CpuArchitecture::as_str);
        diff.compare(
            "cpu_architecture",
            Some(&architecture.to_ascii_lowercase()),
            self.cpu_architecture.to_ascii_lowercase(),
        );
        let storage = td
            .ephemeral_storage()
            .map_or(20, EphemeralStorage::size_in_gib);
        diff.compare(
            "ephemeral_storage_gib",
            Some(&storage.to_string()),
            self.ephemeral_storage_gib.unwrap_or(20).to_string(),
        );
        let group = container
            .and_then(ContainerDefinition::log_configuration)
            .and_then(|l| l.options())
            .and_then(|o| o.get("awslogs-group"))
            .map(String::as_str);
        diff.compare(
            "log_group",
            group,
            inputs.get(&self.log_group).map(|l| l.name),
        );
        if td.network_mode() != Some(&NetworkMode::Awsvpc) {
            diff.change(
                "network_mode",
                td.network_mode().map(|m| m.as_str().to_string()),
                "awsvpc",
            );
        }
        diff.new_outputs = true;
        diff
    }

    fn new_fields(&self, _env: &Env, _inputs: &Inputs<'_>) -> Vec<FieldChange> {
        vec![
            FieldChange::setting("image", &self.image),
            FieldChange::setting("cpu", &self.cpu),
            FieldChange::setting("memory", &self.memory),
        ]
    }

    async fn create(
        &self,
        cx: &Cx<'_>,
        inputs: &Inputs<'_>,
        _intent: &Intent,
    ) -> anyhow::Result<Live> {
        self.register(cx, inputs).await
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        _live: &Live,
        _diff: &Diff,
        inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<Live>> {
        cx.state.intend(&self.key(), self.kind(), &self.family)?;
        // Every call registers a revision: a lost answer is resolved by looking for a revision
        // that already matches, not by registering again.
        let live = create_once(
            &format!("a revision of {}", self.family),
            cx.line,
            || async {
                let latest = self.lookup(cx, inputs, Depth::Full).await?;
                Ok(latest.filter(|l| self.diff(cx, l, inputs).fields.is_empty()))
            },
            || self.register(cx, inputs),
        )
        .await?;
        Ok(Some(live))
    }

    async fn delete(
        &self,
        cx: &Cx<'_>,
        _live: &Live,
        _inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<String>> {
        let arns = Self::ours(cx, Self::active_revisions(cx, &self.family).await?).await?;
        Self::deregister(cx, &arns).await?;
        Ok(Some(format!("{} revision(s) deregistered", arns.len())))
    }

    fn summary(&self, live: &Live) -> String {
        format!("{}:{}", self.family, live.revision.revision())
    }

    fn observe(&self, live: &Live) -> Seen {
        Seen::new(
            &self.id(live),
            live.revision
                .status()
                .map_or("present", TaskDefinitionStatus::as_str),
        )
        .detail(self.running_image(live))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::World;
    use crate::resources::testing::env;

    fn revision(r: &TaskDefinition, image: &str, role: &str) -> Live {
        Live {
            revision: Revision::builder()
                .task_definition_arn("arn:aws:ecs:eu-west-1:1:task-definition/f:1")
                .cpu(&r.cpu)
                .memory(&r.memory)
                .execution_role_arn(role)
                .network_mode(NetworkMode::Awsvpc)
                .container_definitions(
                    ContainerDefinition::builder()
                        .name(&r.container)
                        .image(image)
                        .port_mappings(PortMapping::builder().container_port(r.port).build())
                        .log_configuration(
                            LogConfiguration::builder()
                                .log_driver(LogDriver::Awslogs)
                                .options("awslogs-group", "/ecs/cluster1/microservice1")
                                .build()
                                .expect("log"),
                        )
                        .build(),
                )
                .build(),
            tags: Some(vec![]),
        }
    }

    #[test]
    fn a_new_image_is_a_new_revision_with_an_arn_known_after_up() {
        let env = env();
        let r = TaskDefinition::new(
            &env.deployment,
            &env.names,
            (&Ref::new("execution_role"), None),
            &Ref::new("log_group"),
            None,
        );
        let world = World::default();
        world.publish(
            "execution_role",
            iam::Outputs {
                arn: "role-1".into(),
            },
        );
        world.publish(
            "log_group",
            logs::Outputs {
                name: "/ecs/cluster1/microservice1".into(),
            },
        );
        assert!(
            r.diff(&env, &revision(&r, &r.image, "role-1"), &world.inputs())
                .fields
                .is_empty()
        );
        let diff = r.diff(&env, &revision(&r, "nginx:1", "role-1"), &world.inputs());
        assert_eq!(diff.words(), format!("image nginx:1 → {}", r.image));
        assert!(diff.new_outputs);
        // A role to be made: its ARN is known after up.
        world.unknown("execution_role");
        let diff = r.diff(&env, &revision(&r, &r.image, "role-1"), &world.inputs());
        assert_eq!(diff.words(), "execution_role role-1 → (known after up)");
    }
}
