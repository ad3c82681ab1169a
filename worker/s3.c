/*
 * S3 REST calls, SigV4 header-signed (payloads of uploads are sent
 * UNSIGNED-PAYLOAD: hashing gigabytes twice buys nothing over TLS).
 */
#include "s3.h"

#include "log.h"
#include "vs_s3xml.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define VS_S3_PATH_MAX  (VS_AWS_BASE_PATH_MAX + 3 * (VS_AWS_BUCKET_MAX        \
                         + VS_AWS_KEY_MAX) + 8)


typedef struct {
    char  host[VS_AWS_HOST_MAX + VS_AWS_BUCKET_MAX + 16];
    char  path[VS_S3_PATH_MAX];
} vs_s3_target_t;


/* libxml2 is set up once, before any thread parses an answer. */
static pthread_once_t  vs_s3_xml_once = PTHREAD_ONCE_INIT;

static void
vs_s3_xml_init(void)
{
    (void) pthread_once(&vs_s3_xml_once, vs_s3xml_init);
}


static int
vs_s3_target(vs_aws_t *aws, const char *bucket, const char *key,
    vs_s3_target_t *t, char *err, size_t err_size)
{
    if (vs_aws_s3_host(&aws->s3, bucket, strlen(bucket), t->host,
                       sizeof(t->host)) < 0
        || vs_aws_s3_path(&aws->s3, bucket, strlen(bucket), key, strlen(key),
                          t->path, sizeof(t->path)) < 0)
    {
        snprintf(err, err_size, "bad bucket or key");
        return VS_S3_PERMANENT;
    }
    return 0;
}


/* Maps an S3 answer to our result codes, with a readable reason. */
static int
vs_s3_status(const char *op, const char *key, int transport,
    const vs_http_resp_t *resp, char *err, size_t err_size)
{
    vs_s3xml_error_t  s3err;

    if (transport != 0) {
        return VS_S3_TRANSIENT;     /* err already says why */
    }

    if (resp->status >= 200 && resp->status < 300) {
        return 0;
    }

    /* the body's <Code> when it is S3's <Error> (a proxy's HTML is not) */
    vs_s3_xml_init();
    if (resp->body == NULL
        || vs_s3xml_error(resp->body, resp->body_len, &s3err)
           != VS_S3XML_S3_ERROR)
    {
        s3err.code[0] = '\0';
    }

    snprintf(err, err_size, "S3 %s %s: HTTP %ld%s%s", op, key,
             resp->status, s3err.code[0] ? " " : "", s3err.code);

    if (resp->status == 404) {
        return VS_S3_NOT_FOUND;
    }
    if (vs_aws_transient(resp->status) || resp->status == 403) {
        /* 403: clock skew or rotated credentials, worth a retry */
        return VS_S3_TRANSIENT;
    }
    return VS_S3_PERMANENT;
}


static int
vs_s3_simple(vs_aws_t *aws, const char *method, const char *bucket,
    const char *key, vs_http_resp_t *resp, char *err, size_t err_size)
{
    vs_s3_target_t  t;
    vs_aws_req_t    req;
    int             rc;

    rc = vs_s3_target(aws, bucket, key, &t, err, err_size);
    if (rc != 0) {
        memset(resp, 0, sizeof(*resp));
        return rc;
    }

    memset(&req, 0, sizeof(req));
    req.ep = &aws->s3;
    req.method = method;
    req.host = t.host;
    req.path = t.path;
    req.timeout_ms = 30000;
    req.stop = &(int){0};

    rc = vs_aws_send(aws, &req, resp, err, err_size);
    return vs_s3_status(method, key, rc, resp, err, err_size);
}


