/*
 * libvidstream: S3's XML responses read with libxml2 (vs_s3xml.h).
 *
 * Each answer is parsed into a tree and walked twice: once to check every
 * field, then to hand the items to the caller's callback, so a callback
 * never sees the items of a document that turns out to be invalid.
 */
#include "vs_s3xml.h"

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>

#include <stdlib.h>
#include <string.h>

/*
 * No XML_PARSE_NOENT (entities stay unexpanded), no XML_PARSE_DTDLOAD or
 * DTDATTR or DTDVALID (nothing fetched, nothing defaulted), no
 * XML_PARSE_HUGE (libxml2's depth and text-size limits hold), NONET in
 * case anything still tried; errors recorded in the context only, never
 * printed through libxml2's process-wide handlers.
 */
#define VS_S3XML_OPTIONS  (XML_PARSE_NONET | XML_PARSE_NOERROR              \
                           | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA)

#define VS_S3XML_PARTS_MAX  10000       /* S3's part numbers: 1…10,000 */


/* A leaf's text: in the tree when it is one text node, else copied. */
typedef struct {
    const char  *data;
    size_t       len;
    char        *owned;
} vs_s3xml_str_t;


void
vs_s3xml_init(void)
{
    xmlInitParser();
}


const char *
vs_s3xml_strerror(int rc)
{
    switch (rc) {
    case VS_S3XML_OK:
        return "ok";
    case VS_S3XML_S3_ERROR:
        return "S3 answered an error";
    case VS_S3XML_INVALID:
        return "not the XML S3 answers";
    case VS_S3XML_ABORTED:
        return "stopped by the caller";
    case VS_S3XML_NOMEM:
        return "out of memory";
    default:
        return "unknown result";
    }
}


/* SAX hook for <!DOCTYPE …>: S3 never sends one, and a DTD is where
 * entity bombs and external fetches live, so stop at its first byte. */
static void
vs_s3xml_refuse_dtd(void *ctx, const xmlChar *name,
    const xmlChar *external_id, const xmlChar *system_id)
{
    xmlParserCtxtPtr  ctxt = ctx;

    *(int *) ctxt->_private = 1;
    xmlStopParser(ctxt);
}


/* Swallows what libxml2 reports outside a parser context. */
static void
vs_s3xml_silent(void *ctx, const char *msg, ...)
{
}


/* Parses xml into *doc (freed by the caller with xmlFreeDoc). */
static int
vs_s3xml_read(const char *xml, size_t len, xmlDocPtr *doc)
{
    xmlParserCtxtPtr      ctxt;
    xmlGenericErrorFunc   saved;
    void                 *saved_ctx;
    int                   dtd, rc;

    *doc = NULL;

    while (len > 0 && (*xml == ' ' || *xml == '\t' || *xml == '\r'
                       || *xml == '\n'))
    {
        xml++;
        len--;
    }

    if (xml == NULL || len == 0 || len > VS_S3XML_INPUT_MAX) {
        return VS_S3XML_INVALID;
    }

    /*
     * XML_PARSE_NOERROR silences the parser, but not the encoding layer:
     * a body with bytes its encoding cannot have is reported through the
     * generic handler, to stderr (nginx's error log).  That handler is
     * per thread in libxml2, so this thread's is swapped for the parse.
     */
    saved = xmlGenericError;
    saved_ctx = xmlGenericErrorContext;
    xmlSetGenericErrorFunc(NULL, vs_s3xml_silent);

    ctxt = xmlCreateMemoryParserCtxt(xml, (int) len);
    if (ctxt == NULL) {
        xmlSetGenericErrorFunc(saved_ctx, saved);
        return VS_S3XML_NOMEM;
    }

    dtd = 0;
    ctxt->_private = &dtd;
    ctxt->sax->internalSubset = vs_s3xml_refuse_dtd;
    ctxt->sax->externalSubset = vs_s3xml_refuse_dtd;
    xmlCtxtUseOptions(ctxt, VS_S3XML_OPTIONS);

    (void) xmlParseDocument(ctxt);

    if (ctxt->errNo == XML_ERR_NO_MEMORY) {
        rc = VS_S3XML_NOMEM;
    } else if (dtd || !ctxt->wellFormed || ctxt->myDoc == NULL
               || ctxt->myDoc->intSubset != NULL
               || ctxt->myDoc->extSubset != NULL
               || xmlDocGetRootElement(ctxt->myDoc) == NULL)
    {
        rc = VS_S3XML_INVALID;
    } else {
        rc = VS_S3XML_OK;
        *doc = ctxt->myDoc;
        ctxt->myDoc = NULL;
    }

    if (ctxt->myDoc != NULL) {
        xmlFreeDoc(ctxt->myDoc);
        ctxt->myDoc = NULL;
    }
    xmlFreeParserCtxt(ctxt);
    xmlSetGenericErrorFunc(saved_ctx, saved);
    return rc;
}


