/*
 * The queue consumer: receive, run jobs on VIDSTREAM_CONCURRENCY threads,
 * heartbeat, delete, and release on SIGTERM/SIGINT.
 */
#ifndef VS_CONSUMER_H
#define VS_CONSUMER_H

#include "config.h"

/* Runs until SIGTERM/SIGINT (or one message when once). Exit status. */
int vs_consumer_run(const vs_config_t *cfg, int once);

#endif
