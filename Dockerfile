# The 12345 call-routing service, production by default: IVR_ENV=production refuses to start
# with development secrets, so every secret the operations guide names must be passed in
# (docs/operations.md, "Running with Docker"). Config folders are baked in and may be
# replaced by mounting flows/, numbers/ and seats/ over /app/{flows,numbers,seats}.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    UV_PROJECT_ENVIRONMENT=/opt/venv UV_PYTHON_DOWNLOADS=never UV_LINK_MODE=copy \
    UV_COMPILE_BYTECODE=1 PATH=/opt/venv/bin:$PATH
# uv at the version uv.lock names (the dev extra): it installs exactly what the lock says
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /app
# Dependency layer: rebuilt only when pyproject.toml or uv.lock change, not on a code change.
COPY pyproject.toml uv.lock ./
RUN uv sync --locked --no-install-project --no-cache
# The service itself (a wheel in /opt/venv, not an editable install); then the config.
COPY README.md ./
COPY ivr ./ivr
RUN uv sync --locked --no-editable --no-cache
COPY flows ./flows
COPY numbers ./numbers
COPY seats ./seats
RUN ivr config validate /app
# Run as a user of its own, which owns only its data folder (journal, SQLite archive,
# the embedded Redis when no IVR_REDIS_URL is given).
RUN useradd --system --uid 10001 --user-group --home-dir /nonexistent --shell /usr/sbin/nologin ivr \
    && mkdir -p /data && chown ivr:ivr /data
ENV IVR_ENV=production IVR_CONFIG_DIR=/app IVR_DATA_DIR=/data IVR_HOST=0.0.0.0 IVR_PORT=8000
USER ivr
EXPOSE 8000
VOLUME ["/data"]
# Liveness only (/livez: the process answers HTTP). Readiness is /readyz (Redis answers a
# PING): route traffic by it, never restart by it, so a worker that answers callers with
# the apology during a Redis outage is not restarted. Docker has only one check: liveness.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s CMD python -c "import os,sys,urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:%s/livez' % os.environ.get('IVR_PORT', '8000'), timeout=2).status == 200 else 1)"
# `ivr serve` runs uvicorn with every phone number masked in the logs (IVR_WORKERS workers)
CMD ["ivr", "serve"]
