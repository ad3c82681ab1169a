#!/usr/bin/env bash
# The dashboards reference only what exists:
#   - config/grafana-dashboard.json: valid JSON; every PromQL expression
#     parses (promtool check rules); every vidstream_* metric, label and
#     label value it uses is in a live scrape of the edge's /metrics (an
#     nginx of its own with the module) or in the worker's exposition
#     (worker/metrics.c); every edge and worker metric has a panel;
#   - config/cloudwatch-dashboard.json: valid JSON; every vidstream metric is
#     one of the worker's EMF record (worker/metrics.c) with one of its
#     dimension sets and known Outcome values; SQS depths name the queues of
#     config/sqs/*.json; every EMF metric and both queues are shown.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

tmp=$(mktemp -d /tmp/vidstream-dash.XXXXXX)
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

so=${BUILD:-$TOP/build}/ngx_http_vidstream_module.so
[ -f "$so" ] || { flunk "$so is built (make)"; finish; }

# -- a live scrape of the edge's exposition -------------------------------

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$tmp/logs"
cat > "$tmp/nginx.conf" <<EOF
load_module $so;
worker_processes 1;
error_log $tmp/logs/error.log;
pid $tmp/nginx.pid;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $tmp/body;
    proxy_temp_path $tmp/proxy;
    fastcgi_temp_path $tmp/fastcgi;
    uwsgi_temp_path $tmp/uwsgi;
    scgi_temp_path $tmp/scgi;
    server {
        listen 127.0.0.1:$port;
        location = /metrics { vidstream_metrics; }
    }
}
EOF
/usr/sbin/nginx -p "$tmp" -c "$tmp/nginx.conf" 2>"$tmp/nginx.err" \
    || { cat "$tmp/nginx.err"; flunk "nginx starts"; finish; }
for i in $(seq 1 50); do [ -s "$tmp/nginx.pid" ] && break; sleep 0.1; done
pid=$(cat "$tmp/nginx.pid")
check "the edge's /metrics answers" \
    curl -s -f -m 5 -o "$tmp/edge.prom" "http://127.0.0.1:$port/metrics"
kill -QUIT "$pid"; pid=

# -- the checks -----------------------------------------------------------

python3 - "$TOP" "$tmp" > "$tmp/out" <<'PY'
import glob, json, os, re, subprocess, sys

top, tmp = sys.argv[1], sys.argv[2]

def out(ok, what, detail=""):
    print(("ok - " if ok else "not ok - ") + what)
    if not ok and detail:
        for line in str(detail).splitlines():
            print("#   " + line)

# what exists: metric -> {"type", "labels": {label: set(values) or None}}
metrics = {}

for line in open(os.path.join(tmp, "edge.prom")):
    m = re.match(r"# TYPE (\S+) (\S+)", line)
    if m:
        metrics[m.group(1)] = {"type": m.group(2), "labels": {}, "src": "edge"}
        continue
    m = re.match(r"([a-z_]+)(?:\{(.*)\})? ", line)
    if not m or line.startswith("#"):
        continue
    name = re.sub(r"_(bucket|sum|count)$", "", m.group(1)) \
        if re.sub(r"_(bucket|sum|count)$", "", m.group(1)) in metrics \
        and metrics[re.sub(r"_(bucket|sum|count)$", "", m.group(1))]["type"] \
            == "histogram" else m.group(1)
    for k, v in re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""):
        if k != "le":
            metrics[name]["labels"].setdefault(k, set()).add(v)

worker_c = open(os.path.join(top, "worker", "metrics.c")).read()
literals = set(re.findall(r'"([a-z_]+)"', worker_c))
for name, typ in re.findall(r"# TYPE (vidstream_worker_\w+) (\w+)", worker_c):
    metrics[name] = {"type": typ, "labels": {}, "src": "worker"}
for name, labels in re.findall(r'(vidstream_worker_\w+)\{([^}]*)\}', worker_c):
    base = re.sub(r"_(bucket|sum|count)$", "", name)
    for k in re.findall(r'(\w+)=\\"', labels):
        if k != "le":
            metrics[base]["labels"][k] = None   # values: literals of the file

