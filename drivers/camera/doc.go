// Package camera provides frame sources that need no camera: File plays a
// recording (a y4m file, an MJPEG stream file, a folder of JPEG or PNG
// images, or — through an ffmpeg child process — an .mp4/.webm/.mkv/.avi/
// .mov video) at the file's own frame rate on an injected clock, stamping each
// frame with the time it was delivered; Synthetic generates a deterministic
// moving pattern, optionally with a face-like shape whose colour follows the
// illumination LEDs. Both satisfy drivers.FrameSource; the V4L2 camera is in
// package v4l2. Y4MWriter records frames as y4m.
package camera
