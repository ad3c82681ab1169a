/*
 * S3 XML responses (lib/vs_s3xml): AWS's documented examples
 * (t/unit/s3xml/), the shapes S3 and local emulators write, a 200 that
 * carries <Error>, and hostile input: too large, too deep, DTDs and
 * entities, truncated at every byte, fields out of range.
 */
#include "vs_test.h"
#include "vs_s3xml.h"

#include <libxml/globals.h>
#include <libxml/xmlerror.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NS  "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\""


typedef struct {
    char    items[8][1100];
    int     n;
    int     stop_at;             /* abort when n reaches it (0: never) */
} collect_t;


static char *
slurp(const char *name, size_t *len)
{
    char   path[256];
    FILE  *f;
    char  *buf;
    long   n;

    snprintf(path, sizeof(path), "t/unit/s3xml/%s", name);
    f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    buf = malloc((size_t) n + 1);
    if (buf == NULL || fread(buf, 1, (size_t) n, f) != (size_t) n) {
        exit(2);
    }
    buf[n] = '\0';
    fclose(f);
    *len = (size_t) n;
    return buf;
}


static int
on_key(void *data, const char *key, size_t len)
{
    collect_t  *c = data;

    if (c->n < 8) {
        snprintf(c->items[c->n], sizeof(c->items[0]), "%.*s", (int) len,
                 key);
    }
    c->n++;
    return c->stop_at != 0 && c->n >= c->stop_at;
}


static int
on_part(void *data, const vs_s3xml_part_t *p)
{
    collect_t  *c = data;

    if (c->n < 8) {
        snprintf(c->items[c->n], sizeof(c->items[0]), "%d %lld %.*s %.*s",
                 (int) p->part_number, (long long) p->size,
                 (int) p->etag_len, p->etag, (int) p->last_modified_len,
                 p->last_modified);
    }
    c->n++;
    return c->stop_at != 0 && c->n >= c->stop_at;
}


static int
on_upload(void *data, const vs_s3xml_upload_t *u)
{
    collect_t  *c = data;

    if (c->n < 8) {
        snprintf(c->items[c->n], sizeof(c->items[0]), "%.*s %.*s %.*s",
                 (int) u->key_len, u->key, (int) u->upload_id_len,
                 u->upload_id, (int) u->initiated_len, u->initiated);
    }
    c->n++;
    return c->stop_at != 0 && c->n >= c->stop_at;
}


static int
parts(const char *xml, collect_t *c, vs_s3xml_list_parts_t *out)
{
    memset(c, 0, sizeof(*c));
    return vs_s3xml_list_parts(xml, strlen(xml), on_part, c, out, NULL);
}


