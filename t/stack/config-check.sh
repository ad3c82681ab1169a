#!/usr/bin/env bash
# config/: every JSON file parses, and the deployment files agree with each
# other: account, region, bucket, queue and DLQ names and ARNs; the IAM
# policies grant exactly what each service needs (evaluated, not grepped);
# task definitions name roles whose policies exist, inject the database
# password from the secret the execution role may read, log where it may
# write; the worker has no ports and a 120 s stopTimeout, the edge a port and
# a health check; the autoscaling policies point at the worker service and
# queue; every environment variable the worker (and production.conf) reads
# is documented in the env examples, and nothing documented is unread.
# Prints "N passed, N failed"; exits non-zero on any failure.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

results=$(/usr/bin/python3 - "$TOP" <<'PYEOF'
import fnmatch, glob, json, os, re, sys
from urllib.parse import urlparse

top = sys.argv[1]
cfg = os.path.join(top, "config")


def out(kind, what, why=""):
    print("%s\t%s\t%s" % (kind, what, str(why).replace("\n", " ")[:300]))


def check(ok, what, why=""):
    out("PASS" if ok else "FAIL", what, "" if ok else why)


# ---- every JSON file parses -------------------------------------------------
docs = {}
files = sorted(glob.glob(os.path.join(cfg, "**", "*.json"), recursive=True))
check(len(files) >= 10, "config/ holds the deployment JSON files",
      "%d found" % len(files))
for f in files:
    rel = os.path.relpath(f, top)
    try:
        docs[os.path.relpath(f, cfg)] = json.load(open(f))
        check(True, "%s parses" % rel)
    except ValueError as e:
        check(False, "%s parses" % rel, e)


def doc(name):
    d = docs.get(name)
    if d is None:
        out("FAIL", "config/%s exists and parses" % name, "missing")
    return d


def walk(x):
    """Every string inside a JSON value."""
    if isinstance(x, dict):
        for v in x.values():
            yield from walk(v)
    elif isinstance(x, list):
        for v in x:
            yield from walk(v)
    elif isinstance(x, str):
        yield x


# ---- env examples ---------------------------------------------------------------
def env_example(name):
    path = os.path.join(cfg, name)
    vals, documented = {}, set()
    try:
        lines = open(path).read().splitlines()
    except OSError as e:
        out("FAIL", "config/%s exists" % name, e)
        return vals, documented
    prev_comment = False
    undocumented = []
    for line in lines:
        m = re.match(r"^(#)?([A-Z][A-Z0-9_]*)=(.*)$", line)
        if m:
            documented.add(m.group(2))
            if not m.group(1):
                vals[m.group(2)] = m.group(3)
            if not prev_comment:
                undocumented.append(m.group(2))
            # a run of related variables may share one comment
            prev_comment = True if m.group(1) else prev_comment
            continue
        prev_comment = line.startswith("#") and line.strip() != "#"
    check(not undocumented, "every variable in config/%s has a comment" % name,
          "no comment above: %s" % undocumented)
    return vals, documented


edge_env, edge_doc = env_example("edge.env.example")
worker_env, worker_doc = env_example("worker.env.example")

for var in ("AWS_REGION", "VIDSTREAM_DATABASE_URL", "VIDSTREAM_QUEUE_URL",
            "VIDSTREAM_BUCKET"):
    for n, e in (("edge", edge_env), ("worker", worker_env)):
        check(var in e, "%s.env.example sets %s" % (n, var), "missing")
for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_SQS",
            "VIDSTREAM_REDIS_URL"):
    for n, d in (("edge", edge_doc), ("worker", worker_doc)):
        check(var in d, "%s.env.example documents %s (CONTRACT section 7)"
              % (n, var), "missing")

for var in ("AWS_REGION", "VIDSTREAM_QUEUE_URL", "VIDSTREAM_BUCKET"):
    check(edge_env.get(var) == worker_env.get(var),
          "edge and worker env examples agree on %s" % var,
          "%s vs %s" % (edge_env.get(var), worker_env.get(var)))

