# ricci-ray image: the package, its sweep files, the Ray dashboard/job API and the
# PostgreSQL driver the MLflow server needs. One image serves every pod in k8s/.
#
# CPU (default):
#   docker build -t ricci-ray:0.1.0 .
# GPU: a base image with CUDA and Python 3.11 (as `python3.11`), and torch's CUDA wheels:
#   docker build -t ricci-ray-gpu:0.1.0 \
#     --build-arg BASE_IMAGE=<a CUDA runtime image that has python3.11> \
#     --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cu128 .
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

# The interpreter in the base image (Python 3.11 is required by the package).
ARG PYTHON=python3.11
# torch 2.13.0 exactly; the CPU wheel index keeps the default image small.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu

# Caches go to /tmp: the pods run with a read-only root file system and /tmp mounted.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    NUMBA_CACHE_DIR=/tmp/numba \
    MPLCONFIGDIR=/tmp/matplotlib \
    XDG_CACHE_HOME=/tmp/cache \
    MLFLOW_DISABLE_TELEMETRY=true \
    RAY_USAGE_STATS_ENABLED=0

RUN ${PYTHON} -m venv /opt/venv \
    && pip install --index-url "${TORCH_INDEX_URL}" "torch==2.13.0"

WORKDIR /app
COPY pyproject.toml README.md ./
COPY ricci_ray ./ricci_ray
COPY sweeps ./sweeps
# ray[default] adds the dashboard and job API that KubeRay's head needs; psycopg2 is the
# MLflow server's PostgreSQL driver.
RUN pip install . "ray[default]==2.60.0" "psycopg2-binary==2.9.13" \
    && ricci-ray --version

# A fixed numeric user, so that Kubernetes can verify runAsNonRoot.
RUN groupadd --gid 1000 ricci \
    && useradd --uid 1000 --gid 1000 --create-home --home-dir /home/ricci ricci
USER 1000:1000
ENV HOME=/home/ricci

CMD ["ricci-ray", "--help"]
