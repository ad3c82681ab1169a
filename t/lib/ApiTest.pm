package ApiTest;

# Shared setup of the videos API suites (t/1*-api-*.t): tokens from a
# throwaway key (VidstreamJWT), the stack's PostgreSQL / S3 / SQS from the
# environment scripts/test.sh exports, and the default nginx configuration.
#
#     use lib 't/lib';
#     use ApiTest;
#     my $alice = ApiTest::token('alice');

use strict;
use warnings;

use VidstreamJWT;
use JSON::PP ();

our $json = JSON::PP->new->canonical->allow_nonref;

my $dir = VidstreamJWT::setup(qw(k1));
VidstreamJWT::write_jwks("$dir/jwks.json", VidstreamJWT::jwk('k1'));

for my $v (qw(VIDSTREAM_DATABASE_URL AWS_ENDPOINT_URL_S3
              AWS_ENDPOINT_URL_SQS VIDSTREAM_QUEUE_URL VIDSTREAM_BUCKET
              AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY))
{
    die "ApiTest: $v is not set (run through scripts/test.sh)\n"
        unless $ENV{$v};
}

$ENV{TEST_NGINX_API_JWKS} = "$dir/jwks.json";
$ENV{TEST_NGINX_API_PG} = $ENV{VIDSTREAM_DATABASE_URL};
$ENV{TEST_NGINX_API_S3} = $ENV{AWS_ENDPOINT_URL_S3};
$ENV{TEST_NGINX_API_SQS} = $ENV{AWS_ENDPOINT_URL_SQS};
$ENV{TEST_NGINX_API_QUEUE} = $ENV{VIDSTREAM_QUEUE_URL};
$ENV{TEST_NGINX_API_BUCKET} = $ENV{VIDSTREAM_BUCKET};
$ENV{TEST_NGINX_API_REDIS} = $ENV{VIDSTREAM_REDIS_URL} // '';

# A free TCP port on 127.0.0.1 (nothing listens on it once this returns).
sub free_port {
    require IO::Socket::INET;
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, Proto => 'tcp')
        or die "free_port: $!";
    my $port = $s->sockport;
    close $s;
    return $port;
}

# A token for user $sub, valid for an hour.
sub token {
    my ($sub) = @_;
    return VidstreamJWT::token(claims => { sub => $sub });
}

# JSON text of a Perl structure (canonical key order).
sub json_text {
    return $json->encode($_[0]);
}

# A fresh user name, so that suites never see each other's videos.
sub user {
    my ($name) = @_;
    return "$name-" . $$ . '-' . int(rand(1e9));
}

# psql against the stack's database; returns the trimmed output.
sub psql {
    my ($sql) = @_;
    open my $fh, '-|', 'psql', $ENV{VIDSTREAM_DATABASE_URL}, '-X', '-q',
         '-At', '-v', 'ON_ERROR_STOP=1', '-c', $sql
        or die "psql: $!";
    local $/;
    my $out = <$fh> // '';
    close $fh or die "psql failed on: $sql\n";
    $out =~ s/\s+\z//;
    return $out;
}

sub quote {
    my ($s) = @_;
    $s =~ s/'/''/g;
    return "'$s'";
}

# fauxqs speaks SQS's JSON protocol (this botocore only the query one).
sub sqs {
    my ($action, $params) = @_;
    my $body = $json->encode($params);
    open my $fh, '-|', 'curl', '-s', '-X', 'POST',
         '-H', 'Content-Type: application/x-amz-json-1.0',
         '-H', "X-Amz-Target: AmazonSQS.$action",
         '-H', 'Authorization: AWS4-HMAC-SHA256 Credential=test/20260101/'
               . 'us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=x',
         '--data-binary', $body, "$ENV{AWS_ENDPOINT_URL_SQS}/"
        or die "curl: $!";
    local $/;
    my $out = <$fh>;
    close $fh or die "sqs $action failed\n";
    return $json->decode($out || '{}');
}

# Messages now in the queue (receives and deletes them): a list of bodies.
sub drain_queue {
    my @bodies;
    for (1 .. 5) {
        my $r = sqs('ReceiveMessage', { QueueUrl => $ENV{VIDSTREAM_QUEUE_URL},
                                        MaxNumberOfMessages => 10,
                                        WaitTimeSeconds => 0 });
        my $ms = $r->{Messages} || [];
        last unless @$ms;
        for my $m (@$ms) {
            push @bodies, $m->{Body};
            sqs('DeleteMessage', { QueueUrl => $ENV{VIDSTREAM_QUEUE_URL},
                                   ReceiptHandle => $m->{ReceiptHandle} });
        }
    }
    return @bodies;
}

# The http{} and server{} configuration every API suite starts from.
our $http_config = <<'_EOC_';
    vidstream_jwt_issuer https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TEST;
    vidstream_jwt_client_id testclient1;
    vidstream_jwks_file $TEST_NGINX_API_JWKS;

    vidstream_postgres "$TEST_NGINX_API_PG" pool=4 timeout=2s;
    vidstream_aws_region us-east-1;
    vidstream_s3_bucket $TEST_NGINX_API_BUCKET;
    vidstream_s3_endpoint $TEST_NGINX_API_S3;
    vidstream_sqs_endpoint $TEST_NGINX_API_SQS;
    vidstream_sqs_queue_url $TEST_NGINX_API_QUEUE;
_EOC_

our $config = <<'_EOC_';
    location = /healthz { vidstream_healthz; }

    location /videos {
        vidstream_auth on;
        vidstream_api;
    }

    location = /_vidstream/s3 {
        internal;
        proxy_pass $TEST_NGINX_API_S3$vidstream_aws_uri;
        proxy_set_header Host $vidstream_aws_host;
        subrequest_output_buffer_size 256k;
    }

    location = /_vidstream/sqs {
        internal;
        proxy_pass $TEST_NGINX_API_SQS$vidstream_aws_uri;
        proxy_set_header Host $vidstream_aws_host;
    }
_EOC_

# The error handling of the shipped configuration, as it is there: the
# block between "BEGIN vidstream errors" and "END vidstream errors" of
# nginx.conf.d/local.conf.in (production.conf.template holds the same;
# t/stack/config-check.sh compares them).
our $errors = do {
    my $file = __FILE__ =~ s{t/lib/ApiTest\.pm\z}{}r
               . 'nginx.conf.d/local.conf.in';
    open my $fh, '<', $file or die "ApiTest: $file: $!\n";
    local $/;
    my $text = <$fh>;
    my ($block) = $text =~ /^([ \t]*# BEGIN vidstream errors.*?# END vidstream errors\n)/ms
        or die "ApiTest: no error block in $file\n";
    $block;
};

$config .= $errors;

# Installs the defaults into every block that does not set its own.
sub defaults {
    Test::Nginx::Socket::add_block_preprocessor(sub {
        my $block = shift;
        $block->set_value('http_config', $http_config)
            unless defined $block->http_config;
        $block->set_value('config', $config)
            unless defined $block->config;
    });
}

1;
