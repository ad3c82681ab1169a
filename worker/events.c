/*
 * Redis pub/sub of video changes (see events.h), hiredis, blocking with
 * short timeouts: this runs on job threads, never on a request path.
 */
#include "events.h"

#include "db.h"
#include "log.h"
#include "vs_redis_url.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VS_EVENTS_TIMEOUT_MS   1000
#define VS_EVENTS_RETRY_S      5


static void
vs_events_fail(vs_events_t *ev, const char *what)
{
    if (!ev->failing) {
        vs_log(VS_LOG_WARN, NULL, "events", "Redis %s: video events are "
               "not published until it is back (jobs are not affected)",
               what);
        ev->failing = 1;
    }
    if (ev->redis != NULL) {
        redisFree(ev->redis);
        ev->redis = NULL;
    }
    ev->retry_at = time(NULL) + VS_EVENTS_RETRY_S;
}


/* A reply that is not an error; frees it. */
static int
vs_events_ok(redisReply *r)
{
    int  ok = r != NULL && r->type != REDIS_REPLY_ERROR;

    if (r != NULL) {
        freeReplyObject(r);
    }
    return ok;
}


static int
vs_events_connect(vs_events_t *ev)
{
    vs_redis_url_t   u;
    struct timeval   tv = { VS_EVENTS_TIMEOUT_MS / 1000,
                            (VS_EVENTS_TIMEOUT_MS % 1000) * 1000 };
    char             what[64];

    if (ev->redis != NULL) {
        return 0;
    }
    if (time(NULL) < ev->retry_at) {
        return -1;
    }

    if (vs_redis_url_parse(ev->url, strlen(ev->url), &u) != NULL) {
        ev->url = NULL;     /* checked at startup: cannot happen */
        return -1;
    }

    ev->redis = redisConnectWithTimeout(u.host, u.port, tv);
    if (ev->redis == NULL || ev->redis->err) {
        snprintf(what, sizeof(what), "connect to %.40s:%d", u.host, u.port);
        vs_events_fail(ev, what);
        return -1;
    }
    redisSetTimeout(ev->redis, tv);

    if ((u.password[0] != '\0' && u.user[0] != '\0'
         && !vs_events_ok(redisCommand(ev->redis, "AUTH %s %s", u.user,
                                       u.password)))
        || (u.password[0] != '\0' && u.user[0] == '\0'
            && !vs_events_ok(redisCommand(ev->redis, "AUTH %s",
                                          u.password)))
        || (u.db != 0
            && !vs_events_ok(redisCommand(ev->redis, "SELECT %d", u.db))))
    {
        vs_events_fail(ev, "AUTH or SELECT failed");
        return -1;
    }

    vs_redis_url_clear(&u);

    if (ev->failing) {
        vs_log(VS_LOG_INFO, NULL, "events", "Redis is back: publishing "
               "video events again");
        ev->failing = 0;
    }
    return 0;
}


void
vs_events_publish(vs_events_t *ev, PGconn **db, const char *db_url,
    const char *video_id)
{
    redisReply  *r;
    json_t      *v;
    char        *json, *compact, err[256];

    if (ev == NULL || ev->url == NULL || video_id == NULL) {
        return;
    }

    if (vs_events_connect(ev) != 0) {
        return;
    }

    if (vs_db_video_json(db, db_url, video_id, &json, err, sizeof(err))
        != VS_DB_OK)
    {
        return;     /* deleted meanwhile, or the database: nothing to say */
    }

    /* PostgreSQL's json text has blanks around ':'; subscribers get it
       compact, like the API's */
    v = json_loads(json, 0, NULL);
    compact = v != NULL ? json_dumps(v, JSON_COMPACT) : NULL;
    json_decref(v);

    r = redisCommand(ev->redis, "PUBLISH %s%s %s", VS_EVENTS_CHANNEL_PREFIX,
                     video_id, compact != NULL ? compact : json);
    free(compact);
    free(json);

    if (r == NULL || r->type == REDIS_REPLY_ERROR) {
        if (r != NULL) {
            freeReplyObject(r);
        }
        vs_events_fail(ev, "PUBLISH failed");
        return;
    }

    freeReplyObject(r);
}


void
vs_events_close(vs_events_t *ev)
{
    if (ev->redis != NULL) {
        redisFree(ev->redis);
        ev->redis = NULL;
    }
}
