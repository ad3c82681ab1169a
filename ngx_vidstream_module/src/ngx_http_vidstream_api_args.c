
/*
 * ngx_http_vidstream_api_args.c
 *
 * The request arguments of the videos API: the body of POST /videos read
 * and validated, the query strings of GET /videos and of a download.
 */


#include "ngx_http_vidstream_api.h"


static ngx_int_t ngx_http_vidstream_api_create_parse(ngx_http_request_t *r,
    ngx_http_vidstream_api_ctx_t *ctx, u_char *body, size_t len);
static ngx_uint_t ngx_http_vidstream_api_null_huge_numbers(u_char *body,
    size_t len);


/* POST /videos: the body has been read */

void
ngx_http_vidstream_api_create_body(ngx_http_request_t *r)
{
    u_char                        *body, *p;
    size_t                         len;
    ngx_int_t                      rc;
    ngx_buf_t                     *b;
    ngx_chain_t                   *cl;
    ngx_http_vidstream_api_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_vidstream_api_module);

    if (r->request_body == NULL) {
        rc = ngx_http_vidstream_send_error(r, NGX_HTTP_BAD_REQUEST,
                                           "invalid_request",
                                           "a JSON body is required");
        goto done;
    }

    len = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (b->in_file) {
            /* the buffer holds more than the limit: see postconfiguration */
            len = ctx->amcf->body_limit + 1;
            break;
        }

        len += b->last - b->pos;
    }

    if (len > ctx->amcf->body_limit) {
        rc = ngx_http_vidstream_send_error(r,
                                           NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                           "too_large",
                                           "the request body is too large");
        goto done;
    }

    body = ngx_pnalloc(r->pool, len + 1);
    if (body == NULL) {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        goto done;
    }

    p = body;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;
        p = ngx_cpymem(p, b->pos, b->last - b->pos);
    }

    rc = ngx_http_vidstream_api_create_parse(r, ctx, body, p - body);
    if (rc != NGX_OK) {
        rc = (rc == NGX_DECLINED) ? ctx->rc : rc;
        goto done;
    }

    /* the body reader's reference is ours now */

    ctx->state.create = NGX_HTTP_VIDSTREAM_CREATE_CREDS;

    if (ngx_http_vidstream_api_creds(ctx) == NGX_DONE) {
        return;
    }

    rc = ngx_http_vidstream_api_create_query(ctx);
    if (rc == NGX_OK) {
        return;
    }

done:

    ngx_http_finalize_request(r, rc);
}


