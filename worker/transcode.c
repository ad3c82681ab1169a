/*
 * The media pipeline (see transcode.h): one demux and one decode of the
 * source feed every output.
 *
 *   demux ---- video packets ---- [copied to the MP4: the remux path]
 *     |            |
 *     |         decode -> [rotation] -> [fps cap] -> split
 *     |                      |-> scale (MP4 size) -> libx264 -> MP4
 *     |                      |       |                 `-> top rendition
 *     |                      |       `-> the poster (JPEG)
 *     |                      |-> scale (720p) -> libx264 -> rendition
 *     |                      `-> scale (480p) -> libx264 -> rendition
 *     `------- audio ------- decode -> aresample/aformat -> FIFO -> AAC
 *                            [or copied]    -> MP4 and every rendition
 *
 * Copying happens when the source already is H.264 yuv420p within the
 * caps with AAC or no audio (remuxing.c); a copy the muxer refuses is done
 * again as a transcode. Then the video is still decoded, for the poster
 * (only up to its picture) and the renditions. The graph and its branches
 * are media_video.c's, the audio chain media_audio.c's, both encoding
 * through media_encode.c's one helper; HLS muxers and the master playlist
 * are media_hls.c's, the JPEG media_poster.c's. What is left here: the
 * input, the plan, the muxers' streams and the reading loop.
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
#include "media_audio.h"
#include "media_encode.h"
#include "media_hls.h"
#include "media_input.h"
#include "media_poster.h"
#include "media_video.h"

#include <libavcodec/avcodec.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>
#include <libavutil/opt.h>

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* a branch per rendition */
_Static_assert(VS_HLS_MAX <= VS_MEDIA_BRANCHES_MAX, "HLS ladder too long");

typedef struct {
    const vs_tc_opts_t  *opts;
    const vs_tc_outputs_t *out;
    vs_tc_result_t      *res;

    vs_media_input_t     in;            /* the upload, opened as hostile */
    AVFormatContext     *ifmt;          /* in.fmt */
    AVFormatContext     *ofmt;          /* the MP4 */
    int                  vin;           /* input stream indexes, -1: none */
    int                  ain;
    AVStream            *vout;
    AVStream            *aout;

    AVCodecContext      *vdec;
    AVCodecContext      *adec;
    vs_media_audio_t     audio;         /* decoded audio -> one AAC */

    /* branch 0 is the MP4's size (the top rendition's too), then one per
       smaller rendition */
    vs_media_video_t     video;
    vs_hls_t             hls;           /* hls.n == 0: no HLS */
    vs_media_sinks_t     audio_dest;    /* the MP4 and every rendition */
    vs_media_sinks_t     copy_dest;     /* remuxing: the MP4's video */

    int                  decode_video;  /* 0: no (more) video decoding */

    AVPacket            *pkt;
    AVPacket            *opkt;
    AVPacket            *tmp;
    AVFrame             *frame;

    int64_t              start_us;      /* input start time, subtracted */
    int64_t              duration_us;   /* 0 when unknown */
    int                  rotation;      /* 0, 90, 180, 270 clockwise */
    int                  remux;
    int                  may_remux;     /* 0: the copy failed once */
    int                  percent;
    int64_t              video_frames;  /* decoded (or copied) */
    int64_t              decoded;       /* decoded from the source */
    int64_t              last_pts_us;

    int64_t              a_copy_next;   /* remuxing: the next audio dts,
                                           the stream's time base */

    int64_t              disc_us;       /* TS clock jumps, made up for */
    int64_t              in_last_us[2]; /* last input dts: video, audio */
} vs_tc_t;


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


