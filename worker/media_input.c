/*
 * Opening an upload for reading, as hostile input (see media_input.h).
 *
 * The sequence: avio_open2() on the source with a protocol whitelist ->
 * av_probe_input_buffer2() on its first bytes (content only: a probe reads
 * a buffer, it cannot open anything) -> refuse what is not on the
 * allow-list, naming it -> avformat_open_input() with that format, our
 * AVIOContext, a format whitelist and an io_open that refuses everything
 * -> the pixel limit on the header -> avformat_find_stream_info() with
 * max_pixels in every decoder's options -> the pixel limit again.
 */
#include "media_input.h"

#include <libavutil/avstring.h>
#include <libavutil/opt.h>

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* Audio-only containers: refused as input_no_video, not as unknown. */
#define VS_MEDIA_AUDIO_FORMATS                                              \
    "mp3,aac,wav,w64,flac,aiff,ac3,eac3,dts,truehd,mlp,amr,ape,wv,tak,au,"    \
    "caf,voc,mpc,mpc8,tta,loas"


/* What a refused demuxer is, for a person (the rest: its long name). */
static const struct {
    const char  *name;
    const char  *what;
} vs_media_known[] = {
    { "hls",                "an HLS playlist" },
    { "dash",               "an MPEG-DASH manifest" },
    { "webm_dash_manifest", "a WebM DASH manifest" },
    { "concat",             "an ffconcat script" },
    { "sdp",                "an SDP session description" },
    { "rtsp",               "an RTSP session" },
    { "rtp",                "an RTP stream description" },
    { "image2",             "an image sequence" },
    { "tee",                "a tee specification" },
    { "data",               "a data: URI" },
    { "subfile",            "a subfile reference" },
    { "mpjpeg",             "a multipart JPEG stream" },
    { "tty",                "a text file" },
    { "srt",                "a subtitle file" },
    { "webvtt",             "a subtitle file" },
    { "ass",                "a subtitle file" },
    { NULL,                 NULL }
};


static vs_tc_status_t
vs_media_fail(vs_tc_result_t *res, vs_tc_status_t status,
    vs_error_code_t code, const char *fmt, ...)
{
    va_list  ap;

    if (res->error[0] == '\0') {
        va_start(ap, fmt);
        vsnprintf(res->error, sizeof(res->error), fmt, ap);
        va_end(ap);
    }
    if (status == VS_TC_PERMANENT && res->code == VS_ERR_NONE) {
        res->code = code;
    }

    return status;
}


int
vs_media_format_accepted(const char *name)
{
    return name != NULL && av_match_list(name, VS_MEDIA_FORMATS, ',') > 0;
}


void
vs_media_refusal(const char *name, const char *long_name, char *buf,
    size_t size)
{
    const char  *what = NULL;
    size_t       n;
    int          i;

    for (i = 0; vs_media_known[i].name != NULL && what == NULL; i++) {
        if (av_match_list(name, vs_media_known[i].name, ',') > 0) {
            what = vs_media_known[i].what;
        }
    }

    /* every image demuxer: png_pipe, jpeg_pipe, webp_pipe… */
    n = strlen(name);
    if (what == NULL && n > 5 && strcmp(name + n - 5, "_pipe") == 0) {
        what = "a still image";
    }

    if (what != NULL) {
        snprintf(buf, size, "the upload is %s (%s), which is not a video "
                 "file we accept", what, name);
    } else {
        snprintf(buf, size, "the upload is %s (%s), which is not a video "
                 "file we accept", long_name != NULL ? long_name : "a file",
                 name);
    }
}


/*
 * Every open an accepted demuxer might attempt besides the source (a MOV
 * data reference, a playlist entry) is refused: the source itself is
 * already open, as our AVIOContext.
 */
static int
vs_media_io_open(AVFormatContext *s, AVIOContext **pb, const char *url,
    int flags, AVDictionary **options)
{
    av_log(s, AV_LOG_WARNING, "refused a nested open of %s\n", url);
    return AVERROR(EPERM);
}


static int
vs_media_interrupt(void *opaque)
{
    const vs_tc_opts_t  *opts = opaque;

    return opts->interrupt != NULL && opts->interrupt(opts->opaque);
}


/*
 * An I/O error that may go away on a retry (the network, S3, a full disk)
 * as opposed to an input that will never decode. Shared with transcode.c.
 */
