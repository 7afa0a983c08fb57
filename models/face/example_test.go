package face_test

import (
	"fmt"
	"log"

	"livegate.dev/models/face"
	"livegate.dev/models/imgproc"
)

// Detect faces, compute the mesh and pose of the best one, and compare it
// with a reference embedding.
func Example() {
	det, err := face.NewDetector(face.DetectorOptions{Range: face.ShortRange})
	if err != nil {
		log.Fatal(err) // e.g. models missing: run `make setup`
	}
	defer det.Close()
	mesh, err := face.NewLandmarker(face.LandmarkerOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer mesh.Close()
	emb, err := face.NewEmbedder(face.EmbedderOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer emb.Close()

	img, err := imgproc.DecodeFile("selfie.jpg")
	if err != nil {
		log.Fatal(err)
	}
	faces, err := det.Detect(img)
	if err != nil || len(faces) == 0 {
		log.Fatal("no face")
	}
	var lm face.Landmarks
	if err := mesh.Detect(img, faces[0], &lm); err != nil {
		log.Fatal(err)
	}
	m := face.Measure(&lm)
	fmt.Printf("yaw %.0f° pitch %.0f° roll %.0f°, eyes %.2f/%.2f\n", m.Yaw, m.Pitch, m.Roll, m.RightEye, m.LeftEye)

	vec := make([]float32, face.EmbeddingSize)
	if err := emb.Embed(img, face.AlignLandmarks(&lm), vec); err != nil {
		log.Fatal(err)
	}
	var reference []float32 // from an earlier, verified capture
	if reference != nil && face.Cosine(vec, reference) >= face.DefaultMatchThreshold {
		fmt.Println("same person")
	}
}

// A camera loop: convert each YUYV frame in place and track the face with
// the mesh, re-detecting only when it is lost.
func ExampleLandmarker_DetectROI() {
	det, err := face.NewDetector(face.DetectorOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer det.Close()
	mesh, err := face.NewLandmarker(face.LandmarkerOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer mesh.Close()
	var rgb imgproc.RGB
	var lm face.Landmarks
	tracking := false
	frames := make(chan []byte) // YUYV 640×480 frames from the camera driver
	close(frames)
	for yuyv := range frames {
		if err := imgproc.YUYVToRGB(&rgb, yuyv, 640, 480); err != nil {
			continue
		}
		if tracking {
			if err := mesh.DetectROI(&rgb, face.ROIFromLandmarks(&lm), &lm); err == nil && lm.Presence > 0.5 {
				continue
			}
		}
		faces, err := det.Detect(&rgb)
		tracking = err == nil && len(faces) > 0 && mesh.Detect(&rgb, faces[0], &lm) == nil
	}
}
