//! Timestamps as ZenML writes them: naive UTC with microseconds.

use chrono::{NaiveDateTime, Timelike, Utc};

/// Now, naive UTC, truncated to microseconds (what Python's `datetime.utcnow()` gives).
pub fn utc_now() -> NaiveDateTime {
    let now = Utc::now().naive_utc();
    now.with_nanosecond(now.nanosecond() / 1000 * 1000).unwrap_or(now)
}

/// The API form: `2026-11-26T10:30:20.516162` (Python `isoformat()`: the fraction is omitted
/// when it is zero).
pub fn api_format(t: &NaiveDateTime) -> String {
    if t.nanosecond() == 0 {
        t.format("%Y-%m-%dT%H:%M:%S").to_string()
    } else {
        t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
    }
}

/// Serde helpers for API datetimes.
pub mod serde_api {
    use chrono::NaiveDateTime;
    use serde::Serializer;

    pub fn serialize<S: Serializer>(t: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::api_format(t))
    }

    pub mod option {
        use chrono::NaiveDateTime;
        use serde::Serializer;

        pub fn serialize<S: Serializer>(t: &Option<NaiveDateTime>, s: S) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => s.serialize_str(&super::super::api_format(t)),
                None => s.serialize_none(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_format_matches_python_isoformat() {
        let t = NaiveDateTime::parse_from_str("2026-11-26 10:30:20.516162", "%Y-%m-%d %H:%M:%S%.f").unwrap();
        assert_eq!(api_format(&t), "2026-11-26T10:30:20.516162");
        let t = NaiveDateTime::parse_from_str("2026-11-26 10:30:20", "%Y-%m-%d %H:%M:%S").unwrap();
        assert_eq!(api_format(&t), "2026-11-26T10:30:20");
    }
}
