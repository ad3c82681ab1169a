# vim:set ft= ts=4 sw=4 et fdm=marker:
#
# GET /videos/<id>/playback (CONTRACT.md 3.2): owner only, video done; the
# edge URLs of a fresh token.  That the token plays is t/stack/play.sh's.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use ApiTest;
use PlayTest;

our $alice = ApiTest::user('alice');
our $bob = ApiTest::user('bob');
our $a = "Authorization: Bearer " . ApiTest::token($alice);
our $b = "Authorization: Bearer " . ApiTest::token($bob);

our $hls = PlayTest::video($alice, hls => 1);
our $mp4 = PlayTest::video($alice);
our $queued = PlayTest::video($alice, status => 'queued');
our $failed = PlayTest::video($alice, status => 'failed');

# a token is base64url; for this owner 126 characters
our $tok = qr{[A-Za-z0-9_-]{100,260}};

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

=== TEST 1: the owner gets the edge URLs of one token, HLS included
--- more_headers eval
$::a
--- request eval
"GET /videos/$::hls/playback"
--- error_code: 200
--- response_headers
Content-Type: application/json
--- response_body_like eval
qr{^\{"mp4":"/play/($::tok)/video\.mp4","thumbnail":"/play/\1/thumbnail\.jpg","hls":"/play/\1/hls/index\.m3u8","expires_at":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"\}\n\z}
--- no_error_log
[error]



=== TEST 2: hls is null when the video has no HLS
--- more_headers eval
$::a
--- request eval
"GET /videos/$::mp4/playback"
--- error_code: 200
--- response_body_like eval
qr{^\{"mp4":"/play/$::tok/video\.mp4","thumbnail":"/play/$::tok/thumbnail\.jpg","hls":null,"expires_at":"[^"]+Z"\}\n\z}



=== TEST 3: expires_at is an hour away by default
--- more_headers eval
$::a
--- request eval
"GET /videos/$::mp4/playback"
--- error_code: 200
--- response_body_like eval
use POSIX ();
my $t = POSIX::strftime('%Y-%m-%dT%H:%M', gmtime(time() + 3600));
qr{"expires_at":"$t:\d\dZ"}



=== TEST 4: vidstream_playback_expires sets the lifetime
--- http_config eval
PlayTest::http_config('A') . "vidstream_playback_expires 10m;\n"
--- more_headers eval
$::a
--- request eval
"GET /videos/$::mp4/playback"
--- error_code: 200
--- response_body_like eval
use POSIX ();
my $t = POSIX::strftime('%Y-%m-%dT%H:%M', gmtime(time() + 600));
qr{"expires_at":"$t:\d\dZ"}



=== TEST 5: another user's video is 404, like one that does not exist
--- more_headers eval
$::b
--- request eval
"GET /videos/$::hls/playback"
--- error_code: 404
--- response_body
{"error":"not_found","message":"no such video"}



=== TEST 6: a video not done is 409 not_ready with its status
--- more_headers eval
$::a
--- request eval
["GET /videos/$::queued/playback", "GET /videos/$::failed/playback"]
--- error_code eval
[409, 409]
--- response_body eval
["{\"error\":\"not_ready\",\"message\":\"the video is not ready to play\",\"status\":\"queued\"}\n",
 "{\"error\":\"not_ready\",\"message\":\"the video is not ready to play\",\"status\":\"failed\"}\n"]



=== TEST 7: without a token it is 401
--- request eval
"GET /videos/$::hls/playback"
--- error_code: 401



=== TEST 8: only GET and HEAD
--- more_headers eval
$::a
--- request eval
"DELETE /videos/$::hls/playback"
--- error_code: 405
--- response_headers
Allow: GET, HEAD



=== TEST 9: without a playback key it is 503
--- http_config eval
$ApiTest::http_config
--- config eval
$ApiTest::config
--- more_headers eval
$::a
--- request eval
"GET /videos/$::hls/playback"
--- error_code: 503
--- response_body_like: "error":"unavailable"
--- error_log
vidstream play: no vidstream_playback_key



=== TEST 10: a key shorter than 32 bytes is refused at startup
--- http_config eval
$ApiTest::http_config . "vidstream_playback_key $PlayTest::dir/short.key;\n"
--- config eval
$ApiTest::config
--- must_die
--- error_log
is 31 bytes, at least 32 are required



=== TEST 11: a lifetime over 24 h is refused at startup
--- http_config eval
PlayTest::http_config('A') . "vidstream_playback_expires 25h;\n"
--- config eval
$ApiTest::config
--- must_die
--- error_log
vidstream_playback_expires must be from 1s to 24h



=== TEST 12: a missing key file is refused at startup
--- http_config eval
$ApiTest::http_config . "vidstream_playback_key $PlayTest::dir/none.key;\n"
--- config eval
$ApiTest::config
--- must_die
--- error_log
none.key" failed



=== TEST 13: vidstream_play needs a prefix location ending with /
--- config
    location = /play {
        vidstream_play on;
    }
--- must_die
--- error_log
needs a prefix location ending with "/"
