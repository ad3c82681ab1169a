/*
 * The media pipeline: any input libavformat can open (a local file or a
 * presigned S3 URL) to an H.264/AAC MP4 with moov first (CONTRACT.md
 * section 4), a JPEG poster frame and, optionally, an HLS ladder, all
 * from one demux and one decode of the source.
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
                                     many ms of presentation time, 0: the
                                     encoder's choice; with hls_dir, the
                                     segment length wins */

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
    int64_t       decoded_frames; /* video frames decoded from the source:
                                     one pass at most */
    int           renditions;     /* HLS renditions written */
    vs_error_code_t code;         /* with VS_TC_PERMANENT: why, for
                                     programs (the video's error_code) */
    char          error[256];     /* a readable reason when not VS_TC_OK */
} vs_tc_result_t;

/* Where the pipeline writes; NULL paths are outputs not wanted. */
typedef struct {
    const char   *mp4_path;       /* a local file: faststart rewrites it */
    const char   *poster_path;    /* JPEG, the frame at ~10% */
    const char   *hls_dir;        /* an existing directory, see media_hls.h */
    int           hls_fmp4;       /* 1 fMP4 segments, 0 MPEG-TS */
    int           hls_segment;    /* s per segment */
    const int    *hls_ladder;     /* short sides, descending, 0-terminated */
} vs_tc_outputs_t;

/* Defaults for every option (the values above). */
void vs_tc_opts_init(vs_tc_opts_t *opts);

/*
 * The output size for a (rotated) w x h picture under cap: scaled down,
 * aspect kept, to fit cap on the short side and cap * 16 / 9 on the long
 * side, both even; never scaled up.
 */
void vs_tc_fit(int cap, int w, int h, int *ow, int *oh);

/*
 * Reads input (a local path, or an http(s) URL: the presigned S3 GET) once
 * and writes every output from that one demux and decode:
 *
 *   - the MP4 (H.264/AAC, moov first), its streams copied instead when the
 *     source already conforms (the remux fast path);
 *   - the poster, the first picture at or after 10% of the duration, at
 *     the MP4's size;
 *   - with hls_dir, the renditions of media_hls.h: the source's size
 *     within the cap, then the smaller ladder entries, each scaled and
 *     encoded from the decoded source, keyframes forced on the segment
 *     boundaries in all of them. When the MP4 is encoded, it is encoded
 *     with those keyframes and the top rendition carries its packets.
 *
 * Audio is decoded and encoded to AAC once (or copied, remuxing), and that
 * one stream is muxed into the MP4 and every rendition.
 *
 * The input is hostile: only the demuxers of media_input.h, nothing else
 * opened, pictures over max_pixels refused before they are decoded. On
 * VS_TC_PERMANENT, res->code is never VS_ERR_NONE: an input_* code when
 * the input is to blame, VS_ERR_TRANSCODE_FAILED when our side is.
 */
vs_tc_status_t vs_transcode(const char *input, const vs_tc_outputs_t *out,
    const vs_tc_opts_t *opts, vs_tc_result_t *res);

#endif
