package ingest

// scratchIO batches an ingest's use of Options.Scratch. The first pass writes the
// normalized documents beyond MemoryBudget, and the validator's facts, one after the other
// from offset 0; the second pass reads the documents back in the same order, one at a time.
// A system call for each (two per document of a large fabric: 200,000 for 100,000 resources)
// would cost more than the bytes; scratchIO gathers the writes into pieces of scratchPiece
// bytes and reads ahead as much, so that a large fabric costs a few thousand calls. Reads
// start only once the writes are done (it flushes before its first read), and nothing is
// written twice: the read-ahead never holds stale bytes.
type scratchIO struct {
	s    Scratch
	size int64  // bytes put so far: the offset of the next put
	wbuf []byte // put but not written yet: the bytes at size-len(wbuf)
	rbuf []byte // read ahead: the bytes at roff
	roff int64
}

// scratchPiece is the size of scratchIO's writes and read-aheads.
const scratchPiece = 64 << 10

// put stores p after what was put before and returns its offset; p is not kept.
func (x *scratchIO) put(p []byte) (int64, error) {
	off := x.size
	if len(x.wbuf)+len(p) > scratchPiece {
		if err := x.flush(); err != nil {
			return 0, err
		}
	}
	if len(p) >= scratchPiece {
		if _, err := x.s.WriteAt(p, off); err != nil {
			return 0, err
		}
	} else {
		if x.wbuf == nil {
			x.wbuf = make([]byte, 0, scratchPiece)
		}
		x.wbuf = append(x.wbuf, p...)
	}
	x.size += int64(len(p))
	return off, nil
}

// flush writes what put gathered.
func (x *scratchIO) flush() error {
	if len(x.wbuf) == 0 {
		return nil
	}
	_, err := x.s.WriteAt(x.wbuf, x.size-int64(len(x.wbuf)))
	x.wbuf = x.wbuf[:0]
	return err
}

// get fills p with the bytes put at off.
func (x *scratchIO) get(p []byte, off int64) error {
	if err := x.flush(); err != nil {
		return err
	}
	end := off + int64(len(p))
	if len(p) >= scratchPiece || end > x.size {
		_, err := x.s.ReadAt(p, off) // large, or not put: the Scratch says what it holds
		return err
	}
	if off < x.roff || end > x.roff+int64(len(x.rbuf)) {
		if cap(x.rbuf) == 0 {
			x.rbuf = make([]byte, scratchPiece)
		}
		x.rbuf = x.rbuf[:min(int64(scratchPiece), x.size-off)]
		if _, err := x.s.ReadAt(x.rbuf, off); err != nil {
			x.rbuf = x.rbuf[:0]
			return err
		}
		x.roff = off
	}
	copy(p, x.rbuf[off-x.roff:])
	return nil
}
