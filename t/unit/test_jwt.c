/*
 * The token parser and RS256 verifier of the auth module
 * (ngx_vidstream_module/src/ngx_http_vidstream_jwt_scan.c, _jwk.c and
 * _jwt_verify.c), linked alone:
 *
 *   - base64url, and the split of a compact JWS into its three segments;
 *   - the JSON scanner: every claim it extracts, string escapes, UTF-8,
 *     numbers, the limits it documents, and a differential against
 *     jansson's json_loadb(JSON_REJECT_DUPLICATES) on a list of documents
 *     and on random mutations of them;
 *   - the claim rules: expiry with leeway, issuer, token_use, client id or
 *     audience, sub;
 *   - RS256 against OpenSSL's EVP_DigestVerify() with keys generated at run
 *     time (three sizes, three public exponents): honest signatures, their
 *     corruptions, and blocks put together by hand and signed raw, among
 *     them Bleichenbacher's 2006 forgery layout;
 *   - JWKS documents: the keys kept, the keys skipped and why, thumbprints.
 *
 * The token and the parsed structure live in heap blocks of their exact
 * size, so that valgrind sees any read or write past either.
 */
#include "vs_test.h"
#include "ngx_http_vidstream_jwt.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>


/* n or e of a loaded JWK, compared with want (BN_cmp's result, or 2) */
static int
jwk_cmp(const ngx_http_vidstream_jwk_t *k, const char *name,
    const BIGNUM *want)
{
    int      rc;
    BIGNUM  *have = NULL;

    if (k == NULL || k->pkey == NULL
        || EVP_PKEY_get_bn_param(k->pkey, name, &have) != 1)
    {
        return 2;
    }
    rc = BN_cmp(have, want);
    BN_free(have);
    return rc;
}


/* e of a loaded JWK as a word, or 0 */
static unsigned long
jwk_e(const ngx_http_vidstream_jwk_t *k)
{
    unsigned long  w;
    BIGNUM        *e = NULL;

    if (k == NULL || k->pkey == NULL
        || EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_RSA_E, &e) != 1)
    {
        return 0;
    }
    w = BN_get_word(e);
    BN_free(e);
    return w;
}

#define S(s)  (s), (sizeof(s) - 1)

/* the header of every token whose payload is under test */
#define HDR       "{\"kid\":\"k1\",\"alg\":\"RS256\"}"
#define BAD_JSON  "payload is not a JSON object"
#define BAD_HDR   "header is not a JSON object"

#define ISS       "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCd"
#define NOW       1700000000


static ngx_http_vidstream_jwt_t  *jwt;     /* malloc()ed: ~12 KiB */

/* the token under test: make_token() writes it, parse_token() reads it */
static char            token[32768];
static size_t          token_len;

/* 256 arbitrary bytes, the signature segment of the tokens parsed */
static unsigned char   sig_bytes[256];
static char            sig_b64[400];


/* xorshift64*: the messages and mutations are the same on every run */
static uint64_t  rnd_state = 0x9e3779b97f4a7c15ULL;

static uint32_t
rnd(void)
{
    rnd_state ^= rnd_state >> 12;
    rnd_state ^= rnd_state << 25;
    rnd_state ^= rnd_state >> 27;

    return (uint32_t) ((rnd_state * 2685821657736338717ULL) >> 32);
}


/*
 * base64url without padding, NUL-terminated: OpenSSL's base64 encoder with
 * the alphabet swapped, so that the decoder is not checked against itself;
 * out holds 4 * ((len + 2) / 3) + 1 bytes
 */
static size_t
b64url(char *out, const void *in, size_t len)
{
    int     n;
    size_t  i;

    n = EVP_EncodeBlock((unsigned char *) out, in, (int) len);

    while (n > 0 && out[n - 1] == '=') {
        n--;
    }

    out[n] = '\0';

    for (i = 0; i < (size_t) n; i++) {
        if (out[i] == '+') {
            out[i] = '-';

        } else if (out[i] == '/') {
            out[i] = '_';
        }
    }

    return (size_t) n;
}


/* header.payload.signature into token: the JSON documents are encoded */
static void
make_token_n(const char *hdr, size_t hdr_len, const char *pl, size_t pl_len,
    const char *sig)
{
    char  *p;

    if ((hdr_len + pl_len) / 3 * 4 + strlen(sig) + 16 > sizeof(token)) {
        fprintf(stderr, "make_token: documents too long\n");
        abort();
    }

    p = token;
    p += b64url(p, hdr, hdr_len);
    *p++ = '.';
    p += b64url(p, pl, pl_len);
    *p++ = '.';
    p = stpcpy(p, sig);

    token_len = (size_t) (p - token);
}


static void
make_token(const char *hdr, const char *pl, const char *sig)
{
    make_token_n(hdr, strlen(hdr), pl, strlen(pl), sig);
}


/*
 * Parses token[0..token_len), copied to a block of exactly that size:
 * "ok", or why it was refused ("(no reason)" when *why was left NULL).
 */
static const char *
parse_token(void)
{
    int          rc;
    char        *copy;
    const char  *why;

    copy = malloc(token_len ? token_len : 1);
    if (copy == NULL) {
        abort();
    }

    memcpy(copy, token, token_len);

    why = NULL;
    rc = ngx_http_vidstream_jwt_parse(jwt, copy, token_len, &why);

    free(copy);

    if (rc == 0) {
        return "ok";
    }

    return (rc == -1 && why != NULL) ? why : "(no reason)";
}


/* a token with this payload (and the usual header): "ok" or why not */
static const char *
payload_n(const char *doc, size_t len)
{
    make_token_n(S(HDR), doc, len, sig_b64);
    return parse_token();
}


static const char *
payload(const char *doc)
{
    return payload_n(doc, strlen(doc));
}


/* a token with this header and a payload of {} */
static const char *
header_n(const char *doc, size_t len)
{
    make_token_n(doc, len, S("{}"), sig_b64);
    return parse_token();
}


static const char *
header(const char *doc)
{
    return header_n(doc, strlen(doc));
}


/* doc, escaped, on stderr: the context of a failed check */
static void
dump(const char *what, const char *doc, size_t len)
{
    size_t  i;

    fprintf(stderr, "  %s: \"", what);

    for (i = 0; i < len; i++) {
        unsigned char  c = (unsigned char) doc[i];

        if (c >= 0x20 && c < 0x7f && c != '\\') {
            fputc(c, stderr);

        } else {
            fprintf(stderr, "\\x%02x", c);
        }
    }

    fprintf(stderr, "\"\n");
}


/* got is a or b: the two outcomes a rule allows */
static int
one_of(const char *got, const char *a, const char *b)
{
    if (strcmp(got, a) == 0 || strcmp(got, b) == 0) {
        return 1;
    }

    fprintf(stderr, "  got \"%s\", want \"%s\" or \"%s\"\n", got, a, b);

    return 0;
}


static void
test_b64url(void)
{
    size_t          len, i;
    unsigned char   in[300], out[300];
    char            enc[410];

    CHECK(ngx_http_vidstream_b64url_decode(out, "", 0) == 0);

    CHECK(ngx_http_vidstream_b64url_decode(out, S("Zm9vYmFy")) == 6);
    CHECK(memcmp(out, "foobar", 6) == 0);
    CHECK(ngx_http_vidstream_b64url_decode(out, S("Zm9vYg")) == 4);
    CHECK(memcmp(out, "foob", 4) == 0);
    CHECK(ngx_http_vidstream_b64url_decode(out, S("Zm9vYmE")) == 5);
    CHECK(memcmp(out, "fooba", 5) == 0);

    /* the two characters of the URL alphabet: FB FF */
    CHECK(ngx_http_vidstream_b64url_decode(out, S("-_8")) == 2);
    CHECK(out[0] == 0xfb && out[1] == 0xff);

    /* the standard alphabet's two, padding, impossible lengths */
    CHECK(ngx_http_vidstream_b64url_decode(out, S("+_8")) == -1);
    CHECK(ngx_http_vidstream_b64url_decode(out, S("-/8")) == -1);
    CHECK(ngx_http_vidstream_b64url_decode(out, S("Zm9vYg==")) == -1);
    CHECK(ngx_http_vidstream_b64url_decode(out, S("Zm9vYg=")) == -1);
    CHECK(ngx_http_vidstream_b64url_decode(out, S("Zm9vY")) == -1);
    CHECK(ngx_http_vidstream_b64url_decode(out, S("Z")) == -1);
    CHECK(ngx_http_vidstream_b64url_decode(out, S("Zm9 vYg")) == -1);
    CHECK(ngx_http_vidstream_b64url_decode(out, "Zm\0v", 4) == -1);
    CHECK(ngx_http_vidstream_b64url_decode(out, S("Zm9v\xc3\xa9")) == -1);

    /* the bits left over by a partial group must be zero */
    CHECK(ngx_http_vidstream_b64url_decode(out, S("Zh")) == -1);
    CHECK(ngx_http_vidstream_b64url_decode(out, S("Zg")) == 1);
    CHECK(ngx_http_vidstream_b64url_decode(out, S("Zm9")) == -1);
    CHECK(ngx_http_vidstream_b64url_decode(out, S("Zm8")) == 2);
    CHECK(ngx_http_vidstream_b64url_decode(out, S("AB")) == -1);
    CHECK(ngx_http_vidstream_b64url_decode(out, S("AAB")) == -1);

    /* every length from 0 to 300, random bytes, against OpenSSL's encoder */
    for (len = 0; len <= sizeof(in); len++) {
        for (i = 0; i < len; i++) {
            in[i] = (unsigned char) rnd();
        }

        b64url(enc, in, len);
        CHECK(ngx_http_vidstream_b64url_decode(out, enc, strlen(enc))
              == (long) len);
        CHECK(memcmp(out, in, len) == 0);
    }
}


/* a Cognito access token, and the same payload pretty-printed */
static void
test_cognito(void)
{
    size_t  dot2;

    static const char  pl[] =
        "{\"sub\":\"6f1c3c2e-9b1d-4a51-8f5e-2d7c0a4b9e13\","
        "\"cognito:groups\":[\"a\",\"b\"],"
        "\"iss\":\"" ISS "\","
        "\"version\":2,"
        "\"client_id\":\"3n4b5urk1ft4fl3mg5e62d9ado\","
        "\"origin_jti\":\"0a4e2b4c-7c1d-4ad8-9d9b-3c4c1b2a5e6f\","
        "\"token_use\":\"access\","
        "\"scope\":\"openid profile aws.cognito.signin.user.admin\","
        "\"auth_time\":1700000000,"
        "\"exp\":1700003600,"
        "\"iat\":1700000001,"
        "\"jti\":\"2f8e7a1b-5c3d-4e6f-8a9b-0c1d2e3f4a5b\","
        "\"username\":\"alice\","
        "\"x\":{\"y\":[1,2,{\"z\":null}]}}";

    static const char  pretty[] =
        "\n\t{\r\n  \"sub\" : \"6f1c3c2e-9b1d-4a51-8f5e-2d7c0a4b9e13\" ,\n"
        "  \"iss\":\t\"" ISS "\",\n"
        "  \"token_use\" :\"access\"  ,  \"client_id\": \"c\",\n"
        "  \"x\" : { \"y\" : [ 1 , 2 , { \"z\" : null } ] } ,\n"
        "  \"exp\" : 1700003600 , \"iat\" : 1700000001 ,\n"
        "  \"nbf\" : 1699999999\n} \r\n\t ";

    make_token(HDR, pl, sig_b64);
    CHECK_STR(parse_token(), "ok");

    CHECK_STR(jwt->alg, "RS256");
    CHECK_STR(jwt->kid, "k1");
    CHECK_STR(jwt->sub, "6f1c3c2e-9b1d-4a51-8f5e-2d7c0a4b9e13");
    CHECK(jwt->sub_len == 36);
    CHECK_STR(jwt->iss, ISS);
    CHECK_STR(jwt->token_use, "access");
    CHECK_STR(jwt->client_id, "3n4b5urk1ft4fl3mg5e62d9ado");
    CHECK(jwt->has_exp && jwt->exp == 1700003600);
    CHECK(jwt->has_iat && jwt->iat == 1700000001);
    CHECK(!jwt->has_nbf && jwt->nbf == 0);
    CHECK(!jwt->has_aud && jwt->naud == 0);

    /* the payload as it was encoded, NUL-terminated */
    CHECK(jwt->payload_len == sizeof(pl) - 1);
    CHECK(jwt->payload_text != NULL
          && memcmp(jwt->payload_text, pl, sizeof(pl)) == 0);

    /* what is signed: everything before the second dot */
    dot2 = (size_t) (strchr(strchr(token, '.') + 1, '.') - token);
    CHECK(jwt->signed_len == dot2);
    CHECK(jwt->sig_len == sizeof(sig_bytes));
    CHECK(jwt->sig != NULL
          && memcmp(jwt->sig, sig_bytes, sizeof(sig_bytes)) == 0);

    /* whitespace anywhere JSON allows it; the keys in another order */
    make_token(" {\"alg\" : \"RS256\",\n\"kid\":\"k1\" }\n", pretty, sig_b64);
    CHECK_STR(parse_token(), "ok");
    CHECK_STR(jwt->alg, "RS256");
    CHECK_STR(jwt->kid, "k1");
    CHECK_STR(jwt->sub, "6f1c3c2e-9b1d-4a51-8f5e-2d7c0a4b9e13");
    CHECK_STR(jwt->iss, ISS);
    CHECK_STR(jwt->token_use, "access");
    CHECK_STR(jwt->client_id, "c");
    CHECK(jwt->has_exp && jwt->exp == 1700003600);
    CHECK(jwt->has_iat && jwt->iat == 1700000001);
    CHECK(jwt->has_nbf && jwt->nbf == 1699999999);
    CHECK(jwt->payload_len == sizeof(pretty) - 1);

    /* a second parse leaves nothing of the first behind */
    CHECK_STR(payload("{}"), "ok");
    CHECK(jwt->sub == NULL && jwt->sub_len == 0 && jwt->iss == NULL);
    CHECK(jwt->token_use == NULL && jwt->client_id == NULL);
    CHECK(!jwt->has_exp && !jwt->has_iat && !jwt->has_nbf && !jwt->has_aud);
    CHECK(jwt->exp == 0 && jwt->iat == 0 && jwt->naud == 0);
    CHECK(jwt->payload_len == 2);
    CHECK_STR(jwt->payload_text, "{}");
}


