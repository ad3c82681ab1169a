/*
 * The worker's metrics (metrics.h): atomic counters, their Prometheus
 * exposition and the CloudWatch EMF record of each job.
 */
#include "metrics.h"

#include "log.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define VS_NCODES  (VS_ERR_STORAGE_FAILED + 1)

/* upper bounds of the job-duration buckets, seconds */
static const double  vs_job_buckets[] = {
    1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600
};
#define VS_NBUCKETS  (sizeof(vs_job_buckets) / sizeof(vs_job_buckets[0]))

static const char  *vs_outcome_names[VS_METRICS_NOUTCOMES] = {
    "done", "failed", "retry"
};
static const char  *vs_stage_names[VS_METRICS_NSTAGES] = {
    "fetch", "transcode", "store"
};
static const char  *vs_webhook_results[] = { "delivered", "retry", "gave_up" };
/* the reconciler's actions, as its log lines name them */
static const char  *vs_reconcile_actions[] = {
    "expired", "exhausted", "take_back", "resend", "requeue", "remove_pending"
};
#define VS_NWEBHOOK    3
#define VS_NRECONCILE  6

/* every counter; microseconds where a sum of seconds is kept */
static struct {
    uint64_t  jobs[VS_METRICS_NOUTCOMES][VS_NCODES];
    uint64_t  job_buckets[VS_NBUCKETS];   /* cumulative on output only */
    uint64_t  job_count;
    uint64_t  job_us;
    uint64_t  stage_us[VS_METRICS_NSTAGES];
    uint64_t  media_us;
    uint64_t  input_bytes;
    uint64_t  queue_wait_us;
    int64_t   running;
    uint64_t  webhook[VS_NWEBHOOK];
    uint64_t  reconcile[VS_NRECONCILE];
} vs_m;

#define vs_add(p, v)  __atomic_add_fetch((p), (v), __ATOMIC_RELAXED)
#define vs_get(p)     __atomic_load_n((p), __ATOMIC_RELAXED)


static uint64_t
vs_us(double seconds)
{
    return seconds > 0 ? (uint64_t) (seconds * 1e6 + 0.5) : 0;
}


void
vs_metrics_job(const vs_metrics_job_t *job)
{
    size_t       i;
    double       rate;
    json_t      *emf, *fields, *metrics, *dims;
    const char  *code;

    code = job->outcome == VS_METRICS_FAILED
           ? vs_error_code_name(job->code) : NULL;

    vs_add(&vs_m.jobs[job->outcome][code != NULL ? job->code : 0], 1);
    vs_add(&vs_m.job_count, 1);
    vs_add(&vs_m.job_us, vs_us(job->wall_seconds));
    for (i = 0; i < VS_NBUCKETS; i++) {
        if (job->wall_seconds <= vs_job_buckets[i]) {
            vs_add(&vs_m.job_buckets[i], 1);
            break;
        }
    }
    for (i = 0; i < VS_METRICS_NSTAGES; i++) {
        vs_add(&vs_m.stage_us[i], vs_us(job->stage_seconds[i]));
    }
    vs_add(&vs_m.media_us, vs_us(job->media_seconds));
    vs_add(&vs_m.input_bytes, job->input_bytes > 0 ? job->input_bytes : 0);
    vs_add(&vs_m.queue_wait_us, vs_us(job->queue_wait_seconds));

    /* the EMF record: the _aws block names the metrics of this line */
    rate = job->wall_seconds > 0 ? job->media_seconds / job->wall_seconds
                                 : 0;
    metrics = json_pack(
        "[{s:s,s:s},{s:s,s:s},{s:s,s:s},{s:s,s:s},{s:s,s:s},{s:s,s:s},"
        "{s:s,s:s},{s:s,s:s}]",
        "Name", "Jobs", "Unit", "Count",
        "Name", "JobSeconds", "Unit", "Seconds",
        "Name", "FetchSeconds", "Unit", "Seconds",
        "Name", "TranscodeSeconds", "Unit", "Seconds",
        "Name", "StoreSeconds", "Unit", "Seconds",
        "Name", "MediaSecondsPerWallSecond", "Unit", "None",
        "Name", "InputBytes", "Unit", "Bytes",
        "Name", "QueueWaitSeconds", "Unit", "Seconds");
    dims = json_pack("[[s],[s,s]]", "Outcome", "Outcome", "ErrorCode");
    emf = json_pack("{s:I,s:[{s:s,s:o,s:o}]}",
                    "Timestamp", (json_int_t) time(NULL) * 1000,
                    "CloudWatchMetrics",
                    "Namespace", "vidstream", "Dimensions", dims,
                    "Metrics", metrics);
    fields = json_pack("{s:o,s:s,s:s,s:i,s:f,s:f,s:f,s:f,s:f,s:I,s:f}",
                       "_aws", emf,
                       "Outcome", vs_outcome_names[job->outcome],
                       "ErrorCode", code != NULL ? code : "none",
                       "Jobs", 1,
                       "JobSeconds", job->wall_seconds,
                       "FetchSeconds", job->stage_seconds[VS_METRICS_FETCH],
                       "TranscodeSeconds",
                       job->stage_seconds[VS_METRICS_TRANSCODE],
                       "StoreSeconds", job->stage_seconds[VS_METRICS_STORE],
                       "MediaSecondsPerWallSecond", rate,
                       "InputBytes", (json_int_t) job->input_bytes,
                       "QueueWaitSeconds", job->queue_wait_seconds);

    vs_log_fields(job->outcome == VS_METRICS_DONE ? VS_LOG_INFO
                                                  : VS_LOG_WARN,
                  job->video_id, "metrics", fields, "job %s%s%s",
                  vs_outcome_names[job->outcome], code != NULL ? ": " : "",
                  code != NULL ? code : "");
}


