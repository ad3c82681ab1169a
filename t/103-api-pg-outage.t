# vim:set ft= ts=4 sw=4 et fdm=marker:
#
# The pool under trouble: PostgreSQL stopped -> 503 within the timeout,
# restarted -> 200 again without an nginx reload; and 500 concurrent
# requests across 2 workers with a pool of 4.  The outage runs against a
# throwaway cluster of its own (the shared one stays up).

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use ApiTest;
use File::Temp qw(tempdir);
use Time::HiRes qw(time sleep);

my $bin = (sort glob '/usr/lib/postgresql/*/bin')[-1];
our $pgdir = tempdir('vidstream-api-pg-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0777, $pgdir;
our $pgport = 20000 + int(rand(20000));

sub as_pg { system('runuser', '-u', 'postgres', '--', @_) == 0 }

as_pg("$bin/initdb", '-D', "$pgdir/data", '-A', 'trust', '-U', 'postgres',
      '--no-sync') or die "initdb failed";
sub pg_start {
    as_pg("$bin/pg_ctl", '-D', "$pgdir/data", '-l', "$pgdir/log", '-w',
          '-o', "-p $pgport -k $pgdir -c listen_addresses=127.0.0.1",
          'start') or die "pg_ctl start failed";
}
sub pg_stop {
    as_pg("$bin/pg_ctl", '-D', "$pgdir/data", '-m', 'immediate', 'stop');
}
pg_start();
system("bash sql/migrate.sh"
       . " postgresql://postgres\@127.0.0.1:$pgport/postgres >/dev/null") == 0
    or die "schema failed";
END { pg_stop() if $pgdir && -e "$pgdir/data/postmaster.pid" }

$ENV{TEST_NGINX_OUTAGE_PG} = "host=127.0.0.1 port=$pgport user=postgres dbname=postgres";

sub get {
    my ($path, @h) = @_;
    my $h = join ' ', map { "-H '$_'" } @h;
    return `curl -s -m 10 -o /dev/null -w '%{http_code}' $h 'http://127.0.0.1:$ENV{TEST_NGINX_SERVER_PORT}$path'`;
}

our $user = ApiTest::user('many');
our $auth = "Authorization: Bearer " . ApiTest::token($user);

ApiTest::defaults();
master_on();
workers(2);
worker_connections(1024);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: PostgreSQL stopped is 503 within the timeout; restarted is 200 without a reload
--- http_config
    vidstream_postgres "$TEST_NGINX_OUTAGE_PG" pool=2 timeout=1s;
--- config
    location = /healthz { vidstream_healthz; }
--- request
GET /healthz
--- response_body_filters eval
sub {
    my $out = $_[0];
    main::pg_stop();
    my $t0 = Time::HiRes::time();
    my @down = map { main::get('/healthz') } 1 .. 5;
    my $slow = Time::HiRes::time() - $t0;
    main::pg_start();
    my $up = '';
    for (1 .. 50) {
        $up = main::get('/healthz');
        last if $up eq '200';
        Time::HiRes::sleep(0.1);
    }
    return $out . "down=@down within_timeout=" . ($slow < 5 * 1.0 ? 1 : 0)
           . " up=$up\n";
}
--- response_body
{"status":"ok","postgres":"ok","redis":"disabled"}
down=503 503 503 503 503 within_timeout=1 up=200
--- error_log
vidstream pg: connection to "postgres" on 127.0.0.1:
--- timeout: 15



=== TEST 2: 500 concurrent requests on 2 workers with a pool of 4 all answer 200
--- http_config eval
$ApiTest::http_config =~ s/pool=4 timeout=2s/pool=4 timeout=5s/r
--- request eval
"POST /videos\n{\"filename\":\"c.mp4\",\"content_type\":\"video/mp4\",\"size\":1}"
--- more_headers eval
$::auth
--- error_code: 201
--- response_body_filters eval
sub {
    my ($id) = $_[0] =~ /"id" : "([^"]+)"/;
    my $cfg = "$::pgdir/curl.cfg";
    open my $fh, '>', $cfg or die;
    # curl applies a config's headers to every URL: once is enough
    print $fh "header = \"$::auth\"\n";
    for my $i (1 .. 500) {
        my $path = $i % 2 ? "/videos/$id" : "/videos?limit=5";
        print $fh "url = \"http://127.0.0.1:$ENV{TEST_NGINX_SERVER_PORT}$path\"\n"
                . "output = \"/dev/null\"\n";
    }
    close $fh;
    my @codes = `curl -s -m 30 --parallel --parallel-immediate --parallel-max 500 -w '%{http_code}\\n' -K $cfg`;
    chomp @codes;
    my %n;
    $n{$_}++ for @codes;
    return join(' ', map { "$_=$n{$_}" } sort keys %n) . "\n";
}
--- response_body
200=500
--- no_error_log
[error]
--- timeout: 40
