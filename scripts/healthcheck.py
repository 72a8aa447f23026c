"""Container health checks for docker compose (and any orchestrator that runs a command).

    python scripts/healthcheck.py web    # GET /healthz on this container answers 200
    python scripts/healthcheck.py beat   # a celery beat process runs here and the broker answers

Exit status 0 means healthy. The worker's check is Celery's own `celery inspect ping`.

`web` sends a Host header Django accepts (the first of DJANGO_ALLOWED_HOSTS), so the check does
not depend on "localhost" being an allowed host in production, and /healthz is exempt from the
HTTPS redirect (carecore/settings/production.py), so no TLS is needed inside the container.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROC = Path("/proc")


def host_header(allowed_hosts: str) -> str:
    """A Host value that matches the first DJANGO_ALLOWED_HOSTS entry.

    ".example.com" (a domain and its subdomains) matches "example.com"; "*" matches anything.
    """
    first = allowed_hosts.split(",")[0].strip()
    return first.lstrip("*.") or "localhost"


def check_web(url: str, allowed_hosts: str, timeout: float = 5.0) -> bool:
    if not url.startswith(("http://", "https://")):
        raise ValueError("the health check URL must be http(s)")
    request = urllib.request.Request(url, headers={"Host": host_header(allowed_hosts)})  # noqa: S310
    try:
        # The scheme is checked above (http or https only, never file: or a custom one).
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310  # nosec B310
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def beat_is_running(proc: Path = PROC) -> bool:
    """Whether a beat process (`manage.py run_beat`, or plain `celery ... beat`) runs here.

    Read from /proc rather than a pidfile: after a container restart a stale pidfile names a pid
    that is alive again (the new PID 1), and celery beat would refuse to start.
    """
    for cmdline in proc.glob("[0-9]*/cmdline"):
        try:
            argv = [arg.decode(errors="replace") for arg in cmdline.read_bytes().split(b"\0")]
        except OSError:  # the process ended while we looked
            continue
        if "run_beat" in argv and any(Path(arg).name == "manage.py" for arg in argv):
            return True
        if "beat" in argv and any(Path(arg).name == "celery" for arg in argv):
            return True
    return False


def check_beat() -> bool:
    return beat_is_running() and check_broker()


def check_broker() -> bool:
    sys.path.insert(0, str(ROOT))
    from carecore.celery import app

    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=3)
    except Exception:  # any failure means unhealthy; the reason is in the broker's own logs
        return False
    return True


def main(argv: list[str]) -> int:
    if argv == ["web"]:
        port = os.environ.get("PORT", "8000")
        url = os.environ.get("HEALTHCHECK_URL", f"http://127.0.0.1:{port}/healthz")
        healthy = check_web(url, os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost"))
    elif argv == ["beat"]:
        healthy = check_beat()
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
