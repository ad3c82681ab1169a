/*
 * The media pipeline (see transcode.h). Two paths share one reading loop:
 *
 *   remux      the input already is H.264 yuv420p within the caps, with AAC
 *              or no audio: packets are copied (remuxing.c); a copy the
 *              muxer refuses is done again as a transcode;
 *   transcode  decode -> filter graph (rotation, scale, fps cap, yuv420p /
 *              aresample + aformat) -> libx264 / aac -> MP4 (transcoding.c),
 *              audio through an AVAudioFifo (transcode_aac.c).
 *
 * The upload is opened by media_input.c (allow-listed demuxers, no nested
 * opens, limits before decoding). Timestamps reaching the encoders are
 * ours to keep in order: audio is counted in samples, video must increase,
 * a transport stream's clock jump is made up for.
 *
 * Every resource belongs to the vs_tc_t and is released in one place,
 * vs_tc_close(), on every exit path.
 */
#include "transcode.h"
#include "media_input.h"

#include <libavcodec/avcodec.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavformat/avformat.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/display.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
    const vs_tc_opts_t  *opts;
    vs_tc_result_t      *res;

    vs_media_input_t     in;            /* the upload, opened as hostile */
    AVFormatContext     *ifmt;          /* in.fmt */
    AVFormatContext     *ofmt;
    int                  vin;           /* input stream indexes, -1: none */
    int                  ain;
    AVStream            *vout;
    AVStream            *aout;

    AVCodecContext      *vdec;
    AVCodecContext      *venc;
    AVCodecContext      *adec;
    AVCodecContext      *aenc;
    AVFilterGraph       *vgraph;
    AVFilterGraph       *agraph;
    AVFilterContext     *vsrc;
    AVFilterContext     *vsink;
    AVFilterContext     *asrc;
    AVFilterContext     *asink;

    AVPacket            *pkt;
    AVPacket            *opkt;
    AVFrame             *frame;
    AVFrame             *filtered;

    int64_t              start_us;      /* input start time, subtracted */
    int64_t              duration_us;   /* 0 when unknown */
    int                  rotation;      /* 0, 90, 180, 270 clockwise */
    int                  remux;
    int                  may_remux;     /* 0: the copy failed once */
    int                  percent;
    int64_t              video_frames;  /* decoded (or copied) */
    int64_t              last_pts_us;
    int64_t              next_key_ms;   /* keyframe_ms: the next forced one */

    /* audio: the graph is built from decoded frames (vs_tc_audio_frame) */
    AVAudioFifo         *afifo;         /* graph output -> encoder frames */
    AVFrame             *aframe;        /* one encoder frame, reused */
    AVChannelLayout      a_layout;      /* what the graph was built for */
    int                  a_rate;
    int                  a_format;
    int64_t              a_next;        /* next audio pts: 1/a_rate when
                                           decoding, the stream time base
                                           when copying */
    int64_t              a_first;       /* first encoded pts, 1/out rate */
    int64_t              a_samples;     /* samples sent to the encoder */

    int64_t              disc_us;       /* TS clock jumps, made up for */
    int64_t              in_last_us[2]; /* last input dts: video, audio */
    int64_t              v_last;        /* last video pts to the encoder */
    int64_t              v_step;        /* one frame, encoder time base */
    int64_t              last_dts[2];   /* per output stream, muxed */
} vs_tc_t;


static int vs_tc_encode(vs_tc_t *tc, AVCodecContext *enc, AVStream *ost,
    AVFrame *frame);


static vs_tc_status_t
vs_tc_fail(char *error, size_t size, vs_tc_status_t status,
    const char *fmt, ...)
{
    va_list  ap;

    if (error != NULL && size > 0 && error[0] == '\0') {
        va_start(ap, fmt);
        vsnprintf(error, size, fmt, ap);
        va_end(ap);
    }

    return status;
}

#define VS_TC_FAIL(tc, status, ...)                                         \
    vs_tc_fail((tc)->res->error, sizeof((tc)->res->error), status,           \
               __VA_ARGS__)

/*
 * A permanent failure the input causes, with its error_code. Without one,
 * vs_transcode() reports a permanent failure as transcode_failed: our
 * side (a filter graph, an encoder, the muxer).
 */
#define VS_TC_FAIL_INPUT(tc, error_code, ...)                                \
    ((tc)->res->code = (tc)->res->code != VS_ERR_NONE ? (tc)->res->code      \
                                                      : (error_code),        \
     VS_TC_FAIL(tc, VS_TC_PERMANENT, __VA_ARGS__))


static const char *
vs_av_err(int err, char *buf, size_t size)
{
    if (av_strerror(err, buf, size) < 0) {
        snprintf(buf, size, "error %d", err);
    }
    return buf;
}


static int
vs_tc_interrupt(void *opaque)
{
    const vs_tc_opts_t  *opts = opaque;

    return opts->interrupt != NULL && opts->interrupt(opts->opaque);
}


static int
vs_tc_aborted(const vs_tc_opts_t *opts)
{
    return vs_tc_interrupt((void *) opts);
}


/* What err means for the job (media_input.c's rule), given our abort. */
static vs_tc_status_t
vs_tc_status(vs_tc_t *tc, int err)
{
    return vs_media_classify(err, vs_tc_aborted(tc->opts));
}


void
vs_tc_opts_init(vs_tc_opts_t *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->max_height = 1080;
    opts->max_fps = 60;
    opts->crf = 23;
    opts->preset = "veryfast";
    opts->audio_bitrate = 128000;
    opts->allow_remux = 1;
}


/* Clockwise rotation the display matrix asks for: 0, 90, 180 or 270. */
static int
vs_tc_rotation(AVStream *st)
{
    uint8_t  *matrix;
    double    theta;

    matrix = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, NULL);
    if (matrix == NULL) {
        return 0;
    }

    theta = -round(av_display_rotation_get((int32_t *) matrix));
    if (isnan(theta)) {
        return 0;
    }
    theta -= 360 * floor(theta / 360 + 0.9 / 360);

    if (fabs(theta - 90) < 2) {
        return 90;
    }
    if (fabs(theta - 180) < 2) {
        return 180;
    }
    if (fabs(theta - 270) < 2) {
        return 270;
    }
    return 0;
}


/*
 * The output size: the (rotated) input scaled down, aspect kept, to fit
 * max_height on the short side and max_height * 16 / 9 on the long side,
 * both even.
 */
static void
vs_tc_output_size(const vs_tc_opts_t *opts, int w, int h, int *ow, int *oh)
{
    double  s = 1.0, cap_short, cap_long;
    int     short_side = w < h ? w : h, long_side = w < h ? h : w;

    cap_short = opts->max_height;
    cap_long = opts->max_height * 16.0 / 9.0;

    if (short_side > cap_short) {
        s = cap_short / short_side;
    }
    if (long_side * s > cap_long) {
        s = cap_long / long_side;
    }

    *ow = (int) (w * s + 0.5) & ~1;
    *oh = (int) (h * s + 0.5) & ~1;
    if (*ow < 2) {
        *ow = 2;
    }
    if (*oh < 2) {
        *oh = 2;
    }
}


