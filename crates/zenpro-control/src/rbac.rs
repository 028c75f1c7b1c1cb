//! Role-based access control of the control plane, pure (no I/O): the actions and resource
//! types of zenml 0.98.0 (`zen_server/rbac/models.py`), resource strings
//! `[<project uuid>:]<type>[/<uuid>]`, the role → permission table of `docs/control-plane.md`
//! and its evaluation for the workspace-facing RBAC endpoints (`/rbac/*`,
//! `/users/authorize_server`).
//!
//! Callers load a [`Subject`] (the principal's grants, directly and through teams, and its shares
//! in one workspace) from the store and ask [`check`], [`allowed_ids`], [`has_access`] or
//! [`is_superuser`]. [`role_table`] renders the table for `GET /roles`.

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;
use uuid::Uuid;

/// An RBAC action (zenml `Action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Read,
    Update,
    Delete,
    ReadSecretValue,
    Prune,
    Client,
    Promote,
    BackupRestore,
    Share,
}

impl Action {
    /// Every action, in zenml's order.
    pub const ALL: [Action; 10] = [
        Action::Create,
        Action::Read,
        Action::Update,
        Action::Delete,
        Action::ReadSecretValue,
        Action::Prune,
        Action::Client,
        Action::Promote,
        Action::BackupRestore,
        Action::Share,
    ];

    /// The wire value (`read_secret_value`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Read => "read",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::ReadSecretValue => "read_secret_value",
            Action::Prune => "prune",
            Action::Client => "client",
            Action::Promote => "promote",
            Action::BackupRestore => "backup_restore",
            Action::Share => "share",
        }
    }

    /// The action of a wire value; `None` for anything else (exact, case-sensitive, like
    /// zenml's `StrEnum`).
    pub fn parse(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A resource type of the workspace API (zenml `ResourceType`; `user` is disabled there).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceType {
    Artifact,
    ArtifactVersion,
    CodeRepository,
    Flavor,
    Model,
    ModelVersion,
    Pipeline,
    PipelineRun,
    /// Pipeline snapshots; zenml keeps the old name on the wire.
    PipelineDeployment,
    PipelineBuild,
    Deployment,
    Schedule,
    RunTemplate,
    Service,
    RunMetadata,
    Secret,
    ServiceAccount,
    ServiceConnector,
    Stack,
    StackComponent,
    Tag,
    Project,
    Trigger,
    Webhook,
}

use ResourceType as T;

impl ResourceType {
    /// Every resource type, in zenml's order.
    #[rustfmt::skip]
    pub const ALL: [ResourceType; 24] = [
        T::Artifact, T::ArtifactVersion, T::CodeRepository, T::Flavor, T::Model, T::ModelVersion,
        T::Pipeline, T::PipelineRun, T::PipelineDeployment, T::PipelineBuild, T::Deployment,
        T::Schedule, T::RunTemplate, T::Service, T::RunMetadata, T::Secret, T::ServiceAccount,
        T::ServiceConnector, T::Stack, T::StackComponent, T::Tag, T::Project, T::Trigger,
        T::Webhook,
    ];

    /// The wire value (`pipeline_deployment`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            T::Artifact => "artifact",
            T::ArtifactVersion => "artifact_version",
            T::CodeRepository => "code_repository",
            T::Flavor => "flavor",
            T::Model => "model",
            T::ModelVersion => "model_version",
            T::Pipeline => "pipeline",
            T::PipelineRun => "pipeline_run",
            T::PipelineDeployment => "pipeline_deployment",
            T::PipelineBuild => "pipeline_build",
            T::Deployment => "deployment",
            T::Schedule => "schedule",
            T::RunTemplate => "run_template",
            T::Service => "service",
            T::RunMetadata => "run_metadata",
            T::Secret => "secret",
            T::ServiceAccount => "service_account",
            T::ServiceConnector => "service_connector",
            T::Stack => "stack",
            T::StackComponent => "stack_component",
            T::Tag => "tag",
            T::Project => "project",
            T::Trigger => "trigger",
            T::Webhook => "webhook",
        }
    }

    /// The type of a wire value; `None` for anything else.
    pub fn parse(s: &str) -> Option<ResourceType> {
        ResourceType::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Whether resources of this type live in a project (their strings carry the project
    /// prefix), as zenml's `ResourceType.is_project_scoped`.
    pub fn is_project_scoped(self) -> bool {
        !WORKSPACE_WIDE.contains(&self)
    }
}

impl fmt::Display for ResourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The project-scoped resource types.
#[rustfmt::skip]
pub const PROJECT_SCOPED: [ResourceType; 16] = [
    T::Artifact, T::ArtifactVersion, T::CodeRepository, T::Model, T::ModelVersion, T::Pipeline,
    T::PipelineRun, T::PipelineDeployment, T::PipelineBuild, T::Deployment, T::Schedule,
    T::RunTemplate, T::Service, T::RunMetadata, T::Trigger, T::Webhook,
];

/// The workspace-wide resource types (no project prefix).
pub const WORKSPACE_WIDE: [ResourceType; 8] =
    [T::Flavor, T::Secret, T::ServiceAccount, T::ServiceConnector, T::Stack, T::StackComponent, T::Tag, T::Project];

/// An RBAC resource: `[<project uuid>:]<type>[/<uuid>]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Resource {
    pub resource_type: ResourceType,
    pub id: Option<Uuid>,
    pub project_id: Option<Uuid>,
}