static int
vs_s3xml_is(const xmlNode *node, const char *name)
{
    return node->type == XML_ELEMENT_NODE
           && strcmp((const char *) node->name, name) == 0;
}


/* The text of a leaf element; one with element children is invalid. */
static int
vs_s3xml_text(const xmlNode *node, vs_s3xml_str_t *s)
{
    const xmlNode  *c;
    size_t          ntext, len;
    char           *p;

    s->data = "";
    s->len = 0;
    s->owned = NULL;
    ntext = 0;
    len = 0;

    for (c = node->children; c != NULL; c = c->next) {
        if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
            s->data = (const char *) c->content;
            s->len = strlen(s->data);
            len += s->len;
            ntext++;
        } else if (c->type != XML_COMMENT_NODE && c->type != XML_PI_NODE) {
            return VS_S3XML_INVALID;
        }
    }

    if (ntext <= 1) {
        return VS_S3XML_OK;
    }

    /* text split by comments: rare, but well-formed */
    p = malloc(len + 1);
    if (p == NULL) {
        return VS_S3XML_NOMEM;
    }
    s->owned = p;
    s->data = p;
    s->len = len;

    for (c = node->children; c != NULL; c = c->next) {
        if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
            len = strlen((const char *) c->content);
            memcpy(p, c->content, len);
            p += len;
        }
    }
    *p = '\0';

    return VS_S3XML_OK;
}


static void
vs_s3xml_str_free(vs_s3xml_str_t *s)
{
    free(s->owned);
    s->owned = NULL;
}


/* Copies a leaf's text into dst[max + 1]; longer is invalid. */
static int
vs_s3xml_copy(const xmlNode *node, char *dst, size_t max, size_t *dst_len)
{
    vs_s3xml_str_t  s;
    int             rc;

    rc = vs_s3xml_text(node, &s);
    if (rc != VS_S3XML_OK) {
        return rc;
    }

    if (s.len > max) {
        vs_s3xml_str_free(&s);
        return VS_S3XML_INVALID;
    }

    memcpy(dst, s.data, s.len);
    dst[s.len] = '\0';
    *dst_len = s.len;
    vs_s3xml_str_free(&s);
    return VS_S3XML_OK;
}


static int
vs_s3xml_bool(const xmlNode *node, unsigned *value)
{
    char    buf[8];
    size_t  len;

    if (vs_s3xml_copy(node, buf, sizeof(buf) - 1, &len) != VS_S3XML_OK) {
        return VS_S3XML_INVALID;
    }

    if (strcmp(buf, "true") == 0) {
        *value = 1;
    } else if (strcmp(buf, "false") == 0) {
        *value = 0;
    } else {
        return VS_S3XML_INVALID;
    }
    return VS_S3XML_OK;
}


/* A decimal integer 0…max, digits only. */
static int
vs_s3xml_int(const xmlNode *node, int64_t max, int64_t *value)
{
    char    buf[24];
    size_t  len, i;
    int64_t v;

    if (vs_s3xml_copy(node, buf, 19, &len) != VS_S3XML_OK || len == 0) {
        return VS_S3XML_INVALID;
    }

    v = 0;
    for (i = 0; i < len; i++) {
        if (buf[i] < '0' || buf[i] > '9') {
            return VS_S3XML_INVALID;
        }
        if (v > (max - (buf[i] - '0')) / 10) {
            return VS_S3XML_INVALID;
        }
        v = v * 10 + (buf[i] - '0');
    }

    *value = v;
    return VS_S3XML_OK;
}


