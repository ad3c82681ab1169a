/*
 * The video graph and its branches (see media_video.h): the graph as in
 * FFmpeg's transcoding.c, one buffersink per branch after a split, each
 * branch's pictures timed for libx264 and encoded through media_encode.c.
 */
#include "media_video.h"

#include <errno.h>
#include <stdio.h>

#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>


/*
 * Whether the frame at pts (in tb) starts a segment of every_ms: the first
 * frame at or after each multiple, compared exactly (the HLS muxer cuts
 * at the first keyframe whose time reaches the boundary).
 */
static int
vs_video_force_key(int64_t pts, AVRational tb, int every_ms, int64_t *next_ms)
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


/*
 * Keeps a reference to the poster's picture: the latest one until one at
 * or after 10% of the duration is reached (a short video ends with its
 * last).
 */
static int
vs_video_poster_pick(vs_media_video_t *v, AVFrame *picture, AVRational tb)
{
    int  ret;

    av_frame_unref(v->poster);
    ret = av_frame_ref(v->poster, picture);
    if (ret < 0) {
        return ret;
    }

    if (picture->pts != AV_NOPTS_VALUE
        && av_compare_ts(picture->pts, tb, v->poster_us, AV_TIME_BASE_Q)
           >= 0)
    {
        v->poster_done = 1;
    }

    return 0;
}


/* Pulls what branch b of the graph has ready and encodes it; flush at EOF. */
static int
vs_video_drain_branch(vs_media_video_t *v, vs_media_branch_t *b, int flush)
{
    AVRational       tb = av_buffersink_get_time_base(b->sink);
    AVCodecContext  *enc = b->enc;
    int              ret;

    for ( ;; ) {
        ret = av_buffersink_get_frame(b->sink, v->filtered);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) {
            break;
        }
        if (ret < 0) {
            return ret;
        }

        if (b == &v->branch[0] && v->want_poster
            && !v->poster_done) {
            ret = vs_video_poster_pick(v, v->filtered, tb);
            if (ret < 0) {
                av_frame_unref(v->filtered);
                return ret;
            }
        }

        if (enc == NULL) {
            av_frame_unref(v->filtered);
            continue;
        }

        if (v->filtered->pts != AV_NOPTS_VALUE) {
            v->filtered->pts = av_rescale_q(v->filtered->pts, tb,
                                             enc->time_base);
        }
        v->filtered->pict_type = AV_PICTURE_TYPE_NONE;

        /* libx264 needs strictly increasing timestamps: a picture without
           one (a raw H.264 stream has none) comes one frame after the
           last, a repeated or earlier one is dropped (as the ffmpeg
           tool's frame rate logic does). Every branch gets the same
           pictures, so every branch drops the same ones. */
        if (v->filtered->pts == AV_NOPTS_VALUE) {
            v->filtered->pts = b->v_last != AV_NOPTS_VALUE
                                ? b->v_last + b->v_step : 0;
        }
        if (b->v_last != AV_NOPTS_VALUE && v->filtered->pts <= b->v_last) {
            av_frame_unref(v->filtered);
            continue;
        }
        b->v_last = v->filtered->pts;

        /* the same instants in every branch: renditions cut alike */
        if (b->keyframe_ms > 0
            && vs_video_force_key(v->filtered->pts, enc->time_base,
                               b->keyframe_ms, &b->next_key_ms))
        {
            v->filtered->pict_type = AV_PICTURE_TYPE_I;
        }

        ret = vs_media_encode(enc, v->filtered, &b->dest, v->pkt,
                              v->tmp);
        av_frame_unref(v->filtered);
        if (ret < 0) {
            return ret;
        }
    }

    return flush && enc != NULL
           ? vs_media_encode(enc, NULL, &b->dest, v->pkt, v->tmp) : 0;
}


/* Every branch, in order: the MP4's (and the poster's) first. */
static int
vs_video_drain(vs_media_video_t *v, int flush)
{
    int  i, ret;

    for (i = 0; i < v->n; i++) {
        ret = vs_video_drain_branch(v, &v->branch[i], flush);
        if (ret < 0) {
            return ret;
        }
    }
    return 0;
}


/*
 * buffer -> [rotation] -> [fps] -> split -> per branch: scale ->
 * format=yuv420p -> buffersink. Rotation and the frame rate cap are done
 * once for every branch; each branch scales from the source's pixels.
 */
