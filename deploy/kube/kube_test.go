// Package kube tests the Kubernetes manifests of deploy/kubernetes: each
// overlay renders offline with kustomize's Go API, every object decodes
// strictly into its Kubernetes API type, and the Corefile of each rendered
// ConfigMap starts a real CoreDNS with floodguard, with the pod's mounts
// laid out in a temporary directory.
package kube

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/file"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/loop"
	_ "github.com/coredns/coredns/plugin/metadata"
	_ "github.com/coredns/coredns/plugin/metrics"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"
	"github.com/floodguard/floodguard"
	"github.com/miekg/dns"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/floodguard/floodguard/deploy/internal/testport"
)

func TestMain(m *testing.M) {
	d, err := floodguard.InsertDirective(dnsserver.Directives)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	dnsserver.Directives = d
	// The kubernetes plugin needs a cluster's API; the test stands in for
	// it with a plugin of the same name that takes its block and passes
	// every query on.
	plugin.Register("kubernetes", func(c *caddy.Controller) error {
		for c.Next() {
			for c.NextBlock() {
			}
		}
		dnsserver.GetConfig(c).AddPlugin(func(next plugin.Handler) plugin.Handler { return next })
		return nil
	})
	caddy.Quiet, dnsserver.Quiet = true, true
	os.Exit(m.Run())
}

// objects is an overlay rendered and decoded.
type objects struct {
	deployments []*appsv1.Deployment
	configMaps  map[string]*corev1.ConfigMap
	secrets     map[string]*corev1.Secret
	services    map[string]*corev1.Service
	kinds       []string
	namespaces  map[string]bool // of the namespaced objects
}

// render builds overlay (a directory of a copy of deploy/kubernetes, with a
// cookie secret made as the README says) and decodes every object strictly.
func render(t *testing.T, overlay string) objects {
	t.Helper()
	root := t.TempDir()
	if err := os.CopyFS(root, os.DirFS("../kubernetes")); err != nil {
		t.Fatal(err)
	}
	secret := make([]byte, 16)
	rand.Read(secret)
	if err := os.WriteFile(filepath.Join(root, "base/cookie-secret"), []byte(hex.EncodeToString(secret)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rm, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), filepath.Join(root, overlay))
	if err != nil {
		t.Fatalf("kustomize build %s: %v", overlay, err)
	}
	o := objects{configMaps: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{},
		services: map[string]*corev1.Service{}, namespaces: map[string]bool{}}
	for _, r := range rm.Resources() {
		b, err := r.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		kind := r.GetKind()
		o.kinds = append(o.kinds, kind)
		var into any
		switch kind {
		case "Deployment":
			d := new(appsv1.Deployment)
			o.deployments, into = append(o.deployments, d), d
		case "ConfigMap":
			c := new(corev1.ConfigMap)
			o.configMaps[r.GetName()], into = c, c
		case "Secret":
			s := new(corev1.Secret)
			o.secrets[r.GetName()], into = s, s
		case "Service":
			s := new(corev1.Service)
			o.services[r.GetName()], into = s, s
		case "ServiceAccount":
			into = new(corev1.ServiceAccount)
		case "Namespace":
			into = new(corev1.Namespace)
		case "ClusterRole":
			into = new(rbacv1.ClusterRole)
		case "ClusterRoleBinding":
			into = new(rbacv1.ClusterRoleBinding)
		default:
			t.Fatalf("%s: an object of kind %s, which the test does not know", overlay, kind)
		}
		if err := yaml.UnmarshalStrict(b, into); err != nil {
			t.Fatalf("%s: %s %s does not decode strictly: %v\n%s", overlay, kind, r.GetName(), err, b)
		}
		if ns := r.GetNamespace(); ns != "" {
			o.namespaces[ns] = true
		}
	}
	return o
}

