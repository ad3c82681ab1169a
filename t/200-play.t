# vim:set ft= ts=4 sw=4 et fdm=marker:
#
# GET|HEAD /play/<token>/<file> (CONTRACT.md 3.2): the token is checked in
# the access phase, the file mapped to output/<sub>/<id>/<file> and read
# from the stack's S3 with SigV4 headers, through slices and the cache.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use ApiTest;
use PlayTest;

our $alice = ApiTest::user('alice');
our $bob = ApiTest::user('bob');

our $v1 = PlayTest::video($alice, hls => 1);
our $v2 = PlayTest::video($alice);

# two and a half slices (the slice size of the location, PlayTest.pm):
# three slices, the last one short
our $slice = $PlayTest::slice;
our $mp4 = PlayTest::bytes(2 * $slice + $slice / 2 + 123, 'v1');
our $mp4_2 = PlayTest::bytes(1000, 'v2');
our $len = length $mp4;
our $jpg = "\xff\xd8\xff\xe0 a poster";
our $m3u8 = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n720p/stream.m3u8\n";
our $seg = PlayTest::bytes(5000, 'seg');

PlayTest::put(
    "output/$alice/$v1/video.mp4" => $mp4,
    "output/$alice/$v1/thumbnail.jpg" => $jpg,
    "output/$alice/$v1/hls/index.m3u8" => $m3u8,
    "output/$alice/$v1/hls/720p/seg_0.m4s" => $seg,
    "output/$alice/$v1/hls/720p/seg_1.ts" => $seg,
    "output/$alice/$v1/hls/720p/init.mp4" => $seg,     # read by TEST 25 only
    "output/$alice/$v2/video.mp4" => $mp4_2,
    "input/$alice/$v1/source" => 'the upload',
);

our $t1 = PlayTest::token(video => $v1, sub => $alice);
our $t2 = PlayTest::token(video => $v2, sub => $alice);
our $expired = PlayTest::token(video => $v1, sub => $alice,
                               expires => time() - 1);
our $wrong_key = PlayTest::token(video => $v1, sub => $alice, key => 'C');
our $bobs = PlayTest::token(video => $v1, sub => $bob);

# one character changed in the middle (the MAC no longer matches)
our $tampered = $t1;
substr($tampered, 40, 1) = substr($tampered, 40, 1) eq 'A' ? 'B' : 'A';

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('http_config', PlayTest::http_config('A'))
        unless defined $block->http_config;
    $block->set_value('config', $ApiTest::config . $PlayTest::play_location)
        unless defined $block->config;
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the MP4 plays without any Authorization, byte for byte
--- request eval
"GET /play/$::t1/video.mp4"
--- error_code: 200
--- response_headers eval
"Content-Type: video/mp4
Content-Length: $::len
Cache-Control: private
!x-amz-request-id
!x-amz-id-2"
--- response_headers_like
ETag: "[0-9a-f]{32}"
Last-Modified: \w+, \d+ \w+ \d{4} [\d:]+ GMT
--- response_body eval
$::mp4
--- no_error_log
[error]
[warn]
[crit]



=== TEST 2: Range, the first bytes: 206
--- more_headers
Range: bytes=0-99
--- request eval
"GET /play/$::t1/video.mp4"
--- error_code: 206
--- response_headers eval
"Content-Range: bytes 0-99/$::len
Content-Length: 100
Content-Type: video/mp4"
--- response_body eval
substr($::mp4, 0, 100)



=== TEST 3: Range across the boundary of two slices
--- more_headers eval
"Range: bytes=" . ($::slice - 576) . "-" . ($::slice + 1423)
--- request eval
"GET /play/$::t1/video.mp4"
--- error_code: 206
--- response_headers eval
"Content-Range: bytes " . ($::slice - 576) . "-" . ($::slice + 1423) . "/$::len"
--- response_body eval
substr($::mp4, $::slice - 576, 2000)



=== TEST 4: Range, the last bytes (suffix)
--- more_headers
Range: bytes=-100
--- request eval
"GET /play/$::t1/video.mp4"
--- error_code: 206
--- response_headers eval
"Content-Range: bytes " . ($::len - 100) . "-" . ($::len - 1) . "/$::len"
--- response_body eval
substr($::mp4, -100)



=== TEST 5: Range past the end: 416
--- more_headers eval
"Range: bytes=$::len-"
--- request eval
"GET /play/$::t1/video.mp4"
--- error_code: 416
--- response_headers eval
"Content-Range: bytes */$::len
Content-Type: application/json"
--- response_body
{"error":"range_not_satisfiable","message":"the range is outside the file"}



=== TEST 6: HEAD: the headers, no body
--- request eval
"HEAD /play/$::t1/video.mp4"
--- error_code: 200
--- response_headers eval
"Content-Length: $::len
Content-Type: video/mp4
Cache-Control: private"
--- response_body:



=== TEST 7: the poster is image/jpeg
--- request eval
"GET /play/$::t1/thumbnail.jpg"
--- error_code: 200
--- response_headers
Content-Type: image/jpeg
--- response_body eval
$::jpg



=== TEST 8: the HLS master playlist
--- request eval
"GET /play/$::t1/hls/index.m3u8"
--- error_code: 200
--- response_headers
Content-Type: application/vnd.apple.mpegurl
--- response_body eval
$::m3u8



