/*
 * libvidstream: the video, as both binaries see it (CONTRACT.md sections 3,
 * 4 and 5): its statuses, its failure codes, and the one SQL expression
 * that renders the video object.
 */
#ifndef VS_VIDEO_H
#define VS_VIDEO_H

/*
 * Why a video failed, for programs (the video object's error_code; the
 * README's "Error codes" table says what each means and whether a retry
 * can help).  sql/002_lifecycle.sql checks the same set.
 */
typedef enum {
    VS_ERR_NONE = 0,
    VS_ERR_INPUT_MISSING,       /* no uploaded object */
    VS_ERR_INPUT_UNSUPPORTED,   /* not a media file we accept */
    VS_ERR_INPUT_NO_VIDEO,      /* no video stream */
    VS_ERR_INPUT_TOO_LARGE,     /* bytes, duration or pixels over limits */
    VS_ERR_INPUT_CORRUPT,       /* it does not decode */
    VS_ERR_TRANSCODE_FAILED,    /* our side of the transcode failed */
    VS_ERR_STORAGE_FAILED       /* S3 refused the outputs for good */
} vs_error_code_t;

/* "input_missing"…; NULL for VS_ERR_NONE or a value out of range. */
const char *vs_error_code_name(vs_error_code_t code);

/*
 * The video object of CONTRACT.md section 3, text-typed, for a query with
 * a row of videos in scope under that name: the SQL function is its one
 * definition (sql/004_events.sql; the events' payloads use it too), and
 * PostgreSQL inlines it, so it costs what the expression itself costs.
 */
#define VS_VIDEO_JSON_SQL  "vidstream_video_json(videos)"

#endif
