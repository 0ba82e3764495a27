//go:build !linux

package hugepage

// Make returns make([]T, n, c); on Linux it also asks for huge pages.
func Make[T any](n, c int) []T { return make([]T, n, c) }
