"""The bus side: AXI, DMA, data fetcher, write-back, registers, job control and sequencing."""
