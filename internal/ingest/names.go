package ingest

import (
	"crypto/sha256"
	"encoding/hex"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/fabsync/fabsync/internal/validate"
)

// ValidName reports whether s is a DNS-1123 subdomain: at most 253
// characters, dot-separated labels of lower-case letters, digits and '-',
// each starting and ending with a letter or digit. Every metadata.name must
// be one; it is also what keeps resource file names inside the fabric folder.
func ValidName(s string) bool { return len(s) <= 253 && validate.Subdomain(s) }

// ValidNamespace reports whether s is a DNS-1123 label: at most 63 lower-case
// letters, digits and '-', starting and ending with a letter or digit.
func ValidNamespace(s string) bool { return validLabel(s, 63) }

func validLabel(s string, max int) bool {
	if len(s) == 0 || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case c == '-' && i > 0 && i < len(s)-1:
		default:
			return false
		}
	}
	return true
}

// validKind reports whether s can be a resource kind: an ASCII letter
// followed by letters and digits, at most 63 characters ("VPC", "Gateway").
func validKind(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// splitAPIVersion splits "[group/]version" and reports whether it is well
// formed: group a DNS-1123 subdomain, version a DNS-1123 label.
func splitAPIVersion(s string) (group, version string, ok bool) {
	group, version, found := strings.Cut(s, "/")
	if !found {
		group, version = "", s
	} else if !ValidName(group) {
		return group, version, false
	}
	return group, version, validLabel(version, 63)
}

// fabricDirs maps the twelve fabric kinds to their folders under managed/.
var fabricDirs = map[string]string{
	"VPC":                "vpcs",
	"VPCAttachment":      "vpcattachments",
	"VPCPeering":         "vpcpeerings",
	"External":           "externals",
	"ExternalAttachment": "externalattachments",
	"ExternalPeering":    "externalpeerings",
	"IPv4Namespace":      "ipv4namespaces",
	"VLANNamespace":      "vlannamespaces",
	"Connection":         "connections",
	"Server":             "servers",
	"Switch":             "switches",
	"SwitchGroup":        "switchgroups",
}

// fabricGroup reports whether group is a Hedgehog API group.
func fabricGroup(group string) bool {
	return group == "githedgehog.com" || strings.HasSuffix(group, ".githedgehog.com")
}

// classify returns the folder a resource of this group and kind goes to,
// e.g. "managed/vpcs" or "unmanaged/gateways", and whether it is managed.
func classifyKind(group, kind string) (dir string, managed bool) {
	if d, ok := fabricDirs[kind]; ok && fabricGroup(group) {
		return "managed/" + d, true
	}
	return "unmanaged/" + plural(strings.ToLower(kind)), false
}

// plural returns the English plural of a lower-case kind by the simple
// rules: s, x, z, ch, sh take "es"; a consonant and y become "ies"; the
// rest take "s" (gateway → gateways, nat → nats, policy → policies).
func plural(s string) string {
	switch {
	case strings.HasSuffix(s, "s"), strings.HasSuffix(s, "x"), strings.HasSuffix(s, "z"),
		strings.HasSuffix(s, "ch"), strings.HasSuffix(s, "sh"):
		return s + "es"
	case len(s) >= 2 && s[len(s)-1] == 'y' && !strings.ContainsRune("aeiou", rune(s[len(s)-2])):
		return s[:len(s)-1] + "ies"
	}
	return s + "s"
}

// resourcePath returns the path of a resource file in the folder dir:
// dir/<name>.yaml, or dir/<namespace>_<name>.yaml outside the default
// namespace, the file name shortened by fitName when it is too long. The
// usual case is built with one allocation.
func resourcePath(dir, namespace, name string) string {
	const ext = ".yaml"
	switch {
	case namespace == "" || namespace == "default":
		if len(name)+len(ext) <= maxNameBytes {
			return dir + "/" + name + ext
		}
		return dir + "/" + fitName(name, ext)
	case len(namespace)+len("_")+len(name)+len(ext) <= maxNameBytes:
		return dir + "/" + namespace + "_" + name + ext
	}
	return dir + "/" + fitName(namespace+"_"+name, ext)
}

// maxNameBytes is the longest file name (one path element) that the common
// file systems take: ext4, XFS, Btrfs, ZFS and APFS allow 255 bytes, NTFS
// 255 UTF-16 units, and a name of 255 UTF-8 bytes never has more.
const maxNameBytes = 255

// hashDigits is how many hex digits of SHA-256 a shortened name keeps.
const hashDigits = 16

// fitName returns base+suffix when that is at most maxNameBytes long.
// Otherwise it returns the longest start of base that fits, cut between
// UTF-8 characters, then "_", the first 16 hex digits of the SHA-256 of the
// whole of base, then suffix: exactly or nearly 255 bytes, the same for the
// same base every time.
//
// A shortened name is never a name that was not shortened. For resource
// files: a valid name holds no '_' and a namespace is at most 63 bytes, so
// an unshortened name has at most one '_', within its first 64 bytes, and
// a shortened one has one at byte 233. For archive copies: an
// unshortened name ends in ".yaml.archived" or ".yml.archived" (in any
// case), a shortened one in hex digits and ".archived". Two shortened names
// are equal only when their bases share their first 230-odd bytes and the
// first 64 bits of their SHA-256; and Ingest reports two resources that
// would share a file, so not even that would go unnoticed in one ingest.
func fitName(base, suffix string) string {
	if len(base)+len(suffix) <= maxNameBytes {
		return base + suffix
	}
	keep := maxNameBytes - len(suffix) - 1 - hashDigits
	for i := 1; i < utf8.UTFMax && !utf8.RuneStart(base[keep]); i++ {
		keep-- // not into the middle of a character
	}
	sum := sha256.Sum256([]byte(base))
	return base[:keep] + "_" + hex.EncodeToString(sum[:hashDigits/2]) + suffix
}

// longElement returns the first element of the slash-separated path p that
// is longer than maxNameBytes, or "".
func longElement(p string) string {
	for el := range strings.SplitSeq(p, "/") {
		if len(el) > maxNameBytes {
			return el
		}
	}
	return ""
}

// safePath reports whether p is a clean, relative, slash-separated path
// strictly under prefix, with no ".." element: the last check on every
// name handed to a Writer.
func safePath(p, prefix string) bool {
	if p == "" || p != path.Clean(p) || path.IsAbs(p) || strings.ContainsRune(p, '\\') ||
		!strings.HasPrefix(p, prefix+"/") {
		return false
	}
	for el := range strings.SplitSeq(p, "/") {
		if el == ".." || el == "." || el == "" {
			return false
		}
	}
	return true
}

// validJobID reports whether id can name the archive folder: letters,
// digits, '.', '_', ':' and '-', not starting with '.', at most 128 bytes.
func validJobID(id string) bool {
	if id == "" || len(id) > 128 || id[0] == '.' {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.', c == '_', c == '-', c == ':':
		default:
			return false
		}
	}
	return true
}