int
vs_s3_head(vs_aws_t *aws, const char *bucket, const char *key,
    int64_t *size, char *err, size_t err_size)
{
    vs_http_resp_t  resp;
    int             rc;

    rc = vs_s3_simple(aws, "HEAD", bucket, key, &resp, err, err_size);
    *size = resp.content_length;
    vs_http_resp_free(&resp);

    if (rc == 0 && *size < 0) {
        snprintf(err, err_size, "S3 HEAD %s: no Content-Length", key);
        return VS_S3_TRANSIENT;
    }
    return rc;
}


int
vs_s3_delete(vs_aws_t *aws, const char *bucket, const char *key,
    char *err, size_t err_size)
{
    vs_http_resp_t  resp;
    int             rc;

    rc = vs_s3_simple(aws, "DELETE", bucket, key, &resp, err, err_size);
    vs_http_resp_free(&resp);
    return rc == VS_S3_NOT_FOUND ? 0 : rc;
}


int
vs_s3_presign_get(vs_aws_t *aws, const char *bucket, const char *key,
    long expires, char *out, size_t out_size, char *err, size_t err_size)
{
    vs_aws_creds_t      *creds;
    vs_sigv4_presign_t   p;
    ssize_t              n;

    creds = malloc(sizeof(*creds));
    if (creds == NULL) {
        snprintf(err, err_size, "out of memory");
        return VS_S3_TRANSIENT;
    }

    err[0] = '\0';
    if (vs_aws_creds(aws, creds, err, err_size) != 0) {
        free(creds);
        return VS_S3_TRANSIENT;
    }

    memset(&p, 0, sizeof(p));
    p.method = "GET";
    p.method_len = 3;
    p.bucket = bucket;
    p.bucket_len = strlen(bucket);
    p.key = key;
    p.key_len = strlen(key);
    p.now = time(NULL);
    p.expires = expires;

    n = vs_sigv4_presign(&aws->s3, creds, NULL, &p, out, out_size);
    memset(creds, 0, sizeof(*creds));
    free(creds);

    if (n < 0) {
        snprintf(err, err_size, "cannot presign the input URL");
        return VS_S3_PERMANENT;
    }
    return 0;
}


static int
vs_s3_put(vs_aws_t *aws, const vs_s3_target_t *t, const char *key,
    const vs_sigv4_kv_t *query, size_t nquery, const char *content_type,
    FILE *f, int64_t offset, int64_t len, char *etag, size_t etag_size,
    char *err, size_t err_size)
{
    vs_aws_req_t    req;
    vs_http_resp_t  resp;
    vs_sigv4_kv_t   ct = { "content-type", 12, content_type,
                           content_type ? strlen(content_type) : 0 };
    int             rc;

    memset(&req, 0, sizeof(req));
    req.ep = &aws->s3;
    req.method = "PUT";
    req.host = t->host;
    req.path = t->path;
    req.query = query;
    req.nquery = nquery;
    req.headers = content_type ? &ct : NULL;
    req.nheaders = content_type ? 1 : 0;
    req.upload = f;
    req.upload_offset = offset;
    req.body_len = (size_t) len;
    req.timeout_ms = 600000;
    req.stop = &(int){0};

    rc = vs_aws_send(aws, &req, &resp, err, err_size);
    rc = vs_s3_status("PUT", key, rc, &resp, err, err_size);
    if (rc == 0 && etag != NULL) {
        snprintf(etag, etag_size, "%s", resp.etag);
    }
    vs_http_resp_free(&resp);
    return rc;
}


static int
vs_s3_post(vs_aws_t *aws, const vs_s3_target_t *t, const char *key,
    const vs_sigv4_kv_t *query, size_t nquery, const char *body,
    const char *method, vs_http_resp_t *resp, char *err, size_t err_size)
{
    vs_aws_req_t  req;
    int           rc;

    memset(&req, 0, sizeof(req));
    req.ep = &aws->s3;
    req.method = method;
    req.host = t->host;
    req.path = t->path;
    req.query = query;
    req.nquery = nquery;
    req.body = body;
    req.body_len = body ? strlen(body) : 0;
    req.timeout_ms = 60000;
    req.stop = &(int){0};

    rc = vs_aws_send(aws, &req, resp, err, err_size);
    return vs_s3_status(method, key, rc, resp, err, err_size);
}


