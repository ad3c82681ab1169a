-- The videos table: one row per upload, owned by a Cognito user (sub).
-- CONTRACT.md section 3 (the video object) and section 5 (the lifecycle).

CREATE TABLE IF NOT EXISTS videos (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    owner_sub     text        NOT NULL CHECK (owner_sub <> ''),
    status        text        NOT NULL DEFAULT 'pending_upload',
    filename      text        NOT NULL,
    content_type  text        NOT NULL,
    size          bigint      NOT NULL CHECK (size > 0),
    -- S3 key of the uploaded source: input/<sub>/<id>/source
    input_key     text        NOT NULL,
    progress      smallint    NOT NULL DEFAULT 0
                              CHECK (progress BETWEEN 0 AND 100),
    error         text,
    duration_ms   bigint      CHECK (duration_ms >= 0),
    width         integer     CHECK (width > 0),
    height        integer     CHECK (height > 0),
    output_mp4        boolean NOT NULL DEFAULT false,
    output_thumbnail  boolean NOT NULL DEFAULT false,
    output_hls        boolean NOT NULL DEFAULT false,
    -- how many times a worker took the job (processing transitions)
    attempts      integer     NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    queued_at     timestamptz,
    started_at    timestamptz,
    finished_at   timestamptz
);

-- "deleted" is transient: the row is marked while its S3 objects are
-- removed, then the row itself goes.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint
                   WHERE conname = 'videos_status_check'
                     AND conrelid = 'videos'::regclass) THEN
        ALTER TABLE videos ADD CONSTRAINT videos_status_check
            CHECK (status IN ('pending_upload', 'queued', 'processing',
                              'done', 'failed', 'deleted'));
    END IF;
END
$$;

-- "My videos, newest first" with keyset pagination on (created_at, id).
CREATE INDEX IF NOT EXISTS videos_owner_created_idx
    ON videos (owner_sub, created_at DESC, id DESC);

CREATE OR REPLACE FUNCTION videos_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS videos_touch_updated_at ON videos;
CREATE TRIGGER videos_touch_updated_at
    BEFORE UPDATE ON videos
    FOR EACH ROW EXECUTE FUNCTION videos_touch_updated_at();
