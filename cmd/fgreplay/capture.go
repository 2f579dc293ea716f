package main

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// capture reads the packets of a pcap or pcapng file in order.
type capture interface {
	// next returns the next packet, its time and its link type. The bytes
	// are valid until the next call. io.EOF ends the capture.
	next() ([]byte, time.Time, layers.LinkType, error)
}

// pcapngMagic is the block type of a pcapng Section Header Block.
const pcapngMagic = 0x0A0D0D0A

// openCapture recognises the file's format by its first four bytes; a
// gzip-compressed capture (attack.pcap.gz) is read through gzip.
func openCapture(r io.Reader) (capture, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	head, err := br.Peek(4)
	if err != nil {
		return nil, errors.New("not a capture: shorter than a pcap header")
	}
	if head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %v", err)
		}
		br = bufio.NewReaderSize(zr, 1<<20)
		if head, err = br.Peek(4); err != nil {
			return nil, errors.New("not a capture: a gzip file shorter than a pcap header")
		}
	}
	switch binary.LittleEndian.Uint32(head) {
	case pcapngMagic:
		ng, err := pcapgo.NewNgReader(br, pcapgo.NgReaderOptions{WantMixedLinkType: true, SkipUnknownVersion: true})
		if err != nil {
			return nil, fmt.Errorf("pcapng: %v", err)
		}
		return &ngCapture{r: ng}, nil
	case 0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1:
		p, err := pcapgo.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("pcap: %v", err)
		}
		return &pcapCapture{r: p}, nil
	}
	return nil, errors.New("not a capture: neither pcap nor pcapng (write one with tcpdump -w)")
}

type pcapCapture struct{ r *pcapgo.Reader }

func (c *pcapCapture) next() ([]byte, time.Time, layers.LinkType, error) {
	data, ci, err := c.r.ZeroCopyReadPacketData()
	return data, ci.Timestamp, c.r.LinkType(), endedInside(err)
}

type ngCapture struct{ r *pcapgo.NgReader }

func (c *ngCapture) next() ([]byte, time.Time, layers.LinkType, error) {
	data, ci, err := c.r.ZeroCopyReadPacketData()
	if err != nil {
		return nil, time.Time{}, 0, endedInside(err)
	}
	lt := c.r.LinkType()
	if len(ci.AncillaryData) > 0 {
		if t, ok := ci.AncillaryData[0].(layers.LinkType); ok {
			lt = t
		}
	}
	return data, ci.Timestamp, lt, nil
}

// endedInside names a capture that ends inside a packet, as tcpdump leaves
// one it was killed while writing.
func endedInside(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("the capture ends inside a packet (truncated file)")
	}
	return err
}
