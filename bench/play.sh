#!/usr/bin/env bash
# bench/play.sh: 1 MiB ranged reads of a large object (BENCH_PLAY_MIB, 200
# MiB by default: issue 15's size) through /play/<token>/video.mp4, one
# nginx worker, with the slice size of nginx.conf.d/local.conf.in (what
# ships; BENCH_PLAY_SLICE overrides it):
#
#   cold   every read of a slice not yet fetched is a cache miss (token
#          check, SigV4, proxy to the local S3, cache write) against the
#          same reads straight from the local S3 with a presigned URL;
#   warm   the same reads again, every one a cache hit (token check, cache
#          file) against nginx serving the same bytes from a local file;
#   wrk    one 1 MiB range, warm, wrk at BENCH_CONNECTIONS (8) for
#          BENCH_DURATION (5s): /play against the local file.
#
# Both sides read the same object (written just before, so in the page
# cache for both) through the same client: one curl process (keep-alive)
# in the same shuffled slice order.  Cold is BENCH_PLAY_ROUNDS (3) rounds
# on a fresh nginx with an empty cache, the reads from S3 and through
# /play interleaved in blocks of 10 in one curl (see blocks below), so
# that other work on the machine slows both sides alike; the ratio is of
# the summed times (on a machine shared with other work, separate passes
# moved by 2x).  Warm is the same on the full cache against the local
# file; wrk figures are the best of two alternating runs.
#
# Ratios are of throughputs (baseline time / /play time: 1.00 is as fast,
# above is faster).  Uses the stack of the environment when there is one
# (AWS_ENDPOINT_URL_S3 set), else starts a throwaway one.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
module=${MODULE:-$top/build/ngx_http_vidstream_module.so}
mib=${BENCH_PLAY_MIB:-200}
rounds=${BENCH_PLAY_ROUNDS:-3}
slice=${BENCH_PLAY_SLICE:-$(sed -n 's/^ *slice \([0-9]*[km]\);.*/\1/p' \
                             "$top/nginx.conf.d/local.conf.in")}
dur=${BENCH_DURATION:-5s}
conns=${BENCH_CONNECTIONS:-8}
PY=/usr/bin/python3

. "$top/bench/lib.sh"
bench_init bench-play
chmod 755 "$dir"
bench_stack AWS_ENDPOINT_URL_S3

port=$(free_port)
sub="bench-$$"
id=$(cat /proc/sys/kernel/random/uuid)
key=output/$sub/$id/video.mp4

mkdir -p "$dir/www" "$dir/logs"
head -c $((mib * 1048576)) /dev/urandom > "$dir/www/video.mp4"
head -c 32 /dev/urandom > "$dir/play.key"

presigned=$($PY - "$key" "$dir/www/video.mp4" <<'PYEOF'
import os, sys
import botocore.session
from botocore.config import Config
s3 = botocore.session.get_session().create_client(
    's3', endpoint_url=os.environ['AWS_ENDPOINT_URL_S3'],
    region_name=os.environ.get('AWS_REGION', 'us-east-1'),
    aws_access_key_id=os.environ['AWS_ACCESS_KEY_ID'],
    aws_secret_access_key=os.environ['AWS_SECRET_ACCESS_KEY'],
    config=Config(s3={'addressing_style': 'path'}))
with open(sys.argv[2], 'rb') as f:
    s3.put_object(Bucket=os.environ['VIDSTREAM_BUCKET'], Key=sys.argv[1],
                  Body=f)
print(s3.generate_presigned_url('get_object', ExpiresIn=3600, Params={
    'Bucket': os.environ['VIDSTREAM_BUCKET'], 'Key': sys.argv[1]}))
PYEOF
)