static void
test_escapes(void)
{
    /* the JSON escapes, one after the other */
    CHECK_STR(payload("{\"sub\":\"q\\\"b\\\\s\\/f\\b\\f\\n\\r\\tE\"}"), "ok");
    CHECK(jwt->sub_len == 13
          && memcmp(jwt->sub, "q\"b\\s/f\b\f\n\r\tE", 14) == 0);

    /* \u escapes of 2-, 3- and 4-byte characters (the last a surrogate
     * pair), upper or lower case, then the same characters raw */
    CHECK_STR(payload("{\"iss\":\"\\u00e9\\u20AC\\ud83d\\uDE00|"
                      "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}"), "ok");
    CHECK_STR(jwt->iss, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80|"
                        "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");

    /* the first and last of each UTF-8 length, by escape and raw */
    CHECK_STR(payload("{\"sub\":\"\\u0001\\u007f\\u0080\\u07ff\\u0800"
                      "\\uffff\\ud800\\udc00\\udbff\\udfff\"}"), "ok");
    CHECK(jwt->sub_len == 20
          && memcmp(jwt->sub, "\x01\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80"
                    "\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf", 20)
             == 0);

    CHECK_STR(payload("{\"sub\":\"\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80"
                      "\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf\xf0\x90\x80\x80"
                      "\xf4\x8f\xbf\xbf\"}"), "ok");
    CHECK(jwt->sub_len == 25);

    /* keys are compared decoded: "s\u0075b" is "sub" */
    CHECK_STR(payload("{\"s\\u0075b\":\"k\",\"\\u0069ss\":\"i\"}"), "ok");
    CHECK_STR(jwt->sub, "k");
    CHECK_STR(jwt->iss, "i");

    /* the empty key, an empty sub */
    CHECK_STR(payload("{\"\":1,\"sub\":\"\"}"), "ok");
    CHECK(jwt->sub != NULL && jwt->sub_len == 0 && jwt->sub[0] == '\0');

    /* a string that decodes to its full quoted length minus two */
    CHECK_STR(payload("{\"sub\":\"abcdefghij\"}"), "ok");
    CHECK(jwt->sub_len == 10);
}


/* JSON that jansson refuses, and so does the parser */
static void
test_bad_json(void)
{
    /* surrogates */
    CHECK_STR(payload("{\"sub\":\"\\ud83d\"}"), BAD_JSON);
    CHECK_STR(payload("{\"sub\":\"\\ud83dx\"}"), BAD_JSON);
    CHECK_STR(payload("{\"sub\":\"\\ude00\"}"), BAD_JSON);
    CHECK_STR(payload("{\"sub\":\"\\ud83d\\u0041\"}"), BAD_JSON);
    CHECK_STR(payload("{\"sub\":\"\\ud83d\\ud83d\"}"), BAD_JSON);
    CHECK_STR(payload("{\"sub\":\"\\ud83d\\\"\"}"), BAD_JSON);
    CHECK_STR(payload("{\"sub\":\"\\ud83d\\u"), BAD_JSON);

    /* \u0000: in a value, a key, a nested value, a nested key */
    CHECK_STR(payload("{\"sub\":\"a\\u0000\"}"), BAD_JSON);
    CHECK_STR(payload("{\"a\\u0000\":1}"), BAD_JSON);
    CHECK_STR(payload("{\"x\":{\"y\":[1,\"\\u0000\"]}}"), BAD_JSON);
    CHECK_STR(payload("{\"x\":[{\"\\u0000\":1}]}"), BAD_JSON);

    /* invalid UTF-8 */
    CHECK_STR(payload("{\"sub\":\"\xc0\xaf\"}"), BAD_JSON);
    CHECK_STR(payload("{\"sub\":\"\xc1\xbf\"}"), BAD_JSON);
    CHECK_STR(payload("{\"sub\":\"\xe0\x80\xaf\"}"), BAD_JSON);
    CHECK_STR(payload("{\"sub\":\"\xe0\x9f\xbf\"}"), BAD_JSON);
    CHECK_STR(payload("{\"sub\":\"\xf0\x80\x80\xaf\"}"), BAD_JSON);
    CHECK_STR(payload("{\"sub\":\"\xf0\x8f\xbf\xbf\"}"), BAD_JSON);
    CHECK_STR(payload("{\"sub\":\"\xed\xa0\x80\"}"), BAD_JSON);
    CHECK_STR(payload("{\"sub\":\"\xed\xbf\xbf\"}"), BAD_JSON);
    CHECK_STR(payload("{\"sub\":\"\xf4\x90\x80\x80\"}"), BAD_JSON);
    CHECK_STR(payload("{\"sub\":\"\xf5\x80\x80\x80\"}"), BAD_JSON);
    CHECK_STR(payload("{\"sub\":\"\xe2\x82\"}"), BAD_JSON);
    CHECK_STR(payload("{\"sub\":\"\xf0\x9f\x98\"}"), BAD_JSON);
    CHECK_STR(payload("{\"sub\":\"\xe2\x82x\"}"), BAD_JSON);
    CHECK_STR(payload("{\"sub\":\"\x80\"}"), BAD_JSON);
    CHECK_STR(payload("{\"sub\":\"\xbf\"}"), BAD_JSON);
    CHECK_STR(payload("{\"sub\":\"\xff\"}"), BAD_JSON);
    CHECK_STR(payload("{\"sub\":\"\xfe\"}"), BAD_JSON);
    CHECK_STR(payload("{\"\xff\":1}"), BAD_JSON);
    CHECK_STR(payload("{\"x\":[\"\xc3\"]}"), BAD_JSON);
    CHECK_STR(payload("{\"sub\":\"\xc3"), BAD_JSON);
    CHECK_STR(payload("{\"sub\":\"\xf0\x9f"), BAD_JSON);

    /* raw control characters, DEL is fine */
    CHECK_STR(payload("{\"sub\":\"a\x01\"}"), BAD_JSON);
    CHECK_STR(payload("{\"sub\":\"a\x1f\"}"), BAD_JSON);
    CHECK_STR(payload("{\"sub\":\"a\tb\"}"), BAD_JSON);
    CHECK_STR(payload("{\"sub\":\"a\nb\"}"), BAD_JSON);
    CHECK_STR(payload_n(S("{\"sub\":\"a\0b\"}")), BAD_JSON);
    CHECK_STR(payload("{\"sub\":\"a\x7f\"}"), "ok");

    /* NUL outside strings (jansson's lexer skips one after a number or a
     * literal: {"a":1\0} is an object to it) */
    CHECK_STR(payload_n(S("{\"a\":1\0}")), BAD_JSON);
    CHECK_STR(payload_n(S("{\"a\":true\0}")), BAD_JSON);
    CHECK_STR(payload_n(S("{\"a\":[1.5\0]}")), BAD_JSON);
    CHECK_STR(payload_n(S("{\"a\":\0 1}")), BAD_JSON);

    /* escapes */
    CHECK_STR(payload("{\"sub\":\"\\x41\"}"), BAD_JSON);
    CHECK_STR(payload("{\"sub\":\"\\a\"}"), BAD_JSON);
    CHECK_STR(payload("{\"sub\":\"\\'\"}"), BAD_JSON);
    CHECK_STR(payload("{\"sub\":\"\\U00e9\"}"), BAD_JSON);
    CHECK_STR(payload("{\"sub\":\"\\u12\"}"), BAD_JSON);
    CHECK_STR(payload("{\"sub\":\"\\u12G4\"}"), BAD_JSON);
    CHECK_STR(payload("{\"sub\":\"\\u 123\"}"), BAD_JSON);
    CHECK_STR(payload("{\"sub\":\"\\"), BAD_JSON);
    CHECK_STR(payload("{\"sub\":\"\\u00e"), BAD_JSON);
    CHECK_STR(payload("{\"sub\":\"abc"), BAD_JSON);
    CHECK_STR(payload("{\"sub\":\"abc\\\"}"), BAD_JSON);

    /* duplicate keys, at the top or nested, also when escaped */
    CHECK_STR(payload("{\"sub\":\"a\",\"sub\":\"b\"}"), BAD_JSON);
    CHECK_STR(payload("{\"q\":1,\"q\":1}"), BAD_JSON);
    CHECK_STR(payload("{\"sub\":\"a\",\"s\\u0075b\":\"b\"}"), BAD_JSON);
    CHECK_STR(payload("{\"x\":{\"a\":1,\"b\":2,\"a\":3}}"), BAD_JSON);
    CHECK_STR(payload("{\"x\":[{\"a\":{\"c\":1,\"c\":1}}]}"), BAD_JSON);
    CHECK_STR(payload("{\"a\":1,\"x\":{\"b\":1},\"a\":2}"), BAD_JSON);
    CHECK_STR(payload("{\"\":1,\"\":2}"), BAD_JSON);

    /* a key again in another object is no duplicate */
    CHECK_STR(payload("{\"a\":{\"a\":{\"a\":1}},\"b\":{\"a\":2}}"), "ok");
    CHECK_STR(payload("{\"a\":1,\"x\":{\"b\":1},\"b\":2}"), "ok");
    CHECK_STR(payload("{\"x\":[{\"a\":1},{\"a\":1}],\"a\":1}"), "ok");

    /* trailing data */
    CHECK_STR(payload("{} x"), BAD_JSON);
    CHECK_STR(payload("{}{}"), BAD_JSON);
    CHECK_STR(payload("{},"), BAD_JSON);
    CHECK_STR(payload("{}}"), BAD_JSON);
    CHECK_STR(payload_n(S("{}\0")), BAD_JSON);
    CHECK_STR(payload_n(S("\0{}")), BAD_JSON);
    CHECK_STR(payload("{}\x0c"), BAD_JSON);
    CHECK_STR(payload("\x0b{}"), BAD_JSON);
    CHECK_STR(payload("\xef\xbb\xbf{}"), BAD_JSON);
    CHECK_STR(payload("{}//"), BAD_JSON);
    CHECK_STR(payload("{/**/}"), BAD_JSON);

    /* structure */
    CHECK_STR(payload("{\"a\":1,}"), BAD_JSON);
    CHECK_STR(payload("{\"a\":[1,]}"), BAD_JSON);
    CHECK_STR(payload("{\"a\":[,1]}"), BAD_JSON);
    CHECK_STR(payload("{\"a\":1 \"b\":2}"), BAD_JSON);
    CHECK_STR(payload("{\"a\" 1}"), BAD_JSON);
    CHECK_STR(payload("{\"a\"}"), BAD_JSON);
    CHECK_STR(payload("{\"a\":}"), BAD_JSON);
    CHECK_STR(payload("{,}"), BAD_JSON);
    CHECK_STR(payload("{:1}"), BAD_JSON);
    CHECK_STR(payload("{1:1}"), BAD_JSON);
    CHECK_STR(payload("{\"a\":[1}"), BAD_JSON);
    CHECK_STR(payload("{\"a\":{]}"), BAD_JSON);
    CHECK_STR(payload("{\"a\":[1,2]]}"), BAD_JSON);
    CHECK_STR(payload("{\"a\":1"), BAD_JSON);
    CHECK_STR(payload("{\"a\":[1"), BAD_JSON);
    CHECK_STR(payload("{\"a\":{\"b\":1}"), BAD_JSON);
    CHECK_STR(payload("{"), BAD_JSON);
    CHECK_STR(payload("}"), BAD_JSON);

    /* numbers */
    CHECK_STR(payload("{\"a\":01}"), BAD_JSON);
    CHECK_STR(payload("{\"a\":-01}"), BAD_JSON);
    CHECK_STR(payload("{\"a\":00}"), BAD_JSON);
    CHECK_STR(payload("{\"a\":1.}"), BAD_JSON);
    CHECK_STR(payload("{\"a\":.5}"), BAD_JSON);
    CHECK_STR(payload("{\"a\":-}"), BAD_JSON);
    CHECK_STR(payload("{\"a\":-.5}"), BAD_JSON);
    CHECK_STR(payload("{\"a\":1e}"), BAD_JSON);
    CHECK_STR(payload("{\"a\":1e+}"), BAD_JSON);
    CHECK_STR(payload("{\"a\":1.e5}"), BAD_JSON);
    CHECK_STR(payload("{\"a\":+1}"), BAD_JSON);
    CHECK_STR(payload("{\"a\":--1}"), BAD_JSON);
    CHECK_STR(payload("{\"a\":NaN}"), BAD_JSON);
    CHECK_STR(payload("{\"a\":Infinity}"), BAD_JSON);
    CHECK_STR(payload("{\"a\":-Infinity}"), BAD_JSON);
    CHECK_STR(payload("{\"a\":0x10}"), BAD_JSON);
    CHECK_STR(payload("{\"a\":1 2}"), BAD_JSON);
    CHECK_STR(payload("{\"a\":1-}"), BAD_JSON);
    CHECK_STR(payload("{\"a\":-"), BAD_JSON);
    CHECK_STR(payload("{\"a\":1e5"), BAD_JSON);
    CHECK_STR(payload("{\"a\":-0,\"b\":0.0,\"c\":-0.0e-0,\"d\":1E+2,"
                      "\"e\":123.456e7,\"f\":0e0}"), "ok");

    /* literals */
    CHECK_STR(payload("{\"a\":True}"), BAD_JSON);
    CHECK_STR(payload("{\"a\":nul}"), BAD_JSON);
    CHECK_STR(payload("{\"a\":nulll}"), BAD_JSON);
    CHECK_STR(payload("{\"a\":truefalse}"), BAD_JSON);
    CHECK_STR(payload("{\"a\":tru"), BAD_JSON);
    CHECK_STR(payload("{\"a\":undefined}"), BAD_JSON);
    CHECK_STR(payload("{\"t\":true,\"f\":false,\"n\":null}"), "ok");

    /* quotes and keys */
    CHECK_STR(payload("{'a':1}"), BAD_JSON);
    CHECK_STR(payload("{\"a\":'x'}"), BAD_JSON);
    CHECK_STR(payload("{a:1}"), BAD_JSON);

    /* not an object */
    CHECK_STR(payload("[]"), BAD_JSON);
    CHECK_STR(payload("[{}]"), BAD_JSON);
    CHECK_STR(payload("\"a\""), BAD_JSON);
    CHECK_STR(payload("1"), BAD_JSON);
    CHECK_STR(payload("null"), BAD_JSON);
    CHECK_STR(payload(""), "token has an empty segment");
    CHECK_STR(payload(" \t\r\n"), BAD_JSON);

    /* integers of 64 bits, reals that do not overflow a double */
    CHECK_STR(payload("{\"a\":9223372036854775808}"), BAD_JSON);
    CHECK_STR(payload("{\"a\":-9223372036854775809}"), BAD_JSON);
    CHECK_STR(payload("{\"a\":18446744073709551616}"), BAD_JSON);
    CHECK_STR(payload("{\"a\":99999999999999999999999}"), BAD_JSON);
    CHECK_STR(payload("{\"a\":9223372036854775807}"), "ok");
    CHECK_STR(payload("{\"a\":-9223372036854775808}"), "ok");

    /* dates within +-1e15 s, integers or reals, so a leeway cannot overflow */
    CHECK_STR(payload("{\"exp\":9223372036854775807}"), "exp is not a date");
    CHECK_STR(payload("{\"nbf\":-9223372036854775808}"), "nbf is not a date");
    CHECK_STR(payload("{\"iat\":1000000000000000}"), "iat is not a date");
    CHECK_STR(payload("{\"exp\":999999999999999}"), "ok");
    CHECK(jwt->exp == 999999999999999LL);
    CHECK_STR(payload("{\"exp\":-999999999999999}"), "ok");
    CHECK(jwt->exp == -999999999999999LL);
    CHECK_STR(payload("{\"exp\":-0}"), "ok");
    CHECK(jwt->has_exp && jwt->exp == 0);
    CHECK_STR(payload("{\"a\":1e400}"), BAD_JSON);
    CHECK_STR(payload("{\"a\":-1e400}"), BAD_JSON);
    CHECK_STR(payload("{\"a\":1.8e308}"), BAD_JSON);
    CHECK_STR(payload("{\"a\":1e-400,\"b\":-1e-400,\"c\":1.7e308}"), "ok");
    CHECK_STR(payload("{\"a\":100000000000000000000000000.5}"), "ok");

    /* the same refusals in the header */
    CHECK_STR(header("{\"kid\":\"k\",\"alg\":\"RS256\",}"), BAD_HDR);
    CHECK_STR(header("{\"kid\":\"k\",\"alg\":\"RS256\",\"kid\":\"k\"}"),
              BAD_HDR);
    CHECK_STR(header("{\"kid\":\"\\ud800\",\"alg\":\"RS256\"}"), BAD_HDR);
    CHECK_STR(header("{\"kid\":\"k\",\"alg\":\"RS256\"} "), "ok");
    CHECK_STR(header("{\"kid\":\"k\",\"alg\":\"RS256\"}."), BAD_HDR);
    CHECK_STR(header("[]"), BAD_HDR);
    CHECK_STR(header(""), "token has an empty segment");
}


