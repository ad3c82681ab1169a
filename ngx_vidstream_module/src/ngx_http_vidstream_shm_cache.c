
/*
 * ngx_http_vidstream_shm_cache: see ngx_http_vidstream_shm_cache.h.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_vidstream_shm_cache.h"


typedef struct {
    ngx_rbtree_node_t  node;        /* node.key: the key's first bytes */
    ngx_queue_t        queue;       /* LRU: most recently used at head */
    u_char             key[NGX_HTTP_VIDSTREAM_SHM_CACHE_KEY_LEN];
    time_t             valid_until;
    u_short            len;
    u_char             value[1];
} ngx_http_vidstream_shm_cache_node_t;


typedef struct {
    ngx_rbtree_t       rbtree;
    ngx_rbtree_node_t  sentinel;
    ngx_queue_t        queue;
} ngx_http_vidstream_shm_cache_sh_t;


typedef struct {
    ngx_http_vidstream_shm_cache_sh_t  *sh;
    ngx_slab_pool_t                    *shpool;
    const char                         *what;
} ngx_http_vidstream_shm_cache_ctx_t;


static ngx_int_t ngx_http_vidstream_shm_cache_init_zone(
    ngx_shm_zone_t *shm_zone, void *data);
static void ngx_http_vidstream_shm_cache_insert_value(
    ngx_rbtree_node_t *temp, ngx_rbtree_node_t *node,
    ngx_rbtree_node_t *sentinel);
static ngx_http_vidstream_shm_cache_node_t *
    ngx_http_vidstream_shm_cache_lookup(
    ngx_http_vidstream_shm_cache_ctx_t *ctx, const u_char *key);
static void ngx_http_vidstream_shm_cache_delete(
    ngx_http_vidstream_shm_cache_ctx_t *ctx,
    ngx_http_vidstream_shm_cache_node_t *cn);
static void ngx_http_vidstream_shm_cache_expire(
    ngx_http_vidstream_shm_cache_ctx_t *ctx, time_t now, ngx_uint_t force);


static ngx_rbtree_key_t
ngx_http_vidstream_shm_cache_key(const u_char *key)
{
    ngx_rbtree_key_t  k;

    ngx_memcpy(&k, key, sizeof(ngx_rbtree_key_t));

    return k;
}


ngx_shm_zone_t *
ngx_http_vidstream_shm_cache_add(ngx_conf_t *cf, ngx_str_t *name,
    size_t size, const char *what, void *tag)
{
    ngx_shm_zone_t                      *shm_zone;
    ngx_http_vidstream_shm_cache_ctx_t  *ctx;

    shm_zone = ngx_shared_memory_add(cf, name, size, tag);
    if (shm_zone == NULL) {
        return NULL;
    }

    if (shm_zone->data == NULL) {
        ctx = ngx_pcalloc(cf->pool,
                          sizeof(ngx_http_vidstream_shm_cache_ctx_t));
        if (ctx == NULL) {
            return NULL;
        }

        ctx->what = what;
        shm_zone->data = ctx;
        shm_zone->init = ngx_http_vidstream_shm_cache_init_zone;
    }

    return shm_zone;
}


