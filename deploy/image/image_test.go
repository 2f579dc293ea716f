package image

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/floodguard/floodguard/deploy/internal/testport"
)

// repo is the floodguard module, above this one.
const repo = "../.."

// staticCoreDNS is the coredns binary TestMain builds, as make image does.
var staticCoreDNS string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "floodguard-image")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	staticCoreDNS = filepath.Join(dir, "coredns")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", staticCoreDNS, "./cmd/coredns")
	build.Dir, build.Env = repo, append(os.Environ(), "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building the static coredns: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// The image as make image writes it: its config, its one layer, and the
// binary from it answering a query against testdata/Corefile.
func TestImage(t *testing.T) {
	dir := t.TempDir()
	certs := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(certs, []byte("-----BEGIN CERTIFICATE-----\ntest\n-----END CERTIFICATE-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "image.tar")
	if err := Build(Options{Binary: staticCoreDNS, Certs: certs, Tag: "floodguard/coredns:test"}, out); err != nil {
		t.Fatal(err)
	}

	img, err := tarball.ImageFromPath(out, nil)
	if err != nil {
		t.Fatalf("the tarball does not load: %v", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if c.User != "65532:65532" || strings.Join(c.Entrypoint, " ") != "/coredns" || strings.Join(c.Cmd, " ") != "-conf /etc/coredns/Corefile" {
		t.Errorf("config: user %q, entrypoint %q, cmd %q", c.User, c.Entrypoint, c.Cmd)
	}
	for _, p := range []string{"53/udp", "53/tcp", "9153/tcp"} {
		if _, ok := c.ExposedPorts[p]; !ok {
			t.Errorf("port %s not exposed: %v", p, c.ExposedPorts)
		}
	}
	if cf.OS != "linux" || cf.Architecture == "" {
		t.Errorf("platform %s/%s", cf.OS, cf.Architecture)
	}

	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("%d layers (%v), want 1", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	files := map[string]*tar.Header{}
	var bin []byte
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = h
		if h.Name == BinaryPath {
			if bin, err = io.ReadAll(tr); err != nil {
				t.Fatal(err)
			}
		}
	}
	h := files[BinaryPath]
	if h == nil {
		t.Fatalf("no /coredns in the layer: %v", files)
	}
	if h.Uid != 0 || h.Mode&0o777 != 0o755 {
		t.Errorf("/coredns: uid %d mode %o, want root-owned 755", h.Uid, h.Mode)
	}
	capability := []byte(h.PAXRecords[CapabilityXattr])
	if len(capability) != 20 || binary.LittleEndian.Uint32(capability) != 0x02000001 || binary.LittleEndian.Uint32(capability[4:]) != 1<<10 {
		t.Errorf("/coredns capability %x, want cap_net_bind_service, effective", capability)
	}
	if files[CertsPath] == nil {
		t.Errorf("no %s in the layer", CertsPath)
	}
	want, _ := os.ReadFile(staticCoreDNS)
	if !bytes.Equal(bin, want) {
		t.Fatal("the layer's /coredns is not the binary built")
	}

	// Static: no program interpreter, so it runs on an image with nothing else.
	extracted := filepath.Join(dir, "coredns")
	if err := os.WriteFile(extracted, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	ef, err := elf.Open(extracted)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("/coredns is dynamically linked")
		}
	}
	ef.Close()
	runCoreDNS(t, extracted, dir)
}

// runCoreDNS runs bin on testdata/Corefile (on free ports) and asks it for
// www.example.org A over UDP.
func runCoreDNS(t *testing.T, bin, dir string) {
	t.Helper()
	corefile, err := os.ReadFile(filepath.Join(repo, "testdata/Corefile"))
	if err != nil {
		t.Fatal(err)
	}
	zone, _ := filepath.Abs(filepath.Join(repo, "testdata/example.org.zone"))
	dnsPort, metricsPort := testport.Free(t), testport.Free(t)
	text := strings.NewReplacer("example.org:1053", "example.org:"+dnsPort, "127.0.0.1:9153", "127.0.0.1:"+metricsPort,
		"testdata/example.org.zone", zone).Replace(string(corefile))
	conf := filepath.Join(dir, "Corefile")
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-conf", conf)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	for i := 0; ; i++ {
		rcode, answers, err := ask("127.0.0.1:"+dnsPort, "www.example.org")
		if err == nil {
			if rcode != 0 || answers == 0 {
				t.Errorf("rcode %d with %d answers, want NOERROR with an answer", rcode, answers)
			}
			return
		}
		if i == 50 {
			t.Fatalf("the image's coredns did not answer: %v\n%s", err, log.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// ask sends an A query for name and returns the reply's rcode and answer
// count (the module needs no DNS library for this one question).
func ask(server, name string) (rcode, answers int, err error) {
	q := []byte{0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0}
	for _, label := range strings.Split(strings.TrimSuffix(name, "."), ".") {
		q = append(q, byte(len(label)))
		q = append(q, label...)
	}
	q = append(q, 0, 0, 1, 0, 1) // root, type A, class IN
	c, err := net.Dial("udp", server)
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write(q); err != nil {
		return 0, 0, err
	}
	b := make([]byte, 1500)
	n, err := c.Read(b)
	if err != nil {
		return 0, 0, err
	}
	if n < 12 || b[0] != 0x12 || b[1] != 0x34 {
		return 0, 0, fmt.Errorf("not our reply: %x", b[:n])
	}
	return int(b[3] & 0x0f), int(binary.BigEndian.Uint16(b[6:])), nil
}