# the token, as lib/vs_playback.h lays it out
token=$(perl -MDigest::SHA=sha256,hmac_sha256 -MMIME::Base64 -e '
    my ($keyfile, $sub, $id) = @ARGV;
    open my $f, "<:raw", $keyfile or die; local $/; my $k = <$f>;
    (my $hex = $id) =~ s/-//g;
    my $b = chr(1) . substr(sha256("vidstream-play-key" . $k), 0, 4)
            . pack("N", time + 3600) . pack("H32", $hex)
            . chr(length $sub) . $sub;
    my $t = encode_base64($b . hmac_sha256($b, $k), "");
    $t =~ tr{+/}{-_}; $t =~ s/=+$//; print $t;
' "$dir/play.key" "$sub" "$id")

cat > "$dir/nginx.conf" <<_EOC_
load_module $module;
worker_processes 1;
daemon off;
error_log $dir/logs/error.log error;
pid $dir/nginx.pid;
env AWS_ACCESS_KEY_ID;
env AWS_SECRET_ACCESS_KEY;
env AWS_SESSION_TOKEN;
events { worker_connections 1024; }
http {
    access_log off;
    log_format cache \$upstream_cache_status;
    sendfile on;
    tcp_nopush on;
    vidstream_aws_region ${AWS_REGION:-us-east-1};
    vidstream_s3_bucket $VIDSTREAM_BUCKET;
    vidstream_s3_endpoint $AWS_ENDPOINT_URL_S3;
    vidstream_playback_key $dir/play.key;
    proxy_cache_path $dir/cache levels=1:2 keys_zone=vidstream_play:10m
                     max_size=4g inactive=1h use_temp_path=off;
    server {
        listen 127.0.0.1:$port;
        location /file/ { alias $dir/www/; }
        location /play/ {
            vidstream_play on;
            access_log $dir/logs/play.log cache;
            slice $slice;
            proxy_cache vidstream_play;
            proxy_cache_key \$vidstream_play_key\$slice_range;
            proxy_cache_valid 200 206 1h;
            proxy_cache_lock on;
            proxy_method GET;
            proxy_pass_request_headers off;
            proxy_pass_request_body off;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$vidstream_play_host;
            proxy_set_header Range \$slice_range;
            proxy_set_header Authorization \$vidstream_play_authorization;
            proxy_set_header X-Amz-Date \$vidstream_play_date;
            proxy_set_header X-Amz-Content-SHA256 \$vidstream_play_content_sha256;
            proxy_set_header X-Amz-Security-Token \$vidstream_play_security_token;
            proxy_pass $AWS_ENDPOINT_URL_S3\$vidstream_play_uri;
        }
    }
}
_EOC_

# start_nginx: a fresh nginx on an empty cache (stopping the previous one)
start_nginx() {
    if [ -n "$pid" ]; then
        kill "$pid"
        wait "$pid" 2>/dev/null || true
        pid=
    fi
    rm -rf "$dir/cache" "$dir/logs/play.log"
    /usr/sbin/nginx -p "$dir" -c "$dir/nginx.conf" &
    pid=$!
    for _ in $(seq 1 50); do
        curl -s -o /dev/null "http://127.0.0.1:$port/file/video.mp4" -r 0-0 && break
        sleep 0.1
    done
}

play=http://127.0.0.1:$port/play/$token/video.mp4
file=http://127.0.0.1:$port/file/video.mp4

# blocks FIRST SECOND: the mib 1 MiB reads in a shuffled order (the same
# every time) from FIRST and from SECOND (/play and its baseline),
# interleaved in blocks of 10 in one curl (keep-alive), so that a burst of
# other work on the machine falls on both sides alike.  A /play block
# ends with a 1-byte read of the local file from the same nginx, counted
# as /play's: on a miss nginx goes on reading the rest of the slice from
# S3 after the client has its 1 MiB, and that read waits for it (else the
# next S3 block would pay for it).
# Prints the total seconds of the baseline and of /play; checks every
# read is 206 with the right length.
blocks() {
    local cfg=$dir/curl.$RANDOM i n=0 off u all
    all=$(seq 0 $((mib - 1)) | shuf --random-source=<(yes))
    : > "$cfg"
    entry() {  # entry TAG URL RANGE
        [ -s "$cfg" ] && echo next >> "$cfg"
        printf 'url = "%s"\nrange = %s\noutput = /dev/null\nwrite-out = "%s %%{http_code} %%{size_download} %%{time_total}\\n"\n' \
            "$2" "$3" "$1" >> "$cfg"
    }
    while [ $n -lt "$mib" ]; do
        for u in "$1" "$2"; do
            for i in $(tail -n +$((n + 1)) <<<"$all" | head -10); do
                off=$((i * 1048576))
                entry "$([ "$u" = "$play" ] && echo play || echo base)" "$u" "$off-$((off + 1048575))"
            done
            if [ "$u" = "$play" ]; then entry tail "$file" 0-0; fi
        done
        n=$((n + 10))
    done
    curl -s --config "$cfg" > "$cfg.out"
    if awk '$1 == "tail" { if ($2 != 206 || $3 != 1) bad = 1; next }
            $2 != 206 || $3 != 1048576 { bad = 1 } END { exit !bad }' "$cfg.out"; then
        echo "bench/play: a read was not 206 with the right length:" >&2
        sort "$cfg.out" | uniq -c | head >&2
        exit 1
    fi
    awk '$1 == "base" { a += $4; next } { b += $4 } END { printf "%.3f %.3f", a, b }' "$cfg.out"
}

add() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a + b }'; }
echo "bench/play: $mib x 1 MiB ranged reads of a $mib MiB object, slice $slice, 1 nginx worker; load $(cut -d' ' -f1-3 /proc/loadavg)"
# cold: rounds on an empty cache, the reads from S3 and through /play
# interleaved, which block goes first alternating between rounds
s3=0 cold=0
for r in $(seq 1 "$rounds"); do
    start_nginx
    if [ $((r % 2)) = 1 ]; then
        t=$(blocks "$presigned" "$play")
    else
        t=$(blocks "$play" "$presigned")
    fi
    read -r a b <<<"$t"
    printf 'cold round %d: /play %ss (%d misses: S3 GETs), S3 direct %ss (%d GETs): %.2f\n' \
        "$r" "$b" "$(grep -c '^MISS$' "$dir/logs/play.log" || true)" "$a" "$mib" \
        "$(awk -v a="$a" -v b="$b" 'BEGIN { print a / b }')"
    s3=$(add "$s3" "$a"); cold=$(add "$cold" "$b")
