# syntax=docker/dockerfile:1
# Multi-stage build: wheels are built in the first stage; the runtime stage has no compiler, runs as a non-root
# user, includes the bundled models, and reports health through the gRPC health service.

# BASE_IMAGE: any Debian bookworm image with python3 and python3-venv (python:3.11-slim-bookworm by default; a
# bookworm root file system from mmdebstrap imported with `podman import` works the same, see docs/scaling.md).
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS build
WORKDIR /src
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
COPY pyproject.toml constraints.txt README.md ./
COPY clients/python ./clients/python
COPY idverify ./idverify
COPY models ./models
RUN python3 -m venv /opt/idverify \
    && /opt/idverify/bin/pip install --no-cache-dir -c constraints.txt ./clients/python .

FROM ${BASE_IMAGE} AS runtime
RUN groupadd --system --gid 10001 idverify \
    && useradd --system --uid 10001 --gid idverify --home-dir /var/lib/idverify --create-home idverify
COPY --from=build /opt/idverify /opt/idverify
COPY --from=build /src/models /opt/idverify-models
ENV PATH=/opt/idverify/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    IDVERIFY_DATA_DIR=/var/lib/idverify \
    IDVERIFY_MODELS_DIR=/opt/idverify-models \
    IDVERIFY_GRPC_ADDRESS=0.0.0.0:50051 \
    IDVERIFY_ADMIN_ADDRESS=0.0.0.0:9464
USER 10001:10001
WORKDIR /var/lib/idverify
EXPOSE 50051 9464
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["idverify", "client", "--server", "127.0.0.1:50051", "health"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["idverify"]
CMD ["serve"]
