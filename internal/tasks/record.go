package tasks

import (
	"encoding/json"
	"fmt"
	"hash/crc32"
	"hash/fnv"
	"reflect"
	"strconv"
	"strings"
)

// A job record's data field is the Job as json.Marshal encodes it, which is also what the API
// returns; so a status read can send the stored bytes as they are, without decoding and
// encoding them again (Service.JobJSON), as long as the bytes were encoded from the same Job
// type the reader has. Records written by another version of fabsync, during a rolling
// upgrade or from before this field existed, may lack fields or hold other ones: such a record
// is decoded and encoded again. The record's format field says who wrote data: the layout of
// the writer's Job type and a checksum of data itself, so that a record a version without the
// field updated afterwards (its format field left from an earlier write) does not pass for one.

// recordLayout identifies the JSON layout of the Job this binary writes: a hash of the Go types
// behind it (field names, JSON tags, kinds), with a version to bump if the encoding changes in
// a way the types do not show.
var recordLayout = "1." + layoutHash(reflect.TypeFor[Job]())

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// stamp is the format field of a record whose data this binary encoded.
func stamp(data []byte) string {
	return recordLayout + ":" + strconv.FormatUint(uint64(crc32.Checksum(data, castagnoli)), 16)
}

// layoutHash hashes the names, JSON tags and kinds of the fields of t and of the types it is
// made of. A type that encodes itself (time.Time) counts by its name only.
func layoutHash(t reflect.Type) string {
	var desc strings.Builder
	seen := map[reflect.Type]bool{}
	marshaler := reflect.TypeFor[json.Marshaler]()
	var walk func(reflect.Type)
	walk = func(t reflect.Type) {
		fmt.Fprintf(&desc, "%s %s;", t, t.Kind())
		if seen[t] || t.Implements(marshaler) || reflect.PointerTo(t).Implements(marshaler) {
			return
		}
		seen[t] = true
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Array:
			walk(t.Elem())
		case reflect.Map:
			walk(t.Key())
			walk(t.Elem())
		case reflect.Struct:
			for i := range t.NumField() {
				f := t.Field(i)
				fmt.Fprintf(&desc, "%s %q;", f.Name, f.Tag.Get("json"))
				walk(f.Type)
			}
		}
	}
	walk(t)
	h := fnv.New64a()
	_, _ = h.Write([]byte(desc.String()))
	return strconv.FormatUint(h.Sum64(), 16)
}
