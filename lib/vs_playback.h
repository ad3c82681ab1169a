/*
 * libvidstream: playback tokens and the files a token may read
 * (CONTRACT.md sections 3.2 and 4).
 *
 * A token is the base64url (no padding, canonical) of
 *
 *     version   1 byte    VS_PLAY_VERSION
 *     key id    4 bytes   the first bytes of SHA-256("vidstream-play-key"
 *                         || key): which configured key signed it
 *     expires   4 bytes   Unix seconds, big-endian
 *     video id  16 bytes  the UUID, binary
 *     sub len   1 byte    1..VS_PLAY_SUB_MAX
 *     sub       sub len bytes, printable ASCII without '/' and '\'
 *     mac       32 bytes  HMAC-SHA256(key, every byte above)
 *
 * so the edge recovers the owner and the video without a database call and
 * maps /play/<token>/<file> to output/<sub>/<id>/<file>.  The MAC covers
 * the version and the key id too; verification finds the key by its id
 * (so at most one HMAC per token whatever the number of keys), compares
 * in constant time (CRYPTO_memcmp) and only then looks at the expiry.
 * Decoding is strict: a character outside the alphabet, a length that no
 * encoding has, or non-zero unused bits is malformed, so no two strings
 * are the same token.
 *
 * Nothing here allocates: HMAC runs on SHA256_CTX states precomputed from
 * the key once (vs_play_key_init), as in vs_sigv4.c.
 */
#ifndef VS_PLAYBACK_H
#define VS_PLAYBACK_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#ifndef OPENSSL_SUPPRESS_DEPRECATED
#define OPENSSL_SUPPRESS_DEPRECATED 1
#endif
#include <openssl/sha.h>


#define VS_PLAY_VERSION          1
#define VS_PLAY_KEY_MIN          32          /* bytes of secret */
#define VS_PLAY_KEY_ID_LEN       4
#define VS_PLAY_SUB_MAX          128
#define VS_PLAY_MAC_LEN          32
#define VS_PLAY_UUID_LEN         36          /* text form */
#define VS_PLAY_EXPIRES_DEFAULT  3600        /* 1 h */
#define VS_PLAY_EXPIRES_MAX      86400       /* 24 h */

/* the binary token, without and with the largest sub */
#define VS_PLAY_RAW_MIN  (1 + VS_PLAY_KEY_ID_LEN + 4 + 16 + 1 + 1           \
                          + VS_PLAY_MAC_LEN)
#define VS_PLAY_RAW_MAX  (VS_PLAY_RAW_MIN - 1 + VS_PLAY_SUB_MAX)

/* the longest token in characters (base64url, no padding), plus the NUL */
#define VS_PLAY_TOKEN_MAX  ((VS_PLAY_RAW_MAX * 4 + 2) / 3)
#define VS_PLAY_TOKEN_SIZE (VS_PLAY_TOKEN_MAX + 1)


typedef struct {
    SHA256_CTX     inner;                   /* after the ipad block */
    SHA256_CTX     outer;                   /* after the opad block */
    unsigned char  id[VS_PLAY_KEY_ID_LEN];
} vs_play_key_t;

typedef struct {
    char           video_id[VS_PLAY_UUID_LEN + 1];  /* lowercase UUID */
    char           sub[VS_PLAY_SUB_MAX + 1];
    size_t         sub_len;
    time_t         expires;
} vs_play_claims_t;

typedef enum {
    VS_PLAY_OK = 0,
    VS_PLAY_MALFORMED,       /* not a token of this format */
    VS_PLAY_UNKNOWN_KEY,     /* signed by no key configured now */
    VS_PLAY_BAD_MAC,         /* tampered with, or another key's */
    VS_PLAY_EXPIRED
} vs_play_status_t;


/*
 * Prepares a key (at configuration time).  secret: at least VS_PLAY_KEY_MIN
 * bytes (a longer one is hashed first, as RFC 2104 says).  Returns 0, or -1
 * when too short.  The secret itself is not kept.
 */
int vs_play_key_init(vs_play_key_t *key, const void *secret, size_t len);

/* 1 when sub can be carried in a token (and be a key path segment). */
int vs_play_sub_valid(const char *sub, size_t len);

/*
 * Writes the token for (video_id, sub, expires) signed with key into out
 * (NUL-terminated; VS_PLAY_TOKEN_SIZE always suffices).  video_id is the
 * lowercase text UUID.  Returns the length, or -1 on invalid input or a
 * too small out.
 */
ssize_t vs_play_token(const vs_play_key_t *key, const char *video_id,
    size_t video_id_len, const char *sub, size_t sub_len, time_t expires,
    char *out, size_t out_size);

/*
 * Checks token against the nkeys keys at time now; on VS_PLAY_OK fills
 * claims.  claims is also filled for VS_PLAY_EXPIRED (authentic, but too
 * old), never otherwise.
 */
vs_play_status_t vs_play_verify(const vs_play_key_t *keys, size_t nkeys,
    const char *token, size_t len, time_t now, vs_play_claims_t *claims);

/* "ok", "malformed", …: for logs. */
const char *vs_play_status_name(vs_play_status_t status);


/*
 * The files of the output layout a token may read (CONTRACT.md section 4,
 * as the worker writes them: worker/transcode.h):
 *
 *     video.mp4                    video/mp4
 *     thumbnail.jpg                image/jpeg
 *     hls/index.m3u8               application/vnd.apple.mpegurl
 *     hls/<R>/stream.m3u8          application/vnd.apple.mpegurl
 *     hls/<R>/init.mp4             video/mp4
 *     hls/<R>/seg_<N>.m4s          video/iso.segment
 *     hls/<R>/seg_<N>.ts           video/mp2t
 *
 * <R> a rendition directory, 1..32 of [A-Za-z0-9_-] ("720p"); <N> 1..9
 * decimal digits.  Returns the Content-Type, or NULL for anything else
 * (".." and every other dot segment, '%', empty segments, source…).
 */
const char *vs_play_file_type(const char *file, size_t len);

#endif
