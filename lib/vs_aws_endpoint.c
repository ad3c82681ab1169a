/*
 * AWS endpoints (vs_aws_endpoint_init(), the AWS_* environment) and S3's
 * addressing of a bucket and key: virtual-hosted or path-style, host,
 * path, URL.  The API is in vs_sigv4.h, with the signing that uses it.
 */

#include "vs_sigv4.h"
#include "vs_aws_buf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static void
vs_err(char *err, size_t err_size, const char *msg)
{
    if (err != NULL && err_size > 0) {
        snprintf(err, err_size, "%s", msg);
    }
}


static int
vs_token_ok(const char *s, size_t len, size_t max)
{
    size_t  i;

    if (s == NULL || len == 0 || len > max) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')
              || s[i] == '-'))
        {
            return 0;
        }
    }
    return 1;
}


static int
vs_is_ipv4(const char *h, size_t len)
{
    size_t    i, dots = 0, digits = 0;
    unsigned  v = 0;

    for (i = 0; i < len; i++) {
        if (h[i] == '.') {
            if (digits == 0) {
                return 0;
            }
            dots++;
            digits = 0;
            v = 0;
        } else if (h[i] >= '0' && h[i] <= '9') {
            v = v * 10 + (unsigned) (h[i] - '0');
            if (++digits > 3 || v > 255) {
                return 0;
            }
        } else {
            return 0;
        }
    }
    return dots == 3 && digits > 0;
}