/// Why a resource string was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceError(pub String);

impl fmt::Display for ResourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ResourceError {}

impl Resource {
    /// A resource; `project_id` must be given exactly for project-scoped types.
    pub fn new(
        resource_type: ResourceType,
        id: Option<Uuid>,
        project_id: Option<Uuid>,
    ) -> Result<Resource, ResourceError> {
        match (resource_type.is_project_scoped(), project_id) {
            (true, None) => {
                Err(ResourceError(format!("project_id must be set for project-scoped resource type '{resource_type}'")))
            }
            (false, Some(_)) => {
                Err(ResourceError(format!("project_id must not be set for global resource type '{resource_type}'")))
            }
            _ => Ok(Resource { resource_type, id, project_id }),
        }
    }

    /// Parse a resource string as zenml's `Resource.parse` does: the project part is everything
    /// before the first `:`, the id everything after the one `/`; the type must be known, the
    /// UUIDs valid, and the project part present iff the type is project-scoped.
    pub fn parse(s: &str) -> Result<Resource, ResourceError> {
        let (project, rest) = match s.split_once(':') {
            Some((project, rest)) => (Some(project), rest),
            None => (None, s),
        };
        let (type_str, id) = match rest.split_once('/') {
            Some((_, id)) if id.contains('/') => {
                return Err(ResourceError(format!("malformed resource '{s}': more than one '/'")));
            }
            Some((t, id)) => (t, Some(id)),
            None => (rest, None),
        };
        let uuid = |part: &str, what: &str| {
            Uuid::parse_str(part).map_err(|_| ResourceError(format!("malformed resource '{s}': {what} is not a UUID")))
        };
        let project_id = project.map(|p| uuid(p, "the project id")).transpose()?;
        let id = id.map(|i| uuid(i, "the resource id")).transpose()?;
        let resource_type = ResourceType::parse(type_str)
            .ok_or_else(|| ResourceError(format!("malformed resource '{s}': unknown resource type '{type_str}'")))?;
        Resource::new(resource_type, id, project_id)
    }
}

impl fmt::Display for Resource {
    /// The canonical string, as zenml's `Resource.__str__` (lower-case hyphenated UUIDs).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(project) = self.project_id {
            write!(f, "{project}:")?;
        }
        f.write_str(self.resource_type.as_str())?;
        if let Some(id) = self.id {
            write!(f, "/{id}")?;
        }
        Ok(())
    }
}

/// Where a role is granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Organization,
    Workspace,
    Project,
}

impl Scope {
    /// The stored value: `organization`, `workspace`, `project`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Organization => "organization",
            Scope::Workspace => "workspace",
            Scope::Project => "project",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        [Scope::Organization, Scope::Workspace, Scope::Project].into_iter().find(|x| x.as_str() == s)
    }
}

/// A predefined role; the name alone is ambiguous ("Admin" exists at every scope), so a role is
/// the pair (scope, name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    OrgAdmin,
    OrgManager,
    OrgViewer,
    OrgMember,
    WorkspaceAdmin,
    WorkspaceDeveloper,
    WorkspaceContributor,
    WorkspaceViewer,
    WorkspaceStackAdmin,
    ProjectAdmin,
    ProjectDeveloper,
    ProjectContributor,
    ProjectViewer,
}

