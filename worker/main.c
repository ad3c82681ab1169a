/*
 * vidstream-worker: the SQS consumer that transcodes uploads (CONTRACT.md
 * sections 4-7), and `transcode IN OUT.mp4`, the same pipeline on local
 * files (benchmarks, debugging).
 */
#include "config.h"
#include "consumer.h"
#include "log.h"
#include "transcode.h"

#include <libavutil/log.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* libav* errors become JSON log lines like everything else */
static void
vs_av_log(void *avcl, int level, const char *fmt, va_list ap)
{
    static __thread int  print_prefix = 1;
    char                 line[1024];
    size_t               len;

    if (level > av_log_get_level()) {
        return;
    }

    av_log_format_line2(avcl, level, fmt, ap, line, sizeof(line),
                        &print_prefix);
    len = strlen(line);
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
        line[--len] = '\0';
    }
    if (len > 0) {
        vs_log(level <= AV_LOG_ERROR ? VS_LOG_WARN : VS_LOG_DEBUG, NULL,
               "ffmpeg", "%s", line);
    }
}


static void
vs_usage(FILE *out)
{
    fprintf(out,
        "usage: vidstream-worker            consume the queue until SIGTERM\n"
        "       vidstream-worker --once     handle one message, then exit\n"
        "       vidstream-worker transcode IN OUT.mp4 [THUMB.jpg [HLS_DIR]]\n"
        "                                   the same pipeline on local files\n"
        "       vidstream-worker --help\n\n");
    vs_config_usage(out);
}


static void
vs_tc_opts_from_config(vs_tc_opts_t *opts, const vs_config_t *cfg)
{
    vs_tc_opts_init(opts);
    opts->max_height = cfg->max_height;
    opts->max_fps = cfg->max_fps;
    opts->max_duration_ms = cfg->max_duration_ms;
    opts->max_pixels = cfg->max_pixels;
    opts->crf = cfg->crf;
    opts->preset = cfg->preset;
    opts->audio_bitrate = cfg->audio_bitrate;
    opts->allow_remux = cfg->remux;
    opts->threads = cfg->threads;
}


/* `transcode IN OUT.mp4 [THUMB.jpg [HLS_DIR]]`: exit 0 done, 1 failed. */
static int
vs_transcode_command(const vs_config_t *cfg, int argc, char **argv)
{
    vs_tc_opts_t    opts;
    vs_tc_result_t  res;
    vs_tc_status_t  status;
    struct stat     st;
    vs_tc_outputs_t outputs;
    json_t         *fields;

    if (argc < 2 || argc > 4) {
        vs_usage(stderr);
        return 2;
    }

    vs_tc_opts_from_config(&opts, cfg);
    if (argc >= 4) {
        /* HLS: keyframes on the segment boundaries */
        opts.keyframe_ms = cfg->hls_segment * 1000;
    }

    if (stat(argv[0], &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0) {
        vs_log(VS_LOG_ERROR, NULL, "transcode", "input is empty (0 bytes)");
        return 1;
    }

    if (stat(argv[0], &st) == 0 && S_ISREG(st.st_mode)
        && st.st_size > cfg->max_input_bytes)
    {
        vs_log(VS_LOG_ERROR, NULL, "transcode", "input is %lld bytes, over "
               "the limit of %lld", (long long) st.st_size,
               (long long) cfg->max_input_bytes);
        return 1;
    }

    memset(&outputs, 0, sizeof(outputs));
    outputs.mp4_path = argv[1];
    outputs.poster_path = argc >= 3 ? argv[2] : NULL;
    if (argc >= 4) {
        if (mkdir(argv[3], 0755) != 0 && errno != EEXIST) {
            vs_log(VS_LOG_ERROR, NULL, "hls", "mkdir %s: %s", argv[3],
                   strerror(errno));
            return 1;
        }
        outputs.hls_dir = argv[3];
        outputs.hls_fmp4 = cfg->hls_fmp4;
        outputs.hls_segment = cfg->hls_segment;
        outputs.hls_ladder = cfg->hls_ladder;
    }

    status = vs_transcode(argv[0], &outputs, &opts, &res);
    if (status != VS_TC_OK) {
        vs_log(VS_LOG_ERROR, NULL, "transcode", "%s%s", res.error,
               status == VS_TC_TRANSIENT ? " (transient)" : "");
        return 1;
    }

    fields = json_pack("{s:I, s:i, s:i, s:b, s:b, s:I, s:i}",
                       "duration_ms", (json_int_t) res.duration_ms,
                       "width", res.width, "height", res.height,
                       "audio", res.has_audio, "remuxed", res.remuxed,
                       "decoded_frames", (json_int_t) res.decoded_frames,
                       "renditions", res.renditions);
    vs_log_fields(VS_LOG_INFO, NULL, "transcode", fields, "wrote %s", argv[1]);

    return 0;
}


int
main(int argc, char **argv)
{
    vs_config_t  cfg;
    char         err[256];
    int          need_aws, once = 0;

    if (argc >= 2 && (strcmp(argv[1], "--help") == 0
                      || strcmp(argv[1], "-h") == 0))
    {
        vs_usage(stdout);
        return 0;
    }

    need_aws = !(argc >= 2 && strcmp(argv[1], "transcode") == 0);

    if (argc >= 2 && need_aws) {
        if (argc == 2 && strcmp(argv[1], "--once") == 0) {
            once = 1;
        } else {
            vs_usage(stderr);
            return 2;
        }
    }

    if (vs_config_load(&cfg, need_aws, err, sizeof(err)) != 0) {
        vs_log(VS_LOG_ERROR, NULL, "config", "%s", err);
        return 2;
    }
    vs_log_set_level(cfg.log_level);
    av_log_set_level(cfg.log_level == VS_LOG_DEBUG ? AV_LOG_INFO
                                                   : AV_LOG_ERROR);
    av_log_set_callback(vs_av_log);

    if (!need_aws) {
        return vs_transcode_command(&cfg, argc - 2, argv + 2);
    }

    return vs_consumer_run(&cfg, once);
}
