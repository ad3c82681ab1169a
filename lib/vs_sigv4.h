/*
 * libvidstream: AWS Signature Version 4, endpoints and S3/SQS addressing,
 * written once for the nginx module and the worker.
 *
 *   - vs_aws_endpoint_t: a service endpoint (scheme, host, port, base path,
 *     region, service, S3 addressing style) parsed once at configuration
 *     time from AWS's defaults or a custom endpoint URL (AWS_ENDPOINT_URL,
 *     AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL_SQS: a local S3/SQS).
 *   - vs_sigv4_presign(): query-string presigned S3 URLs (X-Amz-*,
 *     UNSIGNED-PAYLOAD, X-Amz-Security-Token with session credentials).
 *     It does not allocate: the caller supplies the output buffer
 *     (VS_SIGV4_URL_MAX always suffices) and a vs_sigv4_key_cache_t, so a
 *     warm presign costs one SHA-256 of the canonical request and one HMAC
 *     of the string to sign.
 *   - vs_sigv4_sign(): header signing (Authorization, x-amz-date,
 *     x-amz-content-sha256) for requests with a body: SQS JSON-protocol
 *     POSTs, S3 PUT/DELETE/POST (multipart, DeleteObjects).
 *
 * Conventions: input strings are (pointer, length) pairs and need not be
 * NUL-terminated (ngx_str_t friendly); outputs are written into caller
 * buffers, NUL-terminated, and the functions return the length written
 * (excluding the NUL) or -1.  No global mutable state: every cache is a
 * caller-owned struct (not thread-safe; one per nginx worker / thread).
 * Times are time_t so tests can fix the clock.
 *
 * URI encoding follows AWS exactly: bytes outside A-Z a-z 0-9 - . _ ~ are
 * percent-encoded with uppercase hex (space is %20, + is %2B, * is %2A,
 * UTF-8 byte by byte); S3 object keys keep '/'; query parameters are sorted
 * by encoded name (then value).  S3 paths are not normalised ("a//b/../c"
 * is signed as given), as S3 requires.
 */
#ifndef VS_SIGV4_H
#define VS_SIGV4_H

#include <openssl/sha.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "vs_creds.h"


#define VS_SIGV4_EXPIRES_DEFAULT  900        /* 15 minutes */
#define VS_SIGV4_EXPIRES_MAX      604800     /* 7 days: S3's limit */

#define VS_AWS_REGION_MAX         63
#define VS_AWS_SERVICE_MAX        31
#define VS_AWS_HOST_MAX           255
#define VS_AWS_BASE_PATH_MAX      255
#define VS_AWS_BUCKET_MAX         63
#define VS_AWS_KEY_MAX            1024       /* S3's limit, in bytes */

/* Enough for any presigned URL whose endpoint, bucket, key, credentials
 * and extra signed headers are within the limits here and in vs_creds.h,
 * with extra query parameters of at most 1 KiB in total (raw names and
 * values; ~20.6 KB is the worst case without them).  Otherwise presign
 * returns -1, never a truncated URL. */
#define VS_SIGV4_URL_MAX          24576
#define VS_SIGV4_EXTRA_MAX        8          /* extra query params/headers */
#define VS_SIGV4_EXTRA_LEN_MAX    2048       /* per name or value */

#define VS_SIGV4_AUTH_MAX         2048       /* Authorization header value */
#define VS_SIGV4_AMZ_DATE_LEN     16         /* "20130524T000000Z" */
#define VS_SIGV4_SHA256_HEX_LEN   64


/* S3 addressing style. */
typedef enum {
    /* Virtual-hosted for AWS's own endpoints when the bucket is a DNS
     * label without dots; path-style otherwise and for custom endpoints. */
    VS_AWS_ADDR_AUTO = 0,
    /* bucket.host/key (as botocore: path-style anyway when the endpoint
     * host is an IP address or the bucket is not a valid DNS label). */
    VS_AWS_ADDR_VIRTUAL,
    VS_AWS_ADDR_PATH                          /* host/bucket/key */
} vs_aws_addressing_t;

