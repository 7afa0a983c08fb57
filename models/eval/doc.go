// Package eval runs a labelled corpus (package corpus) through the liveness
// analyzer and reports presentation attack detection figures in the terms of
// ISO/IEC 30107-3: APCER per attack species (the share of attack samples of
// that species accepted), BPCER (the share of bona fide samples rejected),
// ACER (the mean of the worst species' APCER and BPCER) at the operating
// threshold, and a DET curve (APCER against BPCER as the threshold moves)
// drawn as a PNG.
//
// A sample is accepted when the verdict's confidence reaches the threshold
// (0.70, the analyzer's pass threshold, by default). Each sample runs in the
// mode its label names, with the label's challenges and seed; light-response
// samples are fed the light the analyzer asks for, and a "follow" sample's
// frames are tinted with that light as a live face would be.
package eval
