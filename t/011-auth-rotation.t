# vim:set ft= ts=4 sw=4 et fdm=marker:
#
# ngx_http_vidstream_auth_module: key rotation (re-reading a JWKS file,
# fetching one by subrequest) and the verified-token cache.  JWKS files are
# changed while nginx runs with WebDAV PUTs to a location aliasing the key
# directory, so that the change lands between two requests of one block.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use IO::Socket::INET;
use VidstreamJWT;

my $dir = VidstreamJWT::setup(qw(k1 k2 k3));
$ENV{TEST_NGINX_AUTH_DIR} = $dir;

our $k1_jwks = VidstreamJWT::jwks_json(VidstreamJWT::jwk('k1'));
our $k12_jwks = VidstreamJWT::jwks_json(VidstreamJWT::jwk('k1'),
                                        VidstreamJWT::jwk('k2'));

# every block gets its own JWKS file, in its state before nginx starts
for my $f (qw(gain rate)) {
    VidstreamJWT::write_jwks("$dir/$f.json", VidstreamJWT::jwk('k1'));
}
for my $f (qw(revoke uri urirot urirate)) {
    VidstreamJWT::write_jwks("$dir/$f.json", VidstreamJWT::jwk('k1'),
                             $f eq 'revoke' ? VidstreamJWT::jwk('k2') : ());
}
for my $f (qw(lose refresh)) {
    VidstreamJWT::write_jwks("$dir/$f.json", VidstreamJWT::jwk('k1'),
                             VidstreamJWT::jwk('k2'));
}

# a listener that never answers: proxying to it is a pause
my $hang = IO::Socket::INET->new(Listen => 8, LocalAddr => '127.0.0.1',
                                 LocalPort => 0, Proto => 'tcp')
    or die "listen: $!";
$ENV{TEST_NGINX_HANG_PORT} = $hang->sockport;

our $k1 = VidstreamJWT::token(key => 'k1');
our $k2 = VidstreamJWT::token(key => 'k2');
our $k3 = VidstreamJWT::token(key => 'k3');

# kid "reused" first names k1, then k2
VidstreamJWT::write_jwks("$dir/reuse.json",
                         VidstreamJWT::jwk('k1', kid => 'reused'));
our $reused_k2_jwks = VidstreamJWT::jwks_json(
    VidstreamJWT::jwk('k2', kid => 'reused'));
our $reused = VidstreamJWT::token(key => 'k1', kid => 'reused');

add_block_preprocessor(sub {
    my $block = shift;

    if (!defined $block->http_config) {
        $block->set_value("http_config", <<'_EOC_');
    vidstream_jwt_issuer https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TEST;
    vidstream_jwt_client_id testclient1;
_EOC_
    }
});

no_long_string();
no_shuffle();
check_accum_error_log();
run_tests();

__DATA__

=== TEST 1: a kid unknown at startup is accepted once the JWKS file has it
--- config
    vidstream_jwks_file $TEST_NGINX_AUTH_DIR/gain.json;
    location = /t { vidstream_auth on; vidstream_health upload; }
    location /keys/ {
        # nginx sends 204 without Content-Length; Test::Nginx needs one to
        # split pipelined responses
        alias $TEST_NGINX_AUTH_DIR/;
        dav_methods PUT;
        add_header Content-Length 0;
    }
--- pipelined_requests eval
["PUT /keys/gain.json\n$::k12_jwks", "GET /t"]
--- more_headers eval
["", "Authorization: Bearer $::k2"]
--- error_code eval
[204, 200]
--- grep_error_log eval
qr/loaded \d keys|token rejected: [^,]*/
--- grep_error_log_out
loaded 1 keys
loaded 2 keys
--- no_error_log
[error]



=== TEST 2: an unknown kid re-reads the file at most once per min_refetch
--- config
    vidstream_jwks_file $TEST_NGINX_AUTH_DIR/rate.json;
    location = /t { vidstream_auth on; vidstream_health upload; }
--- pipelined_requests eval
["GET /t", "GET /t", "GET /t"]
--- more_headers eval
["Authorization: Bearer $::k2", "Authorization: Bearer $::k3",
 "Authorization: Bearer $::k1"]
--- error_code eval
[401, 401, 200]
--- grep_error_log eval
qr/loaded \d keys|token rejected: [^,]*/
--- grep_error_log_out
loaded 1 keys
loaded 1 keys
token rejected: unknown kid
token rejected: unknown kid



=== TEST 3: a key removed from the JWKS file stops being accepted
--- config
    vidstream_jwks_file $TEST_NGINX_AUTH_DIR/lose.json;
    location = /t { vidstream_auth on; vidstream_health upload; }
    location /keys/ {
        # nginx sends 204 without Content-Length; Test::Nginx needs one to
        # split pipelined responses
        alias $TEST_NGINX_AUTH_DIR/;
        dav_methods PUT;
        add_header Content-Length 0;
    }
--- pipelined_requests eval
["GET /t", "PUT /keys/lose.json\n$::k1_jwks", "GET /t", "GET /t", "GET /t"]
--- more_headers eval
["Authorization: Bearer $::k2", "", "Authorization: Bearer $::k3",
 "Authorization: Bearer $::k2", "Authorization: Bearer $::k1"]