static void
test_fixtures(void)
{
    vs_s3xml_error_t            err;
    vs_s3xml_list_objects_t     lo;
    vs_s3xml_create_upload_t    cu;
    vs_s3xml_list_parts_t       lp;
    vs_s3xml_complete_upload_t  co;
    vs_s3xml_list_uploads_t     lu;
    collect_t                   c;
    char                       *xml;
    size_t                      len;

    xml = slurp("error-nosuchkey.xml", &len);
    CHECK(vs_s3xml_error(xml, len, &err) == VS_S3XML_S3_ERROR);
    CHECK_STR(err.code, "NoSuchKey");
    CHECK(err.code_len == 9);
    CHECK_STR(err.message, "The resource you requested does not exist");
    /* any parser reports an <Error> body as such */
    memset(&c, 0, sizeof(c));
    CHECK(vs_s3xml_list_objects(xml, len, on_key, &c, &lo, &err)
          == VS_S3XML_S3_ERROR);
    CHECK_STR(err.code, "NoSuchKey");
    CHECK(c.n == 0);
    free(xml);

    xml = slurp("list-objects-v2.xml", &len);
    memset(&c, 0, sizeof(c));
    CHECK(vs_s3xml_list_objects(xml, len, on_key, &c, &lo, &err) == 0);
    CHECK(c.n == 1 && lo.key_count == 1);
    CHECK_STR(c.items[0], "my-image.jpg");
    CHECK(!lo.is_truncated && lo.next_token_len == 0);
    CHECK_STR(lo.next_token, "");
    CHECK(vs_s3xml_error(xml, len, &err) == VS_S3XML_INVALID);
    CHECK_STR(err.code, "");
    free(xml);

    xml = slurp("list-objects-v2-truncated.xml", &len);
    memset(&c, 0, sizeof(c));
    CHECK(vs_s3xml_list_objects(xml, len, on_key, &c, &lo, NULL) == 0);
    CHECK(c.n == 2 && lo.key_count == 2);
    CHECK_STR(c.items[0], "happy-face.jpg");
    CHECK_STR(c.items[1], "photos/2006/February/sample.jpg");
    CHECK(lo.is_truncated);
    CHECK_STR(lo.next_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
    /* callbacks are optional */
    CHECK(vs_s3xml_list_objects(xml, len, NULL, NULL, &lo, NULL) == 0);
    CHECK(lo.key_count == 2);
    free(xml);

    xml = slurp("create-multipart-upload.xml", &len);
    CHECK(vs_s3xml_create_upload(xml, len, &cu, &err) == 0);
    CHECK_STR(cu.upload_id,
              "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA");
    CHECK(cu.upload_id_len == strlen(cu.upload_id));
    free(xml);

    xml = slurp("list-parts.xml", &len);
    memset(&c, 0, sizeof(c));
    CHECK(vs_s3xml_list_parts(xml, len, on_part, &c, &lp, &err) == 0);
    CHECK(c.n == 2 && lp.part_count == 2);
    CHECK_STR(c.items[0], "2 10485760 \"7778aef83f66abc1fa1e8477f296d394\" "
              "2010-11-10T20:48:34.000Z");
    CHECK_STR(c.items[1], "3 10485760 \"aaaa18db4cc2f85cedef654fccc4a4x8\" "
              "2010-11-10T20:48:33.000Z");
    CHECK(lp.is_truncated && lp.next_part_number_marker == 3);
    free(xml);

    xml = slurp("complete-multipart-upload.xml", &len);
    CHECK(vs_s3xml_complete_upload(xml, len, &co, &err) == 0);
    CHECK_STR(co.etag, "\"3858f62230ac3c915f300c664312c11f-9\"");
    free(xml);

    /* the 200 that carries <Error>: not completed */
    xml = slurp("complete-multipart-upload-error.xml", &len);
    CHECK(vs_s3xml_complete_upload(xml, len, &co, &err)
          == VS_S3XML_S3_ERROR);
    CHECK_STR(err.code, "InternalError");
    CHECK_STR(err.message,
              "We encountered an internal error. Please try again.");
    CHECK(co.etag_len == 0);
    CHECK(vs_s3xml_complete_upload(xml, len, &co, NULL)
          == VS_S3XML_S3_ERROR);
    free(xml);

    xml = slurp("list-multipart-uploads.xml", &len);
    memset(&c, 0, sizeof(c));
    CHECK(vs_s3xml_list_uploads(xml, len, on_upload, &c, &lu, &err) == 0);
    CHECK(c.n == 3 && lu.upload_count == 3);
    CHECK_STR(c.items[0], "my-divisor "
              "XMgbGlrZSBlbHZpbmcncyBub3QgaGF2aW5nIG11Y2ggbHVjaw "
              "2010-11-10T20:48:33.000Z");
    CHECK_STR(c.items[2], "my-movie.m2ts "
              "YW55IGlkZWEgd2h5IGVsdmluZydzIHVwbG9hZCBmYWlsZWQ "
              "2010-11-10T20:49:33.000Z");
    CHECK(lu.is_truncated);
    CHECK_STR(lu.next_key_marker, "my-movie.m2ts");
    CHECK_STR(lu.next_upload_id_marker,
              "YW55IGlkZWEgd2h5IGVsdmluZydzIHVwbG9hZCBmYWlsZWQ");
    free(xml);
}


/* What emulators and S3 itself vary: namespaces, whitespace, escapes. */
static void
test_shapes(void)
{
    vs_s3xml_error_t            err;
    vs_s3xml_list_objects_t     lo;
    vs_s3xml_create_upload_t    cu;
    vs_s3xml_list_parts_t       lp;
    vs_s3xml_complete_upload_t  co;
    collect_t                   c;
    const char                 *xml;
    char                        big[2048];

    /* no namespace (s3rver), a prefixed one, no XML declaration */
    xml = "<InitiateMultipartUploadResult><UploadId>abc</UploadId>"
          "</InitiateMultipartUploadResult>";
    CHECK(vs_s3xml_create_upload(xml, strlen(xml), &cu, NULL) == 0);
    CHECK_STR(cu.upload_id, "abc");
    xml = "<s3:InitiateMultipartUploadResult xmlns:s3=\"http://s3.amazonaws"
          ".com/doc/2006-03-01/\"><s3:UploadId>p</s3:UploadId>"
          "</s3:InitiateMultipartUploadResult>";
    CHECK(vs_s3xml_create_upload(xml, strlen(xml), &cu, NULL) == 0);
    CHECK_STR(cu.upload_id, "p");

    /* whitespace before the document: S3's keep-alive on a long
     * CompleteMultipartUpload */
    xml = " \r\n\n   <?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\n   "
          "<Error><Code>SlowDown</Code><Message>Reduce your request rate."
          "</Message></Error>";
    CHECK(vs_s3xml_complete_upload(xml, strlen(xml), &co, &err)
          == VS_S3XML_S3_ERROR);
    CHECK_STR(err.code, "SlowDown");
    CHECK_STR(err.message, "Reduce your request rate.");

    /* escapes, character references, CDATA, a comment inside text */
    xml = "<ListBucketResult " NS "><Contents><Key>a&amp;b&lt;c&gt;&quot;"
          "&apos;&#233;&#x2603;</Key></Contents><Contents><Key><![CDATA["
          "x<y>&z]]></Key></Contents><Contents><Key>spl<!-- c -->it</Key>"
          "</Contents><IsTruncated>false</IsTruncated></ListBucketResult>";
    memset(&c, 0, sizeof(c));
    CHECK(vs_s3xml_list_objects(xml, strlen(xml), on_key, &c, &lo, NULL)
          == 0);
    CHECK(c.n == 3);
    CHECK_STR(c.items[0], "a&b<c>\"'\xc3\xa9\xe2\x98\x83");
    CHECK_STR(c.items[1], "x<y>&z");
    CHECK_STR(c.items[2], "split");

    /* a Contents without a Key, an empty key */
    xml = "<ListBucketResult><Contents><Size>1</Size></Contents>"
          "</ListBucketResult>";
    CHECK(vs_s3xml_list_objects(xml, strlen(xml), on_key, &c, &lo, NULL)
          == VS_S3XML_INVALID);
    xml = "<ListBucketResult><Contents><Key></Key></Contents>"
          "</ListBucketResult>";
    CHECK(vs_s3xml_list_objects(xml, strlen(xml), on_key, &c, &lo, NULL)
          == VS_S3XML_INVALID);
    /* element inside a leaf */
    xml = "<ListBucketResult><Contents><Key>a<b/>c</Key></Contents>"
          "</ListBucketResult>";
    CHECK(vs_s3xml_list_objects(xml, strlen(xml), on_key, &c, &lo, NULL)
          == VS_S3XML_INVALID);

    /* truncated without a token, IsTruncated not a boolean */
    xml = "<ListBucketResult><IsTruncated>true</IsTruncated>"
          "</ListBucketResult>";
    CHECK(vs_s3xml_list_objects(xml, strlen(xml), NULL, NULL, &lo, NULL)
          == VS_S3XML_INVALID);
    xml = "<ListBucketResult><IsTruncated>yes</IsTruncated>"
          "</ListBucketResult>";
    CHECK(vs_s3xml_list_objects(xml, strlen(xml), NULL, NULL, &lo, NULL)
          == VS_S3XML_INVALID);

    /* an empty listing */
    xml = "<ListBucketResult " NS "><Name>b</Name><KeyCount>0</KeyCount>"
          "<IsTruncated>false</IsTruncated></ListBucketResult>";
    memset(&c, 0, sizeof(c));
    CHECK(vs_s3xml_list_objects(xml, strlen(xml), on_key, &c, &lo, NULL)
          == 0);
    CHECK(c.n == 0 && lo.key_count == 0 && !lo.is_truncated);

    /* the wrong answer for the call */
    xml = "<ListPartsResult/>";
    CHECK(vs_s3xml_list_objects(xml, strlen(xml), NULL, NULL, &lo, NULL)
          == VS_S3XML_INVALID);
    CHECK(vs_s3xml_create_upload(xml, strlen(xml), &cu, NULL)
          == VS_S3XML_INVALID);
    CHECK(vs_s3xml_list_parts(xml, strlen(xml), NULL, NULL, &lp, NULL)
          == 0 && lp.part_count == 0);

    /* no UploadId, an empty one, one over the limit */
    xml = "<InitiateMultipartUploadResult><Key>k</Key>"
          "</InitiateMultipartUploadResult>";
    CHECK(vs_s3xml_create_upload(xml, strlen(xml), &cu, NULL)
          == VS_S3XML_INVALID);
    xml = "<InitiateMultipartUploadResult><UploadId/>"
          "</InitiateMultipartUploadResult>";
    CHECK(vs_s3xml_create_upload(xml, strlen(xml), &cu, NULL)
          == VS_S3XML_INVALID);
    memcpy(big, "<InitiateMultipartUploadResult><UploadId>", 41);
    memset(big + 41, 'u', 1024);
    strcpy(big + 41 + 1024, "</UploadId></InitiateMultipartUploadResult>");
    CHECK(vs_s3xml_create_upload(big, strlen(big), &cu, NULL)
          == VS_S3XML_INVALID);
    CHECK(cu.upload_id_len == 0);
    big[41 + 1023] = '<';                   /* 1,023 bytes: the maximum */
    memmove(big + 41 + 1023, big + 41 + 1024, strlen(big + 41 + 1024) + 1);
    CHECK(vs_s3xml_create_upload(big, strlen(big), &cu, NULL) == 0);
    CHECK(cu.upload_id_len == 1023);

    /* Complete without an ETag */
    xml = "<CompleteMultipartUploadResult><Key>k</Key>"
          "</CompleteMultipartUploadResult>";
    CHECK(vs_s3xml_complete_upload(xml, strlen(xml), &co, NULL)
          == VS_S3XML_INVALID);
}


static void
test_errors(void)
{
    vs_s3xml_error_t  err;
    const char       *xml;
    char              big[4096];
    size_t            i;

    CHECK(vs_s3xml_error(NULL, 0, &err) == VS_S3XML_INVALID);
    CHECK(vs_s3xml_error("", 0, &err) == VS_S3XML_INVALID);
    CHECK(vs_s3xml_error("   ", 3, &err) == VS_S3XML_INVALID);
    xml = "<html><body>502 Bad Gateway</body></html>";
    CHECK(vs_s3xml_error(xml, strlen(xml), &err) == VS_S3XML_INVALID);
    CHECK_STR(err.code, "");
    xml = "502 Bad Gateway";
    CHECK(vs_s3xml_error(xml, strlen(xml), &err) == VS_S3XML_INVALID);

    /* no Code, an empty one, one too long; a Message is optional */
    xml = "<Error><Message>m</Message></Error>";
    CHECK(vs_s3xml_error(xml, strlen(xml), &err) == VS_S3XML_INVALID);
    CHECK_STR(err.message, "");
    xml = "<Error><Code></Code></Error>";
    CHECK(vs_s3xml_error(xml, strlen(xml), &err) == VS_S3XML_INVALID);
    xml = "<Error><Code>AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
          "AAAAAAAAAAA</Code></Error>";
    CHECK(vs_s3xml_error(xml, strlen(xml), &err) == VS_S3XML_INVALID);
    xml = "<Error " NS "><Code>NoSuchUpload</Code></Error>";
    CHECK(vs_s3xml_error(xml, strlen(xml), &err) == VS_S3XML_S3_ERROR);
    CHECK_STR(err.code, "NoSuchUpload");
    CHECK_STR(err.message, "");

    /* a long message is cut on a character boundary: 'é' is 2 bytes and
     * after "ab" the
     * 512th byte is the second of one */
    i = (size_t) sprintf(big, "<Error><Code>X</Code><Message>");
    big[i++] = 'a';
    big[i++] = 'b';
    while (i < 30 + 1 + 600) {
        big[i++] = '\xc3';
        big[i++] = '\xa9';
    }
    strcpy(big + i, "</Message></Error>");
    CHECK(vs_s3xml_error(big, strlen(big), &err) == VS_S3XML_S3_ERROR);
    CHECK(err.message_len == 510);
    CHECK(err.message[0] == 'a' && err.message[510] == '\0');
    CHECK((unsigned char) err.message[509] == 0xa9);
}


static void
test_parts(void)
{
    vs_s3xml_list_parts_t  lp;
    collect_t              c;

#define P(n, s, e)  "<Part><PartNumber>" n "</PartNumber><ETag>" e          \
                    "</ETag><Size>" s "</Size></Part>"

    CHECK(parts("<ListPartsResult>" P("1", "5", "\"e\"")
                P("10000", "9223372036854775807", "\"f\"")
                "<IsTruncated>false</IsTruncated></ListPartsResult>",
                &c, &lp) == 0);
    CHECK(c.n == 2);
    CHECK_STR(c.items[0], "1 5 \"e\" ");
    CHECK_STR(c.items[1], "10000 9223372036854775807 \"f\" ");
    CHECK(!lp.is_truncated && lp.next_part_number_marker == 0);

    /* S3's &quot; form of the quotes reads the same */
    CHECK(parts("<ListPartsResult>" P("7", "0", "&quot;abc&quot;")
                "</ListPartsResult>", &c, &lp) == 0);
    CHECK_STR(c.items[0], "7 0 \"abc\" ");

    /* numbers out of range or not numbers */
    CHECK(parts("<ListPartsResult>" P("0", "5", "e") "</ListPartsResult>",
                &c, &lp) == VS_S3XML_INVALID);
    CHECK(parts("<ListPartsResult>" P("10001", "5", "e")
                "</ListPartsResult>", &c, &lp) == VS_S3XML_INVALID);
    CHECK(parts("<ListPartsResult>" P("-1", "5", "e") "</ListPartsResult>",
                &c, &lp) == VS_S3XML_INVALID);
    CHECK(parts("<ListPartsResult>" P("+1", "5", "e") "</ListPartsResult>",
                &c, &lp) == VS_S3XML_INVALID);
    CHECK(parts("<ListPartsResult>" P(" 1", "5", "e") "</ListPartsResult>",
                &c, &lp) == VS_S3XML_INVALID);
    CHECK(parts("<ListPartsResult>" P("1", "", "e") "</ListPartsResult>",
                &c, &lp) == VS_S3XML_INVALID);
    CHECK(parts("<ListPartsResult>" P("1", "9223372036854775808", "e")
                "</ListPartsResult>", &c, &lp) == VS_S3XML_INVALID);
    CHECK(parts("<ListPartsResult>" P("1", "99999999999999999999999", "e")
                "</ListPartsResult>", &c, &lp) == VS_S3XML_INVALID);
    CHECK(parts("<ListPartsResult>" P("1", "1e3", "e") "</ListPartsResult>",
                &c, &lp) == VS_S3XML_INVALID);

    /* missing fields */
    CHECK(parts("<ListPartsResult><Part><PartNumber>1</PartNumber>"
                "<Size>1</Size></Part></ListPartsResult>", &c, &lp)
          == VS_S3XML_INVALID);
    CHECK(parts("<ListPartsResult><Part><ETag>e</ETag><Size>1</Size>"
                "</Part></ListPartsResult>", &c, &lp) == VS_S3XML_INVALID);
    CHECK(parts("<ListPartsResult><Part><PartNumber>1</PartNumber>"
                "<ETag>e</ETag></Part></ListPartsResult>", &c, &lp)
          == VS_S3XML_INVALID);

    /* truncated needs its marker; the marker is a part number */
    CHECK(parts("<ListPartsResult><IsTruncated>true</IsTruncated>"
                "</ListPartsResult>", &c, &lp) == VS_S3XML_INVALID);
    CHECK(parts("<ListPartsResult><IsTruncated>true</IsTruncated>"
                "<NextPartNumberMarker>x</NextPartNumberMarker>"
                "</ListPartsResult>", &c, &lp) == VS_S3XML_INVALID);

    /* a document that turns out invalid after its items: no callback */
    CHECK(parts("<ListPartsResult>" P("1", "5", "e") P("2", "5", "e")
                "<IsTruncated>maybe</IsTruncated></ListPartsResult>",
                &c, &lp) == VS_S3XML_INVALID);
    CHECK(c.n == 0 && lp.part_count == 0);

    /* the caller stops */
    memset(&c, 0, sizeof(c));
    c.stop_at = 2;
    {
        const char  *xml = "<ListPartsResult>" P("1", "5", "e")
                           P("2", "5", "e") P("3", "5", "e")
                           "</ListPartsResult>";

        CHECK(vs_s3xml_list_parts(xml, strlen(xml), on_part, &c, &lp, NULL)
              == VS_S3XML_ABORTED);
        CHECK(c.n == 2);
    }
#undef P
}


static void
test_uploads(void)
{
    vs_s3xml_list_uploads_t  lu;
    collect_t                c;
    const char              *xml;

    xml = "<ListMultipartUploadsResult " NS "><Bucket>b</Bucket>"
          "<Prefix>input/</Prefix><IsTruncated>false</IsTruncated>"
          "</ListMultipartUploadsResult>";
    memset(&c, 0, sizeof(c));
    CHECK(vs_s3xml_list_uploads(xml, strlen(xml), on_upload, &c, &lu, NULL)
          == 0);
    CHECK(c.n == 0 && lu.upload_count == 0 && !lu.is_truncated);

    xml = "<ListMultipartUploadsResult><Upload><Key>k</Key></Upload>"
          "</ListMultipartUploadsResult>";
    CHECK(vs_s3xml_list_uploads(xml, strlen(xml), on_upload, &c, &lu, NULL)
          == VS_S3XML_INVALID);
    xml = "<ListMultipartUploadsResult><Upload><UploadId>u</UploadId>"
          "</Upload></ListMultipartUploadsResult>";
    CHECK(vs_s3xml_list_uploads(xml, strlen(xml), on_upload, &c, &lu, NULL)
          == VS_S3XML_INVALID);
    xml = "<ListMultipartUploadsResult><Upload><Key>k</Key><UploadId>u"
          "</UploadId></Upload><IsTruncated>true</IsTruncated>"
          "</ListMultipartUploadsResult>";
    CHECK(vs_s3xml_list_uploads(xml, strlen(xml), on_upload, &c, &lu, NULL)
          == VS_S3XML_INVALID);
    xml = "<ListMultipartUploadsResult><Upload><Key>k</Key><UploadId>u"
          "</UploadId></Upload></ListMultipartUploadsResult>";
    memset(&c, 0, sizeof(c));
    CHECK(vs_s3xml_list_uploads(xml, strlen(xml), on_upload, &c, &lu, NULL)
          == 0);
    CHECK_STR(c.items[0], "k u ");
}


static double
now_s(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}


static void
test_hostile(void)
{
    vs_s3xml_list_objects_t   lo;
    vs_s3xml_list_parts_t     lp;
    vs_s3xml_create_upload_t  cu;
    vs_s3xml_error_t          err;
    collect_t                 c;
    char                     *buf, *xml;
    size_t                    len, i, n;
    double                    t;
    int                       rc, bad;
    const char               *s;

    /* over the input limit, however well-formed */
    len = VS_S3XML_INPUT_MAX + 1;
    buf = malloc(len + 1);
    memset(buf, ' ', len);
    memcpy(buf, "<ListBucketResult>", 18);
    memcpy(buf + len - 19, "</ListBucketResult>", 19);
    buf[len] = '\0';
    CHECK(vs_s3xml_list_objects(buf, len, NULL, NULL, &lo, NULL)
          == VS_S3XML_INVALID);
    /* one byte less is parsed */
    memcpy(buf + len - 20, "</ListBucketResult>", 19);
    buf[len - 1] = '\0';
    CHECK(vs_s3xml_list_objects(buf, len - 1, NULL, NULL, &lo, NULL) == 0);
    free(buf);

    /* a key of 7 MB: within the input limit, over the key limit */
    len = 7 * 1024 * 1024;
    buf = malloc(len + 100);
    n = (size_t) sprintf(buf, "<ListBucketResult><Contents><Key>");
    memset(buf + n, 'k', len);
    strcpy(buf + n + len, "</Key></Contents></ListBucketResult>");
    CHECK(vs_s3xml_list_objects(buf, strlen(buf), on_key, &c, &lo, NULL)
          == VS_S3XML_INVALID);
    free(buf);

    /* 100,000 nested elements: libxml2's depth limit, no stack blow-up */
    n = 100000;
    buf = malloc(n * 7 + 64);
    len = (size_t) sprintf(buf, "<ListBucketResult>");
    for (i = 0; i < n; i++) {
        memcpy(buf + len, "<a>", 3);
        len += 3;
    }
    for (i = 0; i < n; i++) {
        memcpy(buf + len, "</a>", 4);
        len += 4;
    }
    len += (size_t) sprintf(buf + len, "</ListBucketResult>");
    t = now_s();
    CHECK(vs_s3xml_list_objects(buf, len, NULL, NULL, &lo, NULL)
          == VS_S3XML_INVALID);
    CHECK(now_s() - t < 2.0);
    free(buf);

    /* billion laughs: refused at the DOCTYPE, in no time */
    s = "<?xml version=\"1.0\"?>\n"
        "<!DOCTYPE lolz [\n"
        " <!ENTITY lol \"lol\">\n"
        " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
        " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
        " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
        " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
        " <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
        " <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
        " <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
        " <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
        " <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
        "]>\n"
        "<Error><Code>&lol9;</Code></Error>";
    t = now_s();
    CHECK(vs_s3xml_error(s, strlen(s), &err) == VS_S3XML_INVALID);
    CHECK(now_s() - t < 0.5);
    CHECK_STR(err.code, "");

    /* an external entity (XXE) and an external DTD: never read */
    s = "<?xml version=\"1.0\"?><!DOCTYPE e [<!ENTITY x SYSTEM "
        "\"file:///etc/passwd\">]><InitiateMultipartUploadResult>"
        "<UploadId>&x;</UploadId></InitiateMultipartUploadResult>";
    CHECK(vs_s3xml_create_upload(s, strlen(s), &cu, NULL)
          == VS_S3XML_INVALID);
    CHECK(cu.upload_id_len == 0);
    s = "<!DOCTYPE e SYSTEM \"http://127.0.0.1:1/x.dtd\">"
        "<InitiateMultipartUploadResult><UploadId>u</UploadId>"
        "</InitiateMultipartUploadResult>";
    CHECK(vs_s3xml_create_upload(s, strlen(s), &cu, NULL)
          == VS_S3XML_INVALID);
    /* an empty DOCTYPE too: S3 never sends one */
    s = "<!DOCTYPE Error><Error><Code>X</Code></Error>";
    CHECK(vs_s3xml_error(s, strlen(s), &err) == VS_S3XML_INVALID);

    /* an undeclared entity, a parameter entity outside a DTD */
    s = "<Error><Code>&foo;</Code></Error>";
    CHECK(vs_s3xml_error(s, strlen(s), &err) == VS_S3XML_INVALID);
    s = "<Error><Code>%foo;</Code></Error>";
    CHECK(vs_s3xml_error(s, strlen(s), &err) == VS_S3XML_S3_ERROR);

    /* XInclude is not processed */
    s = "<InitiateMultipartUploadResult xmlns:xi=\"http://www.w3.org/2001/"
        "XInclude\"><UploadId><xi:include href=\"/etc/passwd\" parse=\"text"
        "\"/></UploadId></InitiateMultipartUploadResult>";
    CHECK(vs_s3xml_create_upload(s, strlen(s), &cu, NULL)
          == VS_S3XML_INVALID);

    /* binary garbage, a NUL inside, two roots, bad UTF-8 */
    s = "<Error><Code>A\0B</Code></Error>";
    CHECK(vs_s3xml_error(s, 31, &err) == VS_S3XML_INVALID);
    s = "<Error><Code>A</Code></Error><Error/>";
    CHECK(vs_s3xml_error(s, strlen(s), &err) == VS_S3XML_INVALID);
    s = "<Error><Code>\xff\xfe</Code></Error>";
    CHECK(vs_s3xml_error(s, strlen(s), &err) == VS_S3XML_INVALID);
    s = "\x00\x01\x02\x03";
    CHECK(vs_s3xml_error(s, 4, &err) == VS_S3XML_INVALID);

    /* every truncation of every fixture: invalid until the root closes */
    {
        static const char  *names[] = {
            "error-nosuchkey.xml", "list-objects-v2.xml",
            "list-objects-v2-truncated.xml", "create-multipart-upload.xml",
            "list-parts.xml", "complete-multipart-upload.xml",
            "complete-multipart-upload-error.xml",
            "list-multipart-uploads.xml"
        };

        bad = 0;
        for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
            xml = slurp(names[i], &len);
            /* the last '>' closes the root */
            n = len;
            while (n > 0 && xml[n - 1] != '>') {
                n--;
            }
            for (size_t k = 0; k <= len; k++) {
                memset(&c, 0, sizeof(c));
                buf = malloc(k + 1);
                memcpy(buf, xml, k);
                buf[k] = '\0';
                rc = vs_s3xml_list_parts(buf, k, on_part, &c, &lp, &err);
                if ((k < n && rc != VS_S3XML_INVALID)
                    || (k < n && c.n != 0))
                {
                    fprintf(stderr, "%s cut at %zu: %d\n", names[i], k, rc);
                    bad++;
                }
                vs_s3xml_error(buf, k, &err);
                vs_s3xml_list_objects(buf, k, on_key, &c, &lo, NULL);
                free(buf);
            }
            free(xml);
        }
        CHECK(bad == 0);
    }
}


