//! Trust settings of every outgoing HTTPS call (Vault, AWS STS, the control plane, the admin CLI,
//! the dashboard's calls to a workspace API).
//!
//! reqwest is built with rustls (aws-lc-rs provider) and `rustls-platform-verifier`: the system
//! store (on Linux `/etc/ssl/certs/ca-certificates.crt` and friends, or `SSL_CERT_FILE` /
//! `SSL_CERT_DIR`) is always trusted. An operator can add a PEM bundle with the variables the
//! Python server's HTTP stack (requests/hvac) honours:
//!
//! - every client: `REQUESTS_CA_BUNDLE`, else `CURL_CA_BUNDLE` (a file or a directory of PEM files);
//! - the Vault client: `VAULT_CACERT` (file), else `VAULT_CAPATH` (directory), else the above —
//!   hvac passes them as `verify=`, which wins over `REQUESTS_CA_BUNDLE`.
//!
//! Unlike requests (where such a bundle *replaces* the default roots) the bundle is added to the
//! system store, so anything the Python server trusts is trusted here too. `VAULT_SKIP_VERIFY` is
//! not honoured (hvac ignores it as well): certificate checks cannot be turned off.

use std::collections::HashMap;
use std::path::Path;

/// Extra CA certificates trusted next to the system store, and where they came from.
#[derive(Clone, Default)]
pub struct CaBundle {
    /// `VAR=path` the certificates were read from (for messages); `None` = system store only.
    source: Option<String>,
    certs: Vec<reqwest::Certificate>,
}

impl std::fmt::Debug for CaBundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaBundle").field("source", &self.source).field("certificates", &self.certs.len()).finish()
    }
}

/// Read the PEM certificates of a file, or of every regular file in a directory.
fn read_pem(var: &str, path: &str) -> Result<Vec<reqwest::Certificate>, String> {
    let p = Path::new(path);
    let files = if p.is_dir() {
        let mut files: Vec<_> = std::fs::read_dir(p)
            .map_err(|e| format!("{var}={path:?} cannot be read: {e}"))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|f| f.is_file())
            .collect();
        files.sort();
        files
    } else {
        vec![p.to_path_buf()]
    };
    let mut certs = Vec::new();
    for f in &files {
        let bytes = std::fs::read(f).map_err(|e| format!("{var}={path:?}: {} cannot be read: {e}", f.display()))?;
        // In a directory (c_rehash style) other files may sit next to the certificates.
        match reqwest::Certificate::from_pem_bundle(&bytes) {
            Ok(c) => certs.extend(c),
            Err(e) if !p.is_dir() => return Err(format!("{var}={path:?} is not a PEM certificate bundle: {e}")),
            Err(_) => {}
        }
    }
    if certs.is_empty() {
        return Err(format!("{var}={path:?} holds no PEM certificate"));
    }
    Ok(certs)
}

impl CaBundle {
    /// The first of `vars` that is set and not empty, read; none set = system store only.
    fn first_of(env: &HashMap<String, String>, vars: &[&str]) -> Result<CaBundle, String> {
        for var in vars {
            if let Some(path) = env.get(*var).filter(|v| !v.is_empty()) {
                let certs = read_pem(var, path)?;
                return Ok(CaBundle { source: Some(format!("{var}={path}")), certs });
            }
        }
        Ok(CaBundle::default())
    }

