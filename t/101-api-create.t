# vim:set ft= ts=4 sw=4 et fdm=marker:
#
# POST /videos (CONTRACT.md 3): validation, the 201 with its presigned
# upload, values stored verbatim.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use ApiTest;

our $user = ApiTest::user('creator');
our $auth = "Authorization: Bearer " . ApiTest::token($user);
our $long = 'a' x 256;
our $max = 'b' x 251 . '.mov';
our $big = '{"filename":"x.mov","content_type":"video/mp4","size":1,"pad":"'
           . ('x' x 17000) . '"}';
# 12 KiB: under the limit, over a 1k client_body_buffer_size
our $mid = '{"filename":"m.mov","content_type":"video/mp4","size":1,"pad":"'
           . ('x' x 12000) . '"}';
our $api_1k = $ApiTest::config =~ s/vidstream_api;/vidstream_api;\n        client_body_buffer_size 1k;/r;
use Encode ();
our $meta = q{x'); DROP TABLE videos; --"%_$1 ; 'é' 视频.mov};

sub stored {
    my ($id) = @_;
    return ApiTest::psql("SELECT filename || '|' || content_type || '|' || size"
                         . " || '|' || owner_sub || '|' || input_key"
                         . " FROM videos WHERE id = " . ApiTest::quote($id));
}

ApiTest::defaults();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: a valid upload is 201 with the video, Location and a presigned PUT
--- more_headers eval
$::auth
--- request
POST /videos
{"filename":"clip.mov","content_type":"video/quicktime","size":1234,"extra":[1]}
--- error_code: 201
--- response_headers_like
Location: /videos/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}
Content-Type: application/json
--- response_body_like eval
qr{^\{"id" : "([0-9a-f-]{36})", "status" : "pending_upload", "filename" : "clip\.mov", "content_type" : "video/quicktime", "size" : 1234, "progress" : 0, "error" : null, "error_code" : null, "duration_ms" : null, "width" : null, "height" : null, "outputs" : \{"mp4" : false, "thumbnail" : false, "hls" : false\}, "created_at" : "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "updated_at" : "[^"]+Z","upload":\{"method":"PUT","url":"http://127\.0\.0\.1:\d+/[^/]+/input/\Q$::user\E/\1/source\?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=[^"]+&X-Amz-SignedHeaders=content-type%3Bhost&X-Amz-Signature=[0-9a-f]{64}","headers":\{"Content-Type":"video/quicktime"\},"expires_at":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"\}\}$}s
--- no_error_log
[error]



=== TEST 2: the presigned PUT is accepted by S3 with the signed Content-Type
--- more_headers eval
$::auth
--- request
POST /videos
{"filename":"up.mp4","content_type":"video/mp4","size":5}
--- error_code: 201
--- response_body_like eval
qr/"url":"([^"]+)"/
--- response_body_filters eval
sub {
    my ($body) = @_;
    my ($url) = $body =~ /"url":"([^"]+)"/;
    $url =~ s{\\/}{/}g;
    my $code = `curl -s -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: video/mp4' --data-binary hello '$url'`;
    return "put=$code";
}
--- response_body chomp
put=200



=== TEST 3: SQL metacharacters and UTF-8 are stored verbatim
--- more_headers eval
$::auth
--- request eval
"POST /videos\n" . JSON::PP->new->utf8->encode({filename => Encode::decode_utf8($::meta), content_type => 'video/x-matroska', size => 42})
--- error_code: 201
--- response_body_filters eval
sub { my ($id) = $_[0] =~ /"id" : "([^"]+)"/; main::stored($id) =~ s/\Q$::user\E/USER/gr =~ s/[0-9a-f-]{36}/ID/r }
--- response_body eval
"$::meta|video/x-matroska|42|USER|input/USER/ID/source"



=== TEST 4: a filename of 255 bytes is accepted
--- more_headers eval
$::auth
--- request eval
"POST /videos\n{\"filename\":\"$::max\",\"content_type\":\"application/octet-stream\",\"size\":5368709120}"
--- error_code: 201



=== TEST 5: a filename of 256 bytes is 400
--- more_headers eval
$::auth
--- request eval
"POST /videos\n{\"filename\":\"$::long\",\"content_type\":\"video/mp4\",\"size\":1}"
--- error_code: 400
--- response_body
{"error":"invalid_request","message":"filename must be 1 to 255 bytes"}



=== TEST 6: an empty filename is 400
--- more_headers eval
$::auth
--- request
POST /videos
{"filename":"","content_type":"video/mp4","size":1}
--- error_code: 400
--- response_body
{"error":"invalid_request","message":"filename must be 1 to 255 bytes"}



=== TEST 7: filename ".." is 400
--- more_headers eval
$::auth
--- request
POST /videos
{"filename":"..","content_type":"video/mp4","size":1}
--- error_code: 400
--- response_body
{"error":"invalid_request","message":"filename must not be . or .."}



