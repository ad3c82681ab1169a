
/*
 * ngx_http_vidstream_idempotency: see ngx_http_vidstream_idempotency.h.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_vidstream_idempotency.h"
#include "vs_util.h"


ngx_int_t
ngx_http_vidstream_idempotency_key(ngx_http_request_t *r, ngx_str_t *key)
{
    u_char           *p, *last;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    ngx_str_null(key);

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len != sizeof("Idempotency-Key") - 1
            || ngx_strncasecmp(h[i].key.data, (u_char *) "Idempotency-Key",
                               sizeof("Idempotency-Key") - 1)
               != 0)
        {
            continue;
        }

        if (key->data) {
            return NGX_DECLINED;        /* two keys: which one is meant? */
        }

        *key = h[i].value;

        if (key->data == NULL) {
            ngx_str_set(key, "");
        }
    }

    if (key->data == NULL) {
        return NGX_OK;
    }

    if (key->len == 0 || key->len > NGX_HTTP_VIDSTREAM_IDEMPOTENCY_KEY_MAX) {
        return NGX_DECLINED;
    }

    last = key->data + key->len;

    for (p = key->data; p < last; p++) {
        if (*p < 0x20 || *p > 0x7e) {
            return NGX_DECLINED;
        }
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_vidstream_idempotency_hash(ngx_str_t *filename,
    ngx_str_t *content_type, u_char *size, ngx_str_t *upload, u_char *hex)
{
    size_t          len[8];
    const void     *data[8];
    unsigned char   digest[32];

    static const char  version[] = "vidstream create v1";

    data[0] = version;
    len[0] = sizeof(version);            /* with its NUL */
    data[1] = filename->data;
    len[1] = filename->len;
    data[2] = "";
    len[2] = 1;
    data[3] = content_type->data;
    len[3] = content_type->len;
    data[4] = "";
    len[4] = 1;
    data[5] = size;
    len[5] = ngx_strlen(size);
    data[6] = "";
    len[6] = 1;
    data[7] = upload->data;
    len[7] = upload->len;

    vs_sha256v(data, len, 8, digest);

    *ngx_hex_dump(hex, digest, sizeof(digest)) = '\0';

    return NGX_OK;
}
