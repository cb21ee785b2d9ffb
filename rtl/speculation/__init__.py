"""The speculation unit (SPEC section 3): LOE, PEA, PEB / MRSA, DDF, the projector and LAPA's predictor."""
