# vim:set ft= ts=4 sw=4 et fdm=marker:
#
# ngx_http_vidstream_auth_module: a cached token is not accepted past its
# exp.  One slow block on its own: the token is minted when the file starts
# and expires $ttl seconds later; the block waits until shortly before that,
# asks twice (verified, then from the cache), pauses past exp, asks again.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use IO::Socket::INET;
use VidstreamJWT;

my $dir = VidstreamJWT::setup(qw(k1));
$ENV{TEST_NGINX_AUTH_DIR} = $dir;
VidstreamJWT::write_jwks("$dir/jwks.json", VidstreamJWT::jwk('k1'));

# a listener that never answers: proxying to it is a pause
my $hang = IO::Socket::INET->new(Listen => 8, LocalAddr => '127.0.0.1',
                                 LocalPort => 0, Proto => 'tcp')
    or die "listen: $!";
$ENV{TEST_NGINX_HANG_PORT} = $hang->sockport;

# long enough for nginx to start, even under valgrind
our $ttl = 15;
our $t0 = time;
our $short = VidstreamJWT::token(claims => { exp => $t0 + $ttl });

no_long_string();
check_accum_error_log();
run_tests();

__DATA__

=== TEST 1: a cached token is still rejected once it expires
--- http_config
    vidstream_jwt_issuer https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TEST;
    vidstream_jwt_client_id testclient1;
    vidstream_jwks_file $TEST_NGINX_AUTH_DIR/jwks.json;
    vidstream_jwt_cache zone=jwt:1m;
    vidstream_jwt_leeway 0;
--- config
    location = /t { vidstream_auth on; vidstream_health upload; }
    location = /pause {
        proxy_pass http://127.0.0.1:$TEST_NGINX_HANG_PORT;
        proxy_read_timeout 5s;
    }
--- init
# ask 3 s before exp, and again 5 s later, 2 s after it
my $wait = $::t0 + $::ttl - 3 - time;
sleep $wait if $wait > 0;
die "nginx started too late to test expiry\n" if time > $::t0 + $::ttl - 2;
--- pipelined_requests eval
["GET /t", "GET /t", "GET /pause", "GET /t"]
--- more_headers eval
["Authorization: Bearer $::short", "Authorization: Bearer $::short", "",
 "Authorization: Bearer $::short"]
--- error_code eval
[200, 200, 504, 401]
--- grep_error_log eval
qr/token accepted from cache|token verified|token rejected: [^,]*/
--- grep_error_log_out
token verified
token accepted from cache
token rejected: token expired
--- timeout: 30
