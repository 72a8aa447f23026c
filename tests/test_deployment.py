"""How CareCore is run and shipped: compose file, image, production settings, docs, bootstrap.

No Docker engine runs where the suite runs, so the compose file and Dockerfile are checked as
files; production settings are loaded for real in subprocesses (they must not leak into this
process's settings), and `make run`'s bootstrap is started for real against the suite's
embedded services.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import tomllib
import types
import urllib.request
from contextlib import closing, suppress
from pathlib import Path

import environ
import pytest
import yaml
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import Resolver404, resolve

from carecore.settings.redis_urls import redis_database_url, redis_server_url
from demo.management.commands import seed_demo
from tests.worker import wait_until

ROOT = Path(__file__).resolve().parent.parent
# Every launcher starts the web the same way (carecore/web_server.py).
WEB_SERVER = "gunicorn carecore.asgi:application --config python:carecore.web_server"
PYTHON = sys.executable
WORKERS = ("worker-urgent", "worker-deliveries", "worker-routine")
APP_SERVICES = ("migrate", "web", *WORKERS, "beat")
LONG_RUNNING = ("postgres", "redis", "web", *WORKERS, "beat")


def load_script(name: str) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(
        f"carecore_script_{name}", ROOT / "scripts" / name
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def production_env(**overrides: str | None) -> dict[str, str]:
    """A complete, fake production environment (nothing here is reachable or real)."""
    env = {
        key: value
        for key, value in os.environ.items()
        # Nothing from the suite's own configuration may leak into "production".
        if not key.startswith(
            (
                "DJANGO_",
                "CARECORE_",
                "DATABASE_",
                "REDIS_",
                "EMAIL_",
                "CELERY_",
                "TWILIO_",
                "POSTMARK_",
                "MAILGUN_",
                "SENDGRID_",
                "AMAZON_SES_",
            )
        )
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "carecore.settings.production",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": "api.carecore.example",
            "DATABASE_URL": "postgres://carecore:not-a-password@db.internal:5432/carecore",
            "REDIS_URL": "redis://redis.internal:6379",
            "EMAIL_HOST": "smtp.carecore.example",
            "CARECORE_PORTAL_URL": "https://portal.carecore.example",
        }
    )
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


# --- docker-compose.yml --------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_has_the_database_broker_and_every_process(compose: dict) -> None:
    assert set(compose["services"]) == {
        "postgres",
        "redis",
        "db-roles",
        "migrate",
        "web",
        *WORKERS,
        "beat",
    }


def test_web_worker_beat_and_migrate_run_one_image_built_from_the_dockerfile(compose: dict):
    services = compose["services"]
    images = {services[name]["image"] for name in APP_SERVICES}
    builds = {repr(services[name]["build"]) for name in APP_SERVICES}
    assert len(images) == 1
    assert len(builds) == 1
    assert services["web"]["build"]["dockerfile"] == "Dockerfile"
    assert services["web"]["build"]["context"] == "."


def test_every_long_running_service_has_a_healthcheck(compose: dict) -> None:
    def check(name: str) -> str:
        healthcheck = compose["services"][name]["healthcheck"]
        assert not healthcheck.get("disable")
        test = healthcheck["test"]
        return " ".join(test) if isinstance(test, list) else test

    assert "pg_isready" in check("postgres")
    assert "redis-cli ping" in check("redis")
    assert "scripts/healthcheck.py web" in check("web")  # GET /healthz, see below
    for worker in WORKERS:
        assert "celery -A carecore inspect ping" in check(worker)
    assert "scripts/healthcheck.py beat" in check("beat")


def test_the_one_off_migrate_step_runs_before_web_worker_and_beat(compose: dict) -> None:
    services = compose["services"]
    assert services["migrate"]["command"] == [
        "sh",
        "-c",
        "python manage.py migrate --no-input && python manage.py sync_questionnaires"
        " && python manage.py provision_db_roles",
    ]
    assert services["migrate"]["restart"] == "no"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["migrate"]["depends_on"]["db-roles"]["condition"] == (
        "service_completed_successfully"
    )
    for name in ("web", *WORKERS, "beat"):
        depends_on = services[name]["depends_on"]
        assert depends_on["migrate"]["condition"] == "service_completed_successfully"
        assert depends_on["redis"]["condition"] == "service_healthy"
    for name in ("web", *WORKERS):
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
    # Nobody else migrates: scaling web must not run migrations concurrently.
    for name in ("web", *WORKERS, "beat"):
        assert "migrate" not in " ".join(services[name]["command"])


def test_the_processes_run_the_web_server_celery_worker_and_a_single_beat(compose: dict) -> None:
    services = compose["services"]
    assert WEB_SERVER in " ".join(services["web"]["command"])
    for worker in WORKERS:
        assert "celery -A carecore worker" in " ".join(services[worker]["command"])
    assert services["beat"]["command"][:3] == ["python", "manage.py", "run_beat"]
    assert services["beat"].get("deploy", {}).get("replicas", 1) == 1
    # The web listens on $PORT, the port scripts/healthcheck.py probes, and that port is published.
    assert '--bind "0.0.0.0:$${PORT:-8000}"' in services["web"]["command"][-1]
    assert services["web"]["ports"] == ["${WEB_PORT:-8000}:${PORT:-8000}"]


def test_each_celery_queue_has_exactly_one_compose_worker(compose: dict) -> None:
    consumed = []
    for worker in WORKERS:
        command = compose["services"][worker]["command"][-1]
        consumed += command.split("--queues=")[1].split()[0].split(",")
    assert sorted(consumed) == sorted(django_settings.CARECORE_CELERY_QUEUES)


def test_the_procfile_worker_consumes_every_queue() -> None:
    worker = dict(
        line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip()
    )["worker"]
    default_queues = worker.split("--queues=${CELERY_QUEUES:-")[1].split("}")[0].split(",")
    assert sorted(default_queues) == sorted(django_settings.CARECORE_CELERY_QUEUES)


def test_app_services_take_env_from_dotenv_and_point_at_the_compose_services(compose: dict):
    for name in APP_SERVICES:
        service = compose["services"][name]
        assert service["env_file"] == ".env"
        assert "@postgres:5432/" in service["environment"]["DATABASE_URL"]
        assert service["environment"]["REDIS_URL"] == "redis://redis:6379"
        assert service["environment"]["DJANGO_SETTINGS_MODULE"] == "carecore.settings.production"


def test_only_db_roles_uses_the_superuser_migrate_the_owner_and_the_rest_the_app_role(
    compose: dict,
) -> None:
    """docs/security.md, "Database roles": the app must not be able to disable the audit
    trail's append-only trigger, so it never runs as the superuser or the table owner."""
    services = compose["services"]

    def user(name: str) -> str:
        return services[name]["environment"]["DATABASE_URL"].split("//")[1].split(":")[0]

    assert user("db-roles") == "${POSTGRES_USER"
    assert services["db-roles"]["command"] == [
        "python",
        "manage.py",
        "provision_db_roles",
        "--create-roles",
    ]
    assert user("migrate") == "${CARECORE_DB_OWNER_ROLE"
    for name in ("web", *WORKERS, "beat"):
        assert user(name) == "${CARECORE_DB_APP_ROLE", name
    for name in ("db-roles", "migrate", "web", *WORKERS, "beat"):
        assert services[name]["environment"]["REDIS_URL"] == "redis://redis:6379"


