/*
 * Signing and sending AWS requests. Credentials come from the provider
 * chain of lib/vs_creds (environment, then the ECS task role, refreshed
 * ahead of expiry); the signing key is derived per request (four HMACs:
 * cheap next to a transcode, and no cache shared between threads).
 */
#include "aws.h"

#include "creds_fetch.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>


int
vs_aws_init(vs_aws_t *aws, const vs_config_t *cfg, char *err,
    size_t err_size)
{
    const char  *url;
    int          kind;

    memset(aws, 0, sizeof(*aws));

    url = cfg->s3_endpoint;
    if (vs_aws_endpoint_init(&aws->s3, "s3", 2, cfg->region,
                             strlen(cfg->region), url, url ? strlen(url) : 0,
                             VS_AWS_ADDR_AUTO, err, err_size) != 0)
    {
        return -1;
    }

    url = cfg->sqs_endpoint;
    if (vs_aws_endpoint_init(&aws->sqs, "sqs", 3, cfg->region,
                             strlen(cfg->region), url, url ? strlen(url) : 0,
                             VS_AWS_ADDR_PATH, err, err_size) != 0)
    {
        return -1;
    }

    kind = vs_aws_provider_init(&aws->provider, NULL, err, err_size);
    if (kind < 0) {
        return -1;
    }
    if (kind == VS_AWS_CREDS_NONE) {
        snprintf(err, err_size, "no AWS credentials: set AWS_ACCESS_KEY_ID "
                 "and AWS_SECRET_ACCESS_KEY, or run with an ECS task role");
        return -1;
    }

    if (pthread_mutex_init(&aws->lock, NULL) != 0) {
        snprintf(err, err_size, "pthread_mutex_init failed");
        return -1;
    }

    return 0;
}


int
vs_aws_creds(vs_aws_t *aws, vs_aws_creds_t *out, char *err, size_t err_size)
{
    const vs_aws_creds_t  *c;
    time_t                 now = time(NULL);
    int                    ret = -1;

    pthread_mutex_lock(&aws->lock);

    /* ECS credentials: fetched (blocking, under the lock: once) when due */
    if (vs_aws_provider_should_refresh(&aws->provider, now)) {
        (void) vs_aws_provider_refresh(&aws->provider, now, 5000, err,
                                       err_size);
    }

    c = vs_aws_provider_get(&aws->provider, now);
    if (c != NULL) {
        memcpy(out, c, sizeof(*out));
        ret = 0;
    } else if (err[0] == '\0') {
        snprintf(err, err_size, "no valid AWS credentials");
    }

    pthread_mutex_unlock(&aws->lock);
    return ret;
}


int
vs_aws_send(vs_aws_t *aws, const vs_aws_req_t *req, vs_http_resp_t *resp,
    char *err, size_t err_size)
{
    vs_aws_creds_t       *creds = NULL;
    vs_sigv4_request_t    sr;
    vs_sigv4_signed_t     sig;
    vs_http_req_t         hr;
    const char          **headers = NULL;
    char                 *url = NULL, *query = NULL, *lines = NULL;
    size_t                i, n, qcap, lcap, off;
    int                   ret = -1;

    memset(resp, 0, sizeof(*resp));
    err[0] = '\0';

    creds = malloc(sizeof(*creds));
    if (creds == NULL) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }

    if (vs_aws_creds(aws, creds, err, err_size) != 0) {
        goto cleanup;
    }

    /* the canonical query string is also what we send */
    qcap = 64;
    for (i = 0; i < req->nquery; i++) {
        qcap += 3 * (req->query[i].name_len + req->query[i].value_len) + 2;
    }
    query = malloc(qcap);
    if (query == NULL) {
        snprintf(err, err_size, "out of memory");
        goto cleanup;
    }
    query[0] = '\0';
    if (req->nquery > 0
        && vs_sigv4_query(req->query, req->nquery, query, qcap) < 0)
    {
        snprintf(err, err_size, "cannot build the query string");
        goto cleanup;
    }

    memset(&sr, 0, sizeof(sr));
    sr.method = req->method;
    sr.method_len = strlen(req->method);
    sr.host = req->host;
    sr.host_len = strlen(req->host);
    sr.path = req->path;
    sr.path_len = strlen(req->path);
    sr.query = req->query;
    sr.nquery = req->nquery;
    sr.headers = req->headers;
    sr.nheaders = req->nheaders;
    sr.now = time(NULL);
    if (req->upload != NULL) {
        sr.payload_hash = "UNSIGNED-PAYLOAD";
    } else {
        sr.payload = req->body;
        sr.payload_len = req->body_len;
    }

    if (vs_sigv4_sign(req->ep, creds, NULL, &sr, &sig) != 0) {
        snprintf(err, err_size, "cannot sign the request");
        goto cleanup;
    }

    n = strlen(req->host) + strlen(req->path) + strlen(query) + 16;
    url = malloc(n);
    if (url == NULL) {
        snprintf(err, err_size, "out of memory");
        goto cleanup;
    }
    snprintf(url, n, "%s://%s%s%s%s", req->ep->https ? "https" : "http",
             req->host, req->path, query[0] ? "?" : "", query);

    /* header lines: the caller's, then the signature's */
    lcap = 256 + sig.authorization_len + sig.security_token_len;
    for (i = 0; i < req->nheaders; i++) {
        lcap += req->headers[i].name_len + req->headers[i].value_len + 3;
    }
    lines = malloc(lcap);
    headers = calloc(req->nheaders + 6, sizeof(char *));
    if (lines == NULL || headers == NULL) {
        snprintf(err, err_size, "out of memory");
        goto cleanup;
    }

    off = 0;
    n = 0;
#define VS_ADD_HEADER(name, nlen, value, vlen)                              \
    do {                                                                    \
        headers[n++] = lines + off;                                          \
        off += (size_t) snprintf(lines + off, lcap - off, "%.*s: %.*s",      \
                                 (int) (nlen), name, (int) (vlen), value)    \
               + 1;                                                         \
    } while (0)

    for (i = 0; i < req->nheaders; i++) {
        VS_ADD_HEADER(req->headers[i].name, req->headers[i].name_len,
                      req->headers[i].value, req->headers[i].value_len);
    }
    VS_ADD_HEADER("Authorization", 13, sig.authorization,
                  sig.authorization_len);
    VS_ADD_HEADER("x-amz-date", 10, sig.amz_date, strlen(sig.amz_date));
    VS_ADD_HEADER("x-amz-content-sha256", 20, sig.content_sha256,
                  strlen(sig.content_sha256));
    if (sig.security_token_len > 0) {
        VS_ADD_HEADER("x-amz-security-token", 20, sig.security_token,
                      sig.security_token_len);
    }
#undef VS_ADD_HEADER
    headers[n] = NULL;

    memset(&hr, 0, sizeof(hr));
    hr.method = req->method;
    hr.url = url;
    hr.headers = headers;
    hr.body = req->body;
    hr.body_len = req->body_len;
    hr.upload = req->upload;
    hr.upload_offset = req->upload_offset;
    hr.timeout_ms = req->timeout_ms;
    hr.stop = req->stop != NULL ? req->stop : aws->stop;

    ret = vs_http_do(&hr, resp, err, err_size);

cleanup:

    if (creds != NULL) {
        memset(creds, 0, sizeof(*creds));   /* no secrets left in the heap */
        free(creds);
    }
    free(query);
    free(url);
    free(lines);
    free(headers);
    return ret;
}
