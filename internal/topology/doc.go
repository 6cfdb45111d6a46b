// Package topology draws a Hedgehog fabric's wiring as SVG, with its own
// layered layout: spines on top, leaves below them (redundancy pairs side by
// side in a box), and the servers and gateways below the leaves they are
// wired to; rows wrap to a bounded width.
//
// Build reads the Switch, Server, Gateway and Connection documents it is
// handed into a Graph; (*Graph).SVG lays the graph out and renders it. Both
// are pure: the package does no I/O, reads no clock and knows nothing of
// files, repositories, queues or HTTP. Documents it cannot draw are left
// out, never a panic, and the output is byte-stable for the same input.
package topology
