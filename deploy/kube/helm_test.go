package kube

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// helmValues are the keys of the coredns chart's values that
// deploy/helm/values-floodguard.yaml sets; decoding strictly into them
// catches a misspelt key, which the chart would silently ignore.
type helmValues struct {
	Image struct {
		Repository string `json:"repository"`
		Tag        string `json:"tag"`
		PullPolicy string `json:"pullPolicy"`
	} `json:"image"`
	ReplicaCount int `json:"replicaCount"`
	Servers      []struct {
		Zones []struct {
			Zone string `json:"zone"`
		} `json:"zones"`
		Port    int `json:"port"`
		Plugins []struct {
			Name        string `json:"name"`
			Parameters  string `json:"parameters"`
			ConfigBlock string `json:"configBlock"`
		} `json:"plugins"`
	} `json:"servers"`
	ExtraSecrets []struct {
		Name      string `json:"name"`
		MountPath string `json:"mountPath"`
	} `json:"extraSecrets"`
	Prometheus struct {
		Service struct {
			Enabled bool `json:"enabled"`
		} `json:"service"`
		Monitor struct {
			Enabled bool `json:"enabled"`
		} `json:"monitor"`
	} `json:"prometheus"`
}

// The Helm values decode strictly, name floodguard's image, and make a
// Corefile (as the chart's ConfigMap template writes it) that starts a real
// CoreDNS with floodguard, with the cookie Secret mounted.
func TestHelmValues(t *testing.T) {
	b, err := os.ReadFile("../helm/values-floodguard.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var v helmValues
	if err := yaml.UnmarshalStrict(b, &v); err != nil {
		t.Fatalf("values-floodguard.yaml: %v", err)
	}
	if v.Image.Repository != "floodguard/coredns" || len(v.Servers) != 1 {
		t.Fatalf("values: image %q, %d servers", v.Image.Repository, len(v.Servers))
	}
	// The chart's template: one block per server, "ZONE:PORT {", then each
	// plugin as "name parameters", with its configBlock in braces.
	var c strings.Builder
	srv := v.Servers[0]
	var zones []string
	for _, z := range srv.Zones {
		zones = append(zones, fmt.Sprintf("%s:%d", z.Zone, srv.Port))
	}
	fmt.Fprintf(&c, "%s {\n", strings.Join(zones, " "))
	for _, p := range srv.Plugins {
		line := strings.TrimSpace(p.Name + " " + p.Parameters)
		if p.ConfigBlock != "" {
			fmt.Fprintf(&c, "    %s {\n        %s\n    }\n", line, strings.ReplaceAll(p.ConfigBlock, "\n", "\n        "))
		} else {
			fmt.Fprintf(&c, "    %s\n", line)
		}
	}
	c.WriteString("}\n")
	secret := make([]byte, 16)
	rand.Read(secret)
	mounts := map[string]map[string][]byte{}
	for _, s := range v.ExtraSecrets {
		mounts[s.MountPath] = map[string][]byte{"secret": []byte(hex.EncodeToString(secret))}
	}
	if len(mounts) != 1 {
		t.Fatalf("want the cookie Secret in extraSecrets, got %v", v.ExtraSecrets)
	}
	startText(t, c.String(), mounts, "kubernetes.default.svc.cluster.local.")
}
