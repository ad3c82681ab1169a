/*
 * AWS credentials and the pure parts of their providers (see vs_creds.h).
 * No network I/O here: the module fetches ECS credentials through nginx,
 * the worker through worker/creds_fetch.c.
 */
#include "vs_creds.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>


static void
vs_creds_err(char *err, size_t err_size, const char *fmt, const char *arg)
{
    if (err != NULL && err_size > 0) {
        snprintf(err, err_size, fmt, arg);
    }
}


/* Printable ASCII without spaces: what AWS keys, secrets and tokens are. */
static int
vs_creds_field_ok(const char *s, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if ((unsigned char) s[i] <= 0x20 || (unsigned char) s[i] >= 0x7f) {
            return 0;
        }
    }
    return 1;
}


int
vs_aws_creds_set(vs_aws_creds_t *creds,
    const char *access_key_id, size_t access_key_id_len,
    const char *secret, size_t secret_len,
    const char *token, size_t token_len,
    time_t expiration, char *err, size_t err_size)
{
    if (access_key_id == NULL || access_key_id_len == 0) {
        vs_creds_err(err, err_size, "%s", "empty AWS access key id");
        return -1;
    }
    if (secret == NULL || secret_len == 0) {
        vs_creds_err(err, err_size, "%s", "empty AWS secret access key");
        return -1;
    }
    if (access_key_id_len > VS_AWS_AKID_MAX
        || !vs_creds_field_ok(access_key_id, access_key_id_len))
    {
        vs_creds_err(err, err_size, "%s", "invalid AWS access key id");
        return -1;
    }
    if (secret_len > VS_AWS_SECRET_MAX
        || !vs_creds_field_ok(secret, secret_len))
    {
        vs_creds_err(err, err_size, "%s", "invalid AWS secret access key");
        return -1;
    }
    if ((token == NULL && token_len != 0) || token_len > VS_AWS_TOKEN_MAX
        || (token_len && !vs_creds_field_ok(token, token_len)))
    {
        vs_creds_err(err, err_size, "%s", "invalid AWS session token");
        return -1;
    }

    memset(creds, 0, sizeof(*creds));
    memcpy(creds->access_key_id, access_key_id, access_key_id_len);
    creds->access_key_id_len = access_key_id_len;
    memcpy(creds->secret_access_key, secret, secret_len);
    creds->secret_access_key_len = secret_len;
    if (token_len) {
        memcpy(creds->session_token, token, token_len);
    }
    creds->session_token_len = token_len;
    creds->expiration = expiration;
    return 0;
}


int
vs_aws_creds_from_env(vs_aws_creds_t *creds, char *err, size_t err_size)
{
    const char  *akid, *secret, *token;

    akid = getenv("AWS_ACCESS_KEY_ID");
    secret = getenv("AWS_SECRET_ACCESS_KEY");
    token = getenv("AWS_SESSION_TOKEN");

    if (akid != NULL && *akid == '\0') {
        akid = NULL;
    }
    if (secret != NULL && *secret == '\0') {
        secret = NULL;
    }
    if (akid == NULL && secret == NULL) {
        return 0;
    }
    if (akid == NULL || secret == NULL) {
        vs_creds_err(err, err_size, "%s", akid == NULL
                     ? "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID "
                       "is not"
                     : "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY "
                       "is not");
        return -1;
    }

    return vs_aws_creds_set(creds, akid, strlen(akid), secret, strlen(secret),
                            token, token ? strlen(token) : 0, 0, err,
                            err_size) == 0 ? 1 : -1;
}


static int
vs_digits(const char *p, int n, int *out)
{
    int  i, v = 0;

    for (i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return -1;
        }
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return 0;
}


