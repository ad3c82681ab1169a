#!/usr/bin/env bash
# Static checks of the Dockerfile (there is no Docker engine to build it):
#   - FROM images pinned to bookworm; the build, edge and worker stages exist;
#     every --from names an earlier stage;
#   - every COPY source exists in the repository and survives .dockerignore;
#     every COPY --from=build source is something the Makefile builds;
#   - every apt package exists in Debian bookworm (apt-cache, offline);
#     --no-install-recommends everywhere, apt lists removed in the same RUN,
#     no compiler or -dev package in a runtime stage;
#   - runtime stages: non-root USER, a HEALTHCHECK whose script is copied in;
#   - the shared libraries the built module and worker need are installed by
#     their runtime stage (when build/ holds them);
#   - edge: CMD runs nginx in the foreground with production.conf, which
#     exists and loads the module from where the image puts it;
#   - the edge health check script against a real nginx.
# Prints "N passed, N failed"; exits non-zero on any failure.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
# The build to inspect: scripts/test.sh points TEST_NGINX_LOAD_MODULES at the
# module it built, in the same BUILD directory as the worker.
build_dir=${VIDSTREAM_BUILD_DIR:-}
if [ -z "$build_dir" ] && [ -n "${TEST_NGINX_LOAD_MODULES:-}" ]; then
    build_dir=$(dirname "${TEST_NGINX_LOAD_MODULES%% *}")
fi
build_dir=${build_dir:-$TOP/build}

