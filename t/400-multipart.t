# vim:set ft= ts=4 sw=4 et fdm=marker:
#
# Multipart uploads at the edge (CONTRACT.md 3 and 3.1): POST /videos picks
# multipart above vidstream_multipart_threshold (16m here) or when asked,
# and refuses what S3 cannot take; GET /videos/<id>/upload/parts presigns
# part URLs in the request (first/count checked); GET …/upload reads
# ListParts; another user gets 404 on every new route; a video that is not
# a pending multipart upload is 409.  The whole round trip with real parts
# is t/stack/multipart-upload.sh.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use ApiTest;

our $alice = ApiTest::user('alice');
our $bob = ApiTest::user('bob');
our $a = "Authorization: Bearer " . ApiTest::token($alice);
our $b = "Authorization: Bearer " . ApiTest::token($bob);
our $key = "Idempotency-Key: mp-" . int(rand(1e9));
our $mib = 1024 * 1024;
our $tib5 = 5 * 1024 * 1024 * $mib;
our $gib5 = 5 * 1024 * $mib;

our $http_config = $ApiTest::http_config
                   . "    vidstream_multipart_threshold 16m;\n";

# a row as a multipart create leaves it (the upload id is not S3's)
sub video {
    my ($upload_id) = @_;
    my $o = ApiTest::quote($alice);
    my $u = defined $upload_id ? ApiTest::quote($upload_id) : 'NULL';
    my $plan = defined $upload_id ? "8388608, 3" : "NULL, NULL";
    return ApiTest::psql(
        "WITH n AS (SELECT gen_random_uuid() AS id) INSERT INTO videos"
        . " (id, owner_sub, filename, content_type, size, input_key,"
        . " upload_id, part_size, part_count)"
        . " SELECT n.id, $o, 'big.mov', 'video/mp4', 20971520,"
        . " 'input/' || $o || '/' || n.id || '/source', $u, $plan"
        . " FROM n RETURNING id");
}

our $mp = video('not-an-s3-upload');
our $single = video(undef);
our $gone = video('aborted-upload');

# "method part_size part_count inline-parts" of a create's answer
sub upload_plan {
    my $j = $ApiTest::json->decode($_[0]);
    my $u = $j->{upload};
    return join(' ', $u->{method}, $u->{part_size} // '-',
                $u->{part_count} // '-', scalar @{ $u->{parts} // [] })
           . "\n";
}

# the part numbers of a …/upload/parts answer, and whether every URL is
# an UploadPart of the video's key
sub parts {
    my ($id) = @_;
    return sub {
        my $j = $ApiTest::json->decode($_[0]);
        my @n = map { $_->{part_number} } @{ $j->{parts} };
        my $ok = !grep {
            $_->{url} !~ m{/input/\Q$alice\E/\Q$id\E/source\?partNumber=\Q$_->{part_number}\E&uploadId=not-an-s3-upload&X-Amz-Algorithm=AWS4-HMAC-SHA256&.*X-Amz-Signature=[0-9a-f]{64}$}
        } @{ $j->{parts} };
        return "@n " . ($ok ? "signed" : "bad url")
               . ($j->{expires_at} =~ /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/
                  ? " expires" : " no expiry") . "\n";
    };
}

our $first_upload;

ApiTest::defaults();
add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('http_config', $http_config);
});
no_shuffle();
run_tests();

__DATA__

=== TEST 1: 5 TiB is accepted: multipart, 525 MiB parts, 100 URLs inline
--- more_headers eval
$::a
--- request eval
"POST /videos\n{\"filename\":\"huge.mov\",\"content_type\":\"video/mp4\",\"size\":$::tib5}"
--- error_code: 201
--- response_body_filters eval
\&main::upload_plan
--- response_body eval
"multipart " . (525 * $::mib) . " 9987 100\n"
--- no_error_log
[error]



=== TEST 2: 5 TiB + 1 is 413 too_large
--- more_headers eval
$::a
--- request eval
"POST /videos\n{\"filename\":\"huge.mov\",\"content_type\":\"video/mp4\",\"size\":" . ($::tib5 + 1) . "}"
--- error_code: 413
--- response_body_like chomp
"error":"too_large"



=== TEST 3: at the threshold: a single PUT
--- more_headers eval
$::a
--- request eval
"POST /videos\n{\"filename\":\"a.mov\",\"content_type\":\"video/mp4\",\"size\":" . (16 * $::mib) . "}"
--- error_code: 201
--- response_body_filters eval
\&main::upload_plan
--- response_body
PUT - - 0



=== TEST 4: one byte over the threshold: multipart, 3 parts of 8 MiB
--- more_headers eval
$::a
--- request eval
"POST /videos\n{\"filename\":\"a.mov\",\"content_type\":\"video/mp4\",\"size\":" . (16 * $::mib + 1) . "}"
--- error_code: 201
--- response_body_filters eval
\&main::upload_plan
--- response_body eval
"multipart " . (8 * $::mib) . " 3 3\n"
--- no_error_log
[error]



