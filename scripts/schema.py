#!/usr/bin/env python3
"""Regenerate / check the ZenML 0.98.0 schema artifacts of zenpro-store.

The committed files under crates/zenpro-store/schema/ are:

  sqlite.sql    `sqlite3 .schema` of a fresh ZenML 0.98.0 SQLite database
  mysql.sql     the CREATE TABLE statements of `mariadb-dump --no-data` of a
                fresh ZenML 0.98.0 MariaDB/MySQL database (2-line header)
  flavors.json  the rows of the `flavor` table written on a fresh database

This script builds fresh databases with the *installed* zenml==0.98.0 package
(its SqlZenStore creates the schema with SQLModel.metadata.create_all, stamps
alembic and registers the built-in flavors, exactly as the server does on first
start), dumps them, and compares the result with the committed files.

Usage (run with a Python that has zenml[server]==0.98.0 installed):

  scripts/schema.py [check] [--mysql URL]   compare, print a unified diff, exit 1 on difference
  scripts/schema.py regen   [--mysql URL]   rewrite the committed files in place

mysql.sql is only regenerated/checked when --mysql is given. URL is an admin
account that may create databases and users, e.g. mysql://root@127.0.0.1:3306
(a password, if any, goes in the URL). A throw-away database and user are
created for the run and dropped afterwards. --schema-dir DIR compares with /
rewrites the files in DIR instead of crates/zenpro-store/schema.

Exit status: 0 identical (or regen done), 1 check found differences, 2 error.

ZenML creates secondary indexes in Python-set order (SQLAlchemy `Table.indexes`
is a set hashed by object id), so the order of CREATE INDEX statements after a
table (SQLite) and of the KEY lines inside a table (MariaDB) changes from run
to run. The regenerated output is therefore re-ordered, inside each such run of
index statements only, to follow the order of the committed file; anything that
is not in the committed file keeps the generated order. Every other byte is
compared as produced.

Standard library only, apart from zenml itself (and pymysql, which
zenml[server] installs, for --mysql).
"""

from __future__ import annotations

import argparse
import difflib
import importlib.metadata
import json
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

ZENML_VERSION = "0.98.0"

REPO = Path(__file__).resolve().parent.parent
SCHEMA_DIR = REPO / "crates" / "zenpro-store" / "schema"
SQLITE_NAME, MYSQL_NAME, FLAVORS_NAME = "sqlite.sql", "mysql.sql", "flavors.json"

MYSQL_HEADER = (
    f"-- ZenML {ZENML_VERSION} schema for MySQL/MariaDB (create_all path), "
    "from `mariadb-dump --no-data`.\n"
    "-- Regenerate/check with scripts/schema.py.\n"
)
MYSQL_CREATE_RE = re.compile(r"CREATE TABLE `[^`]+` \(.*?\) ENGINE=[^;]*;", re.DOTALL)

# Fields of each flavors.json row, in this order. The flavor table also has
# id/created/updated (random uuid4 / now, left out) and display_name, which
# the built-in flavors leave NULL (left out; the script fails if it is set).
FLAVOR_FIELDS = [
    "type",
    "name",
    "integration",
    "source",
    "config_schema",
    "connector_type",
    "connector_resource_type",
    "connector_resource_id_attr",
    "user_id",
    "logo_url",
    "docs_url",
    "sdk_docs_url",
    "is_custom",
]
FLAVOR_SKIPPED = {"id", "created", "updated"}
FLAVOR_SKIPPED_IF_NULL = {"display_name"}
DEFAULT_FLAVOR_NOTE = (
    "Rows of the `flavor` table as written by FlavorRegistry().register_flavors() "
    f"on a fresh {ZENML_VERSION} DB (id/created/updated omitted: random uuid4 / now). "
    "config_schema is stored verbatim as this string."
)


class SchemaError(RuntimeError):
    pass


# --------------------------------------------------------------------------
# Creating a fresh database with the real zenml package
# --------------------------------------------------------------------------


def _child_init_store(url: str) -> None:
    """Hidden mode `_init-store URL`: let zenml create its DB at URL (runs in a subprocess)."""
    import zenml

    if zenml.__version__ != ZENML_VERSION:
        raise SystemExit(f"zenml {zenml.__version__} is installed, need {ZENML_VERSION}")
    from zenml.zen_stores.sql_zen_store import SqlZenStore, SqlZenStoreConfiguration

    SqlZenStore(config=SqlZenStoreConfiguration(url=url))


