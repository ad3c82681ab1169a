/*
 * One JSON object per line on stdout. Messages are ours (never a token or
 * a secret); ids and errors from outside are escaped by jansson.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static vs_log_level_t  vs_log_min = VS_LOG_INFO;

static const char *vs_log_names[] = { "debug", "info", "warn", "error" };


int
vs_log_level_parse(const char *name)
{
    int  i;

    for (i = 0; i < 4; i++) {
        if (strcmp(name, vs_log_names[i]) == 0) {
            return i;
        }
    }
    return -1;
}


void
vs_log_set_level(vs_log_level_t level)
{
    vs_log_min = level;
}


static void
vs_log_write(vs_log_level_t level, const char *video_id, const char *stage,
    json_t *fields, const char *fmt, va_list ap)
{
    json_t          *line, *value;
    struct timeval   tv;
    struct tm        tm;
    char             msg[1024], ts[40], *out;
    size_t           len;

    if (level < vs_log_min) {
        json_decref(fields);
        return;
    }

    vsnprintf(msg, sizeof(msg), fmt, ap);

    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    len = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + len, sizeof(ts) - len, ".%03dZ", (int) (tv.tv_usec / 1000));

    line = json_object();
    if (line == NULL) {
        json_decref(fields);
        return;
    }

    json_object_set_new(line, "time", json_string(ts));
    json_object_set_new(line, "level", json_string(vs_log_names[level]));
    if (video_id != NULL && video_id[0] != '\0') {
        json_object_set_new(line, "video_id", json_string(video_id));
    }
    if (stage != NULL) {
        json_object_set_new(line, "stage", json_string(stage));
    }
    /* invalid UTF-8 from outside (an error string) must not lose the line */
    value = json_string(msg);
    if (value == NULL) {
        value = json_string("(message not UTF-8)");
    }
    json_object_set_new(line, "msg", value);
    if (json_is_object(fields)) {
        json_object_update(line, fields);
    }
    json_decref(fields);

    out = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(line);
    if (out == NULL) {
        return;
    }

    flockfile(stdout);
    fputs(out, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    funlockfile(stdout);

    free(out);
}


void
vs_log(vs_log_level_t level, const char *video_id, const char *stage,
    const char *fmt, ...)
{
    va_list  ap;

    va_start(ap, fmt);
    vs_log_write(level, video_id, stage, NULL, fmt, ap);
    va_end(ap);
}


void
vs_log_fields(vs_log_level_t level, const char *video_id, const char *stage,
    json_t *fields, const char *fmt, ...)
{
    va_list  ap;

    va_start(ap, fmt);
    vs_log_write(level, video_id, stage, fields, fmt, ap);
    va_end(ap);
}
