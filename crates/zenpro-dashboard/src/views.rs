//! The workspace views: each handler makes a fixed, small number of REST API calls and renders
//! one askama template.

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{Extension, Form, Path, Query};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::Deserialize;
use serde_json::Value;
use zenpro_types::Error;

use crate::dag::{self, Edge, Node};
use crate::{ApiTarget, SharedSource};

const CSRF_COOKIE: &str = "zenpro_csrf";
const RUN_STATUSES: &[&str] = &[
    "initializing",
    "provisioning",
    "queued",
    "running",
    "completed",
    "failed",
    "retrying",
    "paused",
    "resuming",
    "stopping",
    "stopped",
    "cancelling",
    "cancelled",
];
const PAGE_SIZE: u32 = 25;

/// Shared by the handlers: the token source and one HTTP client (connection pool).
#[derive(Clone)]
struct Views {
    source: SharedSource,
    http: reqwest::Client,
}

/// The views (`/`, `/pipelines`, `/runs`, `/runs/{id}`, `/steps/{id}`, `/artifacts[/{id}]`,
/// `/artifact_versions/{id}`, `/models[/{id}]`, `/model_versions/{id}`, `/stacks`, `/components`, `/secrets`), for any
/// router state. Links are made under the [`ApiTarget::prefix`] the source returns.
pub fn workspace_views<S: Clone + Send + Sync + 'static>(source: SharedSource, http: reqwest::Client) -> Router<S> {
    Router::new()
        .route("/", get(projects))
        .route("/pipelines", get(pipelines))
        .route("/runs", get(runs))
        .route("/runs/{id}", get(run))
        .route("/steps/{id}", get(step))
        .route("/artifacts", get(artifacts))
        .route("/artifacts/{id}", get(artifact))
        .route("/artifact_versions/{id}", get(artifact_version))
        .route("/models", get(models))
        .route("/models/{id}", get(model))
        .route("/model_versions/{id}", get(model_version))
        .route("/stacks", get(stacks))
        .route("/components", get(components))
        .route("/secrets", get(secrets))
        .layer(Extension(Arc::new(Views { source, http })))
}

/// `GET/POST /login` (posts to the workspace's own `/api/v1/login`, sets the source's session
/// cookie) and `POST /logout`; both forms carry a double-submit CSRF token.
pub fn login_router<S: Clone + Send + Sync + 'static>(source: SharedSource, http: reqwest::Client) -> Router<S> {
    Router::new()
        .route("/login", get(login_page).post(login_submit))
        .route("/logout", post(logout))
        .layer(Extension(Arc::new(Views { source, http })))
}

// ---------------------------------------------------------------- template data

#[derive(Default, Clone)]
struct Cell {
    text: String,
    href: String,
    class: String,
}

fn text(s: impl Into<String>) -> Cell {
    Cell { text: s.into(), ..Default::default() }
}
fn link(s: impl Into<String>, href: impl Into<String>) -> Cell {
    Cell { text: s.into(), href: href.into(), ..Default::default() }
}
fn status(s: &str) -> Cell {
    Cell { text: s.into(), href: String::new(), class: format!("status status-{s}") }
}

struct Pager {
    prev: String,
    next: String,
    index: u64,
    total_pages: u64,
    total: u64,
}

struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<Cell>>,
    pager: Option<Pager>,
}

#[derive(Default)]
struct Section {
    title: String,
    kv: Vec<(String, Cell)>,
    svg: Option<String>,
    pre: Option<String>,
    table: Option<Table>,
}

struct Filters {
    statuses: Vec<(String, bool)>,
    pipelines: Vec<(String, String, bool)>,
    tag: String,
    since: String,
    /// The `project` of the page, kept by the form.
    project: String,
}

#[derive(Template)]
#[template(path = "page.html")]
struct PageT {
    title: String,
    prefix: String,
    logout_url: String,
    home: Option<(String, String)>,
    logout_csrf: Option<String>,
    filters: Option<Filters>,
    sections: Vec<Section>,
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginT {
    prefix: String,
    csrf: String,
    next: String,
    error: String,
}

fn table(headers: &[&str], rows: Vec<Vec<Cell>>) -> Table {
    Table { headers: headers.iter().map(|h| h.to_string()).collect(), rows, pager: None }
}

fn section(title: &str) -> Section {
    Section { title: title.into(), ..Default::default() }
}

// ---------------------------------------------------------------- request context + API client

/// One request: where the API is, the token, and the CSRF token of its forms.
struct Ctx {
    v: Arc<Views>,
    t: ApiTarget,
    token: String,
    csrf: String,
    new_csrf: bool,
}

/// A page's outcome: a page, or a redirect to the login page.
enum Out {
    Page(String, Vec<Section>, Option<Filters>),
}

impl Ctx {
    /// `Err`: no session (the redirect to the login page) or the source's own refusal page.
    async fn new(v: Arc<Views>, p: &Parts) -> Result<Ctx, Response> {
        let t = v.source.target(p, &v.http).await?;
        let Some(token) = t.token.clone() else {
            return Err(Redirect::to(&t.login_url).into_response());
        };
        let (csrf, new_csrf) = match crate::cookie(&p.headers, CSRF_COOKIE) {
            Some(c) => (c, false),
            None => (new_token(), true),
        };
        Ok(Ctx { v, t, token, csrf, new_csrf })
    }

