
/*
 * ngx_http_vidstream_jwt_scan: the token scanner; see
 * ngx_http_vidstream_jwt.h.  A compact JWS split in three, its segments
 * decoded from base64url, its header and payload JSON read, and the members
 * the module uses kept with their types checked.  Nothing is verified here
 * (ngx_http_vidstream_jwt_verify.c does that).
 *
 * libjwt is deliberately not used: its jwt_decode() takes a key and lets the
 * token's header pick the algorithm (an HS256 token "verifies" with the RSA
 * public key's PEM as HMAC secret), and it parses the PEM on every call.
 * Parsing a JWS is a split, three base64url decodes and two small JSON
 * documents, read by the scanner below without allocating; jansson reads
 * JWKS documents, which arrive rarely (ngx_http_vidstream_jwk.c).  (The
 * module reads the claims it exposes as variables with libjwt's grant API,
 * after verification.)
 */

#include <errno.h>
#include <stddef.h>
#include <math.h>
#include <string.h>
#include <stdlib.h>

#include "ngx_http_vidstream_jwt.h"


static const signed char  ngx_http_vidstream_b64url[256] = {
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 62, -1, -1,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1, -1, -1, -1, -1, -1,
    -1,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14,
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, -1, -1, -1, -1, 63,
    -1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1
};


long
ngx_http_vidstream_b64url_decode(unsigned char *out, const char *in,
    size_t len)
{
    int                   a, b, c, d;
    size_t                i, rest;
    unsigned char        *p;
    const unsigned char  *s;

    if (len % 4 == 1) {
        return -1;
    }

    p = out;
    s = (const unsigned char *) in;
    rest = len % 4;

    for (i = 0; i + 4 <= len; i += 4) {
        a = ngx_http_vidstream_b64url[s[i]];
        b = ngx_http_vidstream_b64url[s[i + 1]];
        c = ngx_http_vidstream_b64url[s[i + 2]];
        d = ngx_http_vidstream_b64url[s[i + 3]];

        if ((a | b | c | d) < 0) {
            return -1;
        }

        *p++ = (unsigned char) (a << 2 | b >> 4);
        *p++ = (unsigned char) (b << 4 | c >> 2);
        *p++ = (unsigned char) (c << 6 | d);
    }

    if (rest == 0) {
        return (long) (p - out);
    }

    a = ngx_http_vidstream_b64url[s[i]];
    b = ngx_http_vidstream_b64url[s[i + 1]];
    c = (rest == 3) ? ngx_http_vidstream_b64url[s[i + 2]] : 0;

    if ((a | b | c) < 0) {
        return -1;
    }

    /* the leftover bits of a canonical encoding are zero */

    *p++ = (unsigned char) (a << 2 | b >> 4);

    if (rest == 2) {
        if (b & 0x0f) {
            return -1;
        }

    } else {
        if (c & 0x03) {
            return -1;
        }

        *p++ = (unsigned char) (b << 4 | c >> 2);
    }

    return (long) (p - out);
}


/*
 * The JSON of a token's header and payload.
 *
 * A strict RFC 8259 scanner: one pass, no allocation.  Strings (keys and
 * values) are decoded into a scratch buffer at least as long as the
 * document, which is enough because a decoded string plus its NUL is never
 * longer than its quoted, escaped form.  Members of the top-level object
 * are handed to the token's own code (header or claims); nested values are
 * checked and skipped.  What jansson's json_loadb(JSON_REJECT_DUPLICATES)
 * refuses, this refuses too: invalid UTF-8, lone surrogates, \u0000,
 * control characters, integers beyond 64 bits, reals that overflow, keys
 * repeated in any object, trailing data.
 */

/* values nested more than this below the top-level object are refused */
#define NGX_HTTP_VIDSTREAM_JSON_MAX_DEPTH  32
/* members of one object, and of all the objects open at once */
#define NGX_HTTP_VIDSTREAM_JSON_MAX_KEYS   128
#define NGX_HTTP_VIDSTREAM_JSON_MAX_OPEN   512


