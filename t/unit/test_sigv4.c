/*
 * SigV4: AWS's published S3 examples (sigv4-query-string-auth and
 * sigv4-header-based-auth), URI encoding, expiry, endpoint parsing, the
 * signing-key cache and hostile input.  The botocore cross-check is
 * test_sigv4_botocore.c.
 */
#include "vs_test.h"
#include "vs_sigv4.h"

#include <stdlib.h>

#define S(s)  (s), (sizeof(s) - 1)

#define AKID    "AKIAIOSFODNN7EXAMPLE"
#define SECRET  "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define EMPTY_SHA \
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* 2013-05-24T00:00:00Z */
#define T_EXAMPLE  ((time_t) 1369353600)


static vs_aws_creds_t      creds;
static vs_aws_endpoint_t   aws_ep;      /* examplebucket.s3.amazonaws.com */


static size_t
slen(const char *s)
{
    return s ? strlen(s) : 0;
}


static const char *
sig_of(const char *auth)
{
    const char  *p = strstr(auth, "Signature=");

    return p ? p + 10 : "(none)";
}


static void
test_examples(void)
{
    vs_sigv4_key_cache_t  cache;
    vs_sigv4_request_t    req;
    vs_sigv4_signed_t     out;
    vs_sigv4_presign_t    pre;
    char                  url[VS_SIGV4_URL_MAX], path[256], host[256];
    ssize_t               n;

    memset(&cache, 0, sizeof(cache));

    /* presigned GET, 86400 s */
    memset(&pre, 0, sizeof(pre));
    pre.method = "GET";
    pre.method_len = 3;
    pre.bucket = "examplebucket";
    pre.bucket_len = 13;
    pre.key = "test.txt";
    pre.key_len = 8;
    pre.now = T_EXAMPLE;
    pre.expires = 86400;
    n = vs_sigv4_presign(&aws_ep, &creds, &cache, &pre, url, sizeof(url));
    CHECK(n > 0 && (size_t) n == strlen(url));
    CHECK_STR(url, "https://examplebucket.s3.amazonaws.com/test.txt"
              "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
              "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1"
              "%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z"
              "&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
              "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f99533"
              "0da4c265957d157751f604d404");

    /* the same URL without a cache */
    {
        char  url2[VS_SIGV4_URL_MAX];

        CHECK(vs_sigv4_presign(&aws_ep, &creds, NULL, &pre, url2,
                               sizeof(url2)) == n);
        CHECK_STR(url2, url);
    }

    /* GET object with Range */
    {
        vs_sigv4_kv_t  hdrs[] = { { S("Range"), S("bytes=0-9") } };

        CHECK(vs_aws_s3_host(&aws_ep, S("examplebucket"), host,
                             sizeof(host)) > 0);
        CHECK_STR(host, "examplebucket.s3.amazonaws.com");
        CHECK(vs_aws_s3_path(&aws_ep, S("examplebucket"), S("test.txt"), path,
                             sizeof(path)) == 9);
        CHECK_STR(path, "/test.txt");

        memset(&req, 0, sizeof(req));
        req.method = "GET";
        req.method_len = 3;
        req.host = host;
        req.host_len = strlen(host);
        req.path = path;
        req.path_len = strlen(path);
        req.headers = hdrs;
        req.nheaders = 1;
        req.now = T_EXAMPLE;
        CHECK(vs_sigv4_sign(&aws_ep, &creds, &cache, &req, &out) == 0);
        CHECK_STR(out.authorization, "AWS4-HMAC-SHA256 Credential="
                  "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                  "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                  "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48"
                  "dd91039c6036bdb41");
        CHECK(out.authorization_len == strlen(out.authorization));
        CHECK_STR(out.amz_date, "20130524T000000Z");
        CHECK_STR(out.content_sha256, EMPTY_SHA);
        CHECK(out.security_token == NULL && out.security_token_len == 0);
    }

    /* PUT object with a body and a storage class; "$" in the key */
    {
        vs_sigv4_kv_t  hdrs[] = {
            { S("x-amz-storage-class"), S("REDUCED_REDUNDANCY") },
            { S("Date"), S("Fri, 24 May 2013 00:00:00 GMT") },
        };

        CHECK(vs_aws_s3_path(&aws_ep, S("examplebucket"), S("test$file.text"),
                             path, sizeof(path)) > 0);
        CHECK_STR(path, "/test%24file.text");

        memset(&req, 0, sizeof(req));
        req.method = "PUT";
        req.method_len = 3;
        req.host = host;
        req.host_len = strlen(host);
        req.path = path;
        req.path_len = strlen(path);
        req.headers = hdrs;
        req.nheaders = 2;
        req.payload = "Welcome to Amazon S3.";
        req.payload_len = 21;
        req.now = T_EXAMPLE;
        CHECK(vs_sigv4_sign(&aws_ep, &creds, &cache, &req, &out) == 0);
        CHECK_STR(out.content_sha256, "44ce7dd67c959e0d3524ffac1771dfbba87d2b"
                  "6b4b4e99e42034a8b803f8b072");
        CHECK_STR(strstr(out.authorization, "SignedHeaders="),
                  "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;"
                  "x-amz-storage-class, Signature=98ad721746da40c64f1a55b78f"
                  "14c238d841ea1380cd77a1b5971af0ece108bd");

        /* the same with a precomputed payload hash */
        req.payload = NULL;
        req.payload_len = 0;
        req.payload_hash = "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42"
                           "034a8b803f8b072";
        CHECK(vs_sigv4_sign(&aws_ep, &creds, &cache, &req, &out) == 0);
        CHECK_STR(sig_of(out.authorization), "98ad721746da40c64f1a55b78f14c2"
                  "38d841ea1380cd77a1b5971af0ece108bd");

        /* a bad payload hash is refused */
        req.payload_hash = "44CE7DD6";
        CHECK(vs_sigv4_sign(&aws_ep, &creds, &cache, &req, &out) == -1);
        CHECK(out.authorization_len == 0);
    }

    /* GET bucket lifecycle: ?lifecycle */
    {
        vs_sigv4_kv_t  q[] = { { S("lifecycle"), NULL, 0 } };
        char           qs[64];

        CHECK(vs_aws_s3_path(&aws_ep, S("examplebucket"), "", 0, path,
                             sizeof(path)) == 1);
        CHECK_STR(path, "/");
        CHECK(vs_sigv4_query(q, 1, qs, sizeof(qs)) == 10);
        CHECK_STR(qs, "lifecycle=");

        memset(&req, 0, sizeof(req));
        req.method = "GET";
        req.method_len = 3;
        req.host = host;
        req.host_len = strlen(host);
        req.path = "/";
        req.path_len = 1;
        req.query = q;
        req.nquery = 1;
        req.now = T_EXAMPLE;
        CHECK(vs_sigv4_sign(&aws_ep, &creds, &cache, &req, &out) == 0);
        CHECK_STR(sig_of(out.authorization), "fea454ca298b7da1c68078a5d1bdbf"
                  "bbe0d65c699e0f91ac7a200a0136783543");
    }

    /* list objects: ?max-keys=2&prefix=J, given out of order */
    {
        vs_sigv4_kv_t  q[] = { { S("prefix"), S("J") },
                               { S("max-keys"), S("2") } };
        char           qs[64];

        CHECK(vs_sigv4_query(q, 2, qs, sizeof(qs)) > 0);
        CHECK_STR(qs, "max-keys=2&prefix=J");

        memset(&req, 0, sizeof(req));
        req.method = "GET";
        req.method_len = 3;
        req.host = host;
        req.host_len = strlen(host);
        req.path = "/";
        req.path_len = 1;
        req.query = q;
        req.nquery = 2;
        req.now = T_EXAMPLE;
        CHECK(vs_sigv4_sign(&aws_ep, &creds, &cache, &req, &out) == 0);
        CHECK_STR(sig_of(out.authorization), "34b48302e7b5fa45bde8084f4b7868"
                  "a86f0a534bc59db6670ed5711ef69dc6f7");
    }

    /* one derivation for all of the above: same date/region/service */
    CHECK(cache.misses == 1);
    CHECK(cache.hits == 5);
}


