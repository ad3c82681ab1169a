/*
 * The video side of the pipeline after the decoder: one filter graph
 * (rotation and the frame rate cap once, then a split with one scaled
 * branch per output size) and, per branch, an encoder whose packets go to
 * its destinations (media_encode.c). Branch 0 is the MP4's size; its
 * pictures are also the poster's candidates.
 *
 * Every branch receives the same pictures with the same timestamps, and
 * forces keyframes at the same instants: HLS renditions are cut alike.
 */
#ifndef VS_MEDIA_VIDEO_H
#define VS_MEDIA_VIDEO_H

#include <stddef.h>
#include <stdint.h>

#include <libavcodec/avcodec.h>
#include <libavfilter/avfilter.h>

#include "media_encode.h"

#define VS_MEDIA_BRANCHES_MAX  8

/* One branch of the graph: a size, its sink, its encoder. */
typedef struct {
    int                  width;         /* set before the graph is built */
    int                  height;
    AVFilterContext     *sink;
    AVCodecContext      *enc;           /* NULL: pictures for the poster
                                           only (remuxing without HLS) */
    vs_media_sinks_t     dest;          /* the muxers its packets go to */
    int64_t              v_last;        /* last pts to the encoder */
    int64_t              v_step;        /* one frame, encoder time base */
    int                  keyframe_ms;   /* > 0: forced on the boundaries */
    int64_t              next_key_ms;
} vs_media_branch_t;

typedef struct {
    AVFilterGraph       *graph;
    AVFilterContext     *src;
    vs_media_branch_t    branch[VS_MEDIA_BRANCHES_MAX];
    int                  n;             /* set before the graph is built */

    int                  want_poster;
    AVFrame             *poster;        /* the picked picture (a ref) */
    int64_t              poster_us;     /* the picture wanted */
    int                  poster_done;

    AVFrame             *filtered;
    AVPacket            *pkt;
    AVPacket            *tmp;
} vs_media_video_t;

/*
 * Builds the graph for pictures of dec (timestamps in tb, frame rate fps
 * as guessed from the stream) into v->n branches of the sizes set in
 * v->branch. rotation is 0, 90, 180 or 270 clockwise; faster than max_fps
 * gets an fps filter. chain gets the graph's description, for messages.
 * Returns a libav error code; *oom when even that could not be tried.
 */
int vs_media_video_graph(vs_media_video_t *v, const AVCodecContext *dec,
    AVRational tb, AVRational fps, int rotation, int max_fps, int threads,
    char *chain, size_t chain_size, int *oom);

/*
 * What branch i's encoder gets from its sink: size, time base, sample
 * aspect ratio, and the frame rate (capped at max_fps, 25 when unknown).
 */
void vs_media_video_want(vs_media_video_t *v, int i, int max_fps,
    vs_media_x264_t *want);

/* Opens branch i's libx264 as asked. Returns a libav error code. */
int vs_media_video_open(vs_media_video_t *v, int i,
    const vs_media_x264_t *want);

/*
 * A decoded picture (its pts in the graph's input time base; NULL: the
 * end, every encoder flushed): through the graph, to every branch's
 * encoder, and to the poster. Returns a libav error code.
 */
int vs_media_video_push(vs_media_video_t *v, AVFrame *picture);

void vs_media_video_close(vs_media_video_t *v);

#endif
