/*
 * libvidstream: S3's XML responses, read with libxml2, for the nginx
 * module and the worker.
 *
 *   Error                           vs_s3xml_error()
 *   ListObjectsV2 (ListBucketResult) vs_s3xml_list_objects()
 *   CreateMultipartUpload           vs_s3xml_create_upload()
 *   ListParts                       vs_s3xml_list_parts()
 *   CompleteMultipartUpload         vs_s3xml_complete_upload()
 *   ListMultipartUploads            vs_s3xml_list_uploads()
 *
 * S3 answers are untrusted input.  The body is parsed with no network
 * access, no entity substitution and no DTD at all (a document that
 * declares one is refused as soon as the parser meets it), within
 * libxml2's default depth and text limits (no XML_PARSE_HUGE), and only
 * up to VS_S3XML_INPUT_MAX bytes.  Elements are matched by local name, so
 * S3's default namespace (xmlns="http://s3.amazonaws.com/doc/2006-03-01/")
 * and its absence (local emulators) read the same.  Leading whitespace is
 * skipped: S3 keeps a long CompleteMultipartUpload alive with it.
 *
 * Every parse of a successful response first checks for an <Error> root:
 * S3 answers CompleteMultipartUpload (and copies) with 200 and an <Error>
 * body when it fails after sending the status.  Such a body is reported
 * as VS_S3XML_S3_ERROR with its Code and Message, whatever was asked.
 *
 * Repeated elements (keys, parts, uploads) go to a caller's callback,
 * strings as (pointer, length) valid only during the call (copy them into
 * a pool); single values land in caller-owned structs with fixed buffers.
 * No global state: call vs_s3xml_init() once before any thread or nginx
 * worker parses, then every call is independent and thread-safe.  libxml2
 * allocates with malloc() internally and everything is freed before a
 * call returns.
 */
#ifndef VS_S3XML_H
#define VS_S3XML_H

#include <stddef.h>
#include <stdint.h>

/* S3's largest answers here are lists of 1,000 items (keys of up to
 * 1,024 bytes, escaped): well under 8 MiB. */
#define VS_S3XML_INPUT_MAX        (8 * 1024 * 1024)

#define VS_S3XML_CODE_MAX         63       /* "NoSuchUpload"… */
#define VS_S3XML_MESSAGE_MAX      511      /* longer messages truncated */
#define VS_S3XML_UPLOAD_ID_MAX    1023     /* S3 documents no limit */
#define VS_S3XML_TOKEN_MAX        1023     /* NextContinuationToken */
#define VS_S3XML_ETAG_MAX         127      /* "md5-hex" or "md5-hex-N" */
#define VS_S3XML_KEY_MAX          1024     /* S3's key limit, in bytes */

/* Results. */
#define VS_S3XML_OK               0
#define VS_S3XML_S3_ERROR         1   /* the body is an <Error> (err set) */
#define VS_S3XML_INVALID         -1   /* not the XML expected, too large,
                                         a DTD, a field too long or
                                         missing */
#define VS_S3XML_ABORTED         -2   /* a callback returned non-zero */
#define VS_S3XML_NOMEM           -3


/* <Error><Code>…</Code><Message>…</Message></Error> */
typedef struct {
    char    code[VS_S3XML_CODE_MAX + 1];
    size_t  code_len;
    char    message[VS_S3XML_MESSAGE_MAX + 1];   /* may be empty */
    size_t  message_len;
} vs_s3xml_error_t;


/* Once per process, before any parse (xmlInitParser()). */
void vs_s3xml_init(void);

/* A short English name for a result, for logs. */
const char *vs_s3xml_strerror(int rc);

/*
 * The body of a failed S3 call (or a 200 carrying an error).  Returns
 * VS_S3XML_S3_ERROR with err filled, or VS_S3XML_INVALID when the body is
 * not an <Error> with a Code (err then has empty strings).
 */
int vs_s3xml_error(const char *xml, size_t len, vs_s3xml_error_t *err);


/*
 * Every parser below takes err, which may be NULL; when the body is an
 * <Error> it is filled and VS_S3XML_S3_ERROR returned.  out is required
 * (zeroed unless the result is VS_S3XML_OK); callbacks may be NULL.
 */