region = worker_env.get("AWS_REGION", "")
bucket = worker_env.get("VIDSTREAM_BUCKET", "")
qurl = urlparse(worker_env.get("VIDSTREAM_QUEUE_URL", ""))
qparts = qurl.path.strip("/").split("/")
m = re.match(r"sqs\.([a-z0-9-]+)\.amazonaws\.com$", qurl.netloc or "")
check(m is not None and len(qparts) == 2 and qparts[0].isdigit(),
      "VIDSTREAM_QUEUE_URL is https://sqs.REGION.amazonaws.com/ACCOUNT/NAME",
      qurl.geturl())
account = qparts[0] if len(qparts) == 2 else ""
queue = qparts[1] if len(qparts) == 2 else ""
check(m is not None and m.group(1) == region,
      "the queue URL's region is AWS_REGION (%s)" % region, qurl.netloc)
queue_arn = "arn:aws:sqs:%s:%s:%s" % (region, account, queue)
bucket_arn = "arn:aws:s3:::%s" % bucket

for n, e in (("edge", edge_env), ("worker", worker_env)):
    u = e.get("VIDSTREAM_DATABASE_URL", "")
    check(urlparse(u).password is None,
          "%s.env.example keeps the password out of the database URL" % n,
          "use PGPASSWORD from Secrets Manager")

# ---- one account, one region everywhere -------------------------------------------
for name, d in sorted(docs.items()):
    bad = []
    for s in walk(d):
        for arn in re.findall(r"arn:aws:[a-z0-9-]+:[a-z0-9-]*:[0-9]*:", s):
            _, _, svc, reg, acct, _ = arn.split(":")
            if reg not in ("", region) or acct not in ("", account):
                bad.append(arn)
        for host in re.findall(r"(\d+)\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws", s):
            if host != (account, region):
                bad.append(".".join(host))
    check(not bad, "config/%s uses account %s and region %s only"
          % (name, account, region), bad)

# ---- SQS: queue, DLQ, redrive ---------------------------------------------------------
q = doc("sqs/vidstream-jobs.json") or {}
dlq = doc("sqs/vidstream-jobs-dlq.json") or {}
check(q.get("QueueName") == queue, "sqs queue definition is named %s" % queue,
      q.get("QueueName"))
dlq_arn = "arn:aws:sqs:%s:%s:%s" % (region, account, dlq.get("QueueName"))
check(dlq.get("QueueName") == queue + "-dlq",
      "the dead-letter queue is %s-dlq" % queue, dlq.get("QueueName"))
try:
    rp = json.loads(q["Attributes"]["RedrivePolicy"])
    check(rp.get("deadLetterTargetArn") == dlq_arn
          and int(rp.get("maxReceiveCount", 0)) >= 1,
          "the job queue redrives to the DLQ after maxReceiveCount", rp)
except (KeyError, ValueError) as e:
    check(False, "the job queue has a RedrivePolicy (JSON string)", e)
try:
    ra = json.loads(dlq["Attributes"]["RedriveAllowPolicy"])
    check(queue_arn in ra.get("sourceQueueArns", []),
          "the DLQ allows redrive from the job queue only", ra)
except (KeyError, ValueError) as e:
    check(False, "the DLQ has a RedriveAllowPolicy (JSON string)", e)
vt = int(q.get("Attributes", {}).get("VisibilityTimeout", "0"))
check(vt >= 60, "the job queue's VisibilityTimeout gives a job time to start "
      "heartbeating", vt)
check(int(dlq.get("Attributes", {}).get("MessageRetentionPeriod", "0"))
      > int(q.get("Attributes", {}).get("MessageRetentionPeriod", "0")),
      "the DLQ keeps messages longer than the job queue (replay window)")


# ---- IAM: evaluate the policies ----------------------------------------------------------
def as_list(x):
    return x if isinstance(x, list) else [x]


