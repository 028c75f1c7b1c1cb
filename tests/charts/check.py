#!/usr/bin/env python3
"""Render both Helm charts with `helm template` against tests/charts/values/*.yaml and assert what
comes out: the objects, the environment of the containers (values, Secret references), probes,
security context, hook annotations, and that a bad values file is refused with a message.

When ZENPRO_BIN points at a zenpro binary, the environment rendered for each Deployment is also
handed to `zenpro workspace migrate` / `zenpro control-plane migrate` (Secret references resolved
from the rendered Secrets, external databases swapped for a SQLite file): the binary must accept
the configuration the chart produces.

Usage: check.py HELM REPO
"""

import base64
import os
import re
import subprocess
import sys
import tempfile

import yaml

HELM, REPO = sys.argv[1], sys.argv[2]
WS_CHART = os.path.join(REPO, "charts", "zenpro-workspace")
CP_CHART = os.path.join(REPO, "charts", "zenpro-control-plane")
VALUES = os.path.join(REPO, "tests", "charts", "values")
RELEASE = "rel"

failures = []
checks = 0


def check(cond, msg):
    global checks
    checks += 1
    if not cond:
        failures.append(msg)


def render(chart, values_file=None, sets=()):
    cmd = [HELM, "template", RELEASE, chart, "--namespace", "zenml"]
    for f in ([values_file] if isinstance(values_file, str) else values_file or []):
        cmd += ["-f", os.path.join(VALUES, f)]
    for s in sets:
        cmd += ["--set", s]
    p = subprocess.run(cmd, capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def objects(chart, values_file=None, sets=()):
    rc, out, err = render(chart, values_file, sets)
    if rc != 0:
        raise SystemExit(f"helm template {os.path.basename(chart)} -f {values_file} failed:\n{err}")
    docs = [d for d in yaml.safe_load_all(out) if d]
    by = {}
    for d in docs:
        by.setdefault((d["kind"], d["metadata"]["name"]), d)
    return by


def one(objs, kind, name=None):
    found = [o for (k, n), o in objs.items() if k == kind and (name is None or n == name)]
    return found[0] if len(found) == 1 else None


def kinds(objs):
    return sorted(f"{k}/{n}" for (k, n) in objs)


def env_of(container):
    return {e["name"]: e for e in container.get("env", [])}


def plain(env, name):
    e = env.get(name)
    return None if e is None or "valueFrom" in e else e.get("value")


def secret_ref(env, name):
    e = env.get(name)
    if e is None or "valueFrom" not in e:
        return None
    r = e["valueFrom"]["secretKeyRef"]
    return (r["name"], r["key"])


def secret_data(objs, name):
    s = objs.get(("Secret", name))
    if not s:
        return None
    return {k: base64.b64decode(v).decode() for k, v in (s.get("data") or {}).items()}


def no_secret_in_plain_env(label, env, secrets):
    """No plain env value may contain a secret value of the values file."""
    for e in env.values():
        v = e.get("value") or ""
        for s in secrets:
            check(s not in v, f"{label}: secret value leaks into plain env {e['name']}")


def common_pod_checks(label, dep, container_name, ready_path):
    spec = dep["spec"]["template"]["spec"]
    c = [c for c in spec["containers"] if c["name"] == container_name]
    check(len(c) == 1, f"{label}: container {container_name} missing")
    c = c[0]
    psc = spec.get("securityContext", {})
    sc = c.get("securityContext", {})
    check(psc.get("runAsNonRoot") is True, f"{label}: pod runAsNonRoot")
    check(isinstance(psc.get("runAsUser"), int) and psc["runAsUser"] != 0, f"{label}: pod runAsUser non-root")
    check(sc.get("readOnlyRootFilesystem") is True, f"{label}: readOnlyRootFilesystem")
    check(sc.get("allowPrivilegeEscalation") is False, f"{label}: allowPrivilegeEscalation false")
    check(sc.get("capabilities", {}).get("drop") == ["ALL"], f"{label}: capabilities drop ALL")
    check(c["livenessProbe"]["httpGet"]["path"] == "/health", f"{label}: liveness /health")
    check(c["readinessProbe"]["httpGet"]["path"] == ready_path, f"{label}: readiness {ready_path}")
    check(c["livenessProbe"]["httpGet"]["port"] == "http", f"{label}: probe on port http")
    check({"name": "http", "containerPort": 8080, "protocol": "TCP"} in c["ports"], f"{label}: port http 8080")
    mounts = {m["mountPath"] for m in c.get("volumeMounts", [])}
    check({"/zenpro/data", "/tmp"} <= mounts, f"{label}: writable /zenpro/data and /tmp mounted ({mounts})")
    env = env_of(c)
    check(plain(env, "ZENPRO_HOST") == "0.0.0.0", f"{label}: listens on 0.0.0.0 in the pod")
    check(plain(env, "ZENPRO_PORT") == "8080", f"{label}: ZENPRO_PORT 8080")
    check(spec.get("automountServiceAccountToken") is False, f"{label}: no service account token mounted")
    check("checksum/secret" in dep["spec"]["template"]["metadata"].get("annotations", {}), f"{label}: secret checksum")
    return c, env


def hook_checks(label, objs, args):
    jobs = [o for (k, _), o in objs.items() if k == "Job"]
    check(len(jobs) == 1, f"{label}: one migration Job ({len(jobs)})")
    if not jobs:
        return None
    job = jobs[0]
    a = job["metadata"]["annotations"]
    check(a.get("helm.sh/hook") == "pre-install,pre-upgrade", f"{label}: hook pre-install,pre-upgrade")
    check(a.get("helm.sh/hook-weight") == "-1", f"{label}: job hook weight -1")
    check("before-hook-creation" in a.get("helm.sh/hook-delete-policy", ""), f"{label}: before-hook-creation")
    spec = job["spec"]["template"]["spec"]
    c = spec["containers"][0]
    check(c["args"] == args, f"{label}: job runs {args} (got {c['args']})")
    check(spec["restartPolicy"] == "Never", f"{label}: restartPolicy Never")
    check(c["securityContext"].get("readOnlyRootFilesystem") is True, f"{label}: job read-only root")
    # Everything the Job references that the chart creates must itself be a hook of lower weight.
    env = env_of(c)
    for name, e in env.items():
        if "valueFrom" in e:
            sname = e["valueFrom"]["secretKeyRef"]["name"]
            owned = objs.get(("Secret", sname))
            if owned is not None:
                ann = owned["metadata"].get("annotations", {})
                check(ann.get("helm.sh/hook") == "pre-install,pre-upgrade" and int(ann.get("helm.sh/hook-weight", 0)) < -1,
                      f"{label}: job env {name} uses Secret {sname} that is not an earlier hook")
    sa = spec.get("serviceAccountName")
    sa_obj = objs.get(("ServiceAccount", sa))
    if sa_obj is not None:
        check(sa_obj["metadata"].get("annotations", {}).get("helm.sh/hook") == "pre-install,pre-upgrade",
              f"{label}: job service account {sa} is not a hook")
    return job


def ingress_checks(label, objs, host, cls, tls_secret, annotations):
    ing = one(objs, "Ingress")
    check(ing is not None, f"{label}: ingress rendered")
    if ing is None:
        return
    check(ing["spec"].get("ingressClassName") == cls, f"{label}: ingressClassName {cls}")
    check(ing["spec"]["rules"][0].get("host") == host, f"{label}: ingress host {host}")
    check(ing["spec"]["tls"] == [{"hosts": [host], "secretName": tls_secret}], f"{label}: tls {ing['spec'].get('tls')}")
    for k, v in annotations.items():
        check(ing["metadata"]["annotations"].get(k) == v, f"{label}: annotation {k}")
    be = ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    check(be["port"] == {"name": "http"}, f"{label}: ingress backend port http")
    check(be["name"] == one(objs, "Service")["metadata"]["name"], f"{label}: ingress -> service")


def refused(label, chart, values_file, sets, needle):
    rc, _, err = render(chart, values_file, sets)
    check(rc != 0 and needle in err, f"{label}: expected a refusal mentioning {needle!r}; rc={rc} err={err.strip()[-300:]}")


# ---------------------------------------------------------------------------------------------
# workspace chart
# ---------------------------------------------------------------------------------------------
WS = f"{RELEASE}-zenpro-workspace"
WS_ID = "9a0b7c3e-4d1f-4e2a-8b3c-1d2e3f4a5b6c"
ORG_ID = "1b2c3d4e-5f60-4718-92a3-b4c5d6e7f809"
rendered = {}

# defaults: SQLite in an emptyDir, OSS mode
o = objects(WS_CHART, "workspace-defaults.yaml")
rendered["workspace-defaults"] = o
label = "ws/defaults"
dep = one(o, "Deployment", WS)
c, env = common_pod_checks(label, dep, "server", "/ready")
check(dep["spec"]["replicas"] == 1 and dep["spec"]["strategy"]["type"] == "Recreate", f"{label}: SQLite = 1 replica, Recreate")
check("ZENML_STORE_URL" not in env, f"{label}: no store URL (SQLite default in the data dir)")
check(plain(env, "ZENML_SERVER_DEPLOYMENT_TYPE") == "kubernetes", f"{label}: deployment type kubernetes")
check(plain(env, "ZENML_SERVER_AUTH_SCHEME") == "OAUTH2_PASSWORD_BEARER", f"{label}: auth scheme")
check(secret_ref(env, "ZENML_SERVER_JWT_SECRET_KEY") == (WS, "ZENML_SERVER_JWT_SECRET_KEY"), f"{label}: JWT key from the release Secret")
check(len(secret_data(o, WS)["ZENML_SERVER_JWT_SECRET_KEY"]) >= 32, f"{label}: generated JWT key")
check(plain(env, "ZENML_SECRETS_STORE_TYPE") == "sql", f"{label}: sql secrets store")
check(not any(k == "Job" for k, _ in o), f"{label}: no migration Job for SQLite")
check(c["args"] == ["workspace", "serve"], f"{label}: args")
check(c["image"] == "ghcr.io/zenpro/zenpro:0.1.0", f"{label}: image defaults to appVersion ({c['image']})")
check(one(o, "ServiceAccount", "zenml") is not None, f"{label}: service account 'zenml' (official default name)")
check(one(o, "Ingress") is not None, f"{label}: ingress enabled by default, as in the official chart")
check(not any(k.startswith("ZENML_SERVER_PRO_") for k in env), f"{label}: no Pro variables")

# seed-shaped: legacy zenml: key, RDS URL from a Secret, Vault (AWS auth), nginx + cert-manager, pro
o = objects(WS_CHART, "workspace-seed-eks.yaml")
rendered["workspace-seed-eks"] = o
label = "ws/seed-eks"
dep = one(o, "Deployment", WS)
c, env = common_pod_checks(label, dep, "server", "/ready")
check(dep["spec"]["replicas"] == 2 and "strategy" not in dep["spec"], f"{label}: 2 replicas on MySQL")
check(c["image"] == "123456789012.dkr.ecr.eu-central-1.amazonaws.com/zenpro:0.1.0", f"{label}: image from zenml.image")
check(c["imagePullPolicy"] == "Always", f"{label}: pull policy")
check(dep["spec"]["template"]["spec"]["imagePullSecrets"] == [{"name": "ecr-pull"}], f"{label}: imagePullSecrets")
check(c["resources"]["limits"]["memory"] == "1Gi", f"{label}: resources")
check(secret_ref(env, "ZENML_STORE_URL") == ("zenml-rds", "url"), f"{label}: store URL from the RDS Secret")
check(plain(env, "ZENML_SERVER_SERVER_URL") == "https://zenml-workspace.10.0.0.1.nip.io", f"{label}: server URL")
expect_pro = {
    "ZENML_SERVER_DEPLOYMENT_TYPE": "cloud",
    "ZENML_SERVER_PRO_API_URL": "https://zenml-pro.10.0.0.1.nip.io/api/v1",
    "ZENML_SERVER_PRO_OAUTH2_AUDIENCE": "https://zenml-pro.10.0.0.1.nip.io/api/v1",
    "ZENML_SERVER_PRO_DASHBOARD_URL": "https://zenml-pro.10.0.0.1.nip.io",
    "ZENML_SERVER_PRO_ORGANIZATION_ID": ORG_ID,
    "ZENML_SERVER_PRO_ORGANIZATION_NAME": "acme",
    "ZENML_SERVER_PRO_WORKSPACE_ID": WS_ID,
    "ZENML_SERVER_PRO_WORKSPACE_NAME": "prod",
}
for k, v in expect_pro.items():
    check(plain(env, k) == v, f"{label}: {k}={plain(env, k)!r}, want {v!r}")
check(secret_ref(env, "ZENML_SERVER_PRO_OAUTH2_CLIENT_SECRET") == (WS, "ZENML_SERVER_PRO_OAUTH2_CLIENT_SECRET"),
      f"{label}: enrollment key by secretKeyRef")
enrollment = "EnrollmentKeyFromZenproAdmin0123456789abcdefghijklmnopqrstuvwxyzAB"
check(secret_data(o, WS).get("ZENML_SERVER_PRO_OAUTH2_CLIENT_SECRET") == enrollment, f"{label}: enrollment key in the Secret")
check("ZENML_SERVER_AUTH_SCHEME" not in env, f"{label}: no auth scheme in Pro mode (the server derives EXTERNAL)")
expect_vault = {
    "ZENML_SECRETS_STORE_TYPE": "hashicorp",
    "ZENML_SECRETS_STORE_VAULT_ADDR": "http://vault.vault.svc.cluster.local:8200",
    "ZENML_SECRETS_STORE_AUTH_METHOD": "aws",
    "ZENML_SECRETS_STORE_AWS_ROLE": "zenml-server",
    "ZENML_SECRETS_STORE_MOUNT_POINT": "zenml",
    "ZENML_SECRETS_STORE_MAX_VERSIONS": "3",
}
for k, v in expect_vault.items():
    check(plain(env, k) == v, f"{label}: {k}={plain(env, k)!r}, want {v!r}")
check("ZENML_SECRETS_STORE_VAULT_TOKEN" not in env, f"{label}: no Vault token with AWS auth")
sa = one(o, "ServiceAccount", "zenml")
check(sa and sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].endswith(":role/zenml-server"), f"{label}: IRSA annotation")
check(dep["spec"]["template"]["spec"]["serviceAccountName"] == "zenml", f"{label}: pod uses the service account")
no_secret_in_plain_env(label, env, [enrollment])
ingress_checks(label, o, "zenml-workspace.10.0.0.1.nip.io", "nginx-second", "zenml-workspace-tls",
               {"cert-manager.io/cluster-issuer": "letsencrypt-prod", "nginx.ingress.kubernetes.io/ssl-redirect": "true"})
