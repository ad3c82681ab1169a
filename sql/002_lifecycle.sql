-- The job lifecycle made safe against stalls and lost answers (CONTRACT.md
-- section 5 "nothing stranded"), failure codes (section 3 error_code) and
-- idempotent creates (section 3 Idempotency-Key).

-- Why a video failed, for programs: one of a small stable set (README,
-- "Error codes"); error stays the sentence for a human.
ALTER TABLE videos ADD COLUMN IF NOT EXISTS error_code text;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint
                   WHERE conname = 'videos_error_code_check'
                     AND conrelid = 'videos'::regclass) THEN
        ALTER TABLE videos ADD CONSTRAINT videos_error_code_check
            CHECK (error_code IN ('input_missing', 'input_unsupported',
                                  'input_no_video', 'input_too_large',
                                  'input_corrupt', 'transcode_failed',
                                  'storage_failed'));
    END IF;
END
$$;

-- Set only once SQS has answered the SendMessage of the video's job: a
-- queued video without it may never have been sent (nginx gave up, or the
-- database committed after nginx's timeout), so complete and the
-- reconciler send it again (the worker's guarded claim makes a duplicate
-- harmless).
ALTER TABLE videos ADD COLUMN IF NOT EXISTS enqueued_at timestamptz;
UPDATE videos SET enqueued_at = COALESCE(queued_at, updated_at)
 WHERE enqueued_at IS NULL AND status IN ('queued', 'processing', 'done',
                                          'failed');

-- A processing video belongs to its worker until lease_until; the worker
-- renews the lease while the job runs, and the reconciler takes back a
-- video whose lease expired (its worker died).
ALTER TABLE videos ADD COLUMN IF NOT EXISTS lease_until timestamptz;

-- The reconciler's scans.
CREATE INDEX IF NOT EXISTS videos_status_updated_idx
    ON videos (status, updated_at)
    WHERE status IN ('pending_upload', 'queued', 'processing');

-- Idempotency-Key of POST /videos: one row per (owner, key) for 24 h; the
-- request's fingerprint tells a repeat from a different body.
CREATE TABLE IF NOT EXISTS idempotency_keys (
    owner_sub     text        NOT NULL,
    key           text        NOT NULL CHECK (octet_length(key) BETWEEN 1
                                                                  AND 255),
    request_hash  text        NOT NULL,
    video_id      uuid        NOT NULL REFERENCES videos (id)
                                       ON DELETE CASCADE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (owner_sub, key)
);

CREATE INDEX IF NOT EXISTS idempotency_keys_created_idx
    ON idempotency_keys (created_at);
