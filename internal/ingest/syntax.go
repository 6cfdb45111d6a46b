package ingest

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// This file locates YAML syntax errors to the offending token, and quotes
// the source around a located problem.
//
// yaml.v3 decides whether a document is valid, but its errors carry only a
// line, often that of the enclosing collection rather than the offending
// token, and never a column. When (and only when) yaml.v3 has refused a
// document, relocate parses that one document again with
// github.com/goccy/go-yaml, whose errors point at a token, and takes the
// token's position when the two parsers agree on what and roughly where
// the error is. The success path never runs the second parser.

// maxRelocateBytes bounds the documents handed to the second parser; a
// larger broken document keeps yaml.v3's location.
const maxRelocateBytes = 256 << 10

// maxRelocateDepth bounds how deeply a document handed to the second
// parser may nest (the limit yaml.v3 has itself). goccy/go-yaml has no
// such limit and recurses per level, and a stack overflow is fatal, not a
// panic that can be recovered.
const maxRelocateDepth = 10000

// relocate refines se, a yaml.v3 error about data (one document), with the
// position goccy/go-yaml reports for the same document, when the two agree.
// It changes nothing when they do not, when goccy accepts the document,
// or when goccy fails without a position.
func relocate(se *syntaxError, data []byte, contextLine bool) {
	// libyaml counts NEL, LS and PS as line breaks and goccy does not, so
	// their lines could not be compared.
	if len(data) > maxRelocateBytes || hasExoticBreak(data) || nestingBound(data) > maxRelocateDepth {
		return
	}
	gl, gc, gmsg, ok := goccyError(data)
	if !ok || !agree(se, gl, gmsg, contextLine) {
		return
	}
	lines := splitLines(data)
	if gl > len(lines) {
		return
	}
	text := []rune(string(lines[gl-1]))
	if gc > len(text)+1 {
		return
	}
	// Point at the token itself, not the blanks before it.
	for gc <= len(text) && text[gc-1] == ' ' {
		gc++
	}
	se.Line, se.Column = gl, gc
	se.Msg = betterMessage(se.Msg, gmsg)
}

// nestingBound returns an upper bound on how deeply data may nest: every
// flow collection may open a level, and a block collection needs at least
// one more character of indentation, or of "- ", "? " or ": " indicators,
// at the start of a line than the one it is in.
func nestingBound(data []byte) int {
	flow := bytes.Count(data, []byte("[")) + bytes.Count(data, []byte("{"))
	block, lead, start := 0, 0, true
	for _, c := range data {
		switch {
		case c == '\n':
			lead, start = 0, true
		case start && (c == ' ' || c == '\t' || c == '-' || c == '?' || c == ':'):
			lead++
			block = max(block, lead)
		default:
			start = false
		}
	}
	return flow + block
}

// goccyError parses data with goccy/go-yaml and returns the position
// (1-based line and character column) and message of its error. ok is
// false when goccy accepts data, fails without a position, or panics.
func goccyError(data []byte) (line, col int, msg string, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			line, col, msg, ok = 0, 0, "", false
		}
	}()
	// Duplicate keys are not a syntax error to yaml.v3 (Ingest reports
	// them itself): let goccy go past them to the real error.
	_, err := parser.ParseBytes(data, 0, parser.AllowDuplicateMapKey())
	if err == nil {
		return 0, 0, "", false
	}
	var te interface {
		GetToken() *token.Token
		GetMessage() string
	}
	if !errors.As(err, &te) {
		return 0, 0, "", false
	}
	tk := te.GetToken()
	if tk == nil || tk.Position == nil || tk.Position.Line < 1 || tk.Position.Column < 1 {
		return 0, 0, "", false
	}
	return tk.Position.Line, tk.Position.Column, te.GetMessage(), true
}

// agree reports whether goccy's error, at line gl with message gmsg, is
// the one yaml.v3 reported in se. With contextLine, se.Line is where the
// collection being parsed starts (libyaml's context mark), so the offending
// token is on that line or after it; otherwise se.Line is the offending
// line itself.
func agree(se *syntaxError, gl int, gmsg string, contextLine bool) bool {
	if se.Line < 1 {
		return false
	}
	// Errors about anchors, aliases, tags and directives are goccy's own
	// opinions unless yaml.v3 complained about the same thing.
	for _, topic := range []string{"anchor", "alias", "tag", "directive", "version"} {
		if strings.Contains(gmsg, topic) && !strings.Contains(se.Msg, topic) {
			return false
		}
	}
	if !contextLine {
		return gl == se.Line
	}
	// An unclosed flow collection: both name the same bracket. libyaml
	// then reports the line of the bracket, or, when that is the first
	// line, the line it gave up on, which may be later than goccy's token.
	for _, closer := range []string{"']'", "'}'"} {
		if strings.Contains(se.Msg, closer) {
			return strings.Contains(gmsg, closer) || gl >= se.Line
		}
	}
	return gl >= se.Line
}

