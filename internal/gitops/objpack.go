package gitops

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/idxfile"
)

// newObjects writes the objects a commit adds to the clone's store into one
// pack with its index (finish), not as a loose object each. On our build
// machines a new file costs 0.1-0.5 ms to create (ext4 on a virtual disk,
// more under load), and go-git's loose object writer makes two for each
// object (a temporary file, renamed) and allocates a zlib writer each: about
// 0.6 ms an object, 25-35 ms of a small click's commit of 40-odd objects.
// One pack is two files. Each object is compressed into the pack's
// temporary file as it is added: what stays in memory is its hash, offset
// and checksum, whatever the size of the commit.
//
// go-git reads every pack index of a clone when it first looks an object
// up, so a pack for each commit would slow every later operation on the
// clone, as the pack of each fetch does. So the pack of a commit takes in
// the objects of the previous commit's pack (fold), as long as that one is
// under foldLimit bytes, and replaces it: the commits of about 200 small
// clicks share one pack. Those packs hold whole objects only, whose bytes
// are copied as they are (no inflating or compressing again).
type newObjects struct {
	dir  string // the clone's pack folder
	f    *os.File
	bw   *bufio.Writer
	zw   *zlib.Writer
	z    bytes.Buffer
	oh   []byte
	off  uint64
	objs []packed
	have map[plumbing.Hash]bool
	own  *ownObjects // when set, keeps each entry add writes, for the push (ownpack.go)
}

// commitPackFile, inside .git, names the pack the last commit wrote (see
// newObjects), for the next commit to take in.
const commitPackFile = "fabsync-commit-pack"

// foldLimit is the size of a commit's pack from which the next commit starts
// a pack of its own rather than copying it.
const foldLimit = 4 << 20

// packed is what newObjects keeps of an object written to the pack.
type packed struct {
	hash plumbing.Hash
	off  uint64
	crc  uint32
}

// packHeader is the header of a pack of version 2 with count objects.
func packHeader(count uint32) []byte {
	hdr := make([]byte, packHeaderSize)
	copy(hdr, "PACK")
	binary.BigEndian.PutUint32(hdr[4:], 2)
	binary.BigEndian.PutUint32(hdr[8:], count)
	return hdr
}

// has reports whether the object h was added.
func (n *newObjects) has(h plumbing.Hash) bool { return n.have[h] }

// add writes an object of type typ, hash h and content data to the pack
// (once, however often it is added): a whole object, no delta (they are
// few and small, and a push packs what it sends anew), at zlib's fastest
// level.
func (n *newObjects) add(typ plumbing.ObjectType, h plumbing.Hash, data []byte) error {
	if n.have[h] {
		return nil
	}
	if n.f == nil {
		if err := os.MkdirAll(n.dir, 0o755); err != nil {
			return err
		}
		f, err := os.CreateTemp(n.dir, "tmp_pack_")
		if err != nil {
			return err
		}
		n.f, n.bw, n.have = f, bufio.NewWriterSize(f, 64<<10), map[plumbing.Hash]bool{}
		if n.zw, err = zlib.NewWriterLevel(&n.z, zlib.BestSpeed); err != nil {
			return err
		}
		if _, err := n.bw.Write(packHeader(0)); err != nil { // the count goes in at the end
			return err
		}
		n.off = packHeaderSize
	}
	n.oh = objectHeader(n.oh[:0], typ, uint64(len(data)))
	n.z.Reset()
	n.zw.Reset(&n.z)
	if _, err := n.zw.Write(data); err != nil {
		return err
	}
	if err := n.zw.Close(); err != nil {
		return err
	}
	crc := crc32.NewIEEE()
	_, _ = crc.Write(n.oh)
	_, _ = crc.Write(n.z.Bytes())
	if _, err := n.bw.Write(n.oh); err != nil {
		return err
	}
	if _, err := n.bw.Write(n.z.Bytes()); err != nil {
		return err
	}
	n.objs = append(n.objs, packed{h, n.off, crc.Sum32()})
	n.have[h] = true
	if n.own != nil {
		n.own.keep(h, n.oh, n.z.Bytes())
	}
	n.off += uint64(len(n.oh) + n.z.Len())
	return nil
}

// finish completes the pack (its object count and checksum), writes its
// index and moves both into the pack folder: the index first, then the
// pack, so that a reader that finds the pack finds it whole. Nothing added
// is nothing to write.
func (n *newObjects) finish() error {
	if n.f == nil {
		return nil
	}
	// A previous pack that cannot be taken in stays as it is: nothing is
	// lost, one pack more.
	prev, err := n.fold()
	if err != nil {
		prev = ""
	}
	name, err := n.sealFile()
	if err != nil {
		return err
	}
	// The marker is a hint: a stale one names a pack that fold finds gone,
	// too large or not a pack of whole objects, and so leaves alone.
	marker := filepath.Join(filepath.Dir(filepath.Dir(n.dir)), commitPackFile)
	if err := os.WriteFile(marker, []byte(name+"\n"), 0o644); err != nil {
		return nil // the commit is whole; the next one starts a pack of its own
	}
	if prev != "" && prev != name {
		removePack(n.dir, prev)
	}
	return nil
}

// removePack removes the pack name ("pack-<hash>") of the pack folder dir,
// its pack file first, so that a reader that lists the pack finds its
// index; the index stays when the pack file does (go-git cannot open a
// clone that lists a pack without its index).
func removePack(dir, name string) {
	base := filepath.Join(dir, name)
	if err := os.Remove(base + ".pack"); err == nil || errors.Is(err, os.ErrNotExist) {
		_ = os.Remove(base + ".idx")
	}
}

