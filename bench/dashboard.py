"""Dashboard page render times (issue 7): our workspace views against the Python server's REST calls.

    bench/run.sh dashboard [--backend sqlite|mariadb] [--runs N] [--reps N] [--keep]

One ZenML 0.98.0 database is seeded with `--runs` pipeline runs (seed.py: 5-step runs over 4 pipelines,
straight in SQL), then given some variety for the filters (every 10th run `failed`, every 97th `running`;
tags `nightly` on every 3rd run, `prod` on every 20th, `experiment` on every 50th; three models). Then:

1. our server (`zenpro workspace serve`) renders each dashboard page N times through its login cookie
   (`GET /runs`, its middle page (`?page=200` of 400 at 10,000 runs), filters, `/runs/<id>`, `/pipelines`, `/`, `/artifacts`, `/models`,
   `/stacks`): the time to the last byte of the HTML, from one keep-alive connection;
2. the same server answers the REST calls that page makes (the sequence views.rs sends, in order);
3. the Python reference server answers that same sequence of REST calls, on the same database.

The ratio is reference API sequence / our rendered page. The Python server serves a React SPA, whose
pages are not comparable: what the SPA would have to fetch for the same content is the fairest
stand-in. Before timing, a separate start of our server with request logging counts the API calls each
page makes (it must be the fixed number views.rs makes, not one per row).

Times are wall-clock on a shared machine: p50/p95 over `--reps` requests after 2 warm-ups. Not a test.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import requests

import benchlib as B
from bench import db_counts, machine_info
from benchlib import log
from seed import Seeder, Template

PAGE_SIZE = 25  # views.rs
TAGS = {"nightly": 3, "prod": 20, "experiment": 50}  # tag -> every n-th run
FAILED_EVERY, RUNNING_EVERY = 10, 97
MODELS = ["zb_classifier", "zb_regressor", "zb_ranker"]


# ----------------------------------------------------------------------------------- seeding
def add_variety(db: B.Database, server: B.Server) -> dict:
    """Statuses and tags on the seeded runs, and a few models, so that filters and pages have work.
    Tags and models are created through the API (rows as the server writes them); the run statuses
    and tag links are written in SQL over the seeded runs, ordered by creation."""
    tag_ids = {}
    for name in TAGS:
        st, body = B.http("POST", server.url + "/api/v1/tags", server.token, body={"name": name, "color": "blue"})
        if st == 409:
            st, body = B.http("GET", server.url + f"/api/v1/tags/{name}", server.token)
        if st != 200:
            raise RuntimeError(f"create tag {name}: {st} {str(body)[:300]}")
        tag_ids[name] = uuid.UUID(body["id"]).hex
    st, proj = B.http("GET", server.url + "/api/v1/projects/default", server.token)
    for name in MODELS:
        st, body = B.http("POST", server.url + "/api/v1/models", server.token,
                          body={"name": name, "project": proj["id"], "description": "bench model",
                                "tags": ["prod"]})
        if st not in (200, 409):
            raise RuntimeError(f"create model {name}: {st} {str(body)[:300]}")
    con = db.connect()
    mysql = db.backend == "mariadb"
    ph = "%s" if mysql else "?"
    cur = con.cursor()
    cur.execute("SELECT id, created FROM pipeline_run ORDER BY created")
    runs = cur.fetchall()
    cur.execute("SELECT resource_id, tag_id FROM tag_resource WHERE resource_type = 'pipeline_run'")
    linked = set(cur.fetchall())
    failed = [(r[0],) for i, r in enumerate(runs) if i % FAILED_EVERY == FAILED_EVERY - 1]
    running = [(r[0],) for i, r in enumerate(runs) if i % RUNNING_EVERY == RUNNING_EVERY - 1]
    cur.executemany(f"UPDATE pipeline_run SET status = 'failed' WHERE id = {ph}", failed)
    cur.executemany(f"UPDATE pipeline_run SET status = 'running', end_time = NULL WHERE id = {ph}", running)
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    stamp = now.strftime("%Y-%m-%d %H:%M:%S") if mysql else now.strftime("%Y-%m-%d %H:%M:%S.%f")
    links = []
    for name, every in TAGS.items():
        for i, (rid, _) in enumerate(runs):
            if i % every == every - 1 and (rid, tag_ids[name]) not in linked:
                links.append((uuid.uuid4().hex, stamp, stamp, tag_ids[name], rid, "pipeline_run"))
    cur.executemany("INSERT INTO tag_resource (id, created, updated, tag_id, resource_id, resource_type) "
                    f"VALUES ({', '.join([ph] * 6)})", links)
    con.commit()
    con.close()
    return {"failed": len(failed), "running": len(running), "tag_links": len(links), "models": len(MODELS)}


# ----------------------------------------------------------------------------------- pages
def pages(ids: dict) -> list[dict]:
    """The measured pages: our page path, and the REST calls views.rs makes for it (in order)."""
    def runs_calls(page: int, extra: str) -> list[str]:
        return [f"/api/v1/runs?hydrate=true&sort_by=desc:created&size={PAGE_SIZE}&page={page}{extra}",
                "/api/v1/pipelines?sort_by=name&size=100"]

    def one(kind: str, sort: str) -> list[str]:
        return [f"/api/v1/{kind}?hydrate=true&sort_by={sort}&size={PAGE_SIZE}&page=1"]

    run, pipe, mid = ids["run"], ids["pipeline"], ids["middle_page"]
    return [
        {"name": "runs, page 1", "path": "/runs", "calls": runs_calls(1, "")},
        {"name": "runs, middle page", "path": f"/runs?page={mid}", "calls": runs_calls(mid, "")},
        {"name": "runs, status=failed", "path": "/runs?status=failed", "calls": runs_calls(1, "&status=failed")},
        {"name": "runs, one pipeline", "path": f"/runs?pipeline_id={pipe}", "calls": runs_calls(1, f"&pipeline_id={pipe}")},
        # The API's tag filter is `tags` (0.98.0's TaggableFilter); what the page needs is that list.
        {"name": "runs, tag=prod", "path": "/runs?tag=prod", "calls": runs_calls(1, "&tags=prod")},
        {"name": "run (5-step DAG)", "path": f"/runs/{run}",
         "calls": [f"/api/v1/runs/{run}?hydrate=true",
                   f"/api/v1/steps?pipeline_run_id={run}&hydrate=true&size=1000&sort_by=created",
                   f"/api/v1/pipeline_snapshots/{ids['snapshot']}?hydrate=true"]},
        {"name": "pipelines", "path": "/pipelines", "calls": one("pipelines", "desc:created")},
        {"name": "projects", "path": "/", "calls": one("projects", "name")},
        {"name": "models", "path": "/models", "calls": one("models", "desc:created")},
        {"name": "stacks", "path": "/stacks", "calls": one("stacks", "name")},
        # Last: if a call of it times out, our server goes on running its query until it is stopped.
        {"name": "artifacts", "path": "/artifacts", "calls": one("artifacts", "desc:created")},
    ]


def pick_ids(s: B.Server, runs: int) -> dict:
    """A run in the middle of the history (with its snapshot) and the first pipeline."""
    st, body = B.http("GET", s.url + f"/api/v1/runs?sort_by=desc:created&size=1&page={max(1, runs // 2)}"
                      "&hydrate=false", s.token)
    if st != 200 or not body["items"]:
        raise RuntimeError(f"GET /runs (middle): {st} {str(body)[:300]}")
    run = body["items"][0]["id"]
    st, r = B.http("GET", s.url + f"/api/v1/runs/{run}?hydrate=false", s.token)
    snapshot = (r.get("resources") or {}).get("snapshot") or {}
    st, p = B.http("GET", s.url + "/api/v1/pipelines?sort_by=name&size=1", s.token)
    return {"run": run, "snapshot": snapshot.get("id", ""), "pipeline": p["items"][0]["id"],
            "middle_page": max(1, (body["total"] + PAGE_SIZE - 1) // PAGE_SIZE // 2)}


class Client:
    """One keep-alive session against a server; the dashboard pages through the login cookie, the API
    through the bearer token."""

    def __init__(self, s: B.Server, timeout: float):
        self.s, self.timeout = s, timeout
        self.http = requests.Session()
        self.api = requests.Session()
        self.api.headers["Authorization"] = f"Bearer {s.token}"
        self.api.headers["Accept"] = "application/json"

    def cookie_login(self) -> None:
        r = self.http.post(self.s.url + "/api/v1/login", data={"username": B.ADMIN_USER, "password": B.ADMIN_PASSWORD},
                           allow_redirects=False)
        if r.status_code != 200:
            raise RuntimeError(f"{self.s.kind}: login: {r.status_code} {r.text[:300]}")
        cookies = [c for c in r.raw.headers.getlist("Set-Cookie") if c.startswith("zenml-server-")]
        if not cookies:
            raise RuntimeError(f"{self.s.kind}: POST /api/v1/login set no zenml-server-<id> cookie")
        # Sent as a header: the cookie may be `Secure`, which the session's jar would hold back on http.
        self.http.headers["Cookie"] = cookies[0].split(";", 1)[0]

    def page(self, path: str) -> tuple[float, requests.Response]:
        t0 = time.perf_counter()
        r = self.http.get(self.s.url + path, allow_redirects=False, timeout=self.timeout)
        _ = r.content
        return time.perf_counter() - t0, r

    def calls(self, paths: list[str]) -> tuple[float, list[requests.Response]]:
        t0 = time.perf_counter()
        out = []
        for p in paths:
            r = self.api.get(self.s.url + p, timeout=self.timeout)
            _ = r.content
            out.append(r)
        return time.perf_counter() - t0, out


def check_page(p: dict, r: requests.Response) -> int:
    """A rendered page must be a 200 HTML page (not the login redirect, not an error page); returns
    its table rows."""
    if r.status_code != 200 or "text/html" not in r.headers.get("content-type", ""):
        raise RuntimeError(f"ours: page {p['path']} -> {r.status_code} {r.headers.get('location', '')} "
                           f"{r.text[:300]}")
    return len(re.findall(r"<tr", r.text))


def check_calls(kind: str, p: dict, rs: list[requests.Response]) -> list[int]:
    """Every REST call must answer 200; returns the item count of each list answer."""
    counts = []
    for path, r in zip(p["calls"], rs):
        if r.status_code != 200:
            raise RuntimeError(f"{kind}: {path} -> {r.status_code}: {r.text[:300]}")
        body = r.json()
        counts.append(len(body["items"]) if isinstance(body, dict) and "items" in body else 1)
    return counts


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    k = (len(xs) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return (xs[lo] + (xs[hi] - xs[lo]) * (k - lo)) * 1000.0


def timed(fn, reps: int) -> dict:
    for _ in range(2):
        fn()
    xs = [fn() for _ in range(reps)]
    return {"p50_ms": round(pct(xs, 0.5), 2), "p95_ms": round(pct(xs, 0.95), 2),
            "mean_ms": round(statistics.mean(xs) * 1000, 2)}


# ----------------------------------------------------------------------------------- phases
@contextlib.contextmanager
def request_logging():
    """Our server's request spans at DEBUG (tower_http logs each finished request with its path):
    benchlib.start_ours builds a clean environment, so the variable is added to it here."""
    orig = B._base_env

    def env(home):
        e = orig(home)
        e["ZENPRO_LOG"] = "info,sqlx=warn,tower_http=debug"
        e["NO_COLOR"] = "1"
        return e

    B._base_env = env
    try:
        yield
    finally:
        B._base_env = orig


def count_api_calls(a, db: B.Database, work: Path, ids: dict) -> dict:
    """API requests our server receives while it renders each page once (from its request log)."""
    with request_logging():
        s = B.start_ours(a.zenpro_bin, db.url, B.free_port(), work / "ours-count")
    try:
        s.wait_ready(timeout=600)
        s.login()
        c = Client(s, a.timeout)
        c.cookie_login()
        out, slow = {}, {}
        for p in pages(ids):
            time.sleep(0.2)
            before = s.log_path.stat().st_size
            try:
                dt, r = c.page(p["path"])
                if r.status_code != 200:
                    slow[p["name"]] = f"answered {r.status_code} after {dt:.1f} s"
                    log(f"NOTE: {p['path']}: {slow[p['name']]}")
            except requests.Timeout:
                slow[p["name"]] = f"no answer within {a.timeout:g} s"
            time.sleep(0.3)  # the log is written by the server's own thread
            with open(s.log_path, "rb") as f:
                f.seek(before)
                new = f.read().decode(errors="replace")
            # (started, not finished: a call that is still running counts too)
            api = [ln for ln in new.splitlines() if "started processing request" in ln and "path=/api/v1/" in ln]
            out[p["name"]] = len(api)
        return out, slow
    finally:
        s.stop()


def measure(a, kind: str, db: B.Database, work: Path, ids: dict | None) -> tuple[dict, dict]:
    port = B.free_port()
    s = (B.start_ours(a.zenpro_bin, db.url, port, work / "ours") if kind == "ours"
         else B.start_reference(a.venv, db.url, port, work / "reference"))
    try:
        s.wait_ready(timeout=600)
        s.login()
        if ids is None:
            ids = pick_ids(s, a.runs)
        c = Client(s, a.timeout)
        res = {}
        if kind == "ours":
            c.cookie_login()
        for p in pages(ids):
            r = {}
            res[p["name"]] = r
            try:
                measure_page(a, kind, c, p, r)
            except requests.Timeout:
                r["timeout"] = True
                log(f"  {kind:9} {p['name']:22} TIMED OUT (> {a.timeout:g} s for one request); not measured")
        return res, ids
    finally:
        s.stop()


def measure_page(a, kind: str, c: Client, p: dict, r: dict) -> None:
    _, rs = c.calls(p["calls"])
    r["items"] = check_calls(kind, p, rs)
    r["api_bytes"] = sum(len(x.content) for x in rs)
    if kind == "ours":
        _, resp = c.page(p["path"])
        r["rows"] = check_page(p, resp)
        if p["name"].startswith("runs,"):
            # The runs the page links to must be the runs of the API's answer for its filter.
            shown = re.findall(r'href="/runs/([0-9a-f-]{36})"', resp.text)
            listed = [x["id"] for x in rs[0].json()["items"]]
            if shown != listed:
                r["mismatch"] = (f"the page shows {len(shown)} runs, {len(set(shown) - set(listed))} of them not "
                                 f"in the API call's answer ({len(listed)} runs)")
                log(f"NOTE: {p['path']}: {r['mismatch']}")
        r["html_bytes"] = len(resp.content)

        def page_once(path=p["path"]):
            dt, resp = c.page(path)
            if resp.status_code != 200:
                raise RuntimeError(f"ours: {path} -> {resp.status_code}")
            return dt
        r["page"] = timed(page_once, a.reps)

    def calls_once(paths=p["calls"]):
        dt, rs = c.calls(paths)
        bad = [x.status_code for x in rs if x.status_code != 200]
        if bad:
            raise RuntimeError(f"{kind}: {paths} -> {bad}")
        return dt
    r["api"] = timed(calls_once, a.reps)
    log(f"  {kind:9} {p['name']:22} "
        + (f"page p50 {r['page']['p50_ms']:8.2f} ms p95 {r['page']['p95_ms']:8.2f}  " if "page" in r else "")
        + f"API p50 {r['api']['p50_ms']:8.2f} ms p95 {r['api']['p95_ms']:8.2f}  items {r['items']}")


def report(a, res: dict, calls: dict, ids: dict, variety: dict, counts: dict, info: dict, started: datetime,
           seed_s: float, slow: dict) -> str:
    ours, ref = res["ours"], res["reference"]
    lines = [
        f"# Dashboard page render times, {a.runs:,} runs ({a.backend}), {started.strftime('%Y-%m-%d %H:%M UTC')}",
        "",
        f"Machine: {info['cpus']} CPUs ({info['cpu']}), load average at start {info['loadavg_at_start']}, "
        f"at end {[round(x, 2) for x in os.getloadavg()]}; zenpro HEAD {info['git_commit']}, "
        f"**{a.build}** binary (built {info['zenpro_binary_built']}); reference zenml 0.98.0 (uvicorn, one process).",
        f"Database: {counts['pipeline_run']:,} runs × 5 steps over 4 pipelines (seed.py, {seed_s:.0f} s), "
        f"{variety['failed']} failed and {variety['running']} running, tag links {variety['tag_links']:,} "
        f"(nightly every 3rd run, prod every 20th, experiment every 50th), {variety['models']} models.",
        f"Each cell: {a.reps} sequential requests on one keep-alive connection after 2 warm-ups, wall-clock to "
        "the last byte, p50 / p95 in ms. `ours page` = the HTML page from `zenpro workspace serve`; "
        "`ours API` / `Python API` = the REST calls that page makes (views.rs, in order) answered by "
        "each server; ratio = Python API p50 / ours page p50.",
        "",
        "| page | API calls | ours page p50 / p95 | ours API p50 | Python API p50 / p95 | ratio |",
        "|---|---|---|---|---|---|",
    ]
    for p in pages(ids):
        n = p["name"]
        o, r = ours[n], ref[n]
        t_out = f"> {a.timeout:g} s (timed out)"
        if "page" in o and "api" in r and o["page"]["p50_ms"]:
            ratio = f"{r['api']['p50_ms'] / o['page']['p50_ms']:.1f}×"
        elif o.get("timeout") and "api" in r:
            ratio = f"< {r['api']['p50_ms'] / (a.timeout * 1000):.4f}×"
        else:
            ratio = "-"
        lines.append(f"| `{p['path'].replace(ids['run'], '<id>').replace(ids['pipeline'], '<id>')}` ({n}) "
                     f"| {calls.get(n, '?')} (views.rs: {len(p['calls'])}) "
                     + (f"| {o['page']['p50_ms']:.1f} / {o['page']['p95_ms']:.1f} " if "page" in o else f"| {t_out} ")
                     + (f"| {o['api']['p50_ms']:.1f} " if "api" in o else f"| {t_out} ")
                     + (f"| {r['api']['p50_ms']:.1f} / {r['api']['p95_ms']:.1f} " if "api" in r else f"| {t_out} ")
                     + f"| {ratio} |")
    for n, o in ours.items():
        if o.get("mismatch"):
            lines += ["", f"**{n}**: {o['mismatch']} (the page is not filtered as its REST equivalent is)."]
    for n, why in slow.items():
        lines += ["", f"**{n}**: when rendered once for the API call count, the page {why}."]
    lines += ["", "API calls: counted from our server's request log while it rendered the page once (a "
              "separate start with `tower_http=debug`); the number views.rs makes is in brackets. Items "
              "per call (ours / Python): "
              + "; ".join(f"{n}: {ours[n].get('items', '-')} / {ref[n].get('items', '-')}" for n in ours) + "."]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", choices=["sqlite", "mariadb"], default="sqlite")
    ap.add_argument("--runs", type=int, default=10000)
    ap.add_argument("--reps", type=int, default=30, help="timed requests per page and server (after 2 warm-ups)")
    ap.add_argument("--pipelines", type=int, default=4)
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds for one request; a page over it is "
                    "reported as timed out")
    ap.add_argument("--zenpro-bin", type=Path, required=True)
    ap.add_argument("--build", default="release", help="what the binary is (release/debug), for the report")
    ap.add_argument("--venv", type=Path, required=True)
    ap.add_argument("--template", type=Path, default=B.BENCH_DIR / "fixtures" / "template.json")
    ap.add_argument("--results", type=Path, default=B.BENCH_DIR / "results")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--keep", action="store_true", help="keep the database and server logs")
    a = ap.parse_args()
    a.zenpro_bin, a.venv = a.zenpro_bin.resolve(), a.venv.resolve()
    work = (a.workdir or Path(tempfile.mkdtemp(prefix="zenpro-dash-"))).resolve()
    started = datetime.now(timezone.utc)
    info = machine_info()
    info["zenpro_binary_built"] = datetime.fromtimestamp(a.zenpro_bin.stat().st_mtime, timezone.utc).isoformat(
        timespec="seconds")
    db = B.Database(a.backend, work / "db")
    db.create()
    try:
        log(f"dashboard bench: {a.backend}, {a.runs} runs, {a.reps} reps; creating the schema with our server")
        s = B.start_ours(a.zenpro_bin, db.url, B.free_port(), work / "ours-setup")
        try:
            s.wait_ready(timeout=600)
            s.login()
            seeder = Seeder(db, Template(a.template), a.pipelines)
            seed = seeder.seed(a.runs)
            seeder.close()
            variety = add_variety(db, s)
        finally:
            s.stop()
        counts = db_counts(db)
        log(f"variety: {variety}; DB {db.size_bytes() / 1e6:.0f} MB")
        res = {}
        res["ours"], ids = measure(a, "ours", db, work, None)
        res["reference"], _ = measure(a, "reference", db, work, ids)
        calls, slow = count_api_calls(a, db, work, ids)
        for p in pages(ids):
            if calls.get(p["name"]) != len(p["calls"]):
                log(f"NOTE: {p['name']}: our server received {calls.get(p['name'])} API calls, views.rs makes "
                    f"{len(p['calls'])}")
        md = report(a, res, calls, ids, variety, counts, info, started, seed["seconds"], slow)
    finally:
        if a.keep:
            log(f"work files kept in {work}")
        else:
            db.drop()
            shutil.rmtree(work, ignore_errors=True)
    print("\n" + md, flush=True)
    a.results.mkdir(parents=True, exist_ok=True)
    out = a.results / f"dashboard-{started.strftime('%Y%m%dT%H%M%SZ')}-{a.backend}-{a.runs}runs.md"
    out.write_text(md + "\n<!-- raw: " + json.dumps({"ids": ids, "results": res}) + " -->\n")
    log(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
