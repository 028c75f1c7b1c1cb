//! AWS pieces of Vault's `aws` auth method (IAM flavour), hand-written with hmac + sha2:
//! credentials from the usual environment (static keys, or a web-identity token file and role
//! as on EKS with IRSA, exchanged through STS `AssumeRoleWithWebIdentity`) and the SigV4-signed
//! `sts:GetCallerIdentity` request that Vault replays to STS to learn who is logging in.
//!
//! The signed request is exactly the one `hvac.aws_utils` builds for the Python server
//! (POST `https://sts.amazonaws.com/`, region `us-east-1`, body
//! `Action=GetCallerIdentity&Version=2011-06-15`, headers `Content-Length`, `Content-Type`,
//! `Host`, optional `X-Vault-AWS-IAM-Server-ID`, `X-Amz-Date`, optional `X-Amz-Security-Token`,
//! all signed). Keys and tokens never reach a log: [`AwsCredentials`]' `Debug` hides them.

use std::collections::HashMap;

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use zenpro_types::Error;

/// The body of the signed `GetCallerIdentity` request.
pub const GET_CALLER_IDENTITY_BODY: &str = "Action=GetCallerIdentity&Version=2011-06-15";
const STS_HOST: &str = "sts.amazonaws.com";
const REGION: &str = "us-east-1";

/// AWS credentials (temporary ones carry a session token).
#[derive(Clone)]
pub struct AwsCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"***")
            .field("session_token", &self.session_token.as_ref().map(|_| "***"))
            .finish()
    }
}

/// The AWS settings read from the environment at start-up (the token file is read at each login,
/// since Kubernetes rotates it).
#[derive(Clone, Default)]
pub struct AwsEnv {
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
    session_token: Option<String>,
    web_identity_token_file: Option<String>,
    role_arn: Option<String>,
    role_session_name: Option<String>,
    region: Option<String>,
    regional_sts: bool,
    sts_endpoint: Option<String>,
}

impl std::fmt::Debug for AwsEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsEnv")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &self.secret_access_key.as_ref().map(|_| "***"))
            .field("session_token", &self.session_token.as_ref().map(|_| "***"))
            .field("web_identity_token_file", &self.web_identity_token_file)
            .field("role_arn", &self.role_arn)
            .field("region", &self.region)
            .field("sts_endpoint", &self.sts_endpoint)
            .finish()
    }
}