vs_tc_status_t
vs_media_classify(int err, int aborted)
{
    if (aborted || err == AVERROR_EXIT) {
        return VS_TC_ABORTED;
    }

    switch (err) {
    case AVERROR(EIO):
    case AVERROR(ETIMEDOUT):
    case AVERROR(ECONNRESET):
    case AVERROR(ECONNREFUSED):
    case AVERROR(EHOSTUNREACH):
    case AVERROR(ENETUNREACH):
    case AVERROR(EPIPE):
    case AVERROR(EAGAIN):
    case AVERROR(ENOSPC):
    case AVERROR(ENOMEM):
    case AVERROR(EMFILE):
    case AVERROR_HTTP_SERVER_ERROR:
    case AVERROR_HTTP_FORBIDDEN:         /* an expired presigned URL */
    case AVERROR_HTTP_UNAUTHORIZED:
    case AVERROR_HTTP_OTHER_4XX:         /* 429, 408… */
        return VS_TC_TRANSIENT;
    default:
        return VS_TC_PERMANENT;
    }
}


/* vs_media_classify() while opts may have asked us to stop */
static vs_tc_status_t
vs_media_status(int err, const vs_tc_opts_t *opts)
{
    return vs_media_classify(err, vs_media_interrupt((void *) opts));
}


static const char *
vs_media_err(int err, char *buf, size_t size)
{
    if (av_strerror(err, buf, size) < 0) {
        snprintf(buf, size, "error %d", err);
    }
    return buf;
}


/* "the video is 30000×30000 pixels; the limit is …", or 0 when within. */
static int
vs_media_too_large(const vs_tc_opts_t *opts, int64_t w, int64_t h,
    vs_tc_result_t *res)
{
    if (opts->max_pixels <= 0 || w <= 0 || h <= 0
        || w * h <= opts->max_pixels)
    {
        return 0;
    }

    vs_media_fail(res, VS_TC_PERMANENT, VS_ERR_INPUT_TOO_LARGE,
                  "the video is %" PRId64 "\xc3\x97%" PRId64 " pixels; "
                  "the limit is %" PRId64 " pixels in all", w, h,
                  opts->max_pixels);
    return 1;
}


/*
 * The size a YUV4MPEG2 header declares ("W30000 H30000"): the y4m demuxer
 * refuses a size that overflows its packet size with a bare error code,
 * before we could read the size from its stream.
 */
static int
vs_media_y4m_size(const uint8_t *buf, int size, int64_t *w, int64_t *h)
{
    char         line[256];
    const char  *p;
    int          n;

    n = size < (int) sizeof(line) - 1 ? size : (int) sizeof(line) - 1;
    memcpy(line, buf, n);
    line[n] = '\0';
    line[strcspn(line, "\n")] = '\0';

    *w = *h = 0;
    for (p = line; (p = strchr(p, ' ')) != NULL; p++) {
        if (p[1] == 'W') {
            *w = strtoll(p + 2, NULL, 10);
        } else if (p[1] == 'H') {
            *h = strtoll(p + 2, NULL, 10);
        }
    }

    return *w > 0 && *h > 0 ? 0 : -1;
}


/*
 * Some demuxers (FLV, MPEG-PS, a TS whose PMT comes late) create their
 * streams only as packets arrive, and avformat_find_stream_info() opens
 * the decoders of streams it finds itself without the options we give it:
 * without max_pixels. So such an input's packets are read (demuxed and
 * parsed, never decoded) until a video stream exists, then the input is
 * rewound to where its packets start, and the probe sees every stream.
 */