def allowed(policy, action, resource):
    ok = False
    for st in as_list(policy.get("Statement", [])):
        acts = as_list(st.get("Action", []))
        ress = as_list(st.get("Resource", []))
        if any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in acts) \
                and any(fnmatch.fnmatchcase(resource, r) for r in ress):
            if st.get("Effect") == "Deny":
                return False
            ok = ok or st.get("Effect") == "Allow"
    return ok


edge_p = doc("iam/edge-policy.json") or {}
worker_p = doc("iam/worker-policy.json") or {}
exec_p = doc("iam/execution-policy.json") or {}
oper_p = doc("iam/dlq-operator-policy.json") or {}
inp = "%s/input/alice/0b0c5b6e-3f7a-4c1e-9a51-0d4c2e8f9a10/source" % bucket_arn
outp = "%s/output/alice/0b0c5b6e-3f7a-4c1e-9a51-0d4c2e8f9a10/video.mp4" % bucket_arn
hls = "%s/output/alice/0b0c5b6e-3f7a-4c1e-9a51-0d4c2e8f9a10/hls/index.m3u8" % bucket_arn
other = "%s/private/report.csv" % bucket_arn
other_bucket = "arn:aws:s3:::someone-else/input/x/y/source"

table = [
    # (role, policy, action, resource, expected)
    ("edge", edge_p, "s3:PutObject", inp, True),
    ("edge", edge_p, "s3:GetObject", outp, True),
    ("edge", edge_p, "s3:GetObject", hls, True),
    ("edge", edge_p, "s3:DeleteObject", inp, True),
    ("edge", edge_p, "s3:DeleteObject", outp, True),
    ("edge", edge_p, "sqs:SendMessage", queue_arn, True),
    # DELETE /videos/<id> lists output/<sub>/<id>/ (HLS segments)
    ("edge", edge_p, "s3:ListBucket", bucket_arn, True),
    ("edge", edge_p, "s3:GetObject", inp, False),
    ("edge", edge_p, "s3:PutObject", outp, False),
    ("edge", edge_p, "s3:PutObject", other, False),
    ("edge", edge_p, "s3:PutObject", other_bucket, False),
    ("edge", edge_p, "sqs:ReceiveMessage", queue_arn, False),
    ("edge", edge_p, "sqs:SendMessage", dlq_arn, False),
    ("edge", edge_p, "s3:DeleteBucket", bucket_arn, False),
    ("worker", worker_p, "s3:GetObject", inp, True),
    ("worker", worker_p, "s3:DeleteObject", inp, True),
    ("worker", worker_p, "s3:PutObject", outp, True),
    ("worker", worker_p, "s3:PutObject", hls, True),
    ("worker", worker_p, "s3:AbortMultipartUpload", outp, True),
    ("worker", worker_p, "s3:ListMultipartUploadParts", outp, True),
    ("worker", worker_p, "sqs:ReceiveMessage", queue_arn, True),
    ("worker", worker_p, "sqs:DeleteMessage", queue_arn, True),
    ("worker", worker_p, "sqs:ChangeMessageVisibility", queue_arn, True),
    ("worker", worker_p, "sqs:GetQueueAttributes", queue_arn, True),
    ("worker", worker_p, "s3:PutObject", inp, False),
    ("worker", worker_p, "s3:DeleteObject", outp, False),
    ("worker", worker_p, "s3:GetObject", other, False),
    # the reconciler sends the jobs no message carries (CONTRACT.md 5)
    ("worker", worker_p, "sqs:SendMessage", queue_arn, True),
    ("worker", worker_p, "sqs:SendMessage", dlq_arn, False),
    ("worker", worker_p, "sqs:ReceiveMessage", dlq_arn, False),
    ("worker", worker_p, "sqs:PurgeQueue", queue_arn, False),
    ("operator", oper_p, "sqs:StartMessageMoveTask", dlq_arn, True),
    ("operator", oper_p, "sqs:ReceiveMessage", dlq_arn, True),
    ("operator", oper_p, "sqs:SendMessage", queue_arn, True),
    ("operator", oper_p, "sqs:PurgeQueue", queue_arn, False),
]
for role, pol, action, res, want in table:
    got = allowed(pol, action, res)
    check(got == want, "%s policy %s %s on %s" % (
        role, "allows" if want else "denies", action,
        res.replace(bucket_arn, bucket).split(":")[-1]), "got the opposite")