/* {"a": n arrays around inner} */
static const char *
nested(unsigned n, const char *inner)
{
    size_t  len;
    char    doc[512];

    len = 0;
    len += (size_t) sprintf(doc + len, "{\"a\":");
    memset(doc + len, '[', n);
    len += n;
    len += (size_t) sprintf(doc + len, "%s", inner);
    memset(doc + len, ']', n);
    len += n;
    doc[len++] = '}';

    return payload_n(doc, len);
}


/* "<prefix>0":0,"<prefix>1":1,... (n members) at p */
static char *
members(char *p, const char *prefix, unsigned n)
{
    unsigned  i;

    for (i = 0; i < n; i++) {
        p += sprintf(p, "%s\"%s%u\":%u", i ? "," : "", prefix, i, i);
    }

    return p;
}


/* {"aud":["a0",...,"a<n-1>"]} */
static const char *
auds(unsigned n)
{
    char      doc[1024], *p;
    unsigned  i;

    p = doc + sprintf(doc, "{\"aud\":[");

    for (i = 0; i < n; i++) {
        p += sprintf(p, "%s\"a%u\"", i ? "," : "", i);
    }

    p += sprintf(p, "]}");

    return payload_n(doc, (size_t) (p - doc));
}


/*
 * The limits the parser documents beyond jansson's: depth, members of an
 * object, strings of "aud".
 */
static void
test_limits(void)
{
    char      doc[8192], *p;
    unsigned  i;

    /*
     * Depth: the members of the top-level object are at depth 1, and no
     * value may be deeper than 32; so 31 arrays around a number, or 32
     * around nothing, are the deepest documents.
     */
    CHECK_STR(nested(29, "1"), "ok");
    CHECK_STR(nested(31, "1"), "ok");
    CHECK_STR(nested(32, ""), "ok");
    CHECK_STR(nested(32, "1"), BAD_JSON);
    CHECK_STR(nested(33, ""), BAD_JSON);
    CHECK_STR(nested(40, "1"), BAD_JSON);
    CHECK_STR(nested(200, ""), BAD_JSON);
    CHECK_STR(nested(30, "{\"b\":1}"), "ok");
    CHECK_STR(nested(31, "{\"b\":1}"), BAD_JSON);

    /* objects deep as well as arrays */
    p = doc;
    for (i = 0; i < 31; i++) {
        p += sprintf(p, "{\"k\":");
    }
    p += sprintf(p, "1");
    for (i = 0; i < 31; i++) {
        *p++ = '}';
    }
    CHECK_STR(payload_n(doc, (size_t) (p - doc)), "ok");

    p = doc;
    for (i = 0; i < 34; i++) {
        p += sprintf(p, "{\"k\":");
    }
    p += sprintf(p, "1");
    for (i = 0; i < 34; i++) {
        *p++ = '}';
    }
    CHECK_STR(payload_n(doc, (size_t) (p - doc)), BAD_JSON);

    /* members of the top-level object: 100 and 128, not 129 */
    p = doc;
    *p++ = '{';
    p = members(p, "k", 100);
    *p++ = '}';
    CHECK_STR(payload_n(doc, (size_t) (p - doc)), "ok");

    p = doc;
    *p++ = '{';
    p = members(p, "k", 128);
    *p++ = '}';
    CHECK_STR(payload_n(doc, (size_t) (p - doc)), "ok");

    p = doc;
    *p++ = '{';
    p = members(p, "k", 129);
    *p++ = '}';
    CHECK_STR(payload_n(doc, (size_t) (p - doc)), BAD_JSON);

    /* the claims are found among 128 members */
    p = doc;
    p += sprintf(p, "{\"sub\":\"s\",");
    p = members(p, "k", 126);
    p += sprintf(p, ",\"iss\":\"i\"}");
    CHECK_STR(payload_n(doc, (size_t) (p - doc)), "ok");
    CHECK_STR(jwt->sub, "s");
    CHECK_STR(jwt->iss, "i");

    /* and of a nested object: 129 refused ... */
    p = doc;
    p += sprintf(p, "{\"x\":{");
    p = members(p, "k", 129);
    p += sprintf(p, "}}");
    CHECK_STR(payload_n(doc, (size_t) (p - doc)), BAD_JSON);

    /* ... 128 accepted: "objects of more than 128 members" are refused,
     * and no object here has more */
    p = doc;
    p += sprintf(p, "{\"x\":{");
    p = members(p, "k", 128);
    p += sprintf(p, "}}");
    CHECK_STR(payload_n(doc, (size_t) (p - doc)), "ok");

    /* 100 members, one of them an object of 30: no object has more than
     * 128 members, so jansson's answer stands */
    p = doc;
    *p++ = '{';
    p = members(p, "k", 99);
    p += sprintf(p, ",\"x\":{");
    p = members(p, "n", 30);
    p += sprintf(p, "}}");
    CHECK_STR(payload_n(doc, (size_t) (p - doc)), "ok");

    /* many objects of 100 members one after the other are fine */
    p = doc;
    p += sprintf(p, "{\"x\":{");
    p = members(p, "k", 100);
    p += sprintf(p, "},\"y\":[{");
    p = members(p, "k", 100);
    p += sprintf(p, "}],\"z\":{");
    p = members(p, "k", 100);
    p += sprintf(p, "}}");
    CHECK_STR(payload_n(doc, (size_t) (p - doc)), "ok");

    /* strings of "aud": 16 kept, 17 refused */
    CHECK_STR(auds(16), "ok");
    CHECK(jwt->has_aud && jwt->naud == 16);
    CHECK_STR(jwt->aud[0], "a0");
    CHECK_STR(jwt->aud[15], "a15");
    CHECK_STR(auds(17), "too many audiences");
    CHECK_STR(auds(100), "too many audiences");
    CHECK_STR(auds(0), "ok");
    CHECK(jwt->has_aud && jwt->naud == 0);

    /* only strings count, and only those of the top-level "aud" */
    p = doc;
    p += sprintf(p, "{\"aud\":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,");
    for (i = 0; i < 16; i++) {
        p += sprintf(p, "\"c%u\",null,", i);
    }
    p += sprintf(p, "[\"n1\",\"n2\"],{\"aud\":\"n3\"}]}");
    CHECK_STR(payload_n(doc, (size_t) (p - doc)), "ok");
    CHECK(jwt->naud == 16);
    CHECK_STR(jwt->aud[0], "c0");
    CHECK_STR(jwt->aud[15], "c15");

    CHECK_STR(payload("{\"x\":{\"aud\":[\"a\",\"b\"]},"
                      "\"y\":[{\"aud\":\"c\"}]}"), "ok");
    CHECK(!jwt->has_aud && jwt->naud == 0);

    /* "aud" in the header is nobody's audience */
    CHECK_STR(header("{\"kid\":\"k\",\"alg\":\"RS256\",\"aud\":[\"a0\",\"a1\","
                     "\"a2\",\"a3\",\"a4\",\"a5\",\"a6\",\"a7\",\"a8\",\"a9\","
                     "\"a10\",\"a11\",\"a12\",\"a13\",\"a14\",\"a15\","
                     "\"a16\"]}"), "ok");
    CHECK(jwt->naud == 0);
}