def create_zenml_db(url: str, workdir: Path) -> None:
    """Run SqlZenStore on `url` in a clean subprocess (own config dir, no analytics)."""
    config_dir = workdir / "zenml-config"
    config_dir.mkdir(parents=True, exist_ok=True)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("ZENML_") and k != "DISABLE_DATABASE_MIGRATION"
    }
    env.update(
        ZENML_ANALYTICS_OPT_IN="false",
        ZENML_CONFIG_PATH=str(config_dir),
        ZENML_LOGGING_VERBOSITY="WARN",
        AUTO_OPEN_DASHBOARD="false",
    )
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "_init-store", url],
        env=env,
        cwd=workdir,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise SchemaError(
            f"zenml failed to initialise the store (exit {proc.returncode}):\n"
            f"{proc.stdout}{proc.stderr}"
        )


# --------------------------------------------------------------------------
# Re-ordering of index runs (see module docstring)
# --------------------------------------------------------------------------


def align_runs(units, ref_units, movable):
    """Sort each maximal run of movable units by its position in ref_units.

    Units missing from ref_units go after the known ones, in generated order.
    """
    pos = {}
    for i, u in enumerate(ref_units):
        pos.setdefault(u, i)
    out = []
    i = 0
    while i < len(units):
        if not movable(units[i]):
            out.append(units[i])
            i += 1
            continue
        j = i
        while j < len(units) and movable(units[j]):
            j += 1
        out.extend(sorted(units[i:j], key=lambda u: pos.get(u, len(ref_units))))
        i = j
    return out


# --------------------------------------------------------------------------
# SQLite
# --------------------------------------------------------------------------


def _shell_schema_line(sql: str) -> str:
    """Format one sqlite_master.sql entry the way the sqlite3 shell's `.schema` does
    (printSchemaLine in shell.c): tail ";\\n", tables with a quoted name get
    "IF NOT EXISTS", statements ending in a comment are closed first."""
    tail = ";\n"
    if "/*" in sql or "--" in sql:
        for term in ("", "*/", "\n"):
            if sqlite3.complete_statement(sql + term + ";"):
                sql, tail = sql + term, ";"
                break
    if re.match(r"CREATE TABLE ['\"]", sql):
        sql = "CREATE TABLE IF NOT EXISTS " + sql[len("CREATE TABLE ") :]
    return sql + tail


def dump_sqlite_schema(db: Path) -> list[str]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = con.execute(
            "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid"
        ).fetchall()
    finally:
        con.close()
    return [_shell_schema_line(r[0]) for r in rows]


def _is_sqlite_index(stmt: str) -> bool:
    return stmt.startswith(("CREATE INDEX ", "CREATE UNIQUE INDEX "))


def render_sqlite(stmts: list[str], committed: str | None) -> str:
    if committed:
        # Committed statements, each with its ";\n" terminator.
        ref = [s + ";\n" for s in committed.split(";\n") if s]
        stmts = align_runs(stmts, ref, _is_sqlite_index)
    return "".join(stmts)


# --------------------------------------------------------------------------
# Flavors
# --------------------------------------------------------------------------


def dump_flavors(db: Path, committed: str | None) -> str:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    con.row_factory = sqlite3.Row
    try:
        col_types = {
            r["name"]: (r["type"] or "").upper()
            for r in con.execute("PRAGMA table_info(flavor)")
        }
        rows = con.execute("SELECT * FROM flavor").fetchall()
    finally:
        con.close()

    missing = [f for f in FLAVOR_FIELDS if f not in col_types]
    extra = set(col_types) - set(FLAVOR_FIELDS) - FLAVOR_SKIPPED - FLAVOR_SKIPPED_IF_NULL
    if missing or extra:
        raise SchemaError(
            f"flavor table columns changed: missing {missing}, unexpected {sorted(extra)}; "
            "update FLAVOR_FIELDS in scripts/schema.py"
        )
    for col in FLAVOR_SKIPPED_IF_NULL & set(col_types):
        used = [r["name"] for r in rows if r[col] is not None]
        if used:
            raise SchemaError(
                f"flavor.{col} is set for {used[:5]}...; it is not in flavors.json, "
                "add it to FLAVOR_FIELDS"
            )

    flavors = []
    for r in rows:
        row = {}
        for f in FLAVOR_FIELDS:
            v = r[f]
            if col_types[f] == "BOOLEAN" and v is not None:
                v = bool(v)
            row[f] = v
        flavors.append(row)
    flavors.sort(key=lambda x: (x["type"], x["name"]))

    note = DEFAULT_FLAVOR_NOTE
    if committed:
        note = json.loads(committed).get("note", note)
    doc = {"zenml_version": ZENML_VERSION, "note": note, "flavors": flavors}
    return json.dumps(doc, indent=1)


