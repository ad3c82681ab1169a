
/*
 * ngx_http_vidstream_jwt_cache: see ngx_http_vidstream_jwt_cache.h.  The
 * zone is an ngx_http_vidstream_shm_cache; an entry's value is the header
 * below, then sub, payload, the token's signed part and kid (last: the
 * copy a lookup makes ends with a NUL, which ends the kid).  It is valid
 * until exp + leeway (the leeway is part of the policy, hence of the key).
 */

#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_vidstream_jwt.h"
#include "ngx_http_vidstream_jwt_cache.h"
#include "ngx_http_vidstream_shm_cache.h"
#include "vs_util.h"


typedef struct {
    u_char   thumb[32];
    time_t   exp;
    u_short  sub_len;
    u_short  kid_len;
    u_short  payload_len;
    u_short  signed_len;
} ngx_http_vidstream_jwt_cache_value_t;


char *
ngx_http_vidstream_jwt_cache_conf_set(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    char  *base = conf;

    ngx_str_t        *value;
    ngx_shm_zone_t  **zone;

    zone = (ngx_shm_zone_t **) (base + cmd->offset);

    if (*zone != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        *zone = NULL;
        return NGX_CONF_OK;
    }

    return ngx_http_vidstream_shm_cache_zone(cf, &value[1],
                                             "vidstream_jwt_cache", cmd->post,
                                             zone);
}


ngx_int_t
ngx_http_vidstream_jwt_cache_digest(u_char *policy, ngx_str_t *token,
    size_t *signed_len, u_char *key)
{
    u_char      *dot;
    size_t       len[2];
    const void  *data[2];

    if (token->len > NGX_HTTP_VIDSTREAM_JWT_MAX_LEN) {
        return NGX_DECLINED;
    }

    /* memchr(), not ngx_strlchr(): a byte loop over 1 KiB shows here */

    dot = memchr(token->data, '.', token->len);
    if (dot == NULL) {
        return NGX_DECLINED;
    }

    dot = memchr(dot + 1, '.', token->len - (dot + 1 - token->data));
    if (dot == NULL) {
        return NGX_DECLINED;
    }

    *signed_len = dot - token->data;

    data[0] = policy;
    len[0] = NGX_HTTP_VIDSTREAM_JWT_DIGEST_LEN;
    data[1] = dot;
    len[1] = token->len - *signed_len;

    vs_sha256v(data, len, 2, key);

    return NGX_OK;
}


ngx_int_t
ngx_http_vidstream_jwt_cache_get(ngx_shm_zone_t *shm_zone, u_char *digest,
    ngx_str_t *signed_part, time_t now, time_t leeway, ngx_pool_t *pool,
    ngx_http_vidstream_jwt_cached_t *entry)
{
    u_char                                *p;
    time_t                                 valid_until;
    ngx_int_t                              rc;
    ngx_str_t                              value;
    ngx_http_vidstream_jwt_cache_value_t   v;

    rc = ngx_http_vidstream_shm_cache_get(shm_zone, digest, now, pool,
                                          &value, &valid_until);
    if (rc != NGX_OK) {
        return rc;
    }

    if (value.len < sizeof(v)) {
        return NGX_DECLINED;
    }

    ngx_memcpy(&v, value.data, sizeof(v));

    if (v.exp + leeway <= now
        || value.len != sizeof(v) + v.sub_len + v.payload_len + v.kid_len
                        + v.signed_len)
    {
        return NGX_DECLINED;
    }

    /* sub, payload, the signed part and kid follow the header; the copy
     * ends with a NUL */

    p = value.data + sizeof(v);

    /* the key covers the signature only: the rest must be the very bytes
     * that were verified (another header or payload under a known
     * signature is a miss, and then a bad signature) */

    if (v.signed_len != signed_part->len
        || ngx_memcmp(p + v.sub_len + v.payload_len, signed_part->data,
                      signed_part->len) != 0)
    {
        return NGX_DECLINED;
    }

    entry->exp = v.exp;
    ngx_memcpy(entry->thumb, v.thumb, sizeof(v.thumb));
    entry->sub.data = p;
    entry->sub.len = v.sub_len;
    entry->payload.data = p + v.sub_len;
    entry->payload.len = v.payload_len;
    entry->kid.data = p + v.sub_len + v.payload_len + v.signed_len;
    entry->kid.len = v.kid_len;

    return NGX_OK;
}


void
ngx_http_vidstream_jwt_cache_put(ngx_shm_zone_t *shm_zone, u_char *digest,
    ngx_str_t *signed_part, time_t now, time_t leeway,
    ngx_http_vidstream_jwt_cached_t *entry)
{
    u_char                                *p;
    ngx_http_vidstream_jwt_cache_value_t   v;
    u_char                                 buf[NGX_HTTP_VIDSTREAM_SHM_CACHE_MAX];

    if (entry->payload.len > NGX_HTTP_VIDSTREAM_JWT_CACHE_MAX_PAYLOAD
        || signed_part->len > 0xffff
        || sizeof(v) + entry->sub.len + entry->kid.len + entry->payload.len
           + signed_part->len > sizeof(buf))
    {
        return;
    }

    ngx_memzero(&v, sizeof(v));
    ngx_memcpy(v.thumb, entry->thumb, sizeof(v.thumb));
    v.exp = entry->exp;
    v.sub_len = (u_short) entry->sub.len;
    v.kid_len = (u_short) entry->kid.len;
    v.payload_len = (u_short) entry->payload.len;
    v.signed_len = (u_short) signed_part->len;

    p = ngx_cpymem(buf, &v, sizeof(v));
    p = ngx_cpymem(p, entry->sub.data, entry->sub.len);
    p = ngx_cpymem(p, entry->payload.data, entry->payload.len);
    p = ngx_cpymem(p, signed_part->data, signed_part->len);
    p = ngx_cpymem(p, entry->kid.data, entry->kid.len);

    ngx_http_vidstream_shm_cache_put(shm_zone, digest, now,
                                     entry->exp + leeway, buf, p - buf);
}