int
vs_s3_abort_upload(vs_aws_t *aws, const char *bucket, const char *key,
    const char *upload_id, char *err, size_t err_size)
{
    vs_s3_target_t  t;
    vs_http_resp_t  resp;
    vs_sigv4_kv_t   q[1];
    int             rc;

    rc = vs_s3_target(aws, bucket, key, &t, err, err_size);
    if (rc != 0) {
        return rc;
    }

    q[0] = (vs_sigv4_kv_t) { "uploadId", 8, upload_id, strlen(upload_id) };
    memset(&resp, 0, sizeof(resp));
    rc = vs_s3_post(aws, &t, key, q, 1, NULL, "DELETE", &resp, err,
                    err_size);
    vs_http_resp_free(&resp);

    /* NoSuchUpload: aborted or completed already */
    return rc == VS_S3_NOT_FOUND ? 0 : rc;
}


int
vs_s3_upload(vs_aws_t *aws, const char *bucket, const char *key,
    const char *path, const char *content_type, int64_t threshold,
    int64_t part_size, char *err, size_t err_size)
{
    vs_s3_target_t               t;
    vs_http_resp_t               resp;
    vs_sigv4_kv_t                q[2];
    struct stat                  st;
    FILE                        *f;
    char                        *upload_id = NULL, *xml = NULL, etag[128],
                                 num[16];
    size_t                       xml_len = 0, xml_cap = 0;
    int64_t                      off, len;
    int                          rc, part, xml_rc;
    vs_s3xml_error_t             s3err;
    vs_s3xml_create_upload_t     created;
    vs_s3xml_complete_upload_t   completed;

    rc = vs_s3_target(aws, bucket, key, &t, err, err_size);
    if (rc != 0) {
        return rc;
    }

    f = fopen(path, "rb");
    if (f == NULL || fstat(fileno(f), &st) != 0) {
        snprintf(err, err_size, "cannot read %s: %s", path, strerror(errno));
        if (f != NULL) {
            fclose(f);
        }
        return VS_S3_TRANSIENT;
    }

    if (st.st_size <= threshold) {
        rc = vs_s3_put(aws, &t, key, NULL, 0, content_type, f, 0, st.st_size,
                       NULL, 0, err, err_size);
        fclose(f);
        return rc;
    }

    /* multipart: create, parts, complete (abort on any failure) */
    if (part_size < (5LL << 20)) {
        part_size = 5LL << 20;              /* S3's minimum but the last */
    }
    if ((st.st_size + part_size - 1) / part_size > 10000) {
        part_size = (st.st_size + 9999) / 10000;    /* S3's maximum count */
    }

    q[0] = (vs_sigv4_kv_t) { "uploads", 7, "", 0 };
    memset(&resp, 0, sizeof(resp));
    rc = vs_s3_post(aws, &t, key, q, 1, NULL, "POST", &resp, err, err_size);
    if (rc == 0) {
        vs_s3_xml_init();
        xml_rc = vs_s3xml_create_upload(resp.body, resp.body_len, &created,
                                        &s3err);
        if (xml_rc == VS_S3XML_S3_ERROR) {
            snprintf(err, err_size, "S3 CreateMultipartUpload %s: %s", key,
                     s3err.code);
        } else if (xml_rc != VS_S3XML_OK) {
            snprintf(err, err_size, "S3 CreateMultipartUpload %s: no "
                     "UploadId (%s)", key, vs_s3xml_strerror(xml_rc));
        } else if ((upload_id = strdup(created.upload_id)) == NULL) {
            snprintf(err, err_size, "out of memory");
        }
        if (upload_id == NULL) {
            rc = VS_S3_TRANSIENT;
        }
    }
    vs_http_resp_free(&resp);
    if (rc != 0) {
        goto cleanup;
    }

    xml_cap = 256;
    xml = malloc(xml_cap);
    if (xml == NULL) {
        snprintf(err, err_size, "out of memory");
        rc = VS_S3_TRANSIENT;
        goto abort;
    }
    xml_len = (size_t) snprintf(xml, xml_cap, "<CompleteMultipartUpload>");

    for (part = 1, off = 0; off < st.st_size; part++, off += part_size) {
        len = st.st_size - off < part_size ? st.st_size - off : part_size;
        snprintf(num, sizeof(num), "%d", part);
        q[0] = (vs_sigv4_kv_t) { "partNumber", 10, num, strlen(num) };
        q[1] = (vs_sigv4_kv_t) { "uploadId", 8, upload_id,
                                 strlen(upload_id) };

        rc = vs_s3_put(aws, &t, key, q, 2, NULL, f, off, len, etag,
                       sizeof(etag), err, err_size);
        if (rc != 0) {
            goto abort;
        }
        if (etag[0] == '\0') {
            snprintf(err, err_size, "S3 UploadPart %s: no ETag", key);
            rc = VS_S3_TRANSIENT;
            goto abort;
        }

        if (xml_len + strlen(etag) + 128 > xml_cap) {
            char  *p;

            xml_cap = (xml_len + strlen(etag) + 128) * 2;
            p = realloc(xml, xml_cap);
            if (p == NULL) {
                snprintf(err, err_size, "out of memory");
                rc = VS_S3_TRANSIENT;
                goto abort;
            }
            xml = p;
        }
        xml_len += (size_t) snprintf(xml + xml_len, xml_cap - xml_len,
                                     "<Part><PartNumber>%d</PartNumber>"
                                     "<ETag>%s</ETag></Part>", part, etag);
    }

    snprintf(xml + xml_len, xml_cap - xml_len, "</CompleteMultipartUpload>");

    q[0] = (vs_sigv4_kv_t) { "uploadId", 8, upload_id, strlen(upload_id) };
    rc = vs_s3_post(aws, &t, key, q, 1, xml, "POST", &resp, err, err_size);
    /* S3 may answer 200 with an <Error> body: not completed */
    if (rc == 0) {
        vs_s3_xml_init();
        xml_rc = vs_s3xml_complete_upload(resp.body, resp.body_len,
                                          &completed, &s3err);
        if (xml_rc != VS_S3XML_OK) {
            snprintf(err, err_size, "S3 CompleteMultipartUpload %s failed: "
                     "%s", key, xml_rc == VS_S3XML_S3_ERROR ? s3err.code
                     : vs_s3xml_strerror(xml_rc));
            rc = VS_S3_TRANSIENT;
        }
    }
    vs_http_resp_free(&resp);
    if (rc == 0) {
        vs_log(VS_LOG_INFO, NULL, "upload", "%s: multipart upload of %lld "
               "bytes in %d parts of %lld", key, (long long) st.st_size,
               part - 1, (long long) part_size);
        goto cleanup;
    }

abort:

    {
        char  abort_err[256];

        /* AbortMultipartUpload: S3 frees the parts already stored */
        q[0] = (vs_sigv4_kv_t) { "uploadId", 8, upload_id,
                                 strlen(upload_id) };
        abort_err[0] = '\0';
        if (vs_s3_post(aws, &t, key, q, 1, NULL, "DELETE", &resp,
                       abort_err, sizeof(abort_err)) != 0)
        {
            vs_log(VS_LOG_WARN, NULL, "upload", "%s: AbortMultipartUpload "
                   "failed (%s); a bucket lifecycle rule for incomplete "
                   "uploads cleans the parts", key, abort_err);
        } else {
            vs_log(VS_LOG_INFO, NULL, "upload", "%s: multipart upload "
                   "aborted", key);
        }
        vs_http_resp_free(&resp);
    }

cleanup:

    fclose(f);
    free(upload_id);
    free(xml);
    return rc;
}