static vs_tc_status_t
vs_tc_open_input(vs_tc_t *tc, const char *input)
{
    AVStream        *st;
    vs_tc_status_t   status;
    int              ret, i;

    /* allow-listed demuxers, no nested opens, limits before decoding */
    status = vs_media_open(&tc->in, input, tc->opts, tc->res);
    tc->ifmt = tc->in.fmt;
    if (status != VS_TC_OK) {
        return status;
    }

    /* cover art is a "video" stream of one picture: not a video */
    tc->vin = -1;
    for (i = 0; i < (int) tc->ifmt->nb_streams; i++) {
        st = tc->ifmt->streams[i];
        if (st->disposition & AV_DISPOSITION_ATTACHED_PIC) {
            st->discard = AVDISCARD_ALL;
        }
    }

    ret = av_find_best_stream(tc->ifmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (ret >= 0
        && !(tc->ifmt->streams[ret]->disposition
             & AV_DISPOSITION_ATTACHED_PIC))
    {
        tc->vin = ret;
    }

    if (tc->vin < 0) {
        return VS_TC_FAIL_INPUT(tc, VS_ERR_INPUT_NO_VIDEO,
                          "input has no video stream (audio-only or not a "
                          "video)");
    }

    ret = av_find_best_stream(tc->ifmt, AVMEDIA_TYPE_AUDIO, -1, tc->vin,
                              NULL, 0);
    tc->ain = ret >= 0 ? ret : -1;

    tc->start_us = tc->ifmt->start_time != AV_NOPTS_VALUE
                   ? tc->ifmt->start_time : 0;
    tc->duration_us = tc->ifmt->duration != AV_NOPTS_VALUE
                      && tc->ifmt->duration > 0 ? tc->ifmt->duration : 0;
    tc->rotation = vs_tc_rotation(tc->ifmt->streams[tc->vin]);

    for (i = 0; i < (int) tc->ifmt->nb_streams; i++) {
        if (i != tc->vin && i != tc->ain) {
            tc->ifmt->streams[i]->discard = AVDISCARD_ALL;
        }
    }

    return VS_TC_OK;
}


static vs_tc_status_t
vs_tc_check_limits(vs_tc_t *tc)
{
    AVCodecParameters  *par = tc->ifmt->streams[tc->vin]->codecpar;
    const vs_tc_opts_t *opts = tc->opts;

    if (par->width <= 0 || par->height <= 0) {
        return VS_TC_FAIL_INPUT(tc, VS_ERR_INPUT_CORRUPT,
                          "video stream has no dimensions (undecodable)");
    }

    if (opts->max_pixels > 0
        && (int64_t) par->width * par->height > opts->max_pixels)
    {
        return VS_TC_FAIL_INPUT(tc, VS_ERR_INPUT_TOO_LARGE,
                          "the video is %d\xc3\x97%d pixels; the limit is "
                          "%lld pixels", par->width, par->height,
                          (long long) opts->max_pixels);
    }

    if (opts->max_duration_ms > 0
        && tc->duration_us / 1000 > opts->max_duration_ms)
    {
        return VS_TC_FAIL_INPUT(tc, VS_ERR_INPUT_TOO_LARGE,
                          "input lasts %lld ms, over the limit of %lld ms",
                          (long long) (tc->duration_us / 1000),
                          (long long) opts->max_duration_ms);
    }

    return VS_TC_OK;
}


/* The fast path: every stream we keep already is what section 4 asks. */
static int
vs_tc_can_remux(vs_tc_t *tc)
{
    AVStream           *st = tc->ifmt->streams[tc->vin];
    AVCodecParameters  *par = st->codecpar;
    AVRational          fps;
    int                 ow, oh;

    if (!tc->opts->allow_remux || !tc->may_remux
        || par->codec_id != AV_CODEC_ID_H264
        || par->format != AV_PIX_FMT_YUV420P || tc->rotation != 0
        || (par->width & 1) || (par->height & 1))
    {
        return 0;
    }

    vs_tc_output_size(tc->opts, par->width, par->height, &ow, &oh);
    if (ow != par->width || oh != par->height) {
        return 0;
    }

    fps = av_guess_frame_rate(tc->ifmt, st, NULL);
    if (fps.num <= 0 || fps.den <= 0
        || av_cmp_q(fps, av_make_q(tc->opts->max_fps, 1)) > 0)
    {
        return 0;
    }

    if (tc->ain >= 0
        && tc->ifmt->streams[tc->ain]->codecpar->codec_id != AV_CODEC_ID_AAC)
    {
        return 0;
    }

    return 1;
}


static vs_tc_status_t
vs_tc_open_decoder(vs_tc_t *tc, int index, AVCodecContext **out)
{
    AVStream        *st = tc->ifmt->streams[index];
    const AVCodec   *codec;
    AVCodecContext  *ctx;
    char             e[128];
    int              ret;

    codec = avcodec_find_decoder(st->codecpar->codec_id);
    if (codec == NULL) {
        return VS_TC_FAIL_INPUT(tc, VS_ERR_INPUT_UNSUPPORTED,
                                "no decoder for %s stream %s",
                          av_get_media_type_string(st->codecpar->codec_type),
                          avcodec_get_name(st->codecpar->codec_id));
    }

    ctx = avcodec_alloc_context3(codec);
    if (ctx == NULL) {
        return VS_TC_FAIL(tc, VS_TC_TRANSIENT, "out of memory");
    }
    *out = ctx;

    ret = avcodec_parameters_to_context(ctx, st->codecpar);
    if (ret < 0) {
        return VS_TC_FAIL_INPUT(tc, VS_ERR_INPUT_CORRUPT,
                                "bad codec parameters: %s",
                          vs_av_err(ret, e, sizeof(e)));
    }

    ctx->pkt_timebase = st->time_base;
    ctx->thread_count = tc->opts->threads;
    if (ctx->codec_type == AVMEDIA_TYPE_VIDEO) {
        ctx->framerate = av_guess_frame_rate(tc->ifmt, st, NULL);
    }

    /* a picture over the limit is refused before its buffers exist, even
       when the container's header claimed a smaller one */
    if (tc->opts->max_pixels > 0) {
        ctx->max_pixels = tc->opts->max_pixels;
    }

    ret = avcodec_open2(ctx, codec, NULL);
    if (ret < 0) {
        return VS_TC_FAIL_INPUT(tc, VS_ERR_INPUT_CORRUPT,
                                "cannot open %s decoder: %s",
                          codec->name, vs_av_err(ret, e, sizeof(e)));
    }

    return VS_TC_OK;
}


/*
 * Links src -> chain -> sink inside graph and configures the graph (the
 * avfilter_graph_parse_ptr sequence of FFmpeg's transcoding.c).  Returns a
 * libav error code; *oom is set when the in/out descriptors could not even
 * be allocated, which callers treat as transient.
 */
static int
vs_tc_link_graph(AVFilterGraph *graph, AVFilterContext *src,
    AVFilterContext *sink, const char *chain, int *oom)
{
    AVFilterInOut  *inputs, *outputs;
    int             ret;

    *oom = 0;
    outputs = avfilter_inout_alloc();
    inputs = avfilter_inout_alloc();

    if (outputs == NULL || inputs == NULL) {
        *oom = 1;
        ret = AVERROR(ENOMEM);
        goto done;
    }

    outputs->name = av_strdup("in");
    outputs->filter_ctx = src;
    inputs->name = av_strdup("out");
    inputs->filter_ctx = sink;

    ret = avfilter_graph_parse_ptr(graph, chain, &inputs, &outputs, NULL);
    if (ret >= 0) {
        ret = avfilter_graph_config(graph, NULL);
    }

done:

    avfilter_inout_free(&inputs);
    avfilter_inout_free(&outputs);
    return ret;
}


/* buffer -> [rotation] -> scale -> [fps] -> format=yuv420p -> buffersink */
static vs_tc_status_t
vs_tc_video_graph(vs_tc_t *tc)
{
    AVStream       *st = tc->ifmt->streams[tc->vin];
    AVRational      fps, sar;
    char            args[512], chain[512], e[128];
    const char     *rotate;
    int             ret, oom, rw, rh, ow, oh;
    vs_tc_status_t  status = VS_TC_PERMANENT;

    tc->vgraph = avfilter_graph_alloc();
    if (tc->vgraph == NULL) {
        return VS_TC_FAIL(tc, VS_TC_TRANSIENT, "out of memory");
    }
    tc->vgraph->nb_threads = tc->opts->threads;

    sar = tc->vdec->sample_aspect_ratio;
    snprintf(args, sizeof(args),
             "video_size=%dx%d:pix_fmt=%d:time_base=%d/%d:"
             "pixel_aspect=%d/%d",
             tc->vdec->width, tc->vdec->height, tc->vdec->pix_fmt,
             st->time_base.num, st->time_base.den,
             sar.num > 0 ? sar.num : 1, sar.den > 0 ? sar.den : 1);

    ret = avfilter_graph_create_filter(&tc->vsrc,
                                       avfilter_get_by_name("buffer"),
                                       "in", args, NULL, tc->vgraph);
    if (ret < 0) {
        VS_TC_FAIL(tc, VS_TC_PERMANENT, "video filter source: %s",
                   vs_av_err(ret, e, sizeof(e)));
        goto done;
    }

    ret = avfilter_graph_create_filter(&tc->vsink,
                                       avfilter_get_by_name("buffersink"),
                                       "out", NULL, NULL, tc->vgraph);
    if (ret < 0) {
        VS_TC_FAIL(tc, VS_TC_TRANSIENT, "video filter sink: %s",
                   vs_av_err(ret, e, sizeof(e)));
        goto done;
    }

    switch (tc->rotation) {
    case 90:  rotate = "transpose=clock,"; break;
    case 180: rotate = "hflip,vflip,"; break;
    case 270: rotate = "transpose=cclock,"; break;
    default:  rotate = ""; break;
    }

    rw = tc->rotation % 180 ? tc->vdec->height : tc->vdec->width;
    rh = tc->rotation % 180 ? tc->vdec->width : tc->vdec->height;
    vs_tc_output_size(tc->opts, rw, rh, &ow, &oh);

    fps = av_guess_frame_rate(tc->ifmt, st, NULL);

    /* the frame rate cap: only a faster input gets an fps filter */
    if (fps.num > 0 && fps.den > 0
        && av_cmp_q(fps, av_make_q(tc->opts->max_fps, 1)) > 0)
    {
        snprintf(chain, sizeof(chain), "%sscale=%d:%d:flags=bicubic,fps=%d,"
                 "format=yuv420p", rotate, ow, oh, tc->opts->max_fps);
    } else {
        snprintf(chain, sizeof(chain), "%sscale=%d:%d:flags=bicubic,"
                 "format=yuv420p", rotate, ow, oh);
    }

    ret = vs_tc_link_graph(tc->vgraph, tc->vsrc, tc->vsink, chain, &oom);
    if (oom) {
        VS_TC_FAIL(tc, VS_TC_TRANSIENT, "out of memory");
        goto done;
    }
    if (ret < 0) {
        VS_TC_FAIL(tc, VS_TC_PERMANENT, "video filter graph \"%s\": %s",
                   chain, vs_av_err(ret, e, sizeof(e)));
        goto done;
    }

    status = VS_TC_OK;

done:

    return status;
}


static vs_tc_status_t
vs_tc_open_video_encoder(vs_tc_t *tc)
{
    const AVCodec   *codec;
    AVCodecContext  *enc;
    AVDictionary    *o = NULL;
    AVRational       fps, cap;
    char             e[128], crf[16];
    int              ret;

    codec = avcodec_find_encoder_by_name("libx264");
    if (codec == NULL) {
        return VS_TC_FAIL(tc, VS_TC_PERMANENT, "libx264 is not available");
    }

    enc = avcodec_alloc_context3(codec);
    if (enc == NULL) {
        return VS_TC_FAIL(tc, VS_TC_TRANSIENT, "out of memory");
    }
    tc->venc = enc;

    enc->width = av_buffersink_get_w(tc->vsink);
    enc->height = av_buffersink_get_h(tc->vsink);
    enc->pix_fmt = av_buffersink_get_format(tc->vsink);
    enc->sample_aspect_ratio = av_buffersink_get_sample_aspect_ratio(tc->vsink);
    enc->time_base = av_buffersink_get_time_base(tc->vsink);
    enc->thread_count = tc->opts->threads;

    fps = av_buffersink_get_frame_rate(tc->vsink);
    cap = av_make_q(tc->opts->max_fps, 1);
    if (fps.num <= 0 || fps.den <= 0 || av_cmp_q(fps, cap) > 0) {
        fps = fps.num > 0 && fps.den > 0 ? cap : av_make_q(25, 1);
    }
    enc->framerate = fps;
    tc->v_step = av_rescale_q(1, av_inv_q(fps), enc->time_base);
    if (tc->v_step < 1) {
        tc->v_step = 1;
    }

    if (tc->ofmt->oformat->flags & AVFMT_GLOBALHEADER) {
        enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    }

    if (tc->opts->keyframe_ms > 0) {
        /* HLS: a GOP per segment; vs_tc_drain_graph() forces the exact
           instants, which also holds for variable frame rates */
        enc->gop_size = (int) av_rescale(tc->opts->keyframe_ms, fps.num,
                                         fps.den * 1000LL);
        if (enc->gop_size < 1) {
            enc->gop_size = 1;
        }
        av_dict_set(&o, "forced-idr", "1", 0);
    }

    snprintf(crf, sizeof(crf), "%d", tc->opts->crf);
    av_dict_set(&o, "preset", tc->opts->preset, 0);
    av_dict_set(&o, "crf", crf, 0);
    av_dict_set(&o, "profile", "high", 0);

    ret = avcodec_open2(enc, codec, &o);
    av_dict_free(&o);
    if (ret < 0) {
        return VS_TC_FAIL(tc, VS_TC_PERMANENT, "cannot open libx264: %s",
                          vs_av_err(ret, e, sizeof(e)));
    }

    ret = avcodec_parameters_from_context(tc->vout->codecpar, enc);
    if (ret < 0) {
        return VS_TC_FAIL(tc, VS_TC_TRANSIENT, "video stream parameters: %s",
                          vs_av_err(ret, e, sizeof(e)));
    }

    tc->vout->time_base = enc->time_base;
    tc->vout->avg_frame_rate = enc->framerate;
    tc->vout->sample_aspect_ratio = enc->sample_aspect_ratio;

    return VS_TC_OK;
}


static int
vs_tc_aac_rate(int rate)
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


/*
 * The AAC encoder: the input's rate when AAC has it (else 48 kHz), mono
 * kept mono, everything else downmixed to stereo (what every player
 * plays). Its frames come from the audio FIFO, 1024 samples each, and its
 * timestamps from our own sample count (see vs_tc_audio_frame()).
 */
static vs_tc_status_t
vs_tc_open_audio(vs_tc_t *tc)
{
    const AVCodec       *codec;
    AVCodecContext      *enc;
    char                 e[128];
    int                  ret, rate;

    codec = avcodec_find_encoder(AV_CODEC_ID_AAC);
    if (codec == NULL) {
        return VS_TC_FAIL(tc, VS_TC_PERMANENT, "no AAC encoder");
    }

    enc = avcodec_alloc_context3(codec);
    if (enc == NULL) {
        return VS_TC_FAIL(tc, VS_TC_TRANSIENT, "out of memory");
    }
    tc->aenc = enc;

    if (tc->adec->sample_rate <= 0 || tc->adec->ch_layout.nb_channels <= 0) {
        return VS_TC_FAIL_INPUT(tc, VS_ERR_INPUT_CORRUPT,
                          "audio stream without sample rate or channels");
    }

    rate = vs_tc_aac_rate(tc->adec->sample_rate);
    enc->sample_rate = rate;
    enc->sample_fmt = AV_SAMPLE_FMT_FLTP;
    enc->bit_rate = tc->opts->audio_bitrate;
    enc->time_base = av_make_q(1, rate);
    av_channel_layout_default(&enc->ch_layout,
                              tc->adec->ch_layout.nb_channels == 1 ? 1 : 2);
    if (tc->ofmt->oformat->flags & AVFMT_GLOBALHEADER) {
        enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    }

    ret = avcodec_open2(enc, codec, NULL);
    if (ret < 0) {
        return VS_TC_FAIL(tc, VS_TC_PERMANENT, "cannot open AAC encoder: %s",
                          vs_av_err(ret, e, sizeof(e)));
    }

    ret = avcodec_parameters_from_context(tc->aout->codecpar, enc);
    if (ret < 0) {
        return VS_TC_FAIL(tc, VS_TC_TRANSIENT, "audio stream parameters: %s",
                          vs_av_err(ret, e, sizeof(e)));
    }
    tc->aout->time_base = enc->time_base;

    /* one encoder frame, reused; a FIFO that cuts the graph's output into
       frames of frame_size whatever the graph does (rebuilt or not) */
    tc->afifo = av_audio_fifo_alloc(enc->sample_fmt,
                                    enc->ch_layout.nb_channels,
                                    enc->frame_size * 4);
    tc->aframe = av_frame_alloc();
    if (tc->afifo == NULL || tc->aframe == NULL) {
        return VS_TC_FAIL(tc, VS_TC_TRANSIENT, "out of memory");
    }
    tc->aframe->format = enc->sample_fmt;
    tc->aframe->sample_rate = enc->sample_rate;
    tc->aframe->nb_samples = enc->frame_size;
    if (av_channel_layout_copy(&tc->aframe->ch_layout, &enc->ch_layout) < 0
        || av_frame_get_buffer(tc->aframe, 0) < 0)
    {
        return VS_TC_FAIL(tc, VS_TC_TRANSIENT, "out of memory");
    }

    tc->a_next = AV_NOPTS_VALUE;
    tc->a_first = AV_NOPTS_VALUE;

    return VS_TC_OK;
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
vs_tc_audio_graph(vs_tc_t *tc, const AVFrame *frame)
{
    AVBufferSrcParameters  *par;
    AVCodecContext         *enc = tc->aenc;
    char                    chain[256];
    int                     ret, oom;

    avfilter_graph_free(&tc->agraph);
    av_channel_layout_uninit(&tc->a_layout);

    /* unlabelled channels (PCM in Matroska): the usual layout for their
       count, so that the downmix knows which channel is which */
    if (frame->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC) {
        av_channel_layout_default(&tc->a_layout, frame->ch_layout.nb_channels);
    } else {
        ret = av_channel_layout_copy(&tc->a_layout, &frame->ch_layout);
        if (ret < 0) {
            return ret;
        }
    }
    if (tc->a_layout.order == AV_CHANNEL_ORDER_UNSPEC) {
        return AVERROR_PATCHWELCOME;
    }
    tc->a_rate = frame->sample_rate;
    tc->a_format = frame->format;

    tc->agraph = avfilter_graph_alloc();
    if (tc->agraph == NULL) {
        return AVERROR(ENOMEM);
    }

    tc->asrc = avfilter_graph_alloc_filter(tc->agraph,
                                           avfilter_get_by_name("abuffer"),
                                           "in");
    par = av_buffersrc_parameters_alloc();
    if (tc->asrc == NULL || par == NULL) {
        av_free(par);
        return AVERROR(ENOMEM);
    }
    par->format = frame->format;
    par->sample_rate = frame->sample_rate;
    par->time_base = av_make_q(1, frame->sample_rate);
    par->ch_layout = tc->a_layout;      /* copied by the call */
    ret = av_buffersrc_parameters_set(tc->asrc, par);
    av_free(par);
    if (ret >= 0) {
        ret = avfilter_init_str(tc->asrc, NULL);
    }
    if (ret < 0) {
        return ret;
    }

    ret = avfilter_graph_create_filter(&tc->asink,
                                       avfilter_get_by_name("abuffersink"),
                                       "out", NULL, NULL, tc->agraph);
    if (ret < 0) {
        return ret;
    }

    /* async: a gap in the input's timestamps becomes silence, so that the
       audio stays in sync with the video after it */
    snprintf(chain, sizeof(chain),
             "aresample=%d:async=1,aformat=sample_fmts=%s:sample_rates=%d:"
             "channel_layouts=%s", enc->sample_rate,
             av_get_sample_fmt_name(enc->sample_fmt), enc->sample_rate,
             enc->ch_layout.nb_channels == 1 ? "mono" : "stereo");

    ret = vs_tc_link_graph(tc->agraph, tc->asrc, tc->asink, chain, &oom);
    return ret;
}


/*
 * Encodes what the FIFO holds, frame_size samples at a time (the rest at
 * EOF: flush). The timestamps are our own sample count from the first
 * sample out of the graph: contiguous, so strictly increasing whatever
 * the input's timestamps did.
 */
static int
vs_tc_audio_encode(vs_tc_t *tc, int flush)
{
    AVCodecContext  *enc = tc->aenc;
    int              ret, n;

    for ( ;; ) {
        n = av_audio_fifo_size(tc->afifo);
        if (n == 0 || (n < enc->frame_size && !flush)) {
            break;
        }
        if (n > enc->frame_size) {
            n = enc->frame_size;
        }

        /* the encoder may still hold the last one */
        tc->aframe->nb_samples = enc->frame_size;
        ret = av_frame_make_writable(tc->aframe);
        if (ret < 0) {
            return ret;
        }
        if (av_audio_fifo_read(tc->afifo, (void **) tc->aframe->data, n)
            != n)
        {
            return AVERROR_BUG;
        }
        tc->aframe->nb_samples = n;
        tc->aframe->pts = tc->a_first + tc->a_samples;
        tc->a_samples += n;

        ret = vs_tc_encode(tc, enc, tc->aout, tc->aframe);
        if (ret < 0) {
            return ret;
        }
    }

    return flush ? vs_tc_encode(tc, enc, tc->aout, NULL) : 0;
}


/* Moves what the audio graph has ready (all of it at EOF) into the FIFO. */
static int
vs_tc_audio_drain(vs_tc_t *tc, int eof)
{
    int  ret;

    if (tc->agraph == NULL) {
        return 0;
    }

    if (eof) {
        ret = av_buffersrc_add_frame_flags(tc->asrc, NULL, 0);
        if (ret < 0) {
            return ret;
        }
    }

    for ( ;; ) {
        ret = av_buffersink_get_frame(tc->asink, tc->filtered);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) {
            return 0;
        }
        if (ret < 0) {
            return ret;
        }

        if (tc->a_first == AV_NOPTS_VALUE) {
            tc->a_first = tc->filtered->pts != AV_NOPTS_VALUE
                          ? av_rescale_q(tc->filtered->pts,
                                         av_buffersink_get_time_base(
                                             tc->asink),
                                         tc->aenc->time_base)
                          : 0;
        }

        ret = av_audio_fifo_write(tc->afifo, (void **) tc->filtered->data,
                                  tc->filtered->nb_samples);
        av_frame_unref(tc->filtered);
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
static int
vs_tc_audio_frame(vs_tc_t *tc, AVFrame *frame)
{
    AVStream  *ist = tc->ifmt->streams[tc->ain];
    AVRational tb = av_make_q(1, frame->sample_rate);
    int64_t    pts;
    int        ret;

    if (frame->sample_rate <= 0 || frame->ch_layout.nb_channels <= 0
        || frame->nb_samples <= 0)
    {
        return 0;       /* nothing to play: skip, as a corrupt packet */
    }

    if (tc->agraph == NULL || frame->sample_rate != tc->a_rate
        || frame->format != tc->a_format
        || frame->ch_layout.nb_channels != tc->a_layout.nb_channels
        || (frame->ch_layout.order != AV_CHANNEL_ORDER_UNSPEC
            && av_channel_layout_compare(&frame->ch_layout,
                                         &tc->a_layout) != 0))
    {
        /* the old graph's last samples first, at the old rate */
        ret = vs_tc_audio_drain(tc, 1);
        if (ret < 0) {
            return ret;
        }
        if (tc->a_next != AV_NOPTS_VALUE) {
            tc->a_next = av_rescale_q(tc->a_next,
                                      av_make_q(1, tc->a_rate), tb);
        }
        ret = vs_tc_audio_graph(tc, frame);
        if (ret < 0) {
            return ret;
        }
    }

    pts = frame->best_effort_timestamp;
    if (pts != AV_NOPTS_VALUE) {
        pts = av_rescale_q(pts, ist->time_base, tb);
    }
    if (tc->a_next != AV_NOPTS_VALUE
        && (pts == AV_NOPTS_VALUE || pts < tc->a_next
            || pts - tc->a_next <= frame->sample_rate / 10))
    {
        pts = tc->a_next;
    }
    if (pts == AV_NOPTS_VALUE) {
        pts = 0;
    }
    frame->pts = pts;
    tc->a_next = pts + frame->nb_samples;

    ret = av_buffersrc_add_frame_flags(tc->asrc, frame,
                                       AV_BUFFERSRC_FLAG_KEEP_REF);
    if (ret < 0) {
        return ret;
    }

    ret = vs_tc_audio_drain(tc, 0);
    if (ret < 0) {
        return ret;
    }

    return vs_tc_audio_encode(tc, 0);
}


/* The decoder is flushed: the graph, the FIFO, then the encoder. */
static int
vs_tc_audio_flush(vs_tc_t *tc)
{
    int  ret;

    ret = vs_tc_audio_drain(tc, 1);
    if (ret < 0) {
        return ret;
    }

    return vs_tc_audio_encode(tc, 1);
}


static vs_tc_status_t
vs_tc_open_output(vs_tc_t *tc, const char *path)
{
    AVStream   *ist;
    AVDictionary *o = NULL;
    char        e[128];
    int         ret;
    vs_tc_status_t status;

    ret = avformat_alloc_output_context2(&tc->ofmt, NULL, "mp4", path);
    if (ret < 0 || tc->ofmt == NULL) {
        return VS_TC_FAIL(tc, VS_TC_TRANSIENT, "cannot create output: %s",
                          vs_av_err(ret, e, sizeof(e)));
    }

    tc->vout = avformat_new_stream(tc->ofmt, NULL);
    if (tc->vout == NULL) {
        return VS_TC_FAIL(tc, VS_TC_TRANSIENT, "out of memory");
    }

    if (tc->ain >= 0) {
        tc->aout = avformat_new_stream(tc->ofmt, NULL);
        if (tc->aout == NULL) {
            return VS_TC_FAIL(tc, VS_TC_TRANSIENT, "out of memory");
        }
    }

    if (tc->remux) {
        ist = tc->ifmt->streams[tc->vin];
        ret = avcodec_parameters_copy(tc->vout->codecpar, ist->codecpar);
        tc->vout->codecpar->codec_tag = 0;
        tc->vout->time_base = ist->time_base;
        tc->vout->avg_frame_rate = ist->avg_frame_rate;
        if (ret >= 0 && tc->aout != NULL) {
            ist = tc->ifmt->streams[tc->ain];
            ret = avcodec_parameters_copy(tc->aout->codecpar, ist->codecpar);
            tc->aout->codecpar->codec_tag = 0;
            tc->aout->time_base = ist->time_base;
        }
        if (ret < 0) {
            return VS_TC_FAIL(tc, VS_TC_TRANSIENT, "stream parameters: %s",
                              vs_av_err(ret, e, sizeof(e)));
        }

    } else {
        status = vs_tc_open_decoder(tc, tc->vin, &tc->vdec);
        if (status == VS_TC_OK) {
            status = vs_tc_video_graph(tc);
        }
        if (status == VS_TC_OK) {
            status = vs_tc_open_video_encoder(tc);
        }
        if (status == VS_TC_OK && tc->ain >= 0) {
            status = vs_tc_open_decoder(tc, tc->ain, &tc->adec);
            if (status == VS_TC_OK) {
                status = vs_tc_open_audio(tc);
            }
        }
        if (status != VS_TC_OK) {
            return status;
        }
    }

    tc->ofmt->interrupt_callback.callback = vs_tc_interrupt;
    tc->ofmt->interrupt_callback.opaque = (void *) tc->opts;

    ret = avio_open2(&tc->ofmt->pb, path, AVIO_FLAG_WRITE,
                     &tc->ofmt->interrupt_callback, NULL);
    if (ret < 0) {
        return VS_TC_FAIL(tc, vs_media_classify(ret, 0), "cannot write %s: %s",
                          path, vs_av_err(ret, e, sizeof(e)));
    }

    /* moov first: the muxer rewrites the file once at the end */
    av_dict_set(&o, "movflags", "+faststart", 0);
    ret = avformat_write_header(tc->ofmt, &o);
    av_dict_free(&o);
    if (ret < 0) {
        return VS_TC_FAIL(tc, vs_tc_status(tc, ret),
                          "cannot write the MP4 header: %s",
                          vs_av_err(ret, e, sizeof(e)));
    }

    return VS_TC_OK;
}


/* Drains an encoder into the muxer; frame NULL flushes it. */
static int
vs_tc_encode(vs_tc_t *tc, AVCodecContext *enc, AVStream *ost, AVFrame *frame)
{
    int  ret;

    ret = avcodec_send_frame(enc, frame);
    if (ret < 0) {
        return ret;
    }

    for ( ;; ) {
        ret = avcodec_receive_packet(enc, tc->opkt);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) {
            return 0;
        }
        if (ret < 0) {
            return ret;
        }

        tc->opkt->stream_index = ost->index;
        av_packet_rescale_ts(tc->opkt, enc->time_base, ost->time_base);

        /* the muxer refuses the whole file for one packet out of order;
           our timestamps make this unreachable, and it stays so */
        if (tc->opkt->dts != AV_NOPTS_VALUE
            && tc->last_dts[ost->index] != AV_NOPTS_VALUE
            && tc->opkt->dts <= tc->last_dts[ost->index])
        {
            av_log(tc->ofmt, AV_LOG_WARNING, "dropped a packet of stream %d "
                   "out of order (dts %" PRId64 " after %" PRId64 ")\n",
                   ost->index, tc->opkt->dts, tc->last_dts[ost->index]);
            av_packet_unref(tc->opkt);
            continue;
        }
        if (tc->opkt->dts != AV_NOPTS_VALUE) {
            tc->last_dts[ost->index] = tc->opkt->dts;
        }

        ret = av_interleaved_write_frame(tc->ofmt, tc->opkt);
        if (ret < 0) {
            return ret;
        }
    }
}


/*
 * Whether the frame at pts (in tb) starts a segment of every_ms: the first
 * frame at or after each multiple, compared exactly (the HLS muxer cuts
 * at the first keyframe whose time reaches the boundary).
 */
static int
vs_tc_force_key(int64_t pts, AVRational tb, int every_ms, int64_t *next_ms)
{
    if (pts == AV_NOPTS_VALUE
        || av_compare_ts(pts, tb, *next_ms, av_make_q(1, 1000)) < 0)
    {
        return 0;
    }

    /* the next boundary after this frame */
    *next_ms = (av_rescale_q_rnd(pts, tb, av_make_q(1, 1000),
                                 AV_ROUND_DOWN) / every_ms + 1)
               * (int64_t) every_ms;
    return 1;
}


/* Pulls what the graph has ready and encodes it; flush at EOF. */
static int
vs_tc_drain_graph(vs_tc_t *tc, AVFilterContext *sink, AVCodecContext *enc,
    AVStream *ost, int flush)
{
    AVRational  tb = av_buffersink_get_time_base(sink);
    int         ret;

    for ( ;; ) {
        ret = av_buffersink_get_frame(sink, tc->filtered);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) {
            break;
        }
        if (ret < 0) {
            return ret;
        }

        if (tc->filtered->pts != AV_NOPTS_VALUE) {
            tc->filtered->pts = av_rescale_q(tc->filtered->pts, tb,
                                             enc->time_base);
        }
        tc->filtered->pict_type = AV_PICTURE_TYPE_NONE;

        /* libx264 needs strictly increasing timestamps: a picture without
           one (a raw H.264 stream has none) comes one frame after the
           last, a repeated or earlier one is dropped (as the ffmpeg
           tool's frame rate logic does) */
        if (tc->filtered->pts == AV_NOPTS_VALUE) {
            tc->filtered->pts = tc->v_last != AV_NOPTS_VALUE
                                ? tc->v_last + tc->v_step : 0;
        }
        if (tc->v_last != AV_NOPTS_VALUE && tc->filtered->pts <= tc->v_last) {
            av_frame_unref(tc->filtered);
            continue;
        }
        tc->v_last = tc->filtered->pts;

        if (enc == tc->venc && tc->opts->keyframe_ms > 0
            && vs_tc_force_key(tc->filtered->pts, enc->time_base,
                               tc->opts->keyframe_ms, &tc->next_key_ms))
        {
            tc->filtered->pict_type = AV_PICTURE_TYPE_I;
        }

        ret = vs_tc_encode(tc, enc, ost, tc->filtered);
        av_frame_unref(tc->filtered);
        if (ret < 0) {
            return ret;
        }
    }

    return flush ? vs_tc_encode(tc, enc, ost, NULL) : 0;
}


/*
 * Decodes one packet (NULL: flush) and sends the frames on: video through
 * its graph, audio to vs_tc_audio_frame(). A corrupt packet is skipped, as
 * the ffmpeg tool does; only I/O, filter and encoder errors stop the job.
 */
static int
vs_tc_decode(vs_tc_t *tc, AVCodecContext *dec, AVPacket *pkt)
{
    int  ret;

    ret = avcodec_send_packet(dec, pkt);
    if (ret < 0 && ret != AVERROR_EOF) {
        return ret == AVERROR(ENOMEM) ? ret : 0;
    }

    for ( ;; ) {
        ret = avcodec_receive_frame(dec, tc->frame);
        if (ret == AVERROR(EAGAIN)) {
            return 0;
        }
        if (ret == AVERROR_EOF) {
            break;
        }
        if (ret < 0) {
            if (ret == AVERROR(ENOMEM)) {
                return ret;
            }
            continue;   /* a broken frame: next one */
        }

        if (dec == tc->adec) {
            ret = vs_tc_audio_frame(tc, tc->frame);
            av_frame_unref(tc->frame);
            if (ret < 0) {
                return ret;
            }
            continue;
        }

        tc->frame->pts = tc->frame->best_effort_timestamp;
        tc->video_frames++;

        /* a mid-stream format change the graph was not built for */
        if (tc->frame->width != dec->width
            || tc->frame->height != dec->height)
        {
            av_frame_unref(tc->frame);
            continue;
        }

        ret = av_buffersrc_add_frame_flags(tc->vsrc, tc->frame,
                                           AV_BUFFERSRC_FLAG_KEEP_REF);
        av_frame_unref(tc->frame);
        if (ret < 0) {
            return ret;
        }

        ret = vs_tc_drain_graph(tc, tc->vsink, tc->venc, tc->vout, 0);
        if (ret < 0) {
            return ret;
        }
    }

    /* decoder flushed: flush the graph and the encoder */
    if (dec == tc->adec) {
        return vs_tc_audio_flush(tc);
    }

    ret = av_buffersrc_add_frame_flags(tc->vsrc, NULL, 0);
    if (ret < 0) {
        return ret;
    }
    return vs_tc_drain_graph(tc, tc->vsink, tc->venc, tc->vout, 1);
}


/*
 * A transport stream cut together from pieces, or whose clock restarted,
 * jumps back (or far ahead) mid-file: libavformat flags such formats
 * AVFMT_TS_DISCONT and leaves the jump to us. From a jump on, every
 * stream's timestamps are shifted so that the stream that jumped carries
 * on one frame after where it was; what follows then plays in order
 * instead of being dropped as late. Thresholds as the ffmpeg tool's
 * dts_delta_threshold (10 s) forward, any real step (100 ms) back.
 */
static void
vs_tc_discontinuity(vs_tc_t *tc, AVPacket *pkt, AVStream *ist)
{
    int64_t   dts, delta, step, shift, *last;

    if (!(tc->ifmt->iformat->flags & AVFMT_TS_DISCONT)
        || pkt->dts == AV_NOPTS_VALUE)
    {
        return;
    }

    last = &tc->in_last_us[pkt->stream_index == tc->vin ? 0 : 1];
    dts = av_rescale_q(pkt->dts, ist->time_base, AV_TIME_BASE_Q)
          + tc->disc_us;

    if (*last != AV_NOPTS_VALUE) {
        delta = dts - *last;
        if (delta < -100000 || delta > 10000000) {
            step = pkt->duration > 0
                   ? av_rescale_q(pkt->duration, ist->time_base,
                                  AV_TIME_BASE_Q)
                   : 40000;
            tc->disc_us += step - delta;
            dts += step - delta;
        }
    }
    *last = dts;

    if (tc->disc_us != 0) {
        shift = av_rescale_q(tc->disc_us, AV_TIME_BASE_Q, ist->time_base);
        pkt->dts += shift;
        if (pkt->pts != AV_NOPTS_VALUE) {
            pkt->pts += shift;
        }
    }
}


static void
vs_tc_progress(vs_tc_t *tc, AVPacket *pkt, AVStream *ist)
{
    int64_t  us;
    int      percent;

    if (pkt->pts == AV_NOPTS_VALUE) {
        return;
    }

    us = av_rescale_q(pkt->pts, ist->time_base, AV_TIME_BASE_Q);
    if (us > tc->last_pts_us) {
        tc->last_pts_us = us;
    }

    if (tc->duration_us <= 0 || tc->opts->progress == NULL) {
        return;
    }

    percent = (int) (us * 100 / tc->duration_us);
    percent = percent < 0 ? 0 : percent > 99 ? 99 : percent;

    if (percent > tc->percent) {
        tc->percent = percent;
        tc->opts->progress(tc->opts->opaque, percent);
    }
}


/*
 * The copied AAC's timestamps: the packet's own, unless missing or before
 * the previous packet's end (laced Matroska, a timestamp from the past),
 * then that end. Jitter is left alone: a millisecond time base cannot
 * hold 1024 / 48000 s, so a predicted end would drift.
 */
static void
vs_tc_remux_audio_ts(vs_tc_t *tc, AVPacket *pkt, AVStream *ist)
{
    AVCodecParameters  *par = ist->codecpar;
    int64_t             duration;

    duration = pkt->duration;
    if (duration <= 0 && par->frame_size > 0 && par->sample_rate > 0) {
        duration = av_rescale_q(par->frame_size,
                                av_make_q(1, par->sample_rate),
                                ist->time_base);
    }
    if (tc->a_next != AV_NOPTS_VALUE
        && (pkt->dts == AV_NOPTS_VALUE || pkt->dts < tc->a_next))
    {
        pkt->dts = tc->a_next;
        pkt->pts = tc->a_next;
    }

    if (pkt->dts != AV_NOPTS_VALUE) {
        tc->a_next = pkt->dts + (duration > 0 ? duration : 1);
    }
}


static vs_tc_status_t
vs_tc_run(vs_tc_t *tc)
{
    AVStream        *ist, *ost;
    int64_t          offset, max_us;
    char             e[128];
    int              ret;

    max_us = tc->opts->max_duration_ms > 0
             ? tc->opts->max_duration_ms * 1000 : INT64_MAX;

    for ( ;; ) {
        if (vs_tc_aborted(tc->opts)) {
            return VS_TC_FAIL(tc, VS_TC_ABORTED, "aborted");
        }

        ret = av_read_frame(tc->ifmt, tc->pkt);
        if (ret == AVERROR_EOF) {
            break;
        }
        if (ret < 0) {
            /* a truncated file ends like this too: keep what we have */
            if (tc->ifmt->pb != NULL && tc->ifmt->pb->eof_reached
                && vs_media_classify(ret, 0) == VS_TC_PERMANENT)
            {
                break;
            }
            if (vs_tc_status(tc, ret)
                == VS_TC_PERMANENT)
            {
                return VS_TC_FAIL_INPUT(tc, VS_ERR_INPUT_CORRUPT,
                                        "cannot read input: %s",
                                        vs_av_err(ret, e, sizeof(e)));
            }
            return VS_TC_FAIL(tc, vs_tc_status(tc, ret),
                              "cannot read input: %s",
                              vs_av_err(ret, e, sizeof(e)));
        }

        if (tc->pkt->stream_index != tc->vin
            && tc->pkt->stream_index != tc->ain)
        {
            av_packet_unref(tc->pkt);
            continue;
        }

        ist = tc->ifmt->streams[tc->pkt->stream_index];

        /* the output starts at 0 whatever the input's first timestamp */
        offset = av_rescale_q(tc->start_us, AV_TIME_BASE_Q, ist->time_base);
        if (tc->pkt->pts != AV_NOPTS_VALUE) {
            tc->pkt->pts -= offset;
        }
        if (tc->pkt->dts != AV_NOPTS_VALUE) {
            tc->pkt->dts -= offset;
        }

        vs_tc_discontinuity(tc, tc->pkt, ist);
        vs_tc_progress(tc, tc->pkt, ist);

        if (tc->last_pts_us > max_us) {
            av_packet_unref(tc->pkt);
            return VS_TC_FAIL_INPUT(tc, VS_ERR_INPUT_TOO_LARGE,
                              "input lasts over the limit of %lld ms",
                              (long long) tc->opts->max_duration_ms);
        }

        if (tc->remux) {
            ost = tc->pkt->stream_index == tc->vin ? tc->vout : tc->aout;
            if (ost == tc->vout) {
                tc->video_frames++;
            } else {
                vs_tc_remux_audio_ts(tc, tc->pkt, ist);
            }
            av_packet_rescale_ts(tc->pkt, ist->time_base, ost->time_base);
            tc->pkt->stream_index = ost->index;
            tc->pkt->pos = -1;
            ret = av_interleaved_write_frame(tc->ofmt, tc->pkt);

        } else {
            ret = vs_tc_decode(tc, tc->pkt->stream_index == tc->vin
                                   ? tc->vdec : tc->adec, tc->pkt);
        }

        av_packet_unref(tc->pkt);

        if (ret < 0) {
            return VS_TC_FAIL(tc, vs_tc_status(tc, ret),
                              "transcoding failed: %s",
                              vs_av_err(ret, e, sizeof(e)));
        }
    }

    if (!tc->remux) {
        ret = vs_tc_decode(tc, tc->vdec, NULL);
        if (ret >= 0 && tc->adec != NULL) {
            ret = vs_tc_decode(tc, tc->adec, NULL);
        }
        if (ret < 0) {
            return VS_TC_FAIL(tc, vs_tc_status(tc, ret),
                              "flushing the encoders failed: %s",
                              vs_av_err(ret, e, sizeof(e)));
        }
    }

    if (tc->video_frames == 0) {
        return VS_TC_FAIL_INPUT(tc, VS_ERR_INPUT_CORRUPT,
                          "no decodable video frame in the input");
    }

    ret = av_write_trailer(tc->ofmt);
    if (ret < 0) {
        return VS_TC_FAIL(tc, vs_tc_status(tc, ret),
                          "cannot finish the MP4: %s",
                          vs_av_err(ret, e, sizeof(e)));
    }

    return VS_TC_OK;
}


static void
vs_tc_close(vs_tc_t *tc)
{
    if (tc->ofmt != NULL) {
        if (!(tc->ofmt->oformat->flags & AVFMT_NOFILE)) {
            avio_closep(&tc->ofmt->pb);
        }
        avformat_free_context(tc->ofmt);
    }
    vs_media_close(&tc->in);
    tc->ifmt = NULL;
    avcodec_free_context(&tc->vdec);
    avcodec_free_context(&tc->venc);
    avcodec_free_context(&tc->adec);
    avcodec_free_context(&tc->aenc);
    avfilter_graph_free(&tc->vgraph);
    avfilter_graph_free(&tc->agraph);
    av_audio_fifo_free(tc->afifo);
    tc->afifo = NULL;
    av_frame_free(&tc->aframe);
    av_channel_layout_uninit(&tc->a_layout);
    av_packet_free(&tc->pkt);
    av_packet_free(&tc->opkt);
    av_frame_free(&tc->frame);
    av_frame_free(&tc->filtered);
}


/* Duration and size of what we wrote, read back from the file itself. */
static vs_tc_status_t
vs_tc_probe_output(vs_tc_t *tc, const char *path)
{
    AVFormatContext  *fmt = NULL;
    AVStream         *st;
    char              e[128];
    int               ret, i;

    ret = avformat_open_input(&fmt, path, NULL, NULL);
    if (ret >= 0) {
        ret = avformat_find_stream_info(fmt, NULL);
    }
    if (ret < 0) {
        avformat_close_input(&fmt);
        return VS_TC_FAIL(tc, VS_TC_TRANSIENT, "cannot read back %s: %s",
                          path, vs_av_err(ret, e, sizeof(e)));
    }

    tc->res->duration_ms = fmt->duration > 0 ? fmt->duration / 1000 : 0;
    for (i = 0; i < (int) fmt->nb_streams; i++) {
        st = fmt->streams[i];
        if (st->codecpar->codec_type == AVMEDIA_TYPE_VIDEO) {
            tc->res->width = st->codecpar->width;
            tc->res->height = st->codecpar->height;
        } else if (st->codecpar->codec_type == AVMEDIA_TYPE_AUDIO) {
            tc->res->has_audio = 1;
        }
    }

    avformat_close_input(&fmt);
    return VS_TC_OK;
}


/* One go at input: copied when may_remux and it conforms, else encoded. */
static vs_tc_status_t
vs_tc_transcode(const char *input, const char *out_path,
    const vs_tc_opts_t *opts, vs_tc_result_t *res, int may_remux)
{
    vs_tc_t         tc;
    vs_tc_status_t  status;

    memset(res, 0, sizeof(*res));
    memset(&tc, 0, sizeof(tc));
    tc.opts = opts;
    tc.may_remux = may_remux;
    tc.res = res;
    tc.vin = -1;
    tc.ain = -1;
    tc.percent = -1;
    tc.v_last = AV_NOPTS_VALUE;
    tc.a_next = AV_NOPTS_VALUE;
    tc.in_last_us[0] = AV_NOPTS_VALUE;
    tc.in_last_us[1] = AV_NOPTS_VALUE;
    tc.last_dts[0] = AV_NOPTS_VALUE;
    tc.last_dts[1] = AV_NOPTS_VALUE;

    tc.pkt = av_packet_alloc();
    tc.opkt = av_packet_alloc();
    tc.frame = av_frame_alloc();
    tc.filtered = av_frame_alloc();
    if (tc.pkt == NULL || tc.opkt == NULL || tc.frame == NULL
        || tc.filtered == NULL)
    {
        status = VS_TC_FAIL(&tc, VS_TC_TRANSIENT, "out of memory");
        goto cleanup;
    }

    status = vs_tc_open_input(&tc, input);
    if (status != VS_TC_OK) {
        goto cleanup;
    }

    status = vs_tc_check_limits(&tc);
    if (status != VS_TC_OK) {
        goto cleanup;
    }

    tc.remux = vs_tc_can_remux(&tc);
    res->remuxed = tc.remux;

    status = vs_tc_open_output(&tc, out_path);
    if (status != VS_TC_OK) {
        goto cleanup;
    }

    status = vs_tc_run(&tc);
    if (status != VS_TC_OK) {
        goto cleanup;
    }

    vs_tc_close(&tc);

    status = vs_tc_probe_output(&tc, out_path);
    if (status != VS_TC_OK) {
        return status;
    }

    /*
     * A cut-off upload often still demuxes: what it declares and what
     * could be read disagree. Half a video is not a successful job.
     */
    if (tc.duration_us > 0
        && res->duration_ms * 1000 + (tc.duration_us / 20 > 500000
                                      ? tc.duration_us / 20 : 500000)
           < tc.duration_us)
    {
        return VS_TC_FAIL_INPUT(&tc, VS_ERR_INPUT_CORRUPT,
                          "input is truncated or damaged: only %lld of "
                          "%lld ms could be read",
                          (long long) res->duration_ms,
                          (long long) (tc.duration_us / 1000));
    }

    return VS_TC_OK;

cleanup:

    vs_tc_close(&tc);
    if (status == VS_TC_PERMANENT && res->code == VS_ERR_NONE) {
        res->code = VS_ERR_TRANSCODE_FAILED;
    }
    return status;
}


vs_tc_status_t
vs_transcode(const char *input, const char *out_path,
    const vs_tc_opts_t *opts, vs_tc_result_t *res)
{
    vs_tc_status_t  status;

    status = vs_tc_transcode(input, out_path, opts, res, 1);

    /*
     * The copy failed on our side (packets the MP4 muxer refuses: video
     * timestamps out of order, say): decode and encode it instead, like
     * any other input. What the input itself is to blame for stays.
     */
    if (status == VS_TC_PERMANENT && res->remuxed
        && res->code == VS_ERR_TRANSCODE_FAILED)
    {
        av_log(NULL, AV_LOG_WARNING, "copying the streams failed (%s): "
               "transcoding instead\n", res->error);
        status = vs_tc_transcode(input, out_path, opts, res, 0);
    }

    return status;
}


vs_tc_status_t
vs_thumbnail(const char *mp4_path, const char *jpg_path,
    const vs_tc_opts_t *opts, char *error, size_t error_size)
{
    AVFormatContext    *fmt = NULL;
    AVCodecContext     *dec = NULL, *enc = NULL;
    const AVCodec      *codec;
    AVStream           *st;
    AVPacket           *pkt = NULL;
    AVFrame            *frame = NULL, *jpeg = NULL, *picked = NULL;
    struct SwsContext  *sws = NULL;
    FILE               *f;
    int64_t             target;
    char                e[128];
    int                 ret, vin, eof = 0;
    vs_tc_status_t      status = VS_TC_PERMANENT;

    error[0] = '\0';

    pkt = av_packet_alloc();
    frame = av_frame_alloc();
    picked = av_frame_alloc();
    jpeg = av_frame_alloc();
    if (pkt == NULL || frame == NULL || picked == NULL || jpeg == NULL) {
        status = vs_tc_fail(error, error_size, VS_TC_TRANSIENT,
                            "out of memory");
        goto cleanup;
    }

    ret = avformat_open_input(&fmt, mp4_path, NULL, NULL);
    if (ret >= 0) {
        ret = avformat_find_stream_info(fmt, NULL);
    }
    if (ret < 0) {
        status = vs_tc_fail(error, error_size, VS_TC_TRANSIENT,
                            "thumbnail: cannot open %s: %s", mp4_path,
                            vs_av_err(ret, e, sizeof(e)));
        goto cleanup;
    }

    vin = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (vin < 0) {
        vs_tc_fail(error, error_size, VS_TC_PERMANENT,
                   "thumbnail: no video stream");
        goto cleanup;
    }
    st = fmt->streams[vin];

    dec = avcodec_alloc_context3(codec);
    if (dec == NULL
        || avcodec_parameters_to_context(dec, st->codecpar) < 0
        || avcodec_open2(dec, codec, NULL) < 0)
    {
        vs_tc_fail(error, error_size, VS_TC_PERMANENT,
                   "thumbnail: cannot open the decoder");
        goto cleanup;
    }

    /* about 10% in: seek to the keyframe before, decode up to it */
    target = fmt->duration > 0
             ? av_rescale_q(fmt->duration / 10, AV_TIME_BASE_Q, st->time_base)
             : 0;
    if (st->start_time != AV_NOPTS_VALUE) {
        target += st->start_time;
    }
    if (target > 0) {
        av_seek_frame(fmt, vin, target, AVSEEK_FLAG_BACKWARD);
    }

    while (!eof) {
        if (vs_tc_aborted(opts)) {
            status = vs_tc_fail(error, error_size, VS_TC_ABORTED, "aborted");
            goto cleanup;
        }

        ret = av_read_frame(fmt, pkt);
        if (ret < 0) {
            eof = 1;
            ret = avcodec_send_packet(dec, NULL);
        } else if (pkt->stream_index != vin) {
            av_packet_unref(pkt);
            continue;
        } else {
            ret = avcodec_send_packet(dec, pkt);
            av_packet_unref(pkt);
        }

        while (ret >= 0 || ret == AVERROR(EAGAIN)) {
            ret = avcodec_receive_frame(dec, frame);
            if (ret < 0) {
                break;
            }
            av_frame_unref(picked);
            av_frame_move_ref(picked, frame);
            if (picked->best_effort_timestamp >= target) {
                eof = 1;
                break;
            }
        }
    }

    if (picked->width <= 0) {
        vs_tc_fail(error, error_size, VS_TC_PERMANENT,
                   "thumbnail: no frame decoded");
        goto cleanup;
    }

    codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
    enc = codec != NULL ? avcodec_alloc_context3(codec) : NULL;
    if (enc == NULL) {
        vs_tc_fail(error, error_size, VS_TC_PERMANENT,
                   "thumbnail: no JPEG encoder");
        goto cleanup;
    }

    enc->width = picked->width;
    enc->height = picked->height;
    enc->pix_fmt = AV_PIX_FMT_YUVJ420P;
    enc->time_base = av_make_q(1, 25);
    enc->flags |= AV_CODEC_FLAG_QSCALE;
    enc->global_quality = FF_QP2LAMBDA * 3;

    ret = avcodec_open2(enc, codec, NULL);
    if (ret < 0) {
        vs_tc_fail(error, error_size, VS_TC_PERMANENT,
                   "thumbnail: cannot open the JPEG encoder: %s",
                   vs_av_err(ret, e, sizeof(e)));
        goto cleanup;
    }

    /* limited-range yuv420p to the full-range JPEG format */
    jpeg->format = AV_PIX_FMT_YUVJ420P;
    jpeg->width = enc->width;
    jpeg->height = enc->height;
    jpeg->quality = enc->global_quality;
    jpeg->pts = 0;
    sws = sws_getContext(picked->width, picked->height, picked->format,
                         enc->width, enc->height, AV_PIX_FMT_YUVJ420P,
                         SWS_BICUBIC, NULL, NULL, NULL);
    if (sws == NULL || av_frame_get_buffer(jpeg, 0) < 0
        || sws_scale(sws, (const uint8_t * const *) picked->data,
                     picked->linesize, 0, picked->height, jpeg->data,
                     jpeg->linesize) <= 0)
    {
        vs_tc_fail(error, error_size, VS_TC_PERMANENT,
                   "thumbnail: pixel format conversion failed");
        goto cleanup;
    }

    ret = avcodec_send_frame(enc, jpeg);
    if (ret >= 0) {
        ret = avcodec_send_frame(enc, NULL);
    }
    if (ret >= 0) {
        ret = avcodec_receive_packet(enc, pkt);
    }
    if (ret < 0) {
        vs_tc_fail(error, error_size, VS_TC_PERMANENT,
                   "thumbnail: JPEG encoding failed: %s",
                   vs_av_err(ret, e, sizeof(e)));
        goto cleanup;
    }

    f = fopen(jpg_path, "wb");
    if (f == NULL) {
        status = vs_tc_fail(error, error_size, VS_TC_TRANSIENT,
                            "thumbnail: cannot create %s: %s", jpg_path,
                            strerror(errno));
        goto cleanup;
    }

    ret = fwrite(pkt->data, 1, pkt->size, f) == (size_t) pkt->size;
    if (fclose(f) != 0 || !ret) {
        status = vs_tc_fail(error, error_size, VS_TC_TRANSIENT,
                            "thumbnail: cannot write %s: %s", jpg_path,
                            strerror(errno));
        goto cleanup;
    }

    status = VS_TC_OK;

cleanup:

    av_packet_free(&pkt);
    av_frame_free(&frame);
    av_frame_free(&picked);
    av_frame_free(&jpeg);
    sws_freeContext(sws);
    avcodec_free_context(&dec);
    avcodec_free_context(&enc);
    avformat_close_input(&fmt);
    return status;
}


/* ---- HLS ----------------------------------------------------------------- */

#define VS_HLS_MAX  8

typedef struct {
    int                  width;
    int                  height;
    int                  copy;          /* video copied from the MP4 */
    char                 name[16];      /* "720p": its directory */
    AVFormatContext     *out;
    AVStream            *vout;
    AVStream            *aout;
    AVCodecContext      *enc;
    struct SwsContext   *sws;
    AVFrame             *frame;         /* the scaled picture */
    int64_t              next_key_ms;
} vs_hls_rend_t;

typedef struct {
    const vs_tc_opts_t  *opts;
    AVFormatContext     *in;
    int                  vin;
    int                  ain;
    AVCodecContext      *dec;
    AVPacket            *pkt;
    AVPacket            *tmp;
    AVFrame             *frame;
    vs_hls_rend_t        r[VS_HLS_MAX];
    int                  n;
    int                  segment_ms;
    char                *error;
    size_t               error_size;
} vs_hls_t;


#define VS_HLS_FAIL(h, ...)                                                  \
    vs_tc_fail((h)->error, (h)->error_size, VS_TC_TRANSIENT, __VA_ARGS__)


/* A copy of pkt (from the MP4's stream ist) into ost of r's muxer. */
static int
vs_hls_write(vs_hls_t *h, vs_hls_rend_t *r, AVPacket *pkt, AVRational tb,
    AVStream *ost)
{
    int  ret;

    ret = av_packet_ref(h->tmp, pkt);
    if (ret < 0) {
        return ret;
    }
    av_packet_rescale_ts(h->tmp, tb, ost->time_base);
    h->tmp->stream_index = ost->index;
    h->tmp->pos = -1;

    /* takes the reference */
    return av_interleaved_write_frame(r->out, h->tmp);
}


/* Encodes frame (NULL: flush) into r and writes what comes out. */
static int
vs_hls_encode(vs_hls_t *h, vs_hls_rend_t *r, AVFrame *frame)
{
    int  ret;

    ret = avcodec_send_frame(r->enc, frame);
    if (ret < 0) {
        return ret;
    }

    for ( ;; ) {
        ret = avcodec_receive_packet(r->enc, h->pkt);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) {
            return 0;
        }
        if (ret < 0) {
            return ret;
        }
        ret = vs_hls_write(h, r, h->pkt, r->enc->time_base, r->vout);
        av_packet_unref(h->pkt);
        if (ret < 0) {
            return ret;
        }
    }
}


