"""How the web processes run: gunicorn starts and watches them, uvicorn serves inside each
(docs/architecture.md, "How HTTP is served"). Every launcher (Procfile, Dockerfile, compose, k8s,
the tests' servers) runs

    gunicorn carecore.asgi:application --config python:carecore.web_server --bind HOST:PORT

- `WEB_CONCURRENCY` processes, default one per core. gunicorn restarts a process that dies and
  stops them gracefully.
- Each process listens on a socket of its own on the same port (`SO_REUSEPORT`), and the kernel
  spreads new connections across them. With one socket shared by all processes, which is how
  `uvicorn --workers` runs, whichever process woke first accepted every connection waiting, so
  a burst of connections landed mostly on one process: 32 connections split 2/30, 9/23, even
  32/0. The busier process then answered its connections 2-3 times slower than the other
  (docs/benchmarks.md).
- A hash still splits 32 connections 20/12 as often as 16/16, so each process publishes how many
  connections it holds, and one holding more than its share closes the next after its answer
  (carecore/common/connection_balance.py): the client's new connection is hashed again.
- Inside each process, uvicorn's event loop parses HTTP and serves the WebSocket feed; Django
  runs on a pool of threads (carecore/asgi.py).
- One line per request (`accesslog`), its path without the query string: on stdout, or with
  `--access-logfile PATH` in a file, each line with its time (`make run`:
  var/log/web-access.log, the Procfile).
- Forwarded headers (X-Forwarded-For, -Proto) count only from the proxies listed in
  `CARECORE_TRUSTED_PROXIES`, the list the app reads too (docs/security.md). Empty: no proxy.

Only the settings named here are read by gunicorn; anything else in this module is ignored.
"""

import logging
import os
from typing import Any

from uvicorn_worker import UvicornWorker

from carecore.common import connection_balance

workers = int(os.environ.get("WEB_CONCURRENCY") or len(os.sched_getaffinity(0)))
worker_class = "carecore.web_server.Worker"
reuse_port = True
forwarded_allow_ips = os.environ.get("CARECORE_TRUSTED_PROXIES", "")
# uvicorn's keep-alive (gunicorn's own default is 2 s).
keepalive = 5
# One line per request (method, path, status; no bodies) on stdout, as `uvicorn` printed them,
# where a container's runtime collects them. `make run` writes them to a file instead (the
# Procfile's --access-logfile): relayed by honcho, each line cost its two Python processes about
# 7% of a core at 230 requests/s (docs/benchmarks.md).
accesslog = "-"


class Worker(UvicornWorker):
    """uvicorn in a gunicorn process, answering without a `Server` header."""

    CONFIG_KWARGS: dict[str, Any] = {
        **UvicornWorker.CONFIG_KWARGS,
        "server_header": False,
        "http": connection_balance.BalancedHttpToolsProtocol,
        # A graceful stop waits this long for what is in flight, then cancels it. Unbounded,
        # a real-time feed whose channel-layer read lost its cancellation (channels_redis on
        # redis-py; about one stop in five with feeds closing as it began) held its process
        # until gunicorn killed it 30 s later (`graceful_timeout`); no request of ours runs
        # for 10 s, and a feed's client reconnects with `after`.
        "timeout_graceful_shutdown": 10,
    }


# gunicorn's server hooks: the table of connections per process (connection_balance).
def on_starting(server: Any) -> None:
    connection_balance.create_table()


def pre_fork(server: Any, worker: Any) -> None:
    rows_in_use = (getattr(running, "connection_row", None) for running in server.WORKERS.values())
    worker.connection_row = connection_balance.claim_row(rows_in_use)


def post_fork(server: Any, worker: Any) -> None:
    connection_balance.use_row(worker.connection_row)


class PathsWithoutQuery(logging.Filter):
    """Request lines name the path without its query string: a query may carry what someone
    typed (the fields of a form sent with GET), and no patient text goes to logs
    (docs/security.md). uvicorn passes the path as one of the record's arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                argument.split("?", 1)[0]
                if isinstance(argument, str) and argument.startswith("/")
                else argument
                for argument in record.args
            )
        return True


def post_worker_init(worker: Any) -> None:
    """uvicorn's access logger (which writes through gunicorn's handlers) drops query strings,
    and a request line written to a file carries its time (on stdout, honcho or the container's
    runtime adds it)."""
    access = logging.getLogger("uvicorn.access")
    access.addFilter(PathsWithoutQuery())
    for handler in access.handlers:
        if isinstance(handler, logging.FileHandler):
            handler.setFormatter(logging.Formatter("[%(asctime)s] %(message)s"))


def child_exit(server: Any, worker: Any) -> None:
    connection_balance.free_row(getattr(worker, "connection_row", None))
