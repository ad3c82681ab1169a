/*
 * Presigned S3 URLs per second on one core, signing-key cache warm: the
 * nginx module's hot path for POST /videos and GET /videos/<id>/download.
 * Two cases: static credentials, and ECS-style session credentials (a
 * ~1 KB X-Amz-Security-Token, encoded into every URL).
 *
 * Rates are per second of this thread's CPU time.
 *
 * usage: bench_presign [SECONDS]      (CPU seconds per case, default 2)
 */
#include "vs_sigv4.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S(s)  (s), (sizeof(s) - 1)


/* CPU time of this thread: the figure is per core even when the machine
 * is shared (wall time would count the time other processes ran). */
static double
cpu_sec(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}


static double
run(const char *name, const vs_aws_endpoint_t *ep, const vs_aws_creds_t *creds,
    int use_cache, double seconds)
{
    static char           url[VS_SIGV4_URL_MAX];
    vs_sigv4_key_cache_t  cache, *kc;
    vs_sigv4_presign_t    req;
    double                start, elapsed;
    unsigned long         n = 0, i;
    size_t                sum = 0;
    ssize_t               len;
    char                  key[128];

    memset(&cache, 0, sizeof(cache));
    kc = use_cache ? &cache : NULL;
    memset(&req, 0, sizeof(req));
    req.method = "GET";
    req.method_len = 3;
    req.bucket = "vidstream-media";
    req.bucket_len = strlen(req.bucket);
    req.key = key;
    req.now = 1795255200;              /* fixed: the cache stays warm */
    req.expires = 900;

    /* warm the cache */
    req.key_len = (size_t) snprintf(key, sizeof(key),
        "output/0b0e7c56-3a5f-4f5e-9a3c-1d2e3f405162/"
        "7d444840-9dc0-11d1-b245-5ffdce74fad2/video.mp4");
    if (vs_sigv4_presign(ep, creds, kc, &req, url, sizeof(url)) < 0) {
        fprintf(stderr, "bench_presign: presign failed\n");
        exit(1);
    }

    start = cpu_sec();
    do {
        for (i = 0; i < 10000; i++) {
            key[60] = (char) ('a' + (i % 26));   /* vary the key a little */
            len = vs_sigv4_presign(ep, creds, kc, &req, url, sizeof(url));
            if (len < 0) {
                fprintf(stderr, "bench_presign: presign failed\n");
                exit(1);
            }
            sum += (size_t) len;
        }
        n += i;
        elapsed = cpu_sec() - start;
    } while (elapsed < seconds);

    printf("presign %-28s %10.0f presigns/s  (%.2f us each, url %zu bytes, "
           "cache %lu miss)\n", name, n / elapsed, elapsed / n * 1e6,
           sum / n, cache.misses);
    return n / elapsed;
}


int
main(int argc, char **argv)
{
    vs_aws_endpoint_t  ep;
    vs_aws_creds_t     plain, session;
    char               token[1100], err[128];
    double             seconds = argc > 1 ? atof(argv[1]) : 2.0;
    double             r1, r2, r3;
    size_t             i;

    for (i = 0; i < sizeof(token); i++) {
        token[i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                   "0123456789+/"[(i * 7919) % 64];
    }

    if (vs_aws_endpoint_init(&ep, S("s3"), S("eu-west-1"), NULL, 0,
                             VS_AWS_ADDR_AUTO, err, sizeof(err)) != 0
        || vs_aws_creds_set(&plain, S("AKIAIOSFODNN7EXAMPLE"),
                            S("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
                            NULL, 0, 0, err, sizeof(err)) != 0
        || vs_aws_creds_set(&session, S("ASIAIOSFODNN7EXAMPLE"),
                            S("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
                            token, sizeof(token), 0, err, sizeof(err)) != 0)
    {
        fprintf(stderr, "bench_presign: setup: %s\n", err);
        return 1;
    }

    r1 = run("(static credentials)", &ep, &plain, 1, seconds);
    r2 = run("(session token, 1.1 KB)", &ep, &session, 1, seconds);
    r3 = run("(static, no key cache)", &ep, &plain, 0, seconds);

    printf("presign key cache speedup: %.1fx\n", r1 / r3);
    printf("presign target 200000/s on one core (warm cache): %s "
           "(%.1fx static, %.1fx session token)\n",
           r1 > 200000 && r2 > 200000 ? "met" : "NOT met", r1 / 200000,
           r2 / 200000);
    return 0;
}