static int
vs_s3xml_fill_error(const xmlNode *root, vs_s3xml_error_t *err)
{
    const xmlNode   *c;
    vs_s3xml_str_t   s;
    size_t           len;
    int              rc;

    err->code[0] = '\0';
    err->code_len = 0;
    err->message[0] = '\0';
    err->message_len = 0;

    for (c = root->children; c != NULL; c = c->next) {
        if (vs_s3xml_is(c, "Code")) {
            rc = vs_s3xml_copy(c, err->code, VS_S3XML_CODE_MAX,
                               &err->code_len);
            if (rc != VS_S3XML_OK) {
                return rc;
            }

        } else if (vs_s3xml_is(c, "Message")) {
            rc = vs_s3xml_text(c, &s);
            if (rc != VS_S3XML_OK) {
                return rc;
            }

            /* a long message is cut, on a UTF-8 character boundary */
            len = s.len;
            if (len > VS_S3XML_MESSAGE_MAX) {
                len = VS_S3XML_MESSAGE_MAX;
                while (len > 0 && ((unsigned char) s.data[len] & 0xc0)
                                  == 0x80)
                {
                    len--;
                }
            }
            memcpy(err->message, s.data, len);
            err->message[len] = '\0';
            err->message_len = len;
            vs_s3xml_str_free(&s);
        }
    }

    if (err->code_len == 0) {
        err->message[0] = '\0';
        err->message_len = 0;
        return VS_S3XML_INVALID;
    }
    return VS_S3XML_S3_ERROR;
}


/*
 * Parses xml and finds its root: the expected one (VS_S3XML_OK), or an
 * <Error> (VS_S3XML_S3_ERROR, err filled when given).  On any other
 * result *doc is NULL.
 */
static int
vs_s3xml_open(const char *xml, size_t len, const char *root_name,
    xmlDocPtr *doc, xmlNodePtr *root, vs_s3xml_error_t *err)
{
    vs_s3xml_error_t  scratch;
    int               rc;

    if (err != NULL) {
        err->code[0] = '\0';
        err->code_len = 0;
        err->message[0] = '\0';
        err->message_len = 0;
    }

    rc = vs_s3xml_read(xml, len, doc);
    if (rc != VS_S3XML_OK) {
        return rc;
    }

    *root = xmlDocGetRootElement(*doc);

    if (vs_s3xml_is(*root, "Error")) {
        rc = vs_s3xml_fill_error(*root, err != NULL ? err : &scratch);
    } else if (!vs_s3xml_is(*root, root_name)) {
        rc = VS_S3XML_INVALID;
    } else {
        return VS_S3XML_OK;
    }

    xmlFreeDoc(*doc);
    *doc = NULL;
    return rc;
}


int
vs_s3xml_error(const char *xml, size_t len, vs_s3xml_error_t *err)
{
    xmlDocPtr   doc;
    xmlNodePtr  root;
    int         rc;

    /* an <Error> root is always reported as such, whatever is expected */
    rc = vs_s3xml_open(xml, len, "", &doc, &root, err);
    return rc == VS_S3XML_S3_ERROR ? rc : VS_S3XML_INVALID;
}


/*
 * A listing: the document checked whole first (walk with emit 0, no
 * callback), then walked again calling back (emit 1), so that callers never
 * see part of a document that turns out invalid.  out is cleared on error.
 */
static int
vs_s3xml_list(const char *xml, size_t len, const char *root_name,
    int (*walk)(xmlNodePtr root, int emit, void *arg), void *arg, void *out,
    size_t out_size, vs_s3xml_error_t *err)
{
    xmlDocPtr   doc;
    xmlNodePtr  root;
    int         rc;

    memset(out, 0, out_size);

    rc = vs_s3xml_open(xml, len, root_name, &doc, &root, err);
    if (rc != VS_S3XML_OK) {
        return rc;
    }

    rc = walk(root, 0, arg);
    if (rc == VS_S3XML_OK) {
        rc = walk(root, 1, arg);
    }
    if (rc != VS_S3XML_OK) {
        memset(out, 0, out_size);
    }

    xmlFreeDoc(doc);
    return rc;
}


/* ListObjectsV2 */

typedef struct {
    vs_s3xml_key_pt           on_key;
    void                     *data;
    vs_s3xml_list_objects_t  *out;
} vs_s3xml_objects_ctx_t;


