"""The Kubernetes manifests render with `kubectl kustomize` and validate against the Kubernetes API schemas."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.deploy.tools import ROOT, tool

K8S = ROOT / "deploy/kubernetes"
#: The oldest Kubernetes release the manifests target (gRPC probes are GA from 1.27).
KUBERNETES_VERSION = "1.33.0"
#: Measured peak resident memory of one worker after OCR and liveness, MiB (docs/capacity.md), and the parent's.
WORKER_PEAK_MIB = 750
PARENT_MIB = 60


def render(overlay: str, tmp_path: Path) -> list[dict[str, Any]]:
    """Render an overlay from a copy of deploy/kubernetes, with the production secrets filled from the examples
    (as an operator would fill them)."""
    copy = tmp_path / "kubernetes"
    shutil.copytree(K8S, copy, ignore=shutil.ignore_patterns(".gitignore"))
    for example in (copy / "overlays/production/secrets").glob("*.example"):
        example.with_suffix("").write_text(example.read_text())
    done = subprocess.run([tool("kubectl"), "kustomize", str(copy / "overlays" / overlay)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


@pytest.fixture(params=["development", "production"])
def rendered(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, list[dict[str, Any]]]:
    return request.param, render(request.param, tmp_path)


def one(docs: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    assert len(found) == 1, f"{kind} {name}: {len(found)} found"
    return found[0]


def test_every_rendered_object_validates_against_the_kubernetes_schema(rendered) -> None:  # type: ignore[no-untyped-def]
    _, docs = rendered
    kinds = sorted(d["kind"] for d in docs)
    assert kinds == sorted(["ConfigMap", "Deployment", "HorizontalPodAutoscaler", "Job", "NetworkPolicy",
                            "PodDisruptionBudget", "Secret", "Secret", "Service", "Service", "ServiceAccount"])
    for doc in docs:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_a_broken_manifest_is_caught_by_the_validator(tmp_path: Path) -> None:
    docs = render("production", tmp_path)
    deployment = one(docs, "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["grpc"]["prot"] = 50051
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_probes_are_grpc_and_liveness_ignores_the_database(rendered) -> None:  # type: ignore[no-untyped-def]
    _, docs = rendered
    container = one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["grpc"] == {"port": 50051}
    assert container["startupProbe"]["grpc"] == {"port": 50051}
    assert container["livenessProbe"]["grpc"] == {"port": 50051, "service": "idverify.liveness"}


def test_selectors_match_the_pods_and_clients_are_selected_by_their_own_label(rendered) -> None:  # type: ignore[no-untyped-def]
    _, docs = rendered
    pod_labels = one(docs, "Deployment")["spec"]["template"]["metadata"]["labels"]
    selectors = [one(docs, "Deployment")["spec"]["selector"]["matchLabels"],
                 one(docs, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"],
                 one(docs, "NetworkPolicy")["spec"]["podSelector"]["matchLabels"],
                 *(s["spec"]["selector"] for s in docs if s["kind"] == "Service")]
    for selector in selectors:
        assert selector.items() <= pod_labels.items()
    grpc_from = one(docs, "NetworkPolicy")["spec"]["ingress"][0]["from"][0]["podSelector"]
    assert grpc_from == {"matchExpressions": [{"key": "idverify/client", "operator": "In", "values": ["true"]}]}
    hpa = one(docs, "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"]["name"] == one(docs, "Deployment")["metadata"]["name"]


def test_memory_request_covers_every_worker_at_its_measured_peak(rendered) -> None:  # type: ignore[no-untyped-def]
    _, docs = rendered
    container = one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    workers = int(container["resources"]["requests"]["cpu"])  # IDVERIFY_WORKERS follows requests.cpu
    workers_env = next(e for e in container["env"] if e["name"] == "IDVERIFY_WORKERS")
    assert workers_env["valueFrom"]["resourceFieldRef"]["resource"] == "requests.cpu"
    request_mib = int(container["resources"]["requests"]["memory"].removesuffix("Mi"))
    limit_mib = int(container["resources"]["limits"]["memory"].removesuffix("Mi").removesuffix("Gi"))
    limit_mib *= 1024 if container["resources"]["limits"]["memory"].endswith("Gi") else 1
    assert request_mib >= workers * WORKER_PEAK_MIB + PARENT_MIB
    assert limit_mib >= request_mib


def test_secrets_the_pods_use_are_rendered_and_production_commits_none(rendered) -> None:  # type: ignore[no-untyped-def]
    overlay, docs = rendered
    secrets = {d["metadata"]["name"] for d in docs if d["kind"] == "Secret"}
    spec = one(docs, "Deployment")["spec"]["template"]["spec"]
    used = {ref["secretRef"]["name"] for ref in spec["containers"][0]["envFrom"] if "secretRef" in ref}
    used |= {v["secret"]["secretName"] for v in spec["volumes"] if "secret" in v}
    assert used <= secrets
    job = one(docs, "Job")["spec"]["template"]["spec"]["containers"][0]
    assert {ref["secretRef"]["name"] for ref in job["envFrom"] if "secretRef" in ref} <= secrets
    if overlay == "production":
        tracked = subprocess.run(["git", "ls-files", "deploy/kubernetes/overlays/production/secrets"], cwd=ROOT,
                                 capture_output=True, text=True).stdout.split()
        assert all(name.endswith((".example", ".gitignore")) for name in tracked), tracked