    /// `REQUESTS_CA_BUNDLE`, else `CURL_CA_BUNDLE` (requests' order).
    pub fn from_requests_env(env: &HashMap<String, String>) -> Result<CaBundle, String> {
        Self::first_of(env, &["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
    }

    /// The Vault client's: `VAULT_CACERT`, else `VAULT_CAPATH`, else [`Self::from_requests_env`].
    pub fn from_vault_env(env: &HashMap<String, String>) -> Result<CaBundle, String> {
        Self::first_of(env, &["VAULT_CACERT", "VAULT_CAPATH", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
    }

    /// [`Self::from_requests_env`] of this process (for the admin CLI).
    pub fn from_process_env() -> Result<CaBundle, String> {
        Self::from_requests_env(&std::env::vars().collect())
    }

    /// `VAR=path` of the extra certificates, if any.
    pub fn source(&self) -> Option<&str> {
        self.source.as_deref()
    }
}

/// A reqwest client builder that trusts the system store plus `ca`. Every client this code
/// builds starts here, so all outgoing calls share the same trust settings.
pub fn client_builder(ca: &CaBundle) -> reqwest::ClientBuilder {
    reqwest::Client::builder().tls_certs_merge(ca.certs.iter().cloned())
}

/// Whether a transport error (or one of its causes) is a TLS certificate failure; such an error
/// names the certificate in its message so the operator sees which trust setting to fix.
pub fn is_certificate_error(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if err.to_string().to_ascii_lowercase().contains("certificate") {
            return true;
        }
        cur = err.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    // A self-signed test CA (openssl req -x509 -newkey ec, P-256); its key was thrown away.
    const CA_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBhzCCAS2gAwIBAgIUXSHP3Xyr2VchGk2cM5DEDCV88R4wCgYIKoZIzj0EAwIw
GTEXMBUGA1UEAwwOemVucHJvLXRlc3QtY2EwHhcNMjYxMTI2MTkwMzAxWhcNMzYx
MTIzMTkwMzAxWjAZMRcwFQYDVQQDDA56ZW5wcm8tdGVzdC1jYTBZMBMGByqGSM49
AgEGCCqGSM49AwEHA0IABHLoHX7OxAYAoa0DQa1QG+7MoPJc1h24KL0w2Jrom7Z5
DCYpGEg33KEWXxK97yKH9MLnVhLc46fv8QFja2wF31yjUzBRMB0GA1UdDgQWBBQx
Kjwdx6kjoFmcX53EVu04K5e39jAfBgNVHSMEGDAWgBQxKjwdx6kjoFmcX53EVu04
K5e39jAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0gAMEUCIGr5rqL+b7S3
KhySJNNe+/WIJt3hIM8eBhLtm1USPDv5AiEA4EmGt8lHq/tO27H6oSduRp+0Ytun
Z7JdlEetqVs1Rys=
-----END CERTIFICATE-----
";

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn nothing_set_is_the_system_store_only() {
        let b = CaBundle::from_vault_env(&env(&[("REQUESTS_CA_BUNDLE", "")])).unwrap();
        assert!(b.source().is_none());
        assert!(client_builder(&b).build().is_ok());
    }

    #[test]
    fn bad_bundles_name_the_variable() {
        let e = CaBundle::from_requests_env(&env(&[("REQUESTS_CA_BUNDLE", "/nonexistent/ca.pem")])).unwrap_err();
        assert!(e.contains("REQUESTS_CA_BUNDLE") && e.contains("cannot be read"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("empty.pem");
        std::fs::write(&f, "not a certificate").unwrap();
        let e = CaBundle::from_vault_env(&env(&[("VAULT_CACERT", f.to_str().unwrap())])).unwrap_err();
        assert!(e.contains("VAULT_CACERT") && e.contains("no PEM certificate"), "{e}");
    }

    #[test]
    fn vault_variables_win_over_requests_ones_and_directories_load() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, CA_PEM).unwrap();
        std::fs::write(dir.path().join("README"), "not a certificate").unwrap();
        let ca = ca.to_str().unwrap();
        let d = dir.path().to_str().unwrap();
        let b =
            CaBundle::from_vault_env(&env(&[("VAULT_CACERT", ca), ("REQUESTS_CA_BUNDLE", "/nonexistent")])).unwrap();
        assert_eq!(b.source(), Some(format!("VAULT_CACERT={ca}").as_str()));
        assert_eq!(b.certs.len(), 1);
        let b = CaBundle::from_vault_env(&env(&[("VAULT_CAPATH", d), ("CURL_CA_BUNDLE", "/nonexistent")])).unwrap();
        assert_eq!(b.source(), Some(format!("VAULT_CAPATH={d}").as_str()));
        assert_eq!(b.certs.len(), 1);
        let b = CaBundle::from_requests_env(&env(&[("VAULT_CACERT", "/nonexistent"), ("CURL_CA_BUNDLE", ca)])).unwrap();
        assert_eq!(b.source(), Some(format!("CURL_CA_BUNDLE={ca}").as_str()));
        assert!(client_builder(&b).build().is_ok());
    }
}