static void
test_uri_encode(void)
{
    char  out[256];

    CHECK(vs_sigv4_uri_encode(out, S("AZaz09-._~"), 0) == 10);
    CHECK_STR(out, "AZaz09-._~");
    vs_sigv4_uri_encode(out, S("a b+c%d*e"), 0);
    CHECK_STR(out, "a%20b%2Bc%25d%2Ae");
    vs_sigv4_uri_encode(out, S("dir/sub dir/f"), 1);
    CHECK_STR(out, "dir/sub%20dir/f");
    vs_sigv4_uri_encode(out, S("dir/f"), 0);
    CHECK_STR(out, "dir%2Ff");
    vs_sigv4_uri_encode(out, S("caf\xc3\xa9 \xe2\x82\xac"), 1);
    CHECK_STR(out, "caf%C3%A9%20%E2%82%AC");
    vs_sigv4_uri_encode(out, S("!'()=&?#:@,;$[]\"<>\\^`{|}"), 1);
    CHECK_STR(out, "%21%27%28%29%3D%26%3F%23%3A%40%2C%3B%24%5B%5D%22%3C%3E"
              "%5C%5E%60%7B%7C%7D");
    CHECK(vs_sigv4_uri_encode(out, "a\0b", 3, 0) == 5);
    CHECK(memcmp(out, "a%00b", 6) == 0);
    CHECK(vs_sigv4_uri_encode(out, "", 0, 1) == 0);
    CHECK_STR(out, "");
    vs_sigv4_uri_encode(out, S("\x7f\xff"), 1);
    CHECK_STR(out, "%7F%FF");

    /* keys are not normalised: S3 signs the path as given */
    {
        char  path[256];

        CHECK(vs_aws_s3_path(&aws_ep, S("examplebucket"), S("a//b/../c/./d"),
                             path, sizeof(path)) > 0);
        CHECK_STR(path, "/a//b/../c/./d");
    }

    /* query sorting is by encoded name: "%" sorts below letters, upper
     * case below lower case; equal names by value */
    {
        vs_sigv4_kv_t  q[] = {
            { S("b"), S("2") }, { S("a b"), S("x") }, { S("B"), S("1") },
            { S("b"), S("1") }, { S("a"), S("y z") }, { S("a~"), S("") },
        };
        char           qs[128];

        CHECK(vs_sigv4_query(q, 6, qs, sizeof(qs)) > 0);
        CHECK_STR(qs, "B=1&a=y%20z&a%20b=x&a~=&b=1&b=2");

        /* where byte order and encoded order differ: '{' and UTF-8 sort
         * below letters once encoded */
        {
            vs_sigv4_kv_t  r[] = {
                { S("a~"), S("5") }, { S("ab"), S("4") },
                { S("a\xc3\xa9"), S("2") }, { S("aZ"), S("3") },
                { S("a{"), S("1") },
            };

            CHECK(vs_sigv4_query(r, 5, qs, sizeof(qs)) > 0);
            CHECK_STR(qs, "a%7B=1&a%C3%A9=2&aZ=3&ab=4&a~=5");
        }
        CHECK(vs_sigv4_query(q, 6, qs, 10) == -1);
        CHECK_STR(qs, "");
    }
}


