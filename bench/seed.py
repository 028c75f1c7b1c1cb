"""Seed a ZenML 0.98.0 database with a realistic pipeline-run history, straight in SQL.

    python seed.py --backend sqlite --db /path/zenml.db --runs 10000
    python seed.py --backend mariadb --db zenpro_bench_123 --runs 10000

The database must already have the 0.98.0 schema and the default project, stack and admin user (start a
server on it once). The rows are copies of `fixtures/template.json` (what one real run of
`pipelines.py training` wrote through the reference server: snapshot, 5 step configurations, run,
5 steps, step parents, 5 input and 5 output links, 5 artifact versions with visualizations and
metadata, 11 log entries), with new ids, times, run names, cache keys and version numbers, in the
on-disk formats of the schema (uuid hex CHAR(32), naive UTC datetimes with 6 digits on SQLite and
whole seconds on MariaDB, JSON text). Runs are spread over `--pipelines` copies of the pipeline (the 5
artifacts are shared, as named outputs are) and spaced 5 minutes apart from 2025-01-01.

Seeding is incremental: runs already seeded by an earlier call are kept, so `--runs 1000` followed by
`--runs 10000` adds 9,000 newer runs. Deterministic: the same counts give the same rows.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import re
import sys
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import benchlib as B

T0 = datetime(2025, 1, 1, 0, 0, 0)
SPACING = timedelta(minutes=5)
SEED = 4  # issue 4
STORE_PREFIX = "/home/zenml/.config/zenml/local_stores"

# Insertion order (foreign keys).
ORDER = [
    "pipeline", "artifact", "pipeline_snapshot", "step_configuration", "pipeline_run", "step_run",
    "step_run_parents", "artifact_version", "step_run_input_artifact", "step_run_output_artifact",
    "artifact_visualization", "pipeline_run_output", "run_metadata", "run_metadata_resource", "logs",
    "tag_resource", "hook_invocation", "hook_invocation_output_artifact",
]
# Values that look like uuids/hex but are not row ids, and must still differ per run.
PER_RUN_VALUES = {("pipeline_run", "orchestrator_run_id"), ("step_run", "cache_key"),
                  ("artifact_version", "content_hash")}

UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])"


def parse_dt(s: str) -> datetime:
    return datetime.strptime(s, "%Y-%m-%d %H:%M:%S.%f") if "." in s else datetime.strptime(s, "%Y-%m-%d %H:%M:%S")


class Template:
    """The template rows, each text value pre-split into literal parts and slots."""

    def __init__(self, path: Path):
        t = json.loads(path.read_text())
        self.t = t
        self.tokens = t["tokens"]
        self.globals = t["globals"]
        self.tables = {name: t["tables"][name] for name in ORDER if name in t["tables"]}
        self.run_created = parse_dt(self.tokens["run_created"])
        # Classify the ids in the template rows.
        self.ids = {}  # hex -> scope: "run" | "pipeline" | "artifact"
        for name, tb in self.tables.items():
            if "id" not in tb["columns"]:
                continue
            i = tb["columns"].index("id")
            scope = "pipeline" if name == "pipeline" else "artifact" if name == "artifact" else "run"
            for row in tb["rows"]:
                self.ids[row[i]] = scope
        for name, col in PER_RUN_VALUES:
            tb = self.tables.get(name)
            if tb:
                i = tb["columns"].index(col)
                for row in tb["rows"]:
                    if row[i]:
                        self.ids[row[i].replace("-", "")] = "run"
        self.global_ids = {v: k for k, v in self.globals.items()}
        literal = [self.tokens["store_prefix"], self.tokens["pipeline_name"], self.tokens["date"], self.tokens["time"]]
        self.slot_re = re.compile("|".join([re.escape(x) for x in literal] + [UUID_RE]))
        self.compiled = {name: self._compile(tb) for name, tb in self.tables.items()}

    def _slot(self, text: str):
        tok = self.tokens
        if text == tok["store_prefix"]:
            return ("store",)
        if text == tok["pipeline_name"]:
            return ("pipeline_name",)
        if text == tok["date"]:
            return ("date",)
        if text == tok["time"]:
            return ("time",)
        h = text.replace("-", "")
        dashed = "-" in text
        if h in self.ids or h in self.global_ids:
            return ("id", h, dashed)
        return None  # a constant hash: keep

    def _compile(self, tb):
        """Per column: ("const", v) | ("dt", datetime) | ("parts", [str | slot, ...])."""
        rows = []
        for row in tb["rows"]:
            out = []
            for col, v in zip(tb["columns"], row):
                ctype = tb["types"][col].upper()
                if isinstance(v, dict) and "$b64" in v:
                    out.append(("const", base64.b64decode(v["$b64"])))
                elif v is None or not isinstance(v, str):
                    out.append(("const", v))
                elif ctype == "DATETIME":
                    out.append(("dt", parse_dt(v)))
                else:
                    parts, pos = [], 0
                    for m in self.slot_re.finditer(v):
                        slot = self._slot(m.group(0))
                        if slot is None:
                            continue
                        parts.append(v[pos:m.start()])
                        parts.append(slot)
                        pos = m.end()
                    parts.append(v[pos:])
                    out.append(("parts", parts) if len(parts) > 1 else ("const", v))
            rows.append(out)
        return rows


class Seeder:
    def __init__(self, db: "B.Database", template: Template, pipelines: int):
        self.db, self.tpl, self.pipelines = db, template, pipelines
        self.mysql = db.backend == "mariadb"
        self.con = db.connect()
        self.q = "`" if self.mysql else '"'
        self.ph = "%s" if self.mysql else "?"
        if not self.mysql:
            self.con.execute("PRAGMA synchronous=OFF")  # per connection; the file's journal mode is untouched
        else:
            # Session settings only (the rows are consistent by construction, and the same code runs with
            # foreign keys enforced on SQLite): twice as fast.
            cur = self.con.cursor()
            cur.execute("SET SESSION foreign_key_checks = 0")
            cur.execute("SET SESSION unique_checks = 0")
            cur.close()
        self.targets = self._target_globals()

    # ------------------------------------------------------------------ helpers
    def query(self, sql, args=()):
        cur = self.con.cursor()
        cur.execute(sql.replace("?", self.ph), args)
        rows = cur.fetchall()
        cur.close()
        return rows

    def _target_globals(self) -> dict:
        q = self.q
        out = {}
        out["project"] = self.query("SELECT id FROM project WHERE name='default'")[0][0]
        out["user"] = self.query(f"SELECT id FROM {q}user{q} WHERE name=? AND is_service_account=0",
                                 (B.ADMIN_USER,))[0][0]
        out["stack"] = self.query("SELECT id FROM stack WHERE name='default'")[0][0]
        for cid, ctype in self.query("SELECT c.id, c.type FROM stack_component c JOIN stack_composition s "
                                     "ON s.component_id = c.id WHERE s.stack_id = ?", (out["stack"],)):
            out[f"component:{ctype}"] = cid
        out["server"] = self.query("SELECT id FROM server_settings")[0][0]
        missing = [k for k in self.tpl.globals if k not in out]
        if missing:
            raise SystemExit(f"seed: the target DB lacks {missing} (start a server on it once first)")
        return out

    def fmt_dt(self, d: datetime) -> str:
        return d.strftime("%Y-%m-%d %H:%M:%S") if self.mysql else d.strftime("%Y-%m-%d %H:%M:%S.%f")

    def pipeline_name(self, k: int) -> str:
        base = self.tpl.tokens["pipeline_name"]
        return base if k == 0 else f"{base}_{k + 1}"

    def insert(self, table: str, columns, rows) -> None:
        if not rows:
            return
        q = self.q
        cols = ", ".join(f"{q}{c}{q}" for c in columns)
        sql = f"INSERT INTO {q}{table}{q} ({cols}) VALUES ({', '.join([self.ph] * len(columns))})"
        cur = self.con.cursor()
        cur.executemany(sql, rows)
        cur.close()

    # ------------------------------------------------------------------ rendering
    def render(self, table: str, ids: dict, ctx: dict):
        """The template rows of `table` with `ids` (template hex -> new uuid.UUID) and ctx values."""
        tb = self.tpl.tables[table]
        delta = ctx["delta"]
        out = []
        for crow in self.tpl.compiled[table]:
            row = []
            for kind, v in crow:
                if kind == "const":
                    row.append(v)
                elif kind == "dt":
                    row.append(self.fmt_dt(v + delta))
                else:
                    s = []
                    for p in v:
                        if isinstance(p, str):
                            s.append(p)
                        elif p[0] == "id":
                            u = ids[p[1]]
                            s.append(str(u) if p[2] else u.hex)
                        elif p[0] == "store":
                            s.append(STORE_PREFIX)
                        else:
                            s.append(ctx[p[0]])
                    row.append("".join(s))
            out.append(row)
        return tb["columns"], out

    def id_map(self, rng: random.Random, scope_ids: dict) -> dict:
        ids = dict(scope_ids)
        for h, scope in self.tpl.ids.items():
            if scope == "run":
                ids[h] = uuid.UUID(int=rng.getrandbits(128), version=4)
        return ids

    # ------------------------------------------------------------------ seeding
    def seeded_runs(self) -> int:
        names = [self.pipeline_name(k) for k in range(self.pipelines)]
        marks = ", ".join([self.ph] * len(names))
        cur = self.con.cursor()
        cur.execute(f"SELECT COUNT(*) FROM pipeline_run r JOIN pipeline p ON p.id = r.pipeline_id "
                    f"WHERE p.name IN ({marks})", names)
        (n,) = cur.fetchone()
        cur.close()
        return int(n)

    def ensure_once_rows(self, ctx0: dict) -> dict:
        """Pipelines and artifacts (created with the first run): returns template hex -> uuid for them."""
        ids = {h: uuid.UUID(hex=self.targets[k]) for h, k in self.tpl.global_ids.items()}
        tpl = self.tpl
        # Artifacts: shared by all pipelines, found by name.
        tb = tpl.tables["artifact"]
        ci, ni = tb["columns"].index("id"), tb["columns"].index("name")
        new_rows = []
        for i, row in enumerate(tb["rows"]):
            found = self.query("SELECT id FROM artifact WHERE name=? AND project_id=?", (row[ni], self.targets["project"]))
            if found:
                ids[row[ci]] = uuid.UUID(hex=found[0][0])
            else:
                ids[row[ci]] = uuid.uuid5(uuid.NAMESPACE_OID, f"zenpro-bench-artifact-{row[ni]}")
                new_rows.append(i)
        cols, rendered = self.render("artifact", ids, ctx0)
        self.insert("artifact", cols, [rendered[i] for i in new_rows])
        # Pipelines: one copy per k.
        tb = tpl.tables["pipeline"]
        ci = tb["columns"].index("id")
        self.pipeline_ids = []
        for k in range(self.pipelines):
            name = self.pipeline_name(k)
            found = self.query("SELECT id FROM pipeline WHERE name=? AND project_id=?", (name, self.targets["project"]))
            if found:
                pid = uuid.UUID(hex=found[0][0])
            else:
                pid = uuid.uuid5(uuid.NAMESPACE_OID, f"zenpro-bench-pipeline-{name}")
                cols, rendered = self.render("pipeline", {**ids, tb["rows"][0][ci]: pid},
                                             {**ctx0, "pipeline_name": name})
                self.insert("pipeline", cols, rendered)
            self.pipeline_ids.append(pid)
        self.pipeline_tpl_id = tb["rows"][0][ci]
        return ids

    def run_ctx(self, i: int) -> dict:
        tok = self.tpl.tokens
        created = T0 + i * SPACING + timedelta(microseconds=self.tpl.run_created.microsecond)
        delta = created - self.tpl.run_created
        tpl_start = datetime.strptime(tok["date"] + " " + tok["time"], "%Y_%m_%d %H_%M_%S_%f")
        start = tpl_start + delta
        k = i % self.pipelines
        return {"delta": delta, "date": start.strftime("%Y_%m_%d"), "time": start.strftime("%H_%M_%S_%f"),
                "pipeline_name": self.pipeline_name(k), "k": k, "index": i // self.pipelines + 1,
                "version": i + 1}

    def seed(self, total: int, batch: int = 250) -> dict:
        start = self.seeded_runs()
        if start >= total:
            B.log(f"seed: {start} runs already seeded (>= {total})")
            return {"added": 0, "total": start, "seconds": 0.0}
        t0 = time.monotonic()
        once_ids = self.ensure_once_rows(self.run_ctx(0))
        tables = [t for t in ORDER if t in self.tpl.tables and t not in ("pipeline", "artifact")]
        cols = {t: self.tpl.tables[t]["columns"] for t in tables}
        av_cols = cols["artifact_version"]
        v_i, vn_i = av_cols.index("version"), av_cols.index("version_number")
        run_cols = cols["pipeline_run"]
        idx_i = run_cols.index("index")
        pending = {t: [] for t in tables}
        for i in range(start, total):
            ctx = self.run_ctx(i)
            rng = random.Random(SEED * 1_000_003 + i)
            ids = self.id_map(rng, {**once_ids, self.pipeline_tpl_id: self.pipeline_ids[ctx["k"]]})
            for t in tables:
                _, rows = self.render(t, ids, ctx)
                if t == "artifact_version":
                    for r in rows:
                        r[v_i], r[vn_i] = str(ctx["version"]), ctx["version"]
                elif t == "pipeline_run":
                    for r in rows:
                        r[idx_i] = ctx["index"]
                pending[t].extend(rows)
            if (i + 1 - start) % batch == 0 or i + 1 == total:
                for t in tables:
                    self.insert(t, cols[t], pending[t])
                    pending[t] = []
                self.con.commit()
                done = i + 1 - start
                if done % (batch * 20) == 0 or i + 1 == total:
                    B.log(f"seed: {i + 1}/{total} runs ({done / (time.monotonic() - t0):.0f} runs/s)")
        # pipeline.run_count as the server keeps it, and the pipeline's `updated`.
        for k, pid in enumerate(self.pipeline_ids):
            self.query("UPDATE pipeline SET run_count = (SELECT COUNT(*) FROM pipeline_run WHERE pipeline_id = ?) "
                       "WHERE id = ?", (pid.hex, pid.hex))
        self.con.commit()
        secs = time.monotonic() - t0
        B.log(f"seed: added {total - start} runs in {secs:.1f}s")
        return {"added": total - start, "total": total, "seconds": round(secs, 2)}

    def close(self):
        self.con.close()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", choices=["sqlite", "mariadb"], required=True)
    ap.add_argument("--db", required=True, help="SQLite file path, or MariaDB database name")
    ap.add_argument("--runs", type=int, required=True)
    ap.add_argument("--pipelines", type=int, default=4)
    ap.add_argument("--template", type=Path, default=B.BENCH_DIR / "fixtures" / "template.json")
    args = ap.parse_args()
    db = B.Database(args.backend, Path(args.db).parent if args.backend == "sqlite" else Path("."))
    if args.backend == "sqlite":
        db.path = Path(args.db)
    else:
        db.name = args.db
    s = Seeder(db, Template(args.template), args.pipelines)
    try:
        s.seed(args.runs)
    finally:
        s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