/* claims of the wrong type, the header's members, the segments */
static void
test_claim_types(void)
{
    size_t  len, pad, rest;
    char   *doc;

    /* dates */
    CHECK_STR(payload("{\"exp\":\"123\"}"), "exp is not a date");
    CHECK_STR(payload("{\"exp\":true}"), "exp is not a date");
    CHECK_STR(payload("{\"exp\":null}"), "exp is not a date");
    CHECK_STR(payload("{\"exp\":[1]}"), "exp is not a date");
    CHECK_STR(payload("{\"exp\":{}}"), "exp is not a date");
    CHECK_STR(payload("{\"nbf\":\"1\"}"), "nbf is not a date");
    CHECK_STR(payload("{\"iat\":false}"), "iat is not a date");
    CHECK_STR(payload("{\"exp\":1e16}"), "exp is not a date");
    CHECK_STR(payload("{\"exp\":-1e16}"), "exp is not a date");
    CHECK_STR(payload("{\"nbf\":1e300}"), "nbf is not a date");
    CHECK_STR(payload("{\"iat\":1e15}"), "iat is not a date");

    CHECK_STR(payload("{\"exp\":1.5e9}"), "ok");
    CHECK(jwt->has_exp && jwt->exp == 1500000000);
    CHECK_STR(payload("{\"exp\":1700000000.999}"), "ok");
    CHECK(jwt->exp == 1700000000);
    CHECK_STR(payload("{\"exp\":-1.5}"), "ok");
    CHECK(jwt->exp == -1);
    CHECK_STR(payload("{\"nbf\":999999999999999.0,\"iat\":1e-400}"), "ok");
    CHECK(jwt->has_nbf && jwt->nbf == 999999999999999);
    CHECK(jwt->has_iat && jwt->iat == 0);
    CHECK(!jwt->has_exp);
    CHECK_STR(payload("{\"exp\":1,\"nbf\":-2,\"iat\":3}"), "ok");
    CHECK(jwt->exp == 1 && jwt->nbf == -2 && jwt->iat == 3);
    CHECK(jwt->has_exp && jwt->has_nbf && jwt->has_iat);

    /* string claims */
    CHECK_STR(payload("{\"sub\":5}"), "claim of the wrong type");
    CHECK_STR(payload("{\"sub\":null}"), "claim of the wrong type");
    CHECK_STR(payload("{\"sub\":[\"a\"]}"), "claim of the wrong type");
    CHECK_STR(payload("{\"iss\":{}}"), "claim of the wrong type");
    CHECK_STR(payload("{\"token_use\":true}"), "claim of the wrong type");
    CHECK_STR(payload("{\"client_id\":1.5}"), "claim of the wrong type");

    /* aud: a string or an array */
    CHECK_STR(payload("{\"aud\":5}"), "claim of the wrong type");
    CHECK_STR(payload("{\"aud\":null}"), "claim of the wrong type");
    CHECK_STR(payload("{\"aud\":{\"c1\":1}}"), "claim of the wrong type");
    CHECK_STR(payload("{\"aud\":\"c1\"}"), "ok");
    CHECK(jwt->has_aud && jwt->naud == 1);
    CHECK_STR(jwt->aud[0], "c1");
    CHECK_STR(payload("{\"aud\":[\"c1\",3,\"c2\"]}"), "ok");
    CHECK(jwt->has_aud && jwt->naud == 2);
    CHECK_STR(jwt->aud[0], "c1");
    CHECK_STR(jwt->aud[1], "c2");

    /* claims are only those of the top-level object */
    CHECK_STR(payload("{\"x\":{\"sub\":5,\"exp\":\"no\",\"aud\":1},"
                      "\"y\":[{\"iss\":[]}]}"), "ok");
    CHECK(jwt->sub == NULL && jwt->iss == NULL && !jwt->has_exp);

    /* the header */
    CHECK_STR(header("{\"kid\":\"k1\"}"), "header has no alg");
    CHECK_STR(header("{\"kid\":\"k1\",\"alg\":5}"), "header has no alg");
    CHECK_STR(header("{\"alg\":null,\"kid\":\"k1\"}"), "header has no alg");
    CHECK_STR(header("{\"kid\":\"k1\",\"x\":{\"alg\":\"RS256\"}}"),
              "header has no alg");
    CHECK_STR(header("{\"alg\":\"RS256\"}"), "header has no kid");
    CHECK_STR(header("{\"alg\":\"RS256\",\"kid\":\"\"}"), "header has no kid");
    CHECK_STR(header("{\"alg\":\"RS256\",\"kid\":7}"), "header has no kid");
    CHECK_STR(header("{}"), "header has no alg");
    CHECK_STR(header("{\"alg\":\"RS256\",\"kid\":\"k1\",\"crit\":[]}"),
              "unsupported crit header");
    CHECK_STR(header("{\"alg\":\"RS256\",\"kid\":\"k1\",\"crit\":[\"exp\"]}"),
              "unsupported crit header");
    CHECK_STR(header("{\"alg\":\"RS256\",\"kid\":\"k1\",\"x\":{\"crit\":1}}"),
              "ok");

    /* the parser picks no algorithm: alg is reported as it is */
    CHECK_STR(header("{\"alg\":\"none\",\"kid\":\"k\\u00e9\",\"typ\":\"JWT\","
                     "\"sub\":5,\"exp\":\"x\"}"), "ok");
    CHECK_STR(jwt->alg, "none");
    CHECK_STR(jwt->kid, "k\xc3\xa9");
    CHECK(jwt->sub == NULL && !jwt->has_exp);

    /* segments */
    token_len = 0;
    CHECK_STR(parse_token(), "empty token");

    make_token(HDR, "{}", "");
    CHECK_STR(parse_token(), "ok");                 /* alg "none" style */
    CHECK(jwt->sig_len == 0 && jwt->signed_len == token_len - 1);

    strcpy(token, "eyJhIjoxfQ.e30");
    token_len = strlen(token);
    CHECK_STR(parse_token(), "token does not have three segments");
    strcpy(token, "eyJhIjoxfQ");
    token_len = strlen(token);
    CHECK_STR(parse_token(), "token does not have three segments");
    strcpy(token, "eyJhIjoxfQ.e30.AAAA.AAAA");
    token_len = strlen(token);
    CHECK_STR(parse_token(), "token does not have three segments");
    strcpy(token, "...");
    token_len = strlen(token);
    CHECK_STR(parse_token(), "token does not have three segments");
    strcpy(token, ".e30.AAAA");
    token_len = strlen(token);
    CHECK_STR(parse_token(), "token has an empty segment");
    strcpy(token, "eyJhIjoxfQ..AAAA");
    token_len = strlen(token);
    CHECK_STR(parse_token(), "token has an empty segment");
    strcpy(token, "..");
    token_len = strlen(token);
    CHECK_STR(parse_token(), "token has an empty segment");

    /* base64url refused in each segment in turn */
    {
        static const char  *bad[] = {
            "eyJh+Ijo", "eyJhIjo=", "eyJhIjoxfQ==", "eyJhI", "eyJhIjoxf",
            "AB", "AAB", "eyJh/Ijo", "eyJh Ijo", "eyJh%Ijo", "eyJ\x80"
        };
        char        good_hdr[64], good_pl[16];
        size_t      i;

        b64url(good_hdr, S(HDR));
        b64url(good_pl, S("{}"));

        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            token_len = (size_t) sprintf(token, "%s.%s.%s", bad[i], good_pl,
                                         sig_b64);
            CHECK_STR(parse_token(), "malformed base64url in header");

            token_len = (size_t) sprintf(token, "%s.%s.%s", good_hdr, bad[i],
                                         sig_b64);
            CHECK_STR(parse_token(), "malformed base64url in payload");

            token_len = (size_t) sprintf(token, "%s.%s.%s", good_hdr, good_pl,
                                         bad[i]);
            CHECK_STR(parse_token(), "malformed base64url in signature");
        }
    }

    /*
     * The longest token: 8192 bytes, most of them in one segment or
     * another; one more byte is too many.
     */
    doc = malloc(8192);
    if (doc == NULL) {
        abort();
    }

    /* a long payload */
    for (pad = 6000; ; pad++) {
        len = (size_t) sprintf(doc, "{\"sub\":\"s\",\"pad\":\"");
        memset(doc + len, 'p', pad);
        len += pad;
        len += (size_t) sprintf(doc + len, "\"}");

        make_token_n(S(HDR), doc, len, "");
        rest = NGX_HTTP_VIDSTREAM_JWT_MAX_LEN - token_len;

        if (token_len > NGX_HTTP_VIDSTREAM_JWT_MAX_LEN || rest % 4 != 1) {
            break;
        }
    }

    CHECK(token_len <= NGX_HTTP_VIDSTREAM_JWT_MAX_LEN && rest % 4 != 1);
    memset(token + token_len, 'A', rest);
    token_len += rest;
    CHECK(token_len == NGX_HTTP_VIDSTREAM_JWT_MAX_LEN);
    CHECK_STR(parse_token(), "ok");
    CHECK(jwt->payload_len == len);
    CHECK(jwt->sig_len == rest * 3 / 4);
    CHECK_STR(jwt->sub, "s");

    token[token_len++] = 'A';
    CHECK_STR(parse_token(), "token too large");

    /* a long header */
    len = (size_t) sprintf(doc, "{\"alg\":\"RS256\",\"kid\":\"");
    memset(doc + len, 'k', 6000);
    len += 6000;
    len += (size_t) sprintf(doc + len, "\"}");
    make_token_n(doc, len, S("{\"sub\":\"s\"}"), "");
    rest = NGX_HTTP_VIDSTREAM_JWT_MAX_LEN - token_len;
    if (rest % 4 == 1) {
        rest--;
    }
    memset(token + token_len, 'A', rest);
    token_len += rest;
    CHECK(token_len >= NGX_HTTP_VIDSTREAM_JWT_MAX_LEN - 1);
    CHECK_STR(parse_token(), "ok");
    CHECK(jwt->kid != NULL && strlen(jwt->kid) == 6000);
    CHECK_STR(jwt->sub, "s");

    /* a long signature */
    make_token(HDR, "{\"sub\":\"s\"}", "");
    rest = NGX_HTTP_VIDSTREAM_JWT_MAX_LEN - token_len;
    if (rest % 4 == 1) {
        rest--;
    }
    memset(token + token_len, '_', rest);
    token_len += rest;
    /* "_" is 63: a partial group of "__" or "___" has bits left over */
    if (rest % 4 == 2) {
        token[token_len - 1] = 'w';
    } else if (rest % 4 == 3) {
        token[token_len - 1] = '8';
    }
    CHECK_STR(parse_token(), "ok");
    CHECK(jwt->sig_len == rest * 3 / 4 && jwt->sig[0] == 0xff);

    /* a NUL in the token is only a byte the alphabet does not have */
    make_token(HDR, "{}", sig_b64);
    token[5] = '\0';
    CHECK_STR(parse_token(), "malformed base64url in header");

    free(doc);
}


/*
 * Whether a document jansson accepts falls under a refusal the parser
 * documents: a claim of the wrong type, more than 16 audiences, a value
 * deeper than 32, an object of more than 128 members.
 */
static int
too_deep(json_t *v, unsigned depth)
{
    size_t       i;
    json_t      *m;
    const char  *key;

    if (depth > 32) {
        return 1;
    }

    if (json_is_object(v)) {
        if (json_object_size(v) > 128) {
            return 1;
        }

        json_object_foreach(v, key, m) {
            if (too_deep(m, depth + 1)) {
                return 1;
            }
        }

    } else if (json_is_array(v)) {
        json_array_foreach(v, i, m) {
            if (too_deep(m, depth + 1)) {
                return 1;
            }
        }
    }

    return 0;
}


static int
documented_difference(json_t *doc)
{
    size_t        i, n;
    json_t       *v, *m;
    unsigned      k;
    static const char  *strings[] = { "sub", "iss", "token_use", "client_id" };
    static const char  *dates[] = { "exp", "nbf", "iat" };

    for (k = 0; k < 4; k++) {
        v = json_object_get(doc, strings[k]);
        if (v != NULL && !json_is_string(v)) {
            return 1;
        }
    }

    for (k = 0; k < 3; k++) {
        v = json_object_get(doc, dates[k]);
        if (v != NULL
            && !(json_is_integer(v)
                 && json_integer_value(v) > -1000000000000000LL
                 && json_integer_value(v) < 1000000000000000LL)
            && !(json_is_real(v) && json_real_value(v) > -1e15
                 && json_real_value(v) < 1e15))
        {
            return 1;
        }
    }

    v = json_object_get(doc, "aud");
    if (v != NULL) {
        if (json_is_array(v)) {
            n = 0;
            json_array_foreach(v, i, m) {
                n += json_is_string(m);
            }

            if (n > NGX_HTTP_VIDSTREAM_JWT_MAX_AUD) {
                return 1;
            }

        } else if (!json_is_string(v)) {
            return 1;
        }
    }

    /* the members of the top-level object are at depth 1 */
    return (json_object_size(doc) > 128 || too_deep(doc, 0));
}


/* a string claim the parser extracted is the one jansson sees */
static int
same_string(json_t *doc, const char *name, const char *got, size_t got_len)
{
    json_t  *v;

    v = json_object_get(doc, name);

    if (v == NULL) {
        return got == NULL;
    }

    return got != NULL && json_string_length(v) == got_len
           && memcmp(json_string_value(v), got, got_len) == 0
           && got[got_len] == '\0';
}


/*
 * doc as a payload, then as a header, against jansson: 0 when they agree,
 * else -1 and what disagrees on stderr.  *accepted counts jansson's yes.
 */
static int
differ(const char *doc, size_t len, int *accepted)
{
    int            ok, same;
    size_t         i;
    json_t        *v, *alg, *kid, *m;
    const char    *r;
    json_error_t   err;

    /*
     * The reference: jansson, except that a raw NUL byte, which valid JSON
     * never has, is refused (jansson's lexer skips one that follows a
     * number or a literal, see test_bad_json())
     */
    v = json_loadb(doc, len, JSON_REJECT_DUPLICATES, &err);
    ok = (v != NULL && json_is_object(v) && memchr(doc, '\0', len) == NULL);

    if (ok && documented_difference(v)) {
        json_decref(v);
        return 0;
    }

    *accepted += ok;
    same = 1;

    /* as a payload */

    r = payload_n(doc, len);

    if (!ok) {
        same = (strcmp(r, "ok") != 0 && strcmp(r, "(no reason)") != 0);

    } else if (strcmp(r, "ok") != 0) {
        same = 0;

    } else {
        same = same_string(v, "sub", jwt->sub, jwt->sub_len)
               && same_string(v, "iss", jwt->iss,
                              jwt->iss ? strlen(jwt->iss) : 0)
               && same_string(v, "token_use", jwt->token_use,
                              jwt->token_use ? strlen(jwt->token_use) : 0)
               && same_string(v, "client_id", jwt->client_id,
                              jwt->client_id ? strlen(jwt->client_id) : 0);

        m = json_object_get(v, "exp");
        if (m != NULL) {
            same = same && jwt->has_exp
                   && jwt->exp == (json_is_integer(m)
                                   ? (int64_t) json_integer_value(m)
                                   : (int64_t) json_real_value(m));
        } else {
            same = same && !jwt->has_exp;
        }

        m = json_object_get(v, "aud");
        if (json_is_string(m)) {
            same = same && jwt->naud == 1
                   && strcmp(jwt->aud[0], json_string_value(m)) == 0;

        } else if (json_is_array(m)) {
            size_t   n;
            json_t  *a;

            n = 0;
            json_array_foreach(m, i, a) {
                if (json_is_string(a)) {
                    same = same && n < jwt->naud
                           && strcmp(jwt->aud[n], json_string_value(a)) == 0;
                    n++;
                }
            }

            same = same && n == jwt->naud;

        } else {
            same = same && !jwt->has_aud && jwt->naud == 0;
        }
    }

    if (!same) {
        fprintf(stderr, "jansson %s the payload, the parser says \"%s\"\n",
                ok ? "accepts" : "refuses", r);
        dump("payload", doc, len);
        json_decref(v);
        return -1;
    }

    /*
     * As a header: refused when jansson refuses; when jansson accepts,
     * either parsed with jansson's alg and kid or refused for what alg,
     * kid or crit are, never as bad JSON.
     */

    r = header_n(doc, len);

    if (!ok) {
        same = (strcmp(r, "ok") != 0 && strcmp(r, "(no reason)") != 0);

    } else {
        alg = json_object_get(v, "alg");
        kid = json_object_get(v, "kid");

        if (json_is_string(alg) && json_is_string(kid)
            && json_string_length(kid) > 0
            && json_object_get(v, "crit") == NULL)
        {
            same = strcmp(r, "ok") == 0
                   && same_string(v, "alg", jwt->alg,
                                  jwt->alg ? strlen(jwt->alg) : 0)
                   && same_string(v, "kid", jwt->kid,
                                  jwt->kid ? strlen(jwt->kid) : 0);

        } else {
            same = (strcmp(r, "header has no alg") == 0
                    || strcmp(r, "header has no kid") == 0
                    || strcmp(r, "unsupported crit header") == 0);
        }
    }

    if (!same) {
        fprintf(stderr, "jansson %s the header, the parser says \"%s\"\n",
                ok ? "accepts" : "refuses", r);
        dump("header", doc, len);
    }

    json_decref(v);

    return same ? 0 : -1;
}


typedef struct {
    const char  *doc;
    size_t       len;
} doc_t;

#define D(s)  { (s), sizeof(s) - 1 }

/*
 * None of them falls under a documented difference (checked below); the
 * first DIFF_ACCEPTED are valid, and are the seeds of the mutations.
 */
#define DIFF_ACCEPTED  23

