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
 * The video object of CONTRACT.md section 3 as one PostgreSQL expression
 * over a row of videos, text-typed: PostgreSQL escapes the JSON correctly.
 */
#define VS_VIDEO_JSON_SQL                                                     \
    "json_build_object('id', id, 'status', status, 'filename', filename,"     \
    " 'content_type', content_type, 'size', size, 'progress', progress,"      \
    " 'error', error, 'error_code', error_code,"                              \
    " 'duration_ms', duration_ms, 'width', width,"                            \
    " 'height', height, 'outputs', json_build_object('mp4', output_mp4,"      \
    " 'thumbnail', output_thumbnail, 'hls', output_hls),"                     \
    " 'created_at', to_char(created_at AT TIME ZONE 'UTC',"                   \
    " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"                                     \
    " 'updated_at', to_char(updated_at AT TIME ZONE 'UTC',"                   \
    " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'))::text"

#endif
