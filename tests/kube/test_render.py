"""`mlops render` without a cluster: manifests validated offline against the vendored KServe and
Argo CD schemas, for promotion, canary, full promotion and rollback by revert."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml

from mlops.core.errors import ConfigError
from mlops.formats import environments, environments_kserve, models_file
from mlops.formats.models_file import Canary, Deployment, Pin
from mlops.kube import render, schemas
from mlops.model import registry
from tests.conftest import BIN, git, mlops

MODEL = "churn-model"
BUCKET = "s3://team-bucket/dvc"
ISVC = "deploy/production/churn-model.yaml"


def _meta(n: int) -> dict:
    return {
        "artifact": "artifacts/model.skops",
        "md5": f"{n:x}" * 32,
        "sha256": "sha256:" + f"{n:x}" * 64,
        "params": {"evaluate": {"threshold": 0.4}},
    }


@pytest.fixture
def kube_repo(sampled_template, tmp_path) -> Path:
    """The template with production served by KServe and two registered versions (tags only:
    rendering reads the registry, never the DVC remote)."""
    # the churn model these tests name, whatever table the workspace adopted
    repo = Path(shutil.copytree(sampled_template, tmp_path / "repo", symlinks=True))
    path = repo / "environments" / "production.yaml"
    config = yaml.safe_load(path.read_text())
    config["serving"] = {"target": "kserve", "kserve": {"storage_uri": BUCKET, "replicas": 2}}
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "template, production on KServe")
    for n, version in ((1, "v1.0.0"), (2, "v1.1.0")):
        git(repo, "tag", "-a", registry.tag_name(MODEL, version), "-m", json.dumps(_meta(n)))
    return repo


def _set(repo: Path, deployment: Deployment | None, message: str) -> str:
    path = repo / "models.yaml"
    path.write_text(models_file.with_deployment(path.read_text(), "production", deployment))
    render.write(repo)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", message)
    return git(repo, "rev-parse", "HEAD")


def _isvc(repo: Path) -> dict:
    return yaml.safe_load((repo / ISVC).read_text())


def _env(isvc: dict) -> dict:
    [container] = isvc["spec"]["predictor"]["containers"]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def _pins(repo: Path) -> dict:
    state = yaml.safe_load((repo / "deploy/production/desired-state.yaml").read_text())
    return yaml.safe_load(state["data"][MODEL])


def _template(repo: Path) -> str:
    """The predictor's pod template as Knative sees it: a change here is a new revision."""
    isvc = _isvc(repo)
    predictor = {k: v for k, v in isvc["spec"]["predictor"].items() if k != "canaryTrafficPercent"}
    return json.dumps([predictor, isvc["metadata"]["annotations"], isvc["metadata"]["labels"]])


def _valid(repo: Path) -> None:
    for rel in (ISVC, "deploy/argocd/production.yaml"):
        assert schemas.problems(yaml.safe_load((repo / rel).read_text())) == [], rel


V1 = Pin("v1.0.0", _meta(1)["sha256"])
V2 = Pin("v1.1.0", _meta(2)["sha256"])


