// The design's port names as Verilator spells them: Amaranth names a port of the `axi` bus
// `axi__araddr`, and Verilator escapes a double underscore as `___05F`.
#pragma once

#define AXI(sig) axi___05F##sig
#define AXIL(sig) axil___05F##sig