impl AwsEnv {
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`,
    /// `AWS_WEB_IDENTITY_TOKEN_FILE`, `AWS_ROLE_ARN`, `AWS_ROLE_SESSION_NAME`, `AWS_REGION` /
    /// `AWS_DEFAULT_REGION`, `AWS_STS_REGIONAL_ENDPOINTS`, `AWS_ENDPOINT_URL_STS` /
    /// `AWS_ENDPOINT_URL` (where `AssumeRoleWithWebIdentity` is sent).
    pub fn from_map(env: &HashMap<String, String>) -> AwsEnv {
        let get = |k: &str| env.get(k).filter(|s| !s.is_empty()).cloned();
        AwsEnv {
            access_key_id: get("AWS_ACCESS_KEY_ID"),
            secret_access_key: get("AWS_SECRET_ACCESS_KEY"),
            session_token: get("AWS_SESSION_TOKEN"),
            web_identity_token_file: get("AWS_WEB_IDENTITY_TOKEN_FILE"),
            role_arn: get("AWS_ROLE_ARN"),
            role_session_name: get("AWS_ROLE_SESSION_NAME"),
            region: get("AWS_REGION").or_else(|| get("AWS_DEFAULT_REGION")),
            regional_sts: get("AWS_STS_REGIONAL_ENDPOINTS").is_none_or(|v| v != "legacy"),
            sts_endpoint: get("AWS_ENDPOINT_URL_STS").or_else(|| get("AWS_ENDPOINT_URL")),
        }
    }

    /// Where `AssumeRoleWithWebIdentity` goes.
    fn sts_url(&self) -> String {
        if let Some(e) = &self.sts_endpoint {
            return e.trim_end_matches('/').to_string() + "/";
        }
        match (&self.region, self.regional_sts) {
            (Some(r), true) => format!("https://sts.{r}.amazonaws.com/"),
            _ => format!("https://{STS_HOST}/"),
        }
    }

    /// The credentials to sign with: static keys when set, else a web identity exchanged
    /// through STS (the order of the AWS SDKs' default chain for these two sources).
    pub async fn credentials(&self, http: &reqwest::Client) -> Result<AwsCredentials, Error> {
        if let (Some(id), Some(key)) = (&self.access_key_id, &self.secret_access_key) {
            return Ok(AwsCredentials {
                access_key_id: id.clone(),
                secret_access_key: key.clone(),
                session_token: self.session_token.clone(),
            });
        }
        let (Some(file), Some(role_arn)) = (&self.web_identity_token_file, &self.role_arn) else {
            return Err(Error::Unavailable(
                "HashiCorp Vault AWS authentication needs AWS credentials: set AWS_ACCESS_KEY_ID and \
                 AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), or AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN."
                    .into(),
            ));
        };
        let token = std::fs::read_to_string(file)
            .map_err(|e| Error::Unavailable(format!("AWS_WEB_IDENTITY_TOKEN_FILE={file:?} cannot be read: {e}")))?;
        let session =
            self.role_session_name.clone().unwrap_or_else(|| format!("zenpro-{}", chrono::Utc::now().timestamp()));
        let form = [
            ("Action", "AssumeRoleWithWebIdentity"),
            ("Version", "2011-06-15"),
            ("RoleArn", role_arn.as_str()),
            ("RoleSessionName", session.as_str()),
            ("WebIdentityToken", token.trim()),
        ];
        let url = self.sts_url();
        let resp = http.post(&url).form(&form).send().await.map_err(|e| {
            Error::Unavailable(format!("AWS STS ({url}) is unreachable for AssumeRoleWithWebIdentity: {}", plain(&e)))
        })?;
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        if !status.is_success() {
            let code = xml_value(&text, "Code").unwrap_or_default();
            let msg = xml_value(&text, "Message").unwrap_or_default();
            return Err(Error::Unavailable(format!(
                "AWS STS AssumeRoleWithWebIdentity for {role_arn} failed ({status}): {code} {msg}"
            )));
        }
        let field = |name: &str| {
            xml_value(&text, name)
                .ok_or_else(|| Error::Unavailable(format!("AWS STS AssumeRoleWithWebIdentity answered without {name}")))
        };
        Ok(AwsCredentials {
            access_key_id: field("AccessKeyId")?,
            secret_access_key: field("SecretAccessKey")?,
            session_token: Some(field("SessionToken")?),
        })
    }
}

/// A reqwest error without the URL's query (never carries secrets here, but keep it short).
pub fn plain(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

/// The text of the first `<name>…</name>` element (the STS answers are flat enough for this).
fn xml_value(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&close)?;
    Some(
        xml[start..end]
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// A signed `GetCallerIdentity` request: the headers in the order they were set.
#[derive(Debug, Clone)]
pub struct SignedRequest {
    pub method: &'static str,
    pub url: &'static str,
    pub headers: Vec<(String, String)>,
    pub body: &'static str,
}

/// Sign `sts:GetCallerIdentity` with SigV4 at `amz_date` (`%Y%m%dT%H%M%SZ`).
pub fn sign_get_caller_identity(creds: &AwsCredentials, header_value: Option<&str>, amz_date: &str) -> SignedRequest {
    let mut headers: Vec<(String, String)> = vec![
        ("Content-Type".into(), "application/x-www-form-urlencoded; charset=utf-8".into()),
        ("Host".into(), STS_HOST.into()),
    ];
    if let Some(v) = header_value {
        headers.push(("X-Vault-AWS-IAM-Server-ID".into(), v.into()));
    }
    headers.push(("Content-Length".into(), GET_CALLER_IDENTITY_BODY.len().to_string()));
    headers.push(("X-Amz-Date".into(), amz_date.into()));
    if let Some(t) = &creds.session_token {
        headers.push(("X-Amz-Security-Token".into(), t.clone()));
    }
    let mut sorted: Vec<(String, &str)> = headers.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.as_str())).collect();
    sorted.sort();
    let canonical_headers: String = sorted.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let signed_headers = sorted.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>().join(";");
    let payload_hash = hex(&Sha256::digest(GET_CALLER_IDENTITY_BODY.as_bytes()));
    let canonical_request = ["POST", "/", "", &canonical_headers, &signed_headers, &payload_hash].join("\n");
    let date = &amz_date[..8];
    let scope = format!("{date}/{REGION}/sts/aws4_request");
    let string_to_sign =
        ["AWS4-HMAC-SHA256", amz_date, &scope, &hex(&Sha256::digest(canonical_request.as_bytes()))].join("\n");
    let mut key = hmac_sha256(format!("AWS4{}", creds.secret_access_key).as_bytes(), date.as_bytes());
    for part in [REGION, "sts", "aws4_request"] {
        key = hmac_sha256(&key, part.as_bytes());
    }
    let signature = hex(&hmac_sha256(&key, string_to_sign.as_bytes()));
    headers.push((
        "Authorization".into(),
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
            creds.access_key_id
        ),
    ));
    SignedRequest { method: "POST", url: "https://sts.amazonaws.com/", headers, body: GET_CALLER_IDENTITY_BODY }
}

/// The JSON body of `POST /v1/auth/<mount>/login` for an IAM login (what `hvac`'s `iam_login`
/// sends): method, base64 URL, base64 JSON headers (`{name: [value]}`), base64 body, role.
pub fn iam_login_body(req: &SignedRequest, role: Option<&str>) -> serde_json::Value {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
    let headers: serde_json::Map<String, serde_json::Value> =
        req.headers.iter().map(|(k, v)| (k.clone(), serde_json::json!([v]))).collect();
    serde_json::json!({
        "iam_http_request_method": req.method,
        "iam_request_url": b64(req.url),
        "iam_request_headers": b64(&serde_json::Value::Object(headers).to_string()),
        "iam_request_body": b64(req.body),
        "role": role,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Computed with hvac 2.4.0's `SigV4Auth` (the Python server's signer) for the same inputs:
    /// ```text
    /// from hvac import aws_utils; import hvac.aws_utils as a, datetime
    /// class D(datetime.datetime):
    ///     @classmethod
    ///     def utcnow(cls): return datetime.datetime(2026, 11, 26, 12, 0, 0)
    /// a.datetime = D
    /// r = aws_utils.generate_sigv4_auth_request(header_value="vault.example.com")
    /// aws_utils.SigV4Auth("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "tok").add_auth(r)
    /// print(r.headers["Authorization"])
    /// ```
    const HVAC_AUTHORIZATION: &str = include_str!("testdata/hvac_sigv4_authorization.txt");

    #[test]
    fn signature_matches_hvac() {
        let creds = AwsCredentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            session_token: Some("tok".into()),
        };
        let req = sign_get_caller_identity(&creds, Some("vault.example.com"), "20261126T120000Z");
        let auth = &req.headers.last().unwrap().1;
        assert_eq!(auth, HVAC_AUTHORIZATION.trim());
        let body = iam_login_body(&req, Some("r"));
        assert_eq!(body["iam_request_body"], "QWN0aW9uPUdldENhbGxlcklkZW50aXR5JlZlcnNpb249MjAxMS0wNi0xNQ==");
        assert_eq!(format!("{creds:?}").matches("***").count(), 2);
        assert!(!format!("{creds:?}").contains("EXAMPLEKEY"));
    }

    #[test]
    fn xml_fields() {
        let x = "<R><Credentials><AccessKeyId>A</AccessKeyId><SessionToken>a&amp;b</SessionToken></Credentials></R>";
        assert_eq!(xml_value(x, "AccessKeyId").as_deref(), Some("A"));
        assert_eq!(xml_value(x, "SessionToken").as_deref(), Some("a&b"));
        assert_eq!(xml_value(x, "Nope"), None);
    }
}
