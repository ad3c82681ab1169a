
/*
 * ngx_http_vidstream_jwt_cache: see ngx_http_vidstream_jwt_cache.h.
 */

#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_vidstream_jwt.h"
#include "ngx_http_vidstream_jwt_cache.h"


typedef struct {
    ngx_rbtree_node_t  node;        /* node.key: the digest's first bytes */
    ngx_queue_t        queue;       /* LRU: most recently used at head */
    u_char             digest[NGX_HTTP_VIDSTREAM_JWT_DIGEST_LEN];
    u_char             thumb[32];
    time_t             exp;
    u_short            sub_len;
    u_short            kid_len;
    u_short            payload_len;
    u_char             data[1];     /* sub, payload, kid */
} ngx_http_vidstream_jwt_cache_node_t;


typedef struct {
    ngx_rbtree_t       rbtree;
    ngx_rbtree_node_t  sentinel;
    ngx_queue_t        queue;
} ngx_http_vidstream_jwt_cache_sh_t;


typedef struct {
    ngx_http_vidstream_jwt_cache_sh_t  *sh;
    ngx_slab_pool_t                    *shpool;
} ngx_http_vidstream_jwt_cache_ctx_t;


static ngx_shm_zone_t *ngx_http_vidstream_jwt_cache_add(ngx_conf_t *cf,
    ngx_str_t *name, size_t size, void *tag);
static ngx_int_t ngx_http_vidstream_jwt_cache_init_zone(
    ngx_shm_zone_t *shm_zone, void *data);
static void ngx_http_vidstream_jwt_cache_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static ngx_http_vidstream_jwt_cache_node_t *
    ngx_http_vidstream_jwt_cache_lookup(ngx_http_vidstream_jwt_cache_ctx_t *ctx,
    u_char *digest);
static void ngx_http_vidstream_jwt_cache_delete(
    ngx_http_vidstream_jwt_cache_ctx_t *ctx,
    ngx_http_vidstream_jwt_cache_node_t *cn);
static void ngx_http_vidstream_jwt_cache_expire(
    ngx_http_vidstream_jwt_cache_ctx_t *ctx, time_t now, ngx_uint_t force);