for name in ("iam/edge-policy.json", "iam/worker-policy.json",
             "iam/dlq-operator-policy.json", "iam/execution-policy.json"):
    p = docs.get(name, {})
    wild = []
    for st in as_list(p.get("Statement", [])):
        for a in as_list(st.get("Action", [])):
            if "*" in a:
                wild.append(a)
        for r in as_list(st.get("Resource", [])):
            if r == "*" and as_list(st.get("Action")) != ["ecr:GetAuthorizationToken"]:
                wild.append("Resource *")
        if "NotAction" in st or "NotResource" in st:
            wild.append("NotAction/NotResource")
    check(not wild, "config/%s has no wildcard action or resource" % name, wild)

# ---- roles, trust ---------------------------------------------------------------------------
roles = {k: v for k, v in (doc("iam/roles.json") or {}).items()
         if not k.startswith("_")}
for rname, r in sorted(roles.items()):
    trust = docs.get("iam/" + r.get("trust", ""), None)
    check(trust is not None, "role %s: trust policy %s exists"
          % (rname, r.get("trust")), "missing")
    if trust:
        princ = [st.get("Principal", {}).get("Service") for st in
                 as_list(trust.get("Statement", []))
                 if st.get("Action") == "sts:AssumeRole"]
        check(princ == ["ecs-tasks.amazonaws.com"],
              "role %s trusts ecs-tasks.amazonaws.com only" % rname, princ)
    for pf in r.get("policies", []):
        check("iam/" + pf in docs, "role %s: policy %s exists" % (rname, pf),
              "missing")

# ---- task definitions --------------------------------------------------------------------
edge_t = doc("ecs/edge-task.json") or {}
worker_t = doc("ecs/worker-task.json") or {}
exec_secret_res = [r for st in as_list(exec_p.get("Statement", []))
                   if "secretsmanager:GetSecretValue" in as_list(st.get("Action"))
                   for r in as_list(st.get("Resource"))]
log_res = [r for st in as_list(exec_p.get("Statement", []))
           if "logs:PutLogEvents" in as_list(st.get("Action"))
           for r in as_list(st.get("Resource"))]
ecr_res = [r for st in as_list(exec_p.get("Statement", []))
           if "ecr:BatchGetImage" in as_list(st.get("Action"))
           for r in as_list(st.get("Resource"))]