job = hook_checks(label, o, ["workspace", "migrate"])
if job:
    jenv = env_of(job["spec"]["template"]["spec"]["containers"][0])
    check(secret_ref(jenv, "ZENML_STORE_URL") == ("zenml-rds", "url"), f"{label}: job has the store URL")
    for k, v in expect_pro.items():
        check(plain(jenv, k) == v, f"{label}: job {k} (a fresh DB gets the workspace id as server id)")
    check(secret_ref(jenv, "ZENML_SERVER_PRO_OAUTH2_CLIENT_SECRET") == (f"{WS}-migration", "ZENML_SERVER_PRO_OAUTH2_CLIENT_SECRET"),
          f"{label}: job enrollment key from the hook Secret")
    check(secret_data(o, f"{WS}-migration").get("ZENML_SERVER_PRO_OAUTH2_CLIENT_SECRET") == enrollment, f"{label}: hook Secret content")
    check(job["spec"]["template"]["spec"]["serviceAccountName"] == f"{WS}-migration", f"{label}: job service account")
    check(one(o, "ServiceAccount", f"{WS}-migration")["metadata"]["annotations"].get("eks.amazonaws.com/role-arn"),
          f"{label}: hook service account keeps the IRSA annotation")

# server: key + legacy zenml: wins; passwordSecretRef; sql encryption key; extra env
o = objects(WS_CHART, "workspace-server-key.yaml")
rendered["workspace-server-key"] = o
label = "ws/server-key"
dep = one(o, "Deployment", WS)
c, env = common_pod_checks(label, dep, "server", "/ready")
check(c["image"] == "registry.example.com/zenpro:1.2.3", f"{label}: image from server.image")
check(plain(env, "ZENML_SERVER_SERVER_URL") == "https://legacy-wins.example.com", f"{label}: legacy zenml: wins over server:")
check(plain(env, "ZENML_ANALYTICS_OPT_IN") == "False", f"{label}: legacy false value kept (mustMergeOverwrite)")
check(secret_ref(env, "ZENML_STORE_PASSWORD") == ("mysql-password", "password"), f"{label}: DB password from its Secret")
names = list(env)
check(names.index("ZENML_STORE_PASSWORD") < names.index("ZENML_STORE_URL"), f"{label}: password defined before the URL that expands it")
check(plain(env, "ZENML_STORE_URL") == "mysql://zenml:$(ZENML_STORE_PASSWORD)@mysql.db.svc:3306/zenml?ssl-mode=DISABLED",
      f"{label}: URL with $(ZENML_STORE_PASSWORD): {plain(env, 'ZENML_STORE_URL')}")
