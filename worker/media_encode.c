/*
 * The encode helper, the libx264 set-up and the filter graph linking
 * (see media_encode.h): the
 * avcodec_send_frame / avcodec_receive_packet / av_interleaved_write_frame
 * loop of FFmpeg's transcoding.c, with the packet fanned out to every
 * muxer that carries the stream.
 */
#include "media_encode.h"

#include <inttypes.h>
#include <stdio.h>

#include <libavutil/opt.h>
#include <libavfilter/avfilter.h>


int
vs_media_sink_add(vs_media_sinks_t *sinks, AVFormatContext *fmt,
    AVStream *st)
{
    vs_media_sink_t  *s;

    if (sinks->n >= VS_MEDIA_SINKS_MAX) {
        return -1;
    }

    s = &sinks->sink[sinks->n++];
    s->fmt = fmt;
    s->st = st;
    s->last_dts = AV_NOPTS_VALUE;
    return 0;
}


int
vs_media_write(vs_media_sinks_t *sinks, const AVPacket *pkt, AVRational tb,
    AVPacket *tmp)
{
    vs_media_sink_t  *s;
    int               i, ret;

    for (i = 0; i < sinks->n; i++) {
        s = &sinks->sink[i];

        ret = av_packet_ref(tmp, pkt);
        if (ret < 0) {
            return ret;
        }
        av_packet_rescale_ts(tmp, tb, s->st->time_base);
        tmp->stream_index = s->st->index;
        tmp->pos = -1;

        /* the muxer refuses the whole file for one packet out of order;
           our timestamps make this unreachable, and it stays so */
        if (sinks->guard && tmp->dts != AV_NOPTS_VALUE
            && s->last_dts != AV_NOPTS_VALUE
            && tmp->dts <= s->last_dts)
        {
            av_log(s->fmt, AV_LOG_WARNING, "dropped a packet of stream %d "
                   "out of order (dts %" PRId64 " after %" PRId64 ")\n",
                   s->st->index, tmp->dts, s->last_dts);
            av_packet_unref(tmp);
            continue;
        }
        if (tmp->dts != AV_NOPTS_VALUE) {
            s->last_dts = tmp->dts;
        }

        /* takes the reference */
        ret = av_interleaved_write_frame(s->fmt, tmp);
        if (ret < 0) {
            return ret;
        }
    }

    return 0;
}


int
vs_media_encode(AVCodecContext *enc, AVFrame *frame, vs_media_sinks_t *sinks,
    AVPacket *pkt, AVPacket *tmp)
{
    int  ret;

    ret = avcodec_send_frame(enc, frame);
    if (ret < 0) {
        return ret;
    }

    for ( ;; ) {
        ret = avcodec_receive_packet(enc, pkt);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) {
            return 0;
        }
        if (ret < 0) {
            return ret;
        }

        ret = vs_media_write(sinks, pkt, enc->time_base, tmp);
        av_packet_unref(pkt);
        if (ret < 0) {
            return ret;
        }
    }
}


int
vs_media_open_x264(const vs_media_x264_t *want, AVCodecContext **out)
{
    const AVCodec   *codec;
    AVCodecContext  *enc;
    AVDictionary    *o = NULL;
    AVRational       fps = want->framerate;
    char             v[32];
    int              ret;

    codec = avcodec_find_encoder_by_name("libx264");
    if (codec == NULL) {
        return AVERROR_ENCODER_NOT_FOUND;
    }

    enc = avcodec_alloc_context3(codec);
    if (enc == NULL) {
        return AVERROR(ENOMEM);
    }
    *out = enc;

    enc->width = want->width;
    enc->height = want->height;
    enc->pix_fmt = AV_PIX_FMT_YUV420P;
    enc->time_base = want->time_base;
    enc->framerate = fps;
    enc->sample_aspect_ratio = want->sample_aspect_ratio;
    enc->thread_count = want->threads;
    if (want->global_header) {
        enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    }

    if (want->keyframe_ms > 0) {
        /* a GOP per segment; the caller forces the exact instants, which
           also holds for variable frame rates */
        enc->gop_size = (int) av_rescale(want->keyframe_ms, fps.num,
                                         fps.den * 1000LL);
        if (enc->gop_size < 1) {
            enc->gop_size = 1;
        }
        av_dict_set(&o, "forced-idr", "1", 0);
    }

    if (want->maxrate > 0) {
        snprintf(v, sizeof(v), "%lld", (long long) want->maxrate);
        av_dict_set(&o, "maxrate", v, 0);
        snprintf(v, sizeof(v), "%lld", (long long) want->maxrate * 2);
        av_dict_set(&o, "bufsize", v, 0);
    }

    snprintf(v, sizeof(v), "%d", want->crf);
    av_dict_set(&o, "crf", v, 0);
    av_dict_set(&o, "preset", want->preset, 0);
    av_dict_set(&o, "profile", "high", 0);

    ret = avcodec_open2(enc, codec, &o);
    av_dict_free(&o);
    return ret;
}


int
vs_media_link_graph(AVFilterGraph *graph, AVFilterContext *src,
    AVFilterContext **sinks, int nsinks, const char *chain, int *oom)
{
    AVFilterInOut  *inputs = NULL, *outputs, *io;
    char            name[16];
    int             ret, i;

    *oom = 0;
    outputs = avfilter_inout_alloc();
    if (outputs == NULL) {
        *oom = 1;
        ret = AVERROR(ENOMEM);
        goto done;
    }
    outputs->name = av_strdup("in");
    outputs->filter_ctx = src;

    for (i = nsinks - 1; i >= 0; i--) {
        io = avfilter_inout_alloc();
        if (io == NULL) {
            *oom = 1;
            ret = AVERROR(ENOMEM);
            goto done;
        }
        snprintf(name, sizeof(name), "out%d", i);
        io->name = av_strdup(name);
        io->filter_ctx = sinks[i];
        io->next = inputs;
        inputs = io;
    }

    ret = avfilter_graph_parse_ptr(graph, chain, &inputs, &outputs, NULL);
    if (ret >= 0) {
        ret = avfilter_graph_config(graph, NULL);
    }

done:

    avfilter_inout_free(&inputs);
    avfilter_inout_free(&outputs);
    return ret;
}
