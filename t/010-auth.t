# vim:set ft= ts=4 sw=4 et fdm=marker:
#
# ngx_http_vidstream_auth_module: which tokens get in (CONTRACT.md 2).
# Keys are generated into a temporary directory at test start.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use VidstreamJWT;

my $dir = VidstreamJWT::setup(qw(k1 k2 k3));
$ENV{TEST_NGINX_AUTH_DIR} = $dir;

VidstreamJWT::write_jwks("$dir/jwks.json",
    VidstreamJWT::jwk('k1'), VidstreamJWT::jwk('k2'));

# k3 is published only as an encryption key, next to an EC key and a k2
# copy that claims another algorithm: none of them may verify anything
VidstreamJWT::write_jwks("$dir/mixed.json",
    VidstreamJWT::jwk('k1'),
    VidstreamJWT::ec_jwk('ec1'),
    VidstreamJWT::jwk('k3', use => 'enc'),
    VidstreamJWT::jwk('k2', kid => 'rs384', alg => 'RS384'));

VidstreamJWT::write_jwks("$dir/weak.json",
    VidstreamJWT::jwk('k1'),
    VidstreamJWT::jwk('k2', kid => 'short', n => VidstreamJWT::b64url("\xc3" x 128)));

my $now = time;
sub tok { VidstreamJWT::token(@_) }