data = secret_data(o, WS)
check(data == {"ZENML_SERVER_JWT_SECRET_KEY": "jwt-key-from-values", "ZENML_SECRETS_STORE_ENCRYPTION_KEY": "encryption-key-from-values",
               "EXTRA_SECRET": "extra-secret-value"}, f"{label}: release Secret content {sorted(data)}")
for k in ("ZENML_SERVER_JWT_SECRET_KEY", "ZENML_SECRETS_STORE_ENCRYPTION_KEY", "EXTRA_SECRET"):
    check(secret_ref(env, k) == (WS, k), f"{label}: {k} by secretKeyRef")
check(plain(env, "ZENML_SERVER_JWT_TOKEN_EXPIRE_MINUTES") == "30", f"{label}: jwtTokenExpireMinutes")
check(plain(env, "ZENPRO_LOG") == "info", f"{label}: server.environment")
no_secret_in_plain_env(label, env, ["jwt-key-from-values", "encryption-key-from-values", "extra-secret-value"])
check(one(o, "Ingress") is None, f"{label}: ingress disabled")
hook_checks(label, o, ["workspace", "migrate"])

# SQLite on a PVC, Vault token from a Secret
o = objects(WS_CHART, "workspace-sqlite-pvc.yaml")
rendered["workspace-sqlite-pvc"] = o
label = "ws/sqlite-pvc"
dep = one(o, "Deployment", WS)
c, env = common_pod_checks(label, dep, "server", "/ready")
pvc = one(o, "PersistentVolumeClaim", f"{WS}-data")
check(pvc is not None and pvc["spec"]["resources"]["requests"]["storage"] == "5Gi" and pvc["spec"]["storageClassName"] == "gp3",
      f"{label}: PVC 5Gi gp3")