typedef enum {
    NGX_HTTP_VIDSTREAM_JSON_STRING = 1,
    NGX_HTTP_VIDSTREAM_JSON_INTEGER,
    NGX_HTTP_VIDSTREAM_JSON_REAL,
    NGX_HTTP_VIDSTREAM_JSON_LITERAL,
    NGX_HTTP_VIDSTREAM_JSON_ARRAY,
    NGX_HTTP_VIDSTREAM_JSON_OBJECT
} ngx_http_vidstream_json_type_e;


typedef enum {
    NGX_HTTP_VIDSTREAM_JSON_NESTED = 0,
    NGX_HTTP_VIDSTREAM_JSON_HEADER,
    NGX_HTTP_VIDSTREAM_JSON_CLAIMS
} ngx_http_vidstream_json_doc_e;


typedef struct {
    ngx_http_vidstream_json_type_e   type;
    const char                      *str;     /* STRING: decoded */
    size_t                           len;
    int64_t                          integer; /* INTEGER */
    double                           real;    /* REAL */
} ngx_http_vidstream_json_value_t;


typedef struct {
    uint32_t                         hash;
    size_t                           len;
    const unsigned char             *data;
} ngx_http_vidstream_json_key_t;


typedef struct {
    const unsigned char             *p;
    const unsigned char             *end;     /* *end is a NUL */
    unsigned char                   *out;
    unsigned char                   *out_end;
    ngx_http_vidstream_jwt_t        *jwt;
    const char                      *why;     /* a claim's own error */
    size_t                           nkeys;
    ngx_http_vidstream_json_key_t    keys[NGX_HTTP_VIDSTREAM_JSON_MAX_OPEN];
} ngx_http_vidstream_json_t;


static int ngx_http_vidstream_json_value(ngx_http_vidstream_json_t *js,
    unsigned depth, ngx_http_vidstream_json_doc_e doc,
    ngx_http_vidstream_json_value_t *val, int aud);


static void
ngx_http_vidstream_json_ws(ngx_http_vidstream_json_t *js)
{
    while (js->p < js->end
           && (*js->p == ' ' || *js->p == '\t' || *js->p == '\n'
               || *js->p == '\r'))
    {
        js->p++;
    }
}


/* the length of the UTF-8 sequence at p (RFC 3629, shortest form), or 0 */
static size_t
ngx_http_vidstream_utf8(const unsigned char *p, const unsigned char *end)
{
    unsigned char  c, lo, hi;
    size_t         n, i;

    c = p[0];

    if (c < 0xc2) {
        return 0;               /* a continuation byte, or overlong */
    }

    lo = 0x80;
    hi = 0xbf;

    if (c < 0xe0) {
        n = 2;

    } else if (c < 0xf0) {
        n = 3;
        if (c == 0xe0) {
            lo = 0xa0;          /* overlong */
        } else if (c == 0xed) {
            hi = 0x9f;          /* surrogates */
        }

    } else if (c < 0xf5) {
        n = 4;
        if (c == 0xf0) {
            lo = 0x90;          /* overlong */
        } else if (c == 0xf4) {
            hi = 0x8f;          /* above U+10FFFF */
        }

    } else {
        return 0;
    }

    if ((size_t) (end - p) < n || p[1] < lo || p[1] > hi) {
        return 0;
    }

    for (i = 2; i < n; i++) {
        if (p[i] < 0x80 || p[i] > 0xbf) {
            return 0;
        }
    }

    return n;
}


static int
ngx_http_vidstream_json_hex4(const unsigned char *p, uint32_t *cp)
{
    int       i, d;
    uint32_t  v;

    v = 0;

    for (i = 0; i < 4; i++) {
        if (p[i] >= '0' && p[i] <= '9') {
            d = p[i] - '0';
        } else if ((p[i] | 0x20) >= 'a' && (p[i] | 0x20) <= 'f') {
            d = (p[i] | 0x20) - 'a' + 10;
        } else {
            return -1;
        }

        v = v << 4 | (uint32_t) d;
    }

    *cp = v;

    return 0;
}


