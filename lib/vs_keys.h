/*
 * libvidstream: the S3 key layout of CONTRACT.md section 4, written once
 * for nginx and the worker.
 *
 *     input/<sub>/<id>/source              what the client uploads
 *     output/<sub>/<id>/video.mp4          the MP4
 *     output/<sub>/<id>/thumbnail.jpg      the poster frame
 *     output/<sub>/<id>/hls/index.m3u8     HLS, with its renditions
 *
 * <sub> is the owner (the Cognito sub): at least one byte, no '/', no
 * control character (a '/' would move the key under another owner's
 * prefix).  <id> is the video id, a lowercase UUID.  A key is at most
 * VS_KEYS_MAX bytes, S3's limit.
 *
 * The builders write into the caller's buffer (an nginx pool, a stack
 * array) and never allocate; the _LEN macros give the exact length of a
 * key so a caller sizes its buffer before building.  Pure functions, no
 * state, thread-safe.
 */
#ifndef VS_KEYS_H
#define VS_KEYS_H

#include <stddef.h>

#define VS_KEYS_MAX             1024    /* S3: a key is at most 1024 bytes */
#define VS_KEYS_ID_LEN          36      /* the lowercase UUID */

#define VS_KEYS_INPUT_PREFIX    "input/"
#define VS_KEYS_OUTPUT_PREFIX   "output/"
#define VS_KEYS_SOURCE          "source"

/* the files under output/<sub>/<id>/ */
#define VS_KEYS_MP4             "video.mp4"
#define VS_KEYS_THUMBNAIL       "thumbnail.jpg"
#define VS_KEYS_HLS_DIR         "hls"
#define VS_KEYS_HLS_MASTER_NAME "index.m3u8"
#define VS_KEYS_HLS_MASTER      VS_KEYS_HLS_DIR "/" VS_KEYS_HLS_MASTER_NAME

#define VS_KEYS_LIT_LEN(s)      (sizeof(s) - 1)

/* input/<sub>/<id>/source: its length for a sub of sub_len bytes */
#define VS_KEYS_INPUT_LEN(sub_len)                                          \
    (VS_KEYS_LIT_LEN(VS_KEYS_INPUT_PREFIX) + (sub_len) + 1                  \
     + VS_KEYS_ID_LEN + 1 + VS_KEYS_LIT_LEN(VS_KEYS_SOURCE))

/* output/<sub>/<id>/, with its trailing '/' */
#define VS_KEYS_OUTPUT_PREFIX_LEN(sub_len)                                  \
    (VS_KEYS_LIT_LEN(VS_KEYS_OUTPUT_PREFIX) + (sub_len) + 1                 \
     + VS_KEYS_ID_LEN + 1)

/* output/<sub>/<id>/<file> */
#define VS_KEYS_OUTPUT_LEN(sub_len, file_len)                               \
    (VS_KEYS_OUTPUT_PREFIX_LEN(sub_len) + (file_len))


/* 1 when sub[0..sub_len) may name an owner in a key (see above). */
int vs_keys_sub_valid(const char *sub, size_t sub_len);

/*
 * The builders: write the key and a NUL into buf[0..size) and return the
 * key's length (without the NUL), or -1, writing nothing, when sub is not
 * valid, id is not a lowercase UUID (its first VS_KEYS_ID_LEN bytes are
 * read), the key would be longer than VS_KEYS_MAX or size is not at least
 * its length + 1.
 */
long vs_keys_input(char *buf, size_t size, const char *sub, size_t sub_len,
    const char *id);
long vs_keys_output_prefix(char *buf, size_t size, const char *sub,
    size_t sub_len, const char *id);

/*
 * output/<sub>/<id>/<file>: file is one of the names above or a path
 * under hls/; it must not be empty, start with '/' or hold a NUL or a
 * control character.
 */
long vs_keys_output(char *buf, size_t size, const char *sub, size_t sub_len,
    const char *id, const char *file, size_t file_len);


typedef struct {
    const char  *sub;       /* into the key, not NUL-terminated */
    size_t       sub_len;
    const char  *id;        /* VS_KEYS_ID_LEN bytes into the key */
} vs_keys_input_t;

/*
 * Reads key[0..len) as an input key: 0 and *parts pointing into key when
 * it is exactly input/<sub>/<id>/source with a valid sub and id, else -1.
 */
int vs_keys_input_parse(const char *key, size_t len, vs_keys_input_t *parts);

/* 1 when key[0..len) is the input key of (sub, id), else 0. */
int vs_keys_is_input(const char *key, size_t len, const char *sub,
    size_t sub_len, const char *id);

#endif
