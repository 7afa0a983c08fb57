// Package replay records one liveness.Analyzer run so that it can be
// replayed later to exactly the verdict its producer got ("one verdict
// everywhere": a support engineer replays a customer's stored session with
// `livegate-face replay FILE`).
//
// A recording holds what decides a verdict and nothing else: the
// configuration that matters for the decision, including the light plan
// and the challenge plan the analyzer actually used (Analyzer.LightSequence
// and Analyzer.Challenges, which are random draws on a live session), every
// frame exactly as it was passed to Analyzer.Feed (timestamp, the light
// reported with it, the image bytes or pixels) and, at the end, the verdict
// the producer got. Frames a producer dropped before the analyzer (rate
// caps, a busy engine) are not in it; frames the analyzer refused (bad
// frames, timestamps that do not increase) are, because they count as
// injection evidence.
//
// The package does no I/O of its own: a Writer writes to an io.Writer as
// the session runs (memory does not grow with the session), a Reader reads
// frame by frame from an io.Reader, and Replay feeds a fresh Analyzer built
// from the recorded configuration and returns both verdicts.
//
// # Format, version 1
//
// All integers are big-endian.
//
//	file    = magic version header frame* trailer
//	magic   = "LGREPLAY"                      8 bytes
//	version = uint16                          1
//	record  = kind uint8, length uint32, payload [length]byte,
//	          crc uint32 (CRC-32C, Castagnoli, of kind and payload)
//	header  = record of kind 'H': JSON of Header (at most 1 MiB)
//	frame   = record of kind 'F': a frame (at most MaxFrameBytes of payload)
//	trailer = record of kind 'T': JSON of Trailer (at most 1 MiB)
//
// A frame's payload:
//
//	timestamp int64     Frame.Timestamp in nanoseconds
//	flags     uint8     bit 0: a light was reported
//	light     4×float64 R, G, B, Intensity as IEEE 754 bits (only with bit 0)
//	encoding  uint8     0: no image; 1: encoded bytes (Frame.JPEG as fed:
//	                    JPEG or PNG) to the end of the payload; 2: pixels
//	                    (Frame.Image, fed decoded, as a kiosk does)
//	pixels    (encoding 2) width uint32, height uint32, count uint32 (the
//	          length of Image.Pix), then Image.Pix compressed with DEFLATE
//	          (RFC 1951), each byte stored as its difference modulo 256 from
//	          the byte three before it (the first three as they are)
//
// Pixels are kept losslessly: a decoded frame re-encoded as JPEG would not
// give the same measures. The trailer repeats the number of frames written,
// so a record lost in the middle is found as well as a file cut short.
//
// Readers refuse a file they cannot trust with a sentinel error: not a
// recording (ErrNotRecording), another format version (ErrVersion), cut
// short anywhere before the end of the trailer (ErrTruncated), a record
// larger than its limit (ErrFrameTooLarge), or a checksum, record kind,
// field or frame count that does not add up (ErrCorrupt).
//
// # What must match
//
// Replayed with the same models on the same CPU architecture, the verdict,
// the reason codes and every layer's score are identical (Summary.Matches
// allows 1e-9 on the confidence, the printed precision). ONNX Runtime gives
// slightly different floats on arm64 and amd64, so a session recorded on a
// kiosk and replayed on a server may differ in the last digits of its
// scores, and a verdict whose confidence sits at a threshold may flip;
// Header.Arch says where a recording was made.
package replay
