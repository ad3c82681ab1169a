/*
 * Audio for every output (transcode.c): decoded frames -> abuffer ->
 * aresample (gaps filled with silence) -> aformat -> an AVAudioFifo that
 * cuts frames of the encoder's size (FFmpeg's transcode_aac.c) -> one AAC
 * encoder, whose packets go to every muxer in dest (media_encode.c): the
 * MP4 and each HLS rendition carry the same AAC stream.
 */
#include "media_audio.h"

#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>

#include <stdio.h>


static int
vs_audio_aac_rate(int rate)
{
    static const int  rates[] = { 96000, 88200, 64000, 48000, 44100, 32000,
                                  24000, 22050, 16000, 12000, 11025, 8000 };
    size_t            i;

    for (i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
        if (rates[i] == rate) {
            return rate;
        }
    }
    return 48000;
}


int
vs_media_audio_open(vs_media_audio_t *a, const AVCodecContext *dec,
    int bit_rate, int global_header)
{
    const AVCodec       *codec;
    AVCodecContext      *enc;
    int                  ret, rate;

    a->next = AV_NOPTS_VALUE;
    a->first = AV_NOPTS_VALUE;

    codec = avcodec_find_encoder(AV_CODEC_ID_AAC);
    if (codec == NULL) {
        return AVERROR_ENCODER_NOT_FOUND;
    }

    enc = avcodec_alloc_context3(codec);
    a->filtered = av_frame_alloc();
    a->pkt = av_packet_alloc();
    a->tmp = av_packet_alloc();
    if (enc == NULL || a->filtered == NULL || a->pkt == NULL
        || a->tmp == NULL)
    {
        avcodec_free_context(&enc);
        return AVERROR(ENOMEM);
    }
    a->enc = enc;

    rate = vs_audio_aac_rate(dec->sample_rate);
    enc->sample_rate = rate;
    enc->sample_fmt = AV_SAMPLE_FMT_FLTP;
    enc->bit_rate = bit_rate;
    enc->time_base = av_make_q(1, rate);
    av_channel_layout_default(&enc->ch_layout,
                              dec->ch_layout.nb_channels == 1 ? 1 : 2);
    if (global_header) {
        enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    }

    ret = avcodec_open2(enc, codec, NULL);
    if (ret < 0) {
        return ret;
    }

    /* one encoder frame, reused; a FIFO that cuts the graph's output into
       frames of frame_size whatever the graph does (rebuilt or not) */
    a->fifo = av_audio_fifo_alloc(enc->sample_fmt,
                                  enc->ch_layout.nb_channels,
                                  enc->frame_size * 4);
    a->frame = av_frame_alloc();
    if (a->fifo == NULL || a->frame == NULL) {
        return AVERROR(ENOMEM);
    }
    a->frame->format = enc->sample_fmt;
    a->frame->sample_rate = enc->sample_rate;
    a->frame->nb_samples = enc->frame_size;
    ret = av_channel_layout_copy(&a->frame->ch_layout, &enc->ch_layout);
    if (ret >= 0) {
        ret = av_frame_get_buffer(a->frame, 0);
    }

    return ret;
}


/*
 * abuffer (the frame's own format, rate and layout) -> aresample (gaps
 * filled with silence) -> aformat (the encoder's) -> abuffersink. Built at
 * the first decoded frame and again whenever the decoded format changes
 * (a 5.1 programme after a stereo advert, a rate change in a TS): the
 * decoder's parameters before decoding are a guess, frames are the truth.
 * Returns a libav error code.
 */
