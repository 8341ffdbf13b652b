# aimap image: the project and its CLI (`aimap`), used by the aimap-worker service of
# docker-compose.yml. Build context: the repository root (see .dockerignore).
FROM python:3.11-slim

# Prefect client version pinned to the one the test-suite runs and to the prefect-server image
# tag in docker-compose.yml (tests/test_compose.py checks all three agree).
ARG PREFECT_VERSION=3.9.1

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system --gid 10001 aimap \
    && useradd --system --uid 10001 --gid aimap --create-home --home-dir /home/aimap aimap

WORKDIR /app

# The sources stay in /app so Prefect deployment entrypoints such as flows/<file>.py:<flow>
# resolve relative to the worker's working directory, and so does prefect.yaml (the deployments
# and their schedules), which `prefect deploy --all`, `aimap deploy` and `aimap serve` read from
# there. `pip install .` installs every top-level package: aimap, common, db, crawlers, etl,
# analysis, flows and demosite (pyproject.toml, [tool.setuptools.packages.find]).
COPY . /app
RUN pip install . "prefect==${PREFECT_VERSION}" \
    && rm -rf /app/build /app/*.egg-info

# State and reports live under /data (a named volume in docker-compose.yml). Created here
# so that a fresh named volume inherits the non-root owner.
RUN mkdir -p /data/var /data/out && chown -R aimap:aimap /data
ENV AIMAP_HOME=/data/var \
    AIMAP_OUT=/data/out

USER aimap

CMD ["aimap", "--help"]