int
vs_aws_endpoint_init(vs_aws_endpoint_t *ep,
    const char *service, size_t service_len,
    const char *region, size_t region_len,
    const char *url, size_t url_len,
    vs_aws_addressing_t addressing, char *err, size_t err_size)
{
    const char  *p, *end, *host, *host_end, *path;
    size_t       i, host_len;
    unsigned     port;
    int          n;

    memset(ep, 0, sizeof(*ep));

    if (!vs_token_ok(service, service_len, VS_AWS_SERVICE_MAX)) {
        vs_err(err, err_size, "invalid AWS service name");
        return -1;
    }
    if (!vs_token_ok(region, region_len, VS_AWS_REGION_MAX)) {
        vs_err(err, err_size, "invalid AWS region (expected e.g. "
               "\"eu-west-1\")");
        return -1;
    }
    if (addressing != VS_AWS_ADDR_AUTO && addressing != VS_AWS_ADDR_VIRTUAL
        && addressing != VS_AWS_ADDR_PATH)
    {
        vs_err(err, err_size, "invalid S3 addressing style");
        return -1;
    }

    memcpy(ep->service, service, service_len);
    ep->service_len = service_len;
    memcpy(ep->region, region, region_len);
    ep->region_len = region_len;
    ep->addressing = addressing;

    if (url == NULL || url_len == 0) {
        n = snprintf(ep->host, sizeof(ep->host), "%.*s.%.*s.amazonaws.com%s",
                     (int) service_len, service, (int) region_len, region,
                     (region_len > 3 && memcmp(region, "cn-", 3) == 0)
                     ? ".cn" : "");
        if (n < 0 || (size_t) n >= sizeof(ep->host)) {
            vs_err(err, err_size, "AWS endpoint host too long");
            return -1;
        }
        ep->host_len = (size_t) n;
        ep->https = 1;
        memcpy(ep->authority, ep->host, ep->host_len + 1);
        ep->authority_len = ep->host_len;
        return 0;
    }

    ep->custom = 1;
    p = url;
    end = url + url_len;

    if (url_len >= 8 && strncasecmp(p, "https://", 8) == 0) {
        ep->https = 1;
        p += 8;
    } else if (url_len >= 7 && strncasecmp(p, "http://", 7) == 0) {
        p += 7;
    } else {
        vs_err(err, err_size, "endpoint URL must start with http:// or "
               "https://");
        return -1;
    }

    host = p;
    if (p < end && *p == '[') {
        while (p < end && *p != ']') {
            if (!(isxdigit((unsigned char) *p) || *p == ':' || *p == '.'
                  || *p == '['))
            {
                vs_err(err, err_size, "endpoint URL: invalid IPv6 address");
                return -1;
            }
            p++;
        }
        if (p == end || p - host < 3) {
            vs_err(err, err_size, "endpoint URL: invalid IPv6 address");
            return -1;
        }
        p++;
        host_end = p;
        ep->host_is_ip = 1;

    } else {
        while (p < end && *p != ':' && *p != '/') {
            unsigned char c = (unsigned char) *p;

            if (c == '@') {
                vs_err(err, err_size, "endpoint URL must not contain "
                       "credentials");
                return -1;
            }
            if (!(isalnum(c) || c == '-' || c == '.' || c == '_')) {
                vs_err(err, err_size, "endpoint URL: invalid character "
                       "in host");
                return -1;
            }
            p++;
        }
        host_end = p;
        if (host_end == host || *host == '.' || *host == '-') {
            vs_err(err, err_size, "endpoint URL: missing or invalid host");
            return -1;
        }
        ep->host_is_ip = vs_is_ipv4(host, (size_t) (host_end - host));
    }

    host_len = (size_t) (host_end - host);
    if (host_len > VS_AWS_HOST_MAX) {
        vs_err(err, err_size, "endpoint URL: host too long");
        return -1;
    }
    for (i = 0; i < host_len; i++) {
        ep->host[i] = (char) tolower((unsigned char) host[i]);
    }
    ep->host[host_len] = '\0';
    ep->host_len = host_len;

    if (p < end && *p == ':') {
        p++;
        port = 0;
        n = 0;
        while (p < end && *p >= '0' && *p <= '9') {
            port = port * 10 + (unsigned) (*p - '0');
            if (++n > 5 || port > 65535) {
                break;
            }
            p++;
        }
        if (n == 0 || n > 5 || port == 0 || port > 65535
            || (p < end && *p != '/'))
        {
            vs_err(err, err_size, "endpoint URL: invalid port");
            return -1;
        }
        ep->port = (uint16_t) port;
    }

    path = p;
    while (p < end) {
        unsigned char c = (unsigned char) *p;

        if (!vs_unreserved[c]) {
            vs_err(err, err_size, c == '?' || c == '#'
                   ? "endpoint URL must not have a query or fragment"
                   : "endpoint URL: invalid character in path");
            return -1;
        }
        p++;
    }
    while (end > path && end[-1] == '/') {
        end--;
    }
    if ((size_t) (end - path) > VS_AWS_BASE_PATH_MAX) {
        vs_err(err, err_size, "endpoint URL: path too long");
        return -1;
    }
    memcpy(ep->base_path, path, (size_t) (end - path));
    ep->base_path_len = (size_t) (end - path);
    ep->base_path[ep->base_path_len] = '\0';

    /* the Host header drops the scheme's default port, as clients do */
    if (ep->port == 0 || (ep->https && ep->port == 443)
        || (!ep->https && ep->port == 80))
    {
        n = snprintf(ep->authority, sizeof(ep->authority), "%s", ep->host);
    } else {
        n = snprintf(ep->authority, sizeof(ep->authority), "%s:%u",
                     ep->host, (unsigned) ep->port);
    }
    ep->authority_len = (size_t) n;

    return 0;
}


const char *
vs_aws_endpoint_url_from_env(const char *service_env)
{
    char         name[64];
    const char  *v;

    if (service_env != NULL) {
        snprintf(name, sizeof(name), "AWS_ENDPOINT_URL_%s", service_env);
        v = getenv(name);
        if (v != NULL && *v != '\0') {
            return v;
        }
    }
    v = getenv("AWS_ENDPOINT_URL");
    return (v != NULL && *v != '\0') ? v : NULL;
}


const char *
vs_aws_region_from_env(void)
{
    const char  *v;

    v = getenv("AWS_REGION");
    if (v == NULL || *v == '\0') {
        v = getenv("AWS_DEFAULT_REGION");
    }
    return (v != NULL && *v != '\0') ? v : "us-east-1";
}


/* scheme://host[:port] as the URL carries it (explicit port kept). */
void
vs_buf_origin(vs_buf_t *b, const vs_aws_endpoint_t *ep, const char *bucket,
    size_t bucket_len)
{
    vs_buf_str(b, ep->https ? "https://" : "http://");
    if (bucket != NULL) {
        vs_buf_add(b, bucket, bucket_len);
        vs_buf_add(b, ".", 1);
    }
    vs_buf_add(b, ep->host, ep->host_len);
    if (ep->port) {
        vs_buf_add(b, ":", 1);
        vs_buf_uint(b, ep->port);
    }
}


