/*
 * AWS Signature Version 4: presigned S3 URLs and signed requests.
 *
 * The canonical request is never materialised: its pieces are fed to
 * SHA-256 as they are produced, so a presign needs no buffer beyond the
 * caller's output and a little stack.  SHA-256 uses OpenSSL's low-level
 * SHA256_* API because, unlike the EVP one-shots in OpenSSL 3, it neither
 * allocates nor takes locks: this runs on nginx's request path.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "vs_sigv4.h"
#include "vs_aws_buf.h"
#include "vs_util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/md5.h>
#include <openssl/sha.h>


#define VS_SIGV4_ALGORITHM        "AWS4-HMAC-SHA256"
#define VS_SIGV4_UNSIGNED         "UNSIGNED-PAYLOAD"
#define VS_SIGV4_HDR_NAME_MAX     128


static const char vs_hex_lower[] = "0123456789abcdef";

/* SHA-256 streaming helpers. */

static void
vs_sha_str(SHA256_CTX *sha, const char *s, size_t len)
{
    SHA256_Update(sha, s, len);
}


/* Feed the AWS encoding of in to sha without a buffer the size of in. */
static void
vs_sha_encode(SHA256_CTX *sha, const char *in, size_t len, int keep_slash)
{
    char            chunk[192];
    size_t          n, i;
    unsigned char   c, keep;

    keep = keep_slash ? 3 : 1;

    n = 0;
    for (i = 0; i < len; i++) {
        c = (unsigned char) in[i];

        if (vs_unreserved[c] & keep) {
            chunk[n++] = (char) c;
        } else {
            chunk[n++] = '%';
            chunk[n++] = vs_hex_upper[c >> 4];
            chunk[n++] = vs_hex_upper[c & 0xf];
        }

        if (n > sizeof(chunk) - 3) {
            SHA256_Update(sha, chunk, n);
            n = 0;
        }
    }

    if (n) {
        SHA256_Update(sha, chunk, n);
    }
}


static void
vs_hex(const unsigned char *in, size_t len, char *out)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        out[2 * i] = vs_hex_lower[in[i] >> 4];
        out[2 * i + 1] = vs_hex_lower[in[i] & 0xf];
    }
    out[2 * len] = '\0';
}


void
vs_sigv4_sha256_hex(const void *data, size_t len,
    char out[VS_SIGV4_SHA256_HEX_LEN + 1])
{
    SHA256_CTX     sha;
    unsigned char  md[SHA256_DIGEST_LENGTH];

    SHA256_Init(&sha);
    SHA256_Update(&sha, data, len);
    SHA256_Final(md, &sha);
    vs_hex(md, sizeof(md), out);
}


void
vs_aws_content_md5(const void *data, size_t len,
    char out[VS_AWS_CONTENT_MD5_LEN + 1])
{
    MD5_CTX        md5;
    unsigned char  md[MD5_DIGEST_LENGTH];

    MD5_Init(&md5);
    MD5_Update(&md5, data, len);
    MD5_Final(md, &md5);
    EVP_EncodeBlock((unsigned char *) out, md, sizeof(md));
    out[VS_AWS_CONTENT_MD5_LEN] = '\0';
}


/*
 * HMAC-SHA256 (RFC 2104) on SHA256_CTX: no allocation.  The key is at most
 * 64 bytes everywhere here except the first step ("AWS4" + secret), which
 * vs_hmac handles by hashing a long key first.
 */
static void
vs_hmac_start(SHA256_CTX *inner, SHA256_CTX *outer, const void *key,
    size_t key_len)
{
    unsigned char  k[64], pad[64];
    size_t         i;

    memset(k, 0, sizeof(k));
    if (key_len > sizeof(k)) {
        SHA256(key, key_len, k);
    } else {
        memcpy(k, key, key_len);
    }

    for (i = 0; i < 64; i++) {
        pad[i] = k[i] ^ 0x36;
    }
    SHA256_Init(inner);
    SHA256_Update(inner, pad, 64);

    for (i = 0; i < 64; i++) {
        pad[i] = k[i] ^ 0x5c;
    }
    SHA256_Init(outer);
    SHA256_Update(outer, pad, 64);

    OPENSSL_cleanse(k, sizeof(k));
    OPENSSL_cleanse(pad, sizeof(pad));
}


static void
vs_hmac_finish(SHA256_CTX *inner, SHA256_CTX *outer, unsigned char out[32])
{
    unsigned char  md[32];

    SHA256_Final(md, inner);
    SHA256_Update(outer, md, sizeof(md));
    SHA256_Final(out, outer);
}


