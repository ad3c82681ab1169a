# vim:set ft= ts=4 sw=4 et fdm=marker:
#
# vidstream_video_cache (issue 13): download and playback may take a done
# video's row from shared memory.  Only done videos are kept, only for the
# owner who read them, never past `valid`, and a delete through this nginx
# forgets the video at once.  Each block is one nginx: its requests share
# the zone ("video from cache" is the module's debug line for a hit).

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use IO::Socket::INET;
use ApiTest;

our $alice = ApiTest::user('alice');
our $bob = ApiTest::user('bob');
our $a = "Authorization: Bearer " . ApiTest::token($alice);
our $b = "Authorization: Bearer " . ApiTest::token($bob);

sub video {
    my ($owner, $status) = @_;
    my $o = ApiTest::quote($owner);
    my $done = $status eq 'done' ? 'true' : 'false';
    return ApiTest::psql(
        "WITH n AS (SELECT gen_random_uuid() AS id) INSERT INTO videos"
        . " (id, owner_sub, status, filename, content_type, size, input_key,"
        . " output_mp4, output_thumbnail)"
        . " SELECT n.id, $o, '$status', 'clip.mov', 'video/mp4', 10,"
        . " 'input/' || $o || '/' || n.id || '/source', $done, $done FROM n"
        . " RETURNING id");
}

our $done = video($alice, 'done');
our $done2 = video($alice, 'done');
our $deleted = video($alice, 'done');
our $failed = video($alice, 'failed');

# a listener that never answers: proxying to it is a pause
my $hang = IO::Socket::INET->new(Listen => 8, LocalAddr => '127.0.0.1',
                                 LocalPort => 0, Proto => 'tcp')
    or die "listen: $!";
$ENV{TEST_NGINX_HANG_PORT} = $hang->sockport;

our $cache = "    vidstream_video_cache zone=videos:1m;\n";
our $short = "    vidstream_video_cache zone=videos:1m valid=1s;\n";
our $pause = <<'_EOC_';
    location = /pause {
        proxy_pass http://127.0.0.1:$TEST_NGINX_HANG_PORT;
        proxy_read_timeout 2s;
    }
_EOC_

ApiTest::defaults();
no_shuffle();
no_long_string();
check_accum_error_log();
run_tests();

__DATA__

=== TEST 1: a done video is read once, then served from the cache
--- http_config eval
$ApiTest::http_config . $::cache
--- pipelined_requests eval
["GET /videos/$::done/download", "GET /videos/$::done/download?variant=thumbnail"]
--- more_headers eval
[$::a, $::a]
--- error_code eval
[200, 200]
--- response_body_like eval
[qr{/output/\Q$::alice\E/$::done/video\.mp4\?response-content-disposition=attachment%3B%20filename%3D%22clip\.mov%22.*"variant":"mp4"\}$},
 qr{/output/\Q$::alice\E/$::done/thumbnail\.jpg\?response-content-disposition=attachment%3B%20filename%3D%22clip\.mov%22.*"variant":"thumbnail"\}$}]
--- grep_error_log eval
qr/vidstream api: video from cache/
--- grep_error_log_out
vidstream api: video from cache



=== TEST 2: without the directive nothing is cached
--- pipelined_requests eval
["GET /videos/$::done/download", "GET /videos/$::done/download"]
--- more_headers eval
[$::a, $::a]
--- error_code eval
[200, 200]
--- no_error_log
video from cache



=== TEST 3: a cached video is still 404 for another owner
--- http_config eval
$ApiTest::http_config . $::cache
--- pipelined_requests eval
["GET /videos/$::done2/download", "GET /videos/$::done2/download", "GET /videos/$::done2/download"]
--- more_headers eval
[$::a, $::b, $::a]
--- error_code eval
[200, 404, 200]
--- grep_error_log eval
qr/vidstream api: video from cache/
--- grep_error_log_out
vidstream api: video from cache



=== TEST 4: a video that is not done is never cached
--- http_config eval
$ApiTest::http_config . $::cache
--- pipelined_requests eval
["GET /videos/$::failed/download", "GET /videos/$::failed/download"]
--- more_headers eval
[$::a, $::a]
--- error_code eval
[409, 409]
--- no_error_log
video from cache



=== TEST 5: a delete forgets the video at once
--- http_config eval
$ApiTest::http_config . $::cache
--- request eval
["GET /videos/$::deleted/download", "DELETE /videos/$::deleted", "GET /videos/$::deleted/download"]
--- more_headers eval
[$::a, $::a, $::a]
--- error_code eval
[200, 204, 404]
--- no_error_log
video from cache



=== TEST 6: an entry is not used past valid
--- http_config eval
$ApiTest::http_config . $::short
--- config eval
$ApiTest::config . $::pause
--- pipelined_requests eval
["GET /videos/$::done/download", "GET /pause", "GET /videos/$::done/download"]
--- more_headers eval
[$::a, "", $::a]
--- error_code eval
[200, 504, 200]
--- no_error_log
video from cache
--- timeout: 15



=== TEST 7: a bad directive is refused at start
--- http_config eval
$ApiTest::http_config . "    vidstream_video_cache zone=videos:1m valid=2h;\n"
--- request
GET /videos
--- must_die
--- error_log
"valid" must be from 1s to 1h
