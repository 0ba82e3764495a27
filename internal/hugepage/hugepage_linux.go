package hugepage

import (
	"syscall"
	"unsafe"
)

// Make returns make([]T, n, c), placed so that the whole 2 MiB pages in
// it are backed by transparent huge pages where the kernel allows them
// for regions that ask (THP "madvise" or "always"). The placement index
// reads its hot arrays at random, and over 4 KiB pages most of those
// reads also miss the TLB: on the development machine (a VM), dependent
// random reads over 4 MiB took 125 ns each on 4 KiB pages and 24 ns on
// huge pages (a scratch pointer chase). Small slices, and element sizes that do not
// divide a huge page, are made as usual. T must hold no pointers.
func Make[T any](n, c int) []T {
	var zero T
	size := int(unsafe.Sizeof(zero))
	if size == 0 || Size%size != 0 || c*size < Size {
		return make([]T, n, c)
	}
	per := Size / size
	buf := make([]T, c+per)
	addr := uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
	off := int((Size-addr%Size)%Size) / size
	s := buf[off : off+n : off+c]
	mem := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), c*size)
	mem = mem[:len(mem)/Size*Size]
	// Ask for huge pages, then drop whatever 4 KiB pages the allocator
	// already touched (all zero, as is the memory faulted back in), so
	// that the first writes below fault in huge pages. Errors only mean
	// no huge pages: the slice is as good either way.
	if syscall.Madvise(mem, 14 /* MADV_HUGEPAGE */) == nil {
		_ = syscall.Madvise(mem, syscall.MADV_DONTNEED)
	}
	return s
}