/// Which resources a rule of a role applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Within {
    /// Every resource of the types in the workspace (and, for an organization role, in every
    /// workspace of the organization).
    Workspace,
    /// Resources whose project prefix is the project of the grant.
    ProjectResources,
    /// The project of the grant itself (`project/<id>`).
    Project,
}

/// One line of a role's permissions: `actions` on `resource_types` `within` a scope.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Rule {
    pub within: Within,
    pub resource_types: &'static [ResourceType],
    pub actions: &'static [Action],
}

impl Rule {
    fn allows(&self, resource_type: ResourceType, action: Action) -> bool {
        self.resource_types.contains(&resource_type) && self.actions.contains(&action)
    }
}

const fn rule(within: Within, resource_types: &'static [ResourceType], actions: &'static [Action]) -> Rule {
    Rule { within, resource_types, actions }
}

use Action as A;

const ALL_ACTIONS: &[Action] = &Action::ALL;
const READ: &[Action] = &[A::Read];
const CLIENT: &[Action] = &[A::Client];
const READ_CLIENT: &[Action] = &[A::Read, A::Client];
const CREATE_UPDATE_SHARE: &[Action] = &[A::Create, A::Update, A::Share];
const READ_CREATE_UPDATE_SHARE: &[Action] = &[A::Read, A::Create, A::Update, A::Share];
const READ_UPDATE_DELETE_SHARE: &[Action] = &[A::Read, A::Update, A::Delete, A::Share];
const ALL_BUT_BACKUP_RESTORE: &[Action] =
    &[A::Create, A::Read, A::Update, A::Delete, A::ReadSecretValue, A::Prune, A::Client, A::Promote, A::Share];
const ALL_BUT_PRUNE: &[Action] =
    &[A::Create, A::Read, A::Update, A::Delete, A::ReadSecretValue, A::Client, A::Promote, A::BackupRestore, A::Share];

const ALL_TYPES: &[ResourceType] = &ResourceType::ALL;
const PROJECT_TYPES: &[ResourceType] = &PROJECT_SCOPED;
const PROJECT: &[ResourceType] = &[T::Project];
const SERVICE_CONNECTOR: &[ResourceType] = &[T::ServiceConnector];
const PROJECT_AND_SERVICE_ACCOUNT: &[ResourceType] = &[T::Project, T::ServiceAccount];
/// Every type but `project` and `service_account`.
#[rustfmt::skip]
const DEVELOPER_TYPES: &[ResourceType] = &[
    T::Artifact, T::ArtifactVersion, T::CodeRepository, T::Flavor, T::Model, T::ModelVersion,
    T::Pipeline, T::PipelineRun, T::PipelineDeployment, T::PipelineBuild, T::Deployment,
    T::Schedule, T::RunTemplate, T::Service, T::RunMetadata, T::Secret, T::ServiceConnector,
    T::Stack, T::StackComponent, T::Tag, T::Trigger, T::Webhook,
];
/// The project-scoped types and `tag`.
#[rustfmt::skip]
const CONTRIBUTOR_TYPES: &[ResourceType] = &[
    T::Artifact, T::ArtifactVersion, T::CodeRepository, T::Model, T::ModelVersion, T::Pipeline,
    T::PipelineRun, T::PipelineDeployment, T::PipelineBuild, T::Deployment, T::Schedule,
    T::RunTemplate, T::Service, T::RunMetadata, T::Trigger, T::Webhook, T::Tag,
];
const STACK_ADMIN_TYPES: &[ResourceType] = &[T::Stack, T::StackComponent, T::Flavor, T::ServiceConnector, T::Secret];
const INFRA_TYPES: &[ResourceType] = &[T::Stack, T::StackComponent, T::Flavor, T::ServiceConnector];
const VIEWER_INFRA_TYPES: &[ResourceType] = &[T::Stack, T::StackComponent, T::Flavor];

use Within as W;

