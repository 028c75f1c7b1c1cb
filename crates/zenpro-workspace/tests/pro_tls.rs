//! Pro mode against a control plane served over https (issue 6): the workspace enrolls and calls
//! it through a TLS-terminating proxy when the proxy's CA is given in `REQUESTS_CA_BUNDLE`, and
//! refuses to start, naming the certificate, when it is not trusted.
//!
//! Our real control plane runs in-process (`pro_support::Cp`, plain http); a local proxy
//! (tokio-rustls, a fixed test CA and a leaf for 127.0.0.1, valid until 2126) terminates TLS in
//! front of it.

mod pro_support;

use std::net::SocketAddr;
use std::sync::Arc;

use pro_support::*;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Test-only CA (openssl, P-256) that signed [`LEAF_PEM`]; its key is not kept.
const CA_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBqjCCAU+gAwIBAgIUbktivq87rTXil9VSjBkat0obxn0wCgYIKoZIzj0EAwIw
ITEfMB0GA1UEAwwWemVucHJvLXByby10bHMtdGVzdC1jYTAgFw0yNjExMjYxOTE5
MzRaGA8yMTI2MTEwMjE5MTkzNFowITEfMB0GA1UEAwwWemVucHJvLXByby10bHMt
dGVzdC1jYTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABFF6KSfGs9nNZ0g4WNkj
YQCXQVuncyMOEwjUpTTY3vwbzf3EecymHYyDtcYNjmgcFo8utXOE2sYVla7VuPoF
vOmjYzBhMB0GA1UdDgQWBBQOd1y/QIfpIGVvuHU1a4P1VTopojAfBgNVHSMEGDAW
gBQOd1y/QIfpIGVvuHU1a4P1VTopojAPBgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB
/wQEAwICBDAKBggqhkjOPQQDAgNJADBGAiEA8Az+1kIipDVe45823DtwDE3EvctY
efudXACvZUrs49oCIQDAgzD4pW/MTj6EICX/Ki8L2PsUPxDKcW7DDEDnjFDMmw==
-----END CERTIFICATE-----
";
/// Test-only server certificate: CN/SAN 127.0.0.1 and localhost, serverAuth.
const LEAF_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBxTCCAWygAwIBAgIUayhZe88c251eM1k8Xr6ELUXwQuQwCgYIKoZIzj0EAwIw
ITEfMB0GA1UEAwwWemVucHJvLXByby10bHMtdGVzdC1jYTAgFw0yNjExMjYxOTE5
MzRaGA8yMTI2MTEwMjE5MTkzNFowFDESMBAGA1UEAwwJMTI3LjAuMC4xMFkwEwYH
KoZIzj0CAQYIKoZIzj0DAQcDQgAETUV/GCKJDT7NkcWLx4lxuMcqqXchx0pWamA8
kxGT1AEnoykhh25htZ0sv8NJoU4JJcrF3boHVPxNU1BOMYMOTaOBjDCBiTAaBgNV
HREEEzARhwR/AAABgglsb2NhbGhvc3QwCQYDVR0TBAIwADATBgNVHSUEDDAKBggr
BgEFBQcDATALBgNVHQ8EBAMCB4AwHQYDVR0OBBYEFAgkzYpWFtcKtD4FXm3m8As6
p13gMB8GA1UdIwQYMBaAFA53XL9Ah+kgZW+4dTVrg/VVOimiMAoGCCqGSM49BAMC
A0cAMEQCICi+ns60UB4ycEUs52ast0zWyOBwdfulMvHZ5kcX998/AiBxJDJJnwGs
mkXLSyFAioCwCOAzev8ZvQOFohwo/ZYJUA==
-----END CERTIFICATE-----
";
/// Test-only private key of [`LEAF_PEM`] (PKCS#8); it protects nothing but this test.
const LEAF_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgUaTuvdNkk3NxQrz7
F7WY8KICF7xqdS4oQOChPQ2G28GhRANCAARNRX8YIokNPs2RxYvHiXG4xyqpdyHH
SlZqYDyTEZPUASejKSGHbmG1nSy/w0mhTgklysXdugdU/E1TUE4xgw5N
-----END PRIVATE KEY-----
";

/// A TLS proxy on 127.0.0.1 in front of `target`; returns its address.
async fn tls_proxy(target: SocketAddr) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let certs = vec![CertificateDer::from_pem_slice(LEAF_PEM.as_bytes()).unwrap()];
    let key = PrivateKeyDer::from_pem_slice(LEAF_KEY.as_bytes()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        loop {
            let Ok((down, _)) = listener.accept().await else { continue };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A client that does not trust the certificate aborts the handshake here.
                let Ok(mut tls) = acceptor.accept(down).await else { return };
                if let Ok(mut up) = TcpStream::connect(target).await {
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut up).await;
                }
            });
        }
    });
    (addr, task)
}

/// The control plane, a TLS proxy in front of it, and its https API URL.
async fn setup() -> (Cp, Enrolled, String, tokio::task::JoinHandle<()>) {
    let cp = Cp::start().await;
    let e = enroll(&cp).await;
    let url = reqwest::Url::parse(&cp.api).unwrap();
    let target: SocketAddr = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap()).parse().unwrap();
    let (proxy, task) = tls_proxy(target).await;
    let https = cp.api.replacen(&format!("http://{target}"), &format!("https://{proxy}"), 1);
    assert!(https.starts_with("https://"), "{https}");
    (cp, e, https, task)
}

#[tokio::test]
async fn pro_workspace_enrolls_with_an_https_control_plane_trusted_through_requests_ca_bundle() {
    let (cp, e, https, proxy) = setup().await;
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("cp-ca.pem");
    std::fs::write(&ca, CA_PEM).unwrap();
    let ws = workspace(
        &cp,
        &e,
        &dir,
        &[
            ("ZENML_SERVER_PRO_API_URL", &https),
            ("REQUESTS_CA_BUNDLE", ca.to_str().unwrap()),
            ("ZENPRO_PRO_HEARTBEAT_SECONDS", "3600"),
        ],
    )
    .await
    .expect("the workspace enrolls over https");
    // Login and PATCH /workspace_status went through the TLS proxy; the control plane saw them.
    assert!(ws.pro().unwrap().client.calls() >= 2);
    let row = cp.workspace_row(&e.ws_id).await;
    assert_eq!(row.status, "available", "{row:?}");
    proxy.abort();
}

#[tokio::test]
async fn pro_workspace_refuses_an_untrusted_control_plane_certificate() {
    let (cp, e, https, proxy) = setup().await;
    let dir = tempfile::tempdir().unwrap();
    let Err(err) = workspace(&cp, &e, &dir, &[("ZENML_SERVER_PRO_API_URL", &https)]).await else {
        panic!("the workspace started although the system store does not hold the test CA");
    };
    let msg = err.to_string();
    assert!(msg.contains("certificate") && msg.contains("REQUESTS_CA_BUNDLE"), "{msg}");
    proxy.abort();
}
