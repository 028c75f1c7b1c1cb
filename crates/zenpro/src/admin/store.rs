//! Login tokens on disk: `<config dir>/zenpro/admin.json`, mode 0600, one entry per
//! control-plane URL:
//! `{"servers": {"<base url>": {"token", "username", "expires_at" (unix seconds)}}}`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use super::Failure;

/// `$XDG_CONFIG_HOME/zenpro/admin.json`, else `$HOME/.config/zenpro/admin.json`.
pub fn default_path(xdg_config_home: Option<PathBuf>, home: Option<PathBuf>) -> Option<PathBuf> {
    let config = match xdg_config_home {
        // The XDG spec: a relative value is invalid and ignored.
        Some(dir) if dir.is_absolute() => dir,
        _ => home.filter(|h| !h.as_os_str().is_empty())?.join(".config"),
    };
    Some(config.join("zenpro").join("admin.json"))
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn read(path: &Path) -> Result<Map<String, Value>, Failure> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Map::new()),
        Err(e) => return Err(Failure::Failed(format!("cannot read {}: {e}", path.display()))),
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(Failure::Failed(format!(
            "{} is not a zenpro admin token file; remove it and log in again",
            path.display()
        ))),
    }
}

/// The stored token for `base`, if there is one that has not expired.
pub fn token_for(path: &Path, base: &str) -> Result<Option<String>, Failure> {
    let file = read(path)?;
    let Some(entry) = file.get("servers").and_then(|s| s.get(base)) else {
        return Ok(None);
    };
    if let Some(expires_at) = entry.get("expires_at").and_then(Value::as_u64)
        && expires_at <= now()
    {
        return Err(Failure::Failed(format!(
            "the login for {base} has expired: run `zenpro admin --url {base} login` again"
        )));
    }
    Ok(entry.get("token").and_then(Value::as_str).map(str::to_string))
}

/// Stores `token` for `base` (other URLs' entries are kept). The file is written to a
/// temporary file created with mode 0600 and renamed over the old one.
pub fn save(path: &Path, base: &str, token: &str, username: &str, expires_in: Option<u64>) -> Result<(), Failure> {
    let fail = |what: &str, e: std::io::Error| Failure::Failed(format!("cannot {what} {}: {e}", path.display()));
    let mut file = read(path)?;
    let servers = file.entry("servers").or_insert_with(|| Value::Object(Map::new()));
    if !servers.is_object() {
        *servers = Value::Object(Map::new());
    }
    let mut entry = json!({"token": token, "username": username});
    if let Some(seconds) = expires_in {
        entry["expires_at"] = json!(now().saturating_add(seconds));
    }
    servers.as_object_mut().expect("made an object above").insert(base.to_string(), entry);

    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|e| fail("create the directory of", e))?;

    let tmp = path.with_extension(format!("json.tmp{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let result = (|| {
        let mut out = options.open(&tmp)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            out.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        let text = serde_json::to_string_pretty(&Value::Object(file)).expect("JSON values serialise");
        out.write_all(text.as_bytes())?;
        out.write_all(b"\n")?;
        out.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(fail("write", e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_follows_xdg_then_home() {
        assert_eq!(
            default_path(Some("/x/cfg".into()), Some("/home/a".into())),
            Some(PathBuf::from("/x/cfg/zenpro/admin.json"))
        );
        assert_eq!(
            default_path(Some("relative".into()), Some("/home/a".into())),
            Some(PathBuf::from("/home/a/.config/zenpro/admin.json"))
        );
        assert_eq!(
            default_path(None, Some("/home/a".into())),
            Some(PathBuf::from("/home/a/.config/zenpro/admin.json"))
        );
        assert_eq!(default_path(None, None), None);
    }

    #[test]
    fn tokens_are_kept_per_url_in_a_private_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("cfg").join("zenpro").join("admin.json");
        assert_eq!(token_for(&path, "http://a"), Ok(None));
        save(&path, "http://a", "tok-a", "admin", Some(3600)).expect("save a");
        save(&path, "http://b", "tok-b", "bob", None).expect("save b");
        assert_eq!(token_for(&path, "http://a"), Ok(Some("tok-a".to_string())));
        assert_eq!(token_for(&path, "http://b"), Ok(Some("tok-b".to_string())));
        save(&path, "http://a", "tok-a2", "admin", Some(3600)).expect("replace a");
        assert_eq!(token_for(&path, "http://a"), Ok(Some("tok-a2".to_string())));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("file").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().expect("dir")).expect("dir").collect();
        assert_eq!(leftovers.len(), 1, "no temporary file left behind");
    }

    #[test]
    fn an_expired_login_says_to_log_in_again() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("admin.json");
        save(&path, "http://a", "tok", "admin", Some(0)).expect("save");
        let Err(Failure::Failed(message)) = token_for(&path, "http://a") else {
            panic!("an expired token must not be used");
        };
        assert!(message.contains("expired"), "{message}");
    }

    #[test]
    fn a_foreign_file_is_not_overwritten() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("admin.json");
        std::fs::write(&path, "not json").expect("write");
        assert!(matches!(save(&path, "http://a", "t", "u", None), Err(Failure::Failed(_))));
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "not json");
    }
}