static int
vs_s3xml_objects_walk(xmlNodePtr root, int emit, void *arg)
{
    vs_s3xml_objects_ctx_t   *ctx = arg;
    vs_s3xml_key_pt           on_key = ctx->on_key;
    void                     *data = ctx->data;
    vs_s3xml_list_objects_t  *out = ctx->out;
    xmlNodePtr      c, f;
    vs_s3xml_str_t  key;
    int             rc, have_key;

    memset(out, 0, sizeof(*out));

    for (c = root->children; c != NULL; c = c->next) {
        if (vs_s3xml_is(c, "Contents")) {
            have_key = 0;
            for (f = c->children; f != NULL; f = f->next) {
                if (!vs_s3xml_is(f, "Key")) {
                    continue;
                }
                rc = vs_s3xml_text(f, &key);
                if (rc != VS_S3XML_OK) {
                    return rc;
                }
                if (key.len == 0 || key.len > 3 * VS_S3XML_KEY_MAX) {
                    /* (3×: a key may come URL-encoded) */
                    vs_s3xml_str_free(&key);
                    return VS_S3XML_INVALID;
                }
                have_key = 1;
                if (emit && on_key != NULL
                    && on_key(data, key.data, key.len) != 0)
                {
                    vs_s3xml_str_free(&key);
                    return VS_S3XML_ABORTED;
                }
                vs_s3xml_str_free(&key);
                break;
            }
            if (!have_key) {
                return VS_S3XML_INVALID;
            }
            out->key_count++;

        } else if (vs_s3xml_is(c, "IsTruncated")) {
            unsigned  t;

            if (vs_s3xml_bool(c, &t) != VS_S3XML_OK) {
                return VS_S3XML_INVALID;
            }
            out->is_truncated = t;

        } else if (vs_s3xml_is(c, "NextContinuationToken")) {
            rc = vs_s3xml_copy(c, out->next_token, VS_S3XML_TOKEN_MAX,
                               &out->next_token_len);
            if (rc != VS_S3XML_OK) {
                return rc;
            }
        }
    }

    /* a truncated list is only usable with where to go on */
    if (out->is_truncated && out->next_token_len == 0) {
        return VS_S3XML_INVALID;
    }
    return VS_S3XML_OK;
}


int
vs_s3xml_list_objects(const char *xml, size_t len, vs_s3xml_key_pt on_key,
    void *data, vs_s3xml_list_objects_t *out, vs_s3xml_error_t *err)
{
    vs_s3xml_objects_ctx_t  ctx = { on_key, data, out };

    return vs_s3xml_list(xml, len, "ListBucketResult", vs_s3xml_objects_walk,
                         &ctx, out, sizeof(*out), err);
}


/*
 * A document of one field that matters (CreateMultipartUpload's UploadId,
 * CompleteMultipartUpload's ETag): root_name's child field, non-empty,
 * copied into buf (max bytes); *len is 0 on error.
 */
static int
vs_s3xml_one(const char *xml, size_t len, const char *root_name,
    const char *field, char *buf, size_t max, size_t *buf_len,
    vs_s3xml_error_t *err)
{
    xmlDocPtr   doc;
    xmlNodePtr  root, c;
    int         rc;

    *buf_len = 0;

    rc = vs_s3xml_open(xml, len, root_name, &doc, &root, err);
    if (rc != VS_S3XML_OK) {
        return rc;
    }

    rc = VS_S3XML_INVALID;
    for (c = root->children; c != NULL; c = c->next) {
        if (vs_s3xml_is(c, field)) {
            rc = vs_s3xml_copy(c, buf, max, buf_len);
            break;
        }
    }

    if (rc == VS_S3XML_OK && *buf_len == 0) {
        rc = VS_S3XML_INVALID;
    }
    if (rc != VS_S3XML_OK) {
        *buf_len = 0;
    }

    xmlFreeDoc(doc);
    return rc;
}


/* CreateMultipartUpload */

int
vs_s3xml_create_upload(const char *xml, size_t len,
    vs_s3xml_create_upload_t *out, vs_s3xml_error_t *err)
{
    memset(out, 0, sizeof(*out));

    return vs_s3xml_one(xml, len, "InitiateMultipartUploadResult",
                        "UploadId", out->upload_id, VS_S3XML_UPLOAD_ID_MAX,
                        &out->upload_id_len, err);
}


/* ListParts */