    fn href(&self, path: &str) -> String {
        format!("{}{path}", self.t.prefix)
    }

    /// `GET /api/v1{path_and_query}` as the user. A project-scoped list without a `project`
    /// where the server has no default project (Pro mode: no `default` project) is asked again
    /// for the first project by name.
    async fn get(&self, path_and_query: &str) -> Result<Value, Error> {
        match self.get_once(path_and_query).await {
            Err(e)
                if e.status() == StatusCode::BAD_REQUEST
                    && e.to_string().contains("Project scope missing")
                    && !path_and_query.contains("project=") =>
            {
                let first = self.get_once("/projects?sort_by=name&size=1").await?;
                let Some(name) = items(&first).first().map(|p| s(p, "/name").to_string()) else {
                    return Err(Error::not_found("This workspace has no project yet."));
                };
                let sep = if path_and_query.contains('?') { '&' } else { '?' };
                self.get_once(&format!("{path_and_query}{sep}project={}", enc(&name))).await
            }
            r => r,
        }
    }

    async fn get_once(&self, path_and_query: &str) -> Result<Value, Error> {
        let url = format!("{}/api/v1{path_and_query}", self.t.base_url);
        let resp = self
            .v
            .http
            .get(&url)
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| Error::Unavailable(format!("the workspace API is unreachable: {e}")))?;
        let code = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        match code.as_u16() {
            200..=299 => Ok(body),
            401 => Err(Error::NotAuthenticated),
            403 => Err(Error::forbidden(detail(&body))),
            404 => Err(Error::not_found(detail(&body))),
            400 | 422 => Err(Error::bad_request(detail(&body))),
            _ => Err(Error::Unavailable(format!("the workspace API answered {code}"))),
        }
    }

    fn render(&self, out: Result<Out, Error>) -> Response {
        let (code, title, sections, filters) = match out {
            Ok(Out::Page(title, sections, filters)) => (StatusCode::OK, title, sections, filters),
            Err(Error::NotAuthenticated) | Err(Error::CredentialsNotValid(_)) => {
                self.v.source.invalidate(&self.t);
                return Redirect::to(&self.t.login_url).into_response();
            }
            Err(e) => {
                let code = e.status();
                let mut s = section("");
                s.pre = Some(e.to_string());
                (code, format!("Error {}", code.as_u16()), vec![s], None)
            }
        };
        let page = PageT {
            title,
            prefix: self.t.prefix.clone(),
            logout_url: self.t.logout_url.clone(),
            home: self.t.home.clone(),
            logout_csrf: Some(self.csrf.clone()),
            filters,
            sections,
        };
        let mut resp = match page.render() {
            Ok(html) => (code, Html(html)).into_response(),
            Err(e) => Error::internal(format!("template: {e}")).into_response(),
        };
        if self.new_csrf {
            set_cookie(&mut resp, &format!("{CSRF_COOKIE}={}; Path=/; SameSite=Lax; HttpOnly", self.csrf));
        }
        resp
    }
}

pub(crate) fn detail(body: &Value) -> String {
    match &body["detail"] {
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(": "),
        Value::String(s) => s.clone(),
        v => v.to_string(),
    }
}

/// 43 characters like the control plane's CSRF tokens (same cookie name), so each accepts the
/// other's cookie.
fn new_token() -> String {
    let mut t = uuid::Uuid::new_v4().simple().to_string();
    t.push_str(&uuid::Uuid::new_v4().simple().to_string());
    t.truncate(43);
    t
}

fn set_cookie(resp: &mut Response, cookie: &str) {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// Query-string component encoding.
fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Only UUIDs go into API paths.
fn uuid_param(s: &str) -> Result<String, Error> {
    uuid::Uuid::parse_str(s).map(|u| u.to_string()).map_err(|_| Error::not_found(format!("No such id: {s}")))
}

fn s<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

fn items(page: &Value) -> &[Value] {
    page["items"].as_array().map(Vec::as_slice).unwrap_or(&[])
}

fn when(v: &Value, ptr: &str) -> String {
    let t = s(v, ptr);
    t.get(..19).unwrap_or(t).replace('T', " ")
}

/// Duration between two API datetimes, `"12.3s"`, `"4m 05s"`.
fn duration(start: &str, end: &str) -> String {
    fn parse(t: &str) -> Option<f64> {
        // "YYYY-MM-DDTHH:MM:SS[.ffffff]": days since epoch via a civil-date formula.
        let (d, tm) = t.split_once('T')?;
        let mut dp = d.split('-').map(|x| x.parse::<i64>().ok());
        let (y, m, dd) = (dp.next()??, dp.next()??, dp.next()??);
        let (y2, m2) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
        let era = y2.div_euclid(400);
        let yoe = y2 - era * 400;
        let doy = (153 * m2 + 2) / 5 + dd - 1;
        let days = era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let mut tp = tm.split(':');
        let (h, mi, sec) =
            (tp.next()?.parse::<f64>().ok()?, tp.next()?.parse::<f64>().ok()?, tp.next()?.parse::<f64>().ok()?);
        Some(days as f64 * 86400.0 + h * 3600.0 + mi * 60.0 + sec)
    }
    match (parse(start), parse(end)) {
        (Some(a), Some(b)) if b >= a => {
            let d = b - a;
            if d < 60.0 { format!("{d:.1}s") } else { format!("{}m {:02}s", (d / 60.0) as u64, (d % 60.0) as u64) }
        }
        _ => String::new(),
    }
}

/// The pager of an API page; its links are `base` with `{param}=n`.
fn pager(page: &Value, base: &str, param: &str) -> Pager {
    let index = page["index"].as_u64().unwrap_or(1);
    let total_pages = page["total_pages"].as_u64().unwrap_or(1).max(1);
    let sep = if base.contains('?') { '&' } else { '?' };
    Pager {
        prev: if index > 1 { format!("{base}{sep}{param}={}", index - 1) } else { String::new() },
        next: if index < total_pages { format!("{base}{sep}{param}={}", index + 1) } else { String::new() },
        index,
        total_pages,
        total: page["total"].as_u64().unwrap_or(0),
    }
}

fn tags(v: &Value) -> String {
    v.pointer("/resources/tags")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|t| t["name"].as_str()).collect::<Vec<_>>().join(", "))
        .unwrap_or_default()
}

