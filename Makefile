# vidstream: nginx module + transcoding worker.
#
#   make            build the module (.so), the worker and the shared library
#   make deps       install what is missing (idempotent, seconds when done)
#   make test       every test: unit, Test::Nginx, stack and end-to-end
#   make demo       up, one upload -> transcode -> download round trip, down
#   make up / down  the local stack (CONTRACT.md section 8)
#   make bench      benchmarks, with ratios against bare nginx and ffmpeg
#
# NGINX_SRC=/path/to/nginx-x.y.z builds the module against another nginx
# source tree (configured --with-compat); by default it is built against
# Debian's nginx-dev so that /usr/sbin/nginx loads it.

SHELL       := /bin/bash
TOP         := $(CURDIR)
BUILD       := $(TOP)/build
NGINX_SRC   ?=
NGINX_BIN   ?= $(if $(NGINX_SRC),$(NGINX_SRC)/objs/nginx,/usr/sbin/nginx)

PKGS        := libjwt jansson hiredis libpq libcurl openssl libxml-2.0 \
               libavformat libavcodec libavfilter libavutil libswscale \
               libswresample
CC          ?= cc
WARN        := -Wall -Wextra -Werror -Wno-unused-parameter
CFLAGS      ?= -O2 -g
VS_CFLAGS    = $(CFLAGS) $(WARN) -std=gnu11 -fPIC -D_GNU_SOURCE \
               -Ilib $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
VS_LIBS      = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm

