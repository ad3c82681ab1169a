# vim:set ft= ts=4 sw=4 et fdm=marker:
#
# ngx_http_vidstream_auth_module: the token cache is keyed by the token's
# signature (and the location's policy); an entry keeps the signed part
# (header.payload) it verified and a hit must present the very same bytes.
# A token that reuses a cached token's signature with another payload or
# another header is not taken from the cache: it is verified, and refused.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use VidstreamJWT;
use JSON::PP;
use MIME::Base64 ();

my $dir = VidstreamJWT::setup(qw(k1));
$ENV{TEST_NGINX_AUTH_DIR} = $dir;
VidstreamJWT::write_jwks("$dir/jwks.json", VidstreamJWT::jwk('k1'));

our $good = VidstreamJWT::token();
my ($h, $p, $s) = split /\./, $good;
my $json = JSON::PP->new->canonical;
my $claims = $json->decode(MIME::Base64::decode_base64url($p));
# another user under alice's signature
our $other_payload = join '.', $h,
    VidstreamJWT::b64url($json->encode({ %$claims, sub => 'mallory' })), $s;
# another header (same alg and kid, one more member) under it
our $other_header = join '.',
    VidstreamJWT::b64url('{"alg":"RS256","kid":"k1","x":1}'), $p, $s;

no_long_string();
check_accum_error_log();
run_tests();

__DATA__

=== TEST 1: a cached signature with other bytes before it is a miss, then refused
--- http_config
    vidstream_jwt_issuer https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TEST;
    vidstream_jwt_client_id testclient1;
    vidstream_jwks_file $TEST_NGINX_AUTH_DIR/jwks.json;
    vidstream_jwt_cache zone=jwt:1m;
--- config
    location = /t { vidstream_auth on; vidstream_health upload; }
--- pipelined_requests eval
["GET /t", "GET /t", "GET /t", "GET /t", "GET /t"]
--- more_headers eval
["Authorization: Bearer $::good", "Authorization: Bearer $::good",
 "Authorization: Bearer $::other_payload",
 "Authorization: Bearer $::other_header",
 "Authorization: Bearer $::good"]
--- error_code eval
[200, 200, 401, 401, 200]
--- grep_error_log eval
qr/token accepted from cache|token verified|token rejected: [^,]*/
--- grep_error_log_out
token verified
token accepted from cache
token rejected: bad signature
token rejected: bad signature
token accepted from cache
