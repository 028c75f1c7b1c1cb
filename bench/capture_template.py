"""Capture the rows one real pipeline run writes, as the template of the seeded history.

    python capture_template.py [--out fixtures/template.json]

Starts the Python reference server (zenml 0.98.0) on a fresh SQLite file, runs `pipelines.py training`
(5 steps, 5 output artifacts) once with the real zenml 0.98.0 client, and writes every row the run added
(pipeline, snapshot, step configurations, run, steps, step links, artifacts, artifact versions,
visualizations, run metadata, logs) with the ids of the pre-existing rows it refers to (project, user,
stack, components) to a JSON file. `seed.py` replays it N times with new ids, names and times.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import benchlib as B

# Tables whose new rows are written once per pipeline (shared by all its runs), and per run.
ONCE_TABLES = ["pipeline", "artifact"]
PER_RUN_TABLES = [
    "pipeline_snapshot", "step_configuration", "pipeline_run", "step_run", "step_run_parents",
    "step_run_input_artifact", "step_run_output_artifact", "artifact_version", "artifact_visualization",
    "run_metadata", "run_metadata_resource", "logs", "pipeline_run_output", "tag_resource", "hook_invocation",
    "hook_invocation_output_artifact",
]
# New rows the run writes that are not history (idempotency records of the client's POSTs).
IGNORED_TABLES = ["api_transaction", "api_transaction_result"]


def table_rows(con: sqlite3.Connection) -> dict:
    out = {}
    tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
    for t in tables:
        cols = [r[1] for r in con.execute(f'PRAGMA table_info("{t}")')]
        rows = con.execute(f'SELECT * FROM "{t}"').fetchall()
        out[t] = (cols, rows)
    return out


def column_types(con: sqlite3.Connection, table: str) -> dict:
    return {r[1]: r[2] for r in con.execute(f'PRAGMA table_info("{table}")')}


def enc(v):
    if isinstance(v, bytes):
        return {"$b64": base64.b64encode(v).decode()}
    return v


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--venv", required=True, type=Path)
    ap.add_argument("--out", type=Path, default=B.BENCH_DIR / "fixtures" / "template.json")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="zenpro-bench-capture-"))
    db = B.Database("sqlite", work / "db")
    db.create()
    server = B.start_reference(args.venv, db.url, B.free_port(), work / "reference")
    try:
        B.log(f"capture: reference server on {db.url}")
        server.wait_ready()
        con = sqlite3.connect(str(db.path))
        before = table_rows(con)
        con.close()

        project = work / "client"
        project.mkdir()
        shutil.copy(B.BENCH_DIR / "pipelines.py", project / "pipelines.py")
        env = B.client_env(args.venv, server.url, project)
        p = subprocess.run([str(args.venv / "bin" / "python"), "pipelines.py", "training"], cwd=project, env=env,
                           capture_output=True, text=True)
        if p.returncode != 0 or "RUN_ID=" not in p.stdout:
            print(p.stdout, p.stderr, file=sys.stderr)
            raise SystemExit("capture: the template pipeline failed")
        B.log("capture: " + p.stdout.strip().splitlines()[-1])

        con = sqlite3.connect(str(db.path))
        after = table_rows(con)
        template = {"zenml_version": "0.98.0", "tables": {}, "once_tables": ONCE_TABLES,
                    "per_run_tables": [], "globals": {}, "tokens": {}}
        for t, (cols, rows) in after.items():
            old = set(before.get(t, (cols, []))[1])
            new = [r for r in rows if r not in old]
            if not new or t in IGNORED_TABLES:
                continue
            if t not in ONCE_TABLES and t not in PER_RUN_TABLES:
                B.log(f"capture: table {t} got {len(new)} new/changed rows: not history, left out")
                continue
            template["tables"][t] = {"columns": cols, "types": column_types(con, t),
                                     "rows": [[enc(v) for v in r] for r in new]}
        template["per_run_tables"] = [t for t in PER_RUN_TABLES if t in template["tables"]]

        # The pre-existing rows the run refers to: mapped to the target DB's rows when seeding.
        g = template["globals"]
        g["project"] = con.execute("SELECT id FROM project WHERE name='default'").fetchone()[0]
        g["user"] = con.execute("SELECT id FROM user WHERE name=? AND is_service_account=0",
                                (B.ADMIN_USER,)).fetchone()[0]
        g["stack"] = con.execute("SELECT id FROM stack WHERE name='default'").fetchone()[0]
        for cid, ctype in con.execute(
                "SELECT c.id, c.type FROM stack_component c JOIN stack_composition s ON s.component_id = c.id "
                "WHERE s.stack_id = ?", (g["stack"],)):
            g[f"component:{ctype}"] = cid
        g["server"] = con.execute("SELECT id FROM server_settings").fetchone()[0]

        run_cols = template["tables"]["pipeline_run"]["columns"]
        run_row = template["tables"]["pipeline_run"]["rows"][0]
        run = dict(zip(run_cols, run_row))
        pipe = dict(zip(template["tables"]["pipeline"]["columns"], template["tables"]["pipeline"]["rows"][0]))
        # Run name "<pipeline>-<date>-<time>": date and time substitutions are replaced per run.
        m = re.fullmatch(re.escape(pipe["name"]) + r"-(\d{4}_\d{2}_\d{2})-(\d{2}_\d{2}_\d{2}_\d{6})", run["name"])
        if not m:
            raise SystemExit(f"capture: unexpected run name {run['name']!r}")
        template["tokens"] = {
            "pipeline_name": pipe["name"],
            "date": m.group(1),
            "time": m.group(2),
            "store_prefix": str(project / "config" / "local_stores"),
            "run_created": run["created"],
        }
        con.close()
        counts = {t: len(v["rows"]) for t, v in template["tables"].items()}
        B.log(f"capture: rows per table: {counts}")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(template, indent=1, sort_keys=True) + "\n")
        B.log(f"capture: template written to {args.out}")
    finally:
        server.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            B.log(f"capture: scratch kept in {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
