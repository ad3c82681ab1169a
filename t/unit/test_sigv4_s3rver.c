/*
 * Presigned and header-signed requests against s3rver (the local S3 of the
 * stack; make deps installs it under .deps/node), started here on
 * 127.0.0.1 with an ephemeral port and a throwaway directory, and stopped
 * by PID.  A missing node or s3rver is a failure, not a skip.
 *
 * NOTE: s3rver 3.7 does not verify SigV4 signatures (its
 * lib/middleware/authentication.js: "Signature version 4 calculation is
 * unimplemented"): a wrong signature is accepted.  Signature correctness is
 * covered by test_sigv4.c (AWS's published examples) and
 * test_sigv4_botocore.c (byte-for-byte against botocore).  What this test
 * adds is what s3rver does check, end to end over HTTP: the X-Amz-*
 * parameters and Authorization header parse, the access key id is known,
 * X-Amz-Date + X-Amz-Expires are enforced (an expired URL is 403), and an
 * object key with spaces, UTF-8, +, %, ~, * and parentheses survives the
 * encoding round trip (the listing shows it decoded, exactly).  Requests:
 * CreateBucket (header-signed PUT), presigned PUT and GET, a ranged
 * header-signed GET (206), ListObjects, DeleteObjects (POST ?delete with
 * Content-MD5), then 404.
 */
#include "vs_test.h"
#include "vs_sigv4.h"

#include <curl/curl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define S(s)  (s), (sizeof(s) - 1)

#define BUCKET  "vs-sigv4-test"


static pid_t  s3_pid = -1;
static char   s3_dir[] = "/tmp/vs-s3rver-XXXXXX";


static void
stop_s3rver(void)
{
    char  cmd[128];

    if (s3_pid > 0) {
        kill(s3_pid, SIGTERM);
        waitpid(s3_pid, NULL, 0);
        s3_pid = -1;
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s3_dir);
        if (system(cmd) != 0) {
            fprintf(stderr, "could not remove %s\n", s3_dir);
        }
    }
}


/* The repository's top directory, from this file's path or the cwd. */
static int
find_top(char *out, size_t size)
{
    char   src[] = __FILE__;
    char   dir[1024], probe[1200];
    char  *p;

    snprintf(dir, sizeof(dir), "%s/../..", dirname(src));
    if (getcwd(probe, sizeof(probe)) == NULL) {
        return -1;
    }

    for (;;) {
        snprintf(probe, sizeof(probe), "%s/.deps/node/node_modules/s3rver",
                 dir);
        if (access(probe, R_OK) == 0) {
            snprintf(out, size, "%s", dir);
            return 0;
        }
        /* then the cwd and its parents */
        if (dir[0] != '/') {
            if (getcwd(dir, sizeof(dir)) == NULL) {
                return -1;
            }
            continue;
        }
        p = strrchr(dir, '/');
        if (p == NULL || p == dir) {
            return -1;
        }
        *p = '\0';
    }
}


static int
start_s3rver(void)
{
    char   top[1024], bin[1200], line[256];
    int    fds[2], port = -1;
    FILE  *f;

    if (find_top(top, sizeof(top)) != 0) {
        fprintf(stderr, "FAIL: s3rver not found under .deps/node "
                "(run 'make deps')\n");
        return -1;
    }
    snprintf(bin, sizeof(bin), "%s/.deps/node/node_modules/s3rver/bin/"
             "s3rver.js", top);
    if (mkdtemp(s3_dir) == NULL || pipe(fds) != 0) {
        return -1;
    }

    s3_pid = fork();
    if (s3_pid < 0) {
        return -1;
    }
    if (s3_pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execlp("node", "node", bin, "-d", s3_dir, "-a", "127.0.0.1", "-p",
               "0", "-s", (char *) NULL);
        _exit(127);
    }
    close(fds[1]);

    f = fdopen(fds[0], "r");
    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        char  *p = strstr(line, "listening on 127.0.0.1:");

        if (p != NULL) {
            port = atoi(p + 23);
            break;
        }
    }
    if (f != NULL) {
        fclose(f);
    }
    if (port <= 0) {
        fprintf(stderr, "FAIL: s3rver did not start (is node installed?)\n");
    }
    return port;
}


typedef struct {
    char    data[4096];
    size_t  len;
} body_t;


static size_t
collect(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    body_t  *b = userdata;
    size_t   n = size * nmemb;

    if (n > sizeof(b->data) - 1 - b->len) {
        n = sizeof(b->data) - 1 - b->len;
    }
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return size * nmemb;
}


