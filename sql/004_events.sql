-- Events an application can act on (video.ready, video.failed), kept in an
-- outbox written by the same transaction that ends the job, and delivered
-- at least once by the workers to VIDSTREAM_WEBHOOK_URL (worker/webhook.c).

-- The video object of CONTRACT.md section 3, defined once: the edge, the
-- worker (lib/vs_video.h, VS_VIDEO_JSON_SQL) and the events below render it
-- with this function, which PostgreSQL inlines into the calling query.
CREATE OR REPLACE FUNCTION vidstream_video_json(v videos) RETURNS text
LANGUAGE sql STABLE AS $$
SELECT json_build_object(
    'id', v.id, 'status', v.status, 'filename', v.filename,
    'content_type', v.content_type, 'size', v.size, 'progress', v.progress,
    'error', v.error, 'error_code', v.error_code,
    'duration_ms', v.duration_ms, 'width', v.width, 'height', v.height,
    'outputs', json_build_object('mp4', v.output_mp4,
                                 'thumbnail', v.output_thumbnail,
                                 'hls', v.output_hls),
    'created_at', to_char(v.created_at AT TIME ZONE 'UTC',
                          'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
    'updated_at', to_char(v.updated_at AT TIME ZONE 'UTC',
                          'YYYY-MM-DD"T"HH24:MI:SS"Z"'))::text
$$;

CREATE TABLE IF NOT EXISTS video_events (
    -- the webhook-id: the same for every delivery attempt of the event
    id               text        PRIMARY KEY,
    type             text        NOT NULL
                                 CHECK (type IN ('video.ready', 'video.failed')),
    video_id         uuid        NOT NULL,   -- no reference: events outlive
    owner_sub        text        NOT NULL,   -- a deleted video
    -- the body, rendered once, so that every attempt sends the same bytes
    payload          text        NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    attempts         integer     NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz,
    gave_up_at       timestamptz,
    last_error       text
);

CREATE INDEX IF NOT EXISTS video_events_due_idx
    ON video_events (next_attempt_at)
    WHERE delivered_at IS NULL AND gave_up_at IS NULL;

-- Every transition into done or failed, whoever makes it (the worker's
-- job, its reconciler, an operator's UPDATE), writes its event in the
-- same transaction, and wakes the deliverers.
CREATE OR REPLACE FUNCTION videos_outbox() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    ev_type  text;
    ev_id    text;
BEGIN
    ev_type := CASE NEW.status WHEN 'done' THEN 'video.ready'
                               ELSE 'video.failed' END;
    ev_id := 'evt_' || replace(gen_random_uuid()::text, '-', '');
    INSERT INTO video_events (id, type, video_id, owner_sub, payload)
    VALUES (ev_id, ev_type, NEW.id, NEW.owner_sub,
            json_build_object(
                'type', ev_type,
                'timestamp', to_char(now() AT TIME ZONE 'UTC',
                                     'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                'data', vidstream_video_json(NEW)::json)::text);
    PERFORM pg_notify('vidstream_events', ev_id);
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS videos_outbox ON videos;
CREATE TRIGGER videos_outbox
    AFTER UPDATE OF status ON videos
    FOR EACH ROW
    WHEN (NEW.status IN ('done', 'failed')
          AND OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION videos_outbox();
