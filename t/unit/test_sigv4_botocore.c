/*
 * Cross-check vs_sigv4_presign() against botocore's generate_presigned_url()
 * byte for byte: t/unit/sigv4_botocore.py (run with Debian's /usr/bin/python3
 * and python3-botocore) emits generated cases with botocore's URL for each
 * (GetObject, PutObject, HeadObject, and UploadPart's
 * ?partNumber=N&uploadId=… for multipart uploads); this program presigns
 * the same inputs and compares.  A missing botocore, a failing script or
 * fewer than VS_MIN_CASES cases is a failure, never a skip.
 *
 * A second phase does the same for header signing: vs_sigv4_sign()'s
 * Authorization against botocore's S3SigV4Auth / SigV4Auth (SQS) for
 * generated S3 and SQS requests (queries, extra headers, bodies, tokens).
 *
 * Environment: VS_SIGV4_BOTOCORE_CASES (default 1200; the header-signing
 * phase runs half as many), VS_SIGV4_BOTOCORE_SEED.
 */
#include "vs_test.h"
#include "vs_sigv4.h"

#include <jansson.h>
#include <libgen.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define VS_MIN_CASES    1000
#define VS_FIELDS       18
#define VS_LINE_MAX     (256 * 1024)


/* Decode a hex field in place; "-" is the empty string. */
static int
unhex(char *s, size_t *len)
{
    size_t  i, n;

    if (strcmp(s, "-") == 0) {
        s[0] = '\0';
        *len = 0;
        return 0;
    }

    n = strlen(s);
    if (n % 2) {
        return -1;
    }
    for (i = 0; i < n / 2; i++) {
        unsigned  v;

        if (sscanf(s + 2 * i, "%2x", &v) != 1) {
            return -1;
        }
        s[i] = (char) v;
    }
    s[n / 2] = '\0';
    *len = n / 2;
    return 0;
}


static int
find_script(char *out, size_t size)
{
    char   src[] = __FILE__;
    char   cwd[2048];
    char  *p;

    p = getenv("VS_SIGV4_BOTOCORE");
    if (p != NULL) {
        snprintf(out, size, "%s", p);
        return access(out, R_OK);
    }

    snprintf(out, size, "%s/sigv4_botocore.py", dirname(src));
    if (access(out, R_OK) == 0) {
        return 0;
    }

    /* run from somewhere below the repository: look upwards */
    if (getcwd(cwd, sizeof(cwd)) == NULL) {
        return -1;
    }
    for (;;) {
        snprintf(out, size, "%s/t/unit/sigv4_botocore.py", cwd);
        if (access(out, R_OK) == 0) {
            return 0;
        }
        p = strrchr(cwd, '/');
        if (p == NULL || p == cwd) {
            return -1;
        }
        *p = '\0';
    }
}


#define VS_MAX_KV  8

static int
kv_list(json_t *arr, vs_sigv4_kv_t *kv, size_t *n)
{
    size_t   i;
    json_t  *pair;

    if (!json_is_array(arr) || json_array_size(arr) > VS_MAX_KV) {
        return -1;
    }
    json_array_foreach(arr, i, pair) {
        json_t  *name = json_array_get(pair, 0);
        json_t  *value = json_array_get(pair, 1);

        if (!json_is_string(name) || !json_is_string(value)) {
            return -1;
        }
        kv[i] = (vs_sigv4_kv_t) { json_string_value(name),
                                  json_string_length(name),
                                  json_string_value(value),
                                  json_string_length(value) };
    }
    *n = json_array_size(arr);
    return 0;
}