fn owner(v: &Value) -> String {
    s(v, "/resources/user/name").to_string()
}

fn json_pre(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::Object(m) if m.is_empty() => None,
        v => serde_json::to_string_pretty(v).ok(),
    }
}

// ---------------------------------------------------------------- pages

#[derive(Deserialize, Default)]
struct ListQ {
    page: Option<u32>,
    project: Option<String>,
}

impl ListQ {
    fn page(&self) -> u32 {
        self.page.unwrap_or(1).max(1)
    }
    /// `&project=..` for the API and for the page's own links.
    fn project(&self) -> String {
        self.project.as_deref().filter(|p| !p.is_empty()).map(|p| format!("&project={}", enc(p))).unwrap_or_default()
    }
}

macro_rules! ctx {
    ($v:expr, $p:expr) => {
        match Ctx::new($v, &$p).await {
            Ok(c) => c,
            Err(r) => return r,
        }
    };
}

/// One page of an API list as a table with its pager (the D1 helper of every list): `GET {api}`
/// plus `size`/`page`, one row per item; the pager links to `{self_path}` with `{param}=n`.
#[allow(clippy::too_many_arguments)]
async fn list_table(
    c: &Ctx,
    api: &str,
    self_path: &str,
    param: &str,
    page: u32,
    headers: &[&str],
    row: impl Fn(&Value) -> Vec<Cell>,
) -> Result<(Value, Table), Error> {
    let sep = if api.contains('?') { '&' } else { '?' };
    let list = c.get(&format!("{api}{sep}size={PAGE_SIZE}&page={page}")).await?;
    let mut t = table(headers, items(&list).iter().map(row).collect());
    t.pager = Some(pager(&list, &c.href(self_path), param));
    Ok((list, t))
}

/// A page that is one list.
fn list_out(title: &str, t: Table) -> Out {
    Out::Page(title.into(), vec![Section { table: Some(t), ..Default::default() }], None)
}

async fn projects(Extension(v): Extension<Arc<Views>>, p: Parts, Query(q): Query<ListQ>) -> Response {
    let c = ctx!(v, p);
    let out = async {
        let hd = ["name", "display name", "runs", "pipelines", "created"];
        let (_, t) = list_table(&c, "/projects?hydrate=true&sort_by=name", "/", "page", q.page(), &hd, |p| {
            let name = s(p, "/name");
            vec![
                text(name),
                text(s(p, "/body/display_name")),
                link("runs", c.href(&format!("/runs?project={}", enc(name)))),
                link("pipelines", c.href(&format!("/pipelines?project={}", enc(name)))),
                text(when(p, "/body/created")),
            ]
        })
        .await?;
        Ok(list_out("Projects", t))
    }
    .await;
    c.render(out)
}

async fn pipelines(Extension(v): Extension<Arc<Views>>, p: Parts, Query(q): Query<ListQ>) -> Response {
    let c = ctx!(v, p);
    let out = async {
        let api = format!("/pipelines?hydrate=true&sort_by=desc:created{}", q.project());
        let me = format!("/pipelines?x=1{}", q.project());
        let hd = ["name", "runs", "tags", "owner", "updated"];
        let (_, t) = list_table(&c, &api, &me, "page", q.page(), &hd, |p| {
            let id = s(p, "/id");
            vec![
                text(s(p, "/name")),
                link("runs", c.href(&format!("/runs?pipeline_id={id}{}", q.project()))),
                text(tags(p)),
                text(owner(p)),
                text(when(p, "/body/updated")),
            ]
        })
        .await?;
        Ok(list_out("Pipelines", t))
    }
    .await;
    c.render(out)
}

#[derive(Deserialize, Default)]
struct RunsQ {
    page: Option<u32>,
    project: Option<String>,
    status: Option<String>,
    pipeline_id: Option<String>,
    tag: Option<String>,
    /// `YYYY-MM-DD`: runs created on or after this day (UTC).
    since: Option<String>,
}

