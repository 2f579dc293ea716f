package floodguard

import (
	"encoding/json"
	"net/http"
	"strings"
	"text/tabwriter"
)

// writeJSONOrText writes v as JSON, or, when the client asks for text/plain (curl
// -H 'Accept: text/plain'), rows as an aligned table; a reply without rows
// is JSON either way.
func writeJSONOrText(w http.ResponseWriter, r *http.Request, code int, v any, rows [][]string) {
	if rows != nil && wantsText(r) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(code)
		if r.Method == http.MethodHead {
			return
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, row := range rows {
			tw.Write([]byte(strings.Join(row, "\t") + "\n"))
		}
		tw.Flush()
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	if r.Method == http.MethodHead {
		return
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// fail answers r with an error message.
func fail(w http.ResponseWriter, r *http.Request, code int, msg string) {
	if wantsText(r) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(code)
		w.Write([]byte("error: " + msg + "\n"))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(struct {
		Error string `json:"error"`
	}{msg})
}

// wantsText reports whether r asks for plain text rather than JSON.
func wantsText(r *http.Request) bool {
	for _, a := range strings.Split(r.Header.Get("Accept"), ",") {
		if mt, _, _ := strings.Cut(strings.TrimSpace(a), ";"); mt == "text/plain" {
			return true
		}
	}
	return false
}
