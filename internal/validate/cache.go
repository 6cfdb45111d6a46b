package validate

import (
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"strconv"
	"sync"
)

// Cache keeps compiled Validators by the content of their Config, so that
// CRD files are compiled once per change, however many jobs use them. The
// zero value is ready to use; it is safe for concurrent use.
type Cache struct {
	mu sync.Mutex
	m  map[[32]byte]*cached
}

type cached struct {
	v   *Validator
	err error
}

// maxCached bounds the Validators a Cache keeps; when full it starts over.
const maxCached = 64

// Get returns the Validator for cfg, compiling it only when no Config with
// the same content (CRD names and bytes, strict, disabled rules) was
// compiled before. A *ConfigError is cached too.
func (c *Cache) Get(cfg Config) (*Validator, error) {
	key := configKey(cfg)
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[key]; ok {
		return e.v, e.err
	}
	v, err := New(cfg)
	if c.m == nil || len(c.m) >= maxCached {
		c.m = map[[32]byte]*cached{}
	}
	c.m[key] = &cached{v, err}
	return v, err
}

func configKey(cfg Config) [32]byte {
	h := sha256.New()
	field := func(b []byte) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	field([]byte(strconv.Itoa(len(cfg.CRDs))))
	for _, f := range cfg.CRDs {
		field([]byte(f.Name))
		field(f.Data)
	}
	if cfg.Strict {
		field([]byte("strict"))
	} else {
		field([]byte("lenient"))
	}
	disable := slices.Clone(cfg.Disable)
	slices.Sort(disable)
	for _, d := range disable {
		field([]byte("-" + d))
	}
	var key [32]byte
	h.Sum(key[:0])
	return key
}