/* RFC 3339: YYYY-MM-DDTHH:MM:SS[.fff](Z|+HH:MM|-HH:MM) -> time_t. */
static int
vs_parse_rfc3339(const char *s, size_t len, time_t *out)
{
    struct tm  tm;
    int        y, mo, d, h, mi, sec, oh, om, sign;
    size_t     i;
    time_t     t;

    if (len < 20 || s[4] != '-' || s[7] != '-'
        || (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
        || s[13] != ':' || s[16] != ':'
        || vs_digits(s, 4, &y) || vs_digits(s + 5, 2, &mo)
        || vs_digits(s + 8, 2, &d) || vs_digits(s + 11, 2, &h)
        || vs_digits(s + 14, 2, &mi) || vs_digits(s + 17, 2, &sec))
    {
        return -1;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59
        || sec > 60 || y < 1970)
    {
        return -1;
    }

    i = 19;
    if (i < len && s[i] == '.') {
        i++;
        if (i >= len || s[i] < '0' || s[i] > '9') {
            return -1;
        }
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            i++;
        }
    }

    oh = om = 0;
    sign = 1;
    if (i + 1 == len && (s[i] == 'Z' || s[i] == 'z')) {
        /* UTC */
    } else if (i + 6 == len && (s[i] == '+' || s[i] == '-')
               && s[i + 3] == ':' && vs_digits(s + i + 1, 2, &oh) == 0
               && vs_digits(s + i + 4, 2, &om) == 0 && oh < 24 && om < 60)
    {
        sign = s[i] == '-' ? -1 : 1;
    } else {
        return -1;
    }

    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    t = timegm(&tm);
    if (t == (time_t) -1) {
        return -1;
    }
    *out = t - sign * (oh * 3600 + om * 60);
    return 0;
}


int
vs_aws_creds_parse_json(vs_aws_creds_t *creds, const char *body,
    size_t body_len, char *err, size_t err_size)
{
    json_t          *root, *akid, *secret, *token, *expiration;
    json_error_t     jerr;
    vs_aws_creds_t   tmp;
    time_t           exp = 0;
    int              rc = -1;

    if (body == NULL || body_len == 0) {
        vs_creds_err(err, err_size, "%s", "empty credentials response");
        return -1;
    }

    root = json_loadb(body, body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL || !json_is_object(root)) {
        vs_creds_err(err, err_size, "%s", "credentials response is not a "
                     "JSON object");
        goto done;
    }

    akid = json_object_get(root, "AccessKeyId");
    secret = json_object_get(root, "SecretAccessKey");
    token = json_object_get(root, "Token");
    expiration = json_object_get(root, "Expiration");

    if (!json_is_string(akid) || !json_is_string(secret)) {
        vs_creds_err(err, err_size, "%s", "credentials response lacks "
                     "AccessKeyId or SecretAccessKey");
        goto done;
    }
    if (token != NULL && !json_is_null(token) && !json_is_string(token)) {
        vs_creds_err(err, err_size, "%s", "credentials response: Token is "
                     "not a string");
        goto done;
    }
    if (expiration != NULL && !json_is_null(expiration)) {
        if (!json_is_string(expiration)
            || vs_parse_rfc3339(json_string_value(expiration),
                                json_string_length(expiration), &exp) != 0)
        {
            vs_creds_err(err, err_size, "%s", "credentials response: "
                         "Expiration is not an RFC 3339 time");
            goto done;
        }
    }

    if (vs_aws_creds_set(&tmp, json_string_value(akid),
                         json_string_length(akid), json_string_value(secret),
                         json_string_length(secret),
                         json_is_string(token) ? json_string_value(token)
                                               : NULL,
                         json_is_string(token) ? json_string_length(token)
                                               : 0,
                         exp, err, err_size) != 0)
    {
        goto done;
    }

    memcpy(creds, &tmp, sizeof(tmp));
    rc = 0;

done:

    memset(&tmp, 0, sizeof(tmp));
    if (root != NULL) {
        json_decref(root);
    }
    return rc;
}


int
vs_aws_creds_expiring(const vs_aws_creds_t *creds, time_t now, time_t ahead)
{
    return creds->expiration != 0 && now >= creds->expiration - ahead;
}


/* ---- ECS container credentials ----------------------------------------- */