# ---- the static part: a Python reader of the Dockerfile ------------------
# It prints one line per check: "PASS<TAB>what", "FAIL<TAB>what<TAB>why" or
# "SKIP<TAB>what<TAB>why".
results=$("$PY" - "$TOP" "$build_dir" <<'PYEOF'
import os, re, shlex, subprocess, sys

top, build_dir = sys.argv[1], sys.argv[2]
RUNTIME = ("edge", "worker")


def out(kind, what, why=""):
    print("%s\t%s\t%s" % (kind, what, why.replace("\n", " ")))


def check(ok, what, why=""):
    out("PASS" if ok else "FAIL", what, "" if ok else why)


# -- parse: continuation lines joined, comments dropped ---------------------
path = os.path.join(top, "Dockerfile")
try:
    raw = open(path).read().splitlines()
except OSError as e:
    out("FAIL", "Dockerfile exists", str(e))
    sys.exit(0)

instrs, cur = [], ""
for line in raw:
    s = line.strip()
    if s.startswith("#") or (not s and not cur):
        continue
    if s.endswith("\\"):
        cur += s[:-1] + " "
        continue
    cur += s
    if cur.strip():
        kw, _, args = cur.strip().partition(" ")
        instrs.append((kw.upper(), args.strip()))
    cur = ""

stages = []          # dicts: name, image, instrs
for kw, args in instrs:
    if kw == "FROM":
        m = re.match(r"(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$", args, re.I)
        if not m:
            out("FAIL", "FROM parses", args)
            continue
        stages.append({"image": m.group(1), "name": (m.group(2) or "").lower(),
                       "instrs": []})
    elif stages:
        stages[-1]["instrs"].append((kw, args))
    elif kw != "ARG":
        out("FAIL", "instruction before the first FROM", kw)

names = [s["name"] for s in stages]
check(len(stages) >= 3, "Dockerfile has build and runtime stages",
      "%d stages" % len(stages))
for want in ("build",) + RUNTIME:
    check(want in names, "stage %s exists" % want, "stages: %s" % names)

# -- FROM: earlier stage or an image pinned to bookworm ---------------------
for i, s in enumerate(stages):
    img = s["image"]
    if img.lower() in names[:i]:
        check(True, "FROM %s (stage %s) is an earlier stage" % (img, s["name"]))
        continue
    repo, _, tag = img.partition("@")[0].partition(":")
    check(repo in ("debian", "docker.io/library/debian")
          and re.match(r"bookworm(-slim)?(-\d{8})?$", tag or "") is not None,
          "FROM %s (stage %s) is pinned to Debian bookworm" % (img, s["name"]),
          "want debian:bookworm or debian:bookworm-slim[-YYYYMMDD]")


def stage(name):
    for s in stages:
        if s["name"] == name:
            return s
    return None


def workdir(s):
    wd = "/"
    for kw, args in s["instrs"]:
        if kw == "WORKDIR":
            wd = os.path.join(wd, args)
    return wd


# -- .dockerignore ----------------------------------------------------------
ignore = []
try:
    for line in open(os.path.join(top, ".dockerignore")):
        line = line.strip()
        if line and not line.startswith("#"):
            neg = line.startswith("!")
            pat = line.lstrip("!").strip("/")
            rx = ""
            i = 0
            while i < len(pat):
                if pat.startswith("**/", i):
                    rx += "(?:.*/)?"; i += 3
                elif pat.startswith("**", i):
                    rx += ".*"; i += 2
                elif pat[i] == "*":
                    rx += "[^/]*"; i += 1
                elif pat[i] == "?":
                    rx += "[^/]"; i += 1
                else:
                    rx += re.escape(pat[i]); i += 1
            ignore.append((neg, re.compile(rx + "$"), line))
except OSError:
    pass


def ignored(rel):
    """Docker's rule: the last matching pattern wins; a pattern matching a
    parent directory excludes what is below it."""
    parts = rel.strip("/").split("/")
    excluded = False
    for neg, rx, _ in ignore:
        for n in range(1, len(parts) + 1):
            if rx.match("/".join(parts[:n])):
                excluded = not neg
                break
    return excluded


# -- COPY / ADD -------------------------------------------------------------
makefile = open(os.path.join(top, "Makefile")).read()
built = set(re.findall(r"\$\(BUILD\)/([A-Za-z0-9_.-]+)\b", makefile))
copied = {}          # stage name -> list of destination paths

for s in stages:
    copied[s["name"]] = []
    for kw, args in s["instrs"]:
        if kw not in ("COPY", "ADD"):
            continue
        words = shlex.split(args)
        opts = [w for w in words if w.startswith("--")]
        paths = [w for w in words if not w.startswith("--")]
        if len(paths) < 2:
            out("FAIL", "%s %s has a source and a destination" % (kw, args))
            continue
        srcs, dest = paths[:-1], paths[-1]
        frm = [o.split("=", 1)[1] for o in opts if o.startswith("--from=")]
        for src in srcs:
            # a directory source copies its contents into dest
            d = dest
            if d.endswith("/") and not src.endswith("/") \
                    and not (not frm and os.path.isdir(os.path.join(top, src))):
                d = os.path.join(d, os.path.basename(src))
            copied[s["name"]].append(d)
            if frm:
                f = frm[0].lower()
                ok = f in names[:names.index(s["name"])] or f.isdigit() \
                    and int(f) < names.index(s["name"])
                check(ok, "COPY --from=%s (stage %s) names an earlier stage"
                      % (frm[0], s["name"]), "stages: %s" % names)
                src_stage = stage(f)
                if src_stage is not None and f == "build":
                    prefix = os.path.join(workdir(src_stage), "build") + "/"
                    base = src[len(prefix):] if src.startswith(prefix) else ""
                    check(base in built,
                          "COPY --from=build %s is a Makefile product" % src,
                          "want %s<one of %s>" % (prefix, sorted(built)))
                continue
            if kw == "ADD" and re.match(r"https?://", src):
                out("FAIL", "ADD %s: no remote sources" % src, "use COPY")
                continue
            full = os.path.join(top, src)
            check(os.path.exists(full),
                  "COPY source %s exists (stage %s)" % (src, s["name"]),
                  "%s is missing" % full)
            check(not ignored(src),
                  "COPY source %s is not excluded by .dockerignore" % src,
                  "a .dockerignore pattern matches it")
            if os.path.isdir(full):
                lost = []
                for root, dirs, files in os.walk(full):
                    for fn in files:
                        rel = os.path.relpath(os.path.join(root, fn), top)
                        if ignored(rel) and not re.search(r"\.(o|a|so)$|~$|\.swp$", fn):
                            lost.append(rel)
                check(not lost, "no source file under %s is dropped by "
                      ".dockerignore" % src, " ".join(lost[:5]))

# -- RUN: apt hygiene and packages --------------------------------------------
BUILD_TOOLS = re.compile(r"(-dev$|^build-essential$|^gcc(-\d+)?$|^g\+\+|"
                         r"^clang|^make$|^pkg-config$|^cpp$|^binutils$)")
pkgs_by_stage = {}
for s in stages:
    pkgs = pkgs_by_stage.setdefault(s["name"], [])
    for kw, args in s["instrs"]:
        if kw != "RUN" or "apt-get" not in args and "apt " not in args:
            continue
        for seg in re.split(r"&&|;|\|\|?", args):
            words = seg.split()
            if "install" not in words or not any(w.endswith("apt-get") or w == "apt"
                                                 for w in words):
                continue
            check("--no-install-recommends" in words,
                  "apt-get install in stage %s has --no-install-recommends"
                  % s["name"], seg.strip())
            after = words[words.index("install") + 1:]
            pkgs += [w.strip("'\"") for w in after
                     if not w.startswith("-") and "=" not in w]
        if "apt-get update" in args:
            check("rm -rf /var/lib/apt/lists/*" in args,
                  "stage %s removes the apt lists in the RUN that fetched them"
                  % s["name"], "add && rm -rf /var/lib/apt/lists/*")

have_lists = any(f.endswith("_Packages") or "_Packages." in f
                 for f in os.listdir("/var/lib/apt/lists")) \
    if os.path.isdir("/var/lib/apt/lists") else False
all_pkgs = []
for name, pkgs in pkgs_by_stage.items():
    if name in RUNTIME:
        tools = [p for p in pkgs if BUILD_TOOLS.search(p)]
        check(not tools, "runtime stage %s installs no compiler or -dev "
              "package" % name, "%s belong in the build stage" % tools)
    all_pkgs += [p for p in pkgs if p not in all_pkgs]
# one apt-cache call for all: "NAME | VERSION | URI SUITE/COMPONENT ARCH Packages"
madison = {}
if have_lists and all_pkgs:
    r = subprocess.run(["apt-cache", "madison"] + all_pkgs,
                       capture_output=True, text=True)
    for line in r.stdout.splitlines():
        f = [x.strip() for x in line.split("|")]
        if len(f) == 3:
            madison.setdefault(f[0], []).append(f[2])
for p in all_pkgs:
    if not have_lists:
        out("FAIL", "apt package %s exists in bookworm" % p,
            "no apt lists: run apt-get update (make deps does)")
        continue
    check(any(re.search(r"\sbookworm(-updates|-security)?/main\s", src + " ")
              for src in madison.get(p, [])),
          "apt package %s exists in Debian bookworm" % p,
          "apt-cache madison: %s" % (madison.get(p) or "nothing"))

b = stage("build")
if b is not None:
    runs = " ".join(a for k, a in b["instrs"] if k == "RUN")
    m = re.search(r"\bmake\b([^&;|]*)", runs)
    goals = m.group(1).split() if m else []
    check(all(g in goals for g in ("lib", "module", "worker"))
          and not any(g.startswith(("BUILD=", "NGINX_SRC=")) for g in goals),
          "build stage runs make lib module worker (against nginx-dev, "
          "default BUILD)", "make %s" % " ".join(goals))

# -- runtime stages: USER, HEALTHCHECK, CMD ----------------------------------
for name in RUNTIME:
    s = stage(name)
    if s is None:
        continue
    users = [a for k, a in s["instrs"] if k == "USER"]
    last = users[-1].strip() if users else ""
    check(last != "" and last.split(":")[0] not in ("root", "0"),
          "stage %s runs as a non-root USER (%s)" % (name, last or "none"),
          "add USER <uid>:<gid> after the RUNs that need root")
    kws = [k for k, _ in s["instrs"]]
    if users:
        later = [k for k in kws[len(kws) - kws[::-1].index("USER"):]
                 if k == "RUN"]
        check(not later, "stage %s has no RUN after its USER" % name,
              "RUN after USER runs unprivileged: probably a mistake")
    hc = [a for k, a in s["instrs"] if k == "HEALTHCHECK"]
    check(bool(hc) and not hc[-1].upper().startswith("NONE"),
          "stage %s has a HEALTHCHECK" % name, "none")
    if hc:
        m = re.search(r"CMD\s+\[\s*\"([^\"]+)\"", hc[-1]) or \
            re.search(r"CMD\s+(\S+)", hc[-1])
        prog = m.group(1) if m else ""
        check(prog in copied[name],
              "stage %s: the HEALTHCHECK program %s is copied into the image"
              % (name, prog), "copied: %s" % copied[name])
    cmds = [a for k, a in s["instrs"] if k in ("CMD", "ENTRYPOINT")]
    check(bool(cmds) and cmds[-1].startswith("["),
          "stage %s has an exec-form CMD (signals reach the process)" % name,
          cmds[-1] if cmds else "no CMD")
    if name == "worker" and cmds:
        prog = re.search(r"\[\s*\"([^\"]+)\"", cmds[-1])
        check(prog is not None and prog.group(1) in copied[name],
              "worker CMD runs the copied vidstream-worker", cmds[-1])

edge = stage("edge")
if edge is not None:
    cmd = [a for k, a in edge["instrs"] if k == "CMD"]
    cmd = cmd[-1] if cmd else ""
    check("daemon off;" in cmd, "edge runs nginx in the foreground (daemon off)",
          cmd)
    m = re.search(r'"-c",\s*"([^"]+)"', cmd)
    conf = m.group(1) if m else ""
    check(conf == "/run/nginx/production.conf",
          "edge CMD runs the rendered /run/nginx/production.conf", cmd)
    ent = [a for k, a in edge["instrs"] if k == "ENTRYPOINT"]
    ent = ent[-1] if ent else ""
    m = re.search(r'\[\s*"([^"]+)"', ent)
    check(m is not None and m.group(1) in copied["edge"],
          "edge ENTRYPOINT (the template renderer) is copied into the image",
          ent)
    prod = os.path.join(top, "nginx.conf.d", "production.conf.template")
    dest_conf = any(d.rstrip("/") == "/etc/nginx/vidstream"
                    for d in copied["edge"])
    check(dest_conf, "nginx.conf.d/ is copied to /etc/nginx/vidstream/",
          "copied: %s" % copied["edge"])
    if not os.path.exists(prod):
        out("FAIL", "nginx.conf.d/production.conf.template exists",
            "the edge image's entrypoint renders it")
    else:
        check(True, "nginx.conf.d/production.conf.template exists")
        text = re.sub(r"#.*", "", open(prod).read())
        lm = re.findall(r"^\s*load_module\s+(\S+?);", text, re.M)
        so = [d for d in copied["edge"] if d.endswith(".so")]
        resolved = [p if p.startswith("/") else
                    os.path.join("/usr/share/nginx", p) for p in lm]
        resolved = [p.replace("/usr/share/nginx/modules/",
                              "/usr/lib/nginx/modules/") for p in resolved]
        check(bool(so) and any(p in so for p in resolved),
              "production.conf.template loads the module from where the image puts it",
              "load_module %s vs copied %s" % (lm, so))
        check(re.search(r"^\s*daemon\s", text, re.M) is None,
              "production.conf.template does not set daemon (CMD passes daemon off)",
              "a second daemon directive makes nginx refuse to start")
        pid = re.findall(r"^\s*pid\s+(\S+?);", text, re.M)
        check(bool(pid) and pid[-1].startswith(("/run/nginx/", "/tmp/")),
              "production.conf.template puts its pid file where the non-root user "
              "may write", "pid %s: want /run/nginx/nginx.pid" % pid)
        ports = re.findall(r"(?:^|[{;])\s*listen\s+(?:[\d.*]+:|\[[^]]*\]:)?(\d+)",
                           text, re.M)
        check(bool(ports) and all(int(p) >= 1024 for p in ports),
              "production.conf.template listens on unprivileged ports only",
              "listen %s: non-root nginx cannot bind below 1024" % ports)
        check("8080" in ports, "production.conf.template listens on 8080 (EXPOSE, "
              "health check, ECS port mapping)", "listen %s" % ports)

# -- the libraries the built binaries need are in their runtime stage -------
def needed(binary):
    r = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True)
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", r.stdout)


