package floodguard

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

// minTokenLen keeps a token from being guessable by trying.
const minTokenLen = 16

// readToken reads the API's bearer token: the file's first line, trimmed.
func readToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	tok, _, _ := strings.Cut(string(b), "\n")
	tok = strings.TrimSpace(tok)
	if len(tok) < minTokenLen {
		return "", fmt.Errorf("%s: the token must be at least %d characters", path, minTokenLen)
	}
	return tok, nil
}

// authorized checks that r may change what every block in views keeps: each
// must have an api-token-file, and r must carry its token. The token file
// is read at every write, so a rotated token takes effect at once. It
// answers r itself when it is not.
func authorized(w *statusRecorder, r *http.Request, views []*Floodguard) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	for _, v := range views {
		if v.cfg.apiTokenFile == "" {
			fail(w, r, http.StatusForbidden, "read-only: "+v.state.name+" has no api-token-file")
			return false
		}
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="floodguard"`)
			fail(w, r, http.StatusUnauthorized, "a write needs Authorization: Bearer TOKEN")
			return false
		}
		want, err := readToken(v.cfg.apiTokenFile)
		if err != nil {
			if logDue() {
				log.Errorf("api-token-file: %v", err)
			}
			fail(w, r, http.StatusServiceUnavailable, "the token file cannot be read; see the server's log")
			return false
		}
		if !sameToken(got, want) {
			logRefused(r)
			w.Header().Set("WWW-Authenticate", `Bearer realm="floodguard", error="invalid_token"`)
			fail(w, r, http.StatusUnauthorized, "wrong token")
			return false
		}
	}
	return true
}

// sameToken compares in constant time: digests first, so not even the
// length leaks.
func sameToken(got, want string) bool {
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// lastAuthLog is when a refused write was last logged (unix ns).
var lastAuthLog atomic.Int64

// logDue reports whether a refused write may be logged: at most one a
// second, so that guessing tokens cannot flood the log.
func logDue() bool {
	now := time.Now().UnixNano()
	last := lastAuthLog.Load()
	return now-last >= int64(time.Second) && lastAuthLog.CompareAndSwap(last, now)
}

// logRefused logs a wrong token, at most once a second.
func logRefused(r *http.Request) {
	if logDue() {
		log.Warningf("view and control API: wrong token from %s for %s %q", r.RemoteAddr, r.Method, r.URL.Path)
	}
}
