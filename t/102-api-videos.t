# vim:set ft= ts=4 sw=4 et fdm=marker:
#
# GET /videos, GET /videos/<id>, complete, download, DELETE (CONTRACT.md 3):
# ownership in SQL, keyset pagination, one job per video, presigned GETs.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use ApiTest;

our $alice = ApiTest::user('alice');
our $bob = ApiTest::user('bob');
our $a = "Authorization: Bearer " . ApiTest::token($alice);
our $b = "Authorization: Bearer " . ApiTest::token($bob);

sub video {
    my ($owner, %v) = @_;
    my $status = $v{status} // 'pending_upload';
    my $name = ApiTest::quote($v{filename} // 'clip.mov');
    my $o = ApiTest::quote($owner);
    my $done = $status eq 'done' ? 'true' : 'false';
    my $at = $v{created_at} ? ApiTest::quote($v{created_at}) : 'now()';
    return ApiTest::psql(
        "WITH n AS (SELECT gen_random_uuid() AS id) INSERT INTO videos"
        . " (id, owner_sub, status, filename, content_type, size, input_key,"
        . " output_mp4, output_thumbnail, created_at)"
        . " SELECT n.id, $o, '$status', $name, 'video/mp4', 10,"
        . " 'input/' || $o || '/' || n.id || '/source', $done, $done, $at"
        . " FROM n RETURNING id");
}

our $pending = video($alice);
our $pending2 = video($alice);
our $failed = video($alice, status => 'failed');
our $done = video($alice, status => 'done', filename => "Ma vid\x{c3}\x{a9}o \"x\".mov");
our $deleting = video($alice);
our $bobs = video($bob);

# pagination: 5 videos of one user, two with the very same created_at
our $pager = ApiTest::user('pager');
our $p = "Authorization: Bearer " . ApiTest::token($pager);
our @page = map { video($pager, created_at => "2026-01-0$_ 10:00:00.123456+00") } 1 .. 3;
push @page, video($pager, created_at => '2026-01-04 10:00:00+00') for 1 .. 2;

# an object in S3 for the delete test, put with a presigned URL by the test
ApiTest::drain_queue();

sub page {
    my ($cursor, $limit) = @_;
    my $q = "limit=$limit" . ($cursor ? "&cursor=$cursor" : '');
    return `curl -s -H '$::p' 'http://127.0.0.1:$ENV{TEST_NGINX_SERVER_PORT}/videos?$q'`;
}

ApiTest::defaults();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: GET own video is 200 with the video object
--- more_headers eval
$::a
--- request eval
"GET /videos/$::pending"
--- error_code: 200
--- response_body_like eval
qr/^\{"id" : "$::pending", "status" : "pending_upload", "filename" : "clip.mov",/



=== TEST 2: another user's video is 404 on GET
--- more_headers eval
$::b
--- request eval
"GET /videos/$::pending"
--- error_code: 404
--- response_body
{"error":"not_found","message":"no such video"}



=== TEST 3: an unknown id is 404
--- more_headers eval
$::a
--- request
GET /videos/00000000-0000-4000-8000-000000000000
--- error_code: 404



=== TEST 4: a malformed id is 400
--- more_headers eval
$::a
--- request
GET /videos/not-a-uuid
--- error_code: 400
--- response_body
{"error":"invalid_request","message":"the video id is not a lowercase UUID"}



=== TEST 5: an uppercase id is 400
--- more_headers eval
$::a
--- request eval
"GET /videos/" . uc $::pending
--- error_code: 400



=== TEST 6: an id with SQL in it is 400
--- more_headers eval
$::a
--- request
GET /videos/1'%20OR%20'1'='1
--- error_code: 400



=== TEST 7: PATCH on a video is 405 with Allow
--- more_headers eval
$::a
--- request eval
"PATCH /videos/$::pending\n{}"
--- error_code: 405
--- response_headers
Allow: GET, HEAD, DELETE



=== TEST 8: an unknown sub-resource is 404
--- more_headers eval
$::a
--- request eval
"GET /videos/$::pending/nope"
--- error_code: 404



=== TEST 9: the list holds only the caller's videos, newest first
--- more_headers eval
$::b
--- request
GET /videos
--- error_code: 200
--- response_body_like eval
qr/^\{"items":\[\{"id" : "$::bobs", [^\]]*\}\],"next_cursor":null\}$/



=== TEST 10: pages of 2 walk all 5 videos once, in order, ties broken by id
--- request
GET /healthz
--- response_body_filters eval
sub {
    my @seen;
    my $cursor;
    for (1 .. 5) {
        my $r = $ApiTest::json->decode(main::page($cursor, 2));
        push @seen, map { $_->{id} } @{ $r->{items} };
        $cursor = $r->{next_cursor};
        last unless defined $cursor;
    }
    my @want = ((sort { $b cmp $a } @main::page[3, 4]),
                reverse @main::page[0 .. 2]);
    return join(',', @seen) eq join(',', @want) ? "ok\n" : "got @seen want @want\n";
}
--- response_body
ok



=== TEST 11: limit 0 is 400
--- more_headers eval
$::a
--- request
GET /videos?limit=0
--- error_code: 400
--- response_body
{"error":"invalid_request","message":"limit must be an integer from 1 to 100"}



=== TEST 12: limit 101 is 400
--- more_headers eval
$::a
--- request
GET /videos?limit=101
--- error_code: 400



=== TEST 13: limit abc is 400
--- more_headers eval
$::a
--- request
GET /videos?limit=abc
--- error_code: 400



=== TEST 14: a forged cursor is 400
--- more_headers eval
$::a
--- request
GET /videos?cursor=eCcpOyBEUk9QIFRBQkxFIHZpZGVvczsgLS0
--- error_code: 400
--- response_body
{"error":"invalid_request","message":"invalid cursor"}



=== TEST 15: a cursor that is not base64 is 400
--- more_headers eval
$::a
--- request
GET /videos?cursor=%%%%
--- error_code: 400



=== TEST 16: complete on another user's video is 404
--- more_headers eval
$::b
--- request eval
"POST /videos/$::pending/complete"
--- error_code: 404



=== TEST 17: complete queues the video and sends one job message
--- more_headers eval
$::a
--- request eval
"POST /videos/$::pending/complete"
--- error_code: 202
--- response_body eval
"{\"id\":\"$::pending\",\"status\":\"queued\"}\n"
--- no_error_log
[error]



=== TEST 18: complete again is 200 queued and sends nothing more
--- more_headers eval
$::a
--- request eval
"POST /videos/$::pending/complete"
--- error_code: 200
--- response_body_filters eval
sub {
    my @m = ApiTest::drain_queue();
    my $want = $ApiTest::json->encode({version => 1, video_id => $::pending,
        owner => $::alice, bucket => $ENV{VIDSTREAM_BUCKET},
        key => "input/$::alice/$::pending/source"});
    my $got = @m == 1 ? $ApiTest::json->encode($ApiTest::json->decode($m[0])) : "@m";
    return "$_[0]" . (@m == 1 && $got eq $want ? "one job\n" : "messages: $got\n");
}
--- response_body eval
"{\"id\":\"$::pending\",\"status\":\"queued\"}\none job\n"



=== TEST 19: complete on a failed video is 409
--- more_headers eval
$::a
--- request eval
"POST /videos/$::failed/complete"
--- error_code: 409
--- response_body
{"error":"conflict","message":"the video has failed and cannot be queued again"}



=== TEST 20: GET on complete is 405
--- more_headers eval
$::a
--- request eval
"GET /videos/$::pending/complete"
--- error_code: 405
--- response_headers
Allow: POST



=== TEST 21: SQS unreachable: 503, and the video stays queued with its job unsent (a retry or the reconciler sends it)
--- config
    location /videos { vidstream_auth on; vidstream_api; }
    location = /_vidstream/sqs {
        internal;
        proxy_pass http://127.0.0.1:1$vidstream_aws_uri;
    }
--- more_headers eval
$::a
--- request eval
"POST /videos/$::pending2/complete"
--- error_code: 503
--- response_body_filters eval
sub { $_[0] . ApiTest::psql("SELECT status || ' ' || (enqueued_at IS NULL) FROM videos WHERE id = '$::pending2'") . "\n" }
--- response_body
{"error":"unavailable","message":"the service is temporarily unavailable, try again"}
queued true
--- error_log
SQS SendMessage failed with 502



=== TEST 22: download of a video not done is 409 not_ready with its status
--- more_headers eval
$::a
--- request eval
"GET /videos/$::failed/download"
--- error_code: 409
--- response_body
{"error":"not_ready","message":"the mp4 variant is not available","status":"failed"}



=== TEST 23: download of another user's video is 404
--- more_headers eval
$::b
--- request eval
"GET /videos/$::done/download"
--- error_code: 404



=== TEST 24: download gives a presigned GET with the filename per RFC 6266
--- more_headers eval
$::a
--- request eval
"GET /videos/$::done/download?variant=mp4"
--- error_code: 200
--- response_body_like eval
qr{^\{"url":"http://127\.0\.0\.1:\d+/[^/]+/output/\Q$::alice\E/$::done/video\.mp4\?response-content-disposition=attachment%3B%20filename%3D%22Ma%20vid__o%20_x_\.mov%22%3B%20filename%2A%3DUTF-8%27%27Ma%2520vid%25C3%25A9o%2520%2522x%2522\.mov&X-Amz-Algorithm=AWS4-HMAC-SHA256&[^"]+&X-Amz-Signature=[0-9a-f]{64}","expires_at":"[^"]+Z","variant":"mp4"\}$}



=== TEST 25: download of the thumbnail names thumbnail.jpg
--- more_headers eval
$::a
--- request eval
"GET /videos/$::done/download?variant=thumbnail"
--- error_code: 200
--- response_body_like eval
qr{/output/\Q$::alice\E/$::done/thumbnail\.jpg\?.*"variant":"thumbnail"}



=== TEST 26: hls not produced is 409 not_ready
--- more_headers eval
$::a
--- request eval
"GET /videos/$::done/download?variant=hls"
--- error_code: 409
--- response_body
{"error":"not_ready","message":"the hls variant is not available","status":"done"}



=== TEST 27: redirect=1 is a 302 to the presigned URL
--- more_headers eval
$::a
--- request eval
"GET /videos/$::done/download?redirect=1"
--- error_code: 302
--- response_headers_like
Location: http://127\.0\.0\.1:\d+/.*/video\.mp4\?response-content-disposition=.*X-Amz-Signature=[0-9a-f]{64}$



=== TEST 28: an unknown variant is 400
--- more_headers eval
$::a
--- request eval
"GET /videos/$::done/download?variant=avi"
--- error_code: 400
--- response_body
{"error":"invalid_request","message":"variant must be mp4, thumbnail or hls"}



=== TEST 29: DELETE of another user's video is 404 and leaves it
--- more_headers eval
$::b
--- request eval
"DELETE /videos/$::deleting"
--- error_code: 404
--- response_body_filters eval
sub { $_[0] . ApiTest::psql("SELECT count(*) FROM videos WHERE id = '$::deleting'") . "\n" }
--- response_body
{"error":"not_found","message":"no such video"}
1



=== TEST 30: DELETE removes the S3 objects and the row
--- init
my $key = "input/$::alice/$::deleting/source";
my $out = "output/$::alice/$::deleting/hls/seg 1.ts";
for my $k ($key, $out) {
    system('/usr/bin/python3', '-c', q{
import os, sys, botocore.session
c = botocore.session.get_session().create_client('s3', region_name='us-east-1',
    endpoint_url=os.environ['AWS_ENDPOINT_URL_S3'])
c.put_object(Bucket=os.environ['VIDSTREAM_BUCKET'], Key=sys.argv[1], Body=b'x')
}, $k) == 0 or die "put $k failed";
}
--- more_headers eval
$::a
--- request eval
"DELETE /videos/$::deleting"
--- error_code: 204
--- response_body_filters eval
sub {
    my $rows = ApiTest::psql("SELECT count(*) FROM videos WHERE id = '$::deleting'");
    my $left = `/usr/bin/python3 -c "
import os, botocore.session
c = botocore.session.get_session().create_client('s3', region_name='us-east-1', endpoint_url=os.environ['AWS_ENDPOINT_URL_S3'])
for p in ('input/', 'output/'):
    r = c.list_objects_v2(Bucket=os.environ['VIDSTREAM_BUCKET'], Prefix=p + '$::alice/$::deleting/')
    print(r.get('KeyCount', 0))
"`;
    $left =~ s/\n/ /g;
    return "rows=$rows objects=$left\n";
}
--- response_body
rows=0 objects=0 0 



=== TEST 31: the deleted video is gone
--- more_headers eval
$::a
--- request eval
"GET /videos/$::deleting"
--- error_code: 404
