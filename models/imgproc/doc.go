// Package imgproc turns camera frames and image files into model input tensors.
//
// Images are held as packed 8-bit RGB (type RGB). Decode reads JPEG and PNG with
// a pixel limit checked from the header before any pixel buffer is allocated;
// YUYVToRGB and CopyRGB24 convert raw camera frames into a reusable RGB buffer.
// Letterbox and Warp sample an RGB image into a caller-owned float32 NHWC tensor
// (value range chosen with a Norm), so a steady stream of frames of the same
// size allocates nothing.
package imgproc
