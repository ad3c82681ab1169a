
/*
 * ngx_http_vidstream_scope: see ngx_http_vidstream_scope.h.
 *
 * The payload was verified (or cached after it was); it is read again
 * with jansson only where a location has requirements.
 */

#include <ngx_config.h>
#include <ngx_core.h>

#include <jansson.h>

#include "ngx_http_vidstream_scope.h"


static ngx_uint_t ngx_http_vidstream_scope_listed(ngx_array_t *list,
    const char *value, size_t len);


char *
ngx_http_vidstream_scope_conf_set(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    char  *p = conf;

    ngx_str_t     *value, *s;
    ngx_uint_t     i;
    ngx_array_t  **list;

    list = (ngx_array_t **) (p + cmd->offset);

    if (*list == NGX_CONF_UNSET_PTR || *list == NULL) {
        *list = ngx_array_create(cf->pool, 4, sizeof(ngx_str_t));
        if (*list == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        if (value[i].len == 0 || ngx_strlchr(value[i].data,
                                             value[i].data + value[i].len,
                                             ' ')
                                 != NULL)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid value \"%V\": empty or with a space",
                               &value[i]);
            return NGX_CONF_ERROR;
        }

        s = ngx_array_push(*list);
        if (s == NULL) {
            return NGX_CONF_ERROR;
        }

        *s = value[i];
    }

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_vidstream_scope_check(ngx_str_t *payload, ngx_array_t *scopes,
    ngx_array_t *groups, const char **why)
{
    size_t         i, n;
    json_t        *root, *v, *g;
    ngx_int_t      rc;
    ngx_uint_t     found;
    const char    *s, *e, *last;
    json_error_t   err;

    if (scopes == NULL && groups == NULL) {
        return NGX_OK;
    }

    root = json_loadb((char *) payload->data, payload->len,
                      JSON_DECODE_INT_AS_REAL, &err);
    if (root == NULL) {
        *why = "unreadable claims";
        return NGX_DECLINED;
    }

    rc = NGX_OK;

    if (scopes) {
        found = 0;
        v = json_object_get(root, "scope");

        if (json_is_string(v)) {
            s = json_string_value(v);
            last = s + json_string_length(v);

            /* RFC 6749 3.3: scope-tokens separated by single spaces */

            while (s < last && !found) {
                e = memchr(s, ' ', last - s);
                if (e == NULL) {
                    e = last;
                }

                found = ngx_http_vidstream_scope_listed(scopes, s, e - s);
                s = e + 1;
            }
        }

        if (!found) {
            *why = "the token has none of the required scopes";
            rc = NGX_DECLINED;
            goto done;
        }
    }

    if (groups) {
        found = 0;
        v = json_object_get(root, "cognito:groups");

        if (json_is_array(v)) {
            n = json_array_size(v);

            for (i = 0; i < n && !found; i++) {
                g = json_array_get(v, i);

                if (json_is_string(g)) {
                    found = ngx_http_vidstream_scope_listed(groups,
                                                    json_string_value(g),
                                                    json_string_length(g));
                }
            }
        }

        if (!found) {
            *why = "the token is in none of the required groups";
            rc = NGX_DECLINED;
        }
    }

done:

    json_decref(root);

    return rc;
}


static ngx_uint_t
ngx_http_vidstream_scope_listed(ngx_array_t *list, const char *value,
    size_t len)
{
    ngx_str_t   *s;
    ngx_uint_t   i;

    s = list->elts;

    for (i = 0; i < list->nelts; i++) {
        if (s[i].len == len && ngx_memcmp(s[i].data, value, len) == 0) {
            return 1;
        }
    }

    return 0;
}
