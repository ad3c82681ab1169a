/*
 * Playback tokens (lib/vs_playback.c): round trip, every single-character
 * and single-byte tamper, truncation and extension, expiry, a wrong key,
 * key rotation, the strict encoding; and the playable file names.
 */
#include "vs_playback.h"
#include "vs_test.h"

#include <stdint.h>
#include <stdlib.h>

#include <openssl/evp.h>


static const char  secret_a[] = "0123456789abcdef0123456789abcdef";  /* 32 */
static const char  secret_b[] = "another key, also 32 bytes long!";
static const char  secret_long[] =
    "a key longer than one SHA-256 block is hashed first, as RFC 2104 says;"
    " this one is 100 bytes long......";

static const char  vid[] = "0f8e6d4c-2b1a-4987-8654-3210fedcba98";
static const char  vid2[] = "11111111-2222-4333-8444-555555555555";
static const char  sub[] = "a1b2c3d4-0000-4000-8000-00000000cafe";


static size_t
b64url_decode_lax(unsigned char *out, const char *in, size_t len)
{
    /* test helper: base64url -> bytes via OpenSSL (adds padding) */
    char   buf[512] = { 0 };
    size_t i, n;
    int    r;

    for (i = 0; i < len; i++) {
        buf[i] = in[i] == '-' ? '+' : in[i] == '_' ? '/' : in[i];
    }
    while (i % 4) {
        buf[i++] = '=';
    }
    r = EVP_DecodeBlock(out, (unsigned char *) buf, (int) i);
    n = (size_t) r;
    if (len % 4 == 2) {
        n -= 2;
    } else if (len % 4 == 3) {
        n -= 1;
    }
    return n;
}


static size_t
b64url_encode(char *out, const unsigned char *in, size_t len)
{
    int     n;
    size_t  i;

    n = EVP_EncodeBlock((unsigned char *) out, in, (int) len);
    while (n > 0 && out[n - 1] == '=') {
        n--;
    }
    out[n] = '\0';
    for (i = 0; i < (size_t) n; i++) {
        out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    }
    return (size_t) n;
}


