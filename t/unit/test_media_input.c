/*
 * worker/media_input: which demuxers an upload may use (issue 11), and the
 * sentence that refuses the others.
 */
#include "vs_test.h"
#include "media_input.h"

#include <libavformat/avformat.h>
#include <libavutil/avstring.h>

#include <string.h>


/* What libavformat's own probe says the bytes are (content only). */
static const char *
probe(const char *bytes, size_t size)
{
    static uint8_t        buf[4096 + AVPROBE_PADDING_SIZE];
    AVProbeData           pd = { "", buf, 0, NULL };
    const AVInputFormat  *fmt;
    int                   score = 0;

    memset(buf, 0, sizeof(buf));
    memcpy(buf, bytes, size);
    pd.buf_size = (int) size;
    fmt = av_probe_input_format3(&pd, 1, &score);
    return fmt != NULL ? fmt->name : "(none)";
}


static void
test_allow_list(void)
{
    static const char  *accepted[] = {
        "mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "avi", "mpegts",
        "mpeg", "flv", "ogg", "asf", "dv", "mxf", "nut", "yuv4mpegpipe",
        "h264", "hevc", "m4v", "mpegvideo", "ivf", NULL
    };
    static const char  *refused[] = {
        "hls", "dash", "webm_dash_manifest", "concat", "sdp", "rtsp", "rtp",
        "image2", "image2pipe", "png_pipe", "jpeg_pipe", "webp_pipe", "tee",
        "data", "subfile", "mpjpeg", "tty", "mpegtsraw", "live_flv",
        "asf_o", "rawvideo", "lavfi", "mp3", "wav", "srt", "", NULL
    };
    int                 i;

    for (i = 0; accepted[i] != NULL; i++) {
        if (!vs_media_format_accepted(accepted[i])) {
            fprintf(stderr, "not accepted: %s\n", accepted[i]);
        }
        CHECK(vs_media_format_accepted(accepted[i]));
    }
    for (i = 0; refused[i] != NULL; i++) {
        if (vs_media_format_accepted(refused[i])) {
            fprintf(stderr, "accepted: %s\n", refused[i]);
        }
        CHECK(!vs_media_format_accepted(refused[i]));
    }
    CHECK(!vs_media_format_accepted(NULL));
}


/* Every name on the list is a demuxer this libavformat has: no typo. */
static void
test_list_names_demuxers(void)
{
    const AVInputFormat  *fmt;
    void                 *it;
    char                  list[] = VS_MEDIA_FORMATS, *name, *save = NULL;
    int                   found;

    for (name = strtok_r(list, ",", &save); name != NULL;
         name = strtok_r(NULL, ",", &save))
    {
        found = 0;
        it = NULL;
        while ((fmt = av_demuxer_iterate(&it)) != NULL && !found) {
            found = av_match_list(name, fmt->name, ',') > 0;
        }
        if (!found) {
            fprintf(stderr, "no demuxer called %s\n", name);
        }
        CHECK(found);
    }
}


static void
test_refusal(void)
{
    char  buf[256];

    vs_media_refusal("hls", "Apple HTTP Live Streaming", buf, sizeof(buf));
    CHECK_STR(buf, "the upload is an HLS playlist (hls), which is not a "
                   "video file we accept");
    vs_media_refusal("dash", "Dynamic Adaptive Streaming over HTTP", buf,
                     sizeof(buf));
    CHECK_STR(buf, "the upload is an MPEG-DASH manifest (dash), which is "
                   "not a video file we accept");
    vs_media_refusal("png_pipe", "piped png sequence", buf, sizeof(buf));
    CHECK_STR(buf, "the upload is a still image (png_pipe), which is not "
                   "a video file we accept");
    vs_media_refusal("gif", "CompuServe Graphics Interchange Format (GIF)",
                     buf, sizeof(buf));
    CHECK_STR(buf, "the upload is CompuServe Graphics Interchange Format "
                   "(GIF) (gif), which is not a video file we accept");

    /* never more than the buffer */
    vs_media_refusal("concat", "Virtual concatenation script", buf, 16);
    CHECK(strlen(buf) == 15);
}


/* The uploads of the report, as libavformat's probe sees their bytes. */
static void
test_probe_refuses(void)
{
    static const char  hls[] = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n"
                               "#EXTINF:2,\nhttp://127.0.0.1:9/a.ts\n";
    static const char  dash[] = "<?xml version=\"1.0\"?>\n<MPD xmlns=\""
                                "urn:mpeg:dash:schema:mpd:2011\" type=\""
                                "static\" profiles=\"urn:mpeg:dash:"
                                "profile:isoff-on-demand:2011\"><BaseURL>"
                                "http://127.0.0.1:9/</BaseURL></MPD>\n";
    static const char  concat[] = "ffconcat version 1.0\n"
                                  "file http://127.0.0.1:9/a.mp4\n";
    static const char  y4m[] = "YUV4MPEG2 W30000 H30000 F25:1 C420jpeg\n"
                               "FRAME\n";

    CHECK_STR(probe(hls, sizeof(hls) - 1), "hls");
    CHECK(!vs_media_format_accepted(probe(hls, sizeof(hls) - 1)));
    CHECK_STR(probe(dash, sizeof(dash) - 1), "dash");
    CHECK(!vs_media_format_accepted(probe(dash, sizeof(dash) - 1)));
    CHECK_STR(probe(concat, sizeof(concat) - 1), "concat");
    CHECK(!vs_media_format_accepted(probe(concat, sizeof(concat) - 1)));

    /* accepted: its size is what media_input checks next */
    CHECK(vs_media_format_accepted(probe(y4m, sizeof(y4m) - 1)));
}


int
main(void)
{
    test_allow_list();
    test_list_names_demuxers();
    test_refusal();
    test_probe_refuses();
    return VS_TEST_DONE();
}
