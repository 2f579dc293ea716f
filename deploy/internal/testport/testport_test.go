package testport

import (
	"net"
	"testing"
)

func TestFree(t *testing.T) {
	port := Free(t)
	l, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		t.Fatalf("TCP %s: %v", port, err)
	}
	l.Close()
	u, err := net.ListenPacket("udp", "127.0.0.1:"+port)
	if err != nil {
		t.Fatalf("UDP %s: %v", port, err)
	}
	u.Close()
}
