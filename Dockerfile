# costpilot: `costpilot serve` (the Slack app with /healthz, /readyz, /metrics) and the CLI jobs.
#
#   docker build -t costpilot:0.1.0 .
#   docker run --rm -p 3000:3000 -e SLACK_BOT_TOKEN -e SLACK_SIGNING_SECRET \
#     -e COSTPILOT_DATABASE_URL=postgresql://… -e COSTPILOT_WAREHOUSE_URL=postgresql://… costpilot:0.1.0
#
# Stage 1 builds the wheel from the source tree; stage 2 installs only that wheel (pinned by
# requirements.lock) into a slim image and runs it as an unprivileged user. No compiler, no
# source tree, no test or dev dependencies in the final image.

ARG PYTHON_VERSION=3.11
# Any image that behaves like python:X-slim (python and pip on PATH, Debian apt): see
# deploy/README.md "Building the image without Docker Hub" and scripts/container_check.sh.
ARG BASE_IMAGE=python:${PYTHON_VERSION}-slim

FROM ${BASE_IMAGE} AS build
WORKDIR /src
RUN pip install --no-cache-dir "build>=1.2"
COPY pyproject.toml README.md requirements.lock ./
COPY app ./app
COPY agent ./agent
COPY services ./services
COPY playbooks ./playbooks
COPY guardrails ./guardrails
COPY gitops ./gitops
COPY tools ./tools
COPY warehouse ./warehouse
COPY store ./store
COPY domain ./domain
COPY evals ./evals
RUN python -m build --wheel --outdir /dist . \
 # The lock pins dev-only packages too (pytest, pyspark …); the image takes only the wheel's own.
 && grep -v -E '^(pytest|hypothesis|ruff|pyspark|py4j|iniconfig|pluggy)==' requirements.lock > /dist/constraints.txt

FROM ${BASE_IMAGE} AS runtime
# git: the local forge and `costpilot review` read GitOps checkouts; nothing else is added.
RUN apt-get update \
 && apt-get install -y --no-install-recommends git \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 10001 --user-group --create-home --home-dir /home/costpilot costpilot \
 && mkdir /data && chown 10001:10001 /data
COPY --from=build /dist /dist
RUN pip install --no-cache-dir -c /dist/constraints.txt /dist/*.whl && rm -rf /dist
ENV COSTPILOT_HOME=/data \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
USER 10001:10001
WORKDIR /home/costpilot
VOLUME ["/data"]
EXPOSE 3000
# Liveness only: /healthz answers while the process does; readiness (/readyz) is the orchestrator's.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=4).status != 200)"]
ENTRYPOINT ["costpilot"]
CMD ["serve", "--host", "0.0.0.0", "--port", "3000", "--log-format", "json"]