static void
vs_hmac(const void *key, size_t key_len, const void *msg, size_t msg_len,
    unsigned char out[32])
{
    SHA256_CTX  inner, outer;

    vs_hmac_start(&inner, &outer, key, key_len);
    SHA256_Update(&inner, msg, msg_len);
    vs_hmac_finish(&inner, &outer, out);
}


/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region),
 *                 service), "aws4_request") */
static void
vs_sigv4_derive(const vs_aws_creds_t *creds, const char *date,
    const char *region, size_t region_len, const char *service,
    size_t service_len, unsigned char key[32])
{
    unsigned char  k[4 + VS_AWS_SECRET_MAX];
    unsigned char  t[32];

    memcpy(k, "AWS4", 4);
    memcpy(k + 4, creds->secret_access_key, creds->secret_access_key_len);

    vs_hmac(k, 4 + creds->secret_access_key_len, date, 8, t);
    vs_hmac(t, 32, region, region_len, t);
    vs_hmac(t, 32, service, service_len, t);
    vs_hmac(t, 32, "aws4_request", 12, key);

    OPENSSL_cleanse(k, sizeof(k));
    OPENSSL_cleanse(t, sizeof(t));
}


void
vs_sigv4_key_cache_clear(vs_sigv4_key_cache_t *cache)
{
    OPENSSL_cleanse(cache, sizeof(*cache));
}


/*
 * The HMAC of the signing key, its pads absorbed into inner and outer:
 * from the cache when an entry matches (no derivation, no pad hashing),
 * else derived and kept.
 */

static void
vs_sigv4_signing_hmac(vs_sigv4_key_cache_t *cache,
    const vs_aws_creds_t *creds, const char *date, const char *region,
    size_t region_len, const char *service, size_t service_len,
    SHA256_CTX *inner, SHA256_CTX *outer)
{
    unsigned char          key[32];
    vs_sigv4_key_entry_t  *e;
    unsigned               i;

    if (cache == NULL) {
        vs_sigv4_derive(creds, date, region, region_len, service,
                        service_len, key);
        vs_hmac_start(inner, outer, key, 32);
        OPENSSL_cleanse(key, sizeof(key));
        return;
    }

    for (i = 0; i < VS_SIGV4_CACHE_ENTRIES; i++) {
        e = &cache->entry[i];

        if (e->used
            && memcmp(e->date, date, 8) == 0
            && e->region_len == region_len
            && memcmp(e->region, region, region_len) == 0
            && e->service_len == service_len
            && memcmp(e->service, service, service_len) == 0
            && e->secret_len == creds->secret_access_key_len
            && CRYPTO_memcmp(e->secret, creds->secret_access_key,
                             e->secret_len) == 0)
        {
            *inner = e->inner;
            *outer = e->outer;
            cache->hits++;
            return;
        }
    }

    cache->misses++;
    vs_sigv4_derive(creds, date, region, region_len, service, service_len,
                    key);
    vs_hmac_start(inner, outer, key, 32);

    e = &cache->entry[cache->next % VS_SIGV4_CACHE_ENTRIES];
    cache->next = (cache->next + 1) % VS_SIGV4_CACHE_ENTRIES;

    OPENSSL_cleanse(e, sizeof(*e));
    memcpy(e->date, date, 8);
    memcpy(e->region, region, region_len);
    e->region_len = region_len;
    memcpy(e->service, service, service_len);
    e->service_len = service_len;
    memcpy(e->secret, creds->secret_access_key,
           creds->secret_access_key_len);
    e->secret_len = creds->secret_access_key_len;
    e->inner = *inner;
    e->outer = *outer;
    e->used = 1;

    OPENSSL_cleanse(key, sizeof(key));
}


static void
vs_digits2(char *out, int v)
{
    out[0] = (char) ('0' + v / 10);
    out[1] = (char) ('0' + v % 10);
}


/* "20130524T000000Z" and its first 8 bytes as the date. */
static int
vs_amz_date(time_t now, char out[VS_SIGV4_AMZ_DATE_LEN + 1])
{
    struct tm  tm;

    if (vs_gmtime(now, &tm) != 0 || tm.tm_year + 1900 < 1000) {
        return -1;
    }

    vs_digits2(out, (tm.tm_year + 1900) / 100);
    vs_digits2(out + 2, (tm.tm_year + 1900) % 100);
    vs_digits2(out + 4, tm.tm_mon + 1);
    vs_digits2(out + 6, tm.tm_mday);
    out[8] = 'T';
    vs_digits2(out + 9, tm.tm_hour);
    vs_digits2(out + 11, tm.tm_min);
    vs_digits2(out + 13, tm.tm_sec);
    out[15] = 'Z';
    out[16] = '\0';
    return 0;
}


