# vim:set ft= ts=4 sw=4 et fdm=marker:
#
# vidstream_jwt_require_scope / vidstream_jwt_require_group: a valid token
# that lacks what the location requires is 403 insufficient_scope with
# RFC 6750's WWW-Authenticate (CONTRACT.md 3), cached token or not.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use VidstreamJWT;

my $dir = VidstreamJWT::setup(qw(k1));
$ENV{TEST_NGINX_AUTH_DIR} = $dir;
VidstreamJWT::write_jwks("$dir/jwks.json", VidstreamJWT::jwk('k1'));

sub tok { "Authorization: Bearer " . VidstreamJWT::token(@_) }

our $writer = tok(claims => { scope => 'openid videos/read videos/write' });
our $reader = tok(claims => { scope => 'videos/read' });
our $prefix = tok(claims => { scope => 'videos/write-not videos/writ' });
our $no_scope = tok(drop => ['scope']);
our $scope_list = tok(claims => { scope => ['videos/write'] });
our $uploader = tok(claims => { 'cognito:groups' => ['viewers', 'uploaders'] });
our $viewer = tok(claims => { 'cognito:groups' => ['viewers'] });
our $group_string = tok(claims => { 'cognito:groups' => 'uploaders' });
our $both = tok(claims => { scope => 'videos/write',
                            'cognito:groups' => ['uploaders'] });

add_block_preprocessor(sub {
    my $block = shift;

    if (!defined $block->http_config) {
        $block->set_value("http_config", <<'_EOC_');
    vidstream_jwt_issuer https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TEST;
    vidstream_jwt_client_id testclient1;
    vidstream_jwks_file $TEST_NGINX_AUTH_DIR/jwks.json;
    vidstream_jwt_cache zone=scope_test:1m;
_EOC_
    }

    if (!defined $block->config) {
        $block->set_value("config", <<'_EOC_');
    vidstream_auth on;

    location = /open {
        vidstream_health upload;
    }

    location = /write {
        vidstream_jwt_require_scope videos/write videos/admin;
        vidstream_health upload;
    }

    location = /upload {
        vidstream_jwt_require_group uploaders;
        vidstream_health upload;
    }

    location = /both {
        vidstream_jwt_require_scope videos/write;
        vidstream_jwt_require_group uploaders;
        vidstream_health upload;
    }
_EOC_
    }
});

no_long_string();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: a token with one of the required scopes is let in
--- more_headers eval
$::writer
--- request
GET /write
--- error_code: 200
--- response_body
upload ok



=== TEST 2: a token without the scope is 403 insufficient_scope
--- more_headers eval
$::reader
--- request
GET /write
--- error_code: 403
--- response_headers
WWW-Authenticate: Bearer realm="vidstream", error="insufficient_scope"
Content-Type: application/json
--- response_body
{"error":"insufficient_scope","message":"the token has none of the required scopes"}
--- error_log
vidstream auth: access refused: the token has none of the required scopes



=== TEST 3: scopes match whole tokens, never prefixes
--- more_headers eval
$::prefix
--- request
GET /write
--- error_code: 403



=== TEST 4: a token without a scope claim is 403
--- more_headers eval
$::no_scope
--- request
GET /write
--- error_code: 403
--- response_headers
WWW-Authenticate: Bearer realm="vidstream", error="insufficient_scope"



=== TEST 5: a scope claim that is not a string is 403
--- more_headers eval
$::scope_list
--- request
GET /write
--- error_code: 403



=== TEST 6: the same (now cached) token is still refused where it lacks the scope, and let in where none is required
--- more_headers eval
$::reader
--- pipelined_requests eval
["GET /open", "GET /write", "GET /open"]
--- error_code eval
[200, 403, 200]



=== TEST 7: a token cached by a location without requirements is refused where they are not met
--- more_headers eval
$::viewer
--- pipelined_requests eval
["GET /open", "GET /upload"]
--- error_code eval
[200, 403]



=== TEST 8: a member of one of the required groups is let in
--- more_headers eval
$::uploader
--- request
GET /upload
--- error_code: 200



=== TEST 9: a token in none of the groups is 403
--- more_headers eval
$::viewer
--- request
GET /upload
--- error_code: 403
--- response_headers
WWW-Authenticate: Bearer realm="vidstream", error="insufficient_scope"
--- response_body
{"error":"insufficient_scope","message":"the token is in none of the required groups"}



=== TEST 10: a token without cognito:groups is 403
--- more_headers eval
$::writer
--- request
GET /upload
--- error_code: 403



=== TEST 11: cognito:groups must be an array
--- more_headers eval
$::group_string
--- request
GET /upload
--- error_code: 403



=== TEST 12: with both requirements both must be met
--- more_headers eval
$::writer
--- request
GET /both
--- error_code: 403



=== TEST 13: a token with the scope and the group is let in where both are required
--- more_headers eval
$::both
--- request
GET /both
--- error_code: 200



=== TEST 14: an invalid token is still 401, not 403
--- more_headers
Authorization: Bearer not.a.token
--- request
GET /write
--- error_code: 401



=== TEST 15: no token is still 401
--- request
GET /write
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="vidstream"



=== TEST 16: requirements are inherited by nested locations
--- config
    vidstream_auth on;
    vidstream_jwt_require_scope videos/write;
    location /in {
        location /in/deep { vidstream_health upload; }
    }
--- more_headers eval
$::reader
--- request
GET /in/deep
--- error_code: 403



=== TEST 17: an empty scope is refused at configuration time
--- config
    location = /t { vidstream_auth on; vidstream_jwt_require_scope ""; }
--- request
GET /t
--- must_die
--- error_log
invalid value "": empty or with a space
