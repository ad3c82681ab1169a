#!/usr/bin/env bash
# Multipart uploads end to end (CONTRACT.md 3.1) on a stack of its own with
# nginx (nginx.conf.d/local.conf.in) and a worker: a real 3-part video
# (8 MiB parts) PUT out of order through presigned UploadPart URLs; GET
# /upload shows what S3 holds; complete names the missing part, then a
# wrong-sized one; a CompleteMultipartUpload answered 200 with <Error> is
# a 503 that changes nothing; then complete queues it and the worker makes
# it done.  1,001 parts are read over three ListParts pages.  Another user gets 404 on every multipart route; DELETE aborts
# the upload (gone from ListMultipartUploads); scripts/upload killed
# halfway and run again sends only the missing parts, then waits for done.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

run=$(mktemp -d /tmp/vidstream-multipart.XXXXXX)
export RUN_DIR=$run/stack
trap 'bash "$TOP/scripts/stack.sh" down >/dev/null 2>&1; rm -rf "$run"' EXIT

# the worker's reconciler passes every 2 s (the abandoned upload below)
VIDSTREAM_RECONCILE_INTERVAL=2 bash "$TOP/scripts/stack.sh" up \
    >"$run/up.log" 2>&1 \
    || { sed 's/^/#   /' "$run/up.log"; flunk "stack up"; finish; }
set -a; . "$RUN_DIR/stack.env"; set +a
export VIDSTREAM_STACK_ENV=$RUN_DIR/stack.env

alice=alice-$$-$RANDOM
bob=bob-$$-$RANDOM
ta=$("$TOP/scripts/token" "$alice")
tb=$("$TOP/scripts/token" "$bob")

