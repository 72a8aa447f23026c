# One image for every CareCore process: web (uvicorn), worker (celery worker), beat (celery beat)
# and the one-off `migrate` step. docker-compose.yml picks the process with `command:`.
#
#   docker build -t carecore .
#
# Dependencies come only from requirements.lock, every file checked against its pinned hash.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=carecore.settings.production \
    PORT=8000 \
    WEB_CONCURRENCY=1

WORKDIR /app

# An unprivileged user owns nothing but the directories the app writes to at run time.
RUN groupadd --system --gid 10001 carecore \
    && useradd --system --uid 10001 --gid carecore --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin carecore

# The lock file alone first, so editing code does not reinstall every dependency.
COPY requirements.lock ./
RUN pip install --require-hashes --no-deps -r requirements.lock

COPY . .

# Static files (admin, Swagger UI) are collected and compressed into the image; WhiteNoise serves
# them, so the API docs need no CDN. The values below exist only for this build step: production
# settings refuse to load without them, and none of them is kept in the image (the key is random
# and thrown away).
RUN DJANGO_SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
    DJANGO_ALLOWED_HOSTS=localhost \
    DATABASE_URL=postgres://build@localhost:5432/build \
    REDIS_URL=redis://localhost:6379 \
    EMAIL_HOST=localhost \
    CARECORE_PORTAL_URL=http://localhost \
    python manage.py collectstatic --no-input \
    && mkdir -p /app/var/media /app/var/beat \
    && chown -R carecore:carecore /app/var/media /app/var/beat

USER carecore

EXPOSE 8000

# The web process's check; docker-compose.yml gives worker and beat their own and turns it off
# for the one-off migrate job. Override it the same way when running the image elsewhere.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["python", "scripts/healthcheck.py", "web"]

# gunicorn runs WEB_CONCURRENCY uvicorn processes, each on a socket of its own (1 unless set: a
# container does not know how many CPUs it may use, docs/scaling.md). CARECORE_TRUSTED_PROXIES
# (the proxies whose X-Forwarded-* headers count; empty: none) is read by carecore/web_server.py
# and by the app, so both agree on who the client is.
CMD ["sh", "-c", "exec gunicorn carecore.asgi:application --config python:carecore.web_server --bind \"0.0.0.0:${PORT}\""]