const WS_ADMIN: &[Rule] = &[rule(W::Workspace, ALL_TYPES, ALL_ACTIONS)];
const WS_DEVELOPER: &[Rule] = &[
    rule(W::Workspace, DEVELOPER_TYPES, ALL_BUT_BACKUP_RESTORE),
    rule(W::Workspace, PROJECT_AND_SERVICE_ACCOUNT, READ),
];
const WS_CONTRIBUTOR: &[Rule] = &[
    rule(W::Workspace, ALL_TYPES, READ),
    rule(W::Workspace, CONTRIBUTOR_TYPES, CREATE_UPDATE_SHARE),
    rule(W::Workspace, SERVICE_CONNECTOR, CLIENT),
];
const WS_VIEWER: &[Rule] = &[rule(W::Workspace, ALL_TYPES, READ)];
const WS_STACK_ADMIN: &[Rule] =
    &[rule(W::Workspace, ALL_TYPES, READ), rule(W::Workspace, STACK_ADMIN_TYPES, ALL_ACTIONS)];
const PR_ADMIN: &[Rule] =
    &[rule(W::ProjectResources, PROJECT_TYPES, ALL_ACTIONS), rule(W::Project, PROJECT, READ_UPDATE_DELETE_SHARE)];
const PR_DEVELOPER: &[Rule] = &[
    rule(W::ProjectResources, PROJECT_TYPES, ALL_BUT_PRUNE),
    rule(W::Project, PROJECT, READ),
    rule(W::Workspace, INFRA_TYPES, READ_CLIENT),
];
const PR_CONTRIBUTOR: &[Rule] = &[
    rule(W::ProjectResources, PROJECT_TYPES, READ_CREATE_UPDATE_SHARE),
    rule(W::Project, PROJECT, READ),
    rule(W::Workspace, INFRA_TYPES, READ),
    rule(W::Workspace, SERVICE_CONNECTOR, CLIENT),
];
const PR_VIEWER: &[Rule] = &[
    rule(W::ProjectResources, PROJECT_TYPES, READ),
    rule(W::Project, PROJECT, READ),
    rule(W::Workspace, VIEWER_INFRA_TYPES, READ),
];

impl Role {
    /// Every predefined role: organization, workspace, project.
    pub const ALL: [Role; 13] = [
        Role::OrgAdmin,
        Role::OrgManager,
        Role::OrgViewer,
        Role::OrgMember,
        Role::WorkspaceAdmin,
        Role::WorkspaceDeveloper,
        Role::WorkspaceContributor,
        Role::WorkspaceViewer,
        Role::WorkspaceStackAdmin,
        Role::ProjectAdmin,
        Role::ProjectDeveloper,
        Role::ProjectContributor,
        Role::ProjectViewer,
    ];