/* The header-signing phase; returns the number of mismatches (or -1). */
static int
sign_phase(const char *script, int count, long seed, int *cases)
{
    static char           line[VS_LINE_MAX];
    static unsigned char  payload[VS_LINE_MAX / 2];
    char                  cmd[8192], err[256];
    vs_sigv4_kv_t         query[VS_MAX_KV], headers[VS_MAX_KV];
    vs_sigv4_request_t    req;
    vs_sigv4_signed_t     out;
    vs_aws_endpoint_t     ep;
    vs_aws_creds_t        creds;
    vs_sigv4_key_cache_t  cache;
    json_t               *j;
    json_error_t          jerr;
    FILE                 *pipe;
    int                   mismatches = 0, status;
    size_t                i, plen;
    const char           *hex, *token;

    snprintf(cmd, sizeof(cmd), "/usr/bin/python3 '%s' sign %d %ld", script,
             count, seed);
    pipe = popen(cmd, "r");
    if (pipe == NULL) {
        return -1;
    }
    memset(&cache, 0, sizeof(cache));

    while (fgets(line, sizeof(line), pipe) != NULL) {
        j = json_loads(line, 0, &jerr);
        if (j == NULL) {
            fprintf(stderr, "malformed sign case: %s\n", jerr.text);
            mismatches++;
            continue;
        }
        (*cases)++;

        memset(&req, 0, sizeof(req));
        hex = json_string_value(json_object_get(j, "payload"));
        plen = hex ? strlen(hex) / 2 : 0;
        for (i = 0; i < plen && i < sizeof(payload); i++) {
            unsigned  v;

            if (sscanf(hex + 2 * i, "%2x", &v) != 1) {
                break;
            }
            payload[i] = (unsigned char) v;
        }
        token = json_string_value(json_object_get(j, "token"));

        if (vs_aws_endpoint_init(&ep,
                json_string_value(json_object_get(j, "service")),
                json_string_length(json_object_get(j, "service")),
                json_string_value(json_object_get(j, "region")),
                json_string_length(json_object_get(j, "region")),
                NULL, 0, VS_AWS_ADDR_AUTO, err, sizeof(err)) != 0
            || vs_aws_creds_set(&creds,
                json_string_value(json_object_get(j, "akid")),
                json_string_length(json_object_get(j, "akid")),
                json_string_value(json_object_get(j, "secret")),
                json_string_length(json_object_get(j, "secret")),
                token, token ? strlen(token) : 0, 0, err, sizeof(err)) != 0
            || kv_list(json_object_get(j, "query"), query, &req.nquery) != 0
            || kv_list(json_object_get(j, "headers"), headers, &req.nheaders)
               != 0)
        {
            fprintf(stderr, "sign case %d: setup failed\n", *cases);
            mismatches++;
            json_decref(j);
            continue;
        }

        req.method = json_string_value(json_object_get(j, "method"));
        req.method_len = strlen(req.method);
        req.host = json_string_value(json_object_get(j, "host"));
        req.host_len = strlen(req.host);
        req.path = json_string_value(json_object_get(j, "path"));
        req.path_len = strlen(req.path);
        req.query = query;
        req.headers = headers;
        req.payload = payload;
        req.payload_len = i;
        req.now = (time_t) json_integer_value(json_object_get(j, "now"));

        if (vs_sigv4_sign(&ep, &creds, &cache, &req, &out) != 0
            || strcmp(out.authorization, json_string_value(
                          json_object_get(j, "authorization"))) != 0)
        {
            mismatches++;
            if (mismatches <= 10) {
                fprintf(stderr, "SIGN MISMATCH case %d: %s\n  got:  %s\n"
                        "  want: %s\n", *cases, line, out.authorization,
                        json_string_value(json_object_get(j,
                                                          "authorization")));
            }
        }
        json_decref(j);
    }

    status = pclose(pipe);
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "FAIL: %s exited with status %d\n", cmd,
                WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        return -1;
    }
    return mismatches;
}


