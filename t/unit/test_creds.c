/*
 * Credentials: validation, the environment provider, the ECS credentials
 * JSON (hostile input too), ECS source configuration, the provider chain
 * and its refresh decisions.  The HTTP fetch against a live local endpoint
 * is test_creds_ecs.c.
 */
#include "vs_test.h"
#include "vs_creds.h"

#include <stdlib.h>
#include <unistd.h>

#define S(s)  (s), (sizeof(s) - 1)

/* 2026-11-21T10:00:00Z */
#define T0  ((time_t) 1795255200)


static void
clear_env(void)
{
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    unsetenv("AWS_SESSION_TOKEN");
    unsetenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
}


static void
test_set(void)
{
    vs_aws_creds_t  c;
    char            err[128], big[VS_AWS_TOKEN_MAX + 2];

    CHECK(vs_aws_creds_set(&c, S("AKID"), S("SECRET"), NULL, 0, 0, err,
                           sizeof(err)) == 0);
    CHECK_STR(c.access_key_id, "AKID");
    CHECK(c.access_key_id_len == 4 && c.secret_access_key_len == 6);
    CHECK(c.session_token_len == 0 && c.expiration == 0);

    CHECK(vs_aws_creds_set(&c, "", 0, S("SECRET"), NULL, 0, 0, err,
                           sizeof(err)) == -1);
    CHECK(strstr(err, "access key id") != NULL);
    CHECK(vs_aws_creds_set(&c, S("AKID"), "", 0, NULL, 0, 0, err,
                           sizeof(err)) == -1);
    CHECK(vs_aws_creds_set(&c, S("AK ID"), S("SECRET"), NULL, 0, 0, err,
                           sizeof(err)) == -1);
    CHECK(vs_aws_creds_set(&c, S("AKID"), S("SEC\nRET"), NULL, 0, 0, err,
                           sizeof(err)) == -1);
    /* the reason never contains the secret */
    CHECK(strstr(err, "SEC") == NULL);
    CHECK(vs_aws_creds_set(&c, S("AKID"), S("SECRET"), S("to\x01ken"), 0,
                           err, sizeof(err)) == -1);

    memset(big, 'x', sizeof(big));
    CHECK(vs_aws_creds_set(&c, S("AKID"), S("SECRET"), big, VS_AWS_TOKEN_MAX,
                           0, err, sizeof(err)) == 0);
    CHECK(c.session_token_len == VS_AWS_TOKEN_MAX
          && c.session_token[VS_AWS_TOKEN_MAX] == '\0');
    CHECK(vs_aws_creds_set(&c, S("AKID"), S("SECRET"), big,
                           VS_AWS_TOKEN_MAX + 1, 0, err, sizeof(err)) == -1);
    CHECK(vs_aws_creds_set(&c, big, VS_AWS_AKID_MAX + 1, S("SECRET"), NULL, 0,
                           0, err, sizeof(err)) == -1);
    CHECK(vs_aws_creds_set(&c, S("AKID"), big, VS_AWS_SECRET_MAX + 1, NULL, 0,
                           0, err, sizeof(err)) == -1);
    /* err may be NULL */
    CHECK(vs_aws_creds_set(&c, "", 0, "", 0, NULL, 0, 0, NULL, 0) == -1);
}


static void
test_env(void)
{
    vs_aws_creds_t  c;
    char            err[128];

    clear_env();
    CHECK(vs_aws_creds_from_env(&c, err, sizeof(err)) == 0);

    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    CHECK(vs_aws_creds_from_env(&c, err, sizeof(err)) == -1);
    CHECK(strstr(err, "AWS_SECRET_ACCESS_KEY") != NULL);

    setenv("AWS_SECRET_ACCESS_KEY", "secretenv", 1);
    CHECK(vs_aws_creds_from_env(&c, err, sizeof(err)) == 1);
    CHECK_STR(c.access_key_id, "AKIDENV");
    CHECK_STR(c.secret_access_key, "secretenv");
    CHECK(c.session_token_len == 0);

    setenv("AWS_SESSION_TOKEN", "tokenenv", 1);
    CHECK(vs_aws_creds_from_env(&c, err, sizeof(err)) == 1);
    CHECK_STR(c.session_token, "tokenenv");

    setenv("AWS_ACCESS_KEY_ID", "", 1);
    CHECK(vs_aws_creds_from_env(&c, err, sizeof(err)) == -1);
    clear_env();
}