typedef struct {
    unsigned             https:1;
    unsigned             custom:1;            /* from an endpoint URL */
    unsigned             host_is_ip:1;
    vs_aws_addressing_t  addressing;
    char                 host[VS_AWS_HOST_MAX + 1];  /* lowercase; IPv6
                                                        in brackets */
    size_t               host_len;
    uint16_t             port;                /* 0: the scheme's default */
    char                 authority[VS_AWS_HOST_MAX + 7]; /* host[:port], the
                                                           Host header */
    size_t               authority_len;
    char                 base_path[VS_AWS_BASE_PATH_MAX + 1]; /* "" or
                                                  "/prefix", no trailing / */
    size_t               base_path_len;
    char                 region[VS_AWS_REGION_MAX + 1];
    size_t               region_len;
    char                 service[VS_AWS_SERVICE_MAX + 1];   /* "s3", "sqs" */
    size_t               service_len;
} vs_aws_endpoint_t;

/*
 * Parse an endpoint once, at configuration time.
 *
 * service: the signing name ("s3", "sqs"); region: e.g. "eu-west-1" (a
 * lowercase DNS-ish token).  url NULL/0 selects AWS's regional endpoint,
 * https://<service>.<region>.amazonaws.com (s3.us-east-1.amazonaws.com for
 * us-east-1 as well).  Otherwise url is "http://host[:port][/path]" or
 * "https://…": scheme required, host a DNS name, IPv4 or [IPv6], port
 * 1..65535 (a default port is dropped from the Host header), a trailing '/'
 * ignored; userinfo, query and fragment are rejected.
 *
 * Returns 0, or -1 with a reason in err (never crashes on any input).
 */
int vs_aws_endpoint_init(vs_aws_endpoint_t *ep,
    const char *service, size_t service_len,
    const char *region, size_t region_len,
    const char *url, size_t url_len,
    vs_aws_addressing_t addressing, char *err, size_t err_size);

/*
 * Configuration helpers (read the environment; not for request time):
 * the endpoint URL for a service, AWS_ENDPOINT_URL_<SERVICE> (service_env
 * e.g. "S3", "SQS") else AWS_ENDPOINT_URL, else NULL; and the region,
 * AWS_REGION else AWS_DEFAULT_REGION else "us-east-1".
 */
const char *vs_aws_endpoint_url_from_env(const char *service_env);
const char *vs_aws_region_from_env(void);

/* scheme://authority[base_path]/  e.g. the SQS JSON-protocol POST target. */
ssize_t vs_aws_endpoint_url(const vs_aws_endpoint_t *ep, char *out,
    size_t out_size);

/* 1 when requests for bucket use virtual-hosted addressing on ep. */
int vs_aws_s3_virtual(const vs_aws_endpoint_t *ep, const char *bucket,
    size_t bucket_len);

/* The Host header for bucket: "bucket.authority" or "authority". */
ssize_t vs_aws_s3_host(const vs_aws_endpoint_t *ep, const char *bucket,
    size_t bucket_len, char *out, size_t out_size);

/*
 * The URI-encoded path for an object (key may be empty: the bucket itself):
 * base_path + ["/" bucket] + "/" + encode(key, keep '/').  This is both the
 * request-line path and the canonical URI.  out needs at most
 * VS_AWS_BASE_PATH_MAX + 3 * (bucket_len + key_len) + 3 bytes.
 */
ssize_t vs_aws_s3_path(const vs_aws_endpoint_t *ep, const char *bucket,
    size_t bucket_len, const char *key, size_t key_len, char *out,
    size_t out_size);

/* scheme://host/path for an object, without a query string. */
ssize_t vs_aws_s3_url(const vs_aws_endpoint_t *ep, const char *bucket,
    size_t bucket_len, const char *key, size_t key_len, char *out,
    size_t out_size);