/* One <Part>; its strings point into the tree or into *etag / *date. */
static int
vs_s3xml_part(xmlNodePtr node, vs_s3xml_part_t *part, vs_s3xml_str_t *etag,
    vs_s3xml_str_t *date)
{
    xmlNodePtr  f;
    int64_t     v;
    int         rc, have_number = 0, have_size = 0;

    memset(part, 0, sizeof(*part));
    part->last_modified = "";

    for (f = node->children; f != NULL; f = f->next) {
        if (vs_s3xml_is(f, "PartNumber")) {
            if (vs_s3xml_int(f, VS_S3XML_PARTS_MAX, &v) != VS_S3XML_OK
                || v < 1)
            {
                return VS_S3XML_INVALID;
            }
            part->part_number = (int32_t) v;
            have_number = 1;

        } else if (vs_s3xml_is(f, "Size")) {
            if (vs_s3xml_int(f, INT64_MAX, &v) != VS_S3XML_OK) {
                return VS_S3XML_INVALID;
            }
            part->size = v;
            have_size = 1;

        } else if (vs_s3xml_is(f, "ETag") && etag->data == NULL) {
            rc = vs_s3xml_text(f, etag);
            if (rc != VS_S3XML_OK) {
                etag->data = NULL;
                return rc;
            }
            part->etag = etag->data;
            part->etag_len = etag->len;

        } else if (vs_s3xml_is(f, "LastModified") && date->data == NULL) {
            rc = vs_s3xml_text(f, date);
            if (rc != VS_S3XML_OK) {
                date->data = NULL;
                return rc;
            }
            part->last_modified = date->data;
            part->last_modified_len = date->len;
        }
    }

    if (!have_number || !have_size || part->etag_len == 0
        || part->etag_len > VS_S3XML_ETAG_MAX)
    {
        return VS_S3XML_INVALID;
    }
    return VS_S3XML_OK;
}


typedef struct {
    vs_s3xml_part_pt        on_part;
    void                   *data;
    vs_s3xml_list_parts_t  *out;
} vs_s3xml_parts_ctx_t;


static int
vs_s3xml_parts_walk(xmlNodePtr root, int emit, void *arg)
{
    vs_s3xml_parts_ctx_t   *ctx = arg;
    vs_s3xml_part_pt        on_part = ctx->on_part;
    void                   *data = ctx->data;
    vs_s3xml_list_parts_t  *out = ctx->out;
    xmlNodePtr       c;
    vs_s3xml_part_t  part;
    vs_s3xml_str_t   etag, date;
    int64_t          v;
    int              rc;

    memset(out, 0, sizeof(*out));

    for (c = root->children; c != NULL; c = c->next) {
        if (vs_s3xml_is(c, "Part")) {
            etag.data = NULL;
            etag.owned = NULL;
            date.data = NULL;
            date.owned = NULL;

            rc = vs_s3xml_part(c, &part, &etag, &date);
            if (rc == VS_S3XML_OK && emit && on_part != NULL
                && on_part(data, &part) != 0)
            {
                rc = VS_S3XML_ABORTED;
            }
            vs_s3xml_str_free(&etag);
            vs_s3xml_str_free(&date);
            if (rc != VS_S3XML_OK) {
                return rc;
            }
            out->part_count++;

        } else if (vs_s3xml_is(c, "IsTruncated")) {
            unsigned  t;

            if (vs_s3xml_bool(c, &t) != VS_S3XML_OK) {
                return VS_S3XML_INVALID;
            }
            out->is_truncated = t;

        } else if (vs_s3xml_is(c, "NextPartNumberMarker")) {
            if (vs_s3xml_int(c, VS_S3XML_PARTS_MAX, &v) != VS_S3XML_OK) {
                return VS_S3XML_INVALID;
            }
            out->next_part_number_marker = (int32_t) v;
        }
    }

    if (out->is_truncated && out->next_part_number_marker == 0) {
        return VS_S3XML_INVALID;
    }
    return VS_S3XML_OK;
}


int
vs_s3xml_list_parts(const char *xml, size_t len, vs_s3xml_part_pt on_part,
    void *data, vs_s3xml_list_parts_t *out, vs_s3xml_error_t *err)
{
    vs_s3xml_parts_ctx_t  ctx = { on_part, data, out };

    return vs_s3xml_list(xml, len, "ListPartsResult", vs_s3xml_parts_walk,
                         &ctx, out, sizeof(*out), err);
}


/* CompleteMultipartUpload (a 200 carrying <Error> is _S3_ERROR) */

int
vs_s3xml_complete_upload(const char *xml, size_t len,
    vs_s3xml_complete_upload_t *out, vs_s3xml_error_t *err)
{
    memset(out, 0, sizeof(*out));

    /* the ETag is all a caller may want; S3 always sends it */
    return vs_s3xml_one(xml, len, "CompleteMultipartUploadResult", "ETag",
                        out->etag, VS_S3XML_ETAG_MAX, &out->etag_len, err);
}