def test_the_database_and_redis_are_not_published_to_the_host(compose: dict) -> None:
    assert "ports" not in compose["services"]["postgres"]
    assert "ports" not in compose["services"]["redis"]


# --- Dockerfile and .dockerignore ----------------------------------------------------------


@pytest.fixture(scope="module")
def dockerfile() -> list[str]:
    # Join continuation lines so each instruction is one string.
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]


def test_the_image_is_python_311_slim(dockerfile: list[str]) -> None:
    assert dockerfile[0] == "FROM python:3.11-slim"


def test_dependencies_install_only_from_the_hashed_lock_file(dockerfile: list[str]) -> None:
    installs = [line for line in dockerfile if "pip install" in line]
    assert installs == ["RUN pip install --require-hashes --no-deps -r requirements.lock"]


def test_static_files_are_collected_at_build_time(dockerfile: list[str]) -> None:
    assert any(
        line.startswith("RUN ") and "manage.py collectstatic --no-input" in line
        for line in dockerfile
    )


def test_the_container_runs_as_a_non_root_user(dockerfile: list[str]) -> None:
    users = [line.split()[1] for line in dockerfile if line.startswith("USER ")]
    assert users, "no USER instruction"
    assert users[-1] not in {"root", "0", "0:0"}
    # Everything after the last USER runs unprivileged; installing must happen before it.
    last_user = max(i for i, line in enumerate(dockerfile) if line.startswith("USER "))
    assert not any(line.startswith("RUN ") for line in dockerfile[last_user:])