/* A decoded picture of the MP4: scaled and encoded for every rendition. */
static int
vs_hls_picture(vs_hls_t *h, AVFrame *in)
{
    vs_hls_rend_t  *r;
    int             i, ret;

    for (i = 0; i < h->n; i++) {
        r = &h->r[i];
        if (r->copy) {
            continue;
        }

        /* the same context while the input's format holds */
        r->sws = sws_getCachedContext(r->sws, in->width, in->height,
                                      in->format, r->width, r->height,
                                      AV_PIX_FMT_YUV420P, SWS_BICUBIC, NULL,
                                      NULL, NULL);
        if (r->sws == NULL) {
            return AVERROR(EINVAL);
        }

        /* the encoder may still hold the last picture */
        ret = av_frame_make_writable(r->frame);
        if (ret < 0) {
            return ret;
        }
        sws_scale(r->sws, (const uint8_t * const *) in->data, in->linesize,
                  0, in->height, r->frame->data, r->frame->linesize);

        r->frame->pts = in->best_effort_timestamp;
        r->frame->pict_type = vs_tc_force_key(r->frame->pts,
                                              r->enc->time_base,
                                              h->segment_ms, &r->next_key_ms)
                              ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;

        ret = vs_hls_encode(h, r, r->frame);
        if (ret < 0) {
            return ret;
        }
    }

    return 0;
}


