package icao_test

import (
	"fmt"
	"os"

	"livegate.dev/models/face"
	"livegate.dev/models/icao"
	"livegate.dev/models/imgproc"
)

// Make the 480×600 portrait of a frame and print the requirements it misses.
// In a session, use the liveness analyzer's BestFrame (image and mesh).
func ExampleMake() {
	img, err := imgproc.DecodeFile("frame.jpg")
	if err != nil {
		fmt.Println(err)
		return
	}
	det, err := face.NewDetector(face.DetectorOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer det.Close()
	lmk, err := face.NewLandmarker(face.LandmarkerOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer lmk.Close()
	faces, err := det.Detect(img)
	if err != nil || len(faces) == 0 {
		fmt.Println("no face", err)
		return
	}
	var mesh face.Landmarks
	if err := lmk.Detect(img, faces[0], &mesh); err != nil {
		fmt.Println(err)
		return
	}
	photo, err := icao.Make(img, &mesh)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range photo.Report.Requirements {
		if !r.Met {
			fmt.Printf("%s: %v (want %s): %s\n", r.Name, r.Value, r.Want, r.Why)
		}
	}
	_ = os.WriteFile("portrait.jpg", photo.JPEG, 0o644)
}