def test_the_image_runs_the_web_server_and_checks_its_own_health(dockerfile: list[str]) -> None:
    assert any(line.startswith("CMD ") and WEB_SERVER in line for line in dockerfile)
    assert any(line.startswith("HEALTHCHECK ") and "healthcheck.py" in line for line in dockerfile)


def test_secrets_and_local_data_stay_out_of_the_build_context() -> None:
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    for entry in (".env", ".git", ".venv", "var"):
        assert entry in ignored


def test_the_procfile_runs_web_worker_and_beat() -> None:
    entries = dict(
        line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip()
    )
    assert set(entries) == {"web", "worker", "beat"}
    assert WEB_SERVER in entries["web"]
    assert "celery -A carecore worker" in entries["worker"]
    assert "python manage.py run_beat" in entries["beat"]


# --- production settings ---------------------------------------------------------------------


def test_check_deploy_is_clean_with_production_settings() -> None:
    result = subprocess.run(
        [PYTHON, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    "missing",
    [
        "DJANGO_SECRET_KEY",
        "DJANGO_ALLOWED_HOSTS",
        "DATABASE_URL",
        "REDIS_URL",
        "EMAIL_HOST",
        "CARECORE_PORTAL_URL",
    ],
)
def test_production_settings_refuse_to_load_without_required_configuration(missing: str):
    result = run_python("import django; django.setup()", production_env(**{missing: None}))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert missing in result.stderr


TWILIO_BACKEND = "carecore.notifications.sms.TwilioSmsBackend"
JITSI = "portal.video.JitsiVideoProvider"
JITSI_SECRET = "a-jitsi-app-secret-of-more-than-32-characters"


@pytest.mark.parametrize(
    ("overrides", "missing"),
    [
        ({"CARECORE_EMAIL_PROVIDER": "postmark"}, ["POSTMARK_SERVER_TOKEN"]),
        (
            {"CARECORE_EMAIL_PROVIDER": "mailgun", "MAILGUN_API_KEY": "key"},
            ["MAILGUN_SENDER_DOMAIN"],
        ),
        ({"CARECORE_EMAIL_PROVIDER": "amazon_ses"}, ["region_name"]),
        (
            {
                "CARECORE_EMAIL_PROVIDER": "amazon_ses",
                "AMAZON_SES_REGION": "us-east-1",
                "AMAZON_SES_ACCESS_KEY_ID": "AKID",
            },
            ["AMAZON_SES_SECRET_ACCESS_KEY"],
        ),
        ({"CARECORE_EMAIL_PROVIDER": "sendmail"}, ["CARECORE_EMAIL_PROVIDER must be one of"]),
        ({"CARECORE_SMS_BACKEND": TWILIO_BACKEND}, ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"]),
        (
            {"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t", "TWILIO_FROM_NUMBER": "+1"},
            ["CARECORE_SMS_BACKEND is not"],
        ),
        (
            {"CARECORE_WEBPUSH_VAPID_PRIVATE_KEY": "key"},
            ["CARECORE_WEBPUSH_VAPID_PUBLIC_KEY", "CARECORE_WEBPUSH_VAPID_SUBJECT"],
        ),
        (
            {"CARECORE_VIDEO_PROVIDER": JITSI, "CARECORE_JITSI_URL": "https://meet.example"},
            ["CARECORE_JITSI_APP_ID", "CARECORE_JITSI_APP_SECRET"],
        ),
        (
            {
                "CARECORE_VIDEO_PROVIDER": JITSI,
                "CARECORE_JITSI_URL": "https://meet.example",
                "CARECORE_JITSI_APP_ID": "carecore",
                "CARECORE_JITSI_APP_SECRET": "short",
            },
            ["32+ random characters"],
        ),
    ],
)
def test_production_refuses_a_half_configured_provider(overrides, missing):
    result = run_python("import django; django.setup()", production_env(**overrides))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    for name in missing:
        assert name in result.stderr


def test_production_starts_with_every_provider_fully_configured_and_no_smtp_host():
    env = production_env(
        EMAIL_HOST=None,
        CARECORE_EMAIL_PROVIDER="postmark",
        POSTMARK_SERVER_TOKEN="pm-token",
        CARECORE_SMS_BACKEND=TWILIO_BACKEND,
        TWILIO_ACCOUNT_SID="AC" + "0" * 32,
        TWILIO_AUTH_TOKEN="token",
        TWILIO_MESSAGING_SERVICE_SID="MG" + "0" * 32,
        CARECORE_WEBPUSH_VAPID_PRIVATE_KEY="private",
        CARECORE_WEBPUSH_VAPID_PUBLIC_KEY="public",
        CARECORE_WEBPUSH_VAPID_SUBJECT="mailto:ops@carecore.example",
        CARECORE_VIDEO_PROVIDER=JITSI,
        CARECORE_JITSI_URL="https://meet.carecore.example",
        CARECORE_JITSI_APP_ID="carecore",
        CARECORE_JITSI_APP_SECRET=JITSI_SECRET,
    )
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.EMAIL_BACKEND)"
    )
    result = run_python(code, env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "anymail.backends.postmark.EmailBackend"


@pytest.mark.parametrize(
    "secret_key",
    ["too-short", "replace-me-with-50-or-more-random-characters-xxxxxxxxxxx", "a" * 60],
)
def test_production_settings_refuse_a_weak_or_placeholder_secret_key(secret_key: str) -> None:
    result = run_python(
        "import django; django.setup()", production_env(DJANGO_SECRET_KEY=secret_key)
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be 50+ random characters" in result.stderr


def test_production_settings_are_hardened_whatever_the_environment_says() -> None:
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({name: getattr(s, name) for name in ["
        "'DEBUG', 'SECURE_SSL_REDIRECT', 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', "
        "'SECURE_HSTS_SECONDS', 'CARECORE_REQUIRE_STAFF_MFA', 'WHITENOISE_AUTOREFRESH', "
        "'WHITENOISE_USE_FINDERS', 'ALLOWED_HOSTS']}))"
    )
    result = run_python(code, production_env(DJANGO_DEBUG="true"))
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values == {
        "DEBUG": False,
        "SECURE_SSL_REDIRECT": True,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "CARECORE_REQUIRE_STAFF_MFA": True,
        "WHITENOISE_AUTOREFRESH": False,
        "WHITENOISE_USE_FINDERS": False,
        "ALLOWED_HOSTS": ["api.carecore.example"],
    }


def test_the_images_collectstatic_step_runs_with_production_settings(dockerfile: list[str]):
    """Run the Dockerfile's own collectstatic command (its throwaway env included) here."""
    (step,) = [line for line in dockerfile if "manage.py collectstatic" in line]
    command = step.removeprefix("RUN ").split("&&")[0]  # not the mkdir/chown under /app
    env = production_env()
    for name in (
        "DJANGO_SECRET_KEY",
        "DJANGO_ALLOWED_HOSTS",
        "DATABASE_URL",
        "REDIS_URL",
        "EMAIL_HOST",
    ):
        env.pop(name)  # the step must bring its own values
    env["PATH"] = f"{Path(PYTHON).parent}{os.pathsep}{env.get('PATH', '')}"
    result = subprocess.run(
        ["sh", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    swagger = ROOT / "var" / "static" / "drf_spectacular_sidecar" / "swagger-ui-dist"
    assert (swagger / "swagger-ui-bundle.js").exists()


# --- container health checks (scripts/healthcheck.py) ----------------------------------------


@pytest.fixture(scope="module")
def healthcheck() -> types.ModuleType:
    return load_script("healthcheck.py")


@pytest.mark.parametrize(
    ("allowed_hosts", "host"),
    [
        ("api.carecore.example,localhost", "api.carecore.example"),
        (" .carecore.example", "carecore.example"),
        ("*", "localhost"),
        ("", "localhost"),
    ],
)
def test_the_web_check_sends_a_host_django_accepts(healthcheck, allowed_hosts: str, host: str):
    assert healthcheck.host_header(allowed_hosts) == host


def test_the_web_check_passes_against_a_live_server(healthcheck, live_server) -> None:
    assert healthcheck.check_web(f"{live_server.url}/healthz", "localhost")


def test_the_web_check_fails_when_nothing_answers(healthcheck) -> None:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert not healthcheck.check_web(f"http://127.0.0.1:{port}/healthz", "localhost", timeout=2)


def test_the_beat_check_looks_for_a_celery_beat_process(healthcheck, tmp_path: Path) -> None:
    (tmp_path / "1").mkdir()
    (tmp_path / "1" / "cmdline").write_bytes(
        b"/usr/local/bin/python\0/usr/local/bin/celery\0-A\0carecore\0worker\0"
    )
    assert not healthcheck.beat_is_running(tmp_path)
    (tmp_path / "7").mkdir()
    (tmp_path / "7" / "cmdline").write_bytes(
        b"/usr/local/bin/python\0/usr/local/bin/celery\0-A\0carecore\0beat\0"
    )
    assert healthcheck.beat_is_running(tmp_path)


def test_the_beat_check_finds_beat_run_under_its_lock(healthcheck, tmp_path: Path) -> None:
    (tmp_path / "9").mkdir()
    (tmp_path / "9" / "cmdline").write_bytes(b"python\0manage.py\0run_beat\0--loglevel=INFO\0")
    assert healthcheck.beat_is_running(tmp_path)


def test_the_beat_check_reaches_the_broker(healthcheck) -> None:
    assert healthcheck.check_broker()


# --- configuration docs ------------------------------------------------------------------------

# Read by settings only under `make test`; documented, but not deployment configuration.
TEST_ONLY_VARIABLES = {
    "TEST_CACHE_URL",
    "TEST_CHANNEL_LAYER_URL",
    "TEST_CELERY_BROKER_URL",
    "TEST_EMAIL_BACKEND",
    "TEST_EMAIL_FILE_PATH",
    "TEST_SMS_BACKEND",
    "TEST_SMS_FILE_PATH",
    "TEST_NOTIFICATIONS_CLAIM_TIMEOUT_SECONDS",
    "TEST_NOTIFICATIONS_REQUEUE_AFTER_SECONDS",
    "CARECORE_WORKER_DATABASE_NAME",
}
ENV_READ = re.compile(
    r"""(?:\benv(?:\.(?:bool|int|float|list|dict|str|db_url|cache_url|url|json))?\(|"""
    r"""os\.environ(?:\.get|\.setdefault)?[\(\[])\s*["']([A-Z][A-Z0-9_]+)["']"""
)


def settings_variables() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "carecore" / "settings").glob("*.py"):
        names.update(ENV_READ.findall(path.read_text()))
    return names


def dotenv_example_variables() -> set[str]:
    names = set()
    for line in (ROOT / ".env.example").read_text().splitlines():
        match = re.match(r"^#?\s*([A-Z][A-Z0-9_]+)=", line)
        if match:
            names.add(match.group(1))
    return names


def test_the_settings_variable_scan_finds_the_known_ones() -> None:
    # Guards the regex below against silently matching nothing.
    assert {"DJANGO_SECRET_KEY", "DATABASE_URL", "EMAIL_HOST", "TEST_CACHE_URL"} <= (
        settings_variables()
    )


def test_every_variable_the_settings_read_is_documented() -> None:
    documented = set(
        re.findall(r"`([A-Z][A-Z0-9_]+)`", (ROOT / "docs/configuration.md").read_text())
    )
    assert settings_variables() - documented == set()


def test_dotenv_example_lists_every_deployment_variable_and_only_documented_ones() -> None:
    example = dotenv_example_variables()
    assert settings_variables() - TEST_ONLY_VARIABLES - example == set()
    documented = set(
        re.findall(r"`([A-Z][A-Z0-9_]+)`", (ROOT / "docs/configuration.md").read_text())
    )
    assert example - documented == set()


def test_dotenv_example_holds_placeholders_not_secrets() -> None:
    values = dict(
        line.split("=", 1)
        for line in (ROOT / ".env.example").read_text().splitlines()
        if re.match(r"^[A-Z][A-Z0-9_]+=", line)
    )
    assert values["DJANGO_SECRET_KEY"].startswith("replace-me")
    assert values["POSTGRES_PASSWORD"].startswith("replace-me")
    assert values["EMAIL_HOST_PASSWORD"].startswith("replace-me")
    assert values["DJANGO_DEBUG"] == "false"
    assert values["CARECORE_REQUIRE_STAFF_MFA"] == "true"


# --- dependency docs and the lock file ---------------------------------------------------------


def declared_dependencies() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + project["optional-dependencies"]["dev"]
    return [re.split(r"[\[<>=!~ ]", requirement, maxsplit=1)[0] for requirement in requirements]


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_dependency_is_explained_in_docs() -> None:
    text = (ROOT / "docs" / "dependencies.md").read_text().lower()
    missing = [name for name in declared_dependencies() if f"`{normalise(name)}`" not in text]
    assert missing == []


def test_every_dependency_is_pinned_with_hashes_in_the_lock_file() -> None:
    lock = (ROOT / "requirements.lock").read_text()
    pinned = {normalise(name) for name in re.findall(r"^([A-Za-z0-9_.-]+)==", lock, re.MULTILINE)}
    assert {normalise(name) for name in declared_dependencies()} - pinned == set()
    for block in re.split(r"\n(?=[A-Za-z0-9_.-]+==)", lock.split("\n", 2)[2]):
        assert "--hash=sha256:" in block, block.splitlines()[0]


# --- README ------------------------------------------------------------------------------------


def test_the_readme_urls_exist() -> None:
    for path in ("/api/schema/", "/api/docs/", "/admin/", "/healthz", "/readyz", "/api/v1/me/"):
        assert path in (ROOT / "README.md").read_text()
        try:
            resolve(path)
        except Resolver404:  # pragma: no cover (the failure message is the point)
            pytest.fail(f"README names {path}, which does not resolve")


def test_the_readme_lists_every_demo_account() -> None:
    readme = (ROOT / "README.md").read_text()
    for local, *_ in seed_demo.STAFF:
        assert f"`{local}@demo.carecore.test`" in readme
    assert "`patient@demo.carecore.test`" in readme
    assert f"`{seed_demo.DEMO_PASSWORD}`" in readme


# --- demo data (what `make run` seeds) --------------------------------------------------------


@pytest.mark.django_db
def test_the_demo_accounts_can_log_in(anon) -> None:
    call_command("seed_demo", "--force", stdout=open(os.devnull, "w"))  # noqa: SIM115
    emails = [f"{local}@demo.carecore.test" for local, *_ in seed_demo.STAFF] + [
        "patient@demo.carecore.test"
    ]
    for email in emails:
        response = anon.post(
            "/api/v1/auth/login/", {"email": email, "password": "carecore-demo"}, format="json"
        )
        assert response.status_code == 200, (email, response.json())
        assert response.json()["token"]


@pytest.mark.django_db
def test_seeding_twice_creates_nothing_new() -> None:
    call_command("seed_demo", "--force", stdout=open(os.devnull, "w"))  # noqa: SIM115
    from carecore.accounts.models import User

    count = User.objects.count()
    call_command("seed_demo", "--force", stdout=open(os.devnull, "w"))  # noqa: SIM115
    assert User.objects.count() == count


@pytest.mark.django_db
def test_demo_data_is_refused_with_debug_off() -> None:
    with pytest.raises(CommandError):
        call_command("seed_demo")


# --- the `make run` bootstrap (scripts/dev.py) ------------------------------------------------


def test_the_embedded_database_url_reaches_psycopg_as_a_socket_directory(tmp_path: Path):
    dev = load_script("dev.py")
    url = dev.socket_database_url(tmp_path / "postgres")
    config = environ.Env.db_url_config(url)
    assert config["NAME"] == "carecore"
    assert config["USER"] == "postgres"
    assert config["OPTIONS"]["host"] == str(tmp_path / "postgres")
    assert config["HOST"] == ""


def test_make_test_stops_with_how_to_install_chromium_when_it_cannot_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    dev = load_script("dev.py")
    monkeypatch.delenv("CARECORE_CHROMIUM", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no chromium, no apt-get
    with pytest.raises(SystemExit) as stopped:
        dev.ensure_chromium()
    assert "apt-get install chromium" in str(stopped.value)
    assert "never skipped" in str(stopped.value)


def test_make_test_stops_with_how_to_install_haproxy_when_it_cannot_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    dev = load_script("dev.py")
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(dev, "_haproxy", lambda: None)  # none on this machine's sbin either
    with pytest.raises(SystemExit) as stopped:
        dev.ensure_haproxy()
    assert "apt-get install haproxy" in str(stopped.value)


def test_make_test_uses_the_chromium_it_is_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    dev = load_script("dev.py")
    monkeypatch.setenv("CARECORE_CHROMIUM", "/opt/chromium/chrome")
    assert dev.ensure_chromium() == "/opt/chromium/chrome"


def _free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _processes_with(marker: str) -> list[int]:
    """Pids of processes whose environment carries `marker` (every descendant inherits it)."""
    pids = []
    for environ_file in Path("/proc").glob("[0-9]*/environ"):
        try:
            if marker.encode() in environ_file.read_bytes():
                pids.append(int(environ_file.parent.name))
        except OSError:
            continue
    return pids


def _text_of(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def _get(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
            return response.status
    except OSError:
        return None


@pytest.mark.worker
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_make_run_serves_and_stops_web_worker_and_beat_on_a_signal(stop_signal, tmp_path: Path):
    """`scripts/dev.py run` against the suite's embedded services (which it leaves running)."""
    port = _free_port()
    marker = f"CARECORE_DEV_RUN_TEST={secrets.token_hex(8)}"
    env = {
        # Not the suite's settings (carecore/settings/test.py exports its defaults): local ones.
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CARECORE_"))},
        "PORT": str(port),
        marker.split("=")[0]: marker.split("=")[1],
        # Its own Redis databases: the suite's broker and cache stay untouched.
        "CELERY_BROKER_URL": redis_database_url(redis_server_url(os.environ["REDIS_URL"]), 12),
        "CACHE_URL": redis_database_url(redis_server_url(os.environ["REDIS_URL"]), 13),
    }
    log_path = tmp_path / "run.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [PYTHON, "scripts/dev.py", "run"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 120
        while _get(f"http://127.0.0.1:{port}/healthz") != 200:
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.5)
        output = log_path.read_text()
        assert f"http://127.0.0.1:{port}/" in output
        assert "patient@demo.carecore.test" in output
        deadline = time.monotonic() + 60
        while not all(f"{name}.1 " in log_path.read_text() for name in ("web", "worker", "beat")):
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.5)
        assert len(_processes_with(marker)) >= 4  # dev.py, honcho, web, worker, beat, ...
        # Request lines go to var/log/web-access.log, not through honcho to the terminal.
        unknown_path = f"/run-test-{secrets.token_hex(8)}"
        assert _get(f"http://127.0.0.1:{port}{unknown_path}") is None  # a 404
        assert wait_until(lambda: unknown_path in _text_of(ROOT / "var/log/web-access.log"))
        assert unknown_path not in log_path.read_text()
        assert "var/log/web-access.log" in log_path.read_text()  # where, said at start

        process.send_signal(stop_signal)
        assert process.wait(timeout=60) is not None
        deadline = time.monotonic() + 10
        while _processes_with(marker) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _processes_with(marker) == [], log_path.read_text()
        assert _get(f"http://127.0.0.1:{port}/healthz") is None
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        for pid in _processes_with(marker):
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