static const doc_t  diff_docs[] = {
    /* jansson accepts */
    D("{}"),
    D(" \t\r\n{ \t\r\n} \t\r\n"),
    D("{\"sub\":\"a\",\"iss\":\"b\",\"token_use\":\"access\","
      "\"client_id\":\"c\",\"exp\":1,\"aud\":\"x\"}"),
    D("{\"sub\":\"\\u00e9\\u20ac\\ud83d\\ude00\"}"),
    D("{\"sub\":\"\\uD83D\\uDE00\\uDBFF\\uDFFF\\uD800\\uDC00\"}"),
    D("{\"iss\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}"),
    D("{\"sub\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"}"),
    D("{\"s\\u0075b\":\"x\",\"iss\":\"\\u0001\"}"),
    D("{\"\":1,\"sub\":\"\"}"),
    D("{\"a\":[],\"b\":{},\"c\":[{}],\"d\":[[[]]],\"e\":[{\"f\":[{}]}]}"),
    D("{\"n\":-0,\"m\":0.0,\"o\":-0.0e-0,\"p\":1E+2,\"q\":1e-400,"
      "\"r\":123.456e7,\"s\":1.7976931348623157e308}"),
    D("{\"i\":-9223372036854775808,\"j\":9223372036854775807}"),
    D("{\"exp\":1.5e9,\"nbf\":-999999999999999.9,\"iat\":0.1}"),
    D("{\"t\":true,\"f\":false,\"z\":null}"),
    D("{\"sub\":\"\\u007f\x7f\"}"),
    D("{\"sub\":\"\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80"
      "\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\"}"),
    D("{\"a\":{\"a\":{\"a\":1}},\"b\":{\"a\":2}}"),
    D("{\"a\":1,\"x\":{\"b\":1},\"b\":2}"),
    D("{\"alg\":\"RS256\",\"kid\":\"k\\u00e9\",\"typ\":\"JWT\"}"),
    D("{\"kid\":\"k1\",\"alg\":\"RS256\",\"x\":{\"crit\":[]}}"),
    D("{\"aud\":[\"c1\",3,\"c2\",null,{\"aud\":\"x\"},[\"y\"]]}"),
    D("{\"aud\":[]}"),
    D("{\"sub\":\"\xe2\x80\xa8\xe2\x80\xa9\xef\xbb\xbf\"}"),
    /* jansson refuses */
    D("{\"sub\":\"\\ud83d\"}"),
    D("{\"sub\":\"\\ude00\"}"),
    D("{\"sub\":\"\\ud83d\\u0041\"}"),
    D("{\"sub\":\"\\ud83d\\ud83d\"}"),
    D("{\"sub\":\"a\\u0000\"}"),
    D("{\"a\\u0000\":1}"),
    D("{\"x\":{\"y\":[\"\\u0000\"]}}"),
    D("{\"sub\":\"\xc0\xaf\"}"),
    D("{\"sub\":\"\xed\xa0\x80\"}"),
    D("{\"sub\":\"\xf4\x90\x80\x80\"}"),
    D("{\"sub\":\"\xe2\x82\"}"),
    D("{\"sub\":\"\x80\"}"),
    D("{\"sub\":\"\xff\"}"),
    D("{\"sub\":\"\xe0\x80\x80\"}"),
    D("{\"sub\":\"\xf0\x80\x80\x80\"}"),
    D("{\"sub\":\"a\x01\"}"),
    D("{\"sub\":\"\t\"}"),
    D("{\"sub\":\"\\x\"}"),
    D("{\"sub\":\"\\u12\"}"),
    D("{\"sub\":\"\\U00e9\"}"),
    D("{\"sub\":\"\\"),
    D("{\"sub\":\"a\",\"sub\":\"b\"}"),
    D("{\"x\":{\"a\":1,\"a\":2}}"),
    D("{\"sub\":\"a\",\"s\\u0075b\":\"b\"}"),
    D("{\"a\":1,\"x\":{\"b\":1},\"a\":2}"),
    D("{} x"),
    D("{}{}"),
    D("{}\0"),
    D("\0{}"),
    D("{\"a\":1\0}"),
    D("{\"m\":true\0}"),
    D("\xef\xbb\xbf{}"),
    D("{}\x0c"),
    D("{\"a\":1,}"),
    D("{\"a\":[1,]}"),
    D("{\"a\":1 \"b\":2}"),
    D("{\"a\"}"),
    D("{,}"),
    D("{\"a\":[1}"),
    D("{\"a\":01}"),
    D("{\"a\":1.}"),
    D("{\"a\":.5}"),
    D("{\"a\":-}"),
    D("{\"a\":1e}"),
    D("{\"a\":+1}"),
    D("{\"a\":NaN}"),
    D("{\"a\":Infinity}"),
    D("{\"a\":True}"),
    D("{\"a\":nulll}"),
    D("{'a':1}"),
    D("{a:1}"),
    D("[]"),
    D("\"a\""),
    D("1"),
    D(""),
    D("{\"a\":9223372036854775808}"),
    D("{\"a\":-9223372036854775809}"),
    D("{\"a\":1e400}"),
    D("{\"a\":-1e400}"),
    D("{/**/}"),
};


/* bytes a mutation puts in: JSON's syntax, and the edges of UTF-8 */
static const unsigned char  mutation_bytes[] = {
    '"', '\\', '{', '}', '[', ']', ',', ':', ' ', '\n', '0', '1', '9', '-',
    '+', '.', 'e', 'E', 'u', 'd', 'a', 'n', 't', 'f', 'l', '/', 'D', '8',
    'c', 0x00, 0x01, 0x1f, 0x7f, 0x80, 0xbf, 0xc0, 0xc2, 0xe0, 0xed, 0xf0,
    0xf4, 0xf5, 0xff
};

static const char  *mutation_strings[] = {
    "\\u", "\\ud83d", "\\ude00", "\\u0000", "\\u00e9", "\"sub\":",
    "\"aud\":[", "\"exp\":", "e400", "9223372036854775808", "\xf0\x9f\x98",
    "\xed\xa0\x80", "{\"a\":1}", "[]", "\"a\",", "true", "null", "\\\""
};


static void
test_jansson(void)
{
    int       accepted, failed;
    size_t    i, j, len, at, n, seeds;
    char      doc[4096];
    json_t   *v;

    /* the list: every document in it is compared */
    accepted = 0;
    failed = 0;

    for (i = 0; i < sizeof(diff_docs) / sizeof(diff_docs[0]); i++) {
        json_error_t  err;

        v = json_loadb(diff_docs[i].doc, diff_docs[i].len,
                       JSON_REJECT_DUPLICATES, &err);
        CHECK(v == NULL || !json_is_object(v) || !documented_difference(v));
        json_decref(v);

        CHECK(differ(diff_docs[i].doc, diff_docs[i].len, &accepted) == 0);
    }

    /* the first DIFF_ACCEPTED documents are those jansson accepts */
    CHECK(accepted == DIFF_ACCEPTED);

    /*
     * Mutations of the documents jansson accepts: bytes replaced, inserted
     * or deleted, snippets inserted, spans repeated.
     */
    seeds = DIFF_ACCEPTED;
    accepted = 0;

    for (i = 0; i < 50000; i++) {
        const doc_t  *seed = &diff_docs[rnd() % seeds];

        memcpy(doc, seed->doc, seed->len);
        len = seed->len;

        for (n = 1 + rnd() % 3; n > 0; n--) {
            at = len ? rnd() % (len + 1) : 0;

            switch (rnd() % 5) {

            case 0:     /* replace */
                if (at < len) {
                    doc[at] = (char) mutation_bytes[rnd()
                                                    % sizeof(mutation_bytes)];
                }
                break;

            case 1:     /* insert a byte */
                memmove(doc + at + 1, doc + at, len - at);
                doc[at] = (char) mutation_bytes[rnd()
                                                % sizeof(mutation_bytes)];
                len++;
                break;

            case 2:     /* delete a byte */
                if (at < len) {
                    memmove(doc + at, doc + at + 1, len - at - 1);
                    len--;
                }
                break;

            case 3:     /* insert a snippet */
            {
                const char  *s;
                size_t       slen;

                s = mutation_strings[rnd() % (sizeof(mutation_strings)
                                               / sizeof(mutation_strings[0]))];
                slen = strlen(s);
                memmove(doc + at + slen, doc + at, len - at);
                memcpy(doc + at, s, slen);
                len += slen;
                break;
            }

            default:    /* repeat a span */
                if (at < len) {
                    j = 1 + rnd() % (len - at);
                    if (j > 64) {
                        j = 64;
                    }
                    memmove(doc + at + j, doc + at, len - at);
                    len += j;
                }
                break;
            }

            if (len > sizeof(doc) - 128) {
                break;
            }
        }

        if (differ(doc, len, &accepted) != 0 && ++failed > 10) {
            break;
        }
    }

    CHECK(failed == 0);

    /* mutations make both valid and invalid documents */
    CHECK(accepted > 5000 && accepted < 45000);
}


/* the token's claims and the policy's rules: "ok" or why not */
typedef struct {
    const char  *iss;           /* JSON values as written, NULL: absent */
    const char  *token_use;
    const char  *client_id;
    const char  *aud;
    const char  *sub;
    const char  *exp;
    const char  *nbf;
    const char  *iat;
} claims_t;


static const char *
check_claims(int id_token, const claims_t *c)
{
    char                             doc[2048], *p;
    const char                      *r, *why;
    ngx_http_vidstream_jwt_policy_t  policy;

    static const char  *ids[] = { "c1", "c2" };

    p = doc;
    *p++ = '{';

#define member(name)                                                        \
    if (c->name != NULL) {                                                  \
        p += sprintf(p, "%s\"" #name "\":%s", p == doc + 1 ? "" : ",",      \
                     c->name);                                              \
    }

    member(iss);
    member(token_use);
    member(client_id);
    member(aud);
    member(sub);
    member(exp);
    member(nbf);
    member(iat);

#undef member

    *p++ = '}';

    r = payload_n(doc, (size_t) (p - doc));
    if (strcmp(r, "ok") != 0) {
        return r;
    }

    policy.issuer = ISS;
    policy.client_ids = ids;
    policy.n_client_ids = 2;
    policy.id_token = id_token;
    policy.leeway = 30;
    policy.now = NOW;

    why = NULL;

    if (ngx_http_vidstream_jwt_check_claims(jwt, &policy, &why) == 0) {
        return "ok";
    }

    return why ? why : "(no reason)";
}


static void
test_check_claims(void)
{
    char      sub[600];
    claims_t  a, c, id;

    /* an access token and an id token that pass */
    memset(&a, 0, sizeof(a));
    a.iss = "\"" ISS "\"";
    a.token_use = "\"access\"";
    a.client_id = "\"c1\"";
    a.sub = "\"6f1c3c2e-9b1d-4a51-8f5e-2d7c0a4b9e13\"";
    a.exp = "1700003600";
    a.iat = "1700000000";

    id = a;
    id.token_use = "\"id\"";
    id.client_id = NULL;
    id.aud = "\"c2\"";

    CHECK_STR(check_claims(0, &a), "ok");
    CHECK_STR(check_claims(1, &id), "ok");

    /* exp: required, and past once exp + leeway <= now */
    c = a; c.exp = NULL;
    CHECK_STR(check_claims(0, &c), "token has no exp");
    c = a; c.exp = "1600000000";
    CHECK_STR(check_claims(0, &c), "token expired");
    c = a; c.exp = "1699999969";                    /* now - 31 */
    CHECK_STR(check_claims(0, &c), "token expired");
    c = a; c.exp = "1699999970";                    /* now - 30 */
    CHECK_STR(check_claims(0, &c), "token expired");
    c = a; c.exp = "1699999971";                    /* within the leeway */
    CHECK_STR(check_claims(0, &c), "ok");
    c = a; c.exp = "1699999990.5";
    CHECK_STR(check_claims(0, &c), "ok");
    c = a; c.exp = "1700000000";
    CHECK_STR(check_claims(0, &c), "ok");
    c = a; c.exp = "-999999999999999";
    CHECK_STR(check_claims(0, &c), "token expired");

    /* nbf and iat: at most the leeway ahead */
    c = a; c.nbf = "1700000031";
    CHECK_STR(check_claims(0, &c), "token not yet valid (nbf)");
    c = a; c.nbf = "1800000000";
    CHECK_STR(check_claims(0, &c), "token not yet valid (nbf)");
    c = a; c.nbf = "1700000030";
    CHECK_STR(check_claims(0, &c), "ok");
    c = a; c.nbf = "1600000000";
    CHECK_STR(check_claims(0, &c), "ok");
    c = a; c.iat = "1700000031";
    CHECK_STR(check_claims(0, &c), "token issued in the future (iat)");
    c = a; c.iat = "1700000030";
    CHECK_STR(check_claims(0, &c), "ok");
    c = a; c.iat = NULL;
    CHECK_STR(check_claims(0, &c), "ok");

    /*
     * Dates at the ends of the 64-bit range: a date that far ahead (exp)
     * or behind (nbf, iat) is no reason to refuse the token, unless the
     * parser refuses such dates altogether, as it does reals of 1e15 and
     * more.  (The comparisons with the leeway must not overflow.)
     */
    c = a; c.exp = "9223372036854775807";
    CHECK(one_of(check_claims(0, &c), "ok", "exp is not a date"));
    c = a; c.exp = "9223372036854775800";
    CHECK(one_of(check_claims(0, &c), "ok", "exp is not a date"));
    c = a; c.nbf = "-9223372036854775808";
    CHECK(one_of(check_claims(0, &c), "ok", "nbf is not a date"));
    c = a; c.iat = "-9223372036854775808";
    CHECK(one_of(check_claims(0, &c), "ok", "iat is not a date"));

    /* issuer */
    c = a; c.iss = "\"" ISS "/\"";
    CHECK_STR(check_claims(0, &c), "wrong issuer");
    c = a; c.iss = "\"https://cognito-idp.eu-west-1.amazonaws.com/\"";
    CHECK_STR(check_claims(0, &c), "wrong issuer");
    c = a; c.iss = "\"\"";
    CHECK_STR(check_claims(0, &c), "wrong issuer");
    c = a; c.iss = NULL;
    CHECK_STR(check_claims(0, &c), "wrong issuer");

    /* token_use */
    c = a; c.token_use = "\"id\"";
    CHECK_STR(check_claims(0, &c), "wrong token_use");
    c = a; c.token_use = "\"Access\"";
    CHECK_STR(check_claims(0, &c), "wrong token_use");
    c = a; c.token_use = NULL;
    CHECK_STR(check_claims(0, &c), "wrong token_use");
    c = id; c.token_use = "\"access\"";
    CHECK_STR(check_claims(1, &c), "wrong token_use");

    /* client_id of an access token */
    c = a; c.client_id = "\"c2\"";
    CHECK_STR(check_claims(0, &c), "ok");
    c = a; c.client_id = "\"c3\"";
    CHECK_STR(check_claims(0, &c), "wrong client_id");
    c = a; c.client_id = "\"c\"";
    CHECK_STR(check_claims(0, &c), "wrong client_id");
    c = a; c.client_id = "\"c1 \"";
    CHECK_STR(check_claims(0, &c), "wrong client_id");
    c = a; c.client_id = NULL;
    CHECK_STR(check_claims(0, &c), "wrong client_id");
    c = a; c.client_id = NULL; c.aud = "\"c1\"";      /* aud is not it */
    CHECK_STR(check_claims(0, &c), "wrong client_id");

    /* aud of an id token */
    c = id; c.aud = "\"c1\"";
    CHECK_STR(check_claims(1, &c), "ok");
    c = id; c.aud = "[\"x\",\"c1\"]";
    CHECK_STR(check_claims(1, &c), "ok");
    c = id; c.aud = "[1,{\"c\":2},\"c2\"]";
    CHECK_STR(check_claims(1, &c), "ok");
    c = id; c.aud = "\"c3\"";
    CHECK_STR(check_claims(1, &c), "wrong audience");
    c = id; c.aud = "[\"x\",\"y\",\"c\"]";
    CHECK_STR(check_claims(1, &c), "wrong audience");
    c = id; c.aud = "[[\"c1\"]]";
    CHECK_STR(check_claims(1, &c), "wrong audience");
    c = id; c.aud = "[]";
    CHECK_STR(check_claims(1, &c), "wrong audience");
    c = id; c.aud = NULL;
    CHECK_STR(check_claims(1, &c), "wrong audience");
    c = id; c.aud = NULL; c.client_id = "\"c1\"";     /* client_id is not */
    CHECK_STR(check_claims(1, &c), "wrong audience");

    /* sub */
    c = a; c.sub = NULL;
    CHECK_STR(check_claims(0, &c), "token has no sub");
    c = a; c.sub = "\"\"";
    CHECK_STR(check_claims(0, &c), "token has no sub");
    c = id; c.sub = NULL;
    CHECK_STR(check_claims(1, &c), "token has no sub");
    c = a; c.sub = "\"a/b\"";
    CHECK_STR(check_claims(0, &c), "sub has invalid characters");
    c = a; c.sub = "\"a\\/b\"";
    CHECK_STR(check_claims(0, &c), "sub has invalid characters");
    c = a; c.sub = "\"a\\\\b\"";
    CHECK_STR(check_claims(0, &c), "sub has invalid characters");
    c = a; c.sub = "\"a\\u0001b\"";
    CHECK_STR(check_claims(0, &c), "sub has invalid characters");
    c = a; c.sub = "\"\\u001f\"";
    CHECK_STR(check_claims(0, &c), "sub has invalid characters");
    c = a; c.sub = "\"a\\nb\"";
    CHECK_STR(check_claims(0, &c), "sub has invalid characters");
    c = a; c.sub = "\"a\x7f\"";
    CHECK_STR(check_claims(0, &c), "sub has invalid characters");
    c = a; c.sub = "\"a b.c-d_e@f+g:\xc3\xa9\"";
    CHECK_STR(check_claims(0, &c), "ok");

    sub[0] = '"';
    memset(sub + 1, 'x', 256);
    strcpy(sub + 257, "\"");
    c = a; c.sub = sub;
    CHECK_STR(check_claims(0, &c), "sub too long");
    CHECK(jwt->sub_len == 256);

    strcpy(sub + 256, "\"");
    CHECK_STR(check_claims(0, &c), "ok");
    CHECK(jwt->sub_len == 255);

    /* 255 bytes, counted decoded: 85 three-byte characters */
    {
        char  *p = sub;
        int    i;

        *p++ = '"';
        for (i = 0; i < 85; i++) {
            p = stpcpy(p, "\\u20ac");
        }
        strcpy(p, "\"");
        CHECK_STR(check_claims(0, &c), "ok");
        CHECK(jwt->sub_len == 255);

        strcpy(p, "x\"");
        CHECK_STR(check_claims(0, &c), "sub too long");
    }

    /* the order: expiry is looked at first, sub last */
    c = a; c.exp = "1"; c.iss = NULL; c.sub = NULL;
    CHECK_STR(check_claims(0, &c), "token expired");
    c = a; c.iss = NULL; c.sub = NULL;
    CHECK_STR(check_claims(0, &c), "wrong issuer");
}


