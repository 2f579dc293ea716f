package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// clkTck is USER_HZ, the unit of utime/stime in /proc/PID/stat; it is 100
// on every mainstream Linux ABI and reading it needs cgo.
const clkTck = 100

// procCPU returns the CPU seconds (user+system) the process has used.
func procCPU(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(string(b))
}

// parseStatCPU reads utime and stime (fields 14 and 15). The command name
// (field 2) may contain spaces, so fields are counted after its last ')'.
func parseStatCPU(s string) (float64, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("bad /proc stat line")
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc stat line")
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bad utime/stime in /proc stat line")
	}
	return float64(u+st) / clkTck, nil
}

// procMem returns VmRSS and VmHWM (peak RSS) in kB.
func procMem(pid int) (rss, hwm int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	rss, hwm = parseStatusMem(string(b))
	return rss, hwm, nil
}

func parseStatusMem(s string) (rss, hwm int64) {
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			rss = v
		case "VmHWM:":
			hwm = v
		}
	}
	return rss, hwm
}

// udpDrops sums the "drops" column of every UDP socket whose local port is
// port (CoreDNS may hold several with SO_REUSEPORT), over IPv4 and IPv6.
func udpDrops(port uint16) (int64, bool) {
	var sum int64
	var found bool
	for _, f := range []string{"/proc/net/udp", "/proc/net/udp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		n, ok := parseUDPDrops(string(b), port)
		sum += n
		found = found || ok
	}
	return sum, found
}

// parseUDPDrops parses /proc/net/udp text: local_address is HEXIP:HEXPORT
// in field 2 and drops is the last field.
func parseUDPDrops(text string, port uint16) (drops int64, found bool) {
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) < 13 || f[0] == "sl" {
			continue
		}
		i := strings.LastIndexByte(f[1], ':')
		p, err := strconv.ParseUint(f[1][i+1:], 16, 16)
		if i < 0 || err != nil || uint16(p) != port {
			continue
		}
		if d, err := strconv.ParseInt(f[len(f)-1], 10, 64); err == nil {
			drops += d
			found = true
		}
	}
	return drops, found
}