for svc, t, env_vals, env_doc, role_name in (
        ("edge", edge_t, edge_env, edge_doc, "vidstream-edge-task"),
        ("worker", worker_t, worker_env, worker_doc, "vidstream-worker-task")):
    check(t.get("family") == "vidstream-" + svc,
          "%s task family is vidstream-%s" % (svc, svc), t.get("family"))
    for key, want in (("taskRoleArn", role_name),
                      ("executionRoleArn", "vidstream-ecs-execution")):
        arn = t.get(key, "")
        rn = arn.split("/")[-1]
        check(arn == "arn:aws:iam::%s:role/%s" % (account, want)
              and rn in roles,
              "%s %s names role %s, defined in iam/roles.json" % (svc, key, want),
              arn)
    cds = t.get("containerDefinitions", [])
    check(len(cds) == 1, "%s task has one container" % svc, len(cds))
    c = cds[0] if cds else {}
    check(str(c.get("user", "")).split(":")[0] not in ("", "0", "root"),
          "%s container runs as a non-root user" % svc, c.get("user"))
    image = c.get("image", "")
    repo = image.split("/", 1)[-1].split(":")[0]
    check(image.startswith("%s.dkr.ecr.%s.amazonaws.com/" % (account, region))
          and "arn:aws:ecr:%s:%s:repository/%s" % (region, account, repo) in ecr_res,
          "%s image comes from an ECR repository the execution role may pull"
          % svc, image)
    lc = c.get("logConfiguration", {})
    opts = lc.get("options", {})
    grp = opts.get("awslogs-group", "")
    check(lc.get("logDriver") == "awslogs"
          and opts.get("awslogs-region") == region
          and any(fnmatch.fnmatchcase("arn:aws:logs:%s:%s:log-group:%s:log-stream:x"
                                      % (region, account, grp), r)
                  for r in log_res),
          "%s logs to awslogs group %s, writable by the execution role"
          % (svc, grp), lc)
    secrets = c.get("secrets", [])
    pg = [s for s in secrets if s.get("name") == "PGPASSWORD"]
    check(len(pg) == 1, "%s gets PGPASSWORD from a secret" % svc, secrets)
    for s in secrets:
        vf = s.get("valueFrom", "")
        base = ":".join(vf.split(":")[:7])
        check(vf.startswith("arn:aws:secretsmanager:")
              and any(fnmatch.fnmatchcase(base, r) for r in exec_secret_res),
              "%s secret %s comes from a secret the execution role may read"
              % (svc, s.get("name")), vf)
    envs = {e["name"]: e.get("value") for e in c.get("environment", [])}
    leaked = [n for n in envs if re.search(r"PASSWORD|SECRET|TOKEN", n)]
    check(not leaked, "%s task puts no secret in plain environment" % svc,
          leaked)
    check(urlparse(envs.get("VIDSTREAM_DATABASE_URL", "")).password is None,
          "%s task's database URL carries no password" % svc)
    undoc = [n for n in list(envs) + [s.get("name") for s in secrets]
             if n not in env_doc]
    check(not undoc, "every variable of the %s task is in %s.env.example"
          % (svc, svc), undoc)
    for var in ("AWS_REGION", "VIDSTREAM_QUEUE_URL", "VIDSTREAM_BUCKET"):
        check(envs.get(var) == env_vals.get(var),
              "%s task's %s matches %s.env.example" % (svc, var, svc),
              "%s vs %s" % (envs.get(var), env_vals.get(var)))
    hc = c.get("healthCheck", {}).get("command", [])
    check(len(hc) >= 2 and hc[0] in ("CMD", "CMD-SHELL")
          and hc[1] == "/usr/local/bin/vidstream-healthcheck",
          "%s task has a healthCheck running the image's health check" % svc, hc)

ports = [p for c in worker_t.get("containerDefinitions", [])
         for p in c.get("portMappings", [])]
check("containerDefinitions" in worker_t and not ports,
      "worker task has no port mappings (no inbound traffic)", ports)
wc = (worker_t.get("containerDefinitions") or [{}])[0]
check(wc.get("stopTimeout") == 120, "worker stopTimeout is 120 s",
      wc.get("stopTimeout"))
wenv = {e["name"]: e.get("value") for e in wc.get("environment", [])}
grace = int(wenv.get("VIDSTREAM_SHUTDOWN_GRACE", "20"))
check(grace + 10 <= int(wc.get("stopTimeout") or 0),
      "worker shutdown grace (%d s) leaves time to release the job before "
      "SIGKILL" % grace, wc.get("stopTimeout"))
check(wenv.get("VIDSTREAM_VISIBILITY_TIMEOUT", "300") ==
      q.get("Attributes", {}).get("VisibilityTimeout"),
      "worker visibility timeout equals the queue's",
      "%s vs %s" % (wenv.get("VIDSTREAM_VISIBILITY_TIMEOUT"),
                    q.get("Attributes", {}).get("VisibilityTimeout")))
ec = (edge_t.get("containerDefinitions") or [{}])[0]
eports = [p.get("containerPort") for p in ec.get("portMappings", [])]
check(8080 in eports, "edge task maps container port 8080", eports)
check(bool(ec.get("healthCheck")), "edge task has a healthCheck")