# --------------------------------------------------------------------------
# MySQL / MariaDB
# --------------------------------------------------------------------------


def _is_mysql_key(line: str) -> bool:
    return line.startswith(("  KEY ", "  UNIQUE KEY "))


def _align_mysql_table(stmt: str, ref_by_table: dict[str, list[str]]) -> str:
    lines = stmt.split("\n")
    name = re.match(r"CREATE TABLE `([^`]+)`", lines[0]).group(1)
    body = lines[1:-1]
    if (
        not lines[0].endswith(" (")
        or not lines[-1].startswith(") ENGINE=")
        or not body
        or not all(line.endswith(",") for line in body[:-1])
        or body[-1].endswith(",")
    ):
        return stmt  # unexpected layout: compare as is
    units = [line.rstrip(",") for line in body]
    units = align_runs(units, ref_by_table.get(name, []), _is_mysql_key)
    body = [u + ("," if i < len(units) - 1 else "") for i, u in enumerate(units)]
    return "\n".join([lines[0], *body, lines[-1]])


def render_mysql(dump: str, committed: str | None) -> str:
    stmts = MYSQL_CREATE_RE.findall(dump)
    if not stmts:
        raise SchemaError("no CREATE TABLE statements in the mariadb-dump output")
    if committed:
        ref_by_table = {}
        for s in MYSQL_CREATE_RE.findall(committed):
            lines = s.split("\n")
            name = re.match(r"CREATE TABLE `([^`]+)`", lines[0]).group(1)
            ref_by_table[name] = [line.rstrip(",") for line in lines[1:-1]]
        stmts = [_align_mysql_table(s, ref_by_table) for s in stmts]
    return MYSQL_HEADER + "\n\n".join(stmts) + "\n"


def dump_mysql(admin_url: str, workdir: Path) -> str:
    import pymysql  # installed by zenml[server]

    u = urlsplit(admin_url)
    if u.scheme not in ("mysql", "mariadb", "mysql+pymysql"):
        raise SchemaError(f"--mysql: expected mysql://user[:password]@host[:port], got {admin_url!r}")
    host = u.hostname or "127.0.0.1"
    port = u.port or 3306
    admin_user = unquote(u.username) if u.username else "root"
    admin_pw = unquote(u.password) if u.password else ""

    token = secrets.token_hex(4)
    db = f"zenpro_schema_{token}"
    user = f"zenpro_schema_{token}"
    password = secrets.token_hex(16)
    user_hosts = ("localhost", "127.0.0.1", "%")

    try:
        admin = pymysql.connect(
            host=host, port=port, user=admin_user, password=admin_pw, autocommit=True
        )
    except pymysql.MySQLError as e:
        raise SchemaError(f"cannot connect to {host}:{port} as {admin_user}: {e}") from e
    try:
        with admin.cursor() as cur:
            for h in user_hosts:
                cur.execute(f"CREATE USER IF NOT EXISTS '{user}'@'{h}' IDENTIFIED BY '{password}'")
                cur.execute(f"GRANT ALL PRIVILEGES ON `{db}`.* TO '{user}'@'{h}'")
        try:
            create_zenml_db(f"mysql://{user}:{password}@{host}:{port}/{db}", workdir)
            dump_cmd = shutil.which("mariadb-dump") or shutil.which("mysqldump")
            if not dump_cmd:
                raise SchemaError("neither mariadb-dump nor mysqldump is on PATH")
            env = dict(os.environ)
            if admin_pw:
                env["MYSQL_PWD"] = admin_pw
            proc = subprocess.run(
                [
                    dump_cmd,
                    "--no-data",
                    "--skip-comments",
                    f"--host={host}",
                    f"--port={port}",
                    f"--user={admin_user}",
                    db,
                ],
                env=env,
                capture_output=True,
                text=True,
            )
            if proc.returncode != 0:
                raise SchemaError(f"{dump_cmd} failed:\n{proc.stderr}")
            return proc.stdout
        finally:
            with admin.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS `{db}`")
                for h in user_hosts:
                    cur.execute(f"DROP USER IF EXISTS '{user}'@'{h}'")
    finally:
        admin.close()


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------