our $valid = tok();
our $other_client = tok(claims => { client_id => 'someoneelse' });
our $second_client = tok(claims => { client_id => 'testclient2' });
our $expired = tok(claims => { exp => $now - 3600 });
our $expired_in_leeway = tok(claims => { exp => $now - 10 });
our $nbf_future = tok(claims => { nbf => $now + 3600 });
our $nbf_in_leeway = tok(claims => { nbf => $now + 10 });
our $iat_future = tok(claims => { iat => $now + 3600 });
our $wrong_iss = tok(claims => { iss => 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_OTHER' });
our $no_exp = tok(drop => ['exp']);
our $id_token = tok(claims => { token_use => 'id', aud => 'testclient1' }, drop => ['client_id']);
our $id_token_wrong_aud = tok(claims => { token_use => 'id', aud => 'someoneelse' }, drop => ['client_id']);
our $id_token_aud_list = tok(claims => { token_use => 'id', aud => ['x', 'testclient1'] }, drop => ['client_id']);
our $no_sub = tok(drop => ['sub']);
our $empty_sub = tok(claims => { sub => '' });
our $slash_sub = tok(claims => { sub => '../etc' });
our $alg_none = tok(alg => 'none');
our $alg_none_signed = tok(alg => 'none', sig => 'x' x 256);
our $hs256 = tok(alg => 'HS256', secret => VidstreamJWT::public_pem('k1'));
our $rs384 = tok(header => { alg => 'RS384' });
our $other_kid = tok(key => 'k1', kid => 'k2');
our $unknown_kid = tok(key => 'k3');
our $enc_key = tok(key => 'k3');
our $ec_kid = tok(key => 'k1', kid => 'ec1');
our $rs384_jwk = tok(key => 'k2', kid => 'rs384');
our $short_key = tok(key => 'k2', kid => 'short');
our $crit = tok(header => { crit => ['exp'] });
our $no_kid = VidstreamJWT::token(header => { kid => undef });
# claims of every JSON type, read back through the claim variables
our $typed = tok(claims => { admin => JSON::PP::true(), level => -3,
                             ratio => 0.5, groups => ['a', 'b'], gone => undef,
                             city => "caf\xc3\xa9",
                             quote => "say \"hi\"\\/" });

# tampering: a changed payload under the original signature, and a
# signature with one bit flipped
my ($h, $p, $s) = split /\./, $valid;
our $tampered_payload = join '.', $h,
    VidstreamJWT::b64url('{"sub":"mallory","iss":"' . $VidstreamJWT::ISSUER
        . '","client_id":"testclient1","token_use":"access","exp":'
        . ($now + 3600) . '}'), $s;
my $raw = MIME::Base64::decode_base64(($s =~ tr/-_/+\//r) . '==');
substr($raw, 100, 1) = chr(ord(substr($raw, 100, 1)) ^ 1);
our $tampered_sig = "$h.$p." . VidstreamJWT::b64url($raw);
our $bad_b64 = "$h+.$p.$s";
our $padded = "$h.$p.$s=";
our $huge = "$h.$p." . ('A' x (64 * 1024));

add_block_preprocessor(sub {
    my $block = shift;

    if (!defined $block->http_config) {
        $block->set_value("http_config", <<'_EOC_');
    vidstream_jwt_issuer https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TEST;
    vidstream_jwt_client_id testclient1 testclient2;
    vidstream_jwks_file $TEST_NGINX_AUTH_DIR/jwks.json;
    vidstream_jwt_leeway 60s;
_EOC_
    }

    if (!defined $block->config) {
        $block->set_value("config", <<'_EOC_');
    location = /t {
        vidstream_auth on;
        vidstream_health upload;
        add_header X-User $vidstream_user;
    }
_EOC_
    }

    if (!defined $block->request) {
        $block->set_value("request", "GET /t");
    }
});

no_long_string();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: a valid access token is accepted and sets $vidstream_user
--- more_headers eval
"Authorization: Bearer $::valid"
--- response_headers
X-User: 5f0c2a8e-1b7d-4c3e-9a61-2d4b8e7f9a10
--- no_error_log
[error]
token rejected



=== TEST 2: the Bearer scheme is case-insensitive
--- more_headers eval
"Authorization: bEARER $::valid"
--- response_headers
X-User: 5f0c2a8e-1b7d-4c3e-9a61-2d4b8e7f9a10



=== TEST 3: a request without Authorization gets 401 without an error code
--- response_headers
WWW-Authenticate: Bearer realm="vidstream"
Content-Type: application/json
--- response_body
{"error":"unauthorized","message":"missing bearer token"}
--- error_code: 401
--- error_log
vidstream auth: no bearer token



=== TEST 4: another scheme counts as no bearer token
--- more_headers
Authorization: Basic dXNlcjpwYXNz
--- response_headers
WWW-Authenticate: Bearer realm="vidstream"
--- error_code: 401
--- error_log
vidstream auth: no bearer token



=== TEST 5: an empty bearer token is an invalid token
--- more_headers
Authorization: Bearer 
--- response_headers
WWW-Authenticate: Bearer realm="vidstream", error="invalid_token", error_description="empty token"
--- response_body
{"error":"unauthorized","message":"empty token"}
--- error_code: 401
--- error_log
token rejected: empty token



=== TEST 6: a token of one segment is rejected
--- more_headers eval
"Authorization: Bearer " . (split /\./, $::valid)[0]
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="vidstream", error="invalid_token", error_description="token does not have three segments"
--- error_log
token rejected: token does not have three segments



=== TEST 7: a token of two segments is rejected
--- more_headers eval
my @s = split /\./, $::valid; "Authorization: Bearer $s[0].$s[1]"
--- error_code: 401
--- error_log
token rejected: token does not have three segments



=== TEST 8: a token of four segments is rejected
--- more_headers eval
"Authorization: Bearer $::valid.AAAA"
--- error_code: 401
--- error_log
token rejected: token does not have three segments



=== TEST 9: characters outside base64url are rejected
--- more_headers eval
"Authorization: Bearer $::bad_b64"
--- error_code: 401
--- error_log
token rejected: malformed base64url in header



=== TEST 10: base64 padding is rejected
--- more_headers eval
"Authorization: Bearer $::padded"
--- error_code: 401
--- error_log
token rejected: malformed base64url in signature



=== TEST 11: a 64 KiB token is refused before decoding
--- http_config
    large_client_header_buffers 4 128k;
    vidstream_jwt_issuer https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TEST;
    vidstream_jwt_client_id testclient1;
    vidstream_jwks_file $TEST_NGINX_AUTH_DIR/jwks.json;
--- more_headers eval
"Authorization: Bearer $::huge"
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="vidstream", error="invalid_token", error_description="token too large"
--- error_log
token rejected: token too large



=== TEST 12: an expired token is rejected
--- more_headers eval
"Authorization: Bearer $::expired"
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="vidstream", error="invalid_token", error_description="token expired"
--- error_log
token rejected: token expired



=== TEST 13: a token expired within the leeway is accepted
--- more_headers eval
"Authorization: Bearer $::expired_in_leeway"
--- response_headers
X-User: 5f0c2a8e-1b7d-4c3e-9a61-2d4b8e7f9a10



=== TEST 14: the same token is rejected with no leeway
--- http_config
    vidstream_jwt_issuer https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TEST;
    vidstream_jwt_client_id testclient1;
    vidstream_jwks_file $TEST_NGINX_AUTH_DIR/jwks.json;
    vidstream_jwt_leeway 0;
--- more_headers eval
"Authorization: Bearer $::expired_in_leeway"
--- error_code: 401
--- error_log
token rejected: token expired



=== TEST 15: a token without exp is rejected
--- more_headers eval
"Authorization: Bearer $::no_exp"
--- error_code: 401
--- error_log
token rejected: token has no exp



=== TEST 16: nbf in the future is rejected
--- more_headers eval
"Authorization: Bearer $::nbf_future"
--- error_code: 401
--- error_log
token rejected: token not yet valid (nbf)



=== TEST 17: nbf in the future within the leeway is accepted
--- more_headers eval
"Authorization: Bearer $::nbf_in_leeway"
--- error_code: 200



=== TEST 18: iat in the future is rejected
--- more_headers eval
"Authorization: Bearer $::iat_future"
--- error_code: 401
--- error_log
token rejected: token issued in the future (iat)



=== TEST 19: another issuer is rejected
--- more_headers eval
"Authorization: Bearer $::wrong_iss"
--- error_code: 401
--- error_log
token rejected: wrong issuer



=== TEST 20: a client id that is not configured is rejected
--- more_headers eval
"Authorization: Bearer $::other_client"
--- error_code: 401
--- error_log
token rejected: wrong client_id



=== TEST 21: any of the configured client ids is accepted
--- more_headers eval
"Authorization: Bearer $::second_client"
--- error_code: 200



=== TEST 22: an id token is rejected where access tokens are required
--- more_headers eval
"Authorization: Bearer $::id_token"
--- error_code: 401
--- error_log
token rejected: wrong token_use



=== TEST 23: an access token is rejected where id tokens are required
--- config
    location = /t {
        vidstream_auth on;
        vidstream_jwt_token_use id;
        vidstream_health upload;
        add_header X-User $vidstream_user;
    }
--- more_headers eval
"Authorization: Bearer $::valid"
--- error_code: 401
--- error_log
token rejected: wrong token_use



=== TEST 24: an id token whose aud is a configured client id is accepted
--- config
    location = /t {
        vidstream_auth on;
        vidstream_jwt_token_use id;
        vidstream_health upload;
        add_header X-User $vidstream_user;
    }
--- more_headers eval
"Authorization: Bearer $::id_token"
--- response_headers
X-User: 5f0c2a8e-1b7d-4c3e-9a61-2d4b8e7f9a10



=== TEST 25: an id token with an aud array holding a client id is accepted
--- config
    location = /t {
        vidstream_auth on;
        vidstream_jwt_token_use id;
        vidstream_health upload;
    }
--- more_headers eval
"Authorization: Bearer $::id_token_aud_list"
--- error_code: 200



=== TEST 26: an id token for another audience is rejected
--- config
    location = /t {
        vidstream_auth on;
        vidstream_jwt_token_use id;
        vidstream_health upload;
        add_header X-User $vidstream_user;
    }
--- more_headers eval
"Authorization: Bearer $::id_token_wrong_aud"
--- error_code: 401
--- error_log
token rejected: wrong audience



=== TEST 27: a token without sub is rejected
--- more_headers eval
"Authorization: Bearer $::no_sub"
--- error_code: 401
--- error_log
token rejected: token has no sub



=== TEST 28: a token with an empty sub is rejected
--- more_headers eval
"Authorization: Bearer $::empty_sub"
--- error_code: 401
--- error_log
token rejected: token has no sub



=== TEST 29: a sub that is not a path component is rejected
--- more_headers eval
"Authorization: Bearer $::slash_sub"
--- error_code: 401
--- error_log
token rejected: sub has invalid characters



=== TEST 30: alg none without a signature is rejected
--- more_headers eval
"Authorization: Bearer $::alg_none"
--- error_code: 401
--- error_log
token rejected: unsupported alg



=== TEST 31: alg none with a signature is rejected
--- more_headers eval
"Authorization: Bearer $::alg_none_signed"
--- error_code: 401
--- error_log
token rejected: unsupported alg



=== TEST 32: HS256 keyed with the RSA public key's PEM is rejected
--- more_headers eval
"Authorization: Bearer $::hs256"
--- error_code: 401
--- error_log
token rejected: unsupported alg



=== TEST 33: RS384 is rejected, RS256 is pinned
--- more_headers eval
"Authorization: Bearer $::rs384"
--- error_code: 401
--- error_log
token rejected: unsupported alg



=== TEST 34: an RS256 token naming another key's kid is rejected
--- more_headers eval
"Authorization: Bearer $::other_kid"
--- error_code: 401
--- error_log
token rejected: bad signature



=== TEST 35: a tampered payload is rejected
--- more_headers eval
"Authorization: Bearer $::tampered_payload"
--- error_code: 401
--- error_log
token rejected: bad signature
--- no_error_log
mallory



=== TEST 36: a tampered signature is rejected
--- more_headers eval
"Authorization: Bearer $::tampered_sig"
--- error_code: 401
--- error_log
token rejected: bad signature



=== TEST 37: an unknown kid is rejected after one re-read of the JWKS
--- more_headers eval
"Authorization: Bearer $::unknown_kid"
--- error_code: 401
--- error_log
token rejected: unknown kid
loaded 2 keys from



=== TEST 38: a header without kid is rejected
--- more_headers eval
"Authorization: Bearer $::no_kid"
--- error_code: 401
--- error_log
token rejected: header has no kid



=== TEST 39: a crit header is rejected
--- more_headers eval
"Authorization: Bearer $::crit"
--- error_code: 401
--- error_log
token rejected: unsupported crit header



=== TEST 40: the usable key of a mixed JWKS still verifies
--- http_config
    vidstream_jwt_issuer https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TEST;
    vidstream_jwt_client_id testclient1;
    vidstream_jwks_file $TEST_NGINX_AUTH_DIR/mixed.json;
--- more_headers eval
"Authorization: Bearer $::valid"
--- error_code: 200
--- error_log
JWKS key "ec1" ignored: kty is not RSA
JWKS key "k3" ignored: use is not sig
JWKS key "rs384" ignored: alg is not RS256
loaded 1 keys from



=== TEST 41: a key published with use enc does not verify
--- http_config
    vidstream_jwt_issuer https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TEST;
    vidstream_jwt_client_id testclient1;
    vidstream_jwks_file $TEST_NGINX_AUTH_DIR/mixed.json;
--- more_headers eval
"Authorization: Bearer $::enc_key"
--- error_code: 401
--- error_log
token rejected: unknown kid



=== TEST 42: an EC key's kid does not verify
--- http_config
    vidstream_jwt_issuer https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TEST;
    vidstream_jwt_client_id testclient1;
    vidstream_jwks_file $TEST_NGINX_AUTH_DIR/mixed.json;
--- more_headers eval
"Authorization: Bearer $::ec_kid"
--- error_code: 401
--- error_log
token rejected: unknown kid



=== TEST 43: a JWK whose alg is not RS256 does not verify an RS256 token
--- http_config
    vidstream_jwt_issuer https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TEST;
    vidstream_jwt_client_id testclient1;
    vidstream_jwks_file $TEST_NGINX_AUTH_DIR/mixed.json;
--- more_headers eval
"Authorization: Bearer $::rs384_jwk"
--- error_code: 401
--- error_log
token rejected: unknown kid



=== TEST 44: a JWK with a 1024-bit modulus is ignored
--- http_config
    vidstream_jwt_issuer https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TEST;
    vidstream_jwt_client_id testclient1;
    vidstream_jwks_file $TEST_NGINX_AUTH_DIR/weak.json;
--- more_headers eval
"Authorization: Bearer $::short_key"
--- error_code: 401
--- error_log
JWKS key "short" ignored: modulus not between 2048 and 8192 bits
token rejected: unknown kid



=== TEST 45: HEAD gets the 401 headers without a body
--- request
HEAD /t
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="vidstream"
--- response_body



=== TEST 46: a rejected POST's body is discarded and the connection reusable
--- pipelined_requests eval
["POST /t\n" . ("x" x 5000), "GET /t"]
--- more_headers eval
["Authorization: Bearer $::expired", "Authorization: Bearer $::valid"]
--- error_code eval
[401, 200]
--- response_body eval
[qq/{"error":"unauthorized","message":"token expired"}\n/, "upload ok\n"]



=== TEST 47: a CORS preflight passes unauthenticated where skipped
--- config
    location = /t {
        vidstream_auth on;
        vidstream_auth_skip_preflight on;
        vidstream_health upload;
    }
--- request
OPTIONS /t
--- more_headers
Origin: https://app.example
Access-Control-Request-Method: POST
--- error_code: 405



=== TEST 48: a preflight is authenticated where not skipped
--- request
OPTIONS /t
--- more_headers
Origin: https://app.example
Access-Control-Request-Method: POST
--- error_code: 401



=== TEST 49: OPTIONS without Access-Control-Request-Method is no preflight
--- config
    location = /t {
        vidstream_auth on;
        vidstream_auth_skip_preflight on;
        vidstream_health upload;
    }
--- request
OPTIONS /t
--- more_headers
Origin: https://app.example
--- error_code: 401



=== TEST 50: string claims are exposed as variables
--- config
    location = /t {
        vidstream_auth on;
        vidstream_health upload;
        add_header X-Claims "$vidstream_jwt_claim_username $vidstream_jwt_claim_client_id $vidstream_jwt_claim_exp [$vidstream_jwt_claim_nope]";
    }
--- more_headers eval
"Authorization: Bearer $::valid"
--- response_headers_like
X-Claims: ^alice testclient1 \d+ \[\]$



=== TEST 51: the token never reaches the error log at info level
--- log_level: info
--- more_headers eval
"Authorization: Bearer $::expired"
--- error_code: 401
--- no_error_log eval
[(split /\./, $::expired)[2]]



=== TEST 52: locations without vidstream_auth are not authenticated
--- config
    location = /t {
        vidstream_auth on;
        vidstream_health upload;
    }
    location = /open {
        vidstream_health upload;
        add_header X-User "[$vidstream_user]";
    }
--- request
GET /open
--- response_headers
X-User: []



=== TEST 53: with default header buffers nginx itself refuses a 64 KiB header
--- more_headers eval
"Authorization: Bearer $::huge"
--- error_code: 400
--- no_error_log
vidstream auth



=== TEST 54: claim variables: strings decoded, integers and booleans as JSON text, other types not found
--- config
    location = /t {
        vidstream_auth on;
        vidstream_health upload;
        add_header X-Claims "$vidstream_jwt_claim_admin|$vidstream_jwt_claim_level|[$vidstream_jwt_claim_ratio]|[$vidstream_jwt_claim_groups]|[$vidstream_jwt_claim_gone]|$vidstream_jwt_claim_city|$vidstream_jwt_claim_quote";
    }
--- more_headers eval
"Authorization: Bearer $::typed"
--- response_headers_like
X-Claims: ^true\|-3\|\[\]\|\[\]\|\[\]\|caf\xc3\xa9\|say "hi"\\/$



=== TEST 55: a token answered from the cache exposes the same claims
--- config
    location = /t {
        vidstream_auth on;
        vidstream_jwt_cache zone=claims:1m;
        vidstream_health upload;
        add_header X-Claims "$vidstream_user $vidstream_jwt_claim_username $vidstream_jwt_claim_level";
    }
--- log_level: debug
--- init
# the first request verifies the token and caches it
# (nginx may still be starting, under valgrind especially)
use IO::Socket::INET;
my $c;
for (1 .. 100) {
    $c = IO::Socket::INET->new("127.0.0.1:$ENV{TEST_NGINX_SERVER_PORT}")
        and last;
    select undef, undef, undef, 0.1;
}
die "connect: $!" unless $c;
print $c "GET /t HTTP/1.0\r\nHost: localhost\r\nAuthorization: Bearer $::typed\r\n\r\n";
my $status = <$c>;
die "warming request: $status" unless $status =~ / 200 /;
close $c;
--- more_headers eval
"Authorization: Bearer $::typed"
--- response_headers_like eval
"X-Claims: ^$VidstreamJWT::SUB alice -3\$"
--- grep_error_log eval
qr/token accepted from cache|token verified/
--- grep_error_log_out
token verified
token accepted from cache



=== TEST 56: a leeway of more than a day is refused at startup
--- config
    vidstream_jwt_leeway 2d;
    location = /t { vidstream_auth on; vidstream_health upload; }
--- must_die
--- error_log
vidstream_jwt_leeway must not exceed 1d
