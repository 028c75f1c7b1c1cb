//! ZenML's query-string filter syntax (`models/v2/base/filter.py`): a value is either a plain
//! value (equals) or `<op>:<value>`, split at the first `:`; unknown prefixes mean equals of
//! the whole string. Parsing validates the operator against the field's type, so the store only
//! ever sees typed, checked filters.

use chrono::NaiveDateTime;
use uuid::Uuid;

use crate::Error;

/// Filter operators (`GenericFilterOps`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Equals,
    NotEquals,
    Contains,
    NotContains,
    StartsWith,
    EndsWith,
    OneOf,
    NotOneOf,
    IsNull,
    IsNotNull,
    Gt,
    Gte,
    Lt,
    Lte,
    In,
}

impl Op {
    fn parse(s: &str) -> Option<Op> {
        Some(match s {
            "equals" => Op::Equals,
            "notequals" => Op::NotEquals,
            "contains" => Op::Contains,
            "notcontains" => Op::NotContains,
            "startswith" => Op::StartsWith,
            "endswith" => Op::EndsWith,
            "oneof" => Op::OneOf,
            "notoneof" => Op::NotOneOf,
            "isnull" => Op::IsNull,
            "isnotnull" => Op::IsNotNull,
            "gt" => Op::Gt,
            "gte" => Op::Gte,
            "lt" => Op::Lt,
            "lte" => Op::Lte,
            "in" => Op::In,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Op::Equals => "equals",
            Op::NotEquals => "notequals",
            Op::Contains => "contains",
            Op::NotContains => "notcontains",
            Op::StartsWith => "startswith",
            Op::EndsWith => "endswith",
            Op::OneOf => "oneof",
            Op::NotOneOf => "notoneof",
            Op::IsNull => "isnull",
            Op::IsNotNull => "isnotnull",
            Op::Gt => "gt",
            Op::Gte => "gte",
            Op::Lt => "lt",
            Op::Lte => "lte",
            Op::In => "in",
        }
    }
}

/// The type of a filterable field, which decides the operators it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Str,
    Uuid,
    Int,
    Bool,
    Datetime,
}

/// A typed, validated filter value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Text (for UUID fields: 32 lowercase hex without dashes, or a hex fragment).
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Datetime(NaiveDateTime),
    List(Vec<String>),
    Range(NaiveDateTime, NaiveDateTime),
    /// `isnull` / `isnotnull`.
    None,
    /// A UUID `equals`/`notequals` value that is not a UUID: matches nothing (or everything).
    Never,
}

/// One parsed filter: `field op value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub field: String,
    pub op: Op,
    pub value: Value,
}

const DATETIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

fn parse_datetime(field: &str, s: &str) -> Result<NaiveDateTime, Error> {
    NaiveDateTime::parse_from_str(s.trim(), DATETIME_FORMAT).map_err(|_| {
        Error::invalid_filter(format!(
            "The datetime filter only works with values in the following format: {DATETIME_FORMAT} \
             (field '{field}', value '{s}')."
        ))
    })
}

fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "y" | "yes" | "true" | "True" | "TRUE" | "on" => Some(true),
        "0" | "n" | "no" | "false" | "False" | "FALSE" | "off" => Some(false),
        _ => None,
    }
}

/// Split `op:value`. An unknown prefix means equality with the whole string.
pub fn split_op(raw: &str) -> (Op, &str) {
    if let Some((prefix, rest)) = raw.split_once(':')
        && let Some(op) = Op::parse(prefix)
    {
        return (op, rest);
    }
    (Op::Equals, raw)
}

/// Normalise a UUID string to the 32-hex storage form; `None` when it is not a UUID.
pub fn uuid_hex(s: &str) -> Option<String> {
    Uuid::parse_str(s.trim()).ok().map(|u| u.simple().to_string())
}