int
vs_media_video_graph(vs_media_video_t *v, const AVCodecContext *dec,
    AVRational tb, AVRational fps, int rotation, int max_fps, int threads,
    char *chain, size_t chain_size, int *oom)
{
    AVFilterContext  *sinks[VS_MEDIA_BRANCHES_MAX];
    AVRational        sar;
    char              args[512], pre[128];
    const char       *rotate;
    size_t            len;
    int               ret, i;

    *oom = 0;
    chain[0] = '\0';

    v->filtered = av_frame_alloc();
    v->poster = av_frame_alloc();
    v->pkt = av_packet_alloc();
    v->tmp = av_packet_alloc();
    v->graph = avfilter_graph_alloc();
    if (v->filtered == NULL || v->poster == NULL || v->pkt == NULL
        || v->tmp == NULL || v->graph == NULL)
    {
        *oom = 1;
        return AVERROR(ENOMEM);
    }
    v->graph->nb_threads = threads;

    sar = dec->sample_aspect_ratio;
    snprintf(args, sizeof(args),
             "video_size=%dx%d:pix_fmt=%d:time_base=%d/%d:"
             "pixel_aspect=%d/%d", dec->width, dec->height, dec->pix_fmt,
             tb.num, tb.den, sar.num > 0 ? sar.num : 1,
             sar.den > 0 ? sar.den : 1);

    ret = avfilter_graph_create_filter(&v->src,
                                       avfilter_get_by_name("buffer"),
                                       "in", args, NULL, v->graph);
    if (ret < 0) {
        return ret;
    }

    for (i = 0; i < v->n; i++) {
        snprintf(args, sizeof(args), "out%d", i);
        ret = avfilter_graph_create_filter(&v->branch[i].sink,
                                           avfilter_get_by_name("buffersink"),
                                           args, NULL, NULL, v->graph);
        if (ret < 0) {
            return ret;
        }
        sinks[i] = v->branch[i].sink;
        v->branch[i].v_last = AV_NOPTS_VALUE;
    }

    switch (rotation) {
    case 90:  rotate = "transpose=clock,"; break;
    case 180: rotate = "hflip,vflip,"; break;
    case 270: rotate = "transpose=cclock,"; break;
    default:  rotate = ""; break;
    }

    /* the frame rate cap: only a faster input gets an fps filter */
    if (fps.num > 0 && fps.den > 0
        && av_cmp_q(fps, av_make_q(max_fps, 1)) > 0)
    {
        snprintf(pre, sizeof(pre), "%sfps=%d,", rotate, max_fps);
    } else {
        snprintf(pre, sizeof(pre), "%s", rotate);
    }

    if (v->n == 1) {
        snprintf(chain, chain_size, "[in]%sscale=%d:%d:flags=bicubic,"
                 "format=yuv420p[out0]", pre, v->branch[0].width,
                 v->branch[0].height);

    } else {
        len = snprintf(chain, chain_size, "[in]%ssplit=%d", pre, v->n);
        for (i = 0; i < v->n && len < chain_size; i++) {
            len += snprintf(chain + len, chain_size - len, "[s%d]", i);
        }
        for (i = 0; i < v->n && len < chain_size; i++) {
            len += snprintf(chain + len, chain_size - len,
                            ";[s%d]scale=%d:%d:flags=bicubic,"
                            "format=yuv420p[out%d]", i, v->branch[i].width,
                            v->branch[i].height, i);
        }
        if (len >= chain_size) {
            return AVERROR(ENAMETOOLONG);
        }
    }

    return vs_media_link_graph(v->graph, v->src, sinks, v->n, chain, oom);
}


void
vs_media_video_want(vs_media_video_t *v, int i, int max_fps,
    vs_media_x264_t *want)
{
    AVFilterContext  *sink = v->branch[i].sink;
    AVRational        fps, cap;

    fps = av_buffersink_get_frame_rate(sink);
    cap = av_make_q(max_fps, 1);
    if (fps.num <= 0 || fps.den <= 0 || av_cmp_q(fps, cap) > 0) {
        fps = fps.num > 0 && fps.den > 0 ? cap : av_make_q(25, 1);
    }

    want->width = av_buffersink_get_w(sink);
    want->height = av_buffersink_get_h(sink);
    want->time_base = av_buffersink_get_time_base(sink);
    want->framerate = fps;
    want->sample_aspect_ratio = av_buffersink_get_sample_aspect_ratio(sink);
}


int
vs_media_video_open(vs_media_video_t *v, int i, const vs_media_x264_t *want)
{
    vs_media_branch_t  *b = &v->branch[i];
    int                 ret;

    ret = vs_media_open_x264(want, &b->enc);
    if (ret < 0) {
        return ret;
    }

    b->keyframe_ms = want->keyframe_ms;
    b->v_step = av_rescale_q(1, av_inv_q(want->framerate), b->enc->time_base);
    if (b->v_step < 1) {
        b->v_step = 1;
    }
    return 0;
}


int
vs_media_video_push(vs_media_video_t *v, AVFrame *picture)
{
    int  ret;

    /* NULL: the graph flushes, then every encoder */
    ret = av_buffersrc_add_frame_flags(v->src, picture,
                                       picture != NULL
                                       ? AV_BUFFERSRC_FLAG_KEEP_REF : 0);
    if (ret < 0) {
        return ret;
    }

    return vs_video_drain(v, picture == NULL);
}


void
vs_media_video_close(vs_media_video_t *v)
{
    int  i;

    for (i = 0; i < VS_MEDIA_BRANCHES_MAX; i++) {
        avcodec_free_context(&v->branch[i].enc);
    }
    avfilter_graph_free(&v->graph);
    av_frame_free(&v->filtered);
    av_frame_free(&v->poster);
    av_packet_free(&v->pkt);
    av_packet_free(&v->tmp);
}