--- error_code eval
[200, 204, 401, 401, 200]
--- grep_error_log eval
qr/loaded \d keys|token rejected: [^,]*/
--- grep_error_log_out
loaded 2 keys
loaded 1 keys
token rejected: unknown kid
token rejected: unknown kid



=== TEST 4: a cached token signed by a removed key is refused too
--- http_config
    vidstream_jwt_issuer https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TEST;
    vidstream_jwt_client_id testclient1;
    vidstream_jwt_cache zone=jwt:1m;
--- config
    vidstream_jwks_file $TEST_NGINX_AUTH_DIR/revoke.json;
    location = /t { vidstream_auth on; vidstream_health upload; }
    location /keys/ {
        # nginx sends 204 without Content-Length; Test::Nginx needs one to
        # split pipelined responses
        alias $TEST_NGINX_AUTH_DIR/;
        dav_methods PUT;
        add_header Content-Length 0;
    }
--- pipelined_requests eval
["GET /t", "GET /t", "PUT /keys/revoke.json\n$::k1_jwks", "GET /t",
 "GET /t"]
--- more_headers eval
["Authorization: Bearer $::k2", "Authorization: Bearer $::k2", "",
 "Authorization: Bearer $::k3", "Authorization: Bearer $::k2"]
--- error_code eval
[200, 200, 204, 401, 401]
--- grep_error_log eval
qr/token accepted from cache|token verified|token rejected: [^,]*/
--- grep_error_log_out
token verified
token accepted from cache
token rejected: unknown kid
token rejected: unknown kid



=== TEST 5: keys fetched by subrequest from vidstream_jwks_uri verify
--- config
    vidstream_jwks_uri /_jwks;
    location = /t { vidstream_auth on; vidstream_health upload; }
    location = /_jwks {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/static/uri.json;
    }
    location /static/ {
        alias $TEST_NGINX_AUTH_DIR/;
    }
--- more_headers eval
"Authorization: Bearer $::k1"
--- request
GET /t
--- response_body
upload ok
--- error_log
loaded 1 keys from "/_jwks"
--- no_error_log
[error]



=== TEST 6: the JWKS subrequest does not carry the user's credentials
--- config
    vidstream_jwks_uri /_jwks;
    location = /t { vidstream_auth on; vidstream_health upload; }
    location = /_jwks {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/static/uri.json;
    }
    location /static/ {
        if ($http_authorization) { return 403; }
        if ($http_cookie) { return 403; }
        alias $TEST_NGINX_AUTH_DIR/;
    }
--- more_headers eval
"Authorization: Bearer $::k1\nCookie: session=secret"
--- request
GET /t
--- error_code: 200
--- error_log
loaded 1 keys from "/_jwks"



=== TEST 7: a failing JWKS endpoint with no keys yet is a 503
--- config
    vidstream_jwks_uri /_jwks;
    location = /t { vidstream_auth on; vidstream_health upload; }
    location = /_jwks { internal; return 404; }
--- more_headers eval
"Authorization: Bearer $::k1"
--- request
GET /t
--- error_code: 503
--- response_body
{"error":"unavailable","message":"signing keys unavailable"}
--- error_log
fetching JWKS from "/_jwks" failed (status 404)
no signing keys loaded from "/_jwks"



=== TEST 8: a JWKS endpoint serving something else than a JWKS is a 503
--- config
    vidstream_jwks_uri /_jwks;
    location = /t { vidstream_auth on; vidstream_health upload; }
    location = /_jwks { internal; return 200 "<html>hello</html>"; }
--- more_headers eval
"Authorization: Bearer $::k1"
--- request
GET /t
--- error_code: 503
--- error_log
invalid JWKS from "/_jwks": JWKS is not a JSON object



=== TEST 9: an unknown kid refetches the JWKS by subrequest
--- config
    vidstream_jwks_uri /_jwks;
    vidstream_jwks_min_refetch 0;
    location = /t { vidstream_auth on; vidstream_health upload; }
    location = /_jwks {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/static/urirot.json;
    }
    location /static/ { alias $TEST_NGINX_AUTH_DIR/; }
    location /keys/ {
        # nginx sends 204 without Content-Length; Test::Nginx needs one to
        # split pipelined responses
        alias $TEST_NGINX_AUTH_DIR/;
        dav_methods PUT;
        add_header Content-Length 0;
    }
--- pipelined_requests eval
["GET /t", "PUT /keys/urirot.json\n$::k12_jwks", "GET /t", "GET /t"]
--- more_headers eval
["Authorization: Bearer $::k1", "", "Authorization: Bearer $::k2",
 "Authorization: Bearer $::k1"]
--- error_code eval
[200, 204, 200, 200]
--- grep_error_log eval
qr/loaded \d keys|token rejected: [^,]*/
--- grep_error_log_out
loaded 1 keys
loaded 2 keys
--- no_error_log
[error]



