# The 12345 call-routing service. Config folders are baked in and may be replaced
# by mounting flows/, numbers/ and seats/ over /app/{flows,numbers,seats}.
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    IVR_CONFIG_DIR=/app IVR_DATA_DIR=/data IVR_HOST=0.0.0.0 IVR_PORT=8000
COPY pyproject.toml README.md ./
COPY ivr ./ivr
RUN pip install --no-cache-dir .
COPY flows ./flows
COPY numbers ./numbers
COPY seats ./seats
RUN ivr config validate /app
EXPOSE 8000
VOLUME ["/data"]
# Liveness only (/livez: the process answers HTTP). Readiness is /readyz (Redis answers a
# PING): route traffic by it, never restart by it, so a worker that answers callers with
# the apology during a Redis outage is not restarted. Docker has only one check: liveness.
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/livez').status == 200 else 1)"
# `ivr serve` runs uvicorn with every phone number masked in the logs (IVR_WORKERS workers)
CMD ["ivr", "serve"]