/* Decodes one packet of the MP4's video (NULL: flush). */
static int
vs_hls_decode(vs_hls_t *h, AVPacket *pkt)
{
    int  ret;

    ret = avcodec_send_packet(h->dec, pkt);
    if (ret < 0 && ret != AVERROR_EOF) {
        return ret;
    }

    for ( ;; ) {
        ret = avcodec_receive_frame(h->dec, h->frame);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) {
            return 0;
        }
        if (ret < 0) {
            return ret;
        }
        ret = vs_hls_picture(h, h->frame);
        av_frame_unref(h->frame);
        if (ret < 0) {
            return ret;
        }
    }
}


static vs_tc_status_t
vs_hls_open_encoder(vs_hls_t *h, vs_hls_rend_t *r)
{
    AVStream        *ist = h->in->streams[h->vin];
    const AVCodec   *codec;
    AVCodecContext  *enc;
    AVDictionary    *o = NULL;
    AVRational       fps;
    char             e[128], v[32];
    int64_t          maxrate;
    int              ret;

    codec = avcodec_find_encoder_by_name("libx264");
    if (codec == NULL) {
        return VS_HLS_FAIL(h, "hls: libx264 is not available");
    }
    enc = avcodec_alloc_context3(codec);
    r->frame = av_frame_alloc();
    if (enc == NULL || r->frame == NULL) {
        return VS_HLS_FAIL(h, "out of memory");
    }
    r->enc = enc;

    fps = av_guess_frame_rate(h->in, ist, NULL);
    if (fps.num <= 0 || fps.den <= 0) {
        fps = av_make_q(25, 1);
    }

    enc->width = r->width;
    enc->height = r->height;
    enc->pix_fmt = AV_PIX_FMT_YUV420P;
    enc->time_base = ist->time_base;
    enc->framerate = fps;
    enc->sample_aspect_ratio = ist->codecpar->sample_aspect_ratio;
    enc->thread_count = h->opts->threads;
    enc->gop_size = (int) av_rescale(h->segment_ms, fps.num, fps.den * 1000LL);
    if (enc->gop_size < 1) {
        enc->gop_size = 1;
    }
    if (r->out->oformat->flags & AVFMT_GLOBALHEADER) {
        enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    }

    /* capped CRF: about 0.1 bit per pixel at the source's frame rate */
    maxrate = (int64_t) (r->width * (double) r->height * av_q2d(fps) * 0.1);
    if (maxrate < 200000) {
        maxrate = 200000;
    }

    snprintf(v, sizeof(v), "%d", h->opts->crf);
    av_dict_set(&o, "crf", v, 0);
    snprintf(v, sizeof(v), "%lld", (long long) maxrate);
    av_dict_set(&o, "maxrate", v, 0);
    snprintf(v, sizeof(v), "%lld", (long long) maxrate * 2);
    av_dict_set(&o, "bufsize", v, 0);
    av_dict_set(&o, "preset", h->opts->preset, 0);
    av_dict_set(&o, "profile", "high", 0);
    av_dict_set(&o, "forced-idr", "1", 0);

    ret = avcodec_open2(enc, codec, &o);
    av_dict_free(&o);
    if (ret < 0) {
        return VS_HLS_FAIL(h, "hls: cannot open libx264 for %s: %s", r->name,
                           vs_av_err(ret, e, sizeof(e)));
    }

    r->frame->format = AV_PIX_FMT_YUV420P;
    r->frame->width = r->width;
    r->frame->height = r->height;
    ret = av_frame_get_buffer(r->frame, 0);
    if (ret < 0
        || avcodec_parameters_from_context(r->vout->codecpar, enc) < 0)
    {
        return VS_HLS_FAIL(h, "out of memory");
    }
    r->vout->time_base = enc->time_base;
    r->vout->avg_frame_rate = fps;

    return VS_TC_OK;
}


