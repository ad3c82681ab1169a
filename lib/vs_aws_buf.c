/*
 * The bounded output buffer and the AWS URI encoding (RFC 3986 unreserved
 * bytes kept, every other byte %XX) that SigV4 and the endpoint code of
 * libvidstream write with: see vs_aws_buf.h.
 */

#include "vs_aws_buf.h"

#include <string.h>


const char vs_hex_upper[] = "0123456789ABCDEF";


/* 1 for A-Z a-z 0-9 - . _ ~, the bytes AWS leaves unencoded; 2 for '/' */
const unsigned char vs_unreserved[256] = {
    ['-'] = 1, ['.'] = 1, ['_'] = 1, ['~'] = 1,
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1,
    ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1,
    ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1,
    ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
    ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
    ['Y'] = 1, ['Z'] = 1,
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
    ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1,
    ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
    ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
    ['y'] = 1, ['z'] = 1,
    ['/'] = 2,                          /* kept as is in a path only */
};


void
vs_buf_init(vs_buf_t *b, char *out, size_t size)
{
    b->start = out;
    b->p = out;
    b->end = size ? out + size - 1 : out;
    b->overflow = (size == 0);
}


void
vs_buf_add(vs_buf_t *b, const char *s, size_t len)
{
    if (b->overflow || (size_t) (b->end - b->p) < len) {
        b->overflow = 1;
        return;
    }
    memcpy(b->p, s, len);
    b->p += len;
}


void
vs_buf_str(vs_buf_t *b, const char *s)
{
    vs_buf_add(b, s, strlen(s));
}


void
vs_buf_uint(vs_buf_t *b, unsigned long v)
{
    char  digits[24], *p;

    p = digits + sizeof(digits);
    do {
        *--p = (char) ('0' + v % 10);
        v /= 10;
    } while (v);
    vs_buf_add(b, p, (size_t) (digits + sizeof(digits) - p));
}


void
vs_buf_encode(vs_buf_t *b, const char *in, size_t len, int keep_slash)
{
    const unsigned char  *p, *end, *run;
    unsigned char         c, keep;
    char                 *o;

    keep = keep_slash ? 3 : 1;          /* vs_unreserved's bits to keep */

    if (b->overflow || len == 0) {
        return;
    }

    p = (const unsigned char *) in;
    end = p + len;
    o = b->p;

    /* fast path: room for the worst case, no per-byte bounds checks */
    if ((size_t) (b->end - o) / 3 >= len) {
        while (p < end) {
            run = p;
            while (p < end && (vs_unreserved[*p] & keep))
            {
                p++;
            }
            if (p > run) {
                memcpy(o, run, (size_t) (p - run));
                o += p - run;
            }
            while (p < end && !(vs_unreserved[*p] & keep))
            {
                c = *p++;
                o[0] = '%';
                o[1] = vs_hex_upper[c >> 4];
                o[2] = vs_hex_upper[c & 0xf];
                o += 3;
            }
        }
        b->p = o;
        return;
    }

    for ( /* void */ ; p < end; p++) {
        c = *p;

        if (vs_unreserved[c] & keep) {
            if (o >= b->end) {
                b->overflow = 1;
                return;
            }
            *o++ = (char) c;

        } else {
            if (b->end - o < 3) {
                b->overflow = 1;
                return;
            }
            *o++ = '%';
            *o++ = vs_hex_upper[c >> 4];
            *o++ = vs_hex_upper[c & 0xf];
        }
    }
    b->p = o;
}


ssize_t
vs_buf_done(vs_buf_t *b)
{
    if (b->overflow) {
        if (b->end >= b->start && b->start != b->end) {
            *b->start = '\0';
        }
        return -1;
    }
    *b->p = '\0';
    return b->p - b->start;
}


size_t
vs_sigv4_uri_encode(char *out, const char *in, size_t len, int keep_slash)
{
    vs_buf_t  b;

    vs_buf_init(&b, out, 3 * len + 1);
    vs_buf_encode(&b, in, len, keep_slash);
    return (size_t) vs_buf_done(&b);
}
