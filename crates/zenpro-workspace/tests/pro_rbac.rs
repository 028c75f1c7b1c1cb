//! Pro-mode RBAC against our real control plane: role grants decide what a workspace user may
//! create, read, update and delete; lists are restricted to the allowed ids plus owned rows;
//! reportable creates report a usage event; decisions are cached.

mod pro_support;

use http::{Method, StatusCode};
use pro_support::*;
use serde_json::{Value, json};

fn names(page: &Value) -> Vec<String> {
    let mut v: Vec<String> =
        page["items"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap().to_string()).collect();
    v.sort();
    v
}

#[tokio::test]
async fn pro_rbac_roles_decide() {
    let cp = Cp::start().await;
    let e = enroll(&cp).await;
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&cp, &e, &dir, &[]).await.unwrap();
    let (_, carol_cp) = cp_user(&cp, &e, "carol", Some("Admin")).await;
    let (_, alice_cp) = cp_user(&cp, &e, "alice", Some("Viewer")).await;
    let carol = ws_login(&ws, &carol_cp).await;
    let alice = ws_login(&ws, &alice_cp).await;

    // A workspace Admin creates projects; each creation is reported once.
    let mut ids = Vec::new();
    for name in ["p1", "p2"] {
        let r =
            send_json(&ws, Method::POST, "/api/v1/projects", &carol, json!({"name": name, "display_name": name})).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.json);
        ids.push(r.json["id"].as_str().unwrap().to_string());
    }
    let ws_uuid = uuid::Uuid::parse_str(&e.ws_id).unwrap();
    let reported = cp.state.store.usage_events(ws_uuid).await.unwrap();
    assert_eq!(reported.len(), 2, "one usage event per created project");

    // A workspace Viewer reads everything but writes nothing.
    let r = send_json(&ws, Method::POST, "/api/v1/projects", &alice, json!({"name": "p3"})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.json);
    assert_eq!(r.json["detail"][1], "Insufficient permissions to CREATE resource 'project'.");
    let list = get(&ws, "/api/v1/projects", Some(&alice)).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.json);
    assert_eq!(names(&list.json), ["p1", "p2"]);
    assert_eq!(get(&ws, &format!("/api/v1/projects/{}", ids[0]), Some(&alice)).await.status, StatusCode::OK);
    let r =
        send_json(&ws, Method::PUT, &format!("/api/v1/projects/{}", ids[0]), &alice, json!({"description": "x"})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.json);
    assert_eq!(r.json["detail"][1], format!("Insufficient permissions to UPDATE resource 'project/{}'.", ids[0]));
    let r = send_json(&ws, Method::POST, "/api/v1/secrets", &alice, json!({"name": "s", "values": {"a": "b"}})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.json);

    // Decisions are cached: the same requests again make no control-plane call.
    let calls = ws.pro().unwrap().client.calls();
    get(&ws, "/api/v1/projects", Some(&alice)).await;
    get(&ws, &format!("/api/v1/projects/{}", ids[0]), Some(&alice)).await;
    send_json(&ws, Method::POST, "/api/v1/projects", &alice, json!({"name": "p3"})).await;
    assert_eq!(ws.pro().unwrap().client.calls(), calls);

    // A user with a project role only lists that project.
    let (bob_id, _) = cp_user(&cp, &e, "bob", None).await;
    cp.ok(
        Method::POST,
        "/role_assignments",
        json!({"role": "Viewer", "user": bob_id, "workspace": e.ws_id, "project": ids[1]}),
    )
    .await;
    let bob = ws_login(&ws, &cp.login("bob", "pw-of-user-1").await).await;
    let list = get(&ws, "/api/v1/projects", Some(&bob)).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.json);
    assert_eq!(names(&list.json), ["p2"]);
    assert_eq!(list.json["total"], 1);
    let r = get(&ws, &format!("/api/v1/projects/{}", ids[0]), Some(&bob)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.json);

    // The Admin deletes; the control plane forgets the resource's shares.
    let r = send_json(&ws, Method::DELETE, &format!("/api/v1/projects/{}", ids[0]), &carol, Value::Null).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
}

