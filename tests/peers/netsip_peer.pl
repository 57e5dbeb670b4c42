#!/usr/bin/perl
# SIP pager-mode peer (RFC 3428 MESSAGE, OPTIONS) built on Net::SIP, for
# black-box tests. Binds 127.0.0.1 on an ephemeral port and reports what
# happens as one line per event on stdout; see tests/peers/README.md.
#
#   netsip_peer.pl send-message --target URI [options]
#   netsip_peer.pl receive [options]
#
# Exit status: 0 normal end; 1 a sent request got no final response
# (transaction timeout or transport error); 2 usage error; 3 --timeout
# expired in send-message mode.
use strict;
use warnings;
use Getopt::Long qw(GetOptionsFromArray);
use MIME::Base64 qw(encode_base64);
use IO::Socket::IP;
use Errno ();
use Socket qw(SOCK_DGRAM SOCK_STREAM);
use Time::HiRes qw(time);
use Net::SIP qw(:all);
use Net::SIP::Util qw(ip_parts2string);

$| = 1;
my $PROG = 'netsip_peer';

sub usage {
    print STDERR <<"EOT";
usage: $0 send-message --target URI [--transport udp|tcp] [--proxy HOST:PORT]
          [--method MESSAGE|OPTIONS] [--count N] [--parallel] [--interval MS]
          [--from URI] [--to URI] [--body TEXT | --body-size N] [--ctype TYPE]
          [--header 'Name: value']... [--same-call-id] [--port P]
          [--txn-timeout S] [--timeout S] [--dump]
       $0 receive [--transport udp|tcp] [--port P] [--code N] [--reason TEXT]
          [--ignore N] [--count N] [--linger S] [--timeout S] [--dump]
EOT
    exit 2;
}

my $mode = shift @ARGV // usage();
usage() if $mode !~ /^(send-message|receive)$/;

my %o = (
    transport   => 'udp',
    port        => 0,
    timeout     => 30,
    method      => 'MESSAGE',
    count       => undef,
    interval    => 0,
    from        => 'sip:netsip@127.0.0.1',
    ctype       => 'text/plain',
    code        => 200,
    ignore      => 0,
    linger      => 0.5,
    'txn-timeout' => 32,
    header      => [],
);
GetOptionsFromArray(\@ARGV, \%o,
    'transport=s', 'port=i', 'timeout=f', 'target=s', 'proxy=s', 'method=s',
    'count=i', 'parallel', 'interval=i', 'from=s', 'to=s', 'body=s',
    'body-size=i', 'ctype=s', 'header=s@', 'same-call-id', 'txn-timeout=f',
    'code=i', 'reason=s', 'ignore=i', 'linger=f', 'dump', 'debug=i',
) or usage();
usage() if @ARGV;
$o{transport} = lc $o{transport};
usage() if $o{transport} !~ /^(udp|tcp)$/;
Net::SIP::Debug->level($o{debug}) if $o{debug};