int
main(void)
{
    static char           line[VS_LINE_MAX];
    static char           url[VS_SIGV4_URL_MAX];
    char                  script[4096], cmd[8192], err[256];
    char                 *f[VS_FIELDS], *save, *tok;
    size_t                len[VS_FIELDS];
    const char           *count, *seed;
    vs_aws_endpoint_t     ep;
    vs_aws_creds_t        creds;
    vs_sigv4_key_cache_t  cache;
    vs_sigv4_presign_t    req;
    vs_sigv4_kv_t         q[2], h;
    vs_aws_addressing_t   addr;
    FILE                 *pipe;
    int                   i, status, cases = 0, mismatches = 0, bad = 0,
                          parts = 0, oversize = 0;
    ssize_t               n;

    if (access("/usr/bin/python3", X_OK) != 0) {
        fprintf(stderr, "FAIL: /usr/bin/python3 (Debian, with "
                "python3-botocore) is required\n");
        return 1;
    }
    if (find_script(script, sizeof(script)) != 0) {
        fprintf(stderr, "FAIL: cannot find t/unit/sigv4_botocore.py\n");
        return 1;
    }

    count = getenv("VS_SIGV4_BOTOCORE_CASES");
    seed = getenv("VS_SIGV4_BOTOCORE_SEED");
    snprintf(cmd, sizeof(cmd), "/usr/bin/python3 '%s' %d %ld", script,
             count ? atoi(count) : 1200, seed ? atol(seed) : 20261121L);

    pipe = popen(cmd, "r");
    if (pipe == NULL) {
        fprintf(stderr, "FAIL: cannot run %s\n", cmd);
        return 1;
    }

    memset(&cache, 0, sizeof(cache));

    while (fgets(line, sizeof(line), pipe) != NULL) {
        line[strcspn(line, "\n")] = '\0';

        for (i = 0, tok = strtok_r(line, " ", &save); tok && i < VS_FIELDS;
             i++, tok = strtok_r(NULL, " ", &save))
        {
            f[i] = tok;
            if (unhex(f[i], &len[i]) != 0) {
                break;
            }
        }
        if (i != VS_FIELDS || tok != NULL) {
            fprintf(stderr, "malformed case line %d\n", cases + 1);
            bad++;
            continue;
        }
        cases++;

        /* method endpoint region addressing bucket key akid secret token
         * now expires qname qvalue hname hvalue url q2name q2value (an
         * UploadPart: partNumber, then uploadId) */
        addr = strcmp(f[3], "path") == 0 ? VS_AWS_ADDR_PATH
               : strcmp(f[3], "auto") == 0 ? VS_AWS_ADDR_AUTO
               : VS_AWS_ADDR_VIRTUAL;
        if (vs_aws_endpoint_init(&ep, "s3", 2, f[2], len[2],
                                 len[1] ? f[1] : NULL, len[1], addr, err,
                                 sizeof(err)) != 0
            || vs_aws_creds_set(&creds, f[6], len[6], f[7], len[7],
                                len[8] ? f[8] : NULL, len[8], 0, err,
                                sizeof(err)) != 0)
        {
            fprintf(stderr, "case %d: setup failed: %s\n", cases, err);
            mismatches++;
            continue;
        }

        memset(&req, 0, sizeof(req));
        req.method = f[0];
        req.method_len = len[0];
        req.bucket = f[4];
        req.bucket_len = len[4];
        req.key = f[5];
        req.key_len = len[5];
        req.now = (time_t) atoll(f[9]);
        req.expires = atol(f[10]);
        if (len[11]) {
            q[req.nquery++] = (vs_sigv4_kv_t) { f[11], len[11], f[12],
                                                len[12] };
        }
        if (len[16]) {
            q[req.nquery++] = (vs_sigv4_kv_t) { f[16], len[16], f[17],
                                                len[17] };
            parts++;
        }
        req.query = req.nquery ? q : NULL;
        if (len[13]) {
            h = (vs_sigv4_kv_t) { f[13], len[13], f[14], len[14] };
            req.headers = &h;
            req.nheaders = 1;
        }

        /* twice: the second presign takes the cached signing key */
        n = vs_sigv4_presign(&ep, &creds, &cache, &req, url, sizeof(url));
        if (n > 0) {
            n = vs_sigv4_presign(&ep, &creds, &cache, &req, url,
                                 sizeof(url));
        }
        /* the bound callers size their answer with holds every URL, and
         * no URL needs escaping in JSON */
        if (n > 0 && ((size_t) n >= vs_sigv4_presign_size(&ep, &creds, &req)
                      || strpbrk(url, "\"\\") != NULL))
        {
            oversize++;
        }
        if (n < 0 || (size_t) n != len[15] || strcmp(url, f[15]) != 0) {
            mismatches++;
            if (mismatches <= 10) {
                fprintf(stderr, "MISMATCH case %d (%s %s, endpoint %s, "
                        "bucket %s, key %s)\n  got:  %s\n  want: %s\n",
                        cases, f[0], f[3], len[1] ? f[1] : "AWS", f[4], f[5],
                        n < 0 ? "(error)" : url, f[15]);
            }
        }
    }

    status = pclose(pipe);
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "FAIL: %s exited with status %d (botocore missing?)"
                "\n", cmd, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        CHECK(!"botocore script failed");
    }

    printf("botocore cross-check: %d cases (%d UploadPart), %d mismatches, "
           "%d malformed\n", cases, parts, mismatches, bad);

    {
        int  sign_cases = 0, sign_mismatches, want;

        want = (count ? atoi(count) : 1200) / 2;
        sign_mismatches = sign_phase(script, want,
                                     seed ? atol(seed) : 20261121L,
                                     &sign_cases);
        printf("botocore header-signing cross-check: %d cases, %d "
               "mismatches\n", sign_cases, sign_mismatches);
        CHECK(sign_mismatches == 0);
        CHECK(sign_cases == want && sign_cases > 0);
    }
    CHECK(cases >= VS_MIN_CASES || (count && cases == atoi(count)
                                    && cases > 0));
    CHECK(mismatches == 0);
    CHECK(oversize == 0);
    CHECK(bad == 0);
    CHECK(parts >= cases / 10);
    CHECK(cache.hits >= (unsigned long) cases);

    return VS_TEST_DONE();
}
