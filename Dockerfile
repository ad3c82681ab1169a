# vidstream images: one Dockerfile, two runtime targets.
#
#   docker build --target edge   -t vidstream-edge   .
#   docker build --target worker -t vidstream-worker .
#
# The build stage compiles the module against Debian bookworm's nginx-dev,
# the very nginx 1.22.1 the edge image runs (`make module` does exactly what
# it does on a developer machine), and the worker with the same toolchain.
# The runtime stages hold no compiler, no -dev package and no apt lists, and
# run as an unprivileged user.  t/stack/dockerfile-check.sh checks all this
# statically (`make test`); there is no Docker engine on the build machine.


# ---------------------------------------------------------------- build ----
FROM debian:bookworm AS build

RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        build-essential pkg-config ca-certificates \
        nginx-dev \
        libjwt-dev libjansson-dev libhiredis-dev libpq-dev libssl-dev \
        libcurl4-openssl-dev \
        libavformat-dev libavcodec-dev libavfilter-dev libavutil-dev \
        libswscale-dev libswresample-dev \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src

# Only what `make lib module worker` reads, so that tests, docs and
# benchmarks do not invalidate the build cache.
COPY Makefile ./
COPY scripts/ scripts/
COPY lib/ lib/
COPY ngx_vidstream_module/ ngx_vidstream_module/
COPY worker/ worker/

# BUILD is the Makefile's default (/src/build): the module's config script
# finds libvidstream.a there.
RUN make -j"$(nproc)" lib module worker \
    && strip --strip-unneeded build/ngx_http_vidstream_module.so \
    && strip build/vidstream-worker


# ------------------------------------------------------------------ web ----
# hls.js for the web app, from the project's lock file (no browser is
# downloaded: puppeteer-core has no install script)
FROM debian:bookworm AS web
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        nodejs npm ca-certificates \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY scripts/node/package.json scripts/node/package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts

# ----------------------------------------------------------------- edge ----
FROM debian:bookworm-slim AS edge

# nginx (1.22.1, the same package nginx-dev above was built for) and the
# shared libraries the module links: libjwt, jansson, hiredis, libpq,
# OpenSSL (libssl3 comes with nginx).
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        nginx ca-certificates gettext-base \
        libjwt0 libjansson4 libhiredis0.14 libpq5 libxml2 \
    && rm -rf /var/lib/apt/lists/* \
    && rm -f /etc/nginx/sites-enabled/default

COPY --from=build /src/build/ngx_http_vidstream_module.so /usr/lib/nginx/modules/
COPY nginx.conf.d/ /etc/nginx/vidstream/
# the web app (CONTRACT.md section 9) and the hls.js it serves
COPY web/ /usr/share/vidstream/web/
COPY --from=web /src/node_modules/hls.js/dist/hls.min.js /usr/share/vidstream/web/vendor/hls.min.js
COPY config/docker/healthcheck-edge /usr/local/bin/vidstream-healthcheck
COPY config/docker/edge-entrypoint /usr/local/bin/vidstream-edge-entrypoint

# Fail the image build, not the deployment, when the module does not load
# into this nginx (an nginx-dev/nginx version skew, a missing library).
RUN printf '%s\n' \
        'load_module /usr/lib/nginx/modules/ngx_http_vidstream_module.so;' \
        'pid /tmp/nginx-load-check.pid;' 'events {}' 'http {}' \
        > /tmp/load-check.conf \
    && nginx -t -q -c /tmp/load-check.conf \
    && rm -f /tmp/load-check.conf

# An unprivileged user owning only what nginx writes: its temp paths
# (/var/lib/nginx; after the check, which as root may create them for
# "nobody"), the pid file directory /run/nginx and the logs, which go to the
# container's stdout/stderr.  It cannot bind ports below 1024, so
# production.conf listens on 8080.
RUN useradd --system --uid 10001 --user-group --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin vidstream \
    && mkdir -p /var/lib/nginx /run/nginx /var/log/nginx \
    && ln -sf /dev/stdout /var/log/nginx/access.log \
    && ln -sf /dev/stderr /var/log/nginx/error.log \
    && chown -R vidstream:vidstream /var/lib/nginx /run/nginx /var/log/nginx

USER 10001:10001
EXPOSE 8080
ENV VIDSTREAM_EDGE_PORT=8080

# SIGQUIT: nginx's graceful shutdown (finish in-flight requests).
STOPSIGNAL SIGQUIT
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/vidstream-healthcheck"]
# The entrypoint renders production.conf.template from the environment into
# /run/nginx/production.conf (see config/edge.env.example).
ENTRYPOINT ["/usr/local/bin/vidstream-edge-entrypoint"]
CMD ["nginx", "-c", "/run/nginx/production.conf", "-g", "daemon off;"]


# --------------------------------------------------------------- worker ----
FROM debian:bookworm-slim AS worker

# The runtime halves of the build stage's -dev packages.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        ca-certificates \
        libavformat59 libavcodec59 libavfilter8 libavutil57 \
        libswscale6 libswresample4 \
        libpq5 libcurl4 libjansson4 libhiredis0.14 libjwt0 libssl3 libxml2 \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --system --uid 10001 --user-group --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin vidstream

COPY --from=build /src/build/vidstream-worker /usr/local/bin/vidstream-worker
COPY config/docker/healthcheck-worker /usr/local/bin/vidstream-healthcheck

# Fail the image build when a shared library the worker needs is missing.
RUN ldd /usr/local/bin/vidstream-worker > /tmp/ldd.txt \
    && ! grep 'not found' /tmp/ldd.txt \
    && rm /tmp/ldd.txt

USER 10001:10001
# Scratch space for downloads and transcodes: the task's ephemeral storage.
ENV TMPDIR=/tmp

# SIGTERM: the worker stops receiving and finishes or releases its job;
# ECS gives it stopTimeout (120 s) before SIGKILL.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/usr/local/bin/vidstream-healthcheck"]
CMD ["/usr/local/bin/vidstream-worker"]
