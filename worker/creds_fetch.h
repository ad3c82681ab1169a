/*
 * The ECS task-role credentials fetch, for the worker only: blocking, over
 * the worker's libcurl client (http.h).  The nginx module fetches through
 * a non-blocking subrequest instead (lib/vs_creds.h holds what both
 * share: the provider, its refresh schedule, the JSON).
 */
#ifndef VS_CREDS_FETCH_H
#define VS_CREDS_FETCH_H

#include "vs_creds.h"

/*
 * When a refresh is due, GET the ECS endpoint and update p.  Call it on
 * its own (it decides, as vs_aws_provider_should_refresh() would), or right
 * after vs_aws_provider_should_refresh() returned 1 (it then carries out
 * the refresh that call claimed).  Returns 0 when p holds usable
 * credentials afterwards (fresh or still-valid old ones), -1 otherwise
 * (reason in err).  timeout_ms bounds the whole fetch.
 */
int vs_aws_provider_refresh(vs_aws_provider_t *p, time_t now,
    long timeout_ms, char *err, size_t err_size);

/* The blocking fetch itself: GET src, parse into creds.  0 or -1. */
int vs_aws_ecs_fetch(const vs_aws_ecs_source_t *src, vs_aws_creds_t *creds,
    long timeout_ms, char *err, size_t err_size);

#endif
