FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    FIBE_VAR_DIR=/app/var
WORKDIR /app

RUN useradd --create-home --uid 1000 fibe
COPY pyproject.toml README.md ./
COPY fibe_access ./fibe_access
COPY keys ./keys
COPY webhooks ./webhooks
RUN pip install .
COPY . .
RUN mkdir -p /app/var && chown -R fibe:fibe /app/var
USER fibe

EXPOSE 8000
CMD ["gunicorn", "fibe_access.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
