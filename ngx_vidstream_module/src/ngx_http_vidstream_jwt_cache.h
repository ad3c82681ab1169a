
/*
 * ngx_http_vidstream_jwt_cache: verified tokens in a shared memory zone,
 * shared by all workers: an ngx_http_vidstream_shm_cache (limit_req's
 * layout) whose values are the entries below.
 *
 * An entry says "this token passed signature and claim checks under this
 * policy"; it holds what the module exposes (sub, the kid and thumbprint of
 * the key that verified it, the payload for $vidstream_jwt_claim_*) and the
 * token's exp.  An entry found after its exp is deleted and reported as a
 * miss, so a hit never skips the expiry check.  Also here: the
 * vidstream_jwt_cache directive's zone and a token's cache key.
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


/*
 * The handler of a directive whose argument is "off" or "zone=name:size":
 * declares (or finds) the zone, as limit_req_zone, and stores it (NULL for
 * off) in the ngx_shm_zone_t * at cmd->offset in conf; cmd->post is the
 * zone's tag.
 */
char *ngx_http_vidstream_jwt_cache_conf_set(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);

/*
 * The cache key of a token: SHA-256 over the location's policy digest
 * (NGX_HTTP_VIDSTREAM_JWT_DIGEST_LEN bytes: what a cached verdict depends
 * on) and the token's ".signature".  Only the signature is hashed: an
 * entry keeps the token's signed part (header.payload) and a lookup
 * compares it byte for byte (ngx_http_vidstream_jwt_cache_get()), so that
 * a hit is still the very token verified, for half the hashing (the
 * signed part is hashed on a miss only, for the verification).  The
 * signed part's length goes to *signed_len.  NGX_OK; NGX_DECLINED: not a
 * token with a signed part (parsing says why); NGX_ERROR.
 */
ngx_int_t ngx_http_vidstream_jwt_cache_digest(u_char *policy,
    ngx_str_t *token, size_t *signed_len, u_char *key);

/*
 * NGX_OK with *entry filled (strings copied into pool) when digest is cached
 * for a token whose signed part is signed_part (as the entry's), and
 * now < exp + leeway; NGX_DECLINED otherwise (an expired entry is
 * removed); NGX_ERROR when the pool is out of memory.
 */
ngx_int_t ngx_http_vidstream_jwt_cache_get(ngx_shm_zone_t *shm_zone,
    u_char *digest, ngx_str_t *signed_part, time_t now, time_t leeway,
    ngx_pool_t *pool, ngx_http_vidstream_jwt_cached_t *entry);

/*
 * Adds an entry for the token whose signed part is signed_part, valid
 * until its exp + leeway; failing to (zone full of live entries, or an
 * entry too large) is not an error.
 */
void ngx_http_vidstream_jwt_cache_put(ngx_shm_zone_t *shm_zone,
    u_char *digest, ngx_str_t *signed_part, time_t now, time_t leeway,
    ngx_http_vidstream_jwt_cached_t *entry);


#endif /* _NGX_HTTP_VIDSTREAM_JWT_CACHE_H_INCLUDED_ */