def resolved(binary):
    """soname -> the path the dynamic linker picks on this machine."""
    r = subprocess.run(["ldd", binary], capture_output=True, text=True)
    return dict(re.findall(r"^\s*(\S+) => (/\S+)", r.stdout, re.M))


def package_of(soname, path):
    for q in ([path, os.path.realpath(path)] if path else []) + ["*/" + soname]:
        r = subprocess.run(["dpkg", "-S", q], capture_output=True, text=True)
        for line in r.stdout.splitlines():
            pkg = line.split(":")[0].strip()
            if pkg and not pkg.endswith("-dev"):
                return pkg
    return None


def closure(pkgs):
    r = subprocess.run(["apt-cache", "depends", "--recurse", "--no-recommends",
                        "--no-suggests", "--no-conflicts", "--no-breaks",
                        "--no-replaces", "--no-enhances"] + pkgs,
                       capture_output=True, text=True)
    deps = set(pkgs)
    for line in r.stdout.splitlines():
        m = re.match(r"\s+(?:PreDepends|Depends):\s+<?([^\s>]+)>?", line)
        if m:
            deps.add(m.group(1).split(":")[0])
    return deps


def essential(pkg):
    r = subprocess.run(["dpkg-query", "-W", "-f=${Essential} ${Priority}", pkg],
                       capture_output=True, text=True)
    return r.stdout.startswith("yes") or "required" in r.stdout


