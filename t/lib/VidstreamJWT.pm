package VidstreamJWT;

# Test-only token minting for the vidstream auth suites.
#
# setup() generates fresh RSA keys (openssl CLI) into a temporary directory
# that disappears when the test ends: no private key is ever committed.
# token() mints compact JWS strings with arbitrary header, claims and
# signature, valid RS256 by default:
#
#     my $dir = VidstreamJWT::setup(qw(k1 k2));
#     VidstreamJWT::write_jwks("$dir/jwks.json", VidstreamJWT::jwk('k1'));
#     my $t = VidstreamJWT::token(key => 'k1', claims => { exp => time - 60 });

use strict;
use warnings;

use File::Temp qw(tempdir);
use JSON::PP ();
use MIME::Base64 qw(encode_base64 decode_base64);
use Digest::SHA qw(hmac_sha256);

our $ISSUER    = 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TEST';
our $CLIENT_ID = 'testclient1';
our $SUB       = '5f0c2a8e-1b7d-4c3e-9a61-2d4b8e7f9a10';
our $DIR;

my %keys;      # name => { pem => path, n => b64url }
my $json = JSON::PP->new->canonical;

sub b64url {
    my ($bytes) = @_;
    my $s = encode_base64($bytes, '');
    $s =~ tr{+/}{-_};
    $s =~ s/=+$//;
    return $s;
}

sub run_openssl {
    my (@args) = @_;
    my $out = qx{openssl @args 2>/dev/null};
    die "openssl @args failed: $?" if $?;
    return $out;
}

# Generates one 2048-bit RSA key per name; returns the directory.
sub setup {
    my (@names) = @_;
    $DIR ||= tempdir('vidstream-auth-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    for my $name (@names) {
        my $pem = "$DIR/$name.pem";
        run_openssl("genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048"
                    . " -out $pem");
        my $mod = run_openssl("rsa -in $pem -noout -modulus");
        $mod =~ s/^Modulus=//;
        $mod =~ s/\s+//g;
        run_openssl("rsa -in $pem -pubout -out $DIR/$name.pub.pem");
        $keys{$name} = { pem => $pem, n => b64url(pack('H*', $mod)),
                         pub => "$DIR/$name.pub.pem" };
    }
    return $DIR;
}

sub public_pem {
    my ($name) = @_;
    open my $fh, '<', $keys{$name}{pub} or die "$name: $!";
    local $/;
    return <$fh>;
}

# The JWK of key $name, with members overridden or (value undef) removed.
sub jwk {
    my ($name, %over) = @_;
    my %k = (kty => 'RSA', kid => $name, use => 'sig', alg => 'RS256',
             n => $keys{$name}{n}, e => 'AQAB');
    while (my ($m, $v) = each %over) {
        if (defined $v) { $k{$m} = $v } else { delete $k{$m} }
    }
    return \%k;
}

# An EC P-256 JWK: never usable by an RS256-only verifier.
sub ec_jwk {
    my ($kid) = @_;
    return { kty => 'EC', kid => $kid, use => 'sig', alg => 'ES256',
             crv => 'P-256', x => b64url('x' x 32), y => b64url('y' x 32) };
}

sub jwks_json {
    my (@jwks) = @_;
    return $json->encode({ keys => \@jwks });
}

# Writes atomically (rename), as a deployment would.
sub write_jwks {
    my ($path, @jwks) = @_;
    open my $fh, '>', "$path.tmp" or die "$path.tmp: $!";
    print $fh jwks_json(@jwks);
    close $fh or die "$path.tmp: $!";
    rename "$path.tmp", $path or die "$path: $!";
}

sub default_claims {
    my $now = time;
    return { sub => $SUB, iss => $ISSUER, client_id => $CLIENT_ID,
             token_use => 'access', scope => 'aws.cognito.signin.user.admin',
             username => 'alice', auth_time => $now, iat => $now,
             exp => $now + 3600, jti => 'jti-' . int(rand(1e9)) };
}

sub rs256 {
    my ($name, $input) = @_;
    my $in = "$DIR/sign-input.$$";
    open my $fh, '>', $in or die "$in: $!";
    print $fh $input;
    close $fh;
    my $sig = run_openssl("dgst -sha256 -binary -sign $keys{$name}{pem} $in");
    unlink $in;
    return $sig;
}

# token(key => NAME, header => {...}, claims => {...}, drop => [claims],
#       alg => 'RS256'|'HS256'|'none', secret => ..., sig => raw bytes)
sub token {
    my (%o) = @_;
    my $key = $o{key} // 'k1';
    my $alg = $o{alg} // 'RS256';
    my %h = (alg => $alg, kid => $o{kid} // $key);
    %h = (%h, %{ $o{header} || {} });
    my $c = default_claims();
    %$c = (%$c, %{ $o{claims} || {} });
    delete $c->{$_} for @{ $o{drop} || [] };
    my $input = b64url($json->encode(\%h)) . '.' . b64url($json->encode($c));
    my $sig;
    if (exists $o{sig}) {
        $sig = $o{sig};
    } elsif ($alg eq 'HS256') {
        $sig = hmac_sha256($input, $o{secret});
    } elsif ($alg eq 'none') {
        $sig = '';
    } else {
        $sig = rs256($o{sign_with} // $key, $input);
    }
    return "$input." . b64url($sig);
}

1;