/* js->p is at the opening quote */
static int
ngx_http_vidstream_json_string(ngx_http_vidstream_json_t *js,
    const char **str, size_t *len)
{
    size_t                n;
    uint32_t              cp, lo;
    unsigned char        *o, c;
    const unsigned char  *p, *end;

    p = js->p + 1;
    end = js->end;
    o = js->out;

    /* decoded + NUL never outgrows the quoted form: see above */
    if ((size_t) (js->out_end - o) < (size_t) (end - js->p)) {
        return -1;
    }

    for ( ;; ) {
        if (p == end) {
            return -1;
        }

        c = *p;

        if (c == '"') {
            break;
        }

        if (c >= 0x20 && c < 0x80 && c != '\\') {
            *o++ = c;
            p++;
            continue;
        }

        if (c < 0x20) {
            return -1;
        }

        if (c >= 0x80) {
            n = ngx_http_vidstream_utf8(p, end);
            if (n == 0) {
                return -1;
            }

            while (n--) {
                *o++ = *p++;
            }

            continue;
        }

        /* an escape; the document ends in a NUL, so p[1] can be read */

        switch (p[1]) {
        case '"':  *o++ = '"';  break;
        case '\\': *o++ = '\\'; break;
        case '/':  *o++ = '/';  break;
        case 'b':  *o++ = '\b'; break;
        case 'f':  *o++ = '\f'; break;
        case 'n':  *o++ = '\n'; break;
        case 'r':  *o++ = '\r'; break;
        case 't':  *o++ = '\t'; break;

        case 'u':
            if (end - p < 6 || ngx_http_vidstream_json_hex4(p + 2, &cp) != 0) {
                return -1;
            }

            p += 4;

            if (cp >= 0xdc00 && cp <= 0xdfff) {
                return -1;      /* a lone low surrogate */
            }

            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (end - p < 8 || p[2] != '\\' || p[3] != 'u'
                    || ngx_http_vidstream_json_hex4(p + 4, &lo) != 0
                    || lo < 0xdc00 || lo > 0xdfff)
                {
                    return -1;
                }

                p += 6;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            }

            if (cp == 0) {
                return -1;      /* a NUL would cut C strings short */
            }

            if (cp < 0x80) {
                *o++ = (unsigned char) cp;

            } else if (cp < 0x800) {
                *o++ = (unsigned char) (0xc0 | cp >> 6);
                *o++ = (unsigned char) (0x80 | (cp & 0x3f));

            } else if (cp < 0x10000) {
                *o++ = (unsigned char) (0xe0 | cp >> 12);
                *o++ = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
                *o++ = (unsigned char) (0x80 | (cp & 0x3f));

            } else {
                *o++ = (unsigned char) (0xf0 | cp >> 18);
                *o++ = (unsigned char) (0x80 | ((cp >> 12) & 0x3f));
                *o++ = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
                *o++ = (unsigned char) (0x80 | (cp & 0x3f));
            }

            break;

        default:
            return -1;
        }

        p += 2;
    }

    *str = (const char *) js->out;
    *len = (size_t) (o - js->out);
    *o++ = '\0';

    js->out = o;
    js->p = p + 1;

    return 0;
}


