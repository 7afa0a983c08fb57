package broker

import (
	"strings"
	"testing"

	"livegate.dev/proto"
)

func TestDeviceMay(t *testing.T) {
	tests := []struct {
		id, kind, dev string
		write, ok     bool
	}{
		{"k1", proto.TopicSessions, "k1", true, true},
		{"k1", proto.TopicStatus, "k1", true, true},
		{"k1", proto.TopicTelemetry, "k1", true, true},
		{"k1", proto.TopicCommandsResp, "k1", true, true},
		{"k1", proto.TopicAcks, "k1", true, false},
		{"k1", proto.TopicCommands, "k1", true, false},
		{"k1", proto.TopicAcks, "k1", false, true},
		{"k1", proto.TopicCommands, "k1", false, true},
		{"k1", proto.TopicSessions, "k1", false, false},
		{"k1", proto.TopicSessions, "k2", true, false},
		{"k1", proto.TopicAcks, "k2", false, false},
	}
	for _, tt := range tests {
		if got := DeviceMay(tt.id, proto.Topic(tt.dev, tt.kind), tt.write); got != tt.ok {
			t.Errorf("DeviceMay(%s, %s of %s, write=%v) = %v", tt.id, tt.kind, tt.dev, tt.write, got)
		}
	}
	for _, f := range []string{proto.DeviceFilter("k1"), proto.AllDevices(proto.TopicAcks), "#", "livegate/v1/devices/k1/+"} {
		if DeviceMay("k1", f, false) || DeviceMay("k1", f, true) {
			t.Errorf("wildcard filter %q allowed", f)
		}
	}
}

func TestMosquittoFiles(t *testing.T) {
	acl := MosquittoACL(ServiceUser)
	for _, want := range []string{"user " + ServiceUser, "pattern write livegate/v1/devices/%u/sessions", "pattern read livegate/v1/devices/%u/acks"} {
		if !strings.Contains(acl, want) {
			t.Errorf("ACL lacks %q:\n%s", want, acl)
		}
	}
	if strings.Contains(acl, "pattern read livegate/v1/devices/%u/sessions") || strings.Contains(acl, "pattern write livegate/v1/devices/%u/acks") {
		t.Errorf("ACL grants too much:\n%s", acl)
	}
	conf := MosquittoConf(MosquittoOptions{Port: 8883})
	for _, want := range []string{"max_queued_messages 20000", "allow_anonymous false", "listener 8883 127.0.0.1"} {
		if !strings.Contains(conf, want) {
			t.Errorf("conf lacks %q", want)
		}
	}
}