static int
vs_ecs_http_host_allowed(const char *host, size_t len)
{
    static const char  *allowed[] = {
        "localhost", "169.254.170.2", "169.254.170.23", "[::1]",
        "[fd00:ec2::23]"
    };
    size_t              i;

    for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
        if (strlen(allowed[i]) == len && strncasecmp(allowed[i], host, len)
            == 0)
        {
            return 1;
        }
    }

    /* 127.0.0.0/8 */
    if (len >= 7 && len <= 15 && memcmp(host, "127.", 4) == 0) {
        int     dots = 0;
        size_t  j;

        for (j = 0; j < len; j++) {
            if (host[j] == '.') {
                dots++;
            } else if (host[j] < '0' || host[j] > '9') {
                return 0;
            }
        }
        return dots == 3;
    }
    return 0;
}


static int
vs_uri_path_ok(const char *p, size_t len)
{
    size_t  i;

    if (len == 0 || p[0] != '/') {
        return 0;
    }
    for (i = 0; i < len; i++) {
        if ((unsigned char) p[i] <= 0x20 || (unsigned char) p[i] >= 0x7f
            || p[i] == '#')
        {
            return 0;
        }
    }
    return 1;
}


static int
vs_ecs_parse_full(vs_aws_ecs_source_t *src, const char *url, size_t len,
    char *err, size_t err_size)
{
    const char  *p, *end, *host;
    unsigned     port = 0;
    int          n = 0;

    p = url;
    end = url + len;

    if (len >= 8 && strncasecmp(p, "https://", 8) == 0) {
        src->https = 1;
        p += 8;
    } else if (len >= 7 && strncasecmp(p, "http://", 7) == 0) {
        p += 7;
    } else {
        vs_creds_err(err, err_size, "%s", "AWS_CONTAINER_CREDENTIALS_FULL_URI "
                     "must be an http:// or https:// URL");
        return -1;
    }

    host = p;
    if (p < end && *p == '[') {
        while (p < end && *p != ']') {
            if (!(isxdigit((unsigned char) *p) || *p == ':' || *p == '[')) {
                goto bad_host;
            }
            p++;
        }
        if (p == end) {
            goto bad_host;
        }
        p++;
    } else {
        while (p < end && *p != ':' && *p != '/') {
            if (!(isalnum((unsigned char) *p) || *p == '-' || *p == '.')) {
                goto bad_host;
            }
            p++;
        }
    }
    if (p == host || (size_t) (p - host) >= sizeof(src->host)) {
        goto bad_host;
    }
    memcpy(src->host, host, (size_t) (p - host));
    src->host_len = (size_t) (p - host);
    src->host[src->host_len] = '\0';

    if (p < end && *p == ':') {
        p++;
        while (p < end && *p >= '0' && *p <= '9' && n < 6) {
            port = port * 10 + (unsigned) (*p++ - '0');
            n++;
        }
        if (n == 0 || n > 5 || port == 0 || port > 65535) {
            vs_creds_err(err, err_size, "%s", "AWS_CONTAINER_CREDENTIALS_"
                         "FULL_URI: invalid port");
            return -1;
        }
    }
    src->port = (uint16_t) (port ? port : (src->https ? 443 : 80));

    if (p == end) {
        p = "/";
        end = p + 1;
    }
    if (!vs_uri_path_ok(p, (size_t) (end - p))
        || (size_t) (end - p) >= sizeof(src->path))
    {
        vs_creds_err(err, err_size, "%s", "AWS_CONTAINER_CREDENTIALS_FULL_URI:"
                     " invalid path");
        return -1;
    }
    memcpy(src->path, p, (size_t) (end - p));
    src->path_len = (size_t) (end - p);
    src->path[src->path_len] = '\0';

    if (!src->https && !vs_ecs_http_host_allowed(src->host, src->host_len)) {
        vs_creds_err(err, err_size, "%s", "AWS_CONTAINER_CREDENTIALS_FULL_URI:"
                     " plain http is only allowed to a loopback address or "
                     "the ECS/EKS credentials hosts");
        return -1;
    }
    return 0;

bad_host:

    vs_creds_err(err, err_size, "%s", "AWS_CONTAINER_CREDENTIALS_FULL_URI: "
                 "invalid host");
    return -1;
}