static int
ngx_http_vidstream_json_number(ngx_http_vidstream_json_t *js,
    ngx_http_vidstream_json_value_t *val)
{
    int                   neg, real;
    char                 *last;
    uint64_t              u, limit;
    const unsigned char  *p, *digits;

    p = js->p;
    neg = (*p == '-');
    p += neg;

    digits = p;

    if (p < js->end && *p == '0') {
        p++;

    } else if (p < js->end && *p >= '1' && *p <= '9') {
        while (p < js->end && *p >= '0' && *p <= '9') {
            p++;
        }

    } else {
        return -1;
    }

    real = 0;

    if (p < js->end && *p == '.') {
        p++;
        if (p == js->end || *p < '0' || *p > '9') {
            return -1;
        }

        while (p < js->end && *p >= '0' && *p <= '9') {
            p++;
        }

        real = 1;
    }

    if (p < js->end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < js->end && (*p == '+' || *p == '-')) {
            p++;
        }

        if (p == js->end || *p < '0' || *p > '9') {
            return -1;
        }

        while (p < js->end && *p >= '0' && *p <= '9') {
            p++;
        }

        real = 1;
    }

    if (real) {
        /*
         * the grammar above is a subset of strtod()'s, and the document
         * ends in a NUL, so strtod() reads exactly this number (nginx never
         * calls setlocale(): the decimal point is ".")
         */
        errno = 0;
        val->real = strtod((const char *) js->p, &last);

        if (last != (char *) p
            || (errno == ERANGE
                && (val->real == HUGE_VAL || val->real == -HUGE_VAL)))
        {
            return -1;
        }

        val->type = NGX_HTTP_VIDSTREAM_JSON_REAL;
        js->p = p;
        return 0;
    }

    /* an integer must fit in 64 bits, as jansson's json_int_t */

    limit = neg ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX;
    u = 0;

    for ( ; digits < p; digits++) {
        if (u > (limit - (uint64_t) (*digits - '0')) / 10) {
            return -1;
        }

        u = u * 10 + (uint64_t) (*digits - '0');
    }

    val->integer = neg ? (int64_t) (0 - u) : (int64_t) u;
    val->type = NGX_HTTP_VIDSTREAM_JSON_INTEGER;
    js->p = p;

    return 0;
}


/* what the token code makes of a top-level member: 0, or -1 and js->why */
static int ngx_http_vidstream_jwt_member(ngx_http_vidstream_json_t *js,
    ngx_http_vidstream_json_doc_e doc, const char *key, size_t key_len,
    ngx_http_vidstream_json_value_t *val);


static int
ngx_http_vidstream_json_object(ngx_http_vidstream_json_t *js,
    unsigned depth, ngx_http_vidstream_json_doc_e doc)
{
    int                               aud;
    size_t                            base, i, key_len;
    uint32_t                          h;
    const char                       *key;
    ngx_http_vidstream_json_key_t    *k;
    ngx_http_vidstream_json_value_t   val;

    js->p++;
    ngx_http_vidstream_json_ws(js);

    if (js->p < js->end && *js->p == '}') {
        js->p++;
        return 0;
    }

    base = js->nkeys;

    for ( ;; ) {
        if (js->p == js->end || *js->p != '"'
            || ngx_http_vidstream_json_string(js, &key, &key_len) != 0)
        {
            return -1;
        }

        /* FNV-1a, only to tell most keys apart without comparing them */
        h = 2166136261u;
        for (i = 0; i < key_len; i++) {
            h = (h ^ (unsigned char) key[i]) * 16777619u;
        }

        for (i = base; i < js->nkeys; i++) {
            k = &js->keys[i];
            if (k->hash == h && k->len == key_len
                && memcmp(k->data, key, key_len) == 0)
            {
                return -1;      /* a duplicate key */
            }
        }

        if (js->nkeys - base == NGX_HTTP_VIDSTREAM_JSON_MAX_KEYS
            || js->nkeys == NGX_HTTP_VIDSTREAM_JSON_MAX_OPEN)
        {
            return -1;
        }

        k = &js->keys[js->nkeys++];
        k->hash = h;
        k->len = key_len;
        k->data = (const unsigned char *) key;

        ngx_http_vidstream_json_ws(js);

        if (js->p == js->end || *js->p != ':') {
            return -1;
        }

        js->p++;
        ngx_http_vidstream_json_ws(js);

        aud = (doc == NGX_HTTP_VIDSTREAM_JSON_CLAIMS && key_len == 3
               && memcmp(key, "aud", 3) == 0);

        if (ngx_http_vidstream_json_value(js, depth + 1, doc, &val, aud)
            != 0)
        {
            return -1;
        }

        if (doc != NGX_HTTP_VIDSTREAM_JSON_NESTED
            && ngx_http_vidstream_jwt_member(js, doc, key, key_len, &val)
               != 0)
        {
            return -1;
        }

        ngx_http_vidstream_json_ws(js);

        if (js->p < js->end && *js->p == ',') {
            js->p++;
            ngx_http_vidstream_json_ws(js);
            continue;
        }

        if (js->p < js->end && *js->p == '}') {
            js->p++;
            break;
        }

        return -1;
    }

    /* the keys of this object are out of scope */
    js->nkeys = base;

    return 0;
}


