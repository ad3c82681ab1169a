# vim:set ft= ts=4 sw=4 et fdm=marker:
#
# Errors nginx answers itself (CONTRACT.md 3): a malformed request line, a
# URI or headers too long, a method nginx refuses.  Each is the contract's
# JSON error with the right status, never an HTML page or a 500.  The
# server's error handling is the shipped one: ApiTest adds the "vidstream
# errors" block of nginx.conf.d/local.conf.in to every configuration.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use ApiTest;

our $auth = "Authorization: Bearer " . ApiTest::token(ApiTest::user('errors'));
our $long_uri = '/videos/' . ('a' x 9000);
our $big_header = 'X-Big: ' . ('h' x 65536);

ApiTest::defaults();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: a NUL in the URI is 400 JSON
--- raw_request eval
"GET /videos/%00 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
--- error_code: 400
--- response_headers
Content-Type: application/json
--- response_body
{"error":"invalid_request","message":"malformed request or headers too large"}
--- no_error_log
empty URI
[alert]



=== TEST 2: a URI of 9,000 bytes is 414 JSON
--- raw_request eval
"GET $::long_uri HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
--- error_code: 414
--- response_headers
Content-Type: application/json
--- response_body
{"error":"invalid_request","message":"request URI too long"}
--- no_error_log
empty URI
[alert]



=== TEST 3: a raw space in the query is 400 JSON
--- raw_request eval
"GET /videos?limit=1 2 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
--- error_code: 400
--- response_headers
Content-Type: application/json
--- response_body
{"error":"invalid_request","message":"malformed request or headers too large"}
--- no_error_log
empty URI
[alert]



=== TEST 4: a request line that is not HTTP is 400 JSON
--- raw_request eval
"GET /videos HTTP/1.1 x\r\nHost: localhost\r\nConnection: close\r\n\r\n"
--- error_code: 400
--- response_headers
Content-Type: application/json
--- response_body
{"error":"invalid_request","message":"malformed request or headers too large"}
--- no_error_log
[alert]



=== TEST 5: a header of 64 KiB is 400 JSON
--- more_headers eval
$::big_header
--- request
GET /videos
--- error_code: 400
--- response_headers
Content-Type: application/json
--- response_body
{"error":"invalid_request","message":"malformed request or headers too large"}
--- no_error_log
[alert]



=== TEST 6: TRACE is 405 JSON
--- request
TRACE /videos
--- error_code: 405
--- response_headers
Content-Type: application/json
--- response_body
{"error":"method_not_allowed","message":"method not allowed here"}
--- no_error_log
[alert]



=== TEST 7: PROPFIND on /videos is 405 JSON with Allow
--- more_headers eval
$::auth
--- request
PROPFIND /videos
--- error_code: 405
--- response_headers
Content-Type: application/json
Allow: GET, HEAD, POST
--- response_body
{"error":"method_not_allowed","message":"method not allowed here"}



=== TEST 8: PROPFIND outside the API is 405 JSON
--- request
PROPFIND /index.html
--- error_code: 405
--- response_headers
Content-Type: application/json
--- response_body
{"error":"method_not_allowed","message":"method not allowed here"}



=== TEST 9: a body over client_max_body_size is 413 JSON
--- config eval
$ApiTest::config . "    location /small { client_max_body_size 10; }\n"
--- request eval
"POST /small/x\n" . ('x' x 100)
--- error_code: 413
--- response_headers
Content-Type: application/json
--- response_body
{"error":"too_large","message":"request body too large"}