/*
 * Order of two raw strings by their AWS encodings, without encoding them:
 * an encoded byte begins with '%', which sorts below every unreserved byte,
 * and two encoded bytes compare as their values (uppercase hex keeps the
 * order); a prefix sorts first.
 */
static int
vs_enc_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t          i, n;
    unsigned        ka, kb;

    n = alen < blen ? alen : blen;
    for (i = 0; i < n; i++) {
        ka = (unsigned char) a[i];
        kb = (unsigned char) b[i];
        ka += (vs_unreserved[ka] & 1) ? 256 : 0;
        kb += (vs_unreserved[kb] & 1) ? 256 : 0;
        if (ka != kb) {
            return ka < kb ? -1 : 1;
        }
    }
    return alen < blen ? -1 : (alen > blen ? 1 : 0);
}


static int
vs_kv_cmp(const vs_sigv4_kv_t *a, const vs_sigv4_kv_t *b)
{
    int  rc;

    rc = vs_enc_cmp(a->name, a->name_len, b->name, b->name_len);
    if (rc == 0) {
        rc = vs_enc_cmp(a->value, a->value_len, b->value, b->value_len);
    }
    return rc;
}


/* Sort small arrays of pointers (n <= 16): insertion sort, stable. */
static void
vs_kv_sort(const vs_sigv4_kv_t **v, size_t n,
    int (*cmp)(const vs_sigv4_kv_t *, const vs_sigv4_kv_t *))
{
    size_t                i, j;
    const vs_sigv4_kv_t  *t;

    for (i = 1; i < n; i++) {
        t = v[i];
        for (j = i; j > 0 && cmp(v[j - 1], t) > 0; j--) {
            v[j] = v[j - 1];
        }
        v[j] = t;
    }
}


static int
vs_hdr_cmp(const vs_sigv4_kv_t *a, const vs_sigv4_kv_t *b)
{
    size_t  n;
    int     rc;

    /* names are lowercase already */
    n = a->name_len < b->name_len ? a->name_len : b->name_len;
    rc = memcmp(a->name, b->name, n);
    if (rc == 0) {
        rc = a->name_len < b->name_len ? -1 : (a->name_len > b->name_len);
    }
    return rc;
}


/* An encoded "name=value" already written to the URL, and its source. */
typedef struct {
    ptrdiff_t             start, end;
    const vs_sigv4_kv_t  *kv;
} vs_enc_param_t;


static void
vs_enc_sort(vs_enc_param_t *v, size_t n)
{
    size_t          i, j;
    vs_enc_param_t  t;

    for (i = 1; i < n; i++) {
        t = v[i];
        for (j = i; j > 0 && vs_kv_cmp(v[j - 1].kv, t.kv) > 0; j--) {
            v[j] = v[j - 1];
        }
        v[j] = t;
    }
}


static void
vs_sha_query(SHA256_CTX *sha, const vs_sigv4_kv_t **sorted, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (i) {
            vs_sha_str(sha, "&", 1);
        }
        vs_sha_encode(sha, sorted[i]->name, sorted[i]->name_len, 0);
        vs_sha_str(sha, "=", 1);
        vs_sha_encode(sha, sorted[i]->value, sorted[i]->value_len, 0);
    }
}


/* A header value as SigV4 wants it: trimmed, inner runs of spaces
 * collapsed to one.  Returns -1 for control characters (a header
 * injection attempt or a bug). */
static int
vs_hdr_value_ok(const char *v, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char) v[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            return -1;
        }
    }
    return 0;
}


static void
vs_sha_hdr_value(SHA256_CTX *sha, const char *v, size_t len)
{
    size_t  i, start, end;

    start = 0;
    end = len;
    while (start < end && (v[start] == ' ' || v[start] == '\t')) {
        start++;
    }
    while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t')) {
        end--;
    }

    i = start;
    while (i < end) {
        size_t  run = i;

        while (run < end && v[run] != ' ' && v[run] != '\t') {
            run++;
        }
        SHA256_Update(sha, v + i, run - i);
        if (run < end) {
            SHA256_Update(sha, " ", 1);
            while (run < end && (v[run] == ' ' || v[run] == '\t')) {
                run++;
            }
        }
        i = run;
    }
}


