/*
 * A JPEG from one picture (see media_poster.h): swscale to full-range
 * yuvj420p, the mjpeg encoder at a fixed quality, one packet, one file.
 */
#include "media_poster.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libswscale/swscale.h>


vs_tc_status_t
vs_poster_write(const AVFrame *picture, const char *path, char *error,
    size_t error_size)
{
    const AVCodec      *codec;
    AVCodecContext     *enc = NULL;
    AVFrame            *jpeg = NULL;
    AVPacket           *pkt = NULL;
    struct SwsContext  *sws = NULL;
    FILE               *f;
    char                e[128];
    int                 ret, ok;
    vs_tc_status_t      status = VS_TC_PERMANENT;

    jpeg = av_frame_alloc();
    pkt = av_packet_alloc();
    if (jpeg == NULL || pkt == NULL) {
        snprintf(error, error_size, "poster: out of memory");
        status = VS_TC_TRANSIENT;
        goto cleanup;
    }

    codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
    enc = codec != NULL ? avcodec_alloc_context3(codec) : NULL;
    if (enc == NULL) {
        snprintf(error, error_size, "poster: no JPEG encoder");
        goto cleanup;
    }

    enc->width = picture->width;
    enc->height = picture->height;
    enc->pix_fmt = AV_PIX_FMT_YUVJ420P;
    enc->time_base = av_make_q(1, 25);
    enc->flags |= AV_CODEC_FLAG_QSCALE;
    enc->global_quality = FF_QP2LAMBDA * 3;

    ret = avcodec_open2(enc, codec, NULL);
    if (ret < 0) {
        av_strerror(ret, e, sizeof(e));
        snprintf(error, error_size, "poster: cannot open the JPEG encoder: "
                 "%s", e);
        goto cleanup;
    }

    /* limited-range yuv420p to the full-range JPEG format */
    jpeg->format = AV_PIX_FMT_YUVJ420P;
    jpeg->width = enc->width;
    jpeg->height = enc->height;
    jpeg->quality = enc->global_quality;
    jpeg->pts = 0;
    sws = sws_getContext(picture->width, picture->height, picture->format,
                         enc->width, enc->height, AV_PIX_FMT_YUVJ420P,
                         SWS_BICUBIC, NULL, NULL, NULL);
    if (sws == NULL || av_frame_get_buffer(jpeg, 0) < 0
        || sws_scale(sws, (const uint8_t * const *) picture->data,
                     picture->linesize, 0, picture->height, jpeg->data,
                     jpeg->linesize) <= 0)
    {
        snprintf(error, error_size, "poster: pixel format conversion "
                 "failed");
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
        av_strerror(ret, e, sizeof(e));
        snprintf(error, error_size, "poster: JPEG encoding failed: %s", e);
        goto cleanup;
    }

    f = fopen(path, "wb");
    if (f == NULL) {
        snprintf(error, error_size, "poster: cannot create %s: %s", path,
                 strerror(errno));
        status = VS_TC_TRANSIENT;
        goto cleanup;
    }

    ok = fwrite(pkt->data, 1, pkt->size, f) == (size_t) pkt->size;
    if (fclose(f) != 0 || !ok) {
        snprintf(error, error_size, "poster: cannot write %s: %s", path,
                 strerror(errno));
        status = VS_TC_TRANSIENT;
        goto cleanup;
    }

    status = VS_TC_OK;

cleanup:

    av_packet_free(&pkt);
    av_frame_free(&jpeg);
    sws_freeContext(sws);
    avcodec_free_context(&enc);
    return status;
}