char *
ngx_http_vidstream_shm_cache_zone(ngx_conf_t *cf, ngx_str_t *arg,
    const char *what, void *tag, ngx_shm_zone_t **zone)
{
    u_char     *p;
    ssize_t     size;
    ngx_str_t   name, s;

    if (ngx_strncmp(arg->data, "zone=", 5) != 0) {
        return "must be \"off\" or \"zone=name:size\"";
    }

    name.data = arg->data + 5;

    p = (u_char *) ngx_strchr(name.data, ':');
    if (p == NULL) {
        return "must be \"off\" or \"zone=name:size\"";
    }

    name.len = p - name.data;

    s.data = p + 1;
    s.len = arg->data + arg->len - s.data;

    size = ngx_parse_size(&s);

    if (name.len == 0 || size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid zone \"%V\"", arg);
        return NGX_CONF_ERROR;
    }

    if (size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "zone \"%V\" is too small",
                           arg);
        return NGX_CONF_ERROR;
    }

    *zone = ngx_http_vidstream_shm_cache_add(cf, &name, size, what, tag);
    if (*zone == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_vidstream_shm_cache_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_vidstream_shm_cache_ctx_t  *octx = data;

    size_t                               len;
    ngx_http_vidstream_shm_cache_ctx_t  *ctx;

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
                             sizeof(ngx_http_vidstream_shm_cache_sh_t));
    if (ctx->sh == NULL) {
        return NGX_ERROR;
    }

    ctx->shpool->data = ctx->sh;

    ngx_rbtree_init(&ctx->sh->rbtree, &ctx->sh->sentinel,
                    ngx_http_vidstream_shm_cache_insert_value);
    ngx_queue_init(&ctx->sh->queue);

    len = sizeof(" in  zone \"\"") + ngx_strlen(ctx->what)
          + shm_zone->shm.name.len;

    ctx->shpool->log_ctx = ngx_slab_alloc(ctx->shpool, len);
    if (ctx->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(ctx->shpool->log_ctx, " in %s zone \"%V\"%Z", ctx->what,
                &shm_zone->shm.name);

    /* a full cache only means more work done again: do not log it */
    ctx->shpool->log_nomem = 0;

    return NGX_OK;
}


