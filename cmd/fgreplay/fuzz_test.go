package main

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"github.com/miekg/dns"
)

// FuzzDecode: any packet of any link type decodes, or is refused with one
// of decode's errors, and its TCP data reassembles, without a panic.
func FuzzDecode(f *testing.F) {
	for _, lt := range []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkTypeNull, layers.LinkTypeRaw} {
		f.Add(uint16(lt), frame(f, lt, pkt{src: ap("192.0.2.1:1234"), dst: ap("198.51.100.1:53"), payload: query(f, 1, "example.org.", dns.TypeA, true)}))
		f.Add(uint16(lt), frame(f, lt, pkt{src: ap("[2001:db8::1]:1234"), dst: ap("[2001:db8::53]:53"), tcp: true, payload: []byte{0, 3, 1, 2, 3}}))
	}
	d := newDecoder()
	ss := newStreams(64)
	f.Fuzz(func(t *testing.T, lt uint16, data []byte) {
		var s segment
		err := d.decode(layers.LinkType(lt), data, &s)
		switch {
		case err == nil:
			if !s.src.Addr().IsValid() || !s.dst.Addr().IsValid() || s.size < len(s.payload) && !s.fragment {
				t.Fatalf("decoded %+v", s)
			}
			if s.tcp {
				ss.add(&s, func(m []byte) {
					if len(m) > 65535 {
						t.Fatalf("a %d-byte message", len(m))
					}
				})
			}
		case errors.Is(err, errLinkType), errors.Is(err, errNotIP), errors.Is(err, errTransport),
			errors.Is(err, errFragment), errors.Is(err, errMalformed):
		default:
			t.Fatalf("unexpected error %v", err)
		}
	})
}

// FuzzCapture: any file either is refused as a capture or reads to its end
// or to a clear error, without a panic.
func FuzzCapture(f *testing.F) {
	p := []pkt{{src: ap("192.0.2.1:1"), dst: ap("192.0.2.2:53"), payload: query(f, 1, "example.org.", dns.TypeA, false)}}
	for _, path := range []string{writePcap(f, layers.LinkTypeEthernet, p), writePcapng(f, p)} {
		b, err := readAll(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)-3])
	}
	f.Add([]byte("not a capture"))
	d := newDecoder()
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := openCapture(bytes.NewReader(b))
		if err != nil {
			return
		}
		for i := 0; i < 1000; i++ {
			data, _, lt, err := c.next()
			if err != nil {
				if !errors.Is(err, io.EOF) && err.Error() == "" {
					t.Fatal("an error with no message")
				}
				return
			}
			var s segment
			d.decode(lt, data, &s)
		}
	})
}