/* true, false or null */
static int
ngx_http_vidstream_json_literal(ngx_http_vidstream_json_t *js,
    ngx_http_vidstream_json_value_t *val, const char *word, size_t left)
{
    size_t  n;

    n = strlen(word);

    if (left < n || memcmp(js->p, word, n) != 0) {
        return -1;
    }

    js->p += n;
    val->type = NGX_HTTP_VIDSTREAM_JSON_LITERAL;

    return 0;
}


/* aud: the strings of a top-level "aud" array are kept in the token */
static int
ngx_http_vidstream_json_array(ngx_http_vidstream_json_t *js, unsigned depth,
    int aud)
{
    ngx_http_vidstream_jwt_t         *jwt;
    ngx_http_vidstream_json_value_t   val;

    js->p++;
    ngx_http_vidstream_json_ws(js);

    if (js->p < js->end && *js->p == ']') {
        js->p++;
        return 0;
    }

    jwt = js->jwt;

    for ( ;; ) {
        if (ngx_http_vidstream_json_value(js, depth + 1,
                                          NGX_HTTP_VIDSTREAM_JSON_NESTED,
                                          &val, 0)
            != 0)
        {
            return -1;
        }

        if (aud && val.type == NGX_HTTP_VIDSTREAM_JSON_STRING) {
            if (jwt->naud == NGX_HTTP_VIDSTREAM_JWT_MAX_AUD) {
                js->why = "too many audiences";
                return -1;
            }

            jwt->aud[jwt->naud++] = val.str;
        }

        ngx_http_vidstream_json_ws(js);

        if (js->p < js->end && *js->p == ',') {
            js->p++;
            ngx_http_vidstream_json_ws(js);
            continue;
        }

        if (js->p < js->end && *js->p == ']') {
            js->p++;
            return 0;
        }

        return -1;
    }
}


static int
ngx_http_vidstream_json_value(ngx_http_vidstream_json_t *js, unsigned depth,
    ngx_http_vidstream_json_doc_e doc, ngx_http_vidstream_json_value_t *val,
    int aud)
{
    size_t  left;

    if (js->p == js->end || depth > NGX_HTTP_VIDSTREAM_JSON_MAX_DEPTH) {
        return -1;
    }

    left = (size_t) (js->end - js->p);

    switch (*js->p) {

    case '"':
        val->type = NGX_HTTP_VIDSTREAM_JSON_STRING;
        return ngx_http_vidstream_json_string(js, &val->str, &val->len);

    case '{':
        val->type = NGX_HTTP_VIDSTREAM_JSON_OBJECT;
        return ngx_http_vidstream_json_object(js, depth,
                                              NGX_HTTP_VIDSTREAM_JSON_NESTED);

    case '[':
        val->type = NGX_HTTP_VIDSTREAM_JSON_ARRAY;
        return ngx_http_vidstream_json_array(js, depth, aud);

    case 't':
        return ngx_http_vidstream_json_literal(js, val, "true", left);

    case 'f':
        return ngx_http_vidstream_json_literal(js, val, "false", left);

    case 'n':
        return ngx_http_vidstream_json_literal(js, val, "null", left);

    default:
        if (*js->p == '-' || (*js->p >= '0' && *js->p <= '9')) {
            return ngx_http_vidstream_json_number(js, val);
        }

        return -1;
    }
}


/*
 * Parses text[0..len), which must be followed by a NUL, as one JSON object;
 * strings go to out, at least len bytes.  0, or -1 with *why set when a
 * member was refused for what it is rather than for bad JSON.
 */