sub out { print join(' ', @_), "\n" }
sub b64 { encode_base64($_[0] // '', '') }
sub nows { my $s = $_[0] // ''; $s =~ s/\s+//g; $s }
sub errname {
    my $e = shift;
    return $e if $e !~ /^\d+$/;
    local $! = $e;
    my ($name) = grep { $!{$_} } keys %!;
    return $name // $e;
}

# The addr-spec of a From/To/Contact value, without display name or params.
sub uri_of {
    my $v = shift // '';
    return $1 if $v =~ /<([^>]*)>/;
    $v =~ s/;.*//;
    $v =~ s/^\s+|\s+$//g;
    return $v;
}

# Bind the socket ourselves: Net::SIP::Leg with port 0 tries 5060, 5062..5100
# before letting the kernel choose, and tests must never use fixed ports.
my $sock = IO::Socket::IP->new(
    Family    => Socket::AF_INET(),
    LocalHost => '127.0.0.1',
    LocalPort => $o{port},
    Proto     => $o{transport},
    Type      => $o{transport} eq 'udp' ? SOCK_DGRAM : SOCK_STREAM,
    ($o{transport} eq 'tcp' ? (Listen => 64, ReuseAddr => 1) : ()),
) or die "$PROG: cannot bind 127.0.0.1:$o{port}/$o{transport}: $@\n";
my $lport = $sock->sockport;
my $leg = Net::SIP::Leg->new(sock => $sock, proto => $o{transport});
my $loop = Net::SIP::Dispatcher::Eventloop->new;
my $disp = Net::SIP::Dispatcher->new([$leg], $loop, do_retransmits => 1);

my $stop = 0;
my $exit = 0;
$SIG{TERM} = $SIG{INT} = sub { $stop = 1; $exit = 0; out('EXIT reason=signal') };
$SIG{PIPE} = 'IGNORE';
my $deadline = time() + $o{timeout};

out('READY', $o{transport}, '127.0.0.1', $lport);

my $rnd = sub { join '', map { ('a'..'z', 0..9)[rand 36] } 1 .. $_[0] };

if ($mode eq 'receive') {
    run_receive();
} else {
    run_send();
}
exit $exit;

# ---------------------------------------------------------------- receive
sub run_receive {
    my $ignored = 0;
    my $received = 0;
    my %answered;    # transaction key -> response (for retransmissions)
    my $to_tag = $rnd->(10);
    my $done_at;

    $disp->set_receiver(sub {
        my ($pkt, $rleg, $from) = @_;
        return if !$pkt->is_request;
        my $method = $pkt->method;
        return if $method eq 'ACK';
        my ($cseq) = $pkt->cseq =~ /^(\d+)/;
        my $callid = $pkt->callid;
        my ($via) = $pkt->get_header('via');
        my ($branch) = ($via // '') =~ /;\s*branch=([^;,\s]+)/i;
        my $key = join "\0", $callid, $pkt->cseq, $branch // '';
        my $src = ip_parts2string($from);
        if (my $resp = $answered{$key}) {
            out('RETRANS', $method, "call-id=$callid", "cseq=$cseq", "src=$src");
            $disp->deliver($resp, leg => $rleg, dst_addr => $from, do_retransmits => 0);
            return;
        }
        if ($method eq 'MESSAGE' && $ignored < $o{ignore}) {
            $ignored++;
            out('IGNORED', $method, "call-id=$callid", "cseq=$cseq", "src=$src", "n=$ignored");
            return;
        }
        my ($code, $reason);
        if ($method eq 'MESSAGE') {
            ($code, $reason) = ($o{code}, $o{reason});
        } elsif ($method eq 'OPTIONS') {
            ($code, $reason) = (200, 'OK');
        } else {
            ($code, $reason) = (405, 'Method Not Allowed');
        }
        my %extra = (server => 'netsip-peer');
        $extra{allow} = 'MESSAGE, OPTIONS' if $code == 405 || $method eq 'OPTIONS';
        my $resp = $pkt->create_response($code, $reason, \%extra);
        my $to = $resp->get_header('to');
        $resp->set_header(to => "$to;tag=$to_tag") if $to !~ /;\s*tag=/i;
        out('RECV', $method,
            'from=' . uri_of(scalar $pkt->get_header('from')),
            'to=' . uri_of(scalar $pkt->get_header('to')),
            "call-id=$callid", "cseq=$cseq",
            'ctype=' . nows(scalar $pkt->get_header('content-type')),
            'body=' . b64(($pkt->as_parts)[3]), "src=$src", "ruri=" . $pkt->uri,
            "code=$code");
        out('RAW', b64($pkt->as_string)) if $o{dump};
        $answered{$key} = $resp;
        $disp->deliver($resp, leg => $rleg, dst_addr => $from, do_retransmits => 0);
        if ($method eq 'MESSAGE') {
            $received++;
            $done_at = time() + $o{linger}
                if defined $o{count} && $received >= $o{count};
        }
    });

    while (!$stop) {
        my $now = time();
        if (defined $done_at && $now >= $done_at) { out('EXIT reason=count'); last }
        if ($now >= $deadline) { out('EXIT reason=timeout'); last }
        my $wait = $deadline - $now;
        $wait = $done_at - $now if defined $done_at && $done_at - $now < $wait;
        $wait = 0.2 if $wait > 0.2;
        $loop->loop($wait > 0.001 ? $wait : 0.001, \$stop);
    }
}

# ---------------------------------------------------------------- send
sub run_send {
    my $target = $o{target} // usage();
    $target = "sip:$target" if $target !~ /^sips?:/i;
    my $method = uc $o{method};
    my $count = $o{count} // 1;
    my $to = $o{to} // $target;
    my ($dhost, $dport);
    if ($o{proxy}) {
        ($dhost, $dport) = $o{proxy} =~ /^([^:]+):(\d+)$/
            or die "$PROG: --proxy wants IP:PORT\n";
    } else {
        ($dhost, $dport) = $target =~ /^sips?:(?:[^@]*@)?([^:;>?]+)(?::(\d+))?/i
            or die "$PROG: cannot parse target $target\n";
    }
    $dport ||= 5060;
    die "$PROG: destination must be an IPv4 address, not $dhost\n"
        if $dhost !~ /^\d+\.\d+\.\d+\.\d+$/;
    my $dst = "$o{transport}:$dhost:$dport";
    my $dst_addr = { proto => $o{transport}, host => $dhost, addr => $dhost,
        port => $dport, family => Socket::AF_INET() };
    my $body = $o{body};
    if (defined $o{'body-size'}) {
        my $pat = 'abcdefghijklmnopqrstuvwxyz0123456789';
        $body = substr($pat x (1 + int($o{'body-size'} / length $pat)), 0, $o{'body-size'});
    }
    $body //= 'hello' if $method eq 'MESSAGE';
    my $from_tag = $rnd->(10);
    my $shared_callid = $rnd->(16) . '@127.0.0.1';
    my $cseq = 0;
    my %pending;
    my ($sent, $final, $failed) = (0, 0, 0);
    my $next_send = time();

    $disp->set_receiver(sub {
        my ($pkt) = @_;
        if ($pkt->is_request) {
            # this side only sends; answer anything else politely
            return if $pkt->method eq 'ACK';
            my $r = $pkt->create_response(405, 'Method Not Allowed');
            $disp->deliver($r, leg => $_[1], dst_addr => $_[2], do_retransmits => 0);
            return;
        }
        my $tid = $pkt->tid;
        my $p = $pending{$tid} or return;
        my $code = $pkt->code;
        my ($n) = $pkt->cseq =~ /^(\d+)/;
        if ($code < 200) {
            out('PROV', $code, $pkt->msg, "cseq=$n", $method, "call-id=" . $pkt->callid, "n=$p->{n}");
            return;
        }
        delete $pending{$tid};
        $disp->cancel_delivery($tid);
        $final++;
        out('RESP', $code, $pkt->msg, "cseq=$n", $method,
            'call-id=' . $pkt->callid, "n=$p->{n}",
            sprintf('ms=%d', 1000 * (time() - $p->{t})));
        out('RAW', b64($pkt->as_string)) if $o{dump};
        $next_send = time() + $o{interval} / 1000;
    });

    my $send_one = sub {
        my $n = ++$sent;
        $cseq++;
        my $callid = $o{'same-call-id'} ? $shared_callid : $rnd->(16) . '@127.0.0.1';
        my %h = (
            from => "<$o{from}>;tag=$from_tag",
            to => "<$to>",
            'call-id' => $callid,
            cseq => "$cseq $method",
            'max-forwards' => 70,
            'user-agent' => 'netsip-peer',
        );
        $h{'content-type'} = $o{ctype} if defined $body && length $body;
        $h{contact} = "<sip:netsip\@127.0.0.1:$lport;transport=$o{transport}>"
            if $method eq 'OPTIONS';
        my $req = Net::SIP::Request->new($method, $target, \%h, $body // '');
        for my $line (@{ $o{header} }) {
            my ($k, $v) = $line =~ /^\s*([^:\s]+)\s*:\s*(.*)$/ or die "$PROG: bad --header $line\n";
            $req->add_header(lc $k => $v);
        }
        my $tid = $req->tid;
        $pending{$tid} = { n => $n, t => time(), cseq => $cseq, callid => $callid };
        out('SENT', $method, "cseq=$cseq", "call-id=$callid", "n=$n", "dst=$dst");
        $disp->deliver($req, leg => $leg, dst_addr => {%$dst_addr}, id => $tid,
            callback => sub {
                my ($err) = @_;
                return if !$err;          # definite delivery over TCP
                my $p = delete $pending{$tid} or return;
                $disp->cancel_delivery($tid);
                $failed++;
                out('TIMEOUT', "cseq=$p->{cseq}", $method, "call-id=$p->{callid}",
                    "n=$p->{n}", 'error=' . errname(0 + $err));
                $next_send = time();
            });
    };

    while (!$stop) {
        my $now = time();
        # transaction timer (Timer F / TCP equivalent)
        for my $tid (keys %pending) {
            my $p = $pending{$tid};
            next if $now - $p->{t} < $o{'txn-timeout'};
            delete $pending{$tid};
            $disp->cancel_delivery($tid);
            $failed++;
            out('TIMEOUT', "cseq=$p->{cseq}", $method, "call-id=$p->{callid}", "n=$p->{n}", 'error=timer');
            $next_send = $now;
        }
        if ($sent < $count && $now >= $next_send && ($o{parallel} || !%pending)) {
            $send_one->();
            $next_send = $o{parallel} ? time() + $o{interval} / 1000 : 9e9;
            next;
        }
        if ($sent >= $count && !%pending) {
            out('DONE', "sent=$sent", "final=$final", "timeout=$failed");
            $exit = $failed ? 1 : 0;
            return;
        }
        if ($now >= $deadline) {
            out('EXIT reason=timeout', "sent=$sent", "final=$final", "timeout=$failed");
            $exit = 3;
            return;
        }
        my $wait = 0.05;
        $loop->loop($wait, \$stop);
    }
}
