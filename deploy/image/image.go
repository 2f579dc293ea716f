// Package image builds the container image of CoreDNS with floodguard
// without Docker: one layer holding the static binary (and CA certificates,
// for plugins that speak TLS upstream), written as a docker-archive tarball
// that docker load, podman load and ctr import all read.
//
// As upstream CoreDNS's image does, it runs as the numeric non-root user
// 65532, and the binary carries the file capability cap_net_bind_service,
// so that user can bind port 53.
package image

import (
	"archive/tar"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/google/go-containerregistry/pkg/name"
)

// The image's fixed parts.
const (
	User       = "65532:65532"
	BinaryPath = "coredns" // in the layer, at the root: /coredns
	CertsPath  = "etc/ssl/certs/ca-certificates.crt"
	Corefile   = "/etc/coredns/Corefile"
)

// ExposedPorts are DNS over UDP and TCP, and the prometheus plugin's port.
var ExposedPorts = []string{"53/udp", "53/tcp", "9153/tcp"}

// capNetBindService is the security.capability extended attribute that
// gives a file cap_net_bind_service (capability 10), effective: struct
// vfs_cap_data, revision 2, little-endian.
func capNetBindService() string {
	var b [20]byte
	binary.LittleEndian.PutUint32(b[0:], 0x02000000|0x1) // VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE
	binary.LittleEndian.PutUint32(b[4:], 1<<10)          // permitted, low word: CAP_NET_BIND_SERVICE
	return string(b[:])
}

// CapabilityXattr is the PAX record that carries the capability in a layer.
const CapabilityXattr = "SCHILY.xattr.security.capability"

// Options are what Build needs.
type Options struct {
	Binary string // the static coredns binary (CGO_ENABLED=0)
	Certs  string // a CA bundle to include; "" for none
	Tag    string // e.g. floodguard/coredns:1.15.0-floodguard
	Arch   string // the binary's GOARCH; "" for this machine's
}

// Build writes the image to out.
func Build(o Options, out string) error {
	img, err := Image(o)
	if err != nil {
		return err
	}
	ref, err := name.NewTag(o.Tag)
	if err != nil {
		return fmt.Errorf("tag %q: %v", o.Tag, err)
	}
	return tarball.WriteToFile(out, ref, img)
}

// Image builds the image in memory.
func Image(o Options) (v1.Image, error) {
	layerTar, err := layer(o)
	if err != nil {
		return nil, err
	}
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	})
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", o.Arch
	if cf.Architecture == "" {
		cf.Architecture = runtime.GOARCH
	}
	cf.Config.User = User
	cf.Config.Entrypoint = []string{"/" + BinaryPath}
	cf.Config.Cmd = []string{"-conf", Corefile}
	cf.Config.WorkingDir = "/"
	cf.Config.ExposedPorts = map[string]struct{}{}
	for _, p := range ExposedPorts {
		cf.Config.ExposedPorts[p] = struct{}{}
	}
	cf.Config.Labels = map[string]string{
		"org.opencontainers.image.title":  "CoreDNS with floodguard",
		"org.opencontainers.image.source": "https://github.com/floodguard/floodguard",
	}
	return mutate.ConfigFile(img, cf)
}

// layer is the image's one layer, as a tar: the binary, root-owned and
// executable by all, with its capability; the CA bundle if given.
func layer(o Options) ([]byte, error) {
	bin, err := os.ReadFile(o.Binary)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	// A fixed time, so the same binary makes the same layer.
	epoch := time.Unix(0, 0)
	dirs := []string{"etc/", "etc/coredns/"}
	var certs []byte
	if o.Certs != "" {
		if certs, err = os.ReadFile(o.Certs); err != nil {
			return nil, err
		}
		dirs = append(dirs, "etc/ssl/", "etc/ssl/certs/")
	}
	for _, d := range dirs {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: 0o755, ModTime: epoch, Format: tar.FormatPAX}); err != nil {
			return nil, err
		}
	}
	files := []struct {
		name string
		mode int64
		data []byte
		pax  map[string]string
	}{{BinaryPath, 0o755, bin, map[string]string{CapabilityXattr: capNetBindService()}}}
	if certs != nil {
		files = append(files, struct {
			name string
			mode int64
			data []byte
			pax  map[string]string
		}{CertsPath, 0o644, certs, nil})
	}
	for _, f := range files {
		h := &tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: f.mode, Size: int64(len(f.data)),
			ModTime: epoch, PAXRecords: f.pax, Format: tar.FormatPAX}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
