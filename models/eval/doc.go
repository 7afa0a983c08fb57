// Package eval runs a labelled corpus (package corpus) through the liveness
// analyzer and reports presentation attack detection figures in the terms of
// ISO/IEC 30107-3: APCER per attack species (the share of attack samples of
// that species accepted, reported worst first), BPCER (the share of bona
// fide samples rejected, split by bona fide kind), ACER (the mean of the
// worst species' APCER and BPCER) at the operating threshold, and a DET
// curve (APCER against BPCER as the threshold moves) drawn as a PNG.
//
// A sample is accepted when the verdict's confidence reaches the threshold
// (0.70, the analyzer's pass threshold, by default). Each sample runs in the
// mode its label names, with the label's challenges, camera and seed.
// Options.Conditions evaluates the corpus under several conditions
// (labelled, passive, passive-light, active) with figures per condition:
// under passive-light the analyzer's light sequence is emitted and the
// frames are lit by the reflection model of package lightsim as the thing
// in front of the camera would reflect it (skin, paper, screen glass,
// nothing for injected streams). Labelled "follow" samples are lit the same
// way. Options.LightSweep evaluates the bona fide passive samples at several
// reflection strengths and finds the weakest at which BPCER stays low.
// Report.Gate lists the figures above the gate's limits.
package eval