#[tokio::test]
async fn pro_rbac_owner_skips_the_control_plane() {
    let cp = Cp::start().await;
    let e = enroll(&cp).await;
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&cp, &e, &dir, &[]).await.unwrap();
    let (_, dev_cp) = cp_user(&cp, &e, "dev", Some("Stack Admin")).await;
    let (_, viewer_cp) = cp_user(&cp, &e, "viewer", Some("Viewer")).await;
    let dev = ws_login(&ws, &dev_cp).await;
    let viewer = ws_login(&ws, &viewer_cp).await;
    // A Stack Admin creates a secret: the owner reads and updates it without asking again.
    let r = send_json(
        &ws,
        Method::POST,
        "/api/v1/secrets",
        &dev,
        json!({"name": "s1", "values": {"k": "v"}, "private": false}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    let sid = r.json["id"].as_str().unwrap().to_string();
    let calls = ws.pro().unwrap().client.calls();
    assert_eq!(get(&ws, &format!("/api/v1/secrets/{sid}"), Some(&dev)).await.status, StatusCode::OK);
    assert_eq!(ws.pro().unwrap().client.calls(), calls, "owners skip the control plane");
    assert_eq!(get(&ws, &format!("/api/v1/secrets/{sid}"), Some(&dev)).await.json["body"]["values"], json!({"k": "v"}));
    // A Viewer reads it without its values (no `read_secret_value`), but cannot delete it.
    let r = get(&ws, &format!("/api/v1/secrets/{sid}"), Some(&viewer)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    assert_eq!(r.json["body"]["values"], json!({"k": null}), "values removed, keys kept");
    let calls = ws.pro().unwrap().client.calls();
    get(&ws, &format!("/api/v1/secrets/{sid}"), Some(&viewer)).await;
    assert_eq!(ws.pro().unwrap().client.calls(), calls, "read and read_secret_value decisions are cached");
    let r = send_json(&ws, Method::DELETE, &format!("/api/v1/secrets/{sid}"), &viewer, Value::Null).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.json);

    // A service connector's secrets: the owner sees them, a Viewer (no `read_secret_value`) gets
    // the non-secret configuration, on a single GET and in an expanded list.
    let body = json!({"name": "dock", "connector_type": "docker", "auth_method": "password",
                      "resource_types": ["docker-registry"],
                      "configuration": {"password": "s3cr3t", "username": "u", "registry": "r.io"}});
    let r = send_json(&ws, Method::POST, "/api/v1/service_connectors", &dev, body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    let cid = r.json["id"].as_str().unwrap().to_string();
    let conf = |v: &Value| v["metadata"]["configuration"].clone();
    let r = get(&ws, &format!("/api/v1/service_connectors/{cid}"), Some(&dev)).await;
    assert_eq!(conf(&r.json)["password"], "s3cr3t", "{}", r.json);
    let r = get(&ws, &format!("/api/v1/service_connectors/{cid}"), Some(&viewer)).await;
    assert_eq!((r.status, conf(&r.json)), (StatusCode::OK, json!({"registry": "r.io"})), "{}", r.json);
    let list = "/api/v1/service_connectors?hydrate=True&expand_secrets=True";
    let r = get(&ws, list, Some(&viewer)).await;
    assert_eq!(conf(&r.json["items"][0]), json!({"registry": "r.io"}), "{}", r.json);
    let r = get(&ws, list, Some(&dev)).await;
    assert_eq!(conf(&r.json["items"][0])["password"], "s3cr3t", "{}", r.json);
}

/// Steps, logs, run sub-routes, artifact and model versions, run metadata and tag links are
/// checked like the reference: on the parent run / artifact / model where it does, with the
/// exact resource strings; lists are restricted through the parent's allowed ids.
#[tokio::test]
async fn pro_rbac_nested_routes() {
    let cp = Cp::start().await;
    let e = enroll(&cp).await;
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&cp, &e, &dir, &[]).await.unwrap();
    let (_, carol_cp) = cp_user(&cp, &e, "carol", Some("Admin")).await;
    let (_, alice_cp) = cp_user(&cp, &e, "alice", Some("Viewer")).await;
    let carol = ws_login(&ws, &carol_cp).await;
    let alice = ws_login(&ws, &alice_cp).await;
    let ws = &ws;

    // Carol (workspace Admin) runs a one-step pipeline in p1 and records what a run records.
    let p1 = id_of(&ok(ws, "/api/v1/projects", &carol, json!({"name": "p1", "display_name": "p1"})).await);
    let p2 = id_of(&ok(ws, "/api/v1/projects", &carol, json!({"name": "p2", "display_name": "p2"})).await);
    let stacks = get(ws, "/api/v1/stacks?name=default", Some(&carol)).await;
    let stack = id_of(&stacks.json["items"][0]);
    let comps = get(ws, "/api/v1/components?type=artifact_store&name=default", Some(&carol)).await;
    let store = id_of(&comps.json["items"][0]);
    let pipeline = id_of(&ok(ws, "/api/v1/pipelines", &carol, json!({"project": p1, "name": "pl"})).await);
    let snap = id_of(&ok(ws, "/api/v1/pipeline_snapshots", &carol, snapshot_body(&p1, &stack, &pipeline)).await);
    let run = id_of(
        &ok(
            ws,
            "/api/v1/runs",
            &carol,
            json!({"project": p1, "name": "r1", "snapshot": snap, "status": "running", "orchestrator_run_id": "o1",
                   "start_time": "2026-11-26T10:31:19.990385", "orchestrator_environment": {}}),
        )
        .await[0],
    );
    let step = id_of(
        &ok(
            ws,
            "/api/v1/steps",
            &carol,
            json!({"project": p1, "name": "s1", "start_time": "2026-11-26T10:31:26.178887", "status": "running",
                   "cache_key": "k1", "pipeline_run_id": run, "inputs": {}, "outputs": {}}),
        )
        .await,
    );
    let av = ok(
        ws,
        "/api/v1/artifact_versions/batch",
        &carol,
        json!([{"project": p1, "artifact_name": "a1", "version": null, "has_custom_name": true, "type": "DataArtifact",
                "artifact_store_id": store, "uri": "/tmp/stores/a1/x",
                "materializer": {"module": "m", "attribute": "M", "type": "internal"},
                "data_type": {"module": "builtins", "attribute": "str", "type": "builtin"},
                "save_type": "manual", "metadata": {}}]),
    )
    .await;
    let (av, artifact) = (id_of(&av[0]), av[0]["body"]["artifact"]["id"].as_str().unwrap().to_string());
    let model = id_of(&ok(ws, "/api/v1/models", &carol, json!({"project": p1, "name": "m1"})).await);
    let mv =
        id_of(&ok(ws, "/api/v1/model_versions", &carol, json!({"project": p1, "name": "v1", "model": model})).await);
    let logs = id_of(
        &ok(
            ws,
            "/api/v1/logs",
            &carol,
            json!({"project": p1, "uri": "/tmp/l.log", "source": "client", "artifact_store_id": store,
                   "pipeline_run_id": run}),
        )
        .await,
    );
    let tag = id_of(&ok(ws, "/api/v1/tags", &carol, json!({"name": "t1"})).await);

    // Bob holds a role on p2 only.
    let (bob_id, _) = cp_user(&cp, &e, "bob", None).await;
    cp.ok(
        Method::POST,
        "/role_assignments",
        json!({"role": "Viewer", "user": bob_id, "workspace": e.ws_id, "project": p2}),
    )
    .await;
    let bob = ws_login(ws, &cp.login("bob", "pw-of-user-1").await).await;

    let denied = |r: &Resp, action: &str, res: &str| {
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.json);
        assert_eq!(r.json["detail"][1], format!("Insufficient permissions to {action} resource '{res}'."));
    };
    let run_res = format!("{p1}:pipeline_run/{run}");

    // `POST /runs` of an existing run (same snapshot and orchestrator run id) is a read: a
    // Viewer gets the run back (not created), a user without access to p1 a READ refusal.
    let same_run = json!({"project": p1, "name": "r1", "snapshot": snap, "status": "running",
                          "orchestrator_run_id": "o1", "orchestrator_environment": {}});
    let r = send_json(ws, Method::POST, "/api/v1/runs", &alice, same_run.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    assert_eq!((id_of(&r.json[0]), &r.json[1]), (run.clone(), &json!(false)));
    denied(&send_json(ws, Method::POST, "/api/v1/runs", &bob, same_run).await, "READ", &run_res);
    // A new run still needs create.
    let new_run = json!({"project": p1, "name": "r9", "snapshot": snap, "status": "running",
                         "orchestrator_run_id": "o9", "orchestrator_environment": {}});
    denied(
        &send_json(ws, Method::POST, "/api/v1/runs", &alice, new_run).await,
        "CREATE",
        &format!("{p1}:pipeline_run"),
    );

    // Steps and run sub-routes: read / update on the step's run.
    for path in [
        format!("/api/v1/steps/{step}"),
        format!("/api/v1/steps/{step}/status"),
        format!("/api/v1/runs/{run}/steps"),
        format!("/api/v1/runs/{run}/status"),
        format!("/api/v1/logs/{logs}"),
    ] {
        assert_eq!(get(ws, &path, Some(&alice)).await.status, StatusCode::OK, "Viewer reads {path}");
        denied(&get(ws, &path, Some(&bob)).await, "READ", &run_res);
    }
    let r = send_json(ws, Method::PUT, &format!("/api/v1/steps/{step}"), &alice, json!({"status": "completed"})).await;
    denied(&r, "UPDATE", &run_res);
    let r = send_json(ws, Method::PUT, &format!("/api/v1/runs/{run}/disable_heartbeat"), &alice, Value::Null).await;
    denied(&r, "UPDATE", &run_res);
    let step_body = json!({"project": p1, "name": "s2", "start_time": "2026-11-26T10:31:26.178887", "status": "running",
                           "cache_key": "k2", "pipeline_run_id": run, "inputs": {}, "outputs": {}});
    denied(&send_json(ws, Method::POST, "/api/v1/steps", &alice, step_body).await, "UPDATE", &run_res);
    let r = send_json(ws, Method::PUT, &format!("/api/v1/logs/{logs}"), &alice, json!({"pipeline_run_id": run})).await;
    denied(&r, "UPDATE", &run_res);

    // Step lists are restricted through the allowed runs of the project.
    let steps = format!("/api/v1/steps?project={p1}");
    for path in ["/api/v1/steps", "/api/v1/artifact_versions", "/api/v1/model_versions", "/api/v1/hook_invocations"] {
        let r = get(ws, path, Some(&carol)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path} without a project: {}", r.json);
        assert_eq!(r.json["detail"][1], "Project scope missing from the filter");
    }
    assert_eq!(get(ws, &steps, Some(&carol)).await.json["total"], 1);
    assert_eq!(get(ws, &steps, Some(&alice)).await.json["total"], 1);
    let r = get(ws, &steps, Some(&bob)).await;
    assert_eq!((r.status, &r.json["total"]), (StatusCode::OK, &json!(0)), "{}", r.json);

    // Versions are read on their artifact / model, updated on themselves.
    denied(
        &get(ws, &format!("/api/v1/artifact_versions/{av}"), Some(&bob)).await,
        "READ",
        &format!("{p1}:artifact/{artifact}"),
    );
    denied(&get(ws, &format!("/api/v1/model_versions/{mv}"), Some(&bob)).await, "READ", &format!("{p1}:model/{model}"));
    assert_eq!(get(ws, &format!("/api/v1/artifact_versions/{av}"), Some(&alice)).await.status, StatusCode::OK);
    let r = send_json(ws, Method::PUT, &format!("/api/v1/artifact_versions/{av}"), &alice, json!({"name": "x"})).await;
    denied(&r, "UPDATE", &format!("{p1}:artifact_version/{av}"));
    let r = send_json(ws, Method::PUT, &format!("/api/v1/model_versions/{mv}"), &alice, json!({"stage": "production"}))
        .await;
    denied(&r, "PROMOTE", &format!("{p1}:model/{model}"));
    let r = get(ws, &format!("/api/v1/artifact_versions?project={p1}"), Some(&bob)).await;
    assert_eq!((r.status, &r.json["total"]), (StatusCode::OK, &json!(0)), "{}", r.json);
    assert_eq!(get(ws, &format!("/api/v1/model_versions?project={p1}"), Some(&alice)).await.json["total"], 1);
    let r = send_json(
        ws,
        Method::POST,
        "/api/v1/artifact_versions",
        &alice,
        json!({"project": p1, "artifact_name": "a2", "type": "DataArtifact", "uri": "/x",
               "materializer": {"module": "m", "attribute": "M", "type": "internal"},
               "data_type": {"module": "builtins", "attribute": "str", "type": "builtin"}}),
    )
    .await;
    denied(&r, "CREATE", &format!("{p1}:artifact_version"));

    // Run metadata: update on every target; tag links: update on the tagged entity.
    let md = json!({"project": p1, "resources": [{"id": run, "type": "pipeline_run"}],
                    "values": {"a": 1}, "types": {"a": "int"}});
    denied(&send_json(ws, Method::POST, "/api/v1/run-metadata", &alice, md.clone()).await, "UPDATE", &run_res);
    assert_eq!(send_json(ws, Method::POST, "/api/v1/run-metadata", &carol, md).await.status, StatusCode::OK);
    let link = json!({"tag_id": tag, "resource_id": model, "resource_type": "model"});
    let r = send_json(ws, Method::POST, "/api/v1/tag_resources", &alice, link.clone()).await;
    denied(&r, "UPDATE", &format!("{p1}:model/{model}"));
    assert_eq!(send_json(ws, Method::POST, "/api/v1/tag_resources", &carol, link).await.status, StatusCode::OK);

    // Alice's own run metadata and steps: nothing more is asked once decisions are cached.
    let calls = ws.pro().unwrap().client.calls();
    assert_eq!(get(ws, &format!("/api/v1/steps/{step}"), Some(&alice)).await.status, StatusCode::OK);
    assert_eq!(ws.pro().unwrap().client.calls(), calls);

    // Dehydration: the run shared with Bob is readable, its pipeline and snapshot are not, so
    // they come back in their permission-denied form; the server-owned stack and the user stay.
    let share =
        format!("/api/v1/users/resource_membership?resource_type=pipeline_run&resource_id={run}&user_id={bob_id}");
    assert_eq!(send_json(ws, Method::POST, &share, &carol, json!(["read"])).await.status, StatusCode::OK);
    let calls = ws.pro().unwrap().client.calls();
    let r = get(ws, &format!("/api/v1/runs/{run}"), Some(&bob)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    assert_eq!(ws.pro().unwrap().client.calls() - calls, 2, "one check of the run, one batch for its nested models");
    let pl = &r.json["resources"]["pipeline"];
    assert_eq!((pl["id"].as_str(), &pl["permission_denied"]), (Some(pipeline.as_str()), &json!(true)), "{pl}");
    assert_eq!((&pl["body"], &pl["metadata"], &pl["resources"]), (&Value::Null, &Value::Null, &Value::Null));
    assert_eq!(pl["name"], "pl");
    assert_eq!(r.json["resources"]["snapshot"]["permission_denied"], true);
    assert_eq!(r.json["resources"]["stack"]["permission_denied"], false);
    assert_eq!(r.json["resources"]["user"]["permission_denied"], false);
    assert_eq!(r.json["body"]["status"], "running", "the run itself is not dehydrated");
    let r = get(ws, &format!("/api/v1/runs/{run}"), Some(&alice)).await;
    assert_eq!(r.json["resources"]["pipeline"]["permission_denied"], false, "a Viewer reads the pipeline");
    assert_eq!(r.json["resources"]["pipeline"]["name"], "pl");
}

/// Sharing through `POST /users/resource_membership` (share + each action checked, then the
/// control plane's `resource_members`), and deletions forgetting the shares (`delete_resources`),
/// also for model versions.
#[tokio::test]
async fn pro_rbac_share_and_delete_notices() {
    let cp = Cp::start().await;
    let e = enroll(&cp).await;
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&cp, &e, &dir, &[]).await.unwrap();
    let ws = &ws;
    let (_, carol_cp) = cp_user(&cp, &e, "carol", Some("Admin")).await;
    let (_, alice_cp) = cp_user(&cp, &e, "alice", Some("Viewer")).await;
    let carol = ws_login(ws, &carol_cp).await;
    let alice = ws_login(ws, &alice_cp).await;
    let p1 = id_of(&ok(ws, "/api/v1/projects", &carol, json!({"name": "p1", "display_name": "p1"})).await);
    let p2 = id_of(&ok(ws, "/api/v1/projects", &carol, json!({"name": "p2", "display_name": "p2"})).await);
    let model = id_of(&ok(ws, "/api/v1/models", &carol, json!({"project": p1, "name": "m1"})).await);
    let mv =
        id_of(&ok(ws, "/api/v1/model_versions", &carol, json!({"project": p1, "name": "v1", "model": model})).await);
    let (bob_id, _) = cp_user(&cp, &e, "bob", None).await;
    cp.ok(
        Method::POST,
        "/role_assignments",
        json!({"role": "Viewer", "user": bob_id, "workspace": e.ws_id, "project": p2}),
    )
    .await;
    let bob = ws_login(ws, &cp.login("bob", "pw-of-user-1").await).await;
    let ws_uuid = uuid::Uuid::parse_str(&e.ws_id).unwrap();
    let bob_uuid = uuid::Uuid::parse_str(&bob_id).unwrap();
    let shares = || async { cp.state.store.shares_of(ws_uuid, bob_uuid).await.unwrap() };

    assert_eq!(get(ws, &format!("/api/v1/models/{model}"), Some(&bob)).await.status, StatusCode::FORBIDDEN);
    let share = |rt: &str, id: &str, user: &str| {
        format!("/api/v1/users/resource_membership?resource_type={rt}&resource_id={id}&user_id={user}")
    };
    let r = send_json(ws, Method::POST, &share("model", &model, &bob_id), &carol, json!(["read"])).await;
    assert_eq!((r.status, &r.json), (StatusCode::OK, &Value::Null));
    let r = send_json(ws, Method::POST, &share("model_version", &mv, &bob_id), &carol, json!(["read", "update"])).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    let s = shares().await;
    assert_eq!(s.len(), 2, "{s:?}");
    assert!(
        s.iter().any(|x| x.resource_type == "model" && x.resource_id.map(|i| i.to_string()) == Some(model.clone()))
    );
    // The share takes effect at once (the cached denial was dropped).
    assert_eq!(get(ws, &format!("/api/v1/models/{model}"), Some(&bob)).await.status, StatusCode::OK);

    // Refused: sharing with oneself, an unknown type, a missing resource, a sharer without SHARE.
    let carol_cp_id = cp.state.store.get_user_by_id_or_name("carol").await.unwrap().unwrap().id.to_string();
    let r = send_json(ws, Method::POST, &share("model", &model, &carol_cp_id), &carol, json!(["read"])).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.json);
    let r = send_json(ws, Method::POST, &share("nope", &model, &bob_id), &carol, json!(["read"])).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.json);
    let missing = uuid::Uuid::new_v4().to_string();
    let r = send_json(ws, Method::POST, &share("model", &missing, &bob_id), &carol, json!(["read"])).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.json);
    let r = send_json(ws, Method::POST, &share("model", &model, &bob_id), &alice, json!(["read"])).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.json);
    assert_eq!(r.json["detail"][1], format!("Insufficient permissions to SHARE resource '{p1}:model/{model}'."));

    // Deleting the version, then the model, forgets their shares on the control plane.
    let r = send_json(ws, Method::DELETE, &format!("/api/v1/model_versions/{mv}"), &carol, Value::Null).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    let s = shares().await;
    assert_eq!(s.iter().map(|x| x.resource_type.as_str()).collect::<Vec<_>>(), ["model"]);
    let r = send_json(ws, Method::DELETE, &format!("/api/v1/models/{model}"), &carol, Value::Null).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    assert!(shares().await.is_empty());
}

