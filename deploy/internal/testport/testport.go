// Package testport picks loopback ports for the deploy module's tests.
package testport

import (
	"net"
	"strconv"
	"testing"
)

// Free returns a port free on 127.0.0.1 for both TCP and UDP just now, as
// a DNS server needs both.
func Free(t testing.TB) string {
	t.Helper()
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(port))
		l.Close()
		if err != nil {
			continue // taken for UDP: try another
		}
		u.Close()
		return strconv.Itoa(port)
	}
	t.Fatal("no port free for TCP and UDP on 127.0.0.1")
	return ""
}