done
# warm: the same rounds on the full cache against the local file
warm=0 local_file=0
for r in $(seq 1 "$rounds"); do
    if [ $((r % 2)) = 1 ]; then
        t=$(blocks "$file" "$play")
    else
        t=$(blocks "$play" "$file")
    fi
    read -r a b <<<"$t"
    local_file=$(add "$local_file" "$a"); warm=$(add "$warm" "$b")
done
printf 'cold: /play %ss, S3 direct %ss (%d rounds): /play has %.2f of S3'"'"'s throughput (target >= 0.9)\n' \
    "$cold" "$s3" "$rounds" "$(awk -v a="$cold" -v b="$s3" 'BEGIN { print b / a }')"
printf 'warm: /play %ss, local file %ss (%d rounds): /play has %.2f of the file'"'"'s throughput (target >= 0.8)\n' \
    "$warm" "$local_file" "$rounds" "$(awk -v a="$warm" -v b="$local_file" 'BEGIN { print b / a }')"

# the bytes through /play are the file's
curl -s -r 1048576-2097151 "$play" | cmp -s - <(tail -c +1048577 "$dir/www/video.mp4" | head -c 1048576) \
    || { echo "bench/play: /play bytes differ" >&2; cat "$dir/logs/error.log" >&2; exit 1; }

w() {  # w URL: requests/s of one warm 1 MiB range
    wrk -t1 -c"$conns" -d"$dur" -H 'Range: bytes=1048576-2097151' "$1" \
        | awk '/^Requests\/sec/ { print $2 }'
}
wp=0 wf=0
for _ in 1 2; do
    wp=$(awk -v a="$wp" -v b="$(w "$play")" 'BEGIN { print (b > a) ? b : a }')
    wf=$(awk -v a="$wf" -v b="$(w "$file")" 'BEGIN { print (b > a) ? b : a }')
done
printf 'wrk %s conns %s: /play %s req/s (%.0f MiB/s), file %s req/s: ratio %.2f\n' \
    "$conns" "$dur" "$wp" "$wp" "$wf" "$(awk -v a="$wp" -v b="$wf" 'BEGIN { print a / b }')"
