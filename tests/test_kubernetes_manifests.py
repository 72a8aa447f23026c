"""The Kubernetes manifests are valid against the Kubernetes API schemas, offline."""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from django.conf import settings

from carecore.settings.redis_urls import (
    is_sentinel,
    master_password,
    redis_server_url,
    sentinel_addresses,
)

ROOT = Path(__file__).resolve().parent.parent
BASE = ROOT / "deploy" / "k8s" / "base"
KUBERNETES_VERSION = "1.33"
REDIS_SECRET = "carecore-redis"


def documents(path: Path) -> list[dict]:
    return [document for document in yaml.safe_load_all(path.read_text()) if document]


def base_resources() -> list[dict]:
    kustomization = yaml.safe_load((BASE / "kustomization.yaml").read_text())
    return [document for name in kustomization["resources"] for document in documents(BASE / name)]


def by_name(kind: str) -> dict[str, dict]:
    return {r["metadata"]["name"]: r for r in base_resources() if r["kind"] == kind}


def test_the_kustomization_lists_every_manifest_in_the_base() -> None:
    listed = set(yaml.safe_load((BASE / "kustomization.yaml").read_text())["resources"])
    assert listed == {path.name for path in BASE.glob("*.yaml")} - {"kustomization.yaml"}


@pytest.mark.parametrize(
    "resource", base_resources(), ids=lambda r: f"{r['kind']}/{r['metadata']['name']}"
)
def test_every_resource_validates_strictly(resource: dict) -> None:
    kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)


def test_web_is_probed_on_healthz_and_readyz_with_an_allowed_host() -> None:
    web = by_name("Deployment")["carecore-web"]["spec"]["template"]["spec"]["containers"][0]
    assert web["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"
    allowed = by_name("ConfigMap")["carecore-config"]["data"]["DJANGO_ALLOWED_HOSTS"]
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        (host,) = web[probe]["httpGet"]["httpHeaders"]
        assert host["value"] in allowed.split(",")


def test_a_worker_per_queue_consumes_every_queue_exactly_once() -> None:
    consumed = []
    for name, deployment in by_name("Deployment").items():
        if name.startswith("carecore-worker-"):
            (args,) = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
            consumed += args.split("--queues=")[1].split()[0].split(",")
    assert sorted(consumed) == sorted(settings.CARECORE_CELERY_QUEUES)


def test_beat_is_one_replica_never_two_during_a_rollout_and_runs_under_its_lock() -> None:
    beat = by_name("Deployment")["carecore-beat"]
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"]["type"] == "Recreate"
    assert beat["spec"]["template"]["spec"]["containers"][0]["command"][:3] == [
        "python",
        "manage.py",
        "run_beat",
    ]
    assert "carecore-beat" not in {
        hpa["spec"]["scaleTargetRef"]["name"] for hpa in by_name("HorizontalPodAutoscaler").values()
    }


def test_migrations_run_in_a_job_and_nowhere_else() -> None:
    job = by_name("Job")["carecore-migrate"]["spec"]["template"]["spec"]["containers"][0]
    assert "manage.py migrate" in " ".join(job["command"])
    for deployment in by_name("Deployment").values():
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert "migrate" not in " ".join(container.get("command", []) + container.get("args", []))


def test_only_the_migrate_job_connects_as_the_owner_and_grants_the_app_role() -> None:
    """docs/security.md, "Database roles": the processes run as `carecore_app`, which cannot
    change audit rows or disable the audit trigger; the owner's Secret is the migrate Job's."""

    def secrets(container: dict) -> set[str]:
        """The database Secrets the container reads (the Redis one is every pod's)."""
        return {
            item["valueFrom"]["secretKeyRef"]["name"]
            for item in container.get("env", [])
            if "secretKeyRef" in item.get("valueFrom", {})
            and item["valueFrom"]["secretKeyRef"]["name"] != REDIS_SECRET
        }

    job = by_name("Job")["carecore-migrate"]["spec"]["template"]["spec"]["containers"][0]
    assert "manage.py provision_db_roles" in " ".join(job["command"])
    assert secrets(job) == {"carecore-db-app"}
    for deployment in by_name("Deployment").values():
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert secrets(container) == {"carecore-db-runtime"}
        assert {
            "name": "DATABASE_URL",
            "value": "postgres://$(DB_USER):$(DB_PASSWORD)@carecore-db-rw:5432/app",
        } in container["env"]
    (cluster,) = documents(ROOT / "deploy/k8s/services/postgres-cluster.yaml")
    (role,) = cluster["spec"]["managed"]["roles"]
    assert role["name"] == "carecore_app"
    assert role["passwordSecret"]["name"] == "carecore-db-runtime"
    assert not role["superuser"]


def test_every_pod_runs_as_non_root_with_a_read_only_root_and_resource_requests() -> None:
    for kind in ("Deployment", "Job"):
        for resource in by_name(kind).values():
            pod = resource["spec"]["template"]["spec"]
            assert pod["securityContext"]["runAsNonRoot"] is True
            for container in pod["containers"]:
                assert container["securityContext"]["readOnlyRootFilesystem"] is True
                assert container["securityContext"]["allowPrivilegeEscalation"] is False
                assert container["resources"]["requests"]["cpu"]
                assert container["resources"]["requests"]["memory"]


def test_postgres_and_redis_come_from_their_operators_not_from_us() -> None:
    (cluster,) = documents(ROOT / "deploy/k8s/services/postgres-cluster.yaml")
    assert cluster["apiVersion"].startswith("postgresql.cnpg.io/")
    assert cluster["spec"]["instances"] >= 2
    assert {r["kind"] for r in base_resources()}.isdisjoint({"StatefulSet"})


def _containers() -> list[dict]:
    return [
        container
        for kind in ("Deployment", "Job")
        for resource in by_name(kind).values()
        for container in resource["spec"]["template"]["spec"]["containers"]
    ]


def test_every_pod_finds_redis_through_the_charts_sentinels_with_its_password() -> None:
    """docs/scaling.md, "Redis with Sentinel": no pod names a Redis server; each asks the
    sentinels of the chart in deploy/k8s/services/redis-values.yaml for the master."""
    (values,) = documents(ROOT / "deploy/k8s/services/redis-values.yaml")
    assert values["sentinel"]["enabled"] is True
    assert values["auth"]["sentinel"] is True  # the sentinels take the same password
    config = by_name("ConfigMap")["carecore-config"]["data"]
    assert config["REDIS_SENTINEL_MASTER"] == values["sentinel"]["masterSet"]
    assert "REDIS_URL" not in config
    for container in _containers():
        env = [item["name"] for item in container["env"]]
        values_of = {item["name"]: item.get("value") for item in container["env"]}
        # $(REDIS_PASSWORD) expands only when defined earlier in the list.
        assert env.index("REDIS_PASSWORD") < env.index("REDIS_URL"), container["name"]
        password = next(item for item in container["env"] if item["name"] == "REDIS_PASSWORD")
        assert password["valueFrom"]["secretKeyRef"] == {
            "name": REDIS_SECRET,
            "key": values["auth"]["existingSecretPasswordKey"],
        }
        url = values_of["REDIS_URL"]
        assert is_sentinel(url) and master_password(url) == "$(REDIS_PASSWORD)"
        assert sentinel_addresses(url) == [("carecore-redis", 26379)]
        assert values_of["REDIS_SENTINEL_PASSWORD"] == "$(REDIS_PASSWORD)"
        assert redis_server_url(url) == url  # the settings accept it as it is
