//! Unit tests of the role table and its evaluation.

use super::*;

const P1: &str = "41e3a9c2-1b7d-4a50-9d2e-0f6b8c3a7e11";
const P2: &str = "52f4b0d3-2c8e-4b61-8e3f-1a7c9d4b8f22";
const X: &str = "35a4c1e2-9f8b-4d7a-8c6e-5b4a3d2c1f00";

fn u(s: &str) -> Uuid {
    Uuid::parse_str(s).unwrap()
}

fn r(s: &str) -> Resource {
    Resource::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn ws() -> WorkspaceRef {
    WorkspaceRef {
        id: u("00000000-0000-4000-8000-000000000001"),
        organization_id: u("00000000-0000-4000-8000-0000000000aa"),
    }
}

fn other_ws() -> WorkspaceRef {
    WorkspaceRef {
        id: u("00000000-0000-4000-8000-000000000002"),
        organization_id: u("00000000-0000-4000-8000-0000000000bb"),
    }
}

fn with(role: Role) -> Subject {
    let w = ws();
    let scope = match role.scope() {
        Scope::Organization => GrantScope::Organization(w.organization_id),
        Scope::Workspace => GrantScope::Workspace(w.id),
        Scope::Project => GrantScope::Project { workspace: w.id, project: u(P1) },
    };
    Subject { grants: vec![Grant { role, scope }], ..Subject::default() }
}

fn can(subject: &Subject, action: Action, resource: &str) -> bool {
    check(subject, ws(), action, &[r(resource)])[0]
}

#[test]
fn enums_match_zenml() {
    assert_eq!(Action::ALL.len(), 10);
    assert_eq!(ResourceType::ALL.len(), 24);
    for a in Action::ALL {
        assert_eq!(Action::parse(a.as_str()), Some(a));
        assert_eq!(serde_json::to_value(a).unwrap(), a.as_str());
    }
    for t in ResourceType::ALL {
        assert_eq!(ResourceType::parse(t.as_str()), Some(t));
        assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
        assert_eq!(t.is_project_scoped(), PROJECT_SCOPED.contains(&t), "{t}");
    }
    assert_eq!(PROJECT_SCOPED.len() + WORKSPACE_WIDE.len(), 24);
    assert_eq!(Action::parse("READ"), None);
    assert_eq!(ResourceType::parse("user"), None);
    assert_eq!(ResourceType::parse("pipeline_snapshot"), None);
    assert!(!T::Project.is_project_scoped());
    assert!(T::PipelineDeployment.is_project_scoped());
    assert!(T::Webhook.is_project_scoped());
}

#[test]
fn resource_strings_round_trip() {
    for s in [
        "project",
        format!("project/{P1}").as_str(),
        format!("secret/{X}").as_str(),
        format!("{P1}:pipeline").as_str(),
        format!("{P1}:pipeline_run/{X}").as_str(),
    ] {
        assert_eq!(r(s).to_string(), s);
    }
    let run = r(&format!("{P1}:pipeline_run/{X}"));
    assert_eq!(run.resource_type, T::PipelineRun);
    assert_eq!(run.project_id, Some(u(P1)));
    assert_eq!(run.id, Some(u(X)));
    // Other UUID spellings parse (as pydantic's) and format canonically.
    let simple = r(&format!("secret/{}", u(X).simple()).to_uppercase().replace("SECRET", "secret"));
    assert_eq!(simple.to_string(), format!("secret/{X}"));
}

#[test]
fn malformed_resource_strings_are_errors() {
    for s in [
        "",
        "unknown",
        "user",
        "Project",
        "pipeline",               // project-scoped without project
        &format!("{P1}:project"), // global with project
        &format!("{P1}:secret/{X}"),
        "project/not-a-uuid",
        "project/",
        &format!("project/{X}/{X}"),
        &format!("nope:pipeline/{X}"),
        ":pipeline",
        &format!("{P1}:pipeline:{X}"),
        &format!("{P1}:pipeline /{X}"),
        " project",
    ] {
        assert!(Resource::parse(s).is_err(), "{s:?} must be refused");
    }
}

#[test]
fn workspace_admin_and_superuser_may_do_everything() {
    let admin = with(Role::WorkspaceAdmin);
    let su = Subject { superuser: true, ..Subject::default() };
    for a in Action::ALL {
        for s in ["project", &format!("{P2}:model/{X}"), &format!("secret/{X}")] {
            assert!(can(&admin, a, s));
            assert!(can(&su, a, s));
        }
    }
    // Not in another workspace.
    assert!(!check(&admin, other_ws(), A::Read, &[r("project")])[0]);
    assert!(check(&su, other_ws(), A::Read, &[r("project")])[0]);
}

#[test]
fn workspace_developer() {
    let dev = with(Role::WorkspaceDeveloper);
    assert!(can(&dev, A::Create, &format!("{P1}:pipeline_run")));
    assert!(can(&dev, A::Delete, &format!("secret/{X}")));
    assert!(can(&dev, A::ReadSecretValue, &format!("secret/{X}")));
    assert!(!can(&dev, A::BackupRestore, "secret"));
    assert!(can(&dev, A::Read, "project"));
    assert!(!can(&dev, A::Create, "project"));
    assert!(!can(&dev, A::Update, &format!("project/{P1}")));
    assert!(!can(&dev, A::Create, "service_account"));
    assert!(can(&dev, A::Read, &format!("service_account/{X}")));
}

#[test]
fn workspace_contributor_viewer_stack_admin() {
    let c = with(Role::WorkspaceContributor);
    assert!(can(&c, A::Read, &format!("secret/{X}")));
    assert!(!can(&c, A::ReadSecretValue, &format!("secret/{X}")));
    assert!(can(&c, A::Create, &format!("{P1}:pipeline")));
    assert!(can(&c, A::Share, &format!("{P2}:model/{X}")));
    assert!(!can(&c, A::Delete, &format!("{P1}:pipeline/{X}")));
    assert!(can(&c, A::Update, &format!("tag/{X}")));
    assert!(!can(&c, A::Create, "stack"));
    assert!(can(&c, A::Client, &format!("service_connector/{X}")));

    let v = with(Role::WorkspaceViewer);
    assert!(can(&v, A::Read, &format!("{P1}:pipeline_run/{X}")));
    assert!(can(&v, A::Read, "project"));
    assert!(!can(&v, A::Create, &format!("{P1}:pipeline_run")));
    assert!(!can(&v, A::Client, &format!("service_connector/{X}")));

    let s = with(Role::WorkspaceStackAdmin);
    assert!(can(&s, A::Delete, &format!("stack/{X}")));
    assert!(can(&s, A::BackupRestore, "secret"));
    assert!(can(&s, A::Client, &format!("service_connector/{X}")));
    assert!(can(&s, A::Read, &format!("{P1}:pipeline")));
    assert!(!can(&s, A::Create, &format!("{P1}:pipeline")));
}

#[test]
fn project_roles_are_bound_to_their_project() {
    let admin = with(Role::ProjectAdmin);
    assert!(can(&admin, A::Prune, &format!("{P1}:artifact_version")));
    assert!(can(&admin, A::Delete, &format!("{P1}:model/{X}")));
    assert!(!can(&admin, A::Read, &format!("{P2}:model/{X}")));
    assert!(can(&admin, A::Update, &format!("project/{P1}")));
    assert!(can(&admin, A::Share, &format!("project/{P1}")));
    assert!(!can(&admin, A::Create, &format!("project/{P1}")));
    assert!(!can(&admin, A::Read, &format!("project/{P2}")));
    assert!(!can(&admin, A::Create, "project"));
    assert!(!can(&admin, A::Read, "stack"));

    let dev = with(Role::ProjectDeveloper);
    assert!(can(&dev, A::Create, &format!("{P1}:pipeline_run")));
    assert!(!can(&dev, A::Prune, &format!("{P1}:pipeline_run")));
    assert!(can(&dev, A::Read, &format!("project/{P1}")));
    assert!(!can(&dev, A::Update, &format!("project/{P1}")));
    assert!(can(&dev, A::Read, "stack"));
    assert!(can(&dev, A::Client, &format!("service_connector/{X}")));
    assert!(!can(&dev, A::Create, "stack"));
    assert!(!can(&dev, A::Read, &format!("secret/{X}")));

    let c = with(Role::ProjectContributor);
    assert!(can(&c, A::Share, &format!("{P1}:pipeline/{X}")));
    assert!(!can(&c, A::Delete, &format!("{P1}:pipeline/{X}")));
    assert!(can(&c, A::Read, &format!("service_connector/{X}")));
    assert!(can(&c, A::Client, &format!("service_connector/{X}")));

    let v = with(Role::ProjectViewer);
    assert!(can(&v, A::Read, &format!("{P1}:pipeline/{X}")));
    assert!(!can(&v, A::Create, &format!("{P1}:pipeline")));
    assert!(can(&v, A::Read, "stack_component"));
    assert!(!can(&v, A::Read, &format!("service_connector/{X}")));
    assert!(!can(&v, A::Read, &format!("{P2}:pipeline/{X}")));
}

#[test]
fn organization_roles_act_in_the_organizations_workspaces() {
    let admin = with(Role::OrgAdmin);
    assert!(can(&admin, A::BackupRestore, "secret"));
    assert!(!check(&admin, other_ws(), A::Read, &[r("project")])[0]);
    let manager = with(Role::OrgManager);
    assert!(can(&manager, A::Create, &format!("{P1}:pipeline")));
    assert!(!can(&manager, A::BackupRestore, "secret"));
    let viewer = with(Role::OrgViewer);
    assert!(can(&viewer, A::Read, &format!("{P1}:pipeline")));
    assert!(!can(&viewer, A::Create, &format!("{P1}:pipeline")));
    let member = with(Role::OrgMember);
    assert!(!can(&member, A::Read, "project"));
}

#[test]
fn shares_cover_their_resource_and_actions_only() {
    let pipe = r(&format!("{P1}:pipeline/{X}"));
    let s = Subject { shares: vec![Share { resource: pipe, actions: vec![A::Read, A::Update] }], ..Subject::default() };
    assert!(can(&s, A::Read, &format!("{P1}:pipeline/{X}")));
    assert!(can(&s, A::Update, &format!("{P1}:pipeline/{X}")));
    assert!(!can(&s, A::Delete, &format!("{P1}:pipeline/{X}")));
    assert!(!can(&s, A::Read, &format!("{P1}:pipeline")));
    assert!(!can(&s, A::Read, &format!("{P1}:model/{X}")));
    let a = allowed_ids(&s, ws(), A::Read, &r(&format!("{P1}:pipeline")));
    assert_eq!(a, Allowed { full_access: false, ids: vec![X.to_string()] });
    let a = allowed_ids(&s, ws(), A::Read, &r(&format!("{P2}:pipeline")));
    assert_eq!(a, Allowed { full_access: false, ids: vec![] });
    let a = allowed_ids(&s, ws(), A::Delete, &r(&format!("{P1}:pipeline")));
    assert!(a.ids.is_empty());
    assert!(has_access(&s, ws()));
    assert!(!is_superuser(&s, ws()));
}

#[test]
fn allowed_ids_full_access_and_project_lists() {
    let read = |s: &Subject, res: &str| allowed_ids(s, ws(), A::Read, &r(res));
    assert!(read(&with(Role::WorkspaceViewer), "stack").full_access);
    assert!(read(&with(Role::OrgViewer), &format!("{P2}:pipeline")).full_access);
    assert!(!read(&with(Role::OrgMember), "stack").full_access);
    let pv = with(Role::ProjectViewer);
    assert!(read(&pv, &format!("{P1}:pipeline")).full_access);
    assert_eq!(read(&pv, &format!("{P2}:pipeline")), Allowed { full_access: false, ids: vec![] });
    assert_eq!(read(&pv, "project"), Allowed { full_access: false, ids: vec![P1.to_string()] });
    assert!(read(&pv, "stack").full_access);
    assert!(!read(&pv, "secret").full_access);
    assert!(!allowed_ids(&with(Role::WorkspaceViewer), other_ws(), A::Read, &r("stack")).full_access);
    assert!(
        allowed_ids(&Subject { superuser: true, ..Subject::default() }, other_ws(), A::Delete, &r("stack")).full_access
    );
}

#[test]
fn access_and_superuser_flags() {
    assert!(!has_access(&Subject::default(), ws()));
    assert!(!has_access(&with(Role::OrgMember), ws()));
    for role in Role::ALL.into_iter().filter(|r| *r != Role::OrgMember) {
        assert!(has_access(&with(role), ws()), "{role:?}");
        assert!(!has_access(&with(role), other_ws()), "{role:?}");
        assert_eq!(is_superuser(&with(role), ws()), matches!(role, Role::OrgAdmin | Role::WorkspaceAdmin), "{role:?}");
    }
    assert!(is_superuser(&Subject { superuser: true, ..Subject::default() }, other_ws()));
}

#[test]
fn roles_parse_and_render() {
    assert_eq!(Role::parse(Scope::Workspace, "Stack Admin"), Some(Role::WorkspaceStackAdmin));
    assert_eq!(Role::parse(Scope::Workspace, "stack_admin"), Some(Role::WorkspaceStackAdmin));
    assert_eq!(Role::parse(Scope::Project, "admin"), Some(Role::ProjectAdmin));
    assert_eq!(Role::parse(Scope::Organization, "Manager"), Some(Role::OrgManager));
    assert_eq!(Role::parse(Scope::Project, "Stack Admin"), None);
    assert_eq!(Role::parse(Scope::Organization, "Developer"), None);
    for role in Role::ALL {
        assert_eq!(Role::parse(role.scope(), role.name()), Some(role));
    }
    let table = serde_json::to_value(role_table()).unwrap();
    assert_eq!(table.as_array().unwrap().len(), 13);
    let org_admin = &table[0];
    assert_eq!(org_admin["name"], "Admin");
    assert_eq!(org_admin["scope"], "organization");
    assert_eq!(org_admin["workspace_role"], "Admin");
    assert_eq!(org_admin["permissions"][0]["within"], "workspace");
    assert_eq!(org_admin["permissions"][0]["resource_types"].as_array().unwrap().len(), 24);
    let pv = &table[12];
    assert_eq!(pv["scope"], "project");
    assert_eq!(
        pv["permissions"][1],
        serde_json::json!({"within": "project", "resource_types": ["project"], "actions": ["read"]})
    );
}
