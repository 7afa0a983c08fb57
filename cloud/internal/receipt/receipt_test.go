package receipt

import (
	"errors"
	"testing"
	"time"

	"livegate.dev/cloud/internal/core"
)

func trail(t *testing.T, s *Signer, n int) []*core.DeletionReceipt {
	t.Helper()
	var out []*core.DeletionReceipt
	var prev *core.DeletionReceipt
	for i := range n {
		r := &core.DeletionReceipt{ID: core.NewID("del", time.Now()), TenantID: "ten_1", SessionID: "ses_" + string(rune('a'+i)),
			Scope: core.ScopeAll, Deleted: []string{core.DeletedPhoto}, Reason: "request", By: "key_1", At: time.Unix(int64(i), 0).UTC(),
			Status: core.StatusCompleted}
		if err := s.Seal(r, prev); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
		prev = r
	}
	return out
}

func TestVerifyChain(t *testing.T) {
	s, err := NewSigner(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewSigner([]byte("another key, another key, anothe"))
	good := trail(t, s, 3)
	if err := VerifyChain(s.PublicKey(), nil, good); err != nil {
		t.Fatal(err)
	}
	if err := VerifyChain(s.PublicKey(), good[0], good[1:]); err != nil {
		t.Fatalf("a page after the first: %v", err)
	}
	for _, c := range []struct {
		name   string
		mutate func([]*core.DeletionReceipt) []*core.DeletionReceipt
		want   error
	}{
		{"entry removed", func(r []*core.DeletionReceipt) []*core.DeletionReceipt { return []*core.DeletionReceipt{r[0], r[2]} }, ErrChain},
		{"entries swapped", func(r []*core.DeletionReceipt) []*core.DeletionReceipt {
			return []*core.DeletionReceipt{r[1], r[0], r[2]}
		}, ErrChain},
		{"reason changed", func(r []*core.DeletionReceipt) []*core.DeletionReceipt { r[1].Reason = "routine"; return r }, ErrHash},
		{"deleted list changed", func(r []*core.DeletionReceipt) []*core.DeletionReceipt {
			r[2].Deleted = append(r[2].Deleted, core.DeletedUserID)
			return r
		}, ErrHash},
		{"rehashed without the key", func(r []*core.DeletionReceipt) []*core.DeletionReceipt {
			r[0].Reason = "routine"
			r[0].Hash, _ = Hash(r[0])
			return r
		}, ErrSignature},
		{"signed by another key", func(r []*core.DeletionReceipt) []*core.DeletionReceipt {
			other.Seal(r[0], nil)
			return r
		}, ErrKey},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := VerifyChain(s.PublicKey(), nil, c.mutate(trail(t, s, 3)))
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

func TestCanonicalIsSortedCompact(t *testing.T) {
	got, err := CanonicalJSON([]byte(`{"b": 1, "a": "x<y&z", "c": [2, 1], "signature": "s"}`), "signature")
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"a":"x<y&z","b":1,"c":[2,1]}`; string(got) != want {
		t.Fatalf("canonical %s, want %s", got, want)
	}
}