async fn runs(Extension(v): Extension<Arc<Views>>, p: Parts, Query(q): Query<RunsQ>) -> Response {
    let c = ctx!(v, p);
    let out = async {
        let lq = ListQ { page: q.page, project: q.project.clone() };
        // The filters go to the API's own parameters; the page's links keep them.
        let mut api = String::new();
        let mut keep = String::new();
        let status_q = q.status.clone().filter(|x| RUN_STATUSES.contains(&x.as_str()));
        if let Some(st) = &status_q {
            api.push_str(&format!("&status={st}"));
            keep.push_str(&format!("&status={st}"));
        }
        let pipeline_id = match q.pipeline_id.as_deref().filter(|x| !x.is_empty()) {
            Some(p) => Some(uuid_param(p).map_err(|_| Error::bad_request("pipeline_id: not a UUID"))?),
            None => None,
        };
        if let Some(p) = &pipeline_id {
            api.push_str(&format!("&pipeline_id={p}"));
            keep.push_str(&format!("&pipeline_id={p}"));
        }
        let tag = q.tag.clone().unwrap_or_default();
        if !tag.is_empty() {
            // The 0.98 runs filter calls it `tags` (an unknown `tag` would be ignored).
            api.push_str(&format!("&tags={}", enc(&tag)));
            keep.push_str(&format!("&tag={}", enc(&tag)));
        }
        let since = q.since.clone().unwrap_or_default();
        if !since.is_empty() {
            let ok = since.len() == 10
                && since
                    .bytes()
                    .enumerate()
                    .all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
            if !ok {
                return Err(Error::bad_request("since: expected a date YYYY-MM-DD"));
            }
            api.push_str(&format!("&created={}", enc(&format!("gte:{since} 00:00:00"))));
            keep.push_str(&format!("&since={since}"));
        }
        api.push_str(&lq.project());
        keep.push_str(&lq.project());
        let pipes = c.get(&format!("/pipelines?sort_by=name&size=100{}", lq.project())).await?;
        let api = format!("/runs?hydrate=true&sort_by=desc:created{api}");
        let hd = ["run", "status", "pipeline", "tags", "created", "duration", "owner"];
        let (_, t) = list_table(&c, &api, &format!("/runs?x=1{keep}"), "page", lq.page(), &hd, |r| {
            let id = s(r, "/id");
            let pipeline = s(r, "/resources/pipeline/name");
            vec![
                link(s(r, "/name"), c.href(&format!("/runs/{id}"))),
                status(s(r, "/body/status")),
                if pipeline.is_empty() {
                    text("")
                } else {
                    link(pipeline, c.href(&format!("/runs?pipeline_id={}", s(r, "/resources/pipeline/id"))))
                },
                text(tags(r)),
                text(when(r, "/body/created")),
                text(duration(s(r, "/metadata/start_time"), s(r, "/metadata/end_time"))),
                text(owner(r)),
            ]
        })
        .await?;
        let filters = Filters {
            statuses: std::iter::once("")
                .chain(RUN_STATUSES.iter().copied())
                .map(|x| (x.to_string(), status_q.as_deref().unwrap_or("") == x))
                .collect(),
            pipelines: items(&pipes)
                .iter()
                .map(|p| {
                    let id = s(p, "/id").to_string();
                    let sel = pipeline_id.as_deref() == Some(id.as_str());
                    (id, s(p, "/name").to_string(), sel)
                })
                .collect(),
            tag,
            since,
            project: q.project.clone().unwrap_or_default(),
        };
        Ok(Out::Page("Runs".into(), vec![Section { table: Some(t), ..Default::default() }], Some(filters)))
    }
    .await;
    c.render(out)
}

/// Nodes and edges of a run: the snapshot's step specs (all steps, also those that did not run)
/// with the run's steps' statuses; steps without a spec in the snapshot come from their own spec.
fn run_graph(c: &Ctx, snapshot: &Value, steps: &[Value]) -> (Vec<Node>, Vec<Edge>) {
    let by_name: HashMap<&str, &Value> = steps.iter().map(|st| (s(st, "/name"), st)).collect();
    let mut specs: Vec<(String, Value)> = Vec::new();
    if let Some(cfgs) = snapshot.pointer("/metadata/step_configurations").and_then(Value::as_object) {
        for (name, cfg) in cfgs {
            specs.push((name.clone(), cfg["spec"].clone()));
        }
    }
    for st in steps {
        let name = s(st, "/name");
        if !specs.iter().any(|(n, _)| n == name) {
            specs.push((name.to_string(), st.pointer("/metadata/spec").cloned().unwrap_or(Value::Null)));
        }
    }
    let mut nodes = Vec::new();
    let mut edges = Vec::new();
    for (name, spec) in &specs {
        let st = by_name.get(name.as_str());
        nodes.push(Node {
            name: name.clone(),
            status: st.map(|x| s(x, "/body/status")).filter(|x| !x.is_empty()).unwrap_or("not started").to_string(),
            href: st.map(|x| c.href(&format!("/steps/{}", s(x, "/id")))),
        });
        let mut labelled: Vec<&str> = Vec::new();
        if let Some(inputs) = spec["inputs"].as_object() {
            for input in inputs.values() {
                let from = s(input, "/step_name");
                if !from.is_empty() {
                    labelled.push(from);
                    edges.push(Edge { from: from.into(), to: name.clone(), label: s(input, "/output_name").into() });
                }
            }
        }
        if let Some(up) = spec["upstream_steps"].as_array() {
            for u in up.iter().filter_map(Value::as_str) {
                if !labelled.contains(&u) {
                    edges.push(Edge { from: u.into(), to: name.clone(), label: String::new() });
                }
            }
        }
    }
    edges.sort();
    edges.dedup();
    (nodes, edges)
}

