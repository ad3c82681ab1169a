/*
 * The ECS container credentials provider against a live local endpoint:
 * t/unit/ecs_creds_server.py on 127.0.0.1 (an ephemeral port), started and
 * stopped here by PID.  Covers the first fetch, the Authorization token
 * (variable and rotating file), refresh ahead of Expiration, rotation,
 * failures that keep the old credentials until they expire, the retry
 * back-off, a timeout and an oversized body.
 */
#include "vs_test.h"
#include "vs_creds.h"
#include "creds_fetch.h"

#include <libgen.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>


static pid_t  server_pid = -1;
static char   resp_path[64], log_path[80];


static void
stop_server(void)
{
    if (server_pid > 0) {
        kill(server_pid, SIGTERM);
        waitpid(server_pid, NULL, 0);
        server_pid = -1;
    }
    if (resp_path[0]) {
        unlink(resp_path);
        unlink(log_path);
    }
}


static int
find_script(char *out, size_t size)
{
    char   src[] = __FILE__;
    char   cwd[2048];
    char  *p;

    snprintf(out, size, "%s/ecs_creds_server.py", dirname(src));
    if (access(out, R_OK) == 0) {
        return 0;
    }
    if (getcwd(cwd, sizeof(cwd)) == NULL) {
        return -1;
    }
    for (;;) {
        snprintf(out, size, "%s/t/unit/ecs_creds_server.py", cwd);
        if (access(out, R_OK) == 0) {
            return 0;
        }
        p = strrchr(cwd, '/');
        if (p == NULL || p == cwd) {
            return -1;
        }
        *p = '\0';
    }
}


/* Start the server; returns its port or -1. */
static int
start_server(const char *token)
{
    char   script[2200], line[32];
    int    fds[2], fd, port;
    FILE  *f;

    if (find_script(script, sizeof(script)) != 0) {
        fprintf(stderr, "cannot find t/unit/ecs_creds_server.py\n");
        return -1;
    }

    snprintf(resp_path, sizeof(resp_path), "/tmp/vs-ecs-creds-XXXXXX");
    fd = mkstemp(resp_path);
    if (fd < 0) {
        return -1;
    }
    close(fd);
    snprintf(log_path, sizeof(log_path), "%s.log", resp_path);

    if (pipe(fds) != 0) {
        return -1;
    }
    server_pid = fork();
    if (server_pid < 0) {
        return -1;
    }
    if (server_pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl("/usr/bin/python3", "python3", script, resp_path, token,
              (char *) NULL);
        _exit(127);
    }
    close(fds[1]);

    f = fdopen(fds[0], "r");
    if (f == NULL || fgets(line, sizeof(line), f) == NULL) {
        fprintf(stderr, "credentials server did not start\n");
        if (f) {
            fclose(f);
        }
        return -1;
    }
    fclose(f);
    port = atoi(line);
    return port > 0 && port < 65536 ? port : -1;
}


static void
respond(const char *body)
{
    FILE  *f = fopen(resp_path, "w");

    if (f != NULL) {
        fputs(body, f);
        fclose(f);
    }
}