int
vs_aws_ecs_source_init(vs_aws_ecs_source_t *src,
    const char *relative_uri, size_t relative_uri_len,
    const char *full_uri, size_t full_uri_len,
    const char *authorization, size_t authorization_len,
    char *err, size_t err_size)
{
    size_t  i;

    memset(src, 0, sizeof(*src));

    if (relative_uri == NULL) {
        relative_uri_len = 0;
    }
    if (full_uri == NULL) {
        full_uri_len = 0;
    }
    if (relative_uri_len == 0 && full_uri_len == 0) {
        return 0;
    }

    if (authorization != NULL && authorization_len > 0) {
        if (authorization_len >= sizeof(src->authorization)) {
            vs_creds_err(err, err_size, "%s", "AWS_CONTAINER_AUTHORIZATION_"
                         "TOKEN too long");
            return -1;
        }
        for (i = 0; i < authorization_len; i++) {
            unsigned char c = (unsigned char) authorization[i];

            if (c < 0x20 || c >= 0x7f) {
                vs_creds_err(err, err_size, "%s", "AWS_CONTAINER_"
                             "AUTHORIZATION_TOKEN has invalid characters");
                return -1;
            }
        }
        memcpy(src->authorization, authorization, authorization_len);
        src->authorization_len = authorization_len;
    }

    if (relative_uri_len > 0) {
        if (!vs_uri_path_ok(relative_uri, relative_uri_len)
            || relative_uri_len >= sizeof(src->path))
        {
            vs_creds_err(err, err_size, "%s", "AWS_CONTAINER_CREDENTIALS_"
                         "RELATIVE_URI must be a path starting with /");
            return -1;
        }
        memcpy(src->host, VS_AWS_ECS_HOST, sizeof(VS_AWS_ECS_HOST));
        src->host_len = sizeof(VS_AWS_ECS_HOST) - 1;
        src->port = 80;
        memcpy(src->path, relative_uri, relative_uri_len);
        src->path_len = relative_uri_len;
        src->path[src->path_len] = '\0';
        return 1;
    }

    return vs_ecs_parse_full(src, full_uri, full_uri_len, err, err_size) == 0
           ? 1 : -1;
}


int
vs_aws_ecs_read_token_file(const char *path, char *out, size_t out_size,
    size_t *out_len)
{
    FILE    *f;
    size_t   n;

    f = fopen(path, "re");
    if (f == NULL) {
        return -1;
    }
    n = fread(out, 1, out_size, f);
    if (ferror(f) || n == out_size) {
        fclose(f);
        return -1;                  /* unreadable, or too long */
    }
    fclose(f);
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'
                     || out[n - 1] == ' ' || out[n - 1] == '\t'))
    {
        n--;
    }
    out[n] = '\0';
    *out_len = n;
    return 0;
}


int
vs_aws_ecs_source_from_env(vs_aws_ecs_source_t *src, char *err,
    size_t err_size)
{
    const char  *rel, *full, *auth, *file;
    char         token[sizeof(src->authorization)];
    size_t       token_len = 0;
    int          rc;

    rel = getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    full = getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    auth = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    file = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");

    if (file != NULL && *file != '\0') {
        if (strlen(file) >= sizeof(src->token_file)
            || vs_aws_ecs_read_token_file(file, token, sizeof(token),
                                          &token_len) != 0)
        {
            vs_creds_err(err, err_size, "cannot read "
                         "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE %s", file);
            return -1;
        }
        auth = token;
    }

    rc = vs_aws_ecs_source_init(src, rel, rel ? strlen(rel) : 0, full,
                                full ? strlen(full) : 0, auth,
                                auth == token ? token_len
                                              : (auth ? strlen(auth) : 0),
                                err, err_size);
    if (rc == 1 && file != NULL && *file != '\0') {
        src->token_file_len = strlen(file);
        memcpy(src->token_file, file, src->token_file_len + 1);
    }
    memset(token, 0, sizeof(token));
    return rc;
}


