"""CPU instructions per request on the hot read paths, per source tree, counted by callgrind.

    .venv/bin/python bench/instructions_hotpaths.py [--trees /path/a,/path/b] [--paths page,inbox]
                                                    [--requests 10] [--reuse-database]

What it counts: the instructions (callgrind's `Ir`) the web process's Python executes per
request, through Django's full middleware stack, in-process: each GET goes to the tree's own
WSGI application (`carecore.wsgi.application`, the handler its web threads run; until 3 Dec 2026
this went through django.test.Client, whose handler is not the web processes' and keeps each
request for the test, so figures before that date compare only with each other):

- page: `GET /api/v1/threads/<id>/messages/?page_size=50` as the demo patient, on the
  "Bench thread" with its 200 messages;
- inbox: `GET /api/v1/threads/?page_size=50` as the demo clinician, whose care team has the
  50-patient panel of bench/load_hotpaths.py, a thread each.

What it does not count: PostgreSQL's work (another process, not under callgrind: only the web
process's side of each query is counted, building it, psycopg sending it and reading the rows),
the network, the HTTP server in front of Django (gunicorn, uvicorn and a2wsgi's threads,
carecore/asgi.py, which call the same WSGI application), the Celery worker, and whatever
concurrency costs (a collector finding four requests in flight, not one). Those are
bench/load_hotpaths.py's job.

Why: to compare source trees (a git worktree of an older commit and the current tree, say)
without the host's noise. On this shared 2-core host the wall-clock CPU per request moves by
±20% between runs; these counts move by well under 1% (a few tenths of a percent between passes
of one run), so a change's effect on the web process's CPU shows in one run. Instructions are
not time (cache misses, mispredicted branches and system calls cost differently), but for the
same interpreter doing more or less of the same kind of work they go together.

How: the database is prepared as bench/load_hotpaths.py prepares it (`carecore_bench_load`,
made afresh: migrate, sync_questionnaires, seed_demo, the panel) on the embedded PostgreSQL and
Redis of `make run`, then the bench thread is opened through the product's services
(bench/_instructions_worker.py --prepare). Every tree uses that database, as migrated by the
current tree, and this checkout's .venv: only the source differs (an older tree must work on
the current schema). For each tree, the worker (bench/_instructions_worker.py) runs under
`valgrind --tool=callgrind` with that tree as working directory and PYTHONPATH, the environment
of load_hotpaths (`carecore.settings.local`, DEBUG on as `make run`), and instrumentation off
until the requests: start-up is not counted, and the worker waits for the start-up work the
product does in a background thread (building the triage pipeline), which callgrind would
otherwise count with the requests. For each path: a full garbage collection (uncounted, so every
pass starts from the same collector state), the counters zeroed, instrumentation on,
`--requests` requests, instrumentation off, the counts dumped. Each path is measured twice and
the second pass reported: the first also carries what a path's first requests build (caches,
psycopg preparing each query after its fifth run), about 2% more on the page.

The worker allocates as a web process does (pymalloc): valgrind's advice to run Python with
PYTHONMALLOC=malloc is for its memory checker, and under callgrind it would add glibc's malloc
to the counts (about 9% more on these paths).

Needs valgrind (Debian: `apt-get install valgrind`). A tree takes a minute or two.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._messaging_env import PYTHON, ROOT, create_database, services, socket_dir
from bench.load_hotpaths import _PANEL_SEED, DATABASE, _env, _manage

WORKER = Path(__file__).resolve().parent / "_instructions_worker.py"
PATHS = ("page", "inbox")
PANEL_PATIENTS = 50  # bench/load_hotpaths.py's default --panel


def _worker_command(*arguments: str) -> list[str]:
    # -P: the worker's own directory (bench/, which has a settings.py and a urls.py) stays off
    # sys.path, so only the tree on PYTHONPATH provides modules.
    return [str(PYTHON), "-P", str(WORKER), *arguments]


def _worker_env(tree: Path) -> dict[str, str]:
    # Python's own allocator, as in a web process: see the module's docstring.
    return _env(DJANGO_DEBUG="true", PYTHONPATH=str(tree))


def _refuse_if_in_use() -> None:
    """Stop before DROP DATABASE ... WITH (FORCE) cuts off whoever is using the database (a
    bench/load_hotpaths.py run, an experiment on the same embedded server)."""
    import psycopg

    with psycopg.connect(
        host=socket_dir(), user="postgres", dbname="postgres", autocommit=True
    ) as connection:
        row = connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [DATABASE]
        ).fetchone()
    if row and row[0]:
        raise SystemExit(
            f"database {DATABASE} has {row[0]} connection(s), another benchmark's?"
            " Wait for it to end, or measure on it as it is with --reuse-database."
        )


def _prepare_database(*, reuse: bool) -> None:
    if not reuse:
        _refuse_if_in_use()
    if create_database(DATABASE, fresh=not reuse):
        _manage("migrate", "--no-input", "-v0")
        _manage("sync_questionnaires")
        _manage("seed_demo")
        _manage("shell", "-c", _PANEL_SEED.format(count=PANEL_PATIENTS))
    else:
        print(f"reusing database {DATABASE} as it is")
    # In the current tree and outside callgrind: 200 sends under it would be slow, and an older
    # tree's services may differ. A no-op when the thread exists.
    subprocess.run(_worker_command("--prepare"), cwd=ROOT, env=_worker_env(ROOT), check=True)


class Worker:
    """bench/_instructions_worker.py under callgrind, in one tree, and the talk with it."""

    def __init__(self, tree: Path, dumps: Path, *, name: str) -> None:
        self.dumps = dumps
        self.log = dumps / f"{name}.log"  # valgrind's and the worker's stderr
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [
                    "valgrind",
                    "--tool=callgrind",
                    "--instr-atstart=no",
                    f"--callgrind-out-file={dumps}/callgrind.%p",
                    *_worker_command(),
                ],
                cwd=tree,
                env=_worker_env(tree),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        self._await("ready")

    def __enter__(self) -> Worker:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()  # the worker's cue to exit
        try:
            self.process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def instructions(self, path: str, requests: int) -> int:
        """Instructions the worker executed answering `requests` requests on `path`."""
        self._tell("collect")
        self._await("collected")
        self._callgrind("-z")
        self._callgrind("-i", "on")
        self._tell(f"{path} {requests}")
        self._await("done")
        self._callgrind("-i", "off")
        newest_before = self._newest_dump()
        self._callgrind("-d")
        return self._totals(newest_before)

    def _callgrind(self, *arguments: str) -> None:
        result = subprocess.run(
            ["callgrind_control", *arguments, str(self.process.pid)],
            capture_output=True,
            text=True,
        )
        if result.returncode:
            raise SystemExit(
                f"callgrind_control {' '.join(arguments)} failed:\n{result.stdout}{result.stderr}"
            )

    def _tell(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def _await(self, word: str) -> str:
        """The worker's next line starting with `word` (anything else it prints is passed on)."""
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith(word):
                return line
            sys.stdout.write(line)
        tail = self.log.read_text().splitlines()[-30:]
        raise SystemExit(f"the worker ended before {word!r}; its last words:\n" + "\n".join(tail))

    def _newest_dump(self) -> tuple[int, Path | None]:
        """(number, file) of the newest dump: callgrind.<pid>.1, .2 and so on."""
        numbered = [
            (int(dump.name.rsplit(".", 1)[1]), dump)
            for dump in self.dumps.glob(f"callgrind.{self.process.pid}.*")
        ]
        return max(numbered, default=(0, None))

    def _totals(self, newest_before: tuple[int, Path | None], *, timeout: float = 60.0) -> int:
        """The `totals:` of the dump written after `newest_before` (written last, so once it is
        there the file is complete)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            number, dump = self._newest_dump()
            if dump is not None and number > newest_before[0]:
                totals = re.search(r"^totals:\s+(\d+)", dump.read_text(), re.MULTILINE)
                if totals:
                    return int(totals.group(1))
            time.sleep(0.2)
        raise SystemExit(f"callgrind wrote no complete dump in {self.dumps} within {timeout} s")


def _measure_tree(
    tree: Path, paths: list[str], requests: int, dumps: Path, *, name: str
) -> dict[str, float]:
    """Instructions per request on each path, in one tree."""
    per_request: dict[str, float] = {}
    with Worker(tree, dumps, name=name) as worker:
        for path in paths:
            discarded = worker.instructions(path, requests) / requests
            per_request[path] = worker.instructions(path, requests) / requests
            print(
                f"{tree}  {path:<6} {per_request[path] / 1e6:8.2f} M instructions per request"
                f"  (first pass {discarded / 1e6:.2f} M, discarded)",
                flush=True,
            )
    return per_request


def _print_ratios(results: list[tuple[Path, dict[str, float]]], paths: list[str]) -> None:
    reference_tree, reference = results[0]
    print(f"--- instructions per request relative to {reference_tree}")
    columns = [(str(tree), counts, max(len(str(tree)), 6)) for tree, counts in results]
    print(f"{'path':<6}" + "".join(f"  {label:>{width}}" for label, _, width in columns))
    for path in paths:
        ratios = (f"  {counts[path] / reference[path]:>{width}.3f}" for _, counts, width in columns)
        print(f"{path:<6}" + "".join(ratios))


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--trees",
        default=str(ROOT),
        help="comma-separated source trees, the first the reference (default: this checkout)",
    )
    parser.add_argument("--paths", default=",".join(PATHS), help="of: page, inbox")
    parser.add_argument("--requests", type=int, default=10, help="requests per measured pass")
    parser.add_argument(
        "--reuse-database",
        action="store_true",
        help=f"measure on {DATABASE} as it is when it exists, instead of making it afresh",
    )
    arguments = parser.parse_args()
    unknown = set(arguments.paths.split(",")) - set(PATHS)
    if unknown:
        parser.error(f"unknown paths {', '.join(sorted(unknown))}: choose from {', '.join(PATHS)}")
    if arguments.requests < 1:
        parser.error("--requests must be at least 1")
    return arguments


def _trees(listed: str) -> list[Path]:
    trees = [Path(tree).resolve() for tree in listed.split(",")]
    for tree in trees:
        if not (tree / "manage.py").is_file():
            raise SystemExit(f"{tree} is not a CareCore source tree (no manage.py)")
    return trees


def main() -> int:
    arguments = _arguments()
    trees = _trees(arguments.trees)
    paths = arguments.paths.split(",")
    for tool in ("valgrind", "callgrind_control"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is missing: apt-get install valgrind (Debian)")

    # A list, not a dict by tree: the same tree twice is how to see the counts' own noise.
    results: list[tuple[Path, dict[str, float]]] = []
    with services():
        _prepare_database(reuse=arguments.reuse_database)
        print(
            f"callgrind Ir of the web process's Python per request ({arguments.requests} requests"
            " per pass, the second of two passes; PostgreSQL's work not counted)",
            flush=True,
        )
        with tempfile.TemporaryDirectory(prefix="carecore-callgrind-") as dumps:
            for number, tree in enumerate(trees):
                counts = _measure_tree(
                    tree, paths, arguments.requests, Path(dumps), name=f"worker-{number}"
                )
                results.append((tree, counts))
    _print_ratios(results, paths)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
