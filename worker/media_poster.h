/*
 * The poster frame (CONTRACT.md section 4, thumbnail.jpg): one decoded
 * picture of the pipeline, already rotated and scaled to the MP4's size,
 * written as a JPEG. transcode.c picks the picture (the first at or after
 * 10% of the duration) while it decodes the source for every output.
 */
#ifndef VS_MEDIA_POSTER_H
#define VS_MEDIA_POSTER_H

#include <stddef.h>

#include <libavutil/frame.h>

#include "transcode.h"

/*
 * Writes picture as a JPEG at path. VS_TC_TRANSIENT when the file cannot
 * be written, VS_TC_PERMANENT when the encoding fails (our side); error
 * says why.
 */
vs_tc_status_t vs_poster_write(const AVFrame *picture, const char *path,
    char *error, size_t error_size);

#endif
