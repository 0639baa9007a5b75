"""Settings for benchmarks only: the product's settings plus a bare baseline endpoint.

Never used in production: only tests/bench/api_patch.py starts a server with it.
"""

from sem.settings import *  # noqa: F403

ROOT_URLCONF = "tests.bench.urls"