static ngx_int_t
ngx_http_vidstream_api_create_parse(ngx_http_request_t *r,
    ngx_http_vidstream_api_ctx_t *ctx, u_char *body, size_t len)
{
    u_char        *p, *last;
    size_t         n;
    json_t        *root, *v;
    double         real;
    ngx_int_t      rc;
    ngx_uint_t     as_real, multipart;
    json_int_t     size;
    const char    *message;
    json_error_t   err;

    /*
     * Unknown fields are ignored whatever their value, but jansson refuses
     * a whole document with an integer beyond 64 bits anywhere in it: such
     * a document is read again with every integer as a real, and only the
     * known fields' types matter (size is checked for that below).  A
     * number beyond a double (1e400) is refused even then: those become
     * null, in place, and the document is read a third time.
     */

    as_real = 0;
    root = json_loadb((char *) body, len, JSON_REJECT_DUPLICATES, &err);

    if (root == NULL && json_error_code(&err) == json_error_numeric_overflow) {
        as_real = 1;
        root = json_loadb((char *) body, len,
                          JSON_REJECT_DUPLICATES|JSON_DECODE_INT_AS_REAL,
                          &err);

        if (root == NULL
            && json_error_code(&err) == json_error_numeric_overflow
            && ngx_http_vidstream_api_null_huge_numbers(body, len))
        {
            root = json_loadb((char *) body, len,
                              JSON_REJECT_DUPLICATES
                              |JSON_DECODE_INT_AS_REAL, &err);
        }
    }

    if (root == NULL) {
        return ngx_http_vidstream_api_bad(r, "the body is not valid JSON");
    }

    rc = NGX_OK;

    if (!json_is_object(root)) {
        rc = ngx_http_vidstream_api_bad(r, "the body must be a JSON object");
        goto done;
    }

    /* filename */

    v = json_object_get(root, "filename");
    if (!json_is_string(v)) {
        rc = ngx_http_vidstream_api_bad(r, "filename must be a string");
        goto done;
    }

    n = json_string_length(v);
    p = (u_char *) json_string_value(v);
    last = p + n;

    if (n == 0 || n > 255) {
        rc = ngx_http_vidstream_api_bad(r, "filename must be 1 to 255 bytes");
        goto done;
    }

    if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) {
        rc = ngx_http_vidstream_api_bad(r, "filename must not be . or ..");
        goto done;
    }

    for ( /* void */ ; p < last; p++) {
        /* C0, DEL and the C1 controls (UTF-8 C2 80..C2 9F) */
        if (*p < 0x20 || *p == 0x7f || *p == '/' || *p == '\\'
            || (*p == 0xc2 && p + 1 < last && p[1] >= 0x80 && p[1] <= 0x9f))
        {
            rc = ngx_http_vidstream_api_bad(r, "filename must not contain "
                                            "control characters, / or \\");
            goto done;
        }
    }

    ctx->filename.len = n;
    ctx->filename.data = ngx_pnalloc(r->pool, n);
    if (ctx->filename.data == NULL) {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        goto done;
    }

    ngx_memcpy(ctx->filename.data, json_string_value(v), n);

    /* content_type: video/<token> or application/octet-stream */

    v = json_object_get(root, "content_type");
    if (!json_is_string(v)) {
        rc = ngx_http_vidstream_api_bad(r, "content_type must be a string");
        goto done;
    }

    n = json_string_length(v);
    p = (u_char *) json_string_value(v);

    if (n == sizeof("application/octet-stream") - 1
        && ngx_strncasecmp(p, (u_char *) "application/octet-stream", n) == 0)
    {
        /* fine */

    } else if (n > sizeof("video/") - 1 && n <= 127
               && ngx_strncasecmp(p, (u_char *) "video/", 6) == 0)
    {
        for (last = p + n, p += 6; p < last; p++) {
            /* RFC 9110 token characters */
            if (!(isalnum(*p) || ngx_strchr("!#$%&'*+-.^_`|~", *p))
                || *p == '\0')
            {
                break;
            }
        }

        if (p != last) {
            rc = ngx_http_vidstream_api_reject(r,
                                     NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                     "unsupported_media_type",
                                     "content_type must be video/<subtype> "
                                     "or application/octet-stream, without "
                                     "parameters");
            goto done;
        }

    } else {
        rc = ngx_http_vidstream_api_reject(r, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                           "unsupported_media_type",
                                           "content_type must be video/* or "
                                           "application/octet-stream");
        goto done;
    }

    ctx->content_type.len = n;
    ctx->content_type.data = ngx_pnalloc(r->pool, n);
    if (ctx->content_type.data == NULL) {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        goto done;
    }

    ngx_memcpy(ctx->content_type.data, json_string_value(v), n);

    /* size */

    v = json_object_get(root, "size");

    if (as_real && json_is_real(v)) {
        /* an integer in the text, or a real: exact only up to 2^53 */
        real = json_real_value(v);

        if (real > 9007199254740992.0 || real < -9007199254740992.0
            || real != (double) (json_int_t) real)
        {
            rc = ngx_http_vidstream_api_bad(r, "size must be an integer");
            goto done;
        }

        size = (json_int_t) real;

    } else if (json_is_integer(v)) {
        size = json_integer_value(v);

    } else {
        rc = ngx_http_vidstream_api_bad(r, "size must be an integer");
        goto done;
    }

    if (size < 1) {
        rc = ngx_http_vidstream_api_bad(r, "size must be at least 1");
        goto done;
    }

    if (size > (json_int_t) ctx->amcf->max_upload_size) {
        rc = ngx_http_vidstream_api_reject(r,
                                           NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                           "too_large",
                                           "size exceeds the maximum upload "
                                           "size");
        goto done;
    }

    *ngx_sprintf(ctx->size, "%L", (int64_t) size) = '\0';

    /* upload: part of what makes two creates the same request */

    v = json_object_get(root, "upload");

    if (json_is_string(v)) {
        ctx->upload.len = json_string_length(v);
        ctx->upload.data = ngx_pnalloc(r->pool, ctx->upload.len + 1);
        if (ctx->upload.data == NULL) {
            rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
            goto done;
        }

        ngx_memcpy(ctx->upload.data, json_string_value(v), ctx->upload.len);

    } else if (v != NULL) {
        rc = ngx_http_vidstream_api_bad(r, "upload must be \"single\" or "
                                        "\"multipart\"");
        goto done;
    }

    ctx->size_n = size;

    if (ngx_http_vidstream_multipart_wanted(r, &ctx->upload, size, &multipart,
                                            &message)
        != NGX_OK)
    {
        rc = ngx_http_vidstream_api_bad(r, message);
        goto done;
    }

    ctx->multipart = multipart;

    if (ctx->idempotency_key.len
        && ngx_http_vidstream_idempotency_hash(&ctx->filename,
                                               &ctx->content_type, ctx->size,
                                               &ctx->upload,
                                               ctx->request_hash)
           != NGX_OK)
    {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        goto done;
    }

done:

    json_decref(root);

    return rc;
}


/*
 * Overwrites, in place, every number of the JSON text that a double cannot
 * hold (more than 300 integer digits, or a decimal exponent that takes it
 * past 10^300) with null and spaces: such a number has at least five
 * characters, null four.  Strings are skipped, escapes included.  Returns
 * how many numbers were replaced.  The text need not be valid JSON: the
 * parser still judges it.
 */