check(pvc and pvc["metadata"]["annotations"].get("helm.sh/resource-policy") == "keep", f"{label}: PVC kept on uninstall")
vols = {v["name"]: v for v in dep["spec"]["template"]["spec"]["volumes"]}
check(vols["data"].get("persistentVolumeClaim", {}).get("claimName") == f"{WS}-data", f"{label}: data volume is the PVC")
check(dep["spec"]["template"]["spec"]["securityContext"].get("fsGroup") == 65532, f"{label}: fsGroup for the volume")
check(secret_ref(env, "ZENML_SECRETS_STORE_VAULT_TOKEN") == ("vault-token", "token"), f"{label}: Vault token by secretKeyRef")
check(not any(k == "Job" for k, _ in o), f"{label}: no hook for SQLite")

# Pro with a plain URL (kept in the Secret) and the enrollment key from an existing Secret
o = objects(WS_CHART, "workspace-pro-url.yaml")
rendered["workspace-pro-url"] = o
label = "ws/pro-url"
dep = one(o, "Deployment", WS)
c, env = common_pod_checks(label, dep, "server", "/ready")
check(secret_ref(env, "ZENML_STORE_URL") == (WS, "ZENML_STORE_URL"), f"{label}: URL from the release Secret")
check(secret_data(o, WS)["ZENML_STORE_URL"] == "mysql://zenml:s3cr3t-db-pass@mysql:3306/zenml", f"{label}: URL in the Secret")
check(secret_ref(env, "ZENML_SERVER_PRO_OAUTH2_CLIENT_SECRET") == ("ws-enrollment", "key"), f"{label}: enrollment key Secret ref")
check("ZENML_SERVER_PRO_OAUTH2_CLIENT_SECRET" not in secret_data(o, WS), f"{label}: no enrollment key copied")
check(plain(env, "ZENML_SECRETS_STORE_TYPE") == "none", f"{label}: secretsStore.enabled false -> none")
check("ZENML_SERVER_PRO_WORKSPACE_NAME" not in env, f"{label}: optional names omitted when unset")
no_secret_in_plain_env(label, env, ["s3cr3t-db-pass"])