static int  caller_handler_calls;

static void
caller_handler(void *ctx, const char *msg, ...)
{
    caller_handler_calls++;
}


/*
 * Bytes the declared encoding cannot have: libxml2's encoding layer
 * reports them outside the parser context, to stderr by default.  Nothing
 * reaches stderr, and the caller's own handler is back afterwards.
 */
static void
test_quiet(void)
{
    vs_s3xml_error_t  err;
    struct stat       st;
    FILE             *tmp;
    int               saved;
    const char       *s;

    fflush(stderr);
    saved = dup(2);
    tmp = tmpfile();
    dup2(fileno(tmp), 2);

    s = "<?xml version=\"1.0\" encoding=\"ISO-2022-JP\"?><Error><Code>"
        "\xfd\x72\x6b\x65</Code></Error>";
    CHECK(vs_s3xml_error(s, strlen(s), &err) == VS_S3XML_INVALID);
    s = "<?xml version=\"1.0\" encoding=\"UTF-16\"?><Error><Code>A</Code>"
        "</Error>";
    CHECK(vs_s3xml_error(s, strlen(s), &err) == VS_S3XML_INVALID);
    s = "<?xml version=\"1.0\" encoding=\"no-such-charset\"?><Error>"
        "<Code>A</Code></Error>";
    CHECK(vs_s3xml_error(s, strlen(s), &err) == VS_S3XML_INVALID);

    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    CHECK(fstat(fileno(tmp), &st) == 0 && st.st_size == 0);
    fclose(tmp);

    xmlSetGenericErrorFunc(NULL, caller_handler);
    s = "<Error><Code>\xfd\x72</Code></Error>";
    CHECK(vs_s3xml_error(s, strlen(s), &err) == VS_S3XML_INVALID);
    CHECK(caller_handler_calls == 0);
    CHECK(xmlGenericError == caller_handler);
    xmlSetGenericErrorFunc(NULL, NULL);
}


/* Parsers running at once in threads share nothing. */
static void *
parse_loop(void *arg)
{
    vs_s3xml_list_parts_t  lp;
    collect_t              c;
    char                  *xml;
    size_t                 len;
    long                   bad = 0;

    xml = slurp("list-parts.xml", &len);
    for (int i = 0; i < 300; i++) {
        memset(&c, 0, sizeof(c));
        if (vs_s3xml_list_parts(xml, len, on_part, &c, &lp, NULL) != 0
            || c.n != 2 || lp.next_part_number_marker != 3)
        {
            bad++;
        }
    }
    free(xml);
    return (void *) bad;
}


int
main(void)
{
    pthread_t  th[4];
    void      *res;
    long       bad = 0;

    vs_s3xml_init();

    test_fixtures();
    test_shapes();
    test_errors();
    test_parts();
    test_uploads();
    test_hostile();
    test_quiet();

    for (int i = 0; i < 4; i++) {
        pthread_create(&th[i], NULL, parse_loop, NULL);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], &res);
        bad += (long) res;
    }
    CHECK(bad == 0);

    CHECK(strcmp(vs_s3xml_strerror(VS_S3XML_INVALID), "ok") != 0);

    return VS_TEST_DONE();
}