#[tokio::test]
async fn pro_service_accounts_cookies_and_request_order() {
    let cp = Cp::start().await;
    let e = enroll(&cp).await;
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&cp, &e, &dir, &[]).await.unwrap();
    let (_, carol_cp) = cp_user(&cp, &e, "carol", Some("Admin")).await;
    let (_, alice_cp) = cp_user(&cp, &e, "alice", Some("Viewer")).await;
    let carol = ws_login(&ws, &carol_cp).await;
    let alice = ws_login(&ws, &alice_cp).await;

    // Workspace-level service accounts are deprecated in Pro: creating one is refused, even
    // for an Admin; lists are read-checked.
    let r =
        send_json(&ws, Method::POST, "/api/v1/service_accounts", &carol, json!({"name": "sa1", "active": true})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.json);
    assert_eq!(r.json["detail"][0], "IllegalOperationError");
    assert!(
        r.json["detail"][1]
            .as_str()
            .unwrap()
            .starts_with("Workspace-level service accounts and API keys are deprecated")
    );
    let r = get(&ws, "/api/v1/service_accounts", Some(&alice)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);

    // The auth cookie wins over `Authorization: Bearer` (`CookieOAuth2TokenBearer`).
    let cookie = format!("{}={alice}", ws.cookie_name());
    let req = |bearer: &str| {
        http::Request::get("/api/v1/current-user")
            .header(http::header::COOKIE, cookie.clone())
            .header(http::header::AUTHORIZATION, format!("Bearer {bearer}"))
            .body(axum::body::Body::empty())
            .unwrap()
    };
    let r = send(&ws, req(&carol)).await;
    assert_eq!((r.status, r.json["name"].as_str()), (StatusCode::OK, Some("alice")), "{}", r.json);
    let r = send(&ws, req("not-a-token")).await;
    assert_eq!((r.status, r.json["name"].as_str()), (StatusCode::OK, Some("alice")), "{}", r.json);

    // A body that does not validate is a 422 before any RBAC refusal (FastAPI validates first).
    let p = ok(&ws, "/api/v1/projects", &carol, json!({"name": "p1", "display_name": "p1"})).await;
    let r = send_json(&ws, Method::PUT, &format!("/api/v1/projects/{}", id_of(&p)), &alice, json!([1])).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.json);
    let r = send_json(&ws, Method::POST, "/api/v1/stacks", &alice, json!("x")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.json);
    let r = send_json(&ws, Method::POST, "/api/v1/stacks", &alice, json!({"name": "s", "components": {}})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.json);

    // `/users` and `/current-user` are dehydrated by the reference, but a user model embeds no
    // governed model: nothing to ask the control plane.
    let calls = ws.pro().unwrap().client.calls();
    for path in ["/api/v1/users", "/api/v1/current-user", "/api/v1/tags"] {
        assert_eq!(get(&ws, path, Some(&alice)).await.status, StatusCode::OK, "{path}");
    }
    assert_eq!(ws.pro().unwrap().client.calls(), calls);

    // A project-scoped list needs its project: a Pro server has no default project to use.
    let r = get(&ws, "/api/v1/pipelines", Some(&carol)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.json);
    assert_eq!(r.json["detail"], json!(["ValueError", "Project scope missing from the filter"]));
    let r = get(&ws, "/api/v1/pipelines?project=p1", Some(&carol)).await;
    assert_eq!((r.status, &r.json["total"]), (StatusCode::OK, &json!(0)), "{}", r.json);
}