int
main(void)
{
    vs_play_key_t     ka, kb, kl, keys[2];
    vs_play_claims_t  c;
    char              tok[VS_PLAY_TOKEN_SIZE], t2[VS_PLAY_TOKEN_SIZE];
    char              small[16], longsub[VS_PLAY_SUB_MAX + 2];
    unsigned char     raw[256];
    ssize_t           n, n2;
    size_t            i, rawlen, bad;
    int               b;
    time_t            now = 1800000000, exp = now + 3600;
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    /* keys */
    CHECK(vs_play_key_init(&ka, secret_a, 32) == 0);
    CHECK(vs_play_key_init(&kb, secret_b, 32) == 0);
    CHECK(vs_play_key_init(&kl, secret_long, sizeof(secret_long) - 1) == 0);
    CHECK(vs_play_key_init(&ka, secret_a, 31) == -1);
    CHECK(vs_play_key_init(&ka, NULL, 32) == -1);
    CHECK(vs_play_key_init(&ka, secret_a, 32) == 0);
    CHECK(memcmp(ka.id, kb.id, VS_PLAY_KEY_ID_LEN) != 0);

    /* round trip */
    n = vs_play_token(&ka, vid, 36, sub, sizeof(sub) - 1, exp, tok,
                      sizeof(tok));
    CHECK(n > 0 && (size_t) n == strlen(tok));
    CHECK(n <= VS_PLAY_TOKEN_MAX);
    CHECK(strspn(tok, alphabet) == (size_t) n);   /* URL-safe, no padding */
    printf("token (%zd chars): %s\n", n, tok);

    memset(&c, 0, sizeof(c));
    CHECK(vs_play_verify(&ka, 1, tok, n, now, &c) == VS_PLAY_OK);
    CHECK_STR(c.video_id, vid);
    CHECK_STR(c.sub, sub);
    CHECK(c.sub_len == sizeof(sub) - 1);
    CHECK(c.expires == exp);

    /* the same inputs make the same token; any input change another */
    n2 = vs_play_token(&ka, vid, 36, sub, sizeof(sub) - 1, exp, t2,
                       sizeof(t2));
    CHECK(n2 == n && strcmp(t2, tok) == 0);
    n2 = vs_play_token(&ka, vid2, 36, sub, sizeof(sub) - 1, exp, t2,
                       sizeof(t2));
    CHECK(n2 == n && strcmp(t2, tok) != 0);
    CHECK(vs_play_verify(&ka, 1, t2, n2, now, &c) == VS_PLAY_OK);
    CHECK_STR(c.video_id, vid2);

    /* the layout: version, key id, expiry, id, sub length, sub, mac */
    rawlen = b64url_decode_lax(raw, tok, n);
    CHECK(rawlen == 1 + 4 + 4 + 16 + 1 + (sizeof(sub) - 1) + 32);
    CHECK(raw[0] == VS_PLAY_VERSION);
    CHECK(memcmp(raw + 1, ka.id, 4) == 0);
    CHECK(((uint32_t) raw[5] << 24 | (uint32_t) raw[6] << 16
           | (uint32_t) raw[7] << 8 | raw[8]) == (uint32_t) exp);
    CHECK(raw[9] == 0x0f && raw[10] == 0x8e && raw[24] == 0x98);
    CHECK(raw[25] == sizeof(sub) - 1);
    CHECK(memcmp(raw + 26, sub, sizeof(sub) - 1) == 0);

    /* every single character changed to every other one: rejected */
    bad = 0;
    for (i = 0; i < (size_t) n; i++) {
        const char *a;
        for (a = alphabet; *a; a++) {
            if (*a == tok[i]) {
                continue;
            }
            memcpy(t2, tok, n + 1);
            t2[i] = *a;
            if (vs_play_verify(&ka, 1, t2, n, now, &c) == VS_PLAY_OK) {
                bad++;
                fprintf(stderr, "tamper at %zu to %c accepted\n", i, *a);
            }
        }
        /* a character outside the alphabet */
        memcpy(t2, tok, n + 1);
        t2[i] = '.';
        if (vs_play_verify(&ka, 1, t2, n, now, &c) != VS_PLAY_MALFORMED) {
            bad++;
        }
    }
    CHECK(bad == 0);

    /* every bit of every byte of the binary token flipped: rejected */
    bad = 0;
    for (i = 0; i < rawlen; i++) {
        for (b = 0; b < 8; b++) {
            unsigned char t[256];
            size_t        m;
            memcpy(t, raw, rawlen);
            t[i] ^= (unsigned char) (1 << b);
            m = b64url_encode(t2, t, rawlen);
            if (vs_play_verify(&ka, 1, t2, m, now, &c) == VS_PLAY_OK) {
                bad++;
                fprintf(stderr, "bit %d of byte %zu accepted\n", b, i);
            }
        }
    }
    CHECK(bad == 0);

    /* a re-signed token with another video id needs the key: forged MAC */
    {
        unsigned char t[256];
        size_t        m;
        memcpy(t, raw, rawlen);
        t[9] ^= 1;
        m = b64url_encode(t2, t, rawlen);
        CHECK(vs_play_verify(&ka, 1, t2, m, now, &c) == VS_PLAY_BAD_MAC);
    }

    /* truncation at every length, and extension */
    bad = 0;
    for (i = 0; i < (size_t) n; i++) {
        if (vs_play_verify(&ka, 1, tok, i, now, &c) == VS_PLAY_OK) {
            bad++;
        }
    }
    CHECK(bad == 0);
    memcpy(t2, tok, n);
    memcpy(t2 + n, "AAAA", 5);
    CHECK(vs_play_verify(&ka, 1, t2, n + 4, now, &c) != VS_PLAY_OK);
    t2[n + 1] = '\0';
    CHECK(vs_play_verify(&ka, 1, t2, n + 1, now, &c) == VS_PLAY_MALFORMED);
    CHECK(vs_play_verify(&ka, 1, NULL, 0, now, &c) == VS_PLAY_MALFORMED);
    CHECK(vs_play_verify(&ka, 1, "", 0, now, &c) == VS_PLAY_MALFORMED);

    /* non-canonical encodings of the same bytes are not the token */
    {
        size_t m = (size_t) n;
        CHECK(m % 4 != 0);         /* there are unused bits at the end */
        bad = 0;
        for (i = 0; alphabet[i]; i++) {
            memcpy(t2, tok, m + 1);
            if (alphabet[i] == tok[m - 1]) {
                continue;
            }
            t2[m - 1] = alphabet[i];
            if (b64url_decode_lax(raw + 128, t2, m) == rawlen
                && memcmp(raw + 128, raw, rawlen) == 0
                && vs_play_verify(&ka, 1, t2, m, now, &c) != VS_PLAY_MALFORMED)
            {
                bad++;
            }
        }
        CHECK(bad == 0);
    }

    /* expiry: valid up to the second before, expired at it */
    CHECK(vs_play_verify(&ka, 1, tok, n, exp - 1, &c) == VS_PLAY_OK);
    memset(&c, 0, sizeof(c));
    CHECK(vs_play_verify(&ka, 1, tok, n, exp, &c) == VS_PLAY_EXPIRED);
    CHECK_STR(c.video_id, vid);      /* authentic, but too old */
    CHECK(vs_play_verify(&ka, 1, tok, n, exp + 86400, &c) == VS_PLAY_EXPIRED);

    /* a wrong key: unknown key id; the right id with another secret */
    CHECK(vs_play_verify(&kb, 1, tok, n, now, &c) == VS_PLAY_UNKNOWN_KEY);
    {
        vs_play_key_t forged = kb;
        memcpy(forged.id, ka.id, VS_PLAY_KEY_ID_LEN);
        CHECK(vs_play_verify(&forged, 1, tok, n, now, &c) == VS_PLAY_BAD_MAC);
    }
    CHECK(vs_play_verify(&ka, 0, tok, n, now, &c) == VS_PLAY_UNKNOWN_KEY);

    /* rotation: signed with A; keys [B, A] verify it, [B] does not */
    keys[0] = kb;
    keys[1] = ka;
    CHECK(vs_play_verify(keys, 2, tok, n, now, &c) == VS_PLAY_OK);
    CHECK(vs_play_verify(keys, 1, tok, n, now, &c) == VS_PLAY_UNKNOWN_KEY);
    n2 = vs_play_token(&keys[0], vid, 36, sub, sizeof(sub) - 1, exp, t2,
                       sizeof(t2));
    CHECK(vs_play_verify(keys, 2, t2, n2, now, &c) == VS_PLAY_OK);
    CHECK(vs_play_verify(&ka, 1, t2, n2, now, &c) == VS_PLAY_UNKNOWN_KEY);

    /* a long key */
    n2 = vs_play_token(&kl, vid, 36, sub, sizeof(sub) - 1, exp, t2,
                       sizeof(t2));
    CHECK(vs_play_verify(&kl, 1, t2, n2, now, &c) == VS_PLAY_OK);
    CHECK(vs_play_verify(&ka, 1, t2, n2, now, &c) != VS_PLAY_OK);

    /* minting refuses what it cannot carry */
    CHECK(vs_play_token(&ka, "not-a-uuid", 10, sub, 3, exp, t2, sizeof(t2))
          == -1);
    CHECK(vs_play_token(&ka, "0F8E6D4C-2B1A-4987-8654-3210FEDCBA98", 36, sub,
                        3, exp, t2, sizeof(t2)) == -1);
    CHECK(vs_play_token(&ka, vid, 36, "", 0, exp, t2, sizeof(t2)) == -1);
    CHECK(vs_play_token(&ka, vid, 36, "a/b", 3, exp, t2, sizeof(t2)) == -1);
    CHECK(vs_play_token(&ka, vid, 36, "..", 2, exp, t2, sizeof(t2)) == -1);
    CHECK(vs_play_token(&ka, vid, 36, "a b", 3, exp, t2, sizeof(t2)) == -1);
    CHECK(vs_play_token(&ka, vid, 36, sub, 3, 0, t2, sizeof(t2)) == -1);
    CHECK(vs_play_token(&ka, vid, 36, sub, 3, exp, small, sizeof(small))
          == -1);
    memset(longsub, 'x', sizeof(longsub));
    CHECK(vs_play_token(&ka, vid, 36, longsub, VS_PLAY_SUB_MAX + 1, exp, t2,
                        sizeof(t2)) == -1);
    n2 = vs_play_token(&ka, vid, 36, longsub, VS_PLAY_SUB_MAX, exp, t2,
                       sizeof(t2));
    CHECK(n2 == VS_PLAY_TOKEN_MAX);
    CHECK(vs_play_verify(&ka, 1, t2, n2, now, &c) == VS_PLAY_OK);
    CHECK(c.sub_len == VS_PLAY_SUB_MAX);

    /* the playable files */
#define FT(s) vs_play_file_type(s, sizeof(s) - 1)
    CHECK_STR(FT("video.mp4"), "video/mp4");
    CHECK_STR(FT("thumbnail.jpg"), "image/jpeg");
    CHECK_STR(FT("hls/index.m3u8"), "application/vnd.apple.mpegurl");
    CHECK_STR(FT("hls/720p/stream.m3u8"), "application/vnd.apple.mpegurl");
    CHECK_STR(FT("hls/720p/init.mp4"), "video/mp4");
    CHECK_STR(FT("hls/720p/seg_0.m4s"), "video/iso.segment");
    CHECK_STR(FT("hls/1080p/seg_123456789.m4s"), "video/iso.segment");
    CHECK_STR(FT("hls/360p/seg_17.ts"), "video/mp2t");
    CHECK(FT("") == NULL);
    CHECK(FT("source") == NULL);
    CHECK(FT("video.mp4/") == NULL);
    CHECK(FT("/video.mp4") == NULL);
    CHECK(FT("Video.mp4") == NULL);
    CHECK(FT("video.mp") == NULL);
    CHECK(FT("hls") == NULL);
    CHECK(FT("hls/") == NULL);
    CHECK(FT("hls/index.m3u") == NULL);
    CHECK(FT("hls//stream.m3u8") == NULL);
    CHECK(FT("hls/../stream.m3u8") == NULL);
    CHECK(FT("hls/./stream.m3u8") == NULL);
    CHECK(FT("hls/720p/../../video.mp4") == NULL);
    CHECK(FT("hls/720p/seg_.m4s") == NULL);
    CHECK(FT("hls/720p/seg_1234567890.m4s") == NULL);
    CHECK(FT("hls/720p/seg_1.mp4") == NULL);
    CHECK(FT("hls/720p/seg_1.m4s.bak") == NULL);
    CHECK(FT("hls/720p/seg_-1.ts") == NULL);
    CHECK(FT("hls/720p/sub/seg_1.ts") == NULL);
    CHECK(FT("hls/720p%2Fseg_1.ts") == NULL);
    CHECK(FT("hls/720p/stream.m3u8\0") == NULL);
    CHECK(FT("hls/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/init.mp4") == NULL);
    CHECK_STR(FT("hls/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/init.mp4"), "video/mp4");
    CHECK(vs_play_file_type(NULL, 0) == NULL);

    return VS_TEST_DONE();
}