=== TEST 8: filename "." is 400
--- more_headers eval
$::auth
--- request
POST /videos
{"filename":".","content_type":"video/mp4","size":1}
--- error_code: 400



=== TEST 9: a slash in the filename is 400
--- more_headers eval
$::auth
--- request
POST /videos
{"filename":"a/b.mp4","content_type":"video/mp4","size":1}
--- error_code: 400
--- response_body
{"error":"invalid_request","message":"filename must not contain control characters, / or \\"}



=== TEST 10: a backslash in the filename is 400
--- more_headers eval
$::auth
--- request
POST /videos
{"filename":"a\\b.mp4","content_type":"video/mp4","size":1}
--- error_code: 400



=== TEST 11: a control character in the filename is 400
--- more_headers eval
$::auth
--- request
POST /videos
{"filename":"a\u0007b.mp4","content_type":"video/mp4","size":1}
--- error_code: 400



=== TEST 12: a C1 control character in the filename is 400
--- more_headers eval
$::auth
--- request
POST /videos
{"filename":"a\u0085b.mp4","content_type":"video/mp4","size":1}
--- error_code: 400



=== TEST 13: a NUL in the filename is 400
--- more_headers eval
$::auth
--- request
POST /videos
{"filename":"a\u0000b.mp4","content_type":"video/mp4","size":1}
--- error_code: 400



=== TEST 14: a filename that is not a string is 400
--- more_headers eval
$::auth
--- request
POST /videos
{"filename":12,"content_type":"video/mp4","size":1}
--- error_code: 400
--- response_body
{"error":"invalid_request","message":"filename must be a string"}



=== TEST 15: a missing content_type is 400
--- more_headers eval
$::auth
--- request
POST /videos
{"filename":"a.mp4","size":1}
--- error_code: 400
--- response_body
{"error":"invalid_request","message":"content_type must be a string"}



=== TEST 16: a content_type that is not video is 415
--- more_headers eval
$::auth
--- request
POST /videos
{"filename":"a.mp4","content_type":"text/html","size":1}
--- error_code: 415
--- response_body
{"error":"unsupported_media_type","message":"content_type must be video/* or application/octet-stream"}



=== TEST 17: a content_type with parameters or spaces is 415
--- more_headers eval
$::auth
--- request
POST /videos
{"filename":"a.mp4","content_type":"video/mp4; codecs=\"avc1\"","size":1}
--- error_code: 415



=== TEST 18: "video/" alone is 415
--- more_headers eval
$::auth
--- request
POST /videos
{"filename":"a.mp4","content_type":"video/","size":1}
--- error_code: 415



=== TEST 19: size 0 is 400
--- more_headers eval
$::auth
--- request
POST /videos
{"filename":"a.mp4","content_type":"video/mp4","size":0}
--- error_code: 400
--- response_body
{"error":"invalid_request","message":"size must be at least 1"}



=== TEST 20: a negative size is 400
--- more_headers eval
$::auth
--- request
POST /videos
{"filename":"a.mp4","content_type":"video/mp4","size":-5}
--- error_code: 400



=== TEST 21: a size given as a string is 400
--- more_headers eval
$::auth
--- request
POST /videos
{"filename":"a.mp4","content_type":"video/mp4","size":"12"}
--- error_code: 400
--- response_body
{"error":"invalid_request","message":"size must be an integer"}



=== TEST 22: a fractional size is 400
--- more_headers eval
$::auth
--- request
POST /videos
{"filename":"a.mp4","content_type":"video/mp4","size":1.5}
--- error_code: 400



=== TEST 23: a size over the maximum (5 TiB + 1, the largest S3 object) is 413
--- more_headers eval
$::auth
--- request
POST /videos
{"filename":"a.mp4","content_type":"video/mp4","size":5497558138881}
--- error_code: 413
--- response_body
{"error":"too_large","message":"size exceeds the maximum upload size"}



=== TEST 24: a size beyond 64 bits is 400
--- more_headers eval
$::auth
--- request
POST /videos
{"filename":"a.mp4","content_type":"video/mp4","size":99999999999999999999999}
--- error_code: 400



=== TEST 25: a body that is not JSON is 400
--- more_headers eval
$::auth
--- request
POST /videos
filename=a.mp4
--- error_code: 400
--- response_body
{"error":"invalid_request","message":"the body is not valid JSON"}



=== TEST 26: a JSON array is 400
--- more_headers eval
$::auth
--- request
POST /videos
[{"filename":"a.mp4","content_type":"video/mp4","size":1}]
--- error_code: 400
--- response_body
{"error":"invalid_request","message":"the body must be a JSON object"}



=== TEST 27: an empty body is 400
--- more_headers eval
$::auth
--- request
POST /videos
--- error_code: 400