def _read(path: Path) -> str | None:
    return path.read_text(encoding="utf-8") if path.exists() else None


def _rel(path: Path) -> Path:
    try:
        return path.relative_to(REPO)
    except ValueError:
        return path


def _diff(path: Path, committed: str | None, generated: str) -> str:
    rel = _rel(path)
    return "".join(
        difflib.unified_diff(
            (committed or "").splitlines(keepends=True),
            generated.splitlines(keepends=True),
            fromfile=f"{rel} (committed)",
            tofile=f"{rel} (zenml {ZENML_VERSION})",
        )
    )


def main(argv: list[str]) -> int:
    if argv[:1] == ["_init-store"]:
        _child_init_store(argv[1])
        return 0

    parser = argparse.ArgumentParser(
        description="Regenerate or check crates/zenpro-store/schema/* from zenml==0.98.0."
    )
    parser.add_argument("mode", nargs="?", choices=("check", "regen"), default="check")
    parser.add_argument(
        "--schema-dir",
        type=Path,
        default=SCHEMA_DIR,
        help=f"directory holding the committed files (default: {SCHEMA_DIR.relative_to(REPO)})",
    )
    parser.add_argument(
        "--mysql",
        metavar="URL",
        help="also do mysql.sql, using this admin account (e.g. mysql://root@127.0.0.1:3306)",
    )
    args = parser.parse_args(argv)
    schema_dir = args.schema_dir.resolve()

    try:
        installed = importlib.metadata.version("zenml")
    except importlib.metadata.PackageNotFoundError:
        installed = None
    if installed != ZENML_VERSION:
        print(
            f"error: needs zenml[server]=={ZENML_VERSION} in this interpreter "
            f"({sys.executable}), found {installed}",
            file=sys.stderr,
        )
        return 2

    outputs: list[tuple[Path, str | None, str]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="zenpro-schema-") as tmp:
            tmp_path = Path(tmp)
            db = tmp_path / "sqlite" / "zenml.db"
            db.parent.mkdir()
            create_zenml_db(f"sqlite:///{db}", tmp_path / "sqlite")

            sqlite_file = schema_dir / SQLITE_NAME
            committed = _read(sqlite_file)
            outputs.append((sqlite_file, committed, render_sqlite(dump_sqlite_schema(db), committed)))
            flavors_file = schema_dir / FLAVORS_NAME
            committed = _read(flavors_file)
            outputs.append((flavors_file, committed, dump_flavors(db, committed)))

            if args.mysql:
                mysql_file = schema_dir / MYSQL_NAME
                committed = _read(mysql_file)
                dump = dump_mysql(args.mysql, tmp_path / "mysql")
                outputs.append((mysql_file, committed, render_mysql(dump, committed)))
    except SchemaError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    changed = 0
    for path, committed, generated in outputs:
        rel = _rel(path)
        if committed == generated:
            print(f"{rel}: up to date")
            continue
        changed += 1
        if args.mode == "regen":
            path.write_text(generated, encoding="utf-8")
            print(f"{rel}: rewritten")
        else:
            sys.stdout.write(_diff(path, committed, generated))
            print(f"{rel}: DIFFERS from what zenml {ZENML_VERSION} produces")
    if not args.mysql:
        print(f"{_rel(schema_dir / MYSQL_NAME)}: skipped (pass --mysql URL to include it)")
    if args.mode == "check" and changed:
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except Exception:  # exit 1 means "differs"; anything unexpected is 2
        import traceback

        traceback.print_exc()
        sys.exit(2)