/*
 * RS256
 */

typedef struct {
    const char     *kid;
    int             bits;
    unsigned long   e;              /* 0: EVP_RSA_gen()'s 65537 */
    int             nmsgs;
    EVP_PKEY       *pkey;
    BIGNUM         *n;
    BIGNUM         *pub;
    size_t          k;              /* bytes of n */
    const ngx_http_vidstream_jwk_t  *jwk;
} test_key_t;


static test_key_t  keys[] = {
    { "k1", 2048, 0, 200, NULL, NULL, NULL, 0, NULL },
    { "k2", 2048, 0, 200, NULL, NULL, NULL, 0, NULL },
    { "k3", 2048, 0, 200, NULL, NULL, NULL, 0, NULL },
    /* e = 3: no square-and-multiply step between the first and last bit */
    { "e3", 2048, 3, 100, NULL, NULL, NULL, 0, NULL },
    /* e = 2^32 - 1, the largest accepted: a multiplication at every bit */
    { "e32", 2048, 0xffffffffUL, 100, NULL, NULL, NULL, 0, NULL },
    { "k3072", 3072, 0, 60, NULL, NULL, NULL, 0, NULL },
    { "k4096", 4096, 0, 40, NULL, NULL, NULL, 0, NULL },
};

#define NKEYS  (sizeof(keys) / sizeof(keys[0]))


/* DER of DigestInfo prefixes (RFC 8017 9.2 note 1) */
static const unsigned char  di_sha256[] = {
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03,
    0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20
};

/* the same without the NULL parameters, which RFC 8017 tolerates elsewhere */
static const unsigned char  di_sha256_noparam[] = {
    0x30, 0x2f, 0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03,
    0x04, 0x02, 0x01, 0x04, 0x20
};


static EVP_PKEY *
gen_key(int bits, unsigned long e)
{
    BIGNUM        *bn;
    EVP_PKEY      *pkey;
    EVP_PKEY_CTX  *ctx;

    if (e == 0) {
        return EVP_RSA_gen((unsigned int) bits);
    }

    pkey = NULL;
    bn = BN_new();
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);

    if (bn == NULL || ctx == NULL || !BN_set_word(bn, e)
        || EVP_PKEY_keygen_init(ctx) <= 0
        || EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, bits) <= 0
        || EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, bn) <= 0
        || EVP_PKEY_generate(ctx, &pkey) <= 0)
    {
        pkey = NULL;
    }

    BN_free(bn);
    EVP_PKEY_CTX_free(ctx);

    return pkey;
}


/* PKCS#1 v1.5 signature of msg with md: its length, or 0 */
static size_t
evp_sign(EVP_PKEY *pkey, const EVP_MD *md, const unsigned char *msg,
    size_t len, unsigned char *sig, size_t size)
{
    size_t       siglen;
    EVP_MD_CTX  *mctx;

    siglen = size;
    mctx = EVP_MD_CTX_new();

    if (mctx == NULL
        || EVP_DigestSignInit(mctx, NULL, md, NULL, pkey) != 1
        || EVP_DigestSign(mctx, sig, &siglen, msg, len) != 1)
    {
        siglen = 0;
    }

    EVP_MD_CTX_free(mctx);

    return siglen;
}


/* OpenSSL's RS256 answer: 1 valid, 0 anything else */
static int
evp_verify(EVP_PKEY *pkey, const unsigned char *msg, size_t len,
    const unsigned char *sig, size_t siglen)
{
    int          rc;
    EVP_MD_CTX  *mctx;

    mctx = EVP_MD_CTX_new();

    rc = (mctx != NULL
          && EVP_DigestVerifyInit(mctx, NULL, EVP_sha256(), NULL, pkey) == 1
          && EVP_DigestVerify(mctx, sig, siglen, msg, len) == 1);

    EVP_MD_CTX_free(mctx);

    return rc;
}


/* the private-key operation on a k-byte block, no padding: 0 or -1 */
static int
raw_sign(EVP_PKEY *pkey, const unsigned char *em, size_t k,
    unsigned char *sig)
{
    int            rc;
    size_t         siglen;
    EVP_PKEY_CTX  *ctx;

    siglen = k;
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);

    rc = (ctx != NULL
          && EVP_PKEY_sign_init(ctx) == 1
          && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) == 1
          && EVP_PKEY_sign(ctx, sig, &siglen, em, k) == 1
          && siglen == k) ? 0 : -1;

    EVP_PKEY_CTX_free(ctx);

    return rc;
}


/*
 * EMSA-PKCS1-v1_5 of a digest: 00 01 FF..FF 00 DigestInfo digest, in k
 * bytes; with ps FFs of padding when ps is not 0 (what is left after
 * DigestInfo and digest is then filled with garbage)
 */
static void
emsa(unsigned char *em, size_t k, const unsigned char *di, size_t di_len,
    const unsigned char *digest, size_t digest_len, size_t ps)
{
    size_t  i, at;

    if (ps == 0) {
        ps = k - 3 - di_len - digest_len;
    }

    em[0] = 0x00;
    em[1] = 0x01;
    memset(em + 2, 0xff, ps);
    em[2 + ps] = 0x00;
    at = 3 + ps;
    memcpy(em + at, di, di_len);
    at += di_len;
    memcpy(em + at, digest, digest_len);
    at += digest_len;

    for (i = at; i < k; i++) {
        em[i] = (unsigned char) rnd();
    }
}


/* our answer and OpenSSL's agree, and are both "invalid" */
#define CHECK_BAD(key, msg, len, digest, sig, siglen)                       \
    do {                                                                    \
        int  ours_ = ngx_http_vidstream_jwt_verify_rs256((key)->jwk,        \
                                                         digest, sig,       \
                                                         siglen);           \
        int  evp_ = evp_verify((key)->pkey, msg, len, sig, siglen);         \
        CHECK(ours_ == evp_);                                               \
        CHECK(ours_ == 0);                                                  \
    } while (0)


/* a signed block made by hand: raw signature, then both verifiers */
static int
raw_verify(test_key_t *key, const unsigned char *em, const unsigned char *msg,
    size_t len, const unsigned char *digest, int *evp)
{
    unsigned char  sig[NGX_HTTP_VIDSTREAM_RSA_MAX_BYTES];

    if (raw_sign(key->pkey, em, key->k, sig) != 0) {
        fprintf(stderr, "raw RSA signature failed\n");
        *evp = -1;
        return -1;
    }

    *evp = evp_verify(key->pkey, msg, len, sig, key->k);

    return ngx_http_vidstream_jwt_verify_rs256(key->jwk, digest, sig, key->k);
}