# The seed's OSS values file (legacy zenml:, no pro) with only the image changed, plus the
# `server:` block exactly as `zenpro admin workspace create` prints it, as a second -f file.
o = objects(WS_CHART, ["workspace-seed-oss.yaml", "workspace-admin-block.yaml"])
rendered["workspace-seed-oss+admin-block"] = o
label = "ws/seed-oss+admin-block"
dep = one(o, "Deployment", WS)
c, env = common_pod_checks(label, dep, "server", "/ready")
check(plain(env, "ZENML_SERVER_DEPLOYMENT_TYPE") == "cloud", f"{label}: Pro mode from the printed server: block")
check(plain(env, "ZENML_SERVER_PRO_API_URL") == "http://zenml-pro.zenml-pro.svc/api/v1", f"{label}: apiURL")
check(plain(env, "ZENML_SERVER_PRO_WORKSPACE_ID") == "7d1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b", f"{label}: workspaceID")
check(plain(env, "ZENML_SERVER_SERVER_URL") == "https://zenml.example.com", f"{label}: the legacy file's serverURL wins")
check(secret_data(o, WS).get("ZENML_SERVER_PRO_OAUTH2_CLIENT_SECRET", "").startswith("Ab3dEf6h"), f"{label}: enrollment key")
check(secret_ref(env, "ZENML_STORE_URL") == (WS, "ZENML_STORE_URL"), f"{label}: OSS database.url kept in the Secret")
check(plain(env, "ZENML_SECRETS_STORE_VAULT_ADDR") == "http://vault.vault.svc:8200", f"{label}: OSS Vault settings kept")
check(c["image"] == "registry.example.com/zenpro:0.1.0", f"{label}: image")
check(secret_ref(env, "ZENML_SECRETS_STORE_VAULT_TOKEN") == (WS, "ZENML_SECRETS_STORE_VAULT_TOKEN"), f"{label}: Vault token by secretKeyRef")
check(secret_data(o, WS).get("ZENML_SECRETS_STORE_VAULT_TOKEN") == "hvs.vault-token-value", f"{label}: Vault token in the Secret")
no_secret_in_plain_env(label, env, ["rds-password", "hvs.vault-token-value", "Ab3dEf6hIj9k"])

