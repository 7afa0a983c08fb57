package outbox_test

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"livegate.dev/firmware/outbox"
)

func Example() {
	dir, _ := os.MkdirTemp("", "outbox")
	defer os.RemoveAll(dir)
	ob, err := outbox.Open(filepath.Join(dir, "outbox.db"), outbox.Options{MaxEntries: 1000})
	if err != nil {
		panic(err)
	}
	defer ob.Close()
	// Durable before the gate opens.
	if _, err := ob.Append("msg_1", time.Now(), []byte(`{"v":1}`)); err != nil {
		panic(err) // outbox.ErrFull: refuse new sessions until acks free space
	}
	es, _ := ob.After(0, 10)    // drain in order on connect
	n, _ := ob.Delete(es[0].ID) // on the cloud's Ack
	fmt.Println(len(es), n, ob.Stats().Entries)
	// Output: 1 1 0
}