/* the signature: honest, corrupted, or made of hand-made blocks */
static void
test_key(test_key_t *key, test_key_t *other)
{
    int             i, ours, evp, bad, wrapped;
    size_t          len, siglen, k, bit;
    BIGNUM         *bn;
    unsigned char   msg[2001], digest[32], want[32], fdigest[32];
    unsigned char   sig[NGX_HTTP_VIDSTREAM_RSA_MAX_BYTES + 2];
    unsigned char   bad_sig[NGX_HTTP_VIDSTREAM_RSA_MAX_BYTES + 2];
    unsigned char   em[NGX_HTTP_VIDSTREAM_RSA_MAX_BYTES];
    unsigned int    want_len;

    k = key->k;
    siglen = 0;
    len = 0;
    wrapped = 0;

    for (i = 0; i < key->nmsgs; i++) {
        len = rnd() % sizeof(msg);
        for (bit = 0; bit < len; bit++) {
            msg[bit] = (unsigned char) rnd();
        }

        siglen = evp_sign(key->pkey, EVP_sha256(), msg, len, sig, sizeof(sig));
        CHECK(siglen == k);

        /* the digest, as OpenSSL has it */
        CHECK(ngx_http_vidstream_jwt_sha256(msg, len, digest) == 0);
        CHECK(EVP_Digest(msg, len, want, &want_len, EVP_sha256(), NULL) == 1
              && want_len == 32);
        CHECK(memcmp(digest, want, 32) == 0);

        ours = ngx_http_vidstream_jwt_verify_rs256(key->jwk, digest, sig,
                                                   siglen);
        evp = evp_verify(key->pkey, msg, len, sig, siglen);
        CHECK(ours == 1);
        CHECK(ours == evp);

        /* a bit of the signature flipped */
        memcpy(bad_sig, sig, k);
        bit = rnd() % (k * 8);
        bad_sig[bit / 8] ^= (unsigned char) (1 << (bit % 8));
        CHECK_BAD(key, msg, len, digest, bad_sig, k);

        /* a bit of the message flipped: another digest */
        if (len > 0) {
            bit = rnd() % (len * 8);
            msg[bit / 8] ^= (unsigned char) (1 << (bit % 8));
            CHECK(ngx_http_vidstream_jwt_sha256(msg, len, fdigest) == 0);
            CHECK_BAD(key, msg, len, fdigest, sig, k);
            msg[bit / 8] ^= (unsigned char) (1 << (bit % 8));
        }

        /* a bit of the digest flipped */
        memcpy(fdigest, digest, 32);
        fdigest[rnd() % 32] ^= (unsigned char) (1 << (rnd() % 8));
        CHECK(ngx_http_vidstream_jwt_verify_rs256(key->jwk, fdigest, sig, k)
              == 0);

        /*
         * s + n, when it fits in k bytes: the same value modulo n, so only
         * the range check (RSAVP1 step 1) refuses it
         */
        bn = BN_bin2bn(sig, (int) k, NULL);
        CHECK(bn != NULL && BN_add(bn, bn, key->n));

        if (bn != NULL && (size_t) BN_num_bytes(bn) == k) {
            CHECK(BN_bn2binpad(bn, bad_sig, (int) k) == (int) k);
            CHECK_BAD(key, msg, len, digest, bad_sig, k);
            wrapped++;
        }

        BN_free(bn);
    }

    /*
     * s + n fits in k bytes for a fraction (2^8k - n) / n of signatures:
     * a third or so for most keys, but next to none for a modulus close to
     * 2^8k.  Insist on a wrapped case only where nmsgs signatures make
     * missing it practically impossible (expected count >= 20).
     */
    {
        BIGNUM   *room, *permille;
        BN_CTX   *bctx;
        BN_ULONG  pm;

        room = BN_new();
        permille = BN_new();
        bctx = BN_CTX_new();

        /* room = 2^8k - n; permille = 1000 * room / n */
        CHECK(room != NULL && permille != NULL && bctx != NULL
              && BN_set_bit(room, (int) k * 8) && BN_sub(room, room, key->n)
              && BN_mul_word(room, 1000)
              && BN_div(permille, NULL, room, key->n, bctx));

        pm = (permille != NULL) ? BN_get_word(permille) : 0;

        if ((unsigned long) key->nmsgs * pm >= 20 * 1000) {
            CHECK(wrapped > 0);
        }

        BN_free(room);
        BN_free(permille);
        BN_CTX_free(bctx);
    }

    /* from here on: the last message, its digest and its signature */

    CHECK(ngx_http_vidstream_jwt_verify_rs256(key->jwk, digest, sig, k) == 1);

    /* lengths: one byte short or long (a zero either side), none */
    CHECK_BAD(key, msg, len, digest, sig, k - 1);
    CHECK_BAD(key, msg, len, digest, sig + 1, k - 1);
    memmove(bad_sig + 1, sig, k);
    bad_sig[0] = 0;
    CHECK_BAD(key, msg, len, digest, bad_sig, k + 1);
    memcpy(bad_sig, sig, k);
    bad_sig[k] = 0;
    CHECK_BAD(key, msg, len, digest, bad_sig, k + 1);
    CHECK_BAD(key, msg, len, digest, sig, 0);

    /* representatives out of range: n, n + 1, all ones; then 0, 1, n - 1 */
    bn = BN_dup(key->n);
    CHECK(bn != NULL && BN_bn2binpad(bn, bad_sig, (int) k) == (int) k);
    CHECK_BAD(key, msg, len, digest, bad_sig, k);
    CHECK(BN_add_word(bn, 1) && BN_bn2binpad(bn, bad_sig, (int) k) == (int) k);
    CHECK_BAD(key, msg, len, digest, bad_sig, k);
    CHECK(BN_sub_word(bn, 2) && BN_bn2binpad(bn, bad_sig, (int) k) == (int) k);
    CHECK_BAD(key, msg, len, digest, bad_sig, k);
    BN_free(bn);

    memset(bad_sig, 0xff, k);
    CHECK_BAD(key, msg, len, digest, bad_sig, k);
    memset(bad_sig, 0, k);
    CHECK_BAD(key, msg, len, digest, bad_sig, k);
    bad_sig[k - 1] = 1;
    CHECK_BAD(key, msg, len, digest, bad_sig, k);

    /* random values below n */
    for (i = 0; i < 8; i++) {
        for (bit = 0; bit < k; bit++) {
            bad_sig[bit] = (unsigned char) rnd();
        }
        bad_sig[0] &= 0x3f;
        CHECK_BAD(key, msg, len, digest, bad_sig, k);
    }

    /* a signature of the same message by another key */
    siglen = evp_sign(other->pkey, EVP_sha256(), msg, len, bad_sig,
                      sizeof(bad_sig));
    CHECK(siglen == other->k);
    CHECK_BAD(key, msg, len, digest, bad_sig, siglen);
    CHECK(ngx_http_vidstream_jwt_verify_rs256(other->jwk, digest, bad_sig,
                                              siglen) == 1);

    /* signatures of the same message with other hashes */
    siglen = evp_sign(key->pkey, EVP_sha384(), msg, len, bad_sig,
                      sizeof(bad_sig));
    CHECK(siglen == k);
    CHECK_BAD(key, msg, len, digest, bad_sig, k);
    siglen = evp_sign(key->pkey, EVP_sha512(), msg, len, bad_sig,
                      sizeof(bad_sig));
    CHECK(siglen == k);
    CHECK_BAD(key, msg, len, digest, bad_sig, k);
    siglen = evp_sign(key->pkey, EVP_sha1(), msg, len, bad_sig,
                      sizeof(bad_sig));
    CHECK(siglen == k);
    CHECK_BAD(key, msg, len, digest, bad_sig, k);

    /*
     * Hand-made blocks signed raw.  The right one is the signature
     * EVP_DigestSign() makes, byte for byte, and verifies ...
     */
    emsa(em, k, di_sha256, sizeof(di_sha256), digest, 32, 0);
    CHECK(raw_sign(key->pkey, em, k, bad_sig) == 0);
    CHECK(memcmp(bad_sig, sig, k) == 0);
    CHECK(raw_verify(key, em, msg, len, digest, &evp) == 1 && evp == 1);

    /* ... and every block that differs does not */
    bad = 0;

#define CHECK_RAW()                                                         \
    do {                                                                    \
        ours = raw_verify(key, em, msg, len, digest, &evp);                 \
        CHECK(ours == evp);                                                 \
        CHECK(ours == 0);                                                   \
        bad++;                                                              \
    } while (0)

    /* a padding byte FE */
    emsa(em, k, di_sha256, sizeof(di_sha256), digest, 32, 0);
    em[2 + rnd() % (k - 3 - sizeof(di_sha256) - 32)] = 0xfe;
    CHECK_RAW();

    /* block type 2 (encryption), type 0, a non-zero first byte */
    emsa(em, k, di_sha256, sizeof(di_sha256), digest, 32, 0);
    em[1] = 0x02;
    CHECK_RAW();
    emsa(em, k, di_sha256, sizeof(di_sha256), digest, 32, 0);
    em[1] = 0x00;
    CHECK_RAW();
    emsa(em, k, di_sha256, sizeof(di_sha256), digest, 32, 0);
    em[0] = 0x01;
    CHECK_RAW();

    /* no zero after the padding */
    emsa(em, k, di_sha256, sizeof(di_sha256), digest, 32, 0);
    em[k - 3 - sizeof(di_sha256) - 32 + 2] = 0xff;
    CHECK_RAW();

    /*
     * Bleichenbacher'06: short padding, DigestInfo and digest, then
     * garbage to the end of the block (what a parser that stops after the
     * digest accepts; with e = 3 the garbage makes a cube root easy)
     */
    emsa(em, k, di_sha256, sizeof(di_sha256), digest, 32, 8);
    CHECK_RAW();
    emsa(em, k, di_sha256, sizeof(di_sha256), digest, 32, 100);
    CHECK_RAW();
    emsa(em, k, di_sha256, sizeof(di_sha256), digest, 32,
         k - 3 - sizeof(di_sha256) - 32 - 1);
    CHECK_RAW();

    /* a zero byte in front of the block, the padding one shorter */
    emsa(em + 1, k - 1, di_sha256, sizeof(di_sha256), digest, 32, 0);
    em[0] = 0x00;
    CHECK_RAW();

    /* DigestInfo: without NULL parameters; SHA-384's OID; a length off */
    emsa(em, k, di_sha256_noparam, sizeof(di_sha256_noparam), digest, 32, 0);
    CHECK_RAW();
    emsa(em, k, di_sha256, sizeof(di_sha256), digest, 32, 0);
    em[k - 32 - 5] = 0x02;                  /* 2.16.840.1.101.3.4.2.2 */
    CHECK_RAW();
    emsa(em, k, di_sha256, sizeof(di_sha256), digest, 32, 0);
    em[k - 32 - 18] = 0x32;
    CHECK_RAW();
    emsa(em, k, di_sha256, sizeof(di_sha256), digest, 32, 0);
    em[k - 32 - 1] = 0x21;
    CHECK_RAW();

    /* the digest with a byte changed, or of another message */
    emsa(em, k, di_sha256, sizeof(di_sha256), digest, 32, 0);
    em[k - 1 - rnd() % 32] ^= 0x01;
    CHECK_RAW();
    CHECK(ngx_http_vidstream_jwt_sha256("x", 1, fdigest) == 0);
    emsa(em, k, di_sha256, sizeof(di_sha256), fdigest, 32, 0);
    CHECK_RAW();

    /* a padding of zeros instead of FFs */
    emsa(em, k, di_sha256, sizeof(di_sha256), digest, 32, 0);
    memset(em + 2, 0x00, k - 3 - sizeof(di_sha256) - 32);
    CHECK_RAW();

#undef CHECK_RAW

    CHECK(bad == 16);
}


/* the reasons JWKs were skipped for */
typedef struct {
    char    kid[32];
    char    why[64];
} skip_t;

static skip_t   skips[64];
static size_t   nskips;
static int      skip_data;


static void
on_skip(void *data, const char *kid, const char *why)
{
    CHECK(data == &skip_data);

    if (nskips < sizeof(skips) / sizeof(skips[0])) {
        snprintf(skips[nskips].kid, sizeof(skips[0].kid), "%s", kid);
        snprintf(skips[nskips].why, sizeof(skips[0].why), "%s", why);
    }

    nskips++;
}


/* base64url of a BIGNUM's bytes, into a fresh string */
static char *
bn_b64url(const BIGNUM *bn, int extra_zero)
{
    int             n;
    char           *out;
    unsigned char  *bin;

    n = BN_num_bytes(bn);
    bin = calloc(1, (size_t) n + 1);
    out = malloc(((size_t) n + 3) / 3 * 4 + 8);

    if (bin == NULL || out == NULL) {
        abort();
    }

    BN_bn2bin(bn, bin + extra_zero);
    b64url(out, bin, (size_t) n + (size_t) extra_zero);
    free(bin);

    return out;
}


/* a JWK: NULL members are left out */
static json_t *
jwk(const char *kty, const char *kid, const char *alg, const char *use,
    const char *n, const char *e)
{
    json_t  *o;

    o = json_object();

    if (kty) {
        json_object_set_new(o, "kty", json_string(kty));
    }
    if (kid) {
        json_object_set_new(o, "kid", json_string(kid));
    }
    if (alg) {
        json_object_set_new(o, "alg", json_string(alg));
    }
    if (use) {
        json_object_set_new(o, "use", json_string(use));
    }
    if (n) {
        json_object_set_new(o, "n", json_string(n));
    }
    if (e) {
        json_object_set_new(o, "e", json_string(e));
    }

    return o;
}


/* jwks_parse() of a document: the key set, or NULL with *why */
static ngx_http_vidstream_jwks_t *
jwks_of(const char *text, const char **why)
{
    *why = NULL;
    nskips = 0;

    return ngx_http_vidstream_jwks_parse(text, strlen(text), on_skip,
                                         &skip_data, why);
}


static void
test_jwks_documents(void)
{
    size_t                      i;
    char                       *text, *p;
    const char                 *why;
    ngx_http_vidstream_jwks_t  *jwks;

    /* documents that are not a JWKS */
    CHECK(jwks_of("[]", &why) == NULL);
    CHECK_STR(why, "JWKS is not a JSON object");
    CHECK(jwks_of("{\"keys\":[]", &why) == NULL);
    CHECK_STR(why, "JWKS is not a JSON object");
    CHECK(jwks_of("", &why) == NULL);
    CHECK_STR(why, "JWKS is not a JSON object");
    CHECK(jwks_of("{\"keys\":[],\"keys\":[]}", &why) == NULL);
    CHECK_STR(why, "JWKS is not a JSON object");
    CHECK(jwks_of("{}", &why) == NULL);
    CHECK_STR(why, "JWKS has no \"keys\" array");
    CHECK(jwks_of("{\"keys\":{}}", &why) == NULL);
    CHECK_STR(why, "JWKS has no \"keys\" array");
    CHECK(jwks_of("{\"Keys\":[]}", &why) == NULL);
    CHECK_STR(why, "JWKS has no \"keys\" array");

    /* more keys than anyone publishes */
    text = malloc(64 * 1024);
    if (text == NULL) {
        abort();
    }

    p = text + sprintf(text, "{\"keys\":[");
    for (i = 0; i < NGX_HTTP_VIDSTREAM_JWKS_MAX_KEYS + 1; i++) {
        p += sprintf(p, "%s{\"kty\":\"EC\",\"kid\":\"%zu\"}", i ? "," : "", i);
    }
    strcpy(p, "]}");
    CHECK(jwks_of(text, &why) == NULL);
    CHECK_STR(why, "JWKS has too many keys");

    /* 64 are not too many, even if none is usable */
    p = text + sprintf(text, "{\"keys\":[");
    for (i = 0; i < NGX_HTTP_VIDSTREAM_JWKS_MAX_KEYS; i++) {
        p += sprintf(p, "%s{\"kty\":\"EC\",\"kid\":\"%zu\"}", i ? "," : "", i);
    }
    strcpy(p, "]}");
    jwks = jwks_of(text, &why);
    CHECK(jwks != NULL && jwks->nkeys == 0);
    CHECK(nskips == NGX_HTTP_VIDSTREAM_JWKS_MAX_KEYS);
    CHECK_STR(skips[63].kid, "63");
    CHECK_STR(skips[63].why, "kty is not RSA");
    ngx_http_vidstream_jwks_free(jwks);
    free(text);

    /* an empty key set is one */
    jwks = jwks_of("{\"keys\":[]}", &why);
    CHECK(jwks != NULL && jwks->nkeys == 0 && nskips == 0);
    CHECK(ngx_http_vidstream_jwks_find(jwks, "k1") == NULL);
    ngx_http_vidstream_jwks_free(jwks);

    CHECK(ngx_http_vidstream_jwks_find(NULL, "k1") == NULL);
    ngx_http_vidstream_jwks_free(NULL);
}


