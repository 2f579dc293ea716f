package floodguard

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// provenCorefile serves example.org over DoQ on {port}, DoH3 on %[3]s and
// plain DNS on %[4]s, each block with the same tiny limit; %[1]s and %[2]s
// are the certificate and key files.
const provenCorefile = `quic://example.org:{port} {
    bind 127.0.0.1
    tls %[1]s %[2]s
    floodguard {
        responses-per-second 2
        slip 2
    }
    prometheus {metrics}
    file testdata/example.org.zone
}
https3://example.org:%[3]s {
    bind 127.0.0.1
    tls %[1]s %[2]s
    floodguard {
        responses-per-second 2
        slip 2
    }
    prometheus {metrics}
    file testdata/example.org.zone
}
example.org:%[4]s {
    bind 127.0.0.1
    floodguard {
        responses-per-second 2
        slip 2
    }
    prometheus {metrics}
    file testdata/example.org.zone
}
`

// provenTimeout bounds every dial, stream and request: loopback answers in
// milliseconds, so only a reply floodguard dropped ever waits this long.
const provenTimeout = 2 * time.Second

// TestE2EProvenTransports floods DoQ and DoH3 listeners as hard as a plain
// UDP one. QUIC completes a handshake with the client's address, as TCP
// does, so nothing can be reflected through it: every query must be
// answered in full and counted as a proven response, while the same flood
// over plain UDP is limited.
func TestE2EProvenTransports(t *testing.T) {
	useFrozenClock(t)
	certFile, keyFile, roots := writeTestCert(t)
	doh3Port, udpPort := freePort(t), freePort(t)
	srv := startServer(t, fmt.Sprintf(provenCorefile, certFile, keyFile, doh3Port, udpPort))
	// All three blocks share one metrics endpoint; scrape tells them apart
	// by the port in the server label.
	on := func(port string) *server { s := *srv; s.port = port; return &s }
	tlsConf := &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"}

	const n = 10
	tests := []struct {
		name  string
		srv   *server
		from  string // each case its own /24, so no bucket is shared
		flood func(t *testing.T, from, to string) []*dns.Msg
		want  tally
		// The server's floodguard series: UDP replies count under
		// responses_total, proven ones under tcp_responses_total alone.
		metrics map[string]float64
	}{
		{
			"DoQ", srv, "127.0.41.1",
			func(t *testing.T, from, to string) []*dns.Msg { return doqFlood(t, from, to, tlsConf, n) },
			tally{n, 0, 0},
			map[string]float64{
				`coredns_floodguard_tcp_responses_total`:             n,
				`coredns_floodguard_responses_total{action="sent"}`:  0,
				`coredns_floodguard_limited_total{class="response"}`: 0,
			},
		},
		{
			"DoH3", on(doh3Port), "127.0.42.1",
			func(t *testing.T, from, to string) []*dns.Msg { return doh3Flood(t, from, to, tlsConf, n) },
			tally{n, 0, 0},
			map[string]float64{
				`coredns_floodguard_tcp_responses_total`:             n,
				`coredns_floodguard_responses_total{action="sent"}`:  0,
				`coredns_floodguard_limited_total{class="response"}`: 0,
			},
		},
		{
			"plain UDP", on(udpPort), "127.0.43.1",
			func(t *testing.T, from, to string) []*dns.Msg {
				return udpBurst(t, from, to, burst(n, same("www.example.org"), dns.TypeA), 400*time.Millisecond)
			},
			tally{2, 4, 4}, // slip 2: after the allowance, TC and silence alternate
			map[string]float64{
				`coredns_floodguard_tcp_responses_total`:               0,
				`coredns_floodguard_responses_total{action="sent"}`:    2,
				`coredns_floodguard_responses_total{action="slipped"}`: 4,
				`coredns_floodguard_responses_total{action="dropped"}`: 4,
				`coredns_floodguard_limited_total{class="response"}`:   8,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			replies := tt.flood(t, tt.from, "127.0.0.1:"+tt.srv.port)
			if got := count(replies); got != tt.want {
				t.Errorf("answered/truncated/silent = %v, want %v", got, tt.want)
			}
			for i, r := range replies {
				if r != nil && !r.Truncated && (r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0) {
					t.Errorf("reply %d is not a full answer: %v", i, r)
				}
			}
			got := tt.srv.scrape(t)
			for series, want := range tt.metrics {
				if got[series] != want {
					t.Errorf("%s = %v, want %v", series, got[series], want)
				}
			}
		})
	}
}