def test_promotion_canary_full_promotion_and_rollbacks(kube_repo):
    repo = kube_repo
    first = _set(repo, Deployment(V1), "promote production: none → v1.0.0")
    _valid(repo)
    isvc = _isvc(repo)
    assert "canaryTrafficPercent" not in isvc["spec"]["predictor"]
    assert isvc["metadata"]["namespace"] == "mlops-production"
    assert isvc["spec"]["predictor"]["minReplicas"] == 2
    env = _env(isvc)
    assert env["MLOPS_MODEL_VERSION"] == "v1.0.0" and env["MLOPS_MODEL_DIGEST"] == V1.digest
    assert env["STORAGE_URI"] == f"{BUCKET}/files/md5/11/{'1' * 30}"  # DVC's content address
    assert env["MLOPS_MODEL_FILE"] == f"/mnt/models/{'1' * 30}"
    assert env["MLOPS_MODEL_THRESHOLD"] == "0.4"
    # the log's hash key from a Secret, never in Git; optional: without it the personal
    # columns are left out of the log
    assert env["MLOPS_LOG_HASH_KEY"] == {
        "secretKeyRef": {"name": "mlops-log-hash-key", "key": "key", "optional": True}
    }
    app = yaml.safe_load((repo / "deploy/argocd/production.yaml").read_text())
    assert app["spec"]["source"]["path"] == "deploy/production"
    assert app["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    assert render.write(repo) == [] and render.stale(repo) == []  # deterministic
    assert not (repo / "deploy" / "staging").exists()  # staging stays on `mlops serve`

    canary = _set(repo, Deployment(V1, Canary(V2.version, V2.digest, 10)), "canary v1.1.0 10%")
    _valid(repo)
    isvc = _isvc(repo)
    assert isvc["spec"]["predictor"]["canaryTrafficPercent"] == 10
    assert _env(isvc)["MLOPS_MODEL_VERSION"] == "v1.1.0"  # the latest spec is the canary
    assert _pins(repo)["version"] == "v1.0.0"  # the stable, in the desired-state ConfigMap
    assert render.canary_problems(repo, first) == []  # v1.0.0 was rolled out at 100 %

    _set(repo, Deployment(V2), "promote production: v1.0.0 + canary → v1.1.0")
    _valid(repo)
    isvc = _isvc(repo)
    assert "canaryTrafficPercent" not in isvc["spec"]["predictor"]
    assert _env(isvc)["MLOPS_MODEL_VERSION"] == "v1.1.0"

    # rollback by revert of the canary, against what the canary deployed: the old manifest
    # would roll v1.0.0 out anew and serve the canary meanwhile; KServe's rollback is 0 %
    git(repo, "reset", "-q", "--hard", canary)
    template = _isvc(repo)["spec"]["predictor"]["containers"]
    git(repo, "revert", "--no-edit", canary)
    assert render.stale(repo, base=canary) and render.write(repo, base=canary)
    _valid(repo)
    predictor = _isvc(repo)["spec"]["predictor"]
    assert predictor["canaryTrafficPercent"] == 0 and predictor["containers"] == template
    assert _pins(repo) == {"version": V1.version, "digest": V1.digest}
    assert render.stale(repo, base=canary) == []
    git(repo, "commit", "-qam", "render the revert")
    assert render.stale(repo) == []  # a fixed point once deployed


def test_traffic_changes_and_a_revert_keep_the_revision(kube_repo):
    """full -> canary 10 % -> 30 % -> revert: only canaryTrafficPercent changes; the revert
    sends 0 % to the canary at once (KServe's rollback), with no new revision."""
    repo = kube_repo
    _set(repo, Deployment(V1), "v1.0.0")
    _valid(repo)
    [container] = _isvc(repo)["spec"]["predictor"]["containers"]
    assert _env(_isvc(repo))["PROTOCOL"] == "v2"
    assert container["livenessProbe"]["httpGet"] == {"path": "/v2/health/live", "port": 8080}
    assert container["readinessProbe"]["httpGet"] == {"path": "/v2/health/ready", "port": 8080}
    assert container["ports"] == [{"name": "http1", "containerPort": 8080, "protocol": "TCP"}]
    assert _isvc(repo)["spec"]["predictor"]["serviceAccountName"] == "mlops-storage"  # s3 keys
    seen = {}
    for traffic in (10, 30):
        _set(repo, Deployment(V1, Canary(V2.version, V2.digest, traffic)), f"canary {traffic}%")
        _valid(repo)
        assert _isvc(repo)["spec"]["predictor"]["canaryTrafficPercent"] == traffic
        seen[traffic] = _template(repo)
    _set(repo, Deployment(V1), "revert: canary aborted")  # base: main, the 30 % state
    _valid(repo)
    assert _isvc(repo)["spec"]["predictor"]["canaryTrafficPercent"] == 0
    assert seen[10] == seen[30] == _template(repo)
    assert render.write(repo) == [] and render.stale(repo) == []  # a fixed point
    assert render.canary_problems(repo, "HEAD") == []
    _set(repo, Deployment(V1, Canary(V2.version, V2.digest, 20)), "canary again")
    assert _isvc(repo)["spec"]["predictor"]["canaryTrafficPercent"] == 20
    _set(repo, Deployment(V2), "promote v1.1.0 fully")
    _valid(repo)
    assert "canaryTrafficPercent" not in _isvc(repo)["spec"]["predictor"]
    assert _template(repo) == seen[10]  # KServe promotes the ready revision: no new one


def test_a_field_the_api_server_would_drop_is_a_problem(kube_repo):
    """KServe's CRD is a structural schema: an undeclared field passes JSON Schema but the API
    server drops it without a word, so a misspelt canaryTrafficPercent would ship 100 %."""
    _set(kube_repo, Deployment(V1, Canary(V2.version, V2.digest, 10)), "canary")
    isvc = _isvc(kube_repo)
    predictor = isvc["spec"]["predictor"]
    predictor["canaryTraficPercent"] = predictor.pop("canaryTrafficPercent")
    predictor["containers"][0]["env"][0]["valueFrm"] = {}
    assert schemas.problems(isvc) == [
        "spec.predictor.containers[0].env[0].valueFrm: not in the schema (the API server would "
        "drop it)",
        "spec.predictor.canaryTraficPercent: not in the schema (the API server would drop it)",
    ]
    with pytest.raises(schemas.ManifestError, match=r"canaryTraficPercent: not in the schema"):
        schemas.validate(isvc, ISVC)


def test_raw_deployment_refuses_a_canary_and_exposes_grpc(kube_repo):
    path = kube_repo / "environments" / "production.yaml"
    config = yaml.safe_load(path.read_text())
    config["serving"]["kserve"]["deployment_mode"] = "RawDeployment"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    _set(kube_repo, Deployment(V1), "v1.0.0")
    _valid(kube_repo)
    [container] = _isvc(kube_repo)["spec"]["predictor"]["containers"]
    assert {"name": "h2c", "containerPort": 8081, "protocol": "TCP"} in container["ports"]
    with pytest.raises(ConfigError, match=r"deployment_mode = .RawDeployment.: RawDeployment "):
        _set(kube_repo, Deployment(V1, Canary(V2.version, V2.digest, 10)), "canary")


def test_canary_kserve_cannot_express_is_refused(kube_repo):
    repo = kube_repo
    _set(repo, Deployment(V1), "v1.0.0")
    canary = _set(repo, Deployment(V1, Canary(V2.version, V2.digest, 10)), "canary")
    full = _set(repo, Deployment(V2), "full")
    git(repo, "revert", "--no-edit", full)  # back to v1.0.0 + canary, but v1.1.0 is rolled out
    [problem] = render.canary_problems(repo, full)
    assert problem.startswith(ISVC) and "v1.1.0 at" in problem and "stable v1.0.0" in problem
    assert canary  # the canary itself was fine against its base
    assert render.canary_problems(repo, canary) == []


def test_check_names_the_stale_file(kube_repo):
    repo = kube_repo
    _set(repo, Deployment(V1), "v1.0.0")
    path = repo / "models.yaml"
    path.write_text(models_file.with_deployment(path.read_text(), "production", Deployment(V2)))
    problem, state = render.stale(repo)  # the InferenceService and the desired-state ConfigMap
    assert problem.startswith(f"{ISVC}: stale against models.yaml") and "mlops render" in problem
    assert state.startswith("deploy/production/desired-state.yaml: stale")
    out = mlops(repo, "check", "--base", "HEAD", check=False)
    assert out.returncode == 1 and f"{ISVC}: stale" in out.stderr
    assert "```diff" not in out.stdout  # nothing rendered yet: no manifest change to show
    mlops(repo, "render", "--env", "production")
    assert render.stale(repo) == []
    plan = mlops(repo, "check", "--base", "HEAD", check=False).stdout
    assert "### Manifests (deploy/" in plan and "+        value: v1.1.0" in plan


def _without_storage_uri(repo: Path, **kserve) -> None:
    path = repo / "environments" / "production.yaml"
    config = yaml.safe_load(path.read_text())
    config["serving"]["kserve"] = {"replicas": 1, **kserve}
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path = repo / "models.yaml"
    path.write_text(models_file.with_deployment(path.read_text(), "production", Deployment(V1)))


def test_a_local_folder_remote_is_read_from_a_pvc(kube_repo):
    """The template's remote is a local folder (``../.dvc-storage``): with no storage_uri the
    InferenceService reads it from the claim ``dvc-remote``, mounted as /mnt/models; the
    version, digest and file name the container checks are the same as from a bucket."""
    _without_storage_uri(kube_repo)
    rendered = mlops(kube_repo, "render", "--env", "production")
    out = rendered.stdout.splitlines()
    assert f"wrote {ISVC}" in out
    assert "serving.kserve.image is the template's placeholder" in rendered.stderr
    assert "serving.kserve.repo_url is the template's placeholder" in rendered.stderr
    assert out[-1] == (
        "production: the DVC remote is the local folder '../.dvc-storage', so the "
        "InferenceService reads it from the PersistentVolumeClaim pvc://dvc-remote "
        "(serving.kserve.remote_pvc), which must hold that folder's content in the cluster; "
        "an S3, GCS or Azure remote needs no PVC"
    )
    _valid(kube_repo)
    env = _env(_isvc(kube_repo))
    assert env["STORAGE_URI"] == "pvc://dvc-remote/files/md5/11"  # a folder: KServe's subPath
    assert env["MLOPS_MODEL_FILE"] == f"/mnt/models/{'1' * 30}"
    assert env["MLOPS_MODEL_VERSION"] == "v1.0.0" and env["MLOPS_MODEL_DIGEST"] == V1.digest
    assert "serviceAccountName" not in _isvc(kube_repo)["spec"]["predictor"]  # no keys to read
    assert render.stale(kube_repo) == []

    _without_storage_uri(kube_repo, remote_pvc="shared-models/teams/churn")
    render.write(kube_repo)
    assert _env(_isvc(kube_repo))["STORAGE_URI"] == "pvc://shared-models/teams/churn/files/md5/11"
    _without_storage_uri(kube_repo, remote_pvc="Bad_Claim")
    with pytest.raises(ConfigError, match=r"remote_pvc = .Bad_Claim.: must be a Persistent"):
        render.write(kube_repo)

    _without_storage_uri(kube_repo)  # an object store needs no claim, and no note
    dvc_config = kube_repo / ".dvc" / "config"
    dvc_config.write_text(dvc_config.read_text().replace("../.dvc-storage", BUCKET))
    out = mlops(kube_repo, "render", "--env", "production").stdout
    assert "PersistentVolumeClaim" not in out
    assert _env(_isvc(kube_repo))["STORAGE_URI"] == f"{BUCKET}/files/md5/11/{'1' * 30}"


def test_render_refuses_a_remote_the_cluster_cannot_read(kube_repo):
    _without_storage_uri(kube_repo)
    dvc_config = kube_repo / ".dvc" / "config"
    dvc_config.write_text(dvc_config.read_text().replace("../.dvc-storage", "ssh://host/dvc"))
    with pytest.raises(ConfigError, match=r"serving\.kserve\.storage_uri: the DVC"):
        render.write(kube_repo)


def test_switching_back_to_local_removes_the_manifests(kube_repo):
    repo = kube_repo
    _set(repo, Deployment(V1), "v1.0.0")
    path = repo / "environments" / "production.yaml"
    config = yaml.safe_load(path.read_text())
    config["serving"] = {"target": "local", "url": "http://127.0.0.1:8100"}
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    assert any("no longer rendered" in p for p in render.stale(repo))
    assert set(render.write(repo)) == {ISVC, "deploy/production/desired-state.yaml",
                                       "deploy/argocd/production.yaml"}  # fmt: skip
    assert render.stale(repo) == []


def _status(repo: Path, path: str) -> dict:
    rows = json.loads(mlops(repo, "status", "--json", env={"PATH": path}).stdout)
    return next(r for r in rows if r["env"] == "production")


def test_status_reads_kubectl_and_says_when_it_is_missing(kube_repo, tmp_path):
    repo = kube_repo
    _set(repo, Deployment(V1), "v1.0.0")
    only_git = tmp_path / "git-only"
    only_git.mkdir()
    (only_git / "git").symlink_to(shutil.which("git"))
    no_kubectl = os.pathsep.join([BIN, str(only_git)])
    row = _status(repo, no_kubectl)
    assert row["sync"] == "Unknown" and row["reason"].startswith("kubectl is not installed here")
    # what the predictor reserves: 500m requested x 2 replicas x $0.05 per CPU-hour
    assert row["usd_per_hour"] == pytest.approx(0.05) and row["usd_per_1000"] is None
    table = mlops(repo, "status", env={"PATH": no_kubectl}).stdout
    assert "cost" in table.splitlines()[0] and "$0.0500/h" in table

    applied = _isvc(repo)  # what Argo CD applied, as the cluster reports it
    applied["metadata"]["generation"] = 2
    applied["status"] = {
        "observedGeneration": 2,
        "conditions": [{"type": "Ready", "status": "True"}],
    }
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "applied.json").write_text(json.dumps(applied))
    state = yaml.safe_load((repo / "deploy/production/desired-state.yaml").read_text())
    (fake / "state.json").write_text(json.dumps(state))
    (fake / "kubectl").write_text(
        f'#!/bin/sh\ncase "$3" in churn-model) /bin/cat {fake}/applied.json;; '
        f"mlops-desired-state) /bin/cat {fake}/state.json;; *) exit 1;; esac\n"
    )
    (fake / "kubectl").chmod(0o755)
    with_kubectl = os.pathsep.join([str(fake), no_kubectl])
    row = _status(repo, with_kubectl)
    assert (row["live"], row["sync"], row["health"]) == ("v1.0.0", "Synced", "Healthy")

    _set(repo, Deployment(V1, Canary(V2.version, V2.digest, 10)), "canary, not applied yet")
    row = _status(repo, with_kubectl)
    assert row["sync"] == "OutOfSync" and row["desired"] == "v1.0.0 + canary v1.1.0 at 10%"


def test_cpu_quantities_and_what_a_predictor_reserves(tmp_path):
    quantities = ("500m", "2", 1.5, "250m")
    assert [environments_kserve.cpus(q) for q in quantities] == [0.5, 2.0, 1.5, 0.25]
    raw = {"serving": {"target": "kserve", "kserve": {"resources": {"limits": {"cpu": "2"}}}}}
    assert environments.parse(raw, "production", "p.yaml").serving.kserve.requested_cpus() == 2.0
    raw["serving"]["kserve"]["resources"] = {"requests": {"cpu": "half"}}
    with pytest.raises(ConfigError, match=r"resources\.requests\.cpu = .half.: must be CPUs"):
        environments.parse(raw, "production", "p.yaml")