for name, product in (("edge", "ngx_http_vidstream_module.so"),
                      ("worker", "vidstream-worker")):
    binary = os.path.join(build_dir, product)
    if stage(name) is None:
        continue
    if not os.path.exists(binary):
        out("SKIP", "stage %s installs the libraries %s needs" % (name, product),
            "%s not built yet" % binary)
        continue
    have = closure(pkgs_by_stage.get(name, []))
    paths = resolved(binary)
    for soname in needed(binary):
        pkg = package_of(soname, paths.get(soname))
        check(pkg is not None and (pkg in have or essential(pkg)),
              "stage %s provides %s (needed by %s, package %s)"
              % (name, soname, product, pkg),
              "add the package to the stage's apt-get install")
PYEOF
)
[ -n "$results" ] || flunk "the Dockerfile reader ran"
while IFS=$'\t' read -r kind what why; do
    case $kind in
    PASS) pass "$what" ;;
    FAIL) flunk "$what"; [ -n "$why" ] && echo "#   $why" ;;
    SKIP) echo "skipped - $what ($why)" ;;
    esac
done <<< "$results"

# ---- the edge health check script against a real nginx --------------------
hc=$TOP/config/docker/healthcheck-edge
nginx=${TEST_NGINX_BINARY:-/usr/sbin/nginx}
if [ ! -x "$nginx" ]; then
    echo "skipped - edge health check against nginx (no $nginx)"
