//! The one list engine. Every list endpoint declares its filterable fields ([`Field`]) and
//! sortable columns in a [`ListSpec`]; requests arrive as checked [`ListParams`]; this module
//! turns them into one count query and one page query. Column names only ever come from the
//! static declarations, never from request text, and values are always bound.

use zenpro_types::filter::{self, Direction, Filter, Kind, Logical, Op};
use zenpro_types::{Error, Page};

use crate::db::{Backend, Db, DbRow, Query, Value, map_err};

/// Default and maximum page size (`ZENML_PAGINATION_DEFAULT_LIMIT`).
pub const DEFAULT_SIZE: u64 = 20;
pub const MAX_SIZE: u64 = 10_000;

/// How a filter on a field becomes SQL.
#[derive(Clone, Copy)]
pub enum FieldSql {
    /// A column (or column expression) of the listed table.
    Column(&'static str),
    /// `<column> IN (SELECT id FROM <table> WHERE <cond on name/id...>)`: filter on a related
    /// entity by its name, full name or id (ZenML's `user=...`, `project=...` filters).
    Related { column: &'static str, table: &'static str, match_columns: &'static [&'static str] },
    /// Resolved by the resource itself (e.g. a scope argument); the engine ignores it.
    Custom,
}

/// A filterable field.
#[derive(Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub kind: Kind,
    pub sql: FieldSql,
    /// Whether `sort_by` may name it.
    pub sortable: bool,
}

impl Field {
    pub const fn col(name: &'static str, kind: Kind, column: &'static str) -> Field {
        Field { name, kind, sql: FieldSql::Column(column), sortable: true }
    }
    pub const fn related(
        name: &'static str,
        column: &'static str,
        table: &'static str,
        match_columns: &'static [&'static str],
    ) -> Field {
        Field { name, kind: Kind::Str, sql: FieldSql::Related { column, table, match_columns }, sortable: false }
    }
    pub const fn custom(name: &'static str, kind: Kind) -> Field {
        Field { name, kind, sql: FieldSql::Custom, sortable: false }
    }
}

/// What a list endpoint lists.
pub struct ListSpec {
    /// `FROM` target, e.g. `` `user` ``.
    pub from: &'static str,
    /// The id column, used as the sort tiebreaker.
    pub id: &'static str,
    /// Columns to select for the page.
    pub select: &'static str,
    pub fields: &'static [Field],
}

impl ListSpec {
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// Checked list parameters.
#[derive(Debug, Clone)]
pub struct ListParams {
    pub filters: Vec<Filter>,
    pub logical: Logical,
    pub sort_field: String,
    pub sort_dir: Direction,
    pub page: u64,
    pub size: u64,
    pub hydrate: bool,
    /// Pro-mode RBAC: list only these rows (see [`Restriction`]); `None` lists everything.
    pub restrict: Option<std::sync::Arc<Restriction>>,
}

/// The rows a caller may list when the control plane grants no full access
/// (`allowed_resource_ids`): the allowed ids plus every row the caller owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restriction {
    pub ids: Vec<uuid::Uuid>,
    pub owner: uuid::Uuid,
    /// Column of the listed table the ids are matched against: `id`, or a parent's id column
    /// (`pipeline_run_id` for steps, `artifact_id` for artifact versions); static, never from
    /// request text.
    pub column: &'static str,
}

impl Default for ListParams {
    fn default() -> Self {
        ListParams {
            filters: Vec::new(),
            logical: Logical::And,
            sort_field: "created".into(),
            sort_dir: Direction::Asc,
            page: 1,
            size: DEFAULT_SIZE,
            hydrate: false,
            restrict: None,
        }
    }
}

/// Query keys every list endpoint understands besides its fields.
pub const RESERVED_KEYS: &[&str] = &["sort_by", "logical_operator", "page", "size", "hydrate"];

fn parse_u64(key: &str, v: &str) -> Result<u64, Error> {
    v.trim().parse().map_err(|_| Error::validation(format!("Query parameter '{key}' must be an integer, got '{v}'.")))
}