static void
test_expiry(void)
{
    vs_sigv4_presign_t  pre;
    char                url[VS_SIGV4_URL_MAX];

    CHECK(vs_sigv4_presign_expires(0) == 900);
    CHECK(vs_sigv4_presign_expires(1) == 1);
    CHECK(vs_sigv4_presign_expires(604800) == 604800);
    CHECK(vs_sigv4_presign_expires(604801) == 604800);
    CHECK(vs_sigv4_presign_expires(100000000L) == 604800);
    CHECK(vs_sigv4_presign_expires(-1) == -1);

    memset(&pre, 0, sizeof(pre));
    pre.method = "GET";
    pre.method_len = 3;
    pre.bucket = "examplebucket";
    pre.bucket_len = 13;
    pre.key = "k";
    pre.key_len = 1;
    pre.now = T_EXAMPLE;

    CHECK(vs_sigv4_presign(&aws_ep, &creds, NULL, &pre, url, sizeof(url)) > 0);
    CHECK(strstr(url, "&X-Amz-Expires=900&") != NULL);
    pre.expires = 9999999;
    CHECK(vs_sigv4_presign(&aws_ep, &creds, NULL, &pre, url, sizeof(url)) > 0);
    CHECK(strstr(url, "&X-Amz-Expires=604800&") != NULL);
    pre.expires = -5;
    CHECK(vs_sigv4_presign(&aws_ep, &creds, NULL, &pre, url, sizeof(url))
          == -1);
}


