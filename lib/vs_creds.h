/*
 * libvidstream: AWS credentials, and the pure pieces of the providers that
 * produce them.
 *
 * The provider chain, in the order of the AWS SDKs:
 *
 *   1. static credentials from configuration (vidstream_* directives);
 *   2. the environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and the
 *      optional AWS_SESSION_TOKEN;
 *   3. the ECS task role (container credentials):
 *      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (fetched from
 *      http://169.254.170.2<relative uri>) or
 *      AWS_CONTAINER_CREDENTIALS_FULL_URI, with the optional
 *      AWS_CONTAINER_AUTHORIZATION_TOKEN (or ..._TOKEN_FILE) sent as the
 *      Authorization header.  The endpoint answers
 *      {"AccessKeyId","SecretAccessKey","Token","Expiration"}; these are
 *      refreshed VS_AWS_CREDS_REFRESH_AHEAD seconds before Expiration.
 *
 * Nothing here does I/O except vs_aws_ecs_source_from_env() (reads the
 * environment and, if set, the token file, at configuration time).  The
 * HTTP fetch is left to the caller: the nginx module issues it as a
 * non-blocking subrequest/upstream request using the host, port, path and
 * Authorization of a vs_aws_ecs_source_t, then hands the body to
 * vs_aws_provider_update(); the worker may call the blocking libcurl helper
 * vs_aws_provider_refresh() (worker/creds_fetch.h: the worker only).
 *
 * Every structure here is fixed-size and free of pointers, so it can be
 * copied with memcpy() and placed in nginx shared memory.  Strings are
 * stored NUL-terminated and with their length; inputs are (pointer, length)
 * pairs.  Secrets are never logged or copied into error messages.
 */
#ifndef VS_CREDS_H
#define VS_CREDS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define VS_AWS_AKID_MAX          128    /* AWS documents 16..128 */
#define VS_AWS_SECRET_MAX        128
#define VS_AWS_TOKEN_MAX         4096   /* STS/ECS session tokens, ~1-2 KB */

/* Refresh temporary credentials this long before they expire. */
#define VS_AWS_CREDS_REFRESH_AHEAD   300
/* Retry a failed refresh no sooner than this. */
#define VS_AWS_CREDS_RETRY_AFTER     10

typedef struct {
    char      access_key_id[VS_AWS_AKID_MAX + 1];
    size_t    access_key_id_len;
    char      secret_access_key[VS_AWS_SECRET_MAX + 1];
    size_t    secret_access_key_len;
    char      session_token[VS_AWS_TOKEN_MAX + 1];
    size_t    session_token_len;          /* 0: no session token */
    time_t    expiration;                 /* 0: never expires */
} vs_aws_creds_t;


/*
 * Fill creds from (pointer, length) strings.  token may be NULL/0.
 * expiration 0 means "does not expire".  Returns 0, or -1 (with a reason in
 * err, which never contains the secret) when a field is empty where it must
 * not be, too long, or holds bytes outside printable ASCII.
 */
int vs_aws_creds_set(vs_aws_creds_t *creds,
    const char *access_key_id, size_t access_key_id_len,
    const char *secret, size_t secret_len,
    const char *token, size_t token_len,
    time_t expiration, char *err, size_t err_size);

/*
 * Environment provider: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and the
 * optional AWS_SESSION_TOKEN.  Returns 1 when found, 0 when neither key
 * variable is set (try the next provider), -1 when only one of them is set
 * or a value is invalid (a configuration error: reason in err).
 */
int vs_aws_creds_from_env(vs_aws_creds_t *creds, char *err, size_t err_size);

/*
 * Parse the ECS credentials endpoint's JSON body:
 *   {"AccessKeyId":"…","SecretAccessKey":"…","Token":"…",
 *    "Expiration":"2026-11-21T10:00:00Z", …}
 * Token and Expiration are optional (a missing Expiration means "never").
 * Expiration is RFC 3339 UTC, fractional seconds and a "+00:00" offset
 * accepted.  Returns 0, or -1 with a reason in err on any malformed input
 * (the body is hostile: it never crashes, and creds is left untouched).
 */
int vs_aws_creds_parse_json(vs_aws_creds_t *creds, const char *body,
    size_t body_len, char *err, size_t err_size);

/* 1 when creds has an expiration and now is within `ahead` seconds of it. */
int vs_aws_creds_expiring(const vs_aws_creds_t *creds, time_t now,
    time_t ahead);


/*
 * Where the ECS container credentials come from: an HTTP(S) GET of
 * (https ? "https" : "http")://host:port/path with, when authorization_len
 * is non-zero, "Authorization: <authorization>".
 */
typedef struct {
    unsigned  https:1;
    char      host[256];                  /* as in a URL: IPv6 in brackets */
    size_t    host_len;
    uint16_t  port;                       /* always set (80/443 default) */
    char      path[1024];                 /* path + query, starts with '/' */
    size_t    path_len;
    char      authorization[2048];
    size_t    authorization_len;
    /* AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (EKS Pod Identity rotates
     * it): vs_aws_ecs_fetch() re-reads it before every fetch; a caller
     * doing its own fetch uses authorization, read at init. */
    char      token_file[512];
    size_t    token_file_len;
} vs_aws_ecs_source_t;

