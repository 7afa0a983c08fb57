package artifact_test

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"io"
	"time"

	"livegate.dev/ota/artifact"
	"livegate.dev/ota/sign"
)

// A release engineer signs a payload; a device opens the artifact with its
// baked-in root keys and its own board, architecture and version.
func Example() {
	root, _ := sign.GenerateRootKey() // offline
	sk, _ := sign.GenerateSigningKey()
	created := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	sk.Cert, _ = root.Certify(sk.Public(), 1, created.Add(-time.Hour), created.AddDate(0, 3, 0))

	payload := []byte("rootfs image")
	size, sum, _ := artifact.HashPayload(bytes.NewReader(payload))
	m := &artifact.Manifest{
		Format: artifact.ManifestFormat, Kind: artifact.KindFirmware, Version: "1.2.0",
		Boards: []string{"rpi5"}, Archs: []string{"arm64"}, MinVersion: "1.0.0",
		PayloadSize: size, PayloadSHA256: sum, Notes: "faster liveness", Created: created,
	}
	var file bytes.Buffer
	if err := artifact.Write(&file, m, bytes.NewReader(payload), sk, nil); err != nil {
		fmt.Println(err)
		return
	}

	trust, _ := sign.NewTrust([]ed25519.PublicKey{root.Public()}, func() time.Time { return created.Add(time.Hour) })
	device := artifact.Target{Kind: artifact.KindFirmware, Board: "rpi5", Arch: "arm64", Current: artifact.MustVersion("1.1.0")}
	r, err := artifact.Open(bytes.NewReader(file.Bytes()), trust, device)
	if err != nil {
		fmt.Println("refused:", artifact.Reason(err))
		return
	}
	got, err := io.ReadAll(r) // io.EOF only once size and SHA-256 matched
	fmt.Println(r.Manifest.Version, string(got), err)

	// The same artifact on a Raspberry Pi 4 is refused before any payload byte.
	device.Board = "rpi4"
	_, err = artifact.Open(bytes.NewReader(file.Bytes()), trust, device)
	fmt.Println("refused:", artifact.Reason(err))
	// Output:
	// 1.2.0 rootfs image <nil>
	// refused: wrong-board
}