# refusals
refused("ws/pro-without-key", WS_CHART, "workspace-pro-url.yaml", ["zenml.pro.enrollmentKeySecretRef=null"], "pro.enrollmentKey")
refused("ws/pro-without-url", WS_CHART, "workspace-seed-eks.yaml", ["zenml.serverURL="], "serverURL")
refused("ws/pro-without-ws-id", WS_CHART, "workspace-seed-eks.yaml", ["zenml.pro.workspaceID="], "pro.workspaceID")
refused("ws/pro-bad-ws-id", WS_CHART, "workspace-seed-eks.yaml", ["zenml.pro.workspaceID=not-a-uuid"], "is not a UUID")
refused("ws/backup-store", WS_CHART, None, ["server.backupSecretsStore.enabled=true"], "backupSecretsStore")
refused("ws/sqlite-replicas", WS_CHART, None, ["server.replicaCount=3"], "SQLite")

# ---------------------------------------------------------------------------------------------
# control-plane chart
# ---------------------------------------------------------------------------------------------
CP = f"{RELEASE}-zenpro-control-plane"

o = objects(CP_CHART, "cp-minimal.yaml")
rendered["cp-minimal"] = o
label = "cp/minimal"
dep = one(o, "Deployment", CP)
c, env = common_pod_checks(label, dep, "control-plane", "/ready")
check(c["args"] == ["control-plane", "serve"], f"{label}: args")
check(dep["spec"]["replicas"] == 1 and dep["spec"]["strategy"]["type"] == "Recreate", f"{label}: SQLite one replica")
check(plain(env, "ZENPRO_CP_URL") == "https://cp.example.com" and plain(env, "ZENPRO_CP_DASHBOARD_URL") == "https://cp.example.com",
      f"{label}: CP URLs")
# Four slashes: an absolute path under both sqlite URL readings (sqlite://FILE and SQLAlchemy's).
check(plain(env, "ZENPRO_CP_DATABASE_URL") == "sqlite:////zenpro/data/control-plane/cp.db", f"{label}: SQLite in the data volume")
pvc = one(o, "PersistentVolumeClaim", f"{CP}-data")
check(pvc is not None, f"{label}: PVC for SQLite")
vols = {v["name"]: v for v in dep["spec"]["template"]["spec"]["volumes"]}
check(vols["data"].get("persistentVolumeClaim", {}).get("claimName") == f"{CP}-data", f"{label}: data volume is the PVC")
check(plain(env, "ZENPRO_CP_ADMIN_USERNAME") == "admin", f"{label}: admin username")
check(secret_ref(env, "ZENPRO_CP_ADMIN_PASSWORD") == (CP, "ZENML_CLOUD_ADMIN_PASSWORD"), f"{label}: admin password Secret key as the official chart")
data = secret_data(o, CP)
check(len(data.get("ZENML_CLOUD_ADMIN_PASSWORD", "")) >= 16, f"{label}: generated admin password")
check(len(data.get("ZENPRO_CP_TOKEN_SECRET", "")) >= 32, f"{label}: generated token key")
check(secret_ref(env, "ZENPRO_CP_TOKEN_SECRET") == (CP, "ZENPRO_CP_TOKEN_SECRET"), f"{label}: token key by secretKeyRef")
pdb = one(o, "PodDisruptionBudget", CP)
check(pdb is not None and pdb["spec"].get("maxUnavailable") == 1, f"{label}: PDB maxUnavailable 1")
check(pdb and pdb["spec"]["selector"]["matchLabels"] == dep["spec"]["selector"]["matchLabels"], f"{label}: PDB selects the pods")
check(one(o, "HorizontalPodAutoscaler") is None, f"{label}: no HPA by default")
check(one(o, "Ingress") is None, f"{label}: no ingress by default")
check(not any(k == "Job" for k, _ in o), f"{label}: no hook for SQLite")
check(one(o, "ServiceAccount", CP) is not None, f"{label}: service account")

