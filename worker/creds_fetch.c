/*
 * The ECS task-role credentials fetch (creds_fetch.h), over http.h: the
 * worker's one libcurl client, so this file has no transfer code of its
 * own.
 */
#include "creds_fetch.h"

#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

/* a credentials document is a few hundred bytes */
#define VS_ECS_BODY_MAX  (64 * 1024)


int
vs_aws_ecs_fetch(const vs_aws_ecs_source_t *src, vs_aws_creds_t *creds,
    long timeout_ms, char *err, size_t err_size)
{
    int              rc = -1;
    char             url[sizeof(src->host) + sizeof(src->path) + 32];
    char             auth[sizeof(src->authorization) + 32];
    char             token[sizeof(src->authorization)];
    const char      *token_value, *headers[3];
    size_t           token_len;
    vs_http_req_t    req;
    vs_http_resp_t   resp;

    if (src->host_len == 0 || src->path_len == 0) {
        snprintf(err, err_size, "ECS credentials source not configured");
        return -1;
    }

    token_value = src->authorization;
    token_len = src->authorization_len;
    if (src->token_file_len > 0) {
        if (vs_aws_ecs_read_token_file(src->token_file, token, sizeof(token),
                                       &token_len) != 0)
        {
            snprintf(err, err_size, "cannot read %s", src->token_file);
            return -1;
        }
        token_value = token;
    }

    snprintf(url, sizeof(url), "%s://%s:%u%s", src->https ? "https" : "http",
             src->host, (unsigned) src->port, src->path);

    headers[0] = "Accept: application/json";
    headers[1] = NULL;
    headers[2] = NULL;
    if (token_len > 0) {
        snprintf(auth, sizeof(auth), "Authorization: %.*s", (int) token_len,
                 token_value);
        headers[1] = auth;
    }

    memset(&req, 0, sizeof(req));
    req.method = "GET";
    req.url = url;
    req.headers = headers;
    req.timeout_ms = timeout_ms;
    req.connect_timeout_ms = timeout_ms;
    req.max_response = VS_ECS_BODY_MAX;
    req.no_proxy = 1;                   /* a link-local endpoint */

    if (vs_http_do(&req, &resp, err, err_size) != 0) {
        char  why[256];

        snprintf(why, sizeof(why), "%s", err);
        snprintf(err, err_size, "ECS credentials fetch from %s:%u failed: "
                 "%s", src->host, (unsigned) src->port, why);

    } else if (resp.status != 200) {
        snprintf(err, err_size, "ECS credentials endpoint %s:%u answered "
                 "HTTP %ld", src->host, (unsigned) src->port, resp.status);

    } else {
        rc = vs_aws_creds_parse_json(creds, resp.body, resp.body_len, err,
                                     err_size);
    }

    OPENSSL_cleanse(token, sizeof(token));
    OPENSSL_cleanse(auth, sizeof(auth));
    if (resp.body != NULL) {
        OPENSSL_cleanse(resp.body, resp.body_len);
    }
    vs_http_resp_free(&resp);
    return rc;
}


int
vs_aws_provider_refresh(vs_aws_provider_t *p, time_t now, long timeout_ms,
    char *err, size_t err_size)
{
    vs_aws_creds_t  fresh;

    if (err != NULL && err_size > 0) {
        err[0] = '\0';
    }

    /* a refresh claimed by a should_refresh() call just before, or due */
    if ((p->pending && p->kind == VS_AWS_CREDS_ECS)
        || vs_aws_provider_should_refresh(p, now))
    {
        p->pending = 0;
        if (vs_aws_ecs_fetch(&p->ecs, &fresh, timeout_ms, err, err_size)
            == 0)
        {
            memcpy(&p->creds, &fresh, sizeof(fresh));
            p->have_creds = 1;
        }
        memset(&fresh, 0, sizeof(fresh));
    }

    if (vs_aws_provider_get(p, now) == NULL) {
        if (err != NULL && err_size > 0 && p->kind != VS_AWS_CREDS_ECS) {
            snprintf(err, err_size, "no AWS credentials configured");
        } else if (err != NULL && err_size > 0 && err[0] == '\0') {
            snprintf(err, err_size, "AWS credentials expired; refresh "
                     "pending");
        }
        return -1;
    }
    return 0;
}
