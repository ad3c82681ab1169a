/*
 * The multipart flow the edge will drive, in C end to end against the
 * project's local S3 (scripts/local-aws.mjs: s3rver plus the multipart
 * calls of scripts/local-s3-multipart.mjs), started here on 127.0.0.1 with
 * a throwaway directory and stopped by PID: CreateMultipartUpload
 * (header-signed), parts PUT to presigned UploadPart URLs
 * (vs_sigv4_presign with partNumber and uploadId), ListParts paginated,
 * ListMultipartUploads, error bodies, the test hook's 200 carrying
 * <Error>, CompleteMultipartUpload, ListObjectsV2, AbortMultipartUpload;
 * every answer read with lib/vs_s3xml.  A missing node or s3rver is a
 * failure, not a skip.
 */
#include "vs_test.h"
#include "vs_s3xml.h"
#include "vs_sigv4.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <libgen.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define S(s)    (s), (sizeof(s) - 1)
#define BUCKET  "vs-s3xml-test"
#define MiB     (1024 * 1024)


static pid_t  s3_pid = -1;
static char   s3_dir[] = "/tmp/vs-s3xml-XXXXXX";

static vs_aws_endpoint_t  ep;
static vs_aws_creds_t     creds;


static void
stop_s3(void)
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


static int
free_port(void)
{
    struct sockaddr_in  sa;
    socklen_t           len = sizeof(sa);
    int                 fd, port = -1;

    fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0
        && getsockname(fd, (struct sockaddr *) &sa, &len) == 0)
    {
        port = ntohs(sa.sin_port);
    }
    if (fd >= 0) {
        close(fd);
    }
    return port;
}


/* Starts scripts/local-aws.mjs s3; returns its port once it is ready. */
static int
start_s3(void)
{
    char   src[] = __FILE__, script[1200], line[512], port_s[16];
    int    fds[2], port, ready = 0;
    FILE  *f;

    snprintf(script, sizeof(script), "%s/../../scripts/local-aws.mjs",
             dirname(src));
    if (access(script, R_OK) != 0) {
        snprintf(script, sizeof(script), "scripts/local-aws.mjs");
    }
    port = free_port();
    if (port <= 0 || mkdtemp(s3_dir) == NULL || pipe(fds) != 0) {
        return -1;
    }
    snprintf(port_s, sizeof(port_s), "%d", port);

    s3_pid = fork();
    if (s3_pid < 0) {
        return -1;
    }
    if (s3_pid == 0) {
        /* a crashed test leaves no emulator behind */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execlp("node", "node", script, "s3", port_s, s3_dir, BUCKET,
               (char *) NULL);
        _exit(127);
    }
    close(fds[1]);

    /* one JSON line when the bucket exists and it listens */
    f = fdopen(fds[0], "r");
    if (f != NULL && fgets(line, sizeof(line), f) != NULL
        && strstr(line, "\"bucket\"") != NULL)
    {
        ready = 1;
    }
    if (f != NULL) {
        fclose(f);
    }
    if (!ready) {
        fprintf(stderr, "FAIL: the local S3 did not start (node and "
                ".deps/node installed?)\n");
        return -1;
    }
    return port;
}


typedef struct {
    char    *data;
    size_t   len;
} body_t;


static size_t
collect(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    body_t  *b = userdata;
    size_t   n = size * nmemb;
    char    *p;

    p = realloc(b->data, b->len + n + 1);
    if (p == NULL) {
        return 0;
    }
    b->data = p;
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}


static long
http(const char *method, const char *url, struct curl_slist *headers,
    const char *payload, size_t payload_len, body_t *resp)
{
    CURL  *curl;
    long   status = 0;

    free(resp->data);
    resp->data = NULL;
    resp->len = 0;

    curl = curl_easy_init();
    if (curl == NULL) {
        return 0;
    }
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, resp);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
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