void
vs_metrics_jobs_running(int delta)
{
    __atomic_add_fetch(&vs_m.running, delta, __ATOMIC_RELAXED);
}


static void
vs_metrics_count(const char **names, size_t n, uint64_t *counters,
    const char *name)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (strcmp(names[i], name) == 0) {
            vs_add(&counters[i], 1);
            return;
        }
    }
}


void
vs_metrics_webhook(const char *result)
{
    vs_metrics_count(vs_webhook_results, VS_NWEBHOOK, vs_m.webhook, result);
}


void
vs_metrics_reconcile(const char *action)
{
    vs_metrics_count(vs_reconcile_actions, VS_NRECONCILE, vs_m.reconcile,
                     action);
}


/* appends to the exposition; -1 once it no longer fits */
static int
vs_out(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
    int      n;
    va_list  ap;

    if (*len >= size) {
        return -1;
    }

    va_start(ap, fmt);
    n = vsnprintf(buf + *len, size - *len, fmt, ap);
    va_end(ap);

    if (n < 0 || (size_t) n >= size - *len) {
        *len = size;
        return -1;
    }

    *len += (size_t) n;
    return 0;
}


long
vs_metrics_render(char *buf, size_t size)
{
    int       o;
    size_t    len = 0, i, c;
    uint64_t  cum = 0;

    vs_out(buf, size, &len,
           "# HELP vidstream_worker_jobs_total Jobs ended, by outcome and "
           "error code.\n# TYPE vidstream_worker_jobs_total counter\n");
    for (o = 0; o < VS_METRICS_NOUTCOMES; o++) {
        for (c = 0; c < VS_NCODES; c++) {
            /* only failures carry a code; every outcome is shown */
            if ((o == VS_METRICS_FAILED) != (c != 0)) {
                continue;
            }
            vs_out(buf, size, &len,
                   "vidstream_worker_jobs_total{outcome=\"%s\","
                   "error_code=\"%s\"} %llu\n", vs_outcome_names[o],
                   c != 0 ? vs_error_code_name((vs_error_code_t) c) : "",
                   (unsigned long long) vs_get(&vs_m.jobs[o][c]));
        }
    }

    vs_out(buf, size, &len,
           "# HELP vidstream_worker_job_duration_seconds Wall time of a "
           "job.\n# TYPE vidstream_worker_job_duration_seconds histogram\n");
    for (i = 0; i < VS_NBUCKETS; i++) {
        cum += vs_get(&vs_m.job_buckets[i]);
        vs_out(buf, size, &len,
               "vidstream_worker_job_duration_seconds_bucket{le=\"%g\"} "
               "%llu\n", vs_job_buckets[i], (unsigned long long) cum);
    }
    vs_out(buf, size, &len,
           "vidstream_worker_job_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
           "vidstream_worker_job_duration_seconds_sum %.6f\n"
           "vidstream_worker_job_duration_seconds_count %llu\n",
           (unsigned long long) vs_get(&vs_m.job_count),
           vs_get(&vs_m.job_us) / 1e6,
           (unsigned long long) vs_get(&vs_m.job_count));

    vs_out(buf, size, &len,
           "# HELP vidstream_worker_stage_seconds_total Wall time spent in "
           "each stage of the jobs.\n"
           "# TYPE vidstream_worker_stage_seconds_total counter\n");
    for (i = 0; i < VS_METRICS_NSTAGES; i++) {
        vs_out(buf, size, &len,
               "vidstream_worker_stage_seconds_total{stage=\"%s\"} %.6f\n",
               vs_stage_names[i], vs_get(&vs_m.stage_us[i]) / 1e6);
    }

    vs_out(buf, size, &len,
           "# HELP vidstream_worker_media_seconds_total Duration of the "
           "media the jobs read.\n"
           "# TYPE vidstream_worker_media_seconds_total counter\n"
           "vidstream_worker_media_seconds_total %.6f\n"
           "# HELP vidstream_worker_input_bytes_total Bytes of the sources "
           "the jobs read.\n"
           "# TYPE vidstream_worker_input_bytes_total counter\n"
           "vidstream_worker_input_bytes_total %llu\n"
           "# HELP vidstream_worker_queue_wait_seconds_total Time the jobs "
           "waited between complete and their start.\n"
           "# TYPE vidstream_worker_queue_wait_seconds_total counter\n"
           "vidstream_worker_queue_wait_seconds_total %.6f\n"
           "# HELP vidstream_worker_jobs_running Jobs running now.\n"
           "# TYPE vidstream_worker_jobs_running gauge\n"
           "vidstream_worker_jobs_running %lld\n",
           vs_get(&vs_m.media_us) / 1e6,
           (unsigned long long) vs_get(&vs_m.input_bytes),
           vs_get(&vs_m.queue_wait_us) / 1e6,
           (long long) vs_get(&vs_m.running));

    vs_out(buf, size, &len,
           "# HELP vidstream_worker_webhook_deliveries_total Webhook "
           "delivery attempts, by result.\n"
           "# TYPE vidstream_worker_webhook_deliveries_total counter\n");
    for (i = 0; i < VS_NWEBHOOK; i++) {
        vs_out(buf, size, &len,
               "vidstream_worker_webhook_deliveries_total{result=\"%s\"} "
               "%llu\n", vs_webhook_results[i],
               (unsigned long long) vs_get(&vs_m.webhook[i]));
    }

    vs_out(buf, size, &len,
           "# HELP vidstream_worker_reconcile_actions_total What the "
           "reconciler did to videos, by action.\n"
           "# TYPE vidstream_worker_reconcile_actions_total counter\n");
    for (i = 0; i < VS_NRECONCILE; i++) {
        if (vs_out(buf, size, &len,
                   "vidstream_worker_reconcile_actions_total{action=\"%s\"} "
                   "%llu\n", vs_reconcile_actions[i],
                   (unsigned long long) vs_get(&vs_m.reconcile[i]))
            != 0)
        {
            return -1;
        }
    }

    return len >= size ? -1 : (long) len;
}