async fn run(Extension(v): Extension<Arc<Views>>, p: Parts, Path(id): Path<String>) -> Response {
    let c = ctx!(v, p);
    let out = async {
        let id = uuid_param(&id)?;
        let r = c.get(&format!("/runs/{id}?hydrate=true")).await?;
        let steps = c.get(&format!("/steps?pipeline_run_id={id}&hydrate=true&size=1000&sort_by=created")).await?;
        let snapshot_id = s(&r, "/resources/snapshot/id");
        let snapshot = if snapshot_id.is_empty() {
            Value::Null
        } else {
            c.get(&format!("/pipeline_snapshots/{}?hydrate=true", uuid_param(snapshot_id)?)).await?
        };
        let (nodes, edges) = run_graph(&c, &snapshot, items(&steps));
        let mut info = section("");
        let st = s(&r, "/body/status");
        info.kv = vec![
            ("status".into(), status(st)),
            (
                "pipeline".into(),
                link(
                    s(&r, "/resources/pipeline/name"),
                    c.href(&format!("/runs?pipeline_id={}", s(&r, "/resources/pipeline/id"))),
                ),
            ),
            ("stack".into(), text(s(&r, "/resources/stack/name"))),
            ("owner".into(), text(owner(&r))),
            ("started".into(), text(when(&r, "/metadata/start_time"))),
            ("ended".into(), text(when(&r, "/metadata/end_time"))),
            ("duration".into(), text(duration(s(&r, "/metadata/start_time"), s(&r, "/metadata/end_time")))),
            ("tags".into(), text(tags(&r))),
            ("status reason".into(), text(s(&r, "/body/status_reason"))),
        ];
        let mut g = section("DAG");
        g.svg = Some(dag::svg(&nodes, &edges));
        let rows = items(&steps)
            .iter()
            .map(|x| {
                vec![
                    link(s(x, "/name"), c.href(&format!("/steps/{}", s(x, "/id")))),
                    status(s(x, "/body/status")),
                    text(duration(s(x, "/body/start_time"), s(x, "/body/end_time"))),
                ]
            })
            .collect();
        let steps_t = Section {
            title: "Steps".into(),
            table: Some(table(&["step", "status", "duration"], rows)),
            ..Default::default()
        };
        let mut cfg = section("Configuration");
        cfg.pre = json_pre(&r.pointer("/metadata/config").cloned().unwrap_or(Value::Null));
        let mut md = section("Metadata");
        md.pre = json_pre(&r.pointer("/metadata/run_metadata").cloned().unwrap_or(Value::Null));
        let mut sections = vec![info, g, steps_t, cfg];
        if md.pre.is_some() {
            sections.push(md);
        }
        Ok(Out::Page(format!("Run {}", s(&r, "/name")), sections, None))
    }
    .await;
    c.render(out)
}

/// Artifact versions of a step's `inputs`/`outputs` resource (a list per name in 0.98, or one).
fn artifact_rows(c: &Ctx, v: &Value) -> Vec<Vec<Cell>> {
    let mut rows = Vec::new();
    if let Some(m) = v.as_object() {
        for (name, a) in m {
            let list: Vec<&Value> = match a {
                Value::Array(xs) => xs.iter().collect(),
                x => vec![x],
            };
            for a in list {
                let av = s(a, "/id");
                rows.push(vec![
                    text(name),
                    link(
                        format!("{} v{}", s(a, "/body/artifact/name"), s(a, "/body/version")),
                        c.href(&format!("/artifact_versions/{av}")),
                    ),
                    text(s(a, "/body/uri")),
                ]);
            }
        }
    }
    rows
}

async fn step(Extension(v): Extension<Arc<Views>>, p: Parts, Path(id): Path<String>) -> Response {
    let c = ctx!(v, p);
    let out = async {
        let id = uuid_param(&id)?;
        let x = c.get(&format!("/steps/{id}?hydrate=true")).await?;
        let run_id = s(&x, "/metadata/pipeline_run_id");
        let mut info = section("");
        let st = s(&x, "/body/status");
        info.kv = vec![
            ("status".into(), status(st)),
            ("run".into(), link(run_id, c.href(&format!("/runs/{run_id}")))),
            ("started".into(), text(when(&x, "/body/start_time"))),
            ("ended".into(), text(when(&x, "/body/end_time"))),
            ("duration".into(), text(duration(s(&x, "/body/start_time"), s(&x, "/body/end_time")))),
            ("cache key".into(), text(s(&x, "/metadata/cache_key"))),
            ("cached from".into(), text(s(&x, "/metadata/original_step_run_id"))),
        ];
        let mut logs: Vec<Vec<Cell>> = Vec::new();
        if let Some(ls) = x.pointer("/resources/log_collection").and_then(Value::as_array) {
            for l in ls {
                logs.push(vec![text(s(l, "/body/uri")), text(s(l, "/body/source"))]);
            }
        }
        if logs.is_empty() {
            let uri = s(&x, "/resources/logs/body/uri");
            if !uri.is_empty() {
                logs.push(vec![text(uri), text("")]);
            }
        }
        let mut md = section("Metadata");
        md.pre = json_pre(&x.pointer("/metadata/run_metadata").cloned().unwrap_or(Value::Null));
        let mut cfg = section("Configuration");
        cfg.pre = json_pre(&x.pointer("/metadata/config").cloned().unwrap_or(Value::Null));
        let headers = ["name", "artifact version", "uri"];
        let inputs = artifact_rows(&c, x.pointer("/resources/inputs").unwrap_or(&Value::Null));
        let outputs = artifact_rows(&c, x.pointer("/resources/outputs").unwrap_or(&Value::Null));
        let sections: Vec<Section> = vec![
            info,
            Section { title: "Inputs".into(), table: Some(table(&headers, inputs)), ..Default::default() },
            Section { title: "Outputs".into(), table: Some(table(&headers, outputs)), ..Default::default() },
            Section { title: "Logs".into(), table: Some(table(&["location", "source"], logs)), ..Default::default() },
        ];
        let sections = sections.into_iter().chain(md.pre.is_some().then_some(md)).chain([cfg]).collect();
        Ok(Out::Page(format!("Step {}", s(&x, "/name")), sections, None))
    }
    .await;
    c.render(out)
}