# ---- autoscaling -------------------------------------------------------------------------------
a = doc("ecs/worker-autoscaling.json") or {}
st = a.get("RegisterScalableTarget", {})
rid = "service/vidstream/vidstream-worker"
check(st.get("ResourceId") == rid and st.get("MinCapacity") == 0
      and st.get("MaxCapacity", 0) >= 1
      and st.get("ScalableDimension") == "ecs:service:DesiredCount",
      "scalable target: %s, MinCapacity 0" % rid, st)
tt = a.get("BacklogPerTaskPolicy", {})
sp = a.get("ScaleFromZeroPolicy", {})
for name, p in (("BacklogPerTaskPolicy", tt), ("ScaleFromZeroPolicy", sp)):
    check(p.get("ResourceId") == rid
          and p.get("ScalableDimension") == "ecs:service:DesiredCount",
          "%s targets the worker service" % name, p.get("ResourceId"))
check(rid.split("/")[-1] == worker_t.get("family"),
      "the scaled service is named after the worker task family",
      worker_t.get("family"))
cfgtt = tt.get("TargetTrackingScalingPolicyConfiguration", {})
metrics = cfgtt.get("CustomizedMetricSpecification", {}).get("Metrics", [])
by_id = {m.get("Id"): m for m in metrics}
ret = [m for m in metrics if m.get("ReturnData")]
expr = ret[0].get("Expression", "") if len(ret) == 1 else ""


def metric(m):
    mm = m.get("MetricStat", {}).get("Metric", {})
    return (mm.get("Namespace"), mm.get("MetricName"),
            {d["Name"]: d["Value"] for d in mm.get("Dimensions", [])})


num = re.match(r"\s*(\w+)\s*/\s*(\w+)\s*$", expr)
ok = False
if num and num.group(1) in by_id and num.group(2) in by_id:
    n1, n2 = metric(by_id[num.group(1)]), metric(by_id[num.group(2)])
    ok = n1 == ("AWS/SQS", "ApproximateNumberOfMessagesVisible",
                {"QueueName": queue}) \
        and n2 == ("ECS/ContainerInsights", "RunningTaskCount",
                   {"ClusterName": rid.split("/")[1],
                    "ServiceName": rid.split("/")[2]})
check(ok and tt.get("PolicyType") == "TargetTrackingScaling"
      and cfgtt.get("TargetValue", 0) > 0,
      "target tracking on %s ApproximateNumberOfMessagesVisible / "
      "RunningTaskCount of the worker service" % queue, expr)
alarm = a.get("ScaleFromZeroAlarm", {})
actions = alarm.get("AlarmActions", [])
check(len(actions) == 1 and actions[0].startswith(
          "arn:aws:autoscaling:%s:%s:scalingPolicy:" % (region, account))
      and actions[0].endswith("resource/ecs/%s:policyName/%s"
                              % (rid, sp.get("PolicyName"))),
      "the scale-from-zero alarm triggers the scale-from-zero step policy",
      actions)
adj = sp.get("StepScalingPolicyConfiguration", {}).get("StepAdjustments", [])
check(sp.get("PolicyType") == "StepScaling" and adj
      and all(s.get("ScalingAdjustment", 0) > 0 for s in adj),
      "the scale-from-zero policy only adds tasks", adj)
am = {m.get("Id"): m for m in alarm.get("Metrics", [])}
aexpr = [m.get("Expression", "") for m in alarm.get("Metrics", [])
         if m.get("ReturnData")]
ids = set(re.findall(r"\b([a-z_][a-z0-9_]*)\b", aexpr[0] if aexpr else ""))
used = [metric(am[i]) for i in ids if i in am]
check(("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": queue})
      in used and any(u[1] == "RunningTaskCount"
                      and u[2].get("ServiceName") == rid.split("/")[2]
                      for u in used),
      "the scale-from-zero alarm watches %s and the worker's running tasks"
      % queue, aexpr)
qn = [d["Value"] for s in [a] for m in
      (metrics + alarm.get("Metrics", []))
      for d in m.get("MetricStat", {}).get("Metric", {}).get("Dimensions", [])
      if d["Name"] == "QueueName"]