static void
test_endpoints(void)
{
    vs_aws_endpoint_t  ep;
    char               err[128], buf[512];

#define EP(url, addr) \
    vs_aws_endpoint_init(&ep, S("s3"), S("eu-west-1"), url, slen(url), \
                         addr, err, sizeof(err))

    CHECK(EP(NULL, VS_AWS_ADDR_AUTO) == 0);
    CHECK_STR(ep.host, "s3.eu-west-1.amazonaws.com");
    CHECK(ep.https && !ep.custom && ep.port == 0);
    CHECK(vs_aws_s3_url(&ep, S("my-bucket"), S("a b/c"), buf, sizeof(buf))
          > 0);
    CHECK_STR(buf, "https://my-bucket.s3.eu-west-1.amazonaws.com/a%20b/c");
    /* a bucket that is not a DNS label goes path-style */
    CHECK(vs_aws_s3_url(&ep, S("my.bucket"), S("k"), buf, sizeof(buf)) > 0);
    CHECK_STR(buf, "https://s3.eu-west-1.amazonaws.com/my.bucket/k");
    CHECK(vs_aws_s3_url(&ep, S("My_Bucket"), S("k"), buf, sizeof(buf)) > 0);
    CHECK_STR(buf, "https://s3.eu-west-1.amazonaws.com/My_Bucket/k");

    CHECK(EP(NULL, VS_AWS_ADDR_PATH) == 0);
    CHECK(vs_aws_s3_url(&ep, S("my-bucket"), S("k"), buf, sizeof(buf)) > 0);
    CHECK_STR(buf, "https://s3.eu-west-1.amazonaws.com/my-bucket/k");
    CHECK(vs_aws_s3_url(&ep, S("my-bucket"), "", 0, buf, sizeof(buf)) > 0);
    CHECK_STR(buf, "https://s3.eu-west-1.amazonaws.com/my-bucket");

    CHECK(vs_aws_endpoint_init(&ep, S("s3"), S("cn-north-1"), NULL, 0,
                               VS_AWS_ADDR_AUTO, err, sizeof(err)) == 0);
    CHECK_STR(ep.host, "s3.cn-north-1.amazonaws.com.cn");
    CHECK(vs_aws_endpoint_init(&ep, S("sqs"), S("us-east-1"), NULL, 0,
                               VS_AWS_ADDR_AUTO, err, sizeof(err)) == 0);
    CHECK(vs_aws_endpoint_url(&ep, buf, sizeof(buf)) > 0);
    CHECK_STR(buf, "https://sqs.us-east-1.amazonaws.com/");

    /* custom endpoints */
    CHECK(EP("http://127.0.0.1:4569", VS_AWS_ADDR_AUTO) == 0);
    CHECK(!ep.https && ep.custom && ep.host_is_ip && ep.port == 4569);
    CHECK_STR(ep.authority, "127.0.0.1:4569");
    CHECK(vs_aws_s3_url(&ep, S("media"), S("input/u/v/source"), buf,
                        sizeof(buf)) > 0);
    CHECK_STR(buf, "http://127.0.0.1:4569/media/input/u/v/source");
    CHECK(vs_aws_s3_host(&ep, S("media"), buf, sizeof(buf)) > 0);
    CHECK_STR(buf, "127.0.0.1:4569");
    /* virtual on an IP endpoint is path-style anyway (as botocore) */
    CHECK(EP("http://127.0.0.1:4569/", VS_AWS_ADDR_VIRTUAL) == 0);
    CHECK(!vs_aws_s3_virtual(&ep, S("media")));
    CHECK(ep.base_path_len == 0);

    CHECK(EP("HTTPS://Minio.Example.COM:9000//", VS_AWS_ADDR_VIRTUAL) == 0);
    CHECK(ep.https && !ep.host_is_ip);
    CHECK_STR(ep.host, "minio.example.com");
    CHECK(vs_aws_s3_url(&ep, S("media"), S("k"), buf, sizeof(buf)) > 0);
    CHECK_STR(buf, "https://media.minio.example.com:9000/k");
    CHECK(vs_aws_s3_host(&ep, S("media"), buf, sizeof(buf)) > 0);
    CHECK_STR(buf, "media.minio.example.com:9000");

    /* default ports are left out of the Host header */
    CHECK(EP("https://s3.local:443", VS_AWS_ADDR_PATH) == 0);
    CHECK_STR(ep.authority, "s3.local");
    CHECK(EP("http://s3.local:80/", VS_AWS_ADDR_PATH) == 0);
    CHECK_STR(ep.authority, "s3.local");
    CHECK(EP("http://s3.local:8443", VS_AWS_ADDR_PATH) == 0);
    CHECK_STR(ep.authority, "s3.local:8443");

    /* a base path */
    CHECK(EP("http://gw.local:81/storage/s3/", VS_AWS_ADDR_PATH) == 0);
    CHECK_STR(ep.base_path, "/storage/s3");
    CHECK(vs_aws_s3_url(&ep, S("b12"), S("k"), buf, sizeof(buf)) > 0);
    CHECK_STR(buf, "http://gw.local:81/storage/s3/b12/k");
    CHECK(vs_aws_endpoint_url(&ep, buf, sizeof(buf)) > 0);
    CHECK_STR(buf, "http://gw.local:81/storage/s3/");

    /* IPv6 */
    CHECK(EP("http://[::1]:9000", VS_AWS_ADDR_AUTO) == 0);
    CHECK(ep.host_is_ip);
    CHECK_STR(ep.authority, "[::1]:9000");

    /* bad input: an error, never a crash */
    err[0] = '\0';
    CHECK(EP("ftp://x", VS_AWS_ADDR_AUTO) == -1 && err[0] != '\0');
    CHECK(EP("127.0.0.1:9000", VS_AWS_ADDR_AUTO) == -1);
    CHECK(EP("http://", VS_AWS_ADDR_AUTO) == -1);
    CHECK(EP("http:///path", VS_AWS_ADDR_AUTO) == -1);
    CHECK(EP("http://:9000", VS_AWS_ADDR_AUTO) == -1);
    CHECK(EP("http://h:", VS_AWS_ADDR_AUTO) == -1);
    CHECK(EP("http://h:0", VS_AWS_ADDR_AUTO) == -1);
    CHECK(EP("http://h:65536", VS_AWS_ADDR_AUTO) == -1);
    CHECK(EP("http://h:123456", VS_AWS_ADDR_AUTO) == -1);
    CHECK(EP("http://h:12a", VS_AWS_ADDR_AUTO) == -1);
    CHECK(EP("http://user:pw@h", VS_AWS_ADDR_AUTO) == -1);
    CHECK(EP("http://h/p?q=1", VS_AWS_ADDR_AUTO) == -1);
    CHECK(EP("http://h/p#f", VS_AWS_ADDR_AUTO) == -1);
    CHECK(EP("http://h h", VS_AWS_ADDR_AUTO) == -1);
    CHECK(EP("http://[::1", VS_AWS_ADDR_AUTO) == -1);
    CHECK(EP("http://[zz]", VS_AWS_ADDR_AUTO) == -1);
    CHECK(EP("http://h/a b", VS_AWS_ADDR_AUTO) == -1);
    CHECK(EP("http://h\r\nX: y", VS_AWS_ADDR_AUTO) == -1);
    CHECK(vs_aws_endpoint_init(&ep, "s3", 2, "EU west", 7, NULL, 0,
                               VS_AWS_ADDR_AUTO, err, sizeof(err)) == -1);
    CHECK(vs_aws_endpoint_init(&ep, "", 0, "eu-west-1", 9, NULL, 0,
                               VS_AWS_ADDR_AUTO, err, sizeof(err)) == -1);
    CHECK(vs_aws_endpoint_init(&ep, "s3", 2, "eu-west-1", 9, NULL, 0,
                               (vs_aws_addressing_t) 7, err, sizeof(err))
          == -1);
    {
        char  longhost[400];

        memset(longhost, 'a', sizeof(longhost));
        memcpy(longhost, "http://", 7);
        CHECK(vs_aws_endpoint_init(&ep, S("s3"), S("eu-west-1"), longhost,
                                   sizeof(longhost), VS_AWS_ADDR_AUTO, err,
                                   sizeof(err)) == -1);
    }
    /* err may be NULL */
    CHECK(vs_aws_endpoint_init(&ep, S("s3"), S("eu-west-1"), S("x"),
                               VS_AWS_ADDR_AUTO, NULL, 0) == -1);

    /* environment helpers */
    setenv("AWS_ENDPOINT_URL", "http://a:1", 1);
    setenv("AWS_ENDPOINT_URL_S3", "http://b:2", 1);
    unsetenv("AWS_ENDPOINT_URL_SQS");
    CHECK_STR(vs_aws_endpoint_url_from_env("S3"), "http://b:2");
    CHECK_STR(vs_aws_endpoint_url_from_env("SQS"), "http://a:1");
    unsetenv("AWS_ENDPOINT_URL");
    CHECK(vs_aws_endpoint_url_from_env("SQS") == NULL);
    unsetenv("AWS_ENDPOINT_URL_S3");
    unsetenv("AWS_REGION");
    unsetenv("AWS_DEFAULT_REGION");
    CHECK_STR(vs_aws_region_from_env(), "us-east-1");
    setenv("AWS_DEFAULT_REGION", "eu-central-1", 1);
    CHECK_STR(vs_aws_region_from_env(), "eu-central-1");
    setenv("AWS_REGION", "ap-south-1", 1);
    CHECK_STR(vs_aws_region_from_env(), "ap-south-1");
#undef EP
}


