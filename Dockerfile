# syntax=docker/dockerfile:1
# saleor-gordon: multi-stage build with uv. The build stage resolves the locked dependencies (cached
# layer), then installs the app itself, non-editable, into /app/.venv; the runtime stage gets that
# virtual environment only (no uv, no sources, no build tools) and runs as an unprivileged user.
#
#   DOCKER_BUILDKIT=1 docker build -t saleor-gordon .     # or: docker buildx build -t saleor-gordon .
#   docker run -p 8000:8000 -v saleor-gordon-data:/data \
#       -e SALEOR_GORDON_APP_URL=https://gordon.example.com saleor-gordon
#
# It needs BuildKit (the `# syntax` line and `RUN --mount`): Docker 23 and later and Compose v2 use
# it by default; Debian's docker.io 20.10 needs DOCKER_BUILDKIT=1 (or buildx). Name the volume:
# the database and its key file live in /data, and without a name every new container gets a new,
# empty volume (no shops, a new key). A bind mount instead must be owned by uid 10001.
#
# docs/deploy.md describes the production set-up (deploy/compose.yaml: PostgreSQL, web, worker).

ARG PYTHON_IMAGE=python:3.12-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
COPY --from=ghcr.io/astral-sh/uv:0.8 /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3 UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src
# Dependencies first: this layer is rebuilt only when pyproject.toml or uv.lock change.
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    uv sync --frozen --no-dev --no-install-project
COPY pyproject.toml uv.lock README.md ./
COPY saleor_gordon ./saleor_gordon
COPY graphql ./graphql
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable

FROM ${PYTHON_IMAGE} AS runtime
# The app's files belong to root (read-only for the app); only /data, where the embedded SQLite
# database and its key file live, is the app user's.
RUN groupadd --system --gid 10001 gordon \
    && useradd --system --uid 10001 --gid gordon --home-dir /data --shell /usr/sbin/nologin gordon \
    && mkdir /data && chown gordon:gordon /data && chmod 0700 /data
COPY --from=build /app/.venv /app/.venv
ENV PATH="/app/.venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SALEOR_GORDON_DATABASE_URL="sqlite:////data/saleor-gordon.db"
USER gordon:gordon
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000
# Ready = the process answers and its database is reachable and migrated (GET /readyz). Worker
# containers serve no HTTP: give them `healthcheck: disable: true` (deploy/compose.yaml does).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4).status != 200)"]
# SIGTERM (Docker's stop signal) drains: no new jobs are claimed, those in flight finish.
STOPSIGNAL SIGTERM
CMD ["saleor-gordon", "serve", "--host", "0.0.0.0", "--port", "8000"]
