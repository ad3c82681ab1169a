
/*
 * ngx_http_vidstream_api_cache.c: done videos in shared memory.
 *
 *     vidstream_video_cache zone=videos:10m valid=30s;
 *
 * What download and playback read of a video, its status, its outputs and
 * its filename, never changes once the video is done, until it is deleted.
 * So the row of a done video is kept here, keyed by the SHA-256 of its id
 * and its owner's sub (another owner's request misses, and PostgreSQL's
 * WHERE owner_sub = $2 answers it, 404), for at most `valid` seconds.
 *
 * A delete through this nginx removes the entry before the row is marked
 * and again once it is gone.  A delete through another nginx (or a row the
 * reconciler removes) is seen here within `valid`: until then a download
 * may presign a URL to an object that S3 then answers 404 for.  Nothing
 * else is served from the cache: get and list always read PostgreSQL.
 */


#include "ngx_http_vidstream_api.h"
#include "vs_util.h"


/* the value: the outputs byte, then the filename */
#define NGX_HTTP_VIDSTREAM_CACHE_MP4        0x01
#define NGX_HTTP_VIDSTREAM_CACHE_THUMBNAIL  0x02
#define NGX_HTTP_VIDSTREAM_CACHE_HLS        0x04


static ngx_int_t ngx_http_vidstream_api_cache_key(
    ngx_http_vidstream_api_ctx_t *ctx, u_char *key);


char *
ngx_http_vidstream_api_video_cache(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_vidstream_api_main_conf_t  *amcf = conf;

    char        *rv;
    time_t       valid;
    ngx_str_t   *value, s;
    ngx_uint_t   i;

    if (amcf->video_cache != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        if (cf->args->nelts > 2) {
            return "takes no parameters after \"off\"";
        }

        amcf->video_cache = NULL;
        return NGX_CONF_OK;
    }

    rv = ngx_http_vidstream_shm_cache_zone(cf, &value[1],
                                           "vidstream_video_cache",
                                           &ngx_http_vidstream_api_module,
                                           &amcf->video_cache);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "valid=", 6) != 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\"", &value[i]);
            return NGX_CONF_ERROR;
        }

        s.data = value[i].data + 6;
        s.len = value[i].len - 6;

        valid = ngx_parse_time(&s, 1);

        if (valid == (time_t) NGX_ERROR || valid < 1 || valid > 3600) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"valid\" must be from 1s to 1h in \"%V\"",
                               &value[i]);
            return NGX_CONF_ERROR;
        }

        amcf->video_cache_valid = valid;
    }

    return NGX_CONF_OK;
}


/*
 * NGX_OK with video filled (its filename in the request's pool) when the
 * done video is cached; NGX_DECLINED otherwise; NGX_ERROR: no memory.
 */

ngx_int_t
ngx_http_vidstream_api_cache_get(ngx_http_vidstream_api_ctx_t *ctx,
    ngx_http_vidstream_api_video_t *video)
{
    time_t     valid_until;
    ngx_int_t  rc;
    ngx_str_t  value;
    u_char     key[NGX_HTTP_VIDSTREAM_SHM_CACHE_KEY_LEN];

    if (ctx->amcf->video_cache == NULL
        || ngx_http_vidstream_api_cache_key(ctx, key) != NGX_OK)
    {
        return NGX_DECLINED;
    }

    rc = ngx_http_vidstream_shm_cache_get(ctx->amcf->video_cache, key,
                                          ngx_time(), ctx->request->pool,
                                          &value, &valid_until);
    if (rc != NGX_OK) {
        return rc;
    }

    if (value.len < 1) {
        return NGX_DECLINED;
    }

    video->status = "done";
    video->mp4 = (value.data[0] & NGX_HTTP_VIDSTREAM_CACHE_MP4) ? 1 : 0;
    video->thumbnail = (value.data[0] & NGX_HTTP_VIDSTREAM_CACHE_THUMBNAIL)
                       ? 1 : 0;
    video->hls = (value.data[0] & NGX_HTTP_VIDSTREAM_CACHE_HLS) ? 1 : 0;
    video->filename.data = value.data + 1;
    video->filename.len = value.len - 1;

    return NGX_OK;
}


/* keeps a done video; any other status is not kept */

void
ngx_http_vidstream_api_cache_put(ngx_http_vidstream_api_ctx_t *ctx,
    ngx_http_vidstream_api_video_t *video)
{
    time_t   now;
    u_char   key[NGX_HTTP_VIDSTREAM_SHM_CACHE_KEY_LEN];
    u_char   value[1 + NGX_HTTP_VIDSTREAM_FILENAME_MAX];

    if (ctx->amcf->video_cache == NULL
        || ngx_strcmp(video->status, "done") != 0
        || video->filename.len > NGX_HTTP_VIDSTREAM_FILENAME_MAX
        || ngx_http_vidstream_api_cache_key(ctx, key) != NGX_OK)
    {
        return;
    }

    value[0] = (video->mp4 ? NGX_HTTP_VIDSTREAM_CACHE_MP4 : 0)
               | (video->thumbnail ? NGX_HTTP_VIDSTREAM_CACHE_THUMBNAIL : 0)
               | (video->hls ? NGX_HTTP_VIDSTREAM_CACHE_HLS : 0);
    ngx_memcpy(value + 1, video->filename.data, video->filename.len);

    now = ngx_time();

    ngx_http_vidstream_shm_cache_put(ctx->amcf->video_cache, key, now,
                                     now + ctx->amcf->video_cache_valid,
                                     value, 1 + video->filename.len);
}


/* forgets ctx's video (a delete) */

void
ngx_http_vidstream_api_cache_remove(ngx_http_vidstream_api_ctx_t *ctx)
{
    u_char  key[NGX_HTTP_VIDSTREAM_SHM_CACHE_KEY_LEN];

    if (ctx->amcf->video_cache != NULL
        && ngx_http_vidstream_api_cache_key(ctx, key) == NGX_OK)
    {
        ngx_http_vidstream_shm_cache_remove(ctx->amcf->video_cache, key);
    }
}


/* SHA-256 of id, a NUL, sub: a fixed-size key for any sub */

static ngx_int_t
ngx_http_vidstream_api_cache_key(ngx_http_vidstream_api_ctx_t *ctx,
    u_char *key)
{
    const void  *data[2];
    size_t       len[2];

    data[0] = ctx->id;
    len[0] = NGX_HTTP_VIDSTREAM_UUID_LEN + 1;
    data[1] = ctx->sub.data;
    len[1] = ctx->sub.len;

    vs_sha256v(data, len, 2, key);

    return NGX_OK;
}