static void
test_presign_details(void)
{
    vs_sigv4_key_cache_t  cache;
    vs_sigv4_presign_t    pre;
    vs_aws_creds_t        sess, rotated;
    vs_aws_endpoint_t     ep;
    char                  url[VS_SIGV4_URL_MAX], url2[VS_SIGV4_URL_MAX];
    char                  err[128];
    ssize_t               n;
    size_t                i;

    memset(&cache, 0, sizeof(cache));
    CHECK(vs_aws_creds_set(&sess, S(AKID), S(SECRET), S("tok+en/=="), 0, err,
                           sizeof(err)) == 0);
    CHECK(vs_aws_endpoint_init(&ep, S("s3"), S("us-east-1"),
                               S("http://127.0.0.1:4569"), VS_AWS_ADDR_AUTO,
                               err, sizeof(err)) == 0);

    memset(&pre, 0, sizeof(pre));
    pre.method = "PUT";
    pre.method_len = 3;
    pre.bucket = "media";
    pre.bucket_len = 5;
    pre.key = "input/sub/id/source";
    pre.key_len = 19;
    pre.now = T_EXAMPLE;

    /* the session token is encoded and comes before the signature */
    n = vs_sigv4_presign(&ep, &sess, &cache, &pre, url, sizeof(url));
    CHECK(n > 0);
    CHECK(strncmp(url, "http://127.0.0.1:4569/media/input/sub/id/source?"
                  "X-Amz-Algorithm=", 64) == 0);
    CHECK(strstr(url, "&X-Amz-SignedHeaders=host&X-Amz-Security-Token="
                  "tok%2Ben%2F%3D%3D&X-Amz-Signature=") != NULL);

    /* every too-small buffer fails cleanly, the exact size works */
    for (i = 0; i < (size_t) n + 1; i++) {
        if (vs_sigv4_presign(&ep, &sess, &cache, &pre, url2, i) != -1) {
            break;
        }
    }
    CHECK(i == (size_t) n + 1);
    CHECK(vs_sigv4_presign(&ep, &sess, &cache, &pre, url2, n + 1) == n);
    CHECK_STR(url2, url);
    CHECK(vs_sigv4_presign_size(&ep, &sess, &pre) > (size_t) n);
    CHECK(vs_sigv4_presign_size(&ep, &sess, &pre) < (size_t) n + 1024);

    /* rotated credentials (same day) never reuse the cached key */
    CHECK(vs_aws_creds_set(&rotated, S(AKID), S("another-secret"), NULL, 0, 0,
                           err, sizeof(err)) == 0);
    CHECK(vs_sigv4_presign(&ep, &rotated, &cache, &pre, url2, sizeof(url2))
          > 0);
    {
        char  url3[VS_SIGV4_URL_MAX];

        CHECK(vs_sigv4_presign(&ep, &rotated, NULL, &pre, url3,
                               sizeof(url3)) > 0);
        CHECK_STR(url2, url3);
    }
    /* the next day derives a new key; the cache keeps at most 4 */
    pre.now += 86400;
    CHECK(vs_sigv4_presign(&ep, &rotated, &cache, &pre, url2, sizeof(url2))
          > 0);
    CHECK(strstr(url2, "%2F20130525%2F") != NULL);
    CHECK(cache.misses == 3);
    pre.now -= 86400;

    /* extra query params and signed headers */
    {
        vs_sigv4_kv_t  q[] = {
            { S("response-content-disposition"),
              S("attachment; filename=\"clip 1.mp4\"") }
        };
        vs_sigv4_kv_t  h[] = { { S("Content-Type"), S("video/mp4") } };

        pre.query = q;
        pre.nquery = 1;
        pre.headers = h;
        pre.nheaders = 1;
        CHECK(vs_sigv4_presign(&ep, &sess, &cache, &pre, url, sizeof(url))
              > 0);
        CHECK(strstr(url, "/media/input/sub/id/source?response-content-"
                     "disposition=attachment%3B%20filename%3D%22clip%201.mp4"
                     "%22&X-Amz-Algorithm=") != NULL);
        CHECK(strstr(url, "&X-Amz-SignedHeaders=content-type%3Bhost&")
              != NULL);

        /* hostile extras are refused */
        h[0].value = "video/mp4\r\nX-Evil: 1";
        h[0].value_len = strlen(h[0].value);
        CHECK(vs_sigv4_presign(&ep, &sess, &cache, &pre, url, sizeof(url))
              == -1);
        h[0] = (vs_sigv4_kv_t) { S("Host"), S("evil") };
        CHECK(vs_sigv4_presign(&ep, &sess, &cache, &pre, url, sizeof(url))
              == -1);
        h[0] = (vs_sigv4_kv_t) { S("Bad Name"), S("x") };
        CHECK(vs_sigv4_presign(&ep, &sess, &cache, &pre, url, sizeof(url))
              == -1);
        pre.nheaders = 0;
        q[0] = (vs_sigv4_kv_t) { S("X-Amz-Signature"), S("x") };
        CHECK(vs_sigv4_presign(&ep, &sess, &cache, &pre, url, sizeof(url))
              == -1);
        pre.nquery = VS_SIGV4_EXTRA_MAX + 1;
        CHECK(vs_sigv4_presign(&ep, &sess, &cache, &pre, url, sizeof(url))
              == -1);
        pre.nquery = 0;
    }

    /* invalid requests */
    pre.method = "get";
    CHECK(vs_sigv4_presign(&ep, &sess, &cache, &pre, url, sizeof(url)) == -1);
    pre.method = "GET";
    pre.bucket_len = 0;
    CHECK(vs_sigv4_presign(&ep, &sess, &cache, &pre, url, sizeof(url)) == -1);
    pre.bucket_len = 64;
    pre.bucket = "0123456789012345678901234567890123456789012345678901234567890"
                 "123";
    CHECK(vs_sigv4_presign(&ep, &sess, &cache, &pre, url, sizeof(url)) == -1);
    pre.bucket = "media";
    pre.bucket_len = 5;
    {
        static char  longkey[VS_AWS_KEY_MAX + 1];

        memset(longkey, '%', sizeof(longkey));
        pre.key = longkey;
        pre.key_len = VS_AWS_KEY_MAX;
        /* the longest key, all encoded, with the longest token fits */
        memset(sess.session_token, '/', VS_AWS_TOKEN_MAX);
        sess.session_token_len = VS_AWS_TOKEN_MAX;
        n = vs_sigv4_presign(&ep, &sess, &cache, &pre, url, sizeof(url));
        CHECK(n > 0 && (size_t) n < VS_SIGV4_URL_MAX);
        pre.key_len = VS_AWS_KEY_MAX + 1;
        CHECK(vs_sigv4_presign(&ep, &sess, &cache, &pre, url, sizeof(url))
              == -1);
    }
    pre.key = "k";
    pre.key_len = 1;
    {
        vs_aws_creds_t  none;

        memset(&none, 0, sizeof(none));
        CHECK(vs_sigv4_presign(&ep, &none, &cache, &pre, url, sizeof(url))
              == -1);
        CHECK(vs_sigv4_presign(&ep, NULL, &cache, &pre, url, sizeof(url))
              == -1);
    }
}


