# One image for every Aduan process; docker-compose.yml picks the process with `command`
# (e.g. `serve intake`, `worker routing`, `sweeper`, `migrate`).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    ADUAN_DATA_DIR=/var/lib/aduan

# Non-root user with a fixed uid so volume ownership is predictable. Its home is the data folder,
# which only the embedded default (`aduan up` without ADUAN_DATABASE_URL) writes to.
RUN groupadd --system --gid 10001 aduan \
    && useradd --system --uid 10001 --gid aduan --home-dir /var/lib/aduan \
        --shell /usr/sbin/nologin aduan \
    && install -d -o aduan -g aduan -m 0750 /var/lib/aduan

WORKDIR /opt/aduan
COPY pyproject.toml README.md ./
COPY launcher ./launcher
COPY shared ./shared
COPY services ./services
# Installs the package (migrations and templates included) and its dependencies; every
# dependency ships manylinux wheels, so no compiler is needed. Build leftovers are removed.
RUN pip install . && rm -rf build ./*.egg-info

WORKDIR /var/lib/aduan
USER aduan

ENTRYPOINT ["aduan"]
CMD ["--help"]