char *
ngx_http_vidstream_jwt_cache_conf_set(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    char  *base = conf;

    u_char           *p;
    ssize_t           size;
    ngx_str_t        *value, name, s;
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

    if (ngx_strncmp(value[1].data, "zone=", 5) != 0) {
        return "must be \"off\" or \"zone=name:size\"";
    }

    name.data = value[1].data + 5;

    p = (u_char *) ngx_strchr(name.data, ':');
    if (p == NULL) {
        return "must be \"off\" or \"zone=name:size\"";
    }

    name.len = p - name.data;

    s.data = p + 1;
    s.len = value[1].data + value[1].len - s.data;

    size = ngx_parse_size(&s);

    if (name.len == 0 || size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is too small", &value[1]);
        return NGX_CONF_ERROR;
    }

    *zone = ngx_http_vidstream_jwt_cache_add(cf, &name, size, cmd->post);
    if (*zone == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static ngx_rbtree_key_t
ngx_http_vidstream_jwt_cache_key(u_char *digest)
{
    ngx_rbtree_key_t  key;

    ngx_memcpy(&key, digest, sizeof(ngx_rbtree_key_t));

    return key;
}


/* declares (or finds) the zone "name" of size bytes, as limit_req_zone */
static ngx_shm_zone_t *
ngx_http_vidstream_jwt_cache_add(ngx_conf_t *cf, ngx_str_t *name, size_t size,
    void *tag)
{
    ngx_shm_zone_t                      *shm_zone;
    ngx_http_vidstream_jwt_cache_ctx_t  *ctx;

    shm_zone = ngx_shared_memory_add(cf, name, size, tag);
    if (shm_zone == NULL) {
        return NULL;
    }

    if (shm_zone->data == NULL) {
        ctx = ngx_pcalloc(cf->pool, sizeof(ngx_http_vidstream_jwt_cache_ctx_t));
        if (ctx == NULL) {
            return NULL;
        }

        shm_zone->data = ctx;
        shm_zone->init = ngx_http_vidstream_jwt_cache_init_zone;
    }

    return shm_zone;
}


static ngx_int_t
ngx_http_vidstream_jwt_cache_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_vidstream_jwt_cache_ctx_t  *octx = data;

    size_t                               len;
    ngx_http_vidstream_jwt_cache_ctx_t  *ctx;

    ctx = shm_zone->data;

    if (octx) {
        ctx->sh = octx->sh;
        ctx->shpool = octx->shpool;
        return NGX_OK;
    }

    ctx->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        ctx->sh = ctx->shpool->data;
        return NGX_OK;
    }

    ctx->sh = ngx_slab_alloc(ctx->shpool,
                             sizeof(ngx_http_vidstream_jwt_cache_sh_t));
    if (ctx->sh == NULL) {
        return NGX_ERROR;
    }

    ctx->shpool->data = ctx->sh;

    ngx_rbtree_init(&ctx->sh->rbtree, &ctx->sh->sentinel,
                    ngx_http_vidstream_jwt_cache_insert_value);

    ngx_queue_init(&ctx->sh->queue);

    len = sizeof(" in vidstream_jwt_cache zone \"\"") + shm_zone->shm.name.len;

    ctx->shpool->log_ctx = ngx_slab_alloc(ctx->shpool, len);
    if (ctx->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(ctx->shpool->log_ctx, " in vidstream_jwt_cache zone \"%V\"%Z",
                &shm_zone->shm.name);

    /* a full cache only means more signature checks: do not log it */
    ctx->shpool->log_nomem = 0;

    return NGX_OK;
}


static void
ngx_http_vidstream_jwt_cache_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t                   **p;
    ngx_http_vidstream_jwt_cache_node_t  *cn, *cnt;

    for ( ;; ) {

        if (node->key < temp->key) {
            p = &temp->left;

        } else if (node->key > temp->key) {
            p = &temp->right;

        } else { /* node->key == temp->key */

            cn = (ngx_http_vidstream_jwt_cache_node_t *) node;
            cnt = (ngx_http_vidstream_jwt_cache_node_t *) temp;

            p = (ngx_memcmp(cn->digest, cnt->digest,
                            NGX_HTTP_VIDSTREAM_JWT_DIGEST_LEN) < 0)
                ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}


static ngx_http_vidstream_jwt_cache_node_t *
ngx_http_vidstream_jwt_cache_lookup(ngx_http_vidstream_jwt_cache_ctx_t *ctx,
    u_char *digest)
{
    ngx_int_t                             rc;
    ngx_rbtree_key_t                      key;
    ngx_rbtree_node_t                    *node, *sentinel;
    ngx_http_vidstream_jwt_cache_node_t  *cn;

    key = ngx_http_vidstream_jwt_cache_key(digest);

    node = ctx->sh->rbtree.root;
    sentinel = ctx->sh->rbtree.sentinel;

    while (node != sentinel) {

        if (key < node->key) {
            node = node->left;
            continue;
        }

        if (key > node->key) {
            node = node->right;
            continue;
        }

        cn = (ngx_http_vidstream_jwt_cache_node_t *) node;

        rc = ngx_memcmp(digest, cn->digest, NGX_HTTP_VIDSTREAM_JWT_DIGEST_LEN);

        if (rc == 0) {
            return cn;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


static void
ngx_http_vidstream_jwt_cache_delete(ngx_http_vidstream_jwt_cache_ctx_t *ctx,
    ngx_http_vidstream_jwt_cache_node_t *cn)
{
    ngx_queue_remove(&cn->queue);
    ngx_rbtree_delete(&ctx->sh->rbtree, &cn->node);
    ngx_slab_free_locked(ctx->shpool, cn);
}


/*
 * Removes expired entries from the LRU tail (at most two, to bound the work
 * done under the lock), or with force the least recently used live ones too,
 * to make room.
 */
static void
ngx_http_vidstream_jwt_cache_expire(ngx_http_vidstream_jwt_cache_ctx_t *ctx,
    time_t now, ngx_uint_t force)
{
    ngx_uint_t                            n;
    ngx_queue_t                          *q;
    ngx_http_vidstream_jwt_cache_node_t  *cn;

    for (n = 0; n < (force ? 8 : 2); n++) {

        if (ngx_queue_empty(&ctx->sh->queue)) {
            return;
        }

        q = ngx_queue_last(&ctx->sh->queue);
        cn = ngx_queue_data(q, ngx_http_vidstream_jwt_cache_node_t, queue);

        if (!force && cn->exp > now) {
            return;
        }

        ngx_http_vidstream_jwt_cache_delete(ctx, cn);
    }
}


ngx_int_t
ngx_http_vidstream_jwt_cache_digest(u_char *policy, ngx_str_t *token,
    u_char *signed_digest, u_char *key)
{
    u_char      *dot;
    size_t       signed_len, len[3];
    const void  *data[3];

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

    signed_len = dot - token->data;

    if (ngx_http_vidstream_jwt_sha256(token->data, signed_len, signed_digest)
        != 0)
    {
        return NGX_ERROR;
    }

    data[0] = signed_digest;
    len[0] = NGX_HTTP_VIDSTREAM_JWT_DIGEST_LEN;
    data[1] = policy;
    len[1] = NGX_HTTP_VIDSTREAM_JWT_DIGEST_LEN;
    data[2] = dot;
    len[2] = token->len - signed_len;

    if (ngx_http_vidstream_jwt_sha256v(data, len, 3, key) != 0) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_vidstream_jwt_cache_get(ngx_shm_zone_t *shm_zone, u_char *digest,
    time_t now, time_t leeway, ngx_pool_t *pool,
    ngx_http_vidstream_jwt_cached_t *entry)
{
    size_t                                len;
    u_char                               *p;
    ngx_http_vidstream_jwt_cache_ctx_t   *ctx;
    ngx_http_vidstream_jwt_cache_node_t  *cn;

    ctx = shm_zone->data;

    ngx_shmtx_lock(&ctx->shpool->mutex);

    cn = ngx_http_vidstream_jwt_cache_lookup(ctx, digest);

    if (cn == NULL) {
        ngx_shmtx_unlock(&ctx->shpool->mutex);
        return NGX_DECLINED;
    }

    if (cn->exp + leeway <= now) {
        ngx_http_vidstream_jwt_cache_delete(ctx, cn);
        ngx_shmtx_unlock(&ctx->shpool->mutex);
        return NGX_DECLINED;
    }

    len = cn->sub_len + cn->kid_len + cn->payload_len;

    p = ngx_pnalloc(pool, len + 1);
    if (p == NULL) {
        ngx_shmtx_unlock(&ctx->shpool->mutex);
        return NGX_ERROR;
    }

    ngx_memcpy(p, cn->data, len);
    p[len] = '\0';

    ngx_queue_remove(&cn->queue);
    ngx_queue_insert_head(&ctx->sh->queue, &cn->queue);

    entry->exp = cn->exp;
    ngx_memcpy(entry->thumb, cn->thumb, sizeof(cn->thumb));
    entry->sub.data = p;
    entry->sub.len = cn->sub_len;
    entry->payload.data = p + cn->sub_len;
    entry->payload.len = cn->payload_len;
    entry->kid.data = p + cn->sub_len + cn->payload_len;
    entry->kid.len = cn->kid_len;

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    return NGX_OK;
}


void
ngx_http_vidstream_jwt_cache_put(ngx_shm_zone_t *shm_zone, u_char *digest,
    time_t now, ngx_http_vidstream_jwt_cached_t *entry)
{
    size_t                                size;
    u_char                               *p;
    ngx_http_vidstream_jwt_cache_ctx_t   *ctx;
    ngx_http_vidstream_jwt_cache_node_t  *cn;

    if (entry->sub.len > 0xffff || entry->kid.len > 0xffff
        || entry->payload.len > NGX_HTTP_VIDSTREAM_JWT_CACHE_MAX_PAYLOAD)
    {
        return;
    }

    ctx = shm_zone->data;

    size = offsetof(ngx_http_vidstream_jwt_cache_node_t, data)
           + entry->sub.len + entry->kid.len + entry->payload.len;

    ngx_shmtx_lock(&ctx->shpool->mutex);

    if (ngx_http_vidstream_jwt_cache_lookup(ctx, digest) != NULL) {
        /* another worker verified the same token meanwhile */
        ngx_shmtx_unlock(&ctx->shpool->mutex);
        return;
    }

    ngx_http_vidstream_jwt_cache_expire(ctx, now, 0);

    cn = ngx_slab_alloc_locked(ctx->shpool, size);

    if (cn == NULL) {
        ngx_http_vidstream_jwt_cache_expire(ctx, now, 1);

        cn = ngx_slab_alloc_locked(ctx->shpool, size);
        if (cn == NULL) {
            ngx_shmtx_unlock(&ctx->shpool->mutex);
            return;
        }
    }

    ngx_memcpy(cn->digest, digest, NGX_HTTP_VIDSTREAM_JWT_DIGEST_LEN);
    cn->node.key = ngx_http_vidstream_jwt_cache_key(digest);
    cn->exp = entry->exp;
    ngx_memcpy(cn->thumb, entry->thumb, sizeof(cn->thumb));
    cn->sub_len = (u_short) entry->sub.len;
    cn->kid_len = (u_short) entry->kid.len;
    cn->payload_len = (u_short) entry->payload.len;

    p = ngx_cpymem(cn->data, entry->sub.data, entry->sub.len);
    p = ngx_cpymem(p, entry->payload.data, entry->payload.len);
    ngx_memcpy(p, entry->kid.data, entry->kid.len);

    ngx_rbtree_insert(&ctx->sh->rbtree, &cn->node);
    ngx_queue_insert_head(&ctx->sh->queue, &cn->queue);

    ngx_shmtx_unlock(&ctx->shpool->mutex);
}