func TestClusterDNS(t *testing.T) {
	o := render(t, "cluster-dns")
	if len(o.deployments) != 1 || o.deployments[0].Name != "coredns" || o.deployments[0].Namespace != "kube-system" {
		t.Fatalf("want kube-system's coredns Deployment, got %v", o.deployments)
	}
	cm := o.configMaps["coredns"]
	if cm == nil || cm.Namespace != "kube-system" || cm.Data["Corefile"] == "" {
		t.Fatalf("want kube-system's ConfigMap coredns with a Corefile (kubeadm's name), got %v", o.configMaps)
	}
	if s := o.services["kube-dns"]; s == nil || s.Namespace != "kube-system" {
		t.Errorf("want the kube-dns Service, got %v", o.services)
	}
	checkPod(t, o)
	startCorefile(t, o, "kubernetes.default.svc.cluster.local.")
}

func TestAuthoritative(t *testing.T) {
	o := render(t, "authoritative")
	svc := o.services["dns-public"]
	if svc == nil || svc.Spec.Type != corev1.ServiceTypeLoadBalancer || svc.Spec.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyLocal {
		t.Fatalf("want a LoadBalancer Service with externalTrafficPolicy Local, got %+v", svc)
	}
	for _, k := range o.kinds {
		if k == "ClusterRole" || k == "ClusterRoleBinding" {
			t.Errorf("an authoritative server needs no %s", k)
		}
	}
	if len(o.namespaces) != 1 || !o.namespaces["dns"] {
		t.Errorf("namespaces %v, want dns alone", o.namespaces)
	}
	checkPod(t, o)
	startCorefile(t, o, "www.example.org.")
}

// checkPod checks what every overlay's pod must have: floodguard's image,
// the non-root user with the one capability it needs, whole-volume mounts
// (a subPath mount never sees a change), and the shared cookie secret.
func checkPod(t *testing.T, o objects) {
	t.Helper()
	spec := o.deployments[0].Spec.Template.Spec
	c := spec.Containers[0]
	if !strings.HasPrefix(c.Image, "floodguard/coredns:") {
		t.Errorf("image %q, want floodguard/coredns", c.Image)
	}
	sc := c.SecurityContext
	if sc == nil || sc.RunAsUser == nil || *sc.RunAsUser != 65532 || sc.Capabilities == nil ||
		len(sc.Capabilities.Add) != 1 || sc.Capabilities.Add[0] != "NET_BIND_SERVICE" {
		t.Errorf("security context %+v, want user 65532 with NET_BIND_SERVICE alone", sc)
	}
	for _, m := range c.VolumeMounts {
		if m.SubPath != "" {
			t.Errorf("mount %s uses subPath %s", m.Name, m.SubPath)
		}
	}
	// The kubelet writes ConfigMap and Secret files as root: the container's
	// user reads them through the "other" bits, or the group bits if the
	// pod's fsGroup is its group.
	for _, v := range spec.Volumes {
		mode := int32(0o644) // the API's default
		switch {
		case v.Secret != nil && v.Secret.DefaultMode != nil:
			mode = *v.Secret.DefaultMode
		case v.ConfigMap != nil && v.ConfigMap.DefaultMode != nil:
			mode = *v.ConfigMap.DefaultMode
		}
		byGroup := spec.SecurityContext != nil && spec.SecurityContext.FSGroup != nil && sc.RunAsGroup != nil &&
			*spec.SecurityContext.FSGroup == *sc.RunAsGroup && mode&0o040 != 0
		if mode&0o004 == 0 && !byGroup {
			t.Errorf("volume %s: mode %#o, which user %d cannot read", v.Name, mode, *sc.RunAsUser)
		}
	}
	if o.secrets["coredns-cookie"] == nil {
		t.Errorf("no coredns-cookie Secret")
	}
}