else
    tmp=$(mktemp -d)
    port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    mkdir -p "$tmp/logs"
    cat > "$tmp/nginx.conf" <<EOF
pid $tmp/nginx.pid;
error_log $tmp/logs/error.log;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $tmp/body; proxy_temp_path $tmp/proxy;
    fastcgi_temp_path $tmp/fcgi; uwsgi_temp_path $tmp/uwsgi;
    scgi_temp_path $tmp/scgi;
    server {
        listen 127.0.0.1:$port;
        location = /upload/health { default_type text/plain; return 200 "upload ok\n"; }
        location = /wrong { default_type text/plain; return 200 "something else\n"; }
        location = /down { return 503 "upload ok\n"; }
    }
}
EOF
    if "$nginx" -p "$tmp" -c "$tmp/nginx.conf" -e "$tmp/logs/error.log"; then
        for _ in $(seq 50); do [ -s "$tmp/nginx.pid" ] && break; sleep 0.1; done
        check "edge health check passes on 200 'upload ok'" \
            "$hc" "$port"
        check "edge health check fails on a 200 with another body" \
            bash -c '! "$1" "$2" /wrong 2>/dev/null' _ "$hc" "$port"
        check "edge health check fails on a 503" \
            bash -c '! "$1" "$2" /down 2>/dev/null' _ "$hc" "$port"
        kill "$(cat "$tmp/nginx.pid")"
        for _ in $(seq 50); do [ -e "$tmp/nginx.pid" ] || break; sleep 0.1; done
        check "edge health check fails when nothing listens" \
            bash -c '! "$1" "$2" 2>/dev/null' _ "$hc" "$port"
    else
        flunk "start nginx for the health check test"
        cat "$tmp/logs/error.log" 2>/dev/null
    fi
    rm -rf "$tmp"
fi

# ---- the worker health check script: a heartbeat file's age ---------------
whc=$TOP/config/docker/healthcheck-worker
tmp=$(mktemp -d)
touch "$tmp/hb"
check "worker health check passes on a fresh heartbeat" "$whc" "$tmp/hb" 120
touch -d '-10 minutes' "$tmp/hb"
check "worker health check fails on a 10-minute-old heartbeat" \
    bash -c '! "$1" "$2" 120 2>/dev/null' _ "$whc" "$tmp/hb"
check "worker health check honours VIDSTREAM_HEARTBEAT_MAX_AGE" \
    env VIDSTREAM_HEARTBEAT_FILE="$tmp/hb" VIDSTREAM_HEARTBEAT_MAX_AGE=900 "$whc"
check "worker health check fails without a heartbeat file" \
    bash -c '! "$1" "$2" 2>/dev/null' _ "$whc" "$tmp/missing"
rm -rf "$tmp"

finish
