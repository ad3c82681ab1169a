# vim:set ft= ts=4 sw=4 et fdm=marker:
#
# The ECS task role (CONTRACT.md 4, 7): with AWS_CONTAINER_CREDENTIALS_FULL_URI
# and no static/environment keys, nginx fetches the credentials through the
# vidstream_aws_credentials_location subrequest, presigns with them, picks
# up rotated ones (and a rotated AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE),
# and answers 503 once they have expired and the endpoint fails, rather
# than presign with dead keys.
#
# The endpoint is a location of the test nginx itself; it serves
# creds-<Authorization>.json, so the file served shows which token was sent.
# A refresh is retried at most every VS_AWS_CREDS_RETRY_AFTER (10 s): the
# two blocks wait that long once each.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use ApiTest;
use File::Temp qw(tempdir);
use POSIX qw(strftime);

our $dir = tempdir('vidstream-ecs-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $dir;
our $port = $ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT} || 1984;

delete $ENV{$_} for qw(AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
                       AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
                       AWS_CONTAINER_AUTHORIZATION_TOKEN);
$ENV{AWS_CONTAINER_CREDENTIALS_FULL_URI} = "http://127.0.0.1:$port/creds.json";
$ENV{AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE} = "$dir/token";
$ENV{TEST_NGINX_ECS_DIR} = $dir;

sub write_file {
    my ($name, $text) = @_;
    open my $fh, '>', "$dir/$name" or die "$name: $!";
    print $fh $text;
    close $fh;
}

sub creds {
    my ($name, $akid, $token, $ttl) = @_;
    write_file("creds-$name.json", ApiTest::json_text({
        AccessKeyId => $akid, SecretAccessKey => "secret-of-$akid",
        Token => $token, Code => 'Success',
        Expiration => strftime('%Y-%m-%dT%H:%M:%SZ', gmtime(time + $ttl)) }));
}

# nginx reads the token file at startup too: it must exist
write_file('token', "tok-1\n");

our $user = ApiTest::user('ecs');
our $auth = "Authorization: Bearer " . ApiTest::token($user);

sub create {
    my $out = `curl -s -m 10 -w '\\n%{http_code}' -H '$::auth' --data-binary '{"filename":"e.mp4","content_type":"video/mp4","size":1}' http://127.0.0.1:$::port/videos`;
    my ($body, $code) = $out =~ /\A(.*)\n(\d+)\z/s;
    return $code unless $code eq '201';
    my ($akid) = $body =~ /X-Amz-Credential=([A-Z0-9]+)%2F/;
    my ($tok) = $body =~ /X-Amz-Security-Token=([^&"]+)/;
    return "$code $akid $tok";
}

our $ecs_config = $ApiTest::config . <<'_EOC_';
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

ApiTest::defaults();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: credentials are fetched, used, and rotated ones replace them (with the rotated token file)
--- config eval
$::ecs_config
--- request
GET /healthz
--- response_body_filters eval
sub {
    main::write_file('token', "tok-1\n");
    main::creds('tok-1', 'ASIAFIRSTKEY0001', 'session-one', 200);
    main::creds('tok-2', 'ASIASECONDKEY002', 'session-two', 3600);
    my $first = main::create();
    main::write_file('token', "tok-2\n");
    sleep 11;
    my $second = main::create();
    return "first=$first\nsecond=$second\n";
}
--- response_body
first=201 ASIAFIRSTKEY0001 session-one
second=201 ASIASECONDKEY002 session-two
--- no_error_log
[error]
--- timeout: 30



=== TEST 2: expired credentials and a failing endpoint are 503, not a presign with dead keys
--- config eval
$::ecs_config
--- request
GET /healthz
--- response_body_filters eval
sub {
    main::write_file('token', "tok-3\n");
    main::creds('tok-3', 'ASIAEXPIRING0003', 'session-three', 3);
    my $first = main::create();
    main::write_file('token', "tok-gone\n");     # the endpoint answers 404
    sleep 11;
    my $later = main::create();
    return "first=$first\nlater=$later\n";
}
--- response_body
first=201 ASIAEXPIRING0003 session-three
later=503
--- error_log
vidstream: ECS credentials endpoint answered 404
vidstream api: cannot presign: no AWS credentials
--- timeout: 30



=== TEST 3: no credentials at all yet and the endpoint down: 503
--- config eval
$::ecs_config
--- more_headers eval
$::auth
--- request
POST /videos
{"filename":"e.mp4","content_type":"video/mp4","size":1}
--- error_code: 503
--- response_body
{"error":"unavailable","message":"the service is temporarily unavailable, try again"}
--- error_log
vidstream: ECS credentials endpoint answered 404
