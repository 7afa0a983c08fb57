package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"livegate.dev/board"
)

func TestRun(t *testing.T) {
	tests := []struct {
		args    []string
		want    string
		wantErr error
	}{
		{args: []string{"list"}, want: "rk3588"},
		{args: []string{"show", "rpi5"}, want: `"name": "GPIO17"`},
		{args: []string{"report", "-require", "relay,camera,light ir", "sim"}, want: "light ir       loaded"},
		{args: []string{"report", "-require", "relay", "-camera-device", "/dev/video-none", "rpi4"}, wantErr: board.ErrMissing},
		{args: []string{"show", "pi3"}, wantErr: board.ErrUnknownBoard},
		{args: []string{"frobnicate"}, wantErr: errUsage},
		{args: nil, wantErr: errUsage},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		err := run(context.Background(), tt.args, &out)
		if !errors.Is(err, tt.wantErr) {
			t.Errorf("%v: err = %v, want %v", tt.args, err, tt.wantErr)
		}
		if !strings.Contains(out.String(), tt.want) {
			t.Errorf("%v: output lacks %q:\n%s", tt.args, tt.want, out.String())
		}
	}
}
