/*
 * The blocking ECS credentials fetch, for the worker only (libcurl).  Kept
 * in its own object file so that the nginx module, which links the same
 * static library, never pulls it (or libcurl) in: the module fetches
 * through a non-blocking nginx request instead.
 */
#include "vs_creds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>


#define VS_ECS_BODY_MAX  (64 * 1024)

typedef struct {
    char    data[VS_ECS_BODY_MAX];
    size_t  len;
    int     too_long;
} vs_ecs_body_t;


static size_t
vs_ecs_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    vs_ecs_body_t  *body = userdata;
    size_t          n = size * nmemb;

    if (n > sizeof(body->data) - body->len) {
        body->too_long = 1;
        return 0;                           /* aborts the transfer */
    }
    memcpy(body->data + body->len, ptr, n);
    body->len += n;
    return n;
}


int
vs_aws_ecs_fetch(const vs_aws_ecs_source_t *src, vs_aws_creds_t *creds,
    long timeout_ms, char *err, size_t err_size)
{
    CURL               *curl;
    CURLcode            res;
    struct curl_slist  *headers = NULL;
    vs_ecs_body_t      *body = NULL;
    char                url[sizeof(src->host) + sizeof(src->path) + 32];
    char                auth[sizeof(src->authorization) + 32];
    char                token[sizeof(src->authorization)];
    const char         *token_value;
    size_t              token_len;
    long                status = 0;
    int                 rc = -1;

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

    curl = curl_easy_init();
    body = calloc(1, sizeof(*body));
    if (curl == NULL || body == NULL) {
        snprintf(err, err_size, "out of memory");
        goto done;
    }

    headers = curl_slist_append(headers, "Accept: application/json");
    if (token_len > 0) {
        snprintf(auth, sizeof(auth), "Authorization: %.*s", (int) token_len,
                 token_value);
        headers = curl_slist_append(headers, auth);
    }

    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, vs_ecs_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");

    res = curl_easy_perform(curl);
    if (res != CURLE_OK) {
        snprintf(err, err_size, "ECS credentials fetch from %s:%u failed: %s",
                 src->host, (unsigned) src->port,
                 body->too_long ? "response too long"
                                : curl_easy_strerror(res));
        goto done;
    }

    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) {
        snprintf(err, err_size, "ECS credentials endpoint %s:%u answered "
                 "HTTP %ld", src->host, (unsigned) src->port, status);
        goto done;
    }

    rc = vs_aws_creds_parse_json(creds, body->data, body->len, err,
                                 err_size);

done:

    memset(token, 0, sizeof(token));
    memset(auth, 0, sizeof(auth));
    if (body != NULL) {
        memset(body, 0, sizeof(*body));
        free(body);
    }
    curl_slist_free_all(headers);
    if (curl != NULL) {
        curl_easy_cleanup(curl);
    }
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