ssize_t
vs_aws_endpoint_url(const vs_aws_endpoint_t *ep, char *out, size_t out_size)
{
    vs_buf_t  b;

    vs_buf_init(&b, out, out_size);
    vs_buf_origin(&b, ep, NULL, 0);
    vs_buf_add(&b, ep->base_path, ep->base_path_len);
    vs_buf_add(&b, "/", 1);
    return vs_buf_done(&b);
}


static int
vs_bucket_dns_ok(const char *bucket, size_t len)
{
    size_t  i;

    if (len < 3 || len > VS_AWS_BUCKET_MAX) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        char c = bucket[i];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
              || (c == '-' && i > 0 && i < len - 1)))
        {
            return 0;
        }
    }
    return 1;
}


int
vs_aws_s3_virtual(const vs_aws_endpoint_t *ep, const char *bucket,
    size_t bucket_len)
{
    switch (ep->addressing) {
    case VS_AWS_ADDR_PATH:
        return 0;
    case VS_AWS_ADDR_VIRTUAL:
        return !ep->host_is_ip && vs_bucket_dns_ok(bucket, bucket_len);
    default:
        return !ep->custom && vs_bucket_dns_ok(bucket, bucket_len);
    }
}


void
vs_buf_s3_host(vs_buf_t *b, const vs_aws_endpoint_t *ep, int virtual,
    const char *bucket, size_t bucket_len)
{
    if (virtual) {
        vs_buf_add(b, bucket, bucket_len);
        vs_buf_add(b, ".", 1);
    }
    vs_buf_add(b, ep->authority, ep->authority_len);
}


void
vs_buf_s3_path(vs_buf_t *b, const vs_aws_endpoint_t *ep, int virtual,
    const char *bucket, size_t bucket_len, const char *key, size_t key_len)
{
    vs_buf_add(b, ep->base_path, ep->base_path_len);
    if (!virtual) {
        vs_buf_add(b, "/", 1);
        vs_buf_encode(b, bucket, bucket_len, 0);
        if (key_len == 0) {
            return;
        }
    }
    vs_buf_add(b, "/", 1);
    vs_buf_encode(b, key, key_len, 1);
}


ssize_t
vs_aws_s3_host(const vs_aws_endpoint_t *ep, const char *bucket,
    size_t bucket_len, char *out, size_t out_size)
{
    vs_buf_t  b;

    vs_buf_init(&b, out, out_size);
    vs_buf_s3_host(&b, ep, vs_aws_s3_virtual(ep, bucket, bucket_len), bucket,
                   bucket_len);
    return vs_buf_done(&b);
}


ssize_t
vs_aws_s3_path(const vs_aws_endpoint_t *ep, const char *bucket,
    size_t bucket_len, const char *key, size_t key_len, char *out,
    size_t out_size)
{
    vs_buf_t  b;

    if (bucket_len == 0 || bucket_len > VS_AWS_BUCKET_MAX
        || key_len > VS_AWS_KEY_MAX)
    {
        if (out_size) {
            out[0] = '\0';
        }
        return -1;
    }

    vs_buf_init(&b, out, out_size);
    vs_buf_s3_path(&b, ep, vs_aws_s3_virtual(ep, bucket, bucket_len), bucket,
                   bucket_len, key, key_len);
    return vs_buf_done(&b);
}


ssize_t
vs_aws_s3_url(const vs_aws_endpoint_t *ep, const char *bucket,
    size_t bucket_len, const char *key, size_t key_len, char *out,
    size_t out_size)
{
    vs_buf_t  b;
    int       virtual;

    if (bucket_len == 0 || bucket_len > VS_AWS_BUCKET_MAX
        || key_len > VS_AWS_KEY_MAX)
    {
        if (out_size) {
            out[0] = '\0';
        }
        return -1;
    }

    virtual = vs_aws_s3_virtual(ep, bucket, bucket_len);
    vs_buf_init(&b, out, out_size);
    vs_buf_origin(&b, ep, virtual ? bucket : NULL, bucket_len);
    vs_buf_s3_path(&b, ep, virtual, bucket, bucket_len, key, key_len);
    return vs_buf_done(&b);
}