static void
respond_creds(const char *akid, const char *token, time_t expiration)
{
    char       body[512], exp[32];
    struct tm  tm;

    gmtime_r(&expiration, &tm);
    strftime(exp, sizeof(exp), "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(body, sizeof(body), "{\"Code\":\"Success\",\"Type\":\"AWS-HMAC\","
             "\"AccessKeyId\":\"%s\",\"SecretAccessKey\":\"secret-%s\","
             "\"Token\":\"%s\",\"Expiration\":\"%s\"}", akid, akid, token,
             exp);
    respond(body);
}


/* Number of requests the server has seen. */
static int
requests(void)
{
    FILE  *f = fopen(log_path, "r");
    int    n = 0, c;

    if (f == NULL) {
        return 0;
    }
    while ((c = fgetc(f)) != EOF) {
        n += c == '\n';
    }
    fclose(f);
    return n;
}


int
main(void)
{
    vs_aws_provider_t       p;
    vs_aws_ecs_source_t     src;
    vs_aws_creds_t          c;
    const vs_aws_creds_t   *cur;
    char                    url[128], err[256], tokfile[] =
                                "/tmp/vs-ecs-token-XXXXXX";
    time_t                  now, exp1;
    struct timespec         t0, t1;
    int                     port, fd;
    double                  took;

    atexit(stop_server);
    port = start_server("Bearer s3cr3t");
    CHECK(port > 0);
    if (port <= 0) {
        stop_server();
        return VS_TEST_DONE();
    }

    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    unsetenv("AWS_SESSION_TOKEN");
    unsetenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/creds", port);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer s3cr3t", 1);

    now = time(NULL);
    exp1 = now + 3600;
    respond_creds("ASIAFIRST", "token-1", exp1);

    /* first fetch */
    CHECK(vs_aws_provider_init(&p, NULL, err, sizeof(err))
          == VS_AWS_CREDS_ECS);
    CHECK(vs_aws_provider_get(&p, now) == NULL);
    CHECK(vs_aws_provider_refresh(&p, now, 2000, err, sizeof(err)) == 0);
    cur = vs_aws_provider_get(&p, now);
    CHECK(cur != NULL);
    if (cur != NULL) {
        CHECK_STR(cur->access_key_id, "ASIAFIRST");
        CHECK_STR(cur->secret_access_key, "secret-ASIAFIRST");
        CHECK_STR(cur->session_token, "token-1");
        CHECK(cur->expiration == exp1);
    }
    CHECK(requests() == 1);

    /* fresh credentials are not fetched again */
    respond_creds("ASIASECOND", "token-2", exp1 + 3600);
    CHECK(vs_aws_provider_refresh(&p, now + 60, 2000, err, sizeof(err)) == 0);
    CHECK(requests() == 1);
    CHECK_STR(vs_aws_provider_get(&p, now + 60)->access_key_id, "ASIAFIRST");

    /* ahead of Expiration: rotated */
    CHECK(vs_aws_provider_refresh(&p, exp1 - VS_AWS_CREDS_REFRESH_AHEAD, 2000,
                                  err, sizeof(err)) == 0);
    CHECK(requests() == 2);
    cur = vs_aws_provider_get(&p, exp1);
    CHECK(cur != NULL && strcmp(cur->access_key_id, "ASIASECOND") == 0);
    CHECK(cur != NULL && strcmp(cur->session_token, "token-2") == 0);

    /* the pattern "if (should_refresh()) refresh();" fetches too (the
     * claim made by should_refresh is carried out, not swallowed) */
    respond_creds("ASIASECONDB", "token-2b", exp1 + 3600);
    CHECK(vs_aws_provider_should_refresh(&p, exp1 + 3600 - 200) == 1);
    CHECK(vs_aws_provider_refresh(&p, exp1 + 3600 - 200, 2000, err,
                                  sizeof(err)) == 0);
    CHECK(requests() == 3);
    CHECK_STR(vs_aws_provider_get(&p, exp1)->access_key_id, "ASIASECONDB");

    /* the endpoint fails: old credentials stay until they expire, retries
     * are spaced by VS_AWS_CREDS_RETRY_AFTER */
    respond("STATUS 500");
    now = exp1 + 3600 - 100;                  /* inside the refresh window */
    CHECK(vs_aws_provider_refresh(&p, now, 2000, err, sizeof(err)) == 0);
    CHECK(requests() == 4);
    CHECK_STR(vs_aws_provider_get(&p, now)->access_key_id, "ASIASECONDB");
    CHECK(vs_aws_provider_refresh(&p, now + 1, 2000, err, sizeof(err)) == 0);
    CHECK(requests() == 4);                   /* backing off */
    respond("{\"AccessKeyId\":");             /* malformed */
    CHECK(vs_aws_provider_refresh(&p, now + VS_AWS_CREDS_RETRY_AFTER, 2000,
                                  err, sizeof(err)) == 0);
    CHECK(requests() == 5);
    /* expired and still failing: no credentials, an error */
    err[0] = '\0';
    CHECK(vs_aws_provider_refresh(&p, exp1 + 3600, 2000, err, sizeof(err))
          == -1);
    CHECK(err[0] != '\0');
    CHECK(vs_aws_provider_get(&p, exp1 + 3600) == NULL);
    /* and recovers */
    respond_creds("ASIATHIRD", "token-3", exp1 + 7200);
    CHECK(vs_aws_provider_refresh(&p, exp1 + 3600 + VS_AWS_CREDS_RETRY_AFTER,
                                  2000, err, sizeof(err)) == 0);
    CHECK_STR(vs_aws_provider_get(&p, exp1 + 3600 + 10)->access_key_id,
              "ASIATHIRD");

    /* a wrong authorization token is refused by the endpoint */
    CHECK(vs_aws_ecs_source_init(&src, NULL, 0, url, strlen(url), "wrong", 5,
                                 err, sizeof(err)) == 1);
    CHECK(vs_aws_ecs_fetch(&src, &c, 2000, err, sizeof(err)) == -1);
    CHECK(strstr(err, "401") != NULL);

    /* the token file is re-read before every fetch (EKS rotates it) */
    fd = mkstemp(tokfile);
    CHECK(fd >= 0);
    if (fd >= 0) {
        CHECK(write(fd, "wrong\n", 6) == 6);
        close(fd);
        setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", tokfile, 1);
        CHECK(vs_aws_ecs_source_from_env(&src, err, sizeof(err)) == 1);
        CHECK(vs_aws_ecs_fetch(&src, &c, 2000, err, sizeof(err)) == -1);
        {
            FILE  *f = fopen(tokfile, "w");

            CHECK(f != NULL);
            if (f != NULL) {
                fputs("Bearer s3cr3t\n", f);
                fclose(f);
            }
        }
        CHECK(vs_aws_ecs_fetch(&src, &c, 2000, err, sizeof(err)) == 0);
        CHECK_STR(c.access_key_id, "ASIATHIRD");
        unlink(tokfile);
        unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    }

    /* a hung endpoint is bounded by the timeout */
    CHECK(vs_aws_ecs_source_init(&src, NULL, 0, url, strlen(url),
                                 "Bearer s3cr3t", 13, err, sizeof(err)) == 1);
    respond("SLEEP 3");
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK(vs_aws_ecs_fetch(&src, &c, 300, err, sizeof(err)) == -1);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    took = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    CHECK(took < 2.0);

    /* an oversized body is refused; creds untouched */
    memset(&c, 0, sizeof(c));
    respond("BIG");
    CHECK(vs_aws_ecs_fetch(&src, &c, 2000, err, sizeof(err)) == -1);
    CHECK(strstr(err, "too large") != NULL);
    CHECK(c.access_key_id_len == 0);

    /* a closed port */
    stop_server();
    CHECK(vs_aws_ecs_fetch(&src, &c, 1000, err, sizeof(err)) == -1);

    return VS_TEST_DONE();
}