// readIdx reads the pack index file name.
func readIdx(name string) (*idxfile.MemoryIndex, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	mi := idxfile.NewMemoryIndex()
	if err := idxfile.NewDecoder(bufio.NewReader(f)).Decode(mi); err != nil {
		return nil, err
	}
	return mi, nil
}

// finishAlone completes the pack like finish, but as a pack of its own: it
// takes in no previous pack and leaves the commits' marker as it is.
func (n *newObjects) finishAlone() error {
	if n.f == nil {
		return nil
	}
	_, err := n.sealFile()
	return err
}

// sealFile seals the pack being written (seal) and closes its file, which
// it removes when that fails.
func (n *newObjects) sealFile() (string, error) {
	f, tmp := n.f, n.f.Name()
	n.f = nil
	name, err := n.seal(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return name, err
}

// fold copies into the pack being written the objects of the pack the last
// commit wrote (commitPackFile), those not added already, and returns that
// pack's name ("pack-<hash>"), or "" when there is none to take in: gone,
// of foldLimit bytes or more, or holding anything but whole objects.
func (n *newObjects) fold() (string, error) {
	data, err := os.ReadFile(filepath.Join(filepath.Dir(filepath.Dir(n.dir)), commitPackFile))
	if err != nil {
		return "", nil
	}
	name := strings.TrimSpace(string(data))
	if !strings.HasPrefix(name, "pack-") || !plumbing.IsHash(name[len("pack-"):]) {
		return "", nil
	}
	pack, err := os.ReadFile(filepath.Join(n.dir, name+".pack"))
	if err != nil || len(pack) >= foldLimit || len(pack) < packHeaderSize+sha1.Size {
		return "", nil
	}
	mi, err := readIdx(filepath.Join(n.dir, name+".idx"))
	if err != nil {
		return "", nil
	}
	iter, err := mi.EntriesByOffset()
	if err != nil {
		return "", nil
	}
	var ents []idxfile.Entry
	for {
		e, err := iter.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", nil
		}
		ents = append(ents, *e)
	}
	_ = iter.Close()
	end := uint64(len(pack) - sha1.Size)
	// Check everything before copying anything.
	for i, e := range ents {
		next := end
		if i+1 < len(ents) {
			next = ents[i+1].Offset
		}
		if e.Offset < packHeaderSize || e.Offset >= next || next > end {
			return "", nil
		}
		switch typ := plumbing.ObjectType((pack[e.Offset] >> 4) & 7); typ {
		case plumbing.CommitObject, plumbing.TreeObject, plumbing.BlobObject, plumbing.TagObject:
		default:
			return "", nil // a delta: not a pack of ours
		}
	}
	for i, e := range ents {
		if n.have[e.Hash] {
			continue
		}
		next := end
		if i+1 < len(ents) {
			next = ents[i+1].Offset
		}
		raw := pack[e.Offset:next]
		if _, err := n.bw.Write(raw); err != nil {
			return "", err
		}
		n.objs = append(n.objs, packed{e.Hash, n.off, e.CRC32})
		n.have[e.Hash] = true
		n.off += uint64(len(raw))
	}
	return name, nil
}

// seal writes the pack's object count and checksum and its index, and
// moves it into the pack folder; it returns its name ("pack-<hash>").
func (n *newObjects) seal(f *os.File) (string, error) {
	if err := n.bw.Flush(); err != nil {
		return "", err
	}
	if _, err := f.WriteAt(packHeader(uint32(len(n.objs))), 0); err != nil {
		return "", err
	}
	// The checksum covers the header, known only now: one read of the file
	// (from the page cache) rather than the objects held in memory.
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	sum := sha1.New()
	if _, err := io.Copy(sum, f); err != nil {
		return "", err
	}
	var checksum plumbing.Hash
	copy(checksum[:], sum.Sum(nil))
	if _, err := f.Write(checksum[:]); err != nil {
		return "", err
	}
	idx := new(idxfile.Writer)
	if err := idx.OnHeader(uint32(len(n.objs))); err != nil {
		return "", err
	}
	for _, o := range n.objs {
		idx.Add(o.hash, o.off, o.crc)
	}
	if err := idx.OnFooter(checksum); err != nil {
		return "", err
	}
	mi, err := idx.Index()
	if err != nil {
		return "", err
	}
	name := "pack-" + checksum.String()
	base := filepath.Join(n.dir, name)
	if err := writeIdx(base+".idx", mi); err != nil {
		return "", err
	}
	if err := os.Rename(f.Name(), base+".pack"); err != nil {
		_ = os.Remove(base + ".idx")
		return "", err
	}
	return name, nil
}

// discard removes the pack of an unfinished commit.
func (n *newObjects) discard() {
	if n.f == nil {
		return
	}
	_ = n.f.Close()
	_ = os.Remove(n.f.Name())
	n.f = nil
}

// objectHeader appends to dst the header of a whole object of a pack: its
// type and size, the size in little-endian base 128 after 4 bits of it.
func objectHeader(dst []byte, typ plumbing.ObjectType, size uint64) []byte {
	c := byte(typ)<<4 | byte(size&0x0f)
	size >>= 4
	for size != 0 {
		dst = append(dst, c|0x80)
		c = byte(size & 0x7f)
		size >>= 7
	}
	return append(dst, c)
}
