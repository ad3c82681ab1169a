package PlayTest;

# Shared setup of the playback suites (t/2*-play*.t): playback key files,
# tokens minted here in Perl from the documented format (so the edge's
# tokens are checked against an independent implementation), objects put
# into the stack's S3 with botocore, and the /play location.
#
#     use lib 't/lib';
#     use ApiTest;
#     use PlayTest;

use strict;
use warnings;

use Digest::SHA qw(sha256 hmac_sha256);
use File::Temp qw(tempdir);
use MIME::Base64 qw(encode_base64);

our $dir = tempdir('vidstream-play-XXXXXX', TMPDIR => 1, CLEANUP => 1);

# Three keys: A signs, B is the next one, C is never configured.
our %key;
for my $name (qw(A B C)) {
    $key{$name} = join '', map { chr(int(rand(256))) } 1 .. 32;
    open my $fh, '>:raw', "$dir/$name.key" or die "$dir/$name.key: $!";
    print $fh $key{$name};
    close $fh;
}

open my $fh, '>:raw', "$dir/short.key" or die;
print $fh 'x' x 31;
close $fh;

$ENV{TEST_NGINX_PLAY_KEYS} = $dir;

mkdir "$dir/cache";
$ENV{TEST_NGINX_PLAY_CACHE} = "$dir/cache";

sub b64url {
    my $s = encode_base64($_[0], '');
    $s =~ tr{+/}{-_};
    $s =~ s/=+\z//;
    return $s;
}

# The token of lib/vs_playback.h: version 1, key id, expiry, video id,
# sub length, sub, HMAC-SHA256 over all of it.
sub token {
    my (%a) = @_;
    my $k = $key{ $a{key} // 'A' };
    my $exp = $a{expires} // time() + 3600;
    (my $hex = $a{video}) =~ s/-//g;
    my $body = chr(1) . substr(sha256('vidstream-play-key' . $k), 0, 4)
               . pack('N', $exp) . pack('H32', $hex)
               . chr(length $a{sub}) . $a{sub};
    return b64url($body . hmac_sha256($body, $k));
}

# Puts local files into the stack's S3: put(key => $bytes, …).
sub put {
    my (%objects) = @_;
    my @args;
    my $n = 0;
    for my $k (sort keys %objects) {
        my $f = "$dir/object" . $n++;
        open my $o, '>:raw', $f or die "$f: $!";
        print $o $objects{$k};
        close $o;
        push @args, $k, $f;
    }
    my $py = <<'_PY_';
import os, sys
import botocore.session
from botocore.config import Config
s3 = botocore.session.get_session().create_client(
    's3', endpoint_url=os.environ['AWS_ENDPOINT_URL_S3'],
    region_name=os.environ.get('AWS_REGION', 'us-east-1'),
    aws_access_key_id=os.environ['AWS_ACCESS_KEY_ID'],
    aws_secret_access_key=os.environ['AWS_SECRET_ACCESS_KEY'],
    config=Config(s3={'addressing_style': 'path'}))
a = sys.argv[1:]
for key, path in zip(a[0::2], a[1::2]):
    with open(path, 'rb') as f:
        s3.put_object(Bucket=os.environ['VIDSTREAM_BUCKET'], Key=key,
                      Body=f.read(), ContentType='application/octet-stream')
_PY_
    system('/usr/bin/python3', '-c', $py, @args) == 0
        or die "PlayTest::put failed\n";
}

# A video row; returns its id.
sub video {
    my ($owner, %v) = @_;
    my $status = $v{status} // 'done';
    my $o = ApiTest::quote($owner);
    my $done = $status eq 'done' ? 'true' : 'false';
    my $hls = $v{hls} ? 'true' : 'false';
    return ApiTest::psql(
        "WITH n AS (SELECT gen_random_uuid() AS id) INSERT INTO videos"
        . " (id, owner_sub, status, filename, content_type, size, input_key,"
        . " output_mp4, output_thumbnail, output_hls)"
        . " SELECT n.id, $o, '$status', 'clip.mov', 'video/mp4', 10,"
        . " 'input/' || $o || '/' || n.id || '/source', $done, $done, $hls"
        . " FROM n RETURNING id");
}

# Deterministic bytes that differ at every offset of interest.
sub bytes {
    my ($len, $seed) = @_;
    my $out = '';
    my $i = 0;
    while (length($out) < $len) {
        $out .= sha256("$seed:" . $i++);
    }
    return substr($out, 0, $len);
}

# The slice size of the location below, as nginx.conf.d/*.conf ship it.
our $slice = 4 * 1048576;

our $play_location = <<'_EOC_';
    location /play/ {
        vidstream_play on;

        slice 4m;
        proxy_cache vidstream_play;
        proxy_cache_key $vidstream_play_key$slice_range;
        proxy_cache_valid 200 206 1h;
        proxy_cache_lock on;

        proxy_method GET;
        proxy_pass_request_headers off;
        proxy_pass_request_body off;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $vidstream_play_host;
        proxy_set_header Range $slice_range;
        proxy_set_header Authorization $vidstream_play_authorization;
        proxy_set_header X-Amz-Date $vidstream_play_date;
        proxy_set_header X-Amz-Content-SHA256 $vidstream_play_content_sha256;
        proxy_set_header X-Amz-Security-Token $vidstream_play_security_token;

        proxy_intercept_errors on;
        error_page 404 /_vidstream/play/404;
        error_page 416 /_vidstream/play/416;
        error_page 403 500 502 503 504 =503 /_vidstream/play/503;

        add_header X-Cache $upstream_cache_status;
        proxy_pass $TEST_NGINX_API_S3$vidstream_play_uri;
    }

    # Its errors, JSON whatever the file asked for (a plain URI, as for
    # nginx's own errors above; the status stays, and so does the
    # Content-Range of a 416).
    location = /_vidstream/play/404 {
        internal;
        default_type application/json;
        return 404 '{"error":"not_found","message":"no such file"}\n';
    }

    location = /_vidstream/play/416 {
        internal;
        default_type application/json;
        return 416 '{"error":"range_not_satisfiable","message":"the range is outside the file"}\n';
    }

    location = /_vidstream/play/503 {
        internal;
        default_type application/json;
        return 503 '{"error":"unavailable","message":"storage is unavailable, try again"}\n';
    }
_EOC_

# http{} lines: the API's, the cache, and the keys (names in $dir).
sub http_config {
    my (@keys) = @_;
    @keys = ('A') unless @keys;
    my $files = join ' ', map { "$dir/$_.key" } @keys;
    return $ApiTest::http_config . <<_EOC_;
    vidstream_playback_key $files;
    proxy_cache_path $dir/cache levels=1:2 keys_zone=vidstream_play:1m
                     max_size=64m inactive=10m use_temp_path=off;
_EOC_
}

1;
