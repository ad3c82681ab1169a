/*
 * The one encode helper every output of the pipeline uses (transcode.c,
 * media_audio.c): an encoder whose packets go to one or more muxers (the
 * MP4, the HLS renditions); the libx264 set-up shared by the MP4 and the
 * renditions; the filter graph linking of the video and audio graphs.
 *
 * One encoder, several destinations: the AAC stream is encoded once and
 * muxed into the MP4 and every rendition; the MP4's video, encoded with
 * keyframes on the segment boundaries, is also the top rendition's.
 */
#ifndef VS_MEDIA_ENCODE_H
#define VS_MEDIA_ENCODE_H

#include <stdint.h>

#include <libavcodec/avcodec.h>
#include <libavfilter/avfilter.h>
#include <libavformat/avformat.h>

#define VS_MEDIA_SINKS_MAX  10

/* One muxer stream a packet goes to. */
typedef struct {
    AVFormatContext  *fmt;
    AVStream         *st;
    int64_t           last_dts;     /* AV_NOPTS_VALUE before the first */
} vs_media_sink_t;

typedef struct {
    vs_media_sink_t   sink[VS_MEDIA_SINKS_MAX];
    int               n;
    int               guard;        /* 1: drop a packet whose dts does not
                                       increase (our encoders' output);
                                       0: let the muxer refuse it (a copy,
                                       then transcoded instead) */
} vs_media_sinks_t;

/* Adds (fmt, st) to sinks; -1 when full. */
int vs_media_sink_add(vs_media_sinks_t *sinks, AVFormatContext *fmt,
    AVStream *st);

/*
 * Writes a copy of pkt (timestamps in tb) to every sink. With guard, a
 * packet whose dts does not increase on a sink is dropped there with a
 * warning: a muxer refuses the whole file for one. pkt is left as it was.
 * Returns a libav error code.
 */
int vs_media_write(vs_media_sinks_t *sinks, const AVPacket *pkt,
    AVRational tb, AVPacket *tmp);

/*
 * Sends frame (NULL: flush) to enc and writes every packet that comes out
 * to sinks. pkt and tmp are scratch packets. Returns a libav error code.
 */
int vs_media_encode(AVCodecContext *enc, AVFrame *frame,
    vs_media_sinks_t *sinks, AVPacket *pkt, AVPacket *tmp);

/* What a libx264 encoder is asked for. */
typedef struct {
    int           width;
    int           height;
    AVRational    time_base;
    AVRational    framerate;
    AVRational    sample_aspect_ratio;
    int           threads;
    int           crf;
    const char   *preset;
    int           keyframe_ms;      /* > 0: a GOP per segment, forced IDR */
    int64_t       maxrate;          /* > 0: capped CRF (bits/s) */
    int           global_header;
} vs_media_x264_t;

/*
 * Opens libx264 (high profile, yuv420p) as asked. Returns a libav error
 * code; *enc is set whenever it was allocated (the caller frees it).
 */
int vs_media_open_x264(const vs_media_x264_t *want, AVCodecContext **enc);

/*
 * Links src -> chain -> sinks inside graph and configures the graph (the
 * avfilter_graph_parse_ptr sequence of FFmpeg's transcoding.c): chain's
 * open input is "in", its open outputs "out0", "out1"... in the order of
 * sinks. Returns a libav error code; *oom is set when the in/out
 * descriptors could not even be allocated, which callers treat as
 * transient.
 */
int vs_media_link_graph(AVFilterGraph *graph, AVFilterContext *src,
    AVFilterContext **sinks, int nsinks, const char *chain, int *oom);

#endif
