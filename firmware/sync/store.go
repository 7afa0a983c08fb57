package sync

import (
	"bytes"
	gosync "sync"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// copyStore is paho's in-flight message store, in memory, keeping each
// packet encoded. paho's own MemoryStore keeps the packet pointer: on a
// reconnect its resume sets the DUP flag on a stored packet while the
// writer goroutine may be encoding that same packet (a data race the race
// detector reports under reconnects). Decoding a fresh copy on Get removes
// the sharing.
type copyStore struct {
	mu gosync.Mutex
	m  map[string][]byte
}

var _ mqtt.Store = (*copyStore)(nil)

func newCopyStore() *copyStore { return &copyStore{m: map[string][]byte{}} }

func (s *copyStore) Open()  {}
func (s *copyStore) Close() {}

func (s *copyStore) Put(key string, p packets.ControlPacket) {
	var b bytes.Buffer
	if err := p.Write(&b); err != nil {
		return // paho then treats the message as not stored; it is still in the outbox
	}
	s.mu.Lock()
	s.m[key] = b.Bytes()
	s.mu.Unlock()
}

func (s *copyStore) Get(key string) packets.ControlPacket {
	s.mu.Lock()
	b, ok := s.m[key]
	s.mu.Unlock()
	if !ok {
		return nil
	}
	p, err := packets.ReadPacket(bytes.NewReader(b))
	if err != nil {
		return nil
	}
	return p
}

func (s *copyStore) All() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]string, 0, len(s.m))
	for k := range s.m {
		keys = append(keys, k)
	}
	return keys
}

func (s *copyStore) Del(key string) {
	s.mu.Lock()
	delete(s.m, key)
	s.mu.Unlock()
}

func (s *copyStore) Reset() {
	s.mu.Lock()
	clear(s.m)
	s.mu.Unlock()
}
