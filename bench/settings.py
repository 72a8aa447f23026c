"""Settings for the benchmarks' own servers: local settings plus the bench-only URLs."""

from carecore.settings.local import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