/// Parse one query value for `field` of type `kind`.
pub fn parse(field: &str, kind: Kind, raw: &str) -> Result<Filter, Error> {
    let (op, v) = split_op(raw);
    let unsupported = || {
        Error::invalid_filter(format!(
            "Invalid filter operator '{}' for field '{field}' of type {kind:?}.",
            op.as_str()
        ))
    };
    let value = match op {
        Op::IsNull | Op::IsNotNull => {
            if !v.is_empty() {
                return Err(Error::invalid_filter(format!(
                    "The '{}' operator of field '{field}' takes no value.",
                    op.as_str()
                )));
            }
            Value::None
        }
        Op::OneOf | Op::NotOneOf => {
            if !matches!(kind, Kind::Str | Kind::Uuid) {
                return Err(unsupported());
            }
            let list: Vec<serde_json::Value> = serde_json::from_str(v).map_err(|_| {
                Error::invalid_filter(format!(
                    "When you are using the 'oneof:'/'notoneof:' filtering make sure that the provided \
                     value is a json formatted list (field '{field}'), e.g. [\"a\", \"b\"]."
                ))
            })?;
            let mut out = Vec::with_capacity(list.len());
            for item in list {
                let s = match item {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                if kind == Kind::Uuid {
                    // Non-UUID entries can never match a UUID column.
                    if let Some(h) = uuid_hex(&s) {
                        out.push(h);
                    }
                } else {
                    out.push(s);
                }
            }
            Value::List(out)
        }
        _ => match kind {
            Kind::Str => match op {
                Op::In => return Err(unsupported()),
                Op::Gt | Op::Gte | Op::Lt | Op::Lte => {
                    // The reference fails only when it builds the query: 400, not 422.
                    let f: f64 = v.trim().parse().map_err(|_| {
                        Error::bad_request(format!(
                            "Failed to compare the column '{field}' to the value '{v}' (must be numeric): \
                             could not convert string to float: '{v}'"
                        ))
                    })?;
                    Value::Float(f)
                }
                _ => Value::Str(v.to_string()),
            },
            Kind::Uuid => match op {
                Op::Equals | Op::NotEquals => match uuid_hex(v) {
                    Some(h) => Value::Str(h),
                    None => Value::Never,
                },
                Op::In | Op::Gt | Op::Gte | Op::Lt | Op::Lte => return Err(unsupported()),
                _ => Value::Str(v.replace('-', "").to_lowercase()),
            },
            Kind::Int => match op {
                Op::Equals | Op::NotEquals | Op::Gt | Op::Gte | Op::Lt | Op::Lte => Value::Int(
                    v.trim()
                        .parse()
                        .map_err(|_| Error::invalid_filter(format!("Field '{field}' needs an integer, got '{v}'.")))?,
                ),
                _ => return Err(unsupported()),
            },
            Kind::Bool => match op {
                Op::Equals | Op::NotEquals => Value::Bool(parse_bool(v.trim()).ok_or_else(|| {
                    Error::invalid_filter(format!(
                        "The bool filter only works with boolean values (field '{field}', value '{v}')."
                    ))
                })?),
                _ => return Err(unsupported()),
            },
            Kind::Datetime => match op {
                Op::Equals | Op::NotEquals | Op::Gt | Op::Gte | Op::Lt | Op::Lte => {
                    Value::Datetime(parse_datetime(field, v)?)
                }
                Op::In => {
                    let (lo, hi) = v.split_once(',').ok_or_else(|| {
                        Error::invalid_filter(format!(
                            "Two comma separated datetime values are required for the `in` operator \
                             (field '{field}')."
                        ))
                    })?;
                    Value::Range(parse_datetime(field, lo)?, parse_datetime(field, hi)?)
                }
                _ => return Err(unsupported()),
            },
        },
    };
    Ok(Filter { field: field.to_string(), op, value })
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Asc,
    Desc,
}

/// Parse `sort_by` (`field`, `asc:field`, `desc:field`). As in the reference
/// (`BaseFilter.validate_sort_by`), the value is split at the first `:` and an unknown prefix
/// only logs a warning there: the column after it is sorted ascending.
pub fn parse_sort(raw: &str) -> (String, Direction) {
    match raw.split_once(':') {
        Some(("desc", f)) => (f.to_string(), Direction::Desc),
        Some((_, f)) => (f.to_string(), Direction::Asc),
        None => (raw.to_string(), Direction::Asc),
    }
}

/// How several filters combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Logical {
    #[default]
    And,
    Or,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_value_means_equals_and_unknown_prefix_is_kept() {
        let f = parse("name", Kind::Str, "default").unwrap();
        assert_eq!((f.op, f.value), (Op::Equals, Value::Str("default".into())));
        let f = parse("name", Kind::Str, "a:b").unwrap();
        assert_eq!((f.op, f.value), (Op::Equals, Value::Str("a:b".into())));
        let f = parse("name", Kind::Str, "contains:li").unwrap();
        assert_eq!((f.op, f.value), (Op::Contains, Value::Str("li".into())));
    }

    #[test]
    fn oneof_needs_a_json_list() {
        let f = parse("name", Kind::Str, r#"oneof:["a","b"]"#).unwrap();
        assert_eq!(f.value, Value::List(vec!["a".into(), "b".into()]));
        assert!(matches!(parse("name", Kind::Str, "oneof:a,b"), Err(Error::InvalidFilter(_))));
    }

    #[test]
    fn uuid_values_are_normalised_to_hex() {
        let f = parse("id", Kind::Uuid, "e786cc9f-95c6-44f5-a908-b8be9146c68a").unwrap();
        assert_eq!(f.value, Value::Str("e786cc9f95c644f5a908b8be9146c68a".into()));
        let f = parse("id", Kind::Uuid, "startswith:E786CC9F-95").unwrap();
        assert_eq!(f.value, Value::Str("e786cc9f95".into()));
        let f = parse("id", Kind::Uuid, "not-a-uuid").unwrap();
        assert_eq!(f.value, Value::Never);
    }

    #[test]
    fn datetimes_use_the_exact_zenml_format() {
        let f = parse("created", Kind::Datetime, "gte:2024-01-01 00:00:00").unwrap();
        assert!(matches!(f.value, Value::Datetime(_)));
        assert!(parse("created", Kind::Datetime, "gte:2024-01-01T00:00:00").is_err());
        let f = parse("created", Kind::Datetime, "in:2024-01-01 00:00:00,2024-02-01 00:00:00").unwrap();
        assert!(matches!(f.value, Value::Range(..)));
    }

    #[test]
    fn operators_are_checked_against_the_type() {
        assert!(parse("active", Kind::Bool, "contains:x").is_err());
        assert!(parse("active", Kind::Bool, "maybe").is_err());
        assert_eq!(parse("active", Kind::Bool, "True").unwrap().value, Value::Bool(true));
        assert!(parse("index", Kind::Int, "startswith:1").is_err());
        assert!(parse("name", Kind::Str, "isnull:x").is_err());
        assert_eq!(parse("name", Kind::Str, "isnull:").unwrap().value, Value::None);
    }

    #[test]
    fn sort_prefixes() {
        assert_eq!(parse_sort("desc:created"), ("created".into(), Direction::Desc));
        assert_eq!(parse_sort("name"), ("name".into(), Direction::Asc));
        assert_eq!(parse_sort("sideways:name"), ("name".into(), Direction::Asc));
    }
}
