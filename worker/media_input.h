/*
 * Opening an upload for reading, as hostile input (issue 11).
 *
 * An upload is bytes a user chose. libavformat, left to itself, detects
 * playlists and manifests (HLS, DASH, ffconcat, SDP) by content and then
 * fetches whatever URLs they name, and decodes a picture whose header
 * claims any size before a limit applies. So the source is opened here
 * with:
 *
 *   - our own AVIOContext on the one source URL (protocols http, https,
 *     tcp, tls, file), probed by content only, and refused unless the
 *     demuxer is on the allow-list below;
 *   - an io_open callback that refuses every nested open, so no accepted
 *     demuxer can reach another URL or file either;
 *   - bounded probesize, analyzeduration and max_streams, and the pixel
 *     limit checked on the container's header and passed to every
 *     decoder avformat_find_stream_info opens, so a picture over the
 *     limit is refused before its memory is allocated.
 */
#ifndef VS_MEDIA_INPUT_H
#define VS_MEDIA_INPUT_H

#include <stddef.h>

#include <libavformat/avformat.h>

#include "transcode.h"

/* The demuxers we accept (libavformat names, av_match_list() syntax). */
#define VS_MEDIA_FORMATS                                                    \
    "mov,mp4,3gp,matroska,webm,avi,mpegts,mpeg,flv,ogg,asf,dv,mxf,nut,"       \
    "yuv4mpegpipe,h264,hevc,m4v,mpegvideo,ivf"

/* Protocols the source URL itself may use: presigned S3, or a local file. */
#define VS_MEDIA_PROTOCOLS  "http,https,tcp,tls,file"

/* Bounds on what probing may read and keep (FFmpeg's defaults, explicit). */
#define VS_MEDIA_PROBESIZE      5000000
#define VS_MEDIA_ANALYZE_US     (5 * 1000000LL)
#define VS_MEDIA_MAX_STREAMS    64
#define VS_MEDIA_LATE_PACKETS   1024    /* read to find a late video stream */

typedef struct {
    AVFormatContext  *fmt;      /* demuxer, streams probed */
    AVIOContext      *pb;       /* ours (custom I/O): closed after fmt */
} vs_media_input_t;

/*
 * 1 when the demuxer called name (an AVInputFormat name, possibly a
 * comma-separated list of aliases) is one we accept, else 0.
 */
int vs_media_format_accepted(const char *name);

/*
 * The sentence that refuses a demuxer we do not accept: "the upload is an
 * HLS playlist (hls), which is not a video file we accept". Pure: for the
 * unit tests too.
 */
void vs_media_refusal(const char *name, const char *long_name, char *buf,
    size_t size);

/*
 * Opens url, probes its streams and checks the pixel limit. On
 * VS_TC_PERMANENT, res->code and res->error say why; in every case
 * vs_media_close() releases what was opened.
 */
vs_tc_status_t vs_media_open(vs_media_input_t *in, const char *url,
    const vs_tc_opts_t *opts, vs_tc_result_t *res);

void vs_media_close(vs_media_input_t *in);

/*
 * What a libav error means for the job: VS_TC_TRANSIENT for I/O that a
 * retry may cure, VS_TC_ABORTED when aborted, else VS_TC_PERMANENT.
 */
vs_tc_status_t vs_media_classify(int err, int aborted);

#endif
