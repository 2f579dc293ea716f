package main

import (
	"encoding/binary"
	"net/netip"
)

// DNS over TCP frames each message with a two-byte length (RFC 1035
// 4.2.2), and a segment may carry part of a message or several. streams
// puts each direction of a connection back in order, as far as a replay
// needs: in-order data is appended, a retransmission is skipped, and a gap
// (a segment the capture lost) drops what was pending and starts over at
// the next segment, counting the loss.
type streams struct {
	flows map[flowKey]*stream
	limit int // flows kept at most; past it the oldest-seen is forgotten
	order []flowKey
	lost  int // messages that could not be put back together
}

type flowKey struct{ src, dst netip.AddrPort }

type stream struct {
	next    uint32 // sequence number of the next byte expected
	started bool
	buf     []byte
}

// maxStreamBuffer bounds a direction's pending bytes: a whole message and
// its length.
const maxStreamBuffer = 2 + 65535

func newStreams(limit int) *streams {
	return &streams{flows: map[flowKey]*stream{}, limit: limit}
}

// add takes a TCP segment and calls emit with each DNS message it
// completes, in order. The message is valid only during the call.
func (ss *streams) add(s *segment, emit func(msg []byte)) {
	k := flowKey{s.src, s.dst}
	st := ss.flows[k]
	if s.rst {
		if st != nil {
			ss.forget(k)
		}
		return
	}
	if st == nil {
		if len(s.payload) == 0 && !s.syn {
			return
		}
		st = ss.open(k)
	}
	seq := s.seq
	if s.syn {
		st.buf, st.started, st.next = st.buf[:0], true, seq+1
		seq++
	}
	data := s.payload
	switch {
	case len(data) == 0:
	case !st.started:
		// The capture began mid-connection: take this segment as the start.
		st.started, st.next = true, seq
		fallthrough
	default:
		d := int32(seq - st.next)
		if d > 0 { // a gap: the capture lost a segment
			if len(st.buf) > 0 {
				ss.lost++
			}
			st.buf, st.next = st.buf[:0], seq
			d = 0
		}
		if -d >= int32(len(data)) {
			break // all of it seen already
		}
		data = data[-d:]
		st.next += uint32(len(data))
		if len(st.buf)+len(data) > maxStreamBuffer {
			ss.lost++
			st.buf = st.buf[:0]
			break
		}
		st.buf = append(st.buf, data...)
		st.buf = frames(st.buf, emit)
	}
	if s.fin {
		if len(st.buf) > 0 {
			ss.lost++
		}
		ss.forget(k)
	}
}

// frames emits each whole message at the head of buf and returns what is
// left, moved to the front.
func frames(buf []byte, emit func([]byte)) []byte {
	off := 0
	for len(buf)-off >= 2 {
		n := int(binary.BigEndian.Uint16(buf[off:]))
		if len(buf)-off-2 < n {
			break
		}
		emit(buf[off+2 : off+2+n])
		off += 2 + n
	}
	return buf[:copy(buf, buf[off:])]
}

func (ss *streams) open(k flowKey) *stream {
	if len(ss.flows) >= ss.limit {
		// Forget the flows opened longest ago (some may be gone already).
		for len(ss.flows) >= ss.limit && len(ss.order) > 0 {
			old := ss.order[0]
			ss.order = ss.order[1:]
			if st, ok := ss.flows[old]; ok && len(st.buf) > 0 {
				ss.lost++
			}
			delete(ss.flows, old)
		}
	}
	st := &stream{}
	ss.flows[k] = st
	ss.order = append(ss.order, k)
	if len(ss.order) > 4*ss.limit { // drop the keys of flows already closed
		live := ss.order[:0]
		for _, o := range ss.order {
			if _, ok := ss.flows[o]; ok {
				live = append(live, o)
			}
		}
		ss.order = live
	}
	return st
}

func (ss *streams) forget(k flowKey) { delete(ss.flows, k) }
