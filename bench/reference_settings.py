"""Settings of the bare reference server for bench/load_hotpaths.py (never used by the product).

The same database, apps and token authentication as the product, and nothing else on the
request path: no session, CSRF, OTP, CSP, audit or axes middleware, no throttles. It is the least
work a server can do for the same three jobs (send, page, inbox), so the product's throughput
divided by this one's says what our extra work costs, on the same machine in the same run.
"""

from carecore.settings.local import *  # noqa: F403

DEBUG = False
ROOT_URLCONF = "bench.reference_urls"
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_AUTHENTICATION_CLASSES": ["knox.auth.TokenAuthentication"],
    "DEFAULT_THROTTLE_CLASSES": [],
    "DEFAULT_PAGINATION_CLASS": None,
}
