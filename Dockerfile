# Multi-stage build with uv: dependencies first (cached layer), then the app.
FROM python:3.12-slim AS build
COPY --from=ghcr.io/astral-sh/uv:0.8 /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY saleor_gordon ./saleor_gordon
COPY graphql ./graphql
COPY manifest ./manifest
RUN uv sync --frozen --no-dev --no-editable

FROM python:3.12-slim
RUN useradd --create-home --uid 10001 gordon && mkdir /data && chown gordon /data
COPY --from=build --chown=gordon /app /app
ENV PATH="/app/.venv/bin:$PATH" \
    SALEOR_GORDON_DATABASE_URL="sqlite:////data/saleor-gordon.db"
USER gordon
WORKDIR /data
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz').status != 200)"
CMD ["saleor-gordon", "serve", "--host", "0.0.0.0", "--port", "8000"]
