/*
 * The media pipeline: any input libavformat can open (a local file or a
 * presigned S3 URL) to an H.264/AAC MP4 with moov first (CONTRACT.md
 * section 4), a JPEG poster frame and, optionally, an HLS rendition.
 *
 * Call sequences follow FFmpeg's doc/examples/transcoding.c and remuxing.c.
 * Nothing here knows about S3, SQS or PostgreSQL.
 */
#ifndef VS_TRANSCODE_H
#define VS_TRANSCODE_H

#include <stddef.h>
#include <stdint.h>

#include "vs_video.h"

/* What went wrong, which decides what happens to the queue message. */
typedef enum {
    VS_TC_OK = 0,
    VS_TC_PERMANENT = -1,   /* the input can never succeed: mark failed */
    VS_TC_TRANSIENT = -2,   /* network, disk: try again later */
    VS_TC_ABORTED = -3      /* the interrupt callback asked us to stop */
} vs_tc_status_t;

typedef struct {
    int           max_height;     /* short side cap, 1080; long side
                                     max_height * 16 / 9 */
    int           max_fps;        /* 60 */
    int64_t       max_duration_ms;  /* 0: no limit */
    int64_t       max_pixels;     /* width * height of the input, 0: none */
    int           crf;            /* libx264 CRF, 23 */
    const char   *preset;         /* libx264 preset, "veryfast" */
    int           audio_bitrate;  /* AAC bits/s, 128000 */
    int           allow_remux;    /* 1: copy streams when they already
                                     conform */
    int           threads;        /* codec threads, 0 = auto */
    int           keyframe_ms;    /* > 0: a keyframe exactly every this
                                     many ms of presentation time (HLS
                                     segments), 0: the encoder's choice */

    /* progress 0..99 whenever it changes, from the reading thread */
    void        (*progress)(void *opaque, int percent);
    /* returning non-zero aborts whatever is running (a blocking read too) */
    int         (*interrupt)(void *opaque);
    void         *opaque;
} vs_tc_opts_t;

typedef struct {
    int64_t       duration_ms;
    int           width;          /* of the output, after rotation */
    int           height;
    int           has_audio;
    int           remuxed;        /* 1 when the fast path copied streams */
    vs_error_code_t code;         /* with VS_TC_PERMANENT: why, for
                                     programs (the video's error_code) */
    char          error[256];     /* a readable reason when not VS_TC_OK */
} vs_tc_result_t;

/* Defaults for every option (the values above). */
void vs_tc_opts_init(vs_tc_opts_t *opts);

/*
 * Reads input (a local path, or an http(s) URL: the presigned S3 GET) and
 * writes the MP4 at out_path (a local file: faststart needs to rewrite
 * it). The input is hostile: only the demuxers of media_input.h, nothing
 * else opened, pictures over max_pixels refused before they are decoded.
 * On VS_TC_PERMANENT, res->code is never VS_ERR_NONE: an input_* code when
 * the input is to blame, VS_ERR_TRANSCODE_FAILED when our side is.
 */
vs_tc_status_t vs_transcode(const char *input, const char *out_path,
    const vs_tc_opts_t *opts, vs_tc_result_t *res);

/*
 * Writes a JPEG poster of the frame at about 10% of the duration of the
 * MP4 at mp4_path (our own output: rotation is already applied). It and
 * vs_hls() read our own MP4: a permanent failure of either is ours,
 * VS_ERR_TRANSCODE_FAILED.
 */
vs_tc_status_t vs_thumbnail(const char *mp4_path, const char *jpg_path,
    const vs_tc_opts_t *opts, char *error, size_t error_size);

/*
 * HLS from the MP4 at mp4_path (our output), into dir:
 *
 *   index.m3u8                 the master playlist: one EXT-X-STREAM-INF per
 *                              rendition (BANDWIDTH, AVERAGE-BANDWIDTH,
 *                              RESOLUTION, FRAME-RATE, CODECS), largest first
 *   <N>p/stream.m3u8           a rendition's media playlist (VOD), N its
 *                              short side, with init.mp4 + seg_K.m4s (fmp4
 *                              1) or seg_K.ts segments
 *
 * Renditions: the MP4's own size, plus every ladder entry (short sides,
 * 0-terminated, may be NULL) smaller than it. The MP4's video is copied
 * when copy_top is 1 (it was encoded with keyframe_ms = segment_seconds
 * * 1000, so its keyframes fall on segment boundaries); everything else is
 * decoded once and encoded with libx264, a keyframe forced at every
 * segment boundary, so all renditions are cut at the same instants. Audio
 * is copied into every rendition. *renditions gets how many were written.
 */
vs_tc_status_t vs_hls(const char *mp4_path, const char *dir, int fmp4,
    int segment_seconds, const int *ladder, int copy_top,
    const vs_tc_opts_t *opts, int *renditions, char *error,
    size_t error_size);

#endif