void
vs_tc_fit(int cap, int w, int h, int *ow, int *oh)
{
    double  s = 1.0, cap_short, cap_long;
    int     short_side = w < h ? w : h, long_side = w < h ? h : w;

    cap_short = cap;
    cap_long = cap * 16.0 / 9.0;

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

    vs_tc_fit(tc->opts->max_height, par->width, par->height, &ow, &oh);
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


/* The video graph of media_video.c, for the branches planned. */
static vs_tc_status_t
vs_tc_video_graph(vs_tc_t *tc)
{
    AVStream  *st = tc->ifmt->streams[tc->vin];
    char       chain[2048], e[128];
    int        ret, oom;

    ret = vs_media_video_graph(&tc->video, tc->vdec, st->time_base,
                               av_guess_frame_rate(tc->ifmt, st, NULL),
                               tc->rotation, tc->opts->max_fps,
                               tc->opts->threads, chain, sizeof(chain),
                               &oom);
    if (oom) {
        return VS_TC_FAIL(tc, VS_TC_TRANSIENT, "out of memory");
    }
    if (ret < 0) {
        return VS_TC_FAIL(tc, VS_TC_PERMANENT, "video filter graph \"%s\": "
                          "%s", chain, vs_av_err(ret, e, sizeof(e)));
    }

    return VS_TC_OK;
}


/*
 * Branch i's libx264: the MP4's (branch 0 unless remuxing: plain CRF, and
 * keyframes on the segment boundaries when HLS is on, so that the top
 * rendition can carry its packets) or a rendition's (capped CRF: about 0.1
 * bit per pixel at the frame rate). Every branch gets the same frames and
 * forces keyframes at the same instants.
 */
static vs_tc_status_t
vs_tc_open_video_encoder(vs_tc_t *tc, int i)
{
    vs_media_x264_t   want;
    char              e[128];
    int               ret;

    memset(&want, 0, sizeof(want));
    vs_media_video_want(&tc->video, i, tc->opts->max_fps, &want);
    want.threads = tc->opts->threads;
    want.crf = tc->opts->crf;
    want.preset = tc->opts->preset;
    want.keyframe_ms = tc->hls.n > 0 ? tc->out->hls_segment * 1000
                                     : tc->opts->keyframe_ms;
    if (i == 0 && !tc->remux) {
        want.global_header = tc->ofmt->oformat->flags & AVFMT_GLOBALHEADER;
    } else {
        want.global_header = tc->hls.r[i].out->oformat->flags
                             & AVFMT_GLOBALHEADER;
        want.maxrate = (int64_t) (want.width * (double) want.height
                                  * av_q2d(want.framerate) * 0.1);
        if (want.maxrate < 200000) {
            want.maxrate = 200000;
        }
    }

    ret = vs_media_video_open(&tc->video, i, &want);
    if (ret == AVERROR(ENOMEM)) {
        return VS_TC_FAIL(tc, VS_TC_TRANSIENT, "out of memory");
    }
    if (ret < 0) {
        return VS_TC_FAIL(tc, VS_TC_PERMANENT, "cannot open libx264 for "
                          "%dx%d: %s", want.width, want.height,
                          vs_av_err(ret, e, sizeof(e)));
    }

    return VS_TC_OK;
}


/*
 * The AAC encoder (media_audio.c). Its frames come from the audio FIFO,
 * 1024 samples each, its timestamps from our own sample count; its
 * packets go to audio_dest (the MP4 and every rendition).
 */
static vs_tc_status_t
vs_tc_open_audio(vs_tc_t *tc)
{
    char  e[128];
    int   ret;

    if (tc->adec->sample_rate <= 0 || tc->adec->ch_layout.nb_channels <= 0) {
        return VS_TC_FAIL_INPUT(tc, VS_ERR_INPUT_CORRUPT,
                          "audio stream without sample rate or channels");
    }

    /* the MP4 and the HLS muxers both take the header out of band */
    tc->audio.dest = &tc->audio_dest;
    ret = vs_media_audio_open(&tc->audio, tc->adec, tc->opts->audio_bitrate,
                              tc->ofmt->oformat->flags & AVFMT_GLOBALHEADER);
    if (ret == AVERROR(ENOMEM)) {
        return VS_TC_FAIL(tc, VS_TC_TRANSIENT, "out of memory");
    }
    if (ret < 0) {
        return VS_TC_FAIL(tc, VS_TC_PERMANENT, "cannot open AAC encoder: %s",
                          vs_av_err(ret, e, sizeof(e)));
    }

    return VS_TC_OK;
}


/* A new stream of fmt with par (copied) in time base tb. */
static AVStream *
vs_tc_new_stream(AVFormatContext *fmt, const AVCodecParameters *par,
    AVRational tb)
{
    AVStream  *st;

    st = avformat_new_stream(fmt, NULL);
    if (st == NULL || avcodec_parameters_copy(st->codecpar, par) < 0) {
        return NULL;
    }
    st->codecpar->codec_tag = 0;
    st->time_base = tb;
    return st;
}


/*
 * The plan: branch 0 at the MP4's size (the source within the cap), one
 * branch per smaller rendition; whether video is decoded at all.
 */
static void
vs_tc_plan(vs_tc_t *tc)
{
    AVCodecParameters  *par = tc->ifmt->streams[tc->vin]->codecpar;
    int                 rw, rh, ow, oh, i;

    rw = tc->rotation % 180 ? par->height : par->width;
    rh = tc->rotation % 180 ? par->width : par->height;
    vs_tc_fit(tc->opts->max_height, rw, rh, &ow, &oh);

    tc->hls.n = 0;
    if (tc->out->hls_dir != NULL) {
        tc->hls.dir = tc->out->hls_dir;
        tc->hls.fmp4 = tc->out->hls_fmp4;
        tc->hls.segment_seconds = tc->out->hls_segment;
        vs_hls_plan(&tc->hls, rw, rh, ow, oh, tc->out->hls_ladder);
    }

    tc->video.n = tc->hls.n > 0 ? tc->hls.n : 1;
    for (i = 0; i < tc->video.n; i++) {
        tc->video.branch[i].width = i == 0 ? ow : tc->hls.r[i].width;
        tc->video.branch[i].height = i == 0 ? oh : tc->hls.r[i].height;
    }

    tc->decode_video = !tc->remux || tc->hls.n > 0
                       || tc->out->poster_path != NULL;
    tc->video.want_poster = tc->out->poster_path != NULL;
    tc->video.poster_us = tc->duration_us / 10;
}


/*
 * Decoders, the graph and the encoders, then the muxers' streams and
 * headers: the MP4 (moov first) and every rendition. Which packets go
 * where is decided here once, as each encoder's (and the copy's) list of
 * destinations.
 */
static vs_tc_status_t
vs_tc_open_outputs(vs_tc_t *tc)
{
    const AVCodecParameters  *apar;
    AVStream                 *ist, *st;
    AVDictionary             *o = NULL;
    vs_hls_rend_t            *r;
    vs_tc_status_t            status;
    AVRational                atb;
    char                      e[128];
    int                       ret, i;

    ret = avformat_alloc_output_context2(&tc->ofmt, NULL, "mp4",
                                         tc->out->mp4_path);
    if (ret < 0 || tc->ofmt == NULL) {
        return VS_TC_FAIL(tc, VS_TC_TRANSIENT, "cannot create output: %s",
                          vs_av_err(ret, e, sizeof(e)));
    }
    tc->ofmt->interrupt_callback.callback = vs_tc_interrupt;
    tc->ofmt->interrupt_callback.opaque = (void *) tc->opts;

    for (i = 0; i < tc->hls.n; i++) {
        r = &tc->hls.r[i];
        if (vs_hls_open(&tc->hls, r, tc->res->error,
                        sizeof(tc->res->error)) < 0)
        {
            return VS_TC_TRANSIENT;
        }
        r->out->interrupt_callback.callback = vs_tc_interrupt;
        r->out->interrupt_callback.opaque = (void *) tc->opts;
    }

    /* video: decoder, graph, encoders */
    if (tc->decode_video) {
        status = vs_tc_open_decoder(tc, tc->vin, &tc->vdec);
        if (status == VS_TC_OK) {
            status = vs_tc_video_graph(tc);
        }
        for (i = 0; status == VS_TC_OK && i < tc->video.n; i++) {
            if (i > 0 || !tc->remux || tc->hls.n > 0) {
                status = vs_tc_open_video_encoder(tc, i);
            }
        }
        if (status != VS_TC_OK) {
            return status;
        }
    }

    /* audio: decoded and encoded once, or copied */
    if (tc->ain >= 0 && !tc->remux) {
        status = vs_tc_open_decoder(tc, tc->ain, &tc->adec);
        if (status == VS_TC_OK) {
            status = vs_tc_open_audio(tc);
        }
        if (status != VS_TC_OK) {
            return status;
        }
    }

    /* the MP4's streams */
    ist = tc->ifmt->streams[tc->vin];
    if (tc->remux) {
        tc->vout = vs_tc_new_stream(tc->ofmt, ist->codecpar, ist->time_base);
        if (tc->vout != NULL) {
            tc->vout->avg_frame_rate = ist->avg_frame_rate;
        }
    } else {
        tc->vout = avformat_new_stream(tc->ofmt, NULL);
        if (tc->vout != NULL
            && avcodec_parameters_from_context(tc->vout->codecpar,
                                               tc->video.branch[0].enc) >= 0)
        {
            tc->vout->time_base = tc->video.branch[0].enc->time_base;
            tc->vout->avg_frame_rate = tc->video.branch[0].enc->framerate;
            tc->vout->sample_aspect_ratio =
                tc->video.branch[0].enc->sample_aspect_ratio;
        } else {
            tc->vout = NULL;
        }
    }
    if (tc->vout == NULL) {
        return VS_TC_FAIL(tc, VS_TC_TRANSIENT, "out of memory");
    }

    apar = NULL;
    atb = av_make_q(1, 1);
    if (tc->ain >= 0 && tc->remux) {
        apar = tc->ifmt->streams[tc->ain]->codecpar;
        atb = tc->ifmt->streams[tc->ain]->time_base;
        tc->aout = vs_tc_new_stream(tc->ofmt, apar, atb);

    } else if (tc->ain >= 0) {
        st = avformat_new_stream(tc->ofmt, NULL);
        if (st != NULL
            && avcodec_parameters_from_context(st->codecpar,
                                               tc->audio.enc) >= 0)
        {
            apar = st->codecpar;
            atb = tc->audio.enc->time_base;
            st->time_base = atb;
            tc->aout = st;
        }
    }
    if (tc->ain >= 0 && tc->aout == NULL) {
        return VS_TC_FAIL(tc, VS_TC_TRANSIENT, "out of memory");
    }

    /* where packets go: the MP4 first, then every rendition */
    if (tc->remux) {
        vs_media_sink_add(&tc->copy_dest, tc->ofmt, tc->vout);
    } else {
        tc->video.branch[0].dest.guard = 1;
        vs_media_sink_add(&tc->video.branch[0].dest, tc->ofmt, tc->vout);
    }
    tc->audio_dest.guard = !tc->remux;
    if (tc->aout != NULL) {
        vs_media_sink_add(&tc->audio_dest, tc->ofmt, tc->aout);
    }

    for (i = 0; i < tc->hls.n; i++) {
        r = &tc->hls.r[i];
        r->vout = avformat_new_stream(r->out, NULL);
        if (r->vout == NULL
            || avcodec_parameters_from_context(r->vout->codecpar,
                                               tc->video.branch[i].enc) < 0)
        {
            return VS_TC_FAIL(tc, VS_TC_TRANSIENT, "out of memory");
        }
        r->vout->time_base = tc->video.branch[i].enc->time_base;
        r->vout->avg_frame_rate = tc->video.branch[i].enc->framerate;
        tc->video.branch[i].dest.guard = 1;
        if (vs_media_sink_add(&tc->video.branch[i].dest, r->out, r->vout)
            < 0)
        {
            return VS_TC_FAIL(tc, VS_TC_PERMANENT, "too many outputs");
        }

        if (apar != NULL) {
            r->aout = vs_tc_new_stream(r->out, apar, atb);
            if (r->aout == NULL
                || vs_media_sink_add(&tc->audio_dest, r->out, r->aout) < 0)
            {
                return VS_TC_FAIL(tc, VS_TC_TRANSIENT, "out of memory");
            }
        }
    }

    /* headers */
    ret = avio_open2(&tc->ofmt->pb, tc->out->mp4_path, AVIO_FLAG_WRITE,
                     &tc->ofmt->interrupt_callback, NULL);
    if (ret < 0) {
        return VS_TC_FAIL(tc, vs_media_classify(ret, 0), "cannot write %s: %s",
                          tc->out->mp4_path, vs_av_err(ret, e, sizeof(e)));
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

    for (i = 0; i < tc->hls.n; i++) {
        ret = vs_hls_start(&tc->hls, &tc->hls.r[i]);
        if (ret < 0) {
            return VS_TC_FAIL(tc, vs_tc_status(tc, ret), "hls: cannot start "
                              "%s: %s", tc->hls.r[i].name,
                              vs_av_err(ret, e, sizeof(e)));
        }
    }

    return VS_TC_OK;
}


/*
 * Decodes one packet (NULL: flush) and sends the frames on: video through
 * the graph to every branch, audio to media_audio.c. A corrupt
 * packet is skipped, as the ffmpeg tool does; only I/O, filter and encoder
 * errors stop the job.
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
            ret = vs_media_audio_frame(&tc->audio, tc->frame,
                                       tc->ifmt->streams[tc->ain]->time_base);
            av_frame_unref(tc->frame);
            if (ret < 0) {
                return ret;
            }
            continue;
        }

        tc->frame->pts = tc->frame->best_effort_timestamp;
        tc->decoded++;
        if (!tc->remux) {
            tc->video_frames++;
        }

        /* a mid-stream format change the graph was not built for */
        if (tc->frame->width != dec->width
            || tc->frame->height != dec->height)
        {
            av_frame_unref(tc->frame);
            continue;
        }

        ret = vs_media_video_push(&tc->video, tc->frame);
        av_frame_unref(tc->frame);
        if (ret < 0) {
            return ret;
        }

        /* remuxing without HLS: decoded for the poster only */
        if (tc->remux && tc->hls.n == 0 && tc->video.poster_done) {
            tc->decode_video = 0;
        }
    }

    /* decoder flushed: flush the graph and the encoders */
    if (dec == tc->adec) {
        return vs_media_audio_flush(&tc->audio);
    }

    return vs_media_video_push(&tc->video, NULL);
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
    if (tc->a_copy_next != AV_NOPTS_VALUE
        && (pkt->dts == AV_NOPTS_VALUE || pkt->dts < tc->a_copy_next))
    {
        pkt->dts = tc->a_copy_next;
        pkt->pts = tc->a_copy_next;
    }

    if (pkt->dts != AV_NOPTS_VALUE) {
        tc->a_copy_next = pkt->dts + (duration > 0 ? duration : 1);
    }
}


