package core

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"sync"
	"time"
)

// crockford is the alphabet of identifiers: sortable, no ambiguous letters.
var crockford = base32.NewEncoding("0123456789ABCDEFGHJKMNPQRSTVWXYZ").WithPadding(base32.NoPadding)

var idMu sync.Mutex
var idLast [16]byte

// NewID returns prefix + "_" + a 26-character time-ordered identifier: 48 bits
// of Unix milliseconds then 80 random bits (a ULID). Identifiers made later
// sort after earlier ones, so store keys append rather than scatter; within
// one millisecond the random part is incremented so order is still strict in
// this process.
func NewID(prefix string, now time.Time) string {
	var b [16]byte
	ms := uint64(now.UnixMilli())
	binary.BigEndian.PutUint64(b[:8], ms<<16)
	idMu.Lock()
	if binary.BigEndian.Uint64(idLast[:8])>>16 == ms {
		// Same millisecond: increment the previous random part.
		copy(b[6:], idLast[6:])
		for i := 15; i >= 6; i-- {
			b[i]++
			if b[i] != 0 {
				break
			}
		}
	} else if _, err := rand.Read(b[6:]); err != nil {
		idMu.Unlock()
		panic("core: crypto/rand failed: " + err.Error())
	}
	idLast = b
	idMu.Unlock()
	return prefix + "_" + crockford.EncodeToString(b[:])[:26]
}

// NewSecret returns prefix + 32 random bytes in unpadded base64url (256 bits).
func NewSecret(prefix string) string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("core: crypto/rand failed: " + err.Error())
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// HashSecret is how every bearer secret (API key, session token, client
// token) is stored: SHA-256 of the full string. The secrets carry 256 bits
// of entropy, so a fast hash is safe and allows lookup by hash.
func HashSecret(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// SecretMatches reports in constant time whether secret hashes to hash.
func SecretMatches(secret string, hash []byte) bool {
	h := HashSecret(secret)
	return len(hash) == len(h) && subtle.ConstantTimeCompare(h, hash) == 1
}