LIB_SRCS    := $(wildcard lib/*.c)
LIB_OBJS    := $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIB_A       := $(BUILD)/lib/libvidstream.a

WORKER_SRCS := $(wildcard worker/*.c)
WORKER_OBJS := $(WORKER_SRCS:%.c=$(BUILD)/%.o)
WORKER_BIN  := $(BUILD)/vidstream-worker

MOD_SRCS    := $(wildcard ngx_vidstream_module/src/*.[ch]) \
               ngx_vidstream_module/config
MOD_SO      := $(BUILD)/ngx_http_vidstream_module.so
NGX_BUILD   := $(BUILD)/nginx

UNIT_SRCS   := $(wildcard t/unit/test_*.c)
UNIT_BINS   := $(UNIT_SRCS:t/unit/%.c=$(BUILD)/t/%)

# scripts/upload's part sender (it falls back to curl and dd without it)
UPLOAD_BIN  := $(BUILD)/upload-parts

BENCH_SRCS  := $(wildcard bench/bench_*.c)
BENCH_BINS  := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)

.PHONY: all lib module worker deps up down demo test test-unit test-nginx \
        test-stack bench bench-bins unit-bins fuzz migrate clean distclean

# The worker is built once it has sources (it lands in steps).
all: lib module $(if $(WORKER_SRCS),worker) $(UPLOAD_BIN)

deps:
	@bash scripts/deps.sh

lib: $(LIB_A)
module: $(MOD_SO)
worker: $(WORKER_BIN)

$(BUILD)/%.o: %.c $(wildcard lib/*.h worker/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(VS_CFLAGS) -c -o $@ $<

$(LIB_A): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(UPLOAD_BIN): scripts/upload-parts.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(WARN) -std=gnu11 -o $@ $< \
	    $(shell pkg-config --cflags --libs libcurl 2>/dev/null)

$(WORKER_BIN): $(WORKER_OBJS) $(LIB_A)
	$(CC) -o $@ $(WORKER_OBJS) $(LIB_A) $(VS_LIBS)

# The module: configure a copy of the nginx tree once, then `make modules` on
# every change.  The config script lists src/ when it runs, so the tree is
# configured again when the set of source files changes (sources.list).
MOD_LIST    := $(NGX_BUILD)/sources.list
MOD_FILES   := $(sort $(wildcard ngx_vidstream_module/src/*.[ch]))
$(shell mkdir -p $(NGX_BUILD); echo "$(MOD_FILES)" | cmp -s - $(MOD_LIST) \
        || echo "$(MOD_FILES)" > $(MOD_LIST))

$(NGX_BUILD)/.configured: ngx_vidstream_module/config $(LIB_A) $(MOD_LIST)
	@VIDSTREAM_LIB=$(LIB_A) bash scripts/build-module.sh configure "$(NGINX_SRC)" "$(NGX_BUILD)"
	@touch $@

# copied under another name, then renamed: a new inode, so an nginx that
# runs the old .so keeps its mapping (cp over it crashed running workers)
$(MOD_SO): $(NGX_BUILD)/.configured $(MOD_SRCS) $(LIB_A)
	@VIDSTREAM_LIB=$(LIB_A) bash scripts/build-module.sh build "$(NGINX_SRC)" "$(NGX_BUILD)"
	cp $(NGX_BUILD)/src/objs/ngx_http_vidstream_module.so $@.tmp
	mv -f $@.tmp $@

$(BUILD)/t/%: t/unit/%.c $(LIB_A) $(wildcard t/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(VS_CFLAGS) -It/unit -o $@ $< $(LIB_A) $(VS_LIBS)

# the token parser and RS256 verification are pure C inside the module
JWT_SRC     := ngx_vidstream_module/src/ngx_http_vidstream_jwt_scan.c \
               ngx_vidstream_module/src/ngx_http_vidstream_jwk.c \
               ngx_vidstream_module/src/ngx_http_vidstream_jwt_verify.c
$(BUILD)/t/test_jwt: t/unit/test_jwt.c $(JWT_SRC) \
                     ngx_vidstream_module/src/ngx_http_vidstream_jwt.h \
                     $(LIB_A) $(wildcard t/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(VS_CFLAGS) -It/unit -Ingx_vidstream_module/src -o $@ $< \
	    $(JWT_SRC) $(LIB_A) $(VS_LIBS)

# the upload allow-list is plain C inside the worker
MEDIA_SRC   := worker/media_input.c
$(BUILD)/t/test_media_input: t/unit/test_media_input.c $(MEDIA_SRC) \
                             worker/media_input.h worker/transcode.h \
                             $(LIB_A) $(wildcard t/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(VS_CFLAGS) -It/unit -Iworker -o $@ $< $(MEDIA_SRC) $(LIB_A) \
	    $(VS_LIBS)

# the ECS credentials fetch is the worker's, over its HTTP client
CREDS_SRC   := worker/creds_fetch.c worker/http.c
$(BUILD)/t/test_creds_ecs: t/unit/test_creds_ecs.c $(CREDS_SRC) \
                           worker/creds_fetch.h worker/http.h \
                           $(LIB_A) $(wildcard t/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(VS_CFLAGS) -It/unit -Iworker -o $@ $< $(CREDS_SRC) $(LIB_A) \
	    $(VS_LIBS)

$(BUILD)/bench/%: bench/%.c $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(VS_CFLAGS) -o $@ $< $(LIB_A) $(VS_LIBS)

bench-bins: $(BENCH_BINS)
unit-bins: $(UNIT_BINS)

test: deps all $(UNIT_BINS)
	@bash scripts/test.sh

test-unit: deps lib $(UNIT_BINS)
	@bash scripts/test.sh unit

test-nginx: deps all
	@bash scripts/test.sh nginx

test-stack: deps all
	@bash scripts/test.sh stack

up: deps all
	@bash scripts/stack.sh up

down:
	@bash scripts/stack.sh down

demo: deps all
	@bash scripts/demo.sh

migrate:
	@bash sql/migrate.sh "$(DATABASE_URL)"

bench: deps all $(BENCH_BINS)
	@bash bench/run.sh

# libFuzzer targets (clang); FUZZ_SECONDS a target, 20 by default.
fuzz: deps lib
	@BUILD=$(BUILD) bash fuzz/run.sh $(or $(FUZZ_SECONDS),20)

clean:
	rm -rf $(BUILD)

distclean: clean
	rm -rf .deps .run .run-test
