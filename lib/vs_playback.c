/*
 * libvidstream: playback tokens and the playable files (vs_playback.h).
 */
#include "vs_playback.h"
#include "vs_keys.h"

#include <stdint.h>
#include <string.h>

#include <openssl/crypto.h>

#include "vs_util.h"


static const char  vs_b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static const char  vs_play_key_label[] = "vidstream-play-key";


int
vs_play_key_init(vs_play_key_t *key, const void *secret, size_t len)
{
    unsigned char  k[64], pad[64], md[SHA256_DIGEST_LENGTH];
    size_t         i;
    SHA256_CTX     sha;

    if (secret == NULL || len < VS_PLAY_KEY_MIN) {
        return -1;
    }

    memset(k, 0, sizeof(k));
    if (len > sizeof(k)) {
        SHA256(secret, len, k);
    } else {
        memcpy(k, secret, len);
    }

    for (i = 0; i < 64; i++) {
        pad[i] = k[i] ^ 0x36;
    }
    SHA256_Init(&key->inner);
    SHA256_Update(&key->inner, pad, 64);

    for (i = 0; i < 64; i++) {
        pad[i] = k[i] ^ 0x5c;
    }
    SHA256_Init(&key->outer);
    SHA256_Update(&key->outer, pad, 64);

    /* a public name for the key: says which one signed, reveals nothing */
    SHA256_Init(&sha);
    SHA256_Update(&sha, vs_play_key_label, sizeof(vs_play_key_label) - 1);
    SHA256_Update(&sha, secret, len);
    SHA256_Final(md, &sha);
    memcpy(key->id, md, VS_PLAY_KEY_ID_LEN);

    OPENSSL_cleanse(k, sizeof(k));
    OPENSSL_cleanse(pad, sizeof(pad));
    OPENSSL_cleanse(&sha, sizeof(sha));

    return 0;
}


static void
vs_play_mac(const vs_play_key_t *key, const unsigned char *msg, size_t len,
    unsigned char out[VS_PLAY_MAC_LEN])
{
    SHA256_CTX     inner, outer;
    unsigned char  md[SHA256_DIGEST_LENGTH];

    inner = key->inner;
    outer = key->outer;

    SHA256_Update(&inner, msg, len);
    SHA256_Final(md, &inner);
    SHA256_Update(&outer, md, sizeof(md));
    SHA256_Final(out, &outer);
}


int
vs_play_sub_valid(const char *sub, size_t len)
{
    size_t  i;

    if (sub == NULL || len == 0 || len > VS_PLAY_SUB_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char) sub[i];

        if (c < 0x21 || c > 0x7e || c == '/' || c == '\\') {
            return 0;
        }
    }

    /* "." and ".." would be dot segments of the S3 key */
    if ((len == 1 && sub[0] == '.')
        || (len == 2 && sub[0] == '.' && sub[1] == '.'))
    {
        return 0;
    }

    return 1;
}


static int
vs_hex(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}


static size_t
vs_b64url_encode(char *out, const unsigned char *in, size_t len)
{
    char    *p = out;
    size_t   i;
    uint32_t v;

    for (i = 0; i + 3 <= len; i += 3) {
        v = (uint32_t) in[i] << 16 | (uint32_t) in[i + 1] << 8 | in[i + 2];
        *p++ = vs_b64url[v >> 18];
        *p++ = vs_b64url[(v >> 12) & 63];
        *p++ = vs_b64url[(v >> 6) & 63];
        *p++ = vs_b64url[v & 63];
    }

    if (len - i == 1) {
        v = (uint32_t) in[i] << 16;
        *p++ = vs_b64url[v >> 18];
        *p++ = vs_b64url[(v >> 12) & 63];

    } else if (len - i == 2) {
        v = (uint32_t) in[i] << 16 | (uint32_t) in[i + 1] << 8;
        *p++ = vs_b64url[v >> 18];
        *p++ = vs_b64url[(v >> 12) & 63];
        *p++ = vs_b64url[(v >> 6) & 63];
    }

    *p = '\0';

    return p - out;
}


static int
vs_b64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '-') {
        return 62;
    }
    if (c == '_') {
        return 63;
    }
    return -1;
}


/*
 * Strict base64url: no padding, and the bits after the last byte must be
 * zero (otherwise "AB" and "AC" would both decode to the same byte).
 * Returns the number of bytes, or -1.
 */