check(qn and all(v == queue for v in qn),
      "every QueueName dimension is %s" % queue, qn)

# ---- S3 event notifications (the alternative to the job message) ---------------
n = doc("s3-notification.json") or {}
qc = n.get("QueueConfigurations", [])
check(len(qc) == 1 and qc[0].get("QueueArn") == queue_arn,
      "s3-notification.json sends to %s" % queue, qc)
rules = {r["Name"].lower(): r["Value"] for c in qc
         for r in c.get("Filter", {}).get("Key", {}).get("FilterRules", [])}
check(rules.get("prefix") == "input/" and rules.get("suffix") == "/source",
      "s3-notification.json only fires for input/<sub>/<id>/source", rules)
qp = doc("sqs/vidstream-jobs-policy.json") or {}
sts = as_list(qp.get("Statement", []))
check(len(sts) == 1 and sts[0].get("Principal") == {"Service": "s3.amazonaws.com"}
      and sts[0].get("Action") == "sqs:SendMessage"
      and sts[0].get("Resource") == queue_arn
      and sts[0].get("Condition", {}).get("ArnEquals", {}).get("aws:SourceArn")
      == bucket_arn
      and sts[0].get("Condition", {}).get("StringEquals", {})
      .get("aws:SourceAccount") == account,
      "the queue policy lets only bucket %s (account %s) send" % (bucket, account),
      sts)

# ---- environment variables read vs documented ---------------------------------------
srcs = sorted(glob.glob(os.path.join(top, "worker", "*.c")))
if not srcs:
    out("SKIP", "every variable the worker reads is in worker.env.example",
        "worker/*.c does not exist yet")
else:
    text = ""
    for f in srcs + sorted(glob.glob(os.path.join(top, "lib", "*.c"))):
        text += open(f, errors="replace").read()
    read = set(re.findall(r"\b(?:getenv|secure_getenv|vs_env\w*)\s*\(\s*\"([A-Z][A-Z0-9_]*)\"",
                          text))
    read |= set(re.findall(r"\"((?:AWS|VIDSTREAM|PG)_[A-Z0-9_]*[A-Z0-9])\"", text))
    missing = sorted(read - worker_doc)
    check(not missing, "every variable the worker reads (%d) is in "
          "worker.env.example" % len(read), missing)
    script = open(os.path.join(cfg, "docker", "healthcheck-worker")).read()
    readers = read | set(re.findall(r"\$\{?([A-Z][A-Z0-9_]*)", script)) \
        | {"PGPASSWORD"}                       # libpq reads it
    stale = sorted(worker_doc - readers)
    check(not stale, "worker.env.example documents nothing the worker does "
          "not read", stale)
    check("VIDSTREAM_HEARTBEAT_FILE" in text,
          "the worker writes the heartbeat file its health check reads "
          "(VIDSTREAM_HEARTBEAT_FILE)",
          "see /work/notes/ship-to-worker.md: without it ECS kills every "
          "worker task as unhealthy")

prod = os.path.join(top, "nginx.conf.d", "production.conf.template")
if not os.path.exists(prod):
    out("FAIL", "every env directive of production.conf is in edge.env.example",
        "nginx.conf.d/production.conf.template does not exist")
else:
    ptext = re.sub(r"#.*", "", open(prod).read())
    names = set(re.findall(r"^\s*env\s+([A-Za-z_][A-Za-z0-9_]*)", ptext, re.M))
    names |= set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)\}", ptext))
    missing = sorted(names - edge_doc)
    check(not missing, "every variable production.conf reads (%d) is in "
          "edge.env.example" % len(names), missing)
PYEOF
)
[ -n "$results" ] || flunk "the config reader ran"
while IFS=$'\t' read -r kind what why; do
    case $kind in
    PASS) pass "$what" ;;
    FAIL) flunk "$what"; [ -n "$why" ] && echo "#   $why" ;;
    SKIP) echo "skipped - $what ($why)" ;;
    esac
done <<< "$results"

finish
