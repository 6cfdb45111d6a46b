// Package benchdata generates the fabric folders the benchmarks ingest: realistic Hedgehog
// documents (Servers, ESLAG Connections to them, VPCs) that are valid under Hedgehog's rules,
// with unique names, so that any number of them make one valid fabric.
package benchdata

import (
	"bytes"
	"fmt"
	"strconv"
)

// Doc returns a realistic Hedgehog document of about 1 KB: a
// Server, a Connection to it or a VPC, cycling, with unique names per (file, i),
// valid under Hedgehog's rules: VPC names fit in 11 characters, VPC
// subnets do not overlap (three /26 in a /24 of 10.0.0.0/8 each), and each VPC has
// a VLAN namespace of its own (one namespace holds only 4094 VLANs).
func Doc(file, i int) string {
	id := fmt.Sprintf("%03d-%05d", file, i)
	switch i % 3 {
	case 1:
		// The server is the one the document before defines.
		return fmt.Sprintf(`apiVersion: wiring.githedgehog.com/v1beta1
kind: Connection
metadata:
  name: server-%[2]s--eslag--leaf-%[1]s-a--leaf-%[1]s-b
  labels:
    fabric.githedgehog.com/connection-type: eslag
    server.fabric.githedgehog.com/server-%[2]s: "true"
    switch.fabric.githedgehog.com/leaf-%[1]s-a: "true"
    switch.fabric.githedgehog.com/leaf-%[1]s-b: "true"
spec:
  eslag:
    links:
    - server:
        port: server-%[2]s/enp2s1
      switch:
        port: leaf-%[1]s-a/E1/1
    - server:
        port: server-%[2]s/enp2s2
      switch:
        port: leaf-%[1]s-b/E1/1
    - server:
        port: server-%[2]s/enp2s3
      switch:
        port: leaf-%[1]s-a/E1/2
    - server:
        port: server-%[2]s/enp2s4
      switch:
        port: leaf-%[1]s-b/E1/2
    mtu: 9036 # jumbo frames
`, id, fmt.Sprintf("%03d-%05d", file, i-1))
	case 0:
		return fmt.Sprintf(`#
# Server server-%[1]s
#
apiVersion: wiring.githedgehog.com/v1beta1
kind: Server
metadata:
  name: server-%[1]s
  namespace: default
  annotations:
    type.hhfab.githedgehog.com: hw
    serial.hhfab.githedgehog.com: ssh://192.168.90.10:8901
    power.hhfab.githedgehog.com/psu1_psu2: http://192.168.90.142/outlet/3
    link.hhfab.githedgehog.com/enp2s1: pci@0000:4d:00.0
    link.hhfab.githedgehog.com/enp2s2: pci@0000:4d:00.1
    link.hhfab.githedgehog.com/enp2s3: pci@0000:4f:00.0
    link.hhfab.githedgehog.com/enp2s4: pci@0000:4f:00.1
spec:
  description: S-%[1]s MCLAG leaf-%[1]s-a leaf-%[1]s-b, rack 12, row 3, slot 7, 2x25G + 2x25G
  profile: default
  boot:
    mac: 0c:20:12:fe:00:01
`, id)
	default:
		// v numbers the VPCs (files of up to 1,002 documents, or file 0
		// of any size), each with the /24 10.a.b.0 out of 65,536.
		v := file*334 + i/3
		a, b := v>>8&0xff, v&0xff
		return fmt.Sprintf(`apiVersion: vpc.githedgehog.com/v1beta1
kind: VPC
metadata:
  name: vpc-%[2]s
  namespace: default
spec:
  ipv4Namespace: default
  vlanNamespace: vlans-%[2]s
  subnets:
    subnet-1:
      subnet: 10.%[3]d.%[4]d.0/26
      gateway: 10.%[3]d.%[4]d.1
      vlan: 1001
      dhcp:
        enable: true
        range:
          start: 10.%[3]d.%[4]d.10
          end: 10.%[3]d.%[4]d.49
    subnet-2:
      subnet: 10.%[3]d.%[4]d.64/26
      gateway: 10.%[3]d.%[4]d.65
      vlan: 1002
      dhcp:
        enable: true
    subnet-3:
      subnet: 10.%[3]d.%[4]d.128/26
      vlan: 1003
      isolated: true
      restricted: true
  permit:
    - [subnet-1, subnet-2]
    - [subnet-2, subnet-3]
`, id, strconv.FormatInt(int64(v), 36), a, b)
	}
}

// File returns a raw file of n generated documents.
func File(file, n int) []byte {
	var b bytes.Buffer
	for i := range n {
		b.WriteString("---\n")
		b.WriteString(Doc(file, i))
	}
	return b.Bytes()
}

// InNamespace returns the YAML text data with every document's top-level metadata moved to
// namespace ns: an existing "  namespace:" line of metadata is replaced, else one is added
// after "metadata:". It works on text, for block-style files like Hedgehog's.
func InNamespace(data []byte, ns string) []byte {
	var out bytes.Buffer
	lines := bytes.SplitAfter(data, []byte("\n"))
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		out.Write(l)
		if !bytes.Equal(bytes.TrimRight(l, "\r\n"), []byte("metadata:")) {
			continue
		}
		// Skip metadata's own lines, dropping a namespace line.
		j := i + 1
		for ; j < len(lines) && bytes.HasPrefix(lines[j], []byte("  ")); j++ {
			if bytes.HasPrefix(lines[j], []byte("  namespace:")) {
				continue
			}
			out.Write(lines[j])
		}
		fmt.Fprintf(&out, "  namespace: %s\n", ns)
		i = j - 1
	}
	return out.Bytes()
}
