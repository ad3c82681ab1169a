/*
 * libvidstream: the video's names (vs_video.h).
 */
#include "vs_video.h"

#include <stddef.h>


const char *
vs_error_code_name(vs_error_code_t code)
{
    static const char  *names[] = {
        NULL,
        "input_missing",
        "input_unsupported",
        "input_no_video",
        "input_too_large",
        "input_corrupt",
        "transcode_failed",
        "storage_failed"
    };

    if ((unsigned) code >= sizeof(names) / sizeof(names[0])) {
        return NULL;
    }
    return names[code];
}