=== TEST 5: "upload":"multipart" below the threshold: one part
--- more_headers eval
$::a
--- request
POST /videos
{"filename":"a.mov","content_type":"video/mp4","size":1000,"upload":"multipart"}
--- error_code: 201
--- response_body_filters eval
\&main::upload_plan
--- response_body eval
"multipart " . (8 * $::mib) . " 1 1\n"



=== TEST 6: "upload":"single" above the threshold: a PUT, up to 5 GiB
--- more_headers eval
$::a
--- request eval
"POST /videos\n{\"filename\":\"a.mov\",\"content_type\":\"video/mp4\",\"size\":$::gib5,\"upload\":\"single\"}"
--- error_code: 201
--- response_body_filters eval
\&main::upload_plan
--- response_body
PUT - - 0



=== TEST 7: "upload":"single" above 5 GiB is 400
--- more_headers eval
$::a
--- request eval
"POST /videos\n{\"filename\":\"a.mov\",\"content_type\":\"video/mp4\",\"size\":" . ($::gib5 + 1) . ",\"upload\":\"single\"}"
--- error_code: 400
--- response_body_like chomp
^\{"error":"invalid_request","message":"a single upload is at most 5 GiB



=== TEST 8: any other "upload" is 400
--- more_headers eval
$::a
--- request eval
[map { "POST /videos\n{\"filename\":\"a.mov\",\"content_type\":\"video/mp4\",\"size\":10,\"upload\":$_}" }
 ('"resumable"', '"Multipart"', '""', '1', 'null', '["multipart"]')]
--- error_code eval
[(400) x 6]
--- response_body_like eval
[('^\{"error":"invalid_request","message":"upload must be \\\\"single\\\\" or \\\\"multipart\\\\""\}') x 6]



=== TEST 9: a repeat under the same Idempotency-Key answers the same upload
--- more_headers eval
"$::a\n$::key"
--- request eval
[("POST /videos\n{\"filename\":\"r.mov\",\"content_type\":\"video/mp4\",\"size\":30000000}") x 2]
--- error_code eval
[201, 201]
--- response_body_filters eval
sub {
    my $u = $ApiTest::json->decode($_[0])->{upload}{upload_id};
    my $r = !defined $::first_upload ? "first"
          : $u eq $::first_upload ? "same upload_id" : "another upload_id";
    $::first_upload //= $u;
    "$r\n";
}
--- response_body eval
["first\n", "same upload_id\n"]
--- no_error_log
[error]



=== TEST 10: part URLs, 100 by default, clipped at part_count
--- more_headers eval
$::a
--- request eval
"GET /videos/$::mp/upload/parts"
--- error_code: 200
--- response_body_filters eval
main::parts($::mp)
--- response_body
1 2 3 signed expires
--- no_error_log
[error]



=== TEST 11: first and count pick the parts
--- more_headers eval
$::a
--- request eval
["GET /videos/$::mp/upload/parts?first=2&count=1",
 "GET /videos/$::mp/upload/parts?first=3&count=1000"]
--- error_code eval
[200, 200]
--- response_body_filters eval
main::parts($::mp)
--- response_body eval
["2 signed expires\n", "3 signed expires\n"]



=== TEST 12: count 0, 1001 or not a number, first 0 or past the last part: 400
--- more_headers eval
$::a
--- request eval
[map { "GET /videos/$::mp/upload/parts?$_" }
 qw(count=0 count=1001 count=x count= first=0 first=4 first=-1)]
--- error_code eval
[(400) x 7]
--- response_body_like eval
[('"error":"invalid_request"') x 7]



=== TEST 13: another user's multipart video is 404 on every new route
--- more_headers eval
$::b
--- request eval
["GET /videos/$::mp/upload", "GET /videos/$::mp/upload/parts",
 "GET /videos/$::mp/upload/parts?first=1&count=1"]
--- error_code eval
[404, 404, 404]
--- response_body eval
[("{\"error\":\"not_found\",\"message\":\"no such video\"}\n") x 3]



=== TEST 14: a video uploaded with a single PUT is 409 conflict
--- more_headers eval
$::a
--- request eval
["GET /videos/$::single/upload", "GET /videos/$::single/upload/parts"]
--- error_code eval
[409, 409]
--- response_body_like eval
[('"error":"conflict"') x 2]



=== TEST 15: an upload S3 does not have (NoSuchUpload) is 409 conflict
--- more_headers eval
$::a
--- request eval
"GET /videos/$::mp/upload"
--- error_code: 409
--- response_body_like chomp
"error":"conflict"



=== TEST 16: only GET and HEAD on the new routes
--- more_headers eval
$::a
--- request eval
["POST /videos/$::mp/upload", "DELETE /videos/$::mp/upload/parts"]
--- error_code eval
[405, 405]
--- response_headers eval
["Allow: GET, HEAD", "Allow: GET, HEAD"]



=== TEST 17: complete when S3 has neither the upload nor an object: 409
--- more_headers eval
$::a
--- request eval
"POST /videos/$::gone/complete"
--- error_code: 409
--- response_body_filters eval
sub { $_[0] . ApiTest::psql("SELECT status FROM videos WHERE id = '$::gone'")
      . "\n" }
--- response_body
{"error":"conflict","message":"the upload was aborted or has expired: delete the video and upload it again"}
pending_upload
--- error_log
no object was made of it