static void
ngx_http_vidstream_shm_cache_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t                    **p;
    ngx_http_vidstream_shm_cache_node_t   *cn, *cnt;

    for ( ;; ) {

        if (node->key < temp->key) {
            p = &temp->left;

        } else if (node->key > temp->key) {
            p = &temp->right;

        } else { /* node->key == temp->key */
            cn = (ngx_http_vidstream_shm_cache_node_t *) node;
            cnt = (ngx_http_vidstream_shm_cache_node_t *) temp;

            p = (ngx_memcmp(cn->key, cnt->key,
                            NGX_HTTP_VIDSTREAM_SHM_CACHE_KEY_LEN) < 0)
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


static ngx_http_vidstream_shm_cache_node_t *
ngx_http_vidstream_shm_cache_lookup(ngx_http_vidstream_shm_cache_ctx_t *ctx,
    const u_char *key)
{
    ngx_int_t                             rc;
    ngx_rbtree_key_t                      k;
    ngx_rbtree_node_t                    *node, *sentinel;
    ngx_http_vidstream_shm_cache_node_t  *cn;

    k = ngx_http_vidstream_shm_cache_key(key);

    node = ctx->sh->rbtree.root;
    sentinel = ctx->sh->rbtree.sentinel;

    while (node != sentinel) {

        if (k < node->key) {
            node = node->left;
            continue;
        }

        if (k > node->key) {
            node = node->right;
            continue;
        }

        cn = (ngx_http_vidstream_shm_cache_node_t *) node;

        rc = ngx_memcmp(key, cn->key, NGX_HTTP_VIDSTREAM_SHM_CACHE_KEY_LEN);

        if (rc == 0) {
            return cn;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


static void
ngx_http_vidstream_shm_cache_delete(ngx_http_vidstream_shm_cache_ctx_t *ctx,
    ngx_http_vidstream_shm_cache_node_t *cn)
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
ngx_http_vidstream_shm_cache_expire(ngx_http_vidstream_shm_cache_ctx_t *ctx,
    time_t now, ngx_uint_t force)
{
    ngx_uint_t                            n;
    ngx_queue_t                          *q;
    ngx_http_vidstream_shm_cache_node_t  *cn;

    for (n = 0; n < (force ? 8 : 2); n++) {

        if (ngx_queue_empty(&ctx->sh->queue)) {
            return;
        }

        q = ngx_queue_last(&ctx->sh->queue);
        cn = ngx_queue_data(q, ngx_http_vidstream_shm_cache_node_t, queue);

        if (!force && cn->valid_until > now) {
            return;
        }

        ngx_http_vidstream_shm_cache_delete(ctx, cn);
    }
}


ngx_int_t
ngx_http_vidstream_shm_cache_get(ngx_shm_zone_t *zone, const u_char *key,
    time_t now, ngx_pool_t *pool, ngx_str_t *value, time_t *valid_until)
{
    u_char                               *p;
    ngx_http_vidstream_shm_cache_ctx_t   *ctx;
    ngx_http_vidstream_shm_cache_node_t  *cn;

    ctx = zone->data;

    ngx_shmtx_lock(&ctx->shpool->mutex);

    cn = ngx_http_vidstream_shm_cache_lookup(ctx, key);

    if (cn == NULL) {
        ngx_shmtx_unlock(&ctx->shpool->mutex);
        return NGX_DECLINED;
    }

    if (cn->valid_until <= now) {
        ngx_http_vidstream_shm_cache_delete(ctx, cn);
        ngx_shmtx_unlock(&ctx->shpool->mutex);
        return NGX_DECLINED;
    }

    p = ngx_pnalloc(pool, cn->len + 1);
    if (p == NULL) {
        ngx_shmtx_unlock(&ctx->shpool->mutex);
        return NGX_ERROR;
    }

    ngx_memcpy(p, cn->value, cn->len);
    p[cn->len] = '\0';

    value->data = p;
    value->len = cn->len;
    *valid_until = cn->valid_until;

    ngx_queue_remove(&cn->queue);
    ngx_queue_insert_head(&ctx->sh->queue, &cn->queue);

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    return NGX_OK;
}


void
ngx_http_vidstream_shm_cache_put(ngx_shm_zone_t *zone, const u_char *key,
    time_t now, time_t valid_until, const u_char *value, size_t len)
{
    size_t                                size;
    ngx_http_vidstream_shm_cache_ctx_t   *ctx;
    ngx_http_vidstream_shm_cache_node_t  *cn;

    if (len > NGX_HTTP_VIDSTREAM_SHM_CACHE_MAX || valid_until <= now) {
        return;
    }

    ctx = zone->data;
    size = offsetof(ngx_http_vidstream_shm_cache_node_t, value) + len;

    ngx_shmtx_lock(&ctx->shpool->mutex);

    cn = ngx_http_vidstream_shm_cache_lookup(ctx, key);

    if (cn != NULL) {
        /* another worker did the same work meanwhile: the newer wins */
        ngx_http_vidstream_shm_cache_delete(ctx, cn);
    }

    ngx_http_vidstream_shm_cache_expire(ctx, now, 0);

    cn = ngx_slab_alloc_locked(ctx->shpool, size);

    if (cn == NULL) {
        ngx_http_vidstream_shm_cache_expire(ctx, now, 1);

        cn = ngx_slab_alloc_locked(ctx->shpool, size);
        if (cn == NULL) {
            ngx_shmtx_unlock(&ctx->shpool->mutex);
            return;
        }
    }

    ngx_memcpy(cn->key, key, NGX_HTTP_VIDSTREAM_SHM_CACHE_KEY_LEN);
    cn->node.key = ngx_http_vidstream_shm_cache_key(key);
    cn->valid_until = valid_until;
    cn->len = (u_short) len;
    ngx_memcpy(cn->value, value, len);

    ngx_rbtree_insert(&ctx->sh->rbtree, &cn->node);
    ngx_queue_insert_head(&ctx->sh->queue, &cn->queue);

    ngx_shmtx_unlock(&ctx->shpool->mutex);
}


void
ngx_http_vidstream_shm_cache_remove(ngx_shm_zone_t *zone, const u_char *key)
{
    ngx_http_vidstream_shm_cache_ctx_t   *ctx;
    ngx_http_vidstream_shm_cache_node_t  *cn;

    ctx = zone->data;

    ngx_shmtx_lock(&ctx->shpool->mutex);

    cn = ngx_http_vidstream_shm_cache_lookup(ctx, key);

    if (cn != NULL) {
        ngx_http_vidstream_shm_cache_delete(ctx, cn);
    }

    ngx_shmtx_unlock(&ctx->shpool->mutex);
}
