# vim:set ft= ts=4 sw=4 et fdm=marker:
#
# POST /videos with Idempotency-Key (CONTRACT.md 3): a repeat by the same
# user within 24 h is the same video (201, fresh upload URL), another body
# under the key is 422 idempotency_conflict, an invalid key is 400, keys
# are per user, and an expired key creates anew.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use ApiTest;

our $alice = ApiTest::user('alice');
our $bob = ApiTest::user('bob');
our $a = "Authorization: Bearer " . ApiTest::token($alice);
our $b = "Authorization: Bearer " . ApiTest::token($bob);
our $key = "Idempotency-Key: k-" . int(rand(1e9)) . ' !~';
our $long_key = "Idempotency-Key: " . ('k' x 255);
our $too_long = "Idempotency-Key: " . ('k' x 256);
our %id;

# a key used 25 hours ago, for a video of its own
our $old = ApiTest::psql(
    "WITH n AS (SELECT gen_random_uuid() AS id),"
    . " v AS (INSERT INTO videos (id, owner_sub, filename, content_type, size,"
    . " input_key) SELECT n.id, " . ApiTest::quote($alice) . ", 'old.mov',"
    . " 'video/mp4', 1, 'input/x/' || n.id || '/source' FROM n RETURNING id)"
    . " INSERT INTO idempotency_keys (owner_sub, key, request_hash, video_id,"
    . " created_at) SELECT " . ApiTest::quote($alice) . ", 'expired', 'x',"
    . " v.id, now() - interval '25 hours' FROM v RETURNING video_id");

sub remember {
    my ($name) = @_;
    return sub {
        my ($body) = @_;
        my ($id) = $body =~ /"id" : "([0-9a-f-]{36})"/;
        $id{$name} = $id // '';
        my ($sig) = $body =~ /X-Amz-Signature=([0-9a-f]{64})/;
        $id{"$name-url"} = $sig // '';
        return $id ? "id\n" : $body;
    };
}

ApiTest::defaults();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: a create with an Idempotency-Key is 201
--- more_headers eval
"$::a\n$::key"
--- request
POST /videos
{"filename":"idem.mov","content_type":"video/mp4","size":10}
--- error_code: 201
--- response_body_filters eval
main::remember('first')
--- response_body
id



=== TEST 2: the same request again (other spacing, key order, unknown fields) is 201 with the same video
--- more_headers eval
"$::a\n$::key"
--- request
POST /videos
{ "size": 10, "content_type": "video/mp4", "note": 12345678901234567890123, "filename": "idem.mov" }
--- error_code: 201
--- response_headers_like eval
"Location: /videos/[0-9a-f-]{36}"
--- response_body_filters eval
sub { main::remember('repeat')->($_[0]); ($::id{repeat} eq $::id{first} ? "same video" : "another video $::id{repeat} vs $::id{first}") . "\n" }
--- response_body
same video
--- no_error_log
[error]



=== TEST 3: the repeat has one row and one key
--- more_headers eval
$::a
--- request
GET /videos?limit=100
--- error_code: 200
--- response_body_filters eval
sub { ApiTest::psql("SELECT (SELECT count(*) FROM videos WHERE owner_sub = " . ApiTest::quote($::alice) . " AND filename = 'idem.mov') || ' ' || (SELECT count(*) FROM idempotency_keys WHERE owner_sub = " . ApiTest::quote($::alice) . " AND video_id = '$::id{first}')") . "\n" }
--- response_body
1 1



=== TEST 4: another body under the same key is 422 idempotency_conflict
--- more_headers eval
"$::a\n$::key"
--- request
POST /videos
{"filename":"other.mov","content_type":"video/mp4","size":10}
--- error_code: 422
--- response_body
{"error":"idempotency_conflict","message":"this Idempotency-Key was used for a different request"}



=== TEST 5: another size under the same key is 422 too
--- more_headers eval
"$::a\n$::key"
--- request
POST /videos
{"filename":"idem.mov","content_type":"video/mp4","size":11}
--- error_code: 422



=== TEST 6: another user's same key is another video
--- more_headers eval
"$::b\n$::key"
--- request
POST /videos
{"filename":"idem.mov","content_type":"video/mp4","size":10}
--- error_code: 201
--- response_body_filters eval
sub { main::remember('bob')->($_[0]); ($::id{bob} && $::id{bob} ne $::id{first} ? "another video" : "same video") . "\n" }
--- response_body
another video



=== TEST 7: an empty Idempotency-Key is 400
--- more_headers eval
"$::a\nIdempotency-Key: "
--- request
POST /videos
{"filename":"e.mov","content_type":"video/mp4","size":10}
--- error_code: 400
--- response_body
{"error":"invalid_request","message":"Idempotency-Key must be given once, 1 to 255 printable ASCII characters"}



=== TEST 8: an Idempotency-Key of 256 characters is 400
--- more_headers eval
"$::a\n$::too_long"
--- request
POST /videos
{"filename":"e.mov","content_type":"video/mp4","size":10}
--- error_code: 400
--- response_body_like: Idempotency-Key must be



=== TEST 9: an Idempotency-Key with a byte outside printable ASCII is 400
--- more_headers eval
"$::a\nIdempotency-Key: caf\x{e9}"
--- request
POST /videos
{"filename":"e.mov","content_type":"video/mp4","size":10}
--- error_code: 400
--- response_body_like: Idempotency-Key must be



=== TEST 10: two Idempotency-Key headers are 400
--- more_headers eval
"$::a\nIdempotency-Key: one\nIdempotency-Key: two"
--- request
POST /videos
{"filename":"e.mov","content_type":"video/mp4","size":10}
--- error_code: 400
--- response_body_like: Idempotency-Key must be



=== TEST 11: an Idempotency-Key of 255 characters is accepted
--- more_headers eval
"$::a\n$::long_key"
--- request
POST /videos
{"filename":"l.mov","content_type":"video/mp4","size":10}
--- error_code: 201



=== TEST 12: a key older than 24 h creates a new video
--- more_headers eval
"$::a\nIdempotency-Key: expired"
--- request
POST /videos
{"filename":"new.mov","content_type":"video/mp4","size":3}
--- error_code: 201
--- response_body_filters eval
sub { main::remember('renewed')->($_[0]); my $bound = ApiTest::psql("SELECT video_id FROM idempotency_keys WHERE owner_sub = " . ApiTest::quote($::alice) . " AND key = 'expired'"); ($::id{renewed} ne $::old ? "new video" : "old video") . ($bound eq $::id{renewed} ? ", key rebound" : ", key not rebound") . "\n" }
--- response_body
new video, key rebound



=== TEST 13: no key, no change: two creates are two videos
--- more_headers eval
$::a
--- request
POST /videos
{"filename":"idem.mov","content_type":"video/mp4","size":10}
--- error_code: 201
--- response_body_filters eval
sub { main::remember('nokey')->($_[0]); ($::id{nokey} ne $::id{first} ? "another video" : "same video") . "\n" }
--- response_body
another video