/* One HTTP request; returns the status (0 on transport failure). */
static long
http(const char *method, const char *url, struct curl_slist *headers,
    const char *payload, size_t payload_len, body_t *resp)
{
    CURL  *curl;
    long   status = 0;

    resp->len = 0;
    resp->data[0] = '\0';
    curl = curl_easy_init();
    if (curl == NULL) {
        return 0;
    }
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, resp);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
    if (payload != NULL) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, payload);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long) payload_len);
    }
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    }
    if (curl_easy_perform(curl) == CURLE_OK) {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    }
    curl_easy_cleanup(curl);
    return status;
}


/* A header-signed request to bucket/key through vs_sigv4_sign(). */
static long
signed_request(const vs_aws_endpoint_t *ep, const vs_aws_creds_t *creds,
    const char *method, const char *key, const vs_sigv4_kv_t *query,
    size_t nquery, const vs_sigv4_kv_t *hdrs, size_t nhdrs,
    const char *payload, body_t *resp)
{
    char                 url[4096], path[2048], host[300], qs[1024];
    char                 line[VS_SIGV4_AUTH_MAX + 64];
    vs_sigv4_request_t   req;
    vs_sigv4_signed_t    sig;
    struct curl_slist   *list = NULL;
    size_t               i;
    long                 status;

    if (vs_aws_s3_host(ep, S(BUCKET), host, sizeof(host)) < 0
        || vs_aws_s3_path(ep, S(BUCKET), key, strlen(key), path,
                          sizeof(path)) < 0
        || vs_sigv4_query(query, nquery, qs, sizeof(qs)) < 0)
    {
        return -1;
    }

    memset(&req, 0, sizeof(req));
    req.method = method;
    req.method_len = strlen(method);
    req.host = host;
    req.host_len = strlen(host);
    req.path = path;
    req.path_len = strlen(path);
    req.query = query;
    req.nquery = nquery;
    req.headers = hdrs;
    req.nheaders = nhdrs;
    req.payload = payload;
    req.payload_len = payload ? strlen(payload) : 0;
    req.now = time(NULL);
    if (vs_sigv4_sign(ep, creds, NULL, &req, &sig) != 0) {
        return -1;
    }

    snprintf(url, sizeof(url), "http://%s%s%s%s", host, path,
             nquery ? "?" : "", qs);
    snprintf(line, sizeof(line), "Authorization: %s", sig.authorization);
    list = curl_slist_append(list, line);
    snprintf(line, sizeof(line), "x-amz-date: %s", sig.amz_date);
    list = curl_slist_append(list, line);
    snprintf(line, sizeof(line), "x-amz-content-sha256: %s",
             sig.content_sha256);
    list = curl_slist_append(list, line);
    for (i = 0; i < nhdrs; i++) {
        snprintf(line, sizeof(line), "%.*s: %.*s", (int) hdrs[i].name_len,
                 hdrs[i].name, (int) hdrs[i].value_len, hdrs[i].value);
        list = curl_slist_append(list, line);
    }
    list = curl_slist_append(list, "Expect:");
    if (payload == NULL) {
        list = curl_slist_append(list, "Content-Type:");
    }

    status = http(method, url, list, payload ? payload : NULL,
                  payload ? strlen(payload) : 0, resp);
    curl_slist_free_all(list);
    return status;
}


static ssize_t
presign(const vs_aws_endpoint_t *ep, const vs_aws_creds_t *creds,
    const char *method, const char *key, time_t now, long expires,
    char *url, size_t size)
{
    vs_sigv4_presign_t  req;

    memset(&req, 0, sizeof(req));
    req.method = method;
    req.method_len = strlen(method);
    req.bucket = BUCKET;
    req.bucket_len = sizeof(BUCKET) - 1;
    req.key = key;
    req.key_len = strlen(key);
    req.now = now;
    req.expires = expires;
    return vs_sigv4_presign(ep, creds, NULL, &req, url, size);
}