/// Parse a Python-style boolean query value (`True`, `false`, `1`...).
pub fn parse_bool_param(key: &str, v: &str) -> Result<bool, Error> {
    match v.trim() {
        "1" | "y" | "yes" | "true" | "True" | "TRUE" | "on" => Ok(true),
        "0" | "n" | "no" | "false" | "False" | "FALSE" | "off" => Ok(false),
        _ => Err(Error::validation(format!("Query parameter '{key}' must be a boolean, got '{v}'."))),
    }
}

impl ListParams {
    /// Parse the query pairs of a list request against a spec. Keys that are neither reserved
    /// nor fields are ignored, as FastAPI ignores undeclared query parameters.
    pub fn parse(pairs: &[(String, String)], spec: &ListSpec) -> Result<ListParams, Error> {
        let mut p = ListParams::default();
        for (k, v) in pairs {
            match k.as_str() {
                "sort_by" => {
                    let (field, dir) = filter::parse_sort(v);
                    let ok = field == "created" || field == "updated" || spec.field(&field).is_some_and(|f| f.sortable);
                    if RESERVED_KEYS.contains(&field.as_str()) {
                        return Err(Error::invalid_filter(format!(
                            "This resource can not be sorted by this field: '{field}'"
                        )));
                    }
                    if !ok {
                        return Err(Error::invalid_filter(format!(
                            "Invalid sort field '{field}': you can only sort by valid fields of this resource."
                        )));
                    }
                    p.sort_field = field;
                    p.sort_dir = dir;
                }
                "logical_operator" => {
                    p.logical = match v.as_str() {
                        "and" => Logical::And,
                        "or" => Logical::Or,
                        _ => {
                            return Err(Error::validation(format!(
                                "Invalid logical_operator '{v}': use 'and' or 'or'."
                            )));
                        }
                    }
                }
                "page" => {
                    p.page = parse_u64(k, v)?;
                    if p.page < 1 {
                        return Err(Error::validation("Query parameter 'page' must be at least 1."));
                    }
                }
                "size" => {
                    p.size = parse_u64(k, v)?;
                    if !(1..=MAX_SIZE).contains(&p.size) {
                        return Err(Error::validation(format!(
                            "Query parameter 'size' must be between 1 and {MAX_SIZE}."
                        )));
                    }
                }
                "hydrate" => p.hydrate = parse_bool_param(k, v)?,
                _ => {
                    if let Some(field) = spec.field(k) {
                        p.filters.push(filter::parse(field.name, field.kind, v)?);
                    }
                }
            }
        }
        Ok(p)
    }

    /// Filters on one field (for resource-specific handling of [`FieldSql::Custom`]).
    pub fn take(&mut self, field: &str) -> Vec<Filter> {
        let (taken, rest) = self.filters.drain(..).partition(|f| f.field == field);
        self.filters = rest;
        taken
    }
}

fn value_of(v: &filter::Value) -> Value {
    match v {
        filter::Value::Str(s) => Value::Str(s.clone()),
        filter::Value::Int(i) => Value::Int(*i),
        filter::Value::Float(f) => Value::Float(*f),
        filter::Value::Bool(b) => Value::Bool(*b),
        filter::Value::Datetime(d) => (*d).into(),
        _ => Value::Null,
    }
}