int
vs_aws_ecs_request(const vs_aws_ecs_source_t *src, char *out,
    size_t out_size)
{
    int  n;

    if ((src->https && src->port == 443) || (!src->https && src->port == 80))
    {
        n = snprintf(out, out_size, "GET %s HTTP/1.1\r\nHost: %s\r\n",
                     src->path, src->host);
    } else {
        n = snprintf(out, out_size, "GET %s HTTP/1.1\r\nHost: %s:%u\r\n",
                     src->path, src->host, (unsigned) src->port);
    }
    if (n < 0 || (size_t) n >= out_size) {
        return -1;
    }

    if (src->authorization_len) {
        int  m = snprintf(out + n, out_size - (size_t) n,
                          "Authorization: %s\r\n", src->authorization);
        if (m < 0 || (size_t) m >= out_size - (size_t) n) {
            return -1;
        }
        n += m;
    }

    {
        static const char  tail[] = "Accept: application/json\r\n"
                                    "Connection: close\r\n\r\n";
        if (sizeof(tail) > out_size - (size_t) n) {
            return -1;
        }
        memcpy(out + n, tail, sizeof(tail));
        n += (int) sizeof(tail) - 1;
    }
    return n;
}


/* ---- the provider chain ------------------------------------------------ */

int
vs_aws_provider_init(vs_aws_provider_t *p,
    const vs_aws_creds_t *static_creds, char *err, size_t err_size)
{
    int  rc;

    memset(p, 0, sizeof(*p));

    if (static_creds != NULL) {
        if (static_creds->access_key_id_len == 0
            || static_creds->secret_access_key_len == 0)
        {
            vs_creds_err(err, err_size, "%s", "static AWS credentials are "
                         "incomplete");
            return -1;
        }
        memcpy(&p->creds, static_creds, sizeof(p->creds));
        p->have_creds = 1;
        p->kind = VS_AWS_CREDS_STATIC;
        return p->kind;
    }

    rc = vs_aws_creds_from_env(&p->creds, err, err_size);
    if (rc < 0) {
        return -1;
    }
    if (rc == 1) {
        p->have_creds = 1;
        p->kind = VS_AWS_CREDS_ENV;
        return p->kind;
    }

    rc = vs_aws_ecs_source_from_env(&p->ecs, err, err_size);
    if (rc < 0) {
        return -1;
    }
    if (rc == 1) {
        p->kind = VS_AWS_CREDS_ECS;
        return p->kind;
    }

    p->kind = VS_AWS_CREDS_NONE;
    return p->kind;
}


const vs_aws_creds_t *
vs_aws_provider_get(const vs_aws_provider_t *p, time_t now)
{
    if (!p->have_creds) {
        return NULL;
    }
    if (p->creds.expiration != 0 && now >= p->creds.expiration) {
        return NULL;
    }
    return &p->creds;
}


int
vs_aws_provider_should_refresh(vs_aws_provider_t *p, time_t now)
{
    if (p->kind != VS_AWS_CREDS_ECS) {
        return 0;
    }
    if (p->have_creds
        && !vs_aws_creds_expiring(&p->creds, now, VS_AWS_CREDS_REFRESH_AHEAD))
    {
        return 0;
    }
    if (p->attempted && now >= p->last_attempt
        && now - p->last_attempt < VS_AWS_CREDS_RETRY_AFTER)
    {
        return 0;
    }
    p->attempted = 1;
    p->pending = 1;
    p->last_attempt = now;
    return 1;
}


int
vs_aws_provider_update(vs_aws_provider_t *p, const char *body,
    size_t body_len, char *err, size_t err_size)
{
    if (vs_aws_creds_parse_json(&p->creds, body, body_len, err, err_size)
        != 0)
    {
        return -1;
    }
    p->have_creds = 1;
    p->pending = 0;
    return 0;
}
