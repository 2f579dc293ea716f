package main

import (
	"context"
	"sync"
	"time"
)

type result struct {
	cfg    *config
	totals totals
	series []second
}

// run plays one attack: senders stop at -duration (or -max-queries),
// receivers wait cfg.drain longer for late replies, then everything closes.
func run(ctx context.Context, cfg *config) (*result, error) {
	st := &stats{}
	a, err := newAttack(cfg, st)
	if err != nil {
		return nil, err
	}
	defer a.close()

	var drops0 int64
	var dropsOK bool
	if cfg.pid > 0 {
		drops0, dropsOK = udpDrops(cfg.server.Port())
	}
	start := time.Now()
	stopAt := start.Add(cfg.duration)
	sendCtx, cancel := context.WithDeadline(ctx, stopAt)
	defer cancel()

	var wg sync.WaitGroup
	wg.Go(func() { a.send(sendCtx) })
	wg.Go(func() { a.receive(ctx, stopAt.Add(cfg.drain)) })
	if cfg.legit.IsValid() {
		wg.Go(func() { runLegit(ctx, cfg, st, stopAt) })
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	sample := newSampler(cfg.pid)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for running := true; running; {
		select {
		case <-t.C:
		case <-done:
			running = false
		}
		st.snapshot(sample())
	}

	res := &result{cfg: cfg, totals: st.totals(), series: st.series}
	res.totals.DurationS = time.Since(start).Seconds()
	res.totals.Sources = cfg.sources
	res.totals.SourceMode = "socket-per-source"
	if cfg.pktinfo {
		res.totals.SourceMode = "pktinfo"
	}
	if cfg.pid > 0 {
		_, res.totals.ServerVmHWMKB, _ = procMem(cfg.pid)
		if d, ok := udpDrops(cfg.server.Port()); ok && dropsOK {
			d -= drops0
			res.totals.ServerUDPDrops = &d
		}
	}
	return res, nil
}

// newSampler returns a function giving the server's CPU seconds since the
// previous call and its current RSS; zeros without a PID.
func newSampler(pid int) func() (float64, int64) {
	if pid <= 0 {
		return func() (float64, int64) { return 0, 0 }
	}
	prev, _ := procCPU(pid)
	return func() (float64, int64) {
		cpu, err := procCPU(pid)
		if err != nil {
			return 0, 0 // server gone: report nothing rather than fail
		}
		rss, _, _ := procMem(pid)
		d := cpu - prev
		prev = cpu
		return d, rss
	}
}