/// Append the SQL condition of one filter on `col`.
pub fn condition(q: &mut Query, backend: Backend, col: &str, kind: Kind, f: &Filter) {
    use filter::Value as V;
    match (&f.op, &f.value) {
        (Op::Equals, V::Never) => q.push_sql("1 = 0"),
        (Op::NotEquals, V::Never) => q.push_sql("1 = 1"),
        (Op::IsNull, _) => q.push_sql(&format!("{col} IS NULL")),
        (Op::IsNotNull, _) => q.push_sql(&format!("{col} IS NOT NULL")),
        (Op::OneOf | Op::NotOneOf, V::List(items)) => {
            let neg = f.op == Op::NotOneOf;
            if items.is_empty() {
                q.push_sql(if neg { "1 = 1" } else { "1 = 0" });
            } else {
                let marks = vec!["?"; items.len()].join(", ");
                q.push_sql(&format!("{col} {}IN ({marks})", if neg { "NOT " } else { "" }));
                for i in items {
                    q.push_param(i.as_str());
                }
            }
        }
        (Op::In, V::Range(lo, hi)) => {
            q.push_sql(&format!("{col} BETWEEN ? AND ?"));
            q.push_param(*lo);
            q.push_param(*hi);
        }
        (Op::Contains | Op::NotContains | Op::StartsWith | Op::EndsWith, V::Str(s)) => {
            let pattern = match f.op {
                Op::StartsWith => format!("{s}%"),
                Op::EndsWith => format!("%{s}"),
                _ => format!("%{s}%"),
            };
            let not = if f.op == Op::NotContains { "NOT " } else { "" };
            q.push_sql(&format!("{col} {not}LIKE ?"));
            q.push_param(pattern);
        }
        (op, v) => {
            let sym = match op {
                Op::NotEquals => "!=",
                Op::Gt => ">",
                Op::Gte => ">=",
                Op::Lt => "<",
                Op::Lte => "<=",
                _ => "=",
            };
            let lhs = if kind == Kind::Str && matches!(op, Op::Gt | Op::Gte | Op::Lt | Op::Lte) {
                backend.cast_float(col)
            } else {
                col.to_string()
            };
            q.push_sql(&format!("{lhs} {sym} ?"));
            q.push_param(value_of(v));
        }
    }
}

fn filter_condition(q: &mut Query, backend: Backend, spec: &ListSpec, f: &Filter) -> bool {
    let Some(field) = spec.field(&f.field) else { return false };
    match field.sql {
        FieldSql::Column(col) => {
            condition(q, backend, col, field.kind, f);
            true
        }
        FieldSql::Related { column, table, match_columns } => {
            q.push_sql(&format!("{column} IN (SELECT `id` FROM {table} WHERE "));
            let mut first = true;
            for m in match_columns {
                if !first {
                    q.push_sql(" OR ");
                }
                first = false;
                let kind = if *m == "id" { Kind::Uuid } else { Kind::Str };
                // The value was parsed as text (it may be a name): make it a UUID filter for
                // the id column, as the reference's UUIDFilter does (dashes removed, lists
                // included; `equals`/`notequals` of a non-UUID match nothing/everything).
                let sub = if kind == Kind::Uuid {
                    let value = match &f.value {
                        filter::Value::Str(s) => match (filter::uuid_hex(s), f.op) {
                            (Some(h), _) => filter::Value::Str(h),
                            (None, Op::Equals | Op::NotEquals) => filter::Value::Never,
                            (None, _) => filter::Value::Str(s.replace('-', "").to_lowercase()),
                        },
                        filter::Value::List(items) => filter::Value::List(
                            items
                                .iter()
                                .map(|s| filter::uuid_hex(s).unwrap_or_else(|| s.replace('-', "").to_lowercase()))
                                .collect(),
                        ),
                        other => other.clone(),
                    };
                    Filter { field: f.field.clone(), op: f.op, value }
                } else {
                    f.clone()
                };
                condition(q, backend, &format!("`{m}`"), kind, &sub);
            }
            q.push_sql(")");
            true
        }
        FieldSql::Custom => false,
    }
}

/// A `WHERE` clause under construction: conditions that always apply (scope) are ANDed; the
/// request's filters are combined with the request's logical operator.
#[derive(Default)]
pub struct Where {
    fixed: Vec<Query>,
}

impl Where {
    pub fn new() -> Self {
        Where::default()
    }
    /// Add a condition that always applies.
    pub fn and(&mut self, q: Query) -> &mut Self {
        self.fixed.push(q);
        self
    }

