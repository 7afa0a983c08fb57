package captcha_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"livegate.dev/cloud/internal/captcha"
)

// A challenge is issued, solved (as the start page's worker does) and
// spent once.
func Example() {
	pow, err := captcha.NewPoW(captcha.PoWConfig{Secret: bytes.Repeat([]byte{1}, 32), MaxNumber: 1000})
	if err != nil {
		panic(err)
	}
	ch, err := pow.NewChallenge("")
	if err != nil {
		panic(err)
	}
	header, _, err := captcha.Solve(context.Background(), ch)
	if err != nil {
		panic(err)
	}
	fmt.Println("first use:", pow.Verify(context.Background(), header, ""))
	fmt.Println("replayed:", errors.Is(pow.Verify(context.Background(), header, ""), captcha.ErrReplayed))
	// Output:
	// first use: <nil>
	// replayed: true
}