static vs_tc_status_t
vs_media_find_late_streams(vs_media_input_t *in, const vs_tc_opts_t *opts,
    vs_tc_result_t *res)
{
    AVPacket  *pkt;
    int64_t    start;
    int        ret = 0, n, i, video = 0;
    char       e[128];

    if (!(in->fmt->ctx_flags & AVFMTCTX_NOHEADER) || opts->max_pixels <= 0) {
        return VS_TC_OK;
    }

    pkt = av_packet_alloc();
    if (pkt == NULL) {
        return vs_media_fail(res, VS_TC_TRANSIENT, VS_ERR_NONE,
                             "out of memory");
    }

    start = avio_tell(in->pb);
    for (n = 0; n < VS_MEDIA_LATE_PACKETS && !video; n++) {
        for (i = 0; i < (int) in->fmt->nb_streams && !video; i++) {
            video = in->fmt->streams[i]->codecpar->codec_type
                    == AVMEDIA_TYPE_VIDEO;
        }
        if (video) {
            break;
        }
        ret = av_read_frame(in->fmt, pkt);
        if (ret < 0) {
            break;
        }
        av_packet_unref(pkt);
    }
    av_packet_free(&pkt);

    if (ret < 0 && ret != AVERROR_EOF
        && vs_media_status(ret, opts) != VS_TC_PERMANENT)
    {
        return vs_media_fail(res, vs_media_status(ret, opts), VS_ERR_NONE,
                             "cannot read the upload: %s",
                             vs_media_err(ret, e, sizeof(e)));
    }

    if (n > 0) {
        ret = av_seek_frame(in->fmt, -1, start, AVSEEK_FLAG_BYTE);
        if (ret < 0) {
            return vs_media_fail(res, vs_media_status(ret, opts),
                                 VS_ERR_INPUT_CORRUPT,
                                 "cannot rewind the %s file: %s",
                                 in->fmt->iformat->long_name,
                                 vs_media_err(ret, e, sizeof(e)));
        }
    }

    return VS_TC_OK;
}


