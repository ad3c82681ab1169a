/*
 * The S3 key layout of CONTRACT.md section 4: input/<sub>/<id>/source and
 * output/<sub>/<id>/<file>.
 */
#include "vs_keys.h"
#include "vs_util.h"

#include <string.h>


/* 1 when s[0..len) holds no control character (nor a NUL) */
static int
vs_keys_printable(const char *s, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f) {
            return 0;
        }
    }

    return 1;
}


int
vs_keys_sub_valid(const char *sub, size_t sub_len)
{
    return sub != NULL && sub_len > 0 && sub_len <= VS_KEYS_MAX
           && memchr(sub, '/', sub_len) == NULL
           && vs_keys_printable(sub, sub_len);
}


/*
 * <prefix><sub>/<id>/<tail> into buf: the one writer behind the builders.
 * id is read up to its first invalid byte, so a shorter NUL-terminated
 * string is refused without reading past its end.
 */
static long
vs_keys_build(char *buf, size_t size, const char *prefix, size_t prefix_len,
    const char *sub, size_t sub_len, const char *id, const char *tail,
    size_t tail_len)
{
    size_t  len;
    char   *p;

    if (!vs_keys_sub_valid(sub, sub_len) || id == NULL
        || !vs_uuid_valid(id, VS_KEYS_ID_LEN))
    {
        return -1;
    }

    len = prefix_len + sub_len + 1 + VS_KEYS_ID_LEN + 1 + tail_len;

    if (len > VS_KEYS_MAX || buf == NULL || size <= len) {
        return -1;
    }

    p = buf;
    memcpy(p, prefix, prefix_len);
    p += prefix_len;
    memcpy(p, sub, sub_len);
    p += sub_len;
    *p++ = '/';
    memcpy(p, id, VS_KEYS_ID_LEN);
    p += VS_KEYS_ID_LEN;
    *p++ = '/';
    memcpy(p, tail, tail_len);
    p[tail_len] = '\0';

    return (long) len;
}


long
vs_keys_input(char *buf, size_t size, const char *sub, size_t sub_len,
    const char *id)
{
    return vs_keys_build(buf, size, VS_KEYS_INPUT_PREFIX,
                         VS_KEYS_LIT_LEN(VS_KEYS_INPUT_PREFIX), sub, sub_len,
                         id, VS_KEYS_SOURCE, VS_KEYS_LIT_LEN(VS_KEYS_SOURCE));
}


long
vs_keys_output_prefix(char *buf, size_t size, const char *sub,
    size_t sub_len, const char *id)
{
    return vs_keys_build(buf, size, VS_KEYS_OUTPUT_PREFIX,
                         VS_KEYS_LIT_LEN(VS_KEYS_OUTPUT_PREFIX), sub, sub_len,
                         id, "", 0);
}


long
vs_keys_output(char *buf, size_t size, const char *sub, size_t sub_len,
    const char *id, const char *file, size_t file_len)
{
    if (file == NULL || file_len == 0 || file[0] == '/'
        || !vs_keys_printable(file, file_len))
    {
        return -1;
    }

    return vs_keys_build(buf, size, VS_KEYS_OUTPUT_PREFIX,
                         VS_KEYS_LIT_LEN(VS_KEYS_OUTPUT_PREFIX), sub, sub_len,
                         id, file, file_len);
}


int
vs_keys_input_parse(const char *key, size_t len, vs_keys_input_t *parts)
{
    const size_t  pre = VS_KEYS_LIT_LEN(VS_KEYS_INPUT_PREFIX);
    const size_t  tail = 1 + VS_KEYS_ID_LEN + 1
                         + VS_KEYS_LIT_LEN(VS_KEYS_SOURCE);
    const char   *id;
    size_t        sub_len;

    /* input/ <sub: at least one byte> /<id>/source */
    if (key == NULL || len > VS_KEYS_MAX || len < pre + 1 + tail
        || memcmp(key, VS_KEYS_INPUT_PREFIX, pre) != 0)
    {
        return -1;
    }

    sub_len = len - pre - tail;
    id = key + pre + sub_len + 1;

    if (key[pre + sub_len] != '/' || id[VS_KEYS_ID_LEN] != '/'
        || memcmp(id + VS_KEYS_ID_LEN + 1, VS_KEYS_SOURCE,
                  VS_KEYS_LIT_LEN(VS_KEYS_SOURCE)) != 0
        || !vs_uuid_valid(id, VS_KEYS_ID_LEN)
        || !vs_keys_sub_valid(key + pre, sub_len))
    {
        return -1;
    }

    parts->sub = key + pre;
    parts->sub_len = sub_len;
    parts->id = id;

    return 0;
}


int
vs_keys_is_input(const char *key, size_t len, const char *sub,
    size_t sub_len, const char *id)
{
    vs_keys_input_t  parts;

    return id != NULL && vs_uuid_valid(id, VS_KEYS_ID_LEN)
           && vs_keys_input_parse(key, len, &parts) == 0
           && parts.sub_len == sub_len
           && memcmp(parts.sub, sub, sub_len) == 0
           && memcmp(parts.id, id, VS_KEYS_ID_LEN) == 0;
}
