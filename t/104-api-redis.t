# vim:set ft= ts=4 sw=4 et fdm=marker:
#
# GET /healthz with vidstream_redis (CONTRACT.md 3): PING through hiredis'
# async API on nginx's event loop.  Against the stack's Redis, a port
# nobody listens on, a socket that accepts and never answers, and a Redis
# of our own that requires a password.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use ApiTest;
use IO::Socket::INET;
use Time::HiRes ();

die "t/104-api-redis.t: VIDSTREAM_REDIS_URL is not set\n"
    unless $ENV{TEST_NGINX_API_REDIS};

$ENV{TEST_NGINX_DEAD_PORT} = ApiTest::free_port();

# accepts connections (the kernel does, from the backlog), never answers
our $mute = IO::Socket::INET->new(Listen => 5, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, Proto => 'tcp')
    or die "listen: $!";
$ENV{TEST_NGINX_MUTE_PORT} = $mute->sockport;

# a Redis with a password, stopped by PID at the end
our $auth_port = ApiTest::free_port();
our $auth_pid = fork // die "fork: $!";
if ($auth_pid == 0) {
    open STDOUT, '>', '/dev/null';
    exec 'redis-server', '--bind', '127.0.0.1', '--port', $auth_port,
         '--requirepass', 's3cret/x', '--save', '', '--appendonly', 'no',
         '--dir', '/tmp';
    exit 127;
}
END { if ($auth_pid) { kill 'TERM', $auth_pid; waitpid $auth_pid, 0 } }
for (1 .. 50) {
    last if IO::Socket::INET->new(PeerAddr => "127.0.0.1:$auth_port");
    Time::HiRes::sleep(0.1);
}
$ENV{TEST_NGINX_AUTH_PORT} = $auth_port;

ApiTest::defaults();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: redis is ok when PING answers
--- http_config eval
$ApiTest::http_config . "    vidstream_redis $ENV{TEST_NGINX_API_REDIS};\n"
--- request
GET /healthz
--- error_code: 200
--- response_body
{"status":"ok","postgres":"ok","redis":"ok"}
--- no_error_log
[error]



=== TEST 2: a Redis nobody listens on is a 503 with redis unavailable
--- http_config eval
$ApiTest::http_config
. "    vidstream_redis redis://127.0.0.1:$ENV{TEST_NGINX_DEAD_PORT}/0;\n"
--- request
GET /healthz
--- error_code: 503
--- response_body
{"status":"unavailable","postgres":"ok","redis":"unavailable"}
--- error_log eval
qr/vidstream redis: cannot connect to 127\.0\.0\.1:$ENV{TEST_NGINX_DEAD_PORT}: Connection refused/



=== TEST 3: a Redis that never answers is a 503 after the timeout, not a hang
--- http_config eval
"    vidstream_redis redis://127.0.0.1:$ENV{TEST_NGINX_MUTE_PORT} timeout=300ms;\n"
--- config
    location = /healthz { vidstream_healthz; }
--- request
GET /healthz
--- error_code: 503
--- response_body
{"status":"unavailable","postgres":"disabled","redis":"unavailable"}
--- error_log eval
qr/vidstream redis: no answer from 127\.0\.0\.1:$ENV{TEST_NGINX_MUTE_PORT} within 300 ms/
--- timeout: 2



=== TEST 4: Redis alone (no PostgreSQL configured) is ok
--- http_config eval
"    vidstream_redis $ENV{TEST_NGINX_API_REDIS};\n"
--- config
    location = /healthz { vidstream_healthz; }
--- request
GET /healthz
--- error_code: 200
--- response_body
{"status":"ok","postgres":"disabled","redis":"ok"}



=== TEST 5: the password of the URL (percent-encoded) is sent with AUTH
--- http_config eval
"    vidstream_redis redis://:s3cret%2Fx\@localhost:$ENV{TEST_NGINX_AUTH_PORT}/0;\n"
--- config
    location = /healthz { vidstream_healthz; }
--- request
GET /healthz
--- error_code: 200
--- response_body
{"status":"ok","postgres":"disabled","redis":"ok"}
--- no_error_log
[error]



=== TEST 6: a wrong password is unavailable, and the log says why without the password
--- http_config eval
"    vidstream_redis redis://:wrong-one\@127.0.0.1:$ENV{TEST_NGINX_AUTH_PORT};\n"
--- config
    location = /healthz { vidstream_healthz; }
--- request
GET /healthz
--- error_code: 503
--- response_body
{"status":"unavailable","postgres":"disabled","redis":"unavailable"}
--- error_log
answered NOAUTH
--- no_error_log
wrong-one



=== TEST 7: PostgreSQL down and Redis up: 503, only postgres unavailable
--- http_config eval
"    vidstream_postgres \"host=127.0.0.1 port=$ENV{TEST_NGINX_DEAD_PORT} dbname=x\" pool=1 timeout=1s;\n"
. "    vidstream_redis $ENV{TEST_NGINX_API_REDIS};\n"
--- config
    location = /healthz { vidstream_healthz; }
--- request
GET /healthz
--- error_code: 503
--- response_body
{"status":"unavailable","postgres":"unavailable","redis":"ok"}



=== TEST 8: many checks in a row each get their answer (no leaked connection)
--- http_config eval
$ApiTest::http_config . "    vidstream_redis $ENV{TEST_NGINX_API_REDIS};\n"
--- config
    location = /healthz { vidstream_healthz; }
--- request eval
[map { "GET /healthz" } 1 .. 30]
--- error_code eval
[map { 200 } 1 .. 30]
--- response_body eval
[map { qq({"status":"ok","postgres":"ok","redis":"ok"}\n) } 1 .. 30]
--- no_error_log
[error]



=== TEST 9: a client that goes away mid-check leaves nothing behind
--- http_config eval
"    vidstream_redis redis://127.0.0.1:$ENV{TEST_NGINX_MUTE_PORT} timeout=2s;\n"
--- config
    location = /healthz { vidstream_healthz; }
--- request
GET /healthz
--- abort
--- timeout: 0.2
--- ignore_response
--- no_error_log
[alert]
[crit]



=== TEST 10: not a redis:// URL is a configuration error
--- http_config
    vidstream_redis rediss://127.0.0.1:6379;
--- config
    location = /healthz { vidstream_healthz; }
--- must_die
--- error_log
needs a redis://host[:port][/db] URL



=== TEST 11: a bad port is a configuration error
--- http_config
    vidstream_redis redis://127.0.0.1:70000/0;
--- config
    location = /healthz { vidstream_healthz; }
--- must_die
--- error_log
has an invalid port



=== TEST 12: a host that does not resolve is a configuration error
--- http_config
    vidstream_redis redis://no-such-host.invalid:6379;
--- config
    location = /healthz { vidstream_healthz; }
--- must_die
--- error_log
cannot resolve Redis host "no-such-host.invalid"