/* Header names: token characters only, lowercased into store. */
static int
vs_hdr_name_lower(const char *name, size_t len, char *store)
{
    size_t  i;

    if (len == 0 || len > VS_SIGV4_HDR_NAME_MAX) {
        return -1;
    }

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char) name[i];

        if (c <= 0x20 || c >= 0x7f || c == ':' || c == '(' || c == ')'
            || c == ',' || c == ';' || c == '"' || c == '/' || c == '['
            || c == ']' || c == '?' || c == '=' || c == '{' || c == '}'
            || c == '\\' || c == '<' || c == '>' || c == '@')
        {
            return -1;
        }
        store[i] = (char) tolower(c);
    }
    return 0;
}


static int
vs_creds_usable(const vs_aws_creds_t *creds)
{
    return creds != NULL
           && creds->access_key_id_len > 0
           && creds->access_key_id_len <= VS_AWS_AKID_MAX
           && creds->secret_access_key_len > 0
           && creds->secret_access_key_len <= VS_AWS_SECRET_MAX
           && creds->session_token_len <= VS_AWS_TOKEN_MAX;
}


/*
 * Sign: the string to sign from the canonical request hash, then the
 * signature into sig (64 hex + NUL).
 */
static void
vs_sigv4_signature(const vs_aws_endpoint_t *ep, const vs_aws_creds_t *creds,
    vs_sigv4_key_cache_t *cache, const char *amz_date,
    SHA256_CTX *canonical, char sig[65])
{
    unsigned char  md[32];
    char           hex[65];
    SHA256_CTX     inner, outer;

    SHA256_Final(md, canonical);
    vs_hex(md, 32, hex);

    vs_sigv4_signing_hmac(cache, creds, amz_date, ep->region,
                          ep->region_len, ep->service, ep->service_len,
                          &inner, &outer);
    SHA256_Update(&inner, VS_SIGV4_ALGORITHM "\n",
                  sizeof(VS_SIGV4_ALGORITHM "\n") - 1);
    SHA256_Update(&inner, amz_date, VS_SIGV4_AMZ_DATE_LEN);
    SHA256_Update(&inner, "\n", 1);
    SHA256_Update(&inner, amz_date, 8);
    SHA256_Update(&inner, "/", 1);
    SHA256_Update(&inner, ep->region, ep->region_len);
    SHA256_Update(&inner, "/", 1);
    SHA256_Update(&inner, ep->service, ep->service_len);
    SHA256_Update(&inner, "/aws4_request\n", 14);
    SHA256_Update(&inner, hex, 64);
    vs_hmac_finish(&inner, &outer, md);
    vs_hex(md, 32, sig);

    OPENSSL_cleanse(&inner, sizeof(inner));
    OPENSSL_cleanse(&outer, sizeof(outer));
}


/* ---- presign ------------------------------------------------------------ */

long
vs_sigv4_presign_expires(long requested)
{
    if (requested < 0) {
        return -1;
    }
    if (requested == 0) {
        return VS_SIGV4_EXPIRES_DEFAULT;
    }
    return requested > VS_SIGV4_EXPIRES_MAX ? VS_SIGV4_EXPIRES_MAX
                                            : requested;
}


static int
vs_method_ok(const char *m, size_t len)
{
    size_t  i;

    if (m == NULL || len == 0 || len > 16) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        if (m[i] < 'A' || m[i] > 'Z') {
            return 0;
        }
    }
    return 1;
}


static int
vs_kv_list_ok(const vs_sigv4_kv_t *kv, size_t n)
{
    size_t  i;

    if (n > VS_SIGV4_EXTRA_MAX || (n > 0 && kv == NULL)) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (kv[i].name_len == 0 || kv[i].name == NULL
            || kv[i].name_len > VS_SIGV4_EXTRA_LEN_MAX
            || kv[i].value_len > VS_SIGV4_EXTRA_LEN_MAX
            || (kv[i].value == NULL && kv[i].value_len != 0))
        {
            return 0;
        }
    }
    return 1;
}


/*
 * Lowercase the extra headers' names into names[] and point hdr[] at them;
 * reject duplicates and the names the signer sets itself.
 */
