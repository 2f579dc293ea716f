// Command mkimage writes the container image of CoreDNS with floodguard as a
// docker-archive tarball, without Docker (make image runs it):
//
//	mkimage -binary build/coredns -out floodguard-coredns.tar -tag floodguard/coredns:dev
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/floodguard/floodguard/deploy/image"
)

func main() {
	o := image.Options{}
	flag.StringVar(&o.Binary, "binary", "build/coredns", "static coredns binary with floodguard (CGO_ENABLED=0)")
	flag.StringVar(&o.Certs, "certs", "/etc/ssl/certs/ca-certificates.crt", "CA bundle to include (for TLS upstreams); empty for none")
	flag.StringVar(&o.Tag, "tag", "floodguard/coredns:dev", "image name and tag")
	flag.StringVar(&o.Arch, "arch", "", "the binary's GOARCH (default: this machine's)")
	out := flag.String("out", "floodguard-coredns.tar", "tarball to write")
	flag.Parse()
	if o.Certs != "" {
		if _, err := os.Stat(o.Certs); err != nil {
			fmt.Fprintf(os.Stderr, "mkimage: -certs %s: %v (give -certs '' to build without CA certificates)\n", o.Certs, err)
			os.Exit(1)
		}
	}
	if err := image.Build(o, *out); err != nil {
		fmt.Fprintln(os.Stderr, "mkimage:", err)
		os.Exit(1)
	}
	path, err := filepath.Abs(*out)
	if err != nil {
		path = *out
	}
	fmt.Printf("wrote %s (%s): load it with docker load -i, podman load -i or ctr image import\n", path, o.Tag)
}
