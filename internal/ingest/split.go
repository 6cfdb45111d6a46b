package ingest

import (
	"bytes"
	"fmt"
	"io"
	"unicode/utf8"
)

// rawDoc is one document of a YAML stream, as cut out by splitter.
type rawDoc struct {
	Index int    // 1-based position among the documents of the stream, empty ones included
	Line  int    // line of the file on which Data starts
	Data  []byte // the document's text with LF line ends (it may share memory with the file)
	Empty bool   // only blank lines, comments, directives and markers: nothing to ingest
}

// splitter cuts a YAML stream, held in memory or read in pieces, into
// documents by looking at lines only, so that a syntax error in one document cannot hide the others
// and every document knows the line it starts on.
//
// YAML makes this exact: a line that starts with "---" or "..." followed by
// a space, a tab or the line end is a document marker wherever it appears
// (the spec's c-forbidden rule), even where a block or quoted scalar would
// otherwise continue, because such scalars must be indented or end first.
// Lines are broken at LF, CRLF and lone CR, as YAML does.
//
// Documents are numbered the way a reader counts them: every "---" starts
// one, and so does content after a "..." end marker or at the top of the
// file. Comments, blank lines and directives before the first "---" (or
// after a "...") belong to the document that follows them. So does a block
// of comments starting in column 1 between a document's content and the
// next "---": in real wiring files such a block is the header of the next
// resource ("# VPC peering: vpc-1 <> vpc-2"). Indented comments stay with
// the document above them, and a comment-only document keeps its comments.
type splitter struct {
	src  []byte
	pos  int // offset of the next line
	line int // number of the line at pos

	// r, when set, is the rest of the stream: src is a window of it that
	// more moves on (see newStreamSplitter); err is r's failure.
	r     io.Reader
	err   error
	piece int

	// The open document or prologue.
	open     bool // a document has started
	content  bool // it has content
	start    int  // offset where the document (or prologue) starts
	startLn  int
	havePro  bool // a prologue (comments before a document) has started
	index    int
	finished bool

	// keepEnd and keepLine mark the end of the open document's last line
	// that is neither blank nor a comment in column 1: the comment block
	// after it, before the next "---", is the next document's header.
	keepEnd, keepLine int
}

func newSplitter(src []byte) *splitter {
	s := &splitter{src: src, line: 1}
	if bytes.HasPrefix(src, utf8BOM) {
		s.pos = len(utf8BOM)
	}
	return s
}

var utf8BOM = []byte("\xEF\xBB\xBF")

// newStreamSplitter is a splitter of the stream r, which it reads in pieces
// of at least streamPiece bytes as it goes: it holds the open document and
// one piece, never the whole stream. The documents it returns keep the
// window they were cut from; a window is never written again once a
// document points into it, so they stay valid after Next is called again.
// A read error ends the stream early; Err returns it.
func newStreamSplitter(r io.Reader) *splitter { return newPieceSplitter(r, streamPiece) }

// newPieceSplitter is newStreamSplitter reading piece bytes at a time.
func newPieceSplitter(r io.Reader, piece int) *splitter {
	s := &splitter{r: r, line: 1, piece: piece}
	for len(s.src) < len(utf8BOM) && s.more() {
	}
	if bytes.HasPrefix(s.src, utf8BOM) {
		s.pos = len(utf8BOM)
	}
	return s
}

// streamPiece is how much a stream splitter reads at a time, at least.
const streamPiece = 64 << 10

// Err returns the error that ended a stream splitter's reading, if any.
func (s *splitter) Err() error { return s.err }

// more moves a stream splitter's window on: a new window holds what the
// splitter may still cut from (the open document or prologue, else the
// next line) plus the next piece of the stream. It reports whether it read
// anything; false at the end of the stream, or always for a splitter of
// bytes in memory.
func (s *splitter) more() bool {
	if s.r == nil {
		return false
	}
	from := s.pos
	if s.open || s.havePro {
		from = min(from, s.start)
	}
	tail := s.src[from:]
	// At least twice the tail, so that a long document costs as many
	// windows as doublings, not one per piece.
	win := make([]byte, len(tail), max(2*len(tail), len(tail)+s.piece))
	copy(win, tail)
	for len(win) < cap(win) {
		n, err := s.r.Read(win[len(win):cap(win)])
		win = win[:len(win)+n]
		if err != nil {
			if err != io.EOF {
				s.err = err
			}
			s.r = nil
			break
		}
	}
	read := len(win) > len(tail)
	s.src = win
	s.pos -= from
	s.start -= from
	s.keepEnd -= from
	return read
}

// nextLine returns the line at s.pos without its terminator and advances.
func (s *splitter) nextLine() (text []byte, start int) {
	rest := s.src[s.pos:]
	i := bytes.IndexAny(rest, "\r\n")
	// A stream splitter reads on until the line ends, and past a CR to
	// see whether an LF follows.
	for (i < 0 || (rest[i] == '\r' && i+1 == len(rest))) && s.more() {
		rest = s.src[s.pos:]
		i = bytes.IndexAny(rest, "\r\n")
	}
	start = s.pos
	if i < 0 {
		s.pos = len(s.src)
		s.line++
		return rest, start
	}
	text = rest[:i]
	if rest[i] == '\r' && i+1 < len(rest) && rest[i+1] == '\n' {
		s.pos += i + 2
	} else {
		s.pos += i + 1
	}
	s.line++
	return text, start
}