o = objects(CP_CHART, "cp-seed-eks.yaml")
rendered["cp-seed-eks"] = o
label = "cp/seed-eks"
dep = one(o, "Deployment", CP)
c, env = common_pod_checks(label, dep, "control-plane", "/ready")
check("replicas" not in dep["spec"], f"{label}: replicas left to the HPA")
check(c["image"] == "123456789012.dkr.ecr.eu-central-1.amazonaws.com/zenpro:0.1.0", f"{label}: zenml.image.api")
check(dep["spec"]["template"]["spec"]["imagePullSecrets"] == [{"name": "ecr-pull"}], f"{label}: imagePullSecrets")
check(c["resources"]["requests"]["cpu"] == "100m", f"{label}: resources")
check(secret_ref(env, "ZENPRO_CP_DATABASE_PASSWORD") == ("zenml-pro-rds", "password"), f"{label}: DB password from its Secret")
names = list(env)
check(names.index("ZENPRO_CP_DATABASE_PASSWORD") < names.index("ZENPRO_CP_DATABASE_URL"), f"{label}: password before URL")
check(plain(env, "ZENPRO_CP_DATABASE_URL") ==
      "mysql://zenml_pro:$(ZENPRO_CP_DATABASE_PASSWORD)@zenml.abcdefghij.eu-central-1.rds.amazonaws.com:3306/zenml_pro",
      f"{label}: MySQL URL {plain(env, 'ZENPRO_CP_DATABASE_URL')}")
check(secret_ref(env, "ZENPRO_CP_ADMIN_PASSWORD") == ("zenml-pro-admin", "password"), f"{label}: admin from its Secret")
check("ZENML_CLOUD_ADMIN_PASSWORD" not in secret_data(o, CP), f"{label}: no generated admin password")
check(one(o, "PersistentVolumeClaim") is None, f"{label}: no PVC with MySQL")
hpa = one(o, "HorizontalPodAutoscaler", CP)
check(hpa is not None and hpa["spec"]["minReplicas"] == 2 and hpa["spec"]["maxReplicas"] == 4
      and hpa["spec"]["scaleTargetRef"]["name"] == CP, f"{label}: HPA 2..4 on the Deployment")
pdb = one(o, "PodDisruptionBudget", CP)
check(pdb is not None and pdb["spec"] == {"minAvailable": 1, "selector": pdb["spec"]["selector"]}, f"{label}: PDB minAvailable 1")
check(dep["spec"]["template"]["spec"]["serviceAccountName"] == "zenml-pro", f"{label}: service account name")
ingress_checks(label, o, "zenml-pro.10.0.0.1.nip.io", "nginx-second", "zenml-pro-tls",
               {"cert-manager.io/cluster-issuer": "letsencrypt-prod"})
job = hook_checks(label, o, ["control-plane", "migrate"])
if job:
    jenv = env_of(job["spec"]["template"]["spec"]["containers"][0])
    check(plain(jenv, "ZENPRO_CP_DATABASE_URL") == plain(env, "ZENPRO_CP_DATABASE_URL"), f"{label}: job migrates the same DB")

o = objects(CP_CHART, "cp-postgres-password.yaml")
rendered["cp-postgres-password"] = o
label = "cp/postgres-password"
dep = one(o, "Deployment", CP)
c, env = common_pod_checks(label, dep, "control-plane", "/ready")
check(plain(env, "ZENPRO_CP_URL") == "https://cp.example.com", f"{label}: trailing / stripped")
check(secret_ref(env, "ZENPRO_CP_DATABASE_URL") == (CP, "ZENPRO_CP_DATABASE_URL"), f"{label}: URL from the release Secret")
data = secret_data(o, CP)
check(data.get("ZENPRO_CP_DATABASE_URL") == "postgres://cp:p%40ss%3Aw%2Frd@pg.db.svc:5432/zenml_pro",
      f"{label}: URL-encoded password, default port ({data.get('ZENPRO_CP_DATABASE_URL')})")
check(data.get("ZENML_CLOUD_ADMIN_PASSWORD") == "admin-password-from-values", f"{label}: admin password")
check(data.get("ZENPRO_CP_TOKEN_SECRET") == "token-secret-from-values", f"{label}: token key")
check(plain(env, "ZENPRO_CP_TOKEN_LIFETIME") == "3600", f"{label}: zenml.environment")
check(one(o, "PodDisruptionBudget") is None, f"{label}: PDB disabled")
no_secret_in_plain_env(label, env, ["p@ss:w/rd", "p%40ss", "admin-password-from-values", "token-secret-from-values"])
check(dep["spec"]["replicas"] == 1 and "strategy" not in dep["spec"], f"{label}: external DB, rolling update")
hook_checks(label, o, ["control-plane", "migrate"])

