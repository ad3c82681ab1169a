/*
 * Video events on Redis pub/sub (VIDSTREAM_REDIS_URL): the video object of
 * CONTRACT.md section 3 is PUBLISHed to vidstream:videos:<id> whenever the
 * worker changes it (claim, progress, done, failed, back to queued), for
 * whoever wants live progress without polling the API.
 *
 * Best effort by design: Redis down or slow (1 s timeouts) never fails or
 * delays a job by more than that; a broken connection is dropped, logged
 * once, and tried again at most every 5 s. One vs_events_t per job thread
 * (a redisContext is not shared between threads).
 */
#ifndef VS_EVENTS_H
#define VS_EVENTS_H

#include <hiredis.h>
#include <libpq-fe.h>
#include <time.h>

#define VS_EVENTS_CHANNEL_PREFIX  "vidstream:videos:"

typedef struct {
    const char    *url;         /* NULL: events are off */
    redisContext  *redis;
    time_t         retry_at;    /* no reconnect before this */
    int            failing;     /* the failure is logged already */
} vs_events_t;


/*
 * Reads the video from PostgreSQL (db, a job's connection) and publishes
 * it. Never fails: problems are logged.
 */
void vs_events_publish(vs_events_t *ev, PGconn **db, const char *db_url,
    const char *video_id);

void vs_events_close(vs_events_t *ev);

#endif
