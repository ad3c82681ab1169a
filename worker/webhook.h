/*
 * Webhooks: delivers the events of the outbox (sql/004_events.sql:
 * video.ready, video.failed) at least once to VIDSTREAM_WEBHOOK_URL, signed
 * the Standard Webhooks way (lib/vs_webhook.h). One thread per worker; the
 * workers of a fleet share the outbox without delivering an event twice at
 * once (each claims a batch with FOR UPDATE SKIP LOCKED and a short lease).
 * Receivers deduplicate by webhook-id, which every attempt repeats.
 */
#ifndef VS_WEBHOOK_DELIVERY_H
#define VS_WEBHOOK_DELIVERY_H

#include "config.h"

typedef struct vs_webhook_s  vs_webhook_t;

/*
 * Starts the delivery thread (also when no URL is configured: it then only
 * prunes old events). Returns 0, or -1 with the reason logged. stop is
 * polled; a set flag ends the thread within a second.
 */
int vs_webhook_start(vs_webhook_t **wh, const vs_config_t *cfg,
    volatile int *stop);

/* Waits for the thread to end (after *stop was set) and frees it. */
void vs_webhook_join(vs_webhook_t *wh);

#endif
