-- Multipart uploads (CONTRACT.md section 3.1): the S3 upload a video's
-- source goes to when the edge chose multipart, and the part plan it
-- presigns and checks (lib/vs_multipart.h).  NULL for a single PUT.
--
-- upload_id is set once CreateMultipartUpload has answered (the row comes
-- first); upload_completed_at once CompleteMultipartUpload has: from then
-- on the upload is the object, complete queues the video like a single
-- PUT, and neither DELETE nor the reconciler abort anything.

ALTER TABLE videos ADD COLUMN IF NOT EXISTS upload_id text;
ALTER TABLE videos ADD COLUMN IF NOT EXISTS part_size bigint;
ALTER TABLE videos ADD COLUMN IF NOT EXISTS part_count integer;
ALTER TABLE videos ADD COLUMN IF NOT EXISTS upload_completed_at timestamptz;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint
                   WHERE conname = 'videos_multipart_check'
                     AND conrelid = 'videos'::regclass) THEN
        ALTER TABLE videos ADD CONSTRAINT videos_multipart_check
            CHECK ((part_size IS NULL) = (part_count IS NULL)
                   AND (upload_id IS NULL OR part_size IS NOT NULL)
                   AND (part_size IS NULL OR part_size >= 5242880)
                   AND (part_count IS NULL
                        OR part_count BETWEEN 1 AND 10000));
    END IF;
END
$$;