// betterMessage returns yaml.v3's message v3, made more specific with what
// goccy's message g adds, in the few cases where g says more.
func betterMessage(v3, g string) string {
	switch {
	case v3 == "found unexpected end of stream" && strings.Contains(g, "double-quoted"):
		return "found unexpected end of stream: the double-quoted string that starts here is not closed"
	case v3 == "found unexpected end of stream" && strings.Contains(g, "single-quoted"):
		return "found unexpected end of stream: the single-quoted string that starts here is not closed"
	case v3 == "found character that cannot start any token" && strings.Contains(g, "'\t'"):
		return "found a tab character, which cannot start any token: indent with spaces, not tabs"
	case v3 == "found character that cannot start any token" && strings.HasSuffix(g, "' is a reserved character"):
		c, _, _ := strings.Cut(strings.TrimPrefix(g, "'"), "'")
		if c == "@" || c == "`" {
			return "found character " + c + " that cannot start any token: it is reserved; quote the value"
		}
	}
	return v3
}

// splitLines splits data at LF, CRLF and lone CR, as the splitter does. A
// final line break ends the last line rather than starting an empty one.
func splitLines(data []byte) [][]byte {
	var lines [][]byte
	for len(data) > 0 {
		i := 0
		for i < len(data) && data[i] != '\n' && data[i] != '\r' {
			i++
		}
		lines = append(lines, data[:i])
		switch {
		case i == len(data):
			data = nil
		case data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n':
			data = data[i+2:]
		default:
			data = data[i+1:]
		}
	}
	return lines
}

// maxExcerptWidth is how many characters of a source line an excerpt
// shows at most; longer lines are clipped around the column.
const maxExcerptWidth = 120

// excerpt quotes data, a whole raw file, around line (1-based) and col
// (1-based, in characters): the line before, the line and the line after,
// where they exist, each prefixed with its right-aligned number and " | ",
// and, when col > 0, under the line in question a line with a caret under
// the column. A tab before
// the column is a tab in the caret line too, so that the caret lines up.
// Lines longer than about 120 characters are clipped around the column,
// with "…" where text was left out; control characters and invalid UTF-8
// are shown as visible placeholders, one per character. It returns "" when
// line is 0 or beyond the file. The lines are joined by "\n", without a
// final line break.
func excerpt(data []byte, line, col int) string {
	return excerptOf(fileLines(data), line, col)
}

// fileLines are the lines of data, a whole raw file, as excerpt counts them.
func fileLines(data []byte) [][]byte {
	data, _ = bytes.CutPrefix(data, utf8BOM)
	return splitLines(data)
}

// excerptOf is excerpt of the file whose fileLines are lines.
func excerptOf(lines [][]byte, line, col int) string {
	if line < 1 || line > len(lines) {
		return ""
	}
	first, last := max(line-1, 1), min(line+1, len(lines))
	width := len(strconv.Itoa(last))

	// The window of characters shown: all of them, or maxExcerptWidth
	// around the column of the line in question.
	target := []rune(string(lines[line-1]))
	if col > len(target)+1 {
		col = len(target) + 1
	}
	from := 0
	if n := len(target) + 1; n > maxExcerptWidth && col > 0 {
		from = max(0, min(col-1-maxExcerptWidth/2, n-maxExcerptWidth))
	}
	to := from + maxExcerptWidth

	var b strings.Builder
	for n := first; n <= last; n++ {
		if n > first {
			b.WriteByte('\n')
		}
		num := strconv.Itoa(n)
		b.WriteString(strings.Repeat(" ", width-len(num)) + num + " |")
		text := clipLine([]rune(string(lines[n-1])), from, to)
		if len(text) > 0 {
			b.WriteByte(' ')
			b.WriteString(string(text))
		}
		if n != line || col == 0 {
			continue
		}
		// The caret line, right under the line in question.
		b.WriteString("\n" + strings.Repeat(" ", width) + " | ")
		before := col - 1 - from
		if from > 0 {
			before++ // the leading "…"
		}
		for _, r := range text[:min(before, len(text))] {
			if r == '\t' {
				b.WriteByte('\t')
			} else {
				b.WriteByte(' ')
			}
		}
		b.WriteByte('^')
	}
	return b.String()
}

// clipLine returns the characters from..to of a line, made visible, with "…"
// where characters were left out on either side.
func clipLine(text []rune, from, to int) []rune {
	var out []rune
	if from > 0 {
		out = append(out, '…')
		if from >= len(text) {
			return out
		}
		text = text[from:]
		to -= from
	}
	cut := len(text) > to
	if cut {
		text = text[:to]
	}
	for _, r := range text {
		out = append(out, visible(r))
	}
	if cut {
		out = append(out, '…')
	}
	return out
}

// visible returns r, or a placeholder for it if it would be invisible or
// could upset a terminal: a control picture for C0 controls and DEL, and
// U+FFFD for C1 controls, line and paragraph separators, bidirectional
// formatting characters and invalid UTF-8.
func visible(r rune) rune {
	switch {
	case r == '\t':
		return r
	case r < 0x20:
		return 0x2400 + r
	case r == 0x7F:
		return 0x2421
	case r >= 0x80 && r <= 0x9F, r == 0x2028, r == 0x2029,
		r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069, r == 0x200E, r == 0x200F,
		r == 0xFEFF, r == utf8.RuneError:
		return utf8.RuneError
	}
	return r
}
