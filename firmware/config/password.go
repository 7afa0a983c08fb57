package config

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// hashIterations is the PBKDF2 work factor of new hashes.
const hashIterations = 200_000

type hash struct {
	iter int
	salt []byte
	key  []byte
}

// HashPassword returns the stored form of password:
// "pbkdf2-sha256$ITERATIONS$SALT$KEY" (salt and key in unpadded base64),
// with 200,000 iterations.
func HashPassword(password string) (string, error) {
	return HashPasswordCost(password, hashIterations)
}

// MinIterations is the lowest PBKDF2 iteration count accepted.
const MinIterations = 10_000

// HashPasswordCost is HashPassword with a chosen iteration count (at least
// MinIterations; tests use the minimum to stay fast).
func HashPasswordCost(password string, iterations int) (string, error) {
	if iterations < MinIterations {
		return "", fmt.Errorf("config: %d PBKDF2 iterations is below %d", iterations, MinIterations)
	}
	if len(password) < 8 {
		return "", errors.New("config: technician password must have at least 8 characters")
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("config: salt: %w", err)
	}
	key, err := pbkdf2.Key(sha256.New, password, salt, iterations, 32)
	if err != nil {
		return "", fmt.Errorf("config: pbkdf2: %w", err)
	}
	enc := base64.RawStdEncoding
	return fmt.Sprintf("pbkdf2-sha256$%d$%s$%s", iterations, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

func parseHash(s string) (hash, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 4 || parts[0] != "pbkdf2-sha256" {
		return hash{}, errors.New("not a pbkdf2-sha256$ITER$SALT$KEY hash")
	}
	iter, err := strconv.Atoi(parts[1])
	if err != nil || iter < MinIterations || iter > 10_000_000 {
		return hash{}, fmt.Errorf("iterations %q not within 10000–10000000", parts[1])
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[2])
	key, err2 := enc.DecodeString(parts[3])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) != 32 {
		return hash{}, errors.New("bad salt or key encoding")
	}
	return hash{iter: iter, salt: salt, key: key}, nil
}

// CheckPassword reports whether password matches the stored hash, comparing
// in constant time.
func CheckPassword(stored, password string) bool {
	h, err := parseHash(stored)
	if err != nil {
		return false
	}
	key, err := pbkdf2.Key(sha256.New, password, h.salt, h.iter, len(h.key))
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare(key, h.key) == 1
}