/*
 * The signing-key cache: a few (date, region, service, secret) -> key
 * entries, each kept as the HMAC states with the key's pads absorbed (a
 * signature then costs its message only); a zero-filled struct is an
 * empty cache.  Keyed on the secret too, so rotated credentials never use
 * a stale key.  NULL may be passed wherever a cache is taken (the key is
 * then derived every time: four extra HMACs).
 */
#define VS_SIGV4_CACHE_ENTRIES  4

typedef struct {
    char           date[9];                  /* YYYYMMDD */
    char           region[VS_AWS_REGION_MAX + 1];
    size_t         region_len;
    char           service[VS_AWS_SERVICE_MAX + 1];
    size_t         service_len;
    char           secret[VS_AWS_SECRET_MAX];
    size_t         secret_len;
    SHA256_CTX     inner, outer;             /* HMAC(signing key): the pads
                                                absorbed */
    unsigned       used:1;
} vs_sigv4_key_entry_t;

typedef struct {
    vs_sigv4_key_entry_t  entry[VS_SIGV4_CACHE_ENTRIES];
    unsigned              next;              /* round-robin victim */
    unsigned long         hits, misses;      /* for tests and benchmarks */
} vs_sigv4_key_cache_t;

/* Zero the cache (and wipe the secrets and keys it holds). */
void vs_sigv4_key_cache_clear(vs_sigv4_key_cache_t *cache);


/* A name/value pair: a query parameter or a header (raw, unencoded). */
typedef struct {
    const char  *name;
    size_t       name_len;
    const char  *value;
    size_t       value_len;
} vs_sigv4_kv_t;


typedef struct {
    const char           *method;            /* "GET", "PUT", "HEAD"… */
    size_t                method_len;
    const char           *bucket;
    size_t                bucket_len;
    const char           *key;               /* raw object key (UTF-8) */
    size_t                key_len;
    /* Extra query parameters (e.g. response-content-disposition,
     * versionId, partNumber/uploadId), raw; they appear in the URL in this
     * order, before the X-Amz-* ones, as botocore writes them. */
    const vs_sigv4_kv_t  *query;
    size_t                nquery;
    /* Extra headers to sign besides host (e.g. content-type for a PUT):
     * the client must then send exactly these.  Names case-insensitive;
     * values are trimmed as SigV4 requires. */
    const vs_sigv4_kv_t  *headers;
    size_t                nheaders;
    time_t                now;
    /* Seconds; 0 means VS_SIGV4_EXPIRES_DEFAULT, larger than
     * VS_SIGV4_EXPIRES_MAX is capped to it, negative is an error. */
    long                  expires;
} vs_sigv4_presign_t;

/* The validity vs_sigv4_presign() will use for a requested one (for
 * expires_at = now + this), or -1 when negative. */
long vs_sigv4_presign_expires(long requested);

/*
 * Write the presigned URL for req into out (NUL-terminated):
 *   scheme://host/path?<extra>&X-Amz-Algorithm=AWS4-HMAC-SHA256
 *   &X-Amz-Credential=…&X-Amz-Date=…&X-Amz-Expires=…
 *   &X-Amz-SignedHeaders=host[;…][&X-Amz-Security-Token=…]
 *   &X-Amz-Signature=…
 * byte for byte what botocore's generate_presigned_url() writes.
 * Every byte of it is printable ASCII other than '"' and '\\' (the
 * endpoint is checked when set, the rest percent-encoded), so it goes into
 * JSON as it is.
 * Returns the length, or -1 on invalid input (empty method or bucket,
 * over-long key or bucket, too many/long extras, negative expires, missing
 * credentials) or when out_size is too small.  Does not allocate.
 */
