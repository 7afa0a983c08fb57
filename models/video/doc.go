// Package video reads face clips into frames with true timestamps and
// writes the y4m and MJPEG AVI files livegate's tests and corpora use.
//
// Readers (Open picks one from the path):
//
//   - YUV4MPEG2 (.y4m): 8-bit 4:2:0 (C420, C420jpeg, C420paldv, C420mpeg2),
//     4:2:2, 4:4:4 and mono, limited or full range (XCOLORRANGE), read
//     natively;
//   - MJPEG AVI: a RIFF parser reads the frame rate from the stream header
//     (dwRate/dwScale, else avih's µs per frame) and decodes each JPEG frame;
//     OpenDML (AVIX) continuation chunks are followed;
//   - a folder of .jpg/.jpeg/.png frames in name order, timestamps from a
//     frame rate (Options.FPS);
//   - anything else through ffmpeg when it is installed, piped as y4m
//     (ErrNoFFmpeg otherwise). The product never needs ffmpeg: kiosks and
//     the cloud receive frames, not files.
//
// Every reader returns frames as packed RGB (imgproc.RGB) in one buffer that
// the next call overwrites, with a timestamp from the start of the clip.
// Sizes are checked against Options.MaxPixels from the headers before any
// pixel buffer is allocated; hostile input gives an error, never a panic.
//
// Writers: Y4MWriter (C420jpeg, BT.601 limited range — what Chromium's fake
// camera reads) and AVIWriter (MJPEG AVI with an idx1 index).
package video