static int
vs_hdrs_prepare(const vs_sigv4_kv_t *in, size_t n,
    char names[][VS_SIGV4_HDR_NAME_MAX], vs_sigv4_kv_t *hdr, int presign)
{
    static const char  *reserved[] = {
        "host", "x-amz-date", "x-amz-content-sha256",
        "x-amz-security-token", "authorization"
    };
    size_t              i, j;

    for (i = 0; i < n; i++) {
        if (vs_hdr_name_lower(in[i].name, in[i].name_len, names[i]) != 0
            || vs_hdr_value_ok(in[i].value, in[i].value_len) != 0)
        {
            return -1;
        }
        hdr[i].name = names[i];
        hdr[i].name_len = in[i].name_len;
        hdr[i].value = in[i].value;
        hdr[i].value_len = in[i].value_len;

        for (j = 0; j < sizeof(reserved) / sizeof(reserved[0]); j++) {
            if (presign && j > 0) {
                break;              /* a presign only sets host itself */
            }
            if (strlen(reserved[j]) == hdr[i].name_len
                && memcmp(reserved[j], names[i], hdr[i].name_len) == 0)
            {
                return -1;
            }
        }
        for (j = 0; j < i; j++) {
            if (hdr[j].name_len == hdr[i].name_len
                && memcmp(hdr[j].name, hdr[i].name, hdr[i].name_len) == 0)
            {
                return -1;
            }
        }
    }
    return 0;
}


static void
vs_sha_headers(SHA256_CTX *sha, const vs_sigv4_kv_t **sorted, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        SHA256_Update(sha, sorted[i]->name, sorted[i]->name_len);
        SHA256_Update(sha, ":", 1);
        vs_sha_hdr_value(sha, sorted[i]->value, sorted[i]->value_len);
        SHA256_Update(sha, "\n", 1);
    }
    SHA256_Update(sha, "\n", 1);
}


/* "a;b;c" into buf from sorted headers; -1 if it does not fit. */
static ssize_t
vs_signed_headers(const vs_sigv4_kv_t **sorted, size_t n, char *buf,
    size_t size)
{
    vs_buf_t  b;
    size_t    i;

    vs_buf_init(&b, buf, size);
    for (i = 0; i < n; i++) {
        if (i) {
            vs_buf_add(&b, ";", 1);
        }
        vs_buf_add(&b, sorted[i]->name, sorted[i]->name_len);
    }
    return vs_buf_done(&b);
}


size_t
vs_sigv4_presign_size(const vs_aws_endpoint_t *ep,
    const vs_aws_creds_t *creds, const vs_sigv4_presign_t *req)
{
    size_t  n, i;

    /* scheme://[bucket.]host:port/base/ and the path, each byte of the
     * bucket and key percent-encoded at worst */
    n = sizeof("https://") + req->bucket_len + 1 + ep->host_len
        + sizeof(":65535") + ep->base_path_len + 2
        + 3 * (req->bucket_len + 1 + req->key_len) + 1;

    for (i = 0; i < req->nquery; i++) {
        n += 3 * (req->query[i].name_len + req->query[i].value_len) + 2;
    }

    /* X-Amz-Algorithm, -Credential (encoded), -Date, -Expires,
     * -SignedHeaders (host and the caller's names, encoded), -Signature */
    n += sizeof("X-Amz-Algorithm=" VS_SIGV4_ALGORITHM "&")
         + sizeof("X-Amz-Credential=&") + 3 * (creds->access_key_id_len
                  + sizeof("/20130524/") + ep->region_len
                  + ep->service_len + sizeof("/aws4_request"))
         + sizeof("X-Amz-Date=20130524T000000Z&")
         + sizeof("X-Amz-Expires=604800&")
         + sizeof("X-Amz-SignedHeaders=host&")
         + sizeof("X-Amz-Signature=") + VS_SIGV4_SHA256_HEX_LEN;

    for (i = 0; i < req->nheaders; i++) {
        n += 3 * (req->headers[i].name_len + 1);
    }

    if (creds->session_token_len > 0) {
        n += sizeof("X-Amz-Security-Token=&")
             + 3 * creds->session_token_len;
    }

    return n + 1;
}