static void
test_json(void)
{
    vs_aws_creds_t  c, before;
    char            err[128];
    const char     *ok = "{\"RoleArn\":\"arn:aws:iam::1:role/x\","
                         "\"AccessKeyId\":\"ASIAEXAMPLE\","
                         "\"SecretAccessKey\":\"wJalr/secret+key\","
                         "\"Token\":\"IQoJb3JpZ2luX2VjE+/==\","
                         "\"Expiration\":\"2026-11-21T10:00:00Z\"}";

    CHECK(vs_aws_creds_parse_json(&c, ok, strlen(ok), err, sizeof(err)) == 0);
    CHECK_STR(c.access_key_id, "ASIAEXAMPLE");
    CHECK_STR(c.secret_access_key, "wJalr/secret+key");
    CHECK_STR(c.session_token, "IQoJb3JpZ2luX2VjE+/==");
    CHECK(c.expiration == T0);

#define PARSES(body, want_exp) do {                                          \
        const char *b_ = (body);                                             \
        CHECK(vs_aws_creds_parse_json(&c, b_, strlen(b_), err, sizeof(err))  \
              == 0 && c.expiration == (want_exp));                           \
    } while (0)

    PARSES("{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\","
           "\"Expiration\":\"2026-11-21T10:00:00.123Z\"}", T0);
    PARSES("{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\","
           "\"Expiration\":\"2026-11-21T12:30:00+02:30\"}", T0);
    PARSES("{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\","
           "\"Expiration\":\"2026-11-21T09:00:00-01:00\"}", T0);
    /* no Expiration / no Token: static-like */
    PARSES("{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\"}", 0);
    CHECK(c.session_token_len == 0);
    PARSES("{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\",\"Token\":null,"
           "\"Expiration\":null}", 0);

    /* hostile or broken bodies: -1, and the old credentials stay */
    memcpy(&before, &c, sizeof(c));
#define REJECTS(body) do {                                                   \
        const char *b_ = (body);                                             \
        err[0] = '\0';                                                       \
        CHECK(vs_aws_creds_parse_json(&c, b_, strlen(b_), err, sizeof(err))  \
              == -1 && err[0] != '\0');                                      \
        CHECK(memcmp(&c, &before, sizeof(c)) == 0);                          \
    } while (0)

    REJECTS("");
    REJECTS("null");
    REJECTS("[]");
    REJECTS("{");
    REJECTS("{\"AccessKeyId\":\"A\"}");
    REJECTS("{\"SecretAccessKey\":\"S\"}");
    REJECTS("{\"AccessKeyId\":1,\"SecretAccessKey\":\"S\"}");
    REJECTS("{\"AccessKeyId\":\"\",\"SecretAccessKey\":\"S\"}");
    REJECTS("{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\",\"Token\":5}");
    REJECTS("{\"AccessKeyId\":\"A\\nB\",\"SecretAccessKey\":\"S\"}");
    REJECTS("{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\","
            "\"Expiration\":\"tomorrow\"}");
    REJECTS("{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\","
            "\"Expiration\":\"2026-13-21T10:00:00Z\"}");
    REJECTS("{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\","
            "\"Expiration\":\"2026-11-21T10:00:00\"}");
    REJECTS("{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\","
            "\"Expiration\":\"2026-11-21T10:00:00.Z\"}");
    REJECTS("{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\","
            "\"Expiration\":\"2026-11-21T10:00:00Zjunk\"}");
    REJECTS("{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\","
            "\"Expiration\":1795255200}");
    REJECTS("{\"AccessKeyId\":\"A\",\"AccessKeyId\":\"B\","
            "\"SecretAccessKey\":\"S\"}");
    {
        /* NUL inside the body, and a huge key id */
        static char  huge[VS_AWS_AKID_MAX + 200];
        int          n;

        CHECK(vs_aws_creds_parse_json(&c, "{\"A\0", 4, err, sizeof(err))
              == -1);
        n = snprintf(huge, sizeof(huge), "{\"AccessKeyId\":\"%0*d\","
                     "\"SecretAccessKey\":\"S\"}", VS_AWS_AKID_MAX + 1, 7);
        CHECK(vs_aws_creds_parse_json(&c, huge, (size_t) n, err, sizeof(err))
              == -1);
        CHECK(memcmp(&c, &before, sizeof(c)) == 0);
    }

    /* expiring */
    c.expiration = T0;
    CHECK(!vs_aws_creds_expiring(&c, T0 - 301, 300));
    CHECK(vs_aws_creds_expiring(&c, T0 - 300, 300));
    CHECK(vs_aws_creds_expiring(&c, T0 + 1, 0));
    c.expiration = 0;
    CHECK(!vs_aws_creds_expiring(&c, T0 * 2, 300));