vs_tc_status_t
vs_media_open(vs_media_input_t *in, const char *url,
    const vs_tc_opts_t *opts, vs_tc_result_t *res)
{
    const AVInputFormat  *ifmt = NULL;
    AVIOInterruptCB       cb = { vs_media_interrupt, (void *) opts };
    AVDictionary         *o = NULL, **sopts = NULL;
    AVCodecParameters    *par;
    uint8_t               head[256];
    char                  e[128], v[32];
    int64_t               w, h;
    int                   ret, i, nstreams = 0, nhead;
    vs_tc_status_t        status;

    memset(in, 0, sizeof(*in));

    av_dict_set(&o, "protocol_whitelist", VS_MEDIA_PROTOCOLS, 0);
    if (strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0) {
        /* give up on a stalled connection, resume on a drop */
        av_dict_set(&o, "rw_timeout", "30000000", 0);
        av_dict_set(&o, "reconnect", "1", 0);
        av_dict_set(&o, "reconnect_on_network_error", "1", 0);
        av_dict_set(&o, "reconnect_delay_max", "8", 0);
    }

    ret = avio_open2(&in->pb, url, AVIO_FLAG_READ, &cb, &o);
    av_dict_free(&o);
    if (ret < 0) {
        status = vs_media_status(ret, opts);
        return vs_media_fail(res, status, VS_ERR_INPUT_MISSING,
                             "cannot open the upload: %s",
                             vs_media_err(ret, e, sizeof(e)));
    }

    /* by content alone: no file name, so an .mp4 name proves nothing */
    ret = av_probe_input_buffer2(in->pb, &ifmt, "", NULL, 0,
                                 VS_MEDIA_PROBESIZE);
    if (ret < 0 || ifmt == NULL) {
        status = ret == AVERROR_INVALIDDATA || ret == AVERROR_EOF
                 ? VS_TC_PERMANENT : vs_media_status(ret, opts);
        return vs_media_fail(res, status, VS_ERR_INPUT_UNSUPPORTED,
                             "input is not a recognised video file (unknown "
                             "format, damaged or truncated)");
    }

    if (av_match_list(ifmt->name, VS_MEDIA_AUDIO_FORMATS, ',') > 0) {
        return vs_media_fail(res, VS_TC_PERMANENT, VS_ERR_INPUT_NO_VIDEO,
                             "the upload is an audio file (%s) with no "
                             "video", ifmt->name);
    }

    if (!vs_media_format_accepted(ifmt->name)) {
        vs_media_refusal(ifmt->name, ifmt->long_name, res->error,
                         sizeof(res->error));
        res->code = VS_ERR_INPUT_UNSUPPORTED;
        return VS_TC_PERMANENT;
    }

    /* the header as the probe left it buffered, for the y4m message */
    nhead = 0;
    if (strcmp(ifmt->name, "yuv4mpegpipe") == 0) {
        nhead = avio_read(in->pb, head, sizeof(head));
        if (nhead < 0 || avio_seek(in->pb, 0, SEEK_SET) < 0) {
            return vs_media_fail(res, VS_TC_TRANSIENT, VS_ERR_NONE,
                                 "cannot rewind the upload");
        }
    }

    in->fmt = avformat_alloc_context();
    if (in->fmt == NULL) {
        return vs_media_fail(res, VS_TC_TRANSIENT, VS_ERR_NONE,
                             "out of memory");
    }

    in->fmt->pb = in->pb;
    in->fmt->interrupt_callback = cb;
    in->fmt->io_open = vs_media_io_open;
    in->fmt->probesize = VS_MEDIA_PROBESIZE;
    in->fmt->max_analyze_duration = VS_MEDIA_ANALYZE_US;
    in->fmt->max_streams = VS_MEDIA_MAX_STREAMS;

    av_dict_set(&o, "format_whitelist", VS_MEDIA_FORMATS, 0);
    av_dict_set(&o, "protocol_whitelist", VS_MEDIA_PROTOCOLS, 0);
    ret = avformat_open_input(&in->fmt, url, ifmt, &o);
    av_dict_free(&o);

    if (ret < 0) {
        /* avformat_open_input frees the context on failure */
        in->fmt = NULL;

        if (nhead > 0 && vs_media_y4m_size(head, nhead, &w, &h) == 0
            && vs_media_too_large(opts, w, h, res))
        {
            return VS_TC_PERMANENT;
        }

        status = vs_media_status(ret, opts);
        if (ret == AVERROR(ENOMEM)) {
            /* what max_streams refuses ends here too (the demuxers
               report a NULL avformat_new_stream() as ENOMEM) */
            status = VS_TC_PERMANENT;
            return vs_media_fail(res, status, VS_ERR_INPUT_TOO_LARGE,
                                 "the %s file has more streams than the "
                                 "limit of %d, or needs more memory than "
                                 "a job may use", ifmt->long_name,
                                 VS_MEDIA_MAX_STREAMS);
        }
        if (ret == AVERROR_INVALIDDATA) {
            return vs_media_fail(res, status, VS_ERR_INPUT_CORRUPT,
                                 "input is not a recognised video file "
                                 "(it looks like %s, but is damaged or "
                                 "truncated)", ifmt->long_name);
        }
        return vs_media_fail(res, status, VS_ERR_INPUT_CORRUPT,
                             "the %s file cannot be read: %s",
                             ifmt->long_name, vs_media_err(ret, e, sizeof(e)));
    }

    /* what the container's header declares: before any decoding */
    for (i = 0; i < (int) in->fmt->nb_streams; i++) {
        par = in->fmt->streams[i]->codecpar;
        if (par->codec_type == AVMEDIA_TYPE_VIDEO
            && vs_media_too_large(opts, par->width, par->height, res))
        {
            return VS_TC_PERMANENT;
        }
    }

    status = vs_media_find_late_streams(in, opts, res);
    if (status != VS_TC_OK) {
        return status;
    }

    /* every decoder the probe opens refuses a picture over the limit */
    nstreams = in->fmt->nb_streams;
    if (opts->max_pixels > 0 && nstreams > 0) {
        sopts = av_calloc(nstreams, sizeof(*sopts));
        if (sopts == NULL) {
            return vs_media_fail(res, VS_TC_TRANSIENT, VS_ERR_NONE,
                                 "out of memory");
        }
        snprintf(v, sizeof(v), "%" PRId64, opts->max_pixels);
        for (i = 0; i < nstreams; i++) {
            av_dict_set(&sopts[i], "max_pixels", v, 0);
        }
    }

    ret = avformat_find_stream_info(in->fmt, sopts);

    for (i = 0; sopts != NULL && i < nstreams; i++) {
        av_dict_free(&sopts[i]);
    }
    av_freep(&sopts);

    if (ret < 0) {
        status = vs_media_status(ret, opts);
        return vs_media_fail(res, status, VS_ERR_INPUT_CORRUPT,
                             "cannot read the streams of the %s file: %s",
                             ifmt->long_name,
                             vs_media_err(ret, e, sizeof(e)));
    }

    /* the decoders' view, which streams added while probing share */
    for (i = 0; i < (int) in->fmt->nb_streams; i++) {
        par = in->fmt->streams[i]->codecpar;
        if (par->codec_type == AVMEDIA_TYPE_VIDEO
            && vs_media_too_large(opts, par->width, par->height, res))
        {
            return VS_TC_PERMANENT;
        }
    }

    if (vs_media_interrupt((void *) opts)) {
        return vs_media_fail(res, VS_TC_ABORTED, VS_ERR_NONE, "aborted");
    }

    return VS_TC_OK;
}


void
vs_media_close(vs_media_input_t *in)
{
    /* custom I/O: avformat_close_input() leaves in->pb to us */
    avformat_close_input(&in->fmt);
    avio_closep(&in->pb);
}
