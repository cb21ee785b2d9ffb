"""LAPA accelerator generator: shared configuration and vector-file handling."""