=== TEST 28: a body over 16 KiB is 413 with the contract's JSON
--- more_headers eval
$::auth
--- request eval
"POST /videos\n$::big"
--- error_code: 413
--- response_body
{"error":"too_large","message":"the request body is too large"}



=== TEST 29: a chunked body over the limit is 413 too
--- more_headers eval
"$::auth\r\nTransfer-Encoding: chunked"
--- raw_request eval
my $b = $::big;
"POST /videos HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n$::auth\r\nTransfer-Encoding: chunked\r\n\r\n"
. sprintf("%x", length $b) . "\r\n$b\r\n0\r\n\r\n"
--- error_code: 413
--- response_body
{"error":"too_large","message":"the request body is too large"}



=== TEST 30: duplicate keys are 400
--- more_headers eval
$::auth
--- request
POST /videos
{"filename":"a.mp4","filename":"b.mp4","content_type":"video/mp4","size":1}
--- error_code: 400



=== TEST 31: without a token it is 401
--- request
POST /videos
{"filename":"a.mp4","content_type":"video/mp4","size":1}
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="vidstream"



=== TEST 32: PUT on /videos is 405 with Allow
--- more_headers eval
$::auth
--- request
PUT /videos
{}
--- error_code: 405
--- response_headers
Allow: GET, HEAD, POST
--- response_body
{"error":"method_not_allowed","message":"method not allowed here"}



=== TEST 33: without vidstream_auth the API never answers
--- config
    location /videos { vidstream_api; }
--- more_headers eval
$::auth
--- request
POST /videos
{"filename":"a.mp4","content_type":"video/mp4","size":1}
--- error_code: 401
--- error_log
unauthenticated request



=== TEST 34: a chunked body under the limit stays in memory even with a 1k client_body_buffer_size
--- config eval
$::api_1k
--- raw_request eval
my $b = $::mid;
"POST /videos HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n$::auth\r\nTransfer-Encoding: chunked\r\n\r\n"
. join('', map { sprintf("%x", length $_) . "\r\n$_\r\n" } unpack('(a1000)*', $b))
. "0\r\n\r\n"
--- error_code: 201
--- response_body_like chomp
^\{"id" : "[0-9a-f-]{36}", "status" : "pending_upload", "filename" : "m.mov",
--- no_error_log
buffered to a temporary file
[error]



=== TEST 35: with a 1k client_body_buffer_size a body over the limit is still 413 JSON
--- config eval
$::api_1k
--- raw_request eval
my $b = $::big;
"POST /videos HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n$::auth\r\nTransfer-Encoding: chunked\r\n\r\n"
. join('', map { sprintf("%x", length $_) . "\r\n$_\r\n" } unpack('(a1000)*', $b))
. "0\r\n\r\n"
--- error_code: 413
--- response_body
{"error":"too_large","message":"the request body is too large"}



=== TEST 36: an unknown field holding a 25-digit integer is ignored
--- more_headers eval
$::auth
--- request
POST /videos
{"filename":"n.mov","content_type":"video/mp4","size":7,"counter":1234567890123456789012345}
--- error_code: 201
--- response_body_like chomp
^\{"id" : "[0-9a-f-]{36}", "status" : "pending_upload", "filename" : "n.mov", "content_type" : "video/mp4", "size" : 7,



=== TEST 37: unknown fields of any type are ignored
--- more_headers eval
$::auth
--- request
POST /videos
{"a":null,"b":1e400,"filename":"o.mov","c":{"d":[true,-99999999999999999999999]},"content_type":"video/mp4","size":8,"e":"x"}
--- error_code: 201



=== TEST 38: size as an exact real beside a 25-digit integer is accepted
--- more_headers eval
$::auth
--- request
POST /videos
{"filename":"p.mov","content_type":"video/mp4","size":9,"big":1234567890123456789012345}
--- error_code: 201
--- response_body_like chomp
"size" : 9,



=== TEST 39: a fractional size beside a 25-digit integer is still 400
--- more_headers eval
$::auth
--- request
POST /videos
{"filename":"q.mov","content_type":"video/mp4","size":9.5,"big":1234567890123456789012345}
--- error_code: 400
--- response_body
{"error":"invalid_request","message":"size must be an integer"}



=== TEST 40: an unknown field holding a number beyond a double (1e400) is ignored
--- more_headers eval
$::auth
--- request
POST /videos
{"filename":"r\"1e400\u0041.mov","content_type":"video/mp4","size":12,"huge":-1e400,"big":99999999999999999999999}
--- error_code: 201
--- response_body_like chomp
^\{"id" : "[0-9a-f-]{36}", "status" : "pending_upload", "filename" : "r\\"1e400A.mov", "content_type" : "video/mp4", "size" : 12,



=== TEST 41: a size of 1e400 is 400
--- more_headers eval
$::auth
--- request
POST /videos
{"filename":"s.mov","content_type":"video/mp4","size":1e400}
--- error_code: 400
--- response_body
{"error":"invalid_request","message":"size must be an integer"}