static int
vs_audio_graph(vs_media_audio_t *a, const AVFrame *frame)
{
    AVBufferSrcParameters  *par;
    AVCodecContext         *enc = a->enc;
    char                    chain[256];
    int                     ret, oom;

    avfilter_graph_free(&a->graph);
    av_channel_layout_uninit(&a->layout);

    /* unlabelled channels (PCM in Matroska): the usual layout for their
       count, so that the downmix knows which channel is which */
    if (frame->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC) {
        av_channel_layout_default(&a->layout, frame->ch_layout.nb_channels);
    } else {
        ret = av_channel_layout_copy(&a->layout, &frame->ch_layout);
        if (ret < 0) {
            return ret;
        }
    }
    if (a->layout.order == AV_CHANNEL_ORDER_UNSPEC) {
        return AVERROR_PATCHWELCOME;
    }
    a->rate = frame->sample_rate;
    a->format = frame->format;

    a->graph = avfilter_graph_alloc();
    if (a->graph == NULL) {
        return AVERROR(ENOMEM);
    }

    a->src = avfilter_graph_alloc_filter(a->graph,
                                           avfilter_get_by_name("abuffer"),
                                           "in");
    par = av_buffersrc_parameters_alloc();
    if (a->src == NULL || par == NULL) {
        av_free(par);
        return AVERROR(ENOMEM);
    }
    par->format = frame->format;
    par->sample_rate = frame->sample_rate;
    par->time_base = av_make_q(1, frame->sample_rate);
    par->ch_layout = a->layout;      /* copied by the call */
    ret = av_buffersrc_parameters_set(a->src, par);
    av_free(par);
    if (ret >= 0) {
        ret = avfilter_init_str(a->src, NULL);
    }
    if (ret < 0) {
        return ret;
    }

    ret = avfilter_graph_create_filter(&a->sink,
                                       avfilter_get_by_name("abuffersink"),
                                       "out", NULL, NULL, a->graph);
    if (ret < 0) {
        return ret;
    }

    /* async: a gap in the input's timestamps becomes silence, so that the
       audio stays in sync with the video after it */
    snprintf(chain, sizeof(chain),
             "[in]aresample=%d:async=1,aformat=sample_fmts=%s:sample_rates=%d:"
             "channel_layouts=%s[out0]", enc->sample_rate,
             av_get_sample_fmt_name(enc->sample_fmt), enc->sample_rate,
             enc->ch_layout.nb_channels == 1 ? "mono" : "stereo");

    ret = vs_media_link_graph(a->graph, a->src, &a->sink, 1, chain,
                           &oom);
    return ret;
}


/*
 * Encodes what the FIFO holds, frame_size samples at a time (the rest at
 * EOF: flush). The timestamps are our own sample count from the first
 * sample out of the graph: contiguous, so strictly increasing whatever
 * the input's timestamps did.
 */
static int
vs_audio_encode(vs_media_audio_t *a, int flush)
{
    AVCodecContext  *enc = a->enc;
    int              ret, n;

    for ( ;; ) {
        n = av_audio_fifo_size(a->fifo);
        if (n == 0 || (n < enc->frame_size && !flush)) {
            break;
        }
        if (n > enc->frame_size) {
            n = enc->frame_size;
        }

        /* the encoder may still hold the last one */
        a->frame->nb_samples = enc->frame_size;
        ret = av_frame_make_writable(a->frame);
        if (ret < 0) {
            return ret;
        }
        if (av_audio_fifo_read(a->fifo, (void **) a->frame->data, n)
            != n)
        {
            return AVERROR_BUG;
        }
        a->frame->nb_samples = n;
        a->frame->pts = a->first + a->samples;
        a->samples += n;

        ret = vs_media_encode(enc, a->frame, a->dest, a->pkt, a->tmp);
        if (ret < 0) {
            return ret;
        }
    }

    return flush ? vs_media_encode(enc, NULL, a->dest, a->pkt,
                                   a->tmp)
                 : 0;
}


