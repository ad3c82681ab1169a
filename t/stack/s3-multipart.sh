#!/usr/bin/env bash
# The local S3's multipart calls (scripts/local-s3-multipart.mjs) as S3
# answers them, read by botocore's own response parser: Create, UploadPart,
# ListParts paginated, ListMultipartUploads with a prefix, Abort, Complete
# with S3's part checks, NoSuchUpload, and the test hook that answers
# CompleteMultipartUpload 200 with an <Error> body (t/stack/s3_multipart.py).
set -uo pipefail
. "$(dirname "$0")/lib.sh"

[ -n "${VIDSTREAM_STACK_ENV:-}" ] || { echo "needs VIDSTREAM_STACK_ENV"; exit 1; }
set -a; . "$VIDSTREAM_STACK_ENV"; set +a

# Debian's botocore: the python3 on PATH may be another build without it
check "botocore's checks of the local S3" \
    /usr/bin/python3 "$TOP/t/stack/s3_multipart.py"
finish