# api TOKEN METHOD PATH [BODY]: the status; the body in $run/body
api() {
    local args=(-s -o "$run/body" -w '%{http_code}' -X "$2"
                -H "Authorization: Bearer $1")
    [ $# -ge 4 ] && args+=(-H 'Content-Type: application/json' --data "$4")
    curl "${args[@]}" "$VIDSTREAM_URL$3"
}
body() { jq -c "$@" "$run/body"; }
sql() { psql "$VIDSTREAM_DATABASE_URL" -XAtq -v ON_ERROR_STOP=1 -c "$1"; }
# put_part URL FILE: the status of a PUT through a presigned URL
put_part() { curl -s -o /dev/null -w '%{http_code}' -X PUT -T "$2" "$1"; }

# a real video over 16 MiB: 2 s of lossless noise (~21 MiB)
ffmpeg -v error -f lavfi -i testsrc2=size=640x360:rate=25 -f lavfi \
    -i sine=frequency=440 -t 2 -vf noise=alls=60:allf=t -c:v libx264 \
    -preset ultrafast -qp 0 -pix_fmt yuv420p -c:a aac -movflags +faststart \
    -y "$run/video.mp4"
size=$(stat -c %s "$run/video.mp4")
mib=$((8 * 1024 * 1024))
for n in 1 2 3; do
    dd if="$run/video.mp4" of="$run/part$n" bs=$mib skip=$((n - 1)) \
        count=1 status=none
done
head -c $((6 * 1024 * 1024)) "$run/part2" > "$run/part2.short"

# --- create
st=$(api "$ta" POST /videos "{\"filename\":\"big.mp4\",\"content_type\":\"video/mp4\",\"size\":$size,\"upload\":\"multipart\"}")
is "create: 201" "$st" 201
id=$(body -r .id)
is "create: a multipart upload of 3 parts of 8 MiB" \
   "$(body '[.upload.method, .upload.part_size, .upload.part_count, (.upload.parts | map(.part_number)), (.upload.upload_id | length > 0)]')" \
   "[\"multipart\",$mib,3,[1,2,3],true]"
upload_id=$(body -r .upload.upload_id)
is "create: the row holds the upload" \
   "$(sql "SELECT upload_id = '$upload_id', part_size, part_count FROM videos WHERE id = '$id'")" \
   "t|$mib|3"

# --- fresh part URLs, parts PUT out of order
st=$(api "$ta" GET "/videos/$id/upload/parts?first=2&count=5")
is "parts: 200" "$st" 200
is "parts: first=2 count=5 is clipped to parts 2 and 3" \
   "$(body '[.parts[].part_number]')" "[2,3]"
url3=$(body -r '.parts[1].url')
st=$(api "$ta" GET "/videos/$id/upload/parts")
url1=$(body -r '.parts[0].url')
url2=$(body -r '.parts[1].url')
is "PUT part 3 first" "$(put_part "$url3" "$run/part3")" 200
is "PUT part 1" "$(put_part "$url1" "$run/part1")" 200

st=$(api "$ta" GET "/videos/$id/upload")
is "upload state: 200" "$st" 200
last=$((size - 2 * mib))
is "upload state: parts 1 and 3 with their sizes" \
   "$(body '[.method, .upload_id == "'"$upload_id"'", .part_size, .part_count, .uploaded, .uploaded_bytes]')" \
   "[\"multipart\",true,$mib,3,[{\"part_number\":1,\"size\":$mib},{\"part_number\":3,\"size\":$last}],$((mib + last))]"

st=$(api "$ta" POST "/videos/$id/complete")
is "complete without part 2: 400" "$st" 400
is "complete without part 2: upload_incomplete, missing [2]" \
   "$(body '[.error, .missing, .wrong_size]')" '["upload_incomplete",[2],[]]'

is "PUT part 2 too short" "$(put_part "$url2" "$run/part2.short")" 200
st=$(api "$ta" POST "/videos/$id/complete")
is "complete with a short part 2: 400 wrong_size [2]" \
   "$st $(body '[.error, .missing, .wrong_size]')" \
   '400 ["upload_incomplete",[],[2]]'
is "still pending_upload" \
   "$(sql "SELECT status FROM videos WHERE id = '$id'")" pending_upload

is "PUT part 2 again, whole" "$(put_part "$url2" "$run/part2")" 200

# --- CompleteMultipartUpload answered 200 with <Error>: 503, nothing changed
curl -s -o /dev/null -X PUT --data-binary 'InternalError 1' \
    "$AWS_ENDPOINT_URL_S3/$VIDSTREAM_BUCKET/.vidstream-test/complete-error"
st=$(api "$ta" POST "/videos/$id/complete")
is "complete answered 200+<Error> by S3: 503" "$st $(body -r .error)" \
   "503 unavailable"
is "nothing changed: pending, upload not completed" \
   "$(sql "SELECT status, upload_completed_at IS NULL FROM videos WHERE id = '$id'")" \
   "pending_upload|t"
st=$(api "$ta" GET "/videos/$id/upload")
is "nothing changed: the 3 parts are still there" \
   "$st $(body '[.uploaded[].part_number]')" "200 [1,2,3]"

# --- ownership: bob sees nothing of it
for r in "GET /videos/$id/upload" "GET /videos/$id/upload/parts" \
         "POST /videos/$id/complete" "DELETE /videos/$id"; do
    is "bob: $r is 404" "$(api "$tb" $r)" 404
done

# --- complete for real
st=$(api "$ta" POST "/videos/$id/complete")
is "complete (retry): 202 queued" "$st $(body -r .status)" "202 queued"
st=$(api "$ta" POST "/videos/$id/complete")
is "complete again: 200, no second job" "$st" 200
st=$(api "$ta" GET "/videos/$id/upload")
is "upload state once completed: 409" "$st" 409

# the object S3 assembled is the file
curl -s -o "$run/back.mp4" "$AWS_ENDPOINT_URL_S3/$VIDSTREAM_BUCKET/input/$alice/$id/source"
check "S3 holds the file, byte for byte" cmp -s "$run/back.mp4" "$run/video.mp4"

wait_done() {  # wait_done ID TOKEN: the final status (120 s at most)
    local s=
    for _ in $(seq 240); do
        api "$2" GET "/videos/$1" >/dev/null
        s=$(body -r .status)
        case $s in done|failed) break ;; esac
        sleep 0.5
    done
    echo "$s"
}
is "the worker makes it done" "$(wait_done "$id" "$ta")" done

# --- ListParts pages (500 parts each): 1,001 one-byte parts
st=$(api "$ta" POST /videos "{\"filename\":\"many.bin\",\"content_type\":\"application/octet-stream\",\"size\":$((1000 * mib + 1)),\"upload\":\"multipart\"}")
pid_=$(body -r .id)
is "1,001 parts: planned" "$(body '[.upload.part_size, .upload.part_count]')" \
   "[$mib,1001]"