/* The documented bound: everything at its limit still fits. */
static void
test_url_max(void)
{
    static char           url[VS_SIGV4_URL_MAX], epurl[600];
    static char           key[VS_AWS_KEY_MAX], extra[512];
    static char           hnames[VS_SIGV4_EXTRA_MAX][128];
    char                  region[VS_AWS_REGION_MAX], akid[VS_AWS_AKID_MAX];
    char                  token[VS_AWS_TOKEN_MAX], err[128];
    vs_aws_endpoint_t     ep;
    vs_aws_creds_t        c;
    vs_sigv4_presign_t    pre;
    vs_sigv4_kv_t         q[2], h[VS_SIGV4_EXTRA_MAX];
    size_t                i;
    ssize_t               n;
    int                   len;

    len = snprintf(epurl, sizeof(epurl), "https://%0255d:65535/%0254d", 0, 0);
    memset(region, 'r', sizeof(region));
    memset(akid, 'A', sizeof(akid));
    memset(token, '/', sizeof(token));
    memset(key, '%', sizeof(key));
    memset(extra, '%', sizeof(extra));
    CHECK(vs_aws_endpoint_init(&ep, S("s3"), region, sizeof(region), epurl,
                               (size_t) len, VS_AWS_ADDR_PATH, err,
                               sizeof(err)) == 0);
    CHECK(vs_aws_creds_set(&c, akid, sizeof(akid), S(SECRET), token,
                           sizeof(token), 0, err, sizeof(err)) == 0);
    for (i = 0; i < VS_SIGV4_EXTRA_MAX; i++) {
        memset(hnames[i], 'x', sizeof(hnames[i]));
        hnames[i][0] = (char) ('a' + i);
        h[i] = (vs_sigv4_kv_t) { hnames[i], sizeof(hnames[i]), S("v") };
    }
    q[0] = (vs_sigv4_kv_t) { S("p"), extra, sizeof(extra) };
    q[1] = (vs_sigv4_kv_t) { extra, sizeof(extra) - 2, NULL, 0 };

    memset(&pre, 0, sizeof(pre));
    pre.method = "PUT";
    pre.method_len = 3;
    pre.bucket = "b23456789012345678901234567890123456789012345678901234567"
                 "890123";
    pre.bucket_len = VS_AWS_BUCKET_MAX;
    pre.key = key;
    pre.key_len = sizeof(key);
    pre.query = q;
    pre.nquery = 2;
    pre.headers = h;
    pre.nheaders = VS_SIGV4_EXTRA_MAX;
    pre.now = T_EXAMPLE;
    n = vs_sigv4_presign(&ep, &c, NULL, &pre, url, sizeof(url));
    CHECK(n > 20000 && n < VS_SIGV4_URL_MAX);
    CHECK(n > 0 && strlen(url) == (size_t) n);

    /* past the bound: -1 and an empty string, never a truncated URL */
    q[1].name_len = VS_SIGV4_EXTRA_LEN_MAX;
    {
        static char  big[VS_SIGV4_EXTRA_LEN_MAX];

        memset(big, '%', sizeof(big));
        q[1].name = big;
        q[0].value = big;
        q[0].value_len = sizeof(big);
        CHECK(vs_sigv4_presign(&ep, &c, NULL, &pre, url, sizeof(url)) == -1);
        CHECK(url[0] == '\0');
    }
}