o = objects(CP_CHART, "cp-url-secret.yaml")
rendered["cp-url-secret"] = o
label = "cp/url-secret"
dep = one(o, "Deployment", CP)
c, env = common_pod_checks(label, dep, "control-plane", "/ready")
check(secret_ref(env, "ZENPRO_CP_DATABASE_URL") == ("cp-db", "DATABASE_URL"), f"{label}: URL from the user's Secret")
check(secret_ref(env, "ZENPRO_CP_TOKEN_SECRET") == ("cp-token", "key"), f"{label}: token key from the user's Secret")
check(not any(k == "Job" for k, _ in o), f"{label}: migration.enabled false -> no Job")

refused("cp/no-url", CP_CHART, None, [], "zenml.serverURL is required")
refused("cp/sqlite-hpa", CP_CHART, "cp-minimal.yaml", ["autoscaling.enabled=true"], "autoscaling needs an external database")
refused("cp/sqlite-replicas", CP_CHART, "cp-minimal.yaml", ["zenml.replicaCount=2"], "SQLite runs one replica")
refused("cp/sso", CP_CHART, "cp-minimal.yaml", ["zenml.auth.sso.enabled=true"], "sso")
refused("cp/bad-db-type", CP_CHART, "cp-minimal.yaml", ["zenml.database.external.type=oracle", "zenml.database.external.host=x"], "postgres or mysql")

# ---------------------------------------------------------------------------------------------
# the binary accepts what the charts render
# ---------------------------------------------------------------------------------------------
BIN = os.environ.get("ZENPRO_BIN", "")


def container_env_for_binary(objs, dep_name, container, tmp, sqlite_url):
    dep = objs[("Deployment", dep_name)]
    c = [x for x in dep["spec"]["template"]["spec"]["containers"] if x["name"] == container][0]
    out = {"PATH": os.environ.get("PATH", ""), "HOME": tmp}
    for e in c["env"]:
        if "valueFrom" in e:
            ref = e["valueFrom"]["secretKeyRef"]
            data = secret_data(objs, ref["name"])
            if data is not None:
                val = data[ref["key"]]
            elif e["name"] in ("ZENML_STORE_URL", "ZENPRO_CP_DATABASE_URL"):
                val = sqlite_url
            else:
                val = "value-of-" + ref["name"]
        else:
            val = re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: out.get(m.group(1), m.group(0)), e["value"])
        out[e["name"]] = val
    out["ZENPRO_DATA_DIR"] = os.path.join(tmp, "data")
    # External databases are swapped for a SQLite file: the configuration parsing is under test.
    for k in ("ZENML_STORE_URL", "ZENPRO_CP_DATABASE_URL"):
        if k in out and not out[k].startswith("sqlite"):
            out[k] = sqlite_url
    out.pop("ZENML_STORE_PASSWORD", None)
    out.pop("ZENPRO_CP_DATABASE_PASSWORD", None)
    return out


if BIN and os.access(BIN, os.X_OK):
    for name, objs in rendered.items():
        is_ws = name.startswith("workspace")
        with tempfile.TemporaryDirectory() as tmp:
            db = os.path.join(tmp, "db.sqlite")
            url = "sqlite:///" + db  # sqlite:////abs/path: absolute for both servers
            env = container_env_for_binary(objs, WS if is_ws else CP, "server" if is_ws else "control-plane", tmp, url)
            if "/zenpro/data/" in env.get("ZENPRO_CP_DATABASE_URL", ""):
                env["ZENPRO_CP_DATABASE_URL"] = url
            args = ["workspace", "migrate"] if is_ws else ["control-plane", "migrate"]
            p = subprocess.run([BIN, *args], env=env, cwd=tmp, capture_output=True, text=True, timeout=120)
            check(p.returncode == 0, f"binary/{name}: zenpro {' '.join(args)} refused the rendered configuration:\n"
                  f"{(p.stderr or p.stdout)[-800:]}")
            made = [os.path.join(r, f) for r, _, fs in os.walk(tmp) for f in fs if f.endswith((".db", ".sqlite"))]
            check(made and all(m.startswith(tmp) for m in made), f"binary/{name}: no database file created under {tmp}")
    print(f"charts: the binary accepted the rendered configuration of {len(rendered)} releases ({BIN})")
else:
    print("charts: ZENPRO_BIN not set or not executable: skipping the binary acceptance checks")

if failures:
    print(f"charts: {len(failures)} of {checks} checks FAILED:")
    for f in failures:
        print("  -", f)
    sys.exit(1)
print(f"charts: {checks} checks passed ({len(rendered)} renders, both charts)")