ssize_t
vs_sigv4_presign(const vs_aws_endpoint_t *ep, const vs_aws_creds_t *creds,
    vs_sigv4_key_cache_t *cache, const vs_sigv4_presign_t *req, char *out,
    size_t out_size)
{
    char                  amz_date[VS_SIGV4_AMZ_DATE_LEN + 1];
    char                  credential[VS_AWS_AKID_MAX + VS_AWS_REGION_MAX
                                     + VS_AWS_SERVICE_MAX + 32];
    char                  expires[24];
    char                  signed_hdrs[(VS_SIGV4_HDR_NAME_MAX + 1)
                                      * (VS_SIGV4_EXTRA_MAX + 1)];
    char                  host[VS_AWS_BUCKET_MAX + VS_AWS_HOST_MAX + 8];
    char                  names[VS_SIGV4_EXTRA_MAX][VS_SIGV4_HDR_NAME_MAX];
    char                  sig[65];
    vs_sigv4_kv_t         hdr[VS_SIGV4_EXTRA_MAX + 1];
    vs_sigv4_kv_t         amz[6];
    const vs_sigv4_kv_t  *qsorted[VS_SIGV4_EXTRA_MAX + 6];
    const vs_sigv4_kv_t  *hsorted[VS_SIGV4_EXTRA_MAX + 1];
    vs_enc_param_t        enc[VS_SIGV4_EXTRA_MAX + 6];
    vs_buf_t              b, hb;
    SHA256_CTX            sha;
    ssize_t               signed_len, host_len, expires_len;
    size_t                namz, nq, nh, i;
    long                  exp;
    int                   virtual, n;

    if (out_size > 0) {
        out[0] = '\0';
    }

    exp = vs_sigv4_presign_expires(req->expires);
    if (exp < 0
        || !vs_creds_usable(creds)
        || !vs_method_ok(req->method, req->method_len)
        || req->bucket == NULL || req->bucket_len == 0
        || req->bucket_len > VS_AWS_BUCKET_MAX
        || (req->key == NULL && req->key_len != 0)
        || req->key_len > VS_AWS_KEY_MAX
        || !vs_kv_list_ok(req->query, req->nquery)
        || !vs_kv_list_ok(req->headers, req->nheaders)
        || vs_amz_date(req->now, amz_date) != 0)
    {
        return -1;
    }

    for (i = 0; i < req->nquery; i++) {
        if (req->query[i].name_len >= 6
            && strncasecmp(req->query[i].name, "x-amz-", 6) == 0)
        {
            return -1;              /* the X-Amz-* ones are ours */
        }
    }

    virtual = vs_aws_s3_virtual(ep, req->bucket, req->bucket_len);

    /* headers: host plus the caller's, sorted */
    vs_buf_init(&hb, host, sizeof(host));
    vs_buf_s3_host(&hb, ep, virtual, req->bucket, req->bucket_len);
    host_len = vs_buf_done(&hb);
    if (host_len < 0
        || vs_hdrs_prepare(req->headers, req->nheaders, names, hdr, 1) != 0)
    {
        return -1;
    }
    nh = req->nheaders;
    hdr[nh].name = "host";
    hdr[nh].name_len = 4;
    hdr[nh].value = host;
    hdr[nh].value_len = (size_t) host_len;
    nh++;
    for (i = 0; i < nh; i++) {
        hsorted[i] = &hdr[i];
    }
    vs_kv_sort(hsorted, nh, vs_hdr_cmp);
    signed_len = vs_signed_headers(hsorted, nh, signed_hdrs,
                                   sizeof(signed_hdrs));
    if (signed_len < 0) {
        return -1;
    }

    vs_buf_init(&hb, credential, sizeof(credential));
    vs_buf_add(&hb, creds->access_key_id, creds->access_key_id_len);
    vs_buf_add(&hb, "/", 1);
    vs_buf_add(&hb, amz_date, 8);
    vs_buf_add(&hb, "/", 1);
    vs_buf_add(&hb, ep->region, ep->region_len);
    vs_buf_add(&hb, "/", 1);
    vs_buf_add(&hb, ep->service, ep->service_len);
    vs_buf_add(&hb, "/aws4_request", 13);
    n = (int) vs_buf_done(&hb);
    if (n < 0) {
        return -1;
    }
    vs_buf_init(&hb, expires, sizeof(expires));
    vs_buf_uint(&hb, (unsigned long) exp);
    expires_len = vs_buf_done(&hb);

    /* the auth parameters, in botocore's URL order */
    amz[0] = (vs_sigv4_kv_t) { "X-Amz-Algorithm", 15, VS_SIGV4_ALGORITHM,
                               sizeof(VS_SIGV4_ALGORITHM) - 1 };
    amz[1] = (vs_sigv4_kv_t) { "X-Amz-Credential", 16, credential,
                               (size_t) n };
    amz[2] = (vs_sigv4_kv_t) { "X-Amz-Date", 10, amz_date,
                               VS_SIGV4_AMZ_DATE_LEN };
    amz[3] = (vs_sigv4_kv_t) { "X-Amz-Expires", 13, expires,
                               (size_t) expires_len };
    amz[4] = (vs_sigv4_kv_t) { "X-Amz-SignedHeaders", 19, signed_hdrs,
                               (size_t) signed_len };
    namz = 5;
    if (creds->session_token_len > 0) {
        amz[5] = (vs_sigv4_kv_t) { "X-Amz-Security-Token", 20,
                                   creds->session_token,
                                   creds->session_token_len };
        namz = 6;
    }

    /* the URL */
    vs_buf_init(&b, out, out_size);
    vs_buf_origin(&b, ep, virtual ? req->bucket : NULL, req->bucket_len);
    vs_buf_s3_path(&b, ep, virtual, req->bucket, req->bucket_len, req->key,
                   req->key_len);
    vs_buf_add(&b, "?", 1);

    nq = 0;
    for (i = 0; i < req->nquery; i++) {
        qsorted[nq++] = &req->query[i];
    }
    for (i = 0; i < namz; i++) {
        qsorted[nq++] = &amz[i];
    }
    for (i = 0; i < nq; i++) {
        if (i) {
            vs_buf_add(&b, "&", 1);
        }
        enc[i].start = b.p - out;
        vs_buf_encode(&b, qsorted[i]->name, qsorted[i]->name_len, 0);
        vs_buf_add(&b, "=", 1);
        vs_buf_encode(&b, qsorted[i]->value, qsorted[i]->value_len, 0);
        enc[i].end = b.p - out;
        enc[i].kv = qsorted[i];
    }
    if (b.overflow) {
        return vs_buf_done(&b);
    }

    /* the canonical request, streamed */
    SHA256_Init(&sha);
    SHA256_Update(&sha, req->method, req->method_len);
    SHA256_Update(&sha, "\n", 1);
    {
        /* the path is already in the URL: hash it from there */
        const char  *path, *q;

        path = out + (ep->https ? 8 : 7);
        path = memchr(path, '/', (size_t) (b.p - path));
        q = memchr(path, '?', (size_t) (b.p - path));
        SHA256_Update(&sha, path, (size_t) (q - path));
    }
    SHA256_Update(&sha, "\n", 1);
    /* the query: sorted, each "name=value" hashed as the URL has it */
    vs_enc_sort(enc, nq);
    for (i = 0; i < nq; i++) {
        if (i) {
            SHA256_Update(&sha, "&", 1);
        }
        SHA256_Update(&sha, out + enc[i].start,
                      (size_t) (enc[i].end - enc[i].start));
    }
    SHA256_Update(&sha, "\n", 1);
    vs_sha_headers(&sha, hsorted, nh);
    SHA256_Update(&sha, signed_hdrs, (size_t) signed_len);
    SHA256_Update(&sha, "\n" VS_SIGV4_UNSIGNED,
                  sizeof("\n" VS_SIGV4_UNSIGNED) - 1);

    vs_sigv4_signature(ep, creds, cache, amz_date, &sha, sig);

    vs_buf_str(&b, "&X-Amz-Signature=");
    vs_buf_add(&b, sig, 64);
    return vs_buf_done(&b);
}


