# kefu: one image for every size. The embedded default needs nothing else; for production set
# KEFU_DATABASE_URL (postgresql+asyncpg://…) and KEFU_REDIS_URL and run as many as you like
# (compose.yaml: two replicas behind nginx; docs/operations.md).
#
# Migrations: `serve` upgrades the schema first, under a PostgreSQL advisory lock, so replicas
# starting together are safe. To migrate once instead, run `python -m service migrate` as a
# one-shot job and start the replicas with KEFU_MIGRATE=false (compose.yaml does).
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    KEFU_HOST=0.0.0.0 \
    KEFU_PORT=8000 \
    KEFU_DATABASE_URL=sqlite+aiosqlite:////data/kefu.db

WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY service ./service
COPY migrations ./migrations
COPY phrases ./phrases
# Editable, so the templates and migrations beside the package are the ones the code finds.
RUN pip install -e .

RUN useradd --system --uid 10001 kefu && mkdir -p /data && chown kefu /data
USER kefu
VOLUME ["/data"]
EXPOSE 8000

# The port (and host) come from the settings, as the server's own do: KEFU_PORT may change.
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD ["python", "-m", "service", "healthcheck"]

# SIGTERM: sockets get 1001 and the process ends within KEFU_SHUTDOWN_TIMEOUT_S (default 10 s);
# give the container a longer stop timeout than that. Several processes in one container:
# CMD ["python", "-m", "service", "serve", "--workers", "4"] (PostgreSQL and Redis only).
STOPSIGNAL SIGTERM
CMD ["python", "-m", "service", "serve"]
