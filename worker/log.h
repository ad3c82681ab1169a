/*
 * Logging: one JSON object per line on stdout (CloudWatch parses them),
 * {"time","level","video_id","stage","msg",…extra fields}. Thread-safe:
 * each line goes out in one write.
 */
#ifndef VS_LOG_H
#define VS_LOG_H

#include <jansson.h>

typedef enum {
    VS_LOG_DEBUG = 0,
    VS_LOG_INFO,
    VS_LOG_WARN,
    VS_LOG_ERROR
} vs_log_level_t;

/* "debug", "info", "warn", "error"; -1 when unknown. */
int vs_log_level_parse(const char *name);
void vs_log_set_level(vs_log_level_t level);

/* video_id and stage may be NULL (then omitted). */
void vs_log(vs_log_level_t level, const char *video_id, const char *stage,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * The same with extra fields (timings, sizes): fields is a JSON object
 * whose members are added to the line; the reference is stolen (may be
 * NULL).
 */
void vs_log_fields(vs_log_level_t level, const char *video_id,
    const char *stage, json_t *fields, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#endif