=== TEST 9: fMP4 and TS segments have their types
--- request eval
["GET /play/$::t1/hls/720p/seg_0.m4s", "GET /play/$::t1/hls/720p/seg_1.ts"]
--- error_code eval
[200, 200]
--- response_headers eval
["Content-Type: video/iso.segment", "Content-Type: video/mp2t"]
--- response_body eval
[$::seg, $::seg]



=== TEST 10: a tampered token is 403 forbidden
--- request eval
"GET /play/$::tampered/video.mp4"
--- error_code: 403
--- response_headers
Content-Type: application/json
--- response_body
{"error":"forbidden","message":"the playback link is invalid or has expired"}
--- error_log
vidstream play: token signature mismatch



=== TEST 11: an expired token is 403
--- request eval
"GET /play/$::expired/video.mp4"
--- error_code: 403
--- response_body_like: "error":"forbidden"
--- error_log
vidstream play: token expired



=== TEST 12: a token of a key not configured is 403
--- request eval
"GET /play/$::wrong_key/video.mp4"
--- error_code: 403
--- response_body_like: "error":"forbidden"
--- error_log
vidstream play: token signed by an unknown key



=== TEST 13: garbage and an empty token are 403
--- request eval
["GET /play/garbage/video.mp4", "GET /play//video.mp4"]
--- error_code eval
[403, 403]



=== TEST 14: each token reads its own video only
--- request eval
["GET /play/$::t2/video.mp4", "GET /play/$::t1/video.mp4"]
--- error_code eval
[200, 200]
--- response_body eval
[$::mp4_2, $::mp4]



=== TEST 15: a token of another owner for the same id finds nothing
--- request eval
"GET /play/$::bobs/video.mp4"
--- error_code: 404
--- response_body
{"error":"not_found","message":"no such file"}



=== TEST 16: the upload, dot segments, encoded slashes and unknown files are 404
--- request eval
["GET /play/$::t1/source",
 "GET /play/$::t1/../source",
 "GET /play/$::t1/hls/../video.mp4",
 "GET /play/$::t1/hls/..%2Fvideo.mp4",
 "GET /play/$::t1/hls%2Findex.m3u8",
 "GET /play/$::t1/%76ideo.mp4",
 "GET /play/$::t1//video.mp4",
 "GET /play/$::t1/video.mp4/",
 "GET /play/$::t1/index.html",
 "GET /play/$::t1",
 "GET /play/$::t1/"]
--- error_code eval
[(404) x 11]
--- response_body eval
[("{\"error\":\"not_found\",\"message\":\"no such file\"}\n") x 11]



=== TEST 17: a playable name that S3 does not hold is 404 JSON
--- request eval
"GET /play/$::t1/hls/720p/seg_99.m4s"
--- error_code: 404
--- response_body
{"error":"not_found","message":"no such file"}



=== TEST 18: a missing poster is 404 JSON, not image/jpeg
--- request eval
"GET /play/$::t2/thumbnail.jpg"
--- error_code: 404
--- response_headers
Content-Type: application/json
--- response_body
{"error":"not_found","message":"no such file"}



=== TEST 19: the query string is ignored
--- request eval
"GET /play/$::t1/thumbnail.jpg?x=1"
--- error_code: 200
--- response_body eval
$::jpg



=== TEST 20: other methods are 405
--- request eval
"POST /play/$::t1/video.mp4\nabc"
--- more_headers
Content-Length: 3
--- error_code: 405
--- response_headers
Allow: GET, HEAD
--- response_body_like: "error":"method_not_allowed"



=== TEST 21: a cache hit still checks the token
--- request eval
["GET /play/$::t1/thumbnail.jpg",
 "GET /play/$::t1/thumbnail.jpg",
 "GET /play/$::tampered/thumbnail.jpg",
 "GET /play/$::expired/thumbnail.jpg"]
--- error_code eval
[200, 200, 403, 403]
--- response_headers eval
["", "X-Cache: HIT", "!X-Cache", "!X-Cache"]



=== TEST 22: rotation: with keys B and A, a token under A still plays
--- http_config eval
PlayTest::http_config('B', 'A')
--- request eval
"GET /play/$::t1/thumbnail.jpg"
--- error_code: 200
--- response_body eval
$::jpg



=== TEST 23: rotation: once A is removed, its tokens are refused
--- http_config eval
PlayTest::http_config('B')
--- request eval
"GET /play/$::t1/thumbnail.jpg"
--- error_code: 403
--- error_log
vidstream play: token signed by an unknown key



=== TEST 24: rotation: a token under B plays with keys B and A
--- http_config eval
PlayTest::http_config('B', 'A')
--- request eval
"GET /play/" . PlayTest::token(video => $::v1, sub => $::alice, key => 'B')
. "/thumbnail.jpg"
--- error_code: 200



=== TEST 25: S3 refusing the edge's signature is 503 JSON, not S3's 403
--- http_config eval
PlayTest::http_config('A') . "vidstream_aws_access_key_id NOTAKEY;\nvidstream_aws_secret_access_key not-the-secret;\n"
--- request eval
"GET /play/$::t1/hls/720p/init.mp4"
--- error_code: 503
--- response_headers
Content-Type: application/json
--- response_body
{"error":"unavailable","message":"storage is unavailable, try again"}