#undef PARSES
#undef REJECTS
}


static void
test_ecs_source(void)
{
    vs_aws_ecs_source_t  src;
    char                 err[160], req[VS_AWS_ECS_REQUEST_MAX];
    int                  n;

#define FULL(url) \
    vs_aws_ecs_source_init(&src, NULL, 0, url, strlen(url), NULL, 0, err, \
                           sizeof(err))

    CHECK(vs_aws_ecs_source_init(&src, NULL, 0, NULL, 0, NULL, 0, err,
                                 sizeof(err)) == 0);

    CHECK(vs_aws_ecs_source_init(&src, S("/v2/credentials/abc-123"), NULL, 0,
                                 NULL, 0, err, sizeof(err)) == 1);
    CHECK_STR(src.host, "169.254.170.2");
    CHECK(src.port == 80 && !src.https);
    CHECK_STR(src.path, "/v2/credentials/abc-123");
    n = vs_aws_ecs_request(&src, req, sizeof(req));
    CHECK(n > 0 && (size_t) n == strlen(req));
    CHECK_STR(req, "GET /v2/credentials/abc-123 HTTP/1.1\r\n"
              "Host: 169.254.170.2\r\nAccept: application/json\r\n"
              "Connection: close\r\n\r\n");
    CHECK(vs_aws_ecs_request(&src, req, 20) == -1);

    /* RELATIVE wins over FULL */
    CHECK(vs_aws_ecs_source_init(&src, S("/rel"), S("http://127.0.0.1:1/x"),
                                 NULL, 0, err, sizeof(err)) == 1);
    CHECK_STR(src.host, "169.254.170.2");
    CHECK(vs_aws_ecs_source_init(&src, S("no-slash"), NULL, 0, NULL, 0, err,
                                 sizeof(err)) == -1);
    CHECK(vs_aws_ecs_source_init(&src, S("/a b"), NULL, 0, NULL, 0, err,
                                 sizeof(err)) == -1);

    /* FULL: loopback and the ECS/EKS hosts over http, anything over https */
    CHECK(FULL("http://127.0.0.1:51679/creds?x=1") == 1);
    CHECK_STR(src.host, "127.0.0.1");
    CHECK(src.port == 51679);
    CHECK_STR(src.path, "/creds?x=1");
    CHECK(FULL("http://localhost") == 1);
    CHECK(src.port == 80);
    CHECK_STR(src.path, "/");
    CHECK(FULL("http://169.254.170.23/v1/credentials") == 1);
    CHECK(FULL("http://[fd00:ec2::23]/v1/credentials") == 1);
    CHECK_STR(src.host, "[fd00:ec2::23]");
    CHECK(FULL("http://[::1]:8080/c") == 1);
    CHECK(FULL("https://creds.example.com/role") == 1);
    CHECK(src.https && src.port == 443);
    CHECK(FULL("http://creds.example.com/role") == -1);
    CHECK(strstr(err, "loopback") != NULL);
    CHECK(FULL("http://10.0.0.1/role") == -1);
    CHECK(FULL("http://127.0.0.1.evil.com/") == -1);
    CHECK(FULL("ftp://127.0.0.1/") == -1);
    CHECK(FULL("http://127.0.0.1:0/") == -1);
    CHECK(FULL("http://127.0.0.1:99999/") == -1);
    CHECK(FULL("http://user@127.0.0.1/") == -1);
    CHECK(FULL("http:///x") == -1);
    CHECK(FULL("http://[::1/x") == -1);

    /* the authorization header, never with CR/LF */
    CHECK(vs_aws_ecs_source_init(&src, NULL, 0, S("http://127.0.0.1:9/c"),
                                 S("Bearer abc"), err, sizeof(err)) == 1);
    n = vs_aws_ecs_request(&src, req, sizeof(req));
    CHECK_STR(req, "GET /c HTTP/1.1\r\nHost: 127.0.0.1:9\r\n"
              "Authorization: Bearer abc\r\nAccept: application/json\r\n"
              "Connection: close\r\n\r\n");
    CHECK(vs_aws_ecs_source_init(&src, NULL, 0, S("http://127.0.0.1:9/c"),
                                 S("abc\r\nX-Evil: 1"), err, sizeof(err))
          == -1);

    /* from the environment, the token file winning over the variable */
    clear_env();
    CHECK(vs_aws_ecs_source_from_env(&src, err, sizeof(err)) == 0);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:7/c", 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "from-env", 1);
    CHECK(vs_aws_ecs_source_from_env(&src, err, sizeof(err)) == 1);
    CHECK_STR(src.authorization, "from-env");
    {
        char   path[] = "/tmp/vs-test-token-XXXXXX";
        int    fd = mkstemp(path);
        FILE  *f = fd >= 0 ? fdopen(fd, "w") : NULL;

        CHECK(f != NULL);
        if (f != NULL) {
            fputs("from-file\n", f);
            fclose(f);
            setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", path, 1);
            CHECK(vs_aws_ecs_source_from_env(&src, err, sizeof(err)) == 1);
            CHECK_STR(src.authorization, "from-file");
            CHECK_STR(src.token_file, path);
            unlink(path);
        }
        setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "/nonexistent/x", 1);
        CHECK(vs_aws_ecs_source_from_env(&src, err, sizeof(err)) == -1);
    }
    clear_env();
