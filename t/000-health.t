# The health endpoints of CONTRACT.md section 3: no auth, plain text.
use Test::Nginx::Socket 'no_plan';

no_shuffle();
run_tests();

__DATA__

=== TEST 1: upload health answers "upload ok"
--- config
    location = /upload/health { vidstream_health upload; }
--- request
GET /upload/health
--- error_code: 200
--- response_headers
Content-Type: text/plain
--- response_body
upload ok
--- no_error_log
[error]



=== TEST 2: download health answers "download ok"
--- config
    location = /download/health { vidstream_health download; }
--- request
GET /download/health
--- error_code: 200
--- response_headers
Content-Type: text/plain
--- response_body
download ok



=== TEST 3: HEAD gets the headers and no body
--- config
    location = /upload/health { vidstream_health upload; }
--- request
HEAD /upload/health
--- error_code: 200
--- response_headers
Content-Length: 10
--- response_body



=== TEST 4: POST is 405 with the contract's JSON error
--- config
    location = /upload/health { vidstream_health upload; }
--- request
POST /upload/health
hello
--- error_code: 405
--- response_headers
Content-Type: application/json
--- response_body
{"error":"method_not_allowed","message":"use GET or HEAD"}



=== TEST 5: an unknown health kind is a configuration error
--- config
    location = /upload/health { vidstream_health sideways; }
--- must_die
--- error_log
invalid value "sideways"
