"""The execution unit (SPEC section 4): MAC array, on-demand K/V, integer softmax, requant, A.V."""
