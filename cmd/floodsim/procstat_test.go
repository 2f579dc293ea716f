package main

import (
	"os"
	"testing"
)

const sampleUDP = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  123: 0100007F:041D 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 41234 2 0000000000000000 17
  124: 0100007F:041D 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 41235 2 0000000000000000 5
  125: 00000000:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 41236 2 0000000000000000 99
  126: 0100007F:1D41 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 41237 2 0000000000000000 1
`

func TestParseUDPDrops(t *testing.T) {
	tests := []struct {
		port  uint16
		drops int64
		found bool
	}{
		{1053, 22, true}, // two SO_REUSEPORT sockets on 0x041D
		{53, 99, true},
		{7489, 1, true}, // 0x1D41: the port, not the address, must match
		{5353, 0, false},
	}
	for _, tt := range tests {
		d, ok := parseUDPDrops(sampleUDP, tt.port)
		if d != tt.drops || ok != tt.found {
			t.Errorf("port %d: drops %d found %v, want %d %v", tt.port, d, ok, tt.drops, tt.found)
		}
	}
}

func TestParseProc(t *testing.T) {
	stat := "4242 (core dns) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 12 0 100 123456 789 18446744073709551615"
	if cpu, err := parseStatCPU(stat); err != nil || cpu != 3 {
		t.Errorf("cpu = %v, %v; want 3s (300 ticks)", cpu, err)
	}
	if _, err := parseStatCPU("garbage"); err == nil {
		t.Error("garbage stat: want error")
	}
	rss, hwm := parseStatusMem("Name:\tcoredns\nVmHWM:\t   51200 kB\nVmRSS:\t   40960 kB\n")
	if rss != 40960 || hwm != 51200 {
		t.Errorf("rss %d hwm %d", rss, hwm)
	}
	// Our own process must be readable, as the -pid sampling does.
	if _, err := procCPU(os.Getpid()); err != nil {
		t.Error(err)
	}
}
