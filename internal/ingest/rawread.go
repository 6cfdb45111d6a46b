package ingest

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"unicode/utf8"
)

// How raw files are read. A file of at most wholeFileMax bytes is read whole,
// once in each pass, and its documents share its memory. A larger one is never
// held whole: each pass reads it in pieces, twice. The first pass looks at it
// (size, checksum, text) and then cuts it into documents as it reads it again
// (newStreamSplitter); the second checks its checksum and then copies it to
// the archive through a StreamWriter. Either way the checksum of every read
// must be the first one's, or the ingest fails ("changed during ingest")
// rather than write what was not checked.

// wholeFileMax is the size up to which a raw file is read whole (a variable
// only so that tests can read every file in pieces).
var wholeFileMax int64 = 1 << 20

// errChanged is what a raw file that changed between two reads fails with.
var errChanged = errors.New("file changed during ingest")

// openRaw opens a raw file; size is its size, or -1 when it is not known.
func (in *ingester) openRaw(path string) (fh fs.File, size int64, err error) {
	fh, err = in.fsys.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("read %s: %w", path, err)
	}
	size = -1
	if st, err := fh.Stat(); err == nil {
		if !st.Mode().IsRegular() {
			_ = fh.Close()
			return nil, 0, fmt.Errorf("read %s: not a regular file", path)
		}
		size = st.Size()
	}
	return fh, size, nil
}

// rawLook is what the first pass's first read of a raw file found.
type rawLook struct {
	data     []byte // the content, for a file read whole
	tooLarge bool   // over Limits.MaxFileBytes
	notText  bool   // not UTF-8 text (checkText of the content says why)
}

// lookAt reads raw file f a first time and sets its size and checksum.
func (in *ingester) lookAt(f *rawFile) (rawLook, error) {
	fh, size, err := in.openRaw(f.Path)
	if err != nil {
		return rawLook{}, err
	}
	// Only read: closing cannot lose data.
	defer func() { _ = fh.Close() }()
	if size > in.lim.MaxFileBytes {
		return rawLook{tooLarge: true}, nil
	}
	if size >= 0 && size <= wholeFileMax {
		data, err := in.readOpen(fh, size, f.Path)
		if err != nil {
			return rawLook{}, err
		}
		if data == nil {
			return rawLook{tooLarge: true}, nil
		}
		f.Sum, f.Size = sha256.Sum256(data), int64(len(data))
		return rawLook{data: data}, nil
	}
	var tc textCheck
	sum, n, err := eachPiece(io.LimitReader(fh, in.lim.MaxFileBytes+1), tc.add)
	if err != nil {
		return rawLook{}, fmt.Errorf("read %s: %w", f.Path, err)
	}
	if n > in.lim.MaxFileBytes {
		return rawLook{tooLarge: true}, nil
	}
	f.Sum, f.Size = sum, n
	return rawLook{notText: !tc.ok()}, nil
}

// eachPiece reads r to its end in pieces of streamPiece bytes, handing each
// to use (which must not keep it), and returns the checksum and size of all.
func eachPiece(r io.Reader, use func([]byte) error) (sum [32]byte, n int64, err error) {
	h := sha256.New()
	buf := make([]byte, streamPiece)
	for {
		k, rerr := r.Read(buf)
		if k > 0 {
			h.Write(buf[:k]) // a hash never fails
			n += int64(k)
			if err := use(buf[:k]); err != nil {
				return sum, n, err
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return sum, n, rerr
		}
	}
	h.Sum(sum[:0])
	return sum, n, nil
}

// rawStream reads a raw file in pieces, checking at its end that it is what
// the first read saw.
type rawStream struct {
	f    *rawFile
	fh   fs.File
	r    io.Reader
	hash hash.Hash
	n    int64
}

// streamRaw opens raw file f for reading in pieces again.
func (in *ingester) streamRaw(f *rawFile) (*rawStream, error) {
	fh, _, err := in.openRaw(f.Path)
	if err != nil {
		return nil, err
	}
	return &rawStream{f: f, fh: fh, r: io.LimitReader(fh, in.lim.MaxFileBytes+1), hash: sha256.New()}, nil
}

func (s *rawStream) Read(p []byte) (int, error) {
	k, err := s.r.Read(p)
	s.hash.Write(p[:k]) // a hash never fails
	s.n += int64(k)
	return k, err
}

// done reports whether what the stream read, to its end, was the content
// the first read saw.
func (s *rawStream) done() error {
	var sum [32]byte
	if s.n != s.f.Size || [32]byte(s.hash.Sum(sum[:0])) != s.f.Sum {
		return fmt.Errorf("read %s: %w", s.f.Path, errChanged)
	}
	return nil
}

func (s *rawStream) close() { _ = s.fh.Close() } // only read: closing cannot lose data

// copyRaw reads raw file f in pieces, handing each to use, and checks that it
// is the content the first pass saw.
func (in *ingester) copyRaw(f *rawFile, use func([]byte) error) error {
	s, err := in.streamRaw(f)
	if err != nil {
		return err
	}
	defer s.close()
	var useErr error
	_, _, err = eachPiece(s, func(b []byte) error { useErr = use(b); return useErr })
	switch {
	case useErr != nil:
		return useErr
	case err != nil:
		return fmt.Errorf("read %s: %w", f.Path, err)
	}
	return s.done()
}

// textCheck tells, piece by piece, whether a stream is text that checkText
// accepts: UTF-8 (a UTF-16 byte order mark is not) without NUL bytes.
type textCheck struct {
	bad   bool
	carry []byte // the start of a character cut at the end of the last piece
	buf   [utf8.UTFMax]byte
}

func (t *textCheck) add(p []byte) error {
	if t.bad {
		return nil
	}
	if len(t.carry) > 0 {
		need := min(utf8.UTFMax-len(t.carry), len(p))
		b := append(t.carry, p[:need]...)
		if !utf8.FullRune(b) {
			t.carry = b // the piece ended within the character again
			return nil
		}
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 {
			t.bad = true
			return nil
		}
		p = p[size-len(t.carry):]
		t.carry = t.buf[:0]
	}
	cut := len(p)
	for i := len(p) - 1; i >= 0 && i >= len(p)-(utf8.UTFMax-1); i-- {
		if utf8.RuneStart(p[i]) {
			if !utf8.FullRune(p[i:]) {
				cut = i
			}
			break
		}
	}
	if bytes.IndexByte(p, 0) >= 0 || !utf8.Valid(p[:cut]) {
		t.bad = true
		return nil
	}
	t.carry = append(t.buf[:0], p[cut:]...)
	return nil
}

// ok reports whether everything added is such text.
func (t *textCheck) ok() bool { return !t.bad && len(t.carry) == 0 }
