/*
 * The one audio stream of every output: the source's audio decoded once,
 * resampled and encoded once to AAC, its packets muxed into the MP4 and
 * every HLS rendition (the destinations in dest). transcode.c decodes and
 * hands each frame over; timestamps are ours (see vs_media_audio_frame).
 */
#ifndef VS_MEDIA_AUDIO_H
#define VS_MEDIA_AUDIO_H

#include <stdint.h>

#include <libavcodec/avcodec.h>
#include <libavfilter/avfilter.h>
#include <libavutil/audio_fifo.h>

#include "media_encode.h"

typedef struct {
    AVCodecContext      *enc;           /* AAC */
    vs_media_sinks_t    *dest;          /* set by the caller: where the
                                           packets go */

    /* the graph is built from decoded frames (vs_media_audio_frame) */
    AVFilterGraph       *graph;
    AVFilterContext     *src;
    AVFilterContext     *sink;
    AVChannelLayout      layout;        /* what the graph was built for */
    int                  rate;
    int                  format;

    AVAudioFifo         *fifo;          /* graph output -> encoder frames */
    AVFrame             *frame;         /* one encoder frame, reused */
    AVFrame             *filtered;
    AVPacket            *pkt;
    AVPacket            *tmp;

    int64_t              next;          /* next input pts, 1/rate */
    int64_t              first;         /* first encoded pts, 1/out rate */
    int64_t              samples;       /* samples sent to the encoder */
} vs_media_audio_t;

/*
 * The AAC encoder for audio decoded by dec: dec's rate when AAC has it
 * (else 48 kHz), mono kept mono, everything else downmixed to stereo
 * (what every player plays). a must be zeroed first. Returns a libav
 * error code; vs_media_audio_close() frees whatever was allocated.
 */
int vs_media_audio_open(vs_media_audio_t *a, const AVCodecContext *dec,
    int bit_rate, int global_header);

/*
 * A decoded frame (its timestamps in in_tb): through the graph and the
 * FIFO into the encoder, packets to a->dest. Returns a libav error code.
 */
int vs_media_audio_frame(vs_media_audio_t *a, AVFrame *frame,
    AVRational in_tb);

/* The decoder is flushed: the graph, the FIFO, then the encoder. */
int vs_media_audio_flush(vs_media_audio_t *a);

void vs_media_audio_close(vs_media_audio_t *a);

#endif