=== TEST 10: the initial fetch counts towards the refetch rate limit
--- config
    vidstream_jwks_uri /_jwks;
    location = /t { vidstream_auth on; vidstream_health upload; }
    location = /_jwks {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/static/urirate.json;
    }
    location /static/ { alias $TEST_NGINX_AUTH_DIR/; }
--- pipelined_requests eval
["GET /t", "GET /t", "GET /t"]
--- more_headers eval
["Authorization: Bearer $::k1", "Authorization: Bearer $::k3",
 "Authorization: Bearer $::k3"]
--- error_code eval
[200, 401, 401]
--- grep_error_log eval
qr/loaded \d keys|token rejected: [^,]*/
--- grep_error_log_out
loaded 1 keys
token rejected: unknown kid
token rejected: unknown kid



=== TEST 11: a periodic refresh picks up a removed key without a new kid
--- http_config
    vidstream_jwt_issuer https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TEST;
    vidstream_jwt_client_id testclient1;
    vidstream_jwks_refresh 1s;
    vidstream_jwks_min_refetch 1s;
--- config
    vidstream_jwks_file $TEST_NGINX_AUTH_DIR/refresh.json;
    location = /t { vidstream_auth on; vidstream_health upload; }
    location /keys/ {
        # nginx sends 204 without Content-Length; Test::Nginx needs one to
        # split pipelined responses
        alias $TEST_NGINX_AUTH_DIR/;
        dav_methods PUT;
        add_header Content-Length 0;
    }
    location = /pause {
        proxy_pass http://127.0.0.1:$TEST_NGINX_HANG_PORT;
        proxy_read_timeout 2s;
    }
--- pipelined_requests eval
["GET /t", "PUT /keys/refresh.json\n$::k1_jwks", "GET /pause", "GET /t"]
--- more_headers eval
["Authorization: Bearer $::k2", "", "", "Authorization: Bearer $::k2"]
--- error_code eval
[200, 204, 504, 401]
--- error_log
token rejected: unknown kid
--- timeout: 15



=== TEST 12: a configured JWKS file that is not JSON stops nginx from starting
--- config
    vidstream_jwks_file $TEST_NGINX_AUTH_DIR/k1.pem;
    location = /t { vidstream_auth on; vidstream_health upload; }
--- must_die
--- error_log
invalid JWKS in



=== TEST 13: concurrent requests share one JWKS fetch
--- config
    vidstream_jwks_uri /_jwks;
    location = /t { vidstream_auth on; vidstream_health upload; }
    location = /_jwks {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/slow/uri.json;
    }
    location /slow/ {
        # about two seconds for the JWKS: the other requests arrive meanwhile
        alias $TEST_NGINX_AUTH_DIR/;
        limit_rate 400;
    }
--- init
my $port = $Test::Nginx::Util::ServerPortForClient;
my @socks;
for (1 .. 5) {
    my $s;
    # nginx may still be starting (valgrind)
    for my $try (1 .. 100) {
        $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port") and last;
        select undef, undef, undef, 0.1;
    }
    die "connect: $!" unless $s;
    print $s "GET /t HTTP/1.0\r\nHost: localhost\r\n"
             . "Authorization: Bearer $::k1\r\n\r\n";
    push @socks, $s;
}
my @codes = map { local $/; my $r = <$_>;
                  $r =~ m{^HTTP/1\.\d (\d+)} ? $1 : 'none' } @socks;
die "concurrent requests got @codes\n" if grep { $_ ne '200' } @codes;
--- more_headers eval
"Authorization: Bearer $::k1"
--- request
GET /t
--- response_body
upload ok
--- grep_error_log eval
qr/loaded \d keys|waiting for the JWKS fetch|token verified/
--- grep_error_log_out
waiting for the JWKS fetch
waiting for the JWKS fetch
waiting for the JWKS fetch
waiting for the JWKS fetch
loaded 1 keys
token verified
token verified
token verified
token verified
token verified
token verified
--- timeout: 10



=== TEST 14: a kid re-published with another key loses its cached tokens
--- http_config
    vidstream_jwt_issuer https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TEST;
    vidstream_jwt_client_id testclient1;
    vidstream_jwt_cache zone=jwt:1m;
--- config
    vidstream_jwks_file $TEST_NGINX_AUTH_DIR/reuse.json;
    location = /t { vidstream_auth on; vidstream_health upload; }
    location /keys/ {
        alias $TEST_NGINX_AUTH_DIR/;
        dav_methods PUT;
        add_header Content-Length 0;
    }
--- pipelined_requests eval
["GET /t", "GET /t", "PUT /keys/reuse.json\n$::reused_k2_jwks", "GET /t",
 "GET /t"]
--- more_headers eval
["Authorization: Bearer $::reused", "Authorization: Bearer $::reused", "",
 "Authorization: Bearer $::k3", "Authorization: Bearer $::reused"]
--- error_code eval
[200, 200, 204, 401, 401]
--- grep_error_log eval
qr/token accepted from cache|token verified|token rejected: [^,]*/
--- grep_error_log_out
token verified
token accepted from cache
token rejected: unknown kid
token rejected: bad signature