    /// The display (and stored) name: `Admin`, `Stack Admin`, ...
    pub fn name(self) -> &'static str {
        match self {
            Role::OrgAdmin | Role::WorkspaceAdmin | Role::ProjectAdmin => "Admin",
            Role::OrgManager => "Manager",
            Role::OrgViewer | Role::WorkspaceViewer | Role::ProjectViewer => "Viewer",
            Role::OrgMember => "Member",
            Role::WorkspaceDeveloper | Role::ProjectDeveloper => "Developer",
            Role::WorkspaceContributor | Role::ProjectContributor => "Contributor",
            Role::WorkspaceStackAdmin => "Stack Admin",
        }
    }

    pub fn scope(self) -> Scope {
        match self {
            Role::OrgAdmin | Role::OrgManager | Role::OrgViewer | Role::OrgMember => Scope::Organization,
            Role::WorkspaceAdmin
            | Role::WorkspaceDeveloper
            | Role::WorkspaceContributor
            | Role::WorkspaceViewer
            | Role::WorkspaceStackAdmin => Scope::Workspace,
            Role::ProjectAdmin | Role::ProjectDeveloper | Role::ProjectContributor | Role::ProjectViewer => {
                Scope::Project
            }
        }
    }

    /// The role of that name at that scope. Case, `_` and `-` are forgiven
    /// (`stack_admin` = `Stack Admin`).
    pub fn parse(scope: Scope, name: &str) -> Option<Role> {
        let norm = |s: &str| s.to_ascii_lowercase().replace(['_', '-'], " ");
        let wanted = norm(name.trim());
        Role::ALL.into_iter().find(|r| r.scope() == scope && norm(r.name()) == wanted)
    }

    pub fn description(self) -> &'static str {
        match self {
            Role::OrgAdmin => {
                "manage the organization (workspaces, teams, members, roles, service accounts); workspace Admin on all its workspaces"
            }
            Role::OrgManager => {
                "as Admin except deleting the organization and granting organization Admin; workspace Developer on all its workspaces"
            }
            Role::OrgViewer => "read the organization; workspace Viewer on all its workspaces",
            Role::OrgMember => "membership only; workspace access needs a workspace or project grant",
            Role::WorkspaceAdmin => "every action on every type",
            Role::WorkspaceDeveloper => {
                "every action on every type except backup_restore, and on project/service_account only read"
            }
            Role::WorkspaceContributor => {
                "read on everything; create update share on project-scoped types and tag; client on service_connector"
            }
            Role::WorkspaceViewer => "read on everything",
            Role::WorkspaceStackAdmin => {
                "Viewer + every action on stack, stack_component, flavor, service_connector, secret"
            }
            Role::ProjectAdmin => "every action on the project's resources; read update delete share on the project",
            Role::ProjectDeveloper => {
                "every action but prune on the project's resources; read on the project; read client on stack, stack_component, flavor, service_connector"
            }
            Role::ProjectContributor => {
                "read create update share on the project's resources; read on the project, stack, stack_component, flavor, service_connector (+client)"
            }
            Role::ProjectViewer => "read on the project's resources and on the project, stack, stack_component, flavor",
        }
    }

    /// The workspace role an organization role amounts to in each workspace of the organization.
    pub fn workspace_role(self) -> Option<Role> {
        match self {
            Role::OrgAdmin => Some(Role::WorkspaceAdmin),
            Role::OrgManager => Some(Role::WorkspaceDeveloper),
            Role::OrgViewer => Some(Role::WorkspaceViewer),
            Role::OrgMember => None,
            _ => None,
        }
    }

    /// The permissions of a workspace or project role (organization roles have none of their
    /// own: see [`Role::workspace_role`]).
    pub fn rules(self) -> &'static [Rule] {
        match self {
            Role::WorkspaceAdmin => WS_ADMIN,
            Role::WorkspaceDeveloper => WS_DEVELOPER,
            Role::WorkspaceContributor => WS_CONTRIBUTOR,
            Role::WorkspaceViewer => WS_VIEWER,
            Role::WorkspaceStackAdmin => WS_STACK_ADMIN,
            Role::ProjectAdmin => PR_ADMIN,
            Role::ProjectDeveloper => PR_DEVELOPER,
            Role::ProjectContributor => PR_CONTRIBUTOR,
            Role::ProjectViewer => PR_VIEWER,
            Role::OrgAdmin | Role::OrgManager | Role::OrgViewer | Role::OrgMember => &[],
        }
    }
}

/// A role as rendered by `GET /roles`.
#[derive(Debug, Clone, Serialize)]
pub struct RoleInfo {
    pub name: &'static str,
    pub scope: Scope,
    pub description: &'static str,
    /// For organization roles: the workspace role held in every workspace of the organization.
    pub workspace_role: Option<&'static str>,
    pub permissions: Vec<Rule>,
}

/// The whole role table (for `GET /roles`).
pub fn role_table() -> Vec<RoleInfo> {
    Role::ALL
        .into_iter()
        .map(|r| RoleInfo {
            name: r.name(),
            scope: r.scope(),
            description: r.description(),
            workspace_role: r.workspace_role().map(Role::name),
            permissions: r.workspace_role().unwrap_or(r).rules().to_vec(),
        })
        .collect()
}

/// Where a grant was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GrantScope {
    Organization(Uuid),
    Workspace(Uuid),
    /// A workspace-local project (its UUID as the workspace sends it in resource strings).
    Project {
        workspace: Uuid,
        project: Uuid,
    },
}

/// A role held by the principal, directly or through a team.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Grant {
    pub role: Role,
    pub scope: GrantScope,
}

/// Actions on one resource shared with the principal (directly or through a team) in the
/// workspace being asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    pub resource: Resource,
    pub actions: Vec<Action>,
}

/// The workspace a question is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkspaceRef {
    pub id: Uuid,
    pub organization_id: Uuid,
}

/// What is known about the principal: super-user flag, grants (any scope; those of other
/// workspaces/organizations are ignored) and its shares in the workspace.
#[derive(Debug, Clone, Default)]
pub struct Subject {
    pub superuser: bool,
    pub grants: Vec<Grant>,
    pub shares: Vec<Share>,
}