async fn artifacts(Extension(v): Extension<Arc<Views>>, p: Parts, Query(q): Query<ListQ>) -> Response {
    let c = ctx!(v, p);
    let out = async {
        let api = format!("/artifacts?hydrate=true&sort_by=desc:created{}", q.project());
        let me = format!("/artifacts?x=1{}", q.project());
        let (_, t) = list_table(&c, &api, &me, "page", q.page(), &["name", "tags", "owner", "updated"], |a| {
            vec![
                link(s(a, "/name"), c.href(&format!("/artifacts/{}", s(a, "/id")))),
                text(tags(a)),
                text(owner(a)),
                text(when(a, "/body/updated")),
            ]
        })
        .await?;
        Ok(list_out("Artifacts", t))
    }
    .await;
    c.render(out)
}

async fn artifact(
    Extension(v): Extension<Arc<Views>>,
    p: Parts,
    Path(id): Path<String>,
    Query(q): Query<ListQ>,
) -> Response {
    let c = ctx!(v, p);
    let out = async {
        let id = uuid_param(&id)?;
        let a = c.get(&format!("/artifacts/{id}?hydrate=true")).await?;
        let api = format!("/artifact_versions?artifact_id={id}&hydrate=true&sort_by=desc:created");
        let hd = ["version", "type", "tags", "uri", "created"];
        let (_, t) = list_table(&c, &api, &format!("/artifacts/{id}"), "page", q.page(), &hd, |x| {
            vec![
                link(s(x, "/body/version"), c.href(&format!("/artifact_versions/{}", s(x, "/id")))),
                text(s(x, "/body/type")),
                text(tags(x)),
                text(s(x, "/body/uri")),
                text(when(x, "/body/created")),
            ]
        })
        .await?;
        let mut info = section("");
        info.kv = vec![("tags".into(), text(tags(&a))), ("owner".into(), text(owner(&a)))];
        let sections = vec![info, Section { title: "Versions".into(), table: Some(t), ..Default::default() }];
        Ok(Out::Page(format!("Artifact {}", s(&a, "/name")), sections, None))
    }
    .await;
    c.render(out)
}

async fn artifact_version(Extension(v): Extension<Arc<Views>>, p: Parts, Path(id): Path<String>) -> Response {
    let c = ctx!(v, p);
    let out = async {
        let id = uuid_param(&id)?;
        let x = c.get(&format!("/artifact_versions/{id}?hydrate=true")).await?;
        let art_id = s(&x, "/body/artifact/id");
        let producer = s(&x, "/resources/producer_step_run_id");
        let mut info = section("");
        info.kv = vec![
            ("artifact".into(), link(s(&x, "/body/artifact/name"), c.href(&format!("/artifacts/{art_id}")))),
            ("version".into(), text(s(&x, "/body/version"))),
            ("type".into(), text(s(&x, "/body/type"))),
            ("uri".into(), text(s(&x, "/body/uri"))),
            ("tags".into(), text(tags(&x))),
            (
                "producer step".into(),
                if producer.is_empty() { text("") } else { link(producer, c.href(&format!("/steps/{producer}"))) },
            ),
            ("owner".into(), text(owner(&x))),
        ];
        let mut md = section("Metadata");
        md.pre = json_pre(&x.pointer("/metadata/run_metadata").cloned().unwrap_or(Value::Null));
        Ok(Out::Page(
            format!("Artifact version {} v{}", s(&x, "/body/artifact/name"), s(&x, "/body/version")),
            vec![info, md],
            None,
        ))
    }
    .await;
    c.render(out)
}

async fn models(Extension(v): Extension<Arc<Views>>, p: Parts, Query(q): Query<ListQ>) -> Response {
    let c = ctx!(v, p);
    let out = async {
        let api = format!("/models?hydrate=true&sort_by=desc:created{}", q.project());
        let me = format!("/models?x=1{}", q.project());
        let (_, t) = list_table(&c, &api, &me, "page", q.page(), &["name", "tags", "owner", "updated"], |m| {
            vec![
                link(s(m, "/name"), c.href(&format!("/models/{}", s(m, "/id")))),
                text(tags(m)),
                text(owner(m)),
                text(when(m, "/body/updated")),
            ]
        })
        .await?;
        Ok(list_out("Models", t))
    }
    .await;
    c.render(out)
}