/* Creates r's directory, muxer and streams, and starts its playlist. */
static vs_tc_status_t
vs_hls_open_rendition(vs_hls_t *h, vs_hls_rend_t *r, const char *dir,
    int fmp4, int segment_seconds)
{
    AVStream        *ist;
    AVDictionary    *o = NULL;
    vs_tc_status_t   status;
    char             path[4096], seg[4096], e[128], secs[16];
    int              ret;

    if (snprintf(path, sizeof(path), "%s/%s", dir, r->name)
        >= (int) sizeof(path) - 32)
    {
        return VS_HLS_FAIL(h, "hls: directory name too long");
    }
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        return VS_HLS_FAIL(h, "hls: mkdir %s: %s", path, strerror(errno));
    }

    snprintf(path, sizeof(path), "%s/%s/stream.m3u8", dir, r->name);
    ret = avformat_alloc_output_context2(&r->out, NULL, "hls", path);
    if (ret < 0 || r->out == NULL) {
        return VS_HLS_FAIL(h, "hls: %s", vs_av_err(ret, e, sizeof(e)));
    }
    r->out->interrupt_callback.callback = vs_tc_interrupt;
    r->out->interrupt_callback.opaque = (void *) h->opts;

    r->vout = avformat_new_stream(r->out, NULL);
    if (r->vout == NULL) {
        return VS_HLS_FAIL(h, "out of memory");
    }

    if (r->copy) {
        ist = h->in->streams[h->vin];
        if (avcodec_parameters_copy(r->vout->codecpar, ist->codecpar) < 0) {
            return VS_HLS_FAIL(h, "out of memory");
        }
        r->vout->codecpar->codec_tag = 0;
        r->vout->time_base = ist->time_base;
        r->vout->avg_frame_rate = ist->avg_frame_rate;

    } else {
        status = vs_hls_open_encoder(h, r);
        if (status != VS_TC_OK) {
            return status;
        }
    }

    if (h->ain >= 0) {
        ist = h->in->streams[h->ain];
        r->aout = avformat_new_stream(r->out, NULL);
        if (r->aout == NULL
            || avcodec_parameters_copy(r->aout->codecpar, ist->codecpar) < 0)
        {
            return VS_HLS_FAIL(h, "out of memory");
        }
        r->aout->codecpar->codec_tag = 0;
        r->aout->time_base = ist->time_base;
    }

    snprintf(secs, sizeof(secs), "%d", segment_seconds);
    av_dict_set(&o, "hls_time", secs, 0);
    av_dict_set(&o, "hls_playlist_type", "vod", 0);
    av_dict_set(&o, "hls_flags", "independent_segments", 0);
    if (fmp4) {
        av_dict_set(&o, "hls_segment_type", "fmp4", 0);
        av_dict_set(&o, "hls_fmp4_init_filename", "init.mp4", 0);
        snprintf(seg, sizeof(seg), "%s/%s/seg_%%d.m4s", dir, r->name);
    } else {
        snprintf(seg, sizeof(seg), "%s/%s/seg_%%d.ts", dir, r->name);
    }
    av_dict_set(&o, "hls_segment_filename", seg, 0);

    ret = avformat_write_header(r->out, &o);
    av_dict_free(&o);
    if (ret < 0) {
        return VS_HLS_FAIL(h, "hls: cannot start %s: %s", r->name,
                           vs_av_err(ret, e, sizeof(e)));
    }

    return VS_TC_OK;
}


