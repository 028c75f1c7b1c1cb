"""The zenpro benchmark (issue 4): our server against the Python reference server on one seeded database.

Run it through `bench/run.sh`, which builds the release binary, prepares the virtualenv and wrk, and
calls this script with the virtualenv's Python. See bench/README.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import benchlib as B
from benchlib import log
from seed import Seeder, Template

TARGETS = {
    "throughput": 20.0,  # ours/reference req/s on the list endpoints: at least
    "p99": 0.1,  # ours/reference p99: below
    "rss": 0.1,  # ours/reference RSS: below
    "flat": 2.0,  # our list p50 at the largest size / at 1k runs: at most
}
WARMUP_REQUESTS = 3
LIST_ENDPOINTS = ["runs_list", "runs_list_hydrated", "steps_list", "artifact_versions_list"]
ENDPOINT_LABELS = {
    "runs_list": "GET /runs?size=50&hydrate=False",
    "runs_list_hydrated": "GET /runs?size=50&hydrate=True",
    "steps_list": "GET /steps?pipeline_run_id=<id>",
    "artifact_versions_list": "GET /artifact_versions?artifact=<name>",
    "runs_get_or_create": "POST /runs (existing run)",
    "artifact_versions_batch": "POST /artifact_versions/batch (2 new)",
}


# ----------------------------------------------------------------------------------- load
def wrk(server: B.Server, path: str, seconds: float, connections: int, work: Path, name: str,
        method: str = "GET", body=None) -> dict:
    out = work / f"wrk-{server.kind}-{name}.json"
    out.unlink(missing_ok=True)
    env = dict(os.environ, BENCH_TOKEN=server.token, BENCH_METHOD=method, BENCH_OUT=str(out), BENCH_BODY_FILE="")
    if body is not None:
        body_file = work / f"body-{server.kind}-{name}.json"
        body_file.write_text(json.dumps(body))
        env["BENCH_BODY_FILE"] = str(body_file)
    cmd = ["wrk", "-t", str(connections), "-c", str(connections), "-d", f"{seconds:g}s", "--timeout", "120s",
           "--latency", "-s", str(B.BENCH_DIR / "wrk" / "request.lua"), server.url + path]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=seconds + 300)
    if p.returncode != 0 or not out.exists():
        raise RuntimeError(f"wrk failed ({p.returncode}): {p.stdout}\n{p.stderr}")
    r = json.loads(out.read_text())
    secs = r["duration_us"] / 1e6
    ok = sum(n for code, n in r["status_codes"].items() if 200 <= int(code) < 300)
    errors = sum(r["errors"].values())
    return {
        "requests": r["requests"],
        "ok": ok,
        "errors": errors,
        "status_codes": r["status_codes"],
        "seconds": round(secs, 3),
        "rps": round(ok / secs, 2) if secs else 0.0,
        "p50_ms": r["latency_us"]["p50"] / 1000,
        "p90_ms": r["latency_us"]["p90"] / 1000,
        "p99_ms": r["latency_us"]["p99"] / 1000,
        "max_ms": r["latency_us"]["max"] / 1000,
        "mean_ms": round(r["latency_us"]["mean"] / 1000, 3),
        "valid": errors == 0 and ok == r["requests"] and ok > 0,
    }


class Endpoints:
    """The requests measured, with the ids they need (found once, on the seeded DB)."""

    def __init__(self, db: B.Database, project_id: str):
        con = db.connect()
        cur = con.cursor()
        q = "`" if db.backend == "mariadb" else '"'
        cur.execute("SELECT id, name, snapshot_id, orchestrator_run_id, start_time, orchestrator_environment "
                    "FROM pipeline_run WHERE name LIKE 'zbench_training%' ORDER BY created DESC, id DESC LIMIT 1")
        run_id, run_name, snapshot_id, orch_id, start_time, orch_env = cur.fetchone()
        cur.execute("SELECT c.id FROM stack_component c JOIN stack_composition s ON s.component_id = c.id "
                    "JOIN stack st ON st.id = s.stack_id WHERE st.name = 'default' AND c.type = 'artifact_store'")
        (store_id,) = cur.fetchone()
        cur.close()
        con.close()
        dashed = lambda h: f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"  # noqa: E731
        self.project_id = project_id
        self.run_id = dashed(run_id)
        self.artifact_name = "zb_model"
        start = start_time if isinstance(start_time, str) else start_time.strftime("%Y-%m-%d %H:%M:%S.%f")
        self.run_body = {
            "project": project_id, "name": run_name, "snapshot": dashed(snapshot_id), "orchestrator_run_id": orch_id,
            "start_time": start.replace(" ", "T"), "end_time": None, "status": "running", "status_reason": None,
            "orchestrator_environment": json.loads(orch_env) if orch_env else {}, "trigger_info": None,
            "tags": None, "logs": None, "exception_info": None, "original_run_id": None, "parent_run_id": None,
            "child_key": None,
        }
        self.store_id = dashed(store_id)

    def batch_body(self, kind: str) -> list:
        """Two new versions per request, of artifacts private to the server and the wrk connection."""
        items = []
        for out, value in (("a", "42"), ("b", "hello")):
            name = f"zb_batch_{kind}_{{{{THREAD}}}}_{out}"
            uri = f"/home/zenml/.config/zenml/local_stores/{self.store_id}/bench_step/{name}/batch"
            items.append({
                "project": self.project_id, "artifact_id": None, "artifact_name": name, "version": None,
                "has_custom_name": True, "type": "DataArtifact", "artifact_store_id": self.store_id, "uri": uri,
                "materializer": {"module": "zenml.materializers.built_in_materializer",
                                 "attribute": "BuiltInMaterializer", "type": "internal"},
                "data_type": {"module": "builtins", "attribute": "int" if out == "a" else "str", "type": "builtin"},
                "content_hash": hashlib.md5(value.encode()).hexdigest(), "tags": [],
                "visualizations": [{"type": "json", "uri": uri + "/data.json"}], "save_type": "step_output",
                "metadata": {"storage_size": len(value), "string_representation": value}, "item_count": None,
            })
        return items

    def gets(self) -> dict:
        p = self.project_id
        return {
            "runs_list": f"/api/v1/runs?size=50&hydrate=False&project={p}&sort_by=desc:created",
            "runs_list_hydrated": f"/api/v1/runs?size=50&hydrate=True&project={p}&sort_by=desc:created",
            "steps_list": f"/api/v1/steps?pipeline_run_id={self.run_id}",
            "artifact_versions_list": f"/api/v1/artifact_versions?artifact={self.artifact_name}",
        }


def db_counts(db: B.Database) -> dict:
    con = db.connect()
    cur = con.cursor()
    out = {}
    for t in ("pipeline_run", "step_run", "artifact_version", "pipeline_snapshot", "step_run_input_artifact",
              "step_run_output_artifact"):
        cur.execute(f"SELECT COUNT(*) FROM {t}")
        out[t] = int(cur.fetchone()[0])
    cur.execute("SELECT COUNT(*) FROM artifact_version v JOIN artifact a ON a.id = v.artifact_id WHERE a.name = 'zb_model'")
    out["zb_model_versions"] = int(cur.fetchone()[0])
    cur.close()
    con.close()
    return out


def json_diff(a, b, path="") -> list:
    """Where two JSON documents differ (ours = a, reference = b), as 'path: a != b' lines."""
    if type(a) is not type(b):
        return [f"{path}: {json.dumps(a)[:120]} != {json.dumps(b)[:120]}"]
    if isinstance(a, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out.append(f"{path}/{k}: only in {'reference' if k not in a else 'ours'}")
            else:
                out += json_diff(a[k], b[k], f"{path}/{k}")
        return out
    if isinstance(a, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} items != {len(b)} items"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in json_diff(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {json.dumps(a)[:120]} != {json.dumps(b)[:120]}"]


# ----------------------------------------------------------------------------------- the bench
class Bench:
    def __init__(self, args):
        self.args = args
        self.servers = []  # every server started, stopped in finally
        self.pages = {}  # kind -> the oldest GET /runs?hydrate=True page, compared between the servers

    def start(self, kind: str, db: B.Database, work: Path) -> B.Server:
        port = B.free_port()
        if kind == "ours":
            s = B.start_ours(self.args.zenpro_bin, db.url, port, work / "ours")
        else:
            s = B.start_reference(self.args.venv, db.url, port, work / "reference")
        self.servers.append(s)
        s.wait_ready(timeout=600)
        s.login()
        return s

    def stop(self, s: B.Server) -> None:
        s.stop()
        if s in self.servers:
            self.servers.remove(s)

    def stop_all(self) -> None:
        for s in list(self.servers):
            self.stop(s)

    def seconds(self, kind: str) -> float:
        return self.args.duration if kind == "ours" else self.args.ref_duration

    def verify(self, s: B.Server, ep: Endpoints, counts: dict) -> dict:
        """Both servers must see the seeded history: same totals as the DB."""
        gets = ep.gets()
        status, body = B.http("GET", s.url + gets["runs_list"].replace("size=50", "size=1"), s.token)
        if status != 200:
            raise RuntimeError(f"{s.kind}: GET /runs -> {status}: {str(body)[:500]}")
        seen = {"runs_total": body["total"]}
        status, body = B.http("GET", s.url + gets["steps_list"], s.token)
        if status != 200:
            raise RuntimeError(f"{s.kind}: GET /steps -> {status}: {str(body)[:500]}")
        seen["steps_of_run"] = body["total"]
        status, body = B.http("GET", s.url + gets["artifact_versions_list"] + "&size=1", s.token)
        if status != 200:
            raise RuntimeError(f"{s.kind}: GET /artifact_versions -> {status}: {str(body)[:500]}")
        seen["artifact_versions_total"] = body["total"]
        expect = {"runs_total": counts["pipeline_run"], "steps_of_run": 5,
                  "artifact_versions_total": counts["zb_model_versions"]}
        if seen != expect:
            raise RuntimeError(f"{s.kind}: the server does not list the seeded history: saw {seen}, DB has {expect}")
        # The oldest page (the newest one holds the other server's pipeline runs): same JSON from both?
        oldest = gets["runs_list_hydrated"].replace("desc:created", "asc:created")
        status, body = B.http("GET", s.url + oldest, s.token)
        items = body["items"]  # (the totals differ by the other server's pipeline runs)
        seen["runs_page_sha256"] = hashlib.sha256(json.dumps(items, sort_keys=True).encode()).hexdigest()
        self.pages[s.kind] = items
        return seen

    def measure_lists(self, s: B.Server, ep: Endpoints, work: Path, names, seconds: float) -> dict:
        out = {}
        for name in names:
            path = ep.gets()[name]
            for _ in range(WARMUP_REQUESTS):  # warm-up (caches, pools), and a check
                status, body = B.http("GET", s.url + path, s.token)
                if status != 200:
                    raise RuntimeError(f"{s.kind}: {path} -> {status}: {str(body)[:300]}")
            out[name] = wrk(s, path, seconds, self.args.connections, work, name)
            out[name]["response_bytes"] = len(json.dumps(body))
            log(f"  {s.kind:9} {ENDPOINT_LABELS[name]:40} {out[name]['rps']:9.1f} req/s  "
                f"p50 {out[name]['p50_ms']:8.2f} ms  p99 {out[name]['p99_ms']:8.2f} ms")
        return out

    def measure_posts(self, s: B.Server, ep: Endpoints, work: Path, seconds: float) -> dict:
        out = {}
        status, body = B.http("POST", s.url + "/api/v1/runs", s.token, body=ep.run_body)
        # The answer is the pair [run, created]: the seeded run, not created.
        if status != 200 or not isinstance(body, list) or body[0].get("id") != ep.run_id or body[1] is not False:
            raise RuntimeError(f"{s.kind}: POST /runs (get-or-create) -> {status}: {str(body)[:300]}")
        out["runs_get_or_create"] = wrk(s, "/api/v1/runs", seconds, self.args.connections, work,
                                        "runs_get_or_create", "POST", ep.run_body)
        batch = ep.batch_body(s.kind)
        probe = json.loads(json.dumps(batch).replace("{{THREAD}}", "probe"))
        status, body = B.http("POST", s.url + "/api/v1/artifact_versions/batch", s.token, body=probe)
        if status != 200 or len(body) != 2:
            raise RuntimeError(f"{s.kind}: POST /artifact_versions/batch -> {status}: {str(body)[:300]}")
        out["artifact_versions_batch"] = wrk(s, "/api/v1/artifact_versions/batch", seconds, self.args.connections,
                                             work, "artifact_versions_batch", "POST", batch)
        for name in out:
            log(f"  {s.kind:9} {ENDPOINT_LABELS[name]:40} {out[name]['rps']:9.1f} req/s  "
                f"p50 {out[name]['p50_ms']:8.2f} ms  p99 {out[name]['p99_ms']:8.2f} ms")
        return out

    def pipeline_run(self, s: B.Server, work: Path, i: int) -> dict:
        project = work / f"client-{s.kind}-{i}"
        project.mkdir(parents=True, exist_ok=True)
        shutil.copy(B.BENCH_DIR / "pipelines.py", project / "pipelines.py")
        env = B.client_env(self.args.venv, s.url, project)
        t0 = time.monotonic()
        p = subprocess.run([str(self.args.venv / "bin" / "python"), "pipelines.py", "chain10"], cwd=project,
                           env=env, capture_output=True, text=True, timeout=1800)
        wall = time.monotonic() - t0
        (work / f"client-{s.kind}-{i}.log").write_text(p.stdout + p.stderr)
        line = next((ln for ln in p.stdout.splitlines() if ln.startswith("RUN_ID=")), "")
        fields = dict(kv.split("=", 1) for kv in line.split()) if line else {}
        ok = p.returncode == 0 and fields.get("STATUS") == "completed"
        if not ok:
            log(f"  {s.kind}: the 10-step pipeline failed (exit {p.returncode}); log: {work}/client-{s.kind}-{i}.log\n"
                + "\n".join((p.stdout + p.stderr).splitlines()[-15:]))
        return {"ok": ok, "process_seconds": round(wall, 3),
                "pipeline_seconds": float(fields["PIPELINE_SECONDS"]) if ok else None}

    # ------------------------------------------------------------------------------- phases
    def flatness_point(self, db: B.Database, work: Path, runs: int, seconds_ours: float, seconds_ref: float) -> dict:
        res = {"runs": runs}
        for kind in ("ours", "reference"):
            counts = db_counts(db)
            s = self.start(kind, db, work)
            try:
                ep = Endpoints(db, self.project_id(s))
                res[kind] = {"verify": self.verify(s, ep, counts)}
                res[kind].update(self.measure_lists(s, ep, work, ["runs_list", "runs_list_hydrated"],
                                                    seconds_ours if kind == "ours" else seconds_ref))
            finally:
                self.stop(s)
        return res

    def project_id(self, s: B.Server) -> str:
        status, body = B.http("GET", s.url + "/api/v1/projects/default", s.token)
        if status != 200:
            raise RuntimeError(f"{s.kind}: GET /projects/default -> {status}")
        return body["id"]

    def main_point(self, db: B.Database, work: Path) -> dict:
        res = {}
        for kind in ("ours", "reference"):
            counts = db_counts(db)  # before each server: the other one's pipeline runs are in the DB too
            s = self.start(kind, db, work)
            try:
                r = {"startup_s": round(s.startup_s, 3)}
                time.sleep(1.0)
                r["idle_rss_kb"] = s.rss_kb()
                ep = Endpoints(db, self.project_id(s))
                r["verify"] = self.verify(s, ep, counts)
                seconds = self.seconds(kind)
                with B.RssSampler(s.pid) as rss:
                    r.update(self.measure_lists(s, ep, work, LIST_ENDPOINTS, seconds))
                    r.update(self.measure_posts(s, ep, work, seconds))
                r["peak_rss_kb"] = rss.peak_kb
                r["hwm_rss_kb"] = s.hwm_kb()
                runs = [self.pipeline_run(s, work, i) for i in range(self.args.pipeline_runs)]
                r["pipeline_runs"] = runs
                good = [x for x in runs if x["ok"]]
                r["pipeline_process_s"] = round(statistics.mean(x["process_seconds"] for x in good), 3) if good else None
                r["pipeline_call_s"] = round(statistics.mean(x["pipeline_seconds"] for x in good), 3) if good else None
                log(f"  {kind:9} startup {r['startup_s']:.2f}s idle RSS {r['idle_rss_kb'] / 1024:.1f} MB "
                    f"peak RSS {r['peak_rss_kb'] / 1024:.1f} MB 10-step pipeline {r['pipeline_process_s']}s")
            finally:
                self.stop(s)
            res[kind] = r
        res["page_differences"] = json_diff(self.pages.get("ours"), self.pages.get("reference"))[:30]
        return res

    def run_backend(self, backend: str) -> dict:
        a = self.args
        work = a.workdir / backend
        if work.exists():
            shutil.rmtree(work)
        work.mkdir(parents=True)
        db = B.Database(backend, work / "db")
        db.create()
        result = {"backend": backend, "runs": a.runs, "loadavg_before": os.getloadavg()}
        try:
            log(f"{backend}: creating the schema with our server")
            s = self.start("ours", db, work)
            self.stop(s)
            tpl = Template(a.template)
            seeder = Seeder(db, tpl, a.pipelines)
            small = min(1000, a.runs)
            result["seed"] = [seeder.seed(small)]
            log(f"{backend}: list latency at {small} runs")
            flat = [self.flatness_point(db, work, small, a.flat_duration, a.flat_ref_duration)]
            if a.runs > small:
                result["seed"].append(seeder.seed(a.runs))
            result["db_counts"] = db_counts(db)
            result["db_bytes"] = db.size_bytes()
            log(f"{backend}: main measurements at {a.runs} runs ({result['db_bytes'] / 1e6:.0f} MB)")
            result["main"] = self.main_point(db, work)
            flat.append({"runs": a.runs, **{k: {n: result["main"][k][n] for n in ("runs_list", "runs_list_hydrated")}
                                            for k in ("ours", "reference")}})
            if a.large:
                result["seed"].append(seeder.seed(a.large))
                log(f"{backend}: list latency at {a.large} runs")
                flat.append(self.flatness_point(db, work, a.large, a.flat_duration, a.flat_ref_duration))
                result["db_bytes_large"] = db.size_bytes()
            seeder.close()
            result["flatness"] = flat
            result["loadavg_after"] = os.getloadavg()
        finally:
            self.stop_all()
            if a.keep and backend == "mariadb":
                log(f"kept MariaDB database {db.name} (drop it: mariadb -h 127.0.0.1 -u root -e "
                    f"'DROP DATABASE {db.name}')")
            else:
                db.drop()
            if not a.keep:
                shutil.rmtree(work, ignore_errors=True)
        return result


# ----------------------------------------------------------------------------------- report
def fmt(v, unit=""):
    if v is None:
        return "n/a"
    if isinstance(v, float):
        if v >= 100:
            return f"{v:,.0f}{unit}"
        if v >= 10:
            return f"{v:.1f}{unit}"
        return f"{v:.2f}{unit}" if v >= 0.1 else f"{v:.3f}{unit}"
    return f"{v}{unit}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def report(result: dict) -> tuple[str, dict]:
    m = result["main"]
    o, r = m["ours"], m["reference"]
    rows = []  # metric, ours, reference, ratio, target, met
    verdicts = {}

    def add(metric, ov, rv, unit, target=None, check=None):
        rt = ratio(ov, rv)
        met = None if check is None or rt is None else check(rt)
        rows.append((metric, fmt(ov, unit), fmt(rv, unit), "n/a" if rt is None else f"{rt:.3g}",
                     target or "", "" if met is None else ("met" if met else "NOT met")))
        return met

    for name in LIST_ENDPOINTS + ["runs_get_or_create", "artifact_versions_batch"]:
        label = ENDPOINT_LABELS[name]
        ov, rv = o[name], r[name]
        is_list = name in LIST_ENDPOINTS
        met_t = add(f"{label}: req/s", ov["rps"], rv["rps"], "",
                    f"≥ {TARGETS['throughput']:g}×" if is_list else None,
                    (lambda x: x >= TARGETS["throughput"]) if is_list else None)
        add(f"{label}: p50", ov["p50_ms"], rv["p50_ms"], " ms")
        met_p = add(f"{label}: p99", ov["p99_ms"], rv["p99_ms"], " ms", f"< {TARGETS['p99']:g}×",
                    lambda x: x < TARGETS["p99"])
        if is_list:
            verdicts[f"throughput {label}"] = met_t
        verdicts[f"p99 {label}"] = met_p
        if not (ov["valid"] and rv["valid"]):
            verdicts[f"valid {label}"] = False
    add("startup (start → first 200 on /api/v1/info)", o["startup_s"], r["startup_s"], " s")
    verdicts["idle RSS"] = add("idle RSS after start", o["idle_rss_kb"] / 1024, r["idle_rss_kb"] / 1024, " MB",
                               f"< {TARGETS['rss']:g}×", lambda x: x < TARGETS["rss"])
    verdicts["peak RSS"] = add("peak RSS during the load", o["peak_rss_kb"] / 1024, r["peak_rss_kb"] / 1024, " MB",
                               f"< {TARGETS['rss']:g}×", lambda x: x < TARGETS["rss"])
    add("10-step pipeline, client process wall time", o["pipeline_process_s"], r["pipeline_process_s"], " s")
    add("10-step pipeline, pipeline() call", o["pipeline_call_s"], r["pipeline_call_s"], " s")

    flat = result["flatness"]
    ftable = ("| GET /runs page, p50 | " + " | ".join(f"{p['runs']:,} runs" for p in flat)
              + " | growth | target | |\n|---|" + "---:|" * len(flat) + "---:|---|---|\n")
    for name in ("runs_list", "runs_list_hydrated"):
        for kind in ("ours", "reference"):
            vals = [p[kind][name]["p50_ms"] for p in flat]
            growth = ratio(vals[-1], vals[0])
            met = None
            if kind == "ours":
                met = growth is not None and growth <= TARGETS["flat"]
                verdicts[f"flat {ENDPOINT_LABELS[name]}"] = met
            ftable += (f"| {ENDPOINT_LABELS[name]} ({kind}) | " + " | ".join(fmt(v, " ms") for v in vals)
                       + f" | {'n/a' if growth is None else f'{growth:.3g}'} | "
                       + (f"≤ {TARGETS['flat']:g}× | {'met' if met else 'NOT met'}" if kind == "ours" else " | ")
                       + " |\n")

    counts = result["db_counts"]
    head = (f"### {result['backend']}: {counts['pipeline_run']:,} runs, {counts['step_run']:,} steps, "
            f"{counts['artifact_version']:,} artifact versions ({result['db_bytes'] / 1e6:,.0f} MB)\n\n")
    vo, vr = o["verify"], r["verify"]
    same_page = "identical" if vo["runs_page_sha256"] == vr["runs_page_sha256"] else "different"
    head += (f"Both servers list the seeded history: runs total {vo['runs_total']:,} / {vr['runs_total']:,} "
             f"(DB counts before each server), {vo['steps_of_run']} / {vr['steps_of_run']} steps of the latest run, "
             f"{vo['artifact_versions_total']:,} / {vr['artifact_versions_total']:,} versions of `zb_model`; "
             f"oldest GET /runs?hydrate=True page JSON: {same_page}. Load average before/after: "
             f"{' '.join(f'{x:.1f}' for x in result['loadavg_before'])} / "
             f"{' '.join(f'{x:.1f}' for x in result.get('loadavg_after', ()))}.\n\n")
    diffs = m.get("page_differences") or []
    if diffs:
        head = head.replace(f"JSON: {same_page}.", f"JSON: {same_page} ({len(diffs)} differences shown in the "
                            f"JSON results, first: `{diffs[0]}`).")
    note = "ratio = ours / reference.\n\n"
    table = "| metric | ours | reference | ratio | target | |\n|---|---:|---:|---:|---|---|\n"
    table += "".join(f"| {a} | {b} | {c} | {d} | {e} | {f} |\n" for a, b, c, d, e, f in rows)
    return head + note + table + "\nList latency flatness (growth = p50 at the largest size / at the smallest):\n\n" \
        + ftable, verdicts


def summarize_targets(verdicts: dict, sizes: list, large_measured: bool) -> str:
    groups = {
        f"≥{TARGETS['throughput']:g}× reference throughput on the list endpoints":
            [v for k, v in verdicts.items() if k.startswith("throughput ")],
        f"p99 < {TARGETS['p99']:g}× reference (all measured endpoints)":
            [v for k, v in verdicts.items() if k.startswith("p99 ")],
        f"RSS < {TARGETS['rss']:g}× reference (idle and peak)":
            [v for k, v in verdicts.items() if k.endswith(" RSS")],
        (f"list latency flat within {TARGETS['flat']:g}× from {sizes[0]:,} to {sizes[-1]:,} runs"
         + ("" if large_measured else " (the target is to 100,000: `--large 100000`)")):
            [v for k, v in verdicts.items() if k.startswith("flat ")],
    }
    lines = []
    for title, vals in groups.items():
        if not vals or any(v is None for v in vals):
            state = "not measured"
        elif all(vals):
            state = "MET"
        else:
            state = f"NOT MET ({sum(1 for v in vals if not v)} of {len(vals)} fail)"
        lines.append(f"- {title}: **{state}**")
    invalid = [k for k, v in verdicts.items() if k.startswith("valid ") and v is False]
    if invalid:
        lines.append(f"- WARNING: requests failed or returned non-2xx during: {', '.join(k[6:] for k in invalid)}")
    return "\n".join(lines) + "\n"


def machine_info() -> dict:
    cpu = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = subprocess.run(["git", "-C", str(B.REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    dirty = bool(subprocess.run(["git", "-C", str(B.REPO), "status", "--porcelain", "--", "crates"],
                                capture_output=True, text=True).stdout.strip())
    return {"cpus": os.cpu_count(), "cpu": cpu, "loadavg_at_start": [round(x, 2) for x in os.getloadavg()], "python": platform.python_version(),
            "kernel": platform.release(), "git_commit": commit + ("+uncommitted crates/ changes" if dirty else "")}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--backend", choices=["sqlite", "mariadb", "both"], default="sqlite")
    ap.add_argument("--runs", type=int, default=None, help="seeded runs (default 10000; --quick: 1000)")
    ap.add_argument("--large", type=int, default=0, help="also seed this many runs and measure GET /runs (e.g. 100000)")
    ap.add_argument("--quick", action="store_true", help="1,000 runs, 3 s per endpoint, 1 pipeline run")
    ap.add_argument("--duration", type=float, default=None, help="seconds per endpoint, our server (default 10)")
    ap.add_argument("--ref-duration", type=float, default=None, help="seconds per endpoint, reference (default: same)")
    ap.add_argument("--connections", type=int, default=2)
    ap.add_argument("--pipelines", type=int, default=4)
    ap.add_argument("--pipeline-runs", type=int, default=None, help="timed 10-step pipeline runs per server (2)")
    ap.add_argument("--zenpro-bin", type=Path, default=B.REPO / "target" / "release" / "zenpro")
    ap.add_argument("--venv", type=Path, required=True)
    ap.add_argument("--template", type=Path, default=B.BENCH_DIR / "fixtures" / "template.json")
    ap.add_argument("--results", type=Path, default=B.BENCH_DIR / "results")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--keep", action="store_true", help="keep the databases and logs")
    a = ap.parse_args()
    if a.quick:
        a.runs = a.runs or 1000
        a.duration = a.duration or 3.0
        a.pipeline_runs = a.pipeline_runs or 1
    a.runs = a.runs or 10000
    a.duration = a.duration or 10.0
    a.pipeline_runs = a.pipeline_runs or 2
    if a.ref_duration is None:
        a.ref_duration = a.duration
    a.flat_duration = max(2.0, a.duration / 2)
    a.flat_ref_duration = max(2.0, a.ref_duration / 2)
    a.zenpro_bin = a.zenpro_bin.resolve()
    a.venv = a.venv.resolve()
    if a.large and a.large <= a.runs:
        raise SystemExit("--large must be more than --runs")
    a.workdir = (a.workdir or Path(tempfile.mkdtemp(prefix="zenpro-bench-"))).resolve()
    backends = ["sqlite", "mariadb"] if a.backend == "both" else [a.backend]

    bench = Bench(a)
    started = datetime.now(timezone.utc)
    info = machine_info()
    info["zenpro_binary_built"] = datetime.fromtimestamp(a.zenpro_bin.stat().st_mtime, timezone.utc).isoformat(
        timespec="seconds")
    log(f"zenpro bench: {backends}, {a.runs} runs, {a.duration:g}s/{a.ref_duration:g}s per endpoint, "
        f"{a.connections} connections; machine {info['cpus']} CPUs, load {info['loadavg_at_start']}")
    results, md_parts, all_ok = [], [], True
    try:
        for backend in backends:
            res = bench.run_backend(backend)
            table, verdicts = report(res)
            res["verdicts"] = verdicts
            res["targets_summary"] = summarize_targets(verdicts, [p["runs"] for p in res["flatness"]],
                                                       bool(a.large) and a.large >= 100000)
            results.append(res)
            md_parts.append(table + "\nTargets:\n" + res["targets_summary"])
            print("\n" + table + "\nTargets:\n" + res["targets_summary"], flush=True)
    finally:
        bench.stop_all()
        if not a.keep:
            shutil.rmtree(a.workdir, ignore_errors=True)
        else:
            log(f"work files kept in {a.workdir}")

    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    tag = f"{'-'.join(backends)}-{a.runs}runs{f'-to{a.large}' if a.large else ''}{'-quick' if a.quick else ''}"
    a.results.mkdir(parents=True, exist_ok=True)
    doc = {"started": started.isoformat(), "settings": {k: str(v) if isinstance(v, Path) else v
                                                        for k, v in vars(a).items()},
           "machine": info, "targets": TARGETS, "results": results}
    (a.results / f"{stamp}-{tag}.json").write_text(json.dumps(doc, indent=1) + "\n")
    md = (f"# zenpro benchmark {started.strftime('%Y-%m-%d %H:%M UTC')}\n\n"
          f"Machine: {info['cpus']} CPUs ({info['cpu']}), load average at start {info['loadavg_at_start']}; "
          f"zenpro HEAD {info['git_commit']} (binary built {info['zenpro_binary_built']}); reference zenml 0.98.0.\n"
          f"wrk: {a.connections} connections, {a.duration:g} s per endpoint (ours), {a.ref_duration:g} s (reference); "
          f"list flatness {a.flat_duration:g} s / {a.flat_ref_duration:g} s.\n\n" + "\n".join(md_parts))
    (a.results / f"{stamp}-{tag}.md").write_text(md)
    log(f"results: {a.results}/{stamp}-{tag}.{{json,md}}")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