/* ---- the exposition endpoint ------------------------------------------ */

static int            vs_metrics_fd = -1;
static volatile int  *vs_metrics_stopflag;
static pthread_t      vs_metrics_thread;


/* Answers one connection: GET /metrics, or 404/405. */
static void
vs_metrics_answer(int fd)
{
    char            req[2048], body[16384], head[256];
    long            len;
    ssize_t         n;
    size_t          got = 0;
    struct timeval  tv = { 2, 0 };
    const char     *status;

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));

    /* the request line and headers; nothing else is read */
    while (got < sizeof(req) - 1) {
        n = recv(fd, req + got, sizeof(req) - 1 - got, 0);
        if (n <= 0) {
            return;
        }
        got += (size_t) n;
        req[got] = '\0';
        if (strstr(req, "\r\n\r\n") != NULL) {
            break;
        }
    }

    if (strncmp(req, "GET /metrics ", 13) == 0
        || strncmp(req, "GET /metrics?", 13) == 0)
    {
        len = vs_metrics_render(body, sizeof(body));
        status = len >= 0 ? "200 OK" : "500 Internal Server Error";
        if (len < 0) {
            len = 0;
        }
    } else if (strncmp(req, "GET ", 4) == 0) {
        status = "404 Not Found";
        len = 0;
    } else {
        status = "405 Method Not Allowed";
        len = 0;
    }

    n = snprintf(head, sizeof(head),
                 "HTTP/1.1 %s\r\nContent-Type: text/plain; version=0.0.4; "
                 "charset=utf-8\r\nContent-Length: %ld\r\n"
                 "Connection: close\r\n\r\n", status, len);
    if (send(fd, head, (size_t) n, MSG_NOSIGNAL) == n && len > 0) {
        (void) send(fd, body, (size_t) len, MSG_NOSIGNAL);
    }
}