// lineKind classifies a line for the splitter.
type lineKind int

const (
	lineBlank     lineKind = iota // empty, white space or a comment
	lineContent                   // anything else
	lineDirective                 // "%YAML 1.2" and the like
	lineStart                     // "---" with nothing after it but a comment
	lineStartData                 // "--- value"
	lineEnd                       // "..."
)

func classify(l []byte) lineKind {
	if len(l) >= 3 && (l[0] == '-' || l[0] == '.') && l[1] == l[0] && l[2] == l[0] &&
		(len(l) == 3 || l[3] == ' ' || l[3] == '\t') {
		if l[0] == '.' {
			return lineEnd
		}
		if blankOrComment(l[3:]) {
			return lineStart
		}
		return lineStartData
	}
	if len(l) > 0 && l[0] == '%' {
		return lineDirective
	}
	if blankOrComment(l) {
		return lineBlank
	}
	return lineContent
}

// headerLine reports whether l is blank or a comment starting in column 1:
// the lines that may form a header above a "---".
func headerLine(l []byte) bool {
	if len(l) > 0 && l[0] == '#' {
		return true
	}
	for _, c := range l {
		if c != ' ' && c != '\t' {
			return false
		}
	}
	return true
}

func blankOrComment(l []byte) bool {
	for _, c := range l {
		switch c {
		case ' ', '\t':
		case '#':
			return true
		default:
			return false
		}
	}
	return true
}

// Next returns the next document, or ok == false at the end of the stream.
func (s *splitter) Next() (d rawDoc, ok bool) {
	for !s.finished {
		if s.pos >= len(s.src) && !s.more() {
			s.finished = true
			if s.open {
				return s.cut(len(s.src)), true
			}
			return rawDoc{}, false
		}
		lineNo := s.line
		text, off := s.nextLine()
		k := classify(text)
		keep := func() {
			if !headerLine(text) {
				s.keepEnd, s.keepLine = s.pos, s.line
			}
		}
		if !s.open {
			switch k {
			case lineBlank, lineDirective, lineEnd:
				if !s.havePro {
					s.havePro, s.start, s.startLn = true, off, lineNo
				}
			case lineStart, lineStartData, lineContent:
				if !s.havePro {
					s.start, s.startLn = off, lineNo
				}
				s.havePro = false
				s.open = true
				s.content = k != lineStart
				keep()
			}
			continue
		}
		switch k {
		case lineStart, lineStartData:
			cutAt, startLn := off, lineNo
			if s.content && s.keepEnd < off {
				cutAt, startLn = s.keepEnd, s.keepLine
			}
			d = s.cut(cutAt)
			s.open, s.start, s.startLn = true, cutAt, startLn
			s.content = k == lineStartData
			keep()
			return d, true
		case lineEnd:
			d = s.cut(s.pos)
			s.open = false
			return d, true
		case lineContent, lineDirective:
			s.content = true
		}
		keep()
	}
	return rawDoc{}, false
}

// cut closes the open document at offset end.
func (s *splitter) cut(end int) rawDoc {
	s.index++
	data := s.src[s.start:end:end] // never appended to over what follows
	if bytes.IndexByte(data, '\r') >= 0 {
		data = toLF(data)
	}
	return rawDoc{Index: s.index, Line: s.startLn, Data: data, Empty: !s.content}
}

// toLF returns a copy of b with CRLF and lone CR line ends turned into LF.
func toLF(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c == '\r' {
			if i+1 < len(b) && b[i+1] == '\n' {
				continue
			}
			c = '\n'
		}
		out = append(out, c)
	}
	return out
}

// checkText reports why src cannot be read as UTF-8 YAML text, with the
// 1-based line and column of the first offending byte, or ok.
func checkText(src []byte) (msg string, line, col int, ok bool) {
	switch {
	case bytes.HasPrefix(src, []byte{0xFE, 0xFF}), bytes.HasPrefix(src, []byte{0xFF, 0xFE}):
		return "file is UTF-16 encoded; save it as UTF-8", 1, 1, false
	}
	if i := bytes.IndexByte(src, 0); i >= 0 {
		// Check UTF-8 validity before the NUL first: an earlier invalid byte
		// is the better report.
		if !utf8.Valid(src[:i]) {
			return checkText(src[:i])
		}
		line, col = position(src, i)
		return "file contains a NUL byte: it looks binary, not YAML text", line, col, false
	}
	if utf8.Valid(src) {
		return "", 0, 0, true
	}
	i := 0
	for i < len(src) {
		r, size := utf8.DecodeRune(src[i:])
		if r == utf8.RuneError && size == 1 {
			break
		}
		i += size
	}
	line, col = position(src, i)
	return fmt.Sprintf("file is not valid UTF-8 (byte 0x%02X): save it as UTF-8 text", src[i]), line, col, false
}

// position returns the 1-based line and character column of offset i.
func position(src []byte, i int) (line, col int) {
	line = 1
	ls := 0
	for j := 0; j < i; j++ {
		switch src[j] {
		case '\n':
			line++
			ls = j + 1
		case '\r':
			if j+1 < len(src) && src[j+1] == '\n' {
				continue
			}
			line++
			ls = j + 1
		}
	}
	if line == 1 && bytes.HasPrefix(src, utf8BOM) {
		ls = len(utf8BOM)
	}
	return line, utf8.RuneCount(src[ls:i]) + 1
}