/* Moves what the audio graph has ready (all of it at EOF) into the FIFO. */
static int
vs_audio_drain(vs_media_audio_t *a, int eof)
{
    int  ret;

    if (a->graph == NULL) {
        return 0;
    }

    if (eof) {
        ret = av_buffersrc_add_frame_flags(a->src, NULL, 0);
        if (ret < 0) {
            return ret;
        }
    }

    for ( ;; ) {
        ret = av_buffersink_get_frame(a->sink, a->filtered);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) {
            return 0;
        }
        if (ret < 0) {
            return ret;
        }

        if (a->first == AV_NOPTS_VALUE) {
            a->first = a->filtered->pts != AV_NOPTS_VALUE
                          ? av_rescale_q(a->filtered->pts,
                                         av_buffersink_get_time_base(
                                             a->sink),
                                         a->enc->time_base)
                          : 0;
        }

        ret = av_audio_fifo_write(a->fifo, (void **) a->filtered->data,
                                  a->filtered->nb_samples);
        av_frame_unref(a->filtered);
        if (ret < 0) {
            return ret;
        }
    }
}


/*
 * A decoded audio frame. Its timestamp is the input's where that makes
 * sense and our prediction (the previous frame's end) where it does not:
 * missing (laced Matroska blocks), jittering (millisecond Matroska
 * timestamps of 1024-sample frames), or going backwards (a broken or
 * restarted stream; the ffmpeg tool clamps these too). Only a forward gap
 * of over 100 ms is kept, and becomes silence.
 */
int
vs_media_audio_frame(vs_media_audio_t *a, AVFrame *frame, AVRational in_tb)
{
    AVRational tb = av_make_q(1, frame->sample_rate);
    int64_t    pts;
    int        ret;

    if (frame->sample_rate <= 0 || frame->ch_layout.nb_channels <= 0
        || frame->nb_samples <= 0)
    {
        return 0;       /* nothing to play: skip, as a corrupt packet */
    }

    if (a->graph == NULL || frame->sample_rate != a->rate
        || frame->format != a->format
        || frame->ch_layout.nb_channels != a->layout.nb_channels
        || (frame->ch_layout.order != AV_CHANNEL_ORDER_UNSPEC
            && av_channel_layout_compare(&frame->ch_layout,
                                         &a->layout) != 0))
    {
        /* the old graph's last samples first, at the old rate */
        ret = vs_audio_drain(a, 1);
        if (ret < 0) {
            return ret;
        }
        if (a->next != AV_NOPTS_VALUE) {
            a->next = av_rescale_q(a->next,
                                      av_make_q(1, a->rate), tb);
        }
        ret = vs_audio_graph(a, frame);
        if (ret < 0) {
            return ret;
        }
    }

    pts = frame->best_effort_timestamp;
    if (pts != AV_NOPTS_VALUE) {
        pts = av_rescale_q(pts, in_tb, tb);
    }
    if (a->next != AV_NOPTS_VALUE
        && (pts == AV_NOPTS_VALUE || pts < a->next
            || pts - a->next <= frame->sample_rate / 10))
    {
        pts = a->next;
    }
    if (pts == AV_NOPTS_VALUE) {
        pts = 0;
    }
    frame->pts = pts;
    a->next = pts + frame->nb_samples;

    ret = av_buffersrc_add_frame_flags(a->src, frame,
                                       AV_BUFFERSRC_FLAG_KEEP_REF);
    if (ret < 0) {
        return ret;
    }

    ret = vs_audio_drain(a, 0);
    if (ret < 0) {
        return ret;
    }

    return vs_audio_encode(a, 0);
}


int
vs_media_audio_flush(vs_media_audio_t *a)
{
    int  ret;

    ret = vs_audio_drain(a, 1);
    if (ret < 0) {
        return ret;
    }

    return vs_audio_encode(a, 1);
}


void
vs_media_audio_close(vs_media_audio_t *a)
{
    avcodec_free_context(&a->enc);
    avfilter_graph_free(&a->graph);
    av_audio_fifo_free(a->fifo);
    a->fifo = NULL;
    av_frame_free(&a->frame);
    av_frame_free(&a->filtered);
    av_packet_free(&a->pkt);
    av_packet_free(&a->tmp);
    av_channel_layout_uninit(&a->layout);
}