static int
ngx_http_vidstream_json_parse(ngx_http_vidstream_jwt_t *jwt,
    ngx_http_vidstream_json_doc_e doc, const unsigned char *text, size_t len,
    unsigned char *out, const char **why)
{
    ngx_http_vidstream_json_t  js;

    js.p = text;
    js.end = text + len;
    js.out = out;
    js.out_end = out + len;
    js.jwt = jwt;
    js.why = NULL;
    js.nkeys = 0;

    ngx_http_vidstream_json_ws(&js);

    if (js.p == js.end || *js.p != '{'
        || ngx_http_vidstream_json_object(&js, 0, doc) != 0)
    {
        *why = js.why;
        return -1;
    }

    ngx_http_vidstream_json_ws(&js);

    if (js.p != js.end) {
        *why = NULL;
        return -1;
    }

    return 0;
}


/*
 * A NumericDate: an integer, or a real's integral part, within +-1e15 s
 * (30 million years), so that adding a leeway can never overflow.
 */
static int
ngx_http_vidstream_jwt_date(ngx_http_vidstream_json_value_t *val,
    int64_t *date)
{
    if (val->type == NGX_HTTP_VIDSTREAM_JSON_INTEGER) {
        if (val->integer <= -1000000000000000LL
            || val->integer >= 1000000000000000LL)
        {
            return -1;
        }

        *date = val->integer;
        return 0;
    }

    if (val->type == NGX_HTTP_VIDSTREAM_JSON_REAL) {
        if (!(val->real > -1e15 && val->real < 1e15)) {
            return -1;
        }

        *date = (int64_t) val->real;
        return 0;
    }

    return -1;
}


static int
ngx_http_vidstream_jwt_member(ngx_http_vidstream_json_t *js,
    ngx_http_vidstream_json_doc_e doc, const char *key, size_t key_len,
    ngx_http_vidstream_json_value_t *val)
{
    const char                **str;
    ngx_http_vidstream_jwt_t   *jwt;

    jwt = js->jwt;
    str = NULL;

#define ngx_http_vidstream_key_is(name)                                      \
    (key_len == sizeof(name) - 1 && memcmp(key, name, sizeof(name) - 1) == 0)

    if (doc == NGX_HTTP_VIDSTREAM_JSON_HEADER) {

        if (ngx_http_vidstream_key_is("alg")) {
            if (val->type != NGX_HTTP_VIDSTREAM_JSON_STRING) {
                js->why = "header has no alg";
                return -1;
            }

            jwt->alg = val->str;

        } else if (ngx_http_vidstream_key_is("kid")) {
            if (val->type != NGX_HTTP_VIDSTREAM_JSON_STRING) {
                js->why = "header has no kid";
                return -1;
            }

            jwt->kid = val->str;

        } else if (ngx_http_vidstream_key_is("crit")) {
            /* we implement no JWS extension, so none can be critical */
            js->why = "unsupported crit header";
            return -1;
        }

        return 0;
    }

    if (ngx_http_vidstream_key_is("sub")) {
        str = &jwt->sub;
        jwt->sub_len = val->len;

    } else if (ngx_http_vidstream_key_is("iss")) {
        str = &jwt->iss;

    } else if (ngx_http_vidstream_key_is("token_use")) {
        str = &jwt->token_use;

    } else if (ngx_http_vidstream_key_is("client_id")) {
        str = &jwt->client_id;

    } else if (ngx_http_vidstream_key_is("aud")) {
        if (val->type == NGX_HTTP_VIDSTREAM_JSON_STRING) {
            jwt->aud[0] = val->str;
            jwt->naud = 1;

        } else if (val->type != NGX_HTTP_VIDSTREAM_JSON_ARRAY) {
            js->why = "claim of the wrong type";
            return -1;
        }

        jwt->has_aud = 1;

    } else if (ngx_http_vidstream_key_is("exp")) {
        if (ngx_http_vidstream_jwt_date(val, &jwt->exp) != 0) {
            js->why = "exp is not a date";
            return -1;
        }

        jwt->has_exp = 1;

    } else if (ngx_http_vidstream_key_is("nbf")) {
        if (ngx_http_vidstream_jwt_date(val, &jwt->nbf) != 0) {
            js->why = "nbf is not a date";
            return -1;
        }

        jwt->has_nbf = 1;

    } else if (ngx_http_vidstream_key_is("iat")) {
        if (ngx_http_vidstream_jwt_date(val, &jwt->iat) != 0) {
            js->why = "iat is not a date";
            return -1;
        }

        jwt->has_iat = 1;
    }

#undef ngx_http_vidstream_key_is

    if (str != NULL) {
        if (val->type != NGX_HTTP_VIDSTREAM_JSON_STRING) {
            js->why = "claim of the wrong type";
            return -1;
        }

        *str = val->str;
    }

    return 0;
}