/*
 * RFC 6381 "avc1.PPCCLL" from H.264 extradata, avcC or Annex B.
 * 0 on success.
 */
static int
vs_hls_avc1(const AVCodecParameters *par, char *out, size_t size)
{
    const uint8_t  *d = par->extradata;
    int             n = par->extradata_size, i;

    if (d != NULL && n >= 4 && d[0] == 1) {
        snprintf(out, size, "avc1.%02x%02x%02x", d[1], d[2], d[3]);
        return 0;
    }

    for (i = 0; d != NULL && i + 6 < n; i++) {
        if (d[i] == 0 && d[i + 1] == 0 && d[i + 2] == 1
            && (d[i + 3] & 0x1f) == 7)
        {
            snprintf(out, size, "avc1.%02x%02x%02x", d[i + 4], d[i + 5],
                     d[i + 6]);
            return 0;
        }
    }

    return -1;
}


/*
 * Peak and average bit rates of a media playlist, from its EXTINF
 * durations and the sizes of its segment files (RFC 8216 4.3.4.2: BANDWIDTH
 * is the peak segment bit rate).
 */
static int
vs_hls_rates(const char *dir, const char *name, int64_t *peak,
    int64_t *average)
{
    FILE         *f;
    struct stat   st;
    char          path[4096], line[1024];
    double        dur = -1, total_dur = 0, bits, rate;
    double        total_bits = 0, max_rate = 0;
    size_t        len;

    snprintf(path, sizeof(path), "%s/%s/stream.m3u8", dir, name);
    f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }

    while (fgets(line, sizeof(line), f) != NULL) {
        len = strcspn(line, "\r\n");
        line[len] = '\0';

        if (strncmp(line, "#EXTINF:", 8) == 0) {
            dur = strtod(line + 8, NULL);
            continue;
        }
        if (line[0] == '#' || line[0] == '\0' || dur <= 0) {
            continue;
        }

        snprintf(path, sizeof(path), "%s/%s/%s", dir, name, line);
        if (strchr(line, '/') != NULL || stat(path, &st) != 0) {
            fclose(f);
            return -1;
        }
        bits = st.st_size * 8.0;
        rate = bits / dur;
        if (rate > max_rate) {
            max_rate = rate;
        }
        total_bits += bits;
        total_dur += dur;
        dur = -1;
    }

    fclose(f);

    if (total_dur <= 0) {
        return -1;
    }
    *peak = (int64_t) ceil(max_rate);
    *average = (int64_t) ceil(total_bits / total_dur);
    return 0;
}


