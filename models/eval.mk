# The liveness evaluation gate: generate a small labelled corpus from the
# real media (made attacks of every species included, each made against one
# of the analyzer's cues) and run it through the analyzer in passive mode
# with the light sequence emitted (faces lit by the reflection model, prints
# and cut-outs reflecting as paper, screens as glass, injected streams not
# at all) and in active mode; fail if any attack species is accepted (APCER
# must be 0) or the BPCER exceeds 10 %. Passive without light is reported, not
# gated: a full-frame screen replay on a stand can pass it. The eye-hole mask
# (a printed face with the wearer's real eyes showing through) is left out of
# the gate: the analyzer does not stop it (docs/evaluation.md) — the corpus
# still makes it, and the evaluation reports it.
EVAL_OPEN_SPECIES ?= eyehole_mask
#   make test-liveness-eval                     run the gate (seeds 1 and 2)
#   EVAL_SEEDS="1 2 3" make test-liveness-eval  run it on other seeds' corpora
#   EVAL_KEEP=DIR make test-liveness-eval       keep the corpora (DIR/seed-N) and DET curves
#
# In `make test` it runs on two seeds' corpora: both took 3.6 minutes of CPU
# (generation and evaluation) and 3 min 54 s of wall time on the shared
# 2-core machine under a load of 5 (about 2 minutes when idle). Seed 3 passes
# too (docs/evaluation.md); EVAL_SEEDS=1 keeps one seed when time is short.
TEST_EXTRA += test-liveness-eval

EVAL_SEEDS ?= 1 2

.PHONY: test-liveness-eval

test-liveness-eval:
	@mkdir -p bin
	@cd models && $(GO) build -o ../bin/ ./cmd/livegate-face
	@root=$${EVAL_KEEP:-$$(mktemp -d)}; rc=0; \
	  for s in $(EVAL_SEEDS); do \
	    dir=$$root/seed-$$s; \
	    echo "liveness evaluation gate: small corpus, seed $$s"; \
	    bin/livegate-face corpus --out $$dir --size small --seed $$s && \
	    bin/livegate-face eval --gate --conditions passive-light,active --skip-species $(EVAL_OPEN_SPECIES) --max-bpcer 0.10 --workers 2 $$dir || rc=1; \
	  done; \
	  if [ -z "$$EVAL_KEEP" ]; then rm -rf $$root; fi; exit $$rc