static void
test_sign_details(void)
{
    vs_sigv4_request_t  req;
    vs_sigv4_signed_t   out;
    vs_aws_endpoint_t   sqs;
    vs_aws_creds_t      sess;
    char                err[128], md5[VS_AWS_CONTENT_MD5_LEN + 1];
    const char         *body = "{\"QueueUrl\":\"http://q\",\"MessageBody\":"
                               "\"x\"}";
    vs_sigv4_kv_t       hdrs[] = {
        { S("Content-Type"), S("application/x-amz-json-1.0") },
        { S("X-Amz-Target"), S("  AmazonSQS.SendMessage   ") },
    };

    CHECK(vs_aws_endpoint_init(&sqs, S("sqs"), S("eu-west-1"), NULL, 0,
                               VS_AWS_ADDR_AUTO, err, sizeof(err)) == 0);
    CHECK(vs_aws_creds_set(&sess, S(AKID), S(SECRET), S("SESSIONTOKEN"), 0,
                           err, sizeof(err)) == 0);

    memset(&req, 0, sizeof(req));
    req.method = "POST";
    req.method_len = 4;
    req.host = sqs.authority;
    req.host_len = sqs.authority_len;
    req.path = "/";
    req.path_len = 1;
    req.headers = hdrs;
    req.nheaders = 2;
    req.payload = body;
    req.payload_len = strlen(body);
    req.now = T_EXAMPLE;
    CHECK(vs_sigv4_sign(&sqs, &sess, NULL, &req, &out) == 0);
    CHECK(strncmp(out.authorization, "AWS4-HMAC-SHA256 Credential="
                  AKID "/20130524/eu-west-1/sqs/aws4_request, SignedHeaders="
                  "content-type;host;x-amz-content-sha256;x-amz-date;"
                  "x-amz-security-token;x-amz-target, Signature=", 183) == 0);
    CHECK(strlen(sig_of(out.authorization)) == 64);
    CHECK(out.security_token_len == 12
          && memcmp(out.security_token, "SESSIONTOKEN", 12) == 0);

    /* values are trimmed and inner spaces collapsed before signing */
    {
        vs_sigv4_signed_t  out2;

        hdrs[1].value = "AmazonSQS.SendMessage";
        hdrs[1].value_len = strlen(hdrs[1].value);
        CHECK(vs_sigv4_sign(&sqs, &sess, NULL, &req, &out2) == 0);
        CHECK_STR(out2.authorization, out.authorization);
    }

    /* the signer's own headers, duplicates and injection are refused */
    hdrs[1] = (vs_sigv4_kv_t) { S("X-Amz-Date"), S("20000101T000000Z") };
    CHECK(vs_sigv4_sign(&sqs, &sess, NULL, &req, &out) == -1);
    hdrs[1] = (vs_sigv4_kv_t) { S("content-type"), S("text/plain") };
    CHECK(vs_sigv4_sign(&sqs, &sess, NULL, &req, &out) == -1);
    hdrs[1] = (vs_sigv4_kv_t) { S("X-Ok"), S("a\nb") };
    CHECK(vs_sigv4_sign(&sqs, &sess, NULL, &req, &out) == -1);
    req.nheaders = 1;
    req.path = "no-slash";
    req.path_len = 8;
    CHECK(vs_sigv4_sign(&sqs, &sess, NULL, &req, &out) == -1);
    req.path = "/";
    req.path_len = 1;
    req.host_len = 0;
    CHECK(vs_sigv4_sign(&sqs, &sess, NULL, &req, &out) == -1);

    /* Content-MD5 for DeleteObjects: base64(md5("")) */
    vs_aws_content_md5("", 0, md5);
    CHECK_STR(md5, "1B2M2Y8AsgTpgAmY7PhCfg==");
    vs_aws_content_md5("Welcome to Amazon S3.", 21, md5);
    CHECK(strlen(md5) == 24);
}