printf x > "$run/one"
: > "$run/curl.cfg"
for first in 1 1001; do
    api "$ta" GET "/videos/$pid_/upload/parts?first=$first&count=1000" \
        >/dev/null
    jq -r --arg f "$run/one" \
        '.parts[] | "url = \"\(.url)\"\nupload-file = \"\($f)\"\noutput = \"/dev/null\""' \
        "$run/body" >> "$run/curl.cfg"
done
is "1,001 parts: 1,001 URLs" "$(grep -c '^url' "$run/curl.cfg")" 1001
curl -s -Z --parallel-max 16 -K "$run/curl.cfg" -w '%{http_code}\n' \
    > "$run/codes" 2>/dev/null
is "1,001 parts: all PUT" "$(sort -u "$run/codes" | tr '\n' ' ')" "200 "
st=$(api "$ta" GET "/videos/$pid_/upload")
is "1,001 parts: GET /upload lists them all over 3 pages" \
   "$st $(body '[(.uploaded | length), .uploaded[0].part_number, .uploaded[1000].part_number, .uploaded_bytes]')" \
   "200 [1001,1,1001,1]"
st=$(api "$ta" POST "/videos/$pid_/complete")
is "1,001 parts: complete names the first 100 of the 1,000 too small" \
   "$st $(body '[.error, .missing, (.wrong_size | length), .wrong_size[0], .wrong_size[99]]')" \
   '400 ["upload_incomplete",[],100,1,100]'
check "1,001 parts: the message counts them all" \
    grep -q '0 part(s) missing and 1000 of the wrong size' "$run/body"

# --- DELETE aborts an unfinished upload
st=$(api "$ta" POST /videos "{\"filename\":\"gone.mp4\",\"content_type\":\"video/mp4\",\"size\":$size,\"upload\":\"multipart\"}")
gid=$(body -r .id)
gurl=$(body -r '.upload.parts[0].url')
is "PUT a part of the upload to delete" "$(put_part "$gurl" "$run/part1")" 200
uploads() {  # uploads ID: how many S3 lists for the video's key
    curl -s "$AWS_ENDPOINT_URL_S3/$VIDSTREAM_BUCKET?uploads" \
        | grep -c "input/$alice/$1/source"
}
is "ListMultipartUploads has it" "$(uploads "$gid")" 1
is "DELETE: 204" "$(api "$ta" DELETE "/videos/$gid")" 204
is "ListMultipartUploads no longer has it" "$(uploads "$gid")" 0
is "the row is gone" "$(sql "SELECT count(*) FROM videos WHERE id = '$gid'")" 0

# --- the reconciler aborts an abandoned one (past the pending lifetime)
st=$(api "$ta" POST /videos "{\"filename\":\"old.mp4\",\"content_type\":\"video/mp4\",\"size\":$size,\"upload\":\"multipart\"}")
oid=$(body -r .id)
is "PUT a part of the upload to abandon" \
   "$(put_part "$(body -r '.upload.parts[0].url')" "$run/part1")" 200
is "ListMultipartUploads has the abandoned one" "$(uploads "$oid")" 1
# 8 days old (the trigger that touches updated_at is off for this session)
sql "SET session_replication_role = replica;
     UPDATE videos SET updated_at = now() - interval '8 days'
     WHERE id = '$oid'" >/dev/null
for _ in $(seq 60); do
    [ "$(sql "SELECT count(*) FROM videos WHERE id = '$oid'")" = 0 ] && break
    sleep 0.5
done
is "the reconciler removed the abandoned row" \
   "$(sql "SELECT count(*) FROM videos WHERE id = '$oid'")" 0
is "and aborted its upload" "$(uploads "$oid")" 0