static ngx_uint_t
ngx_http_vidstream_api_null_huge_numbers(u_char *body, size_t len)
{
    u_char      *p, *last, *start;
    ngx_int_t    digits, exponent, sign;
    ngx_uint_t   n;

    n = 0;
    last = body + len;

    for (p = body; p < last; /* void */) {

        if (*p == '"') {
            for (p++; p < last && *p != '"'; p++) {
                if (*p == '\\') {
                    p++;
                }
            }

            p++;
            continue;
        }

        if (*p != '-' && (*p < '0' || *p > '9')) {
            p++;
            continue;
        }

        start = p;
        digits = 0;
        exponent = 0;

        if (*p == '-') {
            p++;
        }

        while (p < last && *p >= '0' && *p <= '9') {
            digits++;
            p++;
        }

        if (p < last && *p == '.') {
            for (p++; p < last && *p >= '0' && *p <= '9'; p++) {
                /* void */
            }
        }

        if (p < last && (*p == 'e' || *p == 'E')) {
            p++;
            sign = 1;

            if (p < last && (*p == '+' || *p == '-')) {
                sign = (*p == '-') ? -1 : 1;
                p++;
            }

            for ( /* void */ ; p < last && *p >= '0' && *p <= '9'; p++) {
                if (exponent < 100000) {
                    exponent = exponent * 10 + (*p - '0');
                }
            }

            exponent *= sign;
        }

        if (digits + exponent > 300 && p - start >= 4) {
            ngx_memset(start, ' ', p - start);
            ngx_memcpy(start, "null", 4);
            n++;
        }
    }

    return n;
}


ngx_int_t
ngx_http_vidstream_api_list_args(ngx_http_request_t *r,
    ngx_http_vidstream_api_ctx_t *ctx)
{
    u_char     *p, *bar;
    ngx_int_t   n;
    ngx_str_t   arg, decoded;

    ctx->limit = 20;

    if (ngx_http_arg(r, (u_char *) "limit", 5, &arg) == NGX_OK) {
        n = (arg.len && arg.len <= 3) ? ngx_atoi(arg.data, arg.len)
                                      : NGX_ERROR;
        if (n < 1 || n > 100) {
            return ngx_http_vidstream_api_bad(r, "limit must be an integer "
                                              "from 1 to 100");
        }

        ctx->limit = n;
    }

    *ngx_sprintf(ctx->limit_arg, "%ui", ctx->limit + 1) = '\0';

    if (ngx_http_arg(r, (u_char *) "cursor", 6, &arg) != NGX_OK
        || arg.len == 0)
    {
        return NGX_OK;
    }

    /* base64url("<created_at in µs since the epoch>|<id>") */

    if (arg.len > 128) {
        goto invalid;
    }

    decoded.data = ngx_pnalloc(r->pool, ngx_base64_decoded_length(arg.len));
    if (decoded.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_decode_base64url(&decoded, &arg) != NGX_OK) {
        goto invalid;
    }

    bar = ngx_strlchr(decoded.data, decoded.data + decoded.len, '|');
    if (bar == NULL || bar == decoded.data || bar - decoded.data > 18) {
        goto invalid;
    }

    for (p = decoded.data; p < bar; p++) {
        if (*p < '0' || *p > '9') {
            goto invalid;
        }
    }

    p = bar + 1;

    if (!vs_uuid_valid((char *) p, decoded.data + decoded.len - p)) {
        goto invalid;
    }

    *ngx_cpymem(ctx->cursor_ts, decoded.data, bar - decoded.data) = '\0';
    ngx_memcpy(ctx->cursor_id, p, NGX_HTTP_VIDSTREAM_UUID_LEN);
    ctx->has_cursor = 1;

    return NGX_OK;

invalid:

    return ngx_http_vidstream_api_bad(r, "invalid cursor");
}


ngx_int_t
ngx_http_vidstream_api_download_args(ngx_http_request_t *r,
    ngx_http_vidstream_api_ctx_t *ctx)
{
    ngx_str_t  arg;

    ctx->variant = NGX_HTTP_VIDSTREAM_VARIANT_MP4;

    if (ngx_http_arg(r, (u_char *) "variant", 7, &arg) == NGX_OK) {

        if (arg.len == 3 && ngx_strncmp(arg.data, "mp4", 3) == 0) {
            ctx->variant = NGX_HTTP_VIDSTREAM_VARIANT_MP4;

        } else if (arg.len == 9 && ngx_strncmp(arg.data, "thumbnail", 9) == 0)
        {
            ctx->variant = NGX_HTTP_VIDSTREAM_VARIANT_THUMBNAIL;

        } else if (arg.len == 3 && ngx_strncmp(arg.data, "hls", 3) == 0) {
            ctx->variant = NGX_HTTP_VIDSTREAM_VARIANT_HLS;

        } else {
            return ngx_http_vidstream_api_bad(r, "variant must be mp4, "
                                              "thumbnail or hls");
        }
    }

    if (ngx_http_arg(r, (u_char *) "redirect", 8, &arg) == NGX_OK) {

        if (arg.len == 1 && arg.data[0] == '1') {
            ctx->redirect = 1;

        } else if (!(arg.len == 1 && arg.data[0] == '0')) {
            return ngx_http_vidstream_api_bad(r, "redirect must be 0 or 1");
        }
    }

    return NGX_OK;
}
