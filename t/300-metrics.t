# vim:set ft= ts=4 sw=4 et fdm=marker:
#
# ngx_http_vidstream_metrics_module: the Prometheus exposition (checked by
# promtool) and its values.  Two workers answer a known sequence of
# requests on a reuseport listener (so both take connections; the access
# log's $pid shows it), and a scrape answered by either worker sees every
# counter moved exactly as it should; "nginx -s reload" keeps them; with
# PostgreSQL stopped (a private cluster, as in t/103) a request is a 503
# counted as one.

use lib 't/lib';
use IO::Socket::INET;
use Test::Nginx::Socket 'no_plan';
use ApiTest;
use VidstreamJWT;
use File::Temp qw(tempdir);
use Time::HiRes qw(sleep);

our $port = ApiTest::free_port();
$ENV{TEST_NGINX_METRICS_PORT} = $port;

our $tmp = tempdir('vidstream-metrics-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0777, $tmp;

our $user = ApiTest::user('metrics');
our $good = VidstreamJWT::token(claims => { sub => $user });
our $expired = VidstreamJWT::token(claims => { sub => $user,
                                               iat => time - 7200,
                                               exp => time - 3600 });
our $forged = VidstreamJWT::token(claims => { sub => $user },
                                  sig => 'x' x 256);

# curl METHOD PATH [TOKEN] [BODY]: the status code
sub curl {
    my ($method, $path, $token, $body) = @_;
    my @a = ('curl', '-s', '-m', '10', '-o', '/dev/null',
             '-w', '%{http_code}', '-X', $method);
    push @a, '-H', "Authorization: Bearer $token" if defined $token;
    push @a, '-H', 'Content-Type: application/json', '--data-binary', $body
        if defined $body;
    open my $fh, '-|', @a, "http://127.0.0.1:$port$path" or die "curl: $!";
    my $code = <$fh>;
    close $fh;
    return $code;
}

# The scrape as { 'name{labels}' => value }; dies unless it is a 200.
sub scrape {
    my $text = `curl -s -m 10 -f http://127.0.0.1:$port/metrics`;
    die "scrape failed\n" if $? != 0;
    my %m;
    for (split /\n/, $text) {
        next if /^#/;
        my ($k, $v) = /^(\S+) (\S+)$/ or die "bad line: $_\n";
        $m{$k} = $v;
    }
    return \%m;
}

# "key delta" lines for the keys, in order
sub deltas {
    my ($a, $b, @keys) = @_;
    return CORE::join '', map { "$_ " . (($b->{$_} // 'none') - ($a->{$_} // 0))
                          . "\n" } @keys;
}

sub workers_of {
    my ($master) = @_;
    my @p = split ' ', `ps -o pid= --ppid $master`;
    return sort @p;
}

our @keys = (
    'vidstream_http_requests_total{action="other",status="2xx"}',
    'vidstream_http_requests_total{action="other",status="4xx"}',
    'vidstream_http_requests_total{action="create",status="2xx"}',
    'vidstream_http_requests_total{action="get",status="2xx"}',
    'vidstream_http_requests_total{action="get",status="4xx"}',
    'vidstream_http_requests_total{action="get",status="5xx"}',
    'vidstream_http_requests_total{action="download",status="4xx"}',
    'vidstream_auth_results_total{result="ok"}',
    'vidstream_auth_results_total{result="missing"}',
    'vidstream_auth_results_total{result="expired"}',
    'vidstream_auth_results_total{result="bad_signature"}',
    'vidstream_token_cache_lookups_total{result="hit"}',
    'vidstream_token_cache_lookups_total{result="miss"}',
    'vidstream_pg_queries_total{result="ok"}',
    'vidstream_pg_query_duration_seconds_count',
);

# the private PostgreSQL of the outage block
my $bin = (sort glob '/usr/lib/postgresql/*/bin')[-1];
# a port nothing listens on now (a random one collided once in make test)
our $pgport = do {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, Proto => 'tcp')
        or die "listen: $!";
    my $p = $s->sockport;
    close $s;
    $p;
};
sub as_pg { system('runuser', '-u', 'postgres', '--', @_) == 0 }
sub pg_start {
    as_pg("$bin/pg_ctl", '-D', "$tmp/data", '-l', "$tmp/log", '-w',
          '-o', "-p $pgport -k $tmp -c listen_addresses=127.0.0.1",
          'start') or die "pg_ctl start failed";
}
sub pg_stop {
    as_pg("$bin/pg_ctl", '-D', "$tmp/data", '-m', 'immediate', 'stop');
}
as_pg("$bin/initdb", '-D', "$tmp/data", '-A', 'trust', '-U', 'postgres',
      '--no-sync') or die "initdb failed";
pg_start();
system("bash sql/migrate.sh"
       . " postgresql://postgres\@127.0.0.1:$pgport/postgres >/dev/null") == 0
    or die "schema failed";
END { pg_stop() if $tmp && -e "$tmp/data/postmaster.pid" }
$ENV{TEST_NGINX_METRICS_PG} = "host=127.0.0.1 port=$pgport user=postgres "
                              . "dbname=postgres";

our $listener = <<'_EOC_';
    log_format pids '$pid $status';

    server {
        listen 127.0.0.1:$TEST_NGINX_METRICS_PORT reuseport;
        access_log logs/pids.log pids;

        location = /metrics {
            allow 127.0.0.1;
            deny all;
            vidstream_metrics;
        }

        location /videos {
            vidstream_auth on;
            vidstream_api;
        }
    }
_EOC_


ApiTest::defaults();
master_on();
workers(2);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: the exposition is Prometheus text that promtool accepts
--- config
    location = /metrics { vidstream_metrics; }
--- request
GET /metrics
--- response_headers
Content-Type: text/plain; version=0.0.4; charset=utf-8
--- response_body_filters eval
sub {
    my $text = $_[0];
    my $file = "$::tmp/scrape.txt";
    open my $fh, '>', $file or die;
    print $fh $text;
    close $fh;
    my $lint = `promtool check metrics < $file 2>&1`;
    my $ok = $? == 0 ? 'ok' : "failed: $lint";
    my @types = $text =~ /^# TYPE (\S+ \S+)$/mg;
    my $helps = () = $text =~ /^# HELP \S+ \S/mg;
    return "promtool $ok\nhelp " . ($helps == @types ? 'each' : 'missing')
           . "\n" . CORE::join("\n", @types) . "\n";
}
--- response_body
promtool ok
help each
vidstream_http_requests_total counter
vidstream_auth_results_total counter
vidstream_play_sent_bytes_total counter
vidstream_play_responses_total counter
vidstream_token_cache_lookups_total counter
vidstream_jwks_fetches_total counter
vidstream_pg_queries_total counter
vidstream_pg_connection_errors_total counter
vidstream_pg_query_duration_seconds histogram
vidstream_pg_connections gauge
vidstream_pg_queries_in_flight gauge
vidstream_pg_queries_waiting gauge
vidstream_aws_requests_total counter
vidstream_aws_request_duration_seconds histogram
vidstream_edge_worker_processes gauge
--- no_error_log
[error]



=== TEST 2: every label value is there from the start, at zero or more
--- config
    location = /metrics { vidstream_metrics; }
--- request
GET /metrics
--- response_body_filters eval
sub {
    my $text = $_[0];
    my @out;
    for my $re (qr/vidstream_http_requests_total\{action="([a-z]+)",status="2xx"\}/,
                qr/vidstream_auth_results_total\{result="([a-z_]+)"\}/,
                qr/vidstream_aws_requests_total\{service="([a-z0-9]+)",result="ok"\}/,
                qr/vidstream_pg_connections\{state="([a-z]+)"\}/) {
        push @out, CORE::join ' ', $text =~ /$re/g;
    }
    my @le = $text =~ /vidstream_pg_query_duration_seconds_bucket\{le="([^"]+)"\}/g;
    push @out, "@le";
    return CORE::join("\n", @out) . "\n";
}
--- response_body
other list create get delete complete download healthz playback play
ok insufficient_scope keys_unavailable missing malformed unsupported_alg unknown_kid bad_signature expired not_yet_valid wrong_issuer wrong_client wrong_token_use invalid_claims
s3 sqs credentials
idle busy connecting down
0.0005 0.001 0.0025 0.005 0.01 0.025 0.05 0.1 0.25 0.5 1 2.5 5 10 +Inf



=== TEST 3: methods other than GET and HEAD are 405
--- config
    location = /metrics { vidstream_metrics; }
--- request
POST /metrics
--- error_code: 405



=== TEST 4: with vidstream_metrics_collect off nothing is counted: 404
--- http_config eval
$ApiTest::http_config . "    vidstream_metrics_collect off;\n"
--- config
    location = /metrics { vidstream_metrics; }
--- request
GET /metrics
--- error_code: 404
--- error_log
vidstream_metrics_collect is off



=== TEST 5: a known sequence on 2 workers moves exactly its counters, and a reload keeps them
--- http_config eval
$ApiTest::http_config . "    vidstream_jwt_cache zone=metrics_jwt:1m;\n"
. $::listener
--- config
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body_filters eval
sub {
    my $a = main::scrape();
    my $body = '{"filename":"m.mp4","content_type":"video/mp4","size":1}';
    my $id;
    {
        my $out = `curl -s -m 10 -X POST -H 'Authorization: Bearer $::good' -H 'Content-Type: application/json' --data-binary '$body' http://127.0.0.1:$::port/videos`;
        ($id) = $out =~ /"id" : "([0-9a-f-]{36})"/;
    }
    die "no video created\n" unless $id;

    # 40 GETs at once, each on its own connection: both workers answer
    my $cfg = "$::tmp/curl.cfg";
    open my $fh, '>', $cfg or die;
    print $fh "header = \"Authorization: Bearer $::good\"\n";
    print $fh "url = \"http://127.0.0.1:$::port/videos/$id\"\n"
              . "output = \"/dev/null\"\n" for 1 .. 40;
    close $fh;
    my @codes = `curl -s -m 30 --parallel --parallel-immediate --parallel-max 40 -H 'Connection: close' -w '%{http_code}\\n' -K $cfg 2>/dev/null`;
    CORE::chomp @codes;
    my $ok = grep { $_ eq '200' } @codes;

    my @seq = (
        main::curl('GET', "/videos/$id", $::expired),
        main::curl('GET', "/videos/$id", $::forged),
        main::curl('GET', '/videos/00000000-0000-4000-8000-000000000000',
                   $::good),
        main::curl('GET', "/videos/$id/download", $::good),
        main::curl('GET', '/videos'),
    );
    my $b = main::scrape();

    my %pids;
    open my $log, '<', "$Test::Nginx::Util::ServRoot/logs/pids.log" or die;
    while (<$log>) { $pids{(split)[0]} = 1 }
    close $log;

    # reload: new workers, the same zone
    my $master = `cat $Test::Nginx::Util::ServRoot/logs/nginx.pid`;
    CORE::chomp $master;
    my @old = main::workers_of($master);
    kill 'HUP', $master;
    my $reloaded = 0;
    for (1 .. 100) {
        my @now = main::workers_of($master);
        my %was = map { $_ => 1 } @old;
        if (@now == 2 && !grep { $was{$_} } @now) { $reloaded = 1; last }
        sleep 0.1;
    }
    my $c = main::scrape();

    # at rest, once every worker has published (each second): the pools
    sleep 1.2;
    my $d = main::scrape();
    my $pool = CORE::join ' ', map { "$_=" . $d->{"vidstream_pg_connections{state=\"$_\"}"} }
               qw(idle busy connecting down);

    return "created $ok of 40 ok\nseq @seq\nworkers answering "
           . scalar(keys %pids) . "\nworker processes "
           . $b->{vidstream_edge_worker_processes} . "\n"
           . main::deltas($a, $b, @::keys)
           . "reloaded $reloaded\nafter the reload:\n"
           . main::deltas($b, $c, @::keys)
           . "pools at rest: $pool in_flight="
           . $d->{vidstream_pg_queries_in_flight} . " waiting="
           . $d->{vidstream_pg_queries_waiting} . "\n";
}
--- response_body
created 40 of 40 ok
seq 401 401 404 409 401
workers answering 2
worker processes 2
vidstream_http_requests_total{action="other",status="2xx"} 1
vidstream_http_requests_total{action="other",status="4xx"} 3
vidstream_http_requests_total{action="create",status="2xx"} 1
vidstream_http_requests_total{action="get",status="2xx"} 40
vidstream_http_requests_total{action="get",status="4xx"} 1
vidstream_http_requests_total{action="get",status="5xx"} 0
vidstream_http_requests_total{action="download",status="4xx"} 1
vidstream_auth_results_total{result="ok"} 43
vidstream_auth_results_total{result="missing"} 1
vidstream_auth_results_total{result="expired"} 1
vidstream_auth_results_total{result="bad_signature"} 1
vidstream_token_cache_lookups_total{result="hit"} 42
vidstream_token_cache_lookups_total{result="miss"} 3
vidstream_pg_queries_total{result="ok"} 43
vidstream_pg_query_duration_seconds_count 43
reloaded 1
after the reload:
vidstream_http_requests_total{action="other",status="2xx"} 1
vidstream_http_requests_total{action="other",status="4xx"} 0
vidstream_http_requests_total{action="create",status="2xx"} 0
vidstream_http_requests_total{action="get",status="2xx"} 0
vidstream_http_requests_total{action="get",status="4xx"} 0
vidstream_http_requests_total{action="get",status="5xx"} 0
vidstream_http_requests_total{action="download",status="4xx"} 0
vidstream_auth_results_total{result="ok"} 0
vidstream_auth_results_total{result="missing"} 0
vidstream_auth_results_total{result="expired"} 0
vidstream_auth_results_total{result="bad_signature"} 0
vidstream_token_cache_lookups_total{result="hit"} 0
vidstream_token_cache_lookups_total{result="miss"} 0
vidstream_pg_queries_total{result="ok"} 0
vidstream_pg_query_duration_seconds_count 0
pools at rest: idle=8 busy=0 connecting=0 down=0 in_flight=0 waiting=0
--- timeout: 40



=== TEST 6: PostgreSQL stopped: a 503, counted as one, with the pool down
--- http_config eval
($ApiTest::http_config =~ s/vidstream_postgres .*;/vidstream_postgres "\$TEST_NGINX_METRICS_PG" pool=2 timeout=1s;/r)
. $::listener
--- config
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body_filters eval
sub {
    my $body = '{"filename":"m.mp4","content_type":"video/mp4","size":1}';
    my $out = `curl -s -m 10 -X POST -H 'Authorization: Bearer $::good' -H 'Content-Type: application/json' --data-binary '$body' http://127.0.0.1:$::port/videos`;
    my ($id) = $out =~ /"id" : "([0-9a-f-]{36})"/;
    die "no video created\n" unless $id;
    my $a = main::scrape();
    main::pg_stop();
    my $code = main::curl('GET', "/videos/$id", $::good);
    my $b = main::scrape();
    sleep 1.2;
    my $c = main::scrape();
    main::pg_start();
    my $pool = CORE::join ' ', map { "$_=" . $c->{"vidstream_pg_connections{state=\"$_\"}"} }
               qw(idle busy);
    my $gone = $c->{'vidstream_pg_connections{state="connecting"}'}
               + $c->{'vidstream_pg_connections{state="down"}'};
    my $failed = ($b->{'vidstream_pg_queries_total{result="unavailable"}'}
                  - $a->{'vidstream_pg_queries_total{result="unavailable"}'})
                 + ($b->{'vidstream_pg_queries_total{result="timeout"}'}
                  - $a->{'vidstream_pg_queries_total{result="timeout"}'});
    my $lost = $b->{vidstream_pg_connection_errors_total}
               - $a->{vidstream_pg_connection_errors_total};
    return "status $code\n"
           . main::deltas($a, $b,
                 'vidstream_http_requests_total{action="get",status="5xx"}',
                 'vidstream_pg_queries_total{result="ok"}')
           . "failed queries $failed\nconnections lost "
           . ($lost >= 1 ? 'some' : 'none') . "\n"
           . "pools while it is down: $pool connecting+down=$gone\n";
}
--- response_body
status 503
vidstream_http_requests_total{action="get",status="5xx"} 1
vidstream_pg_queries_total{result="ok"} 0
failed queries 1
connections lost some
pools while it is down: idle=0 busy=0 connecting+down=4
--- timeout: 30



=== TEST 7: an unknown kid re-reads the JWKS once (a fetch), a missing scope is insufficient_scope
--- http_config eval
$ApiTest::http_config . $::listener
--- config
    location = /t { return 200 "ok\n"; }
    location = /scoped {
        vidstream_auth on;
        vidstream_jwt_require_scope videos/admin;
        vidstream_health download;
    }
--- request
GET /t
--- response_body_filters eval
sub {
    my $stranger = VidstreamJWT::token(kid => 'nope', claims => { sub => $::user });
    my $a = main::scrape();
    my @seq = (main::curl('GET', '/videos', $stranger));
    my $b = main::scrape();
    push @seq, `curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer $::good' http://127.0.0.1:$ENV{TEST_NGINX_SERVER_PORT}/scoped`;
    my $c = main::scrape();
    return "seq @seq\n"
           . main::deltas($a, $b,
                 'vidstream_auth_results_total{result="unknown_kid"}',
                 'vidstream_jwks_fetches_total{result="ok"}',
                 'vidstream_jwks_fetches_total{result="error"}')
           . main::deltas($b, $c,
                 'vidstream_auth_results_total{result="insufficient_scope"}',
                 'vidstream_auth_results_total{result="ok"}');
}
--- response_body
seq 401 403
vidstream_auth_results_total{result="unknown_kid"} 1
vidstream_jwks_fetches_total{result="ok"} 1
vidstream_jwks_fetches_total{result="error"} 0
vidstream_auth_results_total{result="insufficient_scope"} 1
vidstream_auth_results_total{result="ok"} 0