/* ListObjectsV2: ListBucketResult. */
typedef int (*vs_s3xml_key_pt)(void *data, const char *key, size_t len);

typedef struct {
    size_t    key_count;                 /* <Contents> passed to on_key */
    unsigned  is_truncated:1;
    char      next_token[VS_S3XML_TOKEN_MAX + 1];  /* NextContinuationToken,
                                            "" when not truncated */
    size_t    next_token_len;
} vs_s3xml_list_objects_t;

/*
 * Calls on_key (when not NULL) with each <Contents><Key>, in document
 * order; keys are given as S3 wrote them, XML-unescaped (still
 * URL-encoded if the request asked encoding-type=url).
 */
int vs_s3xml_list_objects(const char *xml, size_t len,
    vs_s3xml_key_pt on_key, void *data, vs_s3xml_list_objects_t *out,
    vs_s3xml_error_t *err);


/* CreateMultipartUpload: InitiateMultipartUploadResult. */
typedef struct {
    char    upload_id[VS_S3XML_UPLOAD_ID_MAX + 1];
    size_t  upload_id_len;
} vs_s3xml_create_upload_t;

int vs_s3xml_create_upload(const char *xml, size_t len,
    vs_s3xml_create_upload_t *out, vs_s3xml_error_t *err);


/* ListParts: ListPartsResult. */
typedef struct {
    int32_t      part_number;            /* 1 … 10,000 */
    int64_t      size;                   /* bytes */
    const char  *etag;                   /* with its quotes, as S3 wrote */
    size_t       etag_len;               /* it: CompleteMultipartUpload
                                            takes it as is */
    const char  *last_modified;          /* ISO 8601, or "" */
    size_t       last_modified_len;
} vs_s3xml_part_t;

typedef int (*vs_s3xml_part_pt)(void *data, const vs_s3xml_part_t *part);

typedef struct {
    size_t    part_count;                /* <Part> passed to on_part */
    unsigned  is_truncated:1;
    int32_t   next_part_number_marker;   /* 0 when absent; pass it as
                                            part-number-marker */
} vs_s3xml_list_parts_t;

/* Every <Part> must have a PartNumber (1 … 10,000), an ETag and a Size. */
int vs_s3xml_list_parts(const char *xml, size_t len,
    vs_s3xml_part_pt on_part, void *data, vs_s3xml_list_parts_t *out,
    vs_s3xml_error_t *err);


/* CompleteMultipartUpload: CompleteMultipartUploadResult, or a 200
 * carrying <Error> (VS_S3XML_S3_ERROR: the upload was not completed; it
 * is still there and the call may be repeated). */
typedef struct {
    char    etag[VS_S3XML_ETAG_MAX + 1]; /* the object's, quotes kept */
    size_t  etag_len;
} vs_s3xml_complete_upload_t;

int vs_s3xml_complete_upload(const char *xml, size_t len,
    vs_s3xml_complete_upload_t *out, vs_s3xml_error_t *err);


/* ListMultipartUploads: ListMultipartUploadsResult. */
typedef struct {
    const char  *key;
    size_t       key_len;
    const char  *upload_id;
    size_t       upload_id_len;
    const char  *initiated;              /* ISO 8601, or "" */
    size_t       initiated_len;
} vs_s3xml_upload_t;

typedef int (*vs_s3xml_upload_pt)(void *data,
    const vs_s3xml_upload_t *upload);

typedef struct {
    size_t    upload_count;              /* <Upload> passed to on_upload */
    unsigned  is_truncated:1;
    char      next_key_marker[VS_S3XML_KEY_MAX + 1];   /* when truncated: */
    size_t    next_key_marker_len;                     /* key-marker and */
    char      next_upload_id_marker[VS_S3XML_UPLOAD_ID_MAX + 1];
    size_t    next_upload_id_marker_len;               /* upload-id-marker */
} vs_s3xml_list_uploads_t;

/* Every <Upload> must have a Key and an UploadId. */
int vs_s3xml_list_uploads(const char *xml, size_t len,
    vs_s3xml_upload_pt on_upload, void *data, vs_s3xml_list_uploads_t *out,
    vs_s3xml_error_t *err);

#endif
