
/*
 * ngx_http_vidstream_shm_cache: a small cache in a shared memory zone,
 * shared by all workers, laid out as limit_req's: a slab pool, an rbtree
 * keyed by a 32-byte digest, an LRU queue, the slab pool's mutex.
 *
 * An entry is an opaque value (up to NGX_HTTP_VIDSTREAM_SHM_CACHE_MAX
 * bytes) with the time it stops being valid.  A lookup copies the value
 * into the request's pool under the lock, so no pointer into the zone
 * ever escapes it; an entry
 * found past its time is removed and reported as a miss.  The callers give
 * the value its meaning: verified tokens (ngx_http_vidstream_jwt_cache.c)
 * and done videos (ngx_http_vidstream_api_cache.c).
 */

#ifndef _NGX_HTTP_VIDSTREAM_SHM_CACHE_H_INCLUDED_
#define _NGX_HTTP_VIDSTREAM_SHM_CACHE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


#define NGX_HTTP_VIDSTREAM_SHM_CACHE_KEY_LEN  32
#define NGX_HTTP_VIDSTREAM_SHM_CACHE_MAX      8192


/*
 * Declares (or finds) the zone "name" of size bytes, as limit_req_zone;
 * what names it in the slab pool's log lines (" in <what> zone ...").
 */
ngx_shm_zone_t *ngx_http_vidstream_shm_cache_add(ngx_conf_t *cf,
    ngx_str_t *name, size_t size, const char *what, void *tag);

/*
 * Parses arg, "zone=name:size" as limit_req_zone's, and declares the zone
 * (at least 8 pages): NGX_CONF_OK with *zone set, or an error message.
 */
char *ngx_http_vidstream_shm_cache_zone(ngx_conf_t *cf, ngx_str_t *arg,
    const char *what, void *tag, ngx_shm_zone_t **zone);

/*
 * NGX_OK with the value copied into pool (value->data, NUL-terminated) and
 * *valid_until set; NGX_DECLINED when key is not cached or is no longer
 * valid at now (it is then removed); NGX_ERROR when pool is out of memory.
 */
ngx_int_t ngx_http_vidstream_shm_cache_get(ngx_shm_zone_t *zone,
    const u_char *key, time_t now, ngx_pool_t *pool, ngx_str_t *value,
    time_t *valid_until);

/*
 * Adds (or replaces) an entry valid until valid_until.  A full zone evicts
 * the least recently used entries; failing even then is not an error: the
 * caller simply does the work again next time.
 */
void ngx_http_vidstream_shm_cache_put(ngx_shm_zone_t *zone,
    const u_char *key, time_t now, time_t valid_until, const u_char *value,
    size_t len);

/* Removes key's entry, if any. */
void ngx_http_vidstream_shm_cache_remove(ngx_shm_zone_t *zone,
    const u_char *key);


#endif /* _NGX_HTTP_VIDSTREAM_SHM_CACHE_H_INCLUDED_ */
