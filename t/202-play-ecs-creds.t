# vim:set ft= ts=4 sw=4 et fdm=marker:
#
# /play with the ECS task role: the first request of a worker that has no
# credentials yet waits in the access phase for the credentials
# subrequest, then signs its S3 request with them (the session token
# included); when the endpoint fails it is 503, never an unsigned request.
# The endpoint is a location of the test nginx (as in t/105): it serves
# creds-<Authorization>.json.  s3rver knows one key pair, S3RVER/S3RVER,
# which the endpoint hands out here with a session token.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use ApiTest;
use PlayTest;
use POSIX qw(strftime);

our $dir = $PlayTest::dir;
chmod 0755, $dir;
our $port = $ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT} || 1984;

our $alice = ApiTest::user('alice');
our $v = PlayTest::video($alice);
our $jpg = "\xff\xd8\xff\xe0 ecs poster";
PlayTest::put("output/$alice/$v/thumbnail.jpg" => $jpg);
our $t = PlayTest::token(video => $v, sub => $alice);

# from here on nginx has no keys of its own: only the task role
delete $ENV{$_} for qw(AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
                       AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
                       AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE);
$ENV{AWS_CONTAINER_CREDENTIALS_FULL_URI} = "http://127.0.0.1:$port/creds.json";
$ENV{AWS_CONTAINER_AUTHORIZATION_TOKEN} = 'tok-1';
$ENV{TEST_NGINX_ECS_DIR} = $dir;

open my $fh, '>', "$dir/creds-tok-1.json" or die;
print $fh ApiTest::json_text({
    AccessKeyId => 'S3RVER', SecretAccessKey => 'S3RVER',
    Token => 'session-token-1', Code => 'Success',
    Expiration => strftime('%Y-%m-%dT%H:%M:%SZ', gmtime(time + 3600)) });
close $fh;

our $ecs = <<'_EOC_';
    location = /_vidstream/credentials {
        internal;
        proxy_pass http://127.0.0.1:$server_port$vidstream_aws_uri;
        proxy_set_header Host $vidstream_aws_host;
    }

    location = /creds.json {
        default_type application/json;
        alias $TEST_NGINX_ECS_DIR/creds-$http_authorization.json;
    }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('http_config', PlayTest::http_config('A'))
        unless defined $block->http_config;
    $block->set_value('config', $ApiTest::config . $PlayTest::play_location
                                . $::ecs)
        unless defined $block->config;
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the first /play of a worker fetches the task role's credentials, then plays
--- request eval
"GET /play/$::t/thumbnail.jpg"
--- error_code: 200
--- response_headers
Content-Type: image/jpeg
--- response_body eval
$::jpg
--- no_error_log
[error]



=== TEST 2: no credentials from the endpoint: 503, nothing sent unsigned
--- config eval
$ApiTest::config . $PlayTest::play_location . <<'_EOC_'
    location = /_vidstream/credentials {
        internal;
        return 500;
    }
_EOC_
--- request eval
"GET /play/$::t/thumbnail.jpg"
--- error_code: 503
--- response_body_like: "error":"unavailable"
--- error_log
ECS credentials endpoint answered 500
vidstream play: no AWS credentials
