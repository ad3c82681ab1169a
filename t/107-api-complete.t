# vim:set ft= ts=4 sw=4 et fdm=marker:
#
# POST /videos/<id>/complete and the job's delivery (CONTRACT.md 3 and 5):
# enqueued_at is set only once SQS has the job; a queued video whose job
# was never sent gets it on the next complete; an SQS that stalls costs
# the client vidstream_aws_timeout, not nginx's 60 s proxy defaults, and
# leaves the video queued for a retry or the reconciler.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use ApiTest;
use IO::Socket::INET;

our $alice = ApiTest::user('alice');
our $a = "Authorization: Bearer " . ApiTest::token($alice);

sub video {
    my ($status, $enqueued) = @_;
    my $o = ApiTest::quote($alice);
    return ApiTest::psql(
        "WITH n AS (SELECT gen_random_uuid() AS id) INSERT INTO videos"
        . " (id, owner_sub, status, filename, content_type, size, input_key,"
        . " queued_at, enqueued_at)"
        . " SELECT n.id, $o, '$status', 'c.mov', 'video/mp4', 10,"
        . " 'input/' || $o || '/' || n.id || '/source',"
        . " CASE WHEN '$status' = 'queued' THEN now() END, $enqueued"
        . " FROM n RETURNING id");
}

sub state {
    my ($id) = @_;
    return ApiTest::psql("SELECT status || ' enqueued_at '"
                         . " || CASE WHEN enqueued_at IS NULL THEN 'null'"
                         . " ELSE 'set' END FROM videos WHERE id = '$id'");
}

# the job messages now on the queue, for video $id
sub jobs {
    my ($id) = @_;
    my @m = grep { $ApiTest::json->decode($_)->{video_id} eq $id }
            ApiTest::drain_queue();
    return scalar(@m) . " job" . (@m == 1 ? '' : 's');
}

our $pending = video('pending_upload', 'NULL');
our $unsent = video('queued', 'NULL');
our $stalled = video('pending_upload', 'NULL');
our $sent = video('queued', 'now()');

# An SQS that stalls: connections are accepted (by the kernel) and never
# answered.
our $stall = IO::Socket::INET->new(Listen => 16, LocalAddr => '127.0.0.1',
                                   LocalPort => 0, Proto => 'tcp')
    or die "listen: $!";
$ENV{TEST_NGINX_STALL_PORT} = $stall->sockport;

our $stall_config = $ApiTest::config
    =~ s{proxy_pass \$TEST_NGINX_API_SQS}{proxy_pass http://127.0.0.1:\$TEST_NGINX_STALL_PORT}r;

ApiTest::drain_queue();
ApiTest::defaults();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: complete sends the job and sets enqueued_at once SQS has it
--- more_headers eval
$::a
--- request eval
"POST /videos/$::pending/complete"
--- error_code: 202
--- response_body_filters eval
sub { $_[0] . main::state($::pending) . ' ' . main::jobs($::pending) . "\n" }
--- response_body eval
"{\"id\":\"$::pending\",\"status\":\"queued\"}\nqueued enqueued_at set 1 job\n"
--- no_error_log
[error]



=== TEST 2: complete on a queued video whose job was never sent sends it: 200 queued
--- more_headers eval
$::a
--- request eval
"POST /videos/$::unsent/complete"
--- error_code: 200
--- response_body_filters eval
sub { $_[0] . main::state($::unsent) . ' ' . main::jobs($::unsent) . "\n" }
--- response_body eval
"{\"id\":\"$::unsent\",\"status\":\"queued\"}\nqueued enqueued_at set 1 job\n"
--- no_error_log
[error]



=== TEST 3: complete on a queued video whose job was sent is 200 and sends nothing
--- more_headers eval
$::a
--- request eval
"POST /videos/$::sent/complete"
--- error_code: 200
--- response_body_filters eval
sub { $_[0] . main::state($::sent) . ' ' . main::jobs($::sent) . "\n" }
--- response_body eval
"{\"id\":\"$::sent\",\"status\":\"queued\"}\nqueued enqueued_at set 0 jobs\n"



=== TEST 4: an SQS that stalls: 503 within vidstream_aws_timeout, the video queued with its job unsent
--- http_config eval
$ApiTest::http_config . "    vidstream_aws_timeout 500ms;\n"
--- config eval
$::stall_config
--- more_headers eval
$::a
--- request eval
"POST /videos/$::stalled/complete"
--- timeout: 3
--- error_code: 503
--- response_body_filters eval
sub { $_[0] . main::state($::stalled) . "\n" }
--- response_body
{"error":"unavailable","message":"the service is temporarily unavailable, try again"}
queued enqueued_at null
--- error_log
timed out after 500 ms
SQS SendMessage failed with 504 (vidstream_aws_timeout)



=== TEST 5: SQS back, the retried complete sends the job: 200 queued
--- more_headers eval
$::a
--- request eval
"POST /videos/$::stalled/complete"
--- error_code: 200
--- response_body_filters eval
sub { $_[0] . main::state($::stalled) . ' ' . main::jobs($::stalled) . "\n" }
--- response_body eval
"{\"id\":\"$::stalled\",\"status\":\"queued\"}\nqueued enqueued_at set 1 job\n"



=== TEST 6: vidstream_aws_timeout takes a time
--- http_config eval
$ApiTest::http_config . "    vidstream_aws_timeout 250ms;\n"
--- request
GET /healthz
--- error_code: 200



=== TEST 7: vidstream_aws_timeout 0 is refused
--- http_config eval
$ApiTest::http_config . "    vidstream_aws_timeout 0;\n"
--- request
GET /healthz
--- must_die
--- error_log
vidstream_aws_timeout must be positive



=== TEST 8: vidstream_aws_timeout is not a time
--- http_config eval
$ApiTest::http_config . "    vidstream_aws_timeout soon;\n"
--- request
GET /healthz
--- must_die
--- error_log
"vidstream_aws_timeout" directive invalid value
