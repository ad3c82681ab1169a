/*
 * HLS output (CONTRACT.md section 4), into a local directory uploaded
 * as output/<sub>/<id>/hls/:
 *
 *   index.m3u8         the master playlist: one EXT-X-STREAM-INF per
 *                      rendition (BANDWIDTH, AVERAGE-BANDWIDTH, RESOLUTION,
 *                      FRAME-RATE, CODECS), largest first
 *   <N>p/stream.m3u8   a rendition's media playlist (VOD), N its short
 *                      side, with init.mp4 + seg_K.m4s (fmp4) or seg_K.ts
 *
 * The edge's /play serves exactly these names (lib/vs_playback.c). What
 * goes into each rendition is transcode.c's: every rendition is encoded
 * from the decoded source, keyframes forced at the same instants.
 */
#ifndef VS_MEDIA_HLS_H
#define VS_MEDIA_HLS_H

#include <stddef.h>

#include <libavformat/avformat.h>

#define VS_HLS_MAX  8

typedef struct {
    int                  width;
    int                  height;
    char                 name[16];      /* "720p": its directory */
    AVFormatContext     *out;           /* the hls muxer */
    AVStream            *vout;
    AVStream            *aout;
} vs_hls_rend_t;

typedef struct {
    const char          *dir;
    int                  fmp4;          /* 1 fMP4 segments, 0 MPEG-TS */
    int                  segment_seconds;
    vs_hls_rend_t        r[VS_HLS_MAX];
    int                  n;
} vs_hls_t;

/*
 * The ladder follows the source: the top rendition at top_w x top_h (the
 * source's size within the cap: never upscaled), then every ladder entry
 * (short sides, descending, 0-terminated, may be NULL) whose size, fitted
 * to the source's aspect, has a short side smaller than the last planned.
 * src_w x src_h is the (rotated) source, for the aspect.
 */
void vs_hls_plan(vs_hls_t *h, int src_w, int src_h, int top_w, int top_h,
    const int *ladder);

/*
 * Creates r's directory and its muxer (no streams yet). Returns a libav
 * error code; error says what failed.
 */
int vs_hls_open(vs_hls_t *h, vs_hls_rend_t *r, char *error,
    size_t error_size);

/* Writes r's header once its streams are set (VOD playlist options). */
int vs_hls_start(vs_hls_t *h, vs_hls_rend_t *r);

/*
 * index.m3u8 from the finished renditions. fps is the video's frame rate
 * ({0, 0}: unknown), audio NULL without audio. 0, or -1 with error set.
 */
int vs_hls_master(vs_hls_t *h, AVRational fps,
    const AVCodecParameters *audio, char *error, size_t error_size);

/* Removes what an earlier attempt left under dir (dir itself stays). */
int vs_hls_clear(const char *dir);

/* Frees every muxer (after av_write_trailer, or on failure). */
void vs_hls_close(vs_hls_t *h);

#endif
