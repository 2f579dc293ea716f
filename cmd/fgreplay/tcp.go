package main

import (
	"encoding/binary"
	"net/netip"
)

// DNS over TCP frames each message with a two-byte length (RFC 1035
// 4.2.2), and a segment may carry part of a message or several. streams
// puts each direction of a connection back in order, as far as a replay
// needs: in-order data is framed into messages, a retransmission is
// skipped. DNS has no marker to find a message boundary again, so after a
// gap (a segment the capture lost) a direction is out of step: its data is
// ignored until the connection opens again, and the loss is counted.
//
// Memory is bounded: at most limit directions, and maxStreamBytes of
// partial messages over all of them.
type streams struct {
	flows    map[flowKey]*stream
	limit    int
	order    []flowKey // in the order opened, for eviction
	buffered int       // bytes of partial messages held, over all flows
	lost     int       // messages that could not be put back together
}

type flowKey struct{ src, dst netip.AddrPort }

type stream struct {
	next    uint32 // sequence number of the next byte expected
	started bool
	desync  bool // a gap: data ignored until the next SYN
	seen    bool // data since the last eviction pass (second chance)
	buf     []byte
}

const (
	// maxMessage is the most a partial message can hold: its length and
	// the largest message.
	maxMessage = 2 + 65535
	// maxStreamBytes bounds the partial messages held over all flows.
	maxStreamBytes = 64 << 20
)

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
			ss.close(k, st)
		}
		return
	}
	if st == nil {
		if len(s.payload) == 0 && !s.syn {
			return
		}
		st = ss.open(k)
	}
	st.seen = true
	seq := s.seq
	if s.syn { // a connection (again): in step from here
		ss.drop(st)
		st.started, st.desync, st.next = true, false, seq+1
		seq++
	}
	if data := s.payload; len(data) > 0 && !st.desync {
		if !st.started {
			// The capture began mid-connection: take this segment as the
			// start, and hope it starts a message.
			st.started, st.next = true, seq
		}
		// Signed distance from the byte expected, in 64 bits so that no
		// sequence number overflows it.
		d := int64(int32(seq - st.next))
		switch {
		case d > 0: // a gap: the capture lost a segment
			ss.lost++
			ss.drop(st)
			st.desync = true
		case -d >= int64(len(data)): // all of it seen already
		default:
			data = data[-d:]
			st.next += uint32(len(data))
			ss.buffered -= len(st.buf)
			st.buf = frames(append(st.buf, data...), emit)
			switch {
			case len(st.buf) > maxMessage, ss.buffered+len(st.buf) > maxStreamBytes:
				ss.lost++
				ss.drop(st)
				st.desync = true
			case len(st.buf) == 0 && cap(st.buf) > 4096:
				st.buf = nil // a burst's buffer is not kept
			default:
				ss.buffered += len(st.buf)
			}
		}
	}
	if s.fin {
		ss.close(k, st)
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

// drop forgets st's partial message.
func (ss *streams) drop(st *stream) {
	ss.buffered -= len(st.buf)
	st.buf = st.buf[:0]
}

// close forgets a direction; a partial message in it is lost.
func (ss *streams) close(k flowKey, st *stream) {
	if len(st.buf) > 0 {
		ss.lost++
	}
	ss.drop(st)
	delete(ss.flows, k)
}

// open starts following a direction. At the limit, the flow opened longest
// ago that sent nothing since the last pass is forgotten (a second
// chance, as the CLOCK page replacement gives): an active connection
// survives a flood of new ones.
func (ss *streams) open(k flowKey) *stream {
	for len(ss.flows) >= ss.limit && len(ss.order) > 0 {
		old := ss.order[0]
		ss.order = ss.order[1:]
		st, ok := ss.flows[old]
		if !ok {
			continue // closed already
		}
		if st.seen {
			st.seen = false
			ss.order = append(ss.order, old)
			continue
		}
		ss.close(old, st)
	}
	st := &stream{}
	ss.flows[k] = st
	ss.order = append(ss.order, k)
	if len(ss.order) > 4*ss.limit { // drop the keys of flows closed since
		live := ss.order[:0]
		for _, o := range ss.order {
			if _, ok := ss.flows[o]; ok {
				live = append(live, o)
			}
		}
		ss.order = append([]flowKey(nil), live...)
	}
	return st
}