async fn model(
    Extension(v): Extension<Arc<Views>>,
    p: Parts,
    Path(id): Path<String>,
    Query(q): Query<ListQ>,
) -> Response {
    let c = ctx!(v, p);
    let out = async {
        let id = uuid_param(&id)?;
        let m = c.get(&format!("/models/{id}?hydrate=true")).await?;
        let api = format!("/models/{id}/model_versions?hydrate=true&sort_by=desc:created");
        let hd = ["version", "number", "stage", "tags", "created"];
        let (_, t) = list_table(&c, &api, &format!("/models/{id}"), "page", q.page(), &hd, |x| {
            vec![
                link(s(x, "/name"), c.href(&format!("/model_versions/{}", s(x, "/id")))),
                text(x.pointer("/body/number").map(|n| n.to_string()).unwrap_or_default()),
                text(s(x, "/body/stage")),
                text(tags(x)),
                text(when(x, "/body/created")),
            ]
        })
        .await?;
        let mut info = section("");
        info.kv = vec![
            ("description".into(), text(s(&m, "/metadata/description"))),
            ("tags".into(), text(tags(&m))),
            ("owner".into(), text(owner(&m))),
        ];
        let sections = vec![info, Section { title: "Versions".into(), table: Some(t), ..Default::default() }];
        Ok(Out::Page(format!("Model {}", s(&m, "/name")), sections, None))
    }
    .await;
    c.render(out)
}

#[derive(Deserialize, Default)]
struct ModelVersionQ {
    artifacts_page: Option<u32>,
    runs_page: Option<u32>,
}

/// A model version: its model, stage, tags, metadata, and its linked artifact versions and
/// pipeline runs (each list paged on its own).
async fn model_version(
    Extension(v): Extension<Arc<Views>>,
    p: Parts,
    Path(id): Path<String>,
    Query(q): Query<ModelVersionQ>,
) -> Response {
    let c = ctx!(v, p);
    let out = async {
        let id = uuid_param(&id)?;
        let x = c.get(&format!("/model_versions/{id}?hydrate=true")).await?;
        let model_id = s(&x, "/body/model/id");
        let me = format!("/model_versions/{id}");
        let mut info = section("");
        info.kv = vec![
            ("model".into(), link(s(&x, "/body/model/name"), c.href(&format!("/models/{model_id}")))),
            ("number".into(), text(x.pointer("/body/number").map(|n| n.to_string()).unwrap_or_default())),
            ("stage".into(), text(s(&x, "/body/stage"))),
            ("description".into(), text(s(&x, "/metadata/description"))),
            ("tags".into(), text(tags(&x))),
            ("owner".into(), text(owner(&x))),
            ("created".into(), text(when(&x, "/body/created"))),
        ];
        let api = format!("/model_version_artifacts?model_version_id={id}&hydrate=true&sort_by=desc:created");
        let hd = ["artifact version", "type", "uri"];
        let page = q.artifacts_page.unwrap_or(1).max(1);
        let (_, arts) = list_table(&c, &api, &me, "artifacts_page", page, &hd, |l| {
            let av = l.pointer("/body/artifact_version").unwrap_or(&Value::Null);
            vec![
                link(
                    format!("{} v{}", s(av, "/body/artifact/name"), s(av, "/body/version")),
                    c.href(&format!("/artifact_versions/{}", s(av, "/id"))),
                ),
                text(s(av, "/body/type")),
                text(s(av, "/body/uri")),
            ]
        })
        .await?;
        let api = format!("/model_version_pipeline_runs?model_version_id={id}&hydrate=true&sort_by=desc:created");
        let page = q.runs_page.unwrap_or(1).max(1);
        let (_, runs) = list_table(&c, &api, &me, "runs_page", page, &["run", "status", "created"], |l| {
            let r = l.pointer("/body/pipeline_run").unwrap_or(&Value::Null);
            vec![
                link(s(r, "/name"), c.href(&format!("/runs/{}", s(r, "/id")))),
                status(s(r, "/body/status")),
                text(when(r, "/body/created")),
            ]
        })
        .await?;
        let mut md = section("Metadata");
        md.pre = json_pre(&x.pointer("/metadata/run_metadata").cloned().unwrap_or(Value::Null));
        let sections = vec![
            info,
            Section { title: "Artifacts".into(), table: Some(arts), ..Default::default() },
            Section { title: "Pipeline runs".into(), table: Some(runs), ..Default::default() },
            md,
        ];
        Ok(Out::Page(format!("Model version {} {}", s(&x, "/body/model/name"), s(&x, "/name")), sections, None))
    }
    .await;
    c.render(out)
}