static void *
vs_metrics_main(void *arg)
{
    int            fd;
    struct pollfd  p;

    while (!*vs_metrics_stopflag) {
        p.fd = vs_metrics_fd;
        p.events = POLLIN;
        if (poll(&p, 1, 1000) <= 0) {
            continue;
        }
        fd = accept(vs_metrics_fd, NULL, NULL);
        if (fd < 0) {
            continue;
        }
        vs_metrics_answer(fd);
        close(fd);
    }

    return NULL;
}


int
vs_metrics_serve(const char *addr, volatile int *stop)
{
    int               fd = -1, one = 1, rc;
    char              host[256];
    const char       *colon, *port;
    struct addrinfo   hints, *ai = NULL;

    colon = strrchr(addr, ':');
    if (colon == NULL) {
        snprintf(host, sizeof(host), "127.0.0.1");
        port = addr;
    } else {
        snprintf(host, sizeof(host), "%.*s", (int) (colon - addr), addr);
        port = colon + 1;
    }

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;

    /* at start-up only: the worker has no event loop to protect */
    rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &ai);
    if (rc != 0) {
        vs_log(VS_LOG_ERROR, NULL, "metrics", "VIDSTREAM_METRICS_ADDR %s: %s",
               addr, gai_strerror(rc));
        return -1;
    }

    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
    if (fd < 0
        || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0
        || bind(fd, ai->ai_addr, ai->ai_addrlen) != 0
        || listen(fd, 16) != 0)
    {
        vs_log(VS_LOG_ERROR, NULL, "metrics", "cannot listen on %s: %s",
               addr, strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);

    vs_metrics_fd = fd;
    vs_metrics_stopflag = stop;

    if (pthread_create(&vs_metrics_thread, NULL, vs_metrics_main, NULL)
        != 0)
    {
        vs_log(VS_LOG_ERROR, NULL, "metrics", "cannot start the thread");
        close(fd);
        vs_metrics_fd = -1;
        return -1;
    }

    vs_log(VS_LOG_INFO, NULL, "metrics", "Prometheus metrics on %s", addr);
    return 0;
}


void
vs_metrics_stop(void)
{
    if (vs_metrics_fd < 0) {
        return;
    }

    pthread_join(vs_metrics_thread, NULL);
    close(vs_metrics_fd);
    vs_metrics_fd = -1;
}