ssize_t vs_sigv4_presign(const vs_aws_endpoint_t *ep,
    const vs_aws_creds_t *creds, vs_sigv4_key_cache_t *cache,
    const vs_sigv4_presign_t *req, char *out, size_t out_size);

/*
 * A size of out that always suffices for vs_sigv4_presign() with these
 * arguments (its NUL included): a few hundred bytes over the URL, where
 * VS_SIGV4_URL_MAX is 24 KiB, so a caller can presign straight into the
 * buffer of its answer.
 */
size_t vs_sigv4_presign_size(const vs_aws_endpoint_t *ep,
    const vs_aws_creds_t *creds, const vs_sigv4_presign_t *req);


typedef struct {
    const char           *method;
    size_t                method_len;
    const char           *host;              /* the Host header value */
    size_t                host_len;
    const char           *path;              /* URI-ENCODED path as sent */
    size_t                path_len;          /* (vs_aws_s3_path(), "/") */
    const vs_sigv4_kv_t  *query;             /* raw; send them in the */
    size_t                nquery;            /* vs_sigv4_query() form */
    /* Other headers to sign and send: content-type, x-amz-target, range,
     * content-md5, x-amz-storage-class…  Not host, x-amz-date,
     * x-amz-content-sha256, x-amz-security-token: those are added. */
    const vs_sigv4_kv_t  *headers;
    size_t                nheaders;
    const void           *payload;           /* the body (may be NULL/0) */
    size_t                payload_len;
    /* Optional precomputed payload hash: 64 lowercase hex digits or
     * "UNSIGNED-PAYLOAD" (NUL-terminated); overrides payload. */
    const char           *payload_hash;
    time_t                now;
} vs_sigv4_request_t;

/* What to send along with the request (besides the caller's headers). */
typedef struct {
    char          authorization[VS_SIGV4_AUTH_MAX];   /* Authorization */
    size_t        authorization_len;
    char          amz_date[VS_SIGV4_AMZ_DATE_LEN + 1]; /* x-amz-date */
    char          content_sha256[VS_SIGV4_SHA256_HEX_LEN + 1];
                                                     /* x-amz-content-sha256 */
    const char   *security_token;    /* X-Amz-Security-Token, when */
    size_t        security_token_len;  /* security_token_len > 0; points
                                          into the creds passed in */
} vs_sigv4_signed_t;

/*
 * Header-sign a request for ep's region and service.  Returns 0, or -1 on
 * invalid input (missing credentials, too many or over-long headers,
 * a header value with control characters).  Does not allocate.
 */
int vs_sigv4_sign(const vs_aws_endpoint_t *ep, const vs_aws_creds_t *creds,
    vs_sigv4_key_cache_t *cache, const vs_sigv4_request_t *req,
    vs_sigv4_signed_t *out);

/*
 * The canonical query string for raw params: encoded, sorted by encoded
 * name then value, "a=1&b=" (a parameter without a value is "name=").
 * Use it verbatim after '?' in the request line of a signed request.
 */
ssize_t vs_sigv4_query(const vs_sigv4_kv_t *params, size_t n, char *out,
    size_t out_size);


/*
 * AWS URI encoding of in[0..len) into out, which must hold 3 * len + 1
 * bytes; keep_slash leaves '/' as is (S3 object keys).  Returns the length
 * written (out is NUL-terminated).
 */
size_t vs_sigv4_uri_encode(char *out, const char *in, size_t len,
    int keep_slash);

/* Lowercase hex SHA-256 of data, NUL-terminated. */
void vs_sigv4_sha256_hex(const void *data, size_t len,
    char out[VS_SIGV4_SHA256_HEX_LEN + 1]);

/* Base64 MD5 of data for Content-MD5 (S3 DeleteObjects requires it). */
#define VS_AWS_CONTENT_MD5_LEN  24
void vs_aws_content_md5(const void *data, size_t len,
    char out[VS_AWS_CONTENT_MD5_LEN + 1]);

#endif