async fn stacks(Extension(v): Extension<Arc<Views>>, p: Parts, Query(q): Query<ListQ>) -> Response {
    let c = ctx!(v, p);
    let out = async {
        let hd = ["name", "components", "owner", "updated"];
        let (_, t) = list_table(&c, "/stacks?hydrate=true&sort_by=name", "/stacks", "page", q.page(), &hd, |st| {
            let comps = st
                .pointer("/metadata/components")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .flat_map(|(ty, cs)| {
                            cs.as_array()
                                .into_iter()
                                .flatten()
                                .map(move |x| format!("{ty}: {}", x["name"].as_str().unwrap_or("")))
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            vec![text(s(st, "/name")), text(comps), text(owner(st)), text(when(st, "/body/updated"))]
        })
        .await?;
        Ok(list_out("Stacks", t))
    }
    .await;
    c.render(out)
}

async fn components(Extension(v): Extension<Arc<Views>>, p: Parts, Query(q): Query<ListQ>) -> Response {
    let c = ctx!(v, p);
    let out = async {
        let api = "/components?hydrate=true&sort_by=name";
        let hd = ["name", "type", "flavor", "owner", "updated"];
        let (_, t) = list_table(&c, api, "/components", "page", q.page(), &hd, |x| {
            vec![
                text(s(x, "/name")),
                text(s(x, "/body/type")),
                text(s(x, "/body/flavor_name")),
                text(owner(x)),
                text(when(x, "/body/updated")),
            ]
        })
        .await?;
        Ok(list_out("Stack components", t))
    }
    .await;
    c.render(out)
}

/// Names and owners only: the values are never requested.
async fn secrets(Extension(v): Extension<Arc<Views>>, p: Parts, Query(q): Query<ListQ>) -> Response {
    let c = ctx!(v, p);
    let out = async {
        let hd = ["name", "visibility", "owner", "updated"];
        let (_, t) = list_table(&c, "/secrets?sort_by=name", "/secrets", "page", q.page(), &hd, |x| {
            let private = x.pointer("/body/private").and_then(Value::as_bool).unwrap_or(false);
            vec![
                text(s(x, "/name")),
                text(if private { "private" } else { "public" }),
                text(owner(x)),
                text(when(x, "/body/updated")),
            ]
        })
        .await?;
        Ok(list_out("Secrets", t))
    }
    .await;
    c.render(out)
}

// ---------------------------------------------------------------- login / logout

fn login_response(t: &ApiTarget, headers: &HeaderMap, next: &str, error: &str, code: StatusCode) -> Response {
    let (csrf, fresh) = match crate::cookie(headers, CSRF_COOKIE) {
        Some(c) => (c, false),
        None => (new_token(), true),
    };
    let page = LoginT { prefix: t.prefix.clone(), csrf: csrf.clone(), next: next.into(), error: error.into() };
    let mut resp = match page.render() {
        Ok(html) => (code, Html(html)).into_response(),
        Err(e) => Error::internal(format!("template: {e}")).into_response(),
    };
    if fresh {
        set_cookie(&mut resp, &format!("{CSRF_COOKIE}={csrf}; Path=/; SameSite=Lax; HttpOnly"));
    }
    resp
}

#[derive(Deserialize, Default)]
struct NextQ {
    next: Option<String>,
}

/// Only local paths are followed after login (no open redirect).
fn safe_next(prefix: &str, next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => format!("{prefix}/"),
    }
}

async fn login_page(Extension(v): Extension<Arc<Views>>, p: Parts, Query(q): Query<NextQ>) -> Response {
    let t = match v.source.target(&p, &v.http).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let h = &p.headers;
    login_response(&t, h, &safe_next(&t.prefix, q.next.as_deref()), "", StatusCode::OK)
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    next: String,
}

fn csrf_ok(headers: &HeaderMap, sent: &str) -> bool {
    crate::cookie(headers, CSRF_COOKIE).is_some_and(|c| !sent.is_empty() && c == sent)
}

async fn login_submit(Extension(v): Extension<Arc<Views>>, p: Parts, Form(f): Form<LoginForm>) -> Response {
    let t = match v.source.target(&p, &v.http).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let h = &p.headers;
    let next = safe_next(&t.prefix, Some(&f.next));
    if !csrf_ok(h, &f.csrf) {
        return login_response(&t, h, &next, "The form expired; please try again.", StatusCode::FORBIDDEN);
    }
    let Some(cookie_name) = v.source.session_cookie_name() else {
        return Error::NotImplemented("this dashboard does not log in by password".into()).into_response();
    };
    let resp = v
        .http
        .post(format!("{}/api/v1/login", t.base_url))
        .form(&[("username", f.username.as_str()), ("password", f.password.as_str())])
        .send()
        .await;
    let token = match resp {
        Ok(r) if r.status().is_success() => {
            r.json::<Value>().await.ok().and_then(|b| b["access_token"].as_str().map(str::to_string))
        }
        Ok(_) => None,
        Err(e) => {
            return login_response(
                &t,
                h,
                &next,
                &format!("The workspace API is unreachable: {e}"),
                StatusCode::BAD_GATEWAY,
            );
        }
    };
    let Some(token) = token else {
        return login_response(&t, h, &next, "Wrong username or password.", StatusCode::UNAUTHORIZED);
    };
    let mut resp = Redirect::to(&next).into_response();
    set_cookie(&mut resp, &format!("{cookie_name}={token}; HttpOnly; Path=/; SameSite=Lax"));
    resp
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(Extension(v): Extension<Arc<Views>>, p: Parts, Form(f): Form<CsrfForm>) -> Response {
    let t = match v.source.target(&p, &v.http).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let h = &p.headers;
    if !csrf_ok(h, &f.csrf) {
        return (StatusCode::FORBIDDEN, Html("<p>The form expired; go back and try again.</p>")).into_response();
    }
    let mut resp = Redirect::to(&t.login_url).into_response();
    if let Some(name) = v.source.session_cookie_name() {
        set_cookie(&mut resp, &format!("{name}=; HttpOnly; Path=/; SameSite=Lax; Max-Age=0"));
    }
    resp
}
