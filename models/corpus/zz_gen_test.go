package corpus

import (
	"context"
	"os"
	"testing"
)

func TestZZGen(t *testing.T) {
	out := os.Getenv("GEN_OUT")
	if out == "" {
		t.Skip()
	}
	labels, err := Generate(context.Background(), Options{Out: out, Size: os.Getenv("GEN_SIZE"), Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d labels", len(labels))
}