// startCorefile lays the pod's mounts out in a directory, points the
// rendered Corefile's paths at it and its listeners at free loopback
// ports, starts it in a real CoreDNS, and asks it for name.
func startCorefile(t *testing.T, o objects, name string) {
	t.Helper()
	spec := o.deployments[0].Spec.Template.Spec
	volumes := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		volumes[v.Name] = v
	}
	var corefile string
	mounts := map[string]map[string][]byte{}
	for _, m := range spec.Containers[0].VolumeMounts {
		v := volumes[m.Name]
		files := map[string][]byte{}
		switch {
		case v.ConfigMap != nil:
			cm := o.configMaps[v.ConfigMap.Name]
			if cm == nil {
				t.Fatalf("volume %s: no ConfigMap %s", m.Name, v.ConfigMap.Name)
			}
			for k, d := range cm.Data {
				files[k] = []byte(d)
			}
			corefile = cm.Data["Corefile"]
		case v.Secret != nil:
			s := o.secrets[v.Secret.SecretName]
			if s == nil {
				t.Fatalf("volume %s: no Secret %s", m.Name, v.Secret.SecretName)
			}
			for k, d := range s.Data {
				files[k] = d
			}
		}
		mounts[m.MountPath] = files
	}
	startText(t, corefile, mounts, name)
}

// startText starts corefile with mounts (mount path -> file -> content)
// laid out in a directory, and asks it for name.
func startText(t *testing.T, corefile string, mounts map[string]map[string][]byte, name string) {
	t.Helper()
	root := t.TempDir()
	var pairs []string
	for path, files := range mounts {
		dir := filepath.Join(root, path)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for k, d := range files {
			if err := os.WriteFile(filepath.Join(dir, k), d, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		pairs = append(pairs, path+"/", dir+"/")
	}
	// The pod's resolv.conf: loopback only, so forward never leaves the machine.
	resolv := filepath.Join(root, "resolv.conf")
	os.WriteFile(resolv, []byte("nameserver 127.0.0.1\n"), 0o644)
	dnsPort := testport.Free(t)
	metrics := testport.Free(t)
	pairs = append(pairs,
		// Upstreams: a closed loopback port, so nothing leaves the test.
		"forward . /etc/resolv.conf", "forward . 127.0.0.1:"+testport.Free(t),
		"/etc/resolv.conf", resolv,
		".:53 {", ".:"+dnsPort+" {",
		"\n. {", "\n.:"+dnsPort+" {",
		"prometheus :9153", "prometheus 127.0.0.1:"+metrics,
		"prometheus 0.0.0.0:9153", "prometheus 127.0.0.1:"+metrics,
		"health {", "health 127.0.0.1:"+testport.Free(t)+" {",
		"    ready\n", "    ready 127.0.0.1:"+testport.Free(t)+"\n",
	)
	text := "\n" + strings.NewReplacer(pairs...).Replace(corefile)
	if !strings.Contains(text, "floodguard {") {
		t.Fatalf("the Corefile has no floodguard block:\n%s", corefile)
	}
	inst, err := caddy.Start(caddy.CaddyfileInput{Contents: []byte(text), Filepath: "Corefile", ServerTypeName: "dns"})
	if err != nil {
		t.Fatalf("the Corefile does not start: %v\n%s", err, text)
	}
	defer func() {
		inst.ShutdownCallbacks()
		inst.Stop()
	}()
	c := &dns.Client{Timeout: 2 * time.Second}
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypeA)
	var r *dns.Msg
	for i := 0; i < 20; i++ {
		if r, _, err = c.Exchange(m, "127.0.0.1:"+dnsPort); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("no reply from the Corefile: %v", err)
	}
	t.Logf("%s %s", name, dns.RcodeToString[r.Rcode])
	// floodguard is in the chain, as CoreDNS's own metrics say.
	resp, err := http.Get("http://127.0.0.1:" + metrics + "/metrics")
	if err != nil {
		t.Fatalf("scraping the Corefile's prometheus: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `coredns_plugin_enabled{name="floodguard"`) {
		t.Errorf("coredns_plugin_enabled has no floodguard series")
	}
	if name == "www.example.org." && (r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0) {
		t.Errorf("%s: %s with %d answers, want the zone's answer", name, dns.RcodeToString[r.Rcode], len(r.Answer))
	}
}