    fn render(&self, backend: Backend, spec: &ListSpec, params: &ListParams) -> Query {
        let mut out = Query::default();
        let mut parts: Vec<Query> = self.fixed.clone();
        let mut filt = Query::default();
        let joiner = if params.logical == Logical::Or { " OR " } else { " AND " };
        let mut n = 0;
        for f in &params.filters {
            let mut c = Query::default();
            if filter_condition(&mut c, backend, spec, f) {
                if n > 0 {
                    filt.push_sql(joiner);
                }
                filt.push_sql("(");
                filt.push_sql(&c.sql);
                filt.push_sql(")");
                filt.params.extend(c.params);
                n += 1;
            }
        }
        if n > 0 {
            parts.push(Query { sql: format!("({})", filt.sql), params: filt.params });
        }
        if let Some(r) = &params.restrict {
            // `<table>`.`<column>` IN (...) OR, for tables with an owner, rows without an owner
            // (server-owned) or owned by the caller (`generate_rbac_filter`).
            let table = spec.id.strip_suffix(".`id`");
            let column = match (r.column, table) {
                ("id", _) => spec.id.to_string(),
                (col, Some(t)) => format!("{t}.`{col}`"),
                (col, None) => format!("`{col}`"),
            };
            let mut c = Query::default();
            if r.ids.is_empty() {
                c.push_sql("(1 = 0");
            } else {
                c.push_sql(&format!("({column} IN ({})", vec!["?"; r.ids.len()].join(", ")));
                for id in &r.ids {
                    c.push_param(*id);
                }
            }
            if let Some(table) = table.filter(|t| *t != "`user`") {
                c.push_sql(&format!(" OR {table}.`user_id` IS NULL OR {table}.`user_id` = ?"));
                c.push_param(r.owner);
            }
            c.push_sql(")");
            parts.push(c);
        }
        if !parts.is_empty() {
            out.push_sql(" WHERE ");
            for (i, p) in parts.into_iter().enumerate() {
                if i > 0 {
                    out.push_sql(" AND ");
                }
                out.push_sql(&p.sql);
                out.params.extend(p.params);
            }
        }
        out
    }
}

/// Run a list: one count query and one page query.
pub async fn list<T: DbRow>(db: &Db, spec: &ListSpec, params: &ListParams, wh: &Where) -> Result<Page<T>, Error> {
    let backend = db.backend();
    let cond = wh.render(backend, spec, params);
    let mut count = Query::new(format!("SELECT count(*) FROM {}", spec.from));
    count.push_sql(&cond.sql);
    count.params.extend(cond.params.iter().cloned());
    let total = db.clone().fetch_i64(count).await.map_err(|e| map_err(e, ""))? as u64;
    let total_pages = if total == 0 { 1 } else { total.div_ceil(params.size) };
    if params.page > total_pages {
        return Err(Error::bad_request(format!(
            "Invalid page {}. The requested page size is {} and there are a total of {} items \
             for this query. The maximum page value therefore is {}.",
            params.page, params.size, total, total_pages
        )));
    }
    let sort_col = match spec.field(&params.sort_field).map(|f| f.sql) {
        Some(FieldSql::Column(c)) => c.to_string(),
        _ => format!("`{}`", params.sort_field),
    };
    let dir = if params.sort_dir == Direction::Desc { "DESC" } else { "ASC" };
    let mut page = Query::new(format!("SELECT {} FROM {}", spec.select, spec.from));
    page.push_sql(&cond.sql);
    page.params.extend(cond.params);
    page.push_sql(&format!(" ORDER BY {sort_col} {dir}, {} {dir} LIMIT ? OFFSET ?", spec.id));
    page.push_param(params.size as i64);
    page.push_param(((params.page - 1) * params.size) as i64);
    let items = db.clone().fetch_all::<T>(page).await.map_err(|e| map_err(e, ""))?;
    Ok(Page { index: params.page, max_size: params.size, total_pages, total, items })
}