int
ngx_http_vidstream_jwt_parse(ngx_http_vidstream_jwt_t *jwt,
    const char *token, size_t len, const char **why)
{
    long            n;
    size_t          dot1, dot2, header_len;
    const char     *d, *d2, *reason;
    unsigned char  *p, *strings;

    /* the fields, not the two buffers that follow them */
    memset(jwt, 0, offsetof(ngx_http_vidstream_jwt_t, raw));

    if (len == 0) {
        *why = "empty token";
        return -1;
    }

    if (len > NGX_HTTP_VIDSTREAM_JWT_MAX_LEN) {
        *why = "token too large";
        return -1;
    }

    d = memchr(token, '.', len);
    d2 = d ? memchr(d + 1, '.', len - (size_t) (d + 1 - token)) : NULL;

    if (d2 == NULL
        || memchr(d2 + 1, '.', len - (size_t) (d2 + 1 - token)) != NULL)
    {
        *why = "token does not have three segments";
        return -1;
    }

    dot1 = (size_t) (d - token) + 1;
    dot2 = (size_t) (d2 - token) + 1;

    /* an empty signature is left to the algorithm check ("alg": "none") */
    if (dot1 == 1 || dot2 == dot1 + 1) {
        *why = "token has an empty segment";
        return -1;
    }

    /*
     * raw: header JSON, NUL, payload JSON, NUL, signature; the three decode
     * to at most len * 3 / 4 + 2 bytes, and len is at most MAX_LEN
     */

    p = jwt->raw;

    n = ngx_http_vidstream_b64url_decode(p, token, dot1 - 1);
    if (n < 0) {
        *why = "malformed base64url in header";
        return -1;
    }

    header_len = (size_t) n;
    p[header_len] = '\0';

    jwt->payload_text = (char *) p + header_len + 1;

    n = ngx_http_vidstream_b64url_decode((unsigned char *) jwt->payload_text,
                                         token + dot1, dot2 - dot1 - 1);
    if (n < 0) {
        *why = "malformed base64url in payload";
        return -1;
    }

    jwt->payload_len = (size_t) n;
    jwt->payload_text[n] = '\0';

    jwt->sig = (unsigned char *) jwt->payload_text + jwt->payload_len + 1;

    n = ngx_http_vidstream_b64url_decode(jwt->sig, token + dot2, len - dot2);
    if (n < 0) {
        *why = "malformed base64url in signature";
        return -1;
    }

    jwt->sig_len = (size_t) n;
    jwt->signed_len = dot2 - 1;

    /* the decoded strings of both documents: no more than their length */

    strings = jwt->strings;

    if (ngx_http_vidstream_json_parse(jwt, NGX_HTTP_VIDSTREAM_JSON_HEADER,
                                      jwt->raw, header_len, strings, &reason)
        != 0)
    {
        *why = reason ? reason : "header is not a JSON object";
        return -1;
    }

    if (jwt->alg == NULL) {
        *why = "header has no alg";
        return -1;
    }

    if (jwt->kid == NULL || jwt->kid[0] == '\0') {
        *why = "header has no kid";
        return -1;
    }

    if (ngx_http_vidstream_json_parse(jwt, NGX_HTTP_VIDSTREAM_JSON_CLAIMS,
                                      (unsigned char *) jwt->payload_text,
                                      jwt->payload_len,
                                      strings + header_len, &reason)
        != 0)
    {
        *why = reason ? reason : "payload is not a JSON object";
        return -1;
    }

    return 0;
}
