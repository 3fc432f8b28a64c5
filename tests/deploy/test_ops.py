"""Prometheus rules pass `promtool check rules` and their unit tests; the Grafana dashboard and the rules only
name metrics the service exports."""

from __future__ import annotations

import json
import re
import subprocess

import yaml
from prometheus_client import REGISTRY

from tests.deploy.tools import ROOT, tool

RULES = ROOT / "ops/prometheus/idverify-rules.yaml"
RULE_TESTS = ROOT / "ops/prometheus/tests/idverify-rules.test.yaml"
DASHBOARD = ROOT / "ops/grafana/idverify-dashboard.json"
#: Series every Prometheus has about its targets.
PROMETHEUS_OWN = {"up"}
_PROMQL_WORDS = {"sum", "by", "rate", "increase", "histogram_quantile", "clamp_min", "topk", "max", "and", "on",
                 "le", "label_values", "without", "avg", "min", "count", "bool", "offset", "ignoring", "group_left"}


def exported_samples() -> set[str]:
    """Every sample name the service and its supervisor can export (histograms as _bucket/_sum/_count)."""
    import idverify.app
    import idverify.ml.pool
    import idverify.transport.interceptors
    import idverify.transport.metrics  # noqa: F401 - registers the metrics
    from idverify.transport import workers

    names: set[str] = set()
    families = list(REGISTRY.collect())

    class NoWorkers:
        restarts_total = 0

        def snapshot(self) -> list[object]:
            return []

    families += list(workers._SupervisorCollector(NoWorkers(), 0).collect())  # type: ignore[arg-type]
    families_names = {f.name for f in families}
    for family in families:
        kind = family.type
        if kind == "histogram":
            names |= {f"{family.name}_bucket", f"{family.name}_sum", f"{family.name}_count"}
        elif kind == "counter":
            names |= {f"{family.name}_total", f"{family.name}_created"}
        else:
            names.add(family.name)
    assert "idverify_worker_resident_memory_bytes" in families_names
    return names


def metric_names(expr: str) -> set[str]:
    """Identifiers in a PromQL expression that are metric names (not functions, keywords, labels or strings)."""
    without_strings = re.sub(r'"[^"]*"', '""', expr)
    without_labels = re.sub(r"\{[^}]*\}", "{}", without_strings)
    without_groupings = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", without_labels)
    without_ranges = re.sub(r"\[[^\]]*\]", "[]", without_groupings)
    tokens = set(re.findall(r"(?<![\w.])[a-zA-Z_:][a-zA-Z0-9_:]*", without_ranges))
    return {t for t in tokens if t not in _PROMQL_WORDS and not t.startswith("$")}


def recorded_names() -> set[str]:
    rules = yaml.safe_load(RULES.read_text())
    return {r["record"] for g in rules["groups"] for r in g["rules"] if "record" in r}


def test_promtool_accepts_the_rules() -> None:
    done = subprocess.run([tool("promtool"), "check", "rules", str(RULES)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_the_alerts_fire_and_stay_quiet_as_their_unit_tests_say() -> None:
    done = subprocess.run([tool("promtool"), "test", "rules", str(RULE_TESTS)], capture_output=True, text=True,
                          timeout=120, cwd=RULE_TESTS.parent)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_rule_names_a_metric_the_service_exports() -> None:
    known = exported_samples() | recorded_names() | PROMETHEUS_OWN
    rules = yaml.safe_load(RULES.read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            unknown = metric_names(rule["expr"]) - known
            assert not unknown, f"{rule.get('alert') or rule.get('record')}: {unknown}"


def test_every_dashboard_panel_queries_metrics_the_service_exports() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    known = exported_samples() | recorded_names() | PROMETHEUS_OWN
    assert dashboard["panels"]
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            names = metric_names(target["expr"])
            assert names, f"{panel['title']}: no metric in {target['expr']}"
            assert names <= known, f"{panel['title']}: {names - known}"


def test_the_name_check_catches_a_metric_that_does_not_exist() -> None:
    known = exported_samples()
    assert metric_names('sum by (method) (rate(idverify_rpc_totals{job="x"}[5m]))') - known == {"idverify_rpc_totals"}
    assert metric_names("histogram_quantile(0.99, sum by (le) (rate(idverify_rpc_seconds_bucket[5m])))") <= known


def test_dashboard_covers_factor_outcomes_reason_codes_and_model_latency() -> None:
    exprs = " ".join(t["expr"] for p in json.loads(DASHBOARD.read_text())["panels"] for t in p["targets"])
    for metric in ("idverify_factor_results_total", "idverify_rpc_errors_total", "idverify_inference_seconds_bucket",
                   "idverify_model_seconds_bucket", "idverify_worker_resident_memory_bytes"):
        assert metric in exprs


