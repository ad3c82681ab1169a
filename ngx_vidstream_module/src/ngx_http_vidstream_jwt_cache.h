
/*
 * ngx_http_vidstream_jwt_cache: verified tokens in a shared memory zone,
 * shared by all workers (the limit_req layout: slab pool, rbtree keyed by a
 * digest, LRU queue, the slab pool's mutex).
 *
 * An entry says "this token passed signature and claim checks under this
 * policy"; it holds what the module exposes (sub, the kid and thumbprint of
 * the key that verified it, the payload for $vidstream_jwt_claim_*) and the token's exp.  An entry
 * found after its exp is deleted and reported as a miss, so a hit never
 * skips the expiry check.
 */

#ifndef _NGX_HTTP_VIDSTREAM_JWT_CACHE_H_INCLUDED_
#define _NGX_HTTP_VIDSTREAM_JWT_CACHE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


#define NGX_HTTP_VIDSTREAM_JWT_DIGEST_LEN  32
/* payloads larger than this are not cached (Cognito's are ~1 KiB) */
#define NGX_HTTP_VIDSTREAM_JWT_CACHE_MAX_PAYLOAD  4096


typedef struct {
    ngx_str_t   sub;
    ngx_str_t   kid;         /* NUL-terminated on lookup */
    ngx_str_t   payload;
    u_char      thumb[32];   /* of the key that verified the signature */
    time_t      exp;
} ngx_http_vidstream_jwt_cached_t;


/* declares (or finds) the zone "name" of size bytes, as limit_req_zone */
ngx_shm_zone_t *ngx_http_vidstream_jwt_cache_add(ngx_conf_t *cf,
    ngx_str_t *name, size_t size, void *tag);

/*
 * NGX_OK with *entry filled (strings copied into pool) when digest is cached
 * and now < exp + leeway; NGX_DECLINED otherwise (an expired entry is
 * removed); NGX_ERROR when the pool is out of memory.
 */
ngx_int_t ngx_http_vidstream_jwt_cache_get(ngx_shm_zone_t *shm_zone,
    u_char *digest, time_t now, time_t leeway, ngx_pool_t *pool,
    ngx_http_vidstream_jwt_cached_t *entry);

/* Adds an entry; failing to (zone full of live entries) is not an error. */
void ngx_http_vidstream_jwt_cache_put(ngx_shm_zone_t *shm_zone,
    u_char *digest, time_t now, ngx_http_vidstream_jwt_cached_t *entry);


#endif /* _NGX_HTTP_VIDSTREAM_JWT_CACHE_H_INCLUDED_ */