/* ---- header signing ----------------------------------------------------- */

ssize_t
vs_sigv4_query(const vs_sigv4_kv_t *params, size_t n, char *out,
    size_t out_size)
{
    const vs_sigv4_kv_t  *sorted[VS_SIGV4_EXTRA_MAX];
    vs_buf_t              b;
    size_t                i;

    if (out_size > 0) {
        out[0] = '\0';
    }
    if (!vs_kv_list_ok(params, n)) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        sorted[i] = &params[i];
    }
    vs_kv_sort(sorted, n, vs_kv_cmp);

    vs_buf_init(&b, out, out_size);
    for (i = 0; i < n; i++) {
        if (i) {
            vs_buf_add(&b, "&", 1);
        }
        vs_buf_encode(&b, sorted[i]->name, sorted[i]->name_len, 0);
        vs_buf_add(&b, "=", 1);
        vs_buf_encode(&b, sorted[i]->value, sorted[i]->value_len, 0);
    }
    return vs_buf_done(&b);
}


static int
vs_payload_hash_ok(const char *h)
{
    size_t  i;

    if (strcmp(h, VS_SIGV4_UNSIGNED) == 0) {
        return 1;
    }
    for (i = 0; i < VS_SIGV4_SHA256_HEX_LEN; i++) {
        if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f'))) {
            return 0;
        }
    }
    return h[i] == '\0';
}