/* index.m3u8: one EXT-X-STREAM-INF per rendition, largest first. */
static vs_tc_status_t
vs_hls_master(vs_hls_t *h, const char *dir, int fmp4)
{
    AVCodecParameters  *apar;
    vs_hls_rend_t      *r;
    AVRational          fps;
    FILE               *f;
    char                path[4096], tmp[4120], avc[32], fr[32];
    int64_t             peak, average;
    int                 i, ok;

    snprintf(path, sizeof(path), "%s/index.m3u8", dir);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);

    f = fopen(tmp, "w");
    if (f == NULL) {
        return VS_HLS_FAIL(h, "hls: cannot create %s: %s", tmp,
                           strerror(errno));
    }

    fprintf(f, "#EXTM3U\n#EXT-X-VERSION:%d\n#EXT-X-INDEPENDENT-SEGMENTS\n",
            fmp4 ? 7 : 3);

    fps = av_guess_frame_rate(h->in, h->in->streams[h->vin], NULL);
    fr[0] = '\0';
    if (fps.num > 0 && fps.den > 0) {
        snprintf(fr, sizeof(fr), ",FRAME-RATE=%.3f", av_q2d(fps));
    }
    apar = h->ain >= 0 ? h->in->streams[h->ain]->codecpar : NULL;

    for (i = 0; i < h->n; i++) {
        r = &h->r[i];

        if (vs_hls_rates(dir, r->name, &peak, &average) != 0) {
            fclose(f);
            return VS_HLS_FAIL(h, "hls: cannot read back %s/stream.m3u8",
                               r->name);
        }
        if (vs_hls_avc1(r->vout->codecpar, avc, sizeof(avc)) != 0) {
            snprintf(avc, sizeof(avc), "avc1.640028");
        }

        fprintf(f, "#EXT-X-STREAM-INF:BANDWIDTH=%lld,AVERAGE-BANDWIDTH=%lld,"
                "RESOLUTION=%dx%d%s,CODECS=\"%s", (long long) peak,
                (long long) average, r->width, r->height, fr, avc);
        if (apar != NULL) {
            /* FF_PROFILE_AAC_* are the MPEG-4 audio object types - 1 */
            fprintf(f, ",mp4a.40.%d", apar->profile >= 0 ? apar->profile + 1
                                                         : 2);
        }
        fprintf(f, "\"\n%s/stream.m3u8\n", r->name);
    }

    ok = !ferror(f);
    if (fclose(f) != 0 || !ok || rename(tmp, path) != 0) {
        return VS_HLS_FAIL(h, "hls: cannot write %s: %s", path,
                           strerror(errno));
    }

    return VS_TC_OK;
}