/* the JWKS of the generated keys, and JWKs to skip around them */
static ngx_http_vidstream_jwks_t *
make_jwks(void)
{
    size_t                      i;
    char                       *n, *e, *text, *n1, *e1, *n_odd;
    const char                 *why;
    json_t                     *doc, *arr;
    unsigned char               bin[1100];
    ngx_http_vidstream_jwks_t  *jwks;

    doc = json_object();
    arr = json_array();
    json_object_set_new(doc, "keys", arr);

    /* a non-object and a key of another type first */
    json_array_append_new(arr, json_string("k1"));
    json_array_append_new(arr, jwk("EC", "ec", "ES256", "sig", NULL, NULL));

    for (i = 0; i < NKEYS; i++) {
        n = bn_b64url(keys[i].n, 0);
        e = bn_b64url(keys[i].pub, 0);
        /* alg and use are optional: "e3" has neither */
        json_array_append_new(arr, jwk("RSA", keys[i].kid,
                                       i == 3 ? NULL : "RS256",
                                       i == 3 ? NULL : "sig", n, e));
        free(n);
        free(e);
    }

    n1 = bn_b64url(keys[0].n, 0);
    e1 = bn_b64url(keys[0].pub, 0);

    /* k1's key again under another kid, and another key under k1 */
    json_array_append_new(arr, jwk("RSA", "k1-again", "RS256", "sig", n1,
                                   e1));
    n = bn_b64url(keys[1].n, 0);
    json_array_append_new(arr, jwk("RSA", "k1", "RS256", "sig", n, e1));
    free(n);

    /* k1's modulus with another exponent: another key */
    json_array_append_new(arr, jwk("RSA", "k1-e3", "RS256", "sig", n1, "Aw"));

    /* unusable: type, use, alg, kid */
    json_array_append_new(arr, jwk("oct", "oct", NULL, NULL, n1, e1));
    json_array_append_new(arr, jwk(NULL, "nokty", NULL, NULL, n1, e1));
    json_array_append_new(arr, jwk("rsa", "lower", NULL, NULL, n1, e1));
    json_array_append_new(arr, jwk("RSA", "enc", "RS256", "enc", n1, e1));
    json_array_append_new(arr, jwk("RSA", "rs384", "RS384", "sig", n1, e1));
    json_array_append_new(arr, jwk("RSA", "hs256", "HS256", NULL, n1, e1));
    json_array_append_new(arr, jwk("RSA", NULL, "RS256", "sig", n1, e1));
    json_array_append_new(arr, jwk("RSA", "", "RS256", "sig", n1, e1));

    /* moduli: 1024 and 8200 bits, 2047 bits, even, malformed, absent */
    CHECK(BN_bn2bin(keys[0].n, bin) == 256);
    n = malloc(2048);
    if (n == NULL) {
        abort();
    }

    b64url(n, bin, 128);
    json_array_append_new(arr, jwk("RSA", "n1024", NULL, NULL, n, e1));

    memset(bin + 256, 0x5b, sizeof(bin) - 256);
    bin[1024] |= 1;
    b64url(n, bin, 1025);
    json_array_append_new(arr, jwk("RSA", "n8200", NULL, NULL, n, e1));

    b64url(n, bin, 1024);                    /* 8192 bits: accepted */
    n_odd = strdup(n);

    bin[0] >>= 1;                            /* 2047 bits */
    bin[255] |= 1;
    b64url(n, bin, 256);
    json_array_append_new(arr, jwk("RSA", "n2047", NULL, NULL, n, e1));

    CHECK(BN_bn2bin(keys[0].n, bin) == 256);
    bin[255] &= 0xfe;
    b64url(n, bin, 256);
    json_array_append_new(arr, jwk("RSA", "neven", NULL, NULL, n, e1));

    strcpy(n, n1);
    n[10] = '+';
    json_array_append_new(arr, jwk("RSA", "nplus", NULL, NULL, n, e1));
    strcpy(n, n1);
    strcat(n, "=");
    json_array_append_new(arr, jwk("RSA", "npad", NULL, NULL, n, e1));
    json_array_append_new(arr, jwk("RSA", "nempty", NULL, NULL, "", e1));
    json_array_append_new(arr, jwk("RSA", "nnone", NULL, NULL, NULL, e1));
    free(n);

    /* exponents: 1, even, 0, beyond 32 bits, missing, malformed */
    json_array_append_new(arr, jwk("RSA", "e1", NULL, NULL, n1, "AQ"));
    json_array_append_new(arr, jwk("RSA", "eeven", NULL, NULL, n1, "AQAA"));
    json_array_append_new(arr, jwk("RSA", "e0", NULL, NULL, n1, "AA"));
    json_array_append_new(arr, jwk("RSA", "e33", NULL, NULL, n1,
                                   "AQAAAAE"));
    json_array_append_new(arr, jwk("RSA", "enone", NULL, NULL, n1, NULL));
    json_array_append_new(arr, jwk("RSA", "ebad", NULL, NULL, n1, "AQ+B"));

    /* a kid that was skipped is free to be used by a usable key */
    json_array_append_new(arr, jwk("RSA", "enc", NULL, NULL, n1, e1));

    /* the largest modulus, with the largest exponent */
    json_array_append_new(arr, jwk("RSA", "n8192", NULL, NULL, n_odd,
                                   "_____w"));
    free(n_odd);

    free(n1);
    free(e1);

    text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);

    if (text == NULL) {
        abort();
    }

    nskips = 0;
    why = NULL;
    jwks = ngx_http_vidstream_jwks_parse(text, strlen(text), on_skip,
                                         &skip_data, &why);
    free(text);

    CHECK(jwks != NULL);
    CHECK(why == NULL);

    return jwks;
}


static void
test_rs256(void)
{
    size_t                           i, j;
    const ngx_http_vidstream_jwk_t  *k;
    ngx_http_vidstream_jwks_t       *jwks;

    static const struct {
        const char  *kid;
        const char  *why;
    } skipped[] = {
        { "", "not an object" },
        { "ec", "kty is not RSA" },
        { "k1", "duplicate kid" },
        { "oct", "kty is not RSA" },
        { "nokty", "kty is not RSA" },
        { "lower", "kty is not RSA" },
        { "enc", "use is not sig" },
        { "rs384", "alg is not RS256" },
        { "hs256", "alg is not RS256" },
        { "", "no kid" },
        { "", "no kid" },
        { "n1024", "modulus not between 2048 and 8192 bits" },
        { "n8200", "modulus not between 2048 and 8192 bits" },
        { "n2047", "modulus not between 2048 and 8192 bits" },
        { "neven", "even modulus" },
        { "nplus", "malformed n or e" },
        { "npad", "malformed n or e" },
        { "nempty", "malformed n or e" },
        { "nnone", "malformed n or e" },
        { "e1", "bad public exponent" },
        { "eeven", "bad public exponent" },
        { "e0", "bad public exponent" },
        { "e33", "bad public exponent" },
        { "enone", "malformed n or e" },
        { "ebad", "malformed n or e" },
    };

    for (i = 0; i < NKEYS; i++) {
        keys[i].pkey = gen_key(keys[i].bits, keys[i].e);
        CHECK(keys[i].pkey != NULL);

        if (keys[i].pkey == NULL) {
            return;
        }

        CHECK(EVP_PKEY_get_bn_param(keys[i].pkey, OSSL_PKEY_PARAM_RSA_N,
                                    &keys[i].n) == 1);
        CHECK(EVP_PKEY_get_bn_param(keys[i].pkey, OSSL_PKEY_PARAM_RSA_E,
                                    &keys[i].pub) == 1);
        keys[i].k = (size_t) BN_num_bytes(keys[i].n);
        CHECK(keys[i].k == (size_t) keys[i].bits / 8);
    }

    jwks = make_jwks();
    if (jwks == NULL) {
        return;
    }

    /* the keys kept: the generated ones, k1's under "k1-again", ... */
    CHECK(jwks->nkeys == NKEYS + 4);

    for (i = 0; i < NKEYS; i++) {
        k = ngx_http_vidstream_jwks_find(jwks, keys[i].kid);
        keys[i].jwk = k;
        CHECK(k != NULL);

        if (k == NULL) {
            return;
        }

        CHECK_STR(k->kid, keys[i].kid);
        CHECK(k->kid != keys[i].kid);
        CHECK(k->n_len == keys[i].k);
        CHECK(jwk_cmp(k, OSSL_PKEY_PARAM_RSA_N, keys[i].n) == 0);
        CHECK(jwk_cmp(k, OSSL_PKEY_PARAM_RSA_E, keys[i].pub) == 0);
        CHECK(k->pkey != NULL && k->verify != NULL);
    }

    CHECK(jwk_e(keys[3].jwk) == 3);
    CHECK(jwk_e(keys[4].jwk) == 0xffffffffUL);

    /* ... "enc" with a usable key, the 8192-bit modulus */
    k = ngx_http_vidstream_jwks_find(jwks, "enc");
    CHECK(k != NULL && jwk_cmp(k, OSSL_PKEY_PARAM_RSA_N, keys[0].n) == 0);
    k = ngx_http_vidstream_jwks_find(jwks, "n8192");
    CHECK(k != NULL && k->n_len == 1024
          && EVP_PKEY_get_bits(k->pkey) == 8192);
    CHECK(k != NULL && jwk_e(k) == 0xffffffffUL);

    /* what was skipped, in order, and why */
    CHECK(nskips == sizeof(skipped) / sizeof(skipped[0]));

    for (i = 0; i < nskips && i < sizeof(skipped) / sizeof(skipped[0]); i++) {
        CHECK_STR(skips[i].kid, skipped[i].kid);
        CHECK_STR(skips[i].why, skipped[i].why);
    }

    for (i = 0; i < sizeof(skipped) / sizeof(skipped[0]); i++) {
        if (skipped[i].kid[0] && strcmp(skipped[i].kid, "k1") != 0
            && strcmp(skipped[i].kid, "enc") != 0)
        {
            CHECK(ngx_http_vidstream_jwks_find(jwks, skipped[i].kid) == NULL);
        }
    }

    /* a duplicate kid keeps the first key */
    CHECK(jwk_cmp(ngx_http_vidstream_jwks_find(jwks, "k1"),
                  OSSL_PKEY_PARAM_RSA_N, keys[0].n) == 0);
    CHECK(ngx_http_vidstream_jwks_find(jwks, "K1") == NULL);
    CHECK(ngx_http_vidstream_jwks_find(jwks, "") == NULL);

    /* thumbprints: one per key, whatever its kid */
    k = ngx_http_vidstream_jwks_find(jwks, "k1-again");
    CHECK(k != NULL && k != keys[0].jwk);
    CHECK(k != NULL && memcmp(k->thumb, keys[0].jwk->thumb,
                              NGX_HTTP_VIDSTREAM_JWK_THUMB_LEN) == 0);
    CHECK(k != NULL && memcmp(k->thumb, ngx_http_vidstream_jwks_find(jwks,
                              "enc")->thumb,
                              NGX_HTTP_VIDSTREAM_JWK_THUMB_LEN) == 0);

    for (i = 0; i < NKEYS; i++) {
        for (j = i + 1; j < NKEYS; j++) {
            CHECK(memcmp(keys[i].jwk->thumb, keys[j].jwk->thumb,
                         NGX_HTTP_VIDSTREAM_JWK_THUMB_LEN) != 0);
        }
    }

    /* the thumb is of n and e: n8192 shares k1's exponent, k1-e3 its
     * modulus, neither its key */
    CHECK(memcmp(ngx_http_vidstream_jwks_find(jwks, "n8192")->thumb,
                 keys[0].jwk->thumb, NGX_HTTP_VIDSTREAM_JWK_THUMB_LEN) != 0);
    k = ngx_http_vidstream_jwks_find(jwks, "k1-e3");
    CHECK(k != NULL && jwk_cmp(k, OSSL_PKEY_PARAM_RSA_N, keys[0].n) == 0
          && jwk_e(k) == 3);
    CHECK(k != NULL && memcmp(k->thumb, keys[0].jwk->thumb,
                              NGX_HTTP_VIDSTREAM_JWK_THUMB_LEN) != 0);

    /* signatures, each key against the next of the list */
    for (i = 0; i < NKEYS; i++) {
        test_key(&keys[i], &keys[(i + 1) % NKEYS]);
    }

    /* the per-process state is made again after a cleanup */
    ngx_http_vidstream_jwt_cleanup();
    {
        unsigned char  msg[] = "eyJhbGciOiJSUzI1NiJ9.e30", digest[32];
        unsigned char  sig[512];
        size_t         siglen;

        siglen = evp_sign(keys[0].pkey, EVP_sha256(), msg, sizeof(msg) - 1,
                          sig, sizeof(sig));
        CHECK(ngx_http_vidstream_jwt_sha256(msg, sizeof(msg) - 1, digest)
              == 0);
        CHECK(ngx_http_vidstream_jwt_verify_rs256(keys[0].jwk, digest, sig,
                                                  siglen) == 1);
        CHECK(ngx_http_vidstream_jwt_verify_rs256(
                  ngx_http_vidstream_jwks_find(jwks, "k1-again"), digest, sig,
                  siglen) == 1);
        CHECK(ngx_http_vidstream_jwt_verify_rs256(keys[1].jwk, digest, sig,
                                                  siglen) == 0);
    }

    /* a whole token: parsed, its signed part hashed, verified */
    {
        char          *p;
        size_t         siglen;
        unsigned char  sig[512], digest[32];

        p = token;
        p += b64url(p, S("{\"alg\":\"RS256\",\"kid\":\"k2\"}"));
        *p++ = '.';
        p += b64url(p, S("{\"sub\":\"u\"}"));
        siglen = evp_sign(keys[1].pkey, EVP_sha256(), (unsigned char *) token,
                          (size_t) (p - token), sig, sizeof(sig));
        *p++ = '.';
        p += b64url(p, sig, siglen);
        token_len = (size_t) (p - token);

        CHECK_STR(parse_token(), "ok");
        k = ngx_http_vidstream_jwks_find(jwks, jwt->kid);
        CHECK(k == keys[1].jwk);
        CHECK(ngx_http_vidstream_jwt_sha256(token, jwt->signed_len, digest)
              == 0);
        CHECK(ngx_http_vidstream_jwt_verify_rs256(k, digest, jwt->sig,
                                                  jwt->sig_len) == 1);
    }

    ngx_http_vidstream_jwks_free(jwks);

    for (i = 0; i < NKEYS; i++) {
        EVP_PKEY_free(keys[i].pkey);
        BN_free(keys[i].n);
        BN_free(keys[i].pub);
        keys[i].jwk = NULL;
    }
}


int
main(void)
{
    size_t  i;

    jwt = malloc(sizeof(ngx_http_vidstream_jwt_t));
    if (jwt == NULL) {
        return 1;
    }

    for (i = 0; i < sizeof(sig_bytes); i++) {
        sig_bytes[i] = (unsigned char) (i * 7 + 3);
    }

    b64url(sig_b64, sig_bytes, sizeof(sig_bytes));

    test_b64url();
    test_cognito();
    test_escapes();
    test_bad_json();
    test_limits();
    test_claim_types();
    test_jansson();
    test_check_claims();
    test_jwks_documents();
    test_rs256();

    ngx_http_vidstream_jwt_cleanup();
    free(jwt);

    return VS_TEST_DONE();
}
