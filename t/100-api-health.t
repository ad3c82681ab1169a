# vim:set ft= ts=4 sw=4 et fdm=marker:
#
# GET /healthz through the PostgreSQL pool (CONTRACT.md 3).

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use ApiTest;

ApiTest::defaults();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: healthz is ok when PostgreSQL answers
--- request
GET /healthz
--- error_code: 200
--- response_headers
Content-Type: application/json
--- response_body
{"status":"ok","postgres":"ok","redis":"disabled"}
--- no_error_log
[error]



=== TEST 2: healthz answers HEAD with headers only
--- request
HEAD /healthz
--- error_code: 200
--- response_body



=== TEST 3: healthz refuses POST with 405 and Allow
--- request
POST /healthz
x
--- error_code: 405
--- response_headers
Allow: GET, HEAD
--- response_body
{"error":"method_not_allowed","message":"method not allowed here"}



=== TEST 4: an unreachable PostgreSQL is a 503 of the same shape, fast
--- http_config
    vidstream_postgres "host=127.0.0.1 port=1 dbname=x connect_timeout=2" pool=2 timeout=1s;
--- config
    location = /healthz { vidstream_healthz; }
--- request
GET /healthz
--- error_code: 503
--- response_body
{"status":"unavailable","postgres":"unavailable","redis":"disabled"}
--- error_log
vidstream pg: connection to "x" on 127.0.0.1:1 lost
--- timeout: 3



=== TEST 5: a host name is resolved at configuration time into hostaddr
--- http_config eval
"    vidstream_postgres \"$ENV{VIDSTREAM_DATABASE_URL}\" pool=1 timeout=2s;\n"
=~ s/127\.0\.0\.1/localhost/r
--- config
    location = /healthz { vidstream_healthz; }
--- request
GET /healthz
--- error_code: 200
--- response_body
{"status":"ok","postgres":"ok","redis":"disabled"}



=== TEST 6: a host that does not resolve is a configuration error
--- http_config
    vidstream_postgres "host=no-such-host.invalid dbname=x";
--- config
    location = /healthz { vidstream_healthz; }
--- must_die
--- error_log
cannot resolve PostgreSQL host "no-such-host.invalid"



=== TEST 7: a bad pool size is a configuration error
--- http_config
    vidstream_postgres "dbname=x" pool=0;
--- config
    location = /healthz { vidstream_healthz; }
--- must_die
--- error_log
invalid pool size



=== TEST 8: a bad pipeline depth is a configuration error
--- http_config
    vidstream_postgres "dbname=x" pipeline=0;
--- config
    location = /healthz { vidstream_healthz; }
--- must_die
--- error_log
invalid pipeline depth



=== TEST 9: pool=1 pipeline=1 answers request after request
--- http_config eval
"    vidstream_postgres \"$ENV{VIDSTREAM_DATABASE_URL}\" pool=1 pipeline=1 timeout=2s;\n"
--- config
    location = /healthz { vidstream_healthz; }
--- request eval
[map { "GET /healthz" } 1 .. 5]
--- response_body eval
[map { qq({"status":"ok","postgres":"ok","redis":"disabled"}\n) } 1 .. 5]
--- no_error_log
[error]
