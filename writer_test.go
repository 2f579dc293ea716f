package floodguard

import (
	"crypto/tls"
	"testing"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"
)

// richWriter is a writer with more than dns.ResponseWriter's methods, as
// DoQ's (its TLS state) and the prometheus plugin's recorder (which plugin
// wrote the response) are.
type richWriter struct {
	test.ResponseWriter
	state  tls.ConnectionState
	plugin string
}

func (w *richWriter) ConnectionState() *tls.ConnectionState { return &w.state }
func (w *richWriter) SetPlugin(name string)                 { w.plugin = name }
func (w *richWriter) GetPlugin() string                     { return w.plugin }

// TestWritersKeepOptionalMethods: floodguard's writers wrap the client's
// writer without hiding what else it can tell or do.
func TestWritersKeepOptionalMethods(t *testing.T) {
	tests := []struct {
		name string
		wrap func(dns.ResponseWriter) dns.ResponseWriter
	}{
		{"replyWriter", func(w dns.ResponseWriter) dns.ResponseWriter { return &replyWriter{ResponseWriter: w} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inner := &richWriter{state: tls.ConnectionState{ServerName: "dns.example.org"}}
			w := tt.wrap(inner)
			cs, ok := w.(dns.ConnectionStater)
			if !ok {
				t.Fatal("not a dns.ConnectionStater")
			}
			if got := cs.ConnectionState(); got == nil || got.ServerName != "dns.example.org" {
				t.Errorf("ConnectionState() = %v, want the inner writer's", got)
			}
			tr, ok := w.(plugin.PluginTracker)
			if !ok {
				t.Fatal("not a plugin.PluginTracker")
			}
			tr.SetPlugin("file")
			if inner.plugin != "file" || tr.GetPlugin() != "file" {
				t.Errorf("SetPlugin reached the inner writer as %q, GetPlugin says %q; want file", inner.plugin, tr.GetPlugin())
			}

			// A plain writer: no TLS state, no tracker, and no panic.
			plain := tt.wrap(&test.ResponseWriter{})
			if got := plain.(dns.ConnectionStater).ConnectionState(); got != nil {
				t.Errorf("ConnectionState() of a plain writer = %v, want nil", got)
			}
			plain.(plugin.PluginTracker).SetPlugin("file")
			if got := plain.(plugin.PluginTracker).GetPlugin(); got != "" {
				t.Errorf("GetPlugin() of a plain writer = %q, want empty", got)
			}
		})
	}
}