static ssize_t
vs_b64url_decode(unsigned char *out, size_t out_size, const char *in,
    size_t len)
{
    size_t    i, n, rem;
    int       d[4];
    uint32_t  v;

    rem = len % 4;
    if (rem == 1) {
        return -1;
    }

    n = len / 4 * 3 + (rem ? rem - 1 : 0);
    if (n > out_size) {
        return -1;
    }

    n = 0;

    for (i = 0; i + 4 <= len; i += 4) {
        d[0] = vs_b64url_value(in[i]);
        d[1] = vs_b64url_value(in[i + 1]);
        d[2] = vs_b64url_value(in[i + 2]);
        d[3] = vs_b64url_value(in[i + 3]);
        if ((d[0] | d[1] | d[2] | d[3]) < 0) {
            return -1;
        }
        v = (uint32_t) d[0] << 18 | (uint32_t) d[1] << 12
            | (uint32_t) d[2] << 6 | (uint32_t) d[3];
        out[n++] = v >> 16;
        out[n++] = (v >> 8) & 0xff;
        out[n++] = v & 0xff;
    }

    if (rem == 2) {
        d[0] = vs_b64url_value(in[i]);
        d[1] = vs_b64url_value(in[i + 1]);
        if ((d[0] | d[1]) < 0 || (d[1] & 0x0f)) {
            return -1;
        }
        out[n++] = (unsigned char) (d[0] << 2 | d[1] >> 4);

    } else if (rem == 3) {
        d[0] = vs_b64url_value(in[i]);
        d[1] = vs_b64url_value(in[i + 1]);
        d[2] = vs_b64url_value(in[i + 2]);
        if ((d[0] | d[1] | d[2]) < 0 || (d[2] & 0x03)) {
            return -1;
        }
        v = (uint32_t) d[0] << 18 | (uint32_t) d[1] << 12
            | (uint32_t) d[2] << 6;
        out[n++] = v >> 16;
        out[n++] = (v >> 8) & 0xff;
    }

    return (ssize_t) n;
}


ssize_t
vs_play_token(const vs_play_key_t *key, const char *video_id,
    size_t video_id_len, const char *sub, size_t sub_len, time_t expires,
    char *out, size_t out_size)
{
    unsigned char  raw[VS_PLAY_RAW_MAX], *p;
    size_t         i, raw_len;

    if (key == NULL || out == NULL
        || !vs_uuid_valid(video_id, video_id_len)
        || !vs_play_sub_valid(sub, sub_len)
        || expires <= 0 || (uint64_t) expires > UINT32_MAX)
    {
        return -1;
    }

    p = raw;
    *p++ = VS_PLAY_VERSION;
    memcpy(p, key->id, VS_PLAY_KEY_ID_LEN);
    p += VS_PLAY_KEY_ID_LEN;
    *p++ = (unsigned char) ((uint64_t) expires >> 24);
    *p++ = (unsigned char) ((uint64_t) expires >> 16);
    *p++ = (unsigned char) ((uint64_t) expires >> 8);
    *p++ = (unsigned char) expires;

    /* 32 hex digits, the dashes skipped (vs_uuid_valid() checked them) */
    for (i = 0; i < VS_PLAY_UUID_LEN; i++) {
        if (video_id[i] == '-') {
            continue;
        }
        *p++ = (unsigned char) (vs_hex(video_id[i]) << 4
                                | vs_hex(video_id[i + 1]));
        i++;
    }

    *p++ = (unsigned char) sub_len;
    memcpy(p, sub, sub_len);
    p += sub_len;

    vs_play_mac(key, raw, p - raw, p);
    p += VS_PLAY_MAC_LEN;

    raw_len = p - raw;

    if (out_size < (raw_len * 4 + 2) / 3 + 1) {
        return -1;
    }

    return (ssize_t) vs_b64url_encode(out, raw, raw_len);
}