/* The renditions: the MP4's size, then the smaller ladder entries. */
static void
vs_hls_plan(vs_hls_t *h, const int *ladder, int copy_top)
{
    AVCodecParameters  *par = h->in->streams[h->vin]->codecpar;
    vs_tc_opts_t        o = *h->opts;
    vs_hls_rend_t      *r;
    int                 i, w, ht, top_short, s;

    top_short = par->width < par->height ? par->width : par->height;

    r = &h->r[h->n++];
    r->width = par->width;
    r->height = par->height;
    r->copy = copy_top;
    snprintf(r->name, sizeof(r->name), "%dp", top_short);

    for (i = 0; ladder != NULL && ladder[i] > 0 && h->n < VS_HLS_MAX; i++) {
        o.max_height = ladder[i];
        vs_tc_output_size(&o, par->width, par->height, &w, &ht);
        s = w < ht ? w : ht;

        /* smaller than the last one planned: no duplicates, no upscaling */
        r = &h->r[h->n - 1];
        if (s >= (r->width < r->height ? r->width : r->height)) {
            continue;
        }

        r = &h->r[h->n++];
        r->width = w;
        r->height = ht;
        snprintf(r->name, sizeof(r->name), "%dp", s);
    }
}


static void
vs_hls_close(vs_hls_t *h)
{
    vs_hls_rend_t  *r;
    int             i;

    for (i = 0; i < h->n; i++) {
        r = &h->r[i];
        if (r->out != NULL) {
            avformat_free_context(r->out);
        }
        avcodec_free_context(&r->enc);
        sws_freeContext(r->sws);
        av_frame_free(&r->frame);
    }

    avcodec_free_context(&h->dec);
    avformat_close_input(&h->in);
    av_packet_free(&h->pkt);
    av_packet_free(&h->tmp);
    av_frame_free(&h->frame);
}


vs_tc_status_t
vs_hls(const char *mp4_path, const char *dir, int fmp4, int segment_seconds,
    const int *ladder, int copy_top, const vs_tc_opts_t *opts,
    int *renditions, char *error, size_t error_size)
{
    vs_hls_t         h;
    vs_hls_rend_t   *r;
    AVStream        *ist;
    const AVCodec   *codec;
    char             e[128];
    int              ret, i, encode = 0;
    vs_tc_status_t   status = VS_TC_TRANSIENT;

    memset(&h, 0, sizeof(h));
    h.opts = opts;
    h.error = error;
    h.error_size = error_size;
    h.segment_ms = segment_seconds * 1000;
    h.vin = -1;
    h.ain = -1;
    error[0] = '\0';
    *renditions = 0;

    h.pkt = av_packet_alloc();
    h.tmp = av_packet_alloc();
    h.frame = av_frame_alloc();
    if (h.pkt == NULL || h.tmp == NULL || h.frame == NULL) {
        VS_HLS_FAIL(&h, "out of memory");
        goto cleanup;
    }

    ret = avformat_open_input(&h.in, mp4_path, NULL, NULL);
    if (ret >= 0) {
        ret = avformat_find_stream_info(h.in, NULL);
    }
    if (ret < 0) {
        VS_HLS_FAIL(&h, "hls: cannot open %s: %s", mp4_path,
                    vs_av_err(ret, e, sizeof(e)));
        goto cleanup;
    }

    h.vin = av_find_best_stream(h.in, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    h.ain = av_find_best_stream(h.in, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
    if (h.vin < 0) {
        VS_HLS_FAIL(&h, "hls: %s has no video", mp4_path);
        goto cleanup;
    }
    if (h.ain < 0) {
        h.ain = -1;
    }

    vs_hls_plan(&h, ladder, copy_top);

    for (i = 0; i < h.n; i++) {
        encode |= !h.r[i].copy;
    }

    if (encode) {
        ist = h.in->streams[h.vin];
        codec = avcodec_find_decoder(ist->codecpar->codec_id);
        h.dec = codec != NULL ? avcodec_alloc_context3(codec) : NULL;
        if (h.dec == NULL
            || avcodec_parameters_to_context(h.dec, ist->codecpar) < 0)
        {
            VS_HLS_FAIL(&h, "hls: cannot set up the decoder");
            goto cleanup;
        }
        h.dec->pkt_timebase = ist->time_base;
        h.dec->thread_count = opts->threads;
        ret = avcodec_open2(h.dec, codec, NULL);
        if (ret < 0) {
            VS_HLS_FAIL(&h, "hls: cannot open the decoder: %s",
                        vs_av_err(ret, e, sizeof(e)));
            goto cleanup;
        }
    }

    for (i = 0; i < h.n; i++) {
        status = vs_hls_open_rendition(&h, &h.r[i], dir, fmp4,
                                       segment_seconds);
        if (status != VS_TC_OK) {
            goto cleanup;
        }
    }
    status = VS_TC_TRANSIENT;

    for ( ;; ) {
        if (vs_tc_aborted(opts)) {
            status = vs_tc_fail(error, error_size, VS_TC_ABORTED, "aborted");
            goto cleanup;
        }

        ret = av_read_frame(h.in, h.pkt);
        if (ret == AVERROR_EOF) {
            break;
        }
        if (ret < 0) {
            VS_HLS_FAIL(&h, "hls: read: %s", vs_av_err(ret, e, sizeof(e)));
            goto cleanup;
        }

        ist = h.in->streams[h.pkt->stream_index];
        ret = 0;

        if (h.pkt->stream_index == h.ain) {
            for (i = 0; i < h.n && ret >= 0; i++) {
                ret = vs_hls_write(&h, &h.r[i], h.pkt, ist->time_base,
                                   h.r[i].aout);
            }

        } else if (h.pkt->stream_index == h.vin) {
            for (i = 0; i < h.n && ret >= 0; i++) {
                if (h.r[i].copy) {
                    ret = vs_hls_write(&h, &h.r[i], h.pkt, ist->time_base,
                                       h.r[i].vout);
                }
            }
            if (ret >= 0 && encode) {
                ret = vs_hls_decode(&h, h.pkt);
            }
        }

        av_packet_unref(h.pkt);
        if (ret < 0) {
            VS_HLS_FAIL(&h, "hls: %s", vs_av_err(ret, e, sizeof(e)));
            goto cleanup;
        }
    }

    ret = encode ? vs_hls_decode(&h, NULL) : 0;

    for (i = 0; i < h.n && ret >= 0; i++) {
        r = &h.r[i];
        if (!r->copy) {
            ret = vs_hls_encode(&h, r, NULL);
        }
        if (ret >= 0) {
            ret = av_write_trailer(r->out);
        }
    }
    if (ret < 0) {
        VS_HLS_FAIL(&h, "hls: finish: %s", vs_av_err(ret, e, sizeof(e)));
        goto cleanup;
    }

    status = vs_hls_master(&h, dir, fmp4);
    if (status == VS_TC_OK) {
        *renditions = h.n;
    }

cleanup:

    vs_hls_close(&h);
    return status;
}
