package receipt_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/receipt"
)

// Verifying a deletion receipt as an integrator does, from the JSON the
// API answered and the public key of GET /v1/deletion-keys: drop
// "signature", sort the keys, no whitespace, check Ed25519; drop "hash" too
// and the SHA-256 is the receipt's hash, which the next receipt of the
// trail carries as prev_hash.
func Example() {
	// The server side (here with a fixed key, to print stable output).
	signer, _ := receipt.NewSigner([]byte("0123456789abcdef0123456789abcdef"))
	pass := core.VerdictPass
	r := &core.DeletionReceipt{ID: "del_01", TenantID: "ten_1", SessionID: "ses_1", Scope: core.ScopeAll,
		Deleted: []string{core.DeletedPhoto, core.DeletedUserID}, Reason: "erasure request #4411", By: "key_1",
		At: time.Date(2026, 12, 7, 21, 0, 0, 0, time.UTC), Status: core.StatusCompleted, Verdict: &pass}
	if err := signer.Seal(r, nil); err != nil {
		panic(err)
	}
	body, _ := json.Marshal(r)                                         // what POST …/redact answers
	pubB64 := base64.RawURLEncoding.EncodeToString(signer.PublicKey()) // what GET /v1/deletion-keys answers

	// The integrator's side: the JSON only, no livegate types.
	var obj map[string]any
	if err := json.Unmarshal(body, &obj); err != nil {
		panic(err)
	}
	sig, _ := base64.RawURLEncoding.DecodeString(obj["signature"].(string))
	pub, _ := base64.RawURLEncoding.DecodeString(pubB64)
	signed, _ := receipt.CanonicalJSON(body, "signature") // = json.dumps(obj, sort_keys=True, separators=(",", ":")) in Python
	fmt.Println("signature valid:", ed25519.Verify(pub, signed, sig))
	hashed, _ := receipt.CanonicalJSON(body, "signature", "hash")
	sum := sha256.Sum256(hashed)
	fmt.Println("hash matches:", hex.EncodeToString(sum[:]) == obj["hash"])
	fmt.Println("first of the trail:", obj["seq"], obj["prev_hash"] == receipt.Genesis)

	// Any change breaks it.
	obj["reason"] = "routine cleanup"
	forged, _ := json.Marshal(obj)
	signed, _ = receipt.CanonicalJSON(forged, "signature")
	fmt.Println("forged valid:", ed25519.Verify(pub, signed, sig))
	// Output:
	// signature valid: true
	// hash matches: true
	// first of the trail: 1 true
	// forged valid: false
}