#undef FULL
}


static void
test_provider(void)
{
    vs_aws_provider_t  p;
    vs_aws_creds_t     stat;
    char               err[128];
    const char        *body1 = "{\"AccessKeyId\":\"ASIA1\","
                               "\"SecretAccessKey\":\"S1\",\"Token\":\"T1\","
                               "\"Expiration\":\"2026-11-21T10:00:00Z\"}";
    const char        *body2 = "{\"AccessKeyId\":\"ASIA2\","
                               "\"SecretAccessKey\":\"S2\",\"Token\":\"T2\","
                               "\"Expiration\":\"2026-11-21T11:00:00Z\"}";

    /* nothing configured */
    clear_env();
    CHECK(vs_aws_provider_init(&p, NULL, err, sizeof(err))
          == VS_AWS_CREDS_NONE);
    CHECK(vs_aws_provider_get(&p, T0) == NULL);
    CHECK(vs_aws_provider_should_refresh(&p, T0) == 0);

    /* the order: static, then environment, then ECS */
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "secretenv", 1);
    setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/x", 1);
    CHECK(vs_aws_creds_set(&stat, S("AKIDSTATIC"), S("s"), NULL, 0, 0, err,
                           sizeof(err)) == 0);
    CHECK(vs_aws_provider_init(&p, &stat, err, sizeof(err))
          == VS_AWS_CREDS_STATIC);
    CHECK_STR(vs_aws_provider_get(&p, T0)->access_key_id, "AKIDSTATIC");
    CHECK(vs_aws_provider_should_refresh(&p, T0) == 0);

    CHECK(vs_aws_provider_init(&p, NULL, err, sizeof(err))
          == VS_AWS_CREDS_ENV);
    CHECK_STR(vs_aws_provider_get(&p, T0)->access_key_id, "AKIDENV");
    CHECK(vs_aws_provider_should_refresh(&p, T0 + 1000000) == 0);

    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    CHECK(vs_aws_provider_init(&p, NULL, err, sizeof(err))
          == VS_AWS_CREDS_ECS);
    CHECK_STR(p.ecs.path, "/v2/credentials/x");

    /* a broken environment is a configuration error, not a fallthrough */
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    CHECK(vs_aws_provider_init(&p, NULL, err, sizeof(err)) == -1);
    unsetenv("AWS_ACCESS_KEY_ID");
    setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "nope", 1);
    CHECK(vs_aws_provider_init(&p, NULL, err, sizeof(err)) == -1);
    setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/x", 1);
    CHECK(vs_aws_provider_init(&p, NULL, err, sizeof(err))
          == VS_AWS_CREDS_ECS);

    /* ECS: nothing until the first response; one refresh at a time */
    CHECK(vs_aws_provider_get(&p, T0 - 3600) == NULL);
    CHECK(vs_aws_provider_should_refresh(&p, T0 - 3600) == 1);
    CHECK(vs_aws_provider_should_refresh(&p, T0 - 3600) == 0);
    CHECK(vs_aws_provider_should_refresh(&p, T0 - 3600 + 9) == 0);
    CHECK(vs_aws_provider_should_refresh(&p, T0 - 3600 + 10) == 1);

    CHECK(vs_aws_provider_update(&p, "garbage", 7, err, sizeof(err)) == -1);
    CHECK(vs_aws_provider_get(&p, T0 - 3600) == NULL);
    CHECK(vs_aws_provider_update(&p, body1, strlen(body1), err, sizeof(err))
          == 0);
    CHECK_STR(vs_aws_provider_get(&p, T0 - 3600)->access_key_id, "ASIA1");
    CHECK_STR(vs_aws_provider_get(&p, T0 - 3600)->session_token, "T1");

    /* fresh: no refresh until REFRESH_AHEAD before Expiration */
    CHECK(vs_aws_provider_should_refresh(&p, T0 - 1800) == 0);
    CHECK(vs_aws_provider_should_refresh(&p, T0 - 301) == 0);
    CHECK(vs_aws_provider_should_refresh(&p, T0 - 300) == 1);
    CHECK(vs_aws_provider_should_refresh(&p, T0 - 299) == 0);

    /* a failed refresh keeps the old credentials until they expire */
    CHECK(vs_aws_provider_update(&p, "{}", 2, err, sizeof(err)) == -1);
    CHECK_STR(vs_aws_provider_get(&p, T0 - 1)->access_key_id, "ASIA1");
    CHECK(vs_aws_provider_get(&p, T0) == NULL);

    /* rotation */
    CHECK(vs_aws_provider_update(&p, body2, strlen(body2), err, sizeof(err))
          == 0);
    CHECK_STR(vs_aws_provider_get(&p, T0)->access_key_id, "ASIA2");
    CHECK_STR(vs_aws_provider_get(&p, T0)->secret_access_key, "S2");
    CHECK(vs_aws_provider_should_refresh(&p, T0) == 0);
    CHECK(vs_aws_provider_get(&p, T0 + 3600) == NULL);

    clear_env();
}


int
main(void)
{
    test_set();
    test_env();
    test_json();
    test_ecs_source();
    test_provider();

    return VS_TEST_DONE();
}