out(len([m for m in metrics.values() if m["src"] == "edge"]) >= 10
    and len([m for m in metrics.values() if m["src"] == "worker"]) >= 8,
    "the edge's and the worker's metric names are known (%d)" % len(metrics))

def value_known(metric, label, value):
    vals = metric["labels"].get(label)
    if vals is None:
        return value in literals or value == ""
    return value in vals

# -- Grafana --------------------------------------------------------------

path = os.path.join(top, "config", "grafana-dashboard.json")
try:
    dash = json.load(open(path))
    out(True, "config/grafana-dashboard.json is JSON")
except Exception as e:
    out(False, "config/grafana-dashboard.json is JSON", e)
    sys.exit(0)

exprs = []
def walk(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "expr" and isinstance(v, str):
                exprs.append(v)
            else:
                walk(v)
    elif isinstance(node, list):
        for v in node:
            walk(v)
walk(dash.get("panels", []))
out(len(exprs) >= 20, "the dashboard has its queries (%d)" % len(exprs))
out(isinstance(dash.get("title"), str) and isinstance(dash.get("panels"), list)
    and all("gridPos" in p and "type" in p for p in dash["panels"]),
    "it is a dashboard: a title, panels with a type and a place")

def concrete(e):
    return (e.replace("$__rate_interval", "5m").replace("$__range", "1h")
             .replace("$edge_job", ".*").replace("$worker_job", ".*"))

rules = {"groups": [{"name": "dashboard", "rules": [
    {"record": "dashboard:expr_%d" % i, "expr": concrete(e)}
    for i, e in enumerate(exprs)]}]}
rules_path = os.path.join(tmp, "rules.json")
json.dump(rules, open(rules_path, "w"))
r = subprocess.run(["promtool", "check", "rules", rules_path],
                   capture_output=True, text=True)
out(r.returncode == 0, "every PromQL expression parses (promtool check rules)",
    r.stdout + r.stderr)

problems, used = [], set()
for e in exprs:
    names = set()
    for name in re.findall(r"\b(vidstream_\w+)", e):
        base = name
        if name not in metrics:
            base = re.sub(r"_(bucket|sum|count)$", "", name)
            if base not in metrics or metrics[base]["type"] != "histogram":
                problems.append("unknown metric %s in: %s" % (name, e))
                continue
        names.add(base)
        used.add(base)
    for name, body in re.findall(r"\b(vidstream_\w+)\{([^}]*)\}", e):
        base = name if name in metrics else re.sub(r"_(bucket|sum|count)$",
                                                   "", name)
        if base not in metrics:
            continue
        for k, op, v in re.findall(r'(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"', body):
            if k in ("job", "instance") or (k == "le" and base != name):
                continue
            if k not in metrics[base]["labels"]:
                problems.append("%s has no label %s: %s" % (base, k, e))
                continue
            for value in (v.split("|") if op in ("=~", "!~") else [v]):
                if not value_known(metrics[base], k, value):
                    problems.append('%s{%s="%s"} never exists: %s'
                                    % (base, k, value, e))
    labels = {"job", "instance", "le"}
    for n in names:
        labels |= set(metrics[n]["labels"])
    for group in re.findall(r"\bby\s*\(([^)]*)\)", e):
        for k in [x.strip() for x in group.split(",") if x.strip()]:
            if k not in labels:
                problems.append("by (%s): no such label in: %s" % (k, e))
out(not problems, "every metric, label and label value the queries use exists",
    "\n".join(problems))
missing = sorted(n for n in metrics if n not in used)
out(not missing, "every edge and worker metric has a panel", " ".join(missing))

for v in dash.get("templating", {}).get("list", []):
    q = v.get("definition", "")
    for name in re.findall(r"\b(vidstream_\w+)", q):
        out(name in metrics, "template variable %s uses %s" % (v["name"], name))

# -- CloudWatch -----------------------------------------------------------

path = os.path.join(top, "config", "cloudwatch-dashboard.json")
try:
    cw = json.load(open(path))
    out(True, "config/cloudwatch-dashboard.json is JSON")
except Exception as e:
    out(False, "config/cloudwatch-dashboard.json is JSON", e)
    sys.exit(0)

emf_names = set(re.findall(r'"Name",\s*"(\w+)"', worker_c))
m = re.search(r'json_pack\("(\[[^"]*\])",\s*([^;]*)\);\s*\n(?:.*\n){0,3}?.*"Dimensions", dims',
              worker_c)
dim_sets = []
if m:
    args = re.findall(r'"(\w+)"', m.group(2))
    for inner in re.findall(r"\[([s,]*)\]", m.group(1)):
        n = inner.count("s")
        dim_sets.append(frozenset(args[:n]))
        args = args[n:]
outcomes = set(re.findall(r'"(\w+)"', re.search(
    r"vs_outcome_names\[[^]]*\]\s*=\s*\{([^}]*)\}", worker_c).group(1)))
queues = {json.load(open(f))["QueueName"]
          for f in glob.glob(os.path.join(top, "config", "sqs", "*.json"))
          if "QueueName" in json.load(open(f))}
out(len(emf_names) == 8 and frozenset(["Outcome"]) in dim_sets
    and frozenset(["Outcome", "ErrorCode"]) in dim_sets and queues,
    "the EMF record (%s; dimensions %s) and the queues (%s) are known"
    % (" ".join(sorted(emf_names)),
       " | ".join(",".join(sorted(d)) for d in dim_sets),
       " ".join(sorted(queues))))

problems, used_emf, used_queues = [], set(), set()
widgets = cw.get("widgets", [])
out(bool(widgets) and all(w.get("type") and "properties" in w
                          and all(k in w for k in ("x", "y", "width",
                                                   "height"))
                          for w in widgets),
    "it is a dashboard body: widgets with a type, a place and properties")
for w in widgets:
    p = w["properties"]
    for row in p.get("metrics", []):
        opts = row[-1] if row and isinstance(row[-1], dict) else {}
        fields = row[:-1] if opts else row
        if not fields and "expression" in opts:
            s = re.search(r"\{([^}]*)\}\s*MetricName=\\?\"(\w+)\\?\"(.*?)'",
                          opts["expression"])
            if not s:
                problems.append("unreadable expression " + opts["expression"])
                continue
            parts = [x.strip() for x in s.group(1).split(",")]
            if parts[0] != "vidstream" or frozenset(parts[1:]) not in dim_sets \
                    or s.group(2) not in emf_names:
                problems.append("no such EMF series: " + opts["expression"])
            for k, v in re.findall(r'(\w+)="(\w+)"', s.group(3)):
                if k == "Outcome" and v not in outcomes:
                    problems.append("Outcome %s never exists" % v)
            used_emf.add(s.group(2))
            continue
        if len(fields) < 2 or len(fields) % 2:
            problems.append("malformed metric row %r" % row)
            continue
        ns, name = fields[0], fields[1]
        dims = dict(zip(fields[2::2], fields[3::2]))
        if ns == "vidstream":
            if name not in emf_names:
                problems.append("vidstream %s is not in the EMF record" % name)
            if frozenset(dims) not in dim_sets:
                problems.append("vidstream %s by %s: not a dimension set"
                                % (name, ",".join(dims)))
            if dims.get("Outcome", "done") not in outcomes:
                problems.append("Outcome %s never exists" % dims["Outcome"])
            used_emf.add(name)
        elif ns == "AWS/SQS":
            if name != "ApproximateNumberOfMessagesVisible" \
                    or set(dims) != {"QueueName"} \
                    or dims["QueueName"] not in queues:
                problems.append("AWS/SQS row %r" % row)
            used_queues.add(dims.get("QueueName"))
        else:
            problems.append("unexpected namespace %s" % ns)
out(not problems, "every CloudWatch metric it shows exists", "\n".join(problems))
out(used_emf == emf_names, "every EMF metric is shown",
    " ".join(sorted(emf_names - used_emf)))
out(used_queues == queues, "the queue's and the DLQ's depth are shown",
    " ".join(sorted(queues - used_queues)))
PY

cat "$tmp/out"
t_passed=$((t_passed + $(grep -c '^ok - ' "$tmp/out")))
t_failed=$((t_failed + $(grep -c '^not ok - ' "$tmp/out")))
finish
