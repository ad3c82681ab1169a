/*
 * HLS muxers, the ladder and the master playlist (see media_hls.h). The
 * segmenting is libavformat's hls muxer; the master playlist is ours,
 * written from the finished media playlists and segment sizes, because
 * BANDWIDTH must be the measured peak (RFC 8216 4.3.4.2).
 */
#define _XOPEN_SOURCE 700
#include "media_hls.h"
#include "transcode.h"

#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


static int
vs_hls_short(int w, int h)
{
    return w < h ? w : h;
}


void
vs_hls_plan(vs_hls_t *h, int src_w, int src_h, int top_w, int top_h,
    const int *ladder)
{
    vs_hls_rend_t  *r;
    int             i, w, ht, s;

    h->n = 0;
    r = &h->r[h->n++];
    r->width = top_w;
    r->height = top_h;
    snprintf(r->name, sizeof(r->name), "%dp", vs_hls_short(top_w, top_h));

    for (i = 0; ladder != NULL && ladder[i] > 0 && h->n < VS_HLS_MAX; i++) {
        vs_tc_fit(ladder[i], src_w, src_h, &w, &ht);
        s = vs_hls_short(w, ht);

        /* smaller than the last one planned: no duplicates, no upscaling */
        r = &h->r[h->n - 1];
        if (s >= vs_hls_short(r->width, r->height)) {
            continue;
        }

        r = &h->r[h->n++];
        r->width = w;
        r->height = ht;
        snprintf(r->name, sizeof(r->name), "%dp", s);
    }
}


int
vs_hls_open(vs_hls_t *h, vs_hls_rend_t *r, char *error, size_t error_size)
{
    char  path[4096];
    int   ret;

    if (snprintf(path, sizeof(path), "%s/%s", h->dir, r->name)
        >= (int) sizeof(path) - 32)
    {
        snprintf(error, error_size, "hls: directory name too long");
        return AVERROR(ENAMETOOLONG);
    }
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        ret = AVERROR(errno);
        snprintf(error, error_size, "hls: mkdir %s: %s", path,
                 strerror(errno));
        return ret;
    }

    snprintf(path, sizeof(path), "%s/%s/stream.m3u8", h->dir, r->name);
    ret = avformat_alloc_output_context2(&r->out, NULL, "hls", path);
    if (ret < 0 || r->out == NULL) {
        snprintf(error, error_size, "hls: cannot create the %s muxer",
                 r->name);
        return ret < 0 ? ret : AVERROR(ENOMEM);
    }

    return 0;
}


int
vs_hls_start(vs_hls_t *h, vs_hls_rend_t *r)
{
    AVDictionary  *o = NULL;
    char           seg[4096], secs[16];
    int            ret;

    snprintf(secs, sizeof(secs), "%d", h->segment_seconds);
    av_dict_set(&o, "hls_time", secs, 0);
    av_dict_set(&o, "hls_playlist_type", "vod", 0);
    av_dict_set(&o, "hls_flags", "independent_segments", 0);
    if (h->fmp4) {
        av_dict_set(&o, "hls_segment_type", "fmp4", 0);
        av_dict_set(&o, "hls_fmp4_init_filename", "init.mp4", 0);
        snprintf(seg, sizeof(seg), "%s/%s/seg_%%d.m4s", h->dir, r->name);
    } else {
        snprintf(seg, sizeof(seg), "%s/%s/seg_%%d.ts", h->dir, r->name);
    }
    av_dict_set(&o, "hls_segment_filename", seg, 0);

    ret = avformat_write_header(r->out, &o);
    av_dict_free(&o);
    return ret;
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


int
vs_hls_master(vs_hls_t *h, AVRational fps, const AVCodecParameters *audio,
    char *error, size_t error_size)
{
    vs_hls_rend_t  *r;
    FILE           *f;
    char            path[4096], tmp[4120], avc[32], fr[32];
    int64_t         peak, average;
    int             i, ok;

    snprintf(path, sizeof(path), "%s/index.m3u8", h->dir);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);

    f = fopen(tmp, "w");
    if (f == NULL) {
        snprintf(error, error_size, "hls: cannot create %s: %s", tmp,
                 strerror(errno));
        return -1;
    }

    fprintf(f, "#EXTM3U\n#EXT-X-VERSION:%d\n#EXT-X-INDEPENDENT-SEGMENTS\n",
            h->fmp4 ? 7 : 3);

    fr[0] = '\0';
    if (fps.num > 0 && fps.den > 0) {
        snprintf(fr, sizeof(fr), ",FRAME-RATE=%.3f", av_q2d(fps));
    }

    for (i = 0; i < h->n; i++) {
        r = &h->r[i];

        if (vs_hls_rates(h->dir, r->name, &peak, &average) != 0) {
            fclose(f);
            snprintf(error, error_size, "hls: cannot read back "
                     "%s/stream.m3u8", r->name);
            return -1;
        }
        if (vs_hls_avc1(r->vout->codecpar, avc, sizeof(avc)) != 0) {
            snprintf(avc, sizeof(avc), "avc1.640028");
        }

        fprintf(f, "#EXT-X-STREAM-INF:BANDWIDTH=%lld,AVERAGE-BANDWIDTH=%lld,"
                "RESOLUTION=%dx%d%s,CODECS=\"%s", (long long) peak,
                (long long) average, r->width, r->height, fr, avc);
        if (audio != NULL) {
            /* FF_PROFILE_AAC_* are the MPEG-4 audio object types - 1 */
            fprintf(f, ",mp4a.40.%d", audio->profile >= 0
                                      ? audio->profile + 1 : 2);
        }
        fprintf(f, "\"\n%s/stream.m3u8\n", r->name);
    }

    ok = !ferror(f);
    if (fclose(f) != 0 || !ok || rename(tmp, path) != 0) {
        snprintf(error, error_size, "hls: cannot write %s: %s", path,
                 strerror(errno));
        return -1;
    }

    return 0;
}


static int
vs_hls_rm(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
    if (ftw->level == 0) {
        return 0;
    }
    return remove(path);
}


int
vs_hls_clear(const char *dir)
{
    return nftw(dir, vs_hls_rm, 16, FTW_DEPTH | FTW_PHYS);
}


void
vs_hls_close(vs_hls_t *h)
{
    int  i;

    for (i = 0; i < h->n; i++) {
        if (h->r[i].out != NULL) {
            /* the hls muxer opens and closes its own files */
            avformat_free_context(h->r[i].out);
            h->r[i].out = NULL;
        }
    }
}
