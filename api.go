package floodguard

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The view and control API: an HTTP listener of its own, off unless a
// floodguard block says `api ADDRESS`. Server blocks naming the same
// address share one listener; each block is a view of its own state,
// named by its server block keys. Like CoreDNS's health plugin, a listener
// closes when a reload starts and opens again with the new instances (or,
// if the reload fails, with the old ones).

// apiListener is one API address and the floodguard blocks it shows.
type apiListener struct {
	addr     string
	ln       net.Listener
	srv      *http.Server
	loopback bool // listening on loopback only: requests must name it by address
	// views are the blocks shown, in the order they started, one per
	// name; the listener closes when the last goes. Guarded by apiMu.
	views []*Floodguard
}

var (
	apiMu        sync.Mutex
	apiListeners = map[string]*apiListener{}
	// apiReloading: a reload has begun (an old instance's OnRestart ran)
	// and has neither succeeded (an old instance's OnShutdown) nor failed
	// (OnRestartFailed). Blocks shown meanwhile are tentative: caddy runs a
	// new instance's OnStartup before it listens, and if listening then
	// fails it drops the instance without a word, so a failed reload takes
	// them off again.
	apiReloading bool
	apiTentative []*Floodguard
)

// apiStart opens f's API listener, or joins the one open on its address,
// and shows f there, in place of a block of the same name.
func (f *Floodguard) apiStart() error {
	apiMu.Lock()
	defer apiMu.Unlock()
	if f.apiOn || f.cfg.api == "" {
		return nil
	}
	al := apiListeners[f.cfg.api]
	if al == nil {
		ln, err := net.Listen("tcp", f.cfg.api)
		if err != nil {
			return err
		}
		al = &apiListener{addr: f.cfg.api, ln: ln, loopback: isLoopback(ln.Addr())}
		al.srv = &http.Server{
			Handler:           al,
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       10 * time.Second,
			WriteTimeout:      10 * time.Second,
			IdleTimeout:       60 * time.Second,
			MaxHeaderBytes:    16 << 10,
		}
		apiListeners[f.cfg.api] = al
		go al.srv.Serve(ln)
		log.Infof("view and control API on http://%s", ln.Addr())
	}
	al.views = slices.DeleteFunc(al.views, func(v *Floodguard) bool { return v.state.name == f.state.name })
	al.views = append(al.views, f)
	f.apiOn = true
	if apiReloading {
		apiTentative = append(apiTentative, f)
	}
	return nil
}

// apiStop takes f off its API listener, closing it when f was the last.
func (f *Floodguard) apiStop() error {
	apiMu.Lock()
	al := f.unshow()
	apiMu.Unlock()
	return al.close()
}

// unshow takes f off its listener and returns the listener if f was the
// last block it showed (it is then closed by the caller, without apiMu).
// The caller holds apiMu.
func (f *Floodguard) unshow() *apiListener {
	if !f.apiOn {
		return nil
	}
	f.apiOn = false
	al := apiListeners[f.cfg.api]
	if al == nil {
		return nil
	}
	al.views = slices.DeleteFunc(al.views, func(v *Floodguard) bool { return v == f })
	if len(al.views) > 0 {
		return nil
	}
	delete(apiListeners, f.cfg.api)
	return al
}