/* ListMultipartUploads */

static int
vs_s3xml_upload(xmlNodePtr node, vs_s3xml_upload_t *upload,
    vs_s3xml_str_t s[3])
{
    xmlNodePtr  f;
    int         rc, i;

    memset(upload, 0, sizeof(*upload));
    upload->initiated = "";

    for (f = node->children; f != NULL; f = f->next) {
        if (vs_s3xml_is(f, "Key")) {
            i = 0;
        } else if (vs_s3xml_is(f, "UploadId")) {
            i = 1;
        } else if (vs_s3xml_is(f, "Initiated")) {
            i = 2;
        } else {
            continue;
        }

        if (s[i].data != NULL) {
            continue;                       /* the first one counts */
        }

        rc = vs_s3xml_text(f, &s[i]);
        if (rc != VS_S3XML_OK) {
            s[i].data = NULL;
            return rc;
        }
    }

    if (s[0].data == NULL || s[0].len == 0
        || s[0].len > 3 * VS_S3XML_KEY_MAX
        || s[1].data == NULL || s[1].len == 0
        || s[1].len > VS_S3XML_UPLOAD_ID_MAX)
    {
        return VS_S3XML_INVALID;
    }

    upload->key = s[0].data;
    upload->key_len = s[0].len;
    upload->upload_id = s[1].data;
    upload->upload_id_len = s[1].len;
    if (s[2].data != NULL) {
        upload->initiated = s[2].data;
        upload->initiated_len = s[2].len;
    }
    return VS_S3XML_OK;
}


typedef struct {
    vs_s3xml_upload_pt        on_upload;
    void                     *data;
    vs_s3xml_list_uploads_t  *out;
} vs_s3xml_uploads_ctx_t;


static int
vs_s3xml_uploads_walk(xmlNodePtr root, int emit, void *arg)
{
    vs_s3xml_uploads_ctx_t   *ctx = arg;
    vs_s3xml_upload_pt        on_upload = ctx->on_upload;
    void                     *data = ctx->data;
    vs_s3xml_list_uploads_t  *out = ctx->out;
    xmlNodePtr         c;
    vs_s3xml_upload_t  upload;
    vs_s3xml_str_t     s[3];
    int                rc, i;

    memset(out, 0, sizeof(*out));

    for (c = root->children; c != NULL; c = c->next) {
        if (vs_s3xml_is(c, "Upload")) {
            memset(s, 0, sizeof(s));

            rc = vs_s3xml_upload(c, &upload, s);
            if (rc == VS_S3XML_OK && emit && on_upload != NULL
                && on_upload(data, &upload) != 0)
            {
                rc = VS_S3XML_ABORTED;
            }
            for (i = 0; i < 3; i++) {
                vs_s3xml_str_free(&s[i]);
            }
            if (rc != VS_S3XML_OK) {
                return rc;
            }
            out->upload_count++;

        } else if (vs_s3xml_is(c, "IsTruncated")) {
            unsigned  t;

            if (vs_s3xml_bool(c, &t) != VS_S3XML_OK) {
                return VS_S3XML_INVALID;
            }
            out->is_truncated = t;

        } else if (vs_s3xml_is(c, "NextKeyMarker")) {
            rc = vs_s3xml_copy(c, out->next_key_marker, VS_S3XML_KEY_MAX,
                               &out->next_key_marker_len);
            if (rc != VS_S3XML_OK) {
                return rc;
            }

        } else if (vs_s3xml_is(c, "NextUploadIdMarker")) {
            rc = vs_s3xml_copy(c, out->next_upload_id_marker,
                               VS_S3XML_UPLOAD_ID_MAX,
                               &out->next_upload_id_marker_len);
            if (rc != VS_S3XML_OK) {
                return rc;
            }
        }
    }

    if (out->is_truncated && out->next_key_marker_len == 0) {
        return VS_S3XML_INVALID;
    }
    return VS_S3XML_OK;
}


int
vs_s3xml_list_uploads(const char *xml, size_t len,
    vs_s3xml_upload_pt on_upload, void *data, vs_s3xml_list_uploads_t *out,
    vs_s3xml_error_t *err)
{
    vs_s3xml_uploads_ctx_t  ctx = { on_upload, data, out };

    return vs_s3xml_list(xml, len, "ListMultipartUploadsResult",
                         vs_s3xml_uploads_walk, &ctx, out, sizeof(*out),
                         err);
}