int
main(void)
{
    static char          url[VS_SIGV4_URL_MAX];
    vs_aws_endpoint_t    ep;
    vs_aws_creds_t       creds;
    struct curl_slist   *h = NULL;
    body_t               resp;
    char                 endpoint[64], err[128];
    char                 md5[VS_AWS_CONTENT_MD5_LEN + 1];
    char                 xml[1024];
    const char          *key = "input/user é/clip +1%~*/source (1).mov";
    const char          *content = "not really a video, but bytes";
    int                  port;

    atexit(stop_s3rver);
    curl_global_init(CURL_GLOBAL_DEFAULT);

    port = start_s3rver();
    CHECK(port > 0);
    if (port <= 0) {
        return VS_TEST_DONE();
    }

    snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d/", port);
    CHECK(vs_aws_endpoint_init(&ep, S("s3"), S("us-east-1"), endpoint,
                               strlen(endpoint), VS_AWS_ADDR_AUTO, err,
                               sizeof(err)) == 0);
    CHECK(vs_aws_creds_set(&creds, S("S3RVER"), S("S3RVER"), NULL, 0, 0, err,
                           sizeof(err)) == 0);

    /* CreateBucket, header-signed */
    CHECK(signed_request(&ep, &creds, "PUT", "", NULL, 0, NULL, 0, NULL,
                         &resp) == 200);

    /* presigned PUT (the key needs every kind of encoding), then GET */
    CHECK(presign(&ep, &creds, "PUT", key, time(NULL), 0, url, sizeof(url))
          > 0);
    h = curl_slist_append(NULL, "Content-Type: video/quicktime");
    h = curl_slist_append(h, "Expect:");
    CHECK(http("PUT", url, h, content, strlen(content), &resp) == 200);
    curl_slist_free_all(h);

    CHECK(presign(&ep, &creds, "GET", key, time(NULL), 60, url, sizeof(url))
          > 0);
    CHECK(http("GET", url, NULL, NULL, 0, &resp) == 200);
    CHECK_STR(resp.data, content);

    /* an unknown access key id is refused */
    {
        vs_aws_creds_t  unknown;

        CHECK(vs_aws_creds_set(&unknown, S("AKIDUNKNOWN"), S("S3RVER"), NULL,
                               0, 0, err, sizeof(err)) == 0);
        CHECK(presign(&ep, &unknown, "GET", key, time(NULL), 60, url,
                      sizeof(url)) > 0);
        CHECK(http("GET", url, NULL, NULL, 0, &resp) == 403);
        CHECK(strstr(resp.data, "InvalidAccessKeyId") != NULL);
    }

    /* expired: signed an hour ago for a minute */
    CHECK(presign(&ep, &creds, "GET", key, time(NULL) - 3600, 60, url,
                  sizeof(url)) > 0);
    CHECK(http("GET", url, NULL, NULL, 0, &resp) == 403);
    CHECK(strstr(resp.data, "expired") != NULL);

    /* header-signed ranged GET */
    {
        vs_sigv4_kv_t  range[] = { { S("Range"), S("bytes=4-9") } };

        CHECK(signed_request(&ep, &creds, "GET", key, NULL, 0, range, 1, NULL,
                             &resp) == 206);
        CHECK_STR(resp.data, "really");
    }

    /* ListObjects: the key arrived decoded, exactly */
    {
        vs_sigv4_kv_t  q[] = { { S("prefix"), S("input/user \xc3\xa9/") },
                               { S("list-type"), S("2") } };
        char           want[512];

        CHECK(signed_request(&ep, &creds, "GET", "", q, 2, NULL, 0, NULL,
                             &resp) == 200);
        snprintf(want, sizeof(want), "<Key>%s</Key>", key);
        CHECK(strstr(resp.data, want) != NULL);
    }

    /* DeleteObjects: POST /bucket?delete with Content-MD5 */
    {
        vs_sigv4_kv_t  q[] = { { S("delete"), NULL, 0 } };
        vs_sigv4_kv_t  hd[2];

        snprintf(xml, sizeof(xml), "<Delete><Quiet>true</Quiet><Object><Key>"
                 "%s</Key></Object></Delete>", key);
        vs_aws_content_md5(xml, strlen(xml), md5);
        hd[0] = (vs_sigv4_kv_t) { S("Content-MD5"), md5, strlen(md5) };
        hd[1] = (vs_sigv4_kv_t) { S("Content-Type"), S("application/xml") };
        CHECK(signed_request(&ep, &creds, "POST", "", q, 1, hd, 2, xml,
                             &resp) == 200);
    }
    CHECK(presign(&ep, &creds, "GET", key, time(NULL), 60, url, sizeof(url))
          > 0);
    CHECK(http("GET", url, NULL, NULL, 0, &resp) == 404);

    stop_s3rver();
    curl_global_cleanup();
    return VS_TEST_DONE();
}