/* Random bytes into every parser and encoder: no crash, sane results. */
static void
test_random_input(void)
{
    vs_aws_endpoint_t     ep;
    vs_sigv4_presign_t    pre;
    vs_sigv4_kv_t         q;
    char                  in[300], err[128], url[VS_SIGV4_URL_MAX];
    static const char     alphabet[] = "htps:/[]@?#%.0123456789abcXYZ-_~ \r\n";
    unsigned              seed = 12345;
    int                   i, ok = 0, good_url = 1;
    size_t                j, len;
    ssize_t               n;

    for (i = 0; i < 20000; i++) {
        len = (size_t) (rand_r(&seed) % 64);
        for (j = 0; j < len; j++) {
            in[j] = (i & 1) ? (char) rand_r(&seed)
                            : alphabet[rand_r(&seed) % (sizeof(alphabet) - 1)];
        }
        if (i % 4 == 0 && len > 8) {
            memcpy(in, "http://", 7);
        }
        if (vs_aws_endpoint_init(&ep, S("s3"), S("eu-west-1"), in, len,
                                 VS_AWS_ADDR_AUTO, err, sizeof(err)) != 0)
        {
            continue;
        }
        ok++;

        memset(&pre, 0, sizeof(pre));
        pre.method = "GET";
        pre.method_len = 3;
        pre.bucket = "bucket";
        pre.bucket_len = 6;
        pre.key = in;
        pre.key_len = len;
        q = (vs_sigv4_kv_t) { in, len ? len : 1, in, len };
        pre.query = (len && (in[0] & 0x20) == 0) ? &q : NULL;
        pre.nquery = pre.query ? 1 : 0;
        pre.now = T_EXAMPLE;
        n = vs_sigv4_presign(&ep, &creds, NULL, &pre, url, sizeof(url));
        if (n >= 0) {
            /* only URL-safe bytes in the output */
            for (j = 0; j < (size_t) n; j++) {
                if ((unsigned char) url[j] <= 0x20
                    || (unsigned char) url[j] >= 0x7f)
                {
                    good_url = 0;
                }
            }
        }
    }
    CHECK(ok > 100);
    CHECK(good_url);
}


int
main(void)
{
    char  err[128];

    CHECK(vs_aws_creds_set(&creds, S(AKID), S(SECRET), NULL, 0, 0, err,
                           sizeof(err)) == 0);
    CHECK(vs_aws_endpoint_init(&aws_ep, S("s3"), S("us-east-1"),
                               S("https://s3.amazonaws.com"),
                               VS_AWS_ADDR_VIRTUAL, err, sizeof(err)) == 0);

    test_examples();
    test_uri_encode();
    test_expiry();
    test_endpoints();
    test_presign_details();
    test_sign_details();
    test_random_input();
    test_url_max();

    return VS_TEST_DONE();
}
