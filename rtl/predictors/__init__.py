"""The predictor slot and the predictors generated into it (SPEC section 8: dense, sanger, topk, symlo)."""