vs_play_status_t
vs_play_verify(const vs_play_key_t *keys, size_t nkeys, const char *token,
    size_t len, time_t now, vs_play_claims_t *claims)
{
    unsigned char         raw[VS_PLAY_RAW_MAX], mac[VS_PLAY_MAC_LEN], *p;
    char                 *u;
    size_t                i, body_len, sub_len;
    ssize_t               n;
    uint32_t              expires;
    const vs_play_key_t  *key;

    static const char     hex[] = "0123456789abcdef";

    if (token == NULL || len < (VS_PLAY_RAW_MIN * 4 + 2) / 3
        || len > VS_PLAY_TOKEN_MAX)
    {
        return VS_PLAY_MALFORMED;
    }

    n = vs_b64url_decode(raw, sizeof(raw), token, len);
    if (n < VS_PLAY_RAW_MIN || raw[0] != VS_PLAY_VERSION) {
        return VS_PLAY_MALFORMED;
    }

    sub_len = raw[1 + VS_PLAY_KEY_ID_LEN + 4 + 16];
    body_len = 1 + VS_PLAY_KEY_ID_LEN + 4 + 16 + 1 + sub_len;

    if (sub_len == 0 || sub_len > VS_PLAY_SUB_MAX
        || (size_t) n != body_len + VS_PLAY_MAC_LEN)
    {
        return VS_PLAY_MALFORMED;
    }

    key = NULL;

    for (i = 0; i < nkeys; i++) {
        if (memcmp(keys[i].id, raw + 1, VS_PLAY_KEY_ID_LEN) == 0) {
            key = &keys[i];
            break;
        }
    }

    if (key == NULL) {
        return VS_PLAY_UNKNOWN_KEY;
    }

    vs_play_mac(key, raw, body_len, mac);

    if (CRYPTO_memcmp(mac, raw + body_len, VS_PLAY_MAC_LEN) != 0) {
        return VS_PLAY_BAD_MAC;
    }

    /* authentic from here on: what the edge itself wrote */

    p = raw + 1 + VS_PLAY_KEY_ID_LEN;
    expires = (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
              | (uint32_t) p[2] << 8 | p[3];
    p += 4;

    u = claims->video_id;
    for (i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            *u++ = '-';
        }
        *u++ = hex[p[i] >> 4];
        *u++ = hex[p[i] & 0x0f];
    }
    *u = '\0';
    p += 16 + 1;

    memcpy(claims->sub, p, sub_len);
    claims->sub[sub_len] = '\0';
    claims->sub_len = sub_len;
    claims->expires = (time_t) expires;

    if ((time_t) expires <= now) {
        return VS_PLAY_EXPIRED;
    }

    return VS_PLAY_OK;
}


const char *
vs_play_status_name(vs_play_status_t status)
{
    switch (status) {
    case VS_PLAY_OK:
        return "ok";
    case VS_PLAY_MALFORMED:
        return "malformed token";
    case VS_PLAY_UNKNOWN_KEY:
        return "token signed by an unknown key";
    case VS_PLAY_BAD_MAC:
        return "token signature mismatch";
    case VS_PLAY_EXPIRED:
        return "token expired";
    }
    return "?";
}


/* 1..max bytes of [A-Za-z0-9_-] */
static size_t
vs_play_name(const char *s, size_t len, size_t max)
{
    size_t  i;

    for (i = 0; i < len && i < max; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '_' || c == '-'))
        {
            break;
        }
    }

    return i;
}


#define VS_LIT(s, len, lit)                                                   \
    ((len) == sizeof(lit) - 1 && memcmp((s), (lit), sizeof(lit) - 1) == 0)


const char *
vs_play_file_type(const char *file, size_t len)
{
    size_t       n;
    const char  *p, *last;

    static const char  m3u8[] = "application/vnd.apple.mpegurl";

    if (file == NULL) {
        return NULL;
    }

    if (VS_LIT(file, len, VS_KEYS_MP4)) {
        return "video/mp4";
    }

    if (VS_LIT(file, len, VS_KEYS_THUMBNAIL)) {
        return "image/jpeg";
    }

    if (VS_LIT(file, len, VS_KEYS_HLS_MASTER)) {
        return m3u8;
    }

    if (len < sizeof(VS_KEYS_HLS_DIR "/") - 1
        || memcmp(file, VS_KEYS_HLS_DIR "/", sizeof(VS_KEYS_HLS_DIR "/") - 1)
           != 0)
    {
        return NULL;
    }

    p = file + sizeof(VS_KEYS_HLS_DIR "/") - 1;
    last = file + len;

    n = vs_play_name(p, last - p, 32);
    if (n == 0 || p + n == last || p[n] != '/') {
        return NULL;
    }

    p += n + 1;
    len = last - p;

    if (VS_LIT(p, len, "stream.m3u8")) {
        return m3u8;
    }

    if (VS_LIT(p, len, "init.mp4")) {
        return "video/mp4";
    }

    if (len < sizeof("seg_") - 1 || memcmp(p, "seg_", 4) != 0) {
        return NULL;
    }

    p += 4;

    for (n = 0; p + n < last && n < 10 && p[n] >= '0' && p[n] <= '9'; n++) {
        /* void */
    }

    if (n == 0 || n > 9) {
        return NULL;
    }

    p += n;
    len = last - p;

    if (VS_LIT(p, len, ".m4s")) {
        return "video/iso.segment";
    }

    if (VS_LIT(p, len, ".ts")) {
        return "video/mp2t";
    }

    return NULL;
}
