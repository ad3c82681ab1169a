/*
 * libcurl, blocking. Responses are capped (AWS API answers are small; we
 * never download media through here: libavformat reads the input).
 */
#include "http.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define VS_HTTP_MAX_RESPONSE  (8 * 1024 * 1024)

typedef struct {
    const vs_http_req_t  *req;
    vs_http_resp_t       *resp;
    size_t                cap;
    int64_t               sent;
    int                   too_big;
} vs_http_ctx_t;


static size_t
vs_http_write(char *data, size_t size, size_t n, void *opaque)
{
    vs_http_ctx_t  *ctx = opaque;
    vs_http_resp_t *resp = ctx->resp;
    size_t          len = size * n, cap;
    char           *p;

    if (resp->body_len + len + 1
        > (ctx->req->max_response ? ctx->req->max_response + 1
                                  : VS_HTTP_MAX_RESPONSE))
    {
        ctx->too_big = 1;
        return 0;
    }

    if (resp->body_len + len + 1 > ctx->cap) {
        cap = ctx->cap ? ctx->cap : 4096;
        while (cap < resp->body_len + len + 1) {
            cap *= 2;
        }
        p = realloc(resp->body, cap);
        if (p == NULL) {
            return 0;
        }
        resp->body = p;
        ctx->cap = cap;
    }

    memcpy(resp->body + resp->body_len, data, len);
    resp->body_len += len;
    resp->body[resp->body_len] = '\0';
    return len;
}


static size_t
vs_http_header(char *data, size_t size, size_t n, void *opaque)
{
    vs_http_ctx_t  *ctx = opaque;
    size_t          len = size * n, vlen;
    const char     *v;

    if (len > 5 && strncasecmp(data, "ETag:", 5) == 0) {
        v = data + 5;
        while (v < data + len && (*v == ' ' || *v == '\t')) {
            v++;
        }
        vlen = (size_t) (data + len - v);
        while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n'
                            || v[vlen - 1] == ' '))
        {
            vlen--;
        }
        if (vlen < sizeof(ctx->resp->etag)) {
            memcpy(ctx->resp->etag, v, vlen);
            ctx->resp->etag[vlen] = '\0';
        }
    }

    return len;
}


static size_t
vs_http_read(char *buf, size_t size, size_t n, void *opaque)
{
    vs_http_ctx_t  *ctx = opaque;
    int64_t         left = (int64_t) ctx->req->body_len - ctx->sent;
    size_t          want = size * n, got;

    if (left <= 0) {
        return 0;
    }
    if ((int64_t) want > left) {
        want = (size_t) left;
    }

    got = fread(buf, 1, want, ctx->req->upload);
    if (got == 0 && ferror(ctx->req->upload)) {
        return CURL_READFUNC_ABORT;
    }
    ctx->sent += got;
    return got;
}


static int
vs_http_progress(void *opaque, curl_off_t dt, curl_off_t dn, curl_off_t ut,
    curl_off_t un)
{
    vs_http_ctx_t  *ctx = opaque;

    return ctx->req->stop != NULL && *ctx->req->stop ? 1 : 0;
}


int
vs_http_do(const vs_http_req_t *req, vs_http_resp_t *resp, char *err,
    size_t err_size)
{
    CURL               *curl;
    struct curl_slist  *list = NULL, *next;
    vs_http_ctx_t       ctx;
    CURLcode            rc;
    size_t              i;
    int                 ret = -1;

    memset(resp, 0, sizeof(*resp));
    resp->content_length = -1;
    memset(&ctx, 0, sizeof(ctx));
    ctx.req = req;
    ctx.resp = resp;

    curl = curl_easy_init();
    if (curl == NULL) {
        snprintf(err, err_size, "curl_easy_init failed");
        return -1;
    }

    for (i = 0; req->headers != NULL && req->headers[i] != NULL; i++) {
        next = curl_slist_append(list, req->headers[i]);
        if (next == NULL) {
            snprintf(err, err_size, "out of memory");
            goto cleanup;
        }
        list = next;
    }
    /* no "Expect: 100-continue" round trip on uploads */
    next = curl_slist_append(list, "Expect:");
    if (next == NULL) {
        snprintf(err, err_size, "out of memory");
        goto cleanup;
    }
    list = next;

    if (curl_easy_setopt(curl, CURLOPT_URL, req->url) != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list) != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req->method)
           != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L) != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                            req->connect_timeout_ms > 0
                            ? req->connect_timeout_ms : 10000L)
           != CURLE_OK
        /* nothing but HTTP(S), and no redirect, whatever the URL says */
        || curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https")
           != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK
        || (req->no_proxy
            && curl_easy_setopt(curl, CURLOPT_NOPROXY, "*") != CURLE_OK)
        || curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, req->timeout_ms)
           != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, vs_http_write)
           != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_WRITEDATA, &ctx) != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, vs_http_header)
           != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_HEADERDATA, &ctx) != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L) != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, vs_http_progress)
           != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &ctx) != CURLE_OK)
    {
        snprintf(err, err_size, "curl_easy_setopt failed");
        goto cleanup;
    }

    if (strcmp(req->method, "HEAD") == 0) {
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);

    } else if (req->upload != NULL) {
        if (fseeko(req->upload, req->upload_offset, SEEK_SET) != 0) {
            snprintf(err, err_size, "cannot seek the upload file");
            goto cleanup;
        }
        curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(curl, CURLOPT_READFUNCTION, vs_http_read);
        curl_easy_setopt(curl, CURLOPT_READDATA, &ctx);
        curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE,
                         (curl_off_t) req->body_len);
        /* CURLOPT_UPLOAD means PUT; CUSTOMREQUEST keeps POST when asked */

    } else if (req->body != NULL || strcmp(req->method, "POST") == 0
               || strcmp(req->method, "PUT") == 0)
    {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS,
                         req->body != NULL ? req->body : "");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t) req->body_len);
    }

    rc = curl_easy_perform(curl);
    if (rc != CURLE_OK) {
        snprintf(err, err_size, "%s %s: %s", req->method,
                 ctx.too_big ? "response too large"
                 : rc == CURLE_ABORTED_BY_CALLBACK ? "aborted" : "failed",
                 curl_easy_strerror(rc));
        goto cleanup;
    }

    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
    {
        curl_off_t  cl = -1;

        if (curl_easy_getinfo(curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl)
            == CURLE_OK)
        {
            resp->content_length = cl;
        }
    }

    if (resp->body == NULL) {
        resp->body = calloc(1, 1);
        if (resp->body == NULL) {
            snprintf(err, err_size, "out of memory");
            goto cleanup;
        }
    }

    ret = 0;

cleanup:

    curl_slist_free_all(list);
    curl_easy_cleanup(curl);
    return ret;
}


void
vs_http_resp_free(vs_http_resp_t *resp)
{
    free(resp->body);
    resp->body = NULL;
    resp->body_len = 0;
}