static vs_tc_status_t
vs_tc_run(vs_tc_t *tc)
{
    AVStream        *ist;
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

        if (tc->remux && tc->pkt->stream_index == tc->vin) {
            /* copied; decoded too while the poster or HLS need it */
            tc->video_frames++;
            ret = tc->decode_video ? vs_tc_decode(tc, tc->vdec, tc->pkt)
                                   : 0;
            if (ret >= 0) {
                ret = vs_media_write(&tc->copy_dest, tc->pkt,
                                     ist->time_base, tc->tmp);
            }

        } else if (tc->remux) {
            vs_tc_remux_audio_ts(tc, tc->pkt, ist);
            ret = vs_media_write(&tc->audio_dest, tc->pkt, ist->time_base,
                                 tc->tmp);

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

    ret = tc->decode_video ? vs_tc_decode(tc, tc->vdec, NULL) : 0;
    if (ret >= 0 && tc->adec != NULL) {
        ret = vs_tc_decode(tc, tc->adec, NULL);
    }
    if (ret < 0) {
        return VS_TC_FAIL(tc, vs_tc_status(tc, ret),
                          "flushing the encoders failed: %s",
                          vs_av_err(ret, e, sizeof(e)));
    }

    if (tc->video_frames == 0) {
        return VS_TC_FAIL_INPUT(tc, VS_ERR_INPUT_CORRUPT,
                          "no decodable video frame in the input");
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
        tc->ofmt = NULL;
    }
    vs_hls_close(&tc->hls);
    vs_media_close(&tc->in);
    tc->ifmt = NULL;
    vs_media_video_close(&tc->video);
    avcodec_free_context(&tc->vdec);
    avcodec_free_context(&tc->adec);
    vs_media_audio_close(&tc->audio);
    av_packet_free(&tc->pkt);
    av_packet_free(&tc->opkt);
    av_packet_free(&tc->tmp);
    av_frame_free(&tc->frame);
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


/*
 * After the last packet: the trailers (the MP4's faststart rewrite, every
 * rendition's last segment and playlist), the poster, the master
 * playlist (it measures the finished segments).
 */
static vs_tc_status_t
vs_tc_finish(vs_tc_t *tc)
{
    const AVCodecParameters  *apar;
    AVRational                fps;
    vs_tc_status_t            status;
    char                      e[128];
    int                       ret, i;

    ret = av_write_trailer(tc->ofmt);
    if (ret < 0) {
        return VS_TC_FAIL(tc, vs_tc_status(tc, ret),
                          "cannot finish the MP4: %s",
                          vs_av_err(ret, e, sizeof(e)));
    }

    for (i = 0; i < tc->hls.n; i++) {
        ret = av_write_trailer(tc->hls.r[i].out);
        if (ret < 0) {
            return VS_TC_FAIL(tc, vs_tc_status(tc, ret), "hls: cannot finish "
                              "%s: %s", tc->hls.r[i].name,
                              vs_av_err(ret, e, sizeof(e)));
        }
    }

    if (tc->out->poster_path != NULL) {
        if (tc->video.poster->width <= 0) {
            return VS_TC_FAIL(tc, VS_TC_PERMANENT, "poster: no frame "
                              "decoded");
        }
        status = vs_poster_write(tc->video.poster, tc->out->poster_path,
                                 tc->res->error, sizeof(tc->res->error));
        if (status != VS_TC_OK) {
            return status;
        }
    }

    if (tc->hls.n > 0) {
        fps = tc->video.branch[0].enc->framerate;
        apar = tc->hls.r[0].aout != NULL ? tc->hls.r[0].aout->codecpar : NULL;
        if (vs_hls_master(&tc->hls, fps, apar, tc->res->error,
                          sizeof(tc->res->error)) != 0)
        {
            return VS_TC_TRANSIENT;
        }
        tc->res->renditions = tc->hls.n;
    }

    return VS_TC_OK;
}


/* One go at input: copied when may_remux and it conforms, else encoded. */
static vs_tc_status_t
vs_tc_transcode(const char *input, const vs_tc_outputs_t *out,
    const vs_tc_opts_t *opts, vs_tc_result_t *res, int may_remux)
{
    vs_tc_t         tc;
    vs_tc_status_t  status;

    memset(res, 0, sizeof(*res));
    memset(&tc, 0, sizeof(tc));
    tc.opts = opts;
    tc.out = out;
    tc.may_remux = may_remux;
    tc.res = res;
    tc.vin = -1;
    tc.ain = -1;
    tc.percent = -1;
    tc.a_copy_next = AV_NOPTS_VALUE;
    tc.in_last_us[0] = AV_NOPTS_VALUE;
    tc.in_last_us[1] = AV_NOPTS_VALUE;

    tc.pkt = av_packet_alloc();
    tc.opkt = av_packet_alloc();
    tc.tmp = av_packet_alloc();
    tc.frame = av_frame_alloc();
    if (tc.pkt == NULL || tc.opkt == NULL || tc.tmp == NULL
        || tc.frame == NULL)
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
    vs_tc_plan(&tc);

    status = vs_tc_open_outputs(&tc);
    if (status != VS_TC_OK) {
        goto cleanup;
    }

    status = vs_tc_run(&tc);
    if (status != VS_TC_OK) {
        goto cleanup;
    }

    status = vs_tc_finish(&tc);
    if (status != VS_TC_OK) {
        goto cleanup;
    }

    res->decoded_frames = tc.decoded;
    vs_tc_close(&tc);

    status = vs_tc_probe_output(&tc, out->mp4_path);
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

    res->decoded_frames = tc.decoded;
    vs_tc_close(&tc);
    if (status == VS_TC_PERMANENT && res->code == VS_ERR_NONE) {
        res->code = VS_ERR_TRANSCODE_FAILED;
    }
    return status;
}


vs_tc_status_t
vs_transcode(const char *input, const vs_tc_outputs_t *out,
    const vs_tc_opts_t *opts, vs_tc_result_t *res)
{
    vs_tc_status_t  status;

    /* what an earlier try left would be uploaded with the new outputs */
    if (out->hls_dir != NULL && vs_hls_clear(out->hls_dir) != 0) {
        memset(res, 0, sizeof(*res));
        snprintf(res->error, sizeof(res->error), "cannot clear %s: %s",
                 out->hls_dir, strerror(errno));
        return VS_TC_TRANSIENT;
    }

    status = vs_tc_transcode(input, out, opts, res, 1);

    /*
     * The copy failed on our side (packets the MP4 muxer refuses: video
     * timestamps out of order, say): decode and encode it instead, like
     * any other input, every output again from scratch. What the input
     * itself is to blame for stays.
     */
    if (status == VS_TC_PERMANENT && res->remuxed
        && res->code == VS_ERR_TRANSCODE_FAILED)
    {
        av_log(NULL, AV_LOG_WARNING, "copying the streams failed (%s): "
               "transcoding instead\n", res->error);
        if (out->hls_dir != NULL && vs_hls_clear(out->hls_dir) != 0) {
            snprintf(res->error, sizeof(res->error), "cannot clear %s: %s",
                     out->hls_dir, strerror(errno));
            return VS_TC_TRANSIENT;
        }
        status = vs_tc_transcode(input, out, opts, res, 0);
    }

    return status;
}