# --- scripts/upload: killed halfway, run again, only the missing parts
dd if=/dev/urandom of="$run/pad" bs=1M count=20 status=none
cat "$run/video.mp4" > "$run/resume.mp4"
# 6 parts: the video, then padding after its end (ffmpeg ignores it)
cat "$run/pad" >> "$run/resume.mp4"
export VIDSTREAM_UPLOAD_STATE_DIR=$run/state
log=$run/upload.log
# the first run stops (SIGKILL) after its second part
# (through a shell of its own, which says "Killed" into /dev/null); it
# sends with curl and dd (scripts/upload's way where build/upload-parts
# is not built), the second run with build/upload-parts
VIDSTREAM_UPLOAD_SENDER=curl VIDSTREAM_UPLOAD_STOP_AFTER=2 bash -c '"$@" >"$0" 2>&1; exit $?' "$log.1" \
    "$TOP/scripts/upload" "$run/resume.mp4" --token "$ta" --parallel 1 \
    2>/dev/null
rc=$?
check "scripts/upload: the first run was cut short (rc $rc)" test "$rc" -ne 0
rid=$(jq -r .id "$run"/state/*.json 2>/dev/null | head -1)
check "scripts/upload: a state file names the video" test -n "$rid"
api "$ta" GET "/videos/$rid/upload" >/dev/null
is "scripts/upload: 2 of the 6 parts in S3" \
   "$(body '[.part_count, (.uploaded | length)]')" "[6,2]"
check "build/upload-parts is built (the second run sends with it)" \
    test -x "$TOP/build/upload-parts"
# it refuses a part that is not in the file, and sends nothing
printf '1 0 %s http://127.0.0.1:9/\n' $(($(stat -c %s "$run/resume.mp4") + 1)) \
    | "$TOP/build/upload-parts" "$run/resume.mp4" >"$run/refused.out" \
      2>/dev/null
rc=$?
is "build/upload-parts: a part past the file's end is refused (rc 2)" \
   "$rc:$(wc -c < "$run/refused.out")" "2:0"
# (--sub: a token from the stack's dev key, as a person would run it)
"$TOP/scripts/upload" "$run/resume.mp4" --sub "$alice" --parallel 2 --wait \
    >"$log.2" 2>"$log.2.err"
rc=$?
is "scripts/upload: the second run succeeds" "$rc" 0
is "scripts/upload: the second run PUT only the 4 missing parts" \
   "$(grep '^part ' "$log.2" | cut -d: -f1 | sort | tr '\n' ' ')" \
   "part 3 part 4 part 5 part 6 "
[ "$(grep -c '^part ' "$log.2")" = 4 ] || sed 's/^/#   /' "$log.2" "$log.2.err"
is "scripts/upload: the video is done" "$(wait_done "$rid" "$ta")" done
check "scripts/upload: the state file is gone" \
    test -z "$(ls "$run/state" 2>/dev/null)"

# --- scripts/upload trusts a round whose parts all answered 200 and
# completes at once; when S3 lacks a part after all (here: a sender that
# claims part 2 without sending it), complete's upload_incomplete sends
# what it names, then completes
cat > "$run/lying-sender" <<'_EOS_'
#!/usr/bin/env bash
while read -r n off len url; do
    if [ "$n" = 2 ] && [ ! -e "$MARK" ]; then
        : > "$MARK"; echo "200 $n $len"; continue
    fi
    echo "$n $off $len $url" | "$TOP/build/upload-parts" "$1"
done
_EOS_
chmod +x "$run/lying-sender"
cat "$run/video.mp4" "$run/pad" > "$run/again.mp4"
MARK=$run/lied TOP=$TOP VIDSTREAM_UPLOAD_SENDER=$run/lying-sender \
    "$TOP/scripts/upload" "$run/again.mp4" --token "$ta" --parallel 2 \
    >"$log.3" 2>"$log.3.err"
rc=$?
is "scripts/upload: a part S3 lacks at complete: the run succeeds" "$rc" 0
check "scripts/upload: complete said a part was missing" \
    grep -q 'S3 lacks parts' "$log.3.err"
is "scripts/upload: part 2 was sent again, alone" \
   "$(grep '^part ' "$log.3" | cut -d: -f1 | sort | uniq -c | awk '{print $1 $3}' | tr '\n' ' ')" \
   "11 22 13 14 15 16 "
rid3=$(sed -n 's/^video //p' "$log.3")
check "scripts/upload: it named the video" test -n "$rid3"
is "scripts/upload: that video is done" "$(wait_done "$rid3" "$ta")" done

finish
