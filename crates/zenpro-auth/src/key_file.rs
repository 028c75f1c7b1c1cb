//! A signing key generated once and kept in a file (owner-only), for servers started without a
//! configured key: tokens then survive a restart. Replicas must share a configured key instead.

use std::path::Path;

use zenpro_types::Error;

/// The key stored at `path`, or a new random one written there. `var` names the setting that
/// would make the file unnecessary (for the log).
pub fn load_or_generate(path: &Path, var: &str) -> Result<Vec<u8>, Error> {
    if let Ok(existing) = std::fs::read_to_string(path) {
        let k = existing.trim().to_string();
        if !k.is_empty() {
            tracing::info!(path = %path.display(), "{var} is not set: using the key generated earlier");
            return Ok(k.into_bytes());
        }
    }
    let mut buf = [0u8; 32];
    getrandom::fill(&mut buf).map_err(|e| Error::internal(format!("no randomness: {e}")))?;
    let key: String = buf.iter().map(|b| format!("{b:02x}")).collect();
    write_private(path, &key)?;
    tracing::warn!(
        path = %path.display(),
        "{var} is not set: generated a key and stored it; set the variable for several replicas"
    );
    Ok(key.into_bytes())
}

fn write_private(path: &Path, content: &str) -> Result<(), Error> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::internal(format!("cannot create {}: {e}", dir.display())))?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(|e| Error::internal(format!("cannot write {}: {e}", path.display())))?;
    f.write_all(content.as_bytes()).map_err(|e| Error::internal(format!("cannot write {}: {e}", path.display())))
}
