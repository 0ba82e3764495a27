// Package hugepage makes slices for data read at random, such as the
// placement index's hot arrays (grid/index), on transparent huge pages
// where the kernel allows it, so that those reads miss the TLB far less
// often. It holds no state and needs no database; on systems other than
// Linux Make is plain make.
package hugepage

// Size is the size of a transparent huge page on amd64 and arm64: 2 MiB.
// Make aligns slices of at least this many bytes to it.
const Size = 2 << 20