/* The fixed host of the task metadata endpoint for RELATIVE_URI. */
#define VS_AWS_ECS_HOST  "169.254.170.2"

/*
 * Build the source from the raw variable values; each may be NULL/0.
 * RELATIVE_URI wins over FULL_URI (as in the SDKs).  A FULL_URI with plain
 * http must point at a loopback address, localhost, or one of the ECS/EKS
 * link-local hosts (169.254.170.2, 169.254.170.23); https may point
 * anywhere.  Returns 1 when configured, 0 when neither URI is given, -1 on
 * invalid input (reason in err).
 */
int vs_aws_ecs_source_init(vs_aws_ecs_source_t *src,
    const char *relative_uri, size_t relative_uri_len,
    const char *full_uri, size_t full_uri_len,
    const char *authorization, size_t authorization_len,
    char *err, size_t err_size);

/*
 * The same from the environment: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI,
 * AWS_CONTAINER_CREDENTIALS_FULL_URI, AWS_CONTAINER_AUTHORIZATION_TOKEN or
 * AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (read here, and it wins over the
 * plain variable, as in the SDKs; call at configuration time only).  Same
 * return values.
 */
int vs_aws_ecs_source_from_env(vs_aws_ecs_source_t *src, char *err,
    size_t err_size);

/*
 * Read an authorization token file (at most out_size - 1 bytes, trailing
 * whitespace stripped, NUL-terminated).  0, or -1 when unreadable or too
 * long.  Blocking file I/O: configuration time or the worker only.
 */
int vs_aws_ecs_read_token_file(const char *path, char *out, size_t out_size,
    size_t *out_len);

/*
 * The complete HTTP/1.1 request for the credentials endpoint (request
 * line, Host, Accept, optional Authorization, Connection: close, blank
 * line), for callers that talk to the endpoint over a raw connection.
 * Returns its length (out is NUL-terminated), or -1 if out_size is too small
 * (VS_AWS_ECS_REQUEST_MAX always suffices).
 */
#define VS_AWS_ECS_REQUEST_MAX  4096
int vs_aws_ecs_request(const vs_aws_ecs_source_t *src, char *out,
    size_t out_size);


/*
 * The provider chain: decided once at configuration time, refreshed (ECS)
 * by the caller.
 */
typedef enum {
    VS_AWS_CREDS_NONE = 0,
    VS_AWS_CREDS_STATIC,                  /* from configuration */
    VS_AWS_CREDS_ENV,
    VS_AWS_CREDS_ECS
} vs_aws_creds_kind_t;

typedef struct {
    vs_aws_creds_kind_t   kind;
    vs_aws_ecs_source_t   ecs;            /* kind == VS_AWS_CREDS_ECS */
    vs_aws_creds_t        creds;          /* current credentials */
    unsigned              have_creds:1;
    unsigned              attempted:1;
    unsigned              pending:1;      /* claimed by should_refresh(),
                                             not yet fetched */
    time_t                last_attempt;   /* last refresh attempt (ECS) */
} vs_aws_provider_t;

/*
 * Resolve the chain: static_creds if non-NULL, else the environment, else
 * the ECS variables.  Returns the kind (VS_AWS_CREDS_NONE when nothing is
 * configured: not an error for callers that do not need AWS), or -1 on a
 * configuration error (reason in err).  For ECS no credentials are held
 * until the first vs_aws_provider_update().
 */
int vs_aws_provider_init(vs_aws_provider_t *p,
    const vs_aws_creds_t *static_creds, char *err, size_t err_size);

/*
 * The credentials to sign with at time now, or NULL when there are none
 * yet or they have expired (the request must then fail with 503, not sign
 * with dead credentials).
 */
const vs_aws_creds_t *vs_aws_provider_get(const vs_aws_provider_t *p,
    time_t now);

/*
 * 1 when the caller should start a refresh now: ECS provider, and either no
 * credentials yet or within VS_AWS_CREDS_REFRESH_AHEAD of Expiration, and
 * no attempt in the last VS_AWS_CREDS_RETRY_AFTER seconds.  Calling it
 * when it returns 1 records the attempt (so concurrent requests start one
 * refresh, not one each).  Always 0 for static and environment credentials.
 */
int vs_aws_provider_should_refresh(vs_aws_provider_t *p, time_t now);

/*
 * Feed the endpoint's response body.  On success the new credentials
 * replace the old (a rotation) and 0 is returned; on a malformed body -1
 * with a reason in err, and the old credentials stay in use until they
 * expire.
 */
int vs_aws_provider_update(vs_aws_provider_t *p, const char *body,
    size_t body_len, char *err, size_t err_size);

#endif