func (al *apiListener) close() error {
	if al == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := al.srv.Shutdown(ctx)
	// Shutdown closes only the listeners Serve has taken up, and Serve runs
	// in a goroutine that may not have begun: close this one for sure, so
	// the address is free at once for the instances that follow.
	al.ln.Close()
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// apiReloadStarts is every old instance's OnRestart: it takes the old block
// off its listener, and marks the blocks shown from now on tentative.
func (f *Floodguard) apiReloadStarts() error {
	apiMu.Lock()
	apiReloading = true
	al := f.unshow()
	apiMu.Unlock()
	return al.close()
}

// apiReloadSucceeded is every old instance's OnShutdown, which caddy runs
// once the new instances listen: the tentative blocks are for good.
func apiReloadSucceeded() {
	apiMu.Lock()
	apiReloading, apiTentative = false, nil
	apiMu.Unlock()
}

// apiReloadFailed is every old instance's OnRestartFailed: the blocks the
// failed reload showed go (their instances never serve), and the old block
// is shown again.
func (f *Floodguard) apiReloadFailed() error {
	apiMu.Lock()
	var closing []*apiListener
	if apiReloading {
		for _, g := range apiTentative {
			if al := g.unshow(); al != nil {
				closing = append(closing, al)
			}
		}
		apiReloading, apiTentative = false, nil
	}
	apiMu.Unlock()
	for _, al := range closing {
		al.close()
	}
	return f.apiStart()
}

// isLoopback reports whether a listener's address is a loopback one.
func isLoopback(a net.Addr) bool {
	t, ok := a.(*net.TCPAddr)
	return ok && t.IP.IsLoopback()
}

// shown returns the blocks the listener shows, those named server if it
// is not empty.
func (al *apiListener) shown(server string) []*Floodguard {
	apiMu.Lock()
	defer apiMu.Unlock()
	var out []*Floodguard
	for _, v := range al.views {
		if server == "" || v.state.name == server {
			out = append(out, v)
		}
	}
	return out
}

// maxAPIBody bounds a request body: a ban is a few dozen bytes.
const maxAPIBody = 4 << 10

// ServeHTTP routes a request to its endpoint, and counts it.
func (al *apiListener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
	endpoint := al.route(rec, r)
	apiRequests.WithLabelValues(al.addr, endpoint, strconv.Itoa(rec.code)).Inc()
}

// route serves r and returns the endpoint's name for the metrics (bounded:
// never the request's path).
func (al *apiListener) route(w *statusRecorder, r *http.Request) string {
	path := r.URL.Path
	// A web page can reach a loopback listener through a name it points at
	// 127.0.0.1 (DNS rebinding); curl and scripts name the address itself.
	if al.loopback && !literalHost(r.Host) {
		fail(w, r, http.StatusForbidden, "name the API by its address (http://"+al.addr+"), or localhost")
		return "other"
	}
	switch {
	case path == "/top":
		if !allowMethods(w, r, http.MethodGet, http.MethodHead) {
			return "top"
		}
		al.top(w, r)
		return "top"
	case path == "/limited":
		if !allowMethods(w, r, http.MethodGet, http.MethodHead) {
			return "limited"
		}
		al.limited(w, r)
		return "limited"
	case path == "/bans":
		if !allowMethods(w, r, http.MethodGet, http.MethodHead, http.MethodPost) {
			return "bans"
		}
		if r.Method == http.MethodPost {
			al.ban(w, r)
		} else {
			al.bans(w, r)
		}
		return "bans"
	case strings.HasPrefix(path, "/bans/"):
		if !allowMethods(w, r, http.MethodDelete) {
			return "bans"
		}
		al.unban(w, r, strings.TrimPrefix(path, "/bans/"))
		return "bans"
	}
	fail(w, r, http.StatusNotFound, "no such endpoint: the API has /top, /limited and /bans")
	return "other"
}

// allowMethods answers 405 to a method the endpoint does not take.
func allowMethods(w *statusRecorder, r *http.Request, methods ...string) bool {
	if slices.Contains(methods, r.Method) {
		return true
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	fail(w, r, http.StatusMethodNotAllowed, r.Method+" is not allowed here; allowed: "+strings.Join(methods, ", "))
	return false
}

// statusRecorder remembers the status code written, for the metrics.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.code = code
	s.ResponseWriter.WriteHeader(code)
}

// literalHost reports whether a request's Host is an address or localhost.
func literalHost(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if host == "localhost" {
		return true
	}
	_, err = netip.ParseAddr(host)
	return err == nil
}