int
vs_sigv4_sign(const vs_aws_endpoint_t *ep, const vs_aws_creds_t *creds,
    vs_sigv4_key_cache_t *cache, const vs_sigv4_request_t *req,
    vs_sigv4_signed_t *out)
{
    char                  names[VS_SIGV4_EXTRA_MAX][VS_SIGV4_HDR_NAME_MAX];
    char                  signed_hdrs[(VS_SIGV4_HDR_NAME_MAX + 1)
                                      * (VS_SIGV4_EXTRA_MAX + 4)];
    char                  sig[65];
    vs_sigv4_kv_t         hdr[VS_SIGV4_EXTRA_MAX + 4];
    const vs_sigv4_kv_t  *hsorted[VS_SIGV4_EXTRA_MAX + 4];
    const vs_sigv4_kv_t  *qsorted[VS_SIGV4_EXTRA_MAX];
    SHA256_CTX            sha;
    ssize_t               signed_len;
    size_t                nh, i;
    int                   n;

    memset(out, 0, sizeof(*out));

    if (!vs_creds_usable(creds)
        || !vs_method_ok(req->method, req->method_len)
        || req->host == NULL || req->host_len == 0
        || req->path == NULL || req->path_len == 0 || req->path[0] != '/'
        || (req->payload == NULL && req->payload_len != 0)
        || !vs_kv_list_ok(req->query, req->nquery)
        || !vs_kv_list_ok(req->headers, req->nheaders)
        || vs_hdr_value_ok(req->host, req->host_len) != 0
        || (req->payload_hash != NULL
            && !vs_payload_hash_ok(req->payload_hash))
        || vs_amz_date(req->now, out->amz_date) != 0)
    {
        return -1;
    }

    if (req->payload_hash != NULL) {
        memcpy(out->content_sha256, req->payload_hash,
               strlen(req->payload_hash) + 1);
    } else {
        vs_sigv4_sha256_hex(req->payload != NULL ? req->payload : "",
                            req->payload_len, out->content_sha256);
    }

    if (vs_hdrs_prepare(req->headers, req->nheaders, names, hdr, 0) != 0) {
        return -1;
    }
    nh = req->nheaders;
    hdr[nh++] = (vs_sigv4_kv_t) { "host", 4, req->host, req->host_len };
    hdr[nh++] = (vs_sigv4_kv_t) { "x-amz-content-sha256", 20,
                                  out->content_sha256,
                                  strlen(out->content_sha256) };
    hdr[nh++] = (vs_sigv4_kv_t) { "x-amz-date", 10, out->amz_date,
                                  VS_SIGV4_AMZ_DATE_LEN };
    if (creds->session_token_len > 0) {
        hdr[nh++] = (vs_sigv4_kv_t) { "x-amz-security-token", 20,
                                      creds->session_token,
                                      creds->session_token_len };
        out->security_token = creds->session_token;
        out->security_token_len = creds->session_token_len;
    }
    for (i = 0; i < nh; i++) {
        hsorted[i] = &hdr[i];
    }
    vs_kv_sort(hsorted, nh, vs_hdr_cmp);
    signed_len = vs_signed_headers(hsorted, nh, signed_hdrs,
                                   sizeof(signed_hdrs));
    if (signed_len < 0) {
        return -1;
    }

    for (i = 0; i < req->nquery; i++) {
        qsorted[i] = &req->query[i];
    }
    vs_kv_sort(qsorted, req->nquery, vs_kv_cmp);

    SHA256_Init(&sha);
    SHA256_Update(&sha, req->method, req->method_len);
    SHA256_Update(&sha, "\n", 1);
    SHA256_Update(&sha, req->path, req->path_len);
    SHA256_Update(&sha, "\n", 1);
    vs_sha_query(&sha, qsorted, req->nquery);
    SHA256_Update(&sha, "\n", 1);
    vs_sha_headers(&sha, hsorted, nh);
    SHA256_Update(&sha, signed_hdrs, (size_t) signed_len);
    SHA256_Update(&sha, "\n", 1);
    SHA256_Update(&sha, out->content_sha256, strlen(out->content_sha256));

    vs_sigv4_signature(ep, creds, cache, out->amz_date, &sha, sig);

    n = snprintf(out->authorization, sizeof(out->authorization),
                 VS_SIGV4_ALGORITHM " Credential=%.*s/%.8s/%s/%s/aws4_request,"
                 " SignedHeaders=%s, Signature=%s",
                 (int) creds->access_key_id_len, creds->access_key_id,
                 out->amz_date, ep->region, ep->service, signed_hdrs, sig);
    if (n < 0 || (size_t) n >= sizeof(out->authorization)) {
        memset(out, 0, sizeof(*out));
        return -1;
    }
    out->authorization_len = (size_t) n;

    return 0;
}