// doqFlood asks n identical queries at once over one DNS-over-QUIC
// connection from the loopback address from, each on its own stream as RFC
// 9250 has it. A nil entry is a query that got no reply.
func doqFlood(t *testing.T, from, to string, tlsConf *tls.Config, n int) []*dns.Msg {
	t.Helper()
	tr := quicTransport(t, from)
	ctx, cancel := context.WithTimeout(context.Background(), provenTimeout)
	defer cancel()
	conf := tlsConf.Clone()
	conf.NextProtos = []string{"doq"}
	conn, err := tr.Dial(ctx, mustUDPAddr(t, to), conf, &quic.Config{HandshakeIdleTimeout: provenTimeout})
	if err != nil {
		t.Fatalf("DoQ handshake from %s: %v", from, err)
	}
	defer conn.CloseWithError(0, "")

	wire, err := query("www.example.org", dns.TypeA, 0).Pack() // DoQ requires id 0
	if err != nil {
		t.Fatal(err)
	}
	wire = append(binary.BigEndian.AppendUint16(nil, uint16(len(wire))), wire...)
	return concurrently(t, n, func() (*dns.Msg, error) {
		st, err := conn.OpenStreamSync(ctx)
		if err != nil {
			return nil, err
		}
		defer st.CancelRead(0)
		st.SetDeadline(time.Now().Add(provenTimeout))
		if _, err := st.Write(wire); err != nil {
			return nil, err
		}
		st.Close() // FIN: the query is complete
		var size [2]byte
		if _, err := io.ReadFull(st, size[:]); err != nil {
			return nil, err
		}
		buf := make([]byte, binary.BigEndian.Uint16(size[:]))
		if _, err := io.ReadFull(st, buf); err != nil {
			return nil, err
		}
		r := new(dns.Msg)
		return r, r.Unpack(buf)
	})
}

// doh3Flood POSTs n identical queries at once to /dns-query over HTTP/3
// from the loopback address from. CoreDNS answers a query floodguard
// dropped with a 500, which counts as silence, as a timeout does.
func doh3Flood(t *testing.T, from, to string, tlsConf *tls.Config, n int) []*dns.Msg {
	t.Helper()
	tr := quicTransport(t, from)
	h3 := &http3.Transport{
		TLSClientConfig: tlsConf,
		QUICConfig:      &quic.Config{HandshakeIdleTimeout: provenTimeout},
		Dial: func(ctx context.Context, addr string, tlsCfg *tls.Config, cfg *quic.Config) (*quic.Conn, error) {
			ua, err := net.ResolveUDPAddr("udp", addr)
			if err != nil {
				return nil, err
			}
			return tr.DialEarly(ctx, ua, tlsCfg, cfg)
		},
	}
	defer h3.Close()
	client := &http.Client{Transport: h3, Timeout: provenTimeout}

	wire, err := query("www.example.org", dns.TypeA, 0).Pack() // RFC 8484 asks for id 0
	if err != nil {
		t.Fatal(err)
	}
	return concurrently(t, n, func() (*dns.Msg, error) {
		req, err := http.NewRequest(http.MethodPost, "https://"+to+"/dns-query", bytes.NewReader(wire))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/dns-message")
		req.Header.Set("Accept", "application/dns-message")
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return nil, err
		}
		switch resp.StatusCode {
		case http.StatusOK:
		case http.StatusInternalServerError: // "No response": nothing was written
			return nil, nil
		default:
			return nil, fmt.Errorf("HTTP %s: %q", resp.Status, body)
		}
		r := new(dns.Msg)
		return r, r.Unpack(body)
	})
}

// quicTransport is a QUIC endpoint on a UDP socket bound to the loopback
// address from, closed when the test ends.
func quicTransport(t *testing.T, from string) *quic.Transport {
	t.Helper()
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(from)})
	if err != nil {
		t.Fatalf("binding %s: %v", from, err)
	}
	tr := &quic.Transport{Conn: pc}
	t.Cleanup(func() { tr.Close(); pc.Close() })
	return tr
}

// concurrently runs ask n times at once and returns the replies. A timeout
// is silence (a nil reply); any other error fails the test.
func concurrently(t *testing.T, n int, ask func() (*dns.Msg, error)) []*dns.Msg {
	t.Helper()
	replies := make([]*dns.Msg, n)
	var wg sync.WaitGroup
	for i := range replies {
		wg.Go(func() {
			r, err := ask()
			var nerr net.Error
			switch {
			case err == nil:
				replies[i] = r
			case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &nerr) && nerr.Timeout():
			default:
				t.Errorf("query %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	return replies
}

// writeTestCert writes a self-signed ECDSA certificate for 127.0.0.1 and
// its key as PEM files, and returns their paths and a pool trusting it.
func writeTestCert(t *testing.T) (certFile, keyFile string, roots *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	roots = x509.NewCertPool()
	roots.AddCert(cert)
	return certFile, keyFile, roots
}
