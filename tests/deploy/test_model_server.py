"""The optional model-server overlay: production plus MLServer pods serving the face models over KServe V2."""

from __future__ import annotations

import json
from pathlib import Path

import kubernetes_validate

from tests.deploy.test_kubernetes import KUBERNETES_VERSION, one, render
from tests.deploy.tools import ROOT


def test_the_model_server_overlay_validates_and_points_idverify_at_its_service(tmp_path: Path) -> None:
    docs = render("model-server", tmp_path)
    for doc in docs:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    config = one(docs, "ConfigMap")["data"]
    service = one(docs, "Service", "idverify-model-server")
    port = service["spec"]["ports"][0]["port"]
    assert config["IDVERIFY_INFERENCE_BACKEND"] == "kserve"
    assert config["IDVERIFY_KSERVE_TARGET"] == f"idverify-model-server:{port}"
    server = one(docs, "Deployment", "idverify-model-server")
    pod = server["spec"]["template"]
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    container = pod["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert {p["containerPort"] for p in container["ports"]} >= {port}
    # idverify's own pods still come from the production overlay, with the same probes.
    assert one(docs, "Deployment", "idverify")["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]


def test_only_idverify_pods_reach_the_model_server_and_they_may(tmp_path: Path) -> None:
    docs = render("model-server", tmp_path)
    inbound = one(docs, "NetworkPolicy", "idverify-model-server")["spec"]
    outbound = one(docs, "NetworkPolicy", "idverify-to-model-server")["spec"]
    server_pods = one(docs, "Deployment", "idverify")["spec"]["template"]["metadata"]["labels"]
    model_pods = one(docs, "Deployment", "idverify-model-server")["spec"]["template"]["metadata"]["labels"]
    allowed_from = inbound["ingress"][0]["from"][0]["podSelector"]["matchLabels"]
    assert allowed_from.items() <= server_pods.items()
    assert inbound["podSelector"]["matchLabels"].items() <= model_pods.items()
    assert outbound["podSelector"]["matchLabels"].items() <= server_pods.items()
    assert outbound["egress"][0]["ports"] == [{"port": 8081, "protocol": "TCP"}]


def test_the_model_server_image_serves_on_the_ports_the_manifests_name() -> None:
    settings = json.loads((ROOT / "deploy/model-server/settings.json").read_text())
    text = (ROOT / "deploy/kubernetes/overlays/model-server/model-server.yaml").read_text()
    assert f"containerPort: {settings['grpc_port']}" in text and f"port: {settings['http_port']}" in text
    assert "scripts/mlserver-requirements.txt" in (ROOT / "deploy/model-server/Dockerfile").read_text()