/// The rules in force in `ws`, each with the project a project role binds it to.
fn rules_in(subject: &Subject, ws: WorkspaceRef) -> impl Iterator<Item = (&'static Rule, Option<Uuid>)> + '_ {
    subject.grants.iter().flat_map(move |g| {
        let (role, project) = match g.scope {
            GrantScope::Organization(org) if org == ws.organization_id => (g.role.workspace_role(), None),
            GrantScope::Workspace(w) if w == ws.id => (Some(g.role), None),
            GrantScope::Project { workspace, project } if workspace == ws.id => (Some(g.role), Some(project)),
            _ => (None, None),
        };
        role.map(Role::rules).unwrap_or(&[]).iter().map(move |r| (r, project))
    })
}

fn rule_covers(rule: &Rule, project: Option<Uuid>, action: Action, r: &Resource) -> bool {
    if !rule.allows(r.resource_type, action) {
        return false;
    }
    match rule.within {
        Within::Workspace => true,
        Within::ProjectResources => project.is_some() && r.project_id == project,
        Within::Project => project.is_some() && r.id == project,
    }
}

fn share_covers(share: &Share, action: Action, r: &Resource) -> bool {
    r.id.is_some()
        && share.resource.resource_type == r.resource_type
        && share.resource.id == r.id
        && share.actions.contains(&action)
}

/// Whether the subject may do `action` on each resource in `ws` (same order as `resources`).
pub fn check(subject: &Subject, ws: WorkspaceRef, action: Action, resources: &[Resource]) -> Vec<bool> {
    resources
        .iter()
        .map(|r| {
            subject.superuser
                || rules_in(subject, ws).any(|(rule, project)| rule_covers(rule, project, action, r))
                || subject.shares.iter().any(|s| share_covers(s, action, r))
        })
        .collect()
}

/// The answer of `GET /rbac/allowed_resource_ids`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Allowed {
    pub full_access: bool,
    /// Canonical UUID strings, sorted; empty with `full_access`.
    pub ids: Vec<String>,
}

/// Which resources of `resource`'s type (and project) the subject may do `action` on in `ws`:
/// everything when a workspace-wide rule (or a project role for that project) covers the type,
/// else the shared ids (and, for `project`, the projects of project roles). `resource.id` is
/// ignored.
pub fn allowed_ids(subject: &Subject, ws: WorkspaceRef, action: Action, resource: &Resource) -> Allowed {
    let full = Allowed { full_access: true, ids: Vec::new() };
    if subject.superuser {
        return full;
    }
    let mut ids = BTreeSet::new();
    for (rule, project) in rules_in(subject, ws) {
        if !rule.allows(resource.resource_type, action) {
            continue;
        }
        match rule.within {
            Within::Workspace => return full,
            Within::ProjectResources if project.is_some() && resource.project_id == project => return full,
            Within::ProjectResources => {}
            Within::Project => ids.extend(project),
        }
    }
    for share in &subject.shares {
        if share.resource.resource_type == resource.resource_type
            && share.actions.contains(&action)
            && (resource.project_id.is_none() || share.resource.project_id == resource.project_id)
        {
            ids.extend(share.resource.id);
        }
    }
    Allowed { full_access: false, ids: ids.into_iter().map(|id| id.to_string()).collect() }
}

/// Whether the subject may log in to `ws` (`/users/authorize_server`): a super-user, a role on
/// the workspace, on one of its projects or on its organization (other than Member), or a share
/// in the workspace.
pub fn has_access(subject: &Subject, ws: WorkspaceRef) -> bool {
    subject.superuser
        || !subject.shares.is_empty()
        || subject.grants.iter().any(|g| match g.scope {
            GrantScope::Organization(org) => org == ws.organization_id && g.role.workspace_role().is_some(),
            GrantScope::Workspace(w) => w == ws.id,
            GrantScope::Project { workspace, .. } => workspace == ws.id,
        })
}

/// `is_superuser` of `/users/authorize_server` (the workspace makes such users `is_admin`):
/// super-users, Admins of the organization and Admins of the workspace.
pub fn is_superuser(subject: &Subject, ws: WorkspaceRef) -> bool {
    subject.superuser
        || subject.grants.iter().any(|g| match g.scope {
            GrantScope::Organization(org) => org == ws.organization_id && g.role == Role::OrgAdmin,
            GrantScope::Workspace(w) => w == ws.id && g.role == Role::WorkspaceAdmin,
            GrantScope::Project { .. } => false,
        })
}

#[cfg(test)]
#[path = "rbac_tests.rs"]
mod tests;