/* A header-signed request to BUCKET/key. */
static long
s3(const char *method, const char *key, const vs_sigv4_kv_t *query,
    size_t nquery, const char *payload, body_t *resp)
{
    char                 url[4096], path[2048], host[300], qs[1024];
    char                 line[VS_SIGV4_AUTH_MAX + 64];
    vs_sigv4_request_t   req;
    vs_sigv4_signed_t    sig;
    struct curl_slist   *list = NULL;
    long                 status;

    if (vs_aws_s3_host(&ep, S(BUCKET), host, sizeof(host)) < 0
        || vs_aws_s3_path(&ep, S(BUCKET), key, strlen(key), path,
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
    req.payload = payload;
    req.payload_len = payload ? strlen(payload) : 0;
    req.now = time(NULL);
    if (vs_sigv4_sign(&ep, &creds, NULL, &req, &sig) != 0) {
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
    list = curl_slist_append(list, "Expect:");
    list = curl_slist_append(list, "Content-Type:");

    status = http(method, url, list, payload, payload ? strlen(payload) : 0,
                  resp);
    curl_slist_free_all(list);
    return status;
}


/* PUT a part's bytes to its presigned UploadPart URL, as a browser does. */
static long
put_part(const char *key, const char *upload_id, int part_number,
    const char *data, size_t len, body_t *resp)
{
    static char          url[VS_SIGV4_URL_MAX];
    char                 num[16];
    vs_sigv4_kv_t        q[2];
    vs_sigv4_presign_t   req;
    struct curl_slist   *list;
    long                 status;

    snprintf(num, sizeof(num), "%d", part_number);
    q[0] = (vs_sigv4_kv_t) { S("partNumber"), num, strlen(num) };
    q[1] = (vs_sigv4_kv_t) { S("uploadId"), upload_id, strlen(upload_id) };

    memset(&req, 0, sizeof(req));
    req.method = "PUT";
    req.method_len = 3;
    req.bucket = BUCKET;
    req.bucket_len = sizeof(BUCKET) - 1;
    req.key = key;
    req.key_len = strlen(key);
    req.query = q;
    req.nquery = 2;
    req.now = time(NULL);
    if (vs_sigv4_presign(&ep, &creds, NULL, &req, url, sizeof(url)) < 0) {
        return -1;
    }

    list = curl_slist_append(NULL, "Expect:");
    list = curl_slist_append(list, "Content-Type:");
    status = http("PUT", url, list, data, len, resp);
    curl_slist_free_all(list);
    return status;
}


typedef struct {
    int      numbers[16];
    int64_t  sizes[16];
    char     etags[16][VS_S3XML_ETAG_MAX + 1];
    int      n;
} parts_t;


static int
on_part(void *data, const vs_s3xml_part_t *p)
{
    parts_t  *ps = data;

    if (ps->n == 16) {
        return 1;
    }
    ps->numbers[ps->n] = p->part_number;
    ps->sizes[ps->n] = p->size;
    snprintf(ps->etags[ps->n], sizeof(ps->etags[0]), "%.*s",
             (int) p->etag_len, p->etag);
    ps->n++;
    return 0;
}


typedef struct {
    char  ids[8][64];
    char  keys[8][128];
    int   n;
} uploads_t;


static int
on_upload(void *data, const vs_s3xml_upload_t *u)
{
    uploads_t  *us = data;

    if (us->n < 8) {
        snprintf(us->ids[us->n], sizeof(us->ids[0]), "%.*s",
                 (int) u->upload_id_len, u->upload_id);
        snprintf(us->keys[us->n], sizeof(us->keys[0]), "%.*s",
                 (int) u->key_len, u->key);
    }
    us->n++;
    return 0;
}


static int
on_key(void *data, const char *key, size_t len)
{
    int  *n = data;

    (*n)++;
    return 0;
}


/* All parts of an upload, max_parts a page; returns the pages. */
static int
list_all_parts(const char *key, const char *upload_id, const char *max,
    parts_t *ps)
{
    vs_s3xml_list_parts_t  lp;
    vs_sigv4_kv_t          q[3];
    body_t                 resp = { NULL, 0 };
    char                   marker[16] = "0";
    int                    pages = 0;

    memset(ps, 0, sizeof(*ps));
    do {
        q[0] = (vs_sigv4_kv_t) { S("max-parts"), max, strlen(max) };
        q[1] = (vs_sigv4_kv_t) { S("part-number-marker"), marker,
                                 strlen(marker) };
        q[2] = (vs_sigv4_kv_t) { S("uploadId"), upload_id,
                                 strlen(upload_id) };
        if (s3("GET", key, q, 3, NULL, &resp) != 200
            || vs_s3xml_list_parts(resp.data, resp.len, on_part, ps, &lp,
                                   NULL) != 0)
        {
            pages = -1;
            break;
        }
        pages++;
        snprintf(marker, sizeof(marker), "%d",
                 (int) lp.next_part_number_marker);
    } while (lp.is_truncated && pages < 100);

    free(resp.data);
    return pages;
}


int
main(void)
{
    static char                 part1[5 * MiB + 1];
    vs_s3xml_error_t            err;
    vs_s3xml_create_upload_t    cu;
    vs_s3xml_complete_upload_t  co;
    vs_s3xml_list_uploads_t     lu;
    vs_s3xml_list_objects_t     lo;
    vs_s3xml_list_parts_t       lp;
    vs_sigv4_kv_t               q[3];
    parts_t                     ps;
    uploads_t                   us;
    body_t                      resp = { NULL, 0 };
    char                        endpoint[64], errbuf[128];
    char                        upload_id[VS_S3XML_UPLOAD_ID_MAX + 1];
    char                        xml[1024];
    const char                 *key = "input/user-1/v 1/source";
    const char                 *hook = ".vidstream-test/complete-error";
    int                         port, nkeys, i;
    long                        st;

    atexit(stop_s3);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    vs_s3xml_init();

    port = start_s3();
    CHECK(port > 0);
    if (port <= 0) {
        return VS_TEST_DONE();
    }

    snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d", port);
    CHECK(vs_aws_endpoint_init(&ep, S("s3"), S("us-east-1"), endpoint,
                               strlen(endpoint), VS_AWS_ADDR_PATH, errbuf,
                               sizeof(errbuf)) == 0);
    CHECK(vs_aws_creds_set(&creds, S("S3RVER"), S("S3RVER"), NULL, 0, 0,
                           errbuf, sizeof(errbuf)) == 0);

    /* CreateMultipartUpload */
    q[0] = (vs_sigv4_kv_t) { S("uploads"), "", 0 };
    CHECK(s3("POST", key, q, 1, NULL, &resp) == 200);
    CHECK(vs_s3xml_create_upload(resp.data, resp.len, &cu, &err) == 0);
    CHECK(cu.upload_id_len > 0 && cu.upload_id_len < sizeof(upload_id));
    snprintf(upload_id, sizeof(upload_id), "%s", cu.upload_id);

    /* parts to presigned URLs: 5 MiB, then 100 B; part 3 of 1 B too */
    memset(part1, 'v', sizeof(part1) - 1);
    CHECK(put_part(key, upload_id, 1, part1, 5 * MiB, &resp) == 200);
    CHECK(put_part(key, upload_id, 2, part1, 100, &resp) == 200);
    CHECK(put_part(key, upload_id, 3, part1, 1, &resp) == 200);

    /* an unknown upload: S3's 404 NoSuchUpload, read as such */
    CHECK(put_part(key, "0123456789abcdef0123456789abcdef", 1, "x", 1,
                   &resp) == 404);
    CHECK(vs_s3xml_error(resp.data, resp.len, &err) == VS_S3XML_S3_ERROR);
    CHECK_STR(err.code, "NoSuchUpload");

    /* ListParts, a page of 2 then 1; and all in one page */
    CHECK(list_all_parts(key, upload_id, "2", &ps) == 2);
    CHECK(ps.n == 3 && ps.numbers[0] == 1 && ps.numbers[1] == 2
          && ps.numbers[2] == 3);
    CHECK(ps.sizes[0] == 5 * MiB && ps.sizes[1] == 100 && ps.sizes[2] == 1);
    CHECK(ps.etags[0][0] == '"' && strlen(ps.etags[0]) == 34);
    CHECK(list_all_parts(key, upload_id, "1000", &ps) == 1 && ps.n == 3);

    /* ListParts of an unknown upload */
    q[0] = (vs_sigv4_kv_t) { S("uploadId"), S("nope") };
    CHECK(s3("GET", key, q, 1, NULL, &resp) == 404);
    CHECK(vs_s3xml_list_parts(resp.data, resp.len, on_part, &ps, &lp, &err)
          == VS_S3XML_S3_ERROR);
    CHECK_STR(err.code, "NoSuchUpload");

    /* ListMultipartUploads with a prefix */
    q[0] = (vs_sigv4_kv_t) { S("prefix"), S("input/user-1/") };
    q[1] = (vs_sigv4_kv_t) { S("uploads"), "", 0 };
    memset(&us, 0, sizeof(us));
    CHECK(s3("GET", "", q, 2, NULL, &resp) == 200);
    CHECK(vs_s3xml_list_uploads(resp.data, resp.len, on_upload, &us, &lu,
                                NULL) == 0);
    CHECK(us.n == 1 && !lu.is_truncated);
    CHECK_STR(us.ids[0], upload_id);
    CHECK_STR(us.keys[0], key);
    q[0] = (vs_sigv4_kv_t) { S("prefix"), S("output/") };
    memset(&us, 0, sizeof(us));
    CHECK(s3("GET", "", q, 2, NULL, &resp) == 200);
    CHECK(vs_s3xml_list_uploads(resp.data, resp.len, on_upload, &us, &lu,
                                NULL) == 0 && us.n == 0);

    /* Complete parts 1-2 (part 3 is dropped) */
    CHECK(list_all_parts(key, upload_id, "1000", &ps) == 1);
    snprintf(xml, sizeof(xml), "<CompleteMultipartUpload>"
             "<Part><PartNumber>1</PartNumber><ETag>%s</ETag></Part>"
             "<Part><PartNumber>2</PartNumber><ETag>%s</ETag></Part>"
             "</CompleteMultipartUpload>", ps.etags[0], ps.etags[1]);

    /* the hook first: 200 carrying <Error>, nothing completed */
    CHECK(s3("PUT", hook, NULL, 0, "InternalError 1", &resp) == 200);
    q[0] = (vs_sigv4_kv_t) { S("uploadId"), upload_id, strlen(upload_id) };
    CHECK(s3("POST", key, q, 1, xml, &resp) == 200);
    CHECK(vs_s3xml_complete_upload(resp.data, resp.len, &co, &err)
          == VS_S3XML_S3_ERROR);
    CHECK_STR(err.code, "InternalError");
    CHECK(list_all_parts(key, upload_id, "1000", &ps) == 1 && ps.n == 3);

    /* S3's part checks, read as errors */
    snprintf(xml, sizeof(xml), "<CompleteMultipartUpload>"
             "<Part><PartNumber>2</PartNumber><ETag>%s</ETag></Part>"
             "<Part><PartNumber>3</PartNumber><ETag>%s</ETag></Part>"
             "</CompleteMultipartUpload>", ps.etags[1], ps.etags[2]);
    CHECK(s3("POST", key, q, 1, xml, &resp) == 400);
    CHECK(vs_s3xml_complete_upload(resp.data, resp.len, &co, &err)
          == VS_S3XML_S3_ERROR);
    CHECK_STR(err.code, "EntityTooSmall");

    snprintf(xml, sizeof(xml), "<CompleteMultipartUpload>"
             "<Part><PartNumber>1</PartNumber><ETag>%s</ETag></Part>"
             "<Part><PartNumber>2</PartNumber><ETag>%s</ETag></Part>"
             "</CompleteMultipartUpload>", ps.etags[0], ps.etags[1]);
    st = s3("POST", key, q, 1, xml, &resp);
    CHECK(st == 200);
    CHECK(vs_s3xml_complete_upload(resp.data, resp.len, &co, &err) == 0);
    CHECK(co.etag_len > 2 && co.etag[0] == '"');

    /* the object, listed; the upload, gone */
    q[0] = (vs_sigv4_kv_t) { S("list-type"), S("2") };
    q[1] = (vs_sigv4_kv_t) { S("prefix"), S("input/") };
    nkeys = 0;
    CHECK(s3("GET", "", q, 2, NULL, &resp) == 200);
    CHECK(vs_s3xml_list_objects(resp.data, resp.len, on_key, &nkeys, &lo,
                                NULL) == 0);
    CHECK(nkeys == 1 && lo.key_count == 1 && !lo.is_truncated);
    q[0] = (vs_sigv4_kv_t) { S("uploadId"), upload_id, strlen(upload_id) };
    CHECK(s3("GET", key, q, 1, NULL, &resp) == 404);
    CHECK(s3("HEAD", key, NULL, 0, NULL, &resp) == 200);

    /* Abort: 204, then NoSuchUpload */
    q[0] = (vs_sigv4_kv_t) { S("uploads"), "", 0 };
    CHECK(s3("POST", "input/user-1/v2/source", q, 1, NULL, &resp) == 200);
    CHECK(vs_s3xml_create_upload(resp.data, resp.len, &cu, &err) == 0);
    for (i = 1; i <= 2; i++) {
        CHECK(put_part("input/user-1/v2/source", cu.upload_id, i, "ab", 2,
                       &resp) == 200);
    }
    q[0] = (vs_sigv4_kv_t) { S("uploadId"), cu.upload_id,
                             cu.upload_id_len };
    CHECK(s3("DELETE", "input/user-1/v2/source", q, 1, NULL, &resp) == 204);
    CHECK(s3("DELETE", "input/user-1/v2/source", q, 1, NULL, &resp) == 404);
    CHECK(vs_s3xml_error(resp.data, resp.len, &err) == VS_S3XML_S3_ERROR);
    CHECK_STR(err.code, "NoSuchUpload");

    free(resp.data);
    curl_global_cleanup();
    return VS_TEST_DONE();
}
